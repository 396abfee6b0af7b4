/* SPDX-License-Identifier: MIT */
/*
 * aarch64 platform internals shared by the files of arch/aarch64/. The
 * image loader (image.c), the device tree builder (fdt.c) and the layout
 * rules (layout.c) use no KVM and no arm64 headers, so the unit tests
 * build and run them on any host (tests/unit/test_arm64_*.c).
 */
#ifndef ARCH_AARCH64_ARM64_H
#define ARCH_AARCH64_ARM64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../vmm/memory.h"
#include "layout.h"

/* --- layout.c ------------------------------------------------------------ */

/*
 * Check the layout for a host with page_size-byte pages, ram_size bytes
 * of RAM and ncpus vCPUs: every window and RAM aligned to the page size,
 * nothing overlapping, the GICv3 redistributors within their space.
 * Returns 0 or -EINVAL with one line in err.
 */
int arm64_layout_check(uint64_t page_size, uint64_t ram_size,
		       unsigned int ncpus, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Physical address bits that RAM of ram_size bytes at ARM64_RAM_BASE needs. */
unsigned int arm64_ipa_bits(uint64_t ram_size);

/*
 * The KVM_CREATE_VM type for a guest needing need_bits of IPA space on a
 * host whose KVM_CAP_ARM_VM_IPA_SIZE is cap (0: the capability is absent,
 * so only the default 40 bits exist). The default (type 0) is used
 * whenever it fits. Returns 0 or -E2BIG with one line in err.
 */
int arm64_vm_type(unsigned int need_bits, int cap, unsigned long *type,
		  char *err, size_t errlen) __attribute__((warn_unused_result));

/* Base address and SPI of virtio-mmio slot n (n < ARM64_VIRTIO_SLOTS). */
uint64_t arm64_virtio_base(unsigned int n);
unsigned int arm64_virtio_spi(unsigned int n);

/*
 * Does a CPU whose ID_AA64MMFR0_EL1 is mmfr0 support a translation
 * granule of page_size bytes (4, 16 or 64 KiB)?
 */
bool arm64_granule_supported(uint64_t mmfr0, unsigned int page_size);

/* --- image.c ------------------------------------------------------------- */

/* The arm64 Image header (Documentation/arm64/booting.rst). */
#define ARM64_IMAGE_HDR_SIZE  64
#define ARM64_IMAGE_MAGIC     0x644d5241U /* "ARM\x64" at offset 0x38 */

struct arm64_image {
	uint64_t text_offset;  /* from a 2 MiB-aligned base */
	uint64_t image_size;   /* bytes the kernel needs; 0 before Linux 3.17 */
	uint64_t flags;
	unsigned int page_size; /* the kernel's page size; 0: not stated */
};

/*
 * Parse and check the header of an uncompressed Image of size bytes.
 * Returns 0, or -ENOEXEC (not an Image), -ENOTSUP (big-endian kernel) or
 * -EINVAL (corrupt header) with one line for the user in err.
 */
int arm64_parse_image(const uint8_t *img, size_t size, struct arm64_image *h,
		      char *err, size_t errlen) __attribute__((warn_unused_result));

/* Does data start like a gzip stream? */
bool arm64_is_gzip(const uint8_t *data, size_t size);

/*
 * Inflate the gzip stream in[0..in_len) into out[0..out_max). Stops with
 * -EFBIG as soon as the output would exceed out_max (a bomb, or too little
 * guest memory), -EINVAL for corrupt or truncated input. On success
 * *out_len is the decompressed size. err gets one line on failure.
 */
int arm64_gunzip(const uint8_t *in, size_t in_len, uint8_t *out,
		 size_t out_max, size_t *out_len, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Where everything went. */
struct arm64_boot {
	struct arm64_image image;
	uint64_t kernel_addr;   /* entry point: the first byte of the Image */
	uint64_t kernel_end;    /* kernel_addr + max(image_size, file size) */
	uint64_t fdt_addr;      /* ARM64_FDT_MAX_SIZE bytes reserved */
	uint64_t initrd_addr;   /* 0 when there is none */
	uint64_t initrd_size;
	bool compressed;        /* it was an Image.gz */
};

/*
 * Load an Image or Image.gz (img[0..size)) at the start of the first RAM
 * region of m, leaving the top of RAM for the device tree and an initrd of
 * initrd_size bytes (0: none), and fill *b. Returns 0 or -errno with one
 * line for the user in err.
 */
int arm64_load_kernel(const struct guest_mem *m, const uint8_t *img,
		      size_t size, uint64_t initrd_size, struct arm64_boot *b,
		      char *err, size_t errlen) __attribute__((warn_unused_result));

/* --- fdt.c --------------------------------------------------------------- */

enum arm64_gic_version {
	ARM64_GIC_AUTO = 0,
	ARM64_GIC_V2 = 2,
	ARM64_GIC_V3 = 3,
};

/* A virtio-mmio device as the device tree describes it. */
struct arm64_fdt_virtio {
	uint64_t base;
	unsigned int spi;
};

/* Everything the device tree says. */
struct arm64_fdt_desc {
	const char *bootargs;
	uint64_t ram_base, ram_size;
	unsigned int ncpus;
	const uint64_t *mpidr;          /* ncpus entries, as KVM reports them */
	enum arm64_gic_version gic;     /* V2 or V3 */
	uint64_t initrd_start, initrd_end; /* equal: no initrd */
	const uint8_t *rng_seed;        /* for the guest's RNG; may be NULL */
	size_t rng_seed_len;
	uint64_t kaslr_seed;
	const struct arm64_fdt_virtio *virtio;
	unsigned int nr_virtio;
};

/* Phandles: the GIC, the PL061's bus clock, the PL061 (the power key's). */
#define ARM64_FDT_GIC_PHANDLE  1
#define ARM64_FDT_CLK_PHANDLE  2
#define ARM64_FDT_GPIO_PHANDLE 3
/* The fixed clock an "arm,primecell" device needs (its apb_pclk). */
#define ARM64_FDT_APB_CLOCK    24000000

/* Interrupt specifier cells (bindings/interrupt-controller/arm,gic.yaml) */
#define ARM64_FDT_IRQ_SPI         0
#define ARM64_FDT_IRQ_PPI         1
#define ARM64_FDT_IRQ_EDGE_RISING 1
#define ARM64_FDT_IRQ_LEVEL_HIGH  4

/*
 * Build the flattened device tree for d into buf[0..bufsize). Returns 0,
 * -ENOSPC when buf is too small (try a larger one), or -EINVAL.
 */
int arm64_fdt_build(const struct arm64_fdt_desc *d, void *buf, size_t bufsize)
	__attribute__((warn_unused_result));

#endif
