// SPDX-License-Identifier: MIT
/*
 * The guest's ways of ending the VM that need no KVM: the ACPI power
 * registers (devices/acpi_pm.c) and pvpanic (devices/pvpanic.c), on a
 * port bus of a test host.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../devices/devices.h"
#include "../../vmm/acpi.h"
#include "testhost.h"
#include "unit.h"

#define PM_BASE 0x600
#define PVPANIC 0x505

struct rig {
	struct testhost th;
	struct bus pio;
};

static int rig_init(struct rig *r)
{
	int ret = testhost_init(&r->th, 1 << 20);

	if (ret)
		return ret;
	bus_init(&r->pio, "pio");
	if ((ret = acpi_pm_create(&r->th.host, &r->pio, PM_BASE, 0x01)) ||
	    (ret = pvpanic_create(&r->th.host, &r->pio, PVPANIC)))
		return ret;
	return 0;
}

static void rig_destroy(struct rig *r)
{
	testhost_destroy(&r->th);
	bus_destroy(&r->pio);
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

UNIT_MAIN("power",
	  T(acpi_soft_off_powers_off), T(acpi_reset_register_resets),
	  T(pvpanic_panicked_is_a_crash))
