// SPDX-License-Identifier: MIT
/* The bundle's rootfs image and its cache (rootfs.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "rootfs.h"
#include "sha256.h"

/* Bump when what goes into an image changes (the tool's options). */
#define ROOTFS_RECIPE "erofs-1"
#define MKFS "mkfs.erofs"
#define WALK_DEPTH_MAX 256

int rootfs_cache_dir(char *out, size_t len)
{
	const char *v = getenv("VMM_CACHE"), *home;

	if (v && v[0])
		return snprintf(out, len, "%s", v) < (int)len ? 0 : -ENAMETOOLONG;
	if ((v = getenv("XDG_CACHE_HOME")) && v[0])
		return snprintf(out, len, "%s/vmm", v) < (int)len ? 0 : -ENAMETOOLONG;
	if ((home = getenv("HOME")) && home[0])
		return snprintf(out, len, "%s/.cache/vmm", home) < (int)len ?
		       0 : -ENAMETOOLONG;
	return -ENOENT;
}

static int mkdirs(const char *path)
{
	char p[4096];
	size_t n = strlen(path);

	if (n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, path, n + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Hash the entry name (relative path rel) in directory fd, then, for a
 * directory, its entries in name order.
 */
static int walk(struct sha256 *h, int dfd, const char *name, char *rel,
		size_t rlen, int depth)
{
	struct stat st;
	char rec[512];
	int n, ret = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	n = snprintf(rec, sizeof(rec), "%o %u %u %" PRIu64 " %" PRId64 ".%ld %"
		     PRId64 ".%ld %" PRIu64 " %" PRIu64 " %" PRIu64,
		     st.st_mode, st.st_uid, st.st_gid, (uint64_t)st.st_size,
		     (int64_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		     (int64_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec,
		     (uint64_t)st.st_ino, (uint64_t)st.st_dev,
		     (uint64_t)st.st_rdev);
	sha256_update(h, rel, strlen(rel) + 1);
	sha256_update(h, rec, (size_t)n + 1);
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t t = readlinkat(dfd, name, target, sizeof(target));

		if (t < 0)
			return -errno;
		sha256_update(h, target, (size_t)t);
	}
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (depth > WALK_DEPTH_MAX)
		return -ELOOP;

	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **names = NULL;
	size_t nn = 0, cap = 0;
	struct dirent *e;

	if (!d) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return ret;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (nn == cap) {
			char **q = realloc(names, (cap = cap * 2 + 64) * sizeof(*q));

			if (!q) {
				ret = -ENOMEM;
				break;
			}
			names = q;
		}
		if (!(names[nn] = strdup(e->d_name))) {
			ret = -ENOMEM;
			break;
		}
		nn++;
	}
	if (!ret)
		qsort(names, nn, sizeof(*names), cmp_names);
	for (size_t i = 0; i < nn && !ret; i++) {
		size_t l = strlen(names[i]);

		if (rlen + l + 2 > 4096) {
			ret = -ENAMETOOLONG;
			break;
		}
		rel[rlen] = '/';
		memcpy(rel + rlen + 1, names[i], l + 1);
		ret = walk(h, dirfd(d), names[i], rel, rlen + 1 + l, depth + 1);
		rel[rlen] = 0;
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return ret;
}

/* Run argv with stdout and stderr in out_fd. Its exit status, or -errno. */
static int spawn(char *const argv[], int out_fd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, ret;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
	ret = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret)
		return -ret;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The last non-empty line of what the tool printed, for the error. */
static void last_line(int fd, char *out, size_t len)
{
	char buf[4096];
	ssize_t n;
	char *end, *start;

	out[0] = 0;
	if (lseek(fd, -(off_t)sizeof(buf) + 1, SEEK_END) < 0)
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = 0;
	end = buf + n;
	while (end > buf && (end[-1] == '\n' || end[-1] == ' '))
		*--end = 0;
	start = strrchr(buf, '\n');
	snprintf(out, len, "%.200s", start ? start + 1 : buf);
}

/*
 * Which mkfs.erofs would run goes into the key: its path in $PATH and
 * that file's identity (inode, size, mtime, ctime), so an upgrade of
 * erofs-utils makes new images, and a cached run spawns nothing.
 * -ENOENT when there is none.
 */
static int tool_identity(struct sha256 *h)
{
	const char *path = getenv("PATH");
	char cand[4200], rec[256];
	struct stat st;
	int n;

	if (!path || !path[0])
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (;;) {
		size_t len = strcspn(path, ":");

		snprintf(cand, sizeof(cand), "%.*s/" MKFS, (int)(len ? len : 1),
			 len ? path : ".");
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(cand, X_OK) == 0) {
			n = snprintf(rec, sizeof(rec), "%" PRIu64 " %" PRIu64 " %" PRId64
				     ".%ld %" PRId64 ".%ld", (uint64_t)st.st_ino,
				     (uint64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
				     st.st_mtim.tv_nsec, (int64_t)st.st_ctim.tv_sec,
				     st.st_ctim.tv_nsec);
			sha256_update(h, cand, strlen(cand) + 1);
			sha256_update(h, rec, (size_t)n + 1);
			return 0;
		}
		if (!path[len])
			return -ENOENT;
		path += len + 1;
	}
}

/* Keep the images used last; a running VM keeps its open one anyway. */
static void trim_cache(const char *dir)
{
	struct { char name[80]; struct timespec used; } img[64];
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)) && n < sizeof(img) / sizeof(img[0])) {
		size_t l = strlen(e->d_name);
		struct stat st;

		if (l < 7 || l >= sizeof(img[0].name) ||
		    strcmp(e->d_name + l - 6, ".erofs") ||
		    fstatat(dirfd(d), e->d_name, &st, 0) < 0)
			continue;
		memcpy(img[n].name, e->d_name, l + 1);
		img[n++].used = st.st_mtim;
	}
	while (n > ROOTFS_CACHE_KEEP) {
		size_t old = 0;

		for (size_t i = 1; i < n; i++)
			if (img[i].used.tv_sec < img[old].used.tv_sec ||
			    (img[i].used.tv_sec == img[old].used.tv_sec &&
			     img[i].used.tv_nsec < img[old].used.tv_nsec))
				old = i;
		if (unlinkat(dirfd(d), img[old].name, 0) < 0)
			debug("rootfs cache: %s: %s", img[old].name, strerror(errno));
		img[old] = img[--n];
	}
	if (d)
		closedir(d);
}

int rootfs_image(const char *dir, const char *cache_dir, char *path,
		 size_t len, bool *built)
{
	char images[4096], tmp[4200], out[4200], rel[4096] = "", key[65];
	char why[256];
	static char tool[] = MKFS, quiet[] = "--quiet";
	char *argv[] = { tool, quiet, tmp, (char *)dir, NULL };
	struct sha256 h;
	int ret, fd, st;

	*built = false;
	if (snprintf(images, sizeof(images), "%s/rootfs", cache_dir) >=
	    (int)sizeof(images))
		return -ENAMETOOLONG;
	if ((ret = mkdirs(images))) {
		error("rootfs cache %s: %s", images, strerror(-ret));
		return ret;
	}
	sha256_init(&h);
	sha256_update(&h, ROOTFS_RECIPE, sizeof(ROOTFS_RECIPE));
	if (tool_identity(&h)) {
		error("%s not found: the rootfs image needs erofs-utils "
		      "(apt-get install erofs-utils)", MKFS);
		return -ENOENT;
	}
	ret = walk(&h, AT_FDCWD, dir, rel, 0, 0);
	if (ret) {
		error("rootfs %s: reading the tree: %s", dir, strerror(-ret));
		return ret;
	}
	sha256_hex(&h, key);
	if (snprintf(path, len, "%s/%s.erofs", images, key) >= (int)len)
		return -ENAMETOOLONG;
	if (access(path, R_OK) == 0) {
		/* its use is what the cache's trimming goes by */
		utimensat(AT_FDCWD, path, NULL, 0);
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	/* what the tool says, for the error line */
	snprintf(out, sizeof(out), "%s/.mkfs-XXXXXX", images);
	fd = mkstemp(out);
	if (fd < 0) {
		ret = -errno;
		error("rootfs cache %s: %s", images, strerror(-ret));
		return ret;
	}
	unlink(out);
	st = spawn(argv, fd);
	if (st != 0) {
		if (st > 0) {
			last_line(fd, why, sizeof(why));
		} else {
			snprintf(why, sizeof(why), "%s", strerror(-st));
		}
		close(fd);
		unlink(tmp);
		error("%s %s: %s", MKFS, dir, why[0] ? why : "failed");
		return -EIO;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		ret = -errno;
		unlink(tmp);
		error("rootfs cache %s: %s", path, strerror(-ret));
		return ret;
	}
	*built = true;
	trim_cache(images);
	return 0;
}
