// SPDX-License-Identifier: MIT
/*
 * aarch64 snapshot state (the sections' layouts: arm64.h, snapstate.c).
 * Per vCPU: every register KVM_GET_REG_LIST names (the core registers,
 * FP/SIMD, the system registers, the firmware's PSCI/SMCCC registers, the
 * timers), its MP state (PSCI on or off) and its pending events (an
 * SError), where KVM has KVM_CAP_VCPU_EVENTS. Per VM: the VGIC, v2 or v3,
 * read with every vCPU out of KVM_RUN (the VM is paused) and kept as the
 * ordered writes that put it back.
 *
 * A restore runs on a VM built from the same configuration as a boot
 * builds it: each vCPU made by KVM_ARM_VCPU_INIT with the same target and
 * features (in-kernel PSCI 0.2), the VGIC of the same version created
 * before the vCPUs and initialised after them (KVM_DEV_ARM_VGIC_CTRL_INIT,
 * arch_irqchip_finish), then the vCPUs' registers and the VGIC's state,
 * all before the first KVM_RUN. The state goes in after the VGIC's init
 * because KVM refuses a GICv3's register accesses until then.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/state.h"
#include "../../vmm/kvm.h"
#include "../../vmm/log.h"
#include "../../vmm/snapfile.h"
#include "../../vmm/vmm.h"
#include "../arch.h"
#include "arm64_arch.h"

/* snapstate.c spells KVM's numbers out; these are the kernel's */
_Static_assert(ARM64_REG_TIMER_CTL == KVM_REG_ARM_TIMER_CTL, "TIMER_CTL");
_Static_assert(ARM64_REG_TIMER_CNT == KVM_REG_ARM_TIMER_CNT, "TIMER_CNT");
_Static_assert(ARM64_REG_TIMER_CVAL == KVM_REG_ARM_TIMER_CVAL, "TIMER_CVAL");
#ifdef KVM_REG_ARM_PTIMER_CNT
_Static_assert(ARM64_REG_PTIMER_CTL == KVM_REG_ARM_PTIMER_CTL, "PTIMER_CTL");
_Static_assert(ARM64_REG_PTIMER_CNT == KVM_REG_ARM_PTIMER_CNT, "PTIMER_CNT");
_Static_assert(ARM64_REG_PTIMER_CVAL == KVM_REG_ARM_PTIMER_CVAL, "PTIMER_CVAL");
#endif
_Static_assert(ARM64_REG_SIZE_SHIFT == KVM_REG_SIZE_SHIFT, "size field");
_Static_assert(ARM64_REG_SIZE_MASK == KVM_REG_SIZE_MASK, "size field");
_Static_assert(ARM64_REG_ARM64 == KVM_REG_ARM64, "arm64 registers");
_Static_assert(ARM64_VGIC_GRP_DIST_REGS == KVM_DEV_ARM_VGIC_GRP_DIST_REGS, "");
_Static_assert(ARM64_VGIC_GRP_CPU_REGS == KVM_DEV_ARM_VGIC_GRP_CPU_REGS, "");
_Static_assert(ARM64_VGIC_GRP_REDIST_REGS == KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, "");
_Static_assert(ARM64_VGIC_GRP_CPU_SYSREGS == KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, "");
_Static_assert(ARM64_VGIC_GRP_LEVEL_INFO == KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, "");
_Static_assert(ARM64_VGIC_LEVEL_SHIFT == KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT, "");
_Static_assert(VGIC_LEVEL_INFO_LINE_LEVEL == 0, "LEVEL_INFO's info field");
_Static_assert(sizeof(struct kvm_vcpu_events) <= ARM64_EVENTS_MAX, "events");

uint32_t arch_snapshot_arch(void)
{
	return SNAP_ARCH_AARCH64;
}

/* ioctl on fd, its name in err on failure */
#define IOC(fd, req, arg) kvm_ioctl_err((fd), (req), (arg), #req, err, errlen)

/* What arch_vcpu_init gives every vCPU (the boot CPU's POWER_OFF aside). */
static uint32_t vcpu_features(const struct arm64_vm *a)
{
	return a->target.features[0] | 1U << KVM_ARM_VCPU_PSCI_0_2;
}

/* KVM_GET_REG_LIST into *out (malloc), its count in *n. */
static int reg_list(struct vcpu *v, uint64_t **out, unsigned int *n,
		    char *err, size_t errlen)
{
	struct kvm_reg_list probe = { .n = 0 }, *list;
	int ret = kvm_ioctl_quiet(v->fd, KVM_GET_REG_LIST, &probe);

	/* the first call says how many (E2BIG) */
	if (ret != -E2BIG || !probe.n || probe.n > ARM64_MAX_REGS) {
		snprintf(err, errlen, "vCPU %u: KVM_GET_REG_LIST: %s", v->id,
			 ret < 0 ? strerror(-ret) : "no registers");
		return ret < 0 ? ret : -EIO;
	}
	list = calloc(1, sizeof(*list) + probe.n * sizeof(list->reg[0]));
	if (!list) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	list->n = probe.n;
	if ((ret = IOC(v->fd, KVM_GET_REG_LIST, list)) < 0) {
		free(list);
		return ret;
	}
	*n = (unsigned int)list->n;
	*out = malloc(*n * sizeof(**out) + 1);
	if (!*out) {
		free(list);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(*out, list->reg, *n * sizeof(**out));
	free(list);
	return 0;
}

int arch_snapshot_save_vcpu(struct vcpu *v, struct sbuf *b, char *err,
			    size_t errlen)
{
	const struct arm64_vm *a = v->vm->arch;
	struct arm64_vcpu_snap s = {
		.target = a->target.target, .features = vcpu_features(a),
	};
	struct kvm_mp_state mp;
	struct kvm_vcpu_events ev;
	uint64_t *ids = NULL;
	uint8_t (*vals)[ARM64_REG_MAX_BYTES] = NULL;
	unsigned int n = 0;
	int ret;

	if ((ret = reg_list(v, &ids, &n, err, errlen)) < 0)
		return ret;
	n = arm64_reg_restore_order(ids, n);
	vals = calloc(n ? n : 1, sizeof(*vals));
	if (!vals) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct kvm_one_reg r = { .id = ids[i], .addr = (uintptr_t)vals[i] };
		size_t sz = arm64_reg_bytes(ids[i]);

		if (!sz || sz > ARM64_REG_MAX_BYTES) {
			snprintf(err, errlen, "vCPU %u: register 0x%llx is %zu "
				 "bytes wide", v->id, (unsigned long long)ids[i], sz);
			ret = -EOPNOTSUPP;
			goto out;
		}
		ret = kvm_ioctl_quiet(v->fd, KVM_GET_ONE_REG, &r);
		if (ret < 0) {
			snprintf(err, errlen, "vCPU %u: KVM_GET_ONE_REG 0x%llx: %s",
				 v->id, (unsigned long long)ids[i], strerror(-ret));
			goto out;
		}
	}
	if ((ret = IOC(v->fd, KVM_GET_MP_STATE, &mp)) < 0)
		goto out;
	s.mp_state = mp.mp_state;
	if (kvm_check_cap(v->vm->vm_fd, KVM_CAP_VCPU_EVENTS) > 0) {
		if ((ret = IOC(v->fd, KVM_GET_VCPU_EVENTS, &ev)) < 0)
			goto out;
		memcpy(s.events, &ev, sizeof(ev));
		s.events_len = sizeof(ev);
	}
	s.nr_regs = n;
	arm64_vcpu_snap_put(b, &s);
	for (unsigned int i = 0; i < n; i++)
		arm64_vcpu_snap_put_reg(b, ids[i], vals[i]);
	ret = 0;
out:
	free(ids);
	free(vals);
	return ret < 0 ? ret : 0;
}

int arch_snapshot_restore_vcpu(struct vcpu *v, struct sbuf *r, char *err,
			       size_t errlen)
{
	const struct arm64_vm *a = v->vm->arch;
	struct arm64_vcpu_snap s;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events ev;
	const uint8_t *val;
	size_t pos = 0;
	uint64_t id;
	int ret;

	if (arm64_vcpu_snap_parse(r, &s, err, errlen)) {
		snprintf(err, errlen, "vCPU %u: malformed state", v->id);
		return -EINVAL;
	}
	if (s.target != a->target.target || s.features != vcpu_features(a)) {
		snprintf(err, errlen, "vCPU %u: the snapshot's vCPUs are KVM "
			 "target %u with features 0x%x, this host's are target "
			 "%u with 0x%x: restore it on the same kind of host",
			 v->id, s.target, s.features, a->target.target,
			 vcpu_features(a));
		return -EINVAL;
	}
	if (s.events_len && s.events_len != sizeof(ev)) {
		snprintf(err, errlen, "vCPU %u: its pending events are not the "
			 "%zu bytes of this build's", v->id, sizeof(ev));
		return -EINVAL;
	}
	/* the vCPU is KVM_ARM_VCPU_INIT'd (arch_vcpu_init): set what it had */
	while (!arm64_vcpu_snap_reg(&s, &pos, &id, &val)) {
		uint8_t buf[ARM64_REG_MAX_BYTES];
		struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)buf };

		memcpy(buf, val, arm64_reg_bytes(id));
		ret = kvm_ioctl_quiet(v->fd, KVM_SET_ONE_REG, &reg);
		if (ret < 0) {
			snprintf(err, errlen, "vCPU %u: KVM refused register "
				 "0x%llx: %s", v->id, (unsigned long long)id,
				 strerror(-ret));
			return ret;
		}
	}
	mp.mp_state = s.mp_state;
	if ((ret = IOC(v->fd, KVM_SET_MP_STATE, &mp)) < 0)
		return ret;
	if (s.events_len) {
		memcpy(&ev, s.events, sizeof(ev));
		if ((ret = IOC(v->fd, KVM_SET_VCPU_EVENTS, &ev)) < 0)
			return ret;
	}
	return 0;
}

/* One VGIC register through the device's attribute interface. */
static int vgic_access(int fd, uint32_t group, uint64_t attr, uint64_t *val,
		       bool write)
{
	uint32_t v32 = (uint32_t)*val;
	bool wide = group == KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS;
	struct kvm_device_attr a = {
		.group = group, .attr = attr,
		.addr = wide ? (uintptr_t)val : (uintptr_t)&v32,
	};
	int ret = kvm_ioctl_quiet(fd, write ? KVM_SET_DEVICE_ATTR :
				  KVM_GET_DEVICE_ATTR, &a);

	if (!ret && !write && !wide)
		*val = v32;
	return ret < 0 ? ret : 0;
}

static int vgic_read(void *ctx, uint32_t group, uint64_t attr, uint64_t *val)
{
	const struct arm64_vm *a = ctx;

	return vgic_access(a->gic_fd, group, attr, val, false);
}

int arch_snapshot_save_vm(struct vm *vm, struct sbuf *b, char *err,
			  size_t errlen)
{
	struct arm64_vm *a = vm->arch;
	int ret = arm64_vgic_save(b, a->gic, ARM64_GIC_NR_IRQS, vm->nr_vcpus,
				  a->mpidr, vgic_read, a);

	if (ret)
		snprintf(err, errlen, "cannot read the VGIC's state "
			 "(KVM_GET_DEVICE_ATTR): %s", strerror(-ret));
	return ret;
}

int arch_snapshot_restore_vm(struct vm *vm, struct sbuf *r, char *err,
			     size_t errlen)
{
	struct arm64_vm *a = vm->arch;
	struct arm64_vgic_snap s;
	int ret;

	if (arm64_vgic_parse(r, a->gic, ARM64_GIC_NR_IRQS, vm->nr_vcpus,
			     a->mpidr, &s, err, errlen))
		return -EINVAL;
	for (uint32_t i = 0; i < s.nr_writes; i++) {
		struct arm64_vgic_write w;

		arm64_vgic_write_at(&s, i, &w);
		ret = vgic_access(a->gic_fd, w.group, w.attr, &w.val, true);
		if (ret) {
			snprintf(err, errlen, "VGIC: KVM refused its state (group "
				 "%u, attribute 0x%llx): %s", w.group,
				 (unsigned long long)w.attr, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

size_t arch_snapshot_ioctls(const unsigned long **reqs)
{
	static const unsigned long list[] = {
		KVM_GET_REG_LIST, KVM_GET_ONE_REG, KVM_GET_MP_STATE,
		KVM_GET_VCPU_EVENTS, KVM_GET_DEVICE_ATTR,
	};

	*reqs = list;
	return sizeof(list) / sizeof(list[0]);
}
