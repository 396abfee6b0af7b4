// SPDX-License-Identifier: MIT
/*
 * The console escape filter: Ctrl-A x quits, Ctrl-A b stops at its place
 * in the stream for a break, Ctrl-A t and h only raise flags, Ctrl-A
 * Ctrl-A sends one Ctrl-A, Ctrl-A then any other key sends both, and the
 * escape state carries across reads (a key sequence can be split between
 * two read()s). And the line stamps of --serial-timestamps.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/console.h"
#include "unit.h"

#define ESC 0x01
#define GUARD 0xa5

/*
 * Filter in[0..n) into a buffer of n + 1 bytes (the most any call can
 * produce: one Ctrl-A carried over from the previous call plus n bytes),
 * followed by guard bytes. Returns the count; *guard_ok says whether
 * nothing was written past n + 1.
 */
static size_t last_used; /* the input bytes the last filter() took */

static size_t filter(struct console_esc *e, const void *in, size_t n,
		     uint8_t *out, enum console_action *act, bool *guard_ok)
{
	uint8_t buf[512 + 17];
	size_t r;

	memset(buf, GUARD, sizeof(buf));
	*act = (enum console_action)-1;
	last_used = (size_t)-1;
	r = console_filter(e, in, n, &last_used, buf, act);
	*guard_ok = true;
	for (size_t i = n + 1; i < n + 17; i++)
		if (buf[i] != GUARD)
			*guard_ok = false;
	memcpy(out, buf, r <= n + 1 ? r : n + 1);
	return r;
}

TEST(plain_bytes_pass)
{
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t out[32];
	bool ok;

	CHECK_EQ(filter(&e, "hello\r\n", 7, out, &act, &ok), 7);
	CHECK(ok);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK(!memcmp(out, "hello\r\n", 7));
	CHECK(!e.armed);
	/* 'x' alone is just a key */
	CHECK_EQ(filter(&e, "xX", 2, out, &act, &ok), 2);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK(!memcmp(out, "xX", 2));
}

TEST(every_other_byte_passes)
{
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t in[255], out[256];
	bool ok;
	size_t n = 0;

	for (unsigned int b = 0; b < 256; b++)
		if (b != ESC)
			in[n++] = (uint8_t)b;
	CHECK_EQ(filter(&e, in, n, out, &act, &ok), n);
	CHECK(ok);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK(!memcmp(out, in, n));
}

TEST(empty_input)
{
	struct console_esc e = { .armed = true };
	enum console_action act;
	uint8_t out[4];
	bool ok;

	CHECK_EQ(filter(&e, "", 0, out, &act, &ok), 0);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK(e.armed); /* nothing read, nothing forgotten */
}

TEST(ctrl_a_x_quits)
{
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t out[32];
	bool ok;

	CHECK_EQ(filter(&e, "ab\x01xcd", 6, out, &act, &ok), 2);
	CHECK(ok);
	CHECK_EQ(act, CONSOLE_QUIT);
	CHECK(!memcmp(out, "ab", 2));
	CHECK(!e.armed);

	CHECK_EQ(filter(&e, "\x01x", 2, out, &act, &ok), 0);
	CHECK_EQ(act, CONSOLE_QUIT);
}

TEST(ctrl_a_capital_x_quits)
{
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t out[32];
	bool ok;

	CHECK_EQ(filter(&e, "q\x01Xzz", 5, out, &act, &ok), 1);
	CHECK_EQ(act, CONSOLE_QUIT);
	CHECK_EQ(out[0], 'q');
}

TEST(ctrl_a_ctrl_a_sends_one)
{
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t out[32];
	bool ok;

	CHECK_EQ(filter(&e, "\x01\x01", 2, out, &act, &ok), 1);
	CHECK_EQ(out[0], ESC);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK(!e.armed);

	CHECK_EQ(filter(&e, "a\x01\x01" "b", 4, out, &act, &ok), 3);
	CHECK(!memcmp(out, "a\x01" "b", 3));

	/* the doubled escape is spent: the x after it is just an x */
	CHECK_EQ(filter(&e, "\x01\x01x", 3, out, &act, &ok), 2);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK(!memcmp(out, "\x01x", 2));

	/* three escapes and x: one Ctrl-A sent, then quit */
	CHECK_EQ(filter(&e, "\x01\x01\x01x", 4, out, &act, &ok), 1);
	CHECK_EQ(act, CONSOLE_QUIT);
	CHECK_EQ(out[0], ESC);
}

TEST(ctrl_a_other_key_sends_both)
{
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t out[32];
	bool ok;

	CHECK_EQ(filter(&e, "\x01q", 2, out, &act, &ok), 2);
	CHECK(ok);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK(!memcmp(out, "\x01q", 2));
	CHECK(!e.armed);

	CHECK_EQ(filter(&e, "a\x01" "cb", 4, out, &act, &ok), 4);
	CHECK(!memcmp(out, "a\x01" "cb", 4));
	/* Ctrl-A then a NUL or a control key */
	CHECK_EQ(filter(&e, "\x01\x00\x01\x03", 4, out, &act, &ok), 4);
	CHECK(!memcmp(out, "\x01\x00\x01\x03", 4));
}

TEST(escape_at_end_is_kept)
{
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t out[32];
	bool ok;

	CHECK_EQ(filter(&e, "ab\x01", 3, out, &act, &ok), 2);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK(!memcmp(out, "ab", 2));
	CHECK(e.armed);
}

TEST(split_ctrl_a_x)
{
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t out[32];
	bool ok;

	CHECK_EQ(filter(&e, "\x01", 1, out, &act, &ok), 0);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK(e.armed);
	CHECK_EQ(filter(&e, "xyz", 3, out, &act, &ok), 0);
	CHECK_EQ(act, CONSOLE_QUIT);
	CHECK(!e.armed);
}

TEST(split_ctrl_a_ctrl_a)
{
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t out[32];
	bool ok;

	CHECK_EQ(filter(&e, "k\x01", 2, out, &act, &ok), 1);
	CHECK_EQ(filter(&e, "\x01", 1, out, &act, &ok), 1);
	CHECK(ok);
	CHECK_EQ(out[0], ESC);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK(!e.armed);
}

TEST(split_ctrl_a_other_key_one_byte)
{
	/*
	 * Ctrl-A at the end of one read, 'z' alone in the next: the guest
	 * must get both bytes, as it does when they arrive in one read.
	 */
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t out[32];
	bool ok;

	CHECK_EQ(filter(&e, "\x01", 1, out, &act, &ok), 0);
	CHECK(e.armed);
	CHECK_EQ(filter(&e, "z", 1, out, &act, &ok), 2);
	CHECK(ok);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK(!memcmp(out, "\x01z", 2));
	CHECK(!e.armed);
}

TEST(split_ctrl_a_other_key_more_bytes)
{
	/* the carried Ctrl-A makes the output one byte longer than the input */
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t out[32];
	bool ok;

	CHECK_EQ(filter(&e, "\x01", 1, out, &act, &ok), 0);
	CHECK_EQ(filter(&e, "abc", 3, out, &act, &ok), 4);
	CHECK(ok);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK(!memcmp(out, "\x01" "abc", 4));
}

TEST(action_reset_each_call)
{
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t out[32];
	bool ok;

	CHECK_EQ(filter(&e, "\x01x", 2, out, &act, &ok), 0);
	CHECK_EQ(act, CONSOLE_QUIT);
	CHECK_EQ(filter(&e, "x", 1, out, &act, &ok), 1);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK_EQ(out[0], 'x');
}

TEST(ctrl_a_b_stops_for_a_break)
{
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t out[32];
	bool ok;

	/* the bytes before the break, then the rest filtered on its own */
	CHECK_EQ(filter(&e, "ab\x01" "btc", 5, out, &act, &ok), 2);
	CHECK(ok);
	CHECK_EQ(act, CONSOLE_BREAK);
	CHECK_EQ(last_used, 4);
	CHECK(!memcmp(out, "ab", 2));
	CHECK(!e.armed);
	CHECK_EQ(filter(&e, "tc", 2, out, &act, &ok), 2);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK_EQ(last_used, 2);
	CHECK(!memcmp(out, "tc", 2));
	/* capital B, and split from its Ctrl-A */
	CHECK_EQ(filter(&e, "\x01", 1, out, &act, &ok), 0);
	CHECK_EQ(filter(&e, "Bw", 2, out, &act, &ok), 0);
	CHECK_EQ(act, CONSOLE_BREAK);
	CHECK_EQ(last_used, 1);
	/* a doubled escape is a Ctrl-A for the guest, not a break */
	CHECK_EQ(filter(&e, "\x01\x01" "b", 3, out, &act, &ok), 2);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK(!memcmp(out, "\x01" "b", 2));
}

TEST(ctrl_a_t_and_h_raise_flags)
{
	struct console_esc e = { 0 };
	enum console_action act;
	uint8_t out[32];
	bool ok;

	CHECK_EQ(filter(&e, "a\x01tb\x01h", 6, out, &act, &ok), 2);
	CHECK_EQ(act, CONSOLE_PASS);
	CHECK_EQ(last_used, 6);
	CHECK(!memcmp(out, "ab", 2));
	CHECK(e.toggle_time);
	CHECK(e.help);
	/* typed twice before the caller looked: back where it was */
	CHECK_EQ(filter(&e, "\x01T", 2, out, &act, &ok), 0);
	CHECK(!e.toggle_time);
}

TEST(stamps_start_each_line)
{
	static const char in[] = "one\ntwo\r\n\nthree";
	uint8_t out[CONSOLE_STAMPED_MAX(sizeof(in))];
	bool bol = true;
	size_t n = console_stamp(&bol, 1234567890123ULL, (const uint8_t *)in,
				 strlen(in), out);
	static const char want[] =
		"[+ 1234.567890] one\n[+ 1234.567890] two\r\n"
		"[+ 1234.567890] \n[+ 1234.567890] three";

	CHECK_EQ(n, strlen(want));
	CHECK(!memcmp(out, want, n));
	CHECK(!bol);
	/* a line goes on across calls; the next one starts with a stamp */
	n = console_stamp(&bol, 5000, (const uint8_t *)"!\n", 2, out);
	CHECK_EQ(n, 2);
	CHECK(!memcmp(out, "!\n", 2));
	CHECK(bol);
	n = console_stamp(&bol, 5000, (const uint8_t *)"x", 1, out);
	CHECK_EQ(n, strlen("[+    0.000005] x"));
	CHECK(!memcmp(out, "[+    0.000005] x", n));
	/* nothing in, nothing out, and the state stays */
	CHECK_EQ(console_stamp(&bol, 0, (const uint8_t *)"", 0, out), 0);
	CHECK(!bol);
}

TEST(stamps_worst_case_fits)
{
	/* every byte a newline, and the longest time there is */
	uint8_t in[64], out[CONSOLE_STAMPED_MAX(64) + 16];
	bool bol = true;
	size_t n;

	memset(in, '\n', sizeof(in));
	memset(out, GUARD, sizeof(out));
	n = console_stamp(&bol, UINT64_MAX, in, sizeof(in), out);
	CHECK(n <= CONSOLE_STAMPED_MAX(64));
	CHECK(!memcmp(out, "[+18446744073.709551] \n", 23));
	for (size_t i = CONSOLE_STAMPED_MAX(64); i < sizeof(out); i++)
		CHECK_EQ(out[i], GUARD);
}

/* ---- random input, split at random points, against a model ---- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

#define BREAK_MARK 0xfe /* in the model's output: a break (not in alphabet) */

/* The specification, one byte at a time; returns true on quit. */
static bool model(const uint8_t *in, size_t n, uint8_t *out, size_t *o)
{
	bool armed = false;

	*o = 0;
	for (size_t i = 0; i < n; i++) {
		if (!armed) {
			if (in[i] == ESC)
				armed = true;
			else
				out[(*o)++] = in[i];
			continue;
		}
		armed = false;
		if (in[i] == 'x' || in[i] == 'X')
			return true;
		if (in[i] == 'b') {
			out[(*o)++] = BREAK_MARK;
			continue;
		}
		if (in[i] == 't')
			continue;
		if (in[i] != ESC)
			out[(*o)++] = ESC;
		out[(*o)++] = in[i];
	}
	return false;
}

TEST(random_splits_match_model)
{
	static const uint8_t alphabet[] = { ESC, ESC, ESC, 'x', 'X', 'a', 0,
					    '\r', 0x1b, 0xff, 'b', 't' };
	uint8_t in[256], want[512], got[512 + 256], chunk[300];

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (unsigned int iter = 0; iter < 5000; iter++) {
		struct console_esc e = { 0 };
		size_t n = rnd() % sizeof(in), wn, gn = 0, pos = 0;
		bool want_quit, quit = false;

		for (size_t i = 0; i < n; i++)
			in[i] = alphabet[rnd() % sizeof(alphabet)];
		want_quit = model(in, n, want, &wn);
		while (pos < n && !quit) {
			size_t len = 1 + rnd() % (n - pos < 8 ? n - pos : 8);
			enum console_action act;
			bool ok;
			size_t r = filter(&e, in + pos, len, chunk, &act, &ok);

			if (!ok || r > len + 1) {
				*unit_failed = 1;
				snprintf(unit_why, sizeof(unit_why),
					 "iteration %u: %zu bytes in, %zu out",
					 iter, len, r);
				return;
			}
			memcpy(got + gn, chunk, r);
			gn += r;
			quit = act == CONSOLE_QUIT;
			if (act == CONSOLE_BREAK) {
				/* the rest of the chunk is filtered next */
				got[gn++] = BREAK_MARK;
				pos += last_used;
			} else {
				pos += len;
			}
		}
		if (quit != want_quit || gn != wn || memcmp(got, want, wn)) {
			*unit_failed = 1;
			snprintf(unit_why, sizeof(unit_why),
				 "iteration %u (%zu bytes): quit %d/%d, %zu bytes out, want %zu",
				 iter, n, quit, want_quit, gn, wn);
			return;
		}
	}
}

UNIT_MAIN("console",
	  T(plain_bytes_pass), T(every_other_byte_passes), T(empty_input),
	  T(ctrl_a_x_quits), T(ctrl_a_capital_x_quits),
	  T(ctrl_a_ctrl_a_sends_one), T(ctrl_a_other_key_sends_both),
	  T(escape_at_end_is_kept), T(split_ctrl_a_x), T(split_ctrl_a_ctrl_a),
	  T(split_ctrl_a_other_key_one_byte),
	  T(split_ctrl_a_other_key_more_bytes), T(action_reset_each_call),
	  T(ctrl_a_b_stops_for_a_break), T(ctrl_a_t_and_h_raise_flags),
	  T(stamps_start_each_line), T(stamps_worst_case_fits),
	  T(random_splits_match_model))
