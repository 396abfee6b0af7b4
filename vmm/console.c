// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "evloop.h"
#include "log.h"
#include "timeline.h"

#define CONSOLE_READ 256 /* bytes per read of the input */

const char console_keys_help[] =
	"  Ctrl-A x        quit: stop the VM and exit\n"
	"  Ctrl-A b        send a break: Linux takes the next key as SysRq\n"
	"                  (Ctrl-A b t: tasks, w: blocked tasks, c: crash)\n"
	"  Ctrl-A t        timestamps on the terminal on or off\n"
	"  Ctrl-A h        show these keys\n"
	"  Ctrl-A Ctrl-A   send one Ctrl-A to the guest\n";

/* Where guest output goes, and whether its lines get a time stamp. */
struct console_out {
	int fd;               /* -1: nowhere */
	bool stamps;
	bool bol;             /* the next byte starts a line */
};

struct console {
	struct evloop *loop;
	void (*on_quit)(void *arg);
	void *quit_arg;
	int in_fd;            /* -1 when there is no (more) input */
	pthread_mutex_t out_lock; /* guest output comes from any thread */
	struct console_out out;   /* stdout, or fd -1: only the log */
	struct console_out log;   /* --serial-log, or fd -1 */
	uint64_t t0;              /* what the timestamps count from */
	int ready_efd;        /* sink has room again */
	int cont_fd;          /* signalfd for SIGCONT (terminal only), or -1 */
	bool is_tty;
	bool no_raw;          /* leave a terminal as it is (input-only) */
	bool is_file;         /* a regular file: read without epoll */
	void (*on_eof)(void *arg); /* input ended (input-only console) */
	bool raw;             /* we hold the terminal in raw mode */
	bool watching;        /* in_fd is in the event loop */
	struct console_esc esc;
	console_sink_fn sink;
	console_break_fn brk;
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

void console_restore_terminal(void)
{
	if (termios_saved) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
		termios_saved = 0;
	}
}

/*
 * Installed with SA_RESETHAND: the default action is back by the time
 * this runs, so raising the signal again ends the process the way it
 * would have ended, with no sigaction() (which the seccomp filters of a
 * running VM do not allow).
 */
static void fatal_signal(int sig)
{
	console_restore_terminal();
	raise(sig);
}

/* Is this process in the terminal's foreground process group? */
static bool in_foreground(void)
{
	pid_t fg = tcgetpgrp(STDIN_FILENO);

	return fg >= 0 && fg == getpgrp();
}

static int enter_raw_mode(void)
{
	static bool handlers;
	/* SIGSYS is seccomp's: its handler restores the terminal too */
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL,
					SIGQUIT, SIGTRAP, SIGXCPU, SIGXFSZ };
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return -errno;
	if (!handlers) {
		handlers = true;
		atexit(console_restore_terminal);
		struct sigaction sa = {
			.sa_handler = fatal_signal, .sa_flags = SA_RESETHAND,
		};

		sigemptyset(&sa.sa_mask);
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			sigaction(fatal[i], &sa, NULL);
	}
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
	termios_saved = 1;
	return 0;
}

static void console_input(void *opaque, uint32_t events);

size_t console_filter(struct console_esc *e, const uint8_t *in, size_t n,
		      size_t *used, uint8_t *out, enum console_action *action)
{
	size_t o = 0;

	*action = CONSOLE_PASS;
	*used = n;
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
		if (b == 'x' || b == 'X' || b == 'b' || b == 'B') {
			*action = b == 'x' || b == 'X' ? CONSOLE_QUIT :
				  CONSOLE_BREAK;
			*used = i + 1;
			return o;
		}
		if (b == 'h' || b == 'H' || b == '?') {
			e->help = true;
			continue;
		}
		if (b == 't' || b == 'T') {
			e->toggle_time = !e->toggle_time;
			continue;
		}
		if (b == CONSOLE_ESCAPE) {
			out[o++] = CONSOLE_ESCAPE;
			continue;
		}
		/* not an escape sequence: the guest gets both keys */
		e->unknown = true;
		e->unknown_key = b;
		out[o++] = CONSOLE_ESCAPE;
		out[o++] = b;
	}
	return o;
}

static void watch_input(struct console *c, bool on)
{
	if (c->in_fd < 0 || on == c->watching)
		return;
	if (on)
		c->watching = !evloop_add(c->loop, c->in_fd, EPOLLIN,
					  console_input, c);
	else
		c->watching = evloop_del(c->loop, c->in_fd) != 0;
}

/* In the foreground: raw mode and input; in the background: neither. */
static void claim_terminal(struct console *c)
{
	int ret;

	if (!c->is_tty || c->in_fd < 0)
		return;
	if (in_foreground()) {
		if (!c->raw && !c->no_raw) {
			ret = enter_raw_mode();
			if (ret) {
				warn("cannot put the terminal in raw mode: %s; "
				     "console input is off", strerror(-ret));
				return;
			}
			c->raw = true;
		}
		watch_input(c, true);
	} else {
		watch_input(c, false);
		if (c->raw) {
			console_restore_terminal();
			c->raw = false;
		}
	}
}

static void on_sigcont(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	struct signalfd_siginfo si;

	(void)events;
	while (read(c->cont_fd, &si, sizeof(si)) == sizeof(si))
		;
	claim_terminal(c);
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
	/* a file is always readable: read on while the sink takes it */
	if (c->is_file) {
		if (c->npending == 0 && took)
			console_sink_ready(c);
		return;
	}
	watch_input(c, c->npending == 0);
}

static void input_ended(struct console *c)
{
	watch_input(c, false);
	c->in_fd = -1;
	if (c->on_eof)
		c->on_eof(c->quit_arg);
}

/* What the escape filter asked for, told on vmm's stderr. */
static void escape_feedback(struct console *c)
{
	if (c->esc.toggle_time) {
		c->esc.toggle_time = false;
		pthread_mutex_lock(&c->out_lock);
		c->out.stamps = !c->out.stamps;
		pthread_mutex_unlock(&c->out_lock);
		info("timestamps on the terminal %s (Ctrl-A t)",
		     c->out.stamps ? "on" : "off");
	}
	if (c->esc.help) {
		c->esc.help = false;
		info("console keys:\n%.*s", (int)strlen(console_keys_help) - 1,
		     console_keys_help);
	}
	if (c->esc.unknown) {
		uint8_t k = c->esc.unknown_key;

		c->esc.unknown = false;
		if (k >= 0x20 && k < 0x7f)
			info("Ctrl-A %c is not an escape key; both went to the "
			     "guest (Ctrl-A h lists the keys)", k);
		else
			info("Ctrl-A 0x%02x is not an escape key; both went to "
			     "the guest (Ctrl-A h lists the keys)", k);
	}
}

/* Queue n filtered bytes for the sink; a terminal drops what overflows. */
static void console_queue(struct console *c, const uint8_t *keys, size_t n)
{
	size_t room = sizeof(c->pending) - c->npending;

	if (n > room) {
		c->dropped += n - room;
		n = room;
	}
	memcpy(c->pending + c->npending, keys, n);
	c->npending += n;
	console_flush_pending(c);
}

/* The sink's break, after everything typed before it. */
static int console_break(struct console *c)
{
	if (!c->brk)
		return -ENODEV;
	console_flush_pending(c);
	return c->brk(c->sink_opaque) ? 0 : -EAGAIN;
}

static void console_input(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint8_t buf[CONSOLE_READ], keys[CONSOLE_READ + 1];
	enum console_action act = CONSOLE_PASS;
	size_t n, off = 0;
	ssize_t got;

	(void)events;
	/* a pipe is only watched while nothing is pending */
	got = read(c->in_fd, buf, c->is_tty ? sizeof(buf) :
		   sizeof(buf) - c->npending);
	if (got <= 0) {
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		/* the terminal went to another process group: wait for it */
		if (got < 0 && errno == EIO && c->is_tty) {
			claim_terminal(c);
			return;
		}
		/* EOF or error: no more input, but the VM goes on */
		input_ended(c);
		return;
	}
	if (!c->is_tty || c->no_raw) {
		console_queue(c, buf, (size_t)got);
		return;
	}
	while (off < (size_t)got) {
		size_t used;

		n = console_filter(&c->esc, buf + off, (size_t)got - off, &used,
				   keys, &act);
		off += used;
		escape_feedback(c);
		if (act == CONSOLE_QUIT) {
			if (c->on_quit)
				c->on_quit(c->quit_arg);
			return;
		}
		console_queue(c, keys, n);
		if (act == CONSOLE_BREAK) {
			int ret = console_break(c);

			if (ret)
				info("Ctrl-A b: %s", ret == -ENODEV ?
				     "this console has no break to send" :
				     "the guest is not reading its input");
		}
	}
}

static void console_ready(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint64_t v;

	(void)events;
	if (read(c->ready_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (c->is_file && c->in_fd >= 0 && c->npending == 0)
		console_input(c, EPOLLIN); /* the next piece of the file */
	else
		console_flush_pending(c);
}

/* --serial-log: a file (truncated), a FIFO with a reader, or a device. */
static int open_log(const char *path)
{
	struct stat st;
	int fd, err;

	/* O_NONBLOCK: a FIFO nobody reads fails here instead of hanging */
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		  0644);
	if (fd < 0) {
		err = -errno;
		error("--serial-log %s: %s", path, err == -ENXIO ?
		      "a FIFO with no reader" : strerror(-err));
		return err;
	}
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		close(fd);
		error("--serial-log %s: not a file", path);
		return -EINVAL;
	}
	if (S_ISREG(st.st_mode) && ftruncate(fd, 0) < 0) {
		err = -errno;
		close(fd);
		error("--serial-log %s: %s", path, strerror(-err));
		return err;
	}
	/* then blocking writes, so the log is complete */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int console_create(struct evloop *loop, bool attach, const char *log_path,
		   void (*on_quit)(void *arg), void *arg, struct console **out)
{
	struct console *c = calloc(1, sizeof(*c));
	int ret = 0;

	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->on_quit = on_quit;
	c->quit_arg = arg;
	c->in_fd = c->out.fd = c->log.fd = c->cont_fd = -1;
	c->out.bol = c->log.bol = true;
	pthread_mutex_init(&c->out_lock, NULL);
	c->ready_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->ready_efd < 0) {
		ret = -errno;
		goto fail;
	}
	if (log_path && log_path[0]) {
		c->log.fd = open_log(log_path);
		if (c->log.fd < 0) {
			ret = c->log.fd;
			goto fail;
		}
	}
	if (attach) {
		c->out.fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		c->is_tty = isatty(STDIN_FILENO);
	}
	if (c->is_tty) {
		sigset_t cont;

		/*
		 * Job control: output to the terminal and restoring it must
		 * never stop vmm (SIGTTOU with TOSTOP), nor a read that races
		 * with a move to the background (SIGTTIN: EIO instead).
		 */
		signal(SIGTTOU, SIG_IGN);
		signal(SIGTTIN, SIG_IGN);
		sigemptyset(&cont);
		sigaddset(&cont, SIGCONT);
		pthread_sigmask(SIG_BLOCK, &cont, NULL);
		c->cont_fd = signalfd(-1, &cont, SFD_NONBLOCK | SFD_CLOEXEC);
		if (c->cont_fd < 0 ||
		    (ret = evloop_add(loop, c->cont_fd, EPOLLIN, on_sigcont, c))) {
			ret = c->cont_fd < 0 ? -errno : ret;
			goto fail;
		}
		claim_terminal(c);
	} else if (c->in_fd >= 0) {
		/*
		 * A stdin epoll cannot watch (a regular file, /dev/null) means
		 * no input: `cat FILE |` feeds a file.
		 */
		watch_input(c, true);
		if (!c->watching)
			c->in_fd = -1;
	}
	ret = evloop_add(loop, c->ready_efd, EPOLLIN, console_ready, c);
	if (ret)
		goto fail;
	*out = c;
	return 0;
fail:
	console_destroy(c);
	return ret;
}

int console_create_input(struct evloop *loop, bool raw,
			 void (*on_quit)(void *arg), void (*on_eof)(void *arg),
			 void *arg, struct console **out)
{
	struct console *c = calloc(1, sizeof(*c));
	struct stat st;
	int ret;

	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->on_quit = on_quit;
	c->on_eof = on_eof;
	c->quit_arg = arg;
	c->no_raw = !raw;
	c->in_fd = STDIN_FILENO;
	c->out.fd = c->log.fd = c->cont_fd = -1;
	c->out.bol = c->log.bol = true;
	pthread_mutex_init(&c->out_lock, NULL);
	c->is_tty = isatty(STDIN_FILENO);
	c->ready_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->ready_efd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = evloop_add(loop, c->ready_efd, EPOLLIN, console_ready, c);
	if (ret)
		goto fail;
	if (c->is_tty && raw) {
		sigset_t cont;

		signal(SIGTTOU, SIG_IGN);
		signal(SIGTTIN, SIG_IGN);
		sigemptyset(&cont);
		sigaddset(&cont, SIGCONT);
		pthread_sigmask(SIG_BLOCK, &cont, NULL);
		c->cont_fd = signalfd(-1, &cont, SFD_NONBLOCK | SFD_CLOEXEC);
		if (c->cont_fd < 0 ||
		    (ret = evloop_add(loop, c->cont_fd, EPOLLIN, on_sigcont, c))) {
			ret = c->cont_fd < 0 ? -errno : ret;
			goto fail;
		}
		claim_terminal(c);
	} else if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode)) {
		c->is_file = true;
		console_sink_ready(c); /* the first read, from the loop */
	} else {
		watch_input(c, true);
		/* neither watchable nor a file (closed, a directory): no input */
		if (!c->watching) {
			c->in_fd = -1;
			c->on_eof = NULL;
			if (on_eof)
				on_eof(arg);
		}
	}
	*out = c;
	return 0;
fail:
	console_destroy(c);
	return ret;
}

void console_set_sink(struct console *c, console_sink_fn fn,
		      console_break_fn brk, void *opaque)
{
	c->sink = fn;
	c->brk = brk;
	c->sink_opaque = opaque;
}

int console_send_sysrq(struct console *c, uint8_t key)
{
	int ret;

	if (!c->sink)
		return -ENODEV;
	ret = console_break(c);
	if (ret)
		return ret;
	/* after anything pending: the key must follow the break */
	if (c->npending || c->sink(c->sink_opaque, &key, 1) != 1)
		return -EAGAIN;
	return 0;
}

void console_set_timestamps(struct console *c, bool on, uint64_t t0)
{
	pthread_mutex_lock(&c->out_lock);
	c->out.stamps = c->log.stamps = on;
	c->t0 = t0;
	pthread_mutex_unlock(&c->out_lock);
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

size_t console_stamp(bool *bol, uint64_t t_ns, const uint8_t *in, size_t n,
		     uint8_t *out)
{
	char stamp[CONSOLE_STAMP_MAX];
	int len = snprintf(stamp, sizeof(stamp), "[+%5" PRIu64 ".%06" PRIu64 "] ",
			   t_ns / 1000000000, t_ns % 1000000000 / 1000);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (*bol) {
			memcpy(out + o, stamp, (size_t)len);
			o += (size_t)len;
		}
		out[o++] = in[i];
		*bol = in[i] == '\n';
	}
	return o;
}

/* out_lock held */
static void write_out(struct console *c, struct console_out *o,
		      const uint8_t *buf, size_t len)
{
	uint8_t stamped[CONSOLE_STAMPED_MAX(64)];
	uint64_t now;

	if (o->fd < 0)
		return;
	if (!o->stamps) {
		write_all(o->fd, buf, len);
		if (len)
			o->bol = buf[len - 1] == '\n';
		return;
	}
	now = monotonic_ns() - c->t0;
	for (size_t off = 0; off < len; off += 64) {
		size_t n = len - off < 64 ? len - off : 64;

		write_all(o->fd, stamped, console_stamp(&o->bol, now, buf + off,
							 n, stamped));
	}
}

void console_write(struct console *c, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&c->out_lock);
	write_out(c, &c->out, buf, len);
	write_out(c, &c->log, buf, len);
	pthread_mutex_unlock(&c->out_lock);
}

void console_destroy(struct console *c)
{
	if (!c)
		return;
	watch_input(c, false);
	if (c->raw)
		console_restore_terminal();
	if (c->cont_fd >= 0) {
		evloop_del(c->loop, c->cont_fd);
		close(c->cont_fd);
	}
	if (c->log.fd >= 0)
		close(c->log.fd);
	pthread_mutex_destroy(&c->out_lock);
	if (c->ready_efd >= 0) {
		evloop_del(c->loop, c->ready_efd);
		close(c->ready_efd);
	}
	free(c);
}
