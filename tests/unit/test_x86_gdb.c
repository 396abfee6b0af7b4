// SPDX-License-Identifier: MIT
/*
 * x86-64 for the GDB stub: the target description against the register
 * layout, KVM's structures in and out of GDB's layout (byte offsets, the
 * x87 tag word, what a write must leave alone), and the page-table
 * walker on tables built in a real struct guest_mem: paging off, 32-bit
 * (4 MiB pages), PAE, 4- and 5-level paging with 2 MiB and 1 GiB pages,
 * and the hostile cases (non-canonical addresses, reserved PS bits,
 * tables and pages outside RAM, a table that points at itself).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../../arch/x86_64/gdb.h"
#include "gdb_xml.h"
#include "unit.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static const char *const names[X86_GDB_NR_REGS] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	"rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs",
	"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7",
	"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop",
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
	"xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
	"mxcsr", "fs_base", "gs_base", "k_gs_base", "cr0", "cr2", "cr3",
	"cr4", "cr8", "efer",
};

TEST(target_description_matches_layout)
{
	CHECK(gdb_target_regs_size(&x86_gdb_target) == X86_GDB_REGS_SIZE);
	CHECK(x86_gdb_target.nr_regs == X86_GDB_NR_REGS);
	CHECK(x86_gdb_target.pc_reg == 16);
	CHECK(fake_xml_matches(&x86_gdb_target, names));
	CHECK(strstr(x86_gdb_target.xml, "<architecture>i386:x86-64</architecture>"));
	CHECK(strstr(x86_gdb_target.xml, "<feature name=\"org.gnu.gdb.i386.core\">"));
	CHECK(strstr(x86_gdb_target.xml, "<feature name=\"org.gnu.gdb.i386.sse\">"));
	CHECK(strstr(x86_gdb_target.xml, "<feature name=\"org.gnu.gdb.i386.segments\">"));
}

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void fill(struct x86_gdb_state *st)
{
	memset(st, 0, sizeof(*st));
	st->regs.rax = 0x1111111111111111ULL;
	st->regs.rbx = 0x2222;
	st->regs.rsp = 0xffffc90000001000ULL;
	st->regs.r15 = 0xf15;
	st->regs.rip = 0xffffffff81000000ULL;
	st->regs.rflags = 0xdead000000000246ULL; /* upper half: not GDB's */
	st->sregs.cs.selector = 0x10;
	st->sregs.cs.base = 0x1234;
	st->sregs.gs.selector = 0x18;
	st->sregs.fs.base = 0x7f0000001000ULL;
	st->sregs.gs.base = 0xffff888000000000ULL;
	st->sregs.cr0 = 0x80050033;
	st->sregs.cr2 = 0xc2;
	st->sregs.cr3 = 0x1000;
	st->sregs.cr4 = 0x3006a0;
	st->sregs.cr8 = 0x8;
	st->sregs.efer = 0xd01;
	st->kernel_gs_base = 0xffff888077000000ULL;
	st->fpu.fcw = 0x37f;
	st->fpu.fsw = 0x3800; /* TOP = 7 */
	st->fpu.last_opcode = 0x5ab;
	st->fpu.last_ip = 0x1122334455667788ULL;
	st->fpu.last_dp = 0x99aabbccddeeff00ULL;
	st->fpu.mxcsr = 0x1f80;
	for (int i = 0; i < 16; i++)
		memset(st->fpu.xmm[i], 0x40 + i, 16);
}

TEST(registers_to_gdb_layout)
{
	struct x86_gdb_state st;
	uint8_t b[X86_GDB_REGS_SIZE];

	fill(&st);
	memset(b, 0xee, sizeof(b));
	x86_gdb_get(&st, b);
	CHECK(le(b + 0, 8) == 0x1111111111111111ULL);
	CHECK(le(b + 8, 8) == 0x2222);
	CHECK(le(b + 7 * 8, 8) == 0xffffc90000001000ULL);  /* rsp */
	CHECK(le(b + 15 * 8, 8) == 0xf15);
	CHECK(le(b + 128, 8) == 0xffffffff81000000ULL);    /* rip */
	CHECK(le(b + 136, 4) == 0x246);                    /* eflags */
	CHECK(le(b + 140, 4) == 0x10);                     /* cs */
	CHECK(le(b + 160, 4) == 0x18);                     /* gs */
	CHECK(le(b + 244, 4) == 0x37f);                    /* fctrl */
	CHECK(le(b + 248, 4) == 0x3800);                   /* fstat */
	CHECK(le(b + 252, 4) == 0xffff);                   /* ftag: all empty */
	CHECK(le(b + 256, 4) == 0x11223344);               /* fiseg */
	CHECK(le(b + 260, 4) == 0x55667788);               /* fioff */
	CHECK(le(b + 264, 4) == 0x99aabbcc);               /* foseg */
	CHECK(le(b + 268, 4) == 0xddeeff00);               /* fooff */
	CHECK(le(b + 272, 4) == 0x5ab);                    /* fop */
	CHECK(b[276] == 0x40 && b[276 + 16 * 15 + 15] == 0x4f); /* xmm */
	CHECK(le(b + 532, 4) == 0x1f80);                   /* mxcsr */
	CHECK(le(b + 536, 8) == 0x7f0000001000ULL);        /* fs_base */
	CHECK(le(b + 544, 8) == 0xffff888000000000ULL);
	CHECK(le(b + 552, 8) == 0xffff888077000000ULL);    /* k_gs_base */
	CHECK(le(b + 560, 8) == 0x80050033);               /* cr0 */
	CHECK(le(b + 568, 8) == 0xc2);
	CHECK(le(b + 576, 8) == 0x1000);
	CHECK(le(b + 584, 8) == 0x3006a0);
	CHECK(le(b + 592, 8) == 8);
	CHECK(le(b + 600, 8) == 0xd01);                    /* efer, the last */
}

/* ST(i) lives in physical register (TOP + i) & 7; the tag depends on it */
TEST(x87_tag_word)
{
	struct x86_gdb_state st;
	uint8_t b[X86_GDB_REGS_SIZE];
	static const uint8_t one[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f };
	static const uint8_t zero[10] = { 0 };
	static const uint8_t inf[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x7f };
	static const uint8_t unnormal[10] = { 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x3f };

	fill(&st);
	st.fpu.fsw = 6 << 11; /* TOP = 6 */
	memcpy(st.fpu.fpr[0], one, 10);      /* physical 6: valid (00) */
	memcpy(st.fpu.fpr[1], zero, 10);     /* physical 7: zero (01) */
	memcpy(st.fpu.fpr[2], inf, 10);      /* physical 0: special (10) */
	memcpy(st.fpu.fpr[3], unnormal, 10); /* physical 1: special (10) */
	st.fpu.ftwx = 0xc3;                  /* physical 0, 1, 6, 7 in use */
	x86_gdb_get(&st, b);
	CHECK_EQ(le(b + 252, 4), 0x4000 | 0x0000 | 0xf0 | 0x0f00 | 0x8 | 0x2);
	CHECK(!memcmp(b + 164, one, 10) && !memcmp(b + 184, inf, 10));
	/* and back: the abridged tag is "not empty" */
	b[252] = 0xff;
	b[253] = 0x00; /* physical 0-3 empty, 4-7 in use */
	CHECK(x86_gdb_put(&st, b) == X86_GDB_CHANGED_FPU);
	CHECK_EQ(st.fpu.ftwx, 0xf0);
}

TEST(registers_from_gdb_layout)
{
	struct x86_gdb_state st, orig;
	uint8_t b[X86_GDB_REGS_SIZE];

	fill(&st);
	orig = st;
	x86_gdb_get(&st, b);
	/* what was read, written back: nothing changes */
	CHECK_EQ(x86_gdb_put(&st, b), 0);
	CHECK(!memcmp(&st, &orig, sizeof(st)));
	/* rax and eflags: regs only; rflags keeps its upper half */
	b[0] = 0x42;
	b[136] = 0x02;
	CHECK_EQ(x86_gdb_put(&st, b), X86_GDB_CHANGED_REGS);
	CHECK(st.regs.rax == 0x1111111111111142ULL);
	CHECK(st.regs.rflags == 0xdead000000000202ULL);
	/* a selector: only the selector, the descriptor cache stays */
	b[140] = 0x08;
	CHECK_EQ(x86_gdb_put(&st, b), X86_GDB_CHANGED_SREGS);
	CHECK(st.sregs.cs.selector == 0x08 && st.sregs.cs.base == 0x1234);
	/* cr3 */
	b[577] = 0x20;
	CHECK_EQ(x86_gdb_put(&st, b), X86_GDB_CHANGED_SREGS);
	CHECK(st.sregs.cr3 == 0x2000);
	/* xmm15 and the FPU pointers */
	b[531] = 0x99;
	b[256] = 0x01;
	CHECK_EQ(x86_gdb_put(&st, b), X86_GDB_CHANGED_FPU);
	CHECK(st.fpu.xmm[15][15] == 0x99);
	CHECK(st.fpu.last_ip == 0x1122330155667788ULL);
	/* k_gs_base: the MSR */
	b[552] = 0x01;
	CHECK_EQ(x86_gdb_put(&st, b), X86_GDB_CHANGED_MSR);
	CHECK(st.kernel_gs_base == 0xffff888077000001ULL);
	/* fop beyond 11 bits is dropped */
	b[272] = 0xff;
	b[273] = 0xff;
	x86_gdb_put(&st, b);
	CHECK(st.fpu.last_opcode == 0x7ff);
}

/* --- page tables ---------------------------------------------------------- */

#define P   1ULL
#define RW  2ULL
#define PS  (1ULL << 7)
#define NX  (1ULL << 63)

struct pt {
	struct guest_mem m;
	uint64_t next;        /* next free page for tables */
};

static int pt_init(struct pt *p)
{
	const uint64_t ranges[][2] = { { 0, 64 * MIB } };

	p->next = 16 * MIB;
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

	p->next += 4096;
	return t;
}

/* va -> leaf_entry at level leaf (1: PTE, 2: PDE, 3: PDPTE) of a tree */
static void map(struct pt *p, uint64_t root, int levels, uint64_t va,
		int leaf, uint64_t entry)
{
	uint64_t table = root;

	for (int l = levels; l > leaf; l--) {
		uint64_t slot = table + ((va >> (12 + 9 * (l - 1))) & 511) * 8;
		uint64_t e = get64(p, slot);

		if (!(e & P)) {
			e = new_table(p) | P | RW;
			set64(p, slot, e);
		}
		table = e & 0x000ffffffffff000ULL;
	}
	set64(p, table + ((va >> (12 + 9 * (leaf - 1))) & 511) * 8, entry);
}

static struct x86_mmu long_mode(uint64_t cr3, bool la57)
{
	return (struct x86_mmu){ .cr0 = 0x80000011, .cr3 = cr3,
				 .cr4 = 0x20 | (la57 ? 1ULL << 12 : 0),
				 .efer = 0x500 };
}

static int xlate(struct pt *p, const struct x86_mmu *mmu, uint64_t va,
		 uint64_t *gpa, uint64_t *len)
{
	struct gva_map map;
	int r = x86_translate(&p->m, mmu, va, &map);

	if (r == 0) {
		*gpa = map.gpa;
		*len = map.len;
	}
	return r;
}

TEST(four_level_pages)
{
	struct pt p;
	uint64_t root, gpa = 0, len = 0;
	struct x86_mmu mmu;
	uint8_t buf[16];

	CHECK(pt_init(&p) == 0);
	root = new_table(&p);
	mmu = long_mode(root | 0x18 /* PWT, PCD */, false);
	/* 4 KiB, with NX and the PAT bit set */
	map(&p, root, 4, 0xffffffff81000000ULL, 1, 0x200000 | P | NX | (1 << 7));
	CHECK(xlate(&p, &mmu, 0xffffffff81000123ULL, &gpa, &len) == 0);
	CHECK(gpa == 0x200123 && len == 0x1000 - 0x123);
	/* 2 MiB, PAT (bit 12) is not an address bit */
	map(&p, root, 4, 0xffff888000000000ULL, 2, 0x400000 | P | PS | (1 << 12));
	CHECK(xlate(&p, &mmu, 0xffff888000123456ULL, &gpa, &len) == 0);
	CHECK(gpa == 0x523456 && len == 0x200000 - 0x123456);
	/* 1 GiB */
	map(&p, root, 4, 0x40000000ULL, 3, 0 | P | PS);
	CHECK(xlate(&p, &mmu, 0x40abcdefULL, &gpa, &len) == 0);
	CHECK(gpa == 0xabcdef && len == GIB - 0xabcdef);
	/* through gva_read: the bytes of the page it maps */
	*(uint32_t *)gpa_ptr(&p.m, 0x200ffc, 4) = 0x11223344;
	CHECK(gva_read(&p.m, x86_gva_walk, &mmu, 0xffffffff81000ffcULL, buf, 16) == 4);
	CHECK(buf[0] == 0x44 && buf[3] == 0x11);
	/* not present */
	CHECK(xlate(&p, &mmu, 0xffffffff81001000ULL, &gpa, &len) == -EFAULT);
	CHECK(xlate(&p, &mmu, 0x1000, &gpa, &len) == -EFAULT);
	guest_mem_destroy(&p.m);
}

TEST(four_level_hostile)
{
	struct pt p;
	uint64_t root, gpa = 0, len = 0;
	struct x86_mmu mmu;
	uint8_t buf[8];

	CHECK(pt_init(&p) == 0);
	root = new_table(&p);
	mmu = long_mode(root, false);
	/* non-canonical, on both sides of the hole */
	CHECK(xlate(&p, &mmu, 0x0000800000000000ULL, &gpa, &len) == -EFAULT);
	CHECK(xlate(&p, &mmu, 0xffff7fffffffffffULL, &gpa, &len) == -EFAULT);
	CHECK(xlate(&p, &mmu, 0x8000000000000000ULL, &gpa, &len) == -EFAULT);
	/* PS in a PML4E is reserved */
	set64(&p, root + 8, 0 | P | PS);
	CHECK(xlate(&p, &mmu, 1ULL << 39, &gpa, &len) == -EFAULT);
	/* a table outside guest RAM, and one straddling its end */
	set64(&p, root + 16, 0x000ffffffffff000ULL | P);
	CHECK(xlate(&p, &mmu, 2ULL << 39, &gpa, &len) == -EFAULT);
	set64(&p, root + 24, (64 * MIB - 4096) | P);
	set64(&p, 64 * MIB - 8, (64 * MIB) | P); /* the last PDPTE: off the end */
	CHECK(xlate(&p, &mmu, (3ULL << 39) | (511ULL << 30), &gpa, &len) == -EFAULT);
	/* a page outside RAM translates, but reading it does not */
	map(&p, root, 4, 0x10000000, 1, 0x7fff0000000ULL | P);
	CHECK(xlate(&p, &mmu, 0x10000010, &gpa, &len) == 0 && gpa == 0x7fff0000010ULL);
	CHECK(gva_read(&p.m, x86_gva_walk, &mmu, 0x10000010, buf, 8) == -EFAULT);
	/* CR3 outside RAM */
	mmu.cr3 = 0xfff0000000ULL;
	CHECK(xlate(&p, &mmu, 0x1000, &gpa, &len) == -EFAULT);
	/* a PML4 whose last entry points at itself: the walk still ends */
	mmu.cr3 = root;
	set64(&p, root + 511 * 8, root | P | RW);
	CHECK(xlate(&p, &mmu, 0xfffffffffffff008ULL, &gpa, &len) == 0);
	CHECK(gpa == root + 8 && len == 0xff8);
	CHECK(xlate(&p, &mmu, 0xffffff8000000000ULL, &gpa, &len) == -EFAULT);
	guest_mem_destroy(&p.m);
}

TEST(five_level_paging)
{
	struct pt p;
	uint64_t root, gpa = 0, len = 0;
	struct x86_mmu mmu, four;

	CHECK(pt_init(&p) == 0);
	root = new_table(&p);
	mmu = long_mode(root, true);
	four = long_mode(root, false);
	map(&p, root, 5, 0xff00000000001000ULL, 1, 0x300000 | P);
	map(&p, root, 5, 0x00ff000000000000ULL, 2, 0x600000 | P | PS);
	CHECK(xlate(&p, &mmu, 0xff00000000001abcULL, &gpa, &len) == 0);
	CHECK(gpa == 0x300abc);
	CHECK(xlate(&p, &mmu, 0x00ff000000000004ULL, &gpa, &len) == 0);
	CHECK(gpa == 0x600004 && len == 0x200000 - 4);
	/* canonical for 4 levels is not for 5 and the other way round */
	CHECK(xlate(&p, &mmu, 0x0100000000000000ULL, &gpa, &len) == -EFAULT);
	CHECK(xlate(&p, &four, 0x00ff000000000004ULL, &gpa, &len) == -EFAULT);
	/* PS in a PML5E is reserved too */
	set64(&p, root + 8, 0 | P | PS);
	CHECK(xlate(&p, &mmu, 1ULL << 48, &gpa, &len) == -EFAULT);
	guest_mem_destroy(&p.m);
}

TEST(paging_off_and_legacy_modes)
{
	struct pt p;
	uint64_t pd, pt, pdpt, pae_pd, gpa = 0, len = 0;
	struct x86_mmu off = { .cr0 = 0x11 }, m32, pae;

	CHECK(pt_init(&p) == 0);
	/* paging off: identity, 32 bits */
	CHECK(xlate(&p, &off, 0x12345, &gpa, &len) == 0);
	CHECK(gpa == 0x12345 && len == (1ULL << 32) - 0x12345);
	CHECK(xlate(&p, &off, 1ULL << 32, &gpa, &len) == -EFAULT);

	/* 32-bit paging: a 4 MiB page (PSE-36 bits too) and a 4 KiB one */
	pd = new_table(&p);
	pt = new_table(&p);
	m32 = (struct x86_mmu){ .cr0 = 0x80000011, .cr3 = pd, .cr4 = 0x10 };
	CHECK(gpa_write(&p.m, pd + (0xc0000000 >> 22) * 4,
			&(uint32_t){ 0x00800000 | (3 << 13) | P | PS }, 4) == 0);
	CHECK(gpa_write(&p.m, pd + (0x08048000 >> 22) * 4,
			&(uint32_t){ (uint32_t)pt | P }, 4) == 0);
	CHECK(gpa_write(&p.m, pt + ((0x08048000 >> 12) & 1023) * 4,
			&(uint32_t){ 0x5000 | P }, 4) == 0);
	CHECK(xlate(&p, &m32, 0xc0012345, &gpa, &len) == 0);
	CHECK(gpa == 0x300812345ULL && len == 0x400000 - 0x12345);
	CHECK(xlate(&p, &m32, 0x08048010, &gpa, &len) == 0 && gpa == 0x5010);
	CHECK(xlate(&p, &m32, 0x08049010, &gpa, &len) == -EFAULT);
	CHECK(xlate(&p, &m32, 1ULL << 32, &gpa, &len) == -EFAULT);
	/* without CR4.PSE, PS means nothing: the entry is a page table */
	m32.cr4 = 0;
	CHECK(xlate(&p, &m32, 0xc0000000, &gpa, &len) == -EFAULT);

	/* PAE: four PDPTEs at a 32-byte aligned CR3 */
	pdpt = new_table(&p) + 0x20;
	pae_pd = new_table(&p);
	pt = new_table(&p);
	pae = (struct x86_mmu){ .cr0 = 0x80000011, .cr3 = pdpt, .cr4 = 0x20 };
	set64(&p, pdpt + 3 * 8, pae_pd | P);
	set64(&p, pae_pd + ((0xc0200000 >> 21) & 511) * 8, 0x800000 | P | PS);
	set64(&p, pae_pd + ((0xc0001000 >> 21) & 511) * 8, pt | P);
	set64(&p, pt + ((0xc0001000 >> 12) & 511) * 8, 0x9000 | P | NX);
	CHECK(xlate(&p, &pae, 0xc0200010, &gpa, &len) == 0);
	CHECK(gpa == 0x800010 && len == 0x200000 - 0x10);
	CHECK(xlate(&p, &pae, 0xc0001ff0, &gpa, &len) == 0);
	CHECK(gpa == 0x9ff0 && len == 0x10);
	CHECK(xlate(&p, &pae, 0x00001000, &gpa, &len) == -EFAULT);
	CHECK(xlate(&p, &pae, 1ULL << 32, &gpa, &len) == -EFAULT);
	guest_mem_destroy(&p.m);
}

/* --- the debug registers ----------------------------------------------- */

#define DR7_FIXED (1ULL << 10)

/* DR7's fields of register i: enable, access (RW) and length (LEN) */
static uint64_t dr7_of(unsigned int i, unsigned int rw, unsigned int len)
{
	return (1ULL << (2 * i)) | (uint64_t)rw << (16 + 4 * i) |
	       (uint64_t)len << (18 + 4 * i);
}

TEST(debug_registers_layout)
{
	struct gdb_bp bp[] = {
		{ GDB_BP_HW, 0xffffffff81000000ULL, 1 },
		{ GDB_WATCH_WRITE, 0x2000, 4 },
		{ GDB_WATCH_ACCESS, 0x3008, 8 },
	};
	struct x86_gdb_hw h;

	CHECK_EQ(x86_gdb_hw_layout(bp, 3, &h), 0);
	CHECK(h.dr[0] == 0xffffffff81000000ULL);
	CHECK_EQ(h.dr[1], 0x2000);
	CHECK_EQ(h.dr[2], 0x3008);
	CHECK_EQ(h.dr[3], 0);
	/* code: RW 00, LEN 00; write: 01, 4 bytes = 11; access: 11, 8 = 10 */
	CHECK(h.dr[7] == (DR7_FIXED | dr7_of(0, 0, 0) | dr7_of(1, 1, 3) |
			  dr7_of(2, 3, 2)));
	CHECK_EQ(h.slot_bp[0], 0);
	CHECK_EQ(h.slot_bp[1], 1);
	CHECK_EQ(h.slot_bp[2], 2);
	CHECK_EQ(h.slot_bp[3], -1);
	/* nothing set: DR7 enables nothing */
	CHECK_EQ(x86_gdb_hw_layout(NULL, 0, &h), 0);
	CHECK(h.dr[7] == DR7_FIXED);
}

TEST(debug_registers_split_watchpoints)
{
	/* an int at 0x1002: two aligned 2-byte pieces */
	struct gdb_bp a = { GDB_WATCH_WRITE, 0x1002, 4 };
	/* 3 bytes at 0x1001: 1 at 0x1001, 2 at 0x1002 */
	struct gdb_bp b = { GDB_WATCH_WRITE, 0x1001, 3 };
	/* 16 bytes, aligned: two of 8 */
	struct gdb_bp c = { GDB_WATCH_ACCESS, 0x4000, 16 };
	struct x86_gdb_hw h;

	CHECK_EQ(x86_gdb_hw_layout(&a, 1, &h), 0);
	CHECK_EQ(h.dr[0], 0x1002);
	CHECK_EQ(h.dr[1], 0x1004);
	CHECK(h.dr[7] == (DR7_FIXED | dr7_of(0, 1, 1) | dr7_of(1, 1, 1)));
	CHECK_EQ(h.slot_bp[0], 0);
	CHECK_EQ(h.slot_bp[1], 0);
	CHECK_EQ(x86_gdb_hw_layout(&b, 1, &h), 0);
	CHECK_EQ(h.dr[0], 0x1001);
	CHECK_EQ(h.dr[1], 0x1002);
	CHECK(h.dr[7] == (DR7_FIXED | dr7_of(0, 1, 0) | dr7_of(1, 1, 1)));
	CHECK_EQ(x86_gdb_hw_layout(&c, 1, &h), 0);
	CHECK_EQ(h.dr[0], 0x4000);
	CHECK_EQ(h.dr[1], 0x4008);
	CHECK_EQ(h.slot_bp[2], -1);
}

TEST(debug_registers_refused)
{
	struct gdb_bp five[5] = {
		{ GDB_BP_HW, 0x1000, 1 }, { GDB_BP_HW, 0x2000, 1 },
		{ GDB_BP_HW, 0x3000, 1 }, { GDB_BP_HW, 0x4000, 1 },
		{ GDB_BP_HW, 0x5000, 1 },
	};
	struct gdb_bp big = { GDB_WATCH_WRITE, 0x1000, 40 };   /* 5 x 8 */
	struct gdb_bp odd = { GDB_WATCH_WRITE, 0x1001, 8 };    /* 1+2+4+1 */
	struct gdb_bp rd = { GDB_WATCH_READ, 0x1000, 4 };
	struct gdb_bp none = { GDB_WATCH_WRITE, 0x1000, 0 };
	struct gdb_bp wrap = { GDB_WATCH_WRITE, ~0ULL, 2 };
	struct x86_gdb_hw h;

	CHECK_EQ(x86_gdb_hw_layout(five, 4, &h), 0);
	CHECK_EQ(x86_gdb_hw_layout(five, 5, &h), -ENOSPC);
	CHECK_EQ(x86_gdb_hw_layout(&big, 1, &h), -ENOSPC);
	CHECK_EQ(x86_gdb_hw_layout(&odd, 1, &h), 0);
	CHECK_EQ(h.dr[3], 0x1008);
	CHECK_EQ(x86_gdb_hw_layout(&rd, 1, &h), -EOPNOTSUPP);
	CHECK_EQ(x86_gdb_hw_layout(&none, 1, &h), -EINVAL);
	CHECK_EQ(x86_gdb_hw_layout(&wrap, 1, &h), -EINVAL);
}

TEST(debug_exit_classified)
{
	struct gdb_bp bp[] = {
		{ GDB_BP_HW, 0x1000, 1 },        /* DR0 */
		{ GDB_WATCH_WRITE, 0x2002, 4 },  /* DR1, DR2 */
	};
	struct kvm_debug_exit_arch e = { .exception = 3, .pc = 0x5555 };
	struct arch_gdb_exit x;

	/* #BP: a software breakpoint, the vCPU at the int3 */
	x86_gdb_classify(&e, bp, 2, &x);
	CHECK_EQ(x.event, ARCH_GDB_SWBREAK);
	CHECK_EQ(x.pc, 0x5555);
	CHECK_EQ(x.exception, 3);
	/* #DB, B0: the instruction breakpoint */
	e = (struct kvm_debug_exit_arch){ .exception = 1, .pc = 0x1000,
					  .dr6 = 0xffff0ff1 };
	x86_gdb_classify(&e, bp, 2, &x);
	CHECK_EQ(x.event, ARCH_GDB_HWBREAK);
	CHECK_EQ(x.bp, 0);
	/* B2: the second piece of the watchpoint, after a step too */
	e.dr6 = 0xffff4ff4;
	x86_gdb_classify(&e, bp, 2, &x);
	CHECK_EQ(x.event, ARCH_GDB_WATCH);
	CHECK_EQ(x.bp, 1);
	CHECK_EQ(x.addr, 0x2004);
	/* BS alone: a single step */
	e.dr6 = 0xffff4ff0;
	x86_gdb_classify(&e, bp, 2, &x);
	CHECK_EQ(x.event, ARCH_GDB_STEP);
	/* B3 names no breakpoint of ours: the guest's own #DB */
	e.dr6 = 0xffff0ff8;
	x86_gdb_classify(&e, bp, 2, &x);
	CHECK_EQ(x.event, ARCH_GDB_OTHER);
	CHECK_EQ(x.exception, 1);
	/* another vector is not ours to explain either */
	e.exception = 6;
	x86_gdb_classify(&e, bp, 2, &x);
	CHECK_EQ(x.event, ARCH_GDB_OTHER);
}

UNIT_MAIN("x86_gdb",
	  T(target_description_matches_layout), T(registers_to_gdb_layout),
	  T(x87_tag_word), T(registers_from_gdb_layout), T(four_level_pages),
	  T(four_level_hostile), T(five_level_paging),
	  T(paging_off_and_legacy_modes), T(debug_registers_layout),
	  T(debug_registers_split_watchpoints), T(debug_registers_refused),
	  T(debug_exit_classified))
