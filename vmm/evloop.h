/* SPDX-License-Identifier: MIT */
/*
 * An event loop (epoll) that knows file descriptors and callbacks, not
 * VMs. The VM's main thread runs one: console input, signals, the control
 * socket, TAPs and the virtio queues that are served there. Each fd
 * carries a small handler token.
 */
#ifndef VMM_EVLOOP_H
#define VMM_EVLOOP_H

#include <stdint.h>

struct evloop;

typedef void (*ev_fn)(void *opaque, uint32_t events);

int evloop_create(struct evloop **out) __attribute__((warn_unused_result));
void evloop_destroy(struct evloop *l);
/*
 * Watch fd for events (EPOLLIN, ...); fn runs on the loop's thread.
 * add, mod and del are safe from any thread.
 */
int evloop_add(struct evloop *l, int fd, uint32_t events, ev_fn fn,
	       void *opaque) __attribute__((warn_unused_result));
/* Change the events watched on fd (0 pauses it). */
int evloop_mod(struct evloop *l, int fd, uint32_t events);
int evloop_del(struct evloop *l, int fd);

/*
 * Dispatch events until evloop_stop(). Returns 0, or -errno when epoll
 * itself fails.
 */
int evloop_run(struct evloop *l);
/*
 * Run, on the caller's thread, the handlers of what is ready now, turn
 * after turn, until nothing is (or max_turns turns): the single-threaded
 * pump of tests and fuzz targets, where a device's work must happen at a
 * known point. Returns how many handlers ran, or -errno.
 */
int evloop_pump(struct evloop *l, unsigned int max_turns);
/*
 * Make the running evloop_run() return after the handler in progress, or
 * the next one return at once. Safe from any thread and from handlers.
 */
void evloop_stop(struct evloop *l);

#endif
