// SPDX-License-Identifier: MIT
/*
 * The aarch64 snapshot sections on any host (arch/aarch64/snapstate.c):
 * the order registers go back in (the timers last, counter before compare
 * before control, the host's physical counter left out), the vCPU
 * section's round trip and its damaged forms refused, and the VGIC's
 * state, v2 and v3, saved from a model GIC and replayed onto a fresh one
 * whose defaults differ: every register the model has comes back equal,
 * in a safe order (IIDR first, a set-register after its clear-register,
 * routing and line levels before pending state, the enable last), and
 * sections naming other vCPUs, groups or GIC versions are refused.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../../arch/aarch64/arm64.h"
#include "../../devices/state.h"
#include "unit.h"

static char err[256];

#define CORE(n)  (ARM64_REG_ARM64 | ARM64_REG_SIZE_U64 | 0x0010ULL << 16 | (n))
#define VREG(n)  (ARM64_REG_ARM64 | UINT64_C(0x0040000000000000) | \
		  0x0010ULL << 16 | (0x110 + 4 * (n)))
#define FPSR     (ARM64_REG_ARM64 | UINT64_C(0x0020000000000000) | \
		  0x0010ULL << 16 | 0xd4)

TEST(register_sizes)
{
	CHECK_EQ(arm64_reg_bytes(CORE(0)), 8);
	CHECK_EQ(arm64_reg_bytes(VREG(3)), 16);
	CHECK_EQ(arm64_reg_bytes(FPSR), 4);
	CHECK_EQ(arm64_reg_bytes(ARM64_REG_TIMER_CNT), 8);
	/* another architecture's id, a size field past U2048 */
	CHECK_EQ(arm64_reg_bytes(UINT64_C(0x4030000000000000)), 0);
	CHECK_EQ(arm64_reg_bytes(ARM64_REG_ARM64 | UINT64_C(0x0090000000000000)), 0);
}

TEST(timers_go_back_last_in_order)
{
	uint64_t ids[] = {
		CORE(0), ARM64_REG_TIMER_CTL, ARM64_REG_PTIMER_CNT, CORE(2),
		ARM64_REG_TIMER_CVAL, ARM64_REG_PTIMER_CTL, ARM64_REG_TIMER_CNT,
		ARM64_SYSREG(3, 0, 1, 0, 0), ARM64_REG_PTIMER_CVAL, FPSR,
	};
	const uint64_t want[] = {
		CORE(0), CORE(2), ARM64_SYSREG(3, 0, 1, 0, 0), FPSR,
		ARM64_REG_TIMER_CNT, ARM64_REG_TIMER_CVAL, ARM64_REG_PTIMER_CVAL,
		ARM64_REG_TIMER_CTL, ARM64_REG_PTIMER_CTL,
	};
	unsigned int n = arm64_reg_restore_order(ids, 10);

	CHECK_EQ(n, 9);
	CHECK(!memcmp(ids, want, sizeof(want)));
}

static void build_vcpu(struct sbuf *b)
{
	struct arm64_vcpu_snap s = { .target = 5, .features = 4, .mp_state = 1,
				     .events_len = 64, .nr_regs = 3 };
	uint8_t v16[16];
	uint64_t x0 = 0x1122334455667788ULL;
	uint32_t fpsr = 0x08000010;

	for (int i = 0; i < 16; i++)
		v16[i] = (uint8_t)(0xa0 + i);
	memset(s.events, 0x5a, 64);
	sbuf_init(b);
	arm64_vcpu_snap_put(b, &s);
	arm64_vcpu_snap_put_reg(b, CORE(0), &x0);
	arm64_vcpu_snap_put_reg(b, VREG(1), v16);
	arm64_vcpu_snap_put_reg(b, FPSR, &fpsr);
}

TEST(vcpu_section_round_trip)
{
	struct arm64_vcpu_snap s;
	struct sbuf b, r;
	const uint8_t *val;
	size_t pos = 0;
	uint64_t id, x0;
	uint32_t fpsr;

	build_vcpu(&b);
	CHECK_EQ(b.err, 0);
	sbuf_reader(&r, b.data, b.len);
	CHECK_EQ(arm64_vcpu_snap_parse(&r, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.target, 5);
	CHECK_EQ(s.features, 4);
	CHECK_EQ(s.mp_state, 1);
	CHECK_EQ(s.events_len, 64);
	CHECK_EQ(s.events[63], 0x5a);
	CHECK_EQ(s.nr_regs, 3);
	CHECK_EQ(arm64_vcpu_snap_reg(&s, &pos, &id, &val), 0);
	memcpy(&x0, val, 8);
	CHECK(id == CORE(0) && x0 == 0x1122334455667788ULL);
	CHECK_EQ(arm64_vcpu_snap_reg(&s, &pos, &id, &val), 0);
	CHECK(id == VREG(1) && val[0] == 0xa0 && val[15] == 0xaf);
	CHECK_EQ(arm64_vcpu_snap_reg(&s, &pos, &id, &val), 0);
	memcpy(&fpsr, val, 4);
	CHECK(id == FPSR && fpsr == 0x08000010);
	CHECK_EQ(arm64_vcpu_snap_reg(&s, &pos, &id, &val), -ENOENT);
	sbuf_free(&b);
}

TEST(vcpu_section_damage_refused)
{
	struct arm64_vcpu_snap s;
	struct sbuf b, r;
	uint8_t copy[256];

	build_vcpu(&b);
	CHECK(b.len <= sizeof(copy));
	/* every truncation */
	for (size_t n = 0; n < b.len; n++) {
		sbuf_reader(&r, b.data, n);
		CHECK_EQ(arm64_vcpu_snap_parse(&r, &s, err, sizeof(err)), -EINVAL);
	}
	/* a byte too many */
	memcpy(copy, b.data, b.len);
	copy[b.len] = 0;
	sbuf_reader(&r, copy, b.len + 1);
	CHECK_EQ(arm64_vcpu_snap_parse(&r, &s, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "malformed vCPU state"));
	/* another layout */
	memcpy(copy, b.data, b.len);
	copy[0] = 2;
	sbuf_reader(&r, copy, b.len);
	CHECK_EQ(arm64_vcpu_snap_parse(&r, &s, err, sizeof(err)), -EINVAL);
	/* a register id that is not arm64's (the first id: after the header) */
	memcpy(copy, b.data, b.len);
	copy[4 * 4 + 4 + 64 + 4 + 7] = 0x40;
	sbuf_reader(&r, copy, b.len);
	CHECK_EQ(arm64_vcpu_snap_parse(&r, &s, err, sizeof(err)), -EINVAL);
	/* more registers than the section holds */
	memcpy(copy, b.data, b.len);
	copy[4 * 4 + 4 + 64] = 4;
	sbuf_reader(&r, copy, b.len);
	CHECK_EQ(arm64_vcpu_snap_parse(&r, &s, err, sizeof(err)), -EINVAL);
	sbuf_free(&b);
}

/* --- a model GIC ---------------------------------------------------------- */

#define MAX_REGS 4096

struct model {
	enum arm64_gic_version v;
	unsigned int n;
	struct { uint32_t group; uint64_t attr, val; } reg[MAX_REGS];
	uint64_t seed;       /* the value of a register never written */
	uint32_t absent;     /* an offset this GIC lacks (-ENXIO), 0: none */
	int fail;            /* -errno for every read, 0: none */
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	return x;
}

static uint64_t *slot(struct model *m, uint32_t group, uint64_t attr)
{
	for (unsigned int i = 0; i < m->n; i++)
		if (m->reg[i].group == group && m->reg[i].attr == attr)
			return &m->reg[i].val;
	if (m->n == MAX_REGS)
		return NULL;
	m->reg[m->n].group = group;
	m->reg[m->n].attr = attr;
	m->reg[m->n].val = mix(m->seed ^ attr ^ (uint64_t)group << 56);
	if (group != ARM64_VGIC_GRP_CPU_SYSREGS)
		m->reg[m->n].val &= 0xffffffff;
	return &m->reg[m->n++].val;
}

enum kind { PLAIN, SET_OR, CLEAR };

/* What a write to this register does, and the set-register it acts on. */
static enum kind kind(const struct model *m, uint32_t group, uint64_t attr,
		      uint64_t *set)
{
	uint32_t off = (uint32_t)attr, base;

	*set = attr;
	if (group == ARM64_VGIC_GRP_REDIST_REGS && off >= 0x10000)
		base = off - 0x10000;
	else if (group == ARM64_VGIC_GRP_DIST_REGS)
		base = off;
	else
		return PLAIN;
	if ((base >= 0x180 && base < 0x200) || (base >= 0x280 && base < 0x300) ||
	    (base >= 0x380 && base < 0x400)) {
		*set = attr - 0x80;
		return CLEAR;
	}
	if (m->v == ARM64_GIC_V2 && base >= 0xf10 && base < 0xf20) {
		*set = attr + 0x10;
		return CLEAR;
	}
	/* GICv3: userspace's ISPENDR writes set the latch itself */
	if ((base >= 0x100 && base < 0x180) || (base >= 0x300 && base < 0x380) ||
	    (m->v == ARM64_GIC_V2 && ((base >= 0x200 && base < 0x280) ||
				      (base >= 0xf20 && base < 0xf30))))
		return SET_OR;
	return PLAIN;
}

static int model_read(void *ctx, uint32_t group, uint64_t attr, uint64_t *val)
{
	struct model *m = ctx;
	uint64_t *p;

	if (m->fail)
		return m->fail;
	if (m->absent && (uint32_t)attr == m->absent)
		return -ENXIO;
	p = slot(m, group, attr);
	if (!p)
		return -ENOSPC;
	*val = *p;
	return 0;
}

static void model_write(struct model *m, uint32_t group, uint64_t attr,
			uint64_t val)
{
	uint64_t set, *p;
	enum kind k = kind(m, group, attr, &set);

	p = slot(m, group, set);
	if (!p)
		return;
	if (k == CLEAR)
		*p &= ~val;
	else if (k == SET_OR)
		*p |= val;
	else
		*p = val;
}

static const uint64_t mpidr[2] = { 0x80000000, 0x80000001 };

/* Save model a, replay onto model b; the parsed section in *s. */
static int save_replay(struct model *a, struct model *b, struct sbuf *sec,
		       struct arm64_vgic_snap *s, unsigned int ncpus)
{
	struct sbuf r;
	int ret;

	sbuf_init(sec);
	ret = arm64_vgic_save(sec, a->v, 128, ncpus, mpidr, model_read, a);
	if (ret)
		return ret;
	sbuf_reader(&r, sec->data, sec->len);
	ret = arm64_vgic_parse(&r, a->v, 128, ncpus, mpidr, s, err, sizeof(err));
	if (ret)
		return ret;
	for (uint32_t i = 0; i < s->nr_writes; i++) {
		struct arm64_vgic_write w;

		arm64_vgic_write_at(s, i, &w);
		model_write(b, w.group, w.attr, w.val);
	}
	return 0;
}

/* Index of the first (last) write matching group and offset range, or -1. */
static int find(const struct arm64_vgic_snap *s, uint32_t group, uint32_t lo,
		uint32_t hi, bool last)
{
	int at = -1;

	for (uint32_t i = 0; i < s->nr_writes; i++) {
		struct arm64_vgic_write w;

		arm64_vgic_write_at(s, i, &w);
		if (w.group == group && (uint32_t)w.attr >= lo &&
		    (uint32_t)w.attr < hi) {
			at = (int)i;
			if (!last)
				break;
		}
	}
	return at;
}

/* every set-register write follows its clear-register's all-ones */
static bool clears_first(const struct model *m, const struct arm64_vgic_snap *s)
{
	for (uint32_t i = 0; i < s->nr_writes; i++) {
		struct arm64_vgic_write w, p;
		uint64_t set;

		arm64_vgic_write_at(s, i, &w);
		if (kind(m, w.group, w.attr, &set) != SET_OR)
			continue;
		if (!i)
			return false;
		arm64_vgic_write_at(s, i - 1, &p);
		if (kind(m, p.group, p.attr, &set) != CLEAR || set != w.attr ||
		    p.val != 0xffffffff)
			return false;
	}
	return true;
}

/* every register a read (b: the replayed one) */
static bool same_state(struct model *a, struct model *b, uint64_t skip_mask)
{
	for (unsigned int i = 0; i < a->n; i++) {
		uint64_t set, *p;

		if (kind(a, a->reg[i].group, a->reg[i].attr, &set) == CLEAR)
			continue;
		p = slot(b, a->reg[i].group, a->reg[i].attr);
		if (!p)
			return false;
		/* a GICv2's SGI bits of ISPENDR0 go back through SPENDSGIR */
		if (a->v == ARM64_GIC_V2 && a->reg[i].group == ARM64_VGIC_GRP_DIST_REGS &&
		    (uint32_t)a->reg[i].attr == 0x200) {
			if ((*p & skip_mask) != (a->reg[i].val & skip_mask))
				return false;
			continue;
		}
		if (*p != a->reg[i].val)
			return false;
	}
	return true;
}

TEST(vgic_v2_round_trip)
{
	static struct model a, b;
	struct arm64_vgic_snap s;
	struct sbuf sec;

	a = (struct model){ .v = ARM64_GIC_V2, .seed = 1, .absent = 0x1c };
	b = (struct model){ .v = ARM64_GIC_V2, .seed = 2, .absent = 0x1c };
	CHECK_EQ(save_replay(&a, &b, &sec, &s, 2), 0);
	CHECK(same_state(&a, &b, 0xffff0000));
	CHECK(clears_first(&a, &s));
	/* IIDR first; the enable after every other distributor write */
	CHECK_EQ(find(&s, ARM64_VGIC_GRP_DIST_REGS, 0x8, 0xc, false), 0);
	CHECK(find(&s, ARM64_VGIC_GRP_DIST_REGS, 0, 4, false) ==
	      find(&s, ARM64_VGIC_GRP_DIST_REGS, 0, 0x1000, true));
	/* SPIs: routed and configured before they are pending */
	CHECK(find(&s, ARM64_VGIC_GRP_DIST_REGS, 0x820, 0xc00, true) <
	      find(&s, ARM64_VGIC_GRP_DIST_REGS, 0x204, 0x280, false));
	CHECK(find(&s, ARM64_VGIC_GRP_DIST_REGS, 0xc08, 0xc20, true) <
	      find(&s, ARM64_VGIC_GRP_DIST_REGS, 0x204, 0x280, false));
	/* the register this GIC lacks is left out, the CPU interfaces are in */
	CHECK_EQ(find(&s, ARM64_VGIC_GRP_CPU_REGS, 0x1c, 0x20, false), -1);
	CHECK(find(&s, ARM64_VGIC_GRP_CPU_REGS, 0xd0, 0xe0, false) >= 0);
	sbuf_free(&sec);
}

TEST(vgic_v3_round_trip)
{
	static struct model a, b;
	struct arm64_vgic_snap s;
	struct sbuf sec;

	a = (struct model){ .v = ARM64_GIC_V3, .seed = 3 };
	b = (struct model){ .v = ARM64_GIC_V3, .seed = 4 };
	CHECK_EQ(save_replay(&a, &b, &sec, &s, 2), 0);
	CHECK(same_state(&a, &b, ~0ULL));
	CHECK(clears_first(&a, &s));
	CHECK_EQ(find(&s, ARM64_VGIC_GRP_DIST_REGS, 0x8, 0xc, false), 0);
	/* routing and SPI line levels before the pending latches */
	CHECK(find(&s, ARM64_VGIC_GRP_DIST_REGS, 0x6000, 0x8000, true) <
	      find(&s, ARM64_VGIC_GRP_DIST_REGS, 0x204, 0x280, false));
	CHECK(find(&s, ARM64_VGIC_GRP_LEVEL_INFO, 32, 128, true) <
	      find(&s, ARM64_VGIC_GRP_DIST_REGS, 0x204, 0x280, false));
	/* each vCPU's PPI levels, its CPU interface */
	CHECK(find(&s, ARM64_VGIC_GRP_LEVEL_INFO, 0, 1, false) >= 0);
	CHECK(find(&s, ARM64_VGIC_GRP_CPU_SYSREGS, 0, 0x10000, false) >= 0);
	sbuf_free(&sec);
}

TEST(vgic_read_errors_fail_the_save)
{
	static struct model a;
	struct sbuf sec;

	a = (struct model){ .v = ARM64_GIC_V3, .fail = -EBUSY };
	sbuf_init(&sec);
	CHECK_EQ(arm64_vgic_save(&sec, a.v, 128, 1, mpidr, model_read, &a), -EBUSY);
	CHECK_EQ(sec.len, 0);
	CHECK_EQ(arm64_vgic_save(&sec, ARM64_GIC_AUTO, 128, 1, mpidr,
				 model_read, &a), -EINVAL);
	sbuf_free(&sec);
}

/* section with write i's field at byte off (of the 20) replaced by v */
static int parse_patched(const struct sbuf *sec, enum arm64_gic_version v,
			 unsigned int ncpus, size_t at, const void *p, size_t n)
{
	static uint8_t copy[MAX_REGS * 40];
	struct arm64_vgic_snap s;
	struct sbuf r;

	memcpy(copy, sec->data, sec->len);
	if (p)
		memcpy(copy + at, p, n);
	sbuf_reader(&r, copy, sec->len);
	return arm64_vgic_parse(&r, v, 128, ncpus, mpidr, &s, err, sizeof(err));
}

TEST(vgic_foreign_sections_refused)
{
	static struct model a, b;
	struct arm64_vgic_snap s;
	struct sbuf sec, r;
	const size_t hdr = 20, w = 20;
	uint32_t group;
	uint64_t attr;

	a = (struct model){ .v = ARM64_GIC_V3, .seed = 5 };
	b = (struct model){ .v = ARM64_GIC_V3, .seed = 6 };
	CHECK_EQ(save_replay(&a, &b, &sec, &s, 2), 0);
	CHECK_EQ(parse_patched(&sec, ARM64_GIC_V3, 2, 0, NULL, 0), 0);
	/* another GIC version, fewer vCPUs */
	CHECK_EQ(parse_patched(&sec, ARM64_GIC_V2, 2, 0, NULL, 0), -EINVAL);
	CHECK(strstr(err, "GICv3, this one a GICv2"));
	CHECK_EQ(parse_patched(&sec, ARM64_GIC_V3, 1, 0, NULL, 0), -EINVAL);
	CHECK(strstr(err, "2 vCPUs"));
	/* a group that is not state (the VGIC's control group) */
	group = 4;
	CHECK_EQ(parse_patched(&sec, ARM64_GIC_V3, 2, hdr, &group, 4), -EINVAL);
	CHECK(strstr(err, "write 0"));
	/* a redistributor write naming a vCPU the VM lacks */
	for (uint32_t i = 0; i < s.nr_writes; i++) {
		struct arm64_vgic_write x;

		arm64_vgic_write_at(&s, i, &x);
		if (x.group != ARM64_VGIC_GRP_REDIST_REGS)
			continue;
		attr = x.attr ^ (UINT64_C(0x7) << 32);
		CHECK_EQ(parse_patched(&sec, ARM64_GIC_V3, 2, hdr + i * w + 4,
				       &attr, 8), -EINVAL);
		attr = x.attr + 0x20000; /* past its frame */
		CHECK_EQ(parse_patched(&sec, ARM64_GIC_V3, 2, hdr + i * w + 4,
				       &attr, 8), -EINVAL);
		break;
	}
	/* every truncation */
	for (size_t n = 0; n < sec.len; n += 7) {
		sbuf_reader(&r, sec.data, n);
		CHECK_EQ(arm64_vgic_parse(&r, ARM64_GIC_V3, 128, 2, mpidr, &s,
					  err, sizeof(err)), -EINVAL);
	}
	sbuf_free(&sec);
}

UNIT_MAIN("arm64_snapshot",
	  T(register_sizes),
	  T(timers_go_back_last_in_order),
	  T(vcpu_section_round_trip),
	  T(vcpu_section_damage_refused),
	  T(vgic_v2_round_trip),
	  T(vgic_v3_round_trip),
	  T(vgic_read_errors_fail_the_save),
	  T(vgic_foreign_sections_refused))
