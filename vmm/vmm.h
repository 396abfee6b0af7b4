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
	char id[VMM_DISK_ID_MAX + 1]; /* default: the file's base name */
};

struct vm_net {
	char tap[16];          /* IFNAMSIZ */
	uint8_t mac[6];
	bool mac_set;          /* else derived from the TAP name */
};

/* What `vmm run` was asked to do (filled by cli.c, checked there). */
struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t mem_size;   /* bytes */
	unsigned int cpus;
	const char *serial_log;
	enum console_mode console;
	struct vm_disk disk[VMM_MAX_DISKS];
	unsigned int nr_disks;
	struct vm_net net[VMM_MAX_NETS];
	unsigned int nr_nets;
	bool quiet;          /* no informational lines on stderr */
	int verbose;         /* -v: more log lines */
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
	uint64_t first_run;    /* first KVM_RUN entered */
	uint64_t first_serial; /* first byte the guest sent to the serial port */
	uint64_t boot_timer;   /* guest wrote the boot-timer magic */
	uint64_t stop;         /* stop requested */
};

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
};

/* vm.c: the lifecycle. Each returns 0 or -errno and logs the cause. */
int vm_create(struct vm *vm, const struct vm_config *cfg, uint64_t t_start)
	__attribute__((warn_unused_result));
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

/* Record a timeline event once (first call wins). */
void vm_mark(struct vm *vm, uint64_t *slot);

/* vcpu.c */
int vcpu_create(struct vm *vm, unsigned int id)
	__attribute__((warn_unused_result));
int vcpu_start(struct vcpu *vcpu) __attribute__((warn_unused_result));
void vcpu_kick_all(struct vm *vm);
void vcpu_join_all(struct vm *vm);
void vcpu_destroy(struct vcpu *vcpu);
const char *exit_reason_str(uint32_t reason);

/* util.c */
uint64_t monotonic_ns(void);

#endif
