// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the x86-64 kernel loaders (arch/x86_64/boot.c): a
 * bzImage (setup header, protocol versions, setup_sects, payload
 * offsets), an ELF64 vmlinux (program headers, PT_LOAD ranges) and a PVH
 * kernel (the Xen PHYS32_ENTRY note), as a hostile kernel file would be.
 * The input is the file; the guest has 64 MiB of RAM.
 *
 * Checked: a refusal says why; an accepted kernel's entry point is in
 * guest RAM, its end inside RAM, its protocol one of the two, a bzImage
 * keeps a header of sane length and an ELF none; an initrd placed for it
 * lies above the kernel, inside RAM and below its limit; the boot
 * structures for it are written without error.
 *
 * Build: make fuzz (tests/fuzz/README); -DFUZZ_STANDALONE replays files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../arch/x86_64/x86.h"
#include "../../vmm/log.h"
#include "fuzz.h"

#define RAM (64ULL << 20)

static struct guest_mem mem;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint64_t r[1][2] = { { 0, RAM } };

	(void)argc;
	(void)argv;
	FUZZ_CHECK(guest_mem_init(&mem, r, 1) == 0);
	log_set_level(LOG_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct x86_kernel k;
	char err[256];
	uint64_t initrd, isize;
	int r;

	if (!mem.nr_regions)
		LLVMFuzzerInitialize(NULL, NULL);
	memset(err, 0x55, sizeof(err));
	r = x86_load_kernel_image(&mem, data, size, &k, err, sizeof(err));
	FUZZ_CHECK(r <= 0);
	if (r < 0) {
		FUZZ_CHECK(memchr(err, 0, sizeof(err)) && err[0]);
		return 0;
	}
	FUZZ_CHECK(gpa_range_ok(&mem, k.entry, 1));
	FUZZ_CHECK(k.end > 0 && k.end <= mem.ram_size);
	FUZZ_CHECK(k.proto == X86_BOOT_LINUX64 || k.proto == X86_BOOT_PVH);
	if (k.is_bzimage)
		FUZZ_CHECK(k.hdr_len > 0 && k.hdr_len <= sizeof(k.hdr) &&
			   k.proto == X86_BOOT_LINUX64);
	else
		FUZZ_CHECK(k.hdr_len == 0);
	/* an initrd as large as the input says, where it may go */
	isize = size > 8 ? (data[size - 1] | (uint64_t)data[size - 2] << 8) << 12 : 4096;
	if (x86_place_initrd(&mem, &k, isize, &initrd) == 0) {
		FUZZ_CHECK(initrd >= k.end && initrd % 4096 == 0);
		FUZZ_CHECK(gpa_range_ok(&mem, initrd, isize));
		FUZZ_CHECK(initrd + isize - 1 <= k.initrd_addr_max);
	} else {
		initrd = isize = 0;
	}
	if (k.proto == X86_BOOT_PVH)
		FUZZ_CHECK(x86_write_pvh_info(&mem, 0x20000, initrd, isize) == 0);
	else
		FUZZ_CHECK(x86_write_boot_params(&mem, &k, 0x20000, initrd, isize) == 0);
	return 0;
}
