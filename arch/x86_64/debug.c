// SPDX-License-Identifier: MIT
/*
 * The debugger's hooks (arch.h) on KVM: registers through KVM_GET/SET_REGS,
 * SREGS, FPU and the one MSR GDB shows; the paging state for the walker;
 * int3 as the software breakpoint; the debug registers and single-step
 * through KVM_SET_GUEST_DEBUG; KVM_NMI. The conversions are in gdb.c.
 */
#include <errno.h>
#include <string.h>

#include "../../vmm/kvm.h"
#include "../../vmm/log.h"
#include "../../vmm/vmm.h"
#include "../arch.h"
#include "gdb.h"

#define MSR_KERNEL_GS_BASE 0xc0000102
#define X86_INT3           0xcc

const struct gdb_target *arch_gdb_target(void)
{
	return &x86_gdb_target;
}

static int msr_kernel_gs_base(struct vcpu *v, uint64_t *val, bool set)
{
	union {
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m;
	int ret;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.hdr.entries[0].index = MSR_KERNEL_GS_BASE;
	m.hdr.entries[0].data = *val;
	ret = kvm_ioctl(v->fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, &m);
	if (ret < 0)
		return ret;
	if (ret != 1)
		return -EIO;
	*val = m.hdr.entries[0].data;
	return 0;
}

static int get_state(struct vcpu *v, struct x86_gdb_state *st)
{
	int ret;

	memset(st, 0, sizeof(*st));
	if ((ret = kvm_ioctl(v->fd, KVM_GET_REGS, &st->regs)) < 0 ||
	    (ret = kvm_ioctl(v->fd, KVM_GET_SREGS, &st->sregs)) < 0 ||
	    (ret = kvm_ioctl(v->fd, KVM_GET_FPU, &st->fpu)) < 0)
		return ret;
	return msr_kernel_gs_base(v, &st->kernel_gs_base, false);
}

int arch_gdb_get_regs(struct vcpu *v, uint8_t *buf)
{
	struct x86_gdb_state st;
	int ret = get_state(v, &st);

	if (ret)
		return ret;
	x86_gdb_get(&st, buf);
	return 0;
}

int arch_gdb_set_regs(struct vcpu *v, const uint8_t *buf)
{
	struct x86_gdb_state st;
	unsigned int changed;
	int ret = get_state(v, &st);

	if (ret)
		return ret;
	changed = x86_gdb_put(&st, buf);
	/* the segment registers first: they decide how the others apply */
	if ((changed & X86_GDB_CHANGED_SREGS) &&
	    (ret = kvm_ioctl(v->fd, KVM_SET_SREGS, &st.sregs)) < 0)
		return ret;
	if ((changed & X86_GDB_CHANGED_REGS) &&
	    (ret = kvm_ioctl(v->fd, KVM_SET_REGS, &st.regs)) < 0)
		return ret;
	if ((changed & X86_GDB_CHANGED_FPU) &&
	    (ret = kvm_ioctl(v->fd, KVM_SET_FPU, &st.fpu)) < 0)
		return ret;
	if (changed & X86_GDB_CHANGED_MSR)
		return msr_kernel_gs_base(v, &st.kernel_gs_base, true);
	return 0;
}

_Static_assert(sizeof(struct x86_mmu) <= ARCH_GDB_MMU_SIZE,
	       "ARCH_GDB_MMU_SIZE holds the paging state");

int arch_gdb_mmu(struct vcpu *v, void *mmu, gva_walk_fn *walk)
{
	struct kvm_sregs s;
	struct x86_mmu m;
	int ret = kvm_ioctl(v->fd, KVM_GET_SREGS, &s);

	if (ret < 0)
		return ret;
	m = x86_mmu_from_sregs(&s);
	memcpy(mmu, &m, sizeof(m));
	*walk = x86_gva_walk;
	return 0;
}

int arch_gdb_sw_insn(uint64_t kind, uint8_t insn[ARCH_GDB_INSN_MAX])
{
	/* gdb's amd64 breakpoint is int3, kind 1 */
	if (kind != 1)
		return -EOPNOTSUPP;
	insn[0] = X86_INT3;
	return 1;
}

int arch_gdb_hw_check(struct vm *vm, const struct gdb_bp *hw, unsigned int n)
{
	struct x86_gdb_hw lay;

	(void)vm; /* four debug registers on every x86-64 CPU */
	return x86_gdb_hw_layout(hw, n, &lay);
}

int arch_gdb_set_debug(struct vcpu *v, const struct arch_gdb_debug *d)
{
	struct kvm_guest_debug g;
	int ret;

	memset(&g, 0, sizeof(g));
	if (d->nr_hw) {
		struct x86_gdb_hw lay;

		ret = x86_gdb_hw_layout(d->hw, d->nr_hw, &lay);
		if (ret)
			return ret;
		memcpy(g.arch.debugreg, lay.dr, sizeof(lay.dr));
		g.control |= KVM_GUESTDBG_USE_HW_BP;
	}
	if (d->sw)
		g.control |= KVM_GUESTDBG_USE_SW_BP;
	if (d->step) {
		g.control |= KVM_GUESTDBG_SINGLESTEP;
		/* a step lands on the next instruction, not in an interrupt handler */
		if (kvm_check_cap(v->vm->vm_fd, KVM_CAP_SET_GUEST_DEBUG2) &
		    KVM_GUESTDBG_BLOCKIRQ)
			g.control |= KVM_GUESTDBG_BLOCKIRQ;
	}
	if (d->inject == 1)
		g.control |= KVM_GUESTDBG_INJECT_DB;
	else if (d->inject == 3)
		g.control |= KVM_GUESTDBG_INJECT_BP;
	else if (d->inject)
		return -EOPNOTSUPP;
	if (g.control)
		g.control |= KVM_GUESTDBG_ENABLE;
	ret = kvm_ioctl(v->fd, KVM_SET_GUEST_DEBUG, &g);
	return ret < 0 ? ret : 0;
}

void arch_gdb_debug_exit(struct vcpu *v, const struct gdb_bp *hw,
			 unsigned int n, struct arch_gdb_exit *out)
{
	x86_gdb_classify(&v->run->debug.arch, hw, n, out);
}

bool arch_has_nmi(void)
{
	return true;
}

int arch_vcpu_nmi(struct vcpu *v)
{
	struct kvm_mp_state mp;
	int ret = kvm_ioctl(v->fd, KVM_GET_MP_STATE, &mp);

	if (ret < 0)
		return ret;
	/* an AP still waiting for its SIPI would take it in its start-up code */
	if (mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
	    mp.mp_state == KVM_MP_STATE_INIT_RECEIVED ||
	    mp.mp_state == KVM_MP_STATE_SIPI_RECEIVED) {
		debug("vCPU %u: not started by the guest; no NMI", v->id);
		return 0;
	}
	ret = kvm_ioctl(v->fd, KVM_NMI, NULL);
	return ret < 0 ? ret : 0;
}

size_t arch_debug_ioctls(const unsigned long **reqs)
{
	static const unsigned long reqs_[] = {
		KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS,
		KVM_GET_FPU, KVM_SET_FPU, KVM_GET_MSRS, KVM_SET_MSRS,
		KVM_SET_GUEST_DEBUG, KVM_GET_MP_STATE, KVM_NMI,
	};

	*reqs = reqs_;
	return sizeof(reqs_) / sizeof(reqs_[0]);
}
