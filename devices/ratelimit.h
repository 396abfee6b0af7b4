/* SPDX-License-Identifier: MIT */
/*
 * Token buckets for rate limits (Firecracker's RateLimiter): a bandwidth
 * bucket (bytes) and an ops bucket (requests), each of size tokens
 * refilled over refill_time, plus a one-time burst spent first. Pure: the
 * caller passes the time (CLOCK_MONOTONIC ns) and arms its own timer for
 * the wait it is told. A request larger than a bucket is let through
 * once the bucket is full and leaves it in debt, so nothing is refused
 * for being big, only delayed.
 */
#ifndef DEVICES_RATELIMIT_H
#define DEVICES_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "../vmm/config.h"

struct token_bucket {
	uint64_t size;          /* 0: unlimited */
	uint64_t refill_ns;
	uint64_t burst;         /* one-time burst left */
	int64_t tokens;         /* may go negative: a big request's debt */
	uint64_t last_ns;
};

struct rate_limiter {
	struct token_bucket bytes, ops;
};

/* Full buckets at now; a zero size or refill time means no limit. */
void rl_init(struct rate_limiter *rl, const struct vm_rate_limit *cfg,
	     uint64_t now);
static inline bool rl_limited(const struct rate_limiter *rl)
{
	return rl->bytes.size || rl->ops.size;
}

/*
 * May a request of bytes (and one operation) go now? If so the tokens are
 * taken and it returns true; else false and *wait_ns says when to ask
 * again (at least 1 ms).
 */
bool rl_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now,
		uint64_t *wait_ns);

/*
 * For what is known only once done (a received frame): take bytes and one
 * operation whatever the buckets hold, into debt if need be.
 */
void rl_charge(struct rate_limiter *rl, uint64_t bytes, uint64_t now);
/* ns until a request may go again (0: now). */
uint64_t rl_wait(struct rate_limiter *rl, uint64_t now);

#endif
