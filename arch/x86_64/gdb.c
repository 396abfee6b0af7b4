// SPDX-License-Identifier: MIT
/*
 * x86-64 for the GDB stub: the target description, KVM's registers in
 * GDB's layout, and the page-table walker (see gdb.h). Written from the
 * GDB manual's "i386 Features" (the register names and the order gdb's
 * amd64 support expects) and the Intel SDM volume 3, chapter 4 (paging).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "gdb.h"

/* --- the target description ----------------------------------------------- */

#define R64(name, type) "<reg name=\"" name "\" bitsize=\"64\" type=\"" type "\"/>"
#define R32(name, type) "<reg name=\"" name "\" bitsize=\"32\" type=\"" type "\"/>"
#define FPR(name) "<reg name=\"" name "\" bitsize=\"80\" type=\"i387_ext\"/>"
#define FCR(name) "<reg name=\"" name "\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
#define XMM(name) "<reg name=\"" name "\" bitsize=\"128\" type=\"vec128\"/>"
#define BIT(name, n) "<field name=\"" name "\" start=\"" #n "\" end=\"" #n "\"/>"

static const char x86_xml[] =
	"<?xml version=\"1.0\"?>"
	"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	"<target version=\"1.0\">"
	"<architecture>i386:x86-64</architecture>"
	"<feature name=\"org.gnu.gdb.i386.core\">"
	"<flags id=\"i386_eflags\" size=\"4\">"
	BIT("CF", 0) BIT("", 1) BIT("PF", 2) BIT("AF", 4) BIT("ZF", 6)
	BIT("SF", 7) BIT("TF", 8) BIT("IF", 9) BIT("DF", 10) BIT("OF", 11)
	BIT("NT", 14) BIT("RF", 16) BIT("VM", 17) BIT("AC", 18)
	BIT("VIF", 19) BIT("VIP", 20) BIT("ID", 21)
	"</flags>"
	R64("rax", "int64") R64("rbx", "int64") R64("rcx", "int64")
	R64("rdx", "int64") R64("rsi", "int64") R64("rdi", "int64")
	R64("rbp", "data_ptr") R64("rsp", "data_ptr")
	R64("r8", "int64") R64("r9", "int64") R64("r10", "int64")
	R64("r11", "int64") R64("r12", "int64") R64("r13", "int64")
	R64("r14", "int64") R64("r15", "int64")
	R64("rip", "code_ptr") R32("eflags", "i386_eflags")
	R32("cs", "int32") R32("ss", "int32") R32("ds", "int32")
	R32("es", "int32") R32("fs", "int32") R32("gs", "int32")
	FPR("st0") FPR("st1") FPR("st2") FPR("st3")
	FPR("st4") FPR("st5") FPR("st6") FPR("st7")
	FCR("fctrl") FCR("fstat") FCR("ftag") FCR("fiseg")
	FCR("fioff") FCR("foseg") FCR("fooff") FCR("fop")
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.sse\">"
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
	"<union id=\"vec128\">"
	"<field name=\"v4_float\" type=\"v4f\"/>"
	"<field name=\"v2_double\" type=\"v2d\"/>"
	"<field name=\"v16_int8\" type=\"v16i8\"/>"
	"<field name=\"v8_int16\" type=\"v8i16\"/>"
	"<field name=\"v4_int32\" type=\"v4i32\"/>"
	"<field name=\"v2_int64\" type=\"v2i64\"/>"
	"<field name=\"uint128\" type=\"uint128\"/>"
	"</union>"
	"<flags id=\"i386_mxcsr\" size=\"4\">"
	BIT("IE", 0) BIT("DE", 1) BIT("ZE", 2) BIT("OE", 3) BIT("UE", 4)
	BIT("PE", 5) BIT("DAZ", 6) BIT("IM", 7) BIT("DM", 8) BIT("ZM", 9)
	BIT("OM", 10) BIT("UM", 11) BIT("PM", 12) BIT("FZ", 15)
	"</flags>"
	XMM("xmm0") XMM("xmm1") XMM("xmm2") XMM("xmm3")
	XMM("xmm4") XMM("xmm5") XMM("xmm6") XMM("xmm7")
	XMM("xmm8") XMM("xmm9") XMM("xmm10") XMM("xmm11")
	XMM("xmm12") XMM("xmm13") XMM("xmm14") XMM("xmm15")
	"<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>"
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.segments\">"
	R64("fs_base", "int") R64("gs_base", "int")
	"</feature>"
	/* not a GDB feature: gdb shows these as plain registers ($cr3) */
	"<feature name=\"org.vmm.x86-64.system\">"
	R64("k_gs_base", "int") R64("cr0", "int") R64("cr2", "int")
	R64("cr3", "int") R64("cr4", "int") R64("cr8", "int")
	R64("efer", "int")
	"</feature>"
	"</target>";

static const uint8_t x86_reg_bytes[X86_GDB_NR_REGS] = {
	8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,  /* rax..r15 */
	8, 4,                                            /* rip eflags */
	4, 4, 4, 4, 4, 4,                                /* cs..gs */
	10, 10, 10, 10, 10, 10, 10, 10,                  /* st0..st7 */
	4, 4, 4, 4, 4, 4, 4, 4,                          /* fctrl..fop */
	16, 16, 16, 16, 16, 16, 16, 16,                  /* xmm0..xmm15 */
	16, 16, 16, 16, 16, 16, 16, 16,
	4,                                               /* mxcsr */
	8, 8, 8, 8, 8, 8, 8, 8, 8,                       /* fs_base..efer */
};

const struct gdb_target x86_gdb_target = {
	.xml = x86_xml,
	.nr_regs = X86_GDB_NR_REGS,
	.reg_bytes = x86_reg_bytes,
	.pc_reg = X86_GDB_RIP,
};

/* --- registers ------------------------------------------------------------ */

/* Little-endian fields of the 'g' buffer, in order */
struct wr {
	uint8_t *p;
};

static void w_le(struct wr *w, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		*w->p++ = (uint8_t)(v >> (8 * i));
}

static void w_mem(struct wr *w, const void *src, size_t n)
{
	memcpy(w->p, src, n);
	w->p += n;
}

struct rd {
	const uint8_t *p;
};

static uint64_t r_le(struct rd *r, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)*r->p++ << (8 * i);
	return v;
}

static void r_mem(struct rd *r, void *dst, size_t n)
{
	memcpy(dst, r->p, n);
	r->p += n;
}

/*
 * The x87 tag word: FXSAVE (and so KVM) keeps one bit per physical
 * register (empty or not), GDB shows the full two-bit tags, which depend
 * on what the register holds (SDM vol. 1, 8.1.7 and 10.5.1.1).
 */
static unsigned int x87_tag(const uint8_t *st)
{
	uint64_t mant = 0;
	unsigned int exp = (st[8] | (unsigned int)st[9] << 8) & 0x7fff;

	for (int i = 0; i < 8; i++)
		mant |= (uint64_t)st[i] << (8 * i);
	if (exp == 0x7fff)
		return 2;                   /* special: NaN, infinity */
	if (exp == 0)
		return mant ? 2 : 1;        /* denormal : zero */
	return mant >> 63 ? 0 : 2;          /* valid : unnormal */
}

static unsigned int full_ftag(const struct kvm_fpu *f)
{
	unsigned int top = (f->fsw >> 11) & 7, tag = 0;

	/* ftwx bit i and tag field i are physical register i = ST((i - top) & 7) */
	for (unsigned int i = 0; i < 8; i++) {
		unsigned int t = 3;

		if (f->ftwx & (1U << i))
			t = x87_tag(f->fpr[(i - top) & 7]);
		tag |= t << (2 * i);
	}
	return tag;
}

static uint8_t abridged_ftag(unsigned int tag)
{
	uint8_t ftwx = 0;

	for (unsigned int i = 0; i < 8; i++)
		if (((tag >> (2 * i)) & 3) != 3)
			ftwx |= (uint8_t)(1U << i);
	return ftwx;
}

void x86_gdb_get(const struct x86_gdb_state *st, uint8_t *buf)
{
	const struct kvm_regs *r = &st->regs;
	const struct kvm_sregs *s = &st->sregs;
	const struct kvm_fpu *f = &st->fpu;
	const uint64_t gpr[16] = {
		r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp,
		r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
	};
	const struct kvm_segment *seg[6] = {
		&s->cs, &s->ss, &s->ds, &s->es, &s->fs, &s->gs,
	};
	struct wr w = { buf };
	unsigned int i;

	for (i = 0; i < 16; i++)
		w_le(&w, gpr[i], 8);
	w_le(&w, r->rip, 8);
	w_le(&w, r->rflags, 4);
	for (i = 0; i < 6; i++)
		w_le(&w, seg[i]->selector, 4);
	for (i = 0; i < 8; i++)
		w_mem(&w, f->fpr[i], 10);
	w_le(&w, f->fcw, 4);
	w_le(&w, f->fsw, 4);
	w_le(&w, full_ftag(f), 4);
	/* 64-bit FXSAVE: the selectors' places hold the pointers' high halves */
	w_le(&w, f->last_ip >> 32, 4);
	w_le(&w, f->last_ip & 0xffffffff, 4);
	w_le(&w, f->last_dp >> 32, 4);
	w_le(&w, f->last_dp & 0xffffffff, 4);
	w_le(&w, f->last_opcode & 0x7ff, 4);
	for (i = 0; i < 16; i++)
		w_mem(&w, f->xmm[i], 16);
	w_le(&w, f->mxcsr, 4);
	w_le(&w, s->fs.base, 8);
	w_le(&w, s->gs.base, 8);
	w_le(&w, st->kernel_gs_base, 8);
	w_le(&w, s->cr0, 8);
	w_le(&w, s->cr2, 8);
	w_le(&w, s->cr3, 8);
	w_le(&w, s->cr4, 8);
	w_le(&w, s->cr8, 8);
	w_le(&w, s->efer, 8);
}

unsigned int x86_gdb_put(struct x86_gdb_state *st, const uint8_t *buf)
{
	struct x86_gdb_state n = *st;
	struct kvm_regs *r = &n.regs;
	struct kvm_sregs *s = &n.sregs;
	struct kvm_fpu *f = &n.fpu;
	__u64 *gpr[16] = {
		&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp,
		&r->rsp, &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13,
		&r->r14, &r->r15,
	};
	struct kvm_segment *seg[6] = {
		&s->cs, &s->ss, &s->ds, &s->es, &s->fs, &s->gs,
	};
	struct rd rd = { buf };
	uint64_t hi, lo;
	unsigned int i, changed = 0;

	for (i = 0; i < 16; i++)
		*gpr[i] = r_le(&rd, 8);
	r->rip = r_le(&rd, 8);
	r->rflags = (r->rflags & ~0xffffffffULL) | r_le(&rd, 4);
	/* only the selector: the descriptor cache is not GDB's to set */
	for (i = 0; i < 6; i++)
		seg[i]->selector = (uint16_t)r_le(&rd, 4);
	for (i = 0; i < 8; i++)
		r_mem(&rd, f->fpr[i], 10);
	f->fcw = (uint16_t)r_le(&rd, 4);
	f->fsw = (uint16_t)r_le(&rd, 4);
	f->ftwx = abridged_ftag((unsigned int)r_le(&rd, 4));
	hi = r_le(&rd, 4);
	lo = r_le(&rd, 4);
	f->last_ip = hi << 32 | lo;
	hi = r_le(&rd, 4);
	lo = r_le(&rd, 4);
	f->last_dp = hi << 32 | lo;
	f->last_opcode = (uint16_t)(r_le(&rd, 4) & 0x7ff);
	for (i = 0; i < 16; i++)
		r_mem(&rd, f->xmm[i], 16);
	f->mxcsr = (uint32_t)r_le(&rd, 4);
	s->fs.base = r_le(&rd, 8);
	s->gs.base = r_le(&rd, 8);
	n.kernel_gs_base = r_le(&rd, 8);
	s->cr0 = r_le(&rd, 8);
	s->cr2 = r_le(&rd, 8);
	s->cr3 = r_le(&rd, 8);
	s->cr4 = r_le(&rd, 8);
	s->cr8 = r_le(&rd, 8);
	s->efer = r_le(&rd, 8);

	if (memcmp(&n.regs, &st->regs, sizeof(n.regs)))
		changed |= X86_GDB_CHANGED_REGS;
	if (memcmp(&n.sregs, &st->sregs, sizeof(n.sregs)))
		changed |= X86_GDB_CHANGED_SREGS;
	if (memcmp(&n.fpu, &st->fpu, sizeof(n.fpu)))
		changed |= X86_GDB_CHANGED_FPU;
	if (n.kernel_gs_base != st->kernel_gs_base)
		changed |= X86_GDB_CHANGED_MSR;
	*st = n;
	return changed;
}

/* --- the page-table walker -------------------------------------------------- */

#define CR0_PG    (1ULL << 31)
#define CR4_PSE   (1ULL << 4)
#define CR4_PAE   (1ULL << 5)
#define CR4_LA57  (1ULL << 12)
#define EFER_LMA  (1ULL << 10)

#define PTE_P     (1ULL << 0)
#define PTE_PS    (1ULL << 7)
/* bits 51:12: the most any x86-64 CPU's MAXPHYADDR allows */
#define PTE_ADDR  0x000ffffffffff000ULL

static int map_to(struct gva_map *out, uint64_t base, uint64_t size,
		  uint64_t gva)
{
	uint64_t off = gva & (size - 1);

	out->gpa = base + off;
	out->len = size - off;
	return 0;
}

static int read_entry(const struct guest_mem *m, uint64_t gpa, unsigned int n,
		      uint64_t *e)
{
	uint8_t b[8];

	if (gpa_read(m, gpa, b, n) < 0)
		return -EFAULT;
	*e = 0;
	for (unsigned int i = 0; i < n; i++)
		*e |= (uint64_t)b[i] << (8 * i);
	return 0;
}

/* 4- or 5-level paging (SDM 4.5) */
static int walk_long(const struct guest_mem *m, const struct x86_mmu *mmu,
		     uint64_t gva, struct gva_map *out)
{
	unsigned int levels = mmu->cr4 & CR4_LA57 ? 5 : 4;
	unsigned int va_bits = 12 + 9 * levels;
	uint64_t table = mmu->cr3 & PTE_ADDR, e;
	int64_t sext;

	/* canonical: the bits above the top one repeat it */
	sext = (int64_t)(gva << (64 - va_bits)) >> (64 - va_bits);
	if ((uint64_t)sext != gva)
		return -EFAULT;
	for (unsigned int level = levels; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (level - 1);

		if (read_entry(m, table + ((gva >> shift) & 511) * 8, 8, &e) < 0 ||
		    !(e & PTE_P))
			return -EFAULT;
		if (level == 1)
			return map_to(out, e & PTE_ADDR, 1ULL << 12, gva);
		if (e & PTE_PS) {
			/* 1 GiB (PDPTE) and 2 MiB (PDE) pages; PS is reserved above */
			if (level > 3)
				return -EFAULT;
			return map_to(out, e & PTE_ADDR & ~((1ULL << shift) - 1),
				      1ULL << shift, gva);
		}
		table = e & PTE_ADDR;
	}
	return -EFAULT; /* not reached: level 1 returns */
}

/* PAE paging (SDM 4.4): four PDPTEs at CR3, then 2 MiB or 4 KiB pages */
static int walk_pae(const struct guest_mem *m, const struct x86_mmu *mmu,
		    uint64_t gva, struct gva_map *out)
{
	uint64_t e;

	if (read_entry(m, (mmu->cr3 & 0xffffffe0) + (gva >> 30) * 8, 8, &e) < 0 ||
	    !(e & PTE_P))
		return -EFAULT;
	if (read_entry(m, (e & PTE_ADDR) + ((gva >> 21) & 511) * 8, 8, &e) < 0 ||
	    !(e & PTE_P))
		return -EFAULT;
	if (e & PTE_PS)
		return map_to(out, e & PTE_ADDR & ~0x1fffffULL, 1ULL << 21, gva);
	if (read_entry(m, (e & PTE_ADDR) + ((gva >> 12) & 511) * 8, 8, &e) < 0 ||
	    !(e & PTE_P))
		return -EFAULT;
	return map_to(out, e & PTE_ADDR, 1ULL << 12, gva);
}

/* 32-bit paging (SDM 4.3), 4 MiB pages with PSE-36's high address bits */
static int walk_32(const struct guest_mem *m, const struct x86_mmu *mmu,
		   uint64_t gva, struct gva_map *out)
{
	uint64_t e;

	if (read_entry(m, (mmu->cr3 & 0xfffff000) + (gva >> 22) * 4, 4, &e) < 0 ||
	    !(e & PTE_P))
		return -EFAULT;
	if ((e & PTE_PS) && (mmu->cr4 & CR4_PSE))
		return map_to(out, (e & 0xffc00000) | ((e >> 13) & 0xff) << 32,
			      1ULL << 22, gva);
	if (read_entry(m, (e & 0xfffff000) + ((gva >> 12) & 1023) * 4, 4, &e) < 0 ||
	    !(e & PTE_P))
		return -EFAULT;
	return map_to(out, e & 0xfffff000, 1ULL << 12, gva);
}

int x86_translate(const struct guest_mem *m, const struct x86_mmu *mmu,
		  uint64_t gva, struct gva_map *out)
{
	if (mmu->cr0 & CR0_PG) {
		if (mmu->efer & EFER_LMA)
			return walk_long(m, mmu, gva, out);
		if (gva >> 32)
			return -EFAULT;
		if (mmu->cr4 & CR4_PAE)
			return walk_pae(m, mmu, gva, out);
		return walk_32(m, mmu, gva, out);
	}
	/* no paging: linear is physical, 32 bits of it */
	if (gva >> 32)
		return -EFAULT;
	out->gpa = gva;
	out->len = (1ULL << 32) - gva;
	return 0;
}

int x86_gva_walk(const struct guest_mem *m, const void *mmu, uint64_t gva,
		 struct gva_map *out)
{
	return x86_translate(m, mmu, gva, out);
}

/* --- guest debugging ----------------------------------------------------- */

#define DR7_L(i)        (1ULL << (2 * (i)))  /* local enable of DRi */
#define DR7_RW(i, v)    ((uint64_t)(v) << (16 + 4 * (i)))
#define DR7_LEN(i, v)   ((uint64_t)(v) << (18 + 4 * (i)))
#define DR7_FIXED       (1ULL << 10)         /* reads as 1 */
#define DR7_RW_EXEC     0
#define DR7_RW_WRITE    1
#define DR7_RW_ACCESS   3
#define DR6_BS          (1ULL << 14)         /* single step */
#define X86_DB_VECTOR   1
#define X86_BP_VECTOR   3

/* DR7's length field for a piece of len bytes (SDM vol. 3, 18.2.4) */
static unsigned int dr7_len(uint64_t len)
{
	switch (len) {
	case 1: return 0;
	case 2: return 1;
	case 8: return 2;
	default: return 3; /* 4 */
	}
}

static int take_slot(struct x86_gdb_hw *out, unsigned int *used, int bp,
		     uint64_t addr, unsigned int rw, uint64_t len)
{
	unsigned int i = *used;

	if (i == 4)
		return -ENOSPC;
	out->dr[i] = addr;
	out->dr[7] |= DR7_L(i) | DR7_RW(i, rw) | DR7_LEN(i, dr7_len(len));
	out->slot_bp[i] = bp;
	(*used)++;
	return 0;
}

int x86_gdb_hw_layout(const struct gdb_bp *hw, unsigned int n,
		      struct x86_gdb_hw *out)
{
	unsigned int used = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < 4; i++)
		out->slot_bp[i] = -1;
	out->dr[7] = DR7_FIXED;
	for (unsigned int i = 0; i < n; i++) {
		const struct gdb_bp *b = &hw[i];
		uint64_t addr = b->addr, left = b->kind;
		unsigned int rw;

		switch (b->type) {
		case GDB_BP_HW:
			/* the length field must be 0 (one byte) for code */
			ret = take_slot(out, &used, (int)i, addr, DR7_RW_EXEC, 1);
			if (ret)
				return ret;
			continue;
		case GDB_WATCH_WRITE:
			rw = DR7_RW_WRITE;
			break;
		case GDB_WATCH_ACCESS:
			rw = DR7_RW_ACCESS;
			break;
		case GDB_WATCH_READ:
			return -EOPNOTSUPP;
		default:
			return -EINVAL;
		}
		if (left == 0 || addr + left < addr)
			return -EINVAL;
		/* the largest naturally aligned piece that starts here */
		while (left) {
			uint64_t len = 8;

			while (len > 1 && ((addr & (len - 1)) || len > left))
				len >>= 1;
			ret = take_slot(out, &used, (int)i, addr, rw, len);
			if (ret)
				return ret;
			addr += len;
			left -= len;
		}
	}
	return 0;
}

void x86_gdb_classify(const struct kvm_debug_exit_arch *e,
		      const struct gdb_bp *hw, unsigned int n,
		      struct arch_gdb_exit *out)
{
	struct x86_gdb_hw lay;
	int watch = -1, code = -1;

	memset(out, 0, sizeof(*out));
	out->pc = e->pc;
	out->exception = e->exception;
	out->event = ARCH_GDB_OTHER;
	if (e->exception == X86_BP_VECTOR) {
		/* KVM stops with RIP at the int3, before it is taken */
		out->event = ARCH_GDB_SWBREAK;
		return;
	}
	if (e->exception != X86_DB_VECTOR)
		return;
	if (x86_gdb_hw_layout(hw, n, &lay))
		n = 0; /* not what was set: explain nothing by it */
	for (unsigned int i = 0; i < 4 && n; i++) {
		int bp = lay.slot_bp[i];

		if (!(e->dr6 & (1ULL << i)) || bp < 0)
			continue;
		if (hw[bp].type == GDB_BP_HW) {
			if (code < 0)
				code = bp;
		} else if (watch < 0) {
			watch = bp;
			out->addr = lay.dr[i];
		}
	}
	/* a data access is what gdb must hear of first: it cannot redo it */
	if (watch >= 0) {
		out->event = ARCH_GDB_WATCH;
		out->bp = (unsigned int)watch;
	} else if (code >= 0) {
		out->event = ARCH_GDB_HWBREAK;
		out->bp = (unsigned int)code;
	} else if (e->dr6 & DR6_BS) {
		out->event = ARCH_GDB_STEP;
	}
}
