// SPDX-License-Identifier: MIT
/*
 * Test guest: the `net` scenario on the first virtio-net device. Only
 * VIRTIO_NET_F_MAC is negotiated (no offloads, no MRG_RXBUF), so every
 * buffer starts with the 12-byte virtio-net header of virtio 1.x. Queue 0
 * is the receiveq, queue 1 the transmitq.
 *
 * Sends count= (default 3) broadcast frames of EtherType 0x88b5 (local
 * experimental) with the payload "vmm-testguest-net <N>", zero-padded to
 * the 60-byte Ethernet minimum, then waits up to 20 s for expect= (default
 * 1) frames of that EtherType whose payload starts with "vmm-host-net".
 */
#include "hw.h"
#include "lib.h"
#include "virtio.h"

#define VIRTIO_NET_F_MAC   5

#define NET_HDR_LEN        12
#define ETH_ALEN           6
#define ETH_HLEN           14
#define ETH_ZLEN           60          /* minimum frame, without FCS */
#define ETH_FRAME_MAX      1514
#define ETHERTYPE_TEST     0x88b5

#define RX_BUFS            8
#define RX_BUF_LEN         (NET_HDR_LEN + ETH_FRAME_MAX)
#define TX_TIMEOUT_NS      5000000000UL
#define RX_TIMEOUT_NS      20000000000UL
#define MAX_IGNORED_SHOWN  8

static const char tx_prefix[] = "vmm-testguest-net ";
static const char rx_prefix[] = "vmm-host-net";

static struct virtq nq[2];   /* receiveq, transmitq */
static uint8_t rx_buf[RX_BUFS][RX_BUF_LEN] __attribute__((aligned(16)));
static unsigned int rx_owner[VIRTQ_SIZE];   /* chain head -> rx_buf index */
static uint8_t tx_hdr[NET_HDR_LEN];         /* all zero: no offloads */
static uint8_t tx_frame[ETH_ZLEN + 32] __attribute__((aligned(16)));

static void post_rx(struct virtq *q, unsigned int i)
{
	struct virtio_buf b = { (uintptr_t)rx_buf[i], RX_BUF_LEN, 1 };
	int head = virtq_add(q, &b, 1);

	if (head < 0)
		fail("receiveq: %s", virtq_strerror(head));
	rx_owner[head] = i;
}

/* Decimal digits of v at p; returns the number written. */
static unsigned int put_dec(char *p, uint64_t v)
{
	char tmp[20];
	unsigned int n = 0, k = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		p[k++] = tmp[--n];
	return k;
}

static void send_frame(const struct virtio_dev *d, const uint8_t *mac,
		       uint64_t seq)
{
	struct virtio_buf b[2];
	unsigned int len;
	int r;

	memset(tx_frame, 0, sizeof(tx_frame));
	memset(tx_frame, 0xff, ETH_ALEN);
	memcpy(tx_frame + ETH_ALEN, mac, ETH_ALEN);
	tx_frame[12] = ETHERTYPE_TEST >> 8;
	tx_frame[13] = ETHERTYPE_TEST & 0xff;
	len = ETH_HLEN;
	memcpy(tx_frame + len, tx_prefix, sizeof(tx_prefix) - 1);
	len += sizeof(tx_prefix) - 1;
	len += put_dec((char *)tx_frame + len, seq);
	kprintf("net: sending ");
	put_text(tx_frame + ETH_HLEN, len - ETH_HLEN);
	kprintf("\n");
	if (len < ETH_ZLEN)
		len = ETH_ZLEN;

	/* header and frame in two descriptors: any layout is allowed */
	b[0] = (struct virtio_buf){ (uintptr_t)tx_hdr, NET_HDR_LEN, 0 };
	b[1] = (struct virtio_buf){ (uintptr_t)tx_frame, len, 0 };
	r = virtq_transfer(d, &nq[1], b, 2, TX_TIMEOUT_NS, NULL);
	if (r < 0)
		fail("transmitq: %s", virtq_strerror(r));
}

/* One received buffer: 1 if it is a frame from the host side of the test. */
static int check_frame(const uint8_t *buf, uint32_t len, unsigned int *ignored)
{
	const uint8_t *f = buf + NET_HDR_LEN;
	uint32_t flen = len - NET_HDR_LEN;
	unsigned int type;

	if (len < NET_HDR_LEN + ETH_HLEN) {
		kprintf("net: ignoring a %u-byte buffer (too short)\n", len);
		return 0;
	}
	type = (unsigned int)f[12] << 8 | f[13];
	if (type == ETHERTYPE_TEST && flen - ETH_HLEN >= sizeof(rx_prefix) - 1 &&
	    !memcmp(f + ETH_HLEN, rx_prefix, sizeof(rx_prefix) - 1)) {
		kprintf("net: got ");
		put_text(f + ETH_HLEN, flen - ETH_HLEN);
		kprintf("\n");
		return 1;
	}
	if (++*ignored <= MAX_IGNORED_SHOWN)
		kprintf("net: ignoring a %u-byte frame of EtherType 0x%04x "
			"from %02x:%02x:%02x:%02x:%02x:%02x\n", flen, type,
			f[6], f[7], f[8], f[9], f[10], f[11]);
	return 0;
}

void test_net(void)
{
	struct virtio_dev d;
	uint8_t mac[ETH_ALEN];
	uint64_t count = 3, expect = 1, deadline;
	unsigned int got = 0, ignored = 0;
	const char *err;

	time_init();
	if (param_u64("count", &count) < 0 || count > 1000)
		fail("bad count= value (0..1000)");
	if (param_u64("expect", &expect) < 0 || expect > 1000)
		fail("bad expect= value (0..1000)");
	if (virtio_find(VIRTIO_ID_NET, 0, &d))
		fail("no virtio-net device");
	if ((err = virtio_start(&d, 1ULL << VIRTIO_NET_F_MAC, nq, 2)))
		fail("virtio-net set-up: %s", err);
	kprintf("net: features offered 0x%lx, accepted 0x%lx\n", d.offered,
		d.features);
	if (!virtio_has(&d, VIRTIO_NET_F_MAC))
		fail("device does not offer VIRTIO_NET_F_MAC");
	virtio_config_bytes(&d, 0, mac, ETH_ALEN);
	kprintf("net: mac=%02x:%02x:%02x:%02x:%02x:%02x\n", mac[0], mac[1],
		mac[2], mac[3], mac[4], mac[5]);

	for (unsigned int i = 0; i < RX_BUFS && i < nq[0].size; i++)
		post_rx(&nq[0], i);
	virtq_kick(&d, &nq[0]);

	for (uint64_t i = 0; i < count; i++)
		send_frame(&d, mac, i);
	kprintf("net: sent %lu frame(s); waiting up to 20 s for %lu from "
		"the host\n", count, expect);

	deadline = now_ns() + RX_TIMEOUT_NS;
	while (got < expect) {
		uint64_t now = now_ns();
		uint32_t len;
		unsigned int i;
		int r;

		if (now >= deadline)
			fail("got %u of %lu host frame(s) within 20 s "
			     "(%u other frame(s) ignored)", got, expect,
			     ignored);
		r = virtq_wait(&d, &nq[0], deadline - now, &len);
		if (r == VIRTQ_TIMEOUT)
			continue;
		if (r < 0)
			fail("receiveq: %s", virtq_strerror(r));
		i = rx_owner[r];
		if (len > RX_BUF_LEN)
			fail("device wrote %u bytes into a %u-byte buffer", len,
			     RX_BUF_LEN);
		got += (unsigned int)check_frame(rx_buf[i], len, &ignored);
		post_rx(&nq[0], i);
		virtq_kick(&d, &nq[0]);
	}
	pass();
}

/*
 * ---- hostile-net ----
 *
 * A driver that breaks the rules on both queues, one step at a time, each
 * on a freshly started device, with its reaction printed: "hostile-net:
 * step NAME" before it and "hostile-net: NAME: what happened" after.
 * Transmit steps send frames of EtherType 0x88b5 (or IPv4 for the offload
 * ones) whose payload starts "hostile-net NAME", so the host side can tell
 * which of them reached the TAP; the test script says which must. Receive
 * steps need the host to keep sending frames (tests/vm/net.sh does, every
 * 20 ms). A step either sees what it expects or is named in the FAIL line.
 */
#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_MRG_RXBUF  15

#define HN_WAIT_NS     2000000000UL
#define HN_QUIET_NS    500000000UL  /* "nothing happens" is watched this long */
#define HN_SETTLE_US   100000       /* after each step: the host catches up */
#define HN_HDR_FLAGS_NEEDS_CSUM 1

static uint8_t hn_big[2][65536] __attribute__((aligned(16)));
static uint8_t hn_hdr[NET_HDR_LEN] __attribute__((aligned(16)));
static uint8_t hn_frame[2048] __attribute__((aligned(16)));
static uint8_t hn_rx[4][RX_BUF_LEN] __attribute__((aligned(16)));
static uint8_t hn_mac[ETH_ALEN];
static const char *hn_failed[32];
static unsigned int hn_nfailed;

static void hn_result(const char *step, int ok, const char *what)
{
	kprintf("hostile-net: %s: %s%s\n", step, what, ok ? "" : " (unexpected)");
	if (!ok && hn_nfailed < ARRAY_SIZE(hn_failed))
		hn_failed[hn_nfailed++] = step;
	delay_us(HN_SETTLE_US);
}

/* A fresh device with these features (MAC always): 1 if it started. */
static int hn_start(struct virtio_dev *d, const char *step, uint64_t want)
{
	const char *err;

	kprintf("hostile-net: step %s\n", step);
	err = virtio_start(d, want | 1ULL << VIRTIO_NET_F_MAC, nq, 2);
	if (err) {
		hn_result(step, 0, err);
		return 0;
	}
	return 1;
}

static void hn_header(uint8_t flags, uint8_t gso, uint16_t hdr_len,
		      uint16_t gso_size, uint16_t csum_start,
		      uint16_t csum_offset)
{
	uint16_t f[4] = { hdr_len, gso_size, csum_start, csum_offset };

	memset(hn_hdr, 0, sizeof(hn_hdr));
	hn_hdr[0] = flags;
	hn_hdr[1] = gso;
	for (unsigned int i = 0; i < 4; i++) {
		hn_hdr[2 + 2 * i] = (uint8_t)f[i];
		hn_hdr[3 + 2 * i] = (uint8_t)(f[i] >> 8);
	}
}

/*
 * hn_frame: Ethernet from our MAC to broadcast; proto 0: EtherType 0x88b5
 * and the tag; else IPv4 of that protocol (6 TCP, 17 UDP) with a 20-byte
 * transport header of zeros, then the tag. len bytes (at least 60).
 */
static unsigned int hn_build(const char *tag, unsigned int proto,
			     unsigned int len)
{
	static const char pre[] = "hostile-net ";
	unsigned int off = ETH_HLEN;

	if (len < ETH_ZLEN)
		len = ETH_ZLEN;
	memset(hn_frame, 0, len);
	memset(hn_frame, 0xff, ETH_ALEN);
	memcpy(hn_frame + ETH_ALEN, hn_mac, ETH_ALEN);
	if (!proto) {
		hn_frame[12] = ETHERTYPE_TEST >> 8;
		hn_frame[13] = ETHERTYPE_TEST & 0xff;
	} else {
		uint8_t *ip = hn_frame + ETH_HLEN;
		unsigned int tot = len - ETH_HLEN;

		hn_frame[12] = 0x08;
		ip[0] = 0x45;
		ip[2] = (uint8_t)(tot >> 8);
		ip[3] = (uint8_t)tot;
		ip[8] = 64;
		ip[9] = (uint8_t)proto;
		ip[12] = 10; ip[15] = 1;
		ip[16] = 10; ip[19] = 2;
		ip[20 + 12] = 0x50;    /* TCP data offset: 5 words */
		off += 40;
	}
	memcpy(hn_frame + off, pre, sizeof(pre) - 1);
	memcpy(hn_frame + off + sizeof(pre) - 1, tag, strlen(tag));
	return len;
}

/* Transmit bufs; 1 if the device used the chain without NEEDS_RESET. */
static int hn_tx(struct virtio_dev *d, const struct virtio_buf *b,
		 unsigned int nb, const char **what)
{
	int r = virtq_transfer(d, &nq[1], b, nb, HN_WAIT_NS, NULL);

	if (r < 0) {
		*what = virtq_strerror(r);
		return 0;
	}
	if (virtio_get_status(d) & VIRTIO_S_NEEDS_RESET) {
		*what = "used, but NEEDS_RESET";
		return 0;
	}
	*what = "used, device fine";
	return 1;
}

/* A transmit step: header hn_hdr + frame, chain as given by layout. */
static void hn_tx_step(struct virtio_dev *d, const char *step, uint64_t want,
		       unsigned int proto, unsigned int len)
{
	struct virtio_buf b[2];
	const char *what;
	int ok;

	if (!hn_start(d, step, want))
		return;
	len = hn_build(step, proto, len);
	b[0] = (struct virtio_buf){ (uintptr_t)hn_hdr, NET_HDR_LEN, 0 };
	b[1] = (struct virtio_buf){ (uintptr_t)hn_frame, len, 0 };
	ok = hn_tx(d, b, 2, &what);
		hn_result(step, ok, what);
}

/* Wait for a step's NEEDS_RESET after something was kicked. */
static void hn_expect_reset(struct virtio_dev *d, const char *step,
			    struct virtq *q)
{
	int r = virtq_wait(d, q, HN_WAIT_NS, NULL);

	virtio_ack_interrupt(d);
	hn_result(step, r == VIRTQ_BROKEN, r == VIRTQ_BROKEN ?
		  "NEEDS_RESET" : r >= 0 ? "used (no NEEDS_RESET)" :
		  virtq_strerror(r));
}

/*
 * Post one receive chain and wait for a host frame in it (others, such as
 * the host's IPv6 neighbour discovery, are let by): it must come with
 * num_buffers 1, read back from wherever the chain put bytes 10 and 11 of
 * the header (nb_lo, nb_hi), and the payload at pay.
 */
static void hn_rx_step(struct virtio_dev *d, const char *step,
		       const struct virtio_buf *b, unsigned int nb,
		       const volatile uint8_t *nb_lo,
		       const volatile uint8_t *nb_hi, const uint8_t *pay)
{
	for (unsigned int tries = 0; tries < 16; tries++) {
		uint32_t len = 0;
		int r;

		if (virtq_add(&nq[0], b, nb) < 0)
			fail("%s: virtq_add failed", step);
		virtq_kick(d, &nq[0]);
		r = virtq_wait(d, &nq[0], HN_WAIT_NS, &len);
		if (r < 0) {
			hn_result(step, 0, virtq_strerror(r));
			return;
		}
		if (memcmp(pay, rx_prefix, sizeof(rx_prefix) - 1)) {
			kprintf("hostile-net: %s: ignoring a %u-byte frame from "
				"the host's stack\n", step, len);
			continue;
		}
		kprintf("hostile-net: %s: %u bytes, num_buffers %u, payload "
			"\"", step, len, *nb_lo | *nb_hi << 8);
		put_text(pay, 16);
		kprintf("\"\n");
		hn_result(step, len >= NET_HDR_LEN + ETH_ZLEN && *nb_lo == 1 &&
			  *nb_hi == 0, "frame received");
		return;
	}
	hn_result(step, 0, "no frame from the host side");
}

void test_hostile_net(void)
{
	struct virtio_dev d;
	const uint64_t offload = 1ULL << VIRTIO_NET_F_CSUM |
				 1ULL << VIRTIO_NET_F_HOST_TSO4;
	const char *what;
	int ok;

	time_init();
	if (virtio_find(VIRTIO_ID_NET, 0, &d))
		fail("no virtio-net device");
	if (!hn_start(&d, "start", 0))
		fail("set-up failed");
	virtio_config_bytes(&d, 0, hn_mac, ETH_ALEN);
	/* the host side starts timing the API on this line */
	kprintf("hostile-net: started; first step in 1 s\n");
	delay_us(1000000);

	/* ---- transmit, only MAC negotiated ---- */
	/* a chain that is all header: no frame to send */
	if (hn_start(&d, "tx-all-header", 0)) {
		struct virtio_buf b = { (uintptr_t)hn_hdr, NET_HDR_LEN, 0 };

		hn_header(0, 0, 0, 0, 0, 0);
		ok = hn_tx(&d, &b, 1, &what);
		hn_result("tx-all-header", ok, what);
	}
	/* the header over three descriptors (1 + 10 + 1 with the frame) */
	if (hn_start(&d, "tx-split-header", 0)) {
		struct virtio_buf b[3];
		unsigned int len = hn_build("tx-split-header", 0, 0);

		hn_header(0, 0, 0, 0, 0, 0);
		memcpy(hn_rx[0], hn_hdr, NET_HDR_LEN - 1);
		memcpy(hn_rx[1], hn_hdr + NET_HDR_LEN - 1, 1);
		memcpy(hn_rx[1] + 1, hn_frame, len);
		b[0] = (struct virtio_buf){ (uintptr_t)hn_rx[0], 1, 0 };
		b[1] = (struct virtio_buf){ (uintptr_t)hn_rx[0] + 1, 10, 0 };
		b[2] = (struct virtio_buf){ (uintptr_t)hn_rx[1], len + 1, 0 };
		ok = hn_tx(&d, b, 3, &what);
		hn_result("tx-split-header", ok, what);
	}
	/* zero-length descriptors around and inside a good frame */
	if (hn_start(&d, "tx-zero-len", 0)) {
		unsigned int len = hn_build("tx-zero-len", 0, 0);
		struct virtio_buf b[5] = {
			{ (uintptr_t)hn_hdr, 0, 0 },
			{ (uintptr_t)hn_hdr, NET_HDR_LEN, 0 },
			{ (uintptr_t)hn_frame, 0, 0 },
			{ (uintptr_t)hn_frame, len, 0 },
			{ (uintptr_t)hn_frame, 0, 0 },
		};

		hn_header(0, 0, 0, 0, 0, 0);
		ok = hn_tx(&d, b, 5, &what);
		hn_result("tx-zero-len", ok, what);
	}
	/* a chain of zero-length descriptors only: not even a header */
	if (hn_start(&d, "tx-zero-len-only", 0)) {
		struct virtio_buf b[2] = { { (uintptr_t)hn_hdr, 0, 0 },
					   { (uintptr_t)hn_frame, 0, 0 } };

		if (virtq_add(&nq[1], b, 2) < 0)
			fail("tx-zero-len-only: virtq_add failed");
		virtq_kick(&d, &nq[1]);
		hn_expect_reset(&d, "tx-zero-len-only", &nq[1]);
	}
	/* a 131 KiB frame over four descriptors */
	if (hn_start(&d, "tx-over-64k", 0)) {
		unsigned int len = hn_build("tx-over-64k", 0, 0);
		struct virtio_buf b[4] = {
			{ (uintptr_t)hn_hdr, NET_HDR_LEN, 0 },
			{ (uintptr_t)hn_frame, len, 0 },
			{ (uintptr_t)hn_big[0], sizeof(hn_big[0]), 0 },
			{ (uintptr_t)hn_big[1], sizeof(hn_big[1]), 0 },
		};

		hn_header(0, 0, 0, 0, 0, 0);
		ok = hn_tx(&d, b, 4, &what);
		hn_result("tx-over-64k", ok, what);
	}
	/* a 224 MiB frame: 14 descriptors of 16 MiB over the same RAM */
	if (hn_start(&d, "tx-huge-chain", 0)) {
		unsigned int len = hn_build("tx-huge-chain", 0, 0);
		struct virtio_buf b[VIRTQ_SIZE];

		b[0] = (struct virtio_buf){ (uintptr_t)hn_hdr, NET_HDR_LEN, 0 };
		b[1] = (struct virtio_buf){ (uintptr_t)hn_frame, len, 0 };
		for (unsigned int i = 2; i < VIRTQ_SIZE; i++)
			b[i] = (struct virtio_buf){ (uintptr_t)_image_start,
						    16u << 20, 0 };
		hn_header(0, 0, 0, 0, 0, 0);
		ok = hn_tx(&d, b, VIRTQ_SIZE, &what);
		hn_result("tx-huge-chain", ok, what);
	}
	/* offload fields that were not negotiated */
	hn_header(HN_HDR_FLAGS_NEEDS_CSUM, 0, 0, 0, 34, 16);
	hn_tx_step(&d, "tx-csum-not-negotiated", 0, 6, 200);
	hn_header(HN_HDR_FLAGS_NEEDS_CSUM, 1, 54, 100, 34, 16);
	hn_tx_step(&d, "tx-tso-not-negotiated", 0, 6, 2000);
	hn_header(HN_HDR_FLAGS_NEEDS_CSUM, 3, 42, 100, 34, 6);
	hn_tx_step(&d, "tx-ufo-not-offered", 0, 17, 2000);
	hn_header(HN_HDR_FLAGS_NEEDS_CSUM, 7, 54, 100, 34, 16);
	hn_tx_step(&d, "tx-gso-type-7", 0, 6, 2000);
	hn_header(0, 0x80, 0, 0, 0, 0);
	hn_tx_step(&d, "tx-gso-ecn-alone", 0, 0, 0);
	/* fields the device must ignore: unknown flags, checksum fields
	 * without NEEDS_CSUM, hdr_len (a hint) past the frame */
	hn_header(0x06, 0, 60000, 0, 0xffff, 0xffff);
	hn_tx_step(&d, "tx-ignored-fields", 0, 0, 0);

	/* ---- transmit with checksum and TSO negotiated (if offered) ---- */
	if (hn_start(&d, "offloads", offload) &&
	    (d.features & offload) == offload) {
		hn_result("offloads", 1, "CSUM and HOST_TSO4 negotiated");
		hn_header(HN_HDR_FLAGS_NEEDS_CSUM, 0, 0, 0, 50, 40);
		hn_tx_step(&d, "tx-csum-past-frame", offload, 0, 0);
		hn_header(HN_HDR_FLAGS_NEEDS_CSUM, 0, 0, 0, 0xfff0, 0);
		hn_tx_step(&d, "tx-csum-start-past-frame", offload, 0, 0);
		hn_header(HN_HDR_FLAGS_NEEDS_CSUM, 1, 54, 0, 34, 16);
		hn_tx_step(&d, "tx-tso-size-0", offload, 6, 2000);
		hn_header(0, 1, 54, 100, 0, 0);
		hn_tx_step(&d, "tx-tso-without-csum", offload, 6, 2000);
		hn_header(HN_HDR_FLAGS_NEEDS_CSUM, 1, 54, 1000, 34, 16);
		hn_tx_step(&d, "tx-tso-good", offload, 6, 2000);
	} else {
		hn_result("offloads", 1, "not offered (no TAP): skipped");
	}

	/* ---- receive, without mergeable buffers ---- */
	if (hn_start(&d, "rx-1-byte", 0)) {
		struct virtio_buf b = { (uintptr_t)hn_rx[0], 1, 1 };

		if (virtq_add(&nq[0], &b, 1) < 0)
			fail("rx-1-byte: virtq_add failed");
		virtq_kick(&d, &nq[0]);
		hn_expect_reset(&d, "rx-1-byte", &nq[0]);
	}
	if (hn_start(&d, "rx-zero-len-only", 0)) {
		struct virtio_buf b[2] = { { (uintptr_t)hn_rx[0], 0, 1 },
					   { (uintptr_t)hn_rx[1], 0, 1 } };

		if (virtq_add(&nq[0], b, 2) < 0)
			fail("rx-zero-len-only: virtq_add failed");
		virtq_kick(&d, &nq[0]);
		hn_expect_reset(&d, "rx-zero-len-only", &nq[0]);
	}
	/* the header over three descriptors: 1 + 10 + the rest */
	if (hn_start(&d, "rx-split-header", 0)) {
		struct virtio_buf b[3] = {
			{ (uintptr_t)hn_rx[0], 1, 1 },
			{ (uintptr_t)hn_rx[1], 10, 1 },
			{ (uintptr_t)hn_rx[2], RX_BUF_LEN, 1 },
		};

		memset(hn_rx, 0xee, sizeof(hn_rx));
		hn_rx_step(&d, "rx-split-header", b, 3, &hn_rx[1][9],
			   &hn_rx[2][0], &hn_rx[2][1 + ETH_HLEN]);
	}
	if (hn_start(&d, "rx-zero-len", 0)) {
		struct virtio_buf b[4] = {
			{ (uintptr_t)hn_rx[0], 0, 1 },
			{ (uintptr_t)hn_rx[1], NET_HDR_LEN, 1 },
			{ (uintptr_t)hn_rx[0], 0, 1 },
			{ (uintptr_t)hn_rx[2], RX_BUF_LEN, 1 },
		};

		memset(hn_rx, 0xee, sizeof(hn_rx));
		hn_rx_step(&d, "rx-zero-len", b, 4, &hn_rx[1][10],
			   &hn_rx[1][11], &hn_rx[2][ETH_HLEN]);
	}
	/* a buffer no frame fits: frames are dropped, the device goes on */
	if (hn_start(&d, "rx-too-small", 0)) {
		struct virtio_buf b = { (uintptr_t)hn_rx[0], NET_HDR_LEN + 20, 1 };
		int r;

		if (virtq_add(&nq[0], &b, 1) < 0)
			fail("rx-too-small: virtq_add failed");
		virtq_kick(&d, &nq[0]);
		r = virtq_wait(&d, &nq[0], HN_QUIET_NS, NULL);
		hn_result("rx-too-small", r == VIRTQ_TIMEOUT, r == VIRTQ_TIMEOUT ?
			  "not used, no NEEDS_RESET (frames dropped)" :
			  r >= 0 ? "used (a frame cut short?)" : virtq_strerror(r));
	}

	/* ---- receive with mergeable buffers ---- */
	if (hn_start(&d, "rx-mrg-1-byte", 1ULL << VIRTIO_NET_F_MRG_RXBUF)) {
		struct virtio_buf b = { (uintptr_t)hn_rx[0], 1, 1 };

		ok = virtio_has(&d, VIRTIO_NET_F_MRG_RXBUF);
		if (virtq_add(&nq[0], &b, 1) < 0)
			fail("rx-mrg-1-byte: virtq_add failed");
		virtq_kick(&d, &nq[0]);
		if (ok)
			hn_expect_reset(&d, "rx-mrg-1-byte", &nq[0]);
		else
			hn_result("rx-mrg-1-byte", 1, "MRG_RXBUF not offered: skipped");
	}
	if (hn_start(&d, "rx-mrg-split-header", 1ULL << VIRTIO_NET_F_MRG_RXBUF)) {
		/* 6 + 6 + 1520 bytes: room for a 1518-byte frame */
		struct virtio_buf b[3] = {
			{ (uintptr_t)hn_rx[0], 6, 1 },
			{ (uintptr_t)hn_rx[0] + 64, 6, 1 },
			{ (uintptr_t)hn_rx[1], 1520, 1 },
		};

		memset(hn_rx, 0xee, sizeof(hn_rx));
		hn_rx_step(&d, "rx-mrg-split-header", b, 3, &hn_rx[0][64 + 4],
			   &hn_rx[0][64 + 5], &hn_rx[1][ETH_HLEN]);
	}

	/* ---- and after all that, a plain frame each way ---- */
	if (hn_start(&d, "recovery", 0)) {
		struct virtio_buf b = { (uintptr_t)hn_rx[0], RX_BUF_LEN, 1 };

		hn_header(0, 0, 0, 0, 0, 0);
		hn_tx_step(&d, "recovery-tx", 0, 0, 0);
		memset(hn_rx, 0xee, sizeof(hn_rx));
		hn_rx_step(&d, "recovery-rx", &b, 1, &hn_rx[0][10],
			   &hn_rx[0][11], &hn_rx[0][NET_HDR_LEN + ETH_HLEN]);
	}
	virtio_reset(&d);
	if (hn_nfailed) {
		kprintf("TESTGUEST FAIL %s: step(s)", current_test);
		for (unsigned int i = 0; i < hn_nfailed; i++)
			kprintf(" %s", hn_failed[i]);
		kprintf(" did not see the expected device reaction\n");
		shutdown();
	}
	pass();
}
