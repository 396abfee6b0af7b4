// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the split virtqueue (devices/virtqueue.c) over a
 * fuzzed guest-memory image. The input is a 16-byte header (queue size,
 * where the three rings are, the device's starting indexes, EVENT_IDX,
 * what to do with each chain) followed by the image of guest RAM: two
 * 64 KiB ranges with a 64 KiB gap between them, so descriptors can
 * straddle the hole, run past the end or wrap around 2^64, and indirect
 * tables can point anywhere (indirect in indirect included).
 *
 * Checked for every chain taken: at least one buffer, at most
 * VIRTQ_MAX_CHAIN; readable ones first; each buffer's host view is the
 * checked accessor's view of exactly its guest range; the lengths add
 * up; the copy helpers move exactly what fits; a chain given back with
 * virtq_unpop() comes out the same; the used ring's index moves by one
 * per chain returned. ASan sees any access outside the image.
 *
 * Build: make fuzz (tests/fuzz/README); -DFUZZ_STANDALONE replays files.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../devices/virtio.h"
#include "../../vmm/memory.h"
#include "fuzz.h"

#define RAM0     0x10000ULL
#define RAM1     0x20000ULL
#define RAM1_END 0x30000ULL
#define HDR      16

static struct guest_mem mem;
static struct virtq_chain chain, again;
static uint8_t scratch[1 << 17];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint64_t r[2][2] = { { 0, RAM0 }, { RAM1, RAM1_END - RAM1 } };

	(void)argc;
	(void)argv;
	FUZZ_CHECK(guest_mem_init(&mem, r, 2) == 0);
	return 0;
}

/* A ring address: inside the image mostly, anywhere sometimes. */
static uint64_t ring_addr(uint16_t v)
{
	if (v == 0xffff)
		return ~0ULL - 15;
	return ((uint64_t)v << 2) % RAM1_END;
}

static void check_chain(const struct virtq_chain *c)
{
	uint64_t rl = 0, wl = 0;

	FUZZ_CHECK(c->nbufs <= VIRTQ_MAX_CHAIN && c->nread <= c->nbufs);
	for (unsigned int i = 0; i < c->nbufs; i++) {
		const struct virtq_buf *b = &c->buf[i];

		FUZZ_CHECK(b->len > 0);
		FUZZ_CHECK(b->write == (i >= c->nread));
		FUZZ_CHECK(b->host == gpa_ptr(&mem, b->gpa, b->len));
		if (b->write)
			wl += b->len;
		else
			rl += b->len;
	}
	FUZZ_CHECK(rl == c->read_len && wl == c->write_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct virtq q;
	uint8_t flags;
	size_t n;
	const uint8_t *img;

	if (!mem.nr_regions)
		LLVMFuzzerInitialize(NULL, NULL);
	memset(&q, 0, sizeof(q));
	q.size = (uint16_t)(1u << (fuzz_u8(&in) % 12)); /* 1 .. 2048 */
	flags = fuzz_u8(&in);
	q.desc_gpa = ring_addr(fuzz_u16(&in));
	q.avail_gpa = ring_addr(fuzz_u16(&in));
	q.used_gpa = ring_addr(fuzz_u16(&in));
	uint16_t start_avail = fuzz_u16(&in), start_used = fuzz_u16(&in);
	(void)fuzz_u32(&in); /* reserved: the header stays 16 bytes */
	/* the image: what follows the header, over both ranges */
	FUZZ_CHECK(gpa_zero(&mem, 0, RAM0) == 0);
	FUZZ_CHECK(gpa_zero(&mem, RAM1, RAM1_END - RAM1) == 0);
	n = fuzz_bytes(&in, RAM0, &img);
	FUZZ_CHECK(!n || gpa_write(&mem, 0, img, n) == 0);
	n = fuzz_bytes(&in, RAM1_END - RAM1, &img);
	FUZZ_CHECK(!n || gpa_write(&mem, RAM1, img, n) == 0);

	if (virtq_activate(&q, &mem, VIRTQ_MAX_SIZE) < 0) {
		FUZZ_CHECK(!q.ready);
		return 0;
	}
	FUZZ_CHECK(q.size <= VIRTQ_MAX_SIZE && !(q.size & (q.size - 1)));
	FUZZ_CHECK(q.desc == gpa_ptr(&mem, q.desc_gpa, 16ULL * q.size));
	q.event_idx = flags & 1;
	q.last_avail = start_avail;
	q.used_idx = start_used;
	for (unsigned int i = 0; i < 2 * VIRTQ_MAX_SIZE; i++) {
		uint16_t used_before = q.used_idx;
		int r = virtq_pop(&q, &mem, &chain);
		size_t got;

		if (r <= 0)
			break;
		check_chain(&chain);
		if ((flags & 2) && i % 3 == 0) {
			/* given back, taken again: the same chain */
			virtq_unpop(&q, 1);
			FUZZ_CHECK(virtq_pop(&q, &mem, &again) == 1);
			FUZZ_CHECK(again.head == chain.head &&
				   again.nbufs == chain.nbufs &&
				   again.read_len == chain.read_len);
			check_chain(&again);
		}
		got = virtq_chain_read(&chain, flags >> 4, scratch, sizeof(scratch));
		FUZZ_CHECK(got == (chain.read_len > (flags >> 4) ?
				   (chain.read_len - (flags >> 4) < sizeof(scratch) ?
				    chain.read_len - (flags >> 4) : sizeof(scratch)) : 0));
		got = virtq_chain_write(&chain, 0, scratch,
					chain.write_len < sizeof(scratch) ?
					chain.write_len : sizeof(scratch));
		FUZZ_CHECK(got == (chain.write_len < sizeof(scratch) ?
				   chain.write_len : sizeof(scratch)));
		if (flags & 4) {
			virtq_fill(&q, 0, chain.head, (uint32_t)got);
			virtq_flush(&q, 1);
		} else {
			virtq_push(&q, chain.head, (uint32_t)got);
		}
		FUZZ_CHECK((uint16_t)(q.used_idx - used_before) == 1);
		(void)virtq_should_interrupt(&q);
		virtq_set_notify(&q, (flags >> 3) & 1 ? i & 1 : 1);
		(void)virtq_has_avail(&q);
	}
	virtq_reset(&q);
	FUZZ_CHECK(!q.ready);
	return 0;
}
