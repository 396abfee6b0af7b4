// SPDX-License-Identifier: MIT
/*
 * The split virtqueue parser against crafted rings, and the virtio-mmio
 * register interface, with no KVM: a guest_mem and a struct vm built by
 * hand, the device driven through the MMIO bus as a guest would.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../devices/virtio.h"
#include "../../vmm/bus.h"
#include "testhost.h"
#include "unit.h"

#define MEM_SIZE (1 << 20)
#define DESC  0x1000
#define AVAIL 0x2000
#define USED  0x3000
#define DATA  0x10000

static struct guest_mem mem;
static struct virtq q;
static struct virtq_chain chain;

static void setup(uint16_t size)
{
	static const uint64_t r[1][2] = { { 0, MEM_SIZE } };

	guest_mem_destroy(&mem);
	if (guest_mem_init(&mem, r, 1))
		abort();
	virtq_reset(&q);
	q.size = size;
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
}

static void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	if (gpa_write(&mem, DESC + 16ULL * i, d, 16))
		abort();
}

static void put16(uint64_t gpa, uint16_t v)
{
	if (gpa_write(&mem, gpa, &v, 2))
		abort();
}

static uint16_t get16(uint64_t gpa)
{
	uint16_t v;

	if (gpa_read(&mem, gpa, &v, 2))
		abort();
	return v;
}

/* make head available at avail slot idx, and publish idx + 1 */
static void offer(uint16_t slot, uint16_t head)
{
	put16(AVAIL + 4 + 2ULL * (slot % q.size), head);
	put16(AVAIL + 2, (uint16_t)(slot + 1));
}

TEST(activate_checks_size_and_alignment)
{
	setup(3);
	CHECK_EQ(virtq_activate(&q, &mem, 256), -EINVAL); /* not a power of 2 */
	setup(0);
	CHECK_EQ(virtq_activate(&q, &mem, 256), -EINVAL);
	setup(512);
	CHECK_EQ(virtq_activate(&q, &mem, 256), -EINVAL); /* above max */
	setup(16);
	q.desc_gpa = DESC + 8;
	CHECK_EQ(virtq_activate(&q, &mem, 256), -EINVAL); /* desc not 16-aligned */
	setup(16);
	q.used_gpa = USED + 2;
	CHECK_EQ(virtq_activate(&q, &mem, 256), -EINVAL); /* used not 4-aligned */
	setup(16);
	q.avail_gpa = AVAIL + 1;
	CHECK_EQ(virtq_activate(&q, &mem, 256), -EINVAL);
	setup(256);
	q.used_gpa = MEM_SIZE - 8; /* ring runs off the end of memory */
	CHECK_EQ(virtq_activate(&q, &mem, 256), -EINVAL);
	CHECK(!q.ready);
	setup(16);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	CHECK(q.ready);
}

TEST(valid_chain_read_then_write)
{
	setup(16);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), 0); /* nothing yet */
	desc(0, DATA, 16, VIRTQ_DESC_F_NEXT, 5);
	desc(5, DATA + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(2, DATA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), 1);
	CHECK_EQ(chain.head, 0);
	CHECK_EQ(chain.nbufs, 3);
	CHECK_EQ(chain.nread, 1);
	CHECK_EQ(chain.read_len, 16);
	CHECK_EQ(chain.write_len, 513);
	CHECK(chain.buf[1].host == gpa_ptr(&mem, DATA + 0x100, 512));
	CHECK_EQ(virtq_pop(&q, &mem, &chain), 0);
	virtq_push(&q, 0, 513);
	CHECK_EQ(get16(USED + 2), 1);
	CHECK_EQ(get16(USED + 4), 0);      /* id */
	CHECK_EQ(get16(USED + 8), 513);    /* len (low half) */
}

TEST(chain_copy_helpers_span_buffers)
{
	uint8_t out[8] = { 0 }, in[6] = { 1, 2, 3, 4, 5, 6 };

	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	CHECK_EQ(gpa_write(&mem, DATA, "abcdefgh", 8), 0);
	desc(0, DATA, 3, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA + 3, 5, VIRTQ_DESC_F_NEXT, 2);
	desc(2, DATA + 0x100, 2, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	desc(3, DATA + 0x200, 4, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), 1);
	CHECK_EQ(virtq_chain_read(&chain, 2, out, 8), 6);
	CHECK(!memcmp(out, "cdefgh", 6));
	CHECK_EQ(virtq_chain_write(&chain, 1, in, 6), 5); /* 6 writable bytes - 1 */
	CHECK_EQ(*(uint8_t *)gpa_ptr(&mem, DATA + 0x101, 1), 1);
	CHECK_EQ(*(uint8_t *)gpa_ptr(&mem, DATA + 0x200, 1), 2);
	CHECK_EQ(*(uint8_t *)gpa_ptr(&mem, DATA + 0x203, 1), 5);
}

TEST(loop_is_rejected)
{
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	desc(0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA, 16, VIRTQ_DESC_F_NEXT, 0);
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);
	/* a self loop too */
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	desc(3, DATA, 16, VIRTQ_DESC_F_NEXT, 3);
	offer(0, 3);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);
}

TEST(out_of_range_buffers_are_rejected)
{
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	desc(0, 0x7fff00000000ULL, 16, 0, 0);
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	desc(0, MEM_SIZE - 8, 16, 0, 0); /* straddles the end */
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	desc(0, UINT64_MAX - 4, 16, 0, 0); /* addr + len wraps */
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	desc(0, DATA, 16, VIRTQ_DESC_F_NEXT, 9); /* next beyond the table */
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	offer(0, 8); /* head beyond the table */
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);
}

TEST(readable_after_writable_is_rejected)
{
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	desc(0, DATA, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	desc(1, DATA + 16, 16, 0, 0);
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);
}

TEST(zero_length_buffers_carry_nothing)
{
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	desc(0, DATA, 0, VIRTQ_DESC_F_NEXT, 1);
	desc(1, 0x7fff00000000ULL, 0, VIRTQ_DESC_F_NEXT, 2); /* never touched */
	desc(2, DATA, 4, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), 1);
	CHECK_EQ(chain.nbufs, 1);
	CHECK_EQ(chain.write_len, 4);
}

TEST(indirect_tables)
{
	const uint64_t table = 0x8000;
	uint8_t d[16];
	uint64_t a;
	uint32_t l;
	uint16_t f, n;

	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	for (uint16_t i = 0; i < 3; i++) {
		a = DATA + 0x100ULL * i;
		l = 64;
		f = (uint16_t)((i < 2 ? VIRTQ_DESC_F_NEXT : 0) |
			       (i ? VIRTQ_DESC_F_WRITE : 0));
		n = (uint16_t)(i + 1);
		memcpy(d, &a, 8);
		memcpy(d + 8, &l, 4);
		memcpy(d + 12, &f, 2);
		memcpy(d + 14, &n, 2);
		CHECK_EQ(gpa_write(&mem, table + 16ULL * i, d, 16), 0);
	}
	desc(0, table, 48, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), 1);
	CHECK_EQ(chain.nbufs, 3);
	CHECK_EQ(chain.nread, 1);
	CHECK_EQ(chain.write_len, 128);

	/* length not a multiple of 16 */
	desc(1, table, 40, VIRTQ_DESC_F_INDIRECT, 0);
	offer(1, 1);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);

	/* INDIRECT together with NEXT */
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	desc(0, table, 48, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);

	/* a table outside memory */
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	desc(0, MEM_SIZE - 16, 48, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);

	/* nested indirect */
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	a = table;
	l = 16;
	f = VIRTQ_DESC_F_INDIRECT;
	n = 0;
	memcpy(d, &a, 8);
	memcpy(d + 8, &l, 4);
	memcpy(d + 12, &f, 2);
	memcpy(d + 14, &n, 2);
	CHECK_EQ(gpa_write(&mem, table, d, 16), 0);
	desc(0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);

	/* a loop inside the table */
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	a = DATA;
	l = 8;
	f = VIRTQ_DESC_F_NEXT;
	n = 0;
	memcpy(d, &a, 8);
	memcpy(d + 8, &l, 4);
	memcpy(d + 12, &f, 2);
	memcpy(d + 14, &n, 2);
	CHECK_EQ(gpa_write(&mem, table, d, 16), 0);
	desc(0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);
}

TEST(index_wraps_around)
{
	setup(4);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	desc(0, DATA, 8, VIRTQ_DESC_F_WRITE, 0);
	/* start both sides just below the 16-bit wrap */
	q.last_avail = 0xfffe;
	q.used_idx = 0xfffe;
	for (uint32_t i = 0; i < 5; i++) {
		uint16_t slot = (uint16_t)(0xfffe + i);

		offer(slot, 0);
		CHECK_EQ(virtq_pop(&q, &mem, &chain), 1);
		CHECK_EQ(virtq_pop(&q, &mem, &chain), 0);
		virtq_push(&q, 0, 8);
		CHECK_EQ(get16(USED + 2), (uint16_t)(slot + 1));
	}
	CHECK_EQ(q.last_avail, 3);
}

TEST(avail_index_running_ahead_is_rejected)
{
	setup(4);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	desc(0, DATA, 8, 0, 0);
	put16(AVAIL + 2, 5); /* claims 5 new entries in a ring of 4 */
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);
}

TEST(chain_longer_than_queue_is_rejected)
{
	setup(4);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	for (uint16_t i = 0; i < 4; i++)
		desc(i, DATA, 8, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % 4));
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), -EIO);
}

TEST(interrupt_suppression)
{
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	desc(0, DATA, 8, VIRTQ_DESC_F_WRITE, 0);
	/* without EVENT_IDX: the NO_INTERRUPT flag decides */
	offer(0, 0);
	CHECK_EQ(virtq_pop(&q, &mem, &chain), 1);
	virtq_push(&q, 0, 0);
	CHECK(virtq_should_interrupt(&q));
	put16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	CHECK(!virtq_should_interrupt(&q));

	/* with EVENT_IDX: interrupt when used_event is crossed */
	setup(8);
	CHECK_EQ(virtq_activate(&q, &mem, 256), 0);
	q.event_idx = true;
	desc(0, DATA, 8, VIRTQ_DESC_F_WRITE, 0);
	put16(AVAIL + 4 + 2 * 8, 2); /* used_event: interrupt after entry 2 */
	for (uint16_t i = 0; i < 4; i++) {
		bool want;

		offer(i, 0);
		CHECK_EQ(virtq_pop(&q, &mem, &chain), 1);
		virtq_push(&q, 0, 0);
		want = virtq_should_interrupt(&q);
		/* first one always; then only when used idx passes 2 */
		CHECK_EQ(want, i == 0 || i == 2);
	}
	/* having drained the ring, the device asks for a kick */
	CHECK_EQ(virtq_pop(&q, &mem, &chain), 0);
	CHECK_EQ(get16(USED + 4 + 8 * 8), 4); /* avail_event = last_avail */
}

/* --- virtio-mmio registers ------------------------------------------------ */

static unsigned int resets;

static uint64_t dummy_features(struct virtio_dev *d)
{
	(void)d;
	return 1ULL << 3;
}

static size_t dummy_config_size(struct virtio_dev *d)
{
	(void)d;
	return 8;
}

static void dummy_config_read(struct virtio_dev *d, uint64_t off,
			      uint8_t *data, uint32_t len)
{
	static const uint8_t cfg[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)d;
	memcpy(data, cfg + off, len);
}

static void dummy_notify(struct virtio_dev *d, unsigned int qi)
{
	(void)d;
	(void)qi;
}

static void dummy_reset(struct virtio_dev *d)
{
	(void)d;
	resets++;
}

static const struct virtio_dev_ops dummy_ops = {
	.name = "dummy", .device_id = 42, .num_queues = 2, .queue_max = 64,
	.features = dummy_features, .config_size = dummy_config_size,
	.config_read = dummy_config_read, .queue_notify = dummy_notify,
	.reset = dummy_reset,
};

static struct testhost th;
static struct bus mmio;
static const uint64_t BASE = 0xd0001000;

static uint32_t rd(uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	bus_access(&mmio, BASE + off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	bus_access(&mmio, BASE + off, (uint8_t *)&v, 4, true);
}

static struct virtio_dev *make_dev(void)
{
	struct virtio_dev *d = NULL;

	if (testhost_init(&th, MEM_SIZE))
		abort();
	bus_init(&mmio, "mmio");
	if (virtio_dev_create(&th.host, &dummy_ops, NULL, &d) ||
	    virtio_mmio_attach(d, &mmio, BASE, 5))
		abort();
	return d;
}

static void free_dev(void)
{
	testhost_destroy(&th);
	bus_destroy(&mmio);
}

TEST(mmio_identity_and_features)
{
	make_dev();
	CHECK_EQ(rd(0x000), 0x74726976);
	CHECK_EQ(rd(0x004), 2);
	CHECK_EQ(rd(0x008), 42);
	wr(0x014, 0);
	CHECK_EQ(rd(0x010) & (1u << 3), 1u << 3);     /* device feature */
	CHECK_EQ(rd(0x010) & (1u << 28), 1u << 28);   /* INDIRECT_DESC */
	wr(0x014, 1);
	CHECK_EQ(rd(0x010) & 1, 1);                   /* VERSION_1 = bit 32 */
	wr(0x014, 2);
	CHECK_EQ(rd(0x010), 0);                       /* no third half */
	CHECK_EQ(rd(0x100), 0x04030201);              /* config */
	CHECK_EQ(rd(0x104), 0x08070605);
	CHECK_EQ(rd(0x108), 0);                       /* past the config */
	free_dev();
}

TEST(mmio_feature_negotiation)
{
	struct virtio_dev *d = make_dev();

	wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* without VERSION_1 FEATURES_OK does not stick */
	wr(0x024, 0);
	wr(0x020, 1u << 3);
	wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		  VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ(rd(0x070) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* a feature we never offered does not stick either */
	wr(0x024, 1);
	wr(0x020, 1);
	wr(0x024, 0);
	wr(0x020, (1u << 3) | (1u << 7));
	wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		  VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ(rd(0x070) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* the two halves combine */
	wr(0x020, 1u << 3);
	wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		  VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ(rd(0x070) & VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ(d->drv_features, (1ULL << 32) | (1ULL << 3));
	/* features are frozen after FEATURES_OK */
	wr(0x024, 0);
	wr(0x020, 0);
	CHECK_EQ(d->drv_features, (1ULL << 32) | (1ULL << 3));
	free_dev();
}

TEST(mmio_queue_setup_and_reset)
{
	struct virtio_dev *d = make_dev();

	resets = 0;
	wr(0x030, 2); /* beyond the two queues */
	CHECK_EQ(rd(0x034), 0);
	wr(0x038, 8);
	wr(0x044, 1);
	CHECK_EQ(rd(0x044), 0);
	wr(0x030, 1);
	CHECK_EQ(rd(0x034), 64);
	wr(0x038, 6); /* not a power of two: QueueReady stays 0 */
	wr(0x044, 1);
	CHECK_EQ(rd(0x044), 0);
	wr(0x038, 8);
	wr(0x080, DESC);
	wr(0x090, AVAIL);
	wr(0x0a0, USED);
	wr(0x044, 1);
	CHECK_EQ(rd(0x044), 1);
	CHECK(d->vq[1].ready);
	/* addresses cannot change under a ready queue */
	wr(0x080, 0x5000);
	CHECK_EQ(d->vq[1].desc_gpa, DESC);
	/* a queue outside guest memory is refused */
	wr(0x030, 0);
	wr(0x038, 8);
	wr(0x080, 0);
	wr(0x084, 1); /* 4 GiB: beyond the 1 MiB of RAM */
	wr(0x090, AVAIL);
	wr(0x0a0, USED);
	wr(0x044, 1);
	CHECK_EQ(rd(0x044), 0);
	/* interrupt ack clears only the acknowledged bits */
	d->isr = 3;
	wr(0x064, 1);
	CHECK_EQ(rd(0x060), 2);
	/* reset clears everything */
	wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(0x070, 0);
	CHECK_EQ(rd(0x070), 0);
	CHECK_EQ(rd(0x060), 0);
	CHECK_EQ(resets, 1);
	wr(0x030, 1);
	CHECK_EQ(rd(0x044), 0);
	CHECK(!d->vq[1].ready);
	CHECK_EQ(d->drv_features, 0);
	/* registers are 32-bit: a byte access does nothing */
	{
		uint8_t b = 0xff;

		bus_access(&mmio, BASE + 0x070, &b, 1, true);
		CHECK_EQ(rd(0x070), 0);
	}
	free_dev();
}

TEST(mmio_needs_reset_is_sticky_until_reset)
{
	struct virtio_dev *d = make_dev();

	wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_set_broken(d, "test");
	CHECK(rd(0x070) & VIRTIO_STATUS_NEEDS_RESET);
	wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	CHECK(rd(0x070) & VIRTIO_STATUS_NEEDS_RESET);
	wr(0x070, 0);
	CHECK_EQ(rd(0x070), 0);
	free_dev();
}

UNIT_MAIN("virtqueue",
	  T(activate_checks_size_and_alignment), T(valid_chain_read_then_write),
	  T(chain_copy_helpers_span_buffers), T(loop_is_rejected),
	  T(out_of_range_buffers_are_rejected),
	  T(readable_after_writable_is_rejected),
	  T(zero_length_buffers_carry_nothing), T(indirect_tables),
	  T(index_wraps_around), T(avail_index_running_ahead_is_rejected),
	  T(chain_longer_than_queue_is_rejected), T(interrupt_suppression),
	  T(mmio_identity_and_features), T(mmio_feature_negotiation),
	  T(mmio_queue_setup_and_reset), T(mmio_needs_reset_is_sticky_until_reset))
