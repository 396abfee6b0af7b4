// SPDX-License-Identifier: MIT
/*
 * The control API's HTTP parser and response writer: valid requests fed
 * whole, split at every byte and in random chunks (same result each
 * way), pipelining, keep-alive, 100-continue, every limit at and past
 * its edge, a table of malformed requests with the status each gets,
 * and the exact bytes of responses.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../vmm/http.h"
#include "unit.h"

/* ~73 KiB each: not on the stack */
static struct http_parser pa, pb;
static uint8_t big[HTTP_MAX_BODY + 2 * HTTP_MAX_HEADER];

#define RANDOM_CHUNKS ((size_t)-1)

static uint32_t rng_state;

static uint32_t rng(void)
{
	/* xorshift32: deterministic, so a failure can be replayed */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/*
 * Reset p and feed it len bytes in chunks of step (0: all at once,
 * RANDOM_CHUNKS: 1..23 bytes at random) until it is done or fails.
 * *used is how many bytes it took in all.
 */
static int feed(struct http_parser *p, const void *data, size_t len,
		size_t step, size_t *used)
{
	const uint8_t *d = data;
	size_t off = 0, n, c;
	int r = HTTP_INCOMPLETE;

	*used = 0;
	http_parser_reset(p);
	do {
		n = len - off;
		if (step == RANDOM_CHUNKS)
			n = n < 1 ? n : 1 + rng() % 23;
		else if (step)
			n = step;
		if (n > len - off)
			n = len - off;
		c = (size_t)-1;
		r = http_parse(p, d + off, n, &c);
		if (c > n)
			return -1; /* never more than it was given */
		if (r == HTTP_INCOMPLETE && c != n)
			return -2; /* incomplete means it took everything */
		off += c;
		*used = off;
	} while (r == HTTP_INCOMPLETE && off < len);
	return r;
}

/* Feed data[0..k) then data[k..len). */
static int feed_split(struct http_parser *p, const void *data, size_t len,
		      size_t k, size_t *used)
{
	const uint8_t *d = data;
	size_t c1 = 0, c2 = 0;
	int r;

	*used = 0;
	http_parser_reset(p);
	r = http_parse(p, d, k, &c1);
	if (r != HTTP_INCOMPLETE) {
		*used = c1;
		return r;
	}
	if (c1 != k)
		return -2;
	r = http_parse(p, d + k, len - k, &c2);
	*used = c1 + c2;
	return r;
}

static bool same_req(const struct http_request *a,
		     const struct http_request *b)
{
	return a->method == b->method && a->version == b->version &&
	       !strcmp(a->path, b->path) && !strcmp(a->query, b->query) &&
	       a->has_query == b->has_query &&
	       !strcmp(a->content_type, b->content_type) &&
	       a->has_content_length == b->has_content_length &&
	       a->content_length == b->content_length &&
	       a->keep_alive == b->keep_alive &&
	       a->expect_continue == b->expect_continue &&
	       a->body_len == b->body_len &&
	       !memcmp(a->body, b->body, a->body_len + 1);
}

#define S(str) str, sizeof(str) - 1

/* ---- valid requests ---- */

static const struct {
	const char *s;
	size_t len;
} valid[] = {
	{ S("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n") },
	{ S("GET /machine-config HTTP/1.1\r\nHost: localhost\r\n"
	    "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n") },
	{ S("PUT /actions HTTP/1.1\r\nHost: localhost\r\n"
	    "User-Agent: curl/7.88.1\r\nAccept: application/json\r\n"
	    "Content-Type: application/json\r\nContent-Length: 33\r\n\r\n"
	    "{\"action_type\": \"InstanceStart\"}\n") },
	{ S("PATCH /vm HTTP/1.1\r\nHost: localhost\r\n"
	    "Content-Type: application/json\r\nContent-Length: 20\r\n\r\n"
	    "{\"state\": \"Paused\"}\n") },
	{ S("POST /x?a=1&b=%20 HTTP/1.1\r\ncontent-length:  3 \r\n\r\nabc") },
	{ S("DELETE /drives/rootfs HTTP/1.0\r\n\r\n") },
	{ S("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") },
	{ S("GET / HTTP/1.1\nHost: x\n\n") },
	{ S("\r\n\r\nGET / HTTP/1.1\r\n\r\n") },
	{ S("PUT /a HTTP/1.1\r\nExpect: 100-continue\r\n"
	    "Content-Length: 2\r\n\r\n{}") },
	{ S("PUT /a HTTP/1.1\r\nContent-Length: 4\r\n"
	    "Content-Length: 4\r\nConnection: close\r\n\r\n\0\1\2\3") },
	{ S("GET /? HTTP/1.1\r\nX-Empty:\r\nX-Obs: caf\xc3\xa9\r\n\r\n") },
};

TEST(get_root)
{
	struct http_request *r = &pa.req;
	size_t used;

	CHECK_EQ(feed(&pa, valid[0].s, valid[0].len, 0, &used), HTTP_DONE);
	CHECK_EQ(used, valid[0].len);
	CHECK_EQ(r->method, HTTP_GET);
	CHECK_EQ(r->version, 1);
	CHECK(!strcmp(r->path, "/"));
	CHECK(!r->has_query && !strcmp(r->query, ""));
	CHECK(!strcmp(r->content_type, ""));
	CHECK(!r->has_content_length);
	CHECK_EQ(r->body_len, 0);
	CHECK_EQ(r->body[0], 0);
	CHECK(r->keep_alive);
	CHECK(!r->expect_continue);
	CHECK(!strcmp(http_method_name(r->method), "GET"));
}

TEST(put_actions_json)
{
	static const char body[] = "{\"action_type\": \"InstanceStart\"}\n";
	struct http_request *r = &pa.req;
	size_t used;

	CHECK_EQ(feed(&pa, valid[2].s, valid[2].len, 0, &used), HTTP_DONE);
	CHECK_EQ(used, valid[2].len);
	CHECK_EQ(r->method, HTTP_PUT);
	CHECK(!strcmp(r->path, "/actions"));
	CHECK(!strcmp(r->content_type, "application/json"));
	CHECK(r->has_content_length);
	CHECK_EQ(r->content_length, sizeof(body) - 1);
	CHECK_EQ(r->body_len, sizeof(body) - 1);
	CHECK(!memcmp(r->body, body, sizeof(body))); /* NUL-terminated */
	CHECK(r->keep_alive);
}

TEST(patch_vm)
{
	struct http_request *r = &pa.req;
	size_t used;

	CHECK_EQ(feed(&pa, valid[3].s, valid[3].len, 0, &used), HTTP_DONE);
	CHECK_EQ(r->method, HTTP_PATCH);
	CHECK(!strcmp(r->path, "/vm"));
	CHECK(!strcmp((char *)r->body, "{\"state\": \"Paused\"}\n"));
	CHECK(!strcmp(http_method_name(HTTP_PATCH), "PATCH"));
}

TEST(post_query_and_ows)
{
	struct http_request *r = &pa.req;
	size_t used;

	CHECK_EQ(feed(&pa, valid[4].s, valid[4].len, 0, &used), HTTP_DONE);
	CHECK_EQ(r->method, HTTP_POST);
	CHECK(!strcmp(r->path, "/x"));
	CHECK(r->has_query);
	CHECK(!strcmp(r->query, "a=1&b=%20")); /* not decoded */
	CHECK_EQ(r->content_length, 3);
	CHECK(!strcmp((char *)r->body, "abc"));

	CHECK_EQ(feed(&pa, valid[11].s, valid[11].len, 0, &used), HTTP_DONE);
	CHECK(!strcmp(r->path, "/"));
	CHECK(r->has_query && !strcmp(r->query, ""));
}

TEST(http10_and_connection)
{
	static const struct {
		const char *s;
		size_t len;
		int version;
		bool keep_alive;
	} cases[] = {
		{ S("GET / HTTP/1.0\r\n\r\n"), 0, false },
		{ S("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0, true },
		{ S("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n"
		    "Connection: close\r\n\r\n"), 0, false },
		{ S("GET / HTTP/1.1\r\n\r\n"), 1, true },
		{ S("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), 1, false },
		{ S("GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n"), 1, false },
		{ S("GET / HTTP/1.1\r\nConnection: Upgrade ,\tclose \r\n\r\n"),
		  1, false },
		{ S("GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n"),
		  1, true },
		{ S("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n"), 1, true },
		{ S("GET / HTTP/1.1\r\nConnection:\r\n\r\n"), 1, true },
	};
	size_t i, used;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ(feed(&pa, cases[i].s, cases[i].len, 0, &used),
			 HTTP_DONE);
		CHECK_EQ(used, cases[i].len);
		CHECK_EQ(pa.req.version, cases[i].version);
		CHECK_EQ(pa.req.keep_alive, cases[i].keep_alive);
	}
}

TEST(delete_http10)
{
	size_t used;

	CHECK_EQ(feed(&pa, valid[5].s, valid[5].len, 0, &used), HTTP_DONE);
	CHECK_EQ(pa.req.method, HTTP_DELETE);
	CHECK_EQ(pa.req.version, 0);
	CHECK(!pa.req.keep_alive);
	CHECK(!strcmp(pa.req.path, "/drives/rootfs"));
}

TEST(bare_lf_and_leading_empty_lines)
{
	size_t used;

	CHECK_EQ(feed(&pa, valid[7].s, valid[7].len, 0, &used), HTTP_DONE);
	CHECK_EQ(used, valid[7].len);
	CHECK(!strcmp(pa.req.path, "/"));
	CHECK_EQ(feed(&pa, valid[8].s, valid[8].len, 0, &used), HTTP_DONE);
	CHECK_EQ(used, valid[8].len);
	/* empty lines alone: still waiting for a request */
	CHECK_EQ(feed(&pa, S("\r\n\n\r\n"), 0, &used), HTTP_INCOMPLETE);
	CHECK_EQ(used, 5);
}

TEST(body_binary_and_duplicate_cl)
{
	size_t used;

	CHECK_EQ(feed(&pa, valid[10].s, valid[10].len, 0, &used), HTTP_DONE);
	CHECK_EQ(pa.req.body_len, 4);
	CHECK(!memcmp(pa.req.body, "\0\1\2\3", 5));
	CHECK(!pa.req.keep_alive);
}

/* every valid request gives the same result however it is split */
TEST(every_split)
{
	size_t i, k, used, whole;
	int step;

	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		CHECK_EQ(feed(&pa, valid[i].s, valid[i].len, 0, &whole),
			 HTTP_DONE);
		CHECK_EQ(whole, valid[i].len);
		for (k = 0; k <= valid[i].len; k++) {
			CHECK_EQ(feed_split(&pb, valid[i].s, valid[i].len, k,
					    &used), HTTP_DONE);
			CHECK_EQ(used, whole);
			CHECK(same_req(&pa.req, &pb.req));
		}
		CHECK_EQ(feed(&pb, valid[i].s, valid[i].len, 1, &used),
			 HTTP_DONE);
		CHECK_EQ(used, whole);
		CHECK(same_req(&pa.req, &pb.req));
		rng_state = 0x1234567 + i;
		for (step = 0; step < 50; step++) {
			CHECK_EQ(feed(&pb, valid[i].s, valid[i].len,
				      RANDOM_CHUNKS, &used), HTTP_DONE);
			CHECK_EQ(used, whole);
			CHECK(same_req(&pa.req, &pb.req));
		}
	}
}

/* three requests back to back, fed whole or a byte at a time */
TEST(pipelined)
{
	static const char stream[] =
		"PUT /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
		"GET /b HTTP/1.1\r\n\r\n"
		"PATCH /c HTTP/1.1\r\nContent-Length: 1\r\n"
		"Connection: close\r\n\r\nx"
		"GET /leftover";
	static const char *const paths[] = { "/a", "/b", "/c" };
	size_t off = 0, used, i, step;
	int r;

	for (step = 0; step < 3; step++) {
		off = 0;
		http_parser_reset(&pa);
		for (i = 0; i < 3; i++) {
			/* step 0: all that is left; 1: a byte; 2: 5 bytes */
			do {
				size_t n = sizeof(stream) - 1 - off;

				if (step == 1)
					n = 1;
				else if (step == 2 && n > 5)
					n = 5;
				r = http_parse(&pa, (const uint8_t *)stream + off,
					       n, &used);
				CHECK(used <= n);
				off += used;
			} while (r == HTTP_INCOMPLETE);
			CHECK_EQ(r, HTTP_DONE);
			CHECK(!strcmp(pa.req.path, paths[i]));
			CHECK_EQ(pa.req.keep_alive, i < 2);
			http_parser_reset(&pa);
		}
		CHECK(!strncmp(stream + off, "GET /leftover", 13));
		CHECK_EQ(http_parse(&pa, (const uint8_t *)stream + off,
				    sizeof(stream) - 1 - off, &used),
			 HTTP_INCOMPLETE);
		CHECK_EQ(used, 13);
	}
}

/* after a result, the parser repeats it until reset */
TEST(sticky_result)
{
	size_t used = 99;

	CHECK_EQ(feed(&pa, S("GET / HTTP/1.1\r\n\r\nGET"), 0, &used),
		 HTTP_DONE);
	CHECK_EQ(used, 18);
	CHECK_EQ(http_parse(&pa, (const uint8_t *)"GET", 3, &used), HTTP_DONE);
	CHECK_EQ(used, 0);
	CHECK_EQ(feed(&pa, S("BREW / HTTP/1.1\r\n\r\n"), 0, &used), 501);
	CHECK_EQ(http_parse(&pa, (const uint8_t *)"GET", 3, &used), 501);
	CHECK_EQ(used, 0);
	http_parser_reset(&pa);
	CHECK_EQ(http_parse(&pa, (const uint8_t *)"GET / HTTP/1.1\n\n", 16,
			    &used), HTTP_DONE);
	CHECK_EQ(used, 16);
	/* nothing to parse is not an error */
	http_parser_reset(&pa);
	CHECK_EQ(http_parse(&pa, NULL, 0, &used), HTTP_INCOMPLETE);
	CHECK_EQ(used, 0);
}

TEST(reset_clears_previous_request)
{
	size_t used;

	CHECK_EQ(feed(&pa, valid[2].s, valid[2].len, 0, &used), HTTP_DONE);
	CHECK_EQ(feed(&pa, valid[0].s, valid[0].len, 0, &used), HTTP_DONE);
	CHECK(!strcmp(pa.req.content_type, ""));
	CHECK(!pa.req.has_content_length);
	CHECK_EQ(pa.req.body_len, 0);
	CHECK_EQ(pa.req.body[0], 0);
	/* a zeroed parser is a reset one */
	memset(&pb, 0, sizeof(pb));
	CHECK_EQ(http_parse(&pb, (const uint8_t *)valid[0].s, valid[0].len,
			    &used), HTTP_DONE);
	CHECK(same_req(&pa.req, &pb.req));
}

TEST(expect_continue)
{
	static const char head[] = "PUT /a HTTP/1.1\r\nExpect: 100-Continue\r\n"
				   "Content-Length: 2\r\n\r\n";
	size_t used;

	http_parser_reset(&pa);
	CHECK(!http_want_continue(&pa));
	CHECK_EQ(http_parse(&pa, (const uint8_t *)head, 10, &used),
		 HTTP_INCOMPLETE);
	CHECK(!http_want_continue(&pa)); /* headers not done yet */
	CHECK_EQ(http_parse(&pa, (const uint8_t *)head + 10,
			    sizeof(head) - 11, &used), HTTP_INCOMPLETE);
	CHECK(pa.req.expect_continue);
	CHECK(http_want_continue(&pa));
	CHECK(!http_want_continue(&pa)); /* once */
	CHECK_EQ(http_parse(&pa, (const uint8_t *)"{", 1, &used),
		 HTTP_INCOMPLETE);
	CHECK(!http_want_continue(&pa));
	CHECK_EQ(http_parse(&pa, (const uint8_t *)"}", 1, &used), HTTP_DONE);
	CHECK(!strcmp((char *)pa.req.body, "{}"));
	CHECK(!http_want_continue(&pa));

	/* body already here, or none to wait for: nothing to say */
	CHECK_EQ(feed(&pa, valid[9].s, valid[9].len, 0, &used), HTTP_DONE);
	CHECK(pa.req.expect_continue);
	CHECK(!http_want_continue(&pa));
	CHECK_EQ(feed(&pa, S("PUT /a HTTP/1.1\r\nExpect: 100-continue\r\n"
			     "\r\n"), 0, &used), HTTP_DONE);
	CHECK(!http_want_continue(&pa));

	/* HTTP/1.0: ignored, whatever it says */
	CHECK_EQ(feed(&pa, S("PUT /a HTTP/1.0\r\nExpect: 100-continue\r\n"
			     "Content-Length: 2\r\n\r\n"), 0, &used),
		 HTTP_INCOMPLETE);
	CHECK(!pa.req.expect_continue);
	CHECK(!http_want_continue(&pa));
	CHECK_EQ(feed(&pa, S("GET / HTTP/1.0\r\nExpect: magic\r\n\r\n"), 0,
		      &used), HTTP_DONE);

	CHECK_EQ(feed(&pa, S("PUT /a HTTP/1.1\r\nExpect: magic\r\n\r\n"), 0,
		      &used), 417);
	CHECK(!strcmp(HTTP_CONTINUE_RESPONSE, "HTTP/1.1 100 Continue\r\n\r\n"));
}

/* ---- limits, at the edge and one past it ---- */

static size_t put_bytes(uint8_t *at, const char *s)
{
	memcpy(at, s, strlen(s));
	return strlen(s);
}

TEST(limit_path)
{
	size_t n, used;

	/* 255 bytes of target is the most */
	n = put_bytes(big, "DELETE /");
	memset(big + n, 'a', 254);
	n += 254;
	n += put_bytes(big + n, " HTTP/1.1\r\n\r\n");
	CHECK_EQ(feed(&pa, big, n, 0, &used), HTTP_DONE);
	CHECK_EQ(strlen(pa.req.path), 255);
	CHECK_EQ(feed(&pb, big, n, 1, &used), HTTP_DONE);
	CHECK(same_req(&pa.req, &pb.req));

	/* with a query, the whole target counts */
	big[100] = '?';
	CHECK_EQ(feed(&pa, big, n, 0, &used), HTTP_DONE);
	CHECK_EQ(strlen(pa.req.path) + 1 + strlen(pa.req.query), 255);

	n = put_bytes(big, "GET /");
	memset(big + n, 'a', 255);
	n += 255;
	n += put_bytes(big + n, " HTTP/1.1\r\n\r\n");
	CHECK_EQ(feed(&pa, big, n, 0, &used), 414);
	CHECK_EQ(feed(&pa, big, n, 1, &used), 414);

	/* an absurd one fails early, without waiting for the line's end */
	n = put_bytes(big, "GET /");
	memset(big + n, 'b', 70000);
	n += 70000;
	CHECK_EQ(feed(&pa, big, n, 0, &used), 414);
	CHECK(used <= HTTP_MAX_PATH + 8);
	CHECK_EQ(feed(&pa, big, n, 7, &used), 414);
}

TEST(limit_header_section)
{
	size_t n, used, pad;

	/* exactly HTTP_MAX_HEADER bytes, final CRLF included */
	n = put_bytes(big, "GET / HTTP/1.1\r\nX-Pad: ");
	pad = HTTP_MAX_HEADER - n - 4;
	memset(big + n, 'p', pad);
	n += pad;
	n += put_bytes(big + n, "\r\n\r\n");
	CHECK_EQ(n, HTTP_MAX_HEADER);
	CHECK_EQ(feed(&pa, big, n, 0, &used), HTTP_DONE);
	CHECK_EQ(used, n);
	CHECK_EQ(feed(&pa, big, n, RANDOM_CHUNKS, &used), HTTP_DONE);

	/* one more */
	n = put_bytes(big, "GET / HTTP/1.1\r\nX-Pad: ");
	memset(big + n, 'p', pad + 1);
	n += pad + 1;
	n += put_bytes(big + n, "\r\n\r\n");
	CHECK_EQ(feed(&pa, big, n, 0, &used), 431);
	CHECK_EQ(used, HTTP_MAX_HEADER + 1);

	/* one header line longer than the whole section may be */
	n = put_bytes(big, "GET / HTTP/1.1\r\nX-Long: ");
	memset(big + n, 'l', 3 * HTTP_MAX_HEADER);
	n += 3 * HTTP_MAX_HEADER;
	CHECK_EQ(feed(&pa, big, n, 0, &used), 431);
	CHECK_EQ(feed(&pa, big, n, 1, &used), 431);

	/* empty lines before the request count too */
	memset(big, '\n', 2 * HTTP_MAX_HEADER);
	CHECK_EQ(feed(&pa, big, 2 * HTTP_MAX_HEADER, 0, &used), 431);
}

TEST(limit_header_count)
{
	size_t n, used;
	int i;

	n = put_bytes(big, "GET / HTTP/1.1\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS; i++)
		n += put_bytes(big + n, "A: b\r\n");
	n += put_bytes(big + n, "\r\n");
	CHECK_EQ(feed(&pa, big, n, 0, &used), HTTP_DONE);

	n -= 2;
	n += put_bytes(big + n, "A: b\r\n\r\n");
	CHECK_EQ(feed(&pa, big, n, 0, &used), 431);
	CHECK_EQ(feed(&pa, big, n, 3, &used), 431);
}

TEST(limit_body)
{
	size_t n, used, head;

	n = put_bytes(big, "PUT /big HTTP/1.1\r\nContent-Length: 65536\r\n\r\n");
	head = n;
	memset(big + n, 'x', HTTP_MAX_BODY);
	big[n + 1000] = 0;
	n += HTTP_MAX_BODY;
	CHECK_EQ(feed(&pa, big, n + 5, 0, &used), HTTP_DONE);
	CHECK_EQ(used, n);
	CHECK_EQ(pa.req.body_len, HTTP_MAX_BODY);
	CHECK_EQ(pa.req.body[HTTP_MAX_BODY], 0);
	CHECK(!memcmp(pa.req.body, big + head, HTTP_MAX_BODY));
	CHECK_EQ(feed(&pb, big, n, 4096, &used), HTTP_DONE);
	CHECK(same_req(&pa.req, &pb.req));

	/* one byte too many: refused before any of the body is read */
	n = put_bytes(big, "PUT /big HTTP/1.1\r\nContent-Length: 65537\r\n\r\n");
	CHECK_EQ(feed(&pa, big, n + 65537, 0, &used), 413);
	CHECK(used < n);
}

/* ---- malformed requests ---- */

static const struct {
	const char *s;
	size_t len;
	int status;
} bad[] = {
	/* request line */
	{ S("GET /\r\n\r\n"), 400 },                   /* no version */
	{ S("GET\r\n\r\n"), 400 },
	{ S("GET \r\n\r\n"), 400 },
	{ S("GET / \r\n\r\n"), 400 },
	{ S("GET  / HTTP/1.1\r\n\r\n"), 400 },         /* extra spaces */
	{ S("GET /  HTTP/1.1\r\n\r\n"), 400 },
	{ S(" GET / HTTP/1.1\r\n\r\n"), 400 },
	{ S("GET / HTTP/1.1 \r\n\r\n"), 400 },         /* trailing junk */
	{ S("GET / HTTP/1.1 x\r\n\r\n"), 400 },
	{ S("GET / HTTP/1.1x\r\n\r\n"), 400 },
	{ S("GET\t/ HTTP/1.1\r\n\r\n"), 400 },         /* tabs */
	{ S("GET /\tHTTP/1.1\r\n\r\n"), 400 },
	{ S("GET /a b HTTP/1.1\r\n\r\n"), 400 },
	{ S("G\0T / HTTP/1.1\r\n\r\n"), 400 },         /* NUL bytes */
	{ S("GET /\0 HTTP/1.1\r\n\r\n"), 400 },
	{ S("GET /\x01 HTTP/1.1\r\n\r\n"), 400 },      /* controls in path */
	{ S("GET /\x1b[0m HTTP/1.1\r\n\r\n"), 400 },
	{ S("GET /\x7f HTTP/1.1\r\n\r\n"), 400 },
	{ S("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n"), 400 }, /* not ASCII */
	{ S("GET /#top HTTP/1.1\r\n\r\n"), 400 },
	{ S("GET * HTTP/1.1\r\n\r\n"), 400 },          /* not origin-form */
	{ S("GET http://localhost/ HTTP/1.1\r\n\r\n"), 400 },
	{ S("GET vm HTTP/1.1\r\n\r\n"), 400 },
	{ S("G(T / HTTP/1.1\r\n\r\n"), 400 },          /* not a token */
	{ S("\r\r\nGET / HTTP/1.1\r\n\r\n"), 400 },    /* bare CR */
	{ S("GET / HTTP/1.1\r\r\n\r\n"), 400 },
	{ S("GET / HTTP/1.1\rHost: x\r\n\r\n"), 400 },
	{ S("GET /\r HTTP/1.1\r\n\r\n"), 400 },
	{ S("GET\r / HTTP/1.1\r\n\r\n"), 400 },
	{ S("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), 400 }, /* TLS */
	/* version */
	{ S("GET / HTTP/2.0\r\n\r\n"), 505 },
	{ S("GET / HTTP/1.2\r\n\r\n"), 505 },
	{ S("GET / HTTP/0.9\r\n\r\n"), 505 },
	{ S("GET / HTTP/9.9\r\n\r\n"), 505 },
	{ S("GET / HTTP/11\r\n\r\n"), 400 },
	{ S("GET / HTTP/1.10\r\n\r\n"), 400 },
	{ S("GET / HTTP/1\r\n\r\n"), 400 },
	{ S("GET / http/1.1\r\n\r\n"), 400 },
	{ S("GET / HTTP/1,1\r\n\r\n"), 400 },
	{ S("GET / HTTP/a.b\r\n\r\n"), 400 },
	/* method */
	{ S("get / HTTP/1.1\r\n\r\n"), 501 },          /* case-sensitive */
	{ S("Get / HTTP/1.1\r\n\r\n"), 501 },
	{ S("HEAD / HTTP/1.1\r\n\r\n"), 501 },
	{ S("OPTIONS * HTTP/1.1\r\n\r\n"), 501 },
	{ S("CONNECT localhost:80 HTTP/1.1\r\n\r\n"), 501 },
	{ S("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 501 }, /* h2 preface */
	{ S("GETT / HTTP/1.1\r\n\r\n"), 501 },
	/* header lines */
	{ S("GET / HTTP/1.1\r\nHost localhost\r\n\r\n"), 400 }, /* no colon */
	{ S("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400 }, /* space before : */
	{ S("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"), 400 },
	{ S("GET / HTTP/1.1\r\n: x\r\n\r\n"), 400 },      /* empty name */
	{ S("GET / HTTP/1.1\r\n Host: x\r\n\r\n"), 400 },
	{ S("GET / HTTP/1.1\r\nX-A: b\r\n  c\r\n\r\n"), 400 }, /* obs-fold */
	{ S("GET / HTTP/1.1\r\nX-A: b\r\n\tc\r\n\r\n"), 400 },
	{ S("GET / HTTP/1.1\r\nX-A: b\0c\r\n\r\n"), 400 }, /* NUL in value */
	{ S("GET / HTTP/1.1\r\nX-A: b\x7f\r\n\r\n"), 400 },
	{ S("GET / HTTP/1.1\r\nX-A: \x01\r\n\r\n"), 400 },
	{ S("GET / HTTP/1.1\r\nX-A: b\rc\r\n\r\n"), 400 },
	{ S("GET / HTTP/1.1\r\nX(A): b\r\n\r\n"), 400 },
	{ S("GET / HTTP/1.1\r\nX\x80: b\r\n\r\n"), 400 },
	{ S("GET / HTTP/1.1\r\n\x01\r\n\r\n"), 400 },
	/* Content-Length */
	{ S("PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
	  400 },                                        /* duplicates differ */
	{ S("PUT / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 02\r\n"
	    "Content-Length: 3\r\n\r\nabc"), 400 },
	{ S("PUT / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx"), 400 },
	{ S("PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\nx"), 400 },
	{ S("PUT / HTTP/1.1\r\nContent-Length: 1 1\r\n\r\nx"), 400 },
	{ S("PUT / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\nx"), 400 },
	{ S("PUT / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\nx"), 400 },
	{ S("PUT / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\nx"), 400 },
	{ S("PUT / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx"), 400 },
	{ S("PUT / HTTP/1.1\r\nContent-Length:\r\n\r\n"), 400 },
	{ S("PUT / HTTP/1.1\r\nContent-Length : 1\r\n\r\nx"), 400 },
	{ S("PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"),
	  400 },                                        /* overflow */
	{ S("PUT / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n"),
	  400 },                                        /* 2^64 */
	{ S("PUT / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n"),
	  413 },
	{ S("PUT / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n"), 413 },
	{ S("PUT / HTTP/1.1\r\nContent-Length: 4294967296\r\n\r\n"), 413 },
	/* Transfer-Encoding: not implemented, with or without a length */
	{ S("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "2\r\n{}\r\n0\r\n\r\n"), 501 },
	{ S("PUT / HTTP/1.1\r\nContent-Length: 2\r\n"
	    "transfer-encoding: chunked\r\n\r\n{}"), 501 },
	{ S("PUT / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n"), 501 },
	/* other headers that matter */
	{ S("PUT / HTTP/1.1\r\nContent-Type: a\r\nContent-Type: a\r\n\r\n"),
	  400 },
	{ S("PUT / HTTP/1.1\r\nExpect: 100-continue, x\r\n\r\n"), 417 },
	{ S("PUT / HTTP/1.1\r\nExpect:\r\n\r\n"), 417 },
	/* the first error wins */
	{ S("BREW /\x01 HTTP/1.1\r\n\r\n"), 501 },
	{ S("GET / HTTP/3.0\r\nHost : x\r\n\r\n"), 505 },
};

TEST(malformed_table)
{
	size_t i, k, used, whole;
	int r;

	CHECK(sizeof(bad) / sizeof(bad[0]) >= 40);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = feed(&pa, bad[i].s, bad[i].len, 0, &whole);
		if (r != bad[i].status) {
			snprintf(unit_why, sizeof(unit_why),
				 "bad[%zu] (%.40s): %d, not %d", i, bad[i].s,
				 r, bad[i].status);
			*unit_failed = 1;
			return;
		}
		CHECK(whole <= bad[i].len);
		/* the same status at the same byte, however it arrives */
		CHECK_EQ(feed(&pb, bad[i].s, bad[i].len, 1, &used), r);
		CHECK_EQ(used, whole);
		for (k = 0; k <= bad[i].len; k++) {
			CHECK_EQ(feed_split(&pb, bad[i].s, bad[i].len, k,
					    &used), r);
			CHECK_EQ(used, whole);
		}
	}
}

TEST(long_lines_malformed)
{
	size_t n, used;

	/* a request line too long for its version, not for its target */
	n = put_bytes(big, "GET / HTTP/1.1");
	memset(big + n, 'x', 1000);
	n += 1000;
	n += put_bytes(big + n, "\r\n\r\n");
	CHECK_EQ(feed(&pa, big, n, 0, &used), 400);
	CHECK_EQ(feed(&pa, big, n, 1, &used), 400);

	/* a method that never ends: longer than any known, at its 7th byte */
	memset(big, 'G', 5000);
	CHECK_EQ(feed(&pa, big, 5000, 0, &used), 501);
	CHECK_EQ(used, 7);

	/* not HTTP at all: refused at the first byte, no waiting for a LF */
	CHECK_EQ(feed(&pa, S("\x16\x03\x01\x02\x00"), 0, &used), 400);
	CHECK_EQ(used, 1);

	/* a Content-Type too long to keep */
	n = put_bytes(big, "PUT / HTTP/1.1\r\nContent-Type: ");
	memset(big + n, 't', HTTP_MAX_CTYPE);
	n += HTTP_MAX_CTYPE;
	n += put_bytes(big + n, "\r\n\r\n");
	CHECK_EQ(feed(&pa, big, n, 0, &used), 431);
	/* one byte shorter fits */
	memmove(big + n - 5, big + n - 4, 4);
	CHECK_EQ(feed(&pa, big, n - 1, 0, &used), HTTP_DONE);
	CHECK_EQ(strlen(pa.req.content_type), HTTP_MAX_CTYPE - 1);
}

/* random garbage: never past its input, and the same however split */
TEST(garbage_consistent)
{
	size_t i, len, used1, used2;
	int r1, r2, round;

	rng_state = 42;
	for (round = 0; round < 2000; round++) {
		len = rng() % 200;
		/* mostly request-ish bytes, so it gets past the first line */
		i = put_bytes(big, round & 1 ? "PUT /a HTTP/1.1\r\n" : "");
		for (; i < len; i++) {
			static const char alphabet[] =
				"GET PUT / HTTP/1.1\r\n:Content-Length: 3\0\x7f";

			big[i] = round & 2 ? (uint8_t)rng() :
				 (uint8_t)alphabet[rng() % (sizeof(alphabet) - 1)];
		}
		len = i;
		r1 = feed(&pa, big, len, 0, &used1);
		r2 = feed(&pb, big, len, RANDOM_CHUNKS, &used2);
		CHECK(r1 >= 0 && r2 >= 0);
		CHECK_EQ(r1, r2);
		CHECK_EQ(used1, used2);
		if (r1 == HTTP_DONE) {
			CHECK(same_req(&pa.req, &pb.req));
			CHECK(pa.req.path[0] == '/');
			CHECK(pa.req.method != HTTP_METHOD_NONE);
		}
	}
}

/* ---- responses ---- */

static bool is(const char *buf, int n, const char *want)
{
	return n == (int)strlen(want) && !memcmp(buf, want, n);
}

TEST(response_exact_bytes)
{
	char buf[512];
	int n;

	n = http_format_response(buf, sizeof(buf), 200, "application/json",
				 "{\"a\":1}", 7, false);
	CHECK(is(buf, n, "HTTP/1.1 200 OK\r\n"
		 "Content-Type: application/json\r\n"
		 "Content-Length: 7\r\n\r\n{\"a\":1}"));

	n = http_format_response(buf, sizeof(buf), 400, "application/json",
				 "{}", 2, true);
	CHECK(is(buf, n, "HTTP/1.1 400 Bad Request\r\n"
		 "Content-Type: application/json\r\n"
		 "Content-Length: 2\r\nConnection: close\r\n\r\n{}"));

	n = http_format_response(buf, sizeof(buf), 404, NULL, NULL, 0, false);
	CHECK(is(buf, n, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));

	n = http_format_response(buf, sizeof(buf), 599, NULL, "x", 1, false);
	CHECK(is(buf, n, "HTTP/1.1 599 Unknown\r\nContent-Length: 1\r\n\r\nx"));
}

TEST(response_bodyless)
{
	char buf[256];
	int n;

	n = http_format_response(buf, sizeof(buf), 204, NULL, NULL, 0, false);
	CHECK(is(buf, n, "HTTP/1.1 204 No Content\r\n\r\n"));
	n = http_format_response(buf, sizeof(buf), 204, "application/json",
				 NULL, 0, true);
	CHECK(is(buf, n, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"));
	n = http_format_response(buf, sizeof(buf), 100, NULL, NULL, 0, false);
	CHECK(is(buf, n, HTTP_CONTINUE_RESPONSE));
	CHECK_EQ(http_format_response(buf, sizeof(buf), 204, NULL, "x", 1,
				      false), -EINVAL);
}

TEST(response_enospc_and_einval)
{
	static const char want[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
	char buf[sizeof(want)];
	size_t cap;
	int n;

	/* exactly enough room (no NUL is written) */
	memset(buf, '#', sizeof(buf));
	n = http_format_response(buf, sizeof(want) - 1, 200, NULL, "abc", 3,
				 false);
	CHECK(is(buf, n, want));
	CHECK_EQ(buf[sizeof(want) - 1], '#');
	for (cap = 0; cap < sizeof(want) - 1; cap++) {
		memset(buf, '#', sizeof(buf));
		CHECK_EQ(http_format_response(buf, cap, 200, NULL, "abc", 3,
					      false), -ENOSPC);
		/* and nothing written past cap */
		CHECK_EQ(buf[cap], '#');
	}
	CHECK_EQ(http_format_response(NULL, 0, 200, NULL, NULL, 0, false),
		 -ENOSPC);
	CHECK_EQ(http_format_response(buf, sizeof(buf), 200, NULL, "abc",
				      (size_t)-1, false), -ENOSPC);

	CHECK_EQ(http_format_response(buf, sizeof(buf), 99, NULL, NULL, 0,
				      false), -EINVAL);
	CHECK_EQ(http_format_response(buf, sizeof(buf), 1000, NULL, NULL, 0,
				      false), -EINVAL);
	CHECK_EQ(http_format_response(buf, sizeof(buf), 200,
				      "text/plain\r\nSet-Cookie: x", NULL, 0,
				      false), -EINVAL);
}

TEST(reasons)
{
	CHECK(!strcmp(http_reason(200), "OK"));
	CHECK(!strcmp(http_reason(204), "No Content"));
	CHECK(!strcmp(http_reason(400), "Bad Request"));
	CHECK(!strcmp(http_reason(405), "Method Not Allowed"));
	CHECK(!strcmp(http_reason(413), "Content Too Large"));
	CHECK(!strcmp(http_reason(414), "URI Too Long"));
	CHECK(!strcmp(http_reason(417), "Expectation Failed"));
	CHECK(!strcmp(http_reason(431), "Request Header Fields Too Large"));
	CHECK(!strcmp(http_reason(501), "Not Implemented"));
	CHECK(!strcmp(http_reason(505), "HTTP Version Not Supported"));
	CHECK(!strcmp(http_reason(-1), "Unknown"));
	CHECK(!strcmp(http_method_name(HTTP_METHOD_NONE), "?"));
	CHECK(!strcmp(http_method_name(HTTP_DELETE), "DELETE"));
}

UNIT_MAIN("http",
	  T(get_root),
	  T(put_actions_json),
	  T(patch_vm),
	  T(post_query_and_ows),
	  T(http10_and_connection),
	  T(delete_http10),
	  T(bare_lf_and_leading_empty_lines),
	  T(body_binary_and_duplicate_cl),
	  T(every_split),
	  T(pipelined),
	  T(sticky_result),
	  T(reset_clears_previous_request),
	  T(expect_continue),
	  T(limit_path),
	  T(limit_header_section),
	  T(limit_header_count),
	  T(limit_body),
	  T(malformed_table),
	  T(long_lines_malformed),
	  T(garbage_consistent),
	  T(response_exact_bytes),
	  T(response_bodyless),
	  T(response_enospc_and_einval),
	  T(reasons))
