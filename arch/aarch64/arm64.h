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

/* --- snapstate.c --------------------------------------------------------- */

struct sbuf;

/*
 * KVM's register ids (linux/kvm.h, arm64's asm/kvm.h), spelt out here so
 * that this part builds on any host; snapshot.c checks them against the
 * kernel's headers.
 */
#define ARM64_REG_ARM64       UINT64_C(0x6000000000000000)
#define ARM64_REG_ARCH_MASK   UINT64_C(0xff00000000000000)
#define ARM64_REG_SIZE_SHIFT  52
#define ARM64_REG_SIZE_MASK   UINT64_C(0x00f0000000000000)
#define ARM64_REG_SIZE_U64    UINT64_C(0x0030000000000000)
#define ARM64_REG_MAX_BYTES   256  /* U2048: an SVE Z register */
#define ARM64_SYSREG(op0, op1, crn, crm, op2)                               \
	(ARM64_REG_ARM64 | ARM64_REG_SIZE_U64 | UINT64_C(0x0013) << 16 |     \
	 (uint64_t)(op0) << 14 | (uint64_t)(op1) << 11 | (uint64_t)(crn) << 7 | \
	 (uint64_t)(crm) << 3 | (uint64_t)(op2))
/* the virtual timer (KVM swaps CNT's and CVAL's encodings: its ABI) */
#define ARM64_REG_TIMER_CTL   ARM64_SYSREG(3, 3, 14, 3, 1)
#define ARM64_REG_TIMER_CNT   ARM64_SYSREG(3, 3, 14, 3, 2)
#define ARM64_REG_TIMER_CVAL  ARM64_SYSREG(3, 3, 14, 0, 2)
/* the physical timer (Linux 6.3 and later list it) */
#define ARM64_REG_PTIMER_CTL  ARM64_SYSREG(3, 3, 14, 2, 1)
#define ARM64_REG_PTIMER_CNT  ARM64_SYSREG(3, 3, 14, 0, 1)
#define ARM64_REG_PTIMER_CVAL ARM64_SYSREG(3, 3, 14, 2, 2)

/* Bytes in the value of register id (its size field); 0: not a register. */
size_t arm64_reg_bytes(uint64_t id);

/*
 * KVM_GET_REG_LIST's n ids, in place, in the order a restore sets them:
 * the list's own order, but the timers last: the virtual counter (it sets
 * the VM's counter offset, so the guest's counter goes on from the saved
 * value), then the compare values, then the controls (a timer is armed
 * against the counter and compare value it will run with). The physical
 * counter is left out: it is the host's, which KVM does not let a VMM
 * move without the counter-offset API (KVM_ARM_SET_COUNTER_OFFSET) this
 * vmm does not use. Returns how many ids are kept.
 */
unsigned int arm64_reg_restore_order(uint64_t *ids, unsigned int n);

/*
 * A vCPU section:
 *   u32 layout (ARM64_VCPU_LAYOUT)
 *   u32 target, u32 features[0] of its KVM_ARM_VCPU_INIT (POWER_OFF not
 *       included: that is the boot's, the MP state says the rest)
 *   u32 MP state (KVM_MP_STATE_*)
 *   blob vCPU events (struct kvm_vcpu_events; empty without
 *       KVM_CAP_VCPU_EVENTS)
 *   u32 number of registers, then each: u64 id, its value (its size)
 */
#define ARM64_VCPU_LAYOUT     1
#define ARM64_MAX_REGS        4096
#define ARM64_EVENTS_MAX      256
struct arm64_vcpu_snap {
	uint32_t target, features, mp_state;
	uint32_t events_len;              /* 0: none saved */
	uint8_t events[ARM64_EVENTS_MAX];
	uint32_t nr_regs;
	const uint8_t *regs;              /* nr_regs (id, value) pairs, checked */
	size_t regs_len;
};

/* Append s's header fields (all but the registers) to b. */
void arm64_vcpu_snap_put(struct sbuf *b, const struct arm64_vcpu_snap *s);
/* Then each register: id, and arm64_reg_bytes(id) bytes at val. */
void arm64_vcpu_snap_put_reg(struct sbuf *b, uint64_t id, const void *val);

/*
 * Read and check a whole vCPU section from r (its layout, every
 * register's id and size; nothing left over): 0, or -EINVAL with one line
 * in err. s->regs points into r's data.
 */
int arm64_vcpu_snap_parse(struct sbuf *r, struct arm64_vcpu_snap *s,
			  char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * The register at *pos of a parsed section (start with *pos = 0): its id
 * and value, and *pos moved on; -ENOENT after the last.
 */
int arm64_vcpu_snap_reg(const struct arm64_vcpu_snap *s, size_t *pos,
			uint64_t *id, const uint8_t **val);

/*
 * The VGIC's state is saved as the register writes that put it back, in
 * the order a restore must make them (the KVM device attribute groups of
 * Documentation/virt/kvm/devices/arm-vgic.rst and arm-vgic-v3.rst):
 * GICD_IIDR first (it selects the behaviour the rest assumes), each
 * interrupt's group, configuration and routing before its pending and
 * active state, a set-register after all-ones to its clear-register (the
 * fresh VGIC's defaults undone), the line levels (GICv3) before the
 * pending latches, the distributor's enable last, and each CPU
 * interface's registers. A section:
 *   u32 layout (ARM64_VGIC_LAYOUT), u32 GIC version (2 or 3),
 *   u32 interrupts, u32 vCPUs, u32 number of writes,
 *   then each write: u32 group, u64 attribute, u64 value
 */
#define ARM64_VGIC_LAYOUT       1
#define ARM64_VGIC_MAX_WRITES   65536
/* KVM_DEV_ARM_VGIC_GRP_* */
#define ARM64_VGIC_GRP_DIST_REGS   1
#define ARM64_VGIC_GRP_CPU_REGS    2   /* GICv2's CPU interface */
#define ARM64_VGIC_GRP_REDIST_REGS 5
#define ARM64_VGIC_GRP_CPU_SYSREGS 6   /* GICv3's CPU interface (64-bit) */
#define ARM64_VGIC_GRP_LEVEL_INFO  7
#define ARM64_VGIC_LEVEL_SHIFT     10  /* LEVEL_INFO: the info field */

/*
 * Read one register: 32 bits into *val, 64 for CPU_SYSREGS. 0; -ENXIO or
 * -EINVAL when this VGIC has no such register (it is left out); another
 * -errno fails the save.
 */
typedef int (*arm64_vgic_read_fn)(void *ctx, uint32_t group, uint64_t attr,
				  uint64_t *val);

/*
 * The VGIC's state, version v with nr_irqs interrupts and ncpus vCPUs
 * of the given MPIDRs, read through rd, as a section into b. 0 or the
 * failing read's -errno.
 */
int arm64_vgic_save(struct sbuf *b, enum arm64_gic_version v,
		    uint32_t nr_irqs, unsigned int ncpus, const uint64_t *mpidr,
		    arm64_vgic_read_fn rd, void *ctx)
	__attribute__((warn_unused_result));

struct arm64_vgic_write {
	uint32_t group;
	uint64_t attr, val;
};
struct arm64_vgic_snap {
	uint32_t nr_writes;
	const uint8_t *writes;          /* in r's data, each one checked */
};

/*
 * Read and check a whole VGIC section from r against the VGIC this VM
 * has (version, interrupts, vCPUs and their MPIDRs): every write's group
 * is one of that version's state groups, names a register of it and one
 * of this VM's vCPUs, with a value of the register's width. 0, or
 * -EINVAL with one line in err.
 */
int arm64_vgic_parse(struct sbuf *r, enum arm64_gic_version v,
		     uint32_t nr_irqs, unsigned int ncpus, const uint64_t *mpidr,
		     struct arm64_vgic_snap *s, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Write i (< s->nr_writes) of a parsed section. */
void arm64_vgic_write_at(const struct arm64_vgic_snap *s, uint32_t i,
			 struct arm64_vgic_write *w);

/* The 32-bit affinity a GICv3 attribute names a vCPU by (Aff3..Aff0). */
uint32_t arm64_vgic_v3_affinity(uint64_t mpidr);


#endif
