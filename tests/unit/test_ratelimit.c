// SPDX-License-Identifier: MIT
/* Token buckets: refill rates, bursts, waits, big requests, no limit. */
#include <stdint.h>

#include "../../devices/ratelimit.h"
#include "unit.h"

#define MS 1000000ULL
#define S  (1000 * MS)

static struct vm_rate_limit lim(uint64_t bsize, uint64_t bms, uint64_t burst,
				uint64_t osize, uint64_t oms)
{
	struct vm_rate_limit r = {
		.bandwidth = { bsize, burst, bms },
		.ops = { osize, 0, oms },
	};
	return r;
}

TEST(no_limit)
{
	struct rate_limiter rl;
	struct vm_rate_limit none = { 0 };
	uint64_t w = 7;

	rl_init(&rl, &none, 0);
	CHECK(!rl_limited(&rl));
	for (int i = 0; i < 1000; i++)
		CHECK(rl_consume(&rl, 1ULL << 40, 0, &w));
	/* a size without a refill time is no limit either */
	none.bandwidth.size = 100;
	rl_init(&rl, &none, 0);
	CHECK(!rl_limited(&rl));
}

TEST(bandwidth_refills_at_its_rate)
{
	struct rate_limiter rl;
	struct vm_rate_limit c = lim(1000, 1000, 0, 0, 0); /* 1000 B/s */
	uint64_t w, now = 0;

	rl_init(&rl, &c, now);
	CHECK(rl_consume(&rl, 600, now, &w));
	CHECK(rl_consume(&rl, 400, now, &w));
	CHECK(!rl_consume(&rl, 100, now, &w));
	CHECK(w >= 100 * MS && w <= 101 * MS);
	now += w;
	CHECK(rl_consume(&rl, 100, now, &w));
	/* over 10 s, about 10,000 bytes go through in 100-byte requests */
	{
		uint64_t sent = 0, end = now + 10 * S;

		while (now < end) {
			if (rl_consume(&rl, 100, now, &w))
				sent += 100;
			else
				now += w;
		}
		CHECK(sent >= 9900 && sent <= 10100);
	}
}

TEST(ops_bucket)
{
	struct rate_limiter rl;
	struct vm_rate_limit c = lim(0, 0, 0, 10, 100); /* 100 ops/s */
	uint64_t w, now = 0, ops = 0;

	rl_init(&rl, &c, now);
	while (now < 5 * S) {
		if (rl_consume(&rl, 1ULL << 30, now, &w))
			ops++;
		else
			now += w;
	}
	CHECK(ops >= 495 && ops <= 511);
}

TEST(one_time_burst_first)
{
	struct rate_limiter rl;
	struct vm_rate_limit c = lim(100, 1000, 5000, 0, 0);
	uint64_t w;

	rl_init(&rl, &c, 0);
	CHECK(rl_consume(&rl, 4000, 0, &w));  /* from the burst */
	CHECK(rl_consume(&rl, 1000, 0, &w));  /* the burst's last 1000 */
	CHECK(rl_consume(&rl, 100, 0, &w));   /* the bucket */
	CHECK(!rl_consume(&rl, 100, 0, &w));
}

TEST(big_request_waits_for_a_full_bucket_then_goes_into_debt)
{
	struct rate_limiter rl;
	struct vm_rate_limit c = lim(1000, 1000, 0, 0, 0);
	uint64_t w, now = 0;

	rl_init(&rl, &c, now);
	CHECK(rl_consume(&rl, 10, now, &w));
	CHECK(!rl_consume(&rl, 5000, now, &w)); /* bigger than the bucket */
	now += w;
	CHECK(rl_consume(&rl, 5000, now, &w));  /* full: it goes */
	CHECK(!rl_consume(&rl, 1, now, &w));
	/* the debt of 4000 takes 4 s to pay back, plus 1 ms for the byte */
	CHECK(w >= 4000 * MS && w <= 4002 * MS);
}

TEST(waits_are_at_least_a_millisecond)
{
	struct rate_limiter rl;
	struct vm_rate_limit c = lim(1ULL << 30, 1, 0, 0, 0); /* 1 GiB/ms */
	uint64_t w;

	rl_init(&rl, &c, 0);
	CHECK(rl_consume(&rl, 1ULL << 30, 0, &w));
	CHECK(!rl_consume(&rl, 1, 0, &w));
	CHECK_EQ(w, MS);
}

TEST(huge_values_do_not_overflow)
{
	struct rate_limiter rl;
	struct vm_rate_limit c = lim(UINT64_MAX, 86400000, UINT64_MAX, UINT64_MAX,
				     86400000);
	uint64_t w;

	rl_init(&rl, &c, UINT64_MAX / 2);
	CHECK(rl_consume(&rl, UINT64_MAX, UINT64_MAX / 2, &w));
	CHECK(rl_consume(&rl, 1ULL << 62, UINT64_MAX, &w));
	/* time going backwards refills nothing and breaks nothing */
	(void)rl_consume(&rl, 1, 0, &w);
}

UNIT_MAIN("ratelimit",
	  T(no_limit), T(bandwidth_refills_at_its_rate), T(ops_bucket),
	  T(one_time_burst_first),
	  T(big_request_waits_for_a_full_bucket_then_goes_into_debt),
	  T(waits_are_at_least_a_millisecond), T(huge_values_do_not_overflow))
