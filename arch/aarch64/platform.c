// SPDX-License-Identifier: MIT
/*
 * The aarch64 platform: the VM type (IPA size), the memory layout, the
 * VGIC, the device placement table, loading the kernel and initrd, and
 * the device tree, written once every vCPU exists (it names their MPIDRs).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../devices/devices.h"
#include "../../devices/virtio.h"
#include "../../vmm/irqroute.h"
#include "../../vmm/kvm.h"
#include "../../vmm/log.h"
#include "../../vmm/vmm.h"
#include "../arch.h"
#include "arm64_arch.h"

#define MIB ((uint64_t)1 << 20)

int arch_vm_type(struct vm *vm, unsigned long *type)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned int bits = arm64_ipa_bits(vm->cfg.mem_size);
	char err[256];
	int cap, ret;

	if (vm->cfg.gic != ARM64_GIC_AUTO && vm->cfg.gic != ARM64_GIC_V2 &&
	    vm->cfg.gic != ARM64_GIC_V3) {
		error("--gic: expected v2, v3 or auto");
		return -EINVAL;
	}
	if (vm->cfg.virtio == VIRTIO_TRANSPORT_PCI) {
		error("--virtio pci: vmm's aarch64 platform has no PCI bus yet "
		      "(--virtio mmio)");
		return -EOPNOTSUPP;
	}
	if (vm->cfg.pit) {
		error("--pit is for x86-64 guests: an aarch64 guest has the "
		      "architected timer");
		return -EINVAL;
	}
	ret = arm64_layout_check(page, vm->cfg.mem_size, vm->cfg.cpus, err,
				 sizeof(err));
	if (ret) {
		error("%s", err);
		return ret;
	}
	cap = kvm_check_cap(vm->kvm_fd, KVM_CAP_ARM_VM_IPA_SIZE);
	ret = arm64_vm_type(bits, cap, type, err, sizeof(err));
	if (ret)
		error("%s", err);
	else
		debug("IPA space: %u bits needed, host maximum %d, VM type %lu",
		      bits, cap, *type);
	return ret;
}

int arch_ram_ranges(const struct vm_config *cfg,
		    uint64_t ranges[ARCH_MAX_RAM_RANGES][2], unsigned int *nr)
{
	ranges[0][0] = ARM64_RAM_BASE;
	ranges[0][1] = cfg->mem_size;
	*nr = 1;
	return 0;
}

int arch_vm_init(struct vm *vm)
{
	struct arm64_vm *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return -ENOMEM;
	a->gic_fd = -1;
	vm->arch = a;
	if ((ret = kvm_need_cap(vm->kvm_fd, KVM_CAP_ARM_PSCI_0_2)) ||
	    (ret = kvm_need_cap(vm->kvm_fd, KVM_CAP_DEVICE_CTRL)) ||
	    (ret = kvm_need_cap(vm->kvm_fd, KVM_CAP_ONE_REG)))
		return ret;
	ret = kvm_ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &a->target);
	if (ret < 0)
		return ret;
	return arm64_gic_create(vm, a);
}

/* virtio-mmio slots (layout.h): 64 KiB-aligned windows, SPIs from 16. */
int arch_virtio_place(struct vm *vm, unsigned int n,
		      struct arch_virtio_slot *slot)
{
	(void)vm;
	if (n >= ARM64_VIRTIO_SLOTS)
		return -ENOSPC;
	slot->base = arm64_virtio_base(n);
	slot->size = VIRTIO_MMIO_SIZE; /* in a 64 KiB-aligned stride */
	slot->irq = arm64_virtio_spi(n);
	return 0;
}

/* Remembered for the device tree, written last. */
int arch_virtio_announce(struct vm *vm, const struct arch_virtio_slot *slot)
{
	struct arm64_vm *a = vm->arch;

	if (a->nr_virtio >= ARM64_VIRTIO_SLOTS)
		return -ENOSPC;
	a->virtio[a->nr_virtio++] = (struct arm64_fdt_virtio){ slot->base,
							       slot->irq };
	return 0;
}

/*
 * The platform's device table: everything on the MMIO bus (layout.h),
 * described to the guest by the device tree.
 */
int arch_create_devices(struct vm *vm, struct serial **uart)
{
	struct arm64_vm *a = vm->arch;
	int ret;

	if ((ret = serial_create(&vm->host, &vm->mmio, ARM64_UART_ADDR,
				 ARM64_UART_SPI, uart)) ||
	    (ret = boottimer_create(&vm->host, &vm->mmio, ARM64_BOOT_TIMER_ADDR)) ||
	    (ret = pl061_create(&vm->host, &vm->mmio, ARM64_GPIO_ADDR,
				ARM64_GPIO_SPI, &a->gpio)) ||
	    (ret = pvpanic_create(&vm->host, &vm->mmio, ARM64_PVPANIC_ADDR,
				  ARM64_PVPANIC_SIZE))) {
		error("cannot create the platform devices: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int arch_load_kernel(struct vm *vm)
{
	struct arm64_vm *a = vm->arch;
	uint8_t *img, *initrd = NULL;
	size_t size, initrd_size = 0;
	char err[256];
	int ret;

	if (vm->cfg.initrd[0] &&
	    (ret = vm_map_file("initrd", vm->cfg.initrd, &initrd, &initrd_size)))
		return ret;
	ret = vm_map_file("kernel", vm->cfg.kernel, &img, &size);
	if (ret)
		goto out;
	ret = arm64_load_kernel(&vm->mem, img, size, initrd_size, &a->boot,
				err, sizeof(err));
	vm_unmap_file(img, size);
	if (ret) {
		error("kernel %s: %s", vm->cfg.kernel, err);
		goto out;
	}
	if (initrd && gpa_write(&vm->mem, a->boot.initrd_addr, initrd,
				initrd_size)) {
		ret = -EFAULT;
		error("initrd %s: cannot write it to guest memory", vm->cfg.initrd);
		goto out;
	}
	debug("kernel: %s at 0x%" PRIx64 " (text_offset 0x%" PRIx64
	      ", %" PRIu64 " KiB), initrd at 0x%" PRIx64 ", device tree at 0x%"
	      PRIx64, a->boot.compressed ? "Image.gz" : "Image",
	      a->boot.kernel_addr, a->boot.image.text_offset,
	      (a->boot.kernel_end - a->boot.kernel_addr) >> 10,
	      a->boot.initrd_addr, a->boot.fdt_addr);
out:
	if (initrd)
		vm_unmap_file(initrd, initrd_size);
	return ret;
}

/*
 * A kernel built for a page size the CPU lacks hangs before it prints a
 * byte (a 16 KiB kernel on a Cortex-A72): say so instead.
 */
static int check_granule(struct vm *vm, struct arm64_vm *a)
{
	unsigned int page = a->boot.image.page_size;
	uint64_t mmfr0;

	if (!page || arm64_read_mmfr0(&vm->vcpu[0], &mmfr0))
		return 0; /* not stated, or not readable: let it try */
	if (arm64_granule_supported(mmfr0, page))
		return 0;
	error("kernel %s uses %u KiB pages, which this CPU does not support "
	      "(ID_AA64MMFR0_EL1 0x%" PRIx64 "): boot a kernel built with 4 KiB "
	      "pages", vm->cfg.kernel, page >> 10, mmfr0);
	return -ENOTSUP;
}

static int write_dump(const char *path, const void *fdt, size_t size)
{
	FILE *f = fopen(path, "wb");
	int err;

	if (!f || fwrite(fdt, 1, size, f) != size) {
		err = errno ? -errno : -EIO;
		if (f)
			fclose(f);
		error("--dump-dtb %s: %s", path, strerror(-err));
		return err;
	}
	if (fclose(f)) {
		err = -errno;
		error("--dump-dtb %s: %s", path, strerror(-err));
		return err;
	}
	info("device tree written to %s (%zu bytes)", path, size);
	return 0;
}

static int write_fdt(struct vm *vm, struct arm64_vm *a)
{
	uint8_t seed[64];
	uint64_t kaslr = 0;
	struct arm64_fdt_desc d = {
		.bootargs = vm->cmdline,
		.ram_base = vm->mem.region[0].gpa,
		.ram_size = vm->mem.region[0].size,
		.ncpus = vm->nr_vcpus,
		.mpidr = a->mpidr,
		.gic = a->gic,
		.initrd_start = a->boot.initrd_addr,
		.initrd_end = a->boot.initrd_addr + a->boot.initrd_size,
		.virtio = a->virtio,
		.nr_virtio = a->nr_virtio,
	};
	size_t bufsize = 64 * 1024;
	void *buf = NULL;
	int ret;

	/* entropy for the guest's RNG and KASLR; boot on without it */
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed)) {
		d.rng_seed = seed;
		d.rng_seed_len = sizeof(seed);
	}
	if (getrandom(&kaslr, sizeof(kaslr), GRND_NONBLOCK) == sizeof(kaslr))
		d.kaslr_seed = kaslr;

	do {
		void *p = realloc(buf, bufsize);

		if (!p) {
			ret = -ENOMEM;
			break;
		}
		buf = p;
		ret = arm64_fdt_build(&d, buf, bufsize);
		bufsize *= 2;
	} while (ret == -ENOSPC && bufsize <= ARM64_FDT_MAX_SIZE);
	if (ret) {
		error("cannot build the device tree: %s", strerror(-ret));
	} else {
		/* the header's totalsize, big-endian at offset 4 */
		const uint8_t *h = buf;
		size_t size = (size_t)h[4] << 24 | (size_t)h[5] << 16 |
			      (size_t)h[6] << 8 | h[7];

		ret = gpa_write(&vm->mem, a->boot.fdt_addr, buf, size);
		if (ret)
			error("cannot write the device tree to guest memory");
		else if (vm->cfg.dump_dtb[0])
			ret = write_dump(vm->cfg.dump_dtb, buf, size);
	}
	free(buf);
	return ret;
}

/*
 * Every vCPU exists: the kernel's page size can be checked against what
 * they implement, and the VGIC initialised (KVM refuses irqfds before).
 */
int arch_irqchip_finish(struct vm *vm)
{
	struct arm64_vm *a = vm->arch;
	int ret = check_granule(vm, a);

	return ret ? ret : arm64_gic_init(vm, a);
}

/* Last: the device tree, naming every vCPU's MPIDR and virtio device. */
int arch_write_boot_info(struct vm *vm)
{
	return write_fdt(vm, vm->arch);
}

/*
 * No keyboard controller here: Ctrl-Alt-Del is the power key (gpio-keys,
 * KEY_POWER, on the PL061), which a guest's userspace turns into a clean
 * shutdown (busybox acpid and the initramfs's handler, systemd-logind).
 */
int arch_send_ctrl_alt_del(struct vm *vm)
{
	struct arm64_vm *a = vm->arch;
	bool heard = false;
	int ret;

	if (!a || !a->gpio)
		return -ENODEV;
	ret = pl061_press(a->gpio, ARM64_GPIO_POWER_PIN, &heard);
	if (!ret)
		info("power key pressed%s", heard ? "" :
		     " (the guest has not enabled its interrupt: no gpio-keys driver?)");
	return ret;
}

int arch_set_irq(struct vm *vm, unsigned int irq, int level)
{
	/* SPI n is interrupt ID 32 + n */
	struct kvm_irq_level l = {
		.irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) |
		       (irq + 32),
		.level = (uint32_t)level,
	};

	return kvm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -EIO : 0;
}

/* KVM's default for a VGIC: GSI n is SPI n, for every SPI there is. */
size_t arch_irqchip_routes(struct irq_pin *pins, size_t max)
{
	size_t n = ARM64_GIC_NR_IRQS - 32;

	for (size_t i = 0; i < n && i < max; i++)
		pins[i] = (struct irq_pin){ (uint32_t)i, 0, (uint32_t)i };
	return n;
}

void arch_vm_destroy(struct vm *vm)
{
	struct arm64_vm *a = vm->arch;

	if (!a)
		return;
	if (a->gic_fd >= 0)
		close(a->gic_fd);
	free(a);
	vm->arch = NULL;
}
