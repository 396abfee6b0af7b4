// SPDX-License-Identifier: MIT
/*
 * bench-work: the steady-state workloads of scripts/bench-boot, run the
 * same way in a container and in a VM (as the OCI bundle's process).
 *
 *   bench-work cpu MIB        hash MIB MiB of memory (FNV-1a, 64-bit)
 *   bench-work syscall N      N getppid() system calls
 *   bench-work io PATH MIB    write MIB MiB to PATH in 1 MiB writes, fsync
 *
 * Each prints one line and exits 0:
 *
 *   WORK <mode> ns=<elapsed> ops=<count> check=<value>
 *
 * ns is CLOCK_MONOTONIC around the work only (no process start, no VM
 * boot), so the figure is the workload's steady state. ops is bytes (cpu,
 * io) or calls (syscall); check is the hash (so the loop cannot be
 * optimized away) or the last return value. Static, no libraries: it runs
 * in any rootfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench-work cpu MIB | syscall N | io PATH MIB\n");
	return 2;
}

static long number(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > (1L << 30))
		return -1;
	return v;
}

static int work_cpu(long mib)
{
	size_t len = (size_t)mib * MIB;
	unsigned char *buf = malloc(len);
	uint64_t h = 0xcbf29ce484222325ULL;
	int64_t t0, t1;

	if (!buf) {
		perror("bench-work: malloc");
		return 1;
	}
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	t0 = now_ns();
	for (size_t i = 0; i < len; i++) {
		h ^= buf[i];
		h *= 0x100000001b3ULL;
	}
	t1 = now_ns();
	printf("WORK cpu ns=%lld ops=%zu check=%llu\n", (long long)(t1 - t0), len,
	       (unsigned long long)h);
	free(buf);
	return 0;
}

static int work_syscall(long n)
{
	long r = 0;
	int64_t t0, t1;

	t0 = now_ns();
	for (long i = 0; i < n; i++)
		r = syscall(SYS_getppid); /* not cached by the C library */
	t1 = now_ns();
	printf("WORK syscall ns=%lld ops=%ld check=%ld\n", (long long)(t1 - t0), n, r);
	return 0;
}

static int work_io(const char *path, long mib)
{
	static unsigned char chunk[MIB];
	int64_t t0, t1;
	int fd;

	memset(chunk, 0x5a, sizeof(chunk));
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0) {
		fprintf(stderr, "bench-work: %s: %s\n", path, strerror(errno));
		return 1;
	}
	t0 = now_ns();
	for (long i = 0; i < mib; i++) {
		size_t done = 0;

		while (done < sizeof(chunk)) {
			ssize_t w = write(fd, chunk + done, sizeof(chunk) - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				fprintf(stderr, "bench-work: write %s: %s\n", path,
					w < 0 ? strerror(errno) : "short write");
				close(fd);
				return 1;
			}
			done += (size_t)w;
		}
	}
	if (fsync(fd) < 0) {
		fprintf(stderr, "bench-work: fsync %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	t1 = now_ns();
	close(fd);
	printf("WORK io ns=%lld ops=%lld check=0\n", (long long)(t1 - t0),
	       (long long)mib * MIB);
	return 0;
}

int main(int argc, char **argv)
{
	long n;

	if (argc == 3 && !strcmp(argv[1], "cpu") && (n = number(argv[2])) > 0 &&
	    n <= 4096)
		return work_cpu(n);
	if (argc == 3 && !strcmp(argv[1], "syscall") && (n = number(argv[2])) > 0)
		return work_syscall(n);
	if (argc == 4 && !strcmp(argv[1], "io") && (n = number(argv[3])) > 0 &&
	    n <= 65536)
		return work_io(argv[2], n);
	return usage();
}
