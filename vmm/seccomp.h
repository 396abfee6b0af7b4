/* SPDX-License-Identifier: MIT */
/*
 * seccomp-bpf confinement of vmm's threads, with libseccomp.
 *
 * Each kind of thread gets an allow-list of its own: the main thread (the
 * event loop: control API, console, signals, TAP and virtio-console I/O,
 * timers), each vCPU thread, each disk I/O thread. Arguments are checked
 * where that narrows what a hijacked thread could do: ioctl requests (and
 * the KVM fd they may go to), open flags, socket families, futex
 * operations, mmap/mprotect without PROT_EXEC. Anything else traps: the
 * SIGSYS handler writes one line naming the system call and the thread,
 * then vmm exits with status 1.
 *
 * A filter is compiled once, in the main thread (seccomp_build), into a
 * classic BPF program; the thread it is for loads it when it starts
 * (seccomp_apply), before it acts on anything the guest controls. A
 * user's filter in Firecracker's JSON format (seccomp_file_load) replaces
 * the built-in lists.
 */
#ifndef VMM_SECCOMP_H
#define VMM_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kinds of thread, each with its own filter. */
enum seccomp_thread {
	SECCOMP_MAIN,  /* event loop and control API */
	SECCOMP_VCPU,  /* one per vCPU: KVM_RUN and device exits */
	SECCOMP_DISK,  /* one per virtio-blk disk: the image's I/O */
	SECCOMP_NR_THREADS,
};

/* What a filter is built for: the file descriptors and features in use. */
struct seccomp_env {
	int vm_fd;                 /* KVM_IRQ_LINE and friends go here only */
	int vcpu_fd;               /* SECCOMP_VCPU: the one KVM_RUN goes to */
	/* the vCPU ioctls an architecture needs besides KVM_RUN */
	const unsigned long *vcpu_ioctls;
	size_t nr_vcpu_ioctls;
	/* the vCPU ioctls of gdb and the API's NMI (arch_debug_ioctls) */
	const unsigned long *debug_ioctls;
	size_t nr_debug_ioctls;
	/* --api-sock: the ioctls of PUT /snapshot/create (main thread) */
	const unsigned long *snapshot_ioctls;
	size_t nr_snapshot_ioctls;
	bool metrics;              /* --metrics-path: append to it at runtime */
	bool api;                  /* --api-sock: accept, unlink at exit, and
				      open a PATCH /drives image */
	bool uring;                /* a disk with io=uring */
	bool gdb;                  /* --gdb: its socket, the vCPU ioctls */
	bool vsock;                /* a vsock device: its Unix sockets */
	/* virtio-pci: KVM routes its MSI-X vectors (the vCPUs rewrite the
	   routes), or each message is a KVM_SIGNAL_MSI */
	bool msi_routes;
	bool signal_msi;
};

/* A compiled filter: classic BPF, ready for seccomp(2). */
struct seccomp_prog {
	void *insns;               /* struct sock_filter[len], malloc'ed */
	unsigned short len;
	unsigned int nr_syscalls;  /* distinct system calls it can allow */
	uint8_t allowed[1024 / 8]; /* which ones, by number (SECCOMP_NAMES_MAX) */
};

/* How many system calls at least one of the n filters can allow. */
unsigned int seccomp_union_count(const struct seccomp_prog *const *p,
				 size_t n);

/* A user's filter file (seccomp_file_load), opaque. */
struct seccomp_file;

/*
 * The system call names of this architecture, looked up once before any
 * filter is loaded: the SIGSYS handler cannot call libseccomp (it
 * allocates). A fixed pool, so the struct can live inside struct vm.
 */
#define SECCOMP_NAMES_MAX 1024
struct seccomp_names {
	uint32_t arch;                      /* AUDIT_ARCH_* of this build */
	uint16_t off[SECCOMP_NAMES_MAX];    /* into pool; 0: unknown */
	char pool[12288];
};

/* Fill names for this architecture. */
void seccomp_names_init(struct seccomp_names *names);

/*
 * Compile the filter for one kind of thread: the built-in allow-list for
 * env, or the user's (file not NULL). 0, or -errno with one line in err.
 * Free out with seccomp_prog_free().
 */
int seccomp_build(enum seccomp_thread kind, const struct seccomp_env *env,
		  const struct seccomp_file *file, struct seccomp_prog *out,
		  char *err, size_t errlen) __attribute__((warn_unused_result));
void seccomp_prog_free(struct seccomp_prog *p);

/*
 * Confine the calling thread with p for the rest of its life: set
 * no_new_privs, install the SIGSYS handler (process-wide; it names the
 * call and label, restores the terminal and exits with status 1), and
 * load p. names must outlive the thread. 0 or -errno.
 */
int seccomp_apply(const struct seccomp_prog *p, const char *label,
		  const struct seccomp_names *names)
	__attribute__((warn_unused_result));

/*
 * Load a filter file in Firecracker's JSON format: an object with the
 * thread categories "vmm", "api" and "vcpu" (and optionally "disk"), each
 * {"default_action", "filter_action", "filter": [rules]}. The main thread
 * gets vmm and api together, vCPU threads vcpu, disk threads disk (else
 * vmm). 0, or -errno with one line in err.
 */
int seccomp_file_load(const char *path, struct seccomp_file **out,
		      char *err, size_t errlen) __attribute__((warn_unused_result));
/* The same from a buffer (len bytes of JSON). */
int seccomp_file_parse(const char *buf, size_t len, struct seccomp_file **out,
		       char *err, size_t errlen) __attribute__((warn_unused_result));
void seccomp_file_free(struct seccomp_file *f);

/*
 * For seccomp_build() (seccomp_file.c): the default action of kind's
 * filter in f, and its rules, each handed to add(b, ...) with the
 * comparisons libseccomp takes. add returns 0 or -errno.
 */
struct scmp_arg_cmp;
typedef int (*seccomp_add_fn)(void *b, uint32_t action, const char *name,
			      unsigned int nargs,
			      const struct scmp_arg_cmp *args);
uint32_t seccomp_file_default(const struct seccomp_file *f,
			      enum seccomp_thread kind);
int seccomp_file_rules(const struct seccomp_file *f, enum seccomp_thread kind,
		       seccomp_add_fn add, void *b);

/* "main", "vcpu", "disk": for messages. */
const char *seccomp_thread_name(enum seccomp_thread kind);

#endif
