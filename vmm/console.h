/* SPDX-License-Identifier: MIT */
/*
 * The VM console: where guest console output goes (this terminal and/or
 * the --serial-log file) and where typed input comes from. When stdin is a
 * terminal and vmm is in its foreground process group, the terminal is put
 * in raw mode (restored on every exit path) and the escape keys apply
 * (console_keys_help lists them). In the background (`vmm run ... &`) vmm
 * leaves the terminal alone and reads no input; brought to the foreground
 * (SIGCONT) it takes it over. With timestamps on, each line of guest
 * output starts with the time since vmm started.
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evloop;
struct console;

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

/* Escape-key filter, kept pure for the unit tests. */
struct console_esc {
	bool armed;       /* last byte was the escape key */
	bool help;        /* Ctrl-A h was typed: show the keys */
	bool toggle_time; /* Ctrl-A t was typed: timestamps on or off */
	bool unknown;     /* Ctrl-A and a key with no meaning was typed */
	uint8_t unknown_key;
};
enum console_action {
	CONSOLE_PASS,
	CONSOLE_QUIT,     /* Ctrl-A x */
	CONSOLE_BREAK,    /* Ctrl-A b: a break, between the bytes around it */
};
/*
 * Filter n input bytes into out (room for n + 1 bytes: a Ctrl-A held over
 * from the previous call may come out in front), returning how many
 * bytes to hand to the guest; *used says how many input bytes it took.
 * It stops at a key whose place in the stream matters: *action is
 * CONSOLE_QUIT (Ctrl-A x; the rest is to be dropped) or CONSOLE_BREAK
 * (Ctrl-A b: the bytes returned go first, then the break, then the rest
 * of the input, filtered again); else CONSOLE_PASS and all n were used.
 * Ctrl-A h sets e->help, Ctrl-A t e->toggle_time; Ctrl-A and a key with
 * no meaning passes both bytes on and sets e->unknown (the caller clears
 * these once it has acted on them).
 */
size_t console_filter(struct console_esc *e, const uint8_t *in, size_t n,
		      size_t *used, uint8_t *out, enum console_action *action);

/*
 * Timestamps for guest output, pure for the unit tests: copy in[0..n) to
 * out, with "[+SSSSS.UUUUUU] " (t_ns, the time since vmm started) before
 * each byte that starts a line; *bol says whether the next byte does.
 * out has room for CONSOLE_STAMPED_MAX(n) bytes. Returns the bytes in out.
 */
#define CONSOLE_STAMP_MAX 32
#define CONSOLE_STAMPED_MAX(n) ((n) * (CONSOLE_STAMP_MAX + 1))
size_t console_stamp(bool *bol, uint64_t t_ns, const uint8_t *in, size_t n,
		     uint8_t *out);

/* The escape keys, one per line, for Ctrl-A h and --help. */
extern const char console_keys_help[];

/*
 * The receiver of console input (the serial port or virtio-console):
 * takes up to len bytes, returns how many it took.
 */
typedef size_t (*console_sink_fn)(void *opaque, const uint8_t *buf,
				  size_t len);
/*
 * Its break: what makes the guest take the next key as Magic SysRq (a
 * serial BREAK; hvc0's Ctrl-O). False if it could not be sent.
 */
typedef bool (*console_break_fn)(void *opaque);

/*
 * attach: the console is this process's stdin/stdout (else output goes
 * only to log_path, when given). on_quit(arg) runs on the loop's thread
 * for Ctrl-A x. 0 or -errno with one error line.
 */
int console_create(struct evloop *loop, bool attach, const char *log_path,
		   void (*on_quit)(void *arg), void *arg, struct console **out)
	__attribute__((warn_unused_result));
/*
 * Input only, for a process that owns vmm's stdin (vmm run --bundle).
 * raw: a terminal on stdin is put in raw mode, with the escape keys and
 * job control as above; else it is left as it is (cooked: its line
 * editing and Ctrl-C stay the terminal's). A regular file is read too.
 * on_eof(arg) runs once, on the loop's thread, when the input ends (at
 * once when there is none); on_quit(arg) on Ctrl-A x.
 */
int console_create_input(struct evloop *loop, bool raw,
			 void (*on_quit)(void *arg), void (*on_eof)(void *arg),
			 void *arg, struct console **out)
	__attribute__((warn_unused_result));
void console_set_sink(struct console *c, console_sink_fn fn,
		      console_break_fn brk, void *opaque);
/*
 * Magic SysRq key for the guest, whatever the terminal (the control
 * API): the sink's break, then key. 0, -ENODEV (no sink or no break),
 * -EAGAIN (the guest is not reading its input).
 */
int console_send_sysrq(struct console *c, uint8_t key);
/*
 * Timestamps on guest output, from t0 (vmm's start, CLOCK_MONOTONIC ns):
 * in the log and on stdout, which Ctrl-A t turns on and off.
 */
void console_set_timestamps(struct console *c, bool on, uint64_t t0);
/* The sink has room again: resume reading input. Any thread. */
void console_sink_ready(struct console *c);
/* Guest output. Any thread. */
void console_write(struct console *c, const uint8_t *buf, size_t len);
/* Restore the terminal, close the log. */
void console_destroy(struct console *c);
/*
 * Put the terminal back as it was before raw mode, if vmm changed it.
 * Async-signal-safe: fatal-signal handlers call it.
 */
void console_restore_terminal(void);

#endif
