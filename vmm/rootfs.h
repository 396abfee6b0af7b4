/* SPDX-License-Identifier: MIT */
/*
 * A bundle's root file system as a read-only EROFS image, made from the
 * directory with mkfs.erofs (Debian's erofs-utils) on first use and kept
 * in a cache: CACHE/rootfs/KEY.erofs, where KEY is the SHA-256 of the
 * tree's metadata — every entry's path, type and mode, owner, size,
 * mtime, ctime, inode and device numbers and symlink target — and of the
 * mkfs.erofs that makes it (its path and its file's identity). Changing a file changes its ctime (which no user can
 * set), so a changed tree gets a new image; an unchanged one costs a
 * walk of lstat() calls. The cache keeps the ROOTFS_CACHE_KEEP images
 * used last.
 */
#ifndef VMM_ROOTFS_H
#define VMM_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>

#define ROOTFS_CACHE_KEEP 8

/*
 * The cache directory: $VMM_CACHE, else $XDG_CACHE_HOME/vmm, else
 * $HOME/.cache/vmm. 0 or -ENOENT (none of them is set).
 */
int rootfs_cache_dir(char *out, size_t len);

/*
 * The image of directory dir, in path (len bytes); *built says whether
 * it was made now. 0 or -errno with one error line (the tool's own last
 * line when mkfs.erofs failed).
 */
int rootfs_image(const char *dir, const char *cache_dir, char *path,
		 size_t len, bool *built) __attribute__((warn_unused_result));

#endif
