// SPDX-License-Identifier: MIT
/*
 * Boot timer: lets the VMM itself measure guest boot time. The guest
 * writes BOOT_TIMER_MAGIC (123) to offset 0 when it considers itself
 * booted (typically first thing in /init); the host records the time and
 * reports it. The two figures can be read back (see devices.h), so a
 * guest can report them too. The same protocol as Firecracker's boot
 * timer, so guest images built for one work with the other.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"

struct boottimer {
	const struct dev_host *host;
};

static void boottimer_io(void *dev, uint64_t offset, uint8_t *data,
			 uint32_t len, bool is_write)
{
	struct boottimer *bt = dev;
	struct vm_timeline *t = bt->host->t;
	uint64_t fig[2];

	if (is_write) {
		/* only the first signal counts */
		if (offset == 0 && data[0] == BOOT_TIMER_MAGIC &&
		    timeline_mark(&t->boot_timer))
			bt->host->ops->event(bt->host->vm, DEV_EV_BOOT_TIMER);
		return;
	}
	fig[0] = timeline_us(&t->start, &t->boot_timer);
	fig[1] = timeline_us(&t->first_run, &t->boot_timer);
	if (offset < sizeof(fig) && len <= sizeof(fig) - offset)
		memcpy(data, (uint8_t *)fig + offset, len);
}

int boottimer_create(const struct dev_host *h, struct bus *bus, uint64_t base)
{
	struct boottimer *bt = calloc(1, sizeof(*bt));
	int ret;

	if (!bt)
		return -ENOMEM;
	bt->host = h;
	ret = host_add_cleanup(h, free, bt);
	if (ret)
		return ret;
	return bus_register(bus, base, BOOT_TIMER_SIZE, "boot-timer",
			    boottimer_io, bt);
}
