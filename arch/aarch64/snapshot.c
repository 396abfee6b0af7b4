// SPDX-License-Identifier: MIT
/*
 * aarch64 snapshot state: not written yet. The core and system registers
 * (KVM_GET_ONE_REG over KVM_GET_REG_LIST), the VGIC's distributor and
 * redistributor state (KVM_DEV_ARM_VGIC_GRP_*) and the timers are what a
 * snapshot needs here; until then every hook refuses by name, so a
 * snapshot is never half made or half restored.
 */
#include <errno.h>
#include <stdio.h>

#include "../../vmm/snapfile.h"
#include "../../vmm/vmm.h"
#include "../arch.h"

uint32_t arch_snapshot_arch(void)
{
	return SNAP_ARCH_AARCH64;
}

static int refuse(char *err, size_t errlen)
{
	snprintf(err, errlen, "snapshots are not supported on aarch64 yet "
		 "(x86-64 only)");
	return -EOPNOTSUPP;
}

int arch_snapshot_save_vm(struct vm *vm, struct sbuf *b, char *err,
			  size_t errlen)
{
	(void)vm;
	(void)b;
	return refuse(err, errlen);
}

int arch_snapshot_save_vcpu(struct vcpu *v, struct sbuf *b, char *err,
			    size_t errlen)
{
	(void)v;
	(void)b;
	return refuse(err, errlen);
}

int arch_snapshot_restore_vcpu(struct vcpu *v, struct sbuf *r, char *err,
			       size_t errlen)
{
	(void)v;
	(void)r;
	return refuse(err, errlen);
}

int arch_snapshot_restore_vm(struct vm *vm, struct sbuf *r, char *err,
			     size_t errlen)
{
	(void)vm;
	(void)r;
	return refuse(err, errlen);
}

size_t arch_snapshot_ioctls(const unsigned long **reqs)
{
	*reqs = NULL;
	return 0;
}
