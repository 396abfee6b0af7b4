// SPDX-License-Identifier: MIT
/*
 * The byte-level pieces of vmm run --bundle: the process channel's frames
 * (vmm/chan.c) under every split, the initramfs writer (vmm/cpio.c) read
 * back field by field, and SHA-256 (vmm/sha256.c) against FIPS 180-4's
 * examples.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../../vmm/chan.h"
#include "../../vmm/cpio.h"
#include "../../vmm/sha256.h"
#include "unit.h"

struct seen {
	int n;
	int type[8];
	size_t len[8];
	uint8_t first[8];
};

static void record(void *arg, int type, const uint8_t *p, size_t len)
{
	struct seen *s = arg;

	if (s->n < 8) {
		s->type[s->n] = type;
		s->len[s->n] = len;
		s->first[s->n] = len ? p[0] : 0;
	}
	s->n++;
}

TEST(frames_any_split)
{
	static uint8_t big[CHAN_MAX_PAYLOAD];
	uint8_t stream[3 * CHAN_HDR + CHAN_MAX_PAYLOAD + 8];
	size_t len = 0;

	memset(big, 'b', sizeof(big));
	len += chan_frame(stream + len, CHAN_STDOUT, "hi", 2);
	len += chan_frame(stream + len, CHAN_STDIN_EOF, NULL, 0);
	len += chan_frame(stream + len, CHAN_STDERR, big, sizeof(big));
	CHECK_EQ(len, 3 * CHAN_HDR + 2 + CHAN_MAX_PAYLOAD);
	for (size_t cut = 0; cut <= len; cut += cut < 16 ? 1 : 97) {
		struct chan_rx rx = { .have = 0 };
		struct seen s = { 0 };

		CHECK_EQ(chan_feed(&rx, stream, cut, record, &s), 0);
		CHECK_EQ(chan_feed(&rx, stream + cut, len - cut, record, &s), 0);
		CHECK_EQ(s.n, 3);
		CHECK(s.type[0] == CHAN_STDOUT && s.len[0] == 2 && s.first[0] == 'h');
		CHECK(s.type[1] == CHAN_STDIN_EOF && s.len[1] == 0);
		CHECK(s.type[2] == CHAN_STDERR && s.len[2] == CHAN_MAX_PAYLOAD);
	}
	/* byte by byte */
	{
		struct chan_rx rx = { .have = 0 };
		struct seen s = { 0 };

		for (size_t i = 0; i < len; i++)
			CHECK_EQ(chan_feed(&rx, stream + i, 1, record, &s), 0);
		CHECK_EQ(s.n, 3);
	}
	CHECK_EQ(chan_frame(stream, CHAN_STDOUT, big, CHAN_MAX_PAYLOAD + 1), 0);
}

TEST(frames_oversized)
{
	struct chan_rx rx = { .have = 0 };
	struct seen s = { 0 };
	uint8_t hdr[] = { CHAN_STDOUT, 0x01, 0x10 }; /* 4097 */
	uint8_t ok[CHAN_HDR + 1];

	CHECK_EQ(chan_feed(&rx, hdr, 2, record, &s), 0);
	CHECK_EQ(chan_feed(&rx, hdr + 2, 1, record, &s), -EPROTO);
	/* nothing after that is believed */
	chan_frame(ok, CHAN_EXIT, "\0", 1);
	CHECK_EQ(chan_feed(&rx, ok, sizeof(ok), record, &s), -EPROTO);
	CHECK_EQ(s.n, 0);
}

static unsigned long hexfield(const uint8_t *h, int i)
{
	char f[9];

	memcpy(f, h + 6 + 8 * i, 8);
	f[8] = 0;
	return strtoul(f, NULL, 16);
}

TEST(cpio_newc)
{
	struct cpio c;
	const uint8_t *p;
	size_t off = 0;
	int entries = 0;

	cpio_init(&c);
	cpio_dir(&c, "dev", 0755);
	cpio_chardev(&c, "dev/console", 0600, 5, 1);
	cpio_file(&c, "vmm/spec", 0600, "abcde", 5);
	cpio_file(&c, "empty", 0644, NULL, 0);
	CHECK_EQ(cpio_finish(&c), 0);
	p = c.buf;
	CHECK_EQ(c.len % 4, 0);
	while (off < c.len) {
		const uint8_t *h = p + off;
		unsigned long mode = hexfield(h, 1), size = hexfield(h, 6);
		unsigned long namesize = hexfield(h, 11);
		const char *name = (const char *)h + 110;

		CHECK(!memcmp(h, "070701", 6));
		CHECK_EQ(name[namesize - 1], 0);
		off += (110 + namesize + 3) & ~3UL;
		CHECK_EQ(off % 4, 0);
		if (!strcmp(name, "dev/console")) {
			CHECK(S_ISCHR(mode) && (mode & 07777) == 0600);
			CHECK(hexfield(h, 9) == 5 && hexfield(h, 10) == 1);
		}
		if (!strcmp(name, "vmm/spec")) {
			CHECK(S_ISREG(mode) && size == 5);
			CHECK(!memcmp(p + off, "abcde", 5));
		}
		if (!strcmp(name, "dev"))
			CHECK(S_ISDIR(mode));
		off += (size + 3) & ~3UL;
		entries++;
		if (!strcmp(name, "TRAILER!!!"))
			break;
	}
	CHECK_EQ(entries, 5);
	CHECK_EQ(off, c.len);
	cpio_free(&c);
}

static void hex_of(const char *s, size_t len, char out[65])
{
	struct sha256 h;

	sha256_init(&h);
	sha256_update(&h, s, len);
	sha256_hex(&h, out);
}

TEST(sha256_vectors)
{
	char hex[65], *a;
	struct sha256 h;

	hex_of("abc", 3, hex);
	CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	hex_of("", 0, hex);
	CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
	/* a million 'a', fed in uneven pieces */
	a = malloc(1000000);
	CHECK(a);
	memset(a, 'a', 1000000);
	sha256_init(&h);
	for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 3 % 1021 + 1)
		sha256_update(&h, a + off, off + step > 1000000 ? 1000000 - off : step);
	sha256_hex(&h, hex);
	free(a);
	CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
}

UNIT_MAIN("chan", T(frames_any_split), T(frames_oversized), T(cpio_newc),
	  T(sha256_vectors))
