/* SPDX-License-Identifier: MIT */
/*
 * The core of vmm. One struct vm owns everything a virtual machine is made
 * of: the KVM handles, guest memory, both I/O buses, the devices, the vCPU
 * threads and the event loop. It is passed explicitly; there are no
 * file-scope singletons, so a test process can hold two VMs.
 *
 * Boot order (vm.c, top to bottom): open KVM -> create VM -> guest memory ->
 * irqchip/platform -> load kernel -> devices -> vCPUs -> run event loop.
 */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "memory.h"

#define VMM_VERSION "0.1.0"
#define VMM_MAX_CPUS 64
#define VMM_CMDLINE_MAX 4096
#define VMM_PATH_MAX 4096
#define VMM_SOCK_PATH_MAX 108 /* sun_path */

enum console_mode {
	CONSOLE_STDIO,  /* serial <-> this terminal (the default) */
	CONSOLE_NONE,   /* serial output only to --serial-log, no input */
	CONSOLE_VIRTIO, /* virtio-console (hvc0) <-> this terminal; the
			   serial port still prints (early boot messages) */
};

#define VMM_MAX_DISKS 8
#define VMM_MAX_NETS  4
#define VMM_DISK_ID_MAX 20 /* virtio-blk GET_ID: 20 bytes */

struct vm_disk {
	char path[4096];
	bool read_only;
	bool root;             /* the API's is_root_device: /dev/vda */
	char id[VMM_DISK_ID_MAX + 1]; /* default: the file's base name */
};

struct vm_net {
	char id[32];           /* the API's iface_id ("" from the CLI) */
	char tap[16];          /* IFNAMSIZ */
	uint8_t mac[6];
	bool mac_set;          /* else derived from the TAP name */
};

/*
 * What `vmm run` was asked to do: filled by cli.c and checked there, and
 * before boot also by the control API. Strings are owned; "" = not set.
 */
struct vm_config {
	char kernel[VMM_PATH_MAX];
	char initrd[VMM_PATH_MAX];
	char cmdline[VMM_CMDLINE_MAX];
	uint64_t mem_size;   /* bytes */
	unsigned int cpus;
	char serial_log[VMM_PATH_MAX];
	enum console_mode console;
	struct vm_disk disk[VMM_MAX_DISKS];
	unsigned int nr_disks;
	struct vm_net net[VMM_MAX_NETS];
	unsigned int nr_nets;
	bool quiet;          /* no informational lines on stderr */
	int verbose;         /* -v: more log lines */

	/* control */
	char api_sock[VMM_SOCK_PATH_MAX]; /* --api-sock */
	unsigned int api_sock_mode;       /* --api-sock-mode (0600) */
	char config_file[VMM_PATH_MAX];   /* --config-file */
	char metrics_path[VMM_PATH_MAX];  /* --metrics-path */
	char id[64];                      /* --id: the instance's name */
	bool boot_timer_line;             /* --boot-timer: timeline at exit */

	/* aarch64 only (the x86-64 platform refuses them) */
	unsigned int gic;                 /* --gic: 0 = auto, 2 or 3 */
	char dump_dtb[VMM_PATH_MAX];      /* --dump-dtb: device tree copy */
};

/* Why the VM stopped; the first reason recorded wins. */
enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF,   /* guest powered off */
	VM_STOP_RESET,      /* guest reset (i8042, triple fault, PSCI reset) */
	VM_STOP_USER,       /* Ctrl-A x, SIGINT/SIGTERM */
	VM_STOP_CRASH,      /* guest reported a crash (SYSTEM_EVENT_CRASH) */
	VM_STOP_ERROR,      /* VMM or KVM error: exit non-zero */
};

/* Monotonic timestamps in ns (CLOCK_MONOTONIC); 0 = not yet. */
struct vm_timeline {
	uint64_t start;        /* vmm's main() began */
	uint64_t api_ready;    /* the control socket accepts connections */
	uint64_t instance_start; /* boot began (InstanceStart, or at once) */
	uint64_t first_run;    /* first KVM_RUN entered */
	uint64_t first_serial; /* first byte the guest sent to the serial port */
	uint64_t boot_timer;   /* guest wrote the boot-timer magic */
	uint64_t stop;         /* stop requested (power-off, reset, ...) */
	uint64_t cpu_at_boot_timer_us; /* vmm's own CPU time at the signal */
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

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	uint64_t exits;
#define VCPU_EXIT_COUNTS 64
	uint64_t exit_count[VCPU_EXIT_COUNTS]; /* by KVM exit reason */
};

struct serial;
struct console;
struct evloop;
struct api;

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
	struct serial *serial;

	/* arch-private state (layout, loaded-kernel facts) */
	void *arch;

	/* kernel command line as handed to the guest */
	char cmdline[VMM_CMDLINE_MAX];

	struct vm_timeline t;

	/* state and pause: vcpu threads park on pause_cond while paused */
	int state;                  /* enum vm_state, accessed atomically */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;  /* vcpus wait here; resume broadcasts */
	pthread_cond_t parked_cond; /* pause waits here for all to park */
	bool pause_requested;
	unsigned int nr_parked;

	struct vm_counter counter[VMM_MAX_COUNTERS];
	unsigned int nr_counters;
	struct api *api;            /* control socket, or NULL */
	bool loop_exit;             /* leave the pre-boot loop: boot now */

	/* things to free when the VM goes away, last registered first */
	struct vm_cleanup {
		void (*fn)(void *);
		void *arg;
	} cleanup[32];
	unsigned int nr_cleanup;

	/* stop request: written once (first wins), read by every thread */
	int stop_reason;       /* enum vm_stop_reason, accessed atomically */
	char stop_msg[256];
	int stop_efd;          /* eventfd: wakes the event loop on stop */
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
/* Process exit status for how the VM ended (0 for poweroff/reset/user). */
int vm_exit_status(const struct vm *vm);

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

/* Raise or lower a guest interrupt line (GSI on x86, SPI on arm64). */
int vm_set_irq(struct vm *vm, unsigned int irq, int level);

/*
 * Have vm_destroy() call fn(arg) (devices free their state this way).
 * Returns 0 or -ENOSPC; on failure fn(arg) has already been called.
 */
int vm_add_cleanup(struct vm *vm, void (*fn)(void *), void *arg)
	__attribute__((warn_unused_result));

/* Expose a device counter in metrics; silently ignored when full. */
void vm_add_counter(struct vm *vm, const char *group, const char *name,
		    const uint64_t *value);

/*
 * Stop every vCPU (out of KVM_RUN, parked) / let them run again. Both
 * are idempotent and return 0 or -EINVAL when the VM is not running/paused.
 * Call from the event-loop thread.
 */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
static inline enum vm_state vm_state(const struct vm *vm)
{
	return (enum vm_state)__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);
}

/* Record a timeline event once (first call wins). */
void vm_mark(struct vm *vm, uint64_t *slot);

/* vcpu.c; vcpu_park() is the vCPU side of vm_pause() */
void vcpu_park(struct vcpu *v);
int vcpu_create(struct vm *vm, unsigned int id)
	__attribute__((warn_unused_result));
int vcpu_start(struct vcpu *vcpu) __attribute__((warn_unused_result));
void vcpu_kick_all(struct vm *vm);
void vcpu_join_all(struct vm *vm);
void vcpu_destroy(struct vcpu *vcpu);
const char *exit_reason_str(uint32_t reason);

/* util.c */
uint64_t monotonic_ns(void);
/* Format one line into err (for pure code that reports to its caller); returns ret. */
int seterr(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/*
 * Map a whole input file (kernel, initrd) read-only. Refuses what is not
 * a non-empty regular file; every error is one line naming what and path.
 */
int vm_map_file(const char *what, const char *path, uint8_t **data,
		size_t *size) __attribute__((warn_unused_result));
void vm_unmap_file(uint8_t *data, size_t size);

#endif
