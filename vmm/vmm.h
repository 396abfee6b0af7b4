/* SPDX-License-Identifier: MIT */
/*
 * The core of vmm. One struct vm owns everything a virtual machine is made
 * of: the KVM handles, guest memory, both I/O buses, the devices (through
 * its cleanup list), the vCPU threads and the event loop. It is passed
 * explicitly; there are no file-scope singletons, so a test process can
 * hold two VMs. The boot sequence is stated once, in vm.c.
 */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../devices/host.h"
#include "../devices/state.h"
#include "bus.h"
#include "config.h"
#include "irqroute.h"
#include "memory.h"
#include "seccomp.h"
#include "timeline.h"
#include "util.h"

#define VMM_VERSION "0.1.0"
/* The Firecracker API (swagger) version whose requests vmm answers */
#define VMM_FIRECRACKER_API "1.16.1"

/* Why the VM stopped; the first reason recorded wins. */
enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF,   /* guest powered off */
	VM_STOP_RESET,      /* guest reset (i8042, triple fault, PSCI reset) */
	VM_STOP_USER,       /* Ctrl-A x, SIGINT/SIGTERM, the API's Stop */
	VM_STOP_CRASH,      /* guest reported a crash (SYSTEM_EVENT_CRASH) */
	VM_STOP_ERROR,      /* VMM or KVM error: exit non-zero */
};

/* Where a VM is in its life; the control API's actions depend on it. */
enum vm_state {
	VM_STATE_NOT_STARTED, /* configuring: waiting for InstanceStart */
	VM_STATE_RUNNING,
	VM_STATE_PAUSED,
	VM_STATE_STOPPED,
};

/* A named counter a device exposes for metrics (read without locking). */
struct vm_counter {
	char group[32];      /* "blk:ID", "net:TAP", "serial" */
	const char *name;    /* "reads", "rx_bytes": a string literal */
	const uint64_t *value;
};
#define VMM_MAX_COUNTERS 128

/*
 * The seccomp filters of a VM's threads, compiled at boot, each loaded by
 * its thread (vm.c's setup_seccomp(), vcpu.c, the disks' workers).
 */
struct vm_seccomp {
	bool on;                    /* filters built: every thread loads one */
	struct seccomp_file *file;  /* --seccomp-filter, or NULL: built-in */
	struct seccomp_prog main, disk, vcpu[VMM_MAX_CPUS];
	struct seccomp_names names; /* for the SIGSYS handler */
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	bool held;            /* parks until the next resume (pause_lock) */
	bool io_pending;      /* the last exit's I/O completes at KVM_RUN */
	unsigned int requests; /* VCPU_REQ_* for its thread, atomic */
	uint64_t exits;
#define VCPU_EXIT_COUNTS 64
	uint64_t exit_count[VCPU_EXIT_COUNTS]; /* by KVM exit reason */
};

/* Work for a vCPU's own thread, done before its next KVM_RUN. */
#define VCPU_REQ_NMI   (1U << 0) /* KVM_NMI */
#define VCPU_REQ_DEBUG (1U << 1) /* the debugger changed its settings */

struct console;
struct evloop;
struct api;
struct serial;
struct gdb_server;

/*
 * The vCPU side of a debugger (vmm/gdb.c), called on a vCPU's own thread.
 * Set before the vCPU threads start, unset after they are joined.
 */
struct vm_debugger {
	/* KVM_EXIT_DEBUG on v */
	void (*debug_exit)(void *opaque, struct vcpu *v);
	/* VCPU_REQ_DEBUG: apply the debugger's settings to v */
	void (*sync)(void *opaque, struct vcpu *v);
	void *opaque;
};

/* Called on the event-loop thread when an asynchronous request ends. */
typedef void (*vm_done_fn)(void *arg, int ret);

struct vm {
	struct vm_config cfg;

	int kvm_fd;
	int vm_fd;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;

	struct vcpu vcpu[VMM_MAX_CPUS];
	unsigned int nr_vcpus;

	struct evloop *loop;
	struct console *console;
	/* what devices see of this VM (devices/host.h) */
	struct dev_host host;
	struct dev_console host_console;
	struct serial *uart;          /* the platform's console UART */
	struct virtio_dev *vconsole;  /* hvc0, with --console virtio */
	struct virtio_dev *disk_dev[VMM_MAX_DISKS]; /* cfg.disk[i]'s device */
	struct virtio_dev *net_dev[VMM_MAX_NETS];
	/*
	 * vmm run --bundle (run_bundle.c) sets these between vm_init() and
	 * vm_boot(): a virtio console (the guest's first hvc) whose bytes go
	 * to channel_sink, and a hook that takes SIGINT/TERM/HUP instead of
	 * stopping the VM when it returns true.
	 */
	const struct dev_console *channel_sink;
	struct virtio_dev *channel;
	bool (*signal_hook)(void *arg, int signo);
	void *signal_hook_arg;

	/* the PCI bus virtio-pci devices go on (the arch made it), or NULL */
	struct pci_bus *pci;
	/*
	 * The GSI routing table, once a device asked for MSI routes
	 * (msi_routes.table != NULL): rewritten whole, under msi_lock, by
	 * whichever vCPU thread handled the guest's MSI-X write.
	 */
	pthread_mutex_t msi_lock;
	struct irq_routes msi_routes;
	bool msi_by_ioctl_said;     /* the fallback's debug line, once */

	/* arch-private state (layout, loaded-kernel facts) */
	void *arch;

	/* kernel command line as handed to the guest (vm_cmdline_append) */
	char cmdline[VMM_CMDLINE_MAX];

	struct vm_timeline t;

	/*
	 * State and pause: vCPU threads park on pause_cond while paused; the
	 * last one to park tells the event loop (parked_efd), which ends the
	 * pause request (pause_done) or its timeout (pause_timer) does.
	 */
	int state;                  /* enum vm_state, accessed atomically */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;  /* vcpus wait here; resume broadcasts */
	bool pause_requested;
	unsigned int nr_parked, nr_to_park;
	int parked_efd, pause_timer;
	vm_done_fn pause_done;
	void *pause_arg;
	bool started_by_api;        /* booted on InstanceStart */
	/*
	 * The start gate (pause_lock): vCPU threads wait, confined, until
	 * the main thread is confined too, so no guest instruction runs
	 * before every thread has its filter.
	 */
	unsigned int nr_vcpus_ready;
	bool vcpus_released;

	struct vm_seccomp seccomp;
	int status_fd;              /* /proc/self/status for metrics, or -1 */

	int metrics_timer;          /* periodic metrics (main.c), or -1 */
	struct vm_counter counter[VMM_MAX_COUNTERS];
	unsigned int nr_counters;
	struct api *api;            /* control socket, or NULL */
	struct gdb_server *gdb;     /* --gdb, or NULL */
	const struct vm_debugger *debugger; /* its vCPU hooks, or NULL */

	/* the devices' snapshot state (devices/state.h), in registration order */
	struct vm_state_entry {
		char name[DEV_STATE_NAME_MAX];
		const struct dev_state_ops *ops;
		void *dev;
	} states[64];
	unsigned int nr_states;
	/*
	 * Restoring (cfg.restore): the memory file, mapped by setup_memory();
	 * start_paused: the vCPUs park before their first KVM_RUN.
	 */
	int restore_mem_fd;
	bool restore_vconsole;      /* the snapshot's VM had hvc0 */
	bool start_paused;
	int pagemap_fd;             /* /proc/self/pagemap (snapshots), or -1 */

	/* things to free when the VM goes away, last registered first */
	struct vm_cleanup {
		void (*fn)(void *);
		void *arg;
	} cleanup[128];
	unsigned int nr_cleanup;

	/* stop request: written once (first wins), read by every thread */
	int stop_reason;       /* enum vm_stop_reason, accessed atomically */
	char stop_msg[256];
	int signal_fd;         /* SIGINT/TERM/HUP as events */
};

/*
 * vm.c: the lifecycle. Each returns 0 or -errno and logs the cause.
 * vm_init: event loop and signals (no KVM yet); vm_boot: everything else,
 * from vm->cfg; vm_run: until the VM stops; vm_destroy: after any of them.
 */
int vm_init(struct vm *vm, const struct vm_config *cfg, uint64_t t_start)
	__attribute__((warn_unused_result));
int vm_boot(struct vm *vm) __attribute__((warn_unused_result));
int vm_run(struct vm *vm) __attribute__((warn_unused_result));
void vm_destroy(struct vm *vm);
/*
 * After a vm_boot() that failed: back to "not started" (the loop, the
 * signals and the control API stay), so the API can boot it again.
 */
void vm_unboot(struct vm *vm);
/* Process exit status for how the VM ended (0 for poweroff/reset/user). */
int vm_exit_status(const struct vm *vm);

/*
 * Before boot: run the event loop (the control API configuring the VM)
 * until vm_start_requested() or a stop. 0 or -errno.
 */
int vm_wait_for_start(struct vm *vm) __attribute__((warn_unused_result));
/* The API asked to boot: leave vm_wait_for_start(). */
void vm_start_requested(struct vm *vm);
/* Was the boot under way asked for by the API (InstanceStart)? */
static inline bool vm_started_by_api(const struct vm *vm)
{
	return vm->started_by_api;
}

/*
 * Ask the VM to stop. Safe from any thread and from device code. The
 * first call's reason and message are kept.
 */
void vm_request_stop(struct vm *vm, enum vm_stop_reason why,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline enum vm_stop_reason vm_stopping(const struct vm *vm)
{
	return (enum vm_stop_reason)__atomic_load_n(&vm->stop_reason,
						    __ATOMIC_ACQUIRE);
}

/*
 * An NMI to every vCPU the guest has started (KVM_NMI, from each vCPU's
 * thread). 0, or -EOPNOTSUPP where the architecture has none.
 */
int vm_send_nmi(struct vm *vm);

/* Raise or lower a guest interrupt line (GSI on x86, SPI on arm64). */
int vm_set_irq(struct vm *vm, unsigned int irq, int level);

/*
 * Have vm_destroy() call fn(arg) (devices free their state this way).
 * Returns 0 or -ENOSPC; on failure fn(arg) has already been called.
 */
int vm_add_cleanup(struct vm *vm, void (*fn)(void *), void *arg)
	__attribute__((warn_unused_result));

/* Register a device's snapshot state; 0, -ENOSPC or -EEXIST. */
int vm_add_state(struct vm *vm, const char *name,
		 const struct dev_state_ops *ops, void *dev)
	__attribute__((warn_unused_result));

/* Expose a device counter in metrics; silently ignored when full. */
void vm_add_counter(struct vm *vm, const char *group, const char *name,
		    const uint64_t *value);

/*
 * A running VM's disk i or NIC i takes a new configuration (PATCH): a new
 * backing file, new rate limits. 0, or -errno with err set.
 */
int vm_update_disk(struct vm *vm, unsigned int i, const struct vm_disk *d,
		   char *err, size_t errlen);
int vm_update_net(struct vm *vm, unsigned int i, const struct vm_net *n,
		  char *err, size_t errlen);

/* Append " text" to the guest's command line. 0 or -E2BIG. */
int vm_cmdline_append(struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), warn_unused_result));

/*
 * Pause: every vCPU out of KVM_RUN and parked. Does not block: done(arg,
 * ret) runs on the event-loop thread once all have parked (0), or when
 * that takes over 5 s (-ETIMEDOUT, the pause is called off) or the VM
 * stops (-EINVAL). Returns 0 when under way, 1 when already paused (done
 * is not called), -EBUSY while another pause is under way, -EINVAL when
 * the VM is not running. Call from the event-loop thread.
 */
int vm_pause(struct vm *vm, vm_done_fn done, void *arg);
/* Let them run again; idempotent. 0, -EBUSY or -EINVAL as above. */
int vm_resume(struct vm *vm);
/*
 * vm_resume() for a paused VM in which only vCPU i with run[i] runs; the
 * others stay parked ("held") until the next resume lets them go.
 */
int vm_resume_vcpus(struct vm *vm, const bool *run);
static inline enum vm_state vm_state(const struct vm *vm)
{
	return (enum vm_state)__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);
}

/* vm.c: the vCPU side of vm_pause(), called by its thread */
void vcpu_park(struct vcpu *v);
/*
 * vm.c: a new vCPU thread confines itself, then waits at the start gate
 * until vm_run() opens it. false: do not run (the VM is stopping).
 */
bool vcpu_ready(struct vcpu *v);
/*
 * v parks before its next KVM_RUN and stays parked until a resume lets
 * it go. From v's own thread (the debugger's stop), or for every vCPU
 * before vm_run() (--gdb-wait: nothing runs before gdb says so).
 */
void vcpu_hold(struct vcpu *v);
static inline bool vcpu_must_park(struct vcpu *v)
{
	return __atomic_load_n(&v->vm->pause_requested, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&v->held, __ATOMIC_ACQUIRE);
}

/* vcpu.c */
int vcpu_create(struct vm *vm, unsigned int id)
	__attribute__((warn_unused_result));
int vcpu_start(struct vcpu *vcpu) __attribute__((warn_unused_result));
void vcpu_kick_all(struct vm *vm);
/* Ask v's thread for req (VCPU_REQ_*), kicking it out of KVM_RUN. */
void vcpu_request(struct vcpu *v, unsigned int req);
void vcpu_join_all(struct vm *vm);
void vcpu_destroy(struct vcpu *vcpu);
const char *exit_reason_str(uint32_t reason);

#endif
