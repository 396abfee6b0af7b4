/* SPDX-License-Identifier: MIT */
/*
 * A newc ("070701") cpio archive in memory, the format the Linux kernel
 * unpacks as an initramfs. Pure.
 */
#ifndef VMM_CPIO_H
#define VMM_CPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cpio {
	uint8_t *buf;
	size_t len, cap;
	uint32_t ino;
	int err;               /* the first failure (-ENOMEM, -EINVAL) */
};

void cpio_init(struct cpio *c);
/* A directory, a regular file, a character device (mode holds S_IF*). */
void cpio_dir(struct cpio *c, const char *name, unsigned int perm);
void cpio_file(struct cpio *c, const char *name, unsigned int perm,
	       const void *data, size_t len);
void cpio_chardev(struct cpio *c, const char *name, unsigned int perm,
		  unsigned int major, unsigned int minor);
/* The trailer; then c->buf holds c->len bytes. 0 or the first error. */
int cpio_finish(struct cpio *c) __attribute__((warn_unused_result));
void cpio_free(struct cpio *c);

#endif
