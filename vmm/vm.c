// SPDX-License-Identifier: MIT
/*
 * The VM's lifecycle. vm_init() makes the event loop (signals, later the
 * control socket), which may run before boot to take configuration.
 * vm_boot() is the boot sequence, in order:
 *
 *   open /dev/kvm -> create the VM -> guest memory -> irqchip and timers ->
 *   console -> devices -> load the kernel -> vCPUs
 *
 * and vm_run() starts the vCPUs and runs the event loop until the VM stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "../arch/arch.h"
#include "../devices/devices.h"
#include "console.h"
#include "evloop.h"
#include "kvm.h"
#include "log.h"
#include "vmm.h"

static int open_kvm(struct vm *vm)
{
	int api;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = -errno;

		if (err == -ENOENT)
			error("/dev/kvm does not exist: this host has no KVM "
			      "(enable virtualization in the firmware and load "
			      "kvm_intel or kvm_amd; on arm64, a kernel with "
			      "CONFIG_KVM booted at EL2)");
		else if (err == -EACCES || err == -EPERM)
			error("/dev/kvm: permission denied (run as root or add "
			      "your user to the 'kvm' group)");
		else
			error("/dev/kvm: %s", strerror(-err));
		return err;
	}
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, NULL);
	if (api != KVM_API_VERSION) {
		error("KVM API version %d, expected %d", api, KVM_API_VERSION);
		return -ENOTSUP;
	}
	/* immediate_exit makes stopping a vCPU race-free */
	if (!kvm_check_cap(vm->kvm_fd, KVM_CAP_IMMEDIATE_EXIT) ||
	    !kvm_check_cap(vm->kvm_fd, KVM_CAP_USER_MEMORY)) {
		error("this kernel's KVM lacks a required capability "
		      "(KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_USER_MEMORY)");
		return -ENOTSUP;
	}
	return 0;
}

static int create_vm(struct vm *vm)
{
	int nr = kvm_check_cap(vm->kvm_fd, KVM_CAP_MAX_VCPUS), ret;
	unsigned long type;

	if (nr <= 0)
		nr = kvm_check_cap(vm->kvm_fd, KVM_CAP_NR_VCPUS);
	if (nr > 0 && vm->cfg.cpus > (unsigned int)nr) {
		error("--cpus %u: this host's KVM supports at most %d vCPUs",
		      vm->cfg.cpus, nr);
		return -EINVAL;
	}
	ret = arch_vm_type(vm, &type);
	if (ret)
		return ret;
	vm->vm_fd = kvm_ioctl(vm->kvm_fd, KVM_CREATE_VM, (void *)type);
	return vm->vm_fd < 0 ? vm->vm_fd : 0;
}

static int setup_memory(struct vm *vm)
{
	uint64_t ranges[ARCH_MAX_RAM_RANGES][2];
	unsigned int nr;
	int ret;

	ret = arch_ram_ranges(&vm->cfg, ranges, &nr);
	if (ret)
		return ret;
	ret = guest_mem_init(&vm->mem, (const uint64_t (*)[2])ranges, nr);
	if (ret) {
		error("cannot allocate %" PRIu64 " MiB of guest memory: %s",
		      vm->cfg.mem_size >> 20, strerror(-ret));
		return ret;
	}
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		struct mem_region *r = &vm->mem.region[i];
		struct kvm_userspace_memory_region kr = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		ret = kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void on_stop_event(struct vm *vm, void *opaque, uint32_t events)
{
	uint64_t v;

	(void)vm;
	(void)events;
	if (read(*(int *)opaque, &v, sizeof(v)) < 0)
		return; /* the loop re-checks vm_stopping() either way */
}

static void on_signal(struct vm *vm, void *opaque, uint32_t events)
{
	struct signalfd_siginfo si;
	int fd = *(int *)opaque;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	vm_request_stop(vm, VM_STOP_USER, "stopped by signal %s",
			sigabbrev_np((int)si.ssi_signo));
}

/*
 * SIGINT/TERM/HUP become events of the loop. Blocked before any thread
 * exists, so every thread inherits the mask; vCPU threads unblock only
 * their kick signal.
 */
static int setup_signals(struct vm *vm)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigdelset(&set, SIGUSR1);
	vm->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (vm->signal_fd < 0)
		return -errno;
	return evloop_add(vm->loop, vm->signal_fd, EPOLLIN, on_signal,
			  &vm->signal_fd);
}

static int setup_event_loop(struct vm *vm)
{
	int ret;

	vm->stop_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vm->stop_efd < 0)
		return -errno;
	ret = evloop_create(&vm->loop);
	if (ret)
		return ret;
	ret = evloop_add(vm->loop, vm->stop_efd, EPOLLIN, on_stop_event,
			 &vm->stop_efd);
	if (ret)
		return ret;
	return setup_signals(vm);
}

static int setup_vcpus(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.cpus; i++) {
		int ret = vcpu_create(vm, i);

		vm->nr_vcpus = i + 1;
		if (ret)
			return ret;
	}
	return 0;
}

int vm_init(struct vm *vm, const struct vm_config *cfg, uint64_t t_start)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->t.start = t_start;
	vm->kvm_fd = vm->vm_fd = vm->stop_efd = vm->signal_fd = -1;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	{
		pthread_condattr_t ca;

		/* vm_pause() waits against CLOCK_MONOTONIC */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&vm->parked_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	ret = setup_event_loop(vm);
	if (ret)
		error("cannot set up the event loop: %s", strerror(-ret));
	return ret;
}

/* The user's files first: a typo is reported before anything else. */
static int check_inputs(const struct vm *vm)
{
	const char *what[] = { "kernel", "initrd" };
	const char *path[] = { vm->cfg.kernel, vm->cfg.initrd };

	for (int i = 0; i < 2; i++) {
		uint8_t *data;
		size_t size;
		int ret;

		if (!path[i][0])
			continue;
		ret = vm_map_file(what[i], path[i], &data, &size);
		if (ret)
			return ret;
		vm_unmap_file(data, size);
	}
	return 0;
}

int vm_boot(struct vm *vm)
{
	int ret;

	vm_mark(vm, &vm->t.instance_start);
	snprintf(vm->cmdline, sizeof(vm->cmdline), "%s", vm->cfg.cmdline);
	/* an API root device (is_root_device) is the first disk: /dev/vda */
	if (vm->cfg.nr_disks && vm->cfg.disk[0].root &&
	    !strstr(vm->cmdline, "root=")) {
		size_t len = strlen(vm->cmdline);

		snprintf(vm->cmdline + len, sizeof(vm->cmdline) - len,
			 "%sroot=/dev/vda %s", len ? " " : "",
			 vm->cfg.disk[0].read_only ? "ro" : "rw");
	}
	if ((ret = check_inputs(vm)) ||
	    (ret = open_kvm(vm)) ||
	    (ret = create_vm(vm)) ||
	    (ret = setup_memory(vm)) ||
	    (ret = arch_vm_init(vm)) ||
	    (ret = console_create(vm, &vm->console)) ||
	    (ret = arch_create_devices(vm)) ||
	    (ret = arch_load_kernel(vm)) ||
	    (ret = setup_vcpus(vm)) ||
	    (ret = arch_vcpus_created(vm)))
		return ret;
	return 0;
}

int vm_run(struct vm *vm)
{
	int ret = 0;

	__atomic_store_n(&vm->state, VM_STATE_RUNNING, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < vm->nr_vcpus && !ret; i++)
		ret = vcpu_start(&vm->vcpu[i]);
	if (ret)
		vm_request_stop(vm, VM_STOP_ERROR, "cannot start vCPUs");
	else
		ret = evloop_run(vm, vm->loop);

	vcpu_kick_all(vm);
	vcpu_join_all(vm);
	__atomic_store_n(&vm->state, VM_STATE_STOPPED, __ATOMIC_RELEASE);
	return ret;
}

#define VM_PAUSE_TIMEOUT_S 5

int vm_pause(struct vm *vm)
{
	struct timespec deadline;
	unsigned int running = 0;
	bool timed_out = false;

	if (vm_state(vm) == VM_STATE_PAUSED)
		return 0;
	if (vm_state(vm) != VM_STATE_RUNNING)
		return -EINVAL;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		running += vm->vcpu[i].started;
	pthread_mutex_lock(&vm->pause_lock);
	vm->pause_requested = true;
	pthread_mutex_unlock(&vm->pause_lock);
	vcpu_kick_all(vm);
	/*
	 * Paused means: no vCPU is inside KVM_RUN. Bounded, so a vCPU stuck
	 * elsewhere (writing to a terminal nobody reads) cannot freeze the
	 * event loop: the pause is then called off.
	 */
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += VM_PAUSE_TIMEOUT_S;
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nr_parked < running && !vm_stopping(vm) && !timed_out)
		timed_out = pthread_cond_timedwait(&vm->parked_cond,
						   &vm->pause_lock,
						   &deadline) == ETIMEDOUT;
	if (timed_out) {
		vm->pause_requested = false;
		pthread_cond_broadcast(&vm->pause_cond);
	}
	pthread_mutex_unlock(&vm->pause_lock);
	if (timed_out)
		return -ETIMEDOUT;
	if (vm_stopping(vm))
		return -EINVAL;
	__atomic_store_n(&vm->state, VM_STATE_PAUSED, __ATOMIC_RELEASE);
	return 0;
}

int vm_resume(struct vm *vm)
{
	if (vm_state(vm) == VM_STATE_RUNNING)
		return 0;
	if (vm_state(vm) != VM_STATE_PAUSED)
		return -EINVAL;
	pthread_mutex_lock(&vm->pause_lock);
	vm->pause_requested = false;
	__atomic_store_n(&vm->state, VM_STATE_RUNNING, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	return 0;
}

void vm_add_counter(struct vm *vm, const char *group, const char *name,
		    const uint64_t *value)
{
	struct vm_counter *c;

	if (vm->nr_counters >= VMM_MAX_COUNTERS)
		return;
	c = &vm->counter[vm->nr_counters++];
	snprintf(c->group, sizeof(c->group), "%s", group);
	c->name = name;
	c->value = value;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason why, const char *fmt,
		     ...)
{
	int expected = VM_RUNNING;
	uint64_t one = 1;
	va_list ap;

	if (!__atomic_compare_exchange_n(&vm->stop_reason, &expected, (int)why,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return; /* someone else stopped it first: keep their reason */
	vm->t.stop = monotonic_ns();
	va_start(ap, fmt);
	vsnprintf(vm->stop_msg, sizeof(vm->stop_msg), fmt, ap);
	va_end(ap);
	if (vm->stop_efd >= 0 && write(vm->stop_efd, &one, sizeof(one)) < 0)
		debug("stop eventfd: %s", strerror(errno));
	/*
	 * Parked vCPUs and a waiting vm_pause() must see the stop. The vCPUs
	 * are kicked out of KVM_RUN by the main thread, once the event loop
	 * has woken up (stop_efd), and only there: a vCPU thread kicking its
	 * siblings could race with their join.
	 */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_cond_broadcast(&vm->parked_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

int vm_exit_status(const struct vm *vm)
{
	switch (vm_stopping(vm)) {
	case VM_STOP_POWEROFF:
	case VM_STOP_RESET:
	case VM_STOP_USER:
		return 0;
	case VM_STOP_CRASH:
		return 2;
	default:
		return 1;
	}
}

int vm_set_irq(struct vm *vm, unsigned int irq, int level)
{
	return arch_set_irq(vm, irq, level);
}

void vm_mark(struct vm *vm, uint64_t *slot)
{
	uint64_t zero = 0;

	if (__atomic_load_n(slot, __ATOMIC_RELAXED))
		return;
	__atomic_compare_exchange_n(slot, &zero, monotonic_ns(), false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	(void)vm;
}

int vm_add_cleanup(struct vm *vm, void (*fn)(void *), void *arg)
{
	if (vm->nr_cleanup >= sizeof(vm->cleanup) / sizeof(vm->cleanup[0])) {
		fn(arg);
		return -ENOSPC;
	}
	vm->cleanup[vm->nr_cleanup++] = (struct vm_cleanup){ fn, arg };
	return 0;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpu[i]);
	while (vm->nr_cleanup) {
		struct vm_cleanup *c = &vm->cleanup[--vm->nr_cleanup];

		c->fn(c->arg);
	}
	serial_destroy(vm->serial);
	vm->serial = NULL;
	arch_vm_destroy(vm);
	console_destroy(vm->console);
	vm->console = NULL;
	evloop_destroy(vm->loop);
	vm->loop = NULL;
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	guest_mem_destroy(&vm->mem);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	if (vm->signal_fd >= 0)
		close(vm->signal_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->stop_efd = vm->vm_fd = vm->kvm_fd = -1;
	pthread_cond_destroy(&vm->parked_cond);
	pthread_cond_destroy(&vm->pause_cond);
	pthread_mutex_destroy(&vm->pause_lock);
}
