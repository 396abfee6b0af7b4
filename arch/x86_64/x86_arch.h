/* SPDX-License-Identifier: MIT */
/* The x86-64 part of struct vm (vm->arch), private to arch/x86_64/. */
#ifndef ARCH_X86_64_X86_ARCH_H
#define ARCH_X86_64_X86_ARCH_H

#include <linux/kvm.h>

#include "x86.h"

struct vm;
struct i8042;

struct x86_vm {
	struct x86_kernel kernel;     /* what was loaded, entry protocol */
	struct kvm_cpuid2 *cpuid;     /* KVM_GET_SUPPORTED_CPUID */
	uint64_t initrd_addr, initrd_size;
	struct i8042 *i8042;          /* for Ctrl-Alt-Del */
};

int x86_get_supported_cpuid(struct vm *vm, struct kvm_cpuid2 **out);

#endif
