// SPDX-License-Identifier: MIT
/*
 * The control socket's server (httpd.h). One event loop serves the
 * listening socket and up to HTTPD_MAX_CONNS connections; each has a
 * fixed-size parser (http.c), answers its requests in order, and is
 * closed when slow or, when the slots are needed, idle.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "evloop.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "util.h"
#include "timeline.h"

#define HTTPD_MAX_CONNS  16
#define HTTPD_OUT_MAX    (64 << 10)
#define HTTPD_IN_MAX     4096
#define HTTPD_SLOW_NS    (5ULL * 1000000000ULL)  /* a request must arrive in 5 s */
#define HTTPD_IDLE_NS    (60ULL * 1000000000ULL) /* idle keep-alive */

struct httpd_conn {
	struct httpd *srv;
	int fd;
	struct http_parser p;
	bool partial;           /* bytes of a request have arrived */
	bool held;              /* a request waits for httpd_answer() */
	bool closing;           /* close once out[] is written */
	bool close_after;       /* the current answer closes */
	bool dead;              /* the client went while a request was held */
	uint64_t since;         /* start of the current request, or idle */
	size_t in_len, in_off;  /* read but not parsed (behind a held one) */
	uint8_t in[HTTPD_IN_MAX];
	size_t out_len, out_off;
	char out[HTTPD_OUT_MAX];
};

struct httpd {
	struct evloop *loop;
	httpd_handler fn;
	void *ctx;
	size_t max_body;
	int listen_fd;
	int timer_fd;
	char path[108];
	struct httpd_conn *conn[HTTPD_MAX_CONNS];
};

static void conn_free(struct httpd_conn *c)
{
	struct httpd *s = c->srv;

	for (int i = 0; i < HTTPD_MAX_CONNS; i++)
		if (s->conn[i] == c)
			s->conn[i] = NULL;
	if (c->fd >= 0) {
		evloop_del(s->loop, c->fd);
		close(c->fd);
	}
	free(c);
}

/*
 * A connection whose request is held stays allocated, its socket closed,
 * until the handler answers (the handler keeps a pointer to it).
 */
static void conn_close(struct httpd_conn *c)
{
	if (!c->held) {
		conn_free(c);
		return;
	}
	evloop_del(c->srv->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	c->dead = true;
}

/* What the connection waits for: to write, to read, or nothing (held). */
static void conn_watch(struct httpd_conn *c)
{
	uint32_t ev = c->out_off < c->out_len ? EPOLLOUT :
		      c->held ? 0 : EPOLLIN;

	evloop_mod(c->srv->loop, c->fd, ev);
}

/* Write what is pending; returns false when the connection is gone. */
static bool conn_flush(struct httpd_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off,
				  c->out_len - c->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			conn_watch(c);
			return true;
		}
		if (n <= 0) {
			conn_close(c);
			return false;
		}
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	if (c->closing) {
		conn_close(c);
		return false;
	}
	conn_watch(c);
	return true;
}

static void conn_put(struct httpd_conn *c, int status, const char *json,
		     bool close)
{
	size_t len = json ? strlen(json) : 0;
	int n = http_format_response(c->out + c->out_len,
				     sizeof(c->out) - c->out_len, status,
				     json ? "application/json" : NULL, json,
				     len, close);

	if (n < 0) {
		static const char too_big[] =
			"{\"fault_message\":\"response too large\"}";

		n = http_format_response(c->out + c->out_len,
					 sizeof(c->out) - c->out_len, 500,
					 "application/json", too_big,
					 sizeof(too_big) - 1, true);
		close = true;
	}
	if (n > 0)
		c->out_len += (size_t)n;
	c->closing = c->closing || close;
}

static void fault(struct httpd_conn *c, int status, const char *msg, bool close)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"fault_message\":\"%s\"}", msg);
	conn_put(c, status, body, close);
}

void httpd_close_after(struct httpd_conn *c)
{
	c->close_after = true;
}

static void conn_process(struct httpd_conn *c);

void httpd_answer(struct httpd_conn *c, int status, const char *json)
{
	bool was_held = c->held;

	if (c->dead) {
		conn_free(c);
		return;
	}
	conn_put(c, status, status == 204 ? NULL : json,
		 c->close_after || !c->p.req.keep_alive);
	c->close_after = false;
	http_parser_reset(&c->p);
	c->partial = false;
	c->since = monotonic_ns();
	if (!was_held)
		return;
	/* answered later: send it, then what was pipelined behind it */
	c->held = false;
	if (!c->closing)
		conn_process(c);
	if (c->out_len)
		conn_flush(c);
	else
		conn_watch(c);
}

/* Parse and handle what is in c->in until it runs out or a request waits. */
static void conn_process(struct httpd_conn *c)
{
	while (!c->held && !c->closing &&
	       (c->in_off < c->in_len || c->p.state == HTTP_ST_DONE)) {
		size_t used = 0;
		int ret = http_parse(&c->p, c->in + c->in_off,
				     c->in_len - c->in_off, &used);

		c->in_off += used;
		if (ret == HTTP_INCOMPLETE) {
			if (http_want_continue(&c->p)) {
				size_t l = strlen(HTTP_CONTINUE_RESPONSE);

				/* no room behind pipelined answers: send them, close */
				if (c->out_len + l > sizeof(c->out)) {
					c->closing = true;
					break;
				}
				memcpy(c->out + c->out_len, HTTP_CONTINUE_RESPONSE, l);
				c->out_len += l;
			}
			c->partial = c->partial || used > 0;
			break;
		}
		if (ret != HTTP_DONE) {
			fault(c, ret, http_reason(ret), true);
			break;
		}
		if (c->p.req.body_len > c->srv->max_body) {
			fault(c, 413, http_reason(413), true);
			break;
		}
		if (c->srv->fn(c->srv->ctx, c, &c->p.req) == HTTPD_HELD) {
			c->held = true;
			break;
		}
		/*
		 * A client pipelining faster than it reads its answers: stop
		 * while the buffer still has room for one more (error) answer
		 * and a "100 Continue", and close.
		 */
		if (c->in_off < c->in_len && c->out_len > sizeof(c->out) / 2) {
			fault(c, 503, "too many pipelined requests", true);
			break;
		}
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
}

static void conn_io(void *opaque, uint32_t events)
{
	struct httpd_conn *c = opaque;
	ssize_t n;

	if (events & EPOLLOUT) {
		conn_flush(c);
		return;
	}
	if (c->held || c->in_len)
		return; /* input waits behind the held request */
	n = read(c->fd, c->in, sizeof(c->in));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	if (!c->partial)
		c->since = monotonic_ns();
	c->in_len = (size_t)n;
	c->in_off = 0;
	conn_process(c);
	if (c->out_len)
		conn_flush(c);
	else
		conn_watch(c);
}

/*
 * A free slot, or the one of the connection idle the longest (waiting
 * for a keep-alive request, nothing in flight): a full house of idle
 * clients must not lock out a new one.
 */
static int free_slot(struct httpd *s)
{
	int oldest = -1;

	for (int i = 0; i < HTTPD_MAX_CONNS; i++) {
		struct httpd_conn *c = s->conn[i];

		if (!c)
			return i;
		if (c->partial || c->held || c->dead || c->out_len || c->in_len)
			continue;
		if (oldest < 0 || c->since < s->conn[oldest]->since)
			oldest = i;
	}
	if (oldest >= 0)
		conn_close(s->conn[oldest]);
	return oldest;
}

static void httpd_accept(void *opaque, uint32_t events)
{
	struct httpd *s = opaque;
	struct httpd_conn *c;
	int fd, slot;

	(void)events;
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	slot = free_slot(s);
	c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
			"Content-Type: application/json\r\nContent-Length: 47\r\n"
			"Connection: close\r\n\r\n"
			"{\"fault_message\":\"too many control connections\"}";

		/* best effort: the client learns why, then the socket closes */
		if (write(fd, busy, sizeof(busy) - 1) < 0)
			debug("api: %s", strerror(errno));
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->since = monotonic_ns();
	if (evloop_add(s->loop, fd, EPOLLIN, conn_io, c)) {
		close(fd);
		free(c);
		return;
	}
	s->conn[slot] = c;
}

/* Once a second: drop clients that are slow to send or idle too long. */
static void httpd_tick(void *opaque, uint32_t events)
{
	struct httpd *s = opaque;
	uint64_t now = monotonic_ns(), v;

	(void)events;
	if (read(s->timer_fd, &v, sizeof(v)) < 0)
		return;
	for (int i = 0; i < HTTPD_MAX_CONNS; i++) {
		struct httpd_conn *c = s->conn[i];

		if (!c || c->held || c->dead)
			continue;
		if (now - c->since > (c->partial ? HTTPD_SLOW_NS : HTTPD_IDLE_NS)) {
			if (c->partial) {
				fault(c, 408, "request not received in time", true);
				conn_flush(c);
			} else {
				conn_close(c);
			}
		}
	}
}

int httpd_create(struct evloop *loop, const char *path, unsigned int mode,
		 httpd_handler fn, void *ctx, struct httpd **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct itimerspec it = { { 1, 0 }, { 1, 0 } };
	struct httpd *s;
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		error("--api-sock %s: path longer than %zu bytes", path,
		      sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->fn = fn;
	s->ctx = ctx;
	s->max_body = HTTP_MAX_BODY;
	s->listen_fd = s->timer_fd = -1;
	ret = unix_socket_reclaim("--api-sock", path);
	if (ret)
		goto fail_quiet;
	/*
	 * Bound under a temporary name, listening, then renamed into place:
	 * a client that waits for the path to appear and connects at once
	 * must not find a socket nobody listens on yet (ECONNREFUSED). When
	 * the temporary name would be too long, the path itself.
	 */
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%d.tmp", path,
			     (int)getpid()) >= sizeof(sa.sun_path))
		memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(sa.sun_path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0 ||
	    bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto fail;
	}
	if (chmod(sa.sun_path, mode) < 0 || listen(s->listen_fd, 16) < 0 ||
	    (strcmp(sa.sun_path, path) && rename(sa.sun_path, path) < 0)) {
		ret = -errno;
		unlink(sa.sun_path);
		goto fail;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->timer_fd < 0 || timerfd_settime(s->timer_fd, 0, &it, NULL) < 0) {
		ret = -errno;
		goto fail;
	}
	if ((ret = evloop_add(loop, s->listen_fd, EPOLLIN, httpd_accept, s)) ||
	    (ret = evloop_add(loop, s->timer_fd, EPOLLIN, httpd_tick, s)))
		goto fail;
	*out = s;
	return 0;
fail:
	error("--api-sock %s: %s", path, strerror(-ret));
fail_quiet:
	httpd_destroy(s);
	return ret;
}

void httpd_set_max_body(struct httpd *s, size_t max)
{
	s->max_body = max < HTTP_MAX_BODY ? max : HTTP_MAX_BODY;
}

void httpd_destroy(struct httpd *s)
{
	if (!s)
		return;
	for (int i = 0; i < HTTPD_MAX_CONNS; i++) {
		struct httpd_conn *c = s->conn[i];

		if (!c)
			continue;
		/* answers already made still go out, best effort */
		if (c->fd >= 0 && c->out_len > c->out_off &&
		    write(c->fd, c->out + c->out_off, c->out_len - c->out_off) < 0)
			debug("api: %s", strerror(errno));
		conn_free(c);
	}
	if (s->listen_fd >= 0) {
		evloop_del(s->loop, s->listen_fd);
		close(s->listen_fd);
	}
	if (s->timer_fd >= 0) {
		evloop_del(s->loop, s->timer_fd);
		close(s->timer_fd);
	}
	if (s->path[0])
		unlink(s->path);
	free(s);
}
