// SPDX-License-Identifier: MIT
/* newc cpio (cpio.h): 110-byte ASCII headers, name and data 4-aligned. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpio.h"

void cpio_init(struct cpio *c)
{
	memset(c, 0, sizeof(*c));
}

static void append(struct cpio *c, const void *p, size_t n)
{
	if (c->err || !n)
		return;
	if (c->len + n + 4 > c->cap) {
		size_t cap = (c->cap ? c->cap * 2 : 4096) + n;
		uint8_t *b = realloc(c->buf, cap);

		if (!b) {
			c->err = -ENOMEM;
			return;
		}
		c->buf = b;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

static void pad4(struct cpio *c)
{
	static const uint8_t zero[4];

	append(c, zero, (4 - c->len % 4) % 4);
}

static void entry(struct cpio *c, const char *name, unsigned int mode,
		  unsigned int rmaj, unsigned int rmin, const void *data,
		  size_t len)
{
	char hdr[111];
	size_t namesize = strlen(name) + 1;

	if (len > UINT32_MAX || namesize > 4096) {
		if (!c->err)
			c->err = -EINVAL;
		return;
	}
	/* ino mode uid gid nlink mtime filesize devmaj devmin rdevmaj
	   rdevmin namesize check */
	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08zX%08X",
		 name[0] ? ++c->ino : 0, mode, 0, 0, S_ISDIR(mode) ? 2 : 1, 0,
		 (unsigned int)len, 0, 0, rmaj, rmin, namesize, 0);
	append(c, hdr, 110);
	append(c, name, namesize);
	pad4(c);
	append(c, data, len);
	pad4(c);
}

void cpio_dir(struct cpio *c, const char *name, unsigned int perm)
{
	entry(c, name, S_IFDIR | (perm & 07777), 0, 0, NULL, 0);
}

void cpio_file(struct cpio *c, const char *name, unsigned int perm,
	       const void *data, size_t len)
{
	entry(c, name, S_IFREG | (perm & 07777), 0, 0, data, len);
}

void cpio_chardev(struct cpio *c, const char *name, unsigned int perm,
		  unsigned int major, unsigned int minor)
{
	entry(c, name, S_IFCHR | (perm & 07777), major, minor, NULL, 0);
}

int cpio_finish(struct cpio *c)
{
	entry(c, "TRAILER!!!", 0, 0, 0, NULL, 0);
	return c->err;
}

void cpio_free(struct cpio *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}
