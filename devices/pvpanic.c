// SPDX-License-Identifier: MIT
/*
 * pvpanic (QEMU's protocol, docs/specs/pvpanic.rst): a one-byte register.
 * A read gives the events the device understands; the guest writes the
 * event that happened. Linux's pvpanic driver writes PANICKED from its
 * panic notifier, before panic=N reboots the machine, so the VM stops as
 * a crash instead of looking like a clean reset. CRASH_LOADED (a kdump
 * kernel takes over) lets the guest go on: it is only logged.
 *
 * One implementation for either transport: x86-64 puts it on the port
 * bus at 0x505 (one byte), aarch64 on the MMIO bus as QEMU's
 * pvpanic-mmio (a two-byte window whose second byte reads as zero).
 */
#include <errno.h>
#include <stdlib.h>

#include "../vmm/log.h"
#include "devices.h"

struct pvpanic {
	const struct dev_host *host;
	uint64_t events;      /* metrics: pvpanic/events */
};

static void pvpanic_io(void *dev, uint64_t offset, uint8_t *data, uint32_t len,
		       bool is_write)
{
	struct pvpanic *p = dev;

	if (!is_write) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = offset + i == 0 ?
				  PVPANIC_PANICKED | PVPANIC_CRASH_LOADED : 0;
		return;
	}
	/* the register is byte 0; a write that misses it does nothing */
	if (offset != 0)
		return;
	__atomic_fetch_add(&p->events, 1, __ATOMIC_RELAXED);
	if (data[0] & PVPANIC_PANICKED)
		host_request_stop(p->host, DEV_STOP_CRASH,
				  "guest kernel panicked (pvpanic)");
	else if (data[0] & PVPANIC_CRASH_LOADED)
		warn("pvpanic: the guest kernel crashed; its crash kernel runs");
}

int pvpanic_create(const struct dev_host *h, struct bus *bus, uint64_t base,
		   uint64_t size)
{
	struct pvpanic *p;
	int ret;

	if (size < 1)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->host = h;
	ret = host_add_cleanup(h, free, p);
	if (ret)
		return ret;
	host_add_counter(h, "pvpanic", "events", &p->events);
	return bus_register(bus, base, size, "pvpanic", pvpanic_io, p);
}
