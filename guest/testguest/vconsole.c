// SPDX-License-Identifier: MIT
/*
 * Test guest: the `console` scenario on the virtio console (single port,
 * VIRTIO_CONSOLE_F_MULTIPORT not negotiated): queue 0 is the receiveq
 * (host -> guest), queue 1 the transmitq. Say hello on hvc0, read one line
 * from it, report the line on the serial port and echo it back on hvc0.
 */
#include "hw.h"
#include "lib.h"
#include "virtio.h"

#define RX_BUFS        4
#define RX_BUF_LEN     64
#define LINE_MAX       128
#define TX_TIMEOUT_NS  5000000000UL
#define RX_TIMEOUT_NS  20000000000UL

static const char hello[] = "virtio-console: hello from hvc0\n";

static struct virtq cq[2];   /* receiveq, transmitq */
static uint8_t rx_buf[RX_BUFS][RX_BUF_LEN];
static unsigned int rx_owner[VIRTQ_SIZE];   /* chain head -> rx_buf index */
static char tx_buf[LINE_MAX + 16];

static void post_rx(struct virtq *q, unsigned int i)
{
	struct virtio_buf b = { (uintptr_t)rx_buf[i], RX_BUF_LEN, 1 };
	int head = virtq_add(q, &b, 1);

	if (head < 0)
		fail("receiveq: %s", virtq_strerror(head));
	rx_owner[head] = i;
}

static void send(const struct virtio_dev *d, const void *s, size_t n)
{
	struct virtio_buf b = { (uintptr_t)s, (uint32_t)n, 0 };
	int r = virtq_transfer(d, &cq[1], &b, 1, TX_TIMEOUT_NS, NULL);

	if (r < 0)
		fail("transmitq: %s", virtq_strerror(r));
}

void test_virtio_console(void)
{
	struct virtio_dev d;
	char line[LINE_MAX];
	unsigned int n = 0;
	uint64_t deadline;
	const char *err;
	int done = 0;

	time_init();
	if (virtio_find(VIRTIO_ID_CONSOLE, 0, &d))
		fail("no virtio console");
	if ((err = virtio_start(&d, 0, cq, 2)))
		fail("virtio console set-up: %s", err);
	kprintf("console: features offered 0x%lx, accepted 0x%lx\n",
		d.offered, d.features);

	/* Receive buffers first, so no input has to wait for them. */
	for (unsigned int i = 0; i < RX_BUFS; i++)
		post_rx(&cq[0], i);
	virtq_kick(&d, &cq[0]);

	send(&d, hello, sizeof(hello) - 1);
	kprintf("console: sent the hello line on the transmitq; waiting up "
		"to 20 s for a line on the receiveq\n");

	deadline = now_ns() + RX_TIMEOUT_NS;
	while (!done) {
		uint64_t now = now_ns();
		uint32_t len;
		unsigned int i;
		int r;

		if (now >= deadline)
			fail("no complete line within 20 s (got %u bytes)", n);
		r = virtq_wait(&d, &cq[0], deadline - now, &len);
		if (r == VIRTQ_TIMEOUT)
			fail("no complete line within 20 s (got %u bytes)", n);
		if (r < 0)
			fail("receiveq: %s", virtq_strerror(r));
		i = rx_owner[r];
		if (len > RX_BUF_LEN)
			fail("device wrote %u bytes into a %u-byte buffer", len,
			     RX_BUF_LEN);
		for (uint32_t k = 0; k < len && !done; k++) {
			char c = (char)rx_buf[i][k];

			if (c == '\n' || c == '\r')
				done = n > 0;   /* skip empty lines */
			else if (n < LINE_MAX - 1)
				line[n++] = c;
		}
		post_rx(&cq[0], i);
		virtq_kick(&d, &cq[0]);
	}
	line[n] = '\0';
	kprintf("console: got ");
	put_text(line, n);
	kprintf("\n");

	memcpy(tx_buf, "echo: ", 6);
	memcpy(tx_buf + 6, line, n);
	tx_buf[6 + n] = '\n';
	send(&d, tx_buf, 6 + n + 1);
	pass();
}
