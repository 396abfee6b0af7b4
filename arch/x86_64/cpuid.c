// SPDX-License-Identifier: MIT
/*
 * XSAVE consistency of a CPUID table (Intel SDM vol. 1 ch. 13, AMD APM
 * vol. 3 appendix E.3.6): which feature flag enables each XCR0 state
 * component, which features need which components, and the sizes the
 * sub-leaves of 0xD must add up to.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpuid.h"

enum reg { EAX, EBX, ECX, EDX };

struct flag {
	uint32_t leaf, sub;
	enum reg reg;
	unsigned int bit;
	const char *name;
};

#define LEGACY_AREA 576 /* FXSAVE image + XSAVE header */
#define XCR0_X87_SSE 0x3ULL
#define MPX    (3ULL << 3)
#define AVX512 (7ULL << 5)
#define AMX    (3ULL << 17)
#define YMM    (1ULL << 2)
#define PKRU   (1ULL << 9)

/* The flag that says component bit exists, and the group it belongs to. */
static const struct component {
	unsigned int bit;
	uint64_t group;
	struct flag flag;
} components[] = {
	{ 2, YMM, { 1, 0, ECX, 28, "AVX" } },
	{ 3, MPX, { 7, 0, EBX, 14, "MPX" } },
	{ 4, MPX, { 7, 0, EBX, 14, "MPX" } },
	{ 5, AVX512, { 7, 0, EBX, 16, "AVX512F" } },
	{ 6, AVX512, { 7, 0, EBX, 16, "AVX512F" } },
	{ 7, AVX512, { 7, 0, EBX, 16, "AVX512F" } },
	{ 9, PKRU, { 7, 0, ECX, 3, "PKU" } },
	{ 17, AMX, { 7, 0, EDX, 24, "AMX-TILE" } },
	{ 18, AMX, { 7, 0, EDX, 24, "AMX-TILE" } },
};

/* Features whose instructions use state components beyond x87/SSE. */
static const struct need {
	struct flag flag;
	uint64_t comps;
} needs[] = {
	{ { 1, 0, ECX, 28, "AVX" }, YMM },
	{ { 1, 0, ECX, 12, "FMA" }, YMM },
	{ { 1, 0, ECX, 29, "F16C" }, YMM },
	{ { 7, 0, EBX, 5, "AVX2" }, YMM },
	{ { 7, 0, ECX, 9, "VAES" }, YMM },
	{ { 7, 0, ECX, 10, "VPCLMULQDQ" }, YMM },
	{ { 7, 1, EAX, 4, "AVX-VNNI" }, YMM },
	{ { 7, 0, EBX, 14, "MPX" }, MPX },
	{ { 7, 0, EBX, 16, "AVX512F" }, YMM | AVX512 },
	{ { 7, 0, EBX, 17, "AVX512DQ" }, YMM | AVX512 },
	{ { 7, 0, EBX, 21, "AVX512IFMA" }, YMM | AVX512 },
	{ { 7, 0, EBX, 26, "AVX512PF" }, YMM | AVX512 },
	{ { 7, 0, EBX, 27, "AVX512ER" }, YMM | AVX512 },
	{ { 7, 0, EBX, 28, "AVX512CD" }, YMM | AVX512 },
	{ { 7, 0, EBX, 30, "AVX512BW" }, YMM | AVX512 },
	{ { 7, 0, EBX, 31, "AVX512VL" }, YMM | AVX512 },
	{ { 7, 0, ECX, 1, "AVX512VBMI" }, YMM | AVX512 },
	{ { 7, 0, ECX, 6, "AVX512VBMI2" }, YMM | AVX512 },
	{ { 7, 0, ECX, 11, "AVX512VNNI" }, YMM | AVX512 },
	{ { 7, 0, ECX, 12, "AVX512BITALG" }, YMM | AVX512 },
	{ { 7, 0, ECX, 14, "AVX512VPOPCNTDQ" }, YMM | AVX512 },
	{ { 7, 0, EDX, 2, "AVX512_4VNNIW" }, YMM | AVX512 },
	{ { 7, 0, EDX, 3, "AVX512_4FMAPS" }, YMM | AVX512 },
	{ { 7, 0, EDX, 8, "AVX512_VP2INTERSECT" }, YMM | AVX512 },
	{ { 7, 0, EDX, 23, "AVX512_FP16" }, YMM | AVX512 },
	{ { 7, 1, EAX, 5, "AVX512_BF16" }, YMM | AVX512 },
	{ { 7, 0, ECX, 3, "PKU" }, PKRU },
	{ { 7, 0, EDX, 22, "AMX-BF16" }, AMX },
	{ { 7, 0, EDX, 24, "AMX-TILE" }, AMX },
	{ { 7, 0, EDX, 25, "AMX-INT8" }, AMX },
};

static const struct flag xsave_flag = { 1, 0, ECX, 26, "XSAVE" };

/* Leaves whose sub-leaf index matters (KVM_CPUID_FLAG_SIGNIFCANT_INDEX) */
static bool indexed(uint32_t leaf)
{
	return leaf == 4 || leaf == 7 || leaf == 0xb || leaf == 0xd ||
	       leaf == 0xf || leaf == 0x10 || leaf == 0x12 || leaf == 0x14 ||
	       leaf == 0x17 || leaf == 0x18 || leaf == 0x1d || leaf == 0x1e ||
	       leaf == 0x1f || leaf == 0x8000001d;
}

static struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *e,
				     unsigned int n, uint32_t leaf,
				     uint32_t sub)
{
	for (unsigned int i = 0; i < n; i++)
		if (e[i].function == leaf && (!indexed(leaf) || e[i].index == sub))
			return (struct kvm_cpuid_entry2 *)&e[i];
	return NULL;
}

static uint32_t *reg_of(struct kvm_cpuid_entry2 *c, enum reg r)
{
	return r == EAX ? &c->eax : r == EBX ? &c->ebx : r == ECX ? &c->ecx
								   : &c->edx;
}

static bool has(const struct kvm_cpuid_entry2 *e, unsigned int n,
		const struct flag *f)
{
	struct kvm_cpuid_entry2 *c = find(e, n, f->leaf, f->sub);

	return c && (*reg_of(c, f->reg) >> f->bit & 1);
}

static const struct component *component(unsigned int bit)
{
	for (size_t i = 0; i < sizeof(components) / sizeof(components[0]); i++)
		if (components[i].bit == bit)
			return &components[i];
	return NULL;
}

static uint64_t xcr0_of(const struct kvm_cpuid_entry2 *d0)
{
	return d0->eax | (uint64_t)d0->edx << 32;
}

/*
 * Why component bit of xcr0 cannot be offered, or NULL. Components below
 * it are the ones kept so far (kept), to test overlaps against.
 */
static const char *bad_component(const struct kvm_cpuid_entry2 *e,
				 unsigned int n, unsigned int bit,
				 uint64_t kept)
{
	const struct kvm_cpuid_entry2 *s = find(e, n, 0xd, bit);
	const struct component *c = component(bit);

	if (!s || !s->eax)
		return "has no size in its sub-leaf";
	if (s->ecx & 1)
		return "is a supervisor component (IA32_XSS), not XCR0's";
	if (s->ebx < LEGACY_AREA || (uint64_t)s->ebx + s->eax > UINT32_MAX)
		return "lies in the legacy area and header, or past 4 GiB";
	for (unsigned int j = 2; j < bit; j++) {
		const struct kvm_cpuid_entry2 *o = find(e, n, 0xd, j);

		if ((kept >> j & 1) && o && s->ebx < o->ebx + o->eax &&
		    o->ebx < s->ebx + s->eax)
			return "overlaps a lower component";
	}
	if (c && !has(e, n, &c->flag))
		return "is offered without its feature flag";
	return NULL;
}

/* The area all of xcr0's components need, uncompacted. */
static uint32_t area_size(const struct kvm_cpuid_entry2 *e, unsigned int n,
			  uint64_t xcr0)
{
	uint32_t size = LEGACY_AREA;

	for (unsigned int bit = 2; bit < 64; bit++) {
		const struct kvm_cpuid_entry2 *s = find(e, n, 0xd, bit);

		if ((xcr0 >> bit & 1) && s && s->ebx + s->eax > size)
			size = s->ebx + s->eax;
	}
	return size;
}

int x86_cpuid_check_xsave(const struct kvm_cpuid_entry2 *e, unsigned int n,
			  char *why, size_t len)
{
	const struct kvm_cpuid_entry2 *d0 = find(e, n, 0xd, 0);
	uint64_t xcr0;

	if (!has(e, n, &xsave_flag))
		return 0;
	if (!d0) {
		snprintf(why, len, "XSAVE without leaf 0xD");
		return -EINVAL;
	}
	xcr0 = xcr0_of(d0);
	if ((xcr0 & XCR0_X87_SSE) != XCR0_X87_SSE) {
		snprintf(why, len, "XCR0 0x%llx lacks x87 or SSE",
			 (unsigned long long)xcr0);
		return -EINVAL;
	}
	for (unsigned int bit = 2; bit < 64; bit++) {
		const struct component *c = component(bit);
		const char *bad;

		if (!(xcr0 >> bit & 1))
			continue;
		bad = bad_component(e, n, bit, xcr0);
		if (bad) {
			snprintf(why, len, "XCR0 component %u %s", bit, bad);
			return -EINVAL;
		}
		if (c && (xcr0 & c->group) != c->group) {
			snprintf(why, len, "XCR0 component %u without the rest "
				 "of its group 0x%llx", bit,
				 (unsigned long long)c->group);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
		if (has(e, n, &needs[i].flag) &&
		    (xcr0 & needs[i].comps) != needs[i].comps) {
			snprintf(why, len, "%s without its XSAVE state 0x%llx",
				 needs[i].flag.name,
				 (unsigned long long)needs[i].comps);
			return -EINVAL;
		}
	if (d0->ecx != area_size(e, n, xcr0) || d0->ebx < LEGACY_AREA ||
	    d0->ebx > d0->ecx) {
		snprintf(why, len, "0xD.0 sizes EBX %u ECX %u; the components "
			 "need %u", d0->ebx, d0->ecx, area_size(e, n, xcr0));
		return -EINVAL;
	}
	return 0;
}

static unsigned int clear_flag(struct kvm_cpuid_entry2 *e, unsigned int n,
			       const struct flag *f)
{
	struct kvm_cpuid_entry2 *c = find(e, n, f->leaf, f->sub);

	if (!c || !(*reg_of(c, f->reg) >> f->bit & 1))
		return 0;
	*reg_of(c, f->reg) &= ~(1U << f->bit);
	return 1;
}

/* One pass of the repair; dropping state can clear flags and vice versa. */
static unsigned int fix_pass(struct kvm_cpuid_entry2 *e, unsigned int n,
			     struct kvm_cpuid_entry2 *d0)
{
	uint64_t xcr0 = xcr0_of(d0), kept = XCR0_X87_SSE;
	unsigned int changes = 0;

	for (unsigned int bit = 2; bit < 64; bit++)
		if ((xcr0 >> bit & 1) && !bad_component(e, n, bit, kept))
			kept |= 1ULL << bit;
	/* groups come whole */
	for (size_t i = 0; i < sizeof(components) / sizeof(components[0]); i++)
		if ((kept & components[i].group) != components[i].group)
			kept &= ~components[i].group;
	for (unsigned int bit = 2; bit < 64; bit++)
		if ((xcr0 ^ kept) >> bit & 1)
			changes++;
	d0->eax = (uint32_t)kept;
	d0->edx = (uint32_t)(kept >> 32);
	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
		if ((kept & needs[i].comps) != needs[i].comps)
			changes += clear_flag(e, n, &needs[i].flag);
	return changes;
}

unsigned int x86_cpuid_fix_xsave(struct kvm_cpuid_entry2 *e, unsigned int n)
{
	struct kvm_cpuid_entry2 *d0 = find(e, n, 0xd, 0);
	unsigned int changes = 0, pass;
	uint32_t size;

	if (!has(e, n, &xsave_flag))
		return 0;
	if (!d0 || (xcr0_of(d0) & XCR0_X87_SSE) != XCR0_X87_SSE) {
		/* nothing to describe the state with: no XSAVE at all */
		changes += clear_flag(e, n, &xsave_flag);
		for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
			changes += clear_flag(e, n, &needs[i].flag);
		return changes;
	}
	/* each pass only takes away, so this ends */
	while ((pass = fix_pass(e, n, d0)))
		changes += pass;
	size = area_size(e, n, xcr0_of(d0));
	if (d0->ecx != size) {
		d0->ecx = size;
		changes++;
	}
	if (d0->ebx < LEGACY_AREA || d0->ebx > size) {
		d0->ebx = d0->ebx < LEGACY_AREA ? LEGACY_AREA : size;
		changes++;
	}
	return changes;
}
