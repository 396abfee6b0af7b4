// SPDX-License-Identifier: MIT
/*
 * The VM's lifecycle and its boot sequence.
 *
 * vm_init() makes the event loop and takes the signals (no KVM yet); the
 * control API may run on that loop before boot to take the configuration
 * (vm_wait_for_start()). vm_boot() is the boot sequence, in this order:
 *
 *   1. the user's files (kernel, initrd): a typo is reported first
 *   2. open /dev/kvm, create the VM           arch_vm_type()
 *   3. guest memory                           arch_ram_ranges()
 *   4. the interrupt controller and timers    arch_vm_init()
 *   5. the console
 *   6. the platform's devices (UART, ...)     arch_create_devices()
 *   7. the kernel and initrd into memory      arch_load_kernel()
 *   8. the vCPUs                              arch_vcpu_init() each
 *   9. the seccomp filters of every thread (the fds they name exist now)
 *  10. finish the interrupt controller        arch_irqchip_finish()
 *  11. the virtio devices: disks, NICs, then the console, each placed
 *      and announced to the guest; a disk's I/O thread loads its filter
 *      as it starts                           arch_virtio_place/announce()
 *  12. what the guest reads at boot (command line, memory map, CPU
 *      tables or device tree)                 arch_write_boot_info()
 *
 * vm_run() starts the vCPU threads (each loads its filter and waits),
 * loads the main thread's filter, lets the vCPUs run and runs the event
 * loop until the VM stops. A vCPU thread is created before the main
 * thread is confined, so the main thread's list needs no clone().
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../arch/arch.h"
#include "../devices/devices.h"
#include "../devices/virtio.h"
#include "console.h"
#include "evloop.h"
#include "kvm.h"
#include "log.h"
#include "snapshot.h"
#include "vmm.h"

#define VM_PAUSE_TIMEOUT_S 5

/* --- what devices see of the VM (devices/host.h) -------------------------- */

static int host_set_irq_fn(void *vm, unsigned int irq, int level)
{
	return arch_set_irq(vm, irq, level);
}

static int host_irqfd(void *opaque, unsigned int irq, int fd, bool attach)
{
	struct vm *vm = opaque;
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)fd,
		.gsi = irq,
		.flags = attach ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (!kvm_check_cap(vm->vm_fd, KVM_CAP_IRQFD))
		return -ENOTSUP;
	return kvm_ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -EIO : 0;
}

static int host_ioeventfd(void *opaque, const struct dev_ioeventfd *io,
			  bool attach)
{
	struct vm *vm = opaque;
	struct kvm_ioeventfd k = {
		.datamatch = io->datamatch,
		.addr = io->addr,
		.len = io->len,
		.fd = io->fd,
		.flags = (io->pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (io->match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
			 (attach ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (!kvm_check_cap(vm->vm_fd, KVM_CAP_IOEVENTFD))
		return -ENOTSUP;
	return kvm_ioctl_quiet(vm->vm_fd, KVM_IOEVENTFD, &k) < 0 ? -EIO : 0;
}

static int host_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

	/* 1: delivered, 0: the guest blocked it; both are its business */
	return kvm_ioctl_quiet(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -EIO : 0;
}

/*
 * Can this VM route MSIs itself (a GSI per vector, an irqfd on each)?
 * Else virtio-pci sends each message with KVM_SIGNAL_MSI.
 */
static bool vm_has_msi_routes(const struct vm *vm)
{
	return kvm_check_cap(vm->vm_fd, KVM_CAP_IRQ_ROUTING) > 0 &&
	       kvm_check_cap(vm->vm_fd, KVM_CAP_IRQFD) > 0 &&
	       kvm_check_cap(vm->vm_fd, KVM_CAP_SIGNAL_MSI) > 0;
}

/* The table starts as KVM's own: the irqchip's pins. msi_lock held. */
static int msi_routes_start(struct vm *vm)
{
	struct irq_pin pins[256];
	size_t n = arch_irqchip_routes(pins, 256);
	int max = kvm_check_cap(vm->vm_fd, KVM_CAP_IRQ_ROUTING);

	if (n > 256)
		return -E2BIG;
	return irq_routes_init(&vm->msi_routes, pins, n, (unsigned int)max);
}

static int host_msi_routes(void *opaque, unsigned int n, int *fds)
{
	struct vm *vm = opaque;
	struct irq_routes *r = &vm->msi_routes;
	unsigned int first;
	int ret = 0;

	if (!vm_has_msi_routes(vm)) {
		if (!vm->msi_by_ioctl_said)
			debug("KVM has no KVM_CAP_IRQ_ROUTING, KVM_CAP_IRQFD or "
			      "KVM_CAP_SIGNAL_MSI: MSI-X messages go by "
			      "KVM_SIGNAL_MSI, one ioctl each");
		vm->msi_by_ioctl_said = true;
		return -ENOTSUP;
	}
	pthread_mutex_lock(&vm->msi_lock);
	if (!r->table)
		ret = msi_routes_start(vm);
	if (!ret)
		ret = irq_routes_add(r, n, &first);
	for (unsigned int i = 0; !ret && i < n; i++) {
		struct kvm_irqfd irqfd = { .gsi = irq_routes_gsi(r, first + i) };
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd < 0) {
			ret = -errno;
			error("eventfd: %s", strerror(errno));
			break;
		}
		r->msi[first + i].fd = fds[i] = fd;
		/* a GSI with no route yet: writes send nothing until one */
		irqfd.fd = (uint32_t)fd;
		ret = kvm_ioctl(vm->vm_fd, KVM_IRQFD, &irqfd);
	}
	pthread_mutex_unlock(&vm->msi_lock);
	return ret < 0 ? ret : (int)first;
}

static int host_msi_route(void *opaque, unsigned int route, uint64_t addr,
			  uint32_t data, bool enabled)
{
	struct vm *vm = opaque;
	struct irq_routes *r = &vm->msi_routes;
	int ret = 0;

	pthread_mutex_lock(&vm->msi_lock);
	if (route >= r->nr_msi)
		ret = -EINVAL;
	else if (irq_routes_set(r, route, addr, data, enabled))
		ret = kvm_ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING,
				(void *)irq_routes_table(r));
	pthread_mutex_unlock(&vm->msi_lock);
	return ret < 0 ? ret : 0;
}

static int host_add_cleanup_fn(void *vm, void (*fn)(void *), void *arg)
{
	return vm_add_cleanup(vm, fn, arg);
}

static void host_add_counter_fn(void *vm, const char *group, const char *name,
				const uint64_t *value)
{
	vm_add_counter(vm, group, name, value);
}

static uint64_t cpu_time_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void host_event(void *opaque, enum dev_event ev)
{
	struct vm *vm = opaque;
	struct vm_timeline *t = &vm->t;
	uint64_t at;

	if (ev != DEV_EV_BOOT_TIMER)
		return;
	at = timeline_get(&t->boot_timer);
	t->cpu_at_boot_timer_us = cpu_time_us();
	/* a VM started over the API waited for InstanceStart: say so */
	if (vm->started_by_api)
		info("boot-timer: %.3f ms since vmm start (%.3f ms since "
		     "InstanceStart), %.3f ms since first KVM_RUN",
		     (double)(at - t->start) / 1e6,
		     (double)(at - t->instance_start) / 1e6,
		     (double)(at - t->first_run) / 1e6);
	else
		info("boot-timer: %.3f ms since vmm start, %.3f ms since first "
		     "KVM_RUN", (double)(at - t->start) / 1e6,
		     (double)(at - t->first_run) / 1e6);
}

static void host_request_stop_fn(void *vm, enum dev_stop why, const char *msg)
{
	static const enum vm_stop_reason reason[] = {
		[DEV_STOP_POWEROFF] = VM_STOP_POWEROFF,
		[DEV_STOP_RESET] = VM_STOP_RESET,
		[DEV_STOP_CRASH] = VM_STOP_CRASH,
	};

	vm_request_stop(vm, reason[why], "%s", msg);
}

static int host_confine_thread_fn(void *opaque, enum dev_thread kind,
				  const char *label)
{
	struct vm *vm = opaque;

	(void)kind; /* the one kind so far: a disk's I/O */
	if (!vm->seccomp.on)
		return 0;
	return seccomp_apply(&vm->seccomp.disk, label, &vm->seccomp.names);
}

static int host_add_state_fn(void *vm, const char *name,
			     const struct dev_state_ops *ops, void *dev)
{
	return vm_add_state(vm, name, ops, dev);
}

static const struct dev_host_ops host_ops = {
	.set_irq = host_set_irq_fn,
	.irqfd = host_irqfd,
	.ioeventfd = host_ioeventfd,
	.msi_routes = host_msi_routes,
	.msi_route = host_msi_route,
	.send_msi = host_send_msi,
	.add_cleanup = host_add_cleanup_fn,
	.add_counter = host_add_counter_fn,
	.event = host_event,
	.request_stop = host_request_stop_fn,
	.confine_thread = host_confine_thread_fn,
	.add_state = host_add_state_fn,
};

static void console_out(void *console, const uint8_t *buf, size_t len)
{
	console_write(console, buf, len);
}

static void console_ready(void *console)
{
	console_sink_ready(console);
}

/* --- the boot sequence ------------------------------------------------------ */

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
	if (vm->cfg.huge_pages && vm->cfg.mem_size % GUEST_MEM_HUGE_PAGE) {
		error("huge pages: guest memory must be a multiple of 2 MiB, "
		      "not %" PRIu64 " MiB", vm->cfg.mem_size >> 20);
		return -EINVAL;
	}
	if (vm->restore_mem_fd >= 0)
		ret = guest_mem_init_file(&vm->mem, (const uint64_t (*)[2])ranges,
					  nr, vm->restore_mem_fd);
	else
		ret = guest_mem_init_huge(&vm->mem, (const uint64_t (*)[2])ranges,
					  nr, vm->cfg.huge_pages);
	if (ret == -ENOMEM && vm->cfg.huge_pages) {
		error("cannot allocate %" PRIu64 " MiB of guest memory in 2 MiB "
		      "huge pages: the host's pool is too small (see "
		      "HugePages_Free in /proc/meminfo; sysctl vm.nr_hugepages)",
		      vm->cfg.mem_size >> 20);
		return ret;
	}
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

static void console_quit(void *vm)
{
	vm_request_stop(vm, VM_STOP_USER, "quit from the console (Ctrl-A x)");
}

static size_t uart_sink(void *uart, const uint8_t *buf, size_t len)
{
	return serial_rx(uart, buf, len);
}

static bool uart_break(void *uart)
{
	return serial_break(uart);
}

static size_t vconsole_sink(void *d, const uint8_t *buf, size_t len)
{
	return virtio_console_rx(d, buf, len);
}

/* hvc0 has no line to break: Linux's hvc driver takes Ctrl-O for SysRq */
static bool vconsole_break(void *d)
{
	static const uint8_t ctrl_o = 0x0f;

	return virtio_console_rx(d, &ctrl_o, 1) == 1;
}

static int setup_console(struct vm *vm)
{
	int ret = console_create(vm->loop, vm->cfg.console != CONSOLE_NONE,
				 vm->cfg.serial_log, console_quit, vm,
				 &vm->console);

	if (ret)
		return ret;
	console_set_timestamps(vm->console, vm->cfg.serial_timestamps,
			       vm->t.start);
	vm->host_console = (struct dev_console){
		.write = console_out, .ready = console_ready,
		.opaque = vm->console,
	};
	vm->host.console = &vm->host_console;
	return 0;
}

static int setup_platform(struct vm *vm)
{
	int ret = arch_create_devices(vm, &vm->uart);

	/*
	 * Typed input goes to the UART, unless hvc0 takes it (below); with no
	 * terminal, a SysRq from the control API still does.
	 */
	if (!ret && vm->uart && vm->cfg.console != CONSOLE_VIRTIO)
		console_set_sink(vm->console, uart_sink, uart_break, vm->uart);
	return ret;
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

/*
 * Compile every thread's filter now, while nothing is confined: the main
 * thread's, the disks' and one per vCPU (each may use only its own fd).
 */
static int setup_seccomp(struct vm *vm)
{
	struct vm_seccomp *sc = &vm->seccomp;
	struct seccomp_env env = {
		.vm_fd = vm->vm_fd, .vcpu_fd = -1,
		.metrics = vm->cfg.metrics_path[0] != 0,
		.api = vm->api != NULL,
	};
	char err[256];
	int ret;

	if (vm->cfg.no_seccomp)
		return 0;
	for (unsigned int i = 0; i < vm->cfg.nr_disks; i++)
		env.uring |= vm->cfg.disk[i].io == DISK_IO_URING;
	env.nr_vcpu_ioctls = arch_vcpu_run_ioctls(&env.vcpu_ioctls);
	env.nr_debug_ioctls = arch_debug_ioctls(&env.debug_ioctls);
	env.nr_snapshot_ioctls = arch_snapshot_ioctls(&env.snapshot_ioctls);
	env.gdb = vm->cfg.gdb[0] != 0;
	env.vsock = vm->cfg.vsock.enabled;
	if (vm->cfg.virtio == VIRTIO_TRANSPORT_PCI) {
		env.msi_routes = vm_has_msi_routes(vm);
		env.signal_msi = !env.msi_routes;
	}
	ret = seccomp_build(SECCOMP_MAIN, &env, sc->file, &sc->main, err,
			    sizeof(err));
	if (!ret)
		ret = seccomp_build(SECCOMP_DISK, &env, sc->file, &sc->disk,
				    err, sizeof(err));
	for (unsigned int i = 0; !ret && i < vm->nr_vcpus; i++) {
		env.vcpu_fd = vm->vcpu[i].fd;
		ret = seccomp_build(SECCOMP_VCPU, &env, sc->file, &sc->vcpu[i],
				    err, sizeof(err));
	}
	if (ret) {
		if (sc->file)
			error("--seccomp-filter %s: %s", vm->cfg.seccomp_filter,
			      err);
		else
			error("seccomp: %s", err);
		return ret;
	}
	sc->on = true;
	const struct seccomp_prog *all[] = { &sc->main, &sc->vcpu[0], &sc->disk };
	/* scripts/bench-boot reads this line for its isolation figure */
	debug("seccomp: %s filters allow %u (main), %u (vCPU), %u (disk) "
	      "system calls, %u distinct",
	      sc->file ? "--seccomp-filter" : "built-in",
	      sc->main.nr_syscalls, sc->vcpu[0].nr_syscalls,
	      sc->disk.nr_syscalls, seccomp_union_count(all, 3));
	return 0;
}

static void free_seccomp(struct vm *vm)
{
	struct vm_seccomp *sc = &vm->seccomp;

	seccomp_prog_free(&sc->main);
	seccomp_prog_free(&sc->disk);
	for (unsigned int i = 0; i < VMM_MAX_CPUS; i++)
		seccomp_prog_free(&sc->vcpu[i]);
	sc->on = false;
}

/* Put virtio device d in the next slot and tell the guest where it is. */
static int attach_virtio(struct vm *vm, unsigned int *index,
			 struct virtio_dev *d)
{
	struct arch_virtio_slot slot;
	int ret;

	/* on PCI the guest enumerates the bus: nothing to announce */
	if (vm->cfg.virtio == VIRTIO_TRANSPORT_PCI) {
		if (!vm->pci) {
			error("--virtio pci: this platform has no PCI bus");
			return -EOPNOTSUPP;
		}
		return virtio_pci_attach(d, vm->pci);
	}
	ret = arch_virtio_place(vm, *index, &slot);
	if (ret == -ENOSPC) {
		error("too many virtio devices: this platform has room for %u",
		      *index);
		return ret;
	}
	if (ret || (ret = virtio_mmio_attach(d, &vm->mmio, slot.base, slot.irq)))
		return ret;
	ret = arch_virtio_announce(vm, &slot);
	if (ret == -E2BIG)
		error("too many virtio devices for the kernel command line");
	(*index)++;
	return ret;
}

/*
 * Disks, then NICs, then the entropy and vsock devices, then the process channel and
 * the console: the order the guest enumerates.
 */
static int setup_virtio(struct vm *vm)
{
	struct virtio_dev *d;
	unsigned int n = 0;
	int ret = 0;

	for (unsigned int i = 0; i < vm->cfg.nr_disks && !ret; i++)
		if (!(ret = virtio_blk_create(&vm->host, &vm->cfg.disk[i], &d)) &&
		    !(ret = attach_virtio(vm, &n, d)))
			vm->disk_dev[i] = d;
	for (unsigned int i = 0; i < vm->cfg.nr_nets && !ret; i++)
		if (!(ret = virtio_net_create(&vm->host, &vm->cfg.net[i], &d)) &&
		    !(ret = attach_virtio(vm, &n, d)))
			vm->net_dev[i] = d;
	if (!ret && vm->cfg.entropy.enabled &&
	    !(ret = virtio_rng_create(&vm->host, &vm->cfg.entropy.rate, &d)))
		ret = attach_virtio(vm, &n, d);
	if (!ret && vm->cfg.vsock.enabled &&
	    !(ret = virtio_vsock_create(&vm->host, &vm->cfg.vsock, &d)))
		ret = attach_virtio(vm, &n, d);
	/* before the console: the guest makes it hvc0 */
	if (!ret && vm->channel_sink &&
	    !(ret = virtio_console_create_port(&vm->host, vm->channel_sink,
					       "channel", &vm->channel)))
		ret = attach_virtio(vm, &n, vm->channel);
	if (!ret && (vm->cfg.console == CONSOLE_VIRTIO || vm->restore_vconsole) &&
	    !(ret = virtio_console_create(&vm->host, &vm->vconsole)) &&
	    !(ret = attach_virtio(vm, &n, vm->vconsole)))
		console_set_sink(vm->console, vconsole_sink, vconsole_break,
				 vm->vconsole);
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

int vm_update_disk(struct vm *vm, unsigned int i, const struct vm_disk *d,
		   char *err, size_t errlen)
{
	const struct vm_disk *now = &vm->cfg.disk[i];

	if (i >= vm->cfg.nr_disks || !vm->disk_dev[i])
		return seterr(err, errlen, -ENODEV, "no running disk %u", i);
	if (strcmp(d->path, now->path)) {
		int ret = virtio_blk_update(vm->disk_dev[i], d, err, errlen);

		if (ret)
			return ret;
	}
	if (memcmp(&d->rate, &now->rate, sizeof(d->rate)))
		virtio_blk_set_rate(vm->disk_dev[i], &d->rate);
	return 0;
}

int vm_update_net(struct vm *vm, unsigned int i, const struct vm_net *n,
		  char *err, size_t errlen)
{
	const struct vm_net *now = &vm->cfg.net[i];

	if (i >= vm->cfg.nr_nets || !vm->net_dev[i])
		return seterr(err, errlen, -ENODEV, "no running interface %u", i);
	(void)err;
	(void)errlen;
	if (memcmp(&n->rx_rate, &now->rx_rate, sizeof(n->rx_rate)) ||
	    memcmp(&n->tx_rate, &now->tx_rate, sizeof(n->tx_rate)))
		virtio_net_set_rate(vm->net_dev[i], &n->rx_rate, &n->tx_rate);
	return 0;
}

int vm_cmdline_append(struct vm *vm, const char *fmt, ...)
{
	size_t len = strlen(vm->cmdline);
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(vm->cmdline + len + (len != 0),
		      sizeof(vm->cmdline) - len - (len != 0), fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= sizeof(vm->cmdline) - len - (len != 0)) {
		vm->cmdline[len] = 0;
		return -E2BIG;
	}
	if (len)
		vm->cmdline[len] = ' ';
	return 0;
}

/* The command line as configured, plus root= for an API root device. */
static int setup_cmdline(struct vm *vm)
{
	const struct vm_disk *root = vm->cfg.nr_disks ? &vm->cfg.disk[0] : NULL;

	snprintf(vm->cmdline, sizeof(vm->cmdline), "%s", vm->cfg.cmdline);
	/*
	 * The root device (is_root_device) is the first disk: /dev/vda, or
	 * its partition with the given PARTUUID (Firecracker's partuuid).
	 */
	if (root && root->root && !strstr(vm->cmdline, "root=") &&
	    (root->partuuid[0] ?
	     vm_cmdline_append(vm, "root=PARTUUID=%s %s", root->partuuid,
			       root->read_only ? "ro" : "rw") :
	     vm_cmdline_append(vm, "root=/dev/vda %s",
			       root->read_only ? "ro" : "rw"))) {
		error("the command line is too long for root=");
		return -E2BIG;
	}
	return 0;
}

/*
 * The boot sequence for a snapshot (cfg.restore): the same VM from the
 * snapshot's configuration, its memory mapped from the memory file, no
 * kernel and no boot information; then the state of the vCPUs, the
 * interrupt controller and the devices from the snapshot.
 */
static int vm_boot_restore(struct vm *vm)
{
	struct vm_config *saved = malloc(sizeof(*saved));
	struct snapshot *s = NULL;
	int ret;

	if (!saved)
		return -ENOMEM;
	*saved = vm->cfg;
	timeline_mark(&vm->t.restore_start);
	if ((ret = snapshot_open(vm, &s)) ||
	    (ret = open_kvm(vm)) ||
	    (ret = create_vm(vm)) ||
	    (ret = setup_memory(vm)) ||
	    (ret = arch_vm_init(vm)) ||
	    (ret = setup_console(vm)) ||
	    (ret = setup_platform(vm)) ||
	    (ret = setup_vcpus(vm)) ||
	    (ret = setup_seccomp(vm)) ||
	    (ret = arch_irqchip_finish(vm)) ||
	    (ret = setup_virtio(vm)) ||
	    (ret = snapshot_restore(vm, s)))
		vm->cfg = *saved; /* a refused load changes nothing */
	else
		timeline_mark(&vm->t.restore_done);
	vm->start_paused = !ret && vm->cfg.restore_paused;
	snapshot_free(s);
	free(saved);
	/*
	 * The file and the configurations read (a few hundred KiB, touched
	 * once) go back to the system: a restored VM's memory is what its
	 * guest touches, shared with every other one restored from the file.
	 */
	malloc_trim(0);
	return ret;
}

int vm_boot(struct vm *vm)
{
	int ret;

	timeline_mark(&vm->t.instance_start);
	if (vm->cfg.restore[0])
		return vm_boot_restore(vm);
	if ((ret = setup_cmdline(vm)) ||
	    (ret = check_inputs(vm)) ||
	    (ret = open_kvm(vm)) ||
	    (ret = create_vm(vm)) ||
	    (ret = setup_memory(vm)) ||
	    (ret = arch_vm_init(vm)) ||
	    (ret = setup_console(vm)) ||
	    (ret = setup_platform(vm)) ||
	    (ret = arch_load_kernel(vm)) ||
	    (ret = setup_vcpus(vm)) ||
	    (ret = setup_seccomp(vm)) ||
	    (ret = arch_irqchip_finish(vm)) ||
	    (ret = setup_virtio(vm)) ||
	    (ret = arch_write_boot_info(vm)))
		return ret;
	return 0;
}

/*
 * Undo a vm_boot() that failed part-way, back to "not started": what it
 * made goes, the event loop, signals and the control API stay.
 */
static void vm_teardown(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpu[i]);
	vm->nr_vcpus = 0;
	/* devices, last created first: their threads stop here */
	while (vm->nr_cleanup) {
		struct vm_cleanup *c = &vm->cleanup[--vm->nr_cleanup];

		c->fn(c->arg);
	}
	free_seccomp(vm);
	/* after the devices: no thread writes to a route's eventfd now */
	irq_routes_destroy(&vm->msi_routes);
	vm->msi_by_ioctl_said = false;
	vm->nr_counters = 0;
	vm->nr_states = 0;
	if (vm->restore_mem_fd >= 0)
		close(vm->restore_mem_fd);
	vm->restore_mem_fd = -1;
	vm->restore_vconsole = false;
	vm->uart = NULL;
	vm->vconsole = NULL;
	memset(vm->disk_dev, 0, sizeof(vm->disk_dev));
	memset(vm->net_dev, 0, sizeof(vm->net_dev));
	vm->channel = NULL;
	arch_vm_destroy(vm);
	console_destroy(vm->console);
	vm->console = NULL;
	vm->host.console = NULL;
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	guest_mem_destroy(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

void vm_unboot(struct vm *vm)
{
	vm_teardown(vm);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->cmdline[0] = 0;
	vm->t.instance_start = 0;
	vm->t.restore_start = 0;
	vm->started_by_api = false;
	/* a refused PUT /snapshot/load: the next request says again */
	vm->cfg.restore[0] = vm->cfg.restore_mem[0] = 0;
}

/* --- running, pausing, stopping --------------------------------------------- */

static void on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(vm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (vm->signal_hook &&
	    vm->signal_hook(vm->signal_hook_arg, (int)si.ssi_signo))
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
	return evloop_add(vm->loop, vm->signal_fd, EPOLLIN, on_signal, vm);
}

/* Ends a pause request, on the event-loop thread. pause_lock held. */
static void pause_finish(struct vm *vm, int ret)
{
	vm_done_fn done = vm->pause_done;
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };

	vm->pause_done = NULL;
	timerfd_settime(vm->pause_timer, 0, &off, NULL);
	if (ret) {
		vm->pause_requested = false;
		pthread_cond_broadcast(&vm->pause_cond);
	} else {
		__atomic_store_n(&vm->state, VM_STATE_PAUSED, __ATOMIC_RELEASE);
	}
	if (done) {
		pthread_mutex_unlock(&vm->pause_lock);
		done(vm->pause_arg, ret);
		pthread_mutex_lock(&vm->pause_lock);
	}
}

static void on_parked(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t v;

	(void)events;
	if (read(vm->parked_efd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_done && vm->nr_parked >= vm->nr_to_park)
		pause_finish(vm, 0);
	pthread_mutex_unlock(&vm->pause_lock);
}

static void on_pause_timeout(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t v;

	(void)events;
	if (read(vm->pause_timer, &v, sizeof(v)) < 0)
		return;
	/*
	 * A vCPU stuck outside KVM_RUN (writing to a terminal nobody reads)
	 * must not leave the pause pending for ever: it is called off.
	 */
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_done)
		pause_finish(vm, -ETIMEDOUT);
	pthread_mutex_unlock(&vm->pause_lock);
}

static int setup_event_loop(struct vm *vm)
{
	int ret = evloop_create(&vm->loop);

	if (ret)
		return ret;
	vm->parked_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vm->pause_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (vm->parked_efd < 0 || vm->pause_timer < 0)
		return -errno;
	if ((ret = evloop_add(vm->loop, vm->parked_efd, EPOLLIN, on_parked, vm)) ||
	    (ret = evloop_add(vm->loop, vm->pause_timer, EPOLLIN,
			      on_pause_timeout, vm)))
		return ret;
	return setup_signals(vm);
}

int vm_init(struct vm *vm, const struct vm_config *cfg, uint64_t t_start)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->t.start = t_start;
	vm->kvm_fd = vm->vm_fd = vm->signal_fd = -1;
	/* read again at each metrics report, after the filters forbid open */
	vm->status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	/* which guest pages a snapshot must write (vmm/snapshot.c) */
	vm->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	vm->restore_mem_fd = -1;
	vm->parked_efd = vm->pause_timer = vm->metrics_timer = -1;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	pthread_mutex_init(&vm->msi_lock, NULL);
	if (cfg->seccomp_filter[0]) {
		char err[512];

		ret = seccomp_file_load(cfg->seccomp_filter, &vm->seccomp.file,
					err, sizeof(err));
		if (ret) {
			error("--seccomp-filter %s", err);
			return ret;
		}
	}
	if (!cfg->no_seccomp)
		seccomp_names_init(&vm->seccomp.names);
	ret = setup_event_loop(vm);
	if (ret) {
		error("cannot set up the event loop: %s", strerror(-ret));
		return ret;
	}
	vm->host = (struct dev_host){
		.ops = &host_ops, .vm = vm, .mem = &vm->mem, .loop = vm->loop,
		.t = &vm->t,
	};
	return 0;
}

int vm_wait_for_start(struct vm *vm)
{
	return evloop_run(vm->loop);
}

void vm_start_requested(struct vm *vm)
{
	vm->started_by_api = true;
	timeline_mark(&vm->t.instance_start);
	evloop_stop(vm->loop);
}

bool vcpu_ready(struct vcpu *v)
{
	struct vm *vm = v->vm;
	char label[16];
	int ret = 0;

	snprintf(label, sizeof(label), "vcpu%u", v->id);
	if (vm->seccomp.on)
		ret = seccomp_apply(&vm->seccomp.vcpu[v->id], label,
				    &vm->seccomp.names);
	if (ret)
		vm_request_stop(vm, VM_STOP_ERROR, "vCPU %u: cannot load its "
				"seccomp filter: %s", v->id, strerror(-ret));
	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_vcpus_ready++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (!vm->vcpus_released && !vm_stopping(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
	return !vm_stopping(vm);
}

/*
 * Every vCPU thread started holds at the gate, confined: confine this
 * thread, then open the gate. 0 or -errno (the VM is stopping then).
 */
static int release_vcpus(struct vm *vm, unsigned int started)
{
	int ret = 0;

	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nr_vcpus_ready < started)
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
	if (vm->seccomp.on && !vm_stopping(vm)) {
		ret = seccomp_apply(&vm->seccomp.main, "main", &vm->seccomp.names);
		if (ret)
			vm_request_stop(vm, VM_STOP_ERROR, "cannot load the main "
					"thread's seccomp filter: %s",
					strerror(-ret));
	}
	pthread_mutex_lock(&vm->pause_lock);
	vm->vcpus_released = !ret;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

int vm_run(struct vm *vm)
{
	unsigned int started = 0;
	int ret = 0;

	if (vm->start_paused) {
		/* a snapshot loaded with resume_vm false: park at once */
		vm->pause_requested = true;
		vm->nr_to_park = vm->nr_vcpus;
		__atomic_store_n(&vm->state, VM_STATE_PAUSED, __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&vm->state, VM_STATE_RUNNING, __ATOMIC_RELEASE);
	}
	for (; started < vm->nr_vcpus && !ret; started++)
		ret = vcpu_start(&vm->vcpu[started]);
	if (ret) {
		started--;
		vm_request_stop(vm, VM_STOP_ERROR, "cannot start vCPUs");
	}
	if (!release_vcpus(vm, started) && !ret && !vm_stopping(vm))
		ret = evloop_run(vm->loop);

	vcpu_kick_all(vm);
	vcpu_join_all(vm);
	__atomic_store_n(&vm->state, VM_STATE_STOPPED, __ATOMIC_RELEASE);
	/* a pause still waiting for its answer gets one */
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_done)
		pause_finish(vm, -EINVAL);
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

int vm_pause(struct vm *vm, vm_done_fn done, void *arg)
{
	struct itimerspec t = { .it_value = { VM_PAUSE_TIMEOUT_S, 0 } };
	unsigned int running = 0;

	if (vm_state(vm) == VM_STATE_PAUSED)
		return 1;
	if (vm_state(vm) != VM_STATE_RUNNING || vm_stopping(vm))
		return -EINVAL;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		running += vm->vcpu[i].started;
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_done) {
		pthread_mutex_unlock(&vm->pause_lock);
		return -EBUSY;
	}
	vm->pause_requested = true;
	vm->nr_to_park = running;
	vm->pause_done = done;
	vm->pause_arg = arg;
	timerfd_settime(vm->pause_timer, 0, &t, NULL);
	/*
	 * The last vCPU to park wakes on_parked(); when none is left to
	 * (none started, or all held by the debugger), this call does.
	 */
	if (vm->nr_parked >= running) {
		uint64_t one = 1;

		if (write(vm->parked_efd, &one, sizeof(one)) < 0)
			debug("pause: %s", strerror(errno));
	}
	pthread_mutex_unlock(&vm->pause_lock);
	vcpu_kick_all(vm);
	return 0;
}

int vm_resume(struct vm *vm)
{
	return vm_resume_vcpus(vm, NULL);
}

int vm_resume_vcpus(struct vm *vm, const bool *run)
{
	if (vm_state(vm) == VM_STATE_RUNNING) {
		bool busy;

		pthread_mutex_lock(&vm->pause_lock);
		busy = vm->pause_done != NULL;
		pthread_mutex_unlock(&vm->pause_lock);
		return busy ? -EBUSY : 0;
	}
	if (vm_state(vm) != VM_STATE_PAUSED)
		return -EINVAL;
	pthread_mutex_lock(&vm->pause_lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		__atomic_store_n(&vm->vcpu[i].held, run && !run[i],
				 __ATOMIC_RELEASE);
	vm->pause_requested = false;
	__atomic_store_n(&vm->state, VM_STATE_RUNNING, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	return 0;
}

void vcpu_hold(struct vcpu *v)
{
	pthread_mutex_lock(&v->vm->pause_lock);
	__atomic_store_n(&v->held, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&v->vm->pause_lock);
}

void vcpu_park(struct vcpu *v)
{
	struct vm *vm = v->vm;
	uint64_t one = 1;

	pthread_mutex_lock(&vm->pause_lock);
	/* the last one in tells the event loop */
	if (++vm->nr_parked == vm->nr_to_park &&
	    write(vm->parked_efd, &one, sizeof(one)) < 0)
		debug("vCPU %u: park: %s", v->id, strerror(errno));
	while ((vm->pause_requested || v->held) && !vm_stopping(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->pause_lock);
	/* a kick that arrived while parked must not end the next KVM_RUN */
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELAXED);
}

int vm_add_state(struct vm *vm, const char *name,
		 const struct dev_state_ops *ops, void *dev)
{
	struct vm_state_entry *e;

	if (vm->nr_states >= sizeof(vm->states) / sizeof(vm->states[0]))
		return -ENOSPC;
	for (unsigned int i = 0; i < vm->nr_states; i++)
		if (!strcmp(vm->states[i].name, name))
			return -EEXIST;
	e = &vm->states[vm->nr_states++];
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->ops = ops;
	e->dev = dev;
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
	va_list ap;

	if (!__atomic_compare_exchange_n(&vm->stop_reason, &expected, (int)why,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return; /* someone else stopped it first: keep their reason */
	timeline_mark(&vm->t.stop);
	va_start(ap, fmt);
	vsnprintf(vm->stop_msg, sizeof(vm->stop_msg), fmt, ap);
	va_end(ap);
	/*
	 * The vCPUs are kicked out of KVM_RUN by the main thread, once the
	 * event loop has returned, and only there: a vCPU thread kicking its
	 * siblings could race with their join. Parked vCPUs must see it.
	 */
	if (vm->loop)
		evloop_stop(vm->loop);
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
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

int vm_send_nmi(struct vm *vm)
{
	if (!arch_has_nmi())
		return -EOPNOTSUPP;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_request(&vm->vcpu[i], VCPU_REQ_NMI);
	return 0;
}

int vm_set_irq(struct vm *vm, unsigned int irq, int level)
{
	return arch_set_irq(vm, irq, level);
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
	vm_teardown(vm);
	seccomp_file_free(vm->seccomp.file);
	vm->seccomp.file = NULL;
	if (vm->status_fd >= 0)
		close(vm->status_fd);
	if (vm->pagemap_fd >= 0)
		close(vm->pagemap_fd);
	vm->status_fd = vm->pagemap_fd = -1;
	evloop_destroy(vm->loop);
	vm->loop = NULL;
	if (vm->parked_efd >= 0)
		close(vm->parked_efd);
	if (vm->pause_timer >= 0)
		close(vm->pause_timer);
	if (vm->signal_fd >= 0)
		close(vm->signal_fd);
	if (vm->metrics_timer >= 0)
		close(vm->metrics_timer);
	vm->parked_efd = vm->pause_timer = vm->signal_fd = vm->metrics_timer = -1;
	pthread_cond_destroy(&vm->pause_cond);
	pthread_mutex_destroy(&vm->pause_lock);
	pthread_mutex_destroy(&vm->msi_lock);
}
