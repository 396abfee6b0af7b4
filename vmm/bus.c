// SPDX-License-Identifier: MIT
/* PIO/MMIO bus: range registration and dispatch (see bus.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "log.h"
#include "timeline.h"

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
}

void bus_destroy(struct bus *b)
{
	free(b->range);
	b->range = NULL;
	b->nr = b->cap = 0;
}

/* Index of the first range whose end is above addr (binary search). */
static unsigned int bus_lower_bound(const struct bus *b, uint64_t addr)
{
	unsigned int lo = 0, hi = b->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &b->range[mid];

		if (addr - r->base >= r->len && addr >= r->base)
			lo = mid + 1; /* range ends at or below addr */
		else if (addr < r->base)
			hi = mid;
		else
			return mid;   /* addr inside r */
	}
	return lo;
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, const char *name,
		 bus_io_fn io, void *dev)
{
	unsigned int i;

	if (len == 0 || base + len - 1 < base || !io)
		return -EINVAL;
	i = bus_lower_bound(b, base);
	/* the neighbour at i (if any) must start after our last byte */
	if (i < b->nr && b->range[i].base <= base + len - 1)
		return -EEXIST;
	if (b->nr == b->cap) {
		unsigned int cap = b->cap ? b->cap * 2 : 16;
		struct bus_range *n = realloc(b->range, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->range = n;
		b->cap = cap;
	}
	memmove(&b->range[i + 1], &b->range[i],
		(b->nr - i) * sizeof(b->range[0]));
	b->range[i] = (struct bus_range){
		.base = base, .len = len, .name = name, .io = io, .dev = dev,
	};
	b->nr++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *b, uint64_t addr)
{
	unsigned int i = bus_lower_bound(b, addr);

	if (i < b->nr && addr >= b->range[i].base &&
	    addr - b->range[i].base < b->range[i].len)
		return &b->range[i];
	return NULL;
}

static void bus_log_unclaimed(struct bus *b, uint64_t addr, uint32_t len,
			      bool is_write)
{
	uint64_t now = monotonic_ns();
	uint64_t last = __atomic_load_n(&b->last_log_ns, __ATOMIC_RELAXED);
	uint64_t n = __atomic_add_fetch(&b->unclaimed, 1, __ATOMIC_RELAXED);

	/* at most one line a second, whichever thread wins the exchange */
	if (last && now - last < 1000000000ULL)
		return;
	if (!__atomic_compare_exchange_n(&b->last_log_ns, &last, now, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	debug("unclaimed %s %s of %u bytes at 0x%" PRIx64
	      " (%" PRIu64 " unclaimed so far)", b->name,
	      is_write ? "write" : "read", len, addr, n);
}

bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len,
		bool is_write)
{
	const struct bus_range *r = bus_find(b, addr);

	if (!is_write)
		memset(data, 0, len);
	if (!r || len > r->len - (addr - r->base)) {
		bus_log_unclaimed(b, addr, len, is_write);
		return false;
	}
	r->io(r->dev, addr - r->base, data, len, is_write);
	return true;
}
