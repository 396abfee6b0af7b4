/* SPDX-License-Identifier: MIT */
/* The aarch64 part of struct vm (vm->arch), private to arch/aarch64/. */
#ifndef ARCH_AARCH64_ARM64_ARCH_H
#define ARCH_AARCH64_ARM64_ARCH_H

#include <linux/kvm.h>

#include "../../vmm/vmm.h"
#include "arm64.h"

struct arm64_vm {
	enum arm64_gic_version gic;   /* the VGIC created: V2 or V3 */
	int gic_fd;                   /* its KVM device, -1 before */
	struct kvm_vcpu_init target;  /* KVM_ARM_PREFERRED_TARGET */
	struct arm64_boot boot;       /* where the kernel, initrd, DTB went */
	uint64_t mpidr[VMM_MAX_CPUS]; /* each vCPU's, read after its init */
	struct arm64_fdt_virtio virtio[ARM64_VIRTIO_SLOTS];
	unsigned int nr_virtio;
	struct pl061 *gpio;           /* the power key (Ctrl-Alt-Del) */
};

/*
 * gic.c: create the VGIC that vm->cfg.gic asks for (auto: v2, then v3 on
 * ENODEV) and set its addresses; arm64_gic_init() finishes it once every
 * vCPU exists.
 */
int arm64_gic_create(struct vm *vm, struct arm64_vm *a)
	__attribute__((warn_unused_result));
int arm64_gic_init(struct vm *vm, struct arm64_vm *a)
	__attribute__((warn_unused_result));

/* cpu.c: ID_AA64MMFR0_EL1 of vCPU 0 as the guest sees it; 0 or -errno. */
int arm64_read_mmfr0(struct vcpu *v, uint64_t *mmfr0);

#endif
