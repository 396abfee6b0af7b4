// SPDX-License-Identifier: MIT
/*
 * vmm run --bundle (run_bundle.h). In order: read and check config.json
 * (bundle.c), find the guest kernel, get the rootfs image (rootfs.c),
 * write the initramfs (the init and its spec), then the VM's ordinary
 * lifecycle (vm.c) with two additions: the process channel, a virtio
 * console whose frames (chan.c) carry the process's I/O and exit, and
 * a signal hook that forwards SIGINT/SIGTERM/SIGHUP to the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../devices/devices.h"
#include "bundle.h"
#include "chan.h"
#include "console.h"
#include "cpio.h"
#include "evloop.h"
#include "log.h"
#include "metrics.h"
#include "rootfs.h"
#include "run_bundle.h"
#include "vmm.h"

#define CONFIG_NAME "config.json"
#define TXQ_SIZE    (32u << 10)
#define TXQ_RESERVE 256   /* kept for EOF and signal frames */
#define SIGNALS_TO_GIVE_UP 3

struct runner {
	struct vm vm;
	struct bundle_spec spec;
	char dir[PATH_MAX];
	char rootfs[PATH_MAX];
	char image[PATH_MAX];
	int initrd_fd;
	bool terminal;            /* the process has a terminal */

	/* guest -> vmm */
	struct dev_console sink;
	struct chan_rx rx;
	bool guest_ready;         /* the init said CHAN_READY (atomic: the
				     frame may come on a vCPU thread) */
	bool ended;               /* an EXIT or ERROR frame came */
	int status;
	char msg[CHAN_MAX_PAYLOAD + 1];

	/* vmm -> guest: whole frames waiting for room in the device */
	uint8_t txq[TXQ_SIZE];
	size_t txlen;
	int ready_efd;            /* the device takes input again */
	int winch_fd;             /* SIGWINCH, with a terminal */
	struct console *input;    /* vmm's stdin */
	int nsignals, last_signal;
};

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a closed stdout must not stop the run */
		p += w;
		n -= (size_t)w;
	}
}

/* --- the channel ------------------------------------------------------------ */

static void channel_ready(void *opaque);

static void on_frame(void *arg, int type, const uint8_t *p, size_t n)
{
	struct runner *r = arg;

	if (r->ended)
		return;
	switch (type) {
	case CHAN_READY:
		/* on the loop's thread, but in the device's transmit path: the
		   queued input goes from the loop's next turn */
		__atomic_store_n(&r->guest_ready, true, __ATOMIC_RELEASE);
		channel_ready(r);
		break;
	case CHAN_STDOUT:
		write_all(STDOUT_FILENO, p, n);
		break;
	case CHAN_STDERR:
		write_all(STDERR_FILENO, p, n);
		break;
	case CHAN_EXIT:
	case CHAN_ERROR:
		if (n < 1)
			break;
		r->ended = true;
		r->status = p[0];
		memcpy(r->msg, p + 1, n - 1);
		r->msg[n - 1] = 0;
		if (type == CHAN_ERROR && !r->msg[0])
			snprintf(r->msg, sizeof(r->msg), "the process could not start");
		/* nothing is left to wait for: no guest shutdown */
		vm_request_stop(&r->vm, VM_STOP_POWEROFF, "the process ended");
		break;
	default:
		debug("channel: unknown frame type %d from the guest", type);
	}
}

/* Guest output (the event loop's thread, the device locked). */
static void channel_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct runner *r = opaque;

	if (chan_feed(&r->rx, buf, len, on_frame, r))
		vm_request_stop(&r->vm, VM_STOP_ERROR,
				"the guest init broke the channel's framing");
}

/* The device has room for input again (any thread). */
static void channel_ready(void *opaque)
{
	struct runner *r = opaque;
	uint64_t one = 1;

	if (write(r->ready_efd, &one, sizeof(one)) < 0)
		debug("channel: eventfd: %s", strerror(errno));
}

/* Hand queued frames to the device, as much as it takes. */
static void push(struct runner *r)
{
	size_t took;

	if (!r->vm.channel || !r->txlen ||
	    !__atomic_load_n(&r->guest_ready, __ATOMIC_ACQUIRE))
		return;
	took = virtio_console_rx(r->vm.channel, r->txq, r->txlen);
	memmove(r->txq, r->txq + took, r->txlen - took);
	r->txlen -= took;
}

/* Queue one frame whole, or nothing; control frames may use the reserve. */
static bool queue_frame(struct runner *r, int type, const void *p, size_t n,
			bool control)
{
	size_t room = TXQ_SIZE - r->txlen - (control ? 0 : TXQ_RESERVE);

	if (CHAN_HDR + n > room || r->txlen + CHAN_HDR + n > TXQ_SIZE)
		return false;
	r->txlen += chan_frame(r->txq + r->txlen, type, p, n);
	push(r);
	return true;
}

static void on_channel_ready(void *opaque, uint32_t events)
{
	struct runner *r = opaque;
	uint64_t v;

	(void)events;
	if (read(r->ready_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	push(r);
	if (r->input)
		console_sink_ready(r->input);
}

/* vmm's stdin -> STDIN frames; how much of buf was taken. */
static size_t stdin_sink(void *opaque, const uint8_t *buf, size_t len)
{
	struct runner *r = opaque;
	size_t taken = 0;

	while (taken < len) {
		size_t room = TXQ_SIZE - TXQ_RESERVE - r->txlen, n = len - taken;

		if (room <= CHAN_HDR)
			break;
		if (n > room - CHAN_HDR)
			n = room - CHAN_HDR;
		if (n > CHAN_MAX_PAYLOAD)
			n = CHAN_MAX_PAYLOAD;
		if (!queue_frame(r, CHAN_STDIN, buf + taken, n, false))
			break;
		taken += n;
	}
	return taken;
}

static void stdin_eof(void *opaque)
{
	struct runner *r = opaque;

	if (!queue_frame(r, CHAN_STDIN_EOF, NULL, 0, true))
		warn("channel full: the end of stdin was not passed on");
}

static void console_quit(void *opaque)
{
	struct runner *r = opaque;

	vm_request_stop(&r->vm, VM_STOP_USER, "quit from the console (Ctrl-A x)");
}

/* SIGINT, SIGTERM, SIGHUP: the process's, until vmm is asked thrice. */
static bool forward_signal(void *opaque, int signo)
{
	struct runner *r = opaque;
	uint8_t s = (uint8_t)signo;

	r->last_signal = signo;
	if (++r->nsignals >= SIGNALS_TO_GIVE_UP)
		return false; /* vmm stops the VM */
	if (!queue_frame(r, CHAN_SIGNAL, &s, 1, true))
		warn("channel full: signal %d not passed on", signo);
	return true;
}

static void send_winsize(struct runner *r)
{
	struct winsize w;
	uint8_t p[4];

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &w) < 0)
		return;
	p[0] = (uint8_t)w.ws_row;
	p[1] = (uint8_t)(w.ws_row >> 8);
	p[2] = (uint8_t)w.ws_col;
	p[3] = (uint8_t)(w.ws_col >> 8);
	queue_frame(r, CHAN_WINSIZE, p, sizeof(p), true);
}

static void on_winch(void *opaque, uint32_t events)
{
	struct runner *r = opaque;
	struct signalfd_siginfo si;

	(void)events;
	while (read(r->winch_fd, &si, sizeof(si)) == sizeof(si))
		;
	send_winsize(r);
}

/* --- before the VM ------------------------------------------------------------ */

static int read_config(struct runner *r, const char *bundle)
{
	char path[PATH_MAX + 16], err[300], *buf = NULL;
	struct stat st;
	ssize_t n = -1;
	int fd, ret;

	if (!realpath(bundle, r->dir)) {
		error("bundle %s: %s", bundle, strerror(errno));
		return -errno;
	}
	if (stat(r->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		error("bundle %s: not a directory", bundle);
		return -ENOTDIR;
	}
	snprintf(path, sizeof(path), "%s/" CONFIG_NAME, r->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		error("bundle %s: " CONFIG_NAME ": %s", bundle, strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > BUNDLE_CONFIG_MAX) {
		ret = -EINVAL;
		error("bundle %s: " CONFIG_NAME ": %s", bundle,
		      S_ISREG(st.st_mode) ? "larger than 4 MiB" :
		      "not a regular file");
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf)
		n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		ret = -EIO;
		error("bundle %s: " CONFIG_NAME ": cannot read it", bundle);
		goto out;
	}
	ret = bundle_parse(buf, (size_t)n, &r->spec, err, sizeof(err));
	if (ret)
		error("bundle %s: " CONFIG_NAME ": %s", bundle, err);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

static int find_rootfs(struct runner *r, const char *bundle)
{
	char path[2 * PATH_MAX];
	struct stat st;

	if (r->spec.root_path[0] == '/')
		snprintf(path, sizeof(path), "%s", r->spec.root_path);
	else
		snprintf(path, sizeof(path), "%s/%s", r->dir, r->spec.root_path);
	if (!realpath(path, r->rootfs) || stat(r->rootfs, &st) < 0) {
		error("bundle %s: root.path %s: %s", bundle, r->spec.root_path,
		      strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		error("bundle %s: root.path %s: not a directory", bundle,
		      r->spec.root_path);
		return -ENOTDIR;
	}
	return 0;
}

/* --kernel, else $VMM_KERNEL, else what scripts/build-guest-kernel made. */
static int find_kernel(struct vm_config *cfg, const char *cache)
{
	static const char *const names[] = { "bzImage", "Image" };
	const char *env = getenv("VMM_KERNEL");
	struct utsname u;

	if (cfg->kernel[0])
		return 0;
	if (env && env[0]) {
		snprintf(cfg->kernel, sizeof(cfg->kernel), "%s", env);
		return 0;
	}
	uname(&u);
	for (size_t i = 0; cache[0] && i < sizeof(names) / sizeof(names[0]); i++) {
		char path[PATH_MAX + 128];

		snprintf(path, sizeof(path), "%s/linux-%s/%s", cache, u.machine,
			 names[i]);
		if (strlen(path) < sizeof(cfg->kernel) && access(path, R_OK) == 0) {
			memcpy(cfg->kernel, path, strlen(path) + 1);
			return 0;
		}
	}
	error("no guest kernel: give --kernel FILE or VMM_KERNEL, or build one "
	      "with scripts/build-guest-kernel (looked for in %s/linux-%s/)",
	      cache[0] ? cache : "~/.cache/vmm", u.machine);
	return -ENOENT;
}

/* The initramfs: the init, its spec, /dev/console; in a memfd. */
static int make_initramfs(struct runner *r, struct vm_config *cfg)
{
	struct cpio c;
	char *spec;
	size_t len;
	int ret;

	if ((ret = bundle_guest_spec(&r->spec, &spec, &len)))
		return ret;
	cpio_init(&c);
	cpio_dir(&c, "dev", 0755);
	cpio_chardev(&c, "dev/console", 0600, 5, 1);
	cpio_dir(&c, "vmm", 0755);
	cpio_file(&c, "vmm/spec", 0600, spec, len);
	cpio_file(&c, "init", 0755, vmm_guest_init,
		  (size_t)(vmm_guest_init_end - vmm_guest_init));
	free(spec);
	if ((ret = cpio_finish(&c)))
		goto out;
	r->initrd_fd = memfd_create("vmm-initramfs", MFD_CLOEXEC);
	if (r->initrd_fd < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t off = 0; off < c.len;) {
		ssize_t w = write(r->initrd_fd, c.buf + off, c.len - off);

		if (w <= 0) {
			ret = w < 0 ? -errno : -EIO;
			goto out;
		}
		off += (size_t)w;
	}
	/* vm_boot() maps the initrd by name, like a user's file */
	snprintf(cfg->initrd, sizeof(cfg->initrd), "/proc/self/fd/%d",
		 r->initrd_fd);
out:
	cpio_free(&c);
	if (ret)
		error("the initramfs: %s", strerror(-ret));
	return ret;
}

/* The bundle's settings over the command line's. */
static int make_vm_config(struct runner *r, const struct vm_config *cli,
			  struct vm_config *cfg, const char *cache)
{
	int ret;

	*cfg = *cli;
	if ((ret = find_kernel(cfg, cache)) || (ret = make_initramfs(r, cfg)))
		return ret;
	/* the kernel's messages stay on the serial port (--serial-log) */
	if (!strcmp(cfg->cmdline, VMM_DEFAULT_CMDLINE))
		snprintf(cfg->cmdline, sizeof(cfg->cmdline), "%s quiet",
			 VMM_DEFAULT_CMDLINE);
	cfg->console = CONSOLE_NONE;
	if (cfg->nr_disks == VMM_MAX_DISKS) {
		error("--disk: at most %d disks beside the bundle's rootfs",
		      VMM_MAX_DISKS - 1);
		return -E2BIG;
	}
	/* the rootfs is /dev/vda; the user's disks follow */
	memmove(&cfg->disk[1], &cfg->disk[0], cfg->nr_disks * sizeof(cfg->disk[0]));
	cfg->nr_disks++;
	memset(&cfg->disk[0], 0, sizeof(cfg->disk[0]));
	snprintf(cfg->disk[0].path, sizeof(cfg->disk[0].path), "%s", r->image);
	snprintf(cfg->disk[0].id, sizeof(cfg->disk[0].id), "rootfs");
	cfg->disk[0].read_only = true;
	return 0;
}

static int prepare(struct runner *r, const struct vm_config *cli, int argc,
		   char **argv, struct vm_config *cfg)
{
	char cache[PATH_MAX] = "";
	bool built;
	int ret;

	if ((ret = read_config(r, cli->bundle)))
		return ret;
	if (cli->bundle_args > 0 && cli->bundle_args < argc &&
	    (ret = bundle_set_args(&r->spec, argc - cli->bundle_args,
				   argv + cli->bundle_args))) {
		error("the command after --: %s", ret == -ENOMEM ?
		      "out of memory" : "not a command");
		return ret;
	}
	if (!r->spec.process.nargs) {
		error("bundle %s: " CONFIG_NAME ": process.args: missing or "
		      "empty (or give the command after --)", cli->bundle);
		return -EINVAL;
	}
	for (size_t i = 0; i < r->spec.nmounts; i++)
		if (r->spec.mounts[i].kind == MOUNT_HOST)
			warn("mount %s (%s%s%s): the host's files are not "
			     "shared with the VM; left out",
			     r->spec.mounts[i].destination,
			     r->spec.mounts[i].type[0] ? r->spec.mounts[i].type : "bind",
			     r->spec.mounts[i].source[0] ? " of " : "",
			     r->spec.mounts[i].source);
	if ((ret = find_rootfs(r, cli->bundle)))
		return ret;
	if (rootfs_cache_dir(cache, sizeof(cache))) {
		error("no cache directory for the rootfs image: set VMM_CACHE "
		      "or HOME");
		return -ENOENT;
	}
	if ((ret = rootfs_image(r->rootfs, cache, r->image, sizeof(r->image),
				&built)))
		return ret;
	debug("rootfs image %s (%s)", r->image, built ? "made now" : "cached");
	r->terminal = r->spec.process.terminal;
	return make_vm_config(r, cli, cfg, cache);
}

/* --- the run -------------------------------------------------------------------- */

static int attach_channel(struct runner *r)
{
	struct evloop *loop = r->vm.loop;
	int ret;

	r->sink = (struct dev_console){
		.write = channel_write, .ready = channel_ready, .opaque = r,
	};
	r->vm.channel_sink = &r->sink;
	r->vm.signal_hook = forward_signal;
	r->vm.signal_hook_arg = r;
	r->ready_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->ready_efd < 0)
		return -errno;
	if ((ret = evloop_add(loop, r->ready_efd, EPOLLIN, on_channel_ready, r)))
		return ret;
	if (r->terminal && isatty(STDIN_FILENO)) {
		sigset_t w;

		sigemptyset(&w);
		sigaddset(&w, SIGWINCH);
		r->winch_fd = signalfd(-1, &w, SFD_NONBLOCK | SFD_CLOEXEC);
		if (r->winch_fd < 0 ||
		    (ret = evloop_add(loop, r->winch_fd, EPOLLIN, on_winch, r)))
			return r->winch_fd < 0 ? -errno : ret;
		send_winsize(r);
	}
	ret = console_create_input(loop, r->terminal, console_quit, stdin_eof,
				   r, &r->input);
	if (!ret)
		console_set_sink(r->input, stdin_sink, NULL, r);
	return ret;
}

int run_bundle(const struct vm_config *cli, int argc, char **argv,
	       uint64_t t_start)
{
	static struct runner r; /* large: keep it off the stack */
	struct vm_config cfg;
	sigset_t winch;
	int ret, status;

	r.initrd_fd = r.ready_efd = r.winch_fd = -1;
	/* the process's stderr is vmm's: only warnings and errors of ours */
	if (!cli->verbose)
		log_set_level(LOG_WARN);
	ret = prepare(&r, cli, argc, argv, &cfg);
	if (ret) {
		bundle_free(&r.spec);
		if (r.initrd_fd >= 0)
			close(r.initrd_fd);
		return EXIT_VMM_FAILED;
	}
	/* before any thread exists, so that none takes it */
	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &winch, NULL);

	ret = vm_init(&r.vm, &cfg, t_start);
	if (!ret && (ret = attach_channel(&r)))
		error("the process channel: %s", strerror(-ret));
	if (!ret)
		ret = vm_boot(&r.vm);
	if (!ret)
		ret = vm_run(&r.vm);
	/* the terminal back to the user before anything is printed */
	console_destroy(r.input);
	r.input = NULL;
	if (r.vm.cfg.boot_timer_line)
		vm_print_timeline(&r.vm);
	if (r.vm.cfg.metrics_path[0] &&
	    (errno = -vm_write_metrics(&r.vm, r.vm.cfg.metrics_path)))
		error("--metrics-path %s: %s", r.vm.cfg.metrics_path,
		      strerror(errno));
	if (r.ready_efd >= 0) {
		evloop_del(r.vm.loop, r.ready_efd);
		close(r.ready_efd);
	}
	if (r.winch_fd >= 0) {
		evloop_del(r.vm.loop, r.winch_fd);
		close(r.winch_fd);
	}
	vm_destroy(&r.vm);

	if (r.ended) {
		status = r.status;
		if (r.msg[0])
			error("%s", r.msg);
	} else if (ret && !vm_stopping(&r.vm)) {
		status = EXIT_VMM_FAILED; /* said where it failed */
	} else if (vm_stopping(&r.vm) == VM_STOP_USER && r.last_signal) {
		error("%s; the process did not end", r.vm.stop_msg);
		status = 128 + r.last_signal;
	} else {
		error("the VM stopped before the process ended: %s (the guest's "
		      "messages: --serial-log FILE)", r.vm.stop_msg);
		status = EXIT_VMM_FAILED;
	}
	bundle_free(&r.spec);
	if (r.initrd_fd >= 0)
		close(r.initrd_fd);
	return status;
}
