// SPDX-License-Identifier: MIT
/*
 * The in-kernel interrupt controller: a VGICv2 (what the GIC-400 of a
 * Raspberry Pi 4/5 can virtualise) or a VGICv3 (most arm64 servers, whose
 * GICv3 often lacks the GICv2 compatibility interface: creating a VGICv2
 * there fails with ENODEV). Created before the vCPUs, initialised after
 * them and before the first KVM_RUN, as KVM requires.
 */
#include <errno.h>
#include <string.h>

#include "../../vmm/kvm.h"
#include "../../vmm/log.h"
#include "arm64_arch.h"

#define GICV2_MAX_CPUS 8

static int gic_attr(int fd, uint32_t group, uint64_t attr, void *val,
		    const char *what)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (uintptr_t)val,
	};
	int ret = kvm_ioctl_quiet(fd, KVM_SET_DEVICE_ATTR, &a);

	if (ret < 0)
		error("VGIC: cannot set %s: %s", what, strerror(-ret));
	return ret < 0 ? ret : 0;
}

/* Returns the device fd, -ENODEV when KVM cannot emulate this version. */
static int gic_try(struct vm *vm, enum arm64_gic_version v)
{
	struct kvm_create_device cd = {
		.type = v == ARM64_GIC_V2 ? KVM_DEV_TYPE_ARM_VGIC_V2 :
					    KVM_DEV_TYPE_ARM_VGIC_V3,
	};
	int ret = kvm_ioctl_quiet(vm->vm_fd, KVM_CREATE_DEVICE, &cd);

	if (ret < 0 && ret != -ENODEV)
		error("KVM_CREATE_DEVICE (VGICv%d): %s", v, strerror(-ret));
	return ret < 0 ? ret : (int)cd.fd;
}

static int gic_pick(struct vm *vm, struct arm64_vm *a)
{
	enum arm64_gic_version want = (enum arm64_gic_version)vm->cfg.gic;
	unsigned int cpus = vm->cfg.cpus;
	int fd;

	if (want == ARM64_GIC_V2 && cpus > GICV2_MAX_CPUS) {
		error("--gic v2: a GICv2 serves at most %d vCPUs", GICV2_MAX_CPUS);
		return -EINVAL;
	}
	if (want != ARM64_GIC_V3 && cpus <= GICV2_MAX_CPUS) {
		fd = gic_try(vm, ARM64_GIC_V2);
		if (fd >= 0) {
			a->gic = ARM64_GIC_V2;
			return fd;
		}
		if (fd != -ENODEV)
			return fd;
		if (want == ARM64_GIC_V2) {
			error("--gic v2: this host cannot emulate a GICv2 (its "
			      "GICv3 has no GICv2 compatibility interface): "
			      "use --gic v3 or auto");
			return fd;
		}
		/* the normal case on arm64 servers: said with -v only, so that
		 * a start-up error there stays one line */
		debug("GICv3: this host's KVM cannot emulate a GICv2");
	}
	fd = gic_try(vm, ARM64_GIC_V3);
	if (fd >= 0) {
		a->gic = ARM64_GIC_V3;
		return fd;
	}
	if (fd != -ENODEV)
		return fd;
	if (want == ARM64_GIC_V3)
		error("--gic v3: this host cannot emulate a GICv3 (the GIC-400 "
		      "of a Raspberry Pi is a GICv2): use --gic v2 or auto");
	else if (cpus > GICV2_MAX_CPUS)
		error("--cpus %u: this host has no GICv3 emulation, and a GICv2 "
		      "serves at most %d vCPUs", cpus, GICV2_MAX_CPUS);
	else
		error("this host's KVM can emulate neither a GICv2 nor a GICv3");
	return fd;
}

int arm64_gic_create(struct vm *vm, struct arm64_vm *a)
{
	uint64_t dist = ARM64_GIC_DIST_ADDR, cpu = ARM64_GIC_CPU_ADDR;
	uint64_t redist = ARM64_GIC_REDIST_ADDR;
	uint32_t nr_irqs = ARM64_GIC_NR_IRQS;
	int fd = gic_pick(vm, a), ret;

	if (fd < 0)
		return fd;
	a->gic_fd = fd;
	debug("irqchip: VGICv%d", a->gic);
	if (a->gic == ARM64_GIC_V2) {
		if ((ret = gic_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
				    KVM_VGIC_V2_ADDR_TYPE_DIST, &dist,
				    "the distributor address")) ||
		    (ret = gic_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
				    KVM_VGIC_V2_ADDR_TYPE_CPU, &cpu,
				    "the CPU interface address")))
			return ret;
	} else {
		if ((ret = gic_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
				    KVM_VGIC_V3_ADDR_TYPE_DIST, &dist,
				    "the distributor address")) ||
		    (ret = gic_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
				    KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist,
				    "the redistributor address")))
			return ret;
	}
	return gic_attr(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs,
			"the number of interrupts");
}

int arm64_gic_init(struct vm *vm, struct arm64_vm *a)
{
	(void)vm;
	return gic_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
			KVM_DEV_ARM_VGIC_CTRL_INIT, NULL, "initialise (CTRL_INIT)");
}
