// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

/*
 * The one piece of process-wide state: how chatty stderr is. It belongs to
 * the process (one stderr), not to a VM.
 */
static enum log_level log_max = LOG_INFO;
/* the last error line, for the API's answer to a failed InstanceStart */
static char last_error[1024];

const char *log_last_error(void)
{
	return last_error;
}

void log_set_level(enum log_level max)
{
	log_max = max;
}

bool log_enabled(enum log_level lvl)
{
	return lvl <= log_max;
}

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *const prefix[] = {
		[LOG_ERROR] = "error: ",
		[LOG_WARN] = "warning: ",
		[LOG_INFO] = "",
		[LOG_DEBUG] = "debug: ",
	};
	char buf[1024];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n < 0)
		return;
	if (lvl == LOG_ERROR)
		snprintf(last_error, sizeof(last_error), "%s", buf);
	/* one fprintf per line keeps lines whole when threads log at once */
	fprintf(stderr, "vmm: %s%s\n", prefix[lvl], buf);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(lvl))
		return;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
