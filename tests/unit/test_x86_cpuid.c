// SPDX-License-Identifier: MIT
/*
 * CPUID leaf 0xD against leaves 1 and 7: the tables of real CPUs pass as
 * they are (the EPYC one is what KVM reported inside the emulated SVM
 * host), and every kind of mismatch a guest Linux trips on is found by
 * x86_cpuid_check_xsave() and repaired by x86_cpuid_fix_xsave() into a
 * table the check accepts, with the sizes recomputed for what is kept.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../../arch/x86_64/cpuid.h"
#include "unit.h"

#define MAXE 32

struct table {
	struct kvm_cpuid_entry2 e[MAXE];
	unsigned int n;
};

static struct kvm_cpuid_entry2 *add(struct table *t, uint32_t leaf,
				    uint32_t idx, uint32_t a, uint32_t b,
				    uint32_t c, uint32_t d)
{
	struct kvm_cpuid_entry2 *x = &t->e[t->n++];

	memset(x, 0, sizeof(*x));
	x->function = leaf;
	x->index = idx;
	x->flags = leaf == 7 || leaf == 0xd ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	x->eax = a;
	x->ebx = b;
	x->ecx = c;
	x->edx = d;
	return x;
}

static struct kvm_cpuid_entry2 *get(struct table *t, uint32_t leaf,
				    uint32_t idx)
{
	for (unsigned int i = 0; i < t->n; i++)
		if (t->e[i].function == leaf && t->e[i].index == idx)
			return &t->e[i];
	return NULL;
}

#define L1_FMA   (1U << 12)
#define L1_XSAVE (1U << 26)
#define L1_AVX   (1U << 28)
#define L1_F16C  (1U << 29)
#define L7_AVX2  (1U << 5)
#define L7_AVX512F (1U << 16)
#define L7_AVX512DQ (1U << 17)
#define L7_AVX512BW (1U << 30)
#define L7_AVX512VL (1U << 31)
#define L7C_PKU  (1U << 3)

/* KVM's table inside the emulated host (QEMU TCG, -cpu EPYC,+svm). */
static void epyc(struct table *t)
{
	t->n = 0;
	add(t, 0, 0, 0xd, 0x68747541, 0x444d4163, 0x69746e65);
	add(t, 1, 0, 0x800f12, 0x800, L1_FMA | L1_XSAVE | L1_AVX | L1_F16C |
	    (1U << 0), 0x178bfbff);
	add(t, 7, 0, 0, L7_AVX2 | (1U << 3) | (1U << 8), 0, 0);
	add(t, 0xd, 0, 0x7, 0x340, 0x340, 0);
	add(t, 0xd, 1, 0x5, 0, 0, 0);
	add(t, 0xd, 2, 0x100, 0x240, 0, 0);
}

/* A Skylake-SP-like table: AVX-512 and PKRU (uncompacted offsets). */
static void avx512(struct table *t)
{
	t->n = 0;
	add(t, 1, 0, 0x50654, 0, L1_FMA | L1_XSAVE | L1_AVX | L1_F16C, 0);
	add(t, 7, 0, 0, L7_AVX2 | L7_AVX512F | L7_AVX512DQ | L7_AVX512BW |
	    L7_AVX512VL, L7C_PKU, 0);
	add(t, 0xd, 0, 0x2e7, 0x240, 2696, 0);
	add(t, 0xd, 1, 0xf, 0, 0, 0);
	add(t, 0xd, 2, 256, 576, 0, 0);
	add(t, 0xd, 5, 64, 1088, 0, 0);
	add(t, 0xd, 6, 512, 1152, 0, 0);
	add(t, 0xd, 7, 1024, 1664, 0, 0);
	add(t, 0xd, 9, 8, 2688, 0, 0);
}

/* check refuses t, fix repairs it with changes, then check accepts it */
static int refused_then_fixed(struct table *t, const char *why_has,
			      unsigned int *changes)
{
	char why[256] = "";

	if (x86_cpuid_check_xsave(t->e, t->n, why, sizeof(why)) != -EINVAL ||
	    !strstr(why, why_has)) {
		snprintf(unit_why, sizeof(unit_why), "check said \"%s\"", why);
		return 0;
	}
	*changes = x86_cpuid_fix_xsave(t->e, t->n);
	why[0] = 0;
	if (!*changes || x86_cpuid_check_xsave(t->e, t->n, why, sizeof(why))) {
		snprintf(unit_why, sizeof(unit_why),
			 "after %u changes still: %s", *changes, why);
		return 0;
	}
	return 1;
}

TEST(real_tables_are_consistent_and_left_alone)
{
	void (*make[2])(struct table *) = { epyc, avx512 };

	for (int i = 0; i < 2; i++) {
		struct table t, copy;
		char why[256] = "";

		make[i](&t);
		copy = t;
		CHECK_EQ(x86_cpuid_check_xsave(t.e, t.n, why, sizeof(why)), 0);
		CHECK_EQ(x86_cpuid_fix_xsave(t.e, t.n), 0);
		CHECK(memcmp(&t, &copy, sizeof(t)) == 0);
	}
}

TEST(wrong_total_size_is_recomputed)
{
	struct table t;
	unsigned int n;

	/* the shape of "size 832 != kernel_size 576" inside one table */
	epyc(&t);
	get(&t, 0xd, 0)->ecx = 576;
	get(&t, 0xd, 0)->ebx = 576;
	CHECK(refused_then_fixed(&t, "sizes", &n));
	CHECK_EQ(n, 1);
	CHECK_EQ(get(&t, 0xd, 0)->ecx, 832);
	CHECK_EQ(get(&t, 0xd, 0)->eax, 7); /* AVX kept */
	CHECK(get(&t, 1, 0)->ecx & L1_AVX);
}

TEST(feature_without_state_is_cleared)
{
	struct table t;
	unsigned int n;

	epyc(&t);
	get(&t, 0xd, 0)->eax = 0x3; /* XCR0 without YMM, AVX still set */
	get(&t, 0xd, 0)->ebx = get(&t, 0xd, 0)->ecx = 576;
	CHECK(refused_then_fixed(&t, "AVX without its XSAVE state", &n));
	CHECK_EQ(n, 4); /* AVX, FMA, F16C, AVX2 */
	CHECK(!(get(&t, 1, 0)->ecx & (L1_AVX | L1_FMA | L1_F16C)));
	CHECK(!(get(&t, 7, 0)->ebx & L7_AVX2));
	CHECK(get(&t, 1, 0)->ecx & L1_XSAVE); /* XSAVE itself stays */
}

TEST(state_without_feature_is_dropped)
{
	struct table t;
	unsigned int n;

	epyc(&t);
	get(&t, 1, 0)->ecx &= ~(L1_AVX | L1_FMA | L1_F16C);
	get(&t, 7, 0)->ebx &= ~L7_AVX2;
	CHECK(refused_then_fixed(&t, "without its feature flag", &n));
	CHECK_EQ(get(&t, 0xd, 0)->eax, 3);
	CHECK_EQ(get(&t, 0xd, 0)->ecx, 576);
	CHECK_EQ(get(&t, 0xd, 0)->ebx, 576);
}

TEST(component_without_subleaf_is_dropped)
{
	struct table t;
	unsigned int n;

	epyc(&t);
	get(&t, 0xd, 2)->eax = 0; /* no size for YMM */
	CHECK(refused_then_fixed(&t, "component 2 has no size", &n));
	CHECK_EQ(get(&t, 0xd, 0)->eax, 3);
	CHECK_EQ(get(&t, 0xd, 0)->ecx, 576);
	CHECK(!(get(&t, 1, 0)->ecx & L1_AVX));
	/* the same with the sub-leaf missing altogether */
	epyc(&t);
	t.n--;
	CHECK(refused_then_fixed(&t, "component 2 has no size", &n));
	CHECK_EQ(get(&t, 0xd, 0)->ecx, 576);
}

TEST(groups_come_whole)
{
	struct table t;
	unsigned int n;

	avx512(&t);
	get(&t, 0xd, 0)->eax &= ~(1U << 6); /* ZMM_Hi256 missing */
	CHECK(refused_then_fixed(&t, "group", &n));
	CHECK_EQ(get(&t, 0xd, 0)->eax, 0x207); /* x87 SSE AVX PKRU */
	CHECK(!(get(&t, 7, 0)->ebx & (L7_AVX512F | L7_AVX512DQ | L7_AVX512BW |
				      L7_AVX512VL)));
	CHECK(get(&t, 7, 0)->ebx & L7_AVX2);
	CHECK_EQ(get(&t, 0xd, 0)->ecx, 2696); /* PKRU still ends there */
}

TEST(overlap_and_supervisor_components_refused)
{
	struct table t;
	unsigned int n;

	avx512(&t);
	get(&t, 0xd, 9)->ebx = 2000; /* PKRU inside Hi16_ZMM */
	CHECK(refused_then_fixed(&t, "overlaps", &n));
	CHECK_EQ(get(&t, 0xd, 0)->eax, 0xe7);
	CHECK(!(get(&t, 7, 0)->ecx & L7C_PKU));
	CHECK_EQ(get(&t, 0xd, 0)->ecx, 2688);

	avx512(&t);
	get(&t, 0xd, 9)->ecx = 1; /* an IA32_XSS component offered in XCR0 */
	CHECK(refused_then_fixed(&t, "supervisor", &n));
	CHECK_EQ(get(&t, 0xd, 0)->eax, 0xe7);

	avx512(&t);
	get(&t, 0xd, 2)->ebx = 512; /* inside the legacy area */
	CHECK(refused_then_fixed(&t, "legacy area", &n));
	/* without YMM, AVX-512 goes too (its flag needs YMM); PKRU stays */
	CHECK_EQ(get(&t, 0xd, 0)->eax, 0x203);
	CHECK_EQ(get(&t, 0xd, 0)->ecx, 2696);
	CHECK(!(get(&t, 7, 0)->ebx & L7_AVX512F));
}

TEST(unknown_components_kept_when_sane)
{
	struct table t;
	char why[128];

	epyc(&t);
	get(&t, 0xd, 0)->eax |= 1U << 19; /* no flag we know of: size rules only */
	add(&t, 0xd, 19, 64, 832, 0, 0);
	get(&t, 0xd, 0)->ecx = 896;
	CHECK_EQ(x86_cpuid_check_xsave(t.e, t.n, why, sizeof(why)), 0);
	CHECK_EQ(x86_cpuid_fix_xsave(t.e, t.n), 0);
}

TEST(xsave_off_or_without_leaf_d)
{
	struct table t;
	char why[128];
	unsigned int n;

	/* no XSAVE: leaf 0xD does not matter */
	epyc(&t);
	get(&t, 1, 0)->ecx &= ~(L1_XSAVE | L1_AVX | L1_FMA | L1_F16C);
	get(&t, 7, 0)->ebx &= ~L7_AVX2;
	get(&t, 0xd, 0)->ecx = 1;
	CHECK_EQ(x86_cpuid_check_xsave(t.e, t.n, why, sizeof(why)), 0);
	CHECK_EQ(x86_cpuid_fix_xsave(t.e, t.n), 0);
	/* XSAVE with no leaf 0xD: XSAVE and what needs it go */
	epyc(&t);
	t.n -= 3;
	CHECK(refused_then_fixed(&t, "without leaf 0xD", &n));
	CHECK_EQ(n, 5); /* XSAVE, AVX, FMA, F16C, AVX2 */
	/* XCR0 without x87/SSE: the same */
	epyc(&t);
	get(&t, 0xd, 0)->eax = 0x4;
	CHECK(refused_then_fixed(&t, "lacks x87 or SSE", &n));
	CHECK(!(get(&t, 1, 0)->ecx & L1_XSAVE));
}

UNIT_MAIN("x86_cpuid",
	  T(real_tables_are_consistent_and_left_alone),
	  T(wrong_total_size_is_recomputed), T(feature_without_state_is_cleared),
	  T(state_without_feature_is_dropped),
	  T(component_without_subleaf_is_dropped), T(groups_come_whole),
	  T(overlap_and_supervisor_components_refused),
	  T(unknown_components_kept_when_sane), T(xsave_off_or_without_leaf_d))
