/* SPDX-License-Identifier: MIT */
/*
 * x86-64 platform internals shared by the files of arch/x86_64/. The
 * loaders and table writers work on a struct guest_mem only (no KVM), so
 * the unit tests exercise them directly.
 */
#ifndef ARCH_X86_64_X86_H
#define ARCH_X86_64_X86_H

#include <stddef.h>
#include <stdint.h>

#include "../../vmm/memory.h"
#include "bootparam.h"
#include "layout.h"

enum x86_boot_proto {
	X86_BOOT_LINUX64, /* 64-bit entry, %rsi = zero page */
	X86_BOOT_PVH,     /* 32-bit PVH entry, %ebx = hvm_start_info */
};

/* What loading a kernel image found out. */
struct x86_kernel {
	enum x86_boot_proto proto;
	uint64_t entry;
	uint64_t end;             /* first byte above what the kernel needs */
	uint64_t initrd_addr_max; /* highest byte an initrd may occupy */
	uint64_t cmdline_max;     /* longest command line, without the NUL */
	int is_bzimage;
	uint8_t hdr[HDR_END_MAX - BP_HDR]; /* bzImage setup header */
	size_t hdr_len;
};

/*
 * Load a bzImage or an ELF64 kernel from img[0..size) into guest memory.
 * On error returns -errno and puts one line for the user in err.
 */
int x86_load_kernel_image(const struct guest_mem *m, const uint8_t *img,
			  size_t size, struct x86_kernel *k, char *err,
			  size_t errlen) __attribute__((warn_unused_result));

/*
 * Where an initrd of size bytes goes: the highest page-aligned address
 * below both the kernel's limit and the end of low RAM, above k->end.
 * Returns 0 or -ENOSPC.
 */
int x86_place_initrd(const struct guest_mem *m, const struct x86_kernel *k,
		     uint64_t size, uint64_t *addr)
	__attribute__((warn_unused_result));

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};
/* The memory map of m (RAM around the legacy and MMIO holes). */
unsigned int x86_e820(const struct guest_mem *m, struct e820_entry *e,
		      unsigned int max);

/* Boot structures. Each returns 0 or -EFAULT/-EINVAL. */
int x86_write_boot_params(const struct guest_mem *m, const struct x86_kernel *k,
			  uint64_t cmdline_addr, uint64_t initrd_addr,
			  uint64_t initrd_size)
	__attribute__((warn_unused_result));
int x86_write_pvh_info(const struct guest_mem *m, uint64_t cmdline_addr,
		       uint64_t initrd_addr, uint64_t initrd_size)
	__attribute__((warn_unused_result));
int x86_write_page_tables(const struct guest_mem *m)
	__attribute__((warn_unused_result));
int x86_write_gdt(const struct guest_mem *m)
	__attribute__((warn_unused_result));
/* MP table for ncpus (APIC ids 0..ncpus-1) at X86_MPTABLE_ADDR. */
int x86_write_mptable(const struct guest_mem *m, unsigned int ncpus)
	__attribute__((warn_unused_result));

/* GDT selectors (see x86_write_gdt()) */
#define X86_SEL_CODE32 0x08
#define X86_SEL_CODE64 0x10
#define X86_SEL_DATA   0x18
#define X86_SEL_TSS    0x20

#endif
