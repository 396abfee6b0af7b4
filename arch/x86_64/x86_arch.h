/* SPDX-License-Identifier: MIT */
/* The x86-64 part of struct vm (vm->arch), private to arch/x86_64/. */
#ifndef ARCH_X86_64_X86_ARCH_H
#define ARCH_X86_64_X86_ARCH_H

#include <linux/kvm.h>

#include "../arch.h"
#include "x86.h"

/*
 * virtio-mmio slots: 4 KiB windows from X86_VIRTIO_MMIO_BASE, IRQs 5-23
 * but 8 (the RTC's).
 */
#define X86_IOAPIC_PINS     24
#define X86_VIRTIO_IRQ_BASE 5
#define X86_VIRTIO_SLOTS    (X86_IOAPIC_PINS - X86_VIRTIO_IRQ_BASE - 1)

struct vm;
struct i8042;
struct pci_bus;

struct x86_vm {
	struct x86_kernel kernel;     /* what was loaded, entry protocol */
	struct kvm_cpuid2 *cpuid;     /* KVM_GET_SUPPORTED_CPUID */
	uint64_t initrd_addr, initrd_size;
	struct i8042 *i8042;          /* for Ctrl-Alt-Del */
	struct pci_bus *pci;          /* with --virtio pci */
	/* the virtio-mmio devices announced, for the DSDT */
	struct arch_virtio_slot virtio[X86_VIRTIO_SLOTS];
	unsigned int nr_virtio;
};

int x86_get_supported_cpuid(struct vm *vm, struct kvm_cpuid2 **out);

#endif
