// SPDX-License-Identifier: MIT
/* Token buckets (ratelimit.h). */
#include "ratelimit.h"

#define MIN_WAIT_NS 1000000ULL /* timers finer than a millisecond buy nothing */

static void bucket_init(struct token_bucket *b, const struct vm_bucket *c,
			uint64_t now)
{
	*b = (struct token_bucket){ 0 };
	if (!vm_bucket_set(c))
		return;
	b->size = c->size;
	b->refill_ns = c->refill_time_ms * 1000000ULL;
	b->burst = c->one_time_burst;
	/* sizes beyond 2^62 are no limit in practice; keep the sums exact */
	if (b->size > (1ULL << 62))
		b->size = 1ULL << 62;
	b->tokens = (int64_t)b->size;
	b->last_ns = now;
}

void rl_init(struct rate_limiter *rl, const struct vm_rate_limit *cfg,
	     uint64_t now)
{
	bucket_init(&rl->bytes, &cfg->bandwidth, now);
	bucket_init(&rl->ops, &cfg->ops, now);
}

/* Add what accrued since last_ns, up to size. */
static void refill(struct token_bucket *b, uint64_t now)
{
	uint64_t dt = now > b->last_ns ? now - b->last_ns : 0;
	unsigned __int128 add;
	uint64_t room;

	if (!dt || b->tokens >= (int64_t)b->size) {
		b->last_ns = now;
		return;
	}
	room = (uint64_t)((int64_t)b->size - b->tokens);
	add = (unsigned __int128)dt * b->size / b->refill_ns;
	if (!add)
		return; /* keep last_ns: the fraction is not lost */
	b->last_ns = now;
	b->tokens += (int64_t)(add < room ? (uint64_t)add : room);
}

/* ns until the bucket holds want tokens (or is full, for bigger ones). */
static uint64_t wait_for(const struct token_bucket *b, uint64_t want)
{
	int64_t need = (int64_t)(want < b->size ? want : b->size) - b->tokens;
	uint64_t ns;

	if (need <= 0)
		return 0;
	ns = (uint64_t)((unsigned __int128)(uint64_t)need * b->refill_ns /
			b->size) + 1;
	return ns < MIN_WAIT_NS ? MIN_WAIT_NS : ns;
}

/* Can want be taken (burst first), and how long until it can. */
static uint64_t check(struct token_bucket *b, uint64_t want, uint64_t now)
{
	if (!b->size)
		return 0;
	refill(b, now);
	if (b->burst >= want)
		return 0;
	/* a request at least as big as the bucket goes once it is full */
	if (want >= b->size)
		return b->tokens >= (int64_t)b->size ? 0 : wait_for(b, b->size);
	return b->tokens >= (int64_t)(want - b->burst) ? 0 :
	       wait_for(b, want - b->burst);
}

static void take(struct token_bucket *b, uint64_t want)
{
	uint64_t from_burst;

	if (!b->size)
		return;
	from_burst = b->burst < want ? b->burst : want;
	b->burst -= from_burst;
	b->tokens -= (int64_t)(want - from_burst);
}

bool rl_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now,
		uint64_t *wait_ns)
{
	uint64_t w1 = check(&rl->bytes, bytes, now);
	uint64_t w2 = check(&rl->ops, 1, now);

	if (w1 || w2) {
		*wait_ns = w1 > w2 ? w1 : w2;
		return false;
	}
	take(&rl->bytes, bytes);
	take(&rl->ops, 1);
	return true;
}

void rl_charge(struct rate_limiter *rl, uint64_t bytes, uint64_t now)
{
	if (rl->bytes.size)
		refill(&rl->bytes, now);
	if (rl->ops.size)
		refill(&rl->ops, now);
	take(&rl->bytes, bytes);
	take(&rl->ops, 1);
}

uint64_t rl_wait(struct rate_limiter *rl, uint64_t now)
{
	uint64_t w1 = 0, w2 = 0;

	if (rl->bytes.size) {
		refill(&rl->bytes, now);
		w1 = rl->bytes.burst || rl->bytes.tokens > 0 ? 0 :
		     wait_for(&rl->bytes, 1);
	}
	if (rl->ops.size) {
		refill(&rl->ops, now);
		w2 = rl->ops.burst || rl->ops.tokens > 0 ? 0 : wait_for(&rl->ops, 1);
	}
	return w1 > w2 ? w1 : w2;
}
