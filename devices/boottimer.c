// SPDX-License-Identifier: MIT
/*
 * Boot timer: lets the VMM itself measure guest boot time. The guest
 * writes BOOT_TIMER_MAGIC (123) to offset 0 when it considers itself
 * booted (typically first thing in /init); vmm records the time and prints
 * it. The two figures can be read back (see devices.h), so a guest can
 * report them too. The same protocol as Firecracker's boot timer, so guest
 * images built for one work with the other.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>

#include "../vmm/log.h"
#include "../vmm/vmm.h"
#include "devices.h"

struct boottimer {
	struct vm *vm;
};

static uint64_t us_between(uint64_t from, uint64_t to)
{
	return from && to >= from ? (to - from) / 1000 : 0;
}

static void boottimer_io(void *dev, uint64_t offset, uint8_t *data,
			 uint32_t len, bool is_write)
{
	struct boottimer *bt = dev;
	struct vm *vm = bt->vm;
	uint64_t fig[2], t;

	if (is_write) {
		if (offset != 0 || data[0] != BOOT_TIMER_MAGIC)
			return;
		t = monotonic_ns();
		/* only the first signal counts */
		if (!__atomic_compare_exchange_n(&vm->t.boot_timer,
						 &(uint64_t){ 0 }, t, false,
						 __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST))
			return;
		{
			struct rusage ru;

			getrusage(RUSAGE_SELF, &ru);
			vm->t.cpu_at_boot_timer_us =
				(uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
				(uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
		}
		info("boot-timer: %.3f ms since vmm start, %.3f ms since first KVM_RUN",
		     (double)(t - vm->t.start) / 1e6,
		     (double)(t - vm->t.first_run) / 1e6);
		return;
	}
	t = __atomic_load_n(&vm->t.boot_timer, __ATOMIC_SEQ_CST);
	fig[0] = us_between(vm->t.start, t);
	fig[1] = us_between(vm->t.first_run, t);
	if (offset < sizeof(fig) && len <= sizeof(fig) - offset)
		memcpy(data, (uint8_t *)fig + offset, len);
}

int boottimer_create(struct vm *vm, struct bus *bus, uint64_t base)
{
	struct boottimer *bt = calloc(1, sizeof(*bt));
	int ret;

	if (!bt)
		return -ENOMEM;
	bt->vm = vm;
	ret = vm_add_cleanup(vm, free, bt);
	if (ret)
		return ret;
	return bus_register(bus, base, BOOT_TIMER_SIZE, "boot-timer",
			    boottimer_io, bt);
}
