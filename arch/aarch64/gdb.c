// SPDX-License-Identifier: MIT
/*
 * aarch64 for the GDB stub: the target description, KVM's registers in
 * GDB's layout, and the stage-1 walker (see gdb.h). Written from the GDB
 * manual's "AArch64 Features", the kernel's KVM API document (the
 * KVM_GET_ONE_REG id encoding) and the Arm ARM's VMSAv8-64 translation
 * chapter. Pure: no KVM and no arm64 headers, so the unit tests build it
 * on any host; an aarch64 build checks the ids against the kernel's.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "gdb.h"

/* --- the target description ----------------------------------------------- */

#define X(n) "<reg name=\"x" #n "\" bitsize=\"64\" type=\"int\"/>"
#define V(n) "<reg name=\"v" #n "\" bitsize=\"128\" type=\"aarch64v\"/>"
#define SYS(name) "<reg name=\"" name "\" bitsize=\"64\" type=\"int\"/>"
#define BIT(name, n) "<field name=\"" name "\" start=\"" #n "\" end=\"" #n "\"/>"

static const char arm64_xml[] =
	"<?xml version=\"1.0\"?>"
	"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	"<target version=\"1.0\">"
	"<architecture>aarch64</architecture>"
	"<feature name=\"org.gnu.gdb.aarch64.core\">"
	X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
	X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22)
	X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30)
	"<reg name=\"sp\" bitsize=\"64\" type=\"data_ptr\"/>"
	"<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\"/>"
	"<flags id=\"cpsr_flags\" size=\"4\">"
	BIT("SP", 0) "<field name=\"EL\" start=\"2\" end=\"3\"/>"
	BIT("nRW", 4) BIT("F", 6) BIT("I", 7) BIT("A", 8) BIT("D", 9)
	BIT("IL", 20) BIT("SS", 21) BIT("PAN", 22) BIT("UAO", 23)
	BIT("V", 28) BIT("C", 29) BIT("Z", 30) BIT("N", 31)
	"</flags>"
	"<reg name=\"cpsr\" bitsize=\"32\" type=\"cpsr_flags\"/>"
	"</feature>"
	"<feature name=\"org.gnu.gdb.aarch64.fpu\">"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v2u\" type=\"uint64\" count=\"2\"/>"
	"<vector id=\"v2i\" type=\"int64\" count=\"2\"/>"
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v4u\" type=\"uint32\" count=\"4\"/>"
	"<vector id=\"v4i\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v8u\" type=\"uint16\" count=\"8\"/>"
	"<vector id=\"v8i\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v16u\" type=\"uint8\" count=\"16\"/>"
	"<vector id=\"v16i\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v1u\" type=\"uint128\" count=\"1\"/>"
	"<vector id=\"v1i\" type=\"int128\" count=\"1\"/>"
	"<union id=\"vnd\"><field name=\"f\" type=\"v2d\"/>"
	"<field name=\"u\" type=\"v2u\"/><field name=\"s\" type=\"v2i\"/></union>"
	"<union id=\"vns\"><field name=\"f\" type=\"v4f\"/>"
	"<field name=\"u\" type=\"v4u\"/><field name=\"s\" type=\"v4i\"/></union>"
	"<union id=\"vnh\"><field name=\"u\" type=\"v8u\"/>"
	"<field name=\"s\" type=\"v8i\"/></union>"
	"<union id=\"vnb\"><field name=\"u\" type=\"v16u\"/>"
	"<field name=\"s\" type=\"v16i\"/></union>"
	"<union id=\"vnq\"><field name=\"u\" type=\"v1u\"/>"
	"<field name=\"s\" type=\"v1i\"/></union>"
	"<union id=\"aarch64v\"><field name=\"d\" type=\"vnd\"/>"
	"<field name=\"s\" type=\"vns\"/><field name=\"h\" type=\"vnh\"/>"
	"<field name=\"b\" type=\"vnb\"/><field name=\"q\" type=\"vnq\"/>"
	"</union>"
	V(0) V(1) V(2) V(3) V(4) V(5) V(6) V(7) V(8) V(9) V(10) V(11)
	V(12) V(13) V(14) V(15) V(16) V(17) V(18) V(19) V(20) V(21) V(22)
	V(23) V(24) V(25) V(26) V(27) V(28) V(29) V(30) V(31)
	"<reg name=\"fpsr\" bitsize=\"32\" type=\"int\"/>"
	"<reg name=\"fpcr\" bitsize=\"32\" type=\"int\"/>"
	"</feature>"
	/* not a GDB feature: gdb shows these as plain registers ($esr_el1) */
	"<feature name=\"org.vmm.aarch64.system\">"
	SYS("sp_el0") SYS("sp_el1") SYS("elr_el1") SYS("spsr_el1")
	SYS("esr_el1") SYS("far_el1") SYS("vbar_el1") SYS("sctlr_el1")
	SYS("tcr_el1") SYS("ttbr0_el1") SYS("ttbr1_el1") SYS("mair_el1")
	"</feature>"
	"</target>";

static const uint8_t arm64_reg_bytes[ARM64_GDB_NR_REGS] = {
	8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,  /* x0..x15 */
	8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,     /* x16..x30 */
	8, 8, 4,                                         /* sp pc cpsr */
	16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
	16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
	4, 4,                                            /* fpsr fpcr */
	8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,              /* sp_el0..mair_el1 */
};

const struct gdb_target arm64_gdb_target = {
	.xml = arm64_xml,
	.nr_regs = ARM64_GDB_NR_REGS,
	.reg_bytes = arm64_reg_bytes,
	.pc_reg = ARM64_GDB_PC,
};

/* --- KVM register ids (Documentation/virt/kvm/api.rst, KVM_SET_ONE_REG) --- */

#define ID_ARM64     0x6000000000000000ULL
#define ID_SIZE_U32  0x0020000000000000ULL
#define ID_SIZE_U64  0x0030000000000000ULL
#define ID_SIZE_U128 0x0040000000000000ULL
#define ID_CORE      (0x0010ULL << 16)
#define ID_SYSREG    (0x0013ULL << 16)

/*
 * Core registers are numbered by their offset in the kernel's struct
 * kvm_regs, in 32-bit words: user_pt_regs (x0-x30, sp, pc, pstate), sp_el1,
 * elr_el1, spsr[5], then the 16-byte aligned FP/SIMD state.
 */
#define CORE_X(n)    (2 * (n))
#define CORE_SP      62
#define CORE_PC      64
#define CORE_PSTATE  66
#define CORE_SP_EL1  68
#define CORE_ELR_EL1 70
#define CORE_SPSR    72   /* spsr[KVM_SPSR_EL1 = 0] */
#define CORE_V(n)    (84 + 4 * (n))
#define CORE_FPSR    212
#define CORE_FPCR    213

#define CORE64(w)  (ID_ARM64 | ID_SIZE_U64 | ID_CORE | (w))
#define CORE32(w)  (ID_ARM64 | ID_SIZE_U32 | ID_CORE | (w))
#define CORE128(w) (ID_ARM64 | ID_SIZE_U128 | ID_CORE | (w))
#define SYSREG(op0, op1, crn, crm, op2)                                  \
	(ID_ARM64 | ID_SIZE_U64 | ID_SYSREG | (op0) << 14 | (op1) << 11 | \
	 (crn) << 7 | (crm) << 3 | (op2))

#define OFF(f) ((uint16_t)offsetof(struct arm64_gdb_state, f))
#define XREG(n) { CORE64(CORE_X(n)), OFF(x[n]), 8 }
#define VREG(n) { CORE128(CORE_V(n)), OFF(v[n]), 16 }

const struct arm64_one_reg arm64_gdb_one_regs[] = {
	XREG(0), XREG(1), XREG(2), XREG(3), XREG(4), XREG(5), XREG(6),
	XREG(7), XREG(8), XREG(9), XREG(10), XREG(11), XREG(12), XREG(13),
	XREG(14), XREG(15), XREG(16), XREG(17), XREG(18), XREG(19),
	XREG(20), XREG(21), XREG(22), XREG(23), XREG(24), XREG(25),
	XREG(26), XREG(27), XREG(28), XREG(29), XREG(30),
	{ CORE64(CORE_SP), OFF(sp_el0), 8 },
	{ CORE64(CORE_PC), OFF(pc), 8 },
	{ CORE64(CORE_PSTATE), OFF(pstate), 8 },
	{ CORE64(CORE_SP_EL1), OFF(sp_el1), 8 },
	{ CORE64(CORE_ELR_EL1), OFF(elr_el1), 8 },
	{ CORE64(CORE_SPSR), OFF(spsr_el1), 8 },
	VREG(0), VREG(1), VREG(2), VREG(3), VREG(4), VREG(5), VREG(6),
	VREG(7), VREG(8), VREG(9), VREG(10), VREG(11), VREG(12), VREG(13),
	VREG(14), VREG(15), VREG(16), VREG(17), VREG(18), VREG(19),
	VREG(20), VREG(21), VREG(22), VREG(23), VREG(24), VREG(25),
	VREG(26), VREG(27), VREG(28), VREG(29), VREG(30), VREG(31),
	{ CORE32(CORE_FPSR), OFF(fpsr), 4 },
	{ CORE32(CORE_FPCR), OFF(fpcr), 4 },
	{ SYSREG(3, 0, 5, 2, 0), OFF(esr), 8 },    /* ESR_EL1 */
	{ SYSREG(3, 0, 6, 0, 0), OFF(far), 8 },    /* FAR_EL1 */
	{ SYSREG(3, 0, 12, 0, 0), OFF(vbar), 8 },  /* VBAR_EL1 */
	{ SYSREG(3, 0, 1, 0, 0), OFF(sctlr), 8 },  /* SCTLR_EL1 */
	{ SYSREG(3, 0, 2, 0, 2), OFF(tcr), 8 },    /* TCR_EL1 */
	{ SYSREG(3, 0, 2, 0, 0), OFF(ttbr0), 8 },  /* TTBR0_EL1 */
	{ SYSREG(3, 0, 2, 0, 1), OFF(ttbr1), 8 },  /* TTBR1_EL1 */
	{ SYSREG(3, 0, 10, 2, 0), OFF(mair), 8 },  /* MAIR_EL1 */
};

const unsigned int arm64_gdb_nr_one_regs =
	sizeof(arm64_gdb_one_regs) / sizeof(arm64_gdb_one_regs[0]);

#ifdef __aarch64__
/* On arm64 the kernel's own definitions are at hand: the ids must agree */
#include <linux/kvm.h>
#define KCORE(f) (KVM_REG_ARM_CORE_REG(f))
_Static_assert(CORE_X(30) == KCORE(regs.regs[30]), "x30");
_Static_assert(CORE_SP == KCORE(regs.sp), "sp");
_Static_assert(CORE_PC == KCORE(regs.pc), "pc");
_Static_assert(CORE_PSTATE == KCORE(regs.pstate), "pstate");
_Static_assert(CORE_SP_EL1 == KCORE(sp_el1), "sp_el1");
_Static_assert(CORE_ELR_EL1 == KCORE(elr_el1), "elr_el1");
_Static_assert(CORE_SPSR == KCORE(spsr[KVM_SPSR_EL1]), "spsr");
_Static_assert(CORE_V(31) == KCORE(fp_regs.vregs[31]), "v31");
_Static_assert(CORE_FPSR == KCORE(fp_regs.fpsr), "fpsr");
_Static_assert(CORE_FPCR == KCORE(fp_regs.fpcr), "fpcr");
_Static_assert(CORE64(0) == (KVM_REG_ARM64 | KVM_REG_SIZE_U64 |
			     KVM_REG_ARM_CORE), "core id");
_Static_assert(SYSREG(3, 0, 2, 0, 2) == ARM64_SYS_REG(3, 0, 2, 0, 2), "sysreg");
#endif

/* --- registers ------------------------------------------------------------ */

#define PSTATE_M_MASK 0x1f
#define PSTATE_EL1H   0x05

/* EL1 with SP_EL1 selected (EL1h); EL0 and EL1t use SP_EL0 */
static bool uses_sp_el1(uint64_t pstate)
{
	return (pstate & PSTATE_M_MASK) == PSTATE_EL1H;
}

static void put_le(uint8_t **p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		*(*p)++ = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t **p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)*(*p)++ << (8 * i);
	return v;
}

void arm64_gdb_get(const struct arm64_gdb_state *st, uint8_t *buf)
{
	const uint64_t sys[12] = {
		st->sp_el0, st->sp_el1, st->elr_el1, st->spsr_el1, st->esr,
		st->far, st->vbar, st->sctlr, st->tcr, st->ttbr0, st->ttbr1,
		st->mair,
	};
	uint8_t *p = buf;
	unsigned int i;

	for (i = 0; i < 31; i++)
		put_le(&p, st->x[i], 8);
	put_le(&p, uses_sp_el1(st->pstate) ? st->sp_el1 : st->sp_el0, 8);
	put_le(&p, st->pc, 8);
	put_le(&p, st->pstate, 4);
	for (i = 0; i < 32; i++) {
		memcpy(p, st->v[i], 16);
		p += 16;
	}
	put_le(&p, st->fpsr, 4);
	put_le(&p, st->fpcr, 4);
	for (i = 0; i < 12; i++)
		put_le(&p, sys[i], 8);
}

void arm64_gdb_put(struct arm64_gdb_state *st, const uint8_t *buf)
{
	uint64_t *sys[12] = {
		&st->sp_el0, &st->sp_el1, &st->elr_el1, &st->spsr_el1, &st->esr,
		&st->far, &st->vbar, &st->sctlr, &st->tcr, &st->ttbr0,
		&st->ttbr1, &st->mair,
	};
	uint64_t old_sys[12], sp;
	const uint8_t *p = buf;
	unsigned int i;

	for (i = 0; i < 12; i++)
		old_sys[i] = *sys[i];
	for (i = 0; i < 31; i++)
		st->x[i] = get_le(&p, 8);
	sp = get_le(&p, 8);
	st->pc = get_le(&p, 8);
	/* GDB's cpsr is PSTATE's low 32 bits; the rest is RES0 */
	st->pstate = (st->pstate & ~0xffffffffULL) | get_le(&p, 4);
	for (i = 0; i < 32; i++) {
		memcpy(st->v[i], p, 16);
		p += 16;
	}
	st->fpsr = (uint32_t)get_le(&p, 4);
	st->fpcr = (uint32_t)get_le(&p, 4);
	if (uses_sp_el1(st->pstate))
		st->sp_el1 = sp;
	else
		st->sp_el0 = sp;
	/*
	 * gdb writes the whole set back after changing one register: a
	 * system register that still holds its old value must not undo
	 * the "sp" just written.
	 */
	for (i = 0; i < 12; i++) {
		uint64_t v = get_le(&p, 8);

		if (v != old_sys[i])
			*sys[i] = v;
	}
}

/* --- the stage-1 walker --------------------------------------------------- */

#define SCTLR_M   (1ULL << 0)
#define TCR_EPD0  (1ULL << 7)
#define TCR_EPD1  (1ULL << 23)
#define TCR_TBI0  (1ULL << 37)
#define TCR_TBI1  (1ULL << 38)
#define TCR_DS    (1ULL << 59)

#define DESC_VALID (1ULL << 0)
#define DESC_TABLE (1ULL << 1)  /* table (levels < 3) or page (level 3) */

static uint64_t bits(unsigned int hi, unsigned int lo)
{
	return (hi == 63 ? ~0ULL : (1ULL << (hi + 1)) - 1) & ~((1ULL << lo) - 1);
}

/* Output address sizes of TCR_EL1.IPS; 0b111 is reserved: the largest */
static unsigned int ips_bits(uint64_t tcr)
{
	static const uint8_t pa[8] = { 32, 36, 40, 42, 44, 48, 52, 52 };

	return pa[(tcr >> 32) & 7];
}

struct walk {
	unsigned int granule;   /* log2 of the page size: 12, 14, 16 */
	bool ds;                /* FEAT_LPA2 descriptors (TCR_EL1.DS) */
	bool lpa;               /* 64 KiB granule with 52-bit addresses */
	unsigned int pa_bits;
};

/* The output address in a descriptor, aligned to 1 << lo */
static uint64_t desc_addr(const struct walk *w, uint64_t d, unsigned int lo)
{
	uint64_t a = d & bits(w->ds ? 49 : 47, lo);

	if (w->ds)
		a |= ((d >> 8) & 3) << 50;
	if (w->lpa)
		a |= ((d >> 12) & 0xf) << 48;
	return a;
}

/* May a block descriptor sit at this level? (a translation fault if not) */
static bool block_ok(const struct walk *w, int level)
{
	switch (w->granule) {
	case 12:
		return level == 1 || level == 2 || (level == 0 && w->ds);
	case 14:
		return level == 2 || (level == 1 && w->ds);
	default:
		return level == 2 || (level == 1 && w->lpa);
	}
}

int arm64_translate(const struct guest_mem *m, const struct arm64_mmu *mmu,
		    uint64_t va, struct gva_map *out)
{
	bool upper = (va >> 55) & 1;
	uint64_t tcr = mmu->tcr, ttbr, table, d, size;
	unsigned int tsz, tg, ia, stride, tbits;
	struct walk w;
	int level, start;

	if (!(mmu->sctlr & SCTLR_M)) {
		/* MMU off: flat, within the largest physical address space */
		if (va >> 52)
			return -EFAULT;
		out->gpa = va;
		out->len = (1ULL << 52) - va;
		return 0;
	}
	if (upper) {
		tsz = (tcr >> 16) & 0x3f;
		tg = (tcr >> 30) & 3;
		/* TG1 encodes granules differently from TG0 */
		w.granule = tg == 1 ? 14 : tg == 2 ? 12 : tg == 3 ? 16 : 0;
		if (tcr & TCR_EPD1)
			return -EFAULT;
		ttbr = mmu->ttbr1;
	} else {
		tsz = tcr & 0x3f;
		tg = (tcr >> 14) & 3;
		w.granule = tg == 0 ? 12 : tg == 1 ? 16 : tg == 2 ? 14 : 0;
		if (tcr & TCR_EPD0)
			return -EFAULT;
		ttbr = mmu->ttbr0;
	}
	if (!w.granule || tsz < 12 || tsz > 48)
		return -EFAULT;
	ia = 64 - tsz;
	if (ia <= w.granule)
		return -EFAULT;
	/* bits ia..63 (ia..55 under top-byte-ignore) all equal bit 55 */
	d = bits((tcr & (upper ? TCR_TBI1 : TCR_TBI0)) ? 55 : 63, ia);
	if ((va & d) != (upper ? d : 0))
		return -EFAULT;

	w.pa_bits = ips_bits(tcr);
	w.ds = (tcr & TCR_DS) && w.granule != 16;
	w.lpa = w.granule == 16 && w.pa_bits == 52;
	stride = w.granule - 3;
	/* each level resolves stride bits; the first one what is left */
	start = 4 - (int)((ia - w.granule + stride - 1) / stride);
	if (start < -1)
		return -EFAULT;

	tbits = ia - (w.granule + (unsigned int)(3 - start) * stride);
	/* the first table: BADDR, aligned to its size (at least 64 bytes) */
	table = ttbr & bits(47, 1);
	if (w.ds || w.lpa)
		table |= ((ttbr >> 2) & 0xf) << 48;
	table &= ~((tbits + 3 > 6 ? 1ULL << (tbits + 3) : 64) - 1);

	for (level = start; level <= 3; level++) {
		unsigned int shift = w.granule + (unsigned int)(3 - level) * stride;
		unsigned int nbits = level == start ? tbits : stride;
		uint8_t b[8];

		if (table >> w.pa_bits)
			return -EFAULT;
		if (gpa_read(m, table + ((va >> shift) & ((1ULL << nbits) - 1)) * 8,
			     b, 8) < 0)
			return -EFAULT;
		d = 0;
		for (int i = 0; i < 8; i++)
			d |= (uint64_t)b[i] << (8 * i);
		if (!(d & DESC_VALID))
			return -EFAULT;
		if (level == 3 || !(d & DESC_TABLE)) {
			/* a page, or a block where this granule has them */
			if (level == 3 ? !(d & DESC_TABLE) : !block_ok(&w, level))
				return -EFAULT;
			size = 1ULL << shift;
			table = desc_addr(&w, d, shift);
			if (table >> w.pa_bits)
				return -EFAULT;
			out->gpa = table | (va & (size - 1));
			out->len = size - (va & (size - 1));
			return 0;
		}
		table = desc_addr(&w, d, w.granule);
	}
	return -EFAULT; /* not reached: level 3 returns */
}

int arm64_gva_walk(const struct guest_mem *m, const void *mmu, uint64_t va,
		   struct gva_map *out)
{
	return arm64_translate(m, mmu, va, out);
}

/* --- guest debugging ----------------------------------------------------- */

/* DBGBCR: enabled, at EL1 and EL0 (PMC 0b11), all four bytes of an A64
 * instruction (BAS 0b1111), an unlinked address match */
#define BCR_E_EL1_EL0_A64  (1ULL | 3ULL << 1 | 0xfULL << 5)
/* DBGWCR: enabled, EL1 and EL0 (PAC 0b11); LSC and BAS below */
#define WCR_E_EL1_EL0      (1ULL | 3ULL << 1)
#define WCR_LSC(v)         ((uint64_t)(v) << 3)
#define WCR_BAS(mask)      ((uint64_t)(mask) << 5)
#define LSC_LOAD           1
#define LSC_STORE          2

/* Exception classes of ESR_EL2 for debug exceptions from the guest */
#define EC_BREAKPT_LOW     0x30
#define EC_SOFTSTP_LOW     0x32
#define EC_WATCHPT_LOW     0x34
#define EC_BRK64           0x3c

int arm64_gdb_hw_layout(const struct gdb_bp *hw, unsigned int n,
			unsigned int nr_brps, unsigned int nr_wrps,
			struct arm64_gdb_hw *out)
{
	unsigned int brps = 0, wrps = 0;

	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < ARM64_DBG_REGS; i++)
		out->brp_bp[i] = out->wrp_bp[i] = -1;
	if (nr_brps > ARM64_DBG_REGS)
		nr_brps = ARM64_DBG_REGS;
	if (nr_wrps > ARM64_DBG_REGS)
		nr_wrps = ARM64_DBG_REGS;
	for (unsigned int i = 0; i < n; i++) {
		const struct gdb_bp *b = &hw[i];
		uint64_t addr = b->addr, end = b->addr + b->kind;
		unsigned int lsc;

		switch (b->type) {
		case GDB_BP_HW:
			if (addr & 3)
				return -EINVAL;
			if (brps == nr_brps)
				return -ENOSPC;
			out->bvr[brps] = addr;
			out->bcr[brps] = BCR_E_EL1_EL0_A64;
			out->brp_bp[brps++] = (int)i;
			continue;
		case GDB_WATCH_WRITE:
			lsc = LSC_STORE;
			break;
		case GDB_WATCH_READ:
			lsc = LSC_LOAD;
			break;
		case GDB_WATCH_ACCESS:
			lsc = LSC_LOAD | LSC_STORE;
			break;
		default:
			return -EINVAL;
		}
		if (b->kind == 0 || end < addr)
			return -EINVAL;
		/* one register per doubleword: BAS selects its bytes */
		while (addr < end) {
			uint64_t dw = addr & ~7ULL;
			uint64_t stop = end - dw < 8 ? end : dw + 8;
			unsigned int first = (unsigned int)(addr - dw);
			unsigned int len = (unsigned int)(stop - addr);

			if (wrps == nr_wrps)
				return -ENOSPC;
			out->wvr[wrps] = dw;
			out->wcr[wrps] = WCR_E_EL1_EL0 | WCR_LSC(lsc) |
					 WCR_BAS(((1U << len) - 1) << first);
			out->wrp_bp[wrps++] = (int)i;
			addr = stop;
		}
	}
	return 0;
}

void arm64_gdb_classify(uint32_t esr, uint64_t far, uint64_t pc,
			const struct gdb_bp *hw, unsigned int n,
			struct arch_gdb_exit *out)
{
	unsigned int ec = esr >> 26;
	int fallback = -1;

	memset(out, 0, sizeof(*out));
	out->pc = pc;
	out->exception = ec;
	out->event = ARCH_GDB_OTHER;
	switch (ec) {
	case EC_SOFTSTP_LOW:
		out->event = ARCH_GDB_STEP;
		return;
	case EC_BRK64:
		out->event = ARCH_GDB_SWBREAK;
		return;
	case EC_BREAKPT_LOW:
		for (unsigned int i = 0; i < n; i++)
			if (hw[i].type == GDB_BP_HW && hw[i].addr == pc) {
				out->event = ARCH_GDB_HWBREAK;
				out->bp = i;
				return;
			}
		return;
	case EC_WATCHPT_LOW:
		/*
		 * FAR may be any address of the access, not the first one
		 * watched: match by the doublewords each watchpoint covers.
		 */
		for (unsigned int i = 0; i < n; i++) {
			uint64_t lo = hw[i].addr & ~7ULL;
			uint64_t hi = (hw[i].addr + hw[i].kind + 7) & ~7ULL;

			if (hw[i].type == GDB_BP_HW)
				continue;
			if (fallback < 0)
				fallback = (int)i;
			if (far >= lo && far < hi) {
				fallback = (int)i;
				break;
			}
		}
		if (fallback < 0)
			return;
		out->event = ARCH_GDB_WATCH;
		out->bp = (unsigned int)fallback;
		out->addr = far >= hw[fallback].addr &&
			    far - hw[fallback].addr < hw[fallback].kind ?
			    far : hw[fallback].addr;
		return;
	default:
		return;
	}
}
