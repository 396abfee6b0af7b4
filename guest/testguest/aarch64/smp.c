// SPDX-License-Identifier: MIT
/*
 * Test guest, aarch64: the `smp` scenario. Start every CPU the device
 * tree lists besides this one with PSCI CPU_ON (vmm's KVM keeps them
 * powered off until then) at secondary_entry (entry.S), with its index as
 * the context id; each turns its MMU on, records its MPIDR_EL1, bumps a
 * counter and waits for good.
 */
#include "a64.h"
#include "hw.h"
#include "lib.h"

#define AP_WAIT_NS 2000000000UL

static volatile uint32_t ap_count;
static volatile uint64_t ap_mpidr[MAX_CPUS];
static volatile uint8_t ap_seen[MAX_CPUS];

void ap_main(uint64_t index);
void ap_main(uint64_t index)
{
	ap_mpidr[index] = read_sysreg(mpidr_el1) & MPIDR_AFF_MASK;
	ap_seen[index] = 1;
	__atomic_fetch_add(&ap_count, 1, __ATOMIC_SEQ_CST);
	for (;;)
		__asm__ volatile("wfi");
}

void test_smp(void)
{
	uint64_t self = read_sysreg(mpidr_el1) & MPIDR_AFF_MASK, want, t0, t;
	unsigned int me = MAX_CPUS, naps = 0;
	int64_t v;

	for (unsigned int i = 0; i < plat.ncpus; i++)
		if (plat.mpidr[i] == self) {
			if (me != MAX_CPUS)
				fail("two cpu nodes with reg 0x%lx", self);
			me = i;
		}
	if (me == MAX_CPUS)
		fail("no cpu node for the boot CPU (MPIDR 0x%lx)", self);
	switch (param_u64("cpus", &want)) {
	case -1:
		fail("bad cpus= parameter");
	case 1:
		if (want != plat.ncpus)
			fail("device tree lists %u CPUs, cpus=%lu", plat.ncpus,
			     want);
		break;
	}
	if (!plat.psci)
		fail("no PSCI node in the device tree");
	v = psci_call(PSCI_VERSION, 0, 0, 0);
	kprintf("testguest: device tree lists %u CPU(s), boot CPU MPIDR "
		"0x%lx, PSCI %ld.%ld via %s\n", plat.ncpus, self, v >> 16,
		v & 0xffff, plat.psci_smc ? "smc" : "hvc");
	/* major in bits 30:16, minor in 15:0 (0.2 is 2); < 0: an error */
	if (v < 2)
		fail("PSCI version 0x%lx: CPU_ON needs 0.2 or later", v);

	time_init();
	t0 = now_ns();
	for (unsigned int i = 0; i < plat.ncpus; i++) {
		int64_t r;

		if (i == me)
			continue;
		r = psci_call(PSCI_CPU_ON, plat.mpidr[i],
			      (uintptr_t)secondary_entry, i);
		if (r)
			fail("PSCI CPU_ON(0x%lx) returned %ld (%s)",
			     plat.mpidr[i], r, psci_strerror(r));
		naps++;
	}
	while (ap_count < naps) {
		t = now_ns();
		if (t - t0 > AP_WAIT_NS)
			fail("only %u of %u secondary CPUs started within %lu ms",
			     ap_count, naps, AP_WAIT_NS / 1000000);
		cpu_relax();
	}
	t = now_ns();
	for (unsigned int i = 0; i < plat.ncpus; i++) {
		if (i == me)
			continue;
		if (!ap_seen[i])
			fail("CPU 0x%lx did not report", plat.mpidr[i]);
		if (ap_mpidr[i] != plat.mpidr[i])
			fail("CPU started for 0x%lx reports MPIDR 0x%lx",
			     plat.mpidr[i], ap_mpidr[i]);
	}
	if (ap_count != naps)
		fail("%u secondary CPUs reported, expected %u", ap_count, naps);
	kprintf("testguest: %u secondary CPU(s) running after %lu us\n", naps,
		(t - t0) / 1000);
	passf("cpus=%u", plat.ncpus);
}
