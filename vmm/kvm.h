/* SPDX-License-Identifier: MIT */
/*
 * ioctl wrappers that name the ioctl in the error message, so a failure
 * reads "KVM_CREATE_IRQCHIP: No such device" rather than a bare errno.
 */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <linux/kvm.h>
#include <stddef.h>

/* Returns the ioctl's result (>= 0) or -errno after logging the failure. */
int kvm_ioctl_named(int fd, unsigned long req, void *arg, const char *name);
/* Same, but silent: for probes whose failure the caller handles. */
int kvm_ioctl_quiet(int fd, unsigned long req, void *arg);

#define kvm_ioctl(fd, req, arg) kvm_ioctl_named((fd), (req), (arg), #req)

/*
 * Same, but the failure goes into err ("NAME: strerror") instead of the
 * log: for a caller that reports it as part of its own line.
 */
int kvm_ioctl_err(int fd, unsigned long req, void *arg, const char *name,
		  char *err, size_t errlen);

/* KVM_CHECK_EXTENSION on the system or VM fd; 0 when absent. */
int kvm_check_cap(int fd, long cap);

/* 0 if the capability is there, else one error line naming it and -ENOTSUP. */
int kvm_need_cap_named(int fd, long cap, const char *name);
#define kvm_need_cap(fd, cap) kvm_need_cap_named((fd), (cap), #cap)

#endif
