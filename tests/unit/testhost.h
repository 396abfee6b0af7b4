/* SPDX-License-Identifier: MIT */
/*
 * A struct dev_host (devices/host.h) for unit tests and fuzz targets: real
 * guest memory (anonymous mappings), a real event loop, and a record of
 * what devices asked of the host (interrupts, kick eventfds, counters,
 * stop requests). No KVM: irqfd and ioeventfd are refused, so devices use
 * their fallbacks (set_irq, register-write kicks), as on a host without
 * them. MSI routes are the core's own table (vmm/irqroute.h) with real
 * eventfds that nothing consumes: a test reads what KVM would be given
 * and how often each vector's eventfd was written; no_msi_routes (set
 * before a device is made) refuses them, so MSIs go by send_msi.
 */
#ifndef TESTS_TESTHOST_H
#define TESTS_TESTHOST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../../devices/host.h"
#include "../../devices/state.h"
#include "../../vmm/irqroute.h"

#define TESTHOST_MAX_CLEANUPS 64

struct testhost {
	struct dev_host host;
	struct guest_mem mem;
	struct vm_timeline t;
	struct { void (*fn)(void *); void *arg; } cleanup[TESTHOST_MAX_CLEANUPS];
	unsigned int nr_cleanup;
	unsigned int irq_raised[32];   /* rising edges per line */
	int irq_level[32];
	unsigned int counters;
	unsigned int events;
	int stop;                      /* enum dev_stop + 1, 0 = none */
	unsigned int msis;             /* MSIs sent, the last one's message */
	uint64_t msi_addr;
	uint32_t msi_data;
	bool no_msi_routes;
	struct irq_routes routes;      /* pins: TESTHOST_PINS GSIs */
	unsigned int route_writes;     /* times the table was rewritten */
	char stop_msg[128];
	/* console output, when a device writes there */
	uint8_t console[4096];
	size_t console_len;
	unsigned int console_ready;
	/* snapshot state the devices registered (devices/state.h) */
	struct {
		char name[DEV_STATE_NAME_MAX];
		const struct dev_state_ops *ops;
		void *dev;
	} state[16];
	unsigned int nr_state;
};

static int th_set_irq(void *vm, unsigned int irq, int level)
{
	struct testhost *th = vm;

	if (irq < 32) {
		if (level && !th->irq_level[irq])
			th->irq_raised[irq]++;
		th->irq_level[irq] = level;
	}
	return 0;
}

static int th_irqfd(void *vm, unsigned int irq, int fd, bool attach)
{
	(void)vm; (void)irq; (void)fd; (void)attach;
	return -ENOTSUP;
}

static int th_ioeventfd(void *vm, const struct dev_ioeventfd *io, bool attach)
{
	(void)vm; (void)io; (void)attach;
	return -ENOTSUP;
}

static int th_send_msi(void *vm, uint64_t addr, uint32_t data)
{
	struct testhost *th = vm;

	th->msis++;
	th->msi_addr = addr;
	th->msi_data = data;
	return 0;
}

#define TESTHOST_PINS 4

static int th_msi_routes(void *vm, unsigned int n, int *fds)
{
	struct testhost *th = vm;
	unsigned int first;
	int ret;

	if (th->no_msi_routes)
		return -ENOTSUP;
	if (!th->routes.table) {
		struct irq_pin pins[TESTHOST_PINS];

		for (uint32_t i = 0; i < TESTHOST_PINS; i++)
			pins[i] = (struct irq_pin){ i, 0, i };
		if ((ret = irq_routes_init(&th->routes, pins, TESTHOST_PINS,
					   64)))
			return ret;
	}
	if ((ret = irq_routes_add(&th->routes, n, &first)))
		return ret;
	for (unsigned int i = 0; i < n; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fds[i] < 0)
			return -errno;
		th->routes.msi[first + i].fd = fds[i];
	}
	return (int)first;
}

static int th_msi_route(void *vm, unsigned int route, uint64_t addr,
			uint32_t data, bool enabled)
{
	struct testhost *th = vm;

	if (route >= th->routes.nr_msi)
		return -EINVAL;
	if (irq_routes_set(&th->routes, route, addr, data, enabled)) {
		irq_routes_table(&th->routes);
		th->route_writes++;
	}
	return 0;
}

/* Messages sent through route's eventfd since the last call. */
static inline uint64_t testhost_route_sent(struct testhost *th,
					   unsigned int route)
{
	uint64_t n = 0;

	if (route >= th->routes.nr_msi ||
	    read(th->routes.msi[route].fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static int th_add_cleanup(void *vm, void (*fn)(void *), void *arg)
{
	struct testhost *th = vm;

	if (th->nr_cleanup == TESTHOST_MAX_CLEANUPS) {
		fn(arg);
		return -ENOSPC;
	}
	th->cleanup[th->nr_cleanup].fn = fn;
	th->cleanup[th->nr_cleanup].arg = arg;
	th->nr_cleanup++;
	return 0;
}

static void th_add_counter(void *vm, const char *group, const char *name,
			   const uint64_t *value)
{
	(void)group; (void)name; (void)value;
	((struct testhost *)vm)->counters++;
}

static void th_event(void *vm, enum dev_event ev)
{
	(void)ev;
	((struct testhost *)vm)->events++;
}

static void th_request_stop(void *vm, enum dev_stop why, const char *msg)
{
	struct testhost *th = vm;

	if (!th->stop) {
		th->stop = (int)why + 1;
		snprintf(th->stop_msg, sizeof(th->stop_msg), "%s", msg);
	}
}

static void th_console_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct testhost *th = opaque;
	size_t room = sizeof(th->console) - th->console_len;

	if (len > room)
		len = room;
	memcpy(th->console + th->console_len, buf, len);
	th->console_len += len;
}

static void th_console_ready(void *opaque)
{
	((struct testhost *)opaque)->console_ready++;
}

static int th_add_state(void *vm, const char *name,
			const struct dev_state_ops *ops, void *dev)
{
	struct testhost *th = vm;

	if (th->nr_state == sizeof(th->state) / sizeof(th->state[0]))
		return -ENOSPC;
	snprintf(th->state[th->nr_state].name, DEV_STATE_NAME_MAX, "%s", name);
	th->state[th->nr_state].ops = ops;
	th->state[th->nr_state].dev = dev;
	th->nr_state++;
	return 0;
}

static const struct dev_host_ops testhost_ops = {
	.set_irq = th_set_irq, .irqfd = th_irqfd, .ioeventfd = th_ioeventfd,
	.msi_routes = th_msi_routes, .msi_route = th_msi_route,
	.send_msi = th_send_msi,
	.add_cleanup = th_add_cleanup, .add_counter = th_add_counter,
	.event = th_event, .request_stop = th_request_stop,
	.add_state = th_add_state,
};

static struct dev_console testhost_console;

/* One RAM range [0, mem_size). Returns 0, or -errno. */
static inline int testhost_init(struct testhost *th, uint64_t mem_size)
{
	const uint64_t r[1][2] = { { 0, mem_size } };
	struct evloop *loop;
	int ret;

	memset(th, 0, sizeof(*th));
	ret = guest_mem_init(&th->mem, r, 1);
	if (ret)
		return ret;
	ret = evloop_create(&loop);
	if (ret) {
		guest_mem_destroy(&th->mem);
		return ret;
	}
	testhost_console = (struct dev_console){
		.write = th_console_write, .ready = th_console_ready,
		.opaque = th,
	};
	th->host = (struct dev_host){
		.ops = &testhost_ops, .vm = th, .mem = &th->mem, .loop = loop,
		.t = &th->t, .console = &testhost_console,
	};
	return 0;
}

/* Free what devices registered (last first), then the host. */
static inline void testhost_destroy(struct testhost *th)
{
	while (th->nr_cleanup) {
		th->nr_cleanup--;
		th->cleanup[th->nr_cleanup].fn(th->cleanup[th->nr_cleanup].arg);
	}
	irq_routes_destroy(&th->routes);
	evloop_destroy(th->host.loop);
	guest_mem_destroy(&th->mem);
}

#endif
