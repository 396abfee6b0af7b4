// SPDX-License-Identifier: MIT
/*
 * virtio-net driven as a guest would (vdriver.h), on a datagram socket
 * pair instead of a TAP (one frame per read and write, as a TAP gives):
 * transmit, receive with and without merged buffers, frames waiting for
 * buffers, frames too large, and broken chains. The event loop runs on a
 * thread of its own, as on the VM's main thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../devices/devices.h"
#include "../../vmm/config.h"
#include "testhost.h"
#include "unit.h"
#include "vdriver.h"

#define MEM     (4ULL << 20)
#define RXBUF   0x100000ULL
#define TXBUF   0x200000ULL
#define HDR_LEN 12
#define RXQ 0
#define TXQ 1
#define F_MRG_RXBUF (1ULL << 15)
#define F_MTU       (1ULL << 3)

static struct testhost th;
static struct bus mmio;
static struct vdriver vd;
static int peer;
static pthread_t loop_thread;

static void *run_loop(void *arg)
{
	(void)evloop_run(arg);
	return NULL;
}

static void start_mtu(uint64_t features, unsigned int mtu)
{
	struct vm_net cfg = { .mac_set = true, .mac = { 2, 0, 0, 0, 0, 7 },
			      .mtu = mtu };
	struct virtio_dev *d;
	int sv[2];

	if (testhost_init(&th, MEM) ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		abort();
	peer = sv[1];
	bus_init(&mmio, "mmio");
	if (virtio_net_create_fd(&th.host, sv[0], "test0", &cfg, &d) ||
	    virtio_mmio_attach(d, &mmio, VD_MMIO, 5))
		abort();
	vd = (struct vdriver){ .bus = &mmio, .mem = &th.mem, .base = VD_MMIO };
	if (pthread_create(&loop_thread, NULL, run_loop, th.host.loop))
		abort();
	vd_init(&vd, 2, features, 1);
}

static void start(uint64_t features)
{
	start_mtu(features, 0);
}

static void stop(void)
{
	evloop_stop(th.host.loop);
	pthread_join(loop_thread, NULL);
	testhost_destroy(&th);
	bus_destroy(&mmio);
	close(peer);
}

static ssize_t peer_recv(uint8_t *buf, size_t len, int ms)
{
	for (int i = 0; i < ms; i++) {
		ssize_t n = recv(peer, buf, len, 0);

		if (n >= 0 || errno != EAGAIN)
			return n;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return -1;
}

TEST(config_space_has_the_mac)
{
	uint32_t lo;

	start(0);
	lo = vd_rd(&vd, 0x100);
	CHECK_EQ(lo, 0x00000002u);
	CHECK_EQ(vd_rd(&vd, 0x104) & 0xffff, 0x0700);
	stop();
}

TEST(transmit)
{
	uint8_t frame[HDR_LEN + 60], got[256];
	struct vd_buf b[2] = { { TXBUF, HDR_LEN, 0 }, { TXBUF + HDR_LEN, 60, 0 } };
	uint32_t id, len;

	start(0);
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i < HDR_LEN ? 0 : i);
	CHECK_EQ(gpa_write(&th.mem, TXBUF, frame, sizeof(frame)), 0);
	/* header and frame in two buffers: one datagram */
	vd_post(&vd, TXQ, b, 2);
	vd_kick(&vd, TXQ);
	CHECK_EQ(peer_recv(got, sizeof(got), 2000), (ssize_t)sizeof(frame));
	CHECK(!memcmp(got, frame, sizeof(frame)));
	CHECK_EQ(vd_wait_used(&vd, TXQ, 2000, &id, &len), 0);
	CHECK_EQ(id, 0);
	stop();
}

TEST(receive_into_one_buffer)
{
	uint8_t frame[HDR_LEN + 100], got[HDR_LEN + 100];
	struct vd_buf b = { RXBUF, 2048, 1 };
	uint32_t id, len;
	uint16_t nb;

	start(0);
	vd_post(&vd, RXQ, &b, 1);
	vd_kick(&vd, RXQ);
	memset(frame, 0, HDR_LEN);
	for (int i = HDR_LEN; i < (int)sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7);
	CHECK_EQ(send(peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	CHECK_EQ(vd_wait_used(&vd, RXQ, 2000, &id, &len), 0);
	CHECK_EQ(len, sizeof(frame));
	CHECK_EQ(gpa_read(&th.mem, RXBUF, got, sizeof(got)), 0);
	CHECK(!memcmp(got + HDR_LEN, frame + HDR_LEN, 100));
	memcpy(&nb, got + 10, 2);
	CHECK_EQ(nb, 1);
	CHECK(th.irq_raised[5] >= 1);
	stop();
}

/* A frame that arrives before any buffer waits for one: nothing lost. */
TEST(frame_waits_for_buffers)
{
	uint8_t frame[HDR_LEN + 40] = { 0 };
	struct vd_buf b = { RXBUF, 2048, 1 };
	uint32_t id, len;

	start(0);
	frame[HDR_LEN] = 0xab;
	CHECK_EQ(send(peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	CHECK_EQ(vd_wait_used(&vd, RXQ, 100, &id, &len), -1);
	vd_post(&vd, RXQ, &b, 1);
	vd_kick(&vd, RXQ);
	CHECK_EQ(vd_wait_used(&vd, RXQ, 2000, &id, &len), 0);
	CHECK_EQ(len, sizeof(frame));
	stop();
}

/* With MRG_RXBUF a frame spreads over several small buffers. */
TEST(receive_merged_buffers)
{
	uint8_t frame[HDR_LEN + 1000] = { 0 }, hdr[HDR_LEN];
	uint32_t id, len, total = 0;
	uint16_t nb;

	start(F_MRG_RXBUF);
	for (int i = 0; i < 8; i++) {
		struct vd_buf b = { RXBUF + 0x1000ULL * (uint64_t)i, 256, 1 };

		vd_post(&vd, RXQ, &b, 1);
	}
	vd_kick(&vd, RXQ);
	for (int i = HDR_LEN; i < (int)sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	CHECK_EQ(send(peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(vd_wait_used(&vd, RXQ, 2000, &id, &len), 0);
		CHECK_EQ(id, i);
		total += len;
	}
	CHECK_EQ(total, sizeof(frame));
	CHECK_EQ(gpa_read(&th.mem, RXBUF, hdr, HDR_LEN), 0);
	memcpy(&nb, hdr + 10, 2);
	CHECK_EQ(nb, 4);
	/* the 4th buffer holds the frame's tail */
	{
		uint8_t tail;

		CHECK_EQ(gpa_read(&th.mem, RXBUF + 0x3000 + (1012 - 3 * 256 - 1),
				  &tail, 1), 0);
		CHECK_EQ(tail, (uint8_t)(1011));
	}
	stop();
}

/* Without MRG_RXBUF a frame larger than the buffer is dropped, not cut. */
TEST(frame_larger_than_buffer_is_dropped)
{
	uint8_t frame[HDR_LEN + 500] = { 0 };
	struct vd_buf b = { RXBUF, 100, 1 };
	uint32_t id, len;

	start(0);
	vd_post(&vd, RXQ, &b, 1);
	vd_kick(&vd, RXQ);
	CHECK_EQ(send(peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	CHECK_EQ(vd_wait_used(&vd, RXQ, 200, &id, &len), -1);
	/* the buffer is still there for the next frame that fits */
	CHECK_EQ(send(peer, frame, HDR_LEN + 50, 0), HDR_LEN + 50);
	CHECK_EQ(vd_wait_used(&vd, RXQ, 2000, &id, &len), 0);
	CHECK_EQ(len, HDR_LEN + 50);
	stop();
}

TEST(writable_transmit_buffer_needs_reset)
{
	struct vd_buf b = { TXBUF, 64, 1 };
	uint8_t got[128];

	start(0);
	vd_post(&vd, TXQ, &b, 1);
	vd_kick(&vd, TXQ);
	for (int i = 0; i < 500 && !(vd_rd(&vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET); i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	CHECK(vd_rd(&vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(peer_recv(got, sizeof(got), 50), -1);
	stop();
}

TEST(receive_buffer_shorter_than_header_needs_reset)
{
	uint8_t frame[HDR_LEN + 10] = { 0 };
	struct vd_buf b = { RXBUF, 4, 1 };

	start(0);
	vd_post(&vd, RXQ, &b, 1);
	vd_kick(&vd, RXQ);
	CHECK_EQ(send(peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	for (int i = 0; i < 500 && !(vd_rd(&vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET); i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	CHECK(vd_rd(&vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	stop();
}


/*
 * Transmit one chain: a header (hdr) and a frame of flen bytes (byte i is
 * i * 3), the header split over two buffers. Returns what the peer got
 * (-1: nothing), with the datagram in got; the chain is used either way.
 */
static ssize_t tx_one(const uint8_t *hdr, uint32_t flen, uint8_t *got,
		      size_t gotlen)
{
	static uint8_t frame[70000];
	struct vd_buf b[3] = {
		{ TXBUF, 5, 0 }, { TXBUF + 5, HDR_LEN - 5, 0 },
		{ TXBUF + HDR_LEN, flen, 0 },
	};
	uint32_t id, len;
	ssize_t r;

	for (uint32_t i = 0; i < flen; i++)
		frame[i] = (uint8_t)(i * 3);
	VD_MUST(gpa_write(&th.mem, TXBUF, hdr, HDR_LEN));
	if (flen)
		VD_MUST(gpa_write(&th.mem, TXBUF + HDR_LEN, frame, flen));
	vd_post(&vd, TXQ, b, flen ? 3 : 2);
	vd_kick(&vd, TXQ);
	r = peer_recv(got, gotlen, 300);
	if (vd_wait_used(&vd, TXQ, 2000, &id, &len))
		return -2;
	return r;
}

/* The header may span buffers; the frame arrives whole. */
TEST(transmit_header_split_over_buffers)
{
	static uint8_t got[HDR_LEN + 100];
	uint8_t hdr[HDR_LEN] = { 0 };

	start(0);
	CHECK_EQ(tx_one(hdr, 60, got, sizeof(got)), HDR_LEN + 60);
	CHECK_EQ(got[HDR_LEN + 59], (uint8_t)(59 * 3));
	stop();
}

/* A chain that is all header, or a runt: dropped, not sent. */
TEST(transmit_without_a_frame_is_dropped)
{
	static uint8_t got[256];
	uint8_t hdr[HDR_LEN] = { 0 };

	start(0);
	CHECK_EQ(tx_one(hdr, 0, got, sizeof(got)), -1);
	CHECK_EQ(tx_one(hdr, 13, got, sizeof(got)), -1);
	CHECK_EQ(tx_one(hdr, 14, got, sizeof(got)), HDR_LEN + 14);
	CHECK_EQ(vd_rd(&vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
	stop();
}

/* Up to a 64 KiB GSO frame with a VLAN tag goes; past it nothing does. */
TEST(transmit_over_64k_is_dropped)
{
	static uint8_t got[80000];
	uint8_t hdr[HDR_LEN] = { 0 };

	start(0);
	CHECK_EQ(tx_one(hdr, 14 + 4 + 65536, got, sizeof(got)),
		 HDR_LEN + 14 + 4 + 65536);
	CHECK_EQ(tx_one(hdr, 14 + 4 + 65537, got, sizeof(got)), -1);
	CHECK_EQ(tx_one(hdr, 70000, got, sizeof(got)), -1);
	CHECK_EQ(vd_rd(&vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
	stop();
}

/*
 * Offloads that were not negotiated (none is offered without a TAP):
 * dropped. Fields the device must not use reach the peer cleared.
 */
TEST(transmit_header_is_checked_and_cleaned)
{
	static const uint8_t bad[][HDR_LEN] = {
		{ 1, 0, 0, 0, 0, 0, 14, 0, 16, 0 },     /* NEEDS_CSUM */
		{ 1, 1, 54, 0, 100, 0, 34, 0, 16, 0 },  /* TCPv4 GSO */
		{ 1, 3, 42, 0, 100, 0, 34, 0, 6, 0 },   /* UFO */
		{ 1, 4, 74, 0, 100, 0, 54, 0, 16, 0 },  /* TCPv6 GSO */
		{ 0, 0x80 },                            /* ECN alone */
		{ 0, 7, 0, 0, 100 },                    /* no such type */
	};
	/* unknown flags, checksum fields without NEEDS_CSUM, hdr_len past
	 * the frame, num_buffers set: all ignored */
	static const uint8_t odd[HDR_LEN] = { 0x06, 0, 0x60, 0xea, 0, 0,
					      0xff, 0xff, 0xff, 0xff, 5, 0 };
	static const uint8_t clean[HDR_LEN] = { 0 };
	static uint8_t got[4096];

	start(0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(tx_one(bad[i], 2000, got, sizeof(got)), -1);
	CHECK_EQ(tx_one(odd, 60, got, sizeof(got)), HDR_LEN + 60);
	CHECK(!memcmp(got, clean, HDR_LEN));
	CHECK_EQ(vd_rd(&vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
	stop();
}

/* With VIRTIO_NET_F_MTU an unsegmented frame may not exceed it. */
TEST(transmit_over_the_mtu_is_dropped)
{
	static uint8_t got[4096];
	uint8_t hdr[HDR_LEN] = { 0 };

	start_mtu(F_MTU, 1500);
	CHECK_EQ(tx_one(hdr, 1518, got, sizeof(got)), HDR_LEN + 1518);
	CHECK_EQ(tx_one(hdr, 1519, got, sizeof(got)), -1);
	stop();
}

/* A receive header may span buffers too: num_buffers lands in both. */
TEST(receive_header_split_over_buffers)
{
	uint8_t frame[HDR_LEN + 60] = { 0 }, b2[HDR_LEN + 60];
	struct vd_buf b[3] = { { RXBUF, 1, 1 }, { RXBUF + 0x100, 10, 1 },
			       { RXBUF + 0x200, 2048, 1 } };
	uint32_t id, len;

	start(0);
	vd_post(&vd, RXQ, b, 3);
	vd_kick(&vd, RXQ);
	frame[HDR_LEN] = 0x5a;
	CHECK_EQ(send(peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	CHECK_EQ(vd_wait_used(&vd, RXQ, 2000, &id, &len), 0);
	CHECK_EQ(len, sizeof(frame));
	CHECK_EQ(gpa_read(&th.mem, RXBUF + 0x100 + 9, b2, 1), 0);
	CHECK_EQ(b2[0], 1);   /* num_buffers, low byte: the 11th header byte */
	CHECK_EQ(gpa_read(&th.mem, RXBUF + 0x200, b2, 2), 0);
	CHECK_EQ(b2[0], 0);   /* its high byte */
	CHECK_EQ(b2[1], 0x5a);
	stop();
}

UNIT_MAIN("virtio_net",
	  T(config_space_has_the_mac), T(transmit), T(receive_into_one_buffer),
	  T(frame_waits_for_buffers), T(receive_merged_buffers),
	  T(frame_larger_than_buffer_is_dropped),
	  T(writable_transmit_buffer_needs_reset),
	  T(receive_buffer_shorter_than_header_needs_reset),
	  T(transmit_header_split_over_buffers),
	  T(transmit_without_a_frame_is_dropped),
	  T(transmit_over_64k_is_dropped),
	  T(transmit_header_is_checked_and_cleaned),
	  T(transmit_over_the_mtu_is_dropped),
	  T(receive_header_split_over_buffers))
