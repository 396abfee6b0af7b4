/* SPDX-License-Identifier: MIT */
/*
 * What a device model may use of the VMM that hosts it, and nothing more:
 * guest memory (through the checked accessor), interrupts, kick eventfds,
 * the event loop, counters, the boot timeline, and a way to stop the VM.
 * The core fills one struct dev_host per VM (vmm/vm.c); devices never see
 * struct vm, KVM or the terminal, so a test or fuzz target can host a
 * device with a few lines of its own.
 */
#ifndef DEVICES_HOST_H
#define DEVICES_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vmm/bus.h"
#include "../vmm/evloop.h"
#include "../vmm/memory.h"
#include "../vmm/timeline.h"

/* Why a device stops the VM. */
enum dev_stop {
	DEV_STOP_POWEROFF,  /* the guest powered off */
	DEV_STOP_RESET,     /* the guest reset the machine */
	DEV_STOP_CRASH,     /* the guest reported a crash (panic) */
};

/* Something the core reports or acts on. */
enum dev_event {
	DEV_EV_BOOT_TIMER,  /* the guest signalled "booted" (t->boot_timer) */
};

/* The kinds of thread a device starts, each confined in its own way. */
enum dev_thread {
	DEV_THREAD_DISK,    /* a disk's I/O: the image file and eventfds */
};

/* A guest write that signals an eventfd instead of exiting to the VMM. */
struct dev_ioeventfd {
	bool pio;           /* port I/O, else MMIO */
	uint64_t addr;
	uint32_t len;       /* 1, 2, 4 or 8 */
	bool match;         /* only writes of value datamatch */
	uint64_t datamatch;
	int fd;
};

struct dev_state_ops;

struct dev_host_ops {
	/* Drive interrupt line irq (GSI on x86-64, SPI on aarch64). */
	int (*set_irq)(void *vm, unsigned int irq, int level);
	/*
	 * Have each write to eventfd fd raise an edge on irq, without the
	 * VMM (attach), or stop that. -ENOTSUP: use set_irq instead.
	 */
	int (*irqfd)(void *vm, unsigned int irq, int fd, bool attach);
	/*
	 * MSI routes for n vectors (one device's MSI-X table), from the
	 * thread that sets the device up: fds[v] gets an eventfd whose
	 * write sends vector v's message, from any thread, without the VMM
	 * (the host owns it; it lives as long as the VM). Returns the first
	 * route's number (vector v is route first + v), or -errno.
	 * -ENOTSUP or NULL: this host cannot route MSIs; use send_msi.
	 */
	int (*msi_routes)(void *vm, unsigned int n, int *fds);
	/*
	 * Route number route sends (addr, data) while enabled (the vector
	 * is unmasked); disabled, a write to its eventfd sends nothing.
	 * From the thread that handles the guest's MSI-X table and control
	 * writes (a vCPU's). 0 or -errno.
	 */
	int (*msi_route)(void *vm, unsigned int route, uint64_t addr,
			 uint32_t data, bool enabled);
	/*
	 * Send the message signalled interrupt (address, data) the guest
	 * programmed (an MSI-X vector), from any thread: the way without
	 * msi_routes. 0 or -errno; NULL when the host has no MSIs.
	 */
	int (*send_msi)(void *vm, uint64_t addr, uint32_t data);
	/* Signal io->fd on matching guest writes (attach), or stop that. */
	int (*ioeventfd)(void *vm, const struct dev_ioeventfd *io, bool attach);
	/* Call fn(arg) when the VM goes away (last registered first). */
	int (*add_cleanup)(void *vm, void (*fn)(void *), void *arg);
	/* Expose *value (updated by the device) in the metrics. */
	void (*add_counter)(void *vm, const char *group, const char *name,
			    const uint64_t *value);
	void (*event)(void *vm, enum dev_event ev);
	/* Stop the VM (first request wins); msg says why, for the user. */
	void (*request_stop)(void *vm, enum dev_stop why, const char *msg);
	/*
	 * Called by a thread the device started, on that thread, before it
	 * acts on anything the guest controls: confine it for its kind
	 * (seccomp). label names it in messages. 0, or -errno: the thread
	 * must not go on. NULL: nothing to do.
	 */
	int (*confine_thread)(void *vm, enum dev_thread kind, const char *label);
	/*
	 * Register the device's snapshot state (state.h) under name, unique
	 * in the VM. 0 or -ENOSPC. NULL: the host takes no snapshots.
	 */
	int (*add_state)(void *vm, const char *name,
			 const struct dev_state_ops *ops, void *dev);
};

/* Where a console device's output goes (the VM console). */
struct dev_console {
	void (*write)(void *opaque, const uint8_t *buf, size_t len);
	/* The device can take input again after refusing some. Any thread. */
	void (*ready)(void *opaque);
	void *opaque;
};

struct dev_host {
	const struct dev_host_ops *ops;
	void *vm;                    /* passed back to ops; opaque here */
	const struct guest_mem *mem; /* guest RAM: gpa_ptr() and friends */
	struct evloop *loop;         /* the VM's event loop */
	struct vm_timeline *t;       /* milestones devices witness */
	const struct dev_console *console;
};

static inline int host_set_irq(const struct dev_host *h, unsigned int irq,
			       int level)
{
	return h->ops->set_irq(h->vm, irq, level);
}

/* An edge on irq: raise it and lower it again. */
static inline void host_pulse_irq(const struct dev_host *h, unsigned int irq)
{
	h->ops->set_irq(h->vm, irq, 1);
	h->ops->set_irq(h->vm, irq, 0);
}

static inline int host_add_cleanup(const struct dev_host *h,
				   void (*fn)(void *), void *arg)
{
	return h->ops->add_cleanup(h->vm, fn, arg);
}

static inline void host_add_counter(const struct dev_host *h,
				    const char *group, const char *name,
				    const uint64_t *value)
{
	h->ops->add_counter(h->vm, group, name, value);
}

static inline void host_request_stop(const struct dev_host *h,
				     enum dev_stop why, const char *msg)
{
	h->ops->request_stop(h->vm, why, msg);
}

static inline int host_confine_thread(const struct dev_host *h,
				      enum dev_thread kind, const char *label)
{
	return h->ops->confine_thread ?
	       h->ops->confine_thread(h->vm, kind, label) : 0;
}

static inline int host_add_state(const struct dev_host *h, const char *name,
				 const struct dev_state_ops *ops, void *dev)
{
	return h->ops->add_state ? h->ops->add_state(h->vm, name, ops, dev) : 0;
}

static inline void host_console_write(const struct dev_host *h,
				      const uint8_t *buf, size_t len)
{
	if (h->console)
		h->console->write(h->console->opaque, buf, len);
}

static inline void host_console_ready(const struct dev_host *h)
{
	if (h->console && h->console->ready)
		h->console->ready(h->console->opaque);
}

#endif
