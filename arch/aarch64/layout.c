// SPDX-License-Identifier: MIT
/*
 * The rules of the aarch64 layout (layout.h) as code, so that they are
 * checked at start-up against the host's page size and unit-tested for
 * 4 KiB, 16 KiB and 64 KiB pages.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "arm64.h"

#define KVM_IPA_DEFAULT_BITS 40 /* what KVM_CREATE_VM type 0 gives */
#define KVM_IPA_MIN_BITS     32 /* the smallest IPA size KVM accepts */

uint64_t arm64_virtio_base(unsigned int n)
{
	return ARM64_VIRTIO_MMIO_BASE + (uint64_t)n * ARM64_VIRTIO_STRIDE;
}

unsigned int arm64_virtio_spi(unsigned int n)
{
	return ARM64_VIRTIO_SPI_BASE + n;
}

struct window {
	const char *name;
	uint64_t base, size;
};

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

int arm64_layout_check(uint64_t page_size, uint64_t ram_size,
		       unsigned int ncpus, char *err, size_t errlen)
{
	struct window w[8 + ARM64_VIRTIO_SLOTS];
	unsigned int n = 0;

	if (!page_size || (page_size & (page_size - 1)) ||
	    page_size > ARM64_MAX_PAGE_SIZE) {
		snprintf(err, errlen, "host page size %" PRIu64 " is not supported "
			 "(4 KiB, 16 KiB or 64 KiB)", page_size);
		return -EINVAL;
	}
	if (ram_size == 0 || ram_size % page_size ||
	    ram_size > UINT64_MAX - ARM64_RAM_BASE) {
		snprintf(err, errlen, "guest memory (%" PRIu64 " bytes) must be a "
			 "non-zero multiple of the host page size (%" PRIu64 ")",
			 ram_size, page_size);
		return -EINVAL;
	}
	if (ncpus == 0 || (uint64_t)ncpus * ARM64_GIC_REDIST_SIZE >
	    ARM64_GIC_REDIST_END - ARM64_GIC_REDIST_ADDR) {
		snprintf(err, errlen, "%u vCPUs do not fit the GICv3 "
			 "redistributor space", ncpus);
		return -EINVAL;
	}
	w[n++] = (struct window){ "GIC distributor", ARM64_GIC_DIST_ADDR,
				  ARM64_GIC_DIST_V3_SIZE };
	w[n++] = (struct window){ "GICv2 CPU interface", ARM64_GIC_CPU_ADDR,
				  ARM64_GIC_CPU_SIZE };
	w[n++] = (struct window){ "GICv3 redistributors", ARM64_GIC_REDIST_ADDR,
				  (uint64_t)ncpus * ARM64_GIC_REDIST_SIZE };
	w[n++] = (struct window){ "UART", ARM64_UART_ADDR, ARM64_UART_SIZE };
	w[n++] = (struct window){ "boot timer", ARM64_BOOT_TIMER_ADDR, 0x1000 };
	for (unsigned int i = 0; i < ARM64_VIRTIO_SLOTS; i++)
		w[n++] = (struct window){ "virtio-mmio", arm64_virtio_base(i),
					  0x1000 };
	w[n++] = (struct window){ "RAM", ARM64_RAM_BASE, ram_size };

	for (unsigned int i = 0; i < n; i++) {
		if (w[i].base % page_size) {
			snprintf(err, errlen, "%s at 0x%" PRIx64 " is not aligned "
				 "to the host page size (%" PRIu64 ")", w[i].name,
				 w[i].base, page_size);
			return -EINVAL;
		}
		/* windows own whole pages: compare page-rounded extents */
		for (unsigned int j = 0; j < i; j++) {
			uint64_t ei = w[i].base + round_up(w[i].size, page_size);
			uint64_t ej = w[j].base + round_up(w[j].size, page_size);

			if (w[i].base < ej && w[j].base < ei) {
				snprintf(err, errlen, "%s at 0x%" PRIx64 " overlaps "
					 "%s at 0x%" PRIx64 " with %" PRIu64
					 "-byte pages", w[i].name, w[i].base,
					 w[j].name, w[j].base, page_size);
				return -EINVAL;
			}
		}
	}
	return 0;
}

unsigned int arm64_ipa_bits(uint64_t ram_size)
{
	uint64_t last = ARM64_RAM_BASE + ram_size - 1;
	unsigned int bits = KVM_IPA_MIN_BITS;

	while (bits < 64 && (last >> bits))
		bits++;
	return bits;
}

int arm64_vm_type(unsigned int need_bits, int cap, unsigned long *type,
		  char *err, size_t errlen)
{
	unsigned int max = cap > 0 ? (unsigned int)cap : KVM_IPA_DEFAULT_BITS;

	if (need_bits > max) {
		snprintf(err, errlen, "the guest's memory needs %u-bit guest "
			 "physical addresses; this host's KVM supports %u%s: "
			 "give the guest less --mem", need_bits, max,
			 cap > 0 ? "" : " (no KVM_CAP_ARM_VM_IPA_SIZE)");
		return -E2BIG;
	}
	/* the default when it fits: old kernels know nothing else */
	if (need_bits <= KVM_IPA_DEFAULT_BITS && max >= KVM_IPA_DEFAULT_BITS) {
		*type = 0;
		return 0;
	}
	/* KVM_VM_TYPE_ARM_IPA_SIZE(bits): the low byte */
	*type = (need_bits < KVM_IPA_MIN_BITS ? KVM_IPA_MIN_BITS : need_bits) &
		0xffUL;
	return 0;
}

bool arm64_granule_supported(uint64_t mmfr0, unsigned int page_size)
{
	unsigned int tgran4 = (mmfr0 >> 28) & 0xf;  /* 0xf: not supported */
	unsigned int tgran64 = (mmfr0 >> 24) & 0xf; /* 0xf: not supported */
	unsigned int tgran16 = (mmfr0 >> 20) & 0xf; /* 0: not supported */

	switch (page_size) {
	case 4096:
		return tgran4 != 0xf;
	case 16384:
		return tgran16 != 0;
	case 65536:
		return tgran64 != 0xf;
	default:
		return false;
	}
}
