// SPDX-License-Identifier: MIT
/*
 * The PIO/MMIO bus: registration (zero length, wrapping, every kind of
 * overlap, adjacency, many ranges out of order), lookup at the edges and
 * dispatch (offsets, zeroed read data, unclaimed and straddling accesses).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../vmm/bus.h"
#include "../../vmm/log.h"
#include "unit.h"

/* What a device saw. */
struct probe {
	unsigned int calls;
	uint64_t offset;
	uint32_t len;
	bool is_write;
	uint8_t seen[8];     /* data as it arrived */
	uint8_t reply[8];    /* what a read returns */
};

static void probe_io(void *dev, uint64_t offset, uint8_t *data, uint32_t len,
		     bool is_write)
{
	struct probe *p = dev;

	p->calls++;
	p->offset = offset;
	p->len = len;
	p->is_write = is_write;
	memset(p->seen, 0xcd, sizeof(p->seen));
	memcpy(p->seen, data, len > 8 ? 8 : len);
	if (!is_write)
		memcpy(data, p->reply, len > 8 ? 8 : len);
}

static void quiet(void)
{
	log_set_level(LOG_ERROR); /* unclaimed accesses log at debug */
}

static int sorted_and_disjoint(const struct bus *b)
{
	for (unsigned int i = 1; i < b->nr; i++) {
		const struct bus_range *p = &b->range[i - 1], *r = &b->range[i];

		/* p's last byte is below r's first */
		if (p->base + (p->len - 1) >= r->base)
			return 0;
	}
	return 1;
}

TEST(register_zero_length)
{
	struct bus b;
	struct probe p = { 0 };

	bus_init(&b, "pio");
	CHECK_EQ(bus_register(&b, 0x100, 0, "zero", probe_io, &p), -EINVAL);
	CHECK_EQ(bus_register(&b, 0, 0, "zero", probe_io, &p), -EINVAL);
	CHECK_EQ(b.nr, 0);
	CHECK(bus_find(&b, 0x100) == NULL);
	bus_destroy(&b);
}

TEST(register_no_handler)
{
	struct bus b;

	bus_init(&b, "pio");
	CHECK_EQ(bus_register(&b, 0x100, 8, "null", NULL, NULL), -EINVAL);
	CHECK_EQ(b.nr, 0);
	bus_destroy(&b);
}

TEST(register_wrapping)
{
	struct bus b;
	struct probe p = { 0 };

	bus_init(&b, "mmio");
	CHECK_EQ(bus_register(&b, UINT64_MAX - 3, 8, "wrap", probe_io, &p),
		 -EINVAL);
	CHECK_EQ(bus_register(&b, UINT64_MAX, 2, "wrap", probe_io, &p),
		 -EINVAL);
	CHECK_EQ(bus_register(&b, 2, UINT64_MAX, "wrap", probe_io, &p),
		 -EINVAL);
	CHECK_EQ(bus_register(&b, UINT64_MAX, UINT64_MAX, "wrap", probe_io, &p),
		 -EINVAL);
	CHECK_EQ(b.nr, 0);
	/* ending exactly at the top of the address space is not a wrap */
	CHECK_EQ(bus_register(&b, UINT64_MAX - 7, 8, "top", probe_io, &p), 0);
	CHECK(bus_find(&b, UINT64_MAX) != NULL);
	CHECK(bus_find(&b, UINT64_MAX - 7) != NULL);
	CHECK(bus_find(&b, UINT64_MAX - 8) == NULL);
	CHECK(bus_find(&b, 0) == NULL);
	bus_destroy(&b);

	bus_init(&b, "mmio");
	CHECK_EQ(bus_register(&b, UINT64_MAX, 1, "last", probe_io, &p), 0);
	CHECK(bus_find(&b, UINT64_MAX) != NULL);
	CHECK(bus_find(&b, UINT64_MAX - 1) == NULL);
	bus_destroy(&b);

	bus_init(&b, "mmio");
	CHECK_EQ(bus_register(&b, 1, UINT64_MAX, "all-but-0", probe_io, &p), 0);
	CHECK(bus_find(&b, 0) == NULL);
	CHECK(bus_find(&b, 1) != NULL);
	CHECK(bus_find(&b, UINT64_MAX) != NULL);
	/* and now nothing else fits but address 0 */
	CHECK_EQ(bus_register(&b, UINT64_MAX, 1, "x", probe_io, &p), -EEXIST);
	CHECK_EQ(bus_register(&b, 0, 2, "x", probe_io, &p), -EEXIST);
	CHECK_EQ(bus_register(&b, 0, 1, "zero", probe_io, &p), 0);
	CHECK_EQ(b.nr, 2);
	CHECK(bus_find(&b, 0)->len == 1);
	bus_destroy(&b);
}

TEST(register_overlaps)
{
	struct bus b;
	struct probe p = { 0 }, q = { 0 };
	/* the existing range is [0x100, 0x200) */
	static const uint64_t bad[][2] = {
		{ 0x100, 0x100 }, /* exact */
		{ 0x0f0, 0x020 }, /* starts below, ends inside */
		{ 0x0ff, 0x002 }, /* last byte is the first byte of it */
		{ 0x1f0, 0x020 }, /* starts inside, ends above */
		{ 0x1ff, 0x001 }, /* its last byte */
		{ 0x080, 0x200 }, /* contains it */
		{ 0x000, UINT64_MAX }, /* contains it, hugely */
		{ 0x140, 0x010 }, /* inside it */
		{ 0x100, 0x001 }, /* its first byte */
	};

	bus_init(&b, "pio");
	CHECK_EQ(bus_register(&b, 0x100, 0x100, "dev", probe_io, &p), 0);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = bus_register(&b, bad[i][0], bad[i][1], "bad", probe_io,
				     &q);

		if (r != -EEXIST) {
			*unit_failed = 1;
			snprintf(unit_why, sizeof(unit_why),
				 "case %u: [0x%llx, +0x%llx) gave %d, not -EEXIST",
				 i, (unsigned long long)bad[i][0],
				 (unsigned long long)bad[i][1], r);
			return;
		}
		CHECK_EQ(b.nr, 1);
	}
	/* the table is unchanged */
	CHECK(bus_find(&b, 0x100)->dev == &p);
	CHECK(bus_find(&b, 0x1ff)->dev == &p);
	CHECK(bus_find(&b, 0x0ff) == NULL);
	CHECK(bus_find(&b, 0x200) == NULL);
	bus_destroy(&b);
}

TEST(register_overlap_between_two)
{
	struct bus b;
	struct probe p = { 0 };

	bus_init(&b, "pio");
	CHECK_EQ(bus_register(&b, 0x10, 0x10, "a", probe_io, &p), 0);
	CHECK_EQ(bus_register(&b, 0x40, 0x10, "b", probe_io, &p), 0);
	/* fills the gap but touches b */
	CHECK_EQ(bus_register(&b, 0x20, 0x21, "gap", probe_io, &p), -EEXIST);
	/* touches a */
	CHECK_EQ(bus_register(&b, 0x1f, 0x10, "gap", probe_io, &p), -EEXIST);
	/* spans both */
	CHECK_EQ(bus_register(&b, 0x00, 0x100, "all", probe_io, &p), -EEXIST);
	/* exactly the gap */
	CHECK_EQ(bus_register(&b, 0x20, 0x20, "gap", probe_io, &p), 0);
	CHECK_EQ(b.nr, 3);
	CHECK(sorted_and_disjoint(&b));
	bus_destroy(&b);
}

TEST(register_adjacent)
{
	struct bus b;
	struct probe lo = { 0 }, mid = { 0 }, hi = { 0 };

	bus_init(&b, "pio");
	CHECK_EQ(bus_register(&b, 0x3f8, 8, "mid", probe_io, &mid), 0);
	CHECK_EQ(bus_register(&b, 0x400, 8, "hi", probe_io, &hi), 0);
	CHECK_EQ(bus_register(&b, 0x3f0, 8, "lo", probe_io, &lo), 0);
	CHECK_EQ(b.nr, 3);
	CHECK(sorted_and_disjoint(&b));
	CHECK(bus_find(&b, 0x3ef) == NULL);
	CHECK(bus_find(&b, 0x3f0)->dev == &lo);
	CHECK(bus_find(&b, 0x3f7)->dev == &lo);
	CHECK(bus_find(&b, 0x3f8)->dev == &mid);
	CHECK(bus_find(&b, 0x3ff)->dev == &mid);
	CHECK(bus_find(&b, 0x400)->dev == &hi);
	CHECK(bus_find(&b, 0x407)->dev == &hi);
	CHECK(bus_find(&b, 0x408) == NULL);
	CHECK_EQ(bus_find(&b, 0x3f8)->base, 0x3f8);
	CHECK(!strcmp(bus_find(&b, 0x3fa)->name, "mid"));
	bus_destroy(&b);
}

TEST(many_out_of_order)
{
	enum { N = 200 };
	static struct probe devs[N];
	struct bus b;

	bus_init(&b, "mmio");
	/* device i at [i * 0x100, + 0x10 + i), registered in a shuffled order */
	for (unsigned int k = 0; k < N; k++) {
		unsigned int i = (k * 73 + 11) % N; /* 73 is coprime with 200 */

		CHECK_EQ(bus_register(&b, (uint64_t)i * 0x100, 0x10 + i, "d",
				      probe_io, &devs[i]), 0);
	}
	CHECK_EQ(b.nr, N);
	CHECK(b.cap >= N);
	CHECK(sorted_and_disjoint(&b));
	for (unsigned int i = 0; i < N; i++) {
		uint64_t base = (uint64_t)i * 0x100, len = 0x10 + i;
		const struct bus_range *r = bus_find(&b, base);

		CHECK(r && r->dev == &devs[i]);
		CHECK_EQ(r->base, base);
		CHECK_EQ(r->len, len);
		CHECK(bus_find(&b, base + len - 1) == r);
		CHECK(bus_find(&b, base + len / 2) == r);
		CHECK(bus_find(&b, base + len) == NULL);
		CHECK(bus_find(&b, base + 0xff) == NULL);
		/* duplicates of any of them are refused */
		CHECK_EQ(bus_register(&b, base + 1, 1, "dup", probe_io, &devs[0]),
			 -EEXIST);
	}
	CHECK(bus_find(&b, (uint64_t)N * 0x100) == NULL);
	CHECK(bus_find(&b, UINT64_MAX) == NULL);
	CHECK_EQ(b.nr, N);
	bus_destroy(&b);
	CHECK_EQ(b.nr, 0);
	CHECK(b.range == NULL);
}

TEST(find_empty_and_edges)
{
	struct bus b;
	struct probe p = { 0 };

	bus_init(&b, "mmio");
	CHECK(bus_find(&b, 0) == NULL);
	CHECK(bus_find(&b, UINT64_MAX) == NULL);
	CHECK_EQ(bus_register(&b, 0, 1, "zero", probe_io, &p), 0);
	CHECK(bus_find(&b, 0) != NULL);
	CHECK(bus_find(&b, 1) == NULL);
	CHECK(bus_find(&b, UINT64_MAX) == NULL);
	bus_destroy(&b);
}

TEST(access_offset_and_len)
{
	struct bus b;
	struct probe a = { 0 }, c = { 0 };
	uint8_t data[8];
	const uint8_t w[4] = { 0x11, 0x22, 0x33, 0x44 };

	quiet();
	bus_init(&b, "mmio");
	CHECK_EQ(bus_register(&b, 0xd0000000, 0x1000, "a", probe_io, &a), 0);
	CHECK_EQ(bus_register(&b, 0xd0001000, 0x1000, "c", probe_io, &c), 0);

	memcpy(data, w, 4);
	CHECK(bus_access(&b, 0xd0001010, data, 4, true));
	CHECK_EQ(c.calls, 1);
	CHECK_EQ(a.calls, 0);
	CHECK_EQ(c.offset, 0x10);
	CHECK_EQ(c.len, 4);
	CHECK(c.is_write);
	CHECK(!memcmp(c.seen, w, 4));

	CHECK(bus_access(&b, 0xd0000000, data, 1, false));
	CHECK_EQ(a.calls, 1);
	CHECK_EQ(a.offset, 0);
	CHECK_EQ(a.len, 1);
	CHECK(!a.is_write);

	/* the last 8 bytes of a */
	CHECK(bus_access(&b, 0xd0000ff8, data, 8, false));
	CHECK_EQ(a.calls, 2);
	CHECK_EQ(a.offset, 0xff8);
	CHECK_EQ(a.len, 8);
	CHECK_EQ(b.unclaimed, 0);
	bus_destroy(&b);
}

TEST(access_read_arrives_zeroed)
{
	struct bus b;
	struct probe p = { 0 };
	uint8_t data[8];

	quiet();
	bus_init(&b, "pio");
	CHECK_EQ(bus_register(&b, 0x60, 1, "kbd", probe_io, &p), 0);
	CHECK_EQ(bus_register(&b, 0x70, 2, "rtc", probe_io, &p), 0);
	CHECK_EQ(bus_register(&b, 0xcf8, 8, "pci", probe_io, &p), 0);
	memcpy(p.reply, "\x5a\x6b\x7c\x8d\x9e\xaf\xb0\xc1", 8);

	memset(data, 0xaa, sizeof(data));
	CHECK(bus_access(&b, 0xcf8, data, 4, false));
	CHECK(!memcmp(p.seen, "\0\0\0\0", 4));     /* zeroed on arrival */
	CHECK(!memcmp(data, p.reply, 4));          /* the device's reply */
	CHECK_EQ(data[4], 0xaa);                   /* only len bytes */

	memset(data, 0xaa, sizeof(data));
	CHECK(bus_access(&b, 0x71, data, 1, false));
	CHECK_EQ(p.offset, 1);
	CHECK_EQ(p.seen[0], 0);
	CHECK_EQ(data[0], 0x5a);
	CHECK_EQ(data[1], 0xaa);
	bus_destroy(&b);
}

/* A device that ignores reads: the zeroing is all the guest sees. */
static void silent_io(void *dev, uint64_t offset, uint8_t *data, uint32_t len,
		      bool is_write)
{
	(*(unsigned int *)dev)++;
}

TEST(access_silent_device_reads_zero)
{
	struct bus b;
	unsigned int calls = 0;
	uint8_t data[8];

	quiet();
	bus_init(&b, "pio");
	CHECK_EQ(bus_register(&b, 0x80, 1, "post", silent_io, &calls), 0);
	memset(data, 0xff, sizeof(data));
	CHECK(bus_access(&b, 0x80, data, 1, false));
	CHECK_EQ(calls, 1);
	CHECK_EQ(data[0], 0);
	CHECK_EQ(data[1], 0xff);
	bus_destroy(&b);
}

TEST(access_unclaimed)
{
	struct bus b;
	struct probe p = { 0 };
	uint8_t data[8];

	quiet();
	bus_init(&b, "pio");
	CHECK_EQ(bus_access(&b, 0x3f8, data, 1, true), false); /* empty bus */
	CHECK_EQ(b.unclaimed, 1);
	CHECK_EQ(bus_register(&b, 0x3f8, 8, "com1", probe_io, &p), 0);

	memset(data, 0xaa, sizeof(data));
	CHECK_EQ(bus_access(&b, 0x2f8, data, 4, false), false);
	CHECK(!memcmp(data, "\0\0\0\0", 4));
	CHECK_EQ(data[4], 0xaa);
	CHECK_EQ(b.unclaimed, 2);

	memset(data, 0xaa, sizeof(data));
	CHECK_EQ(bus_access(&b, 0x3f7, data, 1, false), false); /* just below */
	CHECK_EQ(data[0], 0);
	CHECK_EQ(bus_access(&b, 0x400, data, 1, false), false); /* just above */
	CHECK_EQ(bus_access(&b, 0x400, data, 1, true), false);
	CHECK_EQ(b.unclaimed, 5);
	CHECK_EQ(p.calls, 0);
	bus_destroy(&b);
}

TEST(access_straddling_end)
{
	struct bus b;
	struct probe p = { 0 }, q = { 0 };
	uint8_t data[8];

	quiet();
	bus_init(&b, "mmio");
	CHECK_EQ(bus_register(&b, 0x1000, 8, "p", probe_io, &p), 0);
	CHECK_EQ(bus_register(&b, 0x1008, 8, "q", probe_io, &q), 0);
	memset(p.reply, 0x77, sizeof(p.reply));

	/* ends exactly at the end of p: claimed */
	CHECK(bus_access(&b, 0x1004, data, 4, false));
	CHECK_EQ(p.calls, 1);
	CHECK_EQ(p.offset, 4);
	CHECK(bus_access(&b, 0x1007, data, 1, true));
	CHECK_EQ(p.calls, 2);
	CHECK_EQ(p.offset, 7);

	/* one byte too long: runs into q; neither device sees it */
	memset(data, 0xaa, sizeof(data));
	CHECK_EQ(bus_access(&b, 0x1004, data, 8, false), false);
	CHECK(!memcmp(data, "\0\0\0\0\0\0\0\0", 8));
	CHECK_EQ(bus_access(&b, 0x1007, data, 2, true), false);
	CHECK_EQ(bus_access(&b, 0x1006, data, 4, false), false);
	CHECK_EQ(p.calls, 2);
	CHECK_EQ(q.calls, 0);
	CHECK_EQ(b.unclaimed, 3);

	/* q's last bytes, and past them into nothing */
	CHECK(bus_access(&b, 0x100c, data, 4, false));
	CHECK_EQ(q.calls, 1);
	CHECK_EQ(q.offset, 4);
	CHECK_EQ(bus_access(&b, 0x100c, data, 8, false), false);
	CHECK_EQ(q.calls, 1);
	CHECK_EQ(b.unclaimed, 4);
	bus_destroy(&b);
}

TEST(access_at_top_of_space)
{
	struct bus b;
	struct probe p = { 0 };
	uint8_t data[8];

	quiet();
	bus_init(&b, "mmio");
	CHECK_EQ(bus_register(&b, UINT64_MAX - 7, 8, "top", probe_io, &p), 0);
	CHECK(bus_access(&b, UINT64_MAX - 3, data, 4, false));
	CHECK_EQ(p.offset, 4);
	CHECK(bus_access(&b, UINT64_MAX, data, 1, true));
	CHECK_EQ(p.offset, 7);
	/* would wrap past the top */
	CHECK_EQ(bus_access(&b, UINT64_MAX - 1, data, 4, false), false);
	CHECK_EQ(bus_access(&b, UINT64_MAX, data, 8, true), false);
	CHECK_EQ(p.calls, 2);
	CHECK_EQ(b.unclaimed, 2);
	bus_destroy(&b);
}

UNIT_MAIN("bus",
	  T(register_zero_length), T(register_no_handler),
	  T(register_wrapping), T(register_overlaps),
	  T(register_overlap_between_two), T(register_adjacent),
	  T(many_out_of_order), T(find_empty_and_edges),
	  T(access_offset_and_len), T(access_read_arrives_zeroed),
	  T(access_silent_device_reads_zero), T(access_unclaimed),
	  T(access_straddling_end), T(access_at_top_of_space))
