// SPDX-License-Identifier: MIT
/*
 * Test guest: what a guest finds of vmm's ACPI platform without an ACPI
 * interpreter, and its ways out. Plain reads of the tables (the identity
 * map covers them), port writes to vmm's registers.
 *   acpi     RSDP (from the PVH start info), XSDT, FADT, MADT, DSDT:
 *            signatures, checksums, one local APIC per vCPU (cpus=N), the
 *            IOAPIC, a hardware-reduced FADT; then the FADT's sleep
 *            control register with SLP_TYP 5: vmm powers off (status 0)
 *   acpi-reset  the FADT's reset register: vmm resets (status 0)
 *   pvpanic  pvpanic's port answers PANICKED | CRASH_LOADED; PANICKED
 *            written: vmm stops as a crash (status 2)
 */
#include "hw.h"
#include "lib.h"
#include "x86.h"


static int sum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;

	for (uint32_t i = 0; i < len; i++)
		s += p[i];
	return s == 0;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static const uint8_t *table(uint64_t addr, const char *sig)
{
	const uint8_t *t = (const uint8_t *)(uintptr_t)addr;

	if (!addr || addr >= 0x100000000ULL || memcmp(t, sig, 4))
		fail("no %s table at 0x%lx", sig, addr);
	if (!sum_ok(t, le32(t + 4)))
		fail("%s: bad checksum", sig);
	return t;
}

/* The FADT, after checking RSDP, XSDT and (when given) the MADT. */
static const uint8_t *tables(unsigned int *lapics, int *ioapic)
{
	const uint8_t *rsdp = (const uint8_t *)(uintptr_t)x86_rsdp_paddr();
	const uint8_t *xsdt, *fadt = NULL;
	uint32_t n;

	if (!x86_rsdp_paddr() || memcmp(rsdp, "RSD PTR ", 8))
		fail("no RSDP at 0x%lx", x86_rsdp_paddr());
	if (!sum_ok(rsdp, 20) || rsdp[15] < 2 || !sum_ok(rsdp, le32(rsdp + 20)))
		fail("RSDP: bad checksum or revision %u", rsdp[15]);
	xsdt = table(le64(rsdp + 24), "XSDT");
	n = (le32(xsdt + 4) - 36) / 8;
	*lapics = 0;
	*ioapic = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = le64(xsdt + 36 + 8 * i);
		const uint8_t *t = (const uint8_t *)(uintptr_t)a;

		if (!memcmp(t, "FACP", 4)) {
			fadt = table(a, "FACP");
		} else if (!memcmp(t, "APIC", 4)) {
			const uint8_t *m = table(a, "APIC"), *end = m + le32(m + 4);

			for (const uint8_t *e = m + 44; e + 2 <= end && e[1];
			     e += e[1]) {
				if (e[0] == 0 && (le32(e + 4) & 1))
					++*lapics;
				if (e[0] == 1)
					++*ioapic;
			}
		}
	}
	if (!fadt)
		fail("no FADT in the XSDT");
	if (!(le32(fadt + 112) & (1u << 20)))
		fail("FADT: not hardware-reduced (flags 0x%x)", le32(fadt + 112));
	table(le64(fadt + 140), "DSDT");
	return fadt;
}

/* A byte-wide I/O register of a Generic Address Structure. */
static uint16_t gas_port(const uint8_t *g, const char *what)
{
	if (g[0] != 1 || g[1] != 8 || !le64(g + 4) || le64(g + 4) > 0xffff)
		fail("FADT %s: not an 8-bit I/O register", what);
	return (uint16_t)le64(g + 4);
}

void test_acpi(void)
{
	unsigned int lapics;
	int ioapic;
	const uint8_t *fadt = tables(&lapics, &ioapic);
	uint64_t cpus;

	if (param_u64("cpus", &cpus) == 1 && lapics != cpus)
		fail("MADT: %u local APICs for %lu vCPUs", lapics, cpus);
	if (ioapic != 1)
		fail("MADT: %d IOAPICs", ioapic);
	kprintf("TESTGUEST PASS acpi lapics=%u ioapic=%d, powering off\n",
		lapics, ioapic);
	/* SLP_TYP 5 (\_S5) with SLP_EN */
	outb(gas_port(fadt + 244, "sleep control"), 5 << 2 | 1 << 5);
	fail("still running after the ACPI power-off");
}

void test_acpi_reset(void)
{
	unsigned int lapics;
	int ioapic;
	const uint8_t *fadt = tables(&lapics, &ioapic);

	if (!(le32(fadt + 112) & (1u << 10)))
		fail("FADT: no reset register");
	kprintf("TESTGUEST PASS acpi-reset, resetting\n");
	outb(gas_port(fadt + 116, "reset"), fadt[128]);
	fail("still running after the ACPI reset");
}

void test_pvpanic(void)
{
	uint8_t caps = inb(0x505);

	if (caps != 3)
		fail("pvpanic reads 0x%x, not PANICKED | CRASH_LOADED", caps);
	kprintf("TESTGUEST PASS pvpanic, panicking\n");
	outb(0x505, 1);
	fail("still running after pvpanic PANICKED");
}
