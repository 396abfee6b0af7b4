/* SPDX-License-Identifier: MIT */
/*
 * A real gdb against the engine: serve the fake VM (gdb_fake.h) on a
 * localhost TCP port, run Debian's gdb in batch mode with the commands
 * given, and return what it printed. The loop is the one the integration
 * will have: read what the socket has, feed the engine what it takes,
 * write what it has to send, detach when the connection closes.
 */
#ifndef TESTS_UNIT_GDB_SESSION_H
#define TESTS_UNIT_GDB_SESSION_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gdb_fake.h"

/* Is prog on PATH? */
static int have_program(const char *prog)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* Serve one connection on fd until the client closes it or 30 s pass. */
static int serve(struct gdb_stub *s, int fd)
{
	uint8_t in[8192];
	size_t in_len = 0, in_off = 0;
	time_t end = time(NULL) + 30;

	for (;;) {
		const uint8_t *out;
		size_t n_out = gdb_stub_output(s, &out);
		struct pollfd p = { fd, 0, 0 };
		ssize_t n;

		/* back-pressure: read more only once the engine took it all */
		if (in_off == in_len)
			p.events |= POLLIN;
		if (n_out)
			p.events |= POLLOUT;
		if (time(NULL) > end || poll(&p, 1, 1000) < 0)
			return -ETIMEDOUT;
		if (p.revents & POLLOUT) {
			n = write(fd, out, n_out);
			if (n < 0)
				return -errno;
			gdb_stub_output_done(s, (size_t)n);
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			n = read(fd, in, sizeof(in));
			if (n <= 0) {
				gdb_stub_detach(s);
				return 0;
			}
			in_len = (size_t)n;
			in_off = 0;
		}
		if (in_off < in_len)
			in_off += gdb_stub_input(s, in + in_off, in_len - in_off);
		if (gdb_stub_state(s) == GDB_STATE_DETACHED ||
		    gdb_stub_state(s) == GDB_STATE_KILLED) {
			n_out = gdb_stub_output(s, &out);
			if (n_out && write(fd, out, n_out) < 0)
				return -errno;
			return 0;
		}
	}
}

/*
 * Run "gdbprog -batch -nx" with cmds (NULL-terminated "-ex" arguments,
 * "%d" in one of them replaced by the port) against s. Returns gdb's
 * output (stdout and stderr) in a malloc'ed string, or NULL.
 */
static char *gdb_session(const char *gdbprog, struct gdb_stub *s,
			 const char *const *cmds)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int lfd, cfd, pipefd[2], status;
	char *argv[64], port_cmd[128], *buf;
	size_t cap = 1 << 16, len = 0, argc = 0;
	pid_t pid;
	ssize_t n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&a, &alen) ||
	    pipe2(pipefd, O_CLOEXEC))
		return NULL;
	argv[argc++] = (char *)gdbprog;
	argv[argc++] = (char *)"-batch";
	argv[argc++] = (char *)"-nx";
	for (; *cmds && argc < 60; cmds++) {
		argv[argc++] = (char *)"-ex";
		const char *pct = strstr(*cmds, "%d");

		if (pct) {
			snprintf(port_cmd, sizeof(port_cmd), "%.*s%u%s",
				 (int)(pct - *cmds), *cmds,
				 (unsigned int)ntohs(a.sin_port), pct + 2);
			argv[argc++] = port_cmd;
		} else {
			argv[argc++] = (char *)*cmds;
		}
	}
	argv[argc] = NULL;
	pid = fork();
	if (pid < 0)
		return NULL;
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		alarm(60);
		execvp(gdbprog, argv);
		_exit(127);
	}
	close(pipefd[1]);
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (cfd >= 0) {
		(void)serve(s, cfd);
		close(cfd);
	}
	buf = malloc(cap);
	while (buf && (n = read(pipefd[0], buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap)
			break;
	}
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (buf)
		buf[len] = 0;
	return buf;
}

/* The first of want[] missing from out, or of bad[] in it; NULL if none */
static const char *gdb_output_lacks(const char *out, const char *const *want,
				    const char *const *bad)
{
	for (; *want; want++)
		if (!strstr(out, *want))
			return *want;
	for (; *bad; bad++)
		if (strstr(out, *bad))
			return *bad;
	return NULL;
}

/* gdb's output, indented, for the test log (and the report) */
static void print_session(const char *out)
{
	const char *p = out;

	while (*p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		printf("  | %.*s\n", n, p);
		p += n + (nl != NULL);
	}
}

#endif
