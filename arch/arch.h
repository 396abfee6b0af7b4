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
#include <stdint.h>

struct vm;
struct vcpu;
struct vm_config;
struct serial;

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
 * Ask the guest to shut down the way a user at its keyboard would
 * (x86: Ctrl-Alt-Del on the i8042). 0 or -errno.
 */
int arch_send_ctrl_alt_del(struct vm *vm);

/* Drive an interrupt line of the in-kernel irqchip. */
int arch_set_irq(struct vm *vm, unsigned int irq, int level);

void arch_vm_destroy(struct vm *vm);

#endif
