/* SPDX-License-Identifier: MIT */
/*
 * Messages on stderr, each prefixed "vmm: ". error() is for what the user
 * must act on, info() for what they may want to know (silenced by
 * --quiet), debug() for -v. die() is for main() and setup only.
 */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level max);
bool log_enabled(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The text of the last error() line, "" if none. */
const char *log_last_error(void);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
