// SPDX-License-Identifier: MIT
/*
 * x86-64 snapshot state: per vCPU the registers, special registers,
 * FPU/XSAVE area, XCRs, debug registers, LAPIC, MSRs (every one KVM lists
 * that reads back: TSC, kvmclock, TSC deadline, SYSCALL, ...), pending
 * events and MP state; per VM the in-kernel PICs and IOAPIC, the PIT and
 * kvmclock. Each goes into the section as a length-prefixed copy of the
 * kernel's structure; a restore checks each length against this build's
 * structure and lets KVM check the contents.
 *
 * The restore order is Firecracker's: MP state, registers, special
 * registers, XSAVE, XCRs, debug registers, LAPIC (its timer mode before
 * the TSC-deadline MSR), MSRs, events.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/state.h"
#include "../../vmm/kvm.h"
#include "../../vmm/log.h"
#include "../../vmm/snapfile.h"
#include "../../vmm/vmm.h"
#include "../arch.h"
#include "x86_arch.h"

#define MAX_MSRS 1024
#define XSAVE_MIN 4096 /* struct kvm_xsave */

uint32_t arch_snapshot_arch(void)
{
	return SNAP_ARCH_X86_64;
}

/* ioctl on fd, its name in err on failure */
#define IOC(fd, req, arg) kvm_ioctl_err((fd), (req), (arg), #req, err, errlen)

/* The XSAVE area's size on this host: 4096, or more with AMX (XSAVE2). */
static size_t xsave_size(int vm_fd)
{
	int n = kvm_check_cap(vm_fd, KVM_CAP_XSAVE2);

	return n > XSAVE_MIN ? (size_t)n : XSAVE_MIN;
}

/* Every MSR of KVM's list that this vCPU reads back, into *out (malloc). */
static int read_msrs(struct vcpu *v, struct kvm_msrs **out, char *err,
		     size_t errlen)
{
	struct kvm_msr_list *list;
	struct kvm_msrs *m, *part;
	unsigned int n, kept = 0;
	int ret;

	list = calloc(1, sizeof(*list) + MAX_MSRS * sizeof(list->indices[0]));
	m = calloc(1, sizeof(*m) + MAX_MSRS * sizeof(m->entries[0]));
	part = calloc(1, sizeof(*part) + MAX_MSRS * sizeof(part->entries[0]));
	if (!list || !m || !part) {
		free(list);
		free(m);
		free(part);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	list->nmsrs = MAX_MSRS;
	ret = IOC(v->vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list);
	n = ret < 0 ? 0 : list->nmsrs;
	/* KVM stops at the first MSR it cannot read: leave that one out */
	for (unsigned int at = 0; ret >= 0 && at < n;) {
		part->nmsrs = n - at;
		for (unsigned int i = 0; i < n - at; i++)
			part->entries[i] = (struct kvm_msr_entry){
				.index = list->indices[at + i] };
		ret = IOC(v->fd, KVM_GET_MSRS, part);
		if (ret < 0)
			break;
		memcpy(&m->entries[kept], part->entries,
		       (size_t)ret * sizeof(part->entries[0]));
		kept += (unsigned int)ret;
		at += (unsigned int)ret + 1; /* skip the one it refused */
	}
	free(list);
	free(part);
	if (ret < 0) {
		free(m);
		return ret;
	}
	m->nmsrs = kept;
	*out = m;
	return 0;
}

int arch_snapshot_save_vcpu(struct vcpu *v, struct sbuf *b, char *err,
			    size_t errlen)
{
	size_t xs = xsave_size(v->vm->vm_fd);
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_msrs *msrs = NULL;
	void *xsave = calloc(1, xs);
	int ret;

	if (!xsave) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memset(&xcrs, 0, sizeof(xcrs));
	if ((ret = IOC(v->fd, KVM_GET_MP_STATE, &mp)) < 0 ||
	    (ret = IOC(v->fd, KVM_GET_REGS, &regs)) < 0 ||
	    (ret = IOC(v->fd, KVM_GET_SREGS, &sregs)) < 0 ||
	    (ret = xs > XSAVE_MIN ? IOC(v->fd, KVM_GET_XSAVE2, xsave)
				  : IOC(v->fd, KVM_GET_XSAVE, xsave)) < 0 ||
	    (kvm_check_cap(v->vm->vm_fd, KVM_CAP_XCRS) > 0 &&
	     (ret = IOC(v->fd, KVM_GET_XCRS, &xcrs)) < 0) ||
	    (ret = IOC(v->fd, KVM_GET_DEBUGREGS, &dregs)) < 0 ||
	    (ret = IOC(v->fd, KVM_GET_LAPIC, &lapic)) < 0 ||
	    (ret = read_msrs(v, &msrs, err, errlen)) < 0 ||
	    (ret = IOC(v->fd, KVM_GET_VCPU_EVENTS, &events)) < 0)
		goto out;
	sbuf_put_blob(b, &mp, sizeof(mp));
	sbuf_put_blob(b, &regs, sizeof(regs));
	sbuf_put_blob(b, &sregs, sizeof(sregs));
	sbuf_put_blob(b, xsave, (uint32_t)xs);
	sbuf_put_blob(b, &xcrs, sizeof(xcrs));
	sbuf_put_blob(b, &dregs, sizeof(dregs));
	sbuf_put_blob(b, &lapic, sizeof(lapic));
	sbuf_put_u32(b, msrs->nmsrs);
	sbuf_put(b, msrs->entries, msrs->nmsrs * sizeof(msrs->entries[0]));
	sbuf_put_blob(b, &events, sizeof(events));
	ret = 0;
out:
	free(msrs);
	free(xsave);
	return ret < 0 ? ret : 0;
}

int arch_snapshot_restore_vcpu(struct vcpu *v, struct sbuf *r, char *err,
			       size_t errlen)
{
	size_t xs = xsave_size(v->vm->vm_fd);
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_msrs *msrs = NULL;
	void *xsave = calloc(1, xs);
	uint32_t nmsrs;
	int ret = -EINVAL;

	if (!xsave) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	sbuf_get_blob(r, &mp, sizeof(mp));
	sbuf_get_blob(r, &regs, sizeof(regs));
	sbuf_get_blob(r, &sregs, sizeof(sregs));
	if (!r->err && sbuf_get_blob(r, xsave, (uint32_t)xs)) {
		snprintf(err, errlen, "vCPU %u: its XSAVE area is not the "
			 "%zu bytes of this host's", v->id, xs);
		goto out;
	}
	sbuf_get_blob(r, &xcrs, sizeof(xcrs));
	sbuf_get_blob(r, &dregs, sizeof(dregs));
	sbuf_get_blob(r, &lapic, sizeof(lapic));
	nmsrs = sbuf_get_u32(r);
	if (nmsrs > MAX_MSRS || r->err)
		goto malformed;
	msrs = calloc(1, sizeof(*msrs) + nmsrs * sizeof(msrs->entries[0]));
	if (!msrs) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	msrs->nmsrs = nmsrs;
	sbuf_get(r, msrs->entries, nmsrs * sizeof(msrs->entries[0]));
	sbuf_get_blob(r, &events, sizeof(events));
	if (sbuf_done(r) || xcrs.nr_xcrs > KVM_MAX_XCRS)
		goto malformed;
	if ((ret = IOC(v->fd, KVM_SET_MP_STATE, &mp)) < 0 ||
	    (ret = IOC(v->fd, KVM_SET_REGS, &regs)) < 0 ||
	    (ret = IOC(v->fd, KVM_SET_SREGS, &sregs)) < 0 ||
	    (ret = IOC(v->fd, KVM_SET_XSAVE, xsave)) < 0 ||
	    (xcrs.nr_xcrs && (ret = IOC(v->fd, KVM_SET_XCRS, &xcrs)) < 0) ||
	    (ret = IOC(v->fd, KVM_SET_DEBUGREGS, &dregs)) < 0 ||
	    (ret = IOC(v->fd, KVM_SET_LAPIC, &lapic)) < 0 ||
	    (ret = IOC(v->fd, KVM_SET_MSRS, msrs)) < 0)
		goto out;
	if ((uint32_t)ret < nmsrs) {
		snprintf(err, errlen, "vCPU %u: KVM refused MSR 0x%x",
			 v->id, msrs->entries[ret].index);
		ret = -EINVAL;
		goto out;
	}
	ret = IOC(v->fd, KVM_SET_VCPU_EVENTS, &events);
	goto out;
malformed:
	snprintf(err, errlen, "vCPU %u: malformed state", v->id);
	ret = -EINVAL;
out:
	free(msrs);
	free(xsave);
	return ret < 0 ? ret : 0;
}

int arch_snapshot_save_vm(struct vm *vm, struct sbuf *b, char *err,
			  size_t errlen)
{
	struct kvm_irqchip chip[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	int ret;

	memset(chip, 0, sizeof(chip));
	memset(&clock, 0, sizeof(clock));
	for (unsigned int i = 0; i < 3; i++) {
		chip[i].chip_id = i; /* PIC master, PIC slave, IOAPIC */
		if ((ret = IOC(vm->vm_fd, KVM_GET_IRQCHIP, &chip[i])) < 0)
			return ret;
	}
	/* no in-kernel PIT without --pit: its record stays, zeroed */
	memset(&pit, 0, sizeof(pit));
	if ((vm->cfg.pit && (ret = IOC(vm->vm_fd, KVM_GET_PIT2, &pit)) < 0) ||
	    (ret = IOC(vm->vm_fd, KVM_GET_CLOCK, &clock)) < 0)
		return ret;
	for (unsigned int i = 0; i < 3; i++)
		sbuf_put_blob(b, &chip[i], sizeof(chip[i]));
	sbuf_put_blob(b, &pit, sizeof(pit));
	sbuf_put_u64(b, clock.clock);
	return 0;
}

int arch_snapshot_restore_vm(struct vm *vm, struct sbuf *r, char *err,
			     size_t errlen)
{
	struct kvm_irqchip chip[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	int ret;

	memset(&clock, 0, sizeof(clock));
	for (unsigned int i = 0; i < 3; i++)
		sbuf_get_blob(r, &chip[i], sizeof(chip[i]));
	sbuf_get_blob(r, &pit, sizeof(pit));
	clock.clock = sbuf_get_u64(r);
	if (sbuf_done(r)) {
		snprintf(err, errlen, "the VM's interrupt controller and "
			 "timer state is malformed");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < 3; i++) {
		if (chip[i].chip_id != i) {
			snprintf(err, errlen, "interrupt controller %u: "
				 "malformed state", i);
			return -EINVAL;
		}
		if ((ret = IOC(vm->vm_fd, KVM_SET_IRQCHIP, &chip[i])) < 0)
			return ret;
	}
	/*
	 * kvmclock goes on from where it was (flags 0: no jump by the time
	 * the snapshot spent on disk), as the guest's TSC does from its MSR.
	 */
	/*
	 * The PIT only when this VM has one (the snapshot's configuration
	 * says: machine-config's pit); a snapshot from before --pit existed
	 * had one, and a restore without it leaves its state behind.
	 */
	if ((vm->cfg.pit && (ret = IOC(vm->vm_fd, KVM_SET_PIT2, &pit)) < 0) ||
	    (ret = IOC(vm->vm_fd, KVM_SET_CLOCK, &clock)) < 0)
		return ret;
	return 0;
}

size_t arch_snapshot_ioctls(const unsigned long **reqs)
{
	static const unsigned long list[] = {
		KVM_GET_MP_STATE, KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_XSAVE,
		KVM_GET_XSAVE2, KVM_GET_XCRS, KVM_GET_DEBUGREGS, KVM_GET_LAPIC,
		KVM_GET_MSR_INDEX_LIST, KVM_GET_MSRS, KVM_GET_VCPU_EVENTS,
		KVM_GET_IRQCHIP, KVM_GET_PIT2, KVM_GET_CLOCK,
	};

	*reqs = list;
	return sizeof(list) / sizeof(list[0]);
}
