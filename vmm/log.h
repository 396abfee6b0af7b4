/* SPDX-License-Identifier: MIT */
/*
 * Messages on stderr (or the logger's file), each prefixed "vmm: ".
 * error() is for what the user must act on, warn() for what went wrong
 * but is survived, info() for what they may want to know (silenced by
 * --quiet), debug() for -v.
 */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level max);
bool log_enabled(enum log_level lvl);
void log_msg(enum log_level lvl, const char *file, int line,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The text of the last error() line, "" if none. */
const char *log_last_error(void);

/*
 * The logger section (config.h struct vm_log): where messages go (path,
 * appended to; NULL or "" leaves them where they are), the level (-1:
 * unchanged), and whether lines show their level and source origin.
 * Checks before it changes anything: 0, or -errno with err set.
 */
int log_configure(const char *path, int level, bool show_level,
		  bool show_origin, char *err, size_t errlen);

#define error(...) log_msg(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define warn(...)  log_msg(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define info(...)  log_msg(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define debug(...) log_msg(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
