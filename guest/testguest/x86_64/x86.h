/* SPDX-License-Identifier: MIT */
/*
 * Test guest, x86-64: the interfaces between this directory's files.
 */
#ifndef TESTGUEST_X86_H
#define TESTGUEST_X86_H

#include <stdint.h>

#include "lib.h"

/* platform.c */
void triple_fault(void) NORETURN;

/* time.c: kvmclock, or the TSC at an estimated rate without it. */
int time_is_kvmclock(void);

/* irq.c: IDT with exception reporting, LAPIC timer. */
void idt_init(void);
int lapic_timer_calibrate(void);   /* 0 if the LAPIC timer is usable */
uint64_t lapic_timer_hz(void);
void sleep_until_ns(uint64_t deadline);
/* irq.c: NMIs counted instead of reported as an exception */
void nmi_handler_init(void);
uint64_t nmi_count(void);
/* irq.c: VEC_MSIX interrupts counted (and EOI'd) */
void msix_handler_init(void);
uint64_t msix_count(void);

/* smp.c */
void test_smp(void);

/* debug.c: gdb, the serial BREAK, NMIs */
void test_debug(void);
void test_break(void);
void test_nmi(void);

/* acpi.c: vmm's ACPI tables, power and reset registers, pvpanic */
void test_acpi(void);
void test_acpi_reset(void);
void test_pvpanic(void);
/* pci.c: the PCI bus of --virtio pci, MSI-X */
void test_pci(void);
void test_pci_msix(void);
/* platform.c: the RSDP's address, from the PVH start info (0: none) */
uint64_t x86_rsdp_paddr(void);

#endif
