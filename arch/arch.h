/* SPDX-License-Identifier: MIT */
/*
 * The hooks every architecture implements (arch/x86_64/, arch/aarch64/).
 * The core calls them in boot order (vmm/vm.c states it); each means the
 * same thing on every architecture, and nothing outside arch/ tests which
 * architecture it runs on. Each returns 0 or -errno and logs the cause.
 */
#ifndef ARCH_ARCH_H
#define ARCH_ARCH_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vmm/gdbstub.h"
#include "../vmm/gva.h"

struct vm;
struct vcpu;
struct vm_config;
struct serial;
struct irq_pin;

#define ARCH_MAX_RAM_RANGES 4

/*
 * Before KVM_CREATE_VM: refuse the options of vm->cfg this arch does not
 * have, and give KVM_CREATE_VM's machine type (x86-64: 0; aarch64: the
 * IPA size, when the default 40 bits do not fit the memory layout).
 */
int arch_vm_type(struct vm *vm, unsigned long *type)
	__attribute__((warn_unused_result));

/*
 * The guest RAM ranges ({gpa, size}) for cfg->mem_size bytes, e.g. split
 * around the x86 MMIO hole. Pure: no KVM, no allocation.
 */
int arch_ram_ranges(const struct vm_config *cfg,
		    uint64_t ranges[ARCH_MAX_RAM_RANGES][2], unsigned int *nr)
	__attribute__((warn_unused_result));

/* After KVM_CREATE_VM and guest memory: irqchip, timers, arch state. */
int arch_vm_init(struct vm *vm) __attribute__((warn_unused_result));

/*
 * The platform's own devices, from the arch's placement table (UART,
 * boot timer, ...). *uart is the serial port the console may talk to.
 */
int arch_create_devices(struct vm *vm, struct serial **uart)
	__attribute__((warn_unused_result));

/*
 * Load the kernel and initrd named in vm->cfg into guest memory. Records
 * the entry point for arch_vcpu_init(); the boot information comes later
 * (arch_write_boot_info).
 */
int arch_load_kernel(struct vm *vm) __attribute__((warn_unused_result));

/* Per-vCPU setup before its first KVM_RUN: CPUID, MSRs, registers. */
int arch_vcpu_init(struct vcpu *vcpu) __attribute__((warn_unused_result));

/*
 * Every vCPU exists: finish the interrupt controller (aarch64: initialise
 * the VGIC, which KVM requires before any irqfd). Nothing on x86-64.
 */
int arch_irqchip_finish(struct vm *vm) __attribute__((warn_unused_result));

/* Where one virtio device sits: its MMIO window and interrupt line. */
struct arch_virtio_slot {
	uint64_t base;
	uint64_t size;
	unsigned int irq;
};

/*
 * Where virtio device number index (0, 1, ... in attach order) goes.
 * -ENOSPC when the platform has no room for it.
 */
int arch_virtio_place(struct vm *vm, unsigned int index,
		      struct arch_virtio_slot *slot)
	__attribute__((warn_unused_result));

/*
 * Tell the guest about a device placed there: x86-64 adds a
 * virtio_mmio.device= entry to the command line, aarch64 a device-tree
 * node.
 */
int arch_virtio_announce(struct vm *vm, const struct arch_virtio_slot *slot)
	__attribute__((warn_unused_result));

/*
 * Last: what the guest reads at boot, from everything above: the command
 * line (vm->cmdline), the memory map and CPU tables (x86-64), the device
 * tree (aarch64).
 */
int arch_write_boot_info(struct vm *vm) __attribute__((warn_unused_result));

/* Print a vCPU's registers to stderr (after an error exit). */
void arch_vcpu_dump(struct vcpu *vcpu);

/*
 * The ioctls a running vCPU thread makes on its own fd, KVM_RUN aside
 * (arch_vcpu_dump()'s register reads), for its seccomp allow-list.
 * *reqs is set to a static list; returns its length.
 */
size_t arch_vcpu_run_ioctls(const unsigned long **reqs);

/*
 * The vCPU ioctls of the debugging paths (gdb's registers and debug
 * settings, the NMI), for the seccomp allow-lists. As above.
 */
size_t arch_debug_ioctls(const unsigned long **reqs);

/*
 * Ask the guest to shut down the way a user at its keyboard would
 * (x86: Ctrl-Alt-Del on the i8042). 0 or -errno.
 */
int arch_send_ctrl_alt_del(struct vm *vm);

/* Drive an interrupt line of the in-kernel irqchip. */
int arch_set_irq(struct vm *vm, unsigned int irq, int level);

/*
 * The GSI routes KVM gives the in-kernel irqchip by default (each GSI to
 * its pin or pins), which a table of our own (vmm/irqroute.h) must keep:
 * up to max of them into pins; returns how many there are. Pure.
 */
size_t arch_irqchip_routes(struct irq_pin *pins, size_t max);

void arch_vm_destroy(struct vm *vm);

/*
 * NMIs: does the arch have them; queue one on v (from v's own thread;
 * one the guest has not started yet drops it). 0 or -errno.
 */
bool arch_has_nmi(void);
int arch_vcpu_nmi(struct vcpu *vcpu);

/* --- snapshots (vmm/snapshot.c) ------------------------------------------- */

struct sbuf;

/* This architecture's SNAP_ARCH_* (vmm/snapfile.h). */
uint32_t arch_snapshot_arch(void);

/*
 * The VM's own KVM state (interrupt controller, timers, clock) and one
 * parked vCPU's (registers, FPU, MSRs, local interrupt controller, ...),
 * appended to b, from the main thread of a paused VM. 0 or -errno with
 * one line in err (-EOPNOTSUPP: not on this architecture yet).
 */
int arch_snapshot_save_vm(struct vm *vm, struct sbuf *b, char *err,
			  size_t errlen);
int arch_snapshot_save_vcpu(struct vcpu *vcpu, struct sbuf *b, char *err,
			    size_t errlen);
/*
 * Back into a VM built from the same configuration, before any vCPU has
 * run: the vCPUs first, then the VM's. 0 or -errno with err set.
 */
int arch_snapshot_restore_vcpu(struct vcpu *vcpu, struct sbuf *r, char *err,
			       size_t errlen);
int arch_snapshot_restore_vm(struct vm *vm, struct sbuf *r, char *err,
			     size_t errlen);

/*
 * The ioctls the saving makes from the main thread (on the VM's, the
 * vCPUs' and /dev/kvm's fds), for its seccomp allow-list. As above.
 */
size_t arch_snapshot_ioctls(const unsigned long **reqs);

/* --- the debugger (vmm/gdb.c) --------------------------------------------- */

/* GDB's view of this arch's vCPUs: target.xml and the register layout. */
const struct gdb_target *arch_gdb_target(void);

/*
 * A parked vCPU's registers in arch_gdb_target()'s layout, and back (what
 * GDB cannot express, and what did not change, is left alone).
 */
int arch_gdb_get_regs(struct vcpu *vcpu, uint8_t *buf);
int arch_gdb_set_regs(struct vcpu *vcpu, const uint8_t *buf);

/*
 * A parked vCPU's paging state, to translate guest-virtual addresses as it
 * does: *walk and the state it takes (ARCH_GDB_MMU_SIZE bytes at mmu).
 */
#define ARCH_GDB_MMU_SIZE 64
int arch_gdb_mmu(struct vcpu *vcpu, void *mmu, gva_walk_fn *walk);

/*
 * The software breakpoint instruction for a Z0 packet's kind (its size in
 * bytes): its length, its bytes in insn. -EOPNOTSUPP for another kind.
 */
#define ARCH_GDB_INSN_MAX 8
int arch_gdb_sw_insn(uint64_t kind, uint8_t insn[ARCH_GDB_INSN_MAX]);

/*
 * Do the hardware breakpoints and watchpoints hw[0..n) fit this VM's
 * debug registers together? 0, -ENOSPC (too many), -EOPNOTSUPP (a kind of
 * watchpoint the arch does not have), -EINVAL (a bad address or length).
 */
int arch_gdb_hw_check(struct vm *vm, const struct gdb_bp *hw, unsigned int n);

/* What the debugger wants of one vCPU (KVM_SET_GUEST_DEBUG). */
struct arch_gdb_debug {
	const struct gdb_bp *hw;  /* hardware breakpoints and watchpoints */
	unsigned int nr_hw;       /* (arch_gdb_hw_check() accepted them) */
	bool sw;                  /* trap software breakpoint instructions */
	bool step;                /* one instruction, then a debug exit */
	unsigned int inject;      /* arch_gdb_exit.exception to hand back to */
	                          /* the guest (it was its own), or 0 */
};

/*
 * Program v's guest debugging, from v's own thread. 0 or -errno;
 * -EOPNOTSUPP when inject is asked and the arch cannot give the guest
 * its exception back.
 */
int arch_gdb_set_debug(struct vcpu *vcpu, const struct arch_gdb_debug *d);

enum arch_gdb_event {
	ARCH_GDB_STEP,     /* a single step ended */
	ARCH_GDB_SWBREAK,  /* a breakpoint instruction at pc */
	ARCH_GDB_HWBREAK,  /* hw[bp], an instruction breakpoint */
	ARCH_GDB_WATCH,    /* hw[bp], a watchpoint; addr: the data address */
	ARCH_GDB_OTHER,    /* a debug exception none of the above explains */
};

struct arch_gdb_exit {
	enum arch_gdb_event event;
	uint64_t pc;              /* the instruction the vCPU stopped at */
	unsigned int bp;          /* index into hw[] (HWBREAK, WATCH) */
	uint64_t addr;            /* WATCH */
	unsigned int exception;   /* for arch_gdb_debug.inject */
};

/*
 * What vCPU v's KVM_EXIT_DEBUG (in its kvm_run) was, given the hardware
 * breakpoints hw[0..n) set on it. On v's thread.
 */
void arch_gdb_debug_exit(struct vcpu *vcpu, const struct gdb_bp *hw,
			 unsigned int n, struct arch_gdb_exit *out);

#endif
