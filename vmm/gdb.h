/* SPDX-License-Identifier: MIT */
/*
 * --gdb: GDB's remote serial protocol (the engine, gdbstub.h) on a socket,
 * wired to the vCPUs. TCP on 127.0.0.1 or a Unix socket; one client at a
 * time, served on the event loop. A client that connects stops the guest
 * (every vCPU parked through the pause path, vCPU n is GDB thread n + 1);
 * one that detaches or goes away leaves no breakpoint behind and lets the
 * guest run on. Registers and the paging state come from the arch hooks
 * (arch.h), guest memory through the checked accessor and the guest's page
 * tables (gva.h); software breakpoints patch guest memory, hardware ones,
 * watchpoints and single-step are KVM_SET_GUEST_DEBUG, applied by each
 * vCPU's own thread before it enters the guest.
 */
#ifndef VMM_GDB_H
#define VMM_GDB_H

#include <stdbool.h>

struct vm;
struct gdb_server;

/*
 * Listen on vm->cfg.gdb for the booted, not yet running VM: digits are a
 * TCP port on 127.0.0.1 (0: any free one, printed), anything else a Unix
 * socket path. With vm->cfg.gdb_wait no vCPU runs until a client
 * resumes it. Frees itself with the VM (vm_add_cleanup). 0 or -errno with
 * one error line.
 */
int gdb_server_create(struct vm *vm, struct gdb_server **out)
	__attribute__((warn_unused_result));

/*
 * Does the debugger hold the guest stopped (a client has it stopped, or
 * --gdb-wait waits for one)? The control API's Resume is refused then.
 */
bool gdb_server_holds(const struct gdb_server *s);

#endif
