// SPDX-License-Identifier: MIT
/*
 * HTTP/1.1 request parsing for the control API. The request line is
 * checked byte by byte (so that garbage or an endless path fails at
 * once), header lines are taken whole into a fixed buffer (every byte
 * counted against HTTP_MAX_HEADER), the body is copied into the
 * request's fixed buffer. Each check depends only on the bytes up to the
 * one that fails, so the result, and where it came, are the same however
 * the stream is split.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "http.h"

/* longer than any method we know ("DELETE") */
#define HTTP_MAX_METHOD 6

static const struct {
	const char *name;
	enum http_method m;
} methods[] = {
	{ "GET", HTTP_GET },
	{ "PUT", HTTP_PUT },
	{ "PATCH", HTTP_PATCH },
	{ "POST", HTTP_POST },
	{ "DELETE", HTTP_DELETE },
};

/* RFC 9110 tchar: what method and header-name tokens are made of */
static bool is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* field-vchar, SP, HTAB; obs-text (>= 0x80) is allowed and left alone */
static bool is_value_char(uint8_t c)
{
	return is_ows(c) || (c >= 0x21 && c != 0x7f);
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* s[0..n) equals the lowercase want, ignoring case */
static bool token_is(const uint8_t *s, size_t n, const char *want)
{
	size_t i;

	if (n != strlen(want))
		return false;
	for (i = 0; i < n; i++)
		if (lower(s[i]) != (uint8_t)want[i])
			return false;
	return true;
}

const char *http_method_name(enum http_method m)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].m == m)
			return methods[i].name;
	return "?";
}

void http_parser_reset(struct http_parser *p)
{
	/* not the body: 64 KiB per request for nothing */
	memset(&p->req, 0, offsetof(struct http_request, body));
	p->req.body[0] = 0;
	memset((uint8_t *)p + offsetof(struct http_parser, state), 0,
	       offsetof(struct http_parser, line) -
	       offsetof(struct http_parser, state));
}

/*
 * One byte of the request line (METHOD SP origin-form SP HTTP/x.y), at
 * line[line_len], checked as it arrives: whatever is not a request fails
 * at its first wrong byte, an endless path at byte HTTP_MAX_PATH.
 */
static int request_line_byte(struct http_parser *p, uint8_t c)
{
	struct http_request *r = &p->req;
	size_t k = p->line_len, j = k - p->rl_mark, i;

	/* a CR is only good right before the LF */
	if (k && p->line[k - 1] == '\r')
		return 400;
	if (c == '\r')
		return HTTP_INCOMPLETE;

	switch (p->rl_part) {
	case HTTP_RL_METHOD:
		if (c != ' ') {
			if (!is_tchar(c))
				return 400;
			return j < HTTP_MAX_METHOD ? HTTP_INCOMPLETE : 501;
		}
		if (!j)
			return 400;
		for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
			if (strlen(methods[i].name) == j &&
			    !memcmp(p->line, methods[i].name, j))
				r->method = methods[i].m;
		/* methods are case-sensitive: "get" is unknown, not malformed */
		if (r->method == HTTP_METHOD_NONE)
			return 501;
		p->rl_part = HTTP_RL_TARGET;
		p->rl_mark = k + 1;
		return HTTP_INCOMPLETE;
	case HTTP_RL_TARGET:
		/* origin-form only: no "*", no absolute-form "http://host/" */
		if (!j && c != '/')
			return 400;
		if (c == ' ') {
			p->rl_part = HTTP_RL_VERSION;
			p->rl_target_len = j;
			p->rl_mark = k + 1;
			return HTTP_INCOMPLETE;
		}
		if (c < 0x21 || c > 0x7e || c == '#')
			return 400;
		return j < HTTP_MAX_PATH - 1 ? HTTP_INCOMPLETE : 414;
	case HTTP_RL_VERSION:
		if (j >= 8 || (j < 5 && c != "HTTP/"[j]) ||
		    (j == 6 && c != '.') ||
		    ((j == 5 || j == 7) && (c < '0' || c > '9')))
			return 400;
		return HTTP_INCOMPLETE;
	}
	return 400;
}

/* The whole request line, n bytes without its CR LF, all bytes checked. */
static int end_request_line(struct http_parser *p, size_t n)
{
	struct http_request *r = &p->req;
	const uint8_t *t = p->line + p->rl_mark - 1 - p->rl_target_len;
	const uint8_t *q;

	/* no version (HTTP/0.9 is not spoken here) or a short one */
	if (p->rl_part != HTTP_RL_VERSION || n - p->rl_mark != 8)
		return 400;
	if (p->line[n - 3] != '1' ||
	    (p->line[n - 1] != '0' && p->line[n - 1] != '1'))
		return 505;
	r->version = p->line[n - 1] - '0';

	q = memchr(t, '?', p->rl_target_len);
	if (q) {
		memcpy(r->path, t, q - t);
		memcpy(r->query, q + 1, p->rl_target_len - (q - t) - 1);
		r->has_query = true;
	} else {
		memcpy(r->path, t, p->rl_target_len);
	}
	return HTTP_INCOMPLETE;
}

/* 1*DIGIT, nothing else: no sign, no spaces inside, no lists */
static int parse_content_length(struct http_parser *p, const uint8_t *s,
				size_t n)
{
	uint64_t v = 0;
	size_t i;

	if (!n)
		return 400;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 400;
		if (v > (UINT64_MAX - (s[i] - '0')) / 10)
			return 400;
		v = v * 10 + (s[i] - '0');
	}
	/* a repeat that agrees is harmless; one that differs is smuggling */
	if (p->seen_cl && v != p->req.content_length)
		return 400;
	if (v > HTTP_MAX_BODY)
		return 413;
	p->seen_cl = true;
	p->req.has_content_length = true;
	p->req.content_length = v;
	return HTTP_INCOMPLETE;
}

/* a comma-separated list of options; only close and keep-alive matter */
static void parse_connection(struct http_parser *p, const uint8_t *s,
			     size_t n)
{
	size_t i = 0, a, b;

	while (i < n) {
		a = i;
		while (i < n && s[i] != ',')
			i++;
		b = i++;
		while (a < b && is_ows(s[a]))
			a++;
		while (b > a && is_ows(s[b - 1]))
			b--;
		if (token_is(s + a, b - a, "close"))
			p->conn_close = true;
		else if (token_is(s + a, b - a, "keep-alive"))
			p->conn_keep_alive = true;
	}
}

static int parse_header(struct http_parser *p, const uint8_t *s, size_t n)
{
	struct http_request *r = &p->req;
	size_t name_len = 0, a, b, i;

	if (++p->nheaders > HTTP_MAX_HEADERS)
		return 431;
	/* obs-fold (a continuation line) is rejected like any bad name */
	while (name_len < n && is_tchar(s[name_len]))
		name_len++;
	if (!name_len || name_len == n || s[name_len] != ':')
		return 400;
	a = name_len + 1;
	b = n;
	while (a < b && is_ows(s[a]))
		a++;
	while (b > a && is_ows(s[b - 1]))
		b--;
	for (i = a; i < b; i++)
		if (!is_value_char(s[i]))
			return 400;

	if (token_is(s, name_len, "content-length"))
		return parse_content_length(p, s + a, b - a);
	if (token_is(s, name_len, "transfer-encoding"))
		return 501; /* chunked is not implemented, nor anything else */
	if (token_is(s, name_len, "content-type")) {
		if (p->seen_ctype)
			return 400;
		if (b - a >= HTTP_MAX_CTYPE)
			return 431;
		memcpy(r->content_type, s + a, b - a);
		p->seen_ctype = true;
	} else if (token_is(s, name_len, "connection")) {
		parse_connection(p, s + a, b - a);
	} else if (token_is(s, name_len, "expect")) {
		/* an HTTP/1.0 client cannot know about 100 Continue */
		if (r->version == 0)
			return HTTP_INCOMPLETE;
		if (!token_is(s + a, b - a, "100-continue"))
			return 417;
		r->expect_continue = true;
	}
	return HTTP_INCOMPLETE;
}

static int finish(struct http_parser *p)
{
	p->req.body[p->req.body_len] = 0;
	p->state = HTTP_ST_DONE;
	return HTTP_DONE;
}

/* a whole line is in p->line, its LF dropped */
static int end_of_line(struct http_parser *p)
{
	struct http_request *r = &p->req;
	size_t n = p->line_len;

	p->line_len = 0;
	if (n && p->line[n - 1] == '\r')
		n--;
	if (!p->seen_request_line) {
		/* RFC 9112 2.2: empty lines before a request may be skipped */
		if (!n)
			return HTTP_INCOMPLETE;
		p->seen_request_line = true;
		return end_request_line(p, n);
	}
	if (n)
		return parse_header(p, p->line, n);

	/* end of the header section */
	if (r->version == 1)
		r->keep_alive = !p->conn_close;
	else
		r->keep_alive = p->conn_keep_alive && !p->conn_close;
	if (!r->content_length)
		return finish(p);
	p->state = HTTP_ST_BODY;
	return HTTP_INCOMPLETE;
}

int http_parse(struct http_parser *p, const uint8_t *data, size_t len,
	       size_t *consumed)
{
	struct http_request *r = &p->req;
	int ret = HTTP_INCOMPLETE;
	size_t i = 0, n;
	uint8_t c;

	if (p->state == HTTP_ST_DONE || p->state == HTTP_ST_ERROR) {
		*consumed = 0;
		return p->result;
	}
	while (i < len && ret == HTTP_INCOMPLETE) {
		if (p->state == HTTP_ST_BODY) {
			n = r->content_length - r->body_len;
			if (n > len - i)
				n = len - i;
			memcpy(r->body + r->body_len, data + i, n);
			r->body_len += n;
			i += n;
			if (r->body_len == r->content_length)
				ret = finish(p);
			continue;
		}
		c = data[i++];
		/* line_len < header_bytes <= HTTP_MAX_HEADER: line[] holds it */
		if (++p->header_bytes > HTTP_MAX_HEADER) {
			ret = 431;
			break;
		}
		if (c == '\n') {
			ret = end_of_line(p);
			continue;
		}
		if (!p->seen_request_line)
			ret = request_line_byte(p, c);
		p->line[p->line_len++] = c;
	}
	*consumed = i;
	if (ret != HTTP_INCOMPLETE && ret != HTTP_DONE)
		p->state = HTTP_ST_ERROR;
	p->result = ret;
	return ret;
}

bool http_want_continue(struct http_parser *p)
{
	if (p->state != HTTP_ST_BODY || !p->req.expect_continue ||
	    p->continue_sent)
		return false;
	p->continue_sent = true;
	return true;
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

struct out {
	char *buf;
	size_t cap, len;
};

/* append n bytes; past cap only len grows, so the caller sees -ENOSPC */
static void put(struct out *o, const void *s, size_t n)
{
	if (o->len <= o->cap && n <= o->cap - o->len)
		memcpy(o->buf + o->len, s, n);
	o->len = n > SIZE_MAX - o->len ? SIZE_MAX : o->len + n;
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_uint(struct out *o, size_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	put(o, tmp + i, sizeof(tmp) - i);
}

int http_format_response(char *buf, size_t cap, int status,
			 const char *content_type, const char *body,
			 size_t body_len, bool close)
{
	/* RFC 9110 6.4.1: these never have content */
	bool bodyless = status < 200 || status == 204 || status == 304;
	struct out o = { .buf = buf, .cap = cap };

	if (status < 100 || status > 999)
		return -EINVAL;
	if (bodyless && body_len)
		return -EINVAL;
	/* the caller's string goes into a header: no injecting others */
	if (content_type && strpbrk(content_type, "\r\n"))
		return -EINVAL;

	put_str(&o, "HTTP/1.1 ");
	put_uint(&o, status);
	put_str(&o, " ");
	put_str(&o, http_reason(status));
	put_str(&o, "\r\n");
	if (!bodyless) {
		if (content_type) {
			put_str(&o, "Content-Type: ");
			put_str(&o, content_type);
			put_str(&o, "\r\n");
		}
		put_str(&o, "Content-Length: ");
		put_uint(&o, body_len);
		put_str(&o, "\r\n");
	}
	if (close)
		put_str(&o, "Connection: close\r\n");
	put_str(&o, "\r\n");
	if (body_len)
		put(&o, body, body_len);
	if (o.len > cap || o.len > INT_MAX)
		return -ENOSPC;
	return (int)o.len;
}
