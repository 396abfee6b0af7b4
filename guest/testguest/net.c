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
