// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for vmm/http.c. The first 4 bytes seed how the rest
 * is cut into chunks; the rest is a connection's byte stream, parsed
 * request after request (pipelining) twice: in one piece, and chunk by
 * chunk with each chunk in its own exactly-sized allocation, so ASan sees
 * any read past what the parser was given. Checked: consumed <= len,
 * INCOMPLETE takes everything, DONE only with a known method, a path
 * starting with '/', body_len == Content-Length <= HTTP_MAX_BODY; errors
 * are only the documented statuses; both runs agree on every result,
 * where it came and what was parsed. Responses are formatted too.
 *
 * -DFUZZ_STANDALONE adds a main() that runs the files named on the
 * command line, for compilers without libFuzzer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 4096

struct event {
	int result;
	size_t end;          /* stream offset after the request or error */
	uint64_t hash;       /* of the request, for DONE */
};

static struct http_parser pa, pb;
static struct event events[MAX_EVENTS];
static uint32_t rng_state;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/* everything the parser reports, body included */
static uint64_t req_hash(const struct http_request *r)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint64_t flags = r->method | r->version << 4 | r->has_query << 8 |
			 r->has_content_length << 9 | r->keep_alive << 10 |
			 r->expect_continue << 11;

	h = fnv(h, &flags, sizeof(flags));
	h = fnv(h, r->path, strlen(r->path) + 1);
	h = fnv(h, r->query, strlen(r->query) + 1);
	h = fnv(h, r->content_type, strlen(r->content_type) + 1);
	h = fnv(h, &r->content_length, sizeof(r->content_length));
	h = fnv(h, &r->body_len, sizeof(r->body_len));
	return fnv(h, r->body, r->body_len + 1);
}

static void check_str(const char *s, size_t cap, bool target)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		abort(); /* not terminated */
	while (n--) {
		uint8_t c = s[n];

		if (target && (c < 0x21 || c > 0x7e || c == '#'))
			abort();
		if (!target && (c < 0x20 || c == 0x7f) && c != '\t')
			abort();
	}
}

static void check_request(const struct http_request *r)
{
	if (r->method < HTTP_GET || r->method > HTTP_DELETE)
		abort();
	if (r->version != 0 && r->version != 1)
		abort();
	if (r->path[0] != '/')
		abort();
	check_str(r->path, sizeof(r->path), true);
	check_str(r->query, sizeof(r->query), true);
	if (strlen(r->path) + r->has_query + strlen(r->query) >=
	    HTTP_MAX_PATH)
		abort();
	if (!r->has_query && r->query[0])
		abort();
	check_str(r->content_type, sizeof(r->content_type), false);
	if (r->body_len != r->content_length ||
	    r->content_length > HTTP_MAX_BODY || r->body[r->body_len])
		abort();
	if (!r->has_content_length && r->content_length)
		abort();
	if (r->expect_continue && r->version != 1)
		abort();
}

static void check_status(int r)
{
	switch (r) {
	case HTTP_INCOMPLETE: case HTTP_DONE:
	case 400: case 413: case 414: case 417: case 431: case 501: case 505:
		return;
	default:
		abort();
	}
}

/* one call, on a copy of exactly n bytes */
static int parse_exact(struct http_parser *p, const uint8_t *data, size_t n,
		       size_t *used)
{
	uint8_t *copy = malloc(n ? n : 1);
	int r;

	if (!copy)
		abort();
	memcpy(copy, data, n);
	*used = (size_t)-1;
	r = http_parse(p, n ? copy : NULL, n, used);
	free(copy);
	check_status(r);
	if (*used > n || (r == HTTP_INCOMPLETE && *used != n))
		abort();
	if (r == HTTP_DONE)
		check_request(&p->req);
	return r;
}

/* the whole stream at once; returns the number of events */
static size_t run_whole(const uint8_t *d, size_t len)
{
	size_t off = 0, used, nev = 0;
	int r;

	http_parser_reset(&pa);
	for (;;) {
		r = parse_exact(&pa, d + off, len - off, &used);
		off += used;
		if (r == HTTP_INCOMPLETE || nev == MAX_EVENTS)
			break;
		events[nev].result = r;
		events[nev].end = off;
		events[nev].hash = r == HTTP_DONE ? req_hash(&pa.req) : 0;
		nev++;
		if (r != HTTP_DONE)
			break;
		/* the same again until reset */
		if (http_parse(&pa, d + off, len - off, &used) != r || used)
			abort();
		http_parser_reset(&pa);
		if (off == len)
			break;
	}
	return nev;
}

/* chunk by chunk; must see the same events */
static void run_chunked(const uint8_t *d, size_t len, size_t nev)
{
	size_t off = 0, pos, n, used, ev = 0, max;
	uint8_t *chunk;
	int r;

	http_parser_reset(&pb);
	max = 1 + rng() % 64;
	while (off < len) {
		n = 1 + rng() % max;
		if (n > len - off)
			n = len - off;
		chunk = malloc(n);
		if (!chunk)
			abort();
		memcpy(chunk, d + off, n);
		for (pos = 0; pos < n;) {
			r = parse_exact(&pb, chunk + pos, n - pos, &used);
			pos += used;
			(void)http_want_continue(&pb);
			if (r == HTTP_INCOMPLETE)
				break;
			if (ev >= nev || events[ev].result != r ||
			    events[ev].end != off + pos)
				abort();
			if (r == HTTP_DONE && events[ev].hash != req_hash(&pb.req))
				abort();
			ev++;
			if (r != HTTP_DONE || ev == MAX_EVENTS) {
				free(chunk);
				return;
			}
			http_parser_reset(&pb);
		}
		free(chunk);
		off += n;
	}
	if (ev != nev)
		abort();
}

/* the response writer, with what the stream gives it */
static void fuzz_response(const uint8_t *d, size_t len, uint32_t seed)
{
	static char buf[HTTP_MAX_BODY + 512];
	static const char *const types[] = { NULL, "application/json", "" };
	size_t cap = seed % sizeof(buf), blen = len > 1024 ? 1024 : len;
	int status = 100 + (int)(seed >> 8) % 500;
	bool bodyless = status < 200 || status == 204 || status == 304;
	char *out = malloc(cap ? cap : 1);
	int n;

	if (!out)
		abort();
	if (bodyless)
		blen = 0;
	n = http_format_response(out, cap, status, types[seed % 3],
				 (const char *)d, blen, seed & 1);
	if (n >= 0) {
		if ((size_t)n > cap || (size_t)n < blen ||
		    memcmp(out, "HTTP/1.1 ", 9) ||
		    (blen && memcmp(out + n - blen, d, blen)))
			abort();
	} else if (n != -ENOSPC) {
		abort();
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed = 0;
	size_t nev;

	if (size >= 4) {
		memcpy(&seed, data, 4);
		data += 4;
		size -= 4;
	}
	rng_state = seed | 1;
	nev = run_whole(data, size);
	run_chunked(data, size, nev);
	fuzz_response(data, size, seed);
	return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
	static uint8_t buf[1 << 20];
	int i;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (!f) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("%d inputs ok\n", argc - 1);
	return 0;
}
#endif
