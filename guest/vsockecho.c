// SPDX-License-Identifier: MIT
/*
 * vsockecho: the two ends of vmm's vsock end-to-end test, one static
 * program for the guest (AF_VSOCK) and for the host (the Unix sockets of
 * Firecracker's vsock host side).
 *
 *   vsockecho echo-server LISTEN      echo every connection's bytes back
 *   vsockecho sink-server LISTEN      accept connections, never read them
 *   vsockecho echo-client DIAL N BYTES
 *       N connections one after another, each sending BYTES bytes of a
 *       pattern of its own and checking that the same bytes come back
 *   vsockecho wait-server LISTEN      exit once one connection came
 *   vsockecho dial DIAL               connect, then close
 *   vsockecho flood DIAL SECONDS
 *       one connection, written to until it has taken nothing for
 *       SECONDS (the peer does not read); prints how much it took
 *
 *   LISTEN: vsock:PORT (any CID) or unix:PATH
 *   DIAL:   vsock:CID:PORT, or fc:PATH:PORT (connect to the Unix socket
 *           PATH, "CONNECT PORT\n", expect "OK <n>\n": Firecracker's
 *           host-initiated connection)
 *
 * Results are single lines starting with "VSOCKECHO"; the exit status is
 * 0 only when every byte checked out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	printf("VSOCKECHO FAIL %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static uint8_t pattern(unsigned int conn, uint64_t off)
{
	return (uint8_t)(off * 7 + conn * 13 + (off >> 9));
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int listen_on(const char *spec)
{
	int fd = -1;

	if (!strncmp(spec, "vsock:", 6)) {
		struct sockaddr_vm sa = {
			.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
			.svm_port = (unsigned int)strtoul(spec + 6, NULL, 10),
		};

		fd = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("vsock bind");
	} else if (!strncmp(spec, "unix:", 5)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", spec + 5);
		unlink(sa.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("unix bind");
	} else {
		errno = EINVAL;
		die(spec);
	}
	if (listen(fd, 128) < 0)
		die("listen");
	return fd;
}

/* Read one line (up to '\n') a byte at a time. */
static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r <= 0)
			return -1;
		if (c == '\n') {
			buf[n] = 0;
			return 0;
		}
		buf[n++] = c;
	}
	return -1;
}

static int dial(const char *spec)
{
	char path[108], line[64];
	int fd;

	if (!strncmp(spec, "vsock:", 6)) {
		char *end;
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK };

		sa.svm_cid = (unsigned int)strtoul(spec + 6, &end, 10);
		if (*end != ':')
			return errno = EINVAL, -1;
		sa.svm_port = (unsigned int)strtoul(end + 1, NULL, 10);
		fd = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -1;
		return fd;
	}
	if (!strncmp(spec, "fc:", 3)) {
		const char *colon = strrchr(spec, ':');
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		size_t n = (size_t)(colon - (spec + 3));
		int len;

		if (colon == spec + 2 || n >= sizeof(path))
			return errno = EINVAL, -1;
		memcpy(sa.sun_path, spec + 3, n);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -1;
		len = snprintf(line, sizeof(line), "CONNECT %s\n", colon + 1);
		if (write(fd, line, (size_t)len) != len)
			return -1;
		if (read_line(fd, line, sizeof(line)) < 0 || strncmp(line, "OK ", 3)) {
			close(fd);
			return errno = ECONNREFUSED, -1;
		}
		return fd;
	}
	return errno = EINVAL, -1;
}

static void echo(int fd)
{
	char buf[16384];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < r;) {
			ssize_t w = write(fd, buf + off, (size_t)(r - off));

			if (w <= 0)
				return;
			off += w;
		}
}

static int server(const char *spec, int do_echo)
{
	int lfd = listen_on(spec);

	signal(SIGCHLD, SIG_IGN); /* no zombies */
	printf("VSOCKECHO listening %s\n", spec);
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		if (!do_echo)
			continue; /* held open, never read */
		if (fork() == 0) {
			close(lfd);
			echo(fd);
			_exit(0);
		}
		close(fd);
	}
}

/* Send len bytes of conn's pattern and check the echo; 0 or -1. */
static int echo_check(int fd, unsigned int conn, uint64_t len)
{
	uint8_t out[8192], in[8192];
	uint64_t sent = 0, got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (sent < len)
			p.events |= POLLOUT;
		if (poll(&p, 1, 30000) <= 0) {
			printf("VSOCKECHO FAIL conn %u: stalled at %llu sent, "
			       "%llu back\n", conn, (unsigned long long)sent,
			       (unsigned long long)got);
			return -1;
		}
		if ((p.revents & POLLOUT) && sent < len) {
			size_t n = len - sent < sizeof(out) ? len - sent : sizeof(out);

			for (size_t i = 0; i < n; i++)
				out[i] = pattern(conn, sent + i);
			r = send(fd, out, n, MSG_DONTWAIT);
			if (r < 0 && errno != EAGAIN) {
				printf("VSOCKECHO FAIL conn %u: send: %s\n", conn,
				       strerror(errno));
				return -1;
			}
			if (r > 0)
				sent += (uint64_t)r;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			r = recv(fd, in, sizeof(in), MSG_DONTWAIT);
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				printf("VSOCKECHO FAIL conn %u: %s after %llu bytes back\n",
				       conn, r ? strerror(errno) : "end of stream",
				       (unsigned long long)got);
				return -1;
			}
			for (ssize_t i = 0; i < r; i++)
				if (in[i] != pattern(conn, got + (uint64_t)i)) {
					printf("VSOCKECHO FAIL conn %u: byte %llu is "
					       "0x%02x, not 0x%02x\n", conn,
					       (unsigned long long)(got + (uint64_t)i),
					       in[i], pattern(conn, got + (uint64_t)i));
					return -1;
				}
			got += (uint64_t)r;
		}
	}
	return 0;
}

static int client(const char *spec, unsigned int n, uint64_t len)
{
	double t0 = now();

	for (unsigned int i = 0; i < n; i++) {
		int fd = dial(spec);

		if (fd < 0) {
			printf("VSOCKECHO FAIL conn %u: connect %s: %s\n", i, spec,
			       strerror(errno));
			return 1;
		}
		if (echo_check(fd, i, len) < 0)
			return 1;
		close(fd);
	}
	printf("VSOCKECHO echo-client %s conns=%u bytes=%llu checked in %.2f s\n",
	       spec, n, (unsigned long long)n * len, now() - t0);
	return 0;
}

static int flood(const char *spec, double seconds)
{
	static uint8_t buf[65536];
	uint64_t total = 0;
	double last = now();
	int fd = dial(spec);

	if (fd < 0)
		die(spec);
	memset(buf, 0x5a, sizeof(buf));
	while (now() - last < seconds) {
		ssize_t w = send(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (w > 0) {
			total += (uint64_t)w;
			last = now();
		} else if (w < 0 && errno != EAGAIN) {
			die("flood send");
		} else {
			usleep(100000);
		}
	}
	printf("VSOCKECHO flood %s bytes=%llu (then %.0f s without progress)\n",
	       spec, (unsigned long long)total, seconds);
	fflush(stdout);
	/* held open: the caller measures, then kills us */
	pause();
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "echo-server"))
		return server(argv[2], 1);
	if (argc == 3 && !strcmp(argv[1], "sink-server"))
		return server(argv[2], 0);
	if (argc == 5 && !strcmp(argv[1], "echo-client"))
		return client(argv[2], (unsigned int)strtoul(argv[3], NULL, 10),
			      strtoull(argv[4], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "wait-server")) {
		int lfd = listen_on(argv[2]);

		printf("VSOCKECHO listening %s\n", argv[2]);
		if (accept(lfd, NULL, NULL) < 0)
			die("accept");
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "dial")) {
		if (dial(argv[2]) < 0)
			die(argv[2]);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "flood"))
		return flood(argv[2], strtod(argv[3], NULL));
	fprintf(stderr, "usage: vsockecho echo-server|sink-server|wait-server LISTEN\n"
		"       vsockecho echo-client DIAL N BYTES\n"
		"       vsockecho dial DIAL\n"
		"       vsockecho flood DIAL SECONDS\n"
		"LISTEN: vsock:PORT | unix:PATH; DIAL: vsock:CID:PORT | fc:PATH:PORT\n");
	return 2;
}
