// SPDX-License-Identifier: MIT
/*
 * The seccomp filters, compiled by the real builder and loaded by the
 * real seccomp_apply() in a child process, which then makes allowed and
 * forbidden calls: a forbidden one must end the child with status 1 and
 * the one line naming the call and the thread. Also the Firecracker-
 * format filter files: what they compile to, and every refusal.
 *
 * This binary is a sanitizer build, so its filters also carry the
 * sanitizer runtime's calls (seccomp.c): the forbidden calls tried here
 * are outside that list too.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../arch/arch.h"
#include "../../vmm/seccomp.h"
#include "unit.h"

static struct seccomp_names names;

/* A child's end: how it exited and what it wrote on stderr. */
struct outcome {
	int status;          /* exit status, or 128 + signal */
	char err[512];
};

/* What a child does once confined; its return value is its exit status. */
typedef int (*child_fn)(void *arg);

/* Confine a child with p as thread label, run fn there, collect it. */
static int run_confined(const struct seccomp_prog *p, const char *label,
			child_fn fn, void *arg, struct outcome *o)
{
	int pipefd[2], ws;
	ssize_t n, got = 0;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	if (pipe(pipefd) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], STDERR_FILENO);
		if (seccomp_apply(p, label, &names))
			_exit(99);
		/* _exit: no atexit handlers (the leak checker) in the child */
		_exit(fn(arg));
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], o->err + got,
			 sizeof(o->err) - 1 - (size_t)got)) > 0)
		got += n;
	close(pipefd[0]);
	if (waitpid(pid, &ws, 0) != pid)
		return -errno;
	o->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return 0;
}

/* Exactly one line on stderr: the trap of call nr on thread label. */
static int one_line(const struct outcome *o, const char *label,
		    const char *call, long nr)
{
	char line[192];

	snprintf(line, sizeof(line), "vmm: error: seccomp: thread '%s' made "
		 "a forbidden system call: %s (%ld)\n", label, call, nr);
	return !strcmp(o->err, line);
}

static int vm_fd, vcpu_fd, other_fd;

static struct seccomp_env env_for(enum seccomp_thread kind)
{
	struct seccomp_env env = {
		.vm_fd = vm_fd,
		.vcpu_fd = kind == SECCOMP_VCPU ? vcpu_fd : -1,
	};

	env.nr_vcpu_ioctls = arch_vcpu_run_ioctls(&env.vcpu_ioctls);
	return env;
}

static int build(enum seccomp_thread kind, const struct seccomp_env *env,
		 const struct seccomp_file *f, struct seccomp_prog *p)
{
	char err[256];
	int ret = seccomp_build(kind, env, f, p, err, sizeof(err));

	if (ret)
		printf("  seccomp_build: %s\n", err);
	return ret;
}

/* --- what the children do ------------------------------------------------- */

/* The ioctls the vCPU list allows fail with ENOTTY on /dev/null: allowed. */
static int do_vcpu_allowed(void *arg)
{
	char c = 'x';

	(void)arg;
	if (ioctl(vcpu_fd, KVM_RUN, 0) != -1 || errno != ENOTTY)
		return 2;
	if (ioctl(vm_fd, KVM_IRQ_LINE, 0) != -1 || errno != ENOTTY)
		return 3;
	if (write(other_fd, &c, 1) != 1)
		return 4;
	return 0;
}

static int do_kvm_run_other_fd(void *arg)
{
	(void)arg;
	ioctl(other_fd, KVM_RUN, 0);
	return 0;
}

static int do_memory_region(void *arg)
{
	(void)arg;
	ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, 0);
	return 0;
}

static int do_socket(void *arg)
{
	int *family = arg;

	socket(*family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return 0;
}

/* What the vsock device does: a non-blocking Unix stream socket, connect. */
static int do_vsock_socket(void *arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int family = *(int *)arg;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 2;
	/* nobody listens there: refused, but the call was allowed */
	memcpy(sa.sun_path, "/nonexistent/vmm-test", 22);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
	    errno != ENOENT)
		return 3;
	return 0;
}

static int do_exec_mapping(void *arg)
{
	(void)arg;
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
	     -1, 0);
	return 0;
}

static int do_rw_mapping(void *arg)
{
	void *p;

	(void)arg;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? 2 : 0;
}

/* Open for appending: what --metrics-path needs, and no more. */
static int do_open(void *arg)
{
	const char *path = arg;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
		      O_NONBLOCK | O_NOCTTY, 0600);

	return fd < 0 ? 2 : 0;
}

static int do_open_trunc(void *arg)
{
	open((const char *)arg, O_WRONLY | O_TRUNC | O_CLOEXEC);
	return 0;
}


static int do_write(void *arg)
{
	char c = 'x';

	(void)arg;
	return write(other_fd, &c, 1) == 1 ? 0 : 2;
}

static int do_getpid(void *arg)
{
	(void)arg;
	syscall(SYS_getpid);
	return 0;
}

/* --- the built-in lists ---------------------------------------------------- */

TEST(counts)
{
	unsigned int n[SECCOMP_NR_THREADS];

	for (int k = 0; k < SECCOMP_NR_THREADS; k++) {
		struct seccomp_env env = env_for((enum seccomp_thread)k);
		struct seccomp_prog p;

		/* the configuration's own additions: metrics, API */
		env.metrics = env.api = true;
		CHECK(build((enum seccomp_thread)k, &env, NULL, &p) == 0);
		CHECK(p.len > 0 && p.insns);
		n[k] = p.nr_syscalls;
		seccomp_prog_free(&p);
	}
	/* the figures the README gives (sanitizer builds: more) */
	printf("  seccomp: this sanitizer build's lists allow %u (main), %u "
	       "(vCPU), %u (disk) system calls\n", n[SECCOMP_MAIN],
	       n[SECCOMP_VCPU], n[SECCOMP_DISK]);
	CHECK(n[SECCOMP_VCPU] < n[SECCOMP_MAIN]);
	CHECK(n[SECCOMP_DISK] < n[SECCOMP_MAIN]);
}

/* The union of the lists: each call counted once, whoever allows it. */
TEST(union_count)
{
	struct seccomp_prog p[SECCOMP_NR_THREADS];
	const struct seccomp_prog *all[SECCOMP_NR_THREADS];
	unsigned int most = 0, sum = 0, u;

	for (int k = 0; k < SECCOMP_NR_THREADS; k++) {
		struct seccomp_env env = env_for((enum seccomp_thread)k);

		CHECK(build((enum seccomp_thread)k, &env, NULL, &p[k]) == 0);
		all[k] = &p[k];
		CHECK(seccomp_union_count(&all[k], 1) == p[k].nr_syscalls);
		most = p[k].nr_syscalls > most ? p[k].nr_syscalls : most;
		sum += p[k].nr_syscalls;
	}
	u = seccomp_union_count(all, SECCOMP_NR_THREADS);
	/* every list has the common calls: more than the largest, less
	 * than the sum */
	CHECK(u > most && u < sum);
	CHECK(seccomp_union_count(all, 0) == 0);
	/* the same list twice adds nothing */
	all[1] = all[0];
	CHECK(seccomp_union_count(all, 2) == p[0].nr_syscalls);
	for (int k = 0; k < SECCOMP_NR_THREADS; k++)
		seccomp_prog_free(&p[k]);
}

TEST(vcpu_allows_its_own_calls)
{
	struct seccomp_env env = env_for(SECCOMP_VCPU);
	struct seccomp_prog p;
	struct outcome o;

	CHECK(build(SECCOMP_VCPU, &env, NULL, &p) == 0);
	CHECK(run_confined(&p, "vcpu0", do_vcpu_allowed, NULL, &o) == 0);
	seccomp_prog_free(&p);
	CHECK_EQ(o.status, 0);
	CHECK(o.err[0] == 0);
}

TEST(vcpu_kvm_run_only_on_its_fd)
{
	struct seccomp_env env = env_for(SECCOMP_VCPU);
	struct seccomp_prog p;
	struct outcome o;

	CHECK(build(SECCOMP_VCPU, &env, NULL, &p) == 0);
	CHECK(run_confined(&p, "vcpu1", do_kvm_run_other_fd, NULL, &o) == 0);
	seccomp_prog_free(&p);
	CHECK_EQ(o.status, 1);
	CHECK(one_line(&o, "vcpu1", "ioctl", SYS_ioctl));
}

TEST(vcpu_no_memory_slots)
{
	struct seccomp_env env = env_for(SECCOMP_VCPU);
	struct seccomp_prog p;
	struct outcome o;

	CHECK(build(SECCOMP_VCPU, &env, NULL, &p) == 0);
	CHECK(run_confined(&p, "vcpu0", do_memory_region, NULL, &o) == 0);
	seccomp_prog_free(&p);
	CHECK_EQ(o.status, 1);
	CHECK(one_line(&o, "vcpu0", "ioctl", SYS_ioctl));
}

TEST(socket_family)
{
	struct seccomp_env env = env_for(SECCOMP_VCPU);
	struct seccomp_prog p;
	struct outcome o;
	int family = AF_UNIX;

	CHECK(build(SECCOMP_VCPU, &env, NULL, &p) == 0);
	CHECK(run_confined(&p, "vcpu0", do_socket, &family, &o) == 0);
	seccomp_prog_free(&p);
	CHECK_EQ(o.status, 1);
	CHECK(one_line(&o, "vcpu0", "socket", SYS_socket));
}

TEST(no_executable_memory)
{
	struct seccomp_env env = env_for(SECCOMP_DISK);
	struct seccomp_prog p;
	struct outcome o;

	CHECK(build(SECCOMP_DISK, &env, NULL, &p) == 0);
	CHECK(run_confined(&p, "blk:vda", do_rw_mapping, NULL, &o) == 0);
	CHECK_EQ(o.status, 0);
	CHECK(run_confined(&p, "blk:vda", do_exec_mapping, NULL, &o) == 0);
	seccomp_prog_free(&p);
	CHECK_EQ(o.status, 1);
	CHECK(one_line(&o, "blk:vda", "mmap", SYS_mmap));
}

TEST(main_opens_only_to_append_metrics)
{
	struct seccomp_env env = env_for(SECCOMP_MAIN);
	char path[] = "/tmp/vmm-test-seccomp-XXXXXX";
	struct seccomp_prog p;
	struct outcome o;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	/* no --metrics-path: no open at all */
	CHECK(build(SECCOMP_MAIN, &env, NULL, &p) == 0);
	CHECK(run_confined(&p, "main", do_open, path, &o) == 0);
	seccomp_prog_free(&p);
	CHECK_EQ(o.status, 1);
	CHECK(one_line(&o, "main", "openat", SYS_openat));
	/* with it: appending yes, truncating no */
	env.metrics = true;
	CHECK(build(SECCOMP_MAIN, &env, NULL, &p) == 0);
	CHECK(run_confined(&p, "main", do_open, path, &o) == 0);
	CHECK_EQ(o.status, 0);
	CHECK(run_confined(&p, "main", do_open_trunc, path, &o) == 0);
	seccomp_prog_free(&p);
	unlink(path);
	CHECK_EQ(o.status, 1);
	CHECK(one_line(&o, "main", "openat", SYS_openat));
}

TEST(main_makes_no_sockets)
{
	struct seccomp_env env = env_for(SECCOMP_MAIN);
	struct seccomp_prog p;
	struct outcome o;
	int family = AF_INET;

	/* the API socket exists before the filter: no new ones, no network */
	env.api = true;
	CHECK(build(SECCOMP_MAIN, &env, NULL, &p) == 0);
	CHECK(run_confined(&p, "main", do_socket, &family, &o) == 0);
	seccomp_prog_free(&p);
	CHECK_EQ(o.status, 1);
	CHECK(one_line(&o, "main", "socket", SYS_socket));
}

/* A vsock device: Unix stream sockets and connect, nothing more; and
 * only with one. */
TEST(main_vsock_unix_sockets_only)
{
	struct seccomp_env env = env_for(SECCOMP_MAIN);
	struct seccomp_prog p;
	struct outcome o;
	int family = AF_UNIX;

	CHECK(build(SECCOMP_MAIN, &env, NULL, &p) == 0);
	CHECK(run_confined(&p, "main", do_vsock_socket, &family, &o) == 0);
	seccomp_prog_free(&p);
	CHECK_EQ(o.status, 1);
	CHECK(one_line(&o, "main", "socket", SYS_socket));
	env.vsock = true;
	CHECK(build(SECCOMP_MAIN, &env, NULL, &p) == 0);
	CHECK(run_confined(&p, "main", do_vsock_socket, &family, &o) == 0);
	CHECK_EQ(o.status, 0);
	family = AF_INET;
	CHECK(run_confined(&p, "main", do_vsock_socket, &family, &o) == 0);
	seccomp_prog_free(&p);
	CHECK_EQ(o.status, 1);
	CHECK(one_line(&o, "main", "socket", SYS_socket));
}

TEST(names)
{
	CHECK(names.off[SYS_openat] != 0);
	CHECK(!strcmp(names.pool + names.off[SYS_openat], "openat"));
	CHECK(!strcmp(names.pool + names.off[SYS_write], "write"));
}

/* --- filter files ------------------------------------------------------------ */

static int parse(const char *json, struct seccomp_file **f, char *err,
		 size_t errlen)
{
	return seccomp_file_parse(json, strlen(json), f, err, errlen);
}

#define PERMISSIVE "{\"default_action\": \"allow\", \"filter_action\": " \
		   "\"trap\", \"filter\": []}"

TEST(file_traps_what_it_names)
{
	static const char json[] =
		"{\"vmm\": " PERMISSIVE ", \"api\": " PERMISSIVE ","
		" \"vcpu\": {\"default_action\": \"allow\","
		"  \"filter_action\": \"trap\", \"filter\": ["
		"   {\"syscall\": \"getpid\", \"comment\": \"none of that\"},"
		"   {\"syscall\": \"ioctl\", \"args\": [{\"index\": 1,"
		"     \"type\": \"dword\", \"op\": \"eq\", \"val\": 44672,"
		"     \"comment\": \"KVM_RUN\"}]}]}}";
	struct seccomp_env env = env_for(SECCOMP_VCPU);
	struct seccomp_file *f = NULL;
	struct seccomp_prog p;
	struct outcome o;
	char err[256];

	CHECK(parse(json, &f, err, sizeof(err)) == 0);
	CHECK(build(SECCOMP_VCPU, &env, f, &p) == 0);
	CHECK(run_confined(&p, "vcpu0", do_write, NULL, &o) == 0);
	CHECK_EQ(o.status, 0);
	CHECK(run_confined(&p, "vcpu0", do_getpid, NULL, &o) == 0);
	CHECK_EQ(o.status, 1);
	CHECK(one_line(&o, "vcpu0", "getpid", SYS_getpid));
	/* KVM_RUN traps on any fd; another request passes */
	CHECK(run_confined(&p, "vcpu0", do_kvm_run_other_fd, NULL, &o) == 0);
	CHECK_EQ(o.status, 1);
	CHECK(run_confined(&p, "vcpu0", do_memory_region, NULL, &o) == 0);
	CHECK_EQ(o.status, 0);
	seccomp_prog_free(&p);
	/* the main thread got vmm + api: both permissive */
	CHECK(build(SECCOMP_MAIN, &env, f, &p) == 0);
	CHECK(run_confined(&p, "main", do_getpid, NULL, &o) == 0);
	CHECK_EQ(o.status, 0);
	seccomp_prog_free(&p);
	seccomp_file_free(f);
}

TEST(file_allow_list_and_actions)
{
	/* an allow-list: write and exit only; getpid answers EPERM */
	static const char json[] =
		"{\"vmm\": " PERMISSIVE ", \"api\": " PERMISSIVE ","
		" \"vcpu\": " PERMISSIVE ","
		" \"disk\": {\"default_action\": {\"errno\": 1},"
		"  \"filter_action\": \"allow\", \"filter\": ["
		"   {\"syscall\": \"write\", \"args\": [{\"arg_index\": 0,"
		"     \"arg_type\": \"qword\", \"op\": {\"masked_eq\": 4095},"
		"     \"val\": 3}]},"
		"   {\"syscall\": \"exit_group\"}, {\"syscall\": \"exit\"},"
		"   {\"syscall\": \"open\"}]}}";
	struct seccomp_env env = env_for(SECCOMP_DISK);
	struct seccomp_file *f = NULL;
	struct seccomp_prog p;
	char err[256];

	CHECK(parse(json, &f, err, sizeof(err)) == 0);
	CHECK(build(SECCOMP_DISK, &env, f, &p) == 0);
	/* write and exit_group, plus open where this arch has it */
	CHECK(p.nr_syscalls >= 3);
	seccomp_prog_free(&p);
	seccomp_file_free(f);
}

TEST(file_refusals)
{
	static const struct { const char *json, *why; } bad[] = {
		{ "[]", "thread categories" },
		{ "{\"vmm\": " PERMISSIVE ", \"api\": " PERMISSIVE "}",
		  "no \"vcpu\" filter" },
		{ "{\"vmm\": " PERMISSIVE ", \"api\": " PERMISSIVE ", \"vcpu\": "
		  PERMISSIVE ", \"thread_2\": " PERMISSIVE "}",
		  "unknown thread category 'thread_2'" },
		{ "{\"vmm\": " PERMISSIVE ", \"api\": {\"default_action\": "
		  "\"trap\", \"filter_action\": \"allow\", \"filter\": []}, "
		  "\"vcpu\": " PERMISSIVE "}", "different default actions" },
		{ "{\"vmm\": {\"default_action\": \"maybe\", \"filter_action\": "
		  "\"trap\", \"filter\": []}, \"api\": " PERMISSIVE ", \"vcpu\": "
		  PERMISSIVE "}", "vmm.default_action: expected" },
		{ "{\"vmm\": {\"filter_action\": \"trap\", \"filter\": []}, "
		  "\"api\": " PERMISSIVE ", \"vcpu\": " PERMISSIVE "}",
		  "missing field 'default_action'" },
		{ "{\"vmm\": " PERMISSIVE ", \"api\": " PERMISSIVE ", \"vcpu\": "
		  "{\"default_action\": \"allow\", \"filter_action\": \"trap\", "
		  "\"filter\": [{\"syscall\": \"frobnicate\"}]}}",
		  "vcpu.filter[0]: unknown system call 'frobnicate'" },
		{ "{\"vmm\": " PERMISSIVE ", \"api\": " PERMISSIVE ", \"vcpu\": "
		  "{\"default_action\": \"allow\", \"filter_action\": \"trap\", "
		  "\"filter\": [{\"syscall\": \"read\", \"args\": [{\"index\": "
		  "6, \"type\": \"dword\", \"op\": \"eq\", \"val\": 1}]}]}}",
		  "vcpu.filter[0].args[0]: \"index\" must be 0 to 5" },
		{ "{\"vmm\": " PERMISSIVE ", \"api\": " PERMISSIVE ", \"vcpu\": "
		  "{\"default_action\": \"allow\", \"filter_action\": \"trap\", "
		  "\"filter\": [{\"syscall\": \"read\", \"args\": [{\"index\": "
		  "0, \"type\": \"dword\", \"op\": \"eq\", \"val\": 4294967296}]"
		  "}]}}", "does not fit a dword" },
		{ "{\"vmm\": " PERMISSIVE ", \"api\": " PERMISSIVE ", \"vcpu\": "
		  "{\"default_action\": \"allow\", \"filter_action\": \"trap\", "
		  "\"filter\": [{\"syscall\": \"read\", \"args\": [{\"index\": "
		  "0, \"type\": \"dword\", \"op\": \"like\", \"val\": 1}]}]}}",
		  "\"op\" must be" },
		{ "{\"vmm\": " PERMISSIVE ", \"api\": " PERMISSIVE ", \"vcpu\": "
		  "{\"default_action\": \"allow\", \"filter_action\": \"trap\", "
		  "\"filter\": [{\"syscall\": \"read\", \"args\": ["
		  "{\"index\": 0, \"type\": \"dword\", \"op\": \"ge\", \"val\": 1},"
		  "{\"index\": 0, \"type\": \"dword\", \"op\": \"le\", \"val\": 9}"
		  "]}]}}", "argument 0 is compared twice" },
		{ "{\"vmm\": " PERMISSIVE ", \"api\": " PERMISSIVE ", \"vcpu\": "
		  "{\"default_action\": \"allow\", \"filter_action\": \"trap\", "
		  "\"filter\": [{\"syscall\": \"read\", \"flags\": 1}]}}",
		  "unknown field 'flags'" },
		{ "{\"vmm\": " PERMISSIVE ", \"api\": " PERMISSIVE ", \"vcpu\": "
		  PERMISSIVE "} x", "trailing data" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seccomp_file *f = NULL;
		char err[256] = "";

		if (parse(bad[i].json, &f, err, sizeof(err)) != -EINVAL ||
		    !strstr(err, bad[i].why)) {
			printf("  case %zu: got '%s', expected '%s'\n", i, err,
			       bad[i].why);
			CHECK(0);
		}
		CHECK(f == NULL);
	}
}

TEST(file_conflicting_rules)
{
	/* the same call allowed by vmm and trapped by api: say so */
	static const char json[] =
		"{\"vmm\": {\"default_action\": {\"errno\": 1}, \"filter_action\":"
		"  \"allow\", \"filter\": [{\"syscall\": \"read\"}]},"
		" \"api\": {\"default_action\": {\"errno\": 1}, \"filter_action\":"
		"  \"trap\", \"filter\": [{\"syscall\": \"read\"}]},"
		" \"vcpu\": " PERMISSIVE "}";
	struct seccomp_file *f = NULL;
	char err[256];

	CHECK(parse(json, &f, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "both name 'read' but with different filter actions"));
	CHECK(f == NULL);
}

int main(void)
{
	static const struct unit_test tests[] = {
		T(counts), T(union_count), T(vcpu_allows_its_own_calls),
		T(vcpu_kvm_run_only_on_its_fd), T(vcpu_no_memory_slots),
		T(socket_family), T(no_executable_memory),
		T(main_opens_only_to_append_metrics),
		T(main_makes_no_sockets),
	  T(main_vsock_unix_sockets_only), T(names),
		T(file_traps_what_it_names), T(file_allow_list_and_actions),
		T(file_refusals), T(file_conflicting_rules),
	};
	int failures = 0;

	seccomp_names_init(&names);
	/* stand-ins for the KVM fds: ioctls on them fail with ENOTTY */
	vm_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	vcpu_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	other_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int failed = 0;

		unit_why[0] = 0;
		tests[i].fn(&failed);
		if (failed)
			printf("FAIL: seccomp.%s: %s\n", tests[i].name, unit_why);
		else
			printf("PASS: seccomp.%s\n", tests[i].name);
		fflush(stdout);
		failures += failed;
	}
	close(vm_fd);
	close(vcpu_fd);
	close(other_fd);
	return failures ? 1 : 0;
}
