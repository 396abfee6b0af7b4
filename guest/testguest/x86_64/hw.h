/* SPDX-License-Identifier: MIT */
/*
 * Test guest, x86-64: one-instruction wrappers around port I/O, MMIO, MSRs,
 * CPUID and the TSC, plus the platform constants the guest relies on. Every
 * MMIO access is exactly one mov of the stated width (the VMM sees the
 * size). The common code uses the MMIO accessors, uart_read/uart_write,
 * cpu_relax, the barriers and BOOT_TIMER_*.
 */
#ifndef TESTGUEST_HW_H
#define TESTGUEST_HW_H

#include <stdint.h>

/* Platform (see arch/x86_64/layout.h). */
#define COM1_PORT        0x3f8
#define I8042_CMD_PORT   0x64
#define POST_PORT        0x80
#define BOOT_TIMER_ADDR  0xd0000000UL
#define BOOT_TIMER_MAGIC 123
#define LAPIC_ADDR       0xfee00000UL
#define HIMEM_START      0x100000UL
#define FOUR_GIB         0x100000000UL

/* Local APIC registers (xAPIC MMIO offsets). */
#define LAPIC_ID         0x020
#define LAPIC_EOI        0x0b0
#define LAPIC_SVR        0x0f0
#define LAPIC_ICR_LO     0x300
#define LAPIC_ICR_HI     0x310
#define LAPIC_LVT_TIMER  0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR  0x390
#define LAPIC_TIMER_DIV  0x3e0

/* Interrupt vectors the guest installs besides the CPU exceptions. */
#define VEC_TIMER        0x40
#define VEC_MSIX         0x50   /* the pci-msix scenario's MSI-X vector */
#define VEC_SPURIOUS     0xff

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint8_t mmio_read8(uint64_t addr)
{
	uint8_t v;

	__asm__ volatile("movb (%1), %0" : "=q"(v) : "r"(addr) : "memory");
	return v;
}

static inline uint16_t mmio_read16(uint64_t addr)
{
	uint16_t v;

	__asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	uint32_t v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline uint64_t mmio_read64(uint64_t addr)
{
	uint64_t v;

	__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	__asm__ volatile("movb %0, (%1)" : : "q"(v), "r"(addr) : "memory");
}

static inline void mmio_write16(uint64_t addr, uint16_t v)
{
	__asm__ volatile("movw %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

static inline void mmio_write64(uint64_t addr, uint64_t v)
{
	__asm__ volatile("movq %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

static inline uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_ADDR + reg);
}

static inline void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC_ADDR + reg, v);
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}

/* Stop this CPU until the VMM stops the VM (no interrupt wakes it). */
static inline void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

static inline void barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

/*
 * Ordering against the virtio device: x86 keeps stores in order with
 * stores and loads with loads, so only a store followed by a load (of
 * something the device writes) needs a fence.
 */
static inline void virt_wmb(void)
{
	barrier();
}

static inline void virt_rmb(void)
{
	barrier();
}

static inline void virt_mb(void)
{
	__asm__ volatile("mfence" : : : "memory");
}

/* COM1's registers, numbered as in the 16550 data sheet */
static inline uint8_t uart_read(unsigned int reg)
{
	return inb((uint16_t)(COM1_PORT + reg));
}

static inline void uart_write(unsigned int reg, uint8_t v)
{
	outb((uint16_t)(COM1_PORT + reg), v);
}

#endif
