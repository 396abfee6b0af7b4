/* SPDX-License-Identifier: MIT */
/*
 * Test guest, aarch64: the platform as the device tree describes it, and
 * the interfaces between this directory's files.
 */
#ifndef TESTGUEST_A64_H
#define TESTGUEST_A64_H

#include <stdint.h>

#include "lib.h"

#define MAX_RAM_RANGES 8
#define MAX_CPUS       64   /* entry.S has a stack for each */
#define MAX_VIRTIO     32

/* MPIDR_EL1's affinity fields Aff3 (39:32) and Aff2..Aff0 (23:0) */
#define MPIDR_AFF_MASK 0xff00ffffffUL

struct platform {
	uint64_t ram[MAX_RAM_RANGES][2];  /* base, size */
	unsigned int nr_ram;
	uint64_t mpidr[MAX_CPUS];         /* /cpus/cpu@N reg, in tree order */
	unsigned int ncpus;
	int psci;                         /* a PSCI 0.2+ node was found */
	int psci_smc;                     /* method "smc" rather than "hvc" */
	unsigned int gic;                 /* 2 or 3 */
	uint64_t gicd, gicc;              /* distributor, v2 CPU interface */
	uint64_t gicr, gicr_size;         /* v3 redistributors */
	unsigned int timer_intid;         /* the virtual timer's PPI */
	unsigned int uart_intid;
	uint64_t gpio;                    /* the arm,pl061, 0 if none */
	unsigned int gpio_intid;
	uint32_t gpio_phandle;
	int power_pin;                    /* gpio-keys KEY_POWER's pin, or -1 */
	uint32_t power_gpio;              /* ... on the GPIO of this phandle */
	uint64_t pvpanic;                 /* the qemu,pvpanic-mmio, 0 if none */
	uint64_t virtio[MAX_VIRTIO];
	unsigned int nr_virtio;
};

/* platform.c: filled in by arch_boot() */
extern struct platform plat;

/* platform.c: PSCI 0.2 */
#define PSCI_VERSION      0x84000000U
#define PSCI_CPU_ON       0xc4000003U   /* SMC64 */
#define PSCI_SYSTEM_OFF   0x84000008U
#define PSCI_SYSTEM_RESET 0x84000009U
int64_t psci_call(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
const char *psci_strerror(int64_t ret);
void uart_irq(void);
void gpio_irq(void);

/* gic.c: the boot CPU's GICv2 or v3, from plat. gic_init() is idempotent;
 * gic_enable() routes interrupt `intid` (level or edge) to the boot CPU. */
void gic_init(void);
void gic_enable(unsigned int intid, int edge);
uint32_t gic_ack(void);                 /* IAR: 1023 when nothing pends */
unsigned int gic_intid(uint32_t iar);
void gic_eoi(uint32_t iar);

/* time.c: the architected timer. irq_wait_until() sleeps in WFI until an
 * interrupt has been taken or the deadline has passed (maybe sooner). */
void timer_irq(void);
void irq_wait_until(uint64_t deadline_ns);
void sleep_until_ns(uint64_t deadline_ns);
uint64_t timer_hz(void);

/* smp.c */
void test_smp(void);

/* entry.S */
extern char secondary_entry[];

#endif
