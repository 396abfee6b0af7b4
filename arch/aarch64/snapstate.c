// SPDX-License-Identifier: MIT
/*
 * The aarch64 snapshot sections, without KVM: the order a vCPU's
 * registers are set back in, the vCPU section's layout, and the VGIC's
 * state as the ordered register writes that restore it (arm64.h says the
 * layouts). snapshot.c makes the ioctls; everything here is pure, so the
 * unit tests check it on any host, and every byte of a section is
 * checked before a restore acts on it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../devices/state.h"
#include "arm64.h"
#include "layout.h"

/* --- vCPU registers ------------------------------------------------------ */

size_t arm64_reg_bytes(uint64_t id)
{
	unsigned int shift = (unsigned int)((id & ARM64_REG_SIZE_MASK) >>
					    ARM64_REG_SIZE_SHIFT);

	if ((id & ARM64_REG_ARCH_MASK) != ARM64_REG_ARM64 || shift > 8)
		return 0;
	return (size_t)1 << shift;
}

/* Where a timer register goes at the end (1, 2, 3), 0: not one; -1: left out. */
static int timer_rank(uint64_t id)
{
	switch (id) {
	case ARM64_REG_TIMER_CNT:   return 1;
	case ARM64_REG_TIMER_CVAL:
	case ARM64_REG_PTIMER_CVAL: return 2;
	case ARM64_REG_TIMER_CTL:
	case ARM64_REG_PTIMER_CTL:  return 3;
	case ARM64_REG_PTIMER_CNT:  return -1;
	}
	return 0;
}

unsigned int arm64_reg_restore_order(uint64_t *ids, unsigned int n)
{
	uint64_t timers[8];
	unsigned int kept = 0, nt = 0;

	for (unsigned int i = 0; i < n; i++) {
		int rank = timer_rank(ids[i]);

		if (rank > 0 && nt < sizeof(timers) / sizeof(timers[0]))
			timers[nt++] = ids[i];
		else if (rank == 0)
			ids[kept++] = ids[i];
	}
	for (int rank = 1; rank <= 3; rank++)
		for (unsigned int i = 0; i < nt; i++)
			if (timer_rank(timers[i]) == rank)
				ids[kept++] = timers[i];
	return kept;
}

void arm64_vcpu_snap_put(struct sbuf *b, const struct arm64_vcpu_snap *s)
{
	sbuf_put_u32(b, ARM64_VCPU_LAYOUT);
	sbuf_put_u32(b, s->target);
	sbuf_put_u32(b, s->features);
	sbuf_put_u32(b, s->mp_state);
	sbuf_put_blob(b, s->events, s->events_len);
	sbuf_put_u32(b, s->nr_regs);
}

void arm64_vcpu_snap_put_reg(struct sbuf *b, uint64_t id, const void *val)
{
	sbuf_put_u64(b, id);
	sbuf_put(b, val, arm64_reg_bytes(id));
}

int arm64_vcpu_snap_parse(struct sbuf *r, struct arm64_vcpu_snap *s,
			  char *err, size_t errlen)
{
	uint32_t layout;

	memset(s, 0, sizeof(*s));
	layout = sbuf_get_u32(r);
	s->target = sbuf_get_u32(r);
	s->features = sbuf_get_u32(r);
	s->mp_state = sbuf_get_u32(r);
	s->events_len = sbuf_get_u32(r);
	if (r->err || layout != ARM64_VCPU_LAYOUT ||
	    s->events_len > ARM64_EVENTS_MAX)
		goto malformed;
	sbuf_get(r, s->events, s->events_len);
	s->nr_regs = sbuf_get_u32(r);
	if (r->err || s->nr_regs > ARM64_MAX_REGS)
		goto malformed;
	s->regs = r->data + r->pos;
	for (uint32_t i = 0; i < s->nr_regs; i++) {
		uint64_t id = sbuf_get_u64(r);
		size_t n = arm64_reg_bytes(id);

		if (r->err || !n || n > ARM64_REG_MAX_BYTES ||
		    r->len - r->pos < n)
			goto malformed;
		r->pos += n;
	}
	s->regs_len = (size_t)(r->data + r->pos - s->regs);
	if (sbuf_done(r))
		goto malformed;
	return 0;
malformed:
	snprintf(err, errlen, "malformed vCPU state");
	return -EINVAL;
}

int arm64_vcpu_snap_reg(const struct arm64_vcpu_snap *s, size_t *pos,
			uint64_t *id, const uint8_t **val)
{
	if (*pos + 8 > s->regs_len)
		return -ENOENT;
	memcpy(id, s->regs + *pos, 8); /* little-endian, as both hosts */
	*val = s->regs + *pos + 8;
	*pos += 8 + arm64_reg_bytes(*id); /* parse checked it fits */
	return 0;
}

/* --- the VGIC ------------------------------------------------------------ */

/* GICv2 distributor and CPU interface offsets (IHI 0048B) */
#define GICD_CTLR        0x000
#define GICD_IIDR        0x008
#define GICD_IGROUPR     0x080
#define GICD_ISENABLER   0x100
#define GICD_ICENABLER   0x180
#define GICD_ISPENDR     0x200
#define GICD_ICPENDR     0x280
#define GICD_ISACTIVER   0x300
#define GICD_ICACTIVER   0x380
#define GICD_IPRIORITYR  0x400
#define GICD_ITARGETSR   0x800
#define GICD_ICFGR       0xc00
#define GICD_CPENDSGIR   0xf10
#define GICD_SPENDSGIR   0xf20
#define GICD_IROUTER     0x6000  /* GICv3: 64 bits per interrupt */
#define GICC_CTLR        0x00
#define GICC_PMR         0x04
#define GICC_BPR         0x08
#define GICC_ABPR        0x1c
#define GICC_APR         0xd0
/* GICv3 redistributor: its SGI/PPI frame (IHI 0069) */
#define GICR_SGI_BASE    0x10000
#define GICR_FRAME_SIZE  0x20000
#define GICD_V3_SIZE     0x10000
#define ICC_INSTR(op0, op1, crn, crm, op2) \
	((op0) << 14 | (op1) << 11 | (crn) << 7 | (crm) << 3 | (op2))

/* GICv3's CPU interface registers, in the order they go back */
static const uint32_t icc_regs[] = {
	ICC_INSTR(3, 0, 12, 12, 5),  /* ICC_SRE_EL1: first, it gates the rest */
	ICC_INSTR(3, 0, 12, 12, 4),  /* ICC_CTLR_EL1 */
	ICC_INSTR(3, 0, 4, 6, 0),    /* ICC_PMR_EL1 */
	ICC_INSTR(3, 0, 12, 8, 3),   /* ICC_BPR0_EL1 */
	ICC_INSTR(3, 0, 12, 12, 3),  /* ICC_BPR1_EL1 */
	ICC_INSTR(3, 0, 12, 8, 4),   /* ICC_AP0R0_EL1 .. AP0R3 */
	ICC_INSTR(3, 0, 12, 8, 5),
	ICC_INSTR(3, 0, 12, 8, 6),
	ICC_INSTR(3, 0, 12, 8, 7),
	ICC_INSTR(3, 0, 12, 9, 0),   /* ICC_AP1R0_EL1 .. AP1R3 */
	ICC_INSTR(3, 0, 12, 9, 1),
	ICC_INSTR(3, 0, 12, 9, 2),
	ICC_INSTR(3, 0, 12, 9, 3),
	ICC_INSTR(3, 0, 12, 12, 6),  /* ICC_IGRPEN0_EL1: last, the enables */
	ICC_INSTR(3, 0, 12, 12, 7),  /* ICC_IGRPEN1_EL1 */
};

uint32_t arm64_vgic_v3_affinity(uint64_t mpidr)
{
	return (uint32_t)(mpidr & 0xffffff) | (uint32_t)((mpidr >> 32) & 0xff) << 24;
}

struct saver {
	struct sbuf *b;
	arm64_vgic_read_fn rd;
	void *ctx;
	uint32_t n;
	int err;
};

static void emit(struct saver *s, uint32_t group, uint64_t attr, uint64_t val)
{
	sbuf_put_u32(s->b, group);
	sbuf_put_u64(s->b, attr);
	sbuf_put_u64(s->b, val);
	s->n++;
}

/*
 * Read a register and emit its write; after all-ones to clear_off (the
 * same attribute's CPU part) when clear_off is not 0. and_mask: the bits
 * of it that go back. Nothing when this VGIC has no such register.
 */
static void save_reg(struct saver *s, uint32_t group, uint64_t attr,
		     uint32_t clear_off, uint64_t and_mask)
{
	uint64_t val = 0;
	int ret;

	if (s->err)
		return;
	ret = s->rd(s->ctx, group, attr, &val);
	if (ret == -ENXIO || ret == -EINVAL)
		return;
	if (ret) {
		s->err = ret;
		return;
	}
	if (clear_off)
		emit(s, group, (attr & ~UINT64_C(0xffffffff)) | clear_off,
		     0xffffffff);
	emit(s, group, attr, val & and_mask);
}

/* words first..last-1 of the 32-bit register array at off */
static void save_words(struct saver *s, uint32_t group, uint64_t cpu,
		       uint32_t off, uint32_t clear, unsigned int first,
		       unsigned int last)
{
	for (unsigned int i = first; i < last; i++)
		save_reg(s, group, cpu | (off + 4 * i), clear ? clear + 4 * i : 0,
			 0xffffffff);
}

static void save_v2(struct saver *s, uint32_t nr_irqs, unsigned int ncpus)
{
	const uint32_t g = ARM64_VGIC_GRP_DIST_REGS;
	unsigned int w32 = nr_irqs / 32, w16 = nr_irqs / 16, w4 = nr_irqs / 4;

	save_reg(s, g, GICD_IIDR, 0, 0xffffffff);
	for (unsigned int c = 0; c < ncpus; c++) {
		uint64_t cpu = (uint64_t)c << 32;

		/* the banked registers of the vCPU's SGIs and PPIs */
		save_words(s, g, cpu, GICD_IGROUPR, 0, 0, 1);
		save_words(s, g, cpu, GICD_ICFGR, 0, 1, 2);
		save_words(s, g, cpu, GICD_IPRIORITYR, 0, 0, 8);
		save_words(s, g, cpu, GICD_ISENABLER, GICD_ICENABLER, 0, 1);
		/* an SGI's pending state is per source: its own registers */
		save_words(s, g, cpu, GICD_SPENDSGIR, GICD_CPENDSGIR, 0, 4);
		save_reg(s, g, cpu | GICD_ISPENDR, GICD_ICPENDR, 0xffff0000);
		save_words(s, g, cpu, GICD_ISACTIVER, GICD_ICACTIVER, 0, 1);
	}
	/* the SPIs: configured and routed before they are made pending */
	save_words(s, g, 0, GICD_IGROUPR, 0, 1, w32);
	save_words(s, g, 0, GICD_ICFGR, 0, 2, w16);
	save_words(s, g, 0, GICD_ITARGETSR, 0, 8, w4);
	save_words(s, g, 0, GICD_IPRIORITYR, 0, 8, w4);
	save_words(s, g, 0, GICD_ISENABLER, GICD_ICENABLER, 1, w32);
	save_words(s, g, 0, GICD_ISPENDR, GICD_ICPENDR, 1, w32);
	save_words(s, g, 0, GICD_ISACTIVER, GICD_ICACTIVER, 1, w32);
	save_reg(s, g, GICD_CTLR, 0, 0xffffffff);
	for (unsigned int c = 0; c < ncpus; c++) {
		uint64_t cpu = (uint64_t)c << 32;
		const uint32_t cg = ARM64_VGIC_GRP_CPU_REGS;

		save_reg(s, cg, cpu | GICC_CTLR, 0, 0xffffffff);
		save_reg(s, cg, cpu | GICC_PMR, 0, 0xffffffff);
		save_reg(s, cg, cpu | GICC_BPR, 0, 0xffffffff);
		save_reg(s, cg, cpu | GICC_ABPR, 0, 0xffffffff);
		save_words(s, cg, cpu, GICC_APR, 0, 0, 4);
	}
}

static uint64_t level_attr(uint64_t cpu, uint32_t intid)
{
	return cpu | (uint64_t)0 << ARM64_VGIC_LEVEL_SHIFT | intid;
}

static void save_v3(struct saver *s, uint32_t nr_irqs, unsigned int ncpus,
		    const uint64_t *mpidr)
{
	const uint32_t d = ARM64_VGIC_GRP_DIST_REGS;
	const uint32_t rg = ARM64_VGIC_GRP_REDIST_REGS;
	const uint32_t lv = ARM64_VGIC_GRP_LEVEL_INFO;
	unsigned int w32 = nr_irqs / 32, w16 = nr_irqs / 16, w4 = nr_irqs / 4;
	uint64_t cpu0 = (uint64_t)arm64_vgic_v3_affinity(mpidr[0]) << 32;

	save_reg(s, d, GICD_IIDR, 0, 0xffffffff);
	/*
	 * Each vCPU's SGIs and PPIs, in its redistributor's SGI frame (no
	 * LPIs: this VM has no ITS, so GICR_CTLR, PROPBASER and PENDBASER
	 * hold nothing)
	 */
	for (unsigned int c = 0; c < ncpus; c++) {
		uint64_t cpu = (uint64_t)arm64_vgic_v3_affinity(mpidr[c]) << 32;

		save_words(s, rg, cpu, GICR_SGI_BASE + GICD_IGROUPR, 0, 0, 1);
		save_words(s, rg, cpu, GICR_SGI_BASE + GICD_ICFGR, 0, 1, 2);
		save_words(s, rg, cpu, GICR_SGI_BASE + GICD_IPRIORITYR, 0, 0, 8);
		save_words(s, rg, cpu, GICR_SGI_BASE + GICD_ISENABLER,
			   GICR_SGI_BASE + GICD_ICENABLER, 0, 1);
		save_reg(s, lv, level_attr(cpu, 0), 0, 0xffffffff);
		/* the pending latch itself (ICPENDR is RAZ/WI here) */
		save_words(s, rg, cpu, GICR_SGI_BASE + GICD_ISPENDR, 0, 0, 1);
		save_words(s, rg, cpu, GICR_SGI_BASE + GICD_ISACTIVER,
			   GICR_SGI_BASE + GICD_ICACTIVER, 0, 1);
	}
	save_words(s, d, 0, GICD_IGROUPR, 0, 1, w32);
	save_words(s, d, 0, GICD_ICFGR, 0, 2, w16);
	for (uint32_t intid = 32; intid < nr_irqs; intid++) {
		save_reg(s, d, GICD_IROUTER + 8 * intid, 0, 0xffffffff);
		save_reg(s, d, GICD_IROUTER + 8 * intid + 4, 0, 0xffffffff);
	}
	save_words(s, d, 0, GICD_IPRIORITYR, 0, 8, w4);
	save_words(s, d, 0, GICD_ISENABLER, GICD_ICENABLER, 1, w32);
	for (uint32_t intid = 32; intid < nr_irqs; intid += 32)
		save_reg(s, lv, level_attr(cpu0, intid), 0, 0xffffffff);
	save_words(s, d, 0, GICD_ISPENDR, 0, 1, w32);
	save_words(s, d, 0, GICD_ISACTIVER, GICD_ICACTIVER, 1, w32);
	save_reg(s, d, GICD_CTLR, 0, 0xffffffff);
	for (unsigned int c = 0; c < ncpus; c++) {
		uint64_t cpu = (uint64_t)arm64_vgic_v3_affinity(mpidr[c]) << 32;

		for (size_t i = 0; i < sizeof(icc_regs) / sizeof(icc_regs[0]); i++)
			save_reg(s, ARM64_VGIC_GRP_CPU_SYSREGS, cpu | icc_regs[i],
				 0, UINT64_MAX);
	}
}

int arm64_vgic_save(struct sbuf *b, enum arm64_gic_version v,
		    uint32_t nr_irqs, unsigned int ncpus, const uint64_t *mpidr,
		    arm64_vgic_read_fn rd, void *ctx)
{
	struct sbuf w;
	struct saver s = { .b = &w, .rd = rd, .ctx = ctx };

	if ((v != ARM64_GIC_V2 && v != ARM64_GIC_V3) || nr_irqs % 32 ||
	    nr_irqs < 64 || nr_irqs > 1024 || !ncpus)
		return -EINVAL;
	sbuf_init(&w);
	if (v == ARM64_GIC_V2)
		save_v2(&s, nr_irqs, ncpus);
	else
		save_v3(&s, nr_irqs, ncpus, mpidr);
	if (!s.err && w.err)
		s.err = w.err;
	if (!s.err) {
		sbuf_put_u32(b, ARM64_VGIC_LAYOUT);
		sbuf_put_u32(b, (uint32_t)v);
		sbuf_put_u32(b, nr_irqs);
		sbuf_put_u32(b, ncpus);
		sbuf_put_u32(b, s.n);
		sbuf_put(b, w.data, w.len);
	}
	sbuf_free(&w);
	return s.err;
}

#define WRITE_BYTES 20 /* u32 group, u64 attribute, u64 value */

/* The vCPU a GICv3 attribute's affinity names, or -1. */
static int v3_cpu(uint32_t aff, unsigned int ncpus, const uint64_t *mpidr)
{
	for (unsigned int c = 0; c < ncpus; c++)
		if (arm64_vgic_v3_affinity(mpidr[c]) == aff)
			return (int)c;
	return -1;
}

/* Is w one of the registers a VGIC of version v holds state in? */
static bool write_ok(const struct arm64_vgic_write *w, enum arm64_gic_version v,
		     uint32_t nr_irqs, unsigned int ncpus, const uint64_t *mpidr)
{
	uint32_t off = (uint32_t)w->attr, hi = (uint32_t)(w->attr >> 32);
	bool word = !(off & 3) && w->val <= 0xffffffff;

	if (v == ARM64_GIC_V2) {
		if (hi >= ncpus || !word)
			return false;
		if (w->group == ARM64_VGIC_GRP_DIST_REGS)
			return off < ARM64_GIC_DIST_V2_SIZE;
		return w->group == ARM64_VGIC_GRP_CPU_REGS &&
		       off < ARM64_GIC_CPU_SIZE;
	}
	switch (w->group) {
	case ARM64_VGIC_GRP_DIST_REGS:
		return !hi && word && off < GICD_V3_SIZE;
	case ARM64_VGIC_GRP_REDIST_REGS:
		return v3_cpu(hi, ncpus, mpidr) >= 0 && word &&
		       off < GICR_FRAME_SIZE;
	case ARM64_VGIC_GRP_CPU_SYSREGS:
		return v3_cpu(hi, ncpus, mpidr) >= 0 && off <= 0xffff;
	case ARM64_VGIC_GRP_LEVEL_INFO:
		return v3_cpu(hi, ncpus, mpidr) >= 0 && word &&
		       !(off >> ARM64_VGIC_LEVEL_SHIFT) &&
		       !(off % 32) && off < nr_irqs;
	}
	return false;
}

void arm64_vgic_write_at(const struct arm64_vgic_snap *s, uint32_t i,
			 struct arm64_vgic_write *w)
{
	const uint8_t *p = s->writes + (size_t)i * WRITE_BYTES;

	memcpy(&w->group, p, 4);
	memcpy(&w->attr, p + 4, 8);
	memcpy(&w->val, p + 12, 8);
}

int arm64_vgic_parse(struct sbuf *r, enum arm64_gic_version v,
		     uint32_t nr_irqs, unsigned int ncpus, const uint64_t *mpidr,
		     struct arm64_vgic_snap *s, char *err, size_t errlen)
{
	uint32_t layout = sbuf_get_u32(r), ver = sbuf_get_u32(r);
	uint32_t irqs = sbuf_get_u32(r), cpus = sbuf_get_u32(r);

	memset(s, 0, sizeof(*s));
	s->nr_writes = sbuf_get_u32(r);
	if (r->err || layout != ARM64_VGIC_LAYOUT ||
	    s->nr_writes > ARM64_VGIC_MAX_WRITES ||
	    r->len - r->pos != (size_t)s->nr_writes * WRITE_BYTES) {
		snprintf(err, errlen, "the interrupt controller's state is "
			 "malformed");
		return -EINVAL;
	}
	if (ver != (uint32_t)v) {
		snprintf(err, errlen, "the snapshot's VM has a GICv%u, this "
			 "one a GICv%d: restore it on a host that emulates a "
			 "GICv%u", ver, v, ver);
		return -EINVAL;
	}
	if (irqs != nr_irqs || cpus != ncpus) {
		snprintf(err, errlen, "the interrupt controller's state is for "
			 "%u interrupts and %u vCPUs, this VM's for %u and %u",
			 irqs, cpus, nr_irqs, ncpus);
		return -EINVAL;
	}
	s->writes = r->data + r->pos;
	for (uint32_t i = 0; i < s->nr_writes; i++) {
		struct arm64_vgic_write w;

		arm64_vgic_write_at(s, i, &w);
		if (!write_ok(&w, v, nr_irqs, ncpus, mpidr)) {
			snprintf(err, errlen, "the interrupt controller's state "
				 "is malformed (write %u: group %u, attribute "
				 "0x%llx)", i, w.group,
				 (unsigned long long)w.attr);
			return -EINVAL;
		}
	}
	r->pos = r->len;
	return 0;
}
