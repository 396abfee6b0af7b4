/* SPDX-License-Identifier: MIT */
/*
 * The VM console: where guest console output goes (this terminal and/or
 * the --serial-log file) and where typed input comes from. When stdin is a
 * terminal it is put in raw mode (restored on every exit path) and the
 * escape keys apply: Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A.
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct console;

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

/* Escape-key filter, kept pure for the unit tests. */
struct console_esc {
	bool armed; /* last byte was the escape key */
};
enum console_action { CONSOLE_PASS, CONSOLE_QUIT };
/*
 * Filter n input bytes into out (room for n + 1 bytes: a Ctrl-A held over
 * from the previous call may come out in front), returning how many
 * bytes to hand to the guest. *action becomes CONSOLE_QUIT on Ctrl-A x;
 * bytes after it are dropped.
 */
size_t console_filter(struct console_esc *e, const uint8_t *in, size_t n,
		      uint8_t *out, enum console_action *action);

/*
 * The receiver of console input (the serial port, later virtio-console):
 * takes up to len bytes, returns how many it took.
 */
typedef size_t (*console_sink_fn)(void *opaque, const uint8_t *buf,
				  size_t len);

int console_create(struct vm *vm, struct console **out)
	__attribute__((warn_unused_result));
void console_set_sink(struct console *c, console_sink_fn fn, void *opaque);
/* The sink has room again: resume reading input. Any thread. */
void console_sink_ready(struct console *c);
/* Guest output. Any thread. */
void console_write(struct console *c, const uint8_t *buf, size_t len);
/* Restore the terminal, close the log. */
void console_destroy(struct console *c);

#endif
