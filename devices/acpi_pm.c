// SPDX-License-Identifier: MIT
/*
 * The power-management registers of a hardware-reduced ACPI platform
 * (ACPI 6.x, 4.8.3.7 and 4.8.3.6): three byte-wide ports the FADT names.
 *   base + 0  sleep control: SLP_EN with SLP_TYP 5 (\_S5, soft off) powers
 *             the VM off; other sleep states are refused (logged once)
 *   base + 1  sleep status: WAK_STS reads 0 (the VM never wakes from a
 *             sleep it does not enter); writes clear nothing else
 *   base + 2  reset: the FADT's reset value resets the VM
 * Linux's poweroff (acpi_power_off) and its default reboot (acpi_reboot)
 * end here, so neither needs reboot=k or a keyboard controller.
 */
#include <errno.h>
#include <stdlib.h>

#include "../vmm/acpi.h"
#include "../vmm/log.h"
#include "devices.h"

struct acpi_pm {
	const struct dev_host *host;
	uint8_t reset_value;
	bool other_logged;
};

static void acpi_pm_io(void *dev, uint64_t offset, uint8_t *data, uint32_t len,
		       bool is_write)
{
	struct acpi_pm *pm = dev;

	(void)len;
	if (!is_write) {
		data[0] = 0;
		return;
	}
	switch (offset) {
	case ACPI_PM_SLEEP_CONTROL:
		switch (acpi_sleep_control(data[0])) {
		case ACPI_SLEEP_S5:
			host_request_stop(pm->host, DEV_STOP_POWEROFF,
					  "guest powered off");
			break;
		case ACPI_SLEEP_OTHER:
			if (!pm->other_logged)
				warn("ACPI: the guest asked for sleep type %u; "
				     "only soft off (5) is offered",
				     (data[0] >> 2) & 7);
			pm->other_logged = true;
			break;
		case ACPI_SLEEP_NONE:
			break;
		}
		break;
	case ACPI_PM_RESET:
		if (data[0] == pm->reset_value)
			host_request_stop(pm->host, DEV_STOP_RESET,
					  "guest reset (ACPI)");
		break;
	default:
		break; /* sleep status: nothing to clear */
	}
}

int acpi_pm_create(const struct dev_host *h, struct bus *bus, uint64_t base,
		   uint8_t reset_value)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm)
		return -ENOMEM;
	pm->host = h;
	pm->reset_value = reset_value;
	ret = host_add_cleanup(h, free, pm);
	if (ret)
		return ret;
	return bus_register(bus, base, ACPI_PM_PORTS, "acpi-pm", acpi_pm_io, pm);
}
