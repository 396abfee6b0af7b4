// SPDX-License-Identifier: MIT
/*
 * Test guest: time. With KVM's paravirtual clock (CPUID 0x40000001 EAX
 * bit 3, MSR_KVM_SYSTEM_TIME_NEW) the time is the pvclock formula over the
 * TSC; without it (e.g. QEMU TCG) the TSC frequency comes from CPUID 0x15,
 * 0x16 or 0x40000010 when offered, else is assumed to be 2 GHz.
 * Only the BSP reads the clock.
 */
#include "hw.h"
#include "lib.h"
#include "x86.h"

#define KVM_CPUID_SIGNATURE      0x40000000
#define KVM_CPUID_FEATURES       0x40000001
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define MSR_KVM_SYSTEM_TIME_NEW  0x4b564d01

/* The pvclock ABI: one per vCPU, written by the host. */
struct pvclock_vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

static volatile struct pvclock_vcpu_time_info pvclock
	__attribute__((aligned(64)));
static int have_kvmclock;
static int initialised;
static uint64_t tsc_hz;   /* fallback only */

static int kvm_signature(void)
{
	uint32_t r[4];

	cpuid(KVM_CPUID_SIGNATURE, 0, r);
	/* "KVMKVMKVM\0\0\0" in EBX, ECX, EDX */
	return r[1] == 0x4b4d564b && r[2] == 0x564b4d56 && r[3] == 0x4d &&
	       r[0] >= KVM_CPUID_FEATURES;
}

static uint64_t guess_tsc_hz(void)
{
	uint32_t r[4], max;

	cpuid(0, 0, r);
	max = r[0];
	if (max >= 0x15) {
		cpuid(0x15, 0, r);   /* TSC = crystal * EBX / EAX */
		if (r[0] && r[1] && r[2])
			return (uint64_t)r[2] * r[1] / r[0];
	}
	if (max >= 0x16) {
		cpuid(0x16, 0, r);   /* base frequency in MHz */
		if (r[0] & 0xffff)
			return (uint64_t)(r[0] & 0xffff) * 1000000;
	}
	cpuid(0x40000000, 0, r);
	if (r[0] >= 0x40000010) {
		cpuid(0x40000010, 0, r);   /* TSC in kHz (hypervisor leaf) */
		if (r[0])
			return (uint64_t)r[0] * 1000;
	}
	return 2000000000UL;
}

void time_init(void)
{
	uint32_t r[4];

	if (initialised)
		return;
	initialised = 1;
	if (kvm_signature()) {
		cpuid(KVM_CPUID_FEATURES, 0, r);
		if (r[0] & KVM_FEATURE_CLOCKSOURCE2) {
			wrmsr(MSR_KVM_SYSTEM_TIME_NEW,
			      (uint64_t)(uintptr_t)&pvclock | 1);
			have_kvmclock = 1;
			return;
		}
	}
	tsc_hz = guess_tsc_hz();
	kprintf("testguest: no kvmclock, TSC taken as %u MHz\n",
		(unsigned int)(tsc_hz / 1000000));
}

int time_is_kvmclock(void)
{
	return have_kvmclock;
}

static uint64_t mul_shr32(uint64_t a, uint32_t mul)
{
	return (uint64_t)(((unsigned __int128)a * mul) >> 32);
}

uint64_t now_ns(void)
{
	uint32_t version;
	uint64_t ns, delta;

	if (!have_kvmclock) {
		uint64_t t = rdtsc();

		return t / tsc_hz * 1000000000UL +
		       t % tsc_hz * 1000000000UL / tsc_hz;
	}
	do {
		version = pvclock.version;
		barrier();
		delta = rdtsc() - pvclock.tsc_timestamp;
		if (pvclock.tsc_shift < 0)
			delta >>= -pvclock.tsc_shift;
		else
			delta <<= pvclock.tsc_shift;
		ns = pvclock.system_time +
		     mul_shr32(delta, pvclock.tsc_to_system_mul);
		barrier();
	} while ((version & 1) || version != pvclock.version);
	return ns;
}

void delay_us(uint64_t us)
{
	uint64_t end = now_ns() + us * 1000;

	while (now_ns() < end)
		cpu_relax();
}

const char *clock_name(void)
{
	return have_kvmclock ? "kvmclock" : "TSC (no kvmclock)";
}
