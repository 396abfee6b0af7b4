/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 guest-physical layout: where vmm puts RAM, its boot
 * structures and its devices. This is the platform contract a guest (Linux
 * or the test guest) can rely on.
 *
 *   0x00000000  RAM (e820 usable) ........................ up to 0x9fc00
 *       0x0500  GDT (boot only)
 *       0x6000  PVH hvm_start_info, then its memory map / module list
 *       0x7000  Linux zero page (boot_params)
 *       0x9000  PML4, 0xa000 PDPT, 0xb000 PD: identity map of the first
 *               1 GiB with 2 MiB pages (64-bit boot protocol only)
 *      0x20000  kernel command line (up to 4 KiB)
 *   0x0009fc00  hole / reserved (not in e820) ............ up to 0x100000
 *      0xe0000  ACPI: RSDP, then XSDT, FADT, MADT, MCFG, DSDT (64 KiB)
 *      0xf0000  MP floating pointer + MP configuration table
 *      0xffff0  reset vector: writes the ACPI reset register
 *   0x00100000  RAM: kernel (bzImage: at 1 MiB; ELF: at its p_paddr);
 *               initrd at the top of low RAM, page aligned
 *   0xc0000000  MMIO hole (no RAM) ........................ up to 4 GiB
 *   0xc0000000  PCI 32-bit memory window (256 MiB, BARs)
 *   0xd0000000  boot timer (MMIO, 4 KiB)
 *   0xd0001000  virtio-mmio devices (4 KiB each)
 *   0xe0000000  PCI ECAM, bus 0 (1 MiB)
 *   0xfec00000  IOAPIC (in-kernel), 0xfee00000 LAPIC (in-kernel)
 *   0x100000000 RAM beyond 3 GiB, when --mem is larger than that
 *
 * Port I/O: COM1 8250 at 0x3f8 (IRQ 4), i8042 at 0x60/0x64 (reset line),
 * CMOS/RTC index/data at 0x70/0x71, POST/debug port 0x80 (a sink),
 * pvpanic at 0x505, the ACPI sleep control, sleep status and reset
 * registers at 0x600-0x602, PCI configuration at 0xcf8/0xcfc.
 */
#ifndef ARCH_X86_64_LAYOUT_H
#define ARCH_X86_64_LAYOUT_H

#define X86_GDT_ADDR         0x500ULL
#define X86_PVH_INFO_ADDR    0x6000ULL
#define X86_ZERO_PAGE_ADDR   0x7000ULL
#define X86_PML4_ADDR        0x9000ULL
#define X86_PDPT_ADDR        0xa000ULL
#define X86_PD_ADDR          0xb000ULL
#define X86_CMDLINE_ADDR     0x20000ULL
#define X86_CMDLINE_MAX      4096ULL
#define X86_EBDA_START       0x9fc00ULL
#define X86_ACPI_ADDR        0xe0000ULL
#define X86_ACPI_SIZE        0x10000ULL
#define X86_MPTABLE_ADDR     0xf0000ULL
#define X86_RESET_VECTOR_ADDR 0xffff0ULL
#define X86_HIMEM_START      0x100000ULL
#define X86_MMIO_HOLE_START  0xc0000000ULL
#define X86_MMIO_HOLE_END    0x100000000ULL
#define X86_PCI_MEM32_ADDR   0xc0000000ULL
#define X86_PCI_MEM32_SIZE   0x10000000ULL
#define X86_BOOT_TIMER_ADDR  0xd0000000ULL
#define X86_VIRTIO_MMIO_BASE 0xd0001000ULL
#define X86_PCI_ECAM_ADDR    0xe0000000ULL
#define X86_IOAPIC_ADDR      0xfec00000ULL
#define X86_LAPIC_ADDR       0xfee00000ULL
#define X86_TSS_ADDR         0xfffbd000ULL

#define X86_COM1_PORT        0x3f8
#define X86_COM1_IRQ         4
#define X86_PVPANIC_PORT     0x505
#define X86_ACPI_SLEEP_CTL_PORT 0x600
#define X86_ACPI_SLEEP_STS_PORT 0x601
#define X86_ACPI_RESET_PORT  0x602
#define X86_ACPI_RESET_VALUE 0x01
#define X86_PCI_CONFIG_PORT  0xcf8 /* address 0xcf8, data 0xcfc */

#endif
