// SPDX-License-Identifier: MIT
/*
 * Copying through guest page tables (see gva.h). Each page is walked
 * once, then copied in pieces that never cross a 4 KiB guest-physical
 * boundary: RAM regions start and end on page boundaries, so no piece
 * straddles two of them, even under one large page.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "gva.h"

#define PIECE 4096ULL

static int gva_copy(const struct guest_mem *m, gva_walk_fn walk,
		    const void *mmu, uint64_t gva, uint8_t *buf,
		    const uint8_t *src, size_t len)
{
	size_t done = 0;

	if (len == 0 || len > INT_MAX)
		return -EINVAL;
	while (done < len) {
		struct gva_map map;
		uint64_t left;

		if (walk(m, mmu, gva, &map) < 0 || map.len == 0)
			break;
		left = map.len < len - done ? map.len : len - done;
		while (left) {
			uint64_t n = PIECE - (map.gpa & (PIECE - 1));
			int ret;

			if (n > left)
				n = left;
			ret = src ? gpa_write(m, map.gpa, src + done, n)
				  : gpa_read(m, map.gpa, buf + done, n);
			if (ret < 0)
				return done ? (int)done : -EFAULT;
			map.gpa += n;
			gva += n;
			done += n;
			left -= n;
		}
		/* the top of the address space: nothing maps past it */
		if (gva == 0)
			break;
	}
	return done ? (int)done : -EFAULT;
}

int gva_read(const struct guest_mem *m, gva_walk_fn walk, const void *mmu,
	     uint64_t gva, void *buf, size_t len)
{
	return gva_copy(m, walk, mmu, gva, buf, NULL, len);
}

int gva_write(const struct guest_mem *m, gva_walk_fn walk, const void *mmu,
	      uint64_t gva, const void *buf, size_t len)
{
	return gva_copy(m, walk, mmu, gva, NULL, buf, len);
}
