// SPDX-License-Identifier: MIT
/*
 * vCPU threads and their run loop: a flat switch on the exit reason.
 * A vCPU is stopped by vcpu_kick(): it sets kvm_run.immediate_exit (so a
 * kick that lands just before KVM_RUN is not lost) and sends SIGUSR1 to
 * interrupt a KVM_RUN in progress.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../arch/arch.h"
#include "kvm.h"
#include "log.h"
#include "vmm.h"

#define VCPU_KICK_SIGNAL SIGUSR1

const char *exit_reason_str(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO",
		[KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_OSI] = "OSI",
		[KVM_EXIT_PAPR_HCALL] = "PAPR_HCALL",
		[KVM_EXIT_WATCHDOG] = "WATCHDOG",
		[KVM_EXIT_EPR] = "EPR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
		[KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
		[KVM_EXIT_HYPERV] = "HYPERV",
	};

	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "(unknown exit reason)";
}

int vcpu_create(struct vm *vm, unsigned int id)
{
	struct vcpu *v = &vm->vcpu[id];
	int size;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = -1;
	v->fd = kvm_ioctl(vm->vm_fd, KVM_CREATE_VCPU, (void *)(uintptr_t)id);
	if (v->fd < 0)
		return v->fd;
	size = kvm_ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (size < 0)
		return size;
	v->run_size = (size_t)size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		error("mmap of vCPU %u's kvm_run: %s", id, strerror(errno));
		return -errno;
	}
	return arch_vcpu_init(v);
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

/* Registers first, so the cause is the last line the user sees. */
static void vcpu_fail(struct vcpu *v, const char *what)
{
	arch_vcpu_dump(v);
	vm_request_stop(v->vm, VM_STOP_ERROR, "vCPU %u: %s", v->id, what);
}

static void vcpu_handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* string I/O (rep ins/outs) arrives as count back-to-back items */
	for (uint32_t i = 0; i < run->io.count; i++) {
		bus_access(&v->vm->pio, run->io.port, data, run->io.size,
			   is_write);
		data += run->io.size;
	}
}

static void vcpu_handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(v->vm, VM_STOP_POWEROFF, "guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(v->vm, VM_STOP_RESET, "guest reset");
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		vm_request_stop(v->vm, VM_STOP_CRASH, "guest reported a crash");
		break;
	default: {
		char msg[64];

		snprintf(msg, sizeof(msg), "unknown system event %u",
			 v->run->system_event.type);
		vcpu_fail(v, msg);
	}
	}
}

/* One exit. Returns false when the loop must end. */
static bool vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char msg[128];

	if (run->exit_reason < VCPU_EXIT_COUNTS)
		v->exit_count[run->exit_reason]++;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(v);
		v->io_pending = true;
		return true;
	case KVM_EXIT_MMIO:
		bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			   run->mmio.len, run->mmio.is_write);
		v->io_pending = true;
		return true;
	case KVM_EXIT_DEBUG:
		/* only with KVM_SET_GUEST_DEBUG, which only the debugger sets */
		if (v->vm->debugger) {
			v->vm->debugger->debug_exit(v->vm->debugger->opaque, v);
			return true;
		}
		vcpu_fail(v, "debug exit with no debugger attached");
		return false;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		/* only without an in-kernel LAPIC; treat as power-off */
		vm_request_stop(v->vm, VM_STOP_POWEROFF, "vCPU %u halted", v->id);
		return false;
	case KVM_EXIT_SHUTDOWN:
		/* a triple fault: a PC resets */
		vm_request_stop(v->vm, VM_STOP_RESET,
				"guest reset (triple fault on vCPU %u)", v->id);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_handle_system_event(v);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(msg, sizeof(msg),
			 "KVM internal error (suberror %u%s)",
			 run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			 ": instruction emulation failed" : "");
		vcpu_fail(v, msg);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(msg, sizeof(msg),
			 "KVM_RUN failed to enter the guest (hardware reason 0x%llx)",
			 (unsigned long long)
			 run->fail_entry.hardware_entry_failure_reason);
		vcpu_fail(v, msg);
		return false;
	default:
		snprintf(msg, sizeof(msg), "unhandled exit %s (%u)",
			 exit_reason_str(run->exit_reason), run->exit_reason);
		vcpu_fail(v, msg);
		return false;
	}
}

/*
 * Before parking: an I/O or MMIO access completes (a read's value lands
 * in the guest's register, the instruction pointer moves past it) only at
 * the next KVM_RUN; one with immediate_exit set completes it and runs
 * nothing (api.rst), so whoever looks at a parked vCPU's registers (the
 * debugger) sees a consistent state.
 */
static void vcpu_settle(struct vcpu *v)
{
	if (!v->io_pending)
		return;
	v->io_pending = false;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELAXED);
	if (ioctl(v->fd, KVM_RUN, NULL) == 0)
		debug("vCPU %u: KVM_RUN with immediate_exit ran the guest", v->id);
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELAXED);
}

/* What other threads asked of this one (vcpu_request), before KVM_RUN. */
static void vcpu_do_requests(struct vcpu *v)
{
	unsigned int req = __atomic_exchange_n(&v->requests, 0, __ATOMIC_ACQ_REL);
	int ret;

	if ((req & VCPU_REQ_DEBUG) && v->vm->debugger)
		v->vm->debugger->sync(v->vm->debugger->opaque, v);
	if ((req & VCPU_REQ_NMI) && (ret = arch_vcpu_nmi(v)))
		warn("vCPU %u: cannot inject an NMI: %s", v->id, strerror(-ret));
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	/* the kick signal interrupts KVM_RUN; everything else is main's */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* confined, and held until every thread is */
	if (!vcpu_ready(v))
		return NULL;

	while (!vm_stopping(vm)) {
		int ret;

		if (vcpu_must_park(v)) {
			vcpu_settle(v);
			vcpu_park(v);
		}
		if (vm_stopping(vm))
			break;
		if (__atomic_load_n(&v->requests, __ATOMIC_ACQUIRE))
			vcpu_do_requests(v);
		timeline_mark(&vm->t.first_run);
		v->io_pending = false;
		ret = ioctl(v->fd, KVM_RUN, NULL);
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&v->run->immediate_exit, 0,
						 __ATOMIC_RELAXED);
				continue;
			}
			vm_request_stop(vm, VM_STOP_ERROR, "vCPU %u: KVM_RUN: %s",
					v->id, strerror(errno));
			break;
		}
		v->exits++;
		if (!vcpu_handle_exit(v))
			break;
	}
	return NULL;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig; /* its only job is to make KVM_RUN return EINTR */
}

int vcpu_start(struct vcpu *v)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };
	int ret;

	/* no SA_RESTART: the ioctl must return */
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (ret) {
		error("cannot start vCPU %u thread: %s", v->id, strerror(ret));
		return -ret;
	}
	v->started = true;
	return 0;
}

void vcpu_kick_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];

		if (!v->started)
			continue;
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
}

void vcpu_request(struct vcpu *v, unsigned int req)
{
	__atomic_fetch_or(&v->requests, req, __ATOMIC_ACQ_REL);
	if (!v->started)
		return; /* its first loop sees it */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];

		if (!v->started)
			continue;
		pthread_join(v->thread, NULL);
		v->started = false;
	}
}
