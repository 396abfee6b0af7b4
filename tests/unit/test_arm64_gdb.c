// SPDX-License-Identifier: MIT
/*
 * aarch64 for the GDB stub, on any host: the target description against
 * the register layout, the KVM_GET_ONE_REG table (ids as the kernel's
 * API document encodes them, every byte of the state covered once), the
 * stack pointer PSTATE selects, and the stage-1 walker on tables built
 * in a real struct guest_mem for the 4, 16 and 64 KiB granules (TTBR0 and
 * TTBR1, blocks, 52-bit addresses) and for hostile tables.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../arch/aarch64/gdb.h"
#include "gdb_xml.h"
#include "unit.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define RAM (1ULL << 30)   /* guest RAM: [1 GiB, 1 GiB + 64 MiB) */

TEST(target_description_matches_layout)
{
	const char *names[ARM64_GDB_NR_REGS];
	static char xn[31][16], vn[32][16];
	static const char *const tail[] = {
		"fpsr", "fpcr", "sp_el0", "sp_el1", "elr_el1", "spsr_el1",
		"esr_el1", "far_el1", "vbar_el1", "sctlr_el1", "tcr_el1",
		"ttbr0_el1", "ttbr1_el1", "mair_el1",
	};
	unsigned int n = 0;

	for (int i = 0; i < 31; i++) {
		snprintf(xn[i], sizeof(xn[i]), "x%d", i);
		names[n++] = xn[i];
	}
	names[n++] = "sp";
	names[n++] = "pc";
	names[n++] = "cpsr";
	for (int i = 0; i < 32; i++) {
		snprintf(vn[i], sizeof(vn[i]), "v%d", i);
		names[n++] = vn[i];
	}
	for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++)
		names[n++] = tail[i];
	CHECK_EQ(n, ARM64_GDB_NR_REGS);
	CHECK(fake_xml_matches(&arm64_gdb_target, names));
	CHECK_EQ(gdb_target_regs_size(&arm64_gdb_target), ARM64_GDB_REGS_SIZE);
	CHECK_EQ(arm64_gdb_target.pc_reg, 32);
	CHECK(strstr(arm64_gdb_target.xml, "<architecture>aarch64</architecture>"));
	CHECK(strstr(arm64_gdb_target.xml, "<feature name=\"org.gnu.gdb.aarch64.core\">"));
	CHECK(strstr(arm64_gdb_target.xml, "<feature name=\"org.gnu.gdb.aarch64.fpu\">"));
}

static const struct arm64_one_reg *find(uint16_t offset)
{
	for (unsigned int i = 0; i < arm64_gdb_nr_one_regs; i++)
		if (arm64_gdb_one_regs[i].offset == offset)
			return &arm64_gdb_one_regs[i];
	return NULL;
}

#define ID_OF(field) \
	(find((uint16_t)offsetof(struct arm64_gdb_state, field)) ? \
	 find((uint16_t)offsetof(struct arm64_gdb_state, field))->id : 0)

TEST(one_reg_table)
{
	uint8_t seen[sizeof(struct arm64_gdb_state)] = { 0 };

	CHECK_EQ(arm64_gdb_nr_one_regs, 31 + 6 + 32 + 2 + 8);
	for (unsigned int i = 0; i < arm64_gdb_nr_one_regs; i++) {
		const struct arm64_one_reg *r = &arm64_gdb_one_regs[i];
		unsigned int sz = 1U << ((r->id >> 52) & 0xf);

		/* the id's size field says what the kernel copies */
		CHECK_EQ(sz, r->size);
		CHECK(r->offset + r->size <= sizeof(seen));
		for (unsigned int b = 0; b < r->size; b++)
			CHECK(!seen[r->offset + b]++);
		for (unsigned int j = 0; j < i; j++)
			CHECK(arm64_gdb_one_regs[j].id != r->id);
	}
	/* every byte of the state comes from KVM */
	for (size_t b = 0; b < sizeof(seen); b++)
		CHECK(seen[b] == 1);
	/* the kernel's encoding: 0x6030 0000 0010 <word offset in kvm_regs> */
	CHECK(ID_OF(x[0]) == 0x6030000000100000ULL);
	CHECK(ID_OF(x[30]) == 0x603000000010003cULL);
	CHECK(ID_OF(sp_el0) == 0x603000000010003eULL);
	CHECK(ID_OF(pc) == 0x6030000000100040ULL);
	CHECK(ID_OF(pstate) == 0x6030000000100042ULL);
	CHECK(ID_OF(sp_el1) == 0x6030000000100044ULL);
	CHECK(ID_OF(elr_el1) == 0x6030000000100046ULL);
	CHECK(ID_OF(spsr_el1) == 0x6030000000100048ULL);
	CHECK(ID_OF(v[0]) == 0x6040000000100054ULL);
	CHECK(ID_OF(v[31]) == 0x60400000001000d0ULL);
	CHECK(ID_OF(fpsr) == 0x60200000001000d4ULL);
	CHECK(ID_OF(fpcr) == 0x60200000001000d5ULL);
	/* system registers: 0x6030 0000 0013 <op0:2 op1:3 CRn:4 CRm:4 op2:3> */
	CHECK(ID_OF(sctlr) == 0x603000000013c080ULL);
	CHECK(ID_OF(tcr) == 0x603000000013c102ULL);
	CHECK(ID_OF(ttbr0) == 0x603000000013c100ULL);
	CHECK(ID_OF(ttbr1) == 0x603000000013c101ULL);
	CHECK(ID_OF(esr) == 0x603000000013c290ULL);
	CHECK(ID_OF(far) == 0x603000000013c300ULL);
	CHECK(ID_OF(vbar) == 0x603000000013c600ULL);
	CHECK(ID_OF(mair) == 0x603000000013c510ULL);
}

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void fill(struct arm64_gdb_state *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < 31; i++)
		st->x[i] = 0x1000ULL * (uint64_t)i + 1;
	st->sp_el0 = 0x0000ffffcafe0000ULL;
	st->sp_el1 = 0xffff800010003f00ULL;
	st->pc = 0xffff800010081234ULL;
	st->pstate = 0x3c5; /* EL1h, DAIF masked */
	st->elr_el1 = 0xe11;
	st->spsr_el1 = 0x5e5;
	for (int i = 0; i < 32; i++)
		memset(st->v[i], 0x80 + i, 16);
	st->fpsr = 0x8000000;
	st->fpcr = 0x3000000;
	st->esr = 0x96000045;
	st->far = 0xfa4;
	st->vbar = 0xffff800010010800ULL;
	st->sctlr = 0x30d0199d;
	st->tcr = 0x32b5503510ULL;
	st->ttbr0 = 0x41000000;
	st->ttbr1 = 0x0001000041200000ULL;
	st->mair = 0x40044ffff;
}

TEST(registers_to_gdb_layout)
{
	struct arm64_gdb_state st;
	uint8_t b[ARM64_GDB_REGS_SIZE];

	fill(&st);
	memset(b, 0xee, sizeof(b));
	arm64_gdb_get(&st, b);
	CHECK(le(b, 8) == 1 && le(b + 30 * 8, 8) == 0x1e001);
	/* EL1h: sp is SP_EL1 */
	CHECK(le(b + 248, 8) == 0xffff800010003f00ULL);
	CHECK(le(b + 256, 8) == 0xffff800010081234ULL);
	CHECK(le(b + 264, 4) == 0x3c5);
	CHECK(b[268] == 0x80 && b[268 + 31 * 16 + 15] == 0x9f);
	CHECK(le(b + 780, 4) == 0x8000000 && le(b + 784, 4) == 0x3000000);
	CHECK(le(b + 788, 8) == 0x0000ffffcafe0000ULL);   /* sp_el0 */
	CHECK(le(b + 796, 8) == 0xffff800010003f00ULL);   /* sp_el1 */
	CHECK(le(b + 820, 8) == 0x96000045);              /* esr_el1 */
	CHECK(le(b + 852, 8) == 0x32b5503510ULL);         /* tcr_el1 */
	CHECK(le(b + 868, 8) == 0x0001000041200000ULL);   /* ttbr1_el1 */
	CHECK(le(b + 876, 8) == 0x40044ffff);             /* mair_el1, last */
	/* EL1t and EL0t: SP_EL0 */
	st.pstate = 0x3c4;
	arm64_gdb_get(&st, b);
	CHECK(le(b + 248, 8) == 0x0000ffffcafe0000ULL);
	st.pstate = 0x0;
	arm64_gdb_get(&st, b);
	CHECK(le(b + 248, 8) == 0x0000ffffcafe0000ULL);
}

TEST(registers_from_gdb_layout)
{
	struct arm64_gdb_state st, orig;
	uint8_t b[ARM64_GDB_REGS_SIZE];

	fill(&st);
	orig = st;
	arm64_gdb_get(&st, b);
	arm64_gdb_put(&st, b);
	CHECK(!memcmp(&st, &orig, sizeof(st)));
	/* "sp" in EL1h is SP_EL1; the unchanged sp_el1 slot does not undo it */
	b[248] = 0x10;
	arm64_gdb_put(&st, b);
	CHECK(st.sp_el1 == 0xffff800010003f10ULL);
	CHECK(st.sp_el0 == orig.sp_el0);
	/* an explicit sp_el0 write */
	b[788] = 0x44;
	arm64_gdb_put(&st, b);
	CHECK(st.sp_el0 == 0x0000ffffcafe0044ULL);
	/* cpsr: the low 32 bits of PSTATE */
	st.pstate |= 1ULL << 40;
	b[264] = 0xc4; /* now EL1t: "sp" is SP_EL0 */
	b[248] = 0x99;
	arm64_gdb_put(&st, b);
	CHECK(st.pstate == ((1ULL << 40) | 0x3c4));
	CHECK(st.sp_el0 == 0xffff800010003f99ULL);
	/* v31 and a system register */
	b[268 + 31 * 16] = 0x55;
	b[852] = 0x01; /* tcr_el1 */
	arm64_gdb_put(&st, b);
	CHECK(st.v[31][0] == 0x55 && st.tcr == 0x32b5503501ULL);
	CHECK(st.x[0] == 1 && st.pc == orig.pc);
}

/* --- stage-1 tables ----------------------------------------------------- */

struct pt {
	struct guest_mem m;
	uint64_t next;
	unsigned int granule;    /* log2 of the page size */
	unsigned int ia;         /* input address bits (64 - TnSZ) */
};

static int pt_init(struct pt *p, unsigned int granule, unsigned int ia)
{
	const uint64_t ranges[][2] = { { RAM, 64 * MIB } };

	p->next = RAM + 16 * MIB;
	p->granule = granule;
	p->ia = ia;
	return guest_mem_init(&p->m, ranges, 1);
}

static uint64_t get64(struct pt *p, uint64_t gpa)
{
	uint64_t v = 0;

	if (gpa_read(&p->m, gpa, &v, 8))
		abort();
	return v;
}

static void set64(struct pt *p, uint64_t gpa, uint64_t v)
{
	if (gpa_write(&p->m, gpa, &v, 8))
		abort();
}

static uint64_t new_table(struct pt *p)
{
	uint64_t t = p->next;

	p->next += 1ULL << p->granule;
	return t;
}

static int start_level(const struct pt *p)
{
	unsigned int stride = p->granule - 3;

	return 4 - (int)((p->ia - p->granule + stride - 1) / stride);
}

/* va -> desc at level leaf of the tree at root (table addresses < 2^48) */
static void map(struct pt *p, uint64_t root, uint64_t va, int leaf,
		uint64_t desc)
{
	unsigned int stride = p->granule - 3;
	int start = start_level(p);
	uint64_t table = root;

	for (int l = start; l <= leaf; l++) {
		unsigned int shift = p->granule + (unsigned int)(3 - l) * stride;
		unsigned int nbits = l == start ? p->ia - shift : stride;
		uint64_t slot = table + ((va >> shift) & ((1ULL << nbits) - 1)) * 8;
		uint64_t e;

		if (l == leaf) {
			set64(p, slot, desc);
			return;
		}
		e = get64(p, slot);
		if (!(e & 1)) {
			e = new_table(p) | 3;
			set64(p, slot, e);
		}
		table = e & 0x0000fffffffff000ULL & ~((1ULL << p->granule) - 1);
	}
}

/* descriptor attributes that are not address bits: AF, SH, UXN, PXN */
#define ATTR   ((1ULL << 10) | (3ULL << 8) | (1ULL << 54) | (1ULL << 53))
#define PAGE(pa)  ((pa) | ATTR | 3)
#define BLOCK(pa) ((pa) | ATTR | 1)

#define SCTLR_M 1ULL
/* TCR_EL1: TnSZ, granules (TG0: 0 4K, 1 64K, 2 16K; TG1: 2 4K, 3 64K, 1 16K) */
static uint64_t tcr(unsigned int tsz, unsigned int granule, unsigned int ips)
{
	uint64_t tg0 = granule == 12 ? 0 : granule == 16 ? 1 : 2;
	uint64_t tg1 = granule == 12 ? 2 : granule == 16 ? 3 : 1;

	return tsz | (uint64_t)tsz << 16 | tg0 << 14 | tg1 << 30 |
	       (uint64_t)ips << 32;
}

static int xlate(struct pt *p, const struct arm64_mmu *mmu, uint64_t va,
		 uint64_t *gpa, uint64_t *len)
{
	struct gva_map map;
	int r = arm64_translate(&p->m, mmu, va, &map);

	if (r == 0) {
		*gpa = map.gpa;
		*len = map.len;
	}
	return r;
}

TEST(granule_4k_48_bit)
{
	struct pt p;
	uint64_t t0, t1, gpa = 0, len = 0;
	struct arm64_mmu mmu;
	uint8_t buf[8];

	CHECK(pt_init(&p, 12, 48) == 0);
	CHECK_EQ(start_level(&p), 0);
	t0 = new_table(&p);
	t1 = new_table(&p);
	mmu = (struct arm64_mmu){ SCTLR_M, tcr(16, 12, 5), t0, t1 | 0x5a5aULL << 48 };
	/* user page through TTBR0, kernel page, 2 MiB and 1 GiB blocks */
	map(&p, t0, 0x400000, 3, PAGE(RAM + 0x3000));
	map(&p, t1, 0xffff800010080000ULL, 3, PAGE(RAM + 0x5000));
	map(&p, t1, 0xffff000000200000ULL, 2, BLOCK(RAM + 0x200000));
	map(&p, t1, 0xffff008000000000ULL, 1, BLOCK(RAM));
	CHECK(xlate(&p, &mmu, 0x400abc, &gpa, &len) == 0);
	CHECK(gpa == RAM + 0x3abc && len == 0x1000 - 0xabc);
	CHECK(xlate(&p, &mmu, 0xffff800010080010ULL, &gpa, &len) == 0);
	CHECK(gpa == RAM + 0x5010);
	CHECK(xlate(&p, &mmu, 0xffff000000212345ULL, &gpa, &len) == 0);
	CHECK(gpa == RAM + 0x212345 && len == 0x200000 - 0x12345);
	CHECK(xlate(&p, &mmu, 0xffff008000abcdefULL, &gpa, &len) == 0);
	CHECK(gpa == RAM + 0xabcdef && len == GIB - 0xabcdef);
	*(uint32_t *)gpa_ptr(&p.m, RAM + 0x5ffc, 4) = 0xd503201f; /* nop */
	CHECK(gva_read(&p.m, arm64_gva_walk, &mmu, 0xffff800010080ffcULL, buf, 8) == 4);
	CHECK(le(buf, 4) == 0xd503201f);
	/* not mapped; and the other half's table does not leak across */
	CHECK(xlate(&p, &mmu, 0x401000, &gpa, &len) == -EFAULT);
	CHECK(xlate(&p, &mmu, 0xffff000000400000ULL, &gpa, &len) == -EFAULT);
	CHECK(xlate(&p, &mmu, 0x0000800010080010ULL, &gpa, &len) == -EFAULT);
	guest_mem_destroy(&p.m);
}

TEST(granule_4k_39_bit_and_top_byte)
{
	struct pt p;
	uint64_t t0, t1, gpa = 0, len = 0;
	struct arm64_mmu mmu;

	CHECK(pt_init(&p, 12, 39) == 0);
	CHECK_EQ(start_level(&p), 1);
	t0 = new_table(&p);
	t1 = new_table(&p);
	mmu = (struct arm64_mmu){ SCTLR_M, tcr(25, 12, 2), t0, t1 };
	map(&p, t0, 0x7fffff000ULL, 3, PAGE(RAM + 0x7000));
	map(&p, t1, 0xffffffc000001000ULL, 3, PAGE(RAM + 0x8000));
	CHECK(xlate(&p, &mmu, 0x7fffff008ULL, &gpa, &len) == 0 && gpa == RAM + 0x7008);
	CHECK(xlate(&p, &mmu, 0xffffffc000001008ULL, &gpa, &len) == 0 &&
	      gpa == RAM + 0x8008);
	/* bits 39..63 must all be 0 or all 1 */
	CHECK(xlate(&p, &mmu, 0x8000000000ULL, &gpa, &len) == -EFAULT);
	CHECK(xlate(&p, &mmu, 0xffffff8000001008ULL - (1ULL << 39), &gpa, &len) == -EFAULT);
	/* a tagged pointer only with TBI0 */
	CHECK(xlate(&p, &mmu, 0x5a000007fffff008ULL, &gpa, &len) == -EFAULT);
	mmu.tcr |= 1ULL << 37;
	CHECK(xlate(&p, &mmu, 0x5a000007fffff008ULL, &gpa, &len) == 0 &&
	      gpa == RAM + 0x7008);
	/* TBI1 for the upper half */
	CHECK(xlate(&p, &mmu, 0x3cffffc000001008ULL, &gpa, &len) == -EFAULT);
	mmu.tcr |= 1ULL << 38;
	CHECK(xlate(&p, &mmu, 0x3cffffc000001008ULL, &gpa, &len) == 0 &&
	      gpa == RAM + 0x8008);
	/* EPD1: walks of TTBR1 disabled */
	mmu.tcr |= 1ULL << 23;
	CHECK(xlate(&p, &mmu, 0xffffffc000001008ULL, &gpa, &len) == -EFAULT);
	/* IPS 40 bits: an output address above is an address size fault */
	mmu.tcr &= ~(1ULL << 23);
	map(&p, t1, 0xffffffc000002000ULL, 3, PAGE(1ULL << 40));
	CHECK(xlate(&p, &mmu, 0xffffffc000002000ULL, &gpa, &len) == -EFAULT);
	guest_mem_destroy(&p.m);
}

TEST(granule_16k)
{
	struct pt p;
	uint64_t t0, t1, gpa = 0, len = 0;
	struct arm64_mmu mmu;

	/* 48 bits: a level 0 table of two entries */
	CHECK(pt_init(&p, 14, 48) == 0);
	CHECK_EQ(start_level(&p), 0);
	t0 = new_table(&p);
	t1 = new_table(&p);
	mmu = (struct arm64_mmu){ SCTLR_M, tcr(16, 14, 5), t0, t1 };
	map(&p, t1, 0xffff800000004000ULL, 3, PAGE(RAM + 0x8000));
	map(&p, t1, 0xffff800002000000ULL, 2, BLOCK(RAM + 0x2000000));
	map(&p, t0, 0x0000800000000000ULL - 0x4000, 3, PAGE(RAM + 0xc000));
	CHECK(xlate(&p, &mmu, 0xffff800000007ffcULL, &gpa, &len) == 0);
	CHECK(gpa == RAM + 0xbffc && len == 4);
	CHECK(xlate(&p, &mmu, 0xffff800002345678ULL, &gpa, &len) == 0);
	CHECK(gpa == RAM + 0x2345678 && len == 0x2000000 - 0x345678);
	CHECK(xlate(&p, &mmu, 0x00007ffffffffff0ULL, &gpa, &len) == 0);
	CHECK(gpa == RAM + 0xfff0);
	/* a block at level 1 needs TCR_EL1.DS */
	map(&p, t1, 0xffff801000000000ULL, 1, BLOCK(0));
	CHECK(xlate(&p, &mmu, 0xffff801000000000ULL, &gpa, &len) == -EFAULT);
	guest_mem_destroy(&p.m);
	/* 47 bits: starts at level 1 */
	CHECK(pt_init(&p, 14, 47) == 0);
	CHECK_EQ(start_level(&p), 1);
	t0 = new_table(&p);
	mmu = (struct arm64_mmu){ SCTLR_M, tcr(17, 14, 5), t0, 0 };
	map(&p, t0, 0x1234000, 3, PAGE(RAM + 0x10000));
	CHECK(xlate(&p, &mmu, 0x1234abc, &gpa, &len) == 0 && gpa == RAM + 0x10abc);
	guest_mem_destroy(&p.m);
}

TEST(granule_64k)
{
	struct pt p;
	uint64_t t0, t1, gpa = 0, len = 0;
	struct arm64_mmu mmu;

	/* 48 bits: level 1 (64 entries), 512 MiB blocks at level 2 */
	CHECK(pt_init(&p, 16, 48) == 0);
	CHECK_EQ(start_level(&p), 1);
	t0 = new_table(&p);
	t1 = new_table(&p);
	mmu = (struct arm64_mmu){ SCTLR_M, tcr(16, 16, 5), t0, t1 };
	map(&p, t1, 0xfffffc0000010000ULL, 3, PAGE(RAM + 0x30000));
	map(&p, t0, 0x20000000, 2, BLOCK(RAM));
	CHECK(xlate(&p, &mmu, 0xfffffc000001fff0ULL, &gpa, &len) == 0);
	CHECK(gpa == RAM + 0x3fff0 && len == 0x10);
	CHECK(xlate(&p, &mmu, 0x20000123, &gpa, &len) == 0);
	CHECK(gpa == RAM + 0x123 && len == 0x20000000 - 0x123);
	/* no level 1 blocks without 52-bit addresses */
	map(&p, t0, 1ULL << 42, 1, BLOCK(0));
	CHECK(xlate(&p, &mmu, 1ULL << 42, &gpa, &len) == -EFAULT);
	guest_mem_destroy(&p.m);

	/* 42 bits (Linux's 64K/42-bit config): two levels */
	CHECK(pt_init(&p, 16, 42) == 0);
	CHECK_EQ(start_level(&p), 2);
	t1 = new_table(&p);
	mmu = (struct arm64_mmu){ SCTLR_M, tcr(22, 16, 5), 0, t1 };
	map(&p, t1, 0xfffffc0000000000ULL + 0x50000, 3, PAGE(RAM + 0x40000));
	CHECK(xlate(&p, &mmu, 0xfffffc0000050008ULL, &gpa, &len) == 0 &&
	      gpa == RAM + 0x40008);
	guest_mem_destroy(&p.m);

	/* 52-bit addresses: PA[51:48] in descriptor bits 15:12 (and TTBR 5:2) */
	CHECK(pt_init(&p, 16, 52) == 0);
	CHECK_EQ(start_level(&p), 1);
	t1 = new_table(&p);
	mmu = (struct arm64_mmu){ SCTLR_M, tcr(12, 16, 6), 0, t1 };
	map(&p, t1, 0xfff0000000000000ULL, 3, PAGE(0x40000000ULL | 0xaULL << 12));
	CHECK(xlate(&p, &mmu, 0xfff0000000000010ULL, &gpa, &len) == 0);
	CHECK(gpa == (0xaULL << 48 | 0x40000010ULL));
	/* ... and a 4 TiB block at level 1 is allowed */
	map(&p, t1, 0xfff0040000000000ULL, 1, BLOCK(0));
	CHECK(xlate(&p, &mmu, 0xfff0040000000008ULL, &gpa, &len) == 0 && gpa == 8);
	guest_mem_destroy(&p.m);
}

TEST(lpa2_4k_five_levels)
{
	struct pt p;
	uint64_t t1, gpa = 0, len = 0;
	struct arm64_mmu mmu;

	/* TCR_EL1.DS with 4 KiB pages: 52-bit VAs start at level -1 */
	CHECK(pt_init(&p, 12, 52) == 0);
	CHECK_EQ(start_level(&p), -1);
	t1 = new_table(&p);
	mmu = (struct arm64_mmu){ SCTLR_M, tcr(12, 12, 6) | 1ULL << 59, 0, t1 };
	/* PA[51:50] in descriptor bits 9:8 */
	map(&p, t1, 0xfff0000000001000ULL, 3, (RAM + 0x9000) | (1ULL << 10) | (2ULL << 8) | 3);
	CHECK(xlate(&p, &mmu, 0xfff0000000001004ULL, &gpa, &len) == 0);
	CHECK(gpa == (2ULL << 50 | (RAM + 0x9004)));
	/* without DS the same bits are shareability attributes */
	mmu.tcr &= ~(1ULL << 59);
	CHECK(xlate(&p, &mmu, 0xfff0000000001004ULL, &gpa, &len) == 0);
	CHECK(gpa == RAM + 0x9004);
	guest_mem_destroy(&p.m);
}

TEST(hostile_tables)
{
	struct pt p;
	uint64_t t0, gpa = 0, len = 0, pt3;
	struct arm64_mmu mmu, off;
	uint8_t buf[4];

	CHECK(pt_init(&p, 12, 48) == 0);
	t0 = new_table(&p);
	mmu = (struct arm64_mmu){ SCTLR_M, tcr(16, 12, 5), t0, 0 };
	/* invalid descriptor; a level 3 "block" (bit 1 clear) is reserved */
	map(&p, t0, 0x1000, 3, BLOCK(RAM));
	CHECK(xlate(&p, &mmu, 0x1000, &gpa, &len) == -EFAULT);
	map(&p, t0, 0x1000, 3, 0);
	CHECK(xlate(&p, &mmu, 0x1000, &gpa, &len) == -EFAULT);
	/* a level 0 block with 4 KiB pages and no DS */
	set64(&p, t0 + 8, BLOCK(0));
	CHECK(xlate(&p, &mmu, 1ULL << 39, &gpa, &len) == -EFAULT);
	/* a table outside RAM, and beyond the output address size */
	set64(&p, t0 + 16, 0x7fff000000ULL | 3);
	CHECK(xlate(&p, &mmu, 2ULL << 39, &gpa, &len) == -EFAULT);
	set64(&p, t0 + 24, 0xfff000000000ULL | 3);
	mmu.tcr = tcr(16, 12, 2); /* 40-bit output */
	CHECK(xlate(&p, &mmu, 3ULL << 39, &gpa, &len) == -EFAULT);
	mmu.tcr = tcr(16, 12, 5);
	/* a page outside RAM translates, reading it does not */
	map(&p, t0, 0x2000, 3, PAGE(0x7000000000ULL));
	CHECK(xlate(&p, &mmu, 0x2000, &gpa, &len) == 0 && gpa == 0x7000000000ULL);
	CHECK(gva_read(&p.m, arm64_gva_walk, &mmu, 0x2000, buf, 4) == -EFAULT);
	/* a table that points at itself at every level: the walk ends */
	set64(&p, t0 + 511 * 8, t0 | 3);
	CHECK(xlate(&p, &mmu, 0x0000fffffffff010ULL, &gpa, &len) == 0);
	CHECK(gpa == t0 + 0x10);
	/* the level 3 table of 0x1000/0x2000 pointing at itself as a page */
	pt3 = get64(&p, get64(&p, get64(&p, t0) & ~0xfffULL) & ~0xfffULL) & ~0xfffULL;
	set64(&p, pt3 + 3 * 8, pt3 | ATTR | 3);
	CHECK(xlate(&p, &mmu, 0x3008, &gpa, &len) == 0 && gpa == pt3 + 8);
	/* TTBR outside RAM */
	mmu.ttbr0 = 0x1000;
	CHECK(xlate(&p, &mmu, 0x2000, &gpa, &len) == -EFAULT);
	/* reserved granules and sizes */
	mmu.ttbr0 = t0;
	mmu.tcr = tcr(16, 12, 5) | 3ULL << 14;   /* TG0 0b11 */
	CHECK(xlate(&p, &mmu, 0x2000, &gpa, &len) == -EFAULT);
	mmu.tcr = tcr(16, 12, 5) & ~(3ULL << 30); /* TG1 0b00 */
	CHECK(xlate(&p, &mmu, 0xffff000000000000ULL, &gpa, &len) == -EFAULT);
	mmu.tcr = tcr(0, 12, 5);
	CHECK(xlate(&p, &mmu, 0x2000, &gpa, &len) == -EFAULT);
	mmu.tcr = tcr(63, 12, 5);
	CHECK(xlate(&p, &mmu, 0x0, &gpa, &len) == -EFAULT);
	/* MMU off: flat */
	off = (struct arm64_mmu){ 0, 0, 0, 0 };
	CHECK(xlate(&p, &off, RAM + 0x1234, &gpa, &len) == 0 && gpa == RAM + 0x1234);
	CHECK(xlate(&p, &off, 1ULL << 52, &gpa, &len) == -EFAULT);
	guest_mem_destroy(&p.m);
}

/* --- the debug registers ----------------------------------------------- */

#define BCR_A64_EL1_EL0 0x1e7ULL   /* E, PMC 0b11, BAS 0b1111 */
/* DBGWCR: E, PAC 0b11, LSC, BAS */
static uint64_t wcr(unsigned int lsc, unsigned int bas)
{
	return 1 | 3ULL << 1 | (uint64_t)lsc << 3 | (uint64_t)bas << 5;
}

TEST(debug_registers_layout)
{
	struct gdb_bp bp[] = {
		{ GDB_BP_HW, 0xffff800008010000ULL, 4 },
		{ GDB_WATCH_WRITE, 0x1004, 4 },   /* bytes 4-7 of a doubleword */
		{ GDB_WATCH_READ, 0x2000, 8 },
		{ GDB_WATCH_ACCESS, 0x3006, 4 },  /* straddles two doublewords */
	};
	struct arm64_gdb_hw h;

	CHECK_EQ(arm64_gdb_hw_layout(bp, 4, 6, 4, &h), 0);
	CHECK(h.bvr[0] == 0xffff800008010000ULL);
	CHECK_EQ(h.bcr[0], BCR_A64_EL1_EL0);
	CHECK_EQ(h.bcr[1], 0);
	CHECK_EQ(h.brp_bp[0], 0);
	CHECK_EQ(h.brp_bp[1], -1);
	CHECK_EQ(h.wvr[0], 0x1000);
	CHECK_EQ(h.wcr[0], wcr(2, 0xf0));
	CHECK_EQ(h.wvr[1], 0x2000);
	CHECK_EQ(h.wcr[1], wcr(1, 0xff));
	CHECK_EQ(h.wvr[2], 0x3000);
	CHECK_EQ(h.wcr[2], wcr(3, 0xc0));
	CHECK_EQ(h.wvr[3], 0x3008);
	CHECK_EQ(h.wcr[3], wcr(3, 0x03));
	CHECK_EQ(h.wrp_bp[0], 1);
	CHECK_EQ(h.wrp_bp[2], 3);
	CHECK_EQ(h.wrp_bp[3], 3);
	CHECK_EQ(h.wcr[4], 0);
}

TEST(debug_registers_refused)
{
	struct gdb_bp two[2] = { { GDB_BP_HW, 0x1000, 4 }, { GDB_BP_HW, 0x2000, 4 } };
	struct gdb_bp odd = { GDB_BP_HW, 0x1002, 4 };
	struct gdb_bp wide = { GDB_WATCH_WRITE, 0x1004, 8 };  /* two registers */
	struct gdb_bp none = { GDB_WATCH_WRITE, 0x1000, 0 };
	struct arm64_gdb_hw h;

	CHECK_EQ(arm64_gdb_hw_layout(two, 2, 2, 0, &h), 0);
	CHECK_EQ(arm64_gdb_hw_layout(two, 2, 1, 4, &h), -ENOSPC);
	CHECK_EQ(arm64_gdb_hw_layout(&odd, 1, 6, 4, &h), -EINVAL);
	CHECK_EQ(arm64_gdb_hw_layout(&wide, 1, 6, 1, &h), -ENOSPC);
	CHECK_EQ(arm64_gdb_hw_layout(&wide, 1, 6, 2, &h), 0);
	CHECK_EQ(arm64_gdb_hw_layout(&none, 1, 6, 4, &h), -EINVAL);
	/* a host claiming more than the architecture has is held to 16 */
	CHECK_EQ(arm64_gdb_hw_layout(two, 2, 99, 99, &h), 0);
}

TEST(debug_exit_classified)
{
	struct gdb_bp bp[] = {
		{ GDB_BP_HW, 0x4000, 4 },
		{ GDB_WATCH_WRITE, 0x1004, 4 },
		{ GDB_WATCH_ACCESS, 0x2000, 8 },
	};
	struct arch_gdb_exit x;

	/* ESR_EL2 exception classes, in bits 31:26 */
	arm64_gdb_classify(0x32U << 26, 0, 0x8000, bp, 3, &x);
	CHECK_EQ(x.event, ARCH_GDB_STEP);
	CHECK_EQ(x.pc, 0x8000);
	arm64_gdb_classify(0x3cU << 26, 0, 0x8000, bp, 3, &x);
	CHECK_EQ(x.event, ARCH_GDB_SWBREAK);
	arm64_gdb_classify(0x30U << 26, 0, 0x4000, bp, 3, &x);
	CHECK_EQ(x.event, ARCH_GDB_HWBREAK);
	CHECK_EQ(x.bp, 0);
	/* a breakpoint exception at a pc we set nothing at */
	arm64_gdb_classify(0x30U << 26, 0, 0x4004, bp, 3, &x);
	CHECK_EQ(x.event, ARCH_GDB_OTHER);
	/* a watchpoint: FAR names an address of the access */
	arm64_gdb_classify(0x34U << 26, 0x2004, 0x8000, bp, 3, &x);
	CHECK_EQ(x.event, ARCH_GDB_WATCH);
	CHECK_EQ(x.bp, 2);
	CHECK_EQ(x.addr, 0x2004);
	/* FAR in the watched doubleword but before the bytes watched */
	arm64_gdb_classify(0x34U << 26, 0x1000, 0x8000, bp, 3, &x);
	CHECK_EQ(x.event, ARCH_GDB_WATCH);
	CHECK_EQ(x.bp, 1);
	CHECK_EQ(x.addr, 0x1004);
	/* anything else: not ours */
	arm64_gdb_classify(0x15U << 26, 0, 0x8000, bp, 3, &x);
	CHECK_EQ(x.event, ARCH_GDB_OTHER);
	CHECK_EQ(x.exception, 0x15);
}

UNIT_MAIN("arm64_gdb",
	  T(target_description_matches_layout), T(one_reg_table),
	  T(registers_to_gdb_layout), T(registers_from_gdb_layout),
	  T(granule_4k_48_bit), T(granule_4k_39_bit_and_top_byte),
	  T(granule_16k), T(granule_64k), T(lpa2_4k_five_levels),
	  T(hostile_tables), T(debug_registers_layout),
	  T(debug_registers_refused), T(debug_exit_classified))
