/* SPDX-License-Identifier: MIT */
/*
 * Test guest, aarch64: one-instruction wrappers around MMIO and system
 * registers, the barriers, and the platform constants the guest relies on.
 *
 * Every MMIO access is one plain LDR/STR of the stated width with a base
 * register and no offset or write-back, so that the data abort KVM sees
 * carries a valid syndrome (ESR_EL2.ISV) it can hand to vmm: compiler-made
 * accesses through a volatile pointer may use forms (LDP, post-index) that
 * KVM cannot emulate.
 */
#ifndef TESTGUEST_HW_H
#define TESTGUEST_HW_H

#include <stdint.h>

/* Platform (arch/aarch64/layout.h): the boot timer is the one device the
 * device tree does not describe. */
#define BOOT_TIMER_ADDR   0x09010000UL
#define BOOT_TIMER_MAGIC  123
#define UART_DEFAULT_ADDR 0x09000000UL   /* until the device tree is read */

static inline uint8_t mmio_read8(uint64_t addr)
{
	uint8_t v;

	__asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline uint16_t mmio_read16(uint64_t addr)
{
	uint16_t v;

	__asm__ volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	uint32_t v;

	__asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline uint64_t mmio_read64(uint64_t addr)
{
	uint64_t v;

	__asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	__asm__ volatile("strb %w0, [%1]" : : "r"(v), "r"(addr) : "memory");
}

static inline void mmio_write16(uint64_t addr, uint16_t v)
{
	__asm__ volatile("strh %w0, [%1]" : : "r"(v), "r"(addr) : "memory");
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	__asm__ volatile("str %w0, [%1]" : : "r"(v), "r"(addr) : "memory");
}

static inline void mmio_write64(uint64_t addr, uint64_t v)
{
	__asm__ volatile("str %0, [%1]" : : "r"(v), "r"(addr) : "memory");
}

/* System registers by name or, through a macro, by encoding (S3_0_...). */
#define SYSREG_STR_(x) #x
#define SYSREG_STR(x) SYSREG_STR_(x)
#define read_sysreg(reg) ({                                               \
	uint64_t v_;                                                      \
	__asm__ volatile("mrs %0, " SYSREG_STR(reg) : "=r"(v_) : : "memory"); \
	v_;                                                               \
})

#define write_sysreg(reg, val) do {                                       \
	uint64_t v_ = (val);                                              \
	__asm__ volatile("msr " SYSREG_STR(reg) ", %0" : : "r"(v_) : "memory"); \
} while (0)

static inline void isb(void)
{
	__asm__ volatile("isb" : : : "memory");
}

static inline void cpu_relax(void)
{
	__asm__ volatile("yield" : : : "memory");
}

/* Stop this CPU until the VMM stops the VM (wfi, again after any wake). */
static inline void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("wfi" : : : "memory");
}

static inline void barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

/*
 * Ordering against the virtio device, which is another CPU reading and
 * writing our (inner shareable, write-back) RAM: stores before stores,
 * loads before loads, and everything before everything.
 */
static inline void virt_wmb(void)
{
	__asm__ volatile("dmb ishst" : : : "memory");
}

static inline void virt_rmb(void)
{
	__asm__ volatile("dmb ishld" : : : "memory");
}

static inline void virt_mb(void)
{
	__asm__ volatile("dmb ish" : : : "memory");
}

/* The 16550 UART from the device tree (platform.c): registers are
 * reg-shift apart and reg-io-width (1 or 4) bytes wide. */
extern uint64_t uart_base;
extern unsigned int uart_shift, uart_width;

static inline uint8_t uart_read(unsigned int reg)
{
	uint64_t a = uart_base + ((uint64_t)reg << uart_shift);

	return uart_width == 4 ? (uint8_t)mmio_read32(a) : mmio_read8(a);
}

static inline void uart_write(unsigned int reg, uint8_t v)
{
	uint64_t a = uart_base + ((uint64_t)reg << uart_shift);

	if (uart_width == 4)
		mmio_write32(a, v);
	else
		mmio_write8(a, v);
}

#endif
