/* SPDX-License-Identifier: MIT */
/*
 * The XSAVE part of a CPUID table: leaf 0xD must describe exactly the
 * state components that the features of leaves 1 and 7 need, with sizes
 * and offsets that add up. A guest Linux recomputes the XSAVE area from
 * the sub-leaves and compares it with 0xD's totals; on any mismatch it
 * prints "XSAVE consistency problem" and runs without XSAVE (and so
 * without AVX). Pure functions on KVM's CPUID entries, for vmm's table
 * and its unit test.
 */
#ifndef ARCH_X86_64_CPUID_H
#define ARCH_X86_64_CPUID_H

#include <stddef.h>

#include <linux/kvm.h>

/*
 * 0 when leaf 0xD agrees with leaves 1 and 7: every user state component
 * offered in XCR0 (0xD.0 EDX:EAX) has its feature flag and a sub-leaf of
 * non-zero size within 0xD.0 ECX, no two components overlap, grouped
 * components (MPX, AVX-512, AMX) come whole, and every feature that needs
 * a component finds it offered. Otherwise -EINVAL, the first problem in
 * why. A table without XSAVE (CPUID.1:ECX.XSAVE clear) is consistent.
 */
int x86_cpuid_check_xsave(const struct kvm_cpuid_entry2 *e, unsigned int n,
			  char *why, size_t len);

/*
 * Make the table consistent by taking away, never adding: drop from XCR0
 * the components the check would refuse (with their whole group), clear
 * the feature flags whose component is gone, and recompute 0xD.0 ECX
 * (and EBX, the size for XCR0 = x87|SSE, which KVM updates as the guest
 * sets XCR0) from the sub-leaves kept. Returns how many bits or fields
 * changed: 0 for a table that was consistent.
 */
unsigned int x86_cpuid_fix_xsave(struct kvm_cpuid_entry2 *e, unsigned int n);

#endif
