/* SPDX-License-Identifier: MIT */
/*
 * The VM console: where guest console output goes (this terminal and/or
 * the --serial-log file) and where typed input comes from. When stdin is a
 * terminal and vmm is in its foreground process group, the terminal is put
 * in raw mode (restored on every exit path) and the escape keys apply:
 * Ctrl-A x quits, Ctrl-A h lists the keys, Ctrl-A Ctrl-A sends one Ctrl-A.
 * In the background (`vmm run ... &`) vmm leaves the terminal alone and
 * reads no input; brought to the foreground (SIGCONT) it takes it over.
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
	bool unknown;     /* Ctrl-A and a key with no meaning was typed */
	uint8_t unknown_key;
};
enum console_action { CONSOLE_PASS, CONSOLE_QUIT };
/*
 * Filter n input bytes into out (room for n + 1 bytes: a Ctrl-A held over
 * from the previous call may come out in front), returning how many
 * bytes to hand to the guest. *action becomes CONSOLE_QUIT on Ctrl-A x;
 * bytes after it are dropped. Ctrl-A h sets e->help; Ctrl-A and a key
 * with no meaning passes both bytes on and sets e->unknown (the caller
 * clears both once it has told the user).
 */
size_t console_filter(struct console_esc *e, const uint8_t *in, size_t n,
		      uint8_t *out, enum console_action *action);

/* The escape keys, one per line, for Ctrl-A h and --help. */
extern const char console_keys_help[];

/*
 * The receiver of console input (the serial port or virtio-console):
 * takes up to len bytes, returns how many it took.
 */
typedef size_t (*console_sink_fn)(void *opaque, const uint8_t *buf,
				  size_t len);

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
void console_set_sink(struct console *c, console_sink_fn fn, void *opaque);
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
