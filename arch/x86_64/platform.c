// SPDX-License-Identifier: MIT
/*
 * The x86-64 platform: memory layout, in-kernel irqchip and PIT, the
 * device placement table, and loading the kernel with its boot structures.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../devices/devices.h"
#include "../../vmm/kvm.h"
#include "../../vmm/log.h"
#include "../../vmm/vmm.h"
#include "../arch.h"
#include "x86_arch.h"

int arch_vm_type(struct vm *vm, unsigned long *type)
{
	if (vm->cfg.gic || vm->cfg.dump_dtb[0]) {
		error("%s is for aarch64 guests: an x86-64 guest has %s",
		      vm->cfg.gic ? "--gic" : "--dump-dtb",
		      vm->cfg.gic ? "an IOAPIC" : "no device tree");
		return -EINVAL;
	}
	*type = 0;
	return 0;
}

int arch_irqchip_finish(struct vm *vm)
{
	(void)vm; /* the in-kernel IOAPIC and LAPICs are ready as created */
	return 0;
}

int arch_ram_ranges(const struct vm_config *cfg,
		    uint64_t ranges[ARCH_MAX_RAM_RANGES][2], unsigned int *nr)
{
	uint64_t low = cfg->mem_size;

	/* RAM stops at the MMIO hole and resumes above 4 GiB */
	if (low > X86_MMIO_HOLE_START)
		low = X86_MMIO_HOLE_START;
	ranges[0][0] = 0;
	ranges[0][1] = low;
	*nr = 1;
	if (cfg->mem_size > low) {
		ranges[1][0] = X86_MMIO_HOLE_END;
		ranges[1][1] = cfg->mem_size - low;
		*nr = 2;
	}
	return 0;
}

int arch_vm_init(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct x86_vm *xa = calloc(1, sizeof(*xa));
	int ret;

	if (!xa)
		return -ENOMEM;
	vm->arch = xa;
	if ((ret = kvm_need_cap(vm->kvm_fd, KVM_CAP_IRQCHIP)) ||
	    (ret = kvm_need_cap(vm->kvm_fd, KVM_CAP_PIT2)) ||
	    (ret = kvm_need_cap(vm->kvm_fd, KVM_CAP_EXT_CPUID)))
		return ret;
	/* a region Intel's VMX needs below 4 GiB, out of the guest's RAM */
	ret = kvm_ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (void *)(uintptr_t)X86_TSS_ADDR);
	if (ret < 0)
		return ret;
	ret = kvm_ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, NULL);
	if (ret < 0)
		return ret;
	ret = kvm_ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit);
	if (ret < 0)
		return ret;
	return x86_get_supported_cpuid(vm, &xa->cpuid);
}

/*
 * virtio-mmio slots: 4 KiB windows from X86_VIRTIO_MMIO_BASE, IRQs from 5
 * (the IOAPIC has 24 pins; 4 is COM1, 8 the RTC). Linux learns of each
 * from a virtio_mmio.device= entry on the command line.
 */
#define X86_VIRTIO_IRQ_BASE 5
#define X86_VIRTIO_SLOTS    (24 - X86_VIRTIO_IRQ_BASE - 1)

int arch_virtio_place(struct vm *vm, unsigned int n,
		      struct arch_virtio_slot *slot)
{
	(void)vm;
	if (n >= X86_VIRTIO_SLOTS)
		return -ENOSPC;
	slot->base = X86_VIRTIO_MMIO_BASE + (uint64_t)n * 0x1000;
	slot->size = 0x1000;
	slot->irq = X86_VIRTIO_IRQ_BASE + n;
	/* skip IRQ 8 (RTC) */
	if (slot->irq >= 8)
		slot->irq++;
	return 0;
}

int arch_virtio_announce(struct vm *vm, const struct arch_virtio_slot *slot)
{
	return vm_cmdline_append(vm, "virtio_mmio.device=4K@0x%" PRIx64 ":%u",
				 slot->base, slot->irq);
}

/*
 * The platform's device table. Legacy PC devices sit on the port bus at
 * their usual addresses; the boot timer on the MMIO bus.
 */
int arch_create_devices(struct vm *vm, struct serial **uart)
{
	struct x86_vm *xa = vm->arch;
	const struct dev_host *h = &vm->host;
	int ret;

	if ((ret = serial_create(h, &vm->pio, X86_COM1_PORT, X86_COM1_IRQ,
				 uart)) ||
	    (ret = i8042_create(h, &vm->pio, 0x60, 0x64, &xa->i8042)) ||
	    (ret = cmos_create(h, &vm->pio, 0x70)) ||
	    (ret = post_port_create(h, &vm->pio, 0x80)) ||
	    (ret = boottimer_create(h, &vm->mmio, X86_BOOT_TIMER_ADDR))) {
		error("cannot create the platform devices: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

static int load_initrd(struct vm *vm, struct x86_vm *xa)
{
	uint8_t *data;
	size_t size;
	uint64_t addr;
	int ret = vm_map_file("initrd", vm->cfg.initrd, &data, &size);

	if (ret)
		return ret;
	ret = x86_place_initrd(&vm->mem, &xa->kernel, size, &addr);
	if (ret) {
		error("initrd %s (%zu MiB) does not fit in guest memory above "
		      "the kernel: give the guest more --mem (it has %" PRIu64
		      " MiB)", vm->cfg.initrd, (size + (1 << 20) - 1) >> 20,
		      vm->cfg.mem_size >> 20);
	} else if ((ret = gpa_write(&vm->mem, addr, data, size))) {
		error("initrd %s: cannot write it to guest memory", vm->cfg.initrd);
	} else {
		xa->initrd_addr = addr;
		xa->initrd_size = size;
	}
	vm_unmap_file(data, size);
	return ret;
}

int arch_load_kernel(struct vm *vm)
{
	struct x86_vm *xa = vm->arch;
	size_t size;
	uint8_t *img;
	char err[256];
	int ret;

	ret = vm_map_file("kernel", vm->cfg.kernel, &img, &size);
	if (ret)
		return ret;
	ret = x86_load_kernel_image(&vm->mem, img, size, &xa->kernel, err,
				    sizeof(err));
	vm_unmap_file(img, size);
	if (ret) {
		error("kernel %s: %s", vm->cfg.kernel, err);
		return ret;
	}
	if (vm->cfg.initrd[0] && (ret = load_initrd(vm, xa)))
		return ret;
	debug("kernel: %s entry at 0x%" PRIx64 ", %s protocol",
	      xa->kernel.is_bzimage ? "bzImage" : "ELF", xa->kernel.entry,
	      xa->kernel.proto == X86_BOOT_PVH ? "PVH" : "64-bit Linux");
	return 0;
}

/* The command line, GDT, MP table and the entry protocol's structures. */
int arch_write_boot_info(struct vm *vm)
{
	struct x86_vm *xa = vm->arch;
	size_t cmdlen = strlen(vm->cmdline);
	int ret;

	if (cmdlen > xa->kernel.cmdline_max || cmdlen >= X86_CMDLINE_MAX) {
		error("command line is %zu bytes; this kernel takes at most %" PRIu64,
		      cmdlen, xa->kernel.cmdline_max);
		return -E2BIG;
	}
	ret = gpa_write(&vm->mem, X86_CMDLINE_ADDR, vm->cmdline, cmdlen + 1);
	if (!ret)
		ret = x86_write_gdt(&vm->mem);
	if (!ret)
		ret = x86_write_mptable(&vm->mem, vm->cfg.cpus);
	if (!ret && xa->kernel.proto == X86_BOOT_PVH)
		ret = x86_write_pvh_info(&vm->mem, X86_CMDLINE_ADDR,
					 xa->initrd_addr, xa->initrd_size);
	if (!ret && xa->kernel.proto == X86_BOOT_LINUX64) {
		ret = x86_write_page_tables(&vm->mem);
		if (!ret)
			ret = x86_write_boot_params(&vm->mem, &xa->kernel,
						    X86_CMDLINE_ADDR,
						    xa->initrd_addr,
						    xa->initrd_size);
	}
	if (ret)
		error("cannot write the boot structures: %s", strerror(-ret));
	return ret;
}

int arch_send_ctrl_alt_del(struct vm *vm)
{
	struct x86_vm *xa = vm->arch;

	return xa && xa->i8042 ? i8042_ctrl_alt_del(xa->i8042) : -ENODEV;
}

int arch_set_irq(struct vm *vm, unsigned int irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = (uint32_t)level };

	return kvm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -EIO : 0;
}

void arch_vm_destroy(struct vm *vm)
{
	struct x86_vm *xa = vm->arch;

	if (!xa)
		return;
	free(xa->cpuid);
	free(xa);
	vm->arch = NULL;
}
