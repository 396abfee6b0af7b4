// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "timeline.h"
#include "util.h"

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int vm_map_file(const char *what, const char *path, uint8_t **data,
		size_t *size)
{
	struct stat st;
	/* O_NONBLOCK: opening a FIFO or a device must not wait for a peer */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), err;
	void *p;

	if (fd < 0 || fstat(fd, &st) < 0) {
		err = errno;
		if (fd >= 0)
			close(fd);
		error("%s %s: %s", what, path, strerror(err));
		return -err;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		error("%s %s: %s", what, path,
		      S_ISREG(st.st_mode) ? "empty file" : "not a regular file");
		return -EINVAL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	err = errno;
	close(fd);
	if (p == MAP_FAILED) {
		error("%s %s: %s", what, path, strerror(err));
		return -err;
	}
	*data = p;
	*size = (size_t)st.st_size;
	return 0;
}

void vm_unmap_file(uint8_t *data, size_t size)
{
	munmap(data, size);
}

int seterr(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

int unix_socket_reclaim(const char *opt, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		error("%s %s: path longer than %zu bytes", opt, path,
		      sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		error("%s %s: exists and is not a socket", opt, path);
		return -EEXIST;
	}
	/* someone listening there? then it is theirs */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (ret == 0) {
		error("%s %s: another process is listening on it", opt, path);
		return -EADDRINUSE;
	}
	/* a stale socket left by a dead process */
	if (unlink(path) < 0)
		return -errno;
	return 0;
}
