/* SPDX-License-Identifier: MIT */
/* Small helpers for any part of vmm: error strings and input files. */
#ifndef VMM_UTIL_H
#define VMM_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Format one line into err (for pure code that reports to its caller); returns ret. */
int seterr(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Map a whole input file (kernel, initrd) read-only. Refuses what is not
 * a non-empty regular file, without blocking on a FIFO or device; every
 * error is one line naming what and path.
 */
int vm_map_file(const char *what, const char *path, uint8_t **data,
		size_t *size) __attribute__((warn_unused_result));
void vm_unmap_file(uint8_t *data, size_t size);

/*
 * Before binding a Unix socket at path (the option opt names it): refuse
 * what is not a socket, or a socket someone listens on; remove a stale one
 * a dead process left. 0 or -errno, with one error line for the refusals.
 */
int unix_socket_reclaim(const char *opt, const char *path)
	__attribute__((warn_unused_result));

#endif
