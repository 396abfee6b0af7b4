// SPDX-License-Identifier: MIT
/*
 * The built-in allow-lists, the compiler from a list (or a user's file) to
 * BPF, and the per-thread loading with its SIGSYS handler (seccomp.h).
 *
 * The lists name what each thread does once it is confined, found by
 * reading the code and checked by running every test under them (x86-64
 * and arm64): a thread that needs a call the list lacks ends vmm with a
 * line naming it, so a gap cannot hide. Names this architecture does not
 * have are skipped (arm64 has no open, poll or epoll_wait; glibc uses
 * openat, ppoll and epoll_pwait there).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "seccomp.h"

/*
 * A sanitizer build's runtime makes system calls of its own, in any
 * thread: to report an error (open /proc/self/maps, ...) and, at exit,
 * to look for leaks (a tracer thread that ptraces the others). Those
 * builds (make check's vmm-san) allow them too; vmm itself never does.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_RUNTIME 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_RUNTIME 1
#endif
#endif
#ifndef SANITIZER_RUNTIME
#define SANITIZER_RUNTIME 0
#endif

/* What argument 0 must be, filled in from seccomp_env when compiling. */
enum arg0 {
	A0_ANY,
	A0_VM_FD,    /* the VM's fd: interrupt lines, irqfd, ioeventfd */
	A0_VCPU_FD,  /* this thread's own vCPU */
	A0_STDIN,    /* the terminal */
	A0_PID,      /* this process (tgkill: only our own threads) */
};

/* Which configurations need a rule (a mask: any of them will do). */
enum when {
	ALWAYS = 0, IF_METRICS = 1, IF_API = 2, IF_URING = 4, IF_GDB = 8,
	IF_VSOCK = 16,
	IF_MSI_ROUTES = 32,  /* virtio-pci, its MSI-X vectors routed by KVM */
	IF_SIGNAL_MSI = 64,  /* virtio-pci, each message sent by an ioctl */
};

struct rule {
	const char *name;
	unsigned char arg0;        /* enum arg0 */
	unsigned char when;        /* enum when */
	unsigned char nargs;
	struct scmp_arg_cmp arg[3];
};

/*
 * The kernel reads ioctl requests, fds and flags as 32-bit values; compare
 * only the low half, as it does (a caller's sign extension is not ours to
 * judge).
 */
#define LOW32 0xffffffffULL
#define EQ32(i, v) { .arg = (i), .op = SCMP_CMP_MASKED_EQ, .datum_a = LOW32, \
		     .datum_b = (uint32_t)(v) }
/* (argument & m) == v */
#define MASKED(i, m, v) { .arg = (i), .op = SCMP_CMP_MASKED_EQ, \
			  .datum_a = (m), .datum_b = (v) }

#define ALLOW(n) { .name = #n }
#define ALLOW_IF(w, n) { .name = #n, .when = (w) }
#define ALLOW1(n, a) { .name = #n, .nargs = 1, .arg = { a } }
#define IOCTL(a0, req) { .name = "ioctl", .arg0 = (a0), .nargs = 1, \
			 .arg = { EQ32(1, req) } }
#define IOCTL_IF(w, a0, req) { .name = "ioctl", .arg0 = (a0), .when = (w), \
			       .nargs = 1, .arg = { EQ32(1, req) } }

/* A futex operation, with or without the private and clock flags. */
#define FUTEX_FLAGS (FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
#define FUTEX_CMD(op) ALLOW1(futex, MASKED(1, LOW32 & ~(uint64_t)FUTEX_FLAGS, op))

/* Every thread: memory, locks, its own end, and the SIGSYS handler's. */
static const struct rule common_rules[] = {
	ALLOW(exit),
	ALLOW(exit_group),          /* the SIGSYS handler's _exit() */
	ALLOW(rt_sigreturn),
	ALLOW(restart_syscall),
	/*
	 * glibc blocks every signal while a thread exits, and masks them
	 * around pthread_kill(), raise() and abort(): with these a crash
	 * (SIGSEGV, abort()) still ends vmm as a crash, not as a trap
	 */
	ALLOW(rt_sigprocmask),
	ALLOW(getpid),
	ALLOW(gettid),
	{ .name = "tgkill", .arg0 = A0_PID }, /* only our own threads */
	/* what glibc's mutexes, condition variables and joins use; not PI
	 * or requeue operations */
	FUTEX_CMD(FUTEX_WAIT),
	FUTEX_CMD(FUTEX_WAKE),
	FUTEX_CMD(FUTEX_WAIT_BITSET),
	FUTEX_CMD(FUTEX_WAKE_BITSET),
	/* malloc, thread stacks: never executable memory */
	ALLOW1(mmap, MASKED(2, PROT_EXEC, 0)),
	ALLOW1(mprotect, MASKED(2, PROT_EXEC, 0)),
	ALLOW(munmap),
	ALLOW(brk),
	ALLOW1(madvise, EQ32(2, MADV_DONTNEED)),
	ALLOW1(mremap, EQ32(3, MREMAP_MAYMOVE)),
	ALLOW(write),               /* console, log lines, eventfds */
	ALLOW(clock_gettime),       /* when the vDSO cannot answer */
	/* the terminal back to normal, by the SIGSYS handler too */
	IOCTL(A0_STDIN, TCSETSF),
};

/* A vCPU thread: KVM_RUN, and what its device exits do. */
static const struct rule vcpu_rules[] = {
	IOCTL(A0_VCPU_FD, KVM_RUN),
	/* a device exit raises an interrupt line (no irqfd for it) */
	IOCTL(A0_VM_FD, KVM_IRQ_LINE),
	/*
	 * virtio-pci: the guest wrote a vector's message or mask (its route
	 * follows, and a pending message goes); a BAR moved (its kicks)
	 */
	IOCTL_IF(IF_MSI_ROUTES, A0_VM_FD, KVM_SET_GSI_ROUTING),
	IOCTL_IF(IF_SIGNAL_MSI, A0_VM_FD, KVM_SIGNAL_MSI),
	IOCTL(A0_VM_FD, KVM_IOEVENTFD),
	/* virtio-net's DRIVER_OK: the offloads the driver took, the MTU */
	IOCTL(A0_ANY, TUNSETOFFLOAD),
	IOCTL(A0_ANY, SIOCGIFMTU),
	{ .name = "socket", .nargs = 3, .arg = { EQ32(0, AF_INET),
		EQ32(1, SOCK_DGRAM | SOCK_CLOEXEC), EQ32(2, 0) } },
	ALLOW(close),
	ALLOW(epoll_ctl),           /* a device starts or stops watching */
	ALLOW(getrusage),           /* the boot timer's CPU time */
	/* --gdb: a single-step asks whether KVM can hold interrupts off */
	{ .name = "ioctl", .arg0 = A0_VM_FD, .when = IF_GDB, .nargs = 1,
	  .arg = { EQ32(1, KVM_CHECK_EXTENSION) } },
};

/* A disk's I/O thread: its image, its eventfds. */
static const struct rule disk_rules[] = {
	ALLOW(poll),
	ALLOW(ppoll),
	ALLOW(read),
	ALLOW(preadv),
	ALLOW(pwritev),
	/* every write (RWF_DSYNC for a driver without FLUSH); no other flag */
	ALLOW1(pwritev2, EQ32(5, 0)),
	ALLOW1(pwritev2, EQ32(5, RWF_DSYNC)),
	ALLOW(fdatasync),
	ALLOW(close),               /* the old image, after PATCH /drives */
	ALLOW1(fallocate, EQ32(1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)),
	ALLOW1(fallocate, EQ32(1, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)),
	IOCTL(A0_VM_FD, KVM_IRQ_LINE),
	/* virtio-pci's interrupts, where KVM cannot route them (else a
	 * write to the vector's eventfd) */
	IOCTL_IF(IF_SIGNAL_MSI, A0_VM_FD, KVM_SIGNAL_MSI),
};

/*
 * The main thread once the VM runs: the event loop and what it serves,
 * kicking vCPUs, metrics, and the teardown at exit.
 */
static const struct rule main_rules[] = {
	ALLOW(epoll_wait),
	ALLOW(epoll_pwait),
	ALLOW(epoll_ctl),
	ALLOW(read),
	ALLOW(readv),               /* TAP frames */
	ALLOW(writev),
	ALLOW(pread64),             /* /proc/self/status, opened at boot */
	ALLOW(close),
	ALLOW(timerfd_settime),     /* pause timeout, API idle timer */
	ALLOW1(fcntl, EQ32(1, F_GETFL)),
	ALLOW1(fcntl, EQ32(1, F_SETFL)),
	IOCTL(A0_VM_FD, KVM_IRQ_LINE),
	/* virtio-pci's interrupts, where KVM cannot route them (else a
	 * write to the vector's eventfd) */
	IOCTL_IF(IF_SIGNAL_MSI, A0_VM_FD, KVM_SIGNAL_MSI),
	/* the teardown detaches the virtio devices' eventfds */
	IOCTL(A0_VM_FD, KVM_CHECK_EXTENSION),
	IOCTL(A0_VM_FD, KVM_IRQFD),
	IOCTL(A0_VM_FD, KVM_IOEVENTFD),
	/* the terminal: raw mode again after SIGCONT, foreground checks */
	IOCTL(A0_STDIN, TCGETS),
	IOCTL(A0_STDIN, TIOCGPGRP),
	ALLOW(getpgrp),
	ALLOW(getpgid),
	ALLOW(getrusage),           /* metrics */
	ALLOW(getrandom),           /* json-c's hash seed */
	/* --metrics-path: append (or create), never truncate or read */
	{ .name = "openat", .when = IF_METRICS, .nargs = 2, .arg = {
		EQ32(0, AT_FDCWD),
		MASKED(2, LOW32 & ~(uint64_t)(O_CREAT | O_APPEND | O_CLOEXEC |
					     O_NONBLOCK | O_NOCTTY), O_WRONLY) } },
	ALLOW_IF(IF_METRICS, fstat),
	ALLOW_IF(IF_METRICS, newfstatat),
	/* --api-sock, --gdb, vsock: clients, the socket's removal at exit */
	{ .name = "accept4", .when = IF_API | IF_GDB | IF_VSOCK, .nargs = 1,
	  .arg = { EQ32(3, SOCK_NONBLOCK | SOCK_CLOEXEC) } },
	ALLOW_IF(IF_API | IF_GDB | IF_VSOCK, unlink),
	ALLOW_IF(IF_API | IF_GDB | IF_VSOCK, unlinkat),
	/*
	 * vsock: a guest connection to host port P is a connection to the
	 * Unix listener <uds_path>_P (a Unix stream socket, nothing else);
	 * a guest's SHUTDOWN reaches the host as the end of its stream
	 */
	{ .name = "socket", .when = IF_VSOCK, .nargs = 3, .arg = {
		EQ32(0, AF_UNIX),
		EQ32(1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC),
		EQ32(2, 0) } },
	ALLOW_IF(IF_VSOCK, connect),
	{ .name = "shutdown", .when = IF_VSOCK, .nargs = 1,
	  .arg = { EQ32(1, SHUT_WR) } },
	/* --gdb over TCP: no delay on the one connection */
	{ .name = "setsockopt", .when = IF_GDB, .nargs = 2,
	  .arg = { EQ32(1, IPPROTO_TCP), EQ32(2, TCP_NODELAY) } },
	/*
	 * --api-sock: PATCH /drives opens the new image (read-only or
	 * read-write, never created or truncated), checks and locks it
	 */
	{ .name = "openat", .when = IF_API, .nargs = 2, .arg = {
		EQ32(0, AT_FDCWD),
		MASKED(2, O_CREAT | O_TRUNC | O_WRONLY, 0) } },
	ALLOW_IF(IF_API, fstat),
	ALLOW_IF(IF_API, newfstatat),
	ALLOW_IF(IF_API, flock),
	ALLOW_IF(IF_API, lseek),
	/*
	 * --api-sock: PUT /snapshot/create makes its two files (created or
	 * truncated, write-only, nothing else) and writes guest memory
	 * into one with holes
	 */
	{ .name = "openat", .when = IF_API, .nargs = 2, .arg = {
		EQ32(0, AT_FDCWD),
		EQ32(2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC) } },
	ALLOW_IF(IF_API, ftruncate),
	ALLOW_IF(IF_API, pwrite64),
	/* io=uring disks: requests submitted from the loop */
	ALLOW_IF(IF_URING, io_uring_enter),
};

/*
 * Sanitizer builds only (SANITIZER_RUNTIME above), every thread: reading
 * /proc/self/maps and the binary for a report, the leak checker's tracer
 * (a clone() that ptraces the threads, lists /proc/self/task and waits).
 * Files are opened read-only.
 */
static const struct rule sanitizer_rules[] = {
	ALLOW1(open, MASKED(1, O_ACCMODE, O_RDONLY)),
	ALLOW1(openat, MASKED(2, O_ACCMODE, O_RDONLY)),
	ALLOW(close), ALLOW(read), ALLOW(pread64), ALLOW(lseek), ALLOW(fstat),
	ALLOW(newfstatat), ALLOW(stat), ALLOW(readlink), ALLOW(readlinkat),
	ALLOW(getdents), ALLOW(getdents64), ALLOW(madvise), ALLOW(clone),
	ALLOW(ptrace), ALLOW(wait4), ALLOW(waitid), ALLOW(prctl),
	ALLOW(sched_yield), ALLOW(sigaltstack), ALLOW(rt_sigaction),
	ALLOW(rt_sigprocmask), ALLOW(getpid), ALLOW(gettid), ALLOW(getppid),
	ALLOW(tgkill), ALLOW(kill), ALLOW(futex), ALLOW(sched_getaffinity),
	ALLOW(getrlimit), ALLOW(prlimit64), ALLOW(uname), ALLOW(nanosleep),
	ALLOW(clock_nanosleep),
};

struct rule_list {
	const struct rule *r;
	size_t n;
};

#define LIST(a) { a, sizeof(a) / sizeof(a[0]) }

static const struct rule_list builtin[SECCOMP_NR_THREADS] = {
	[SECCOMP_MAIN] = LIST(main_rules),
	[SECCOMP_VCPU] = LIST(vcpu_rules),
	[SECCOMP_DISK] = LIST(disk_rules),
};

const char *seccomp_thread_name(enum seccomp_thread kind)
{
	static const char *const names[] = {
		[SECCOMP_MAIN] = "main", [SECCOMP_VCPU] = "vcpu",
		[SECCOMP_DISK] = "disk",
	};

	return kind < SECCOMP_NR_THREADS ? names[kind] : "?";
}

/* --- compiling ------------------------------------------------------------ */

struct builder {
	scmp_filter_ctx ctx;
	uint8_t seen[SECCOMP_NAMES_MAX / 8];
	unsigned int nr_syscalls;
	char *err;
	size_t errlen;
};

static void count(struct builder *b, int nr)
{
	if (nr < 0 || nr >= SECCOMP_NAMES_MAX ||
	    (b->seen[nr / 8] & (1u << (nr % 8))))
		return;
	b->seen[nr / 8] |= (uint8_t)(1u << (nr % 8));
	b->nr_syscalls++;
}

static int builder_add(void *opaque, uint32_t action, const char *name,
		       unsigned int nargs, const struct scmp_arg_cmp *args)
{
	struct builder *b = opaque;
	int nr = seccomp_syscall_resolve_name(name);
	int ret;

	if (nr == __NR_SCMP_ERROR) {
		snprintf(b->err, b->errlen, "unknown system call '%s'", name);
		return -EINVAL;
	}
	if (nr < 0)
		return 0; /* not a system call of this architecture */
	ret = seccomp_rule_add_array(b->ctx, action, nr, nargs, args);
	if (ret == -EACCES)
		return 0; /* what the default action does anyway */
	if (ret) {
		snprintf(b->err, b->errlen, "%s: %s", name, ret == -EEXIST ?
			 "two rules with the same arguments and different "
			 "actions" : ret == -EINVAL ? "libseccomp refuses this "
			 "rule (two comparisons of one argument?)" :
			 strerror(-ret));
		return ret;
	}
	if (action == SCMP_ACT_ALLOW || action == SCMP_ACT_LOG)
		count(b, nr);
	return 0;
}

static int arg0_value(enum arg0 a, const struct seccomp_env *env, uint64_t *v)
{
	switch (a) {
	case A0_VM_FD: *v = (uint64_t)env->vm_fd; return env->vm_fd >= 0;
	case A0_VCPU_FD: *v = (uint64_t)env->vcpu_fd; return env->vcpu_fd >= 0;
	case A0_STDIN: *v = STDIN_FILENO; return 1;
	case A0_PID: *v = (uint64_t)getpid(); return 1;
	case A0_ANY: break;
	}
	return 0;
}

static unsigned int active(const struct seccomp_env *env)
{
	return (env->metrics ? IF_METRICS : 0) | (env->api ? IF_API : 0) |
	       (env->uring ? IF_URING : 0) | (env->gdb ? IF_GDB : 0) |
	       (env->vsock ? IF_VSOCK : 0) |
	       (env->msi_routes ? IF_MSI_ROUTES : 0) |
	       (env->signal_msi ? IF_SIGNAL_MSI : 0);
}

static int add_list(struct builder *b, const struct rule_list *l,
		    const struct seccomp_env *env)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct rule *r = &l->r[i];
		struct scmp_arg_cmp args[4];
		unsigned int n = 0;
		uint64_t v;
		int ret;

		if (r->when && !(r->when & active(env)))
			continue;
		if (r->arg0 != A0_ANY) {
			/* no such fd in this VM: nothing to allow */
			if (!arg0_value(r->arg0, env, &v))
				continue;
			args[n++] = (struct scmp_arg_cmp)MASKED(0, LOW32, v & LOW32);
		}
		memcpy(args + n, r->arg, r->nargs * sizeof(args[0]));
		n += r->nargs;
		ret = builder_add(b, SCMP_ACT_ALLOW, r->name, n, args);
		if (ret)
			return ret;
	}
	return 0;
}

/* The vCPU ioctls an architecture adds (register reads after a failure). */
static int add_vcpu_ioctls(struct builder *b, const struct seccomp_env *env)
{
	for (size_t i = 0; i < env->nr_vcpu_ioctls; i++) {
		struct scmp_arg_cmp args[2] = {
			MASKED(0, LOW32, (uint64_t)env->vcpu_fd & LOW32),
			EQ32(1, env->vcpu_ioctls[i]),
		};
		int ret = builder_add(b, SCMP_ACT_ALLOW, "ioctl", 2, args);

		if (ret)
			return ret;
	}
	return 0;
}

/*
 * --api-sock: the state reads of PUT /snapshot/create (the vCPUs', the
 * VM's, /dev/kvm's MSR list), from the main thread only.
 */
static int add_snapshot_ioctls(struct builder *b, enum seccomp_thread kind,
			       const struct seccomp_env *env)
{
	if (kind != SECCOMP_MAIN || !env->api)
		return 0;
	for (size_t i = 0; i < env->nr_snapshot_ioctls; i++) {
		struct scmp_arg_cmp args[1] = {
			EQ32(1, env->snapshot_ioctls[i]),
		};
		int ret = builder_add(b, SCMP_ACT_ALLOW, "ioctl", 1, args);

		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The vCPU ioctls of the debugging paths (arch_debug_ioctls): from the
 * main thread on any vCPU (gdb reads the registers of parked vCPUs), from
 * a vCPU thread on its own fd (gdb's debug settings, the API's NMI).
 */
static int add_debug_ioctls(struct builder *b, enum seccomp_thread kind,
			    const struct seccomp_env *env)
{
	bool main_thread = kind == SECCOMP_MAIN;

	if (kind == SECCOMP_DISK || !(env->gdb || env->api))
		return 0;
	for (size_t i = 0; i < env->nr_debug_ioctls; i++) {
		struct scmp_arg_cmp args[2] = {
			EQ32(1, env->debug_ioctls[i]),
			MASKED(0, LOW32, (uint64_t)env->vcpu_fd & LOW32),
		};
		int ret = builder_add(b, SCMP_ACT_ALLOW, "ioctl",
				      main_thread ? 1 : 2, args);

		if (ret)
			return ret;
	}
	return 0;
}

/* The program libseccomp generated, read back through a memfd. */
static int export_prog(struct builder *b, struct seccomp_prog *out)
{
	int fd = memfd_create("vmm-seccomp", MFD_CLOEXEC);
	struct stat st;
	int ret;

	if (fd < 0)
		return -errno;
	ret = seccomp_export_bpf(b->ctx, fd);
	if (!ret && fstat(fd, &st) < 0)
		ret = -errno;
	if (!ret && (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
		     st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS))
		ret = -E2BIG;
	if (!ret && !(out->insns = malloc((size_t)st.st_size)))
		ret = -ENOMEM;
	if (!ret && pread(fd, out->insns, (size_t)st.st_size, 0) != st.st_size)
		ret = -EIO;
	if (!ret)
		out->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	close(fd);
	if (ret) {
		free(out->insns);
		out->insns = NULL;
	}
	return ret;
}

int seccomp_build(enum seccomp_thread kind, const struct seccomp_env *env,
		  const struct seccomp_file *file, struct seccomp_prog *out,
		  char *err, size_t errlen)
{
	static const struct rule_list common = LIST(common_rules);
	static const struct rule_list sanitizer = LIST(sanitizer_rules);
	struct builder b = { .err = err, .errlen = errlen };
	uint32_t def = file ? seccomp_file_default(file, kind) : SCMP_ACT_TRAP;
	int ret;

	memset(out, 0, sizeof(*out));
	snprintf(err, errlen, "cannot compile the filter");
	if (kind >= SECCOMP_NR_THREADS)
		return -EINVAL;
	b.ctx = seccomp_init(def);
	if (!b.ctx)
		return -ENOMEM;
	/* an i386 or x32 system call from a 64-bit vmm is an attack: trap */
	ret = seccomp_attr_set(b.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
	if (!ret && file)
		ret = seccomp_file_rules(file, kind, builder_add, &b);
	if (!ret && !file)
		ret = add_list(&b, &common, env);
	if (!ret && !file)
		ret = add_list(&b, &builtin[kind], env);
	if (!ret && !file && kind == SECCOMP_VCPU)
		ret = add_vcpu_ioctls(&b, env);
	if (!ret && !file)
		ret = add_debug_ioctls(&b, kind, env);
	if (!ret && !file)
		ret = add_snapshot_ioctls(&b, kind, env);
	if (!ret && SANITIZER_RUNTIME && def != SCMP_ACT_ALLOW)
		ret = add_list(&b, &sanitizer, env);
	if (!ret)
		ret = export_prog(&b, out);
	seccomp_release(b.ctx);
	if (!ret) {
		out->nr_syscalls = b.nr_syscalls;
		memcpy(out->allowed, b.seen, sizeof(out->allowed));
	} else if (!strcmp(err, "cannot compile the filter"))
		snprintf(err, errlen, "cannot compile the filter: %s",
			 strerror(-ret));
	return ret;
}

_Static_assert(sizeof(((struct seccomp_prog *)0)->allowed) * 8 ==
	       SECCOMP_NAMES_MAX, "one bit per system call number");

unsigned int seccomp_union_count(const struct seccomp_prog *const *p,
				 size_t n)
{
	unsigned int count = 0;

	for (size_t byte = 0; byte < sizeof(p[0]->allowed); byte++) {
		unsigned int bits = 0;

		for (size_t i = 0; i < n; i++)
			bits |= p[i]->allowed[byte];
		count += (unsigned int)__builtin_popcount(bits);
	}
	return count;
}

void seccomp_prog_free(struct seccomp_prog *p)
{
	free(p->insns);
	memset(p, 0, sizeof(*p));
}

/* --- the names, for the SIGSYS handler ------------------------------------ */

void seccomp_names_init(struct seccomp_names *names)
{
	size_t used = 1; /* offset 0 means "no name" */

	memset(names, 0, sizeof(*names));
	names->arch = seccomp_arch_native();
	for (int nr = 0; nr < SECCOMP_NAMES_MAX; nr++) {
		char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		size_t len = s ? strlen(s) + 1 : 0;

		if (s && used + len <= sizeof(names->pool)) {
			memcpy(names->pool + used, s, len);
			names->off[nr] = (uint16_t)used;
			used += len;
		}
		free(s);
	}
}

/* --- loading, and the SIGSYS handler --------------------------------------- */

/*
 * Who this thread is, for the SIGSYS handler: a signal handler takes no
 * argument, so thread-local state is the only way to hand it this. Set
 * once per thread by seccomp_apply(), read only by on_sigsys().
 */
static __thread struct {
	char label[32];
	const struct seccomp_names *names;
} self;

/* Async-signal-safe formatting: append s, or a number. */
static size_t put(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, unsigned long v,
		      unsigned int base)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && n < (int)sizeof(digits));
	while (n && at + 1 < cap)
		buf[at++] = digits[--n];
	return at;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	const struct seccomp_names *names = self.names;
	unsigned int nr = (unsigned int)si->si_syscall;
	char line[192];
	size_t n = 0;

	(void)sig;
	(void)uc;
	n = put(line, n, sizeof(line), "vmm: error: seccomp: thread '");
	n = put(line, n, sizeof(line), self.label[0] ? self.label : "?");
	n = put(line, n, sizeof(line), "' made a forbidden system call: ");
	if (names && si->si_arch == names->arch && nr < SECCOMP_NAMES_MAX &&
	    names->off[nr])
		n = put(line, n, sizeof(line), names->pool + names->off[nr]);
	else
		n = put(line, n, sizeof(line), "#");
	n = put(line, n, sizeof(line), " (");
	n = put_num(line, n, sizeof(line), nr, 10);
	if (names && si->si_arch != names->arch) {
		n = put(line, n, sizeof(line), ", audit arch 0x");
		n = put_num(line, n, sizeof(line), si->si_arch, 16);
	}
	n = put(line, n, sizeof(line), ")\n");
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nothing left to tell it with */
	}
	console_restore_terminal();
	_exit(1);
}

int seccomp_apply(const struct seccomp_prog *p, const char *label,
		  const struct seccomp_names *names)
{
	struct sock_fprog prog = {
		.len = p->len, .filter = (struct sock_filter *)p->insns,
	};
	struct sigaction sa = {
		.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO,
	};
	sigset_t sys;

	if (!p->insns || !p->len)
		return -EINVAL;
	snprintf(self.label, sizeof(self.label), "%s", label);
	self.names = names;
	/* nothing else runs while it reports */
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	/* a blocked SIGSYS would kill the process without a word */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}
