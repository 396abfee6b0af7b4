// SPDX-License-Identifier: MIT
/*
 * The guest's PID 1 for `vmm run --bundle`: it makes the bundle's root
 * file system (the read-only image on /dev/vda under a tmpfs overlay, so
 * the process may write to / and nothing reaches the bundle), mounts what
 * config.json asks for, and runs the process as a container runtime
 * would: PID 1 of a PID namespace of its own, its user, groups,
 * capabilities, rlimits, cwd and environment, a terminal when asked.
 * It stays PID 1 of the VM: it reaps, forwards the signals vmm sends,
 * carries stdin, stdout and stderr over the channel (proto.h) on
 * /dev/hvc0, reports the exit status there and resets the machine.
 *
 * Anything that goes wrong before the process runs is reported on the
 * channel as one line with the status a container user expects (125:
 * our failure, 126: cannot execute, 127: not found). Diagnostics for the
 * developer go to the serial console (/dev/console), with the kernel's.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>

#include "proto.h"
#include "spec.h"

#define ROOT      "/newroot"
#define CHAN_DEV  "/dev/hvc0"
#define ROOT_DEV  "/dev/vda"
#define SPEC_FILE "/vmm/spec"
#define SPEC_MAX  (8u << 20)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define STDIN_BUF (64u << 10)

struct init {
	int chan;                 /* /dev/hvc0, raw */
	struct guest_spec spec;
	int in_w, out_r, err_r;   /* pipes to the process, or -1 */
	int pty;                  /* terminal master, or -1 */
	int tty;                  /* its slave (child side) */
	int child_fd[3];          /* the child's stdin, stdout, stderr */
	int err_pipe[2];          /* the child's exec failure, CLOEXEC */
	pid_t child;
	/* stdin not yet taken by the process */
	uint8_t in_buf[STDIN_BUF];
	size_t in_len;
	bool in_eof;              /* vmm said stdin ended */
	/* frames from vmm, partly read */
	uint8_t rx[CHAN_HDR + CHAN_MAX_PAYLOAD];
	size_t rx_len;
	bool chan_gone;           /* read it no more (hung up, failed) */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("vmm-init: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

static void send_frame(struct init *in, int type, const void *p, size_t n)
{
	uint8_t hdr[CHAN_HDR] = { (uint8_t)type, (uint8_t)n, (uint8_t)(n >> 8) };

	write_all(in->chan, hdr, sizeof(hdr));
	write_all(in->chan, p, n);
}

/* The end of the VM: what vmm reads last, then a reset. */
static void __attribute__((noreturn)) finish(struct init *in, int type,
					     int status, const char *msg)
{
	uint8_t b[1 + 512];
	size_t n = 1;

	sync(); /* a --disk the process wrote is on the host before vmm stops */
	b[0] = (uint8_t)status;
	if (msg) {
		n += strlen(msg) < 512 ? strlen(msg) : 512;
		memcpy(b + 1, msg, n - 1);
	}
	if (in->chan >= 0)
		send_frame(in, type, b, n);
	/*
	 * vmm stops the VM on this frame. Resetting now could stop it first,
	 * before it has read the frame: only if it does not, reset.
	 */
	{
		sigset_t all;
		struct timespec t = { 10, 0 };

		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		while (nanosleep(&t, &t) < 0 && errno == EINTR)
			;
	}
	say("vmm did not stop the VM after the exit status; resetting");
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static void __attribute__((noreturn, format(printf, 3, 4)))
fail(struct init *in, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("%s", msg);
	finish(in, CHAN_ERROR, status, msg);
}

/* mkdir -p of path (absolute) */
static int mkdirs(const char *path, mode_t mode)
{
	char p[4096];
	size_t len = strlen(path);

	if (len >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, path, len + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static char *read_spec(struct init *in, size_t *len)
{
	int fd = open(SPEC_FILE, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    (size_t)st.st_size > SPEC_MAX)
		fail(in, EXIT_VMM_FAILED, "guest init: cannot read %s", SPEC_FILE);
	buf = malloc((size_t)st.st_size);
	if (!buf || (n = read(fd, buf, (size_t)st.st_size)) != st.st_size)
		fail(in, EXIT_VMM_FAILED, "guest init: cannot read %s", SPEC_FILE);
	close(fd);
	*len = (size_t)n;
	return buf;
}

static void open_channel(struct init *in)
{
	struct termios t;

	in->chan = open(CHAN_DEV, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (in->chan < 0) {
		say("cannot open %s: %s", CHAN_DEV, strerror(errno));
		reboot(RB_AUTOBOOT);
		_exit(1);
	}
	/* 8-bit clean both ways: no echo, no CR/LF games, no signals */
	if (tcgetattr(in->chan, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(in->chan, TCSANOW, &t);
	}
	send_frame(in, CHAN_READY, NULL, 0);
}

/* The rootfs image, read-only, under a tmpfs for what the process writes. */
static void make_root(struct init *in)
{
	if (mkdirs("/lower", 0755) || mkdirs("/upper", 0755) ||
	    mkdirs(ROOT, 0755))
		fail(in, EXIT_VMM_FAILED, "guest init: mkdir: %s", strerror(errno));
	if (mount(ROOT_DEV, "/lower", "erofs", MS_RDONLY, NULL) < 0)
		fail(in, EXIT_VMM_FAILED, "guest init: mount the rootfs image "
		     ROOT_DEV ": %s", strerror(errno));
	if (mount("tmpfs", "/upper", "tmpfs", 0, "mode=0755") < 0 ||
	    mkdirs("/upper/data", 0755) || mkdirs("/upper/work", 0755))
		fail(in, EXIT_VMM_FAILED, "guest init: tmpfs for the overlay: %s",
		     strerror(errno));
	if (mount("overlay", ROOT, "overlay", 0,
		  "lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work") < 0)
		fail(in, EXIT_VMM_FAILED, "guest init: overlay: %s",
		     strerror(errno));
}

/* One of config.json's mounts under ROOT; 0 or -errno, why in msg. */
static int mount_one(const struct spec_mount *m, char *msg, size_t len)
{
	char target[4096];
	int ret;

	snprintf(target, sizeof(target), ROOT "%s", m->dest);
	if ((ret = mkdirs(target, 0755))) {
		snprintf(msg, len, "mount %s: cannot create the mount point: %s",
			 m->dest, strerror(-ret));
		return ret;
	}
	if (mount(m->source, target, m->type, m->flags, m->data) < 0) {
		ret = -errno;
		snprintf(msg, len, "mount %s (%s): %s", m->dest, m->type,
			 strerror(-ret));
		return ret;
	}
	return 0;
}

/* The devices and links an OCI runtime puts in /dev. */
static void make_devices(struct init *in)
{
	static const struct { const char *name; unsigned int maj, min; } dev[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const struct { const char *name, *to; } link[] = {
		{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
		{ "core", "/proc/kcore" }, { "ptmx", "pts/ptmx" },
	};
	char p[64];

	if (mkdirs(ROOT "/dev", 0755))
		fail(in, EXIT_VMM_FAILED, "mkdir /dev: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(dev) / sizeof(dev[0]); i++) {
		snprintf(p, sizeof(p), ROOT "/dev/%s", dev[i].name);
		if (mknod(p, S_IFCHR | 0666, makedev(dev[i].maj, dev[i].min)) < 0 &&
		    errno != EEXIST)
			fail(in, EXIT_VMM_FAILED, "mknod /dev/%s: %s", dev[i].name,
			     strerror(errno));
		chmod(p, 0666); /* not the umask's */
	}
	for (size_t i = 0; i < sizeof(link) / sizeof(link[0]); i++) {
		snprintf(p, sizeof(p), ROOT "/dev/%s", link[i].name);
		if (symlink(link[i].to, p) < 0 && errno != EEXIST)
			fail(in, EXIT_VMM_FAILED, "symlink /dev/%s: %s",
			     link[i].name, strerror(errno));
	}
}

/* A terminal from the container's devpts; its slave on /dev/console. */
static void make_terminal(struct init *in)
{
	char name[64], slave[96];
	int n, unlock = 0;

	in->pty = open(ROOT "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (in->pty < 0)
		fail(in, EXIT_VMM_FAILED, "terminal: no devpts at /dev/pts "
		     "(config.json mounts it): %s", strerror(errno));
	if (ioctl(in->pty, TIOCSPTLCK, &unlock) < 0 ||
	    ioctl(in->pty, TIOCGPTN, &n) < 0)
		fail(in, EXIT_VMM_FAILED, "terminal: %s", strerror(errno));
	snprintf(name, sizeof(name), "/dev/pts/%d", n);
	snprintf(slave, sizeof(slave), ROOT "%s", name);
	in->tty = open(slave, O_RDWR | O_NOCTTY);
	if (in->tty < 0)
		fail(in, EXIT_VMM_FAILED, "terminal: %s: %s", name, strerror(errno));
	/* /dev/console is the terminal, as the runtime spec says */
	n = open(ROOT "/dev/console", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (n >= 0) {
		close(n);
		if (mount(slave, ROOT "/dev/console", NULL, MS_BIND, NULL) < 0)
			say("bind %s on /dev/console: %s", name, strerror(errno));
	}
}

static void make_pipes(struct init *in)
{
	int *child_end = in->child_fd;
	int p[3][2];

	for (int i = 0; i < 3; i++)
		if (pipe2(p[i], O_CLOEXEC) < 0)
			fail(in, EXIT_VMM_FAILED, "pipe: %s", strerror(errno));
	child_end[0] = p[0][0];
	in->in_w = p[0][1];
	child_end[1] = p[1][1];
	in->out_r = p[1][0];
	child_end[2] = p[2][1];
	in->err_r = p[2][0];
	fcntl(in->in_w, F_SETFL, O_NONBLOCK);
}

/* --- the child: becomes the process -------------------------------------- */

/* Report why the process cannot start (on the CLOEXEC pipe) and exit. */
static void __attribute__((noreturn, format(printf, 3, 4)))
child_fail(struct init *in, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	msg[0] = (char)status;
	va_start(ap, fmt);
	vsnprintf(msg + 1, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	write_all(in->err_pipe[1], msg, 1 + strlen(msg + 1));
	_exit(status);
}

static const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);

	for (; env && *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* HOME as runtimes set it: the user's passwd entry, else "/". */
static void add_home(struct init *in)
{
	struct guest_spec *s = &in->spec;
	static char home[4200];
	char line[4096], **env;
	const char *dir = "/";
	FILE *f;

	if (env_get(s->env, "HOME"))
		return;
	f = fopen("/etc/passwd", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *field[7], *save = NULL, *tok = line;
		int k = 0;

		/* name:pw:uid:gid:gecos:dir:shell; empty fields count */
		for (; k < 7 && tok; k++) {
			field[k] = tok;
			tok = strchr(tok, ':');
			if (tok)
				*tok++ = 0;
		}
		(void)save;
		if (k >= 6 && strtoul(field[2], NULL, 10) == s->uid &&
		    field[2][0] && field[5][0]) {
			field[5][strcspn(field[5], "\n")] = 0;
			dir = field[5];
			break;
		}
	}
	snprintf(home, sizeof(home), "HOME=%s", dir);
	if (f)
		fclose(f);
	env = realloc(s->env, (s->nenv + 2) * sizeof(*env));
	if (!env)
		child_fail(in, EXIT_VMM_FAILED, "out of memory");
	env[s->nenv++] = home;
	env[s->nenv] = NULL;
	s->env = env;
}

static int capset_all(const struct guest_spec *s)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	for (int i = 0; i < 2; i++) {
		d[i].effective = (uint32_t)(s->caps[1] >> (32 * i));
		d[i].inheritable = (uint32_t)(s->caps[2] >> (32 * i));
		d[i].permitted = (uint32_t)(s->caps[3] >> (32 * i));
	}
	return (int)syscall(SYS_capset, &h, d);
}

static void set_identity(struct init *in)
{
	struct guest_spec *s = &in->spec;
	int last = 63;
	FILE *f;

	if (s->caps_set) {
		f = fopen("/proc/sys/kernel/cap_last_cap", "re");
		if (f) {
			if (fscanf(f, "%d", &last) != 1)
				last = 63;
			fclose(f);
		}
		for (int c = 0; c <= last && c < 64; c++)
			if (!(s->caps[0] & (1ULL << c)) &&
			    prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
				child_fail(in, EXIT_VMM_FAILED,
					   "dropping capability %d: %s", c,
					   strerror(errno));
		prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	}
	if (setgroups(s->ngroups, s->groups) < 0 || setgid(s->gid) < 0 ||
	    setuid(s->uid) < 0)
		child_fail(in, EXIT_VMM_FAILED, "setting uid %u gid %u: %s",
			   s->uid, s->gid, strerror(errno));
	if (s->caps_set) {
		if (capset_all(s) < 0)
			child_fail(in, EXIT_VMM_FAILED, "capset: %s",
				   strerror(errno));
		/* as in runc and crun: one not also inheritable stays out */
		for (int c = 0; c <= last && c < 64; c++)
			if (s->caps[4] & (1ULL << c))
				prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
	}
}

/* args[0] as execvp finds it, but with the process's PATH. */
static const char *find_command(struct init *in, char *buf, size_t len)
{
	const char *cmd = in->spec.args[0], *path;
	bool denied = false;
	struct stat st;

	if (strchr(cmd, '/'))
		return cmd;
	path = env_get(in->spec.env, "PATH");
	if (!path)
		path = DEFAULT_PATH;
	/* each entry, an empty one being the cwd, as execvp does */
	for (;;) {
		size_t n = strcspn(path, ":");

		snprintf(buf, len, "%.*s/%s", (int)(n ? n : 1), n ? path : ".",
			 cmd);
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(buf, X_OK) == 0)
				return buf;
			denied = true;
		}
		if (!path[n])
			break;
		path += n + 1;
	}
	if (denied)
		child_fail(in, EXIT_CANNOT_EXEC, "executable file `%s`: "
			   "permission denied", cmd);
	child_fail(in, EXIT_NOT_FOUND, "executable file `%s` not found in $PATH",
		   cmd);
}

static int child_main(void *arg)
{
	struct init *in = arg;
	struct guest_spec *s = &in->spec;
	char buf[4096];
	const char *exe;
	struct stat st;

	/* proc shows this PID namespace only when mounted from inside it */
	for (size_t i = 0; i < s->nmounts; i++)
		if (!strcmp(s->mounts[i].type, "proc") &&
		    mount_one(&s->mounts[i], buf, sizeof(buf)))
			child_fail(in, EXIT_VMM_FAILED, "%s", buf);
	if (s->root_ro &&
	    mount(NULL, ROOT, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		child_fail(in, EXIT_VMM_FAILED, "read-only root: %s",
			   strerror(errno));
	if (chdir(ROOT) < 0 || chroot(".") < 0 || chdir("/") < 0)
		child_fail(in, EXIT_VMM_FAILED, "chroot: %s", strerror(errno));
	setsid();
	if (in->tty >= 0)
		ioctl(in->tty, TIOCSCTTY, 0);
	/* dup2 leaves the copies without CLOEXEC: only these stay open */
	for (int fd = 0; fd < 3; fd++)
		if (dup2(in->tty >= 0 ? in->tty : in->child_fd[fd], fd) < 0)
			child_fail(in, EXIT_VMM_FAILED, "dup2: %s",
				   strerror(errno));
	for (size_t i = 0; i < s->nrlimits; i++) {
		struct rlimit r = { s->rlimit[i].soft, s->rlimit[i].hard };

		if (setrlimit(s->rlimit[i].resource, &r) < 0)
			child_fail(in, EXIT_VMM_FAILED, "setrlimit %d: %s",
				   s->rlimit[i].resource, strerror(errno));
	}
	umask(s->umask_set ? s->umask : 022);
	add_home(in);
	set_identity(in);
	if (chdir(s->cwd) < 0)
		child_fail(in, EXIT_VMM_FAILED, "chdir to cwd (\"%s\"): %s",
			   s->cwd, strerror(errno));
	exe = find_command(in, buf, sizeof(buf));
	if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(in, EXIT_VMM_FAILED, "no_new_privs: %s",
			   strerror(errno));
	/* a clean signal state for the process */
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
	}
	execve(exe, s->args, s->env);
	if (errno == ENOENT && stat(exe, &st) < 0)
		child_fail(in, EXIT_NOT_FOUND, "executable file `%s` not found "
			   "in $PATH", s->args[0]);
	if (errno == EACCES && stat(exe, &st) == 0 && S_ISDIR(st.st_mode))
		child_fail(in, EXIT_CANNOT_EXEC, "executable file `%s`: is a "
			   "directory", s->args[0]);
	child_fail(in, EXIT_CANNOT_EXEC, "executable file `%s`: %s", s->args[0],
		   errno == ENOENT ? "its interpreter or loader is missing" :
		   strerror(errno));
}

/* --- the parent: relay until the process is gone --------------------------- */

static void handle_frame(struct init *in, int type, const uint8_t *p, size_t n)
{
	switch (type) {
	case CHAN_STDIN:
		if (in->in_eof)
			break;
		if (n > sizeof(in->in_buf) - in->in_len)
			n = sizeof(in->in_buf) - in->in_len; /* not read meanwhile */
		memcpy(in->in_buf + in->in_len, p, n);
		in->in_len += n;
		break;
	case CHAN_STDIN_EOF:
		in->in_eof = true;
		break;
	case CHAN_SIGNAL:
		if (n == 1 && in->child > 0)
			kill(in->child, p[0]);
		break;
	case CHAN_WINSIZE:
		if (n == 4 && in->pty >= 0) {
			struct winsize w = { .ws_row = (unsigned short)(p[0] | p[1] << 8),
					     .ws_col = (unsigned short)(p[2] | p[3] << 8) };

			ioctl(in->pty, TIOCSWINSZ, &w);
		}
		break;
	default:
		say("unknown frame type %d from vmm", type);
	}
}

static void read_channel(struct init *in)
{
	ssize_t got = read(in->chan, in->rx + in->rx_len, sizeof(in->rx) - in->rx_len);
	size_t off = 0;

	if (got <= 0) {
		/* a hang-up polls readable for ever: stop asking */
		if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
			say("the channel from vmm is gone");
			in->chan_gone = true;
		}
		return;
	}
	in->rx_len += (size_t)got;
	while (in->rx_len - off >= CHAN_HDR) {
		const uint8_t *h = in->rx + off;
		size_t n = (size_t)h[1] | (size_t)h[2] << 8;

		if (n > CHAN_MAX_PAYLOAD) {
			say("oversized frame from vmm: dropping the stream");
			in->rx_len = 0;
			return;
		}
		if (in->rx_len - off < CHAN_HDR + n)
			break;
		handle_frame(in, h[0], h + CHAN_HDR, n);
		off += CHAN_HDR + n;
	}
	memmove(in->rx, in->rx + off, in->rx_len - off);
	in->rx_len -= off;
}

/* Output of the process; false at its end. */
static bool relay(struct init *in, int fd, int type)
{
	uint8_t b[CHAN_MAX_PAYLOAD];
	ssize_t n = read(fd, b, sizeof(b));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false; /* EOF; EIO on a pty whose slave is gone */
	send_frame(in, type, b, (size_t)n);
	return true;
}

static void flush_stdin(struct init *in)
{
	int fd = in->pty >= 0 ? in->pty : in->in_w;

	if (fd >= 0 && in->in_len) {
		ssize_t n = write(fd, in->in_buf, in->in_len);

		if (n > 0) {
			memmove(in->in_buf, in->in_buf + n, in->in_len - (size_t)n);
			in->in_len -= (size_t)n;
		} else if (n < 0 && errno == EPIPE) {
			in->in_len = 0; /* nobody reads it any more */
		}
	}
	if (in->in_eof && !in->in_len && in->in_w >= 0) {
		close(in->in_w);
		in->in_w = -1;
	}
}

/*
 * SIGCHLD wakes the loop through a pipe: the handler can reach nothing
 * else, and signalfd() is not in every kernel (allnoconfig leaves it out).
 */
static int sigchld_pipe = -1;

static void on_sigchld(int sig)
{
	int saved = errno;
	char b = 0;

	(void)sig;
	if (write(sigchld_pipe, &b, 1) < 0) {
		/* full: a wake-up is pending anyway */
	}
	errno = saved;
}

static int exit_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

static void run(struct init *in)
{
	bool out_open = true, err_open = in->pty < 0, exited = false;
	struct sigaction sa = { .sa_handler = on_sigchld,
				.sa_flags = SA_RESTART | SA_NOCLDSTOP };
	int status = 0, wake[2], sfd;
	char emsg[512];
	ssize_t elen = 0;
	sigset_t chld;

	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) < 0)
		fail(in, EXIT_VMM_FAILED, "pipe: %s", strerror(errno));
	sfd = wake[0];
	sigchld_pipe = wake[1];
	sigaction(SIGCHLD, &sa, NULL);
	/* blocked since before the clone: one that came already runs now */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_UNBLOCK, &chld, NULL);
	while (!exited || out_open || err_open) {
		struct pollfd p[5] = {
			{ in->in_len < sizeof(in->in_buf) && !in->chan_gone ?
			  in->chan : -1, POLLIN, 0 },
			{ out_open ? (in->pty >= 0 ? in->pty : in->out_r) : -1, POLLIN, 0 },
			{ err_open ? in->err_r : -1, POLLIN, 0 },
			{ sfd, POLLIN, 0 },
			{ in->in_len ? (in->pty >= 0 ? in->pty : in->in_w) : -1,
			  POLLOUT, 0 },
		};

		if (poll(p, 5, -1) < 0 && errno != EINTR)
			fail(in, EXIT_VMM_FAILED, "poll: %s", strerror(errno));
		if (p[0].revents)
			read_channel(in);
		if (p[1].revents && !relay(in, p[1].fd, CHAN_STDOUT))
			out_open = false;
		if (p[2].revents && !relay(in, in->err_r, CHAN_STDERR))
			err_open = false;
		if (p[3].revents) {
			char drain[64];
			pid_t pid;
			int st;

			while (read(sfd, drain, sizeof(drain)) > 0)
				;
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
				if (pid == in->child) {
					status = exit_status(st);
					exited = true;
					in->child = 0;
				}
		}
		flush_stdin(in);
	}
	/* the child's own failure, if exec never happened */
	elen = read(in->err_pipe[0], emsg, sizeof(emsg) - 1);
	if (elen > 1) {
		emsg[elen] = 0;
		finish(in, CHAN_ERROR, (uint8_t)emsg[0], emsg + 1);
	}
	finish(in, CHAN_EXIT, status, NULL);
}

int main(void)
{
	static struct init in = { .chan = -1, .in_w = -1, .out_r = -1,
				  .err_r = -1, .pty = -1, .tty = -1,
				  .child_fd = { -1, -1, -1 } };
	char err[256], *buf;
	size_t len;
	sigset_t chld;
	static char stack[256 << 10];

	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) < 0 && errno != EBUSY)
		say("mount devtmpfs: %s", strerror(errno));
	open_channel(&in);
	buf = read_spec(&in, &len);
	if (spec_decode(buf, len, &in.spec, err, sizeof(err)))
		fail(&in, EXIT_VMM_FAILED, "guest init: %s", err);
	if (in.spec.hostname && sethostname(in.spec.hostname,
					    strlen(in.spec.hostname)) < 0)
		fail(&in, EXIT_VMM_FAILED, "hostname: %s", strerror(errno));
	make_root(&in);
	for (size_t i = 0; i < in.spec.nmounts; i++)
		if (strcmp(in.spec.mounts[i].type, "proc") &&
		    mount_one(&in.spec.mounts[i], err, sizeof(err)))
			fail(&in, EXIT_VMM_FAILED, "%s", err);
	make_devices(&in);
	{
		char cwd[4200];
		int ret;

		/* crun and runc create a missing cwd too */
		snprintf(cwd, sizeof(cwd), ROOT "%s", in.spec.cwd);
		if ((ret = mkdirs(cwd, 0755)))
			say("mkdir cwd %s: %s", in.spec.cwd, strerror(-ret));
	}
	if (in.spec.terminal)
		make_terminal(&in);
	else
		make_pipes(&in);
	if (pipe2(in.err_pipe, O_CLOEXEC) < 0)
		fail(&in, EXIT_VMM_FAILED, "pipe: %s", strerror(errno));

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	/* a process that leaves its stdin unread must not kill us */
	signal(SIGPIPE, SIG_IGN);
	in.child = (pid_t)clone(child_main, stack + sizeof(stack),
				CLONE_NEWPID | SIGCHLD, &in);
	if (in.child < 0 && errno == EINVAL)
		fail(&in, EXIT_VMM_FAILED, "clone: the guest kernel has no PID "
		     "namespaces");
	if (in.child < 0)
		fail(&in, EXIT_VMM_FAILED, "clone: %s", strerror(errno));
	close(in.err_pipe[1]);
	if (in.tty >= 0)
		close(in.tty);
	for (int i = 0; i < 3; i++)
		if (in.child_fd[i] >= 0)
			close(in.child_fd[i]);
	run(&in);
	return 0;
}
