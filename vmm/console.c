// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "evloop.h"
#include "log.h"
#include "vmm.h"

#define CONSOLE_READ 256 /* bytes per read of the input */

struct console {
	struct vm *vm;
	int in_fd;            /* -1 when there is no (more) input */
	int out_fd;           /* -1 when output goes only to the log */
	int log_fd;           /* --serial-log, or -1 */
	int ready_efd;        /* sink has room again */
	bool is_tty;
	bool watching;        /* in_fd is in the event loop */
	struct console_esc esc;
	console_sink_fn sink;
	void *sink_opaque;
	uint8_t pending[CONSOLE_READ + 1]; /* input the sink has not taken */
	size_t npending;
	uint64_t dropped;     /* typed while the guest was not reading */
};

/*
 * The terminal's settings before raw mode. The terminal belongs to the
 * process, not to a VM, and the restore must also run from atexit() and
 * fatal-signal handlers, which take no argument: hence file scope.
 */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;

static void restore_terminal(void)
{
	if (termios_saved) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
		termios_saved = 0;
	}
}

static void fatal_signal(int sig)
{
	restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int enter_raw_mode(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL,
					SIGQUIT, SIGTRAP, SIGSYS, SIGXCPU,
					SIGXFSZ };
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return -errno;
	termios_saved = 1;
	atexit(restore_terminal);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], fatal_signal);
	t = saved_termios;
	/*
	 * Raw input (every key goes to the guest, Ctrl-C included), but keep
	 * output post-processing so vmm's own messages still start lines.
	 */
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
		       ICRNL | IXON);
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
		return -errno;
	return 0;
}

static void console_input(struct vm *vm, void *opaque, uint32_t events);

size_t console_filter(struct console_esc *e, const uint8_t *in, size_t n,
		      uint8_t *out, enum console_action *action)
{
	size_t o = 0;

	*action = CONSOLE_PASS;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = in[i];

		if (!e->armed) {
			if (b == CONSOLE_ESCAPE)
				e->armed = true;
			else
				out[o++] = b;
			continue;
		}
		e->armed = false;
		if (b == 'x' || b == 'X') {
			*action = CONSOLE_QUIT;
			return o;
		}
		if (b == CONSOLE_ESCAPE) {
			out[o++] = CONSOLE_ESCAPE;
			continue;
		}
		/* not an escape sequence: the guest gets both keys */
		out[o++] = CONSOLE_ESCAPE;
		out[o++] = b;
	}
	return o;
}

/*
 * Hand pending input to the sink. A pipe is not read while the sink is
 * full (its fd leaves the loop: nothing is lost, and a writer that hangs
 * up cannot wake us); a terminal always is, so Ctrl-A x works whatever
 * the guest does, and keys typed while the guest reads none are dropped,
 * as a UART would.
 */
static void console_flush_pending(struct console *c)
{
	size_t took = 0;

	if (c->sink && c->npending)
		took = c->sink(c->sink_opaque, c->pending, c->npending);
	memmove(c->pending, c->pending + took, c->npending - took);
	c->npending -= took;
	if (c->is_tty || c->in_fd < 0)
		return;
	if (c->npending && c->watching) {
		evloop_del(c->vm->loop, c->in_fd);
		c->watching = false;
	} else if (!c->npending && !c->watching) {
		c->watching = !evloop_add(c->vm->loop, c->in_fd, EPOLLIN,
					  console_input, c);
	}
}

static void console_input(struct vm *vm, void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint8_t buf[CONSOLE_READ], keys[CONSOLE_READ + 1];
	enum console_action act = CONSOLE_PASS;
	size_t n, room;
	ssize_t got;

	(void)events;
	/* a pipe is only watched while nothing is pending */
	got = read(c->in_fd, buf, c->is_tty ? sizeof(buf) :
		   sizeof(buf) - c->npending);
	if (got <= 0) {
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		/* EOF or error: no more input, but the VM goes on */
		evloop_del(vm->loop, c->in_fd);
		c->watching = false;
		c->in_fd = -1;
		return;
	}
	n = (size_t)got;
	if (c->is_tty) {
		n = console_filter(&c->esc, buf, n, keys, &act);
		if (act == CONSOLE_QUIT) {
			vm_request_stop(vm, VM_STOP_USER,
					"quit from the console (Ctrl-A x)");
			return;
		}
	} else {
		memcpy(keys, buf, n);
	}
	room = sizeof(c->pending) - c->npending;
	if (n > room) {
		c->dropped += n - room;
		n = room;
	}
	memcpy(c->pending + c->npending, keys, n);
	c->npending += n;
	console_flush_pending(c);
}

static void console_ready(struct vm *vm, void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint64_t v;

	(void)vm;
	(void)events;
	if (read(c->ready_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	console_flush_pending(c);
}

int console_create(struct vm *vm, struct console **out)
{
	struct console *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return -ENOMEM;
	c->vm = vm;
	c->in_fd = c->out_fd = c->log_fd = -1;
	c->ready_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->ready_efd < 0) {
		ret = -errno;
		goto fail;
	}
	if (vm->cfg.serial_log[0]) {
		c->log_fd = open(vm->cfg.serial_log,
				 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->log_fd < 0) {
			ret = -errno;
			error("--serial-log %s: %s", vm->cfg.serial_log,
			      strerror(errno));
			goto fail;
		}
	}
	if (vm->cfg.console != CONSOLE_NONE) {
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		c->is_tty = isatty(STDIN_FILENO);
		if (c->is_tty && (ret = enter_raw_mode()) < 0) {
			error("cannot put the terminal in raw mode: %s",
			      strerror(-ret));
			goto fail;
		}
		/*
		 * A stdin epoll cannot watch (a regular file, /dev/null) means
		 * no input: `cat FILE |` feeds a file.
		 */
		if (evloop_add(vm->loop, c->in_fd, EPOLLIN, console_input, c))
			c->in_fd = -1;
		else
			c->watching = true;
	}
	ret = evloop_add(vm->loop, c->ready_efd, EPOLLIN, console_ready, c);
	if (ret)
		goto fail;
	*out = c;
	return 0;
fail:
	console_destroy(c);
	return ret;
}

void console_set_sink(struct console *c, console_sink_fn fn, void *opaque)
{
	c->sink = fn;
	c->sink_opaque = opaque;
}

void console_sink_ready(struct console *c)
{
	uint64_t one = 1;

	if (write(c->ready_efd, &one, sizeof(one)) < 0)
		debug("console: eventfd write: %s", strerror(errno));
}

static void write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* a closed terminal must not stop the guest */
		buf += n;
		len -= (size_t)n;
	}
}

void console_write(struct console *c, const uint8_t *buf, size_t len)
{
	if (c->out_fd >= 0)
		write_all(c->out_fd, buf, len);
	if (c->log_fd >= 0)
		write_all(c->log_fd, buf, len);
}

void console_destroy(struct console *c)
{
	if (!c)
		return;
	restore_terminal();
	if (c->log_fd >= 0)
		close(c->log_fd);
	if (c->ready_efd >= 0)
		close(c->ready_efd);
	free(c);
}
