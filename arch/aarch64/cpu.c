// SPDX-License-Identifier: MIT
/*
 * vCPU setup: KVM_ARM_VCPU_INIT with the host's preferred target and
 * in-kernel PSCI 0.2 (secondaries start powered off and wait for the
 * guest's PSCI CPU_ON), then the boot CPU's registers for the arm64 boot
 * protocol: PC = the Image, x0 = the device tree, x1..x3 = 0, EL1h with
 * D, A, I and F masked.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../../vmm/kvm.h"
#include "../../vmm/log.h"
#include "../arch.h"
#include "arm64_arch.h"

#define PSTATE_EL1H   0x5
#define PSTATE_F      (1U << 6)
#define PSTATE_I      (1U << 7)
#define PSTATE_A      (1U << 8)
#define PSTATE_D      (1U << 9)

#define CORE_REG(field) \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
	 KVM_REG_ARM_CORE_REG(field))
#define REG_MPIDR_EL1        ARM64_SYS_REG(3, 0, 0, 0, 5)
#define REG_ID_AA64MMFR0_EL1 ARM64_SYS_REG(3, 0, 0, 7, 0)
#define REG_ESR_EL1          ARM64_SYS_REG(3, 0, 5, 2, 0)
#define REG_FAR_EL1          ARM64_SYS_REG(3, 0, 6, 0, 0)
#define REG_SCTLR_EL1        ARM64_SYS_REG(3, 0, 1, 0, 0)
#define REG_VBAR_EL1         ARM64_SYS_REG(3, 0, 12, 0, 0)

static int set_reg(struct vcpu *v, uint64_t id, uint64_t val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)&val };

	return kvm_ioctl(v->fd, KVM_SET_ONE_REG, &r) < 0 ? -EIO : 0;
}

static int get_reg(struct vcpu *v, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)val };

	return kvm_ioctl_quiet(v->fd, KVM_GET_ONE_REG, &r);
}

int arm64_read_mmfr0(struct vcpu *v, uint64_t *mmfr0)
{
	int ret = get_reg(v, REG_ID_AA64MMFR0_EL1, mmfr0);

	return ret < 0 ? ret : 0;
}

int arch_vcpu_init(struct vcpu *v)
{
	struct arm64_vm *a = v->vm->arch;
	struct kvm_vcpu_init init = a->target;
	int ret;

	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (v->id)
		init.features[0] |= 1U << KVM_ARM_VCPU_POWER_OFF;
	ret = kvm_ioctl(v->fd, KVM_ARM_VCPU_INIT, &init);
	if (ret < 0)
		return ret;
	/* the device tree's cpu@ nodes must name KVM's MPIDRs */
	ret = get_reg(v, REG_MPIDR_EL1, &a->mpidr[v->id]);
	if (ret < 0) {
		error("vCPU %u: cannot read MPIDR_EL1: %s", v->id, strerror(-ret));
		return ret;
	}
	if (v->id)
		return 0;
	if ((ret = set_reg(v, CORE_REG(regs.pstate), PSTATE_EL1H | PSTATE_D |
			   PSTATE_A | PSTATE_I | PSTATE_F)) ||
	    (ret = set_reg(v, CORE_REG(regs.pc), a->boot.kernel_addr)) ||
	    (ret = set_reg(v, CORE_REG(regs.regs[0]), a->boot.fdt_addr)))
		return ret;
	for (unsigned int i = 1; i <= 3; i++)
		if ((ret = set_reg(v, CORE_REG(regs.regs[i]), 0)))
			return ret;
	return 0;
}

size_t arch_vcpu_run_ioctls(const unsigned long **reqs)
{
	static const unsigned long dump[] = { KVM_GET_ONE_REG };

	*reqs = dump;
	return sizeof(dump) / sizeof(dump[0]);
}

void arch_vcpu_dump(struct vcpu *v)
{
	uint64_t x[31], sp, pc, pstate, sp_el1, elr, esr, far, sctlr, vbar;
	int bad = 0;

	for (unsigned int i = 0; i < 31; i++)
		bad |= get_reg(v, CORE_REG(regs.regs[i]), &x[i]) < 0;
	bad |= get_reg(v, CORE_REG(regs.sp), &sp) < 0;
	bad |= get_reg(v, CORE_REG(regs.pc), &pc) < 0;
	bad |= get_reg(v, CORE_REG(regs.pstate), &pstate) < 0;
	bad |= get_reg(v, CORE_REG(sp_el1), &sp_el1) < 0;
	bad |= get_reg(v, CORE_REG(elr_el1), &elr) < 0;
	if (bad) {
		error("vCPU %u: cannot read registers", v->id);
		return;
	}
	/* system registers are a bonus: not every kernel exposes them all */
	if (get_reg(v, REG_ESR_EL1, &esr) < 0)
		esr = 0;
	if (get_reg(v, REG_FAR_EL1, &far) < 0)
		far = 0;
	if (get_reg(v, REG_SCTLR_EL1, &sctlr) < 0)
		sctlr = 0;
	if (get_reg(v, REG_VBAR_EL1, &vbar) < 0)
		vbar = 0;
	fprintf(stderr, "vCPU %u registers:\n"
		" pc %016llx pstate %016llx sp %016llx sp_el1 %016llx\n"
		" elr_el1 %016llx esr_el1 %016llx far_el1 %016llx\n"
		" sctlr_el1 %016llx vbar_el1 %016llx\n",
		v->id, (unsigned long long)pc, (unsigned long long)pstate,
		(unsigned long long)sp, (unsigned long long)sp_el1,
		(unsigned long long)elr, (unsigned long long)esr,
		(unsigned long long)far, (unsigned long long)sctlr,
		(unsigned long long)vbar);
	for (unsigned int i = 0; i < 31; i += 4) {
		fprintf(stderr, " ");
		for (unsigned int j = i; j < i + 4 && j < 31; j++)
			fprintf(stderr, " x%-2u %016llx", j,
				(unsigned long long)x[j]);
		fprintf(stderr, "\n");
	}
}
