/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 ACPI tables: RSDP, XSDT, FADT (hardware-reduced), MADT,
 * MCFG and a DSDT generated from a plain description of the platform. No
 * KVM here: the tables are built in host memory and copied into the guest
 * with gpa_write(), so the unit tests run them as they are.
 *
 * What Linux does with them, and what the description must therefore say:
 * - Hardware-reduced ACPI makes Linux skip the 8259 PIC and the PIT/HPET
 *   timer set-up (it uses the LAPIC timer; kvmclock calibrates it) and
 *   leaves the SCI unused; every device interrupt comes from the DSDT.
 * - An interrupt source override whose ISA IRQ equals the FADT's SCI
 *   number is read as the SCI's own, so sci_irq must differ from every
 *   override's bus_irq (checked).
 * - Power-off writes SLP_EN | SLP_TYP(5) to the sleep control register
 *   (see vmm/acpi.h acpi_sleep_control()); reboot writes reset_value to
 *   the reset register; the integration handles both ports. Without a
 *   reboot= option, though, Linux on hardware-reduced ACPI reboots
 *   through EFI, then a BIOS: x86_acpi_write_reset_vector() gives it one.
 * - The ECAM window must be reserved, or Linux refuses MMCONFIG: the DSDT
 *   gets a PNP0C02 device "PRES" covering it (the integration may also
 *   mark it reserved in the e820 map).
 */
#ifndef ARCH_X86_64_ACPI_H
#define ARCH_X86_64_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../vmm/memory.h"
#include "x86.h"

/* xAPIC ids 0..254 (255 is the broadcast id), as the MP table allows */
#define X86_ACPI_MAX_CPUS 254
#define X86_ACPI_MAX_OVERRIDES 16

/* MPS INTI flags of an interrupt source override (ACPI 6.x table 5.50) */
#define X86_ACPI_INTI_ACTIVE_HIGH 0x1
#define X86_ACPI_INTI_ACTIVE_LOW  0x3
#define X86_ACPI_INTI_EDGE        0x4
#define X86_ACPI_INTI_LEVEL       0xc

struct x86_acpi_override {
	uint8_t bus_irq; /* ISA IRQ */
	uint32_t gsi;
	uint16_t flags;  /* X86_ACPI_INTI_*; 0 = the ISA default (edge, high) */
};

/*
 * A device on the port bus, such as COM1 (PNP0501), the i8042 (PNP0303),
 * the RTC (PNP0B00) or pvpanic (QEMU0001). Its IRQ is an ISA interrupt,
 * edge-triggered and active high.
 */
struct x86_acpi_pio_dev {
	char name[5];      /* AML name under \_SB, e.g. "COM1" */
	const char *hid;   /* 7 characters: a PNP id; 8: an ACPI id */
	uint32_t uid;
	struct { uint16_t base, len; } io[2];
	unsigned int nr_io;
	int irq;           /* 0..15, or -1 for none */
};

/*
 * A device in an MMIO window: virtio-mmio (LNRO0005: Linux's virtio_mmio
 * takes the first memory and the first interrupt resource of its _CRS)
 * or a region that only needs reserving (PNP0C02), such as the boot timer.
 */
struct x86_acpi_mmio_dev {
	char name[5];
	const char *hid;
	uint32_t uid;
	uint64_t base, len;
	int gsi;                 /* -1 for none */
	unsigned int irq_flags;  /* AML_IRQ_* (vmm/aml.h); 0 = level, high */
};

/*
 * The PCI host bridge \_SB.PCI0 (PNP0A08, compatible with PNP0A03) and its
 * MCFG entry. ecam is the address of bus 0's configuration space in the
 * segment (MCFG's convention); buses [bus_start, bus_end] decode there.
 * A window of length 0 is left out of _CRS.
 */
struct x86_acpi_pci {
	uint64_t ecam;
	uint16_t segment;
	uint8_t bus_start, bus_end;
	uint16_t io_base;
	uint32_t io_len;
	uint32_t mem32_base;
	uint64_t mem32_len;
	uint64_t mem64_base, mem64_len;
};

struct x86_acpi_desc {
	unsigned int nr_cpus;                  /* 1..X86_ACPI_MAX_CPUS */
	uint8_t apic_id[X86_ACPI_MAX_CPUS];    /* of vCPU i; unique, < 255 */
	uint32_t lapic_addr;
	uint8_t ioapic_id;
	uint32_t ioapic_addr, ioapic_gsi_base;
	bool pcat_compat;                      /* an 8259 pair exists */
	struct x86_acpi_override override[X86_ACPI_MAX_OVERRIDES];
	unsigned int nr_overrides;
	uint16_t sci_irq;
	uint16_t iapc_boot_arch;               /* ACPI_IAPC_* (vmm/acpi.h) */
	uint16_t sleep_control_port, sleep_status_port, reset_port;
	uint8_t reset_value;
	const struct x86_acpi_pio_dev *pio;
	unsigned int nr_pio;
	const struct x86_acpi_mmio_dev *mmio;
	unsigned int nr_mmio;
	const struct x86_acpi_pci *pci;        /* NULL: no PCI, no MCFG */
};

/*
 * Build every table for d and write them into guest memory [base,
 * base + size): the RSDP first at base (16-byte aligned, so that a guest
 * scanning 0xE0000-0xFFFFF finds it when base lies there), then XSDT,
 * FADT, MADT, MCFG (with PCI) and DSDT. Sets *rsdp to the RSDP's address.
 * Returns 0; -EINVAL for a description that cannot be expressed, -ENOSPC
 * when the tables do not fit, -EFAULT when the area is not guest RAM,
 * -ENOMEM; then err holds one line saying why.
 */
int x86_acpi_write(const struct guest_mem *m, const struct x86_acpi_desc *d,
		   uint64_t base, uint64_t size, uint64_t *rsdp, char *err,
		   size_t errlen) __attribute__((warn_unused_result));

/*
 * The reset vector (F000:FFF0, X86_RESET_VECTOR_ADDR): a few real-mode
 * instructions that write value to the ACPI reset register at port, then
 * halt. On hardware-reduced ACPI without EFI, Linux's default reboot
 * tries EFI, then jumps through real mode to this vector as if a BIOS
 * were there; with nothing there the guest spins instead of resetting.
 * 0 or -EFAULT.
 */
int x86_acpi_write_reset_vector(const struct guest_mem *m, uint16_t port,
				uint8_t value) __attribute__((warn_unused_result));

/*
 * Tell the kernel where the RSDP is: boot_params.acpi_rsdp_addr (read by
 * Linux since boot protocol 2.14; padding for older kernels, which scan
 * the BIOS area instead) or hvm_start_info.rsdp_paddr for PVH. Call after
 * x86_write_boot_params() / x86_write_pvh_info(). 0 or -EFAULT.
 */
int x86_acpi_set_rsdp(const struct guest_mem *m, enum x86_boot_proto proto,
		      uint64_t rsdp) __attribute__((warn_unused_result));

#endif
