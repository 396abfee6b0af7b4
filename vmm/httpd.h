/* SPDX-License-Identifier: MIT */
/*
 * An HTTP/1.1 server on a Unix stream socket, for a JSON API: the socket,
 * a bounded number of connections, pipelining, timeouts and response
 * framing, on an event loop. It knows nothing of VMs; the handler (api.c)
 * gets each parsed request (http.h) and answers it, at once or later.
 */
#ifndef VMM_HTTPD_H
#define VMM_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

struct evloop;
struct httpd;
struct httpd_conn;
struct http_request;

/*
 * Handle one request: call httpd_answer() on c before returning, or
 * return HTTPD_HELD and answer later (the connection reads nothing more
 * meanwhile; what the client pipelined waits its turn). Else return 0.
 */
#define HTTPD_HELD 1
typedef int (*httpd_handler)(void *ctx, struct httpd_conn *c,
			     const struct http_request *req);

/*
 * Listen on path with mode (e.g. 0600). Refuses to replace a socket
 * someone is listening on, removes a stale one. 0 or -errno with one
 * error line.
 */
int httpd_create(struct evloop *loop, const char *path, unsigned int mode,
		 httpd_handler fn, void *ctx, struct httpd **out)
	__attribute__((warn_unused_result));
/* Close every connection, unlink the socket. */
void httpd_destroy(struct httpd *s);
/* Refuse request bodies larger than max (413); at most HTTP_MAX_BODY. */
void httpd_set_max_body(struct httpd *s, size_t max);

/*
 * Answer c's current request: status with a JSON body (NULL for none;
 * 204 takes none). A request held with HTTPD_HELD must be answered once;
 * a connection that went away meanwhile is not an error.
 */
void httpd_answer(struct httpd_conn *c, int status, const char *json);
/* The answer closes the connection (after an error the client caused). */
void httpd_close_after(struct httpd_conn *c);

#endif
