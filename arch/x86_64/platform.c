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
#include "../../devices/pci.h"
#include "../../vmm/acpi.h"
#include "../../vmm/aml.h"
#include "../../vmm/irqroute.h"
#include "../../vmm/kvm.h"
#include "../../vmm/log.h"
#include "../../vmm/vmm.h"
#include "../arch.h"
#include "acpi.h"
#include "layout.h"
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

/*
 * KVM's in-kernel PIT only with --pit: Linux on ACPI's hardware-reduced
 * platform, and any Linux with kvmclock and the TSC-deadline timer, never
 * needs it, and tearing it down costs an SRCU grace period at exit
 * (~15 ms on 6.18 kernels: kvm_free_pit -> kvm_pit_set_reinject).
 */
static int create_pit(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int ret;

	if (!vm->cfg.pit)
		return 0;
	if ((ret = kvm_need_cap(vm->kvm_fd, KVM_CAP_PIT2)))
		return ret;
	ret = kvm_ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit);
	return ret < 0 ? ret : 0;
}

int arch_vm_init(struct vm *vm)
{
	struct x86_vm *xa = calloc(1, sizeof(*xa));
	int ret;

	if (!xa)
		return -ENOMEM;
	vm->arch = xa;
	if ((ret = kvm_need_cap(vm->kvm_fd, KVM_CAP_IRQCHIP)) ||
	    (ret = kvm_need_cap(vm->kvm_fd, KVM_CAP_EXT_CPUID)))
		return ret;
	/* a region Intel's VMX needs below 4 GiB, out of the guest's RAM */
	ret = kvm_ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (void *)(uintptr_t)X86_TSS_ADDR);
	if (ret < 0)
		return ret;
	ret = kvm_ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, NULL);
	if (ret < 0)
		return ret;
	if ((ret = create_pit(vm)))
		return ret;
	return x86_get_supported_cpuid(vm, &xa->cpuid);
}

/*
 * virtio-mmio slots (x86_arch.h): the IOAPIC has 24 pins; 4 is COM1, 8
 * the RTC. Linux learns of each from a virtio_mmio.device= entry on the
 * command line (kernels with VIRTIO_MMIO_CMDLINE_DEVICES) and from the
 * DSDT (LNRO0005: distribution kernels, whose virtio_mmio has no command
 * line devices).
 */
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
	struct x86_vm *xa = vm->arch;

	if (xa->nr_virtio >= X86_VIRTIO_SLOTS)
		return -ENOSPC;
	xa->virtio[xa->nr_virtio++] = *slot;
	return vm_cmdline_append(vm, "virtio_mmio.device=4K@0x%" PRIx64 ":%u",
				 slot->base, slot->irq);
}

/*
 * The platform's device table. Legacy PC devices sit on the port bus at
 * their usual addresses; the boot timer on the MMIO bus.
 */
static void pci_free(void *bus)
{
	pci_bus_destroy(bus);
	free(bus);
}

/*
 * With --virtio pci: bus 0 behind a host bridge, its configuration space
 * at 0xCF8/0xCFC and in the ECAM window, the devices' BARs in the 32-bit
 * window. No 64-bit window and no I/O window: virtio-pci needs neither.
 */
static int create_pci(struct vm *vm, struct x86_vm *xa)
{
	static const struct pci_ids host = { .vendor = 0x1b36, .device = 0x0008 };
	struct pci_bus *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return -ENOMEM;
	ret = pci_bus_init(b, 0, &host, X86_PCI_MEM32_ADDR, X86_PCI_MEM32_SIZE,
			   0, 0);
	if (ret) {
		free(b);
		return ret;
	}
	if ((ret = host_add_cleanup(&vm->host, pci_free, b)))
		return ret;
	if ((ret = bus_register(&vm->pio, X86_PCI_CONFIG_PORT, 8, "pci-conf1",
				pci_conf1_io, b)) ||
	    (ret = bus_register(&vm->mmio, X86_PCI_ECAM_ADDR, 1 << 20,
				"pci-ecam", pci_ecam_io, b)) ||
	    (ret = bus_register(&vm->mmio, X86_PCI_MEM32_ADDR,
				X86_PCI_MEM32_SIZE, "pci-mem32", pci_mem32_io,
				b)))
		return ret;
	xa->pci = b;
	vm->pci = b;
	return 0;
}

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
	    (ret = pvpanic_create(h, &vm->pio, X86_PVPANIC_PORT, 1)) ||
	    (ret = acpi_pm_create(h, &vm->pio, X86_ACPI_SLEEP_CTL_PORT,
				  X86_ACPI_RESET_VALUE)) ||
	    (ret = boottimer_create(h, &vm->mmio, X86_BOOT_TIMER_ADDR)) ||
	    (vm->cfg.virtio == VIRTIO_TRANSPORT_PCI &&
	     (ret = create_pci(vm, xa)))) {
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

/*
 * The ACPI description of the platform: every vCPU and the IOAPIC (MADT;
 * ISA IRQs wired 1:1 to IOAPIC pins, as in the MP table, so no
 * overrides), a hardware-reduced FADT with vmm's power registers, and a
 * DSDT with the legacy devices, pvpanic, the boot timer's region and the
 * virtio-mmio devices.
 */
static int write_acpi(struct vm *vm, struct x86_vm *xa)
{
	struct x86_acpi_pio_dev pio[] = {
		{ .name = "COM1", .hid = "PNP0501", .uid = 1, .nr_io = 1,
		  .io = { { X86_COM1_PORT, 8 } }, .irq = X86_COM1_IRQ },
		{ .name = "KBD", .hid = "PNP0303", .uid = 0, .nr_io = 2,
		  .io = { { 0x60, 1 }, { 0x64, 1 } }, .irq = 1 },
		{ .name = "RTC", .hid = "PNP0B00", .uid = 0, .nr_io = 1,
		  .io = { { 0x70, 2 } }, .irq = 8 },
		{ .name = "PEVT", .hid = "QEMU0001", .uid = 0, .nr_io = 1,
		  .io = { { X86_PVPANIC_PORT, 1 } }, .irq = -1 },
	};
	struct x86_acpi_mmio_dev mmio[1 + X86_VIRTIO_SLOTS] = {
		{ .name = "BTMR", .hid = "PNP0C02", .uid = 1,
		  .base = X86_BOOT_TIMER_ADDR, .len = BOOT_TIMER_SIZE,
		  .gsi = -1 },
	};
	struct x86_acpi_desc d = {
		.nr_cpus = vm->cfg.cpus,
		.lapic_addr = (uint32_t)X86_LAPIC_ADDR,
		.ioapic_id = (uint8_t)vm->cfg.cpus,
		.ioapic_addr = (uint32_t)X86_IOAPIC_ADDR,
		.sci_irq = 9,
		.iapc_boot_arch = ACPI_IAPC_LEGACY_DEVICES | ACPI_IAPC_8042 |
				  ACPI_IAPC_NO_VGA,
		.sleep_control_port = X86_ACPI_SLEEP_CTL_PORT,
		.sleep_status_port = X86_ACPI_SLEEP_STS_PORT,
		.reset_port = X86_ACPI_RESET_PORT,
		.reset_value = X86_ACPI_RESET_VALUE,
		.pio = pio,
		.nr_pio = sizeof(pio) / sizeof(pio[0]),
		.mmio = mmio,
		.nr_mmio = 1 + xa->nr_virtio,
	};
	const struct x86_acpi_pci pci = {
		.ecam = X86_PCI_ECAM_ADDR, .bus_start = 0, .bus_end = 0,
		.mem32_base = (uint32_t)X86_PCI_MEM32_ADDR,
		.mem32_len = X86_PCI_MEM32_SIZE,
	};
	char err[256] = "";
	uint64_t rsdp;
	int ret;

	if (xa->pci)
		d.pci = &pci;

	for (unsigned int i = 0; i < vm->cfg.cpus; i++)
		d.apic_id[i] = (uint8_t)i;
	for (unsigned int i = 0; i < xa->nr_virtio; i++) {
		struct x86_acpi_mmio_dev *m = &mmio[1 + i];

		snprintf(m->name, sizeof(m->name), "VR%02X", i & 0xff);
		m->hid = "LNRO0005";
		m->uid = i;
		m->base = xa->virtio[i].base;
		m->len = xa->virtio[i].size;
		m->gsi = (int)xa->virtio[i].irq;
		m->irq_flags = AML_IRQ_EDGE; /* irqfd raises edges */
	}
	ret = x86_acpi_write(&vm->mem, &d, X86_ACPI_ADDR, X86_ACPI_SIZE, &rsdp,
			     err, sizeof(err));
	if (!ret)
		ret = x86_acpi_set_rsdp(&vm->mem, xa->kernel.proto, rsdp);
	if (!ret)
		ret = x86_acpi_write_reset_vector(&vm->mem, X86_ACPI_RESET_PORT,
						  X86_ACPI_RESET_VALUE);
	if (ret)
		error("ACPI tables: %s", err[0] ? err : strerror(-ret));
	return ret;
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
	if (ret) {
		error("cannot write the boot structures: %s", strerror(-ret));
		return ret;
	}
	return write_acpi(vm, xa);
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

/*
 * KVM's default for KVM_CREATE_IRQCHIP: GSIs 0-15 reach both the 8259
 * pair (pin n % 8 of the master or the slave) and IOAPIC pin n; 16-23
 * the IOAPIC only.
 */
size_t arch_irqchip_routes(struct irq_pin *pins, size_t max)
{
	size_t n = 0;

	for (uint32_t gsi = 0; gsi < X86_IOAPIC_PINS; gsi++) {
		if (n < max)
			pins[n] = (struct irq_pin){ gsi, KVM_IRQCHIP_IOAPIC, gsi };
		n++;
		if (gsi >= 16)
			continue;
		if (n < max)
			pins[n] = (struct irq_pin){
				gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
					     : KVM_IRQCHIP_PIC_SLAVE, gsi % 8 };
		n++;
	}
	return n;
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
