/* SPDX-License-Identifier: MIT */
/*
 * A small, bounded HTTP/1.1 request parser and response writer for the
 * control API (curl --unix-socket). No allocation: the caller owns the
 * parser, and every limit below is fixed, whatever the client sends.
 *
 * What is accepted (RFC 9112, strictly, with the leniencies noted):
 *  - request line: METHOD SP target SP HTTP/1.0 or HTTP/1.1, single
 *    spaces, methods GET PUT PATCH POST DELETE (case-sensitive);
 *  - target: origin-form only ('/' first), printable ASCII without '#';
 *    whatever follows the first '?' goes to query. Nothing is
 *    percent-decoded: the router matches the raw path;
 *  - lines end in CRLF; a bare LF is accepted too (RFC 9112 section 2.2
 *    allows it); a CR anywhere else is an error;
 *  - empty lines before the request line are skipped (they count
 *    against HTTP_MAX_HEADER);
 *  - header names are case-insensitive; "Name: value" with no space
 *    before the colon, optional spaces/tabs around the value; only
 *    Content-Length, Content-Type, Connection, Expect and
 *    Transfer-Encoding are interpreted, the rest (Host included, which
 *    is not required) are checked for syntax and ignored;
 *  - a body only with Content-Length (no Content-Length: no body; the
 *    API answers 400 to a PUT or PATCH without one).
 *
 * Errors are HTTP status codes to answer with before closing the
 * connection (the stream cannot be resynchronised after one):
 *  400 malformed request line or header line (extra or missing spaces,
 *      tabs, control bytes, obs-fold continuation lines, space before
 *      ':', bare CR, a target not starting with '/'), bad Content-Length
 *      (anything but digits, a list, a value that does not fit in 64
 *      bits, two that differ), two Content-Types;
 *  413 Content-Length > HTTP_MAX_BODY (answered before the body arrives);
 *  414 target longer than HTTP_MAX_PATH - 1 bytes;
 *  417 an Expect other than 100-continue;
 *  431 header section > HTTP_MAX_HEADER bytes, more than
 *      HTTP_MAX_HEADERS header lines, or a Content-Type too long to keep;
 *  501 unknown method (incl. lowercase "get" and HEAD; a method token
 *      longer than 6 bytes fails at its 7th), any
 *      Transfer-Encoding (chunked is not implemented);
 *  505 a well-formed version other than HTTP/1.0 and HTTP/1.1
 *      (HTTP/1.2 too, although RFC 9110 would take it as 1.1).
 * 405 is for the router: a known method on a path that does not take it.
 */
#ifndef VMM_HTTP_H
#define VMM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_PATH     256        /* target incl. query, with the NUL */
#define HTTP_MAX_HEADER   8192       /* request line + headers + CRLFs */
#define HTTP_MAX_HEADERS  64         /* header lines */
#define HTTP_MAX_CTYPE    128        /* Content-Type value, with the NUL */
#define HTTP_MAX_BODY     (64 << 10)

/* http_parse() results; any other value is an error status (4xx, 5xx) */
#define HTTP_INCOMPLETE   0
#define HTTP_DONE         1

/* The interim answer to Expect: 100-continue (see http_want_continue) */
#define HTTP_CONTINUE_RESPONSE "HTTP/1.1 100 Continue\r\n\r\n"

enum http_method {
	HTTP_METHOD_NONE,
	HTTP_GET,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_POST,
	HTTP_DELETE,
};

struct http_request {
	enum http_method method;
	int version;                      /* minor: 0 (1.0) or 1 (1.1) */
	char path[HTTP_MAX_PATH];         /* up to '?', NUL-terminated */
	char query[HTTP_MAX_PATH];        /* after '?', "" if none */
	bool has_query;                   /* a '?' was there (maybe "") */
	char content_type[HTTP_MAX_CTYPE]; /* "" if none; not lowercased */
	bool has_content_length;
	size_t content_length;            /* <= HTTP_MAX_BODY */
	bool keep_alive;                  /* after the version default and
					     Connection: close/keep-alive */
	bool expect_continue;             /* HTTP/1.1 Expect: 100-continue */
	size_t body_len;                  /* == content_length when done */
	/* NUL-terminated for the JSON parser's sake; may hold NULs itself */
	uint8_t body[HTTP_MAX_BODY + 1];
};

enum http_state {
	HTTP_ST_LINE,     /* request line or a header line */
	HTTP_ST_BODY,
	HTTP_ST_DONE,
	HTTP_ST_ERROR,
};

enum http_rl_part {
	HTTP_RL_METHOD,
	HTTP_RL_TARGET,
	HTTP_RL_VERSION,
};

/*
 * Zeroed memory is a reset parser. About 74 KiB, body included: one per
 * connection, allocated once, not on a small stack.
 */
struct http_parser {
	struct http_request req;
	/* from here to line[]: what http_parser_reset() clears */
	enum http_state state;
	int result;            /* repeated by http_parse() once done/failed */
	bool seen_request_line;
	enum http_rl_part rl_part;
	size_t rl_mark;        /* where the request line's part began */
	size_t rl_target_len;
	bool continue_sent;
	bool seen_cl, seen_ctype;
	bool conn_close, conn_keep_alive;
	unsigned int nheaders;
	size_t header_bytes;   /* of the header section so far */
	size_t line_len;
	uint8_t line[HTTP_MAX_HEADER];
};

/* Ready the parser for a connection's next request. */
void http_parser_reset(struct http_parser *p);

/*
 * Feed len bytes of the connection's stream. Returns HTTP_INCOMPLETE
 * (all of data consumed, more needed), HTTP_DONE (p->req is complete;
 * *consumed bytes of data belonged to it, the rest is the next, pipelined
 * request: reset and feed it again) or an error status (*consumed then
 * ends at the byte that failed; answer with Connection: close and close).
 * Once done or failed it returns the same and consumes nothing until
 * reset.
 */
int http_parse(struct http_parser *p, const uint8_t *data, size_t len,
	       size_t *consumed);

/*
 * True once per request when the client waits for "100 Continue" before
 * sending its body: headers done, Expect: 100-continue, body pending.
 * Send HTTP_CONTINUE_RESPONSE then (or a final status instead).
 */
bool http_want_continue(struct http_parser *p);

/* "Not Found" for 404, ..., "Unknown" for what this file does not know */
const char *http_reason(int status);
/* "GET", ..., "?" */
const char *http_method_name(enum http_method m);

/*
 * Write a whole response into buf (not NUL-terminated):
 *   HTTP/1.1 <status> <reason>\r\n
 *   Content-Type: <content_type>\r\n        (if content_type is non-NULL)
 *   Content-Length: <body_len>\r\n
 *   Connection: close\r\n                   (if close)
 *   \r\n<body>
 * 1xx, 204 and 304 carry no Content-Type, Content-Length or body (a body
 * for them is -EINVAL). Returns the length, -ENOSPC if cap is too small,
 * -EINVAL for a status outside 100..999 or a content_type with a CR/LF.
 */
int http_format_response(char *buf, size_t cap, int status,
			 const char *content_type, const char *body,
			 size_t body_len, bool close);

#endif
