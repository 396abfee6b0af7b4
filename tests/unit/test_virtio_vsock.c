// SPDX-License-Identifier: MIT
/*
 * virtio-vsock driven as a guest would (vdriver.h), with Unix sockets on
 * the host side as Firecracker has them: a guest connection to host port
 * P reaching the listener at <uds_path>_P, data both ways, a clean close;
 * a host "CONNECT <port>" answered "OK <port>"; refusals; and the bounds:
 * a guest that ignores its credit loses the connection instead of making
 * the device buffer, a guest that stops granting credit stops the data.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../devices/devices.h"
#include "../../vmm/config.h"
#include "testhost.h"
#include "unit.h"
#include "vdriver.h"

#define MEM     (4ULL << 20)
#define RXBUF   0x100000ULL  /* VD_QSIZE receive buffers, RXLEN each */
#define RXLEN   (44 + 4096)
#define TXBUF   0x200000ULL  /* one packet at a time */
#define RXQ 0
#define TXQ 1
#define CID 3
#define HDR 44

enum { REQUEST = 1, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST };

static struct testhost th;
static struct bus mmio;
static struct vdriver vd;
static pthread_t loop_thread;
static char path[64];
static uint64_t rx_gpa[VD_QSIZE];

struct hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

static void *run_loop(void *arg)
{
	(void)evloop_run(arg);
	return NULL;
}

static void post_rx(void)
{
	struct vd_buf b = { 0, RXLEN, 1 };
	uint16_t head;

	b.gpa = RXBUF + (uint64_t)vd.next_desc[RXQ] * 0x2000;
	head = vd_post(&vd, RXQ, &b, 1);
	rx_gpa[head] = b.gpa;
}

static void start(unsigned int rx_buffers)
{
	struct vm_vsock cfg = { .enabled = true, .guest_cid = CID };
	struct virtio_dev *d;

	snprintf(path, sizeof(path), "/tmp/vmm-test-vsock.%d", (int)getpid());
	snprintf(cfg.uds_path, sizeof(cfg.uds_path), "%s", path);
	if (testhost_init(&th, MEM))
		abort();
	bus_init(&mmio, "mmio");
	if (virtio_vsock_create(&th.host, &cfg, &d) ||
	    virtio_mmio_attach(d, &mmio, VD_MMIO, 5))
		abort();
	vd = (struct vdriver){ .bus = &mmio, .mem = &th.mem, .base = VD_MMIO };
	if (pthread_create(&loop_thread, NULL, run_loop, th.host.loop))
		abort();
	vd_init(&vd, 3, 0, 1);
	for (unsigned int i = 0; i < rx_buffers; i++)
		post_rx();
	vd_kick(&vd, RXQ);
}

static void stop(void)
{
	evloop_stop(th.host.loop);
	pthread_join(loop_thread, NULL);
	testhost_destroy(&th);
	bus_destroy(&mmio);
}

/* A packet from the guest: header and payload in one readable buffer. */
static int guest_send(uint16_t op, uint32_t sport, uint32_t dport,
		      const void *data, uint32_t len, uint32_t flags,
		      uint32_t buf_alloc, uint32_t fwd_cnt)
{
	struct hdr h = {
		.src_cid = CID, .dst_cid = 2, .src_port = sport,
		.dst_port = dport, .len = len, .type = 1, .op = op,
		.flags = flags, .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt,
	};
	struct vd_buf b = { TXBUF, HDR + len, 0 };
	uint32_t id, ulen;

	if (gpa_write(&th.mem, TXBUF, &h, HDR) ||
	    (len && gpa_write(&th.mem, TXBUF + HDR, data, len)))
		return -1;
	vd_post(&vd, TXQ, &b, 1);
	vd_kick(&vd, TXQ);
	return vd_wait_used(&vd, TXQ, 2000, &id, &ulen);
}

/* The next packet to the guest (payload into data); the buffer is reposted. */
static int guest_recv(struct hdr *h, void *data, size_t max, int ms)
{
	uint32_t id, len;

	if (vd_wait_used(&vd, RXQ, ms, &id, &len) || id >= VD_QSIZE ||
	    len < HDR || gpa_read(&th.mem, rx_gpa[id], h, HDR))
		return -1;
	if (h->len != len - HDR || h->len > max ||
	    (h->len && gpa_read(&th.mem, rx_gpa[id] + HDR, data, h->len)))
		return -1;
	post_rx();
	vd_kick(&vd, RXQ);
	return 0;
}

static int unix_listen(const char *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
	unlink(p);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 8))
		abort();
	return fd;
}

static int unix_connect(const char *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		abort();
	return fd;
}

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

TEST(config_space_has_the_cid)
{
	start(0);
	CHECK_EQ(vd_rd(&vd, 0x100), CID);
	CHECK_EQ(vd_rd(&vd, 0x104), 0);
	CHECK_EQ(vd_rd(&vd, 0x000), 0x74726976);
	CHECK_EQ(vd_rd(&vd, 0x008), 19);
	stop();
}

/* The guest connects to host port 5000: the listener at <uds_path>_5000. */
TEST(guest_connects_to_host_port)
{
	char lpath[80], buf[64];
	struct hdr h;
	int l, c;

	start(8);
	snprintf(lpath, sizeof(lpath), "%s_5000", path);
	l = unix_listen(lpath);
	CHECK_EQ(guest_send(REQUEST, 1234, 5000, NULL, 0, 0, 65536, 0), 0);
	CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
	CHECK_EQ(h.op, RESPONSE);
	CHECK_EQ(h.src_cid, 2);
	CHECK_EQ(h.dst_cid, CID);
	CHECK_EQ(h.src_port, 5000);
	CHECK_EQ(h.dst_port, 1234);
	CHECK_EQ(h.buf_alloc, 65536);
	c = accept(l, NULL, NULL);
	CHECK(c >= 0);
	/* guest -> host */
	CHECK_EQ(guest_send(RW, 1234, 5000, "hello", 5, 0, 65536, 0), 0);
	CHECK(readable(c, 2000));
	CHECK_EQ(read(c, buf, sizeof(buf)), 5);
	CHECK(!memcmp(buf, "hello", 5));
	/* host -> guest */
	CHECK_EQ(write(c, "world!", 6), 6);
	CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
	CHECK_EQ(h.op, RW);
	CHECK_EQ(h.len, 6);
	CHECK(!memcmp(buf, "world!", 6));
	CHECK_EQ(h.fwd_cnt, 5);
	/* the guest closes: the host reads the end, the guest gets its RST */
	CHECK_EQ(guest_send(SHUTDOWN, 1234, 5000, NULL, 0, 3, 65536, 6), 0);
	CHECK(readable(c, 2000));
	CHECK_EQ(read(c, buf, sizeof(buf)), 0);
	CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
	CHECK_EQ(h.op, RST);
	close(c);
	close(l);
	unlink(lpath);
	stop();
}

/* Nobody listens at <uds_path>_6000: a RST. */
TEST(guest_connect_refused)
{
	char buf[8];
	struct hdr h;

	start(4);
	CHECK_EQ(guest_send(REQUEST, 77, 6000, NULL, 0, 0, 65536, 0), 0);
	CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
	CHECK_EQ(h.op, RST);
	CHECK_EQ(h.dst_port, 77);
	/* data for a connection that does not exist: a RST too */
	CHECK_EQ(guest_send(RW, 78, 6000, "x", 1, 0, 65536, 0), 0);
	CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
	CHECK_EQ(h.op, RST);
	CHECK_EQ(h.dst_port, 78);
	stop();
}

/* The host connects: CONNECT 5001 -> REQUEST -> RESPONSE -> OK <port>. */
TEST(host_connects_to_guest_port)
{
	char buf[64], want[32];
	struct hdr h;
	int c, n;

	start(8);
	c = unix_connect(path);
	CHECK_EQ(write(c, "CONNECT 5001\nabc", 16), 16);
	CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
	CHECK_EQ(h.op, REQUEST);
	CHECK_EQ(h.dst_port, 5001);
	CHECK(h.src_port >= (1u << 30));
	CHECK(!readable(c, 50)); /* no answer before the guest's */
	CHECK_EQ(guest_send(RESPONSE, 5001, h.src_port, NULL, 0, 0, 65536, 0), 0);
	CHECK(readable(c, 2000));
	n = snprintf(want, sizeof(want), "OK %u\n", h.src_port);
	CHECK_EQ(read(c, buf, (size_t)n), n);
	CHECK(!memcmp(buf, want, (size_t)n));
	/* what followed the line is the stream's */
	CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
	CHECK_EQ(h.op, RW);
	CHECK_EQ(h.len, 3);
	CHECK(!memcmp(buf, "abc", 3));
	/* the host closes: the guest hears of it */
	close(c);
	CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
	CHECK_EQ(h.op, SHUTDOWN);
	CHECK_EQ(h.flags, 3);
	stop();
}

/* Not "CONNECT <port>\n": the host's connection is closed. */
TEST(host_bad_line_closed)
{
	char buf[8];
	int c;

	start(2);
	c = unix_connect(path);
	CHECK_EQ(write(c, "HELLO 1\n", 8), 8);
	CHECK(readable(c, 2000));
	CHECK_EQ(read(c, buf, sizeof(buf)), 0);
	close(c);
	c = unix_connect(path);
	CHECK_EQ(write(c, "CONNECT 99999999999\n", 20), 20);
	CHECK(readable(c, 2000));
	CHECK_EQ(read(c, buf, sizeof(buf)), 0);
	close(c);
	stop();
}

/* A guest granting 4096 bytes and no more gets 4096 bytes, then a
 * CREDIT_REQUEST, and nothing else: the rest stays in the host's socket. */
TEST(guest_credit_bounds_host_data)
{
	static char big[65536];
	char buf[4200];
	uint32_t got = 0;
	struct hdr h;
	int c;

	start(8);
	c = unix_connect(path);
	CHECK_EQ(write(c, "CONNECT 7\n", 10), 10);
	CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
	CHECK_EQ(guest_send(RESPONSE, 7, h.src_port, NULL, 0, 0, 4096, 0), 0);
	CHECK_EQ(read(c, buf, 14), 14); /* OK 1073741824\n */
	CHECK_EQ(write(c, big, sizeof(big)), (ssize_t)sizeof(big));
	while (got < 4096) {
		CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
		CHECK_EQ(h.op, RW);
		got += h.len;
	}
	CHECK_EQ(got, 4096);
	CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
	CHECK_EQ(h.op, CREDIT_REQUEST);
	CHECK(guest_recv(&h, buf, sizeof(buf), 200) < 0);
	/* credit again: the data flows again */
	CHECK_EQ(guest_send(CREDIT_UPDATE, 7, h.src_port, NULL, 0, 0, 4096, 4096), 0);
	CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
	CHECK_EQ(h.op, RW);
	CHECK_EQ(h.len, 4096);
	close(c);
	stop();
}

/* A guest sending past its credit while the host does not read: RST, and
 * the device never held more than its 64 KiB. */
TEST(guest_ignoring_credit_is_reset)
{
	static char chunk[4096];
	char lpath[80], buf[64];
	struct hdr h;
	int l, c, i, rst = 0;

	start(8);
	snprintf(lpath, sizeof(lpath), "%s_5002", path);
	l = unix_listen(lpath);
	CHECK_EQ(guest_send(REQUEST, 40, 5002, NULL, 0, 0, 65536, 0), 0);
	CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
	CHECK_EQ(h.op, RESPONSE);
	c = accept(l, NULL, NULL);
	CHECK(c >= 0);
	/* 64 MiB, far beyond any socket buffer and any credit given */
	for (i = 0; i < 16384 && !rst; i++) {
		CHECK_EQ(guest_send(RW, 40, 5002, chunk, sizeof(chunk), 0,
				    65536, 0), 0);
		if (vd_used_idx(&vd, RXQ) != vd.used_seen[RXQ]) {
			CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
			rst = h.op == RST;
		}
	}
	CHECK(rst);
	close(c);
	close(l);
	unlink(lpath);
	stop();
}

/* Hostile headers: wrong CIDs and types are dropped, nothing crashes. */
TEST(hostile_headers)
{
	struct hdr h = { .src_cid = 9, .dst_cid = 2, .type = 1, .op = RW,
			 .len = 0xffffffffu };
	struct vd_buf b = { TXBUF, HDR, 0 }, tiny = { TXBUF, 10, 0 };
	uint32_t id, len;
	char buf[8];

	start(4);
	CHECK_EQ(gpa_write(&th.mem, TXBUF, &h, HDR), 0);
	vd_post(&vd, TXQ, &b, 1);
	vd_post(&vd, TXQ, &tiny, 1);
	vd_kick(&vd, TXQ);
	CHECK_EQ(vd_wait_used(&vd, TXQ, 2000, &id, &len), 0);
	CHECK_EQ(vd_wait_used(&vd, TXQ, 2000, &id, &len), 0);
	/* a claimed length beyond the buffer, for a connection: dropped */
	CHECK_EQ(guest_send(RW, 1, 2, NULL, 0, 0, 0, 0), 0);
	CHECK_EQ(guest_recv(&h, buf, sizeof(buf), 2000), 0);
	CHECK_EQ(h.op, RST);
	stop();
}

UNIT_MAIN("virtio_vsock",
	  T(config_space_has_the_cid),
	  T(guest_connects_to_host_port),
	  T(guest_connect_refused),
	  T(host_connects_to_guest_port),
	  T(host_bad_line_closed),
	  T(guest_credit_bounds_host_data),
	  T(guest_ignoring_credit_is_reset),
	  T(hostile_headers))
