/* SPDX-License-Identifier: MIT */
/*
 * The VM's one event loop (epoll), run by the main thread: console input,
 * signals, the stop eventfd and, later, ioeventfds, TAP and the control
 * socket. Each fd carries a small handler token.
 */
#ifndef VMM_EVLOOP_H
#define VMM_EVLOOP_H

#include <stdint.h>

struct vm;
struct evloop;

typedef void (*ev_fn)(struct vm *vm, void *opaque, uint32_t events);

int evloop_create(struct evloop **out) __attribute__((warn_unused_result));
void evloop_destroy(struct evloop *l);
/* Watch fd for events (EPOLLIN, ...); fn runs on the loop's thread. */
int evloop_add(struct evloop *l, int fd, uint32_t events, ev_fn fn,
	       void *opaque) __attribute__((warn_unused_result));
/* add, mod and del are safe from any thread. */
/* Change the events watched on fd (0 pauses it). */
int evloop_mod(struct evloop *l, int fd, uint32_t events);
int evloop_del(struct evloop *l, int fd);
/*
 * Dispatch events until vm_stopping(vm), or vm->loop_exit (set before
 * boot when the control API asks to start). Returns 0 or -errno.
 */
int evloop_run(struct vm *vm, struct evloop *l);

#endif
