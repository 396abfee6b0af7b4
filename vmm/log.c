// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/*
 * The one piece of process-wide state: how and where messages go. It
 * belongs to the process (one stderr), not to a VM.
 */
static struct {
	enum log_level max;
	bool show_level, show_origin;
	char last_error[1024]; /* for the API's answer to a failed start */
} logger = { .max = LOG_INFO };

const char *log_last_error(void)
{
	return logger.last_error;
}

void log_set_level(enum log_level max)
{
	logger.max = max;
}

bool log_enabled(enum log_level lvl)
{
	return lvl <= logger.max;
}

void log_msg(enum log_level lvl, const char *file, int line, const char *fmt,
	     ...)
{
	static const char *const prefix[] = {
		[LOG_ERROR] = "error: ",
		[LOG_WARN] = "warning: ",
		[LOG_INFO] = "",
		[LOG_DEBUG] = "debug: ",
	};
	static const char *const names[] = {
		[LOG_ERROR] = "ERROR", [LOG_WARN] = "WARN",
		[LOG_INFO] = "INFO", [LOG_DEBUG] = "DEBUG",
	};
	char buf[1024], origin[128] = "", level[16] = "";
	va_list ap;
	int n;

	if (!log_enabled(lvl))
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (lvl == LOG_ERROR)
		snprintf(logger.last_error, sizeof(logger.last_error), "%s", buf);
	if (logger.show_level)
		snprintf(level, sizeof(level), "[%s] ", names[lvl]);
	if (logger.show_origin) {
		const char *base = strrchr(file, '/');

		snprintf(origin, sizeof(origin), "[%s:%d] ",
			 base ? base + 1 : file, line);
	}
	/* one fprintf per line keeps lines whole when threads log at once */
	fprintf(stderr, "vmm: %s%s%s%s\n", level, origin, prefix[lvl], buf);
}

int log_configure(const char *path, int level, bool show_level,
		  bool show_origin, char *err, size_t errlen)
{
	int fd = -1;

	if (path && path[0]) {
		struct stat st;

		/* O_NONBLOCK: a FIFO nobody reads must not hang vmm here */
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
			  O_NONBLOCK | O_NOCTTY, 0644);
		if (fd < 0) {
			snprintf(err, errlen, "log_path %s: %s", path,
				 strerror(errno));
			return -errno;
		}
		if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) ||
					    S_ISFIFO(st.st_mode) ||
					    S_ISCHR(st.st_mode))) {
			close(fd);
			snprintf(err, errlen, "log_path %s: not a file, FIFO "
				 "or character device", path);
			return -EINVAL;
		}
		/* opened without blocking; written to like stderr */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	}
	/* all checked: now apply */
	if (level >= 0)
		logger.max = (enum log_level)level;
	logger.show_level = show_level;
	logger.show_origin = show_origin;
	if (fd >= 0) {
		fflush(stderr);
		if (dup2(fd, STDERR_FILENO) < 0) {
			snprintf(err, errlen, "log_path %s: %s", path,
				 strerror(errno));
			close(fd);
			return -errno;
		}
		close(fd);
	}
	return 0;
}
