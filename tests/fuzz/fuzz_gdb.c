// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for vmm/gdbstub.c: the input is what a GDB client
 * sends, fed to the engine over the fake VM of tests/unit/gdb_fake.h.
 * The first 4 bytes seed the rest: how many vCPUs, how the stream is
 * cut into chunks (each in its own exactly-sized allocation, so ASan sees
 * any read past what the engine was given), when the caller drains the
 * output, and whether stops are reported synchronously by the fake
 * (then the same stream fed whole must give the same output byte for
 * byte) or at random points between chunks, with the guest exiting now
 * and then and the backend failing register, breakpoint and resume
 * calls at random. Checked: every output byte is an ack or part of a packet
 * $data#cs with a correct checksum, at most GDB_PACKET_MAX data bytes
 * and no bare '$', '#' or '*'; the output never outgrows its buffer;
 * the engine's breakpoint table matches what the fake holds and never
 * removes what it did not insert; detaching leaves nothing inserted.
 *
 * -DFUZZ_STANDALONE adds a main() that runs the files named on the
 * command line, for compilers without libFuzzer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/gdb_fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gdb_stub stub;
static struct fake_vm vm;
static uint32_t rng_state;

/* output of a run: what it sent, in order */
#define OUT_MAX (1 << 22)
static uint8_t out_whole[OUT_MAX], out_chunked[OUT_MAX];
static size_t len_whole, len_chunked;

/* output parsing state, across drains */
struct scan {
	int st;              /* 0 between packets, 1 data, 2-3 checksum */
	size_t len;
	uint8_t sum, cs;
};

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* we send lowercase only */
}

static void scan_bytes(struct scan *sc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		int d;

		switch (sc->st) {
		case 0:
			if (c == '$') {
				sc->st = 1;
				sc->len = 0;
				sc->sum = 0;
			} else if (c != '+' && c != '-') {
				abort();
			}
			break;
		case 1:
			if (c == '#') {
				sc->st = 2;
				break;
			}
			if (c == '$' || c == '*' || ++sc->len > GDB_PACKET_MAX)
				abort();
			sc->sum = (uint8_t)(sc->sum + c);
			break;
		default:
			d = hexval(c);
			if (d < 0)
				abort();
			if (sc->st == 2) {
				sc->cs = (uint8_t)(d << 4);
				sc->st = 3;
			} else {
				if ((uint8_t)(sc->cs | d) != sc->sum)
					abort();
				sc->st = 0;
			}
			break;
		}
	}
}

static void check_bps(void)
{
	if (vm.nr_bad_removes || vm.nr_bps != stub.nr_bps ||
	    stub.nr_bps > GDB_MAX_BREAKPOINTS)
		abort();
}

static void drain(struct scan *sc, uint8_t *out, size_t *olen)
{
	const uint8_t *p;
	size_t n = gdb_stub_output(&stub, &p);

	if (n > sizeof(stub.out))
		abort();
	scan_bytes(sc, p, n);
	if (*olen + n <= OUT_MAX)
		memcpy(out + *olen, p, n);
	*olen += n;
	gdb_stub_output_done(&stub, n);
}

/* Feed all of d[0..n), draining whenever the engine stops taking input */
static void feed(struct scan *sc, const uint8_t *d, size_t n, uint8_t *out,
		 size_t *olen)
{
	size_t off = 0;

	while (off < n) {
		size_t used = gdb_stub_input(&stub, d + off, n - off);
		const uint8_t *p;

		if (used > n - off)
			abort();
		off += used;
		check_bps();
		if (off < n && used == 0 && gdb_stub_output(&stub, &p) == 0)
			abort(); /* stuck with nothing to send */
		drain(sc, out, olen);
	}
}

static void setup(unsigned int ncpus, bool auto_stop)
{
	if (fake_init(&vm, &stub, NULL, ncpus))
		abort();
	vm.auto_stop = auto_stop;
}

static void finish(struct scan *sc, uint8_t *out, size_t *olen)
{
	gdb_stub_detach(&stub);
	drain(sc, out, olen);
	check_bps();
	if (vm.nr_bps || gdb_stub_state(&stub) != GDB_STATE_DETACHED)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan sc;
	uint32_t seed = 0;
	unsigned int ncpus;
	bool sync;
	size_t off = 0;

	if (size >= 4) {
		memcpy(&seed, data, 4);
		data += 4;
		size -= 4;
	}
	rng_state = seed | 1;
	ncpus = 1 + seed % FAKE_CPUS;
	sync = seed & 0x100;

	/* chunk by chunk, with stops and exits between chunks if async */
	memset(&sc, 0, sizeof(sc));
	len_chunked = 0;
	setup(ncpus, sync);
	while (off < size) {
		size_t n = 1 + rng() % (1 + rng() % 512);
		uint8_t *chunk;

		if (n > size - off)
			n = size - off;
		chunk = malloc(n);
		if (!chunk)
			abort();
		memcpy(chunk, data + off, n);
		feed(&sc, chunk, n, out_chunked, &len_chunked);
		free(chunk);
		off += n;
		if (!sync) {
			/* the backend failing now and then */
			uint32_t e = rng();

			vm.fail_regs = e % 16 == 0 ? -EIO : 0;
			vm.bp_result = (e >> 4) % 16 == 0 ? -ENOSPC :
				       (e >> 4) % 16 == 1 ? -EOPNOTSUPP : 0;
			vm.resume_result = (e >> 8) % 16 == 0 ? -EBUSY : 0;
		}
		if (!sync && gdb_stub_state(&stub) == GDB_STATE_RUNNING) {
			uint32_t r = rng();
			struct gdb_stop st = {
				.cpu = r % (ncpus + 1), /* sometimes out of range */
				.reason = (enum gdb_stop_reason)((r >> 8) % 8),
				.addr = rng(),
			};
			int ret;

			if ((r >> 16) % 64 == 0) {
				/* the VM and its breakpoints are gone */
				gdb_stub_exited(&stub, (uint8_t)r);
				vm.nr_bps = 0;
				drain(&sc, out_chunked, &len_chunked);
				continue;
			}
			ret = gdb_stub_stopped(&stub, &st);
			if ((ret == 0) != (st.cpu < ncpus && st.reason <= GDB_STOP_WATCH_ACCESS))
				abort();
			drain(&sc, out_chunked, &len_chunked);
		}
	}
	finish(&sc, out_chunked, &len_chunked);
	if (!sync)
		return 0;

	/* the same stream in one piece: the same bytes out */
	memset(&sc, 0, sizeof(sc));
	len_whole = 0;
	setup(ncpus, sync);
	feed(&sc, data, size, out_whole, &len_whole);
	finish(&sc, out_whole, &len_whole);
	if (len_whole != len_chunked ||
	    memcmp(out_whole, out_chunked, len_whole < OUT_MAX ? len_whole : OUT_MAX))
		abort();
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
