// SPDX-License-Identifier: MIT
/*
 * Guest memory: guest_mem_init() validation and the one checked accessor,
 * gpa_ptr(), at every boundary (first/last byte of a region, one past,
 * adjacent regions, holes, zero length, gpa + len overflow).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../../vmm/memory.h"
#include "unit.h"

#define KIB (1ULL << 10)
#define MIB (1ULL << 20)

static uint64_t page(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

/* A guest_mem full of garbage, to see what init leaves behind on failure. */
static void scribble(struct guest_mem *m)
{
	memset(m, 0x5a, sizeof(*m));
}

/* nothing mapped, nothing counted */
static int is_empty(const struct guest_mem *m)
{
	return m->nr_regions == 0 && m->ram_size == 0;
}

/*
 * The layout most gpa_ptr tests use:
 *   R0 [0, 64K)  R1 [64K, 128K) (adjacent to R0)   hole   R2 [1M, 1M + 64K)
 */
static const uint64_t three[][2] = {
	{ 0, 64 * KIB },
	{ 64 * KIB, 64 * KIB },
	{ 1 * MIB, 64 * KIB },
};

TEST(init_single_region)
{
	struct guest_mem m;
	const uint64_t r[][2] = { { 0, 2 * MIB } };
	uint8_t *h;

	scribble(&m);
	CHECK_EQ(guest_mem_init(&m, r, 1), 0);
	CHECK_EQ(m.nr_regions, 1);
	CHECK_EQ(m.ram_size, 2 * MIB);
	CHECK_EQ(m.region[0].gpa, 0);
	CHECK_EQ(m.region[0].size, 2 * MIB);
	h = m.region[0].host;
	CHECK(h != NULL);
	/* anonymous memory: zeroed, and writable at both ends */
	CHECK_EQ(h[0], 0);
	CHECK_EQ(h[2 * MIB - 1], 0);
	h[0] = 1;
	h[2 * MIB - 1] = 2;
	CHECK_EQ(h[0], 1);
	CHECK_EQ(h[2 * MIB - 1], 2);
	guest_mem_destroy(&m);
	CHECK(is_empty(&m));
}

TEST(init_several_regions)
{
	struct guest_mem m;

	CHECK_EQ(guest_mem_init(&m, three, 3), 0);
	CHECK_EQ(m.nr_regions, 3);
	CHECK_EQ(m.ram_size, 192 * KIB);
	for (unsigned int i = 0; i < 3; i++) {
		CHECK_EQ(m.region[i].gpa, three[i][0]);
		CHECK_EQ(m.region[i].size, three[i][1]);
		CHECK(m.region[i].host != NULL);
	}
	/* separate mappings */
	CHECK(m.region[0].host != m.region[1].host);
	CHECK(m.region[1].host != m.region[2].host);
	guest_mem_destroy(&m);
	CHECK(is_empty(&m));
}

TEST(init_rejects_zero_regions)
{
	struct guest_mem m;

	scribble(&m);
	CHECK_EQ(guest_mem_init(&m, three, 0), -EINVAL);
	CHECK(is_empty(&m));
}

TEST(init_region_count_limit)
{
	struct guest_mem m;
	uint64_t r[GUEST_MEM_MAX_REGIONS + 1][2];
	uint64_t p = page();

	for (unsigned int i = 0; i < GUEST_MEM_MAX_REGIONS + 1; i++) {
		r[i][0] = i * 2 * p;
		r[i][1] = p;
	}
	scribble(&m);
	CHECK_EQ(guest_mem_init(&m, (const uint64_t (*)[2])r,
				GUEST_MEM_MAX_REGIONS + 1), -EINVAL);
	CHECK(is_empty(&m));
	/* exactly the maximum is fine */
	CHECK_EQ(guest_mem_init(&m, (const uint64_t (*)[2])r,
				GUEST_MEM_MAX_REGIONS), 0);
	CHECK_EQ(m.nr_regions, GUEST_MEM_MAX_REGIONS);
	CHECK_EQ(m.ram_size, GUEST_MEM_MAX_REGIONS * p);
	guest_mem_destroy(&m);
}

TEST(init_rejects_unaligned)
{
	struct guest_mem m;
	uint64_t p = page();
	const uint64_t gpa_off[][2] = { { p / 2, p } };
	const uint64_t size_off[][2] = { { 0, p + 1 } };
	const uint64_t small[][2] = { { 0, p - 1 } };
	const uint64_t second[][2] = { { 0, p }, { 4 * p + 512, p } };

	scribble(&m);
	CHECK_EQ(guest_mem_init(&m, gpa_off, 1), -EINVAL);
	CHECK(is_empty(&m));
	CHECK_EQ(guest_mem_init(&m, size_off, 1), -EINVAL);
	CHECK(is_empty(&m));
	CHECK_EQ(guest_mem_init(&m, small, 1), -EINVAL);
	CHECK_EQ(guest_mem_init(&m, second, 2), -EINVAL);
	CHECK(is_empty(&m));
}

TEST(init_rejects_zero_size)
{
	struct guest_mem m;
	uint64_t p = page();
	const uint64_t first[][2] = { { 0, 0 } };
	const uint64_t later[][2] = { { 0, p }, { 2 * p, 0 }, { 4 * p, p } };

	scribble(&m);
	CHECK_EQ(guest_mem_init(&m, first, 1), -EINVAL);
	CHECK(is_empty(&m));
	scribble(&m);
	CHECK_EQ(guest_mem_init(&m, later, 3), -EINVAL);
	CHECK(is_empty(&m));
}

TEST(init_rejects_overlap_and_unsorted)
{
	struct guest_mem m;
	uint64_t p = page();
	const uint64_t overlap[][2] = { { 0, 4 * p }, { 3 * p, 4 * p } };
	const uint64_t same[][2] = { { 0, 4 * p }, { 0, 4 * p } };
	const uint64_t inside[][2] = { { 0, 8 * p }, { 2 * p, p } };
	const uint64_t unsorted[][2] = { { 8 * p, p }, { 0, p } };
	const uint64_t third[][2] = { { 0, p }, { 4 * p, 4 * p },
				      { 7 * p, p } };

	scribble(&m);
	CHECK_EQ(guest_mem_init(&m, overlap, 2), -EINVAL);
	CHECK(is_empty(&m));
	CHECK_EQ(guest_mem_init(&m, same, 2), -EINVAL);
	CHECK_EQ(guest_mem_init(&m, inside, 2), -EINVAL);
	CHECK_EQ(guest_mem_init(&m, unsorted, 2), -EINVAL);
	CHECK(is_empty(&m));
	CHECK_EQ(guest_mem_init(&m, third, 3), -EINVAL);
	CHECK(is_empty(&m));
}

TEST(init_accepts_adjacent)
{
	struct guest_mem m;
	uint64_t p = page();
	const uint64_t adj[][2] = { { 0, p }, { p, p }, { 2 * p, 2 * p } };

	CHECK_EQ(guest_mem_init(&m, adj, 3), 0);
	CHECK_EQ(m.nr_regions, 3);
	CHECK_EQ(m.ram_size, 4 * p);
	guest_mem_destroy(&m);
}

TEST(init_rejects_wrap)
{
	struct guest_mem m;
	uint64_t p = page();
	uint64_t top = UINT64_MAX - p + 1; /* the last page of the space */
	const uint64_t wrap[][2] = { { top, 2 * p } };
	const uint64_t huge[][2] = { { 0, p }, { 2 * p, UINT64_MAX - p + 1 } };

	scribble(&m);
	CHECK_EQ(guest_mem_init(&m, wrap, 1), -EINVAL);
	CHECK(is_empty(&m));
	CHECK_EQ(guest_mem_init(&m, huge, 2), -EINVAL);
	CHECK(is_empty(&m));
}

TEST(init_high_region)
{
	/* MAP_NORESERVE: a region above 4 GiB is just an address */
	struct guest_mem m;
	const uint64_t r[][2] = { { 0, 16 * MIB }, { 1ULL << 32, 16 * MIB } };

	CHECK_EQ(guest_mem_init(&m, r, 2), 0);
	CHECK_EQ(m.ram_size, 32 * MIB);
	CHECK(gpa_ptr(&m, (1ULL << 32) + 16 * MIB - 1, 1) ==
	      m.region[1].host + 16 * MIB - 1);
	CHECK(gpa_ptr(&m, 16 * MIB, 1) == NULL);
	CHECK(gpa_ptr(&m, (1ULL << 32) - 1, 1) == NULL);
	guest_mem_destroy(&m);
}

TEST(ptr_first_and_last_byte)
{
	struct guest_mem m;

	CHECK_EQ(guest_mem_init(&m, three, 3), 0);
	for (unsigned int i = 0; i < 3; i++) {
		const struct mem_region *r = &m.region[i];

		CHECK(gpa_ptr(&m, r->gpa, 1) == r->host);
		CHECK(gpa_ptr(&m, r->gpa + r->size - 1, 1) ==
		      r->host + r->size - 1);
		CHECK(gpa_ptr(&m, r->gpa + 100, 1) == r->host + 100);
		/* the whole region in one go */
		CHECK(gpa_ptr(&m, r->gpa, r->size) == r->host);
		/* ending exactly at the region's end */
		CHECK(gpa_ptr(&m, r->gpa + r->size - 8, 8) ==
		      r->host + r->size - 8);
		CHECK(gpa_range_ok(&m, r->gpa + r->size - 8, 8));
	}
	guest_mem_destroy(&m);
}

TEST(ptr_one_past_end)
{
	struct guest_mem m;
	const struct mem_region *r2;

	CHECK_EQ(guest_mem_init(&m, three, 3), 0);
	r2 = &m.region[2];
	/* R2 is the last region: nothing after it */
	CHECK(gpa_ptr(&m, r2->gpa + r2->size, 1) == NULL);
	CHECK(gpa_ptr(&m, r2->gpa + r2->size - 8, 9) == NULL);
	CHECK(gpa_ptr(&m, r2->gpa, r2->size + 1) == NULL);
	CHECK(gpa_ptr(&m, r2->gpa + r2->size - 1, 2) == NULL);
	CHECK(!gpa_range_ok(&m, r2->gpa + r2->size - 1, 2));
	/* R1 is followed by the hole */
	CHECK(gpa_ptr(&m, 128 * KIB - 4, 5) == NULL);
	guest_mem_destroy(&m);
}

TEST(ptr_straddles_adjacent_regions)
{
	struct guest_mem m;

	CHECK_EQ(guest_mem_init(&m, three, 3), 0);
	/* both R0 and R1 exist, but an access must lie inside one region */
	CHECK(gpa_ptr(&m, 64 * KIB - 4, 8) == NULL);
	CHECK(gpa_ptr(&m, 64 * KIB - 1, 2) == NULL);
	CHECK(gpa_ptr(&m, 0, 128 * KIB) == NULL);
	CHECK(gpa_ptr(&m, 0, 64 * KIB + 1) == NULL);
	/* either side of the seam is fine */
	CHECK(gpa_ptr(&m, 64 * KIB - 1, 1) == m.region[0].host + 64 * KIB - 1);
	CHECK(gpa_ptr(&m, 64 * KIB, 1) == m.region[1].host);
	CHECK(gpa_ptr(&m, 64 * KIB, 64 * KIB) == m.region[1].host);
	guest_mem_destroy(&m);
}

TEST(ptr_hole)
{
	struct guest_mem m;

	CHECK_EQ(guest_mem_init(&m, three, 3), 0);
	CHECK(gpa_ptr(&m, 128 * KIB, 1) == NULL);
	CHECK(gpa_ptr(&m, 512 * KIB, 4) == NULL);
	CHECK(gpa_ptr(&m, 1 * MIB - 1, 1) == NULL);
	/* starting in the hole, ending in R2 */
	CHECK(gpa_ptr(&m, 1 * MIB - 1, 2) == NULL);
	/* starting in R1, running across the hole into R2 */
	CHECK(gpa_ptr(&m, 64 * KIB, 1 * MIB) == NULL);
	guest_mem_destroy(&m);
}

TEST(ptr_zero_length)
{
	struct guest_mem m;

	CHECK_EQ(guest_mem_init(&m, three, 3), 0);
	CHECK(gpa_ptr(&m, 0, 0) == NULL);
	CHECK(gpa_ptr(&m, 100, 0) == NULL);
	CHECK(gpa_ptr(&m, 1 * MIB, 0) == NULL);
	CHECK(!gpa_range_ok(&m, 0, 0));
	guest_mem_destroy(&m);
}

TEST(ptr_overflow)
{
	struct guest_mem m;

	/* region at 0: a wrapped gpa + len lands "inside" it */
	CHECK_EQ(guest_mem_init(&m, three, 3), 0);
	CHECK(gpa_ptr(&m, UINT64_MAX - 1, 4) == NULL);
	CHECK(gpa_ptr(&m, UINT64_MAX, 1) == NULL);
	CHECK(gpa_ptr(&m, UINT64_MAX, 2) == NULL);
	CHECK(gpa_ptr(&m, 0, UINT64_MAX) == NULL);
	CHECK(gpa_ptr(&m, 1, UINT64_MAX) == NULL);      /* sum wraps to 0 */
	CHECK(gpa_ptr(&m, 8, UINT64_MAX - 3) == NULL);  /* sum wraps to 4 */
	CHECK(gpa_ptr(&m, 64 * KIB, UINT64_MAX - 64 * KIB + 8) == NULL);
	CHECK(gpa_ptr(&m, 1 * MIB + 16, UINT64_MAX) == NULL);
	guest_mem_destroy(&m);
}

TEST(ptr_overflow_high_region)
{
	/* a region in the last pages of the address space (not wrapping) */
	struct guest_mem m;
	uint64_t p = page();
	uint64_t base = UINT64_MAX - 3 * p + 1;
	const uint64_t r[][2] = { { base, 2 * p } };
	uint64_t last = base + 2 * p - 1;

	CHECK_EQ(guest_mem_init(&m, r, 1), 0);
	CHECK(gpa_ptr(&m, base, 2 * p) == m.region[0].host);
	CHECK(gpa_ptr(&m, last, 1) == m.region[0].host + 2 * p - 1);
	CHECK(gpa_ptr(&m, last, 2) == NULL);
	CHECK(gpa_ptr(&m, last, UINT64_MAX) == NULL);
	CHECK(gpa_ptr(&m, base, UINT64_MAX) == NULL);
	CHECK(gpa_ptr(&m, UINT64_MAX, 1) == NULL);
	CHECK(gpa_ptr(&m, base - 1, 1) == NULL);
	guest_mem_destroy(&m);
}

TEST(ptr_empty_mem)
{
	struct guest_mem m;

	CHECK_EQ(guest_mem_init(&m, three, 1), 0);
	guest_mem_destroy(&m);
	CHECK(gpa_ptr(&m, 0, 1) == NULL);
	CHECK(gpa_ptr(&m, 4096, 1) == NULL);
}

TEST(read_write_round_trip)
{
	struct guest_mem m;
	uint8_t out[64], in[64];

	CHECK_EQ(guest_mem_init(&m, three, 3), 0);
	for (unsigned int i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 13 + 7);
	/* the last 64 bytes of R1, and the first 64 of R2 */
	CHECK_EQ(gpa_write(&m, 128 * KIB - sizeof(out), out, sizeof(out)), 0);
	CHECK(!memcmp(m.region[1].host + 64 * KIB - sizeof(out), out,
		      sizeof(out)));
	memset(in, 0, sizeof(in));
	CHECK_EQ(gpa_read(&m, 128 * KIB - sizeof(in), in, sizeof(in)), 0);
	CHECK(!memcmp(in, out, sizeof(in)));

	CHECK_EQ(gpa_write(&m, 1 * MIB, out, sizeof(out)), 0);
	CHECK(!memcmp(m.region[2].host, out, sizeof(out)));
	memset(in, 0, sizeof(in));
	CHECK_EQ(gpa_read(&m, 1 * MIB + 3, in, 5), 0);
	CHECK(!memcmp(in, out + 3, 5));
	CHECK_EQ(in[5], 0); /* only len bytes copied */
	guest_mem_destroy(&m);
}

TEST(read_write_efault)
{
	struct guest_mem m;
	uint8_t buf[16], before[16];

	CHECK_EQ(guest_mem_init(&m, three, 3), 0);
	memset(buf, 0xee, sizeof(buf));
	/* straddling R0/R1: refused as a whole, nothing written */
	CHECK_EQ(gpa_write(&m, 64 * KIB - 8, buf, 16), -EFAULT);
	CHECK_EQ(m.region[0].host[64 * KIB - 1], 0);
	CHECK_EQ(m.region[1].host[0], 0);
	CHECK_EQ(gpa_write(&m, 128 * KIB, buf, 1), -EFAULT);    /* hole */
	CHECK_EQ(gpa_write(&m, UINT64_MAX - 1, buf, 4), -EFAULT);
	CHECK_EQ(gpa_write(&m, 0, buf, 0), -EFAULT);

	memcpy(before, buf, sizeof(buf));
	CHECK_EQ(gpa_read(&m, 64 * KIB - 8, buf, 16), -EFAULT);
	CHECK(!memcmp(buf, before, sizeof(buf)));  /* dst untouched */
	CHECK_EQ(gpa_read(&m, 1 * MIB + 64 * KIB - 1, buf, 2), -EFAULT);
	CHECK_EQ(gpa_read(&m, UINT64_MAX, buf, 1), -EFAULT);
	CHECK_EQ(gpa_read(&m, 0, buf, 0), -EFAULT);
	guest_mem_destroy(&m);
}

UNIT_MAIN("memory",
	  T(init_single_region), T(init_several_regions),
	  T(init_rejects_zero_regions), T(init_region_count_limit),
	  T(init_rejects_unaligned), T(init_rejects_zero_size),
	  T(init_rejects_overlap_and_unsorted), T(init_accepts_adjacent),
	  T(init_rejects_wrap), T(init_high_region),
	  T(ptr_first_and_last_byte), T(ptr_one_past_end),
	  T(ptr_straddles_adjacent_regions), T(ptr_hole), T(ptr_zero_length),
	  T(ptr_overflow), T(ptr_overflow_high_region), T(ptr_empty_mem),
	  T(read_write_round_trip), T(read_write_efault))
