/* SPDX-License-Identifier: MIT */
/*
 * Guest-virtual memory, for the debugger: a page-table walker (one per
 * arch, arch/<arch>/gdb.c) turns a guest-virtual address into a
 * guest-physical one, and gva_read()/gva_write() copy through it page by
 * page with the checked accessor. The walkers read every table entry with
 * gpa_read(), so nothing a guest writes into its page tables makes vmm
 * touch memory outside the guest's RAM; access permissions are ignored,
 * as a debugger must (breakpoints go into read-only kernel text).
 */
#ifndef VMM_GVA_H
#define VMM_GVA_H

#include <stddef.h>
#include <stdint.h>

#include "memory.h"

/* Where a guest-virtual address maps: gpa, and how many bytes from there
 * on are mapped contiguously (to the end of its page or block). */
struct gva_map {
	uint64_t gpa;
	uint64_t len;
};

/*
 * A walker: translate gva with the paging state mmu (the arch's struct).
 * 0, or -EFAULT for a gva that does not translate (not mapped, a
 * non-canonical or out-of-range address, a reserved entry, a table
 * outside guest RAM).
 */
typedef int (*gva_walk_fn)(const struct guest_mem *m, const void *mmu,
			   uint64_t gva, struct gva_map *out);

/*
 * Copy len bytes at guest-virtual gva. Returns the bytes copied, from 1
 * up to len (it stops at the first byte that does not translate or is
 * not in RAM), or -EFAULT if not even the first byte could be, or
 * -EINVAL for len 0 or above INT_MAX.
 */
int gva_read(const struct guest_mem *m, gva_walk_fn walk, const void *mmu,
	     uint64_t gva, void *buf, size_t len);
int gva_write(const struct guest_mem *m, gva_walk_fn walk, const void *mmu,
	      uint64_t gva, const void *buf, size_t len);

#endif
