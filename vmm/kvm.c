// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm.h"
#include "log.h"

int kvm_ioctl_quiet(int fd, unsigned long req, void *arg)
{
	int ret;

	/*
	 * Only EINTR is retried: some ioctls answer EAGAIN until something
	 * else has happened (arm64's KVM_IRQFD before the VGIC is ready), and
	 * retrying those would spin forever.
	 */
	do
		ret = ioctl(fd, req, arg);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

int kvm_ioctl_err(int fd, unsigned long req, void *arg, const char *name,
		  char *err, size_t errlen)
{
	int ret = kvm_ioctl_quiet(fd, req, arg);

	if (ret < 0)
		snprintf(err, errlen, "%s: %s", name, strerror(-ret));
	return ret;
}

int kvm_ioctl_named(int fd, unsigned long req, void *arg, const char *name)
{
	int ret = kvm_ioctl_quiet(fd, req, arg);

	if (ret < 0)
		error("%s: %s", name, strerror(-ret));
	return ret;
}

int kvm_check_cap(int fd, long cap)
{
	int ret = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return ret < 0 ? 0 : ret;
}

int kvm_need_cap_named(int fd, long cap, const char *name)
{
	if (kvm_check_cap(fd, cap))
		return 0;
	error("KVM capability %s is missing on this host", name);
	return -ENOTSUP;
}
