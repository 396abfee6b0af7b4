// SPDX-License-Identifier: MIT
/*
 * The debugger's hooks (arch.h) on KVM: every register GDB shows through
 * KVM_GET/SET_ONE_REG (the ids are in gdb.c), the EL1 translation
 * registers for the walker, BRK #0 as the software breakpoint, and the
 * debug registers and single-step through KVM_SET_GUEST_DEBUG. There is
 * no NMI to give a vCPU here.
 */
#include <errno.h>
#include <string.h>

#include "../../vmm/kvm.h"
#include "../../vmm/log.h"
#include "../../vmm/vmm.h"
#include "../arch.h"
#include "gdb.h"

#define A64_BRK0 0xd4200000U /* BRK #0 */

_Static_assert(ARM64_DBG_REGS == KVM_ARM_MAX_DBG_REGS,
	       "struct arm64_gdb_hw has KVM's number of debug registers");

const struct gdb_target *arch_gdb_target(void)
{
	return &arm64_gdb_target;
}

static int one_reg(struct vcpu *v, const struct arm64_one_reg *r,
		   struct arm64_gdb_state *st, bool set)
{
	struct kvm_one_reg k = {
		.id = r->id, .addr = (uintptr_t)((uint8_t *)st + r->offset),
	};

	int ret = kvm_ioctl_quiet(v->fd, set ? KVM_SET_ONE_REG : KVM_GET_ONE_REG,
				  &k);

	return ret < 0 ? ret : 0;
}

static int get_state(struct vcpu *v, struct arm64_gdb_state *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < arm64_gdb_nr_one_regs; i++) {
		const struct arm64_one_reg *r = &arm64_gdb_one_regs[i];
		int ret = one_reg(v, r, st, false);

		if (ret) {
			error("vCPU %u: KVM_GET_ONE_REG 0x%llx: %s", v->id,
			      (unsigned long long)r->id, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int arch_gdb_get_regs(struct vcpu *v, uint8_t *buf)
{
	struct arm64_gdb_state st;
	int ret = get_state(v, &st);

	if (ret)
		return ret;
	arm64_gdb_get(&st, buf);
	return 0;
}

int arch_gdb_set_regs(struct vcpu *v, const uint8_t *buf)
{
	struct arm64_gdb_state old, st;
	int ret = get_state(v, &old);

	if (ret)
		return ret;
	st = old;
	arm64_gdb_put(&st, buf);
	for (unsigned int i = 0; i < arm64_gdb_nr_one_regs; i++) {
		const struct arm64_one_reg *r = &arm64_gdb_one_regs[i];

		if (!memcmp((uint8_t *)&st + r->offset,
			    (uint8_t *)&old + r->offset, r->size))
			continue;
		ret = one_reg(v, r, &st, true);
		if (ret) {
			error("vCPU %u: KVM_SET_ONE_REG 0x%llx: %s", v->id,
			      (unsigned long long)r->id, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

_Static_assert(sizeof(struct arm64_mmu) <= ARCH_GDB_MMU_SIZE,
	       "ARCH_GDB_MMU_SIZE holds the paging state");

int arch_gdb_mmu(struct vcpu *v, void *mmu, gva_walk_fn *walk)
{
	struct arm64_gdb_state st;
	struct arm64_mmu m;
	int ret = get_state(v, &st);

	if (ret)
		return ret;
	m = arm64_mmu_from_state(&st);
	memcpy(mmu, &m, sizeof(m));
	*walk = arm64_gva_walk;
	return 0;
}

int arch_gdb_sw_insn(uint64_t kind, uint8_t insn[ARCH_GDB_INSN_MAX])
{
	/* gdb's aarch64 breakpoint: one instruction, little-endian */
	if (kind != 4)
		return -EOPNOTSUPP;
	for (unsigned int i = 0; i < 4; i++)
		insn[i] = (uint8_t)(A64_BRK0 >> (8 * i));
	return 4;
}

static void hw_counts(struct vm *vm, unsigned int *brps, unsigned int *wrps)
{
	int b = kvm_check_cap(vm->vm_fd, KVM_CAP_GUEST_DEBUG_HW_BPS);
	int w = kvm_check_cap(vm->vm_fd, KVM_CAP_GUEST_DEBUG_HW_WPS);

	*brps = b > 0 ? (unsigned int)b : 0;
	*wrps = w > 0 ? (unsigned int)w : 0;
}

int arch_gdb_hw_check(struct vm *vm, const struct gdb_bp *hw, unsigned int n)
{
	struct arm64_gdb_hw lay;
	unsigned int brps, wrps;

	hw_counts(vm, &brps, &wrps);
	return arm64_gdb_hw_layout(hw, n, brps, wrps, &lay);
}

int arch_gdb_set_debug(struct vcpu *v, const struct arch_gdb_debug *d)
{
	struct kvm_guest_debug g;
	int ret;

	/* KVM cannot hand a guest its own debug exception back */
	if (d->inject)
		return -EOPNOTSUPP;
	memset(&g, 0, sizeof(g));
	if (d->nr_hw) {
		struct arm64_gdb_hw lay;
		unsigned int brps, wrps;

		hw_counts(v->vm, &brps, &wrps);
		ret = arm64_gdb_hw_layout(d->hw, d->nr_hw, brps, wrps, &lay);
		if (ret)
			return ret;
		memcpy(g.arch.dbg_bcr, lay.bcr, sizeof(lay.bcr));
		memcpy(g.arch.dbg_bvr, lay.bvr, sizeof(lay.bvr));
		memcpy(g.arch.dbg_wcr, lay.wcr, sizeof(lay.wcr));
		memcpy(g.arch.dbg_wvr, lay.wvr, sizeof(lay.wvr));
		g.control |= KVM_GUESTDBG_USE_HW;
	}
	if (d->sw)
		g.control |= KVM_GUESTDBG_USE_SW_BP;
	if (d->step)
		g.control |= KVM_GUESTDBG_SINGLESTEP;
	if (g.control)
		g.control |= KVM_GUESTDBG_ENABLE;
	ret = kvm_ioctl(v->fd, KVM_SET_GUEST_DEBUG, &g);
	return ret < 0 ? ret : 0;
}

void arch_gdb_debug_exit(struct vcpu *v, const struct gdb_bp *hw,
			 unsigned int n, struct arch_gdb_exit *out)
{
	struct kvm_one_reg r = {
		.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
		      KVM_REG_ARM_CORE_REG(regs.pc),
	};
	uint64_t pc = 0;

	r.addr = (uintptr_t)&pc;
	if (kvm_ioctl_quiet(v->fd, KVM_GET_ONE_REG, &r) < 0)
		pc = 0;
	arm64_gdb_classify(v->run->debug.arch.hsr, v->run->debug.arch.far, pc,
			   hw, n, out);
}

bool arch_has_nmi(void)
{
	return false;
}

int arch_vcpu_nmi(struct vcpu *v)
{
	(void)v;
	return -EOPNOTSUPP;
}

size_t arch_debug_ioctls(const unsigned long **reqs)
{
	static const unsigned long reqs_[] = {
		KVM_GET_ONE_REG, KVM_SET_ONE_REG, KVM_SET_GUEST_DEBUG,
	};

	*reqs = reqs_;
	return sizeof(reqs_) / sizeof(reqs_[0]);
}
