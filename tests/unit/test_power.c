// SPDX-License-Identifier: MIT
/*
 * The guest's ways of ending the VM that need no KVM: the ACPI power
 * registers (devices/acpi_pm.c) and pvpanic (devices/pvpanic.c), on a
 * port bus of a test host as x86-64 wires them, and pvpanic on an MMIO
 * bus as aarch64 does (qemu,pvpanic-mmio).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../devices/devices.h"
#include "../../arch/aarch64/layout.h"
#include "../../vmm/acpi.h"
#include "testhost.h"
#include "unit.h"

#define PM_BASE 0x600
#define PVPANIC 0x505

struct rig {
	struct testhost th;
	struct bus pio;
	struct bus mmio;
};

static int rig_init(struct rig *r)
{
	int ret = testhost_init(&r->th, 1 << 20);

	if (ret)
		return ret;
	bus_init(&r->pio, "pio");
	bus_init(&r->mmio, "mmio");
	if ((ret = acpi_pm_create(&r->th.host, &r->pio, PM_BASE, 0x01)) ||
	    (ret = pvpanic_create(&r->th.host, &r->pio, PVPANIC, 1)) ||
	    (ret = pvpanic_create(&r->th.host, &r->mmio, ARM64_PVPANIC_ADDR,
				  ARM64_PVPANIC_SIZE)))
		return ret;
	return 0;
}

static void rig_destroy(struct rig *r)
{
	testhost_destroy(&r->th);
	bus_destroy(&r->pio);
	bus_destroy(&r->mmio);
}

static void out8(struct rig *r, uint16_t port, uint8_t v)
{
	bus_access(&r->pio, port, &v, 1, true);
}

static uint8_t in8(struct rig *r, uint16_t port)
{
	uint8_t v = 0xee;

	bus_access(&r->pio, port, &v, 1, false);
	return v;
}

TEST(acpi_soft_off_powers_off)
{
	struct rig r;

	CHECK(rig_init(&r) == 0);
	/* SLP_TYP without SLP_EN, then another sleep state: nothing */
	out8(&r, PM_BASE + ACPI_PM_SLEEP_CONTROL, ACPI_S5_SLP_TYP << 2);
	out8(&r, PM_BASE + ACPI_PM_SLEEP_CONTROL, ACPI_SLEEP_CTL_WRITE(3));
	CHECK(r.th.stop == 0);
	CHECK(in8(&r, PM_BASE + ACPI_PM_SLEEP_STATUS) == 0);
	out8(&r, PM_BASE + ACPI_PM_SLEEP_CONTROL,
	     ACPI_SLEEP_CTL_WRITE(ACPI_S5_SLP_TYP));
	CHECK(r.th.stop == DEV_STOP_POWEROFF + 1);
	CHECK(strcmp(r.th.stop_msg, "guest powered off") == 0);
	rig_destroy(&r);
}

TEST(acpi_reset_register_resets)
{
	struct rig r;

	CHECK(rig_init(&r) == 0);
	out8(&r, PM_BASE + ACPI_PM_RESET, 0x06); /* not the FADT's value */
	CHECK(r.th.stop == 0);
	out8(&r, PM_BASE + ACPI_PM_RESET, 0x01);
	CHECK(r.th.stop == DEV_STOP_RESET + 1);
	CHECK(strcmp(r.th.stop_msg, "guest reset (ACPI)") == 0);
	rig_destroy(&r);
}

TEST(pvpanic_panicked_is_a_crash)
{
	struct rig r;

	CHECK(rig_init(&r) == 0);
	CHECK(in8(&r, PVPANIC) == (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED));
	out8(&r, PVPANIC, PVPANIC_CRASH_LOADED); /* kdump goes on */
	CHECK(r.th.stop == 0);
	out8(&r, PVPANIC, PVPANIC_PANICKED);
	CHECK(r.th.stop == DEV_STOP_CRASH + 1);
	CHECK(strstr(r.th.stop_msg, "panicked") != NULL);
	rig_destroy(&r);
}

/* aarch64's pvpanic-mmio: the same register at byte 0 of a 2-byte window */
TEST(pvpanic_mmio_panicked_is_a_crash)
{
	uint8_t two[2] = { 0xee, 0xee }, v = PVPANIC_PANICKED;
	struct rig r;

	CHECK(rig_init(&r) == 0);
	CHECK(bus_access(&r.mmio, ARM64_PVPANIC_ADDR, &two[0], 1, false));
	CHECK(two[0] == (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED));
	CHECK(bus_access(&r.mmio, ARM64_PVPANIC_ADDR + 1, &two[1], 1, false));
	CHECK(two[1] == 0);
	two[0] = two[1] = 0xee;
	CHECK(bus_access(&r.mmio, ARM64_PVPANIC_ADDR, two, 2, false));
	CHECK(two[0] == (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED) && two[1] == 0);
	/* the window is two bytes, as QEMU's */
	CHECK(!bus_access(&r.mmio, ARM64_PVPANIC_ADDR + 2, &v, 1, false));
	v = PVPANIC_PANICKED;
	/* PANICKED written to the second byte misses the register */
	CHECK(bus_access(&r.mmio, ARM64_PVPANIC_ADDR + 1, &v, 1, true));
	CHECK(r.th.stop == 0);
	v = PVPANIC_CRASH_LOADED;
	CHECK(bus_access(&r.mmio, ARM64_PVPANIC_ADDR, &v, 1, true));
	CHECK(r.th.stop == 0);
	v = PVPANIC_PANICKED;
	CHECK(bus_access(&r.mmio, ARM64_PVPANIC_ADDR, &v, 1, true));
	CHECK(r.th.stop == DEV_STOP_CRASH + 1);
	CHECK(strcmp(r.th.stop_msg, "guest kernel panicked (pvpanic)") == 0);
	rig_destroy(&r);
}

TEST(pvpanic_zero_size_is_refused)
{
	struct rig r;

	CHECK(rig_init(&r) == 0);
	CHECK(pvpanic_create(&r.th.host, &r.mmio, 0x1000, 0) == -EINVAL);
	rig_destroy(&r);
}

UNIT_MAIN("power",
	  T(acpi_soft_off_powers_off), T(acpi_reset_register_resets),
	  T(pvpanic_panicked_is_a_crash), T(pvpanic_mmio_panicked_is_a_crash),
	  T(pvpanic_zero_size_is_refused))
