// SPDX-License-Identifier: MIT
/*
 * bench-run: start one program and time it, for scripts/bench-boot.
 *
 *   bench-run [-m MARKER] [-l LOG] [-e ERRFILE] [-t SECONDS] [-M] -- PROGRAM [ARG]...
 *
 * Takes CLOCK_MONOTONIC just before fork() ("exec", t0), then watches the
 * program's stdout through a pipe and records, relative to t0: the first
 * byte, the first occurrence of MARKER, and the exit (SIGCHLD through a
 * signalfd). At the end it reaps the program with wait4() and prints one
 * line on stdout:
 *
 *   RESULT t0_ns=... pid=... first_byte_ns=... marker_ns=... exit_ns=...
 *          status=... signal=... timeout=0|1 utime_us=... stime_us=...
 *          maxrss_kib=... out_bytes=...
 *
 * (-1 for an event that did not happen). With -M it also prints
 * "MARKER <ns> <pid>" as soon as the marker is seen, so a caller starting
 * many instances knows when each is up. SIGTERM, SIGINT and SIGHUP sent to
 * bench-run are forwarded to the program.
 *
 * Why a C helper rather than timing from Python: ru_maxrss of a child is
 * at least the resident size of the process that forked it (the kernel
 * carries the pre-exec high-water mark over exec), so a child forked by
 * Python would report Python's ~14 MiB. Forked from this small static
 * program (about 0.75 MiB resident), the figure is the program's own for
 * anything larger than that. The same binary runs inside the emulated
 * host, so both places measure the same way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEEP_MAX (1 << 20) /* bytes of output kept for the marker search */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench-run [-m MARKER] [-l LOG] [-e ERRFILE] [-t SECONDS] [-M]"
		" -- PROGRAM [ARG]...\n");
	exit(2);
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

int main(int argc, char **argv)
{
	const char *marker = NULL, *log_path = NULL, *err_path = NULL;
	double limit_s = 60;
	int announce = 0, opt;

	while ((opt = getopt(argc, argv, "+m:l:e:t:M")) != -1) {
		switch (opt) {
		case 'm': marker = optarg; break;
		case 'l': log_path = optarg; break;
		case 'e': err_path = optarg; break;
		case 't': limit_s = atof(optarg); break;
		case 'M': announce = 1; break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	if (marker && !*marker)
		marker = NULL;

	int log_fd = -1;
	if (log_path) {
		log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			perror(log_path);
			return 2;
		}
	}
	int err_fd = -1;
	if (err_path) {
		err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (err_fd < 0) {
			perror(err_path);
			return 2;
		}
	}

	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		perror("signalfd");
		return 2;
	}

	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0) {
		perror("pipe");
		return 2;
	}

	int64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		/* Own process group: a timeout kill reaches its helpers too. */
		setpgid(0, 0);
		dup2(out[1], 1);
		if (err_fd >= 0)
			dup2(err_fd, 2);
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(argv[optind], &argv[optind]);
		fprintf(stderr, "bench-run: cannot run %s: %s\n", argv[optind],
			strerror(errno));
		_exit(127);
	}
	close(out[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);

	char *keep = malloc(KEEP_MAX);
	size_t kept = 0, mlen = marker ? strlen(marker) : 0;
	long long out_bytes = 0;
	int64_t first_ns = -1, marker_ns = -1, exit_ns = -1;
	int64_t deadline = t0 + (int64_t)(limit_s * 1e9);
	int pipe_open = 1, timed_out = 0;
	char buf[65536];

	if (!keep)
		return 2;
	while (exit_ns < 0) {
		struct pollfd pf[2] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = pipe_open ? out[0] : -1, .events = POLLIN },
		};
		int64_t left = deadline - now_ns();

		if (left <= 0 && !timed_out) {
			timed_out = 1;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			deadline = now_ns() + 5000000000LL; /* wait for the kill */
			continue;
		}
		if (left <= 0)
			break; /* unkillable: give up on the exit time */
		if (poll(pf, 2, (int)(left / 1000000 + 1)) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			break;
		}
		int64_t t = now_ns();

		if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n;

			while ((n = read(out[0], buf, sizeof(buf))) > 0) {
				if (first_ns < 0)
					first_ns = t - t0;
				out_bytes += n;
				if (log_fd >= 0)
					write_all(log_fd, buf, (size_t)n);
				if (marker && marker_ns < 0) {
					/* keep the tail so a marker split across reads is found */
					if (kept + (size_t)n > KEEP_MAX) {
						size_t drop = kept + (size_t)n - KEEP_MAX;

						if (drop > kept)
							drop = kept;
						memmove(keep, keep + drop, kept - drop);
						kept -= drop;
					}
					size_t take = (size_t)n < KEEP_MAX ? (size_t)n : KEEP_MAX;
					memcpy(keep + kept, buf + (size_t)n - take, take);
					kept += take;
					if (memmem(keep, kept, marker, mlen)) {
						marker_ns = t - t0;
						if (announce) {
							printf("MARKER %lld %d\n", (long long)marker_ns, (int)pid);
							fflush(stdout);
						}
					}
				}
			}
			if (n == 0) {
				pipe_open = 0;
			}
		}
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo != SIGCHLD)
					kill(pid, (int)si.ssi_signo);
			}
			siginfo_t info = { 0 };

			/* Exited? (WNOWAIT: reap below, with wait4 for rusage) */
			if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    info.si_pid == pid)
				exit_ns = t - t0;
		}
	}

	/* Output still in the pipe (written just before the exit). */
	if (pipe_open) {
		ssize_t n;
		int64_t t = now_ns();

		while ((n = read(out[0], buf, sizeof(buf))) > 0) {
			if (first_ns < 0)
				first_ns = t - t0;
			out_bytes += n;
			if (log_fd >= 0)
				write_all(log_fd, buf, (size_t)n);
			if (marker && marker_ns < 0 && kept + (size_t)n <= KEEP_MAX) {
				memcpy(keep + kept, buf, (size_t)n);
				kept += (size_t)n;
				if (memmem(keep, kept, marker, mlen))
					marker_ns = t - t0;
			}
		}
	}

	int status = 0;
	struct rusage ru = { 0 };
	pid_t w = exit_ns >= 0 ? wait4(pid, &status, 0, &ru) : -1;

	printf("RESULT t0_ns=%lld pid=%d first_byte_ns=%lld marker_ns=%lld exit_ns=%lld "
	       "status=%d signal=%d timeout=%d utime_us=%lld stime_us=%lld maxrss_kib=%ld "
	       "out_bytes=%lld\n",
	       (long long)t0, (int)pid, (long long)first_ns, (long long)marker_ns,
	       (long long)exit_ns,
	       w == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	       w == pid && WIFSIGNALED(status) ? WTERMSIG(status) : 0, timed_out,
	       (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
	       (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec,
	       ru.ru_maxrss, out_bytes);
	fflush(stdout);
	return 0;
}
