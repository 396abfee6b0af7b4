// SPDX-License-Identifier: MIT
/*
 * Test guest: virtio-vsock (virtio 1.x, 5.10) from the guest's side, as a
 * hostile driver would use it, with Firecracker's Unix-socket host side
 * behind (tests/vm/vsock.sh runs an echo listener at <uds_path>_5000).
 *
 *   test=vsock   echo: REQUEST to host port 5000, RESPONSE, data out and
 *                back. Then hostile steps, each on a fresh device: a
 *                transmit buffer outside RAM, a looping transmit chain, a
 *                receive buffer the device may only read (each must give
 *                NEEDS_RESET), a data packet claiming more bytes than its
 *                buffer and one far beyond the credit (the connection is
 *                reset, the device goes on). After all that the echo works
 *                again, and the host's "CONNECT 5001" reaches this guest.
 */
#include "lib.h"
#include "virtio.h"

#define VIRTIO_ID_VSOCK 19
#define HOST_CID 2
#define HDR 44
#define RXQ 0
#define TXQ 1
#define EVQ 2
#define STEP_TIMEOUT_NS 2000000000ULL
#define HOSTILE_BAD_ADDR 0xfff000000ULL /* far above the guest's RAM */

enum { REQUEST = 1, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST };

struct vhdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

struct pkt {
	struct vhdr h;
	uint8_t data[512];
} __attribute__((packed));

static struct virtq vq[3];
static struct pkt txp, rxp[4];
static uint8_t big[8192];
static uint64_t cid;
static uint32_t next_port = 40000;

static const char *start(struct virtio_dev *d)
{
	const char *err = virtio_start(d, 0, vq, 3);

	if (err)
		return err;
	cid = virtio_config64(d, 0);
	for (unsigned int i = 0; i < 4; i++) {
		struct virtio_buf b = { (uintptr_t)&rxp[i], sizeof(rxp[i]), 1 };

		if (virtq_add(&vq[RXQ], &b, 1) < 0)
			return "cannot post receive buffers";
	}
	virtq_kick(d, &vq[RXQ]);
	return NULL;
}

/* Send one packet (header + n bytes of data); 0 once the device took it. */
static int send(struct virtio_dev *d, uint16_t op, uint32_t sport,
		uint32_t dport, const void *data, uint32_t len, uint32_t buf_alloc)
{
	struct virtio_buf b = { (uintptr_t)&txp, HDR + len, 0 };

	txp.h = (struct vhdr){
		.src_cid = cid, .dst_cid = HOST_CID, .src_port = sport,
		.dst_port = dport, .len = len, .type = 1, .op = op,
		.buf_alloc = buf_alloc,
	};
	if (len)
		memcpy(txp.data, data, len);
	return virtq_transfer(d, &vq[TXQ], &b, 1, STEP_TIMEOUT_NS, NULL) < 0 ?
	       -1 : 0;
}

/* The next packet the device gives; its buffer goes back. NULL: none. */
static const struct pkt *receive(struct virtio_dev *d, struct pkt *copy)
{
	int head = virtq_wait(d, &vq[RXQ], STEP_TIMEOUT_NS, NULL);
	struct virtio_buf b;

	if (head < 0)
		return NULL;
	for (unsigned int i = 0; i < 4; i++)
		if (vq[RXQ].desc[head].addr == (uintptr_t)&rxp[i]) {
			memcpy(copy, &rxp[i], sizeof(*copy));
			b = (struct virtio_buf){ (uintptr_t)&rxp[i],
						 sizeof(rxp[i]), 1 };
			virtq_add(&vq[RXQ], &b, 1);
			virtq_kick(d, &vq[RXQ]);
			return copy;
		}
	return NULL;
}

/* Connect to host port 5000, send "ping N", read it back. 0 or -1. */
static int echo(struct virtio_dev *d, const char *step)
{
	static struct pkt in;
	uint32_t port = next_port++;
	char msg[] = "ping from the test guest";

	if (send(d, REQUEST, port, 5000, NULL, 0, 65536) ||
	    !receive(d, &in) || in.h.op != RESPONSE) {
		kprintf("vsock: %s: no RESPONSE from host port 5000 (op %u)\n",
			step, in.h.op);
		return -1;
	}
	if (send(d, RW, port, 5000, msg, sizeof(msg), 65536) ||
	    !receive(d, &in) || in.h.op != RW || in.h.len != sizeof(msg) ||
	    memcmp(in.data, msg, sizeof(msg))) {
		kprintf("vsock: %s: no echo (op %u, len %u)\n", step, in.h.op,
			in.h.len);
		return -1;
	}
	kprintf("vsock: %s: connected to host port 5000 from %u, %u bytes "
		"echoed\n", step, port, in.h.len);
	send(d, RST, port, 5000, NULL, 0, 65536);
	return 0;
}

static int needs_reset(struct virtio_dev *d, struct virtq *q, const char *step)
{
	int r = virtq_wait(d, q, STEP_TIMEOUT_NS, NULL);
	uint32_t st = virtio_get_status(d);

	kprintf("vsock: %s: %s, Status 0x%x (%s)\n", step,
		r >= 0 ? "buffer used" : virtq_strerror(r), st,
		st & VIRTIO_S_NEEDS_RESET ? "NEEDS_RESET" : "no NEEDS_RESET");
	virtio_ack_interrupt(d);
	return (st & VIRTIO_S_NEEDS_RESET) != 0;
}

void test_vsock(void)
{
	static struct pkt in;
	struct virtio_dev d;
	const char *failed[8];
	unsigned int nfailed = 0;
	const char *err;
	int ok;

	time_init();
	if (virtio_find(VIRTIO_ID_VSOCK, 0, &d))
		fail("no virtio-vsock device");
	if ((err = start(&d)))
		fail("set-up: %s", err);
	kprintf("vsock: guest_cid %lu\n", (unsigned long)cid);
	if (echo(&d, "echo"))
		fail("echo with the host did not work");

	/* 1: a transmit buffer outside guest RAM */
	ok = !start(&d);
	if (ok) {
		struct virtio_buf b = { HOSTILE_BAD_ADDR, HDR, 0 };

		virtq_add(&vq[TXQ], &b, 1);
		virtq_kick(&d, &vq[TXQ]);
		ok = needs_reset(&d, &vq[TXQ], "tx-bad-address");
	}
	if (!ok)
		failed[nfailed++] = "tx-bad-address";

	/* 2: a transmit chain that loops */
	ok = !start(&d);
	if (ok) {
		vq[TXQ].desc[0] = (struct virtq_desc){ (uintptr_t)&txp, HDR,
			VIRTQ_DESC_F_NEXT, 1 };
		vq[TXQ].desc[1] = (struct virtq_desc){ (uintptr_t)&txp, HDR,
			VIRTQ_DESC_F_NEXT, 0 };
		virtq_publish(&vq[TXQ], 0);
		virtq_kick(&d, &vq[TXQ]);
		ok = needs_reset(&d, &vq[TXQ], "tx-loop");
	}
	if (!ok)
		failed[nfailed++] = "tx-loop";

	/* 3: a receive buffer the device may not write (and nothing else) */
	ok = !virtio_negotiate(&d, 0);
	for (unsigned int q = 0; ok && q < 3; q++)
		ok = !virtio_queue_setup(&d, &vq[q], q, VIRTQ_SIZE);
	if (ok) {
		struct virtio_buf b = { (uintptr_t)&rxp[0], sizeof(rxp[0]), 0 };

		virtio_driver_ok(&d);
		virtq_add(&vq[RXQ], &b, 1);
		virtq_kick(&d, &vq[RXQ]);
		/* something for the device to say: a RST for port 1 */
		send(&d, REQUEST, next_port++, 1, NULL, 0, 65536);
		ok = needs_reset(&d, &vq[RXQ], "rx-readable");
	}
	if (!ok)
		failed[nfailed++] = "rx-readable";

	/* 4: data claiming 4 GiB in a 44-byte buffer, then a flood past the
	 * credit: connections reset, the device still working */
	ok = !start(&d);
	if (ok) {
		uint32_t port = next_port++;
		struct virtio_buf b = { (uintptr_t)&txp, HDR, 0 };
		int rst = 0;

		ok = !send(&d, REQUEST, port, 5000, NULL, 0, 65536) &&
		     receive(&d, &in) && in.h.op == RESPONSE;
		txp.h.op = RW;
		txp.h.len = 0xffffffffu;
		ok = ok && virtq_transfer(&d, &vq[TXQ], &b, 1, STEP_TIMEOUT_NS,
					  NULL) >= 0;
		ok = ok && receive(&d, &in) && in.h.op == RST;
		kprintf("vsock: length-lie: %s\n", ok ? "connection reset" :
			"no RST");
		/* 256 x 8 KiB = 2 MiB while we grant... and the host reads */
		port = next_port++;
		ok = ok && !send(&d, REQUEST, port, 5000, NULL, 0, 0) &&
		     receive(&d, &in) && in.h.op == RESPONSE;
		for (unsigned int i = 0; ok && i < 256 && !rst; i++) {
			struct virtio_buf bb[2] = {
				{ (uintptr_t)&txp, HDR, 0 },
				{ (uintptr_t)big, sizeof(big), 0 },
			};

			txp.h = (struct vhdr){
				.src_cid = cid, .dst_cid = HOST_CID,
				.src_port = port, .dst_port = 5000,
				.len = sizeof(big), .type = 1, .op = RW,
			};
			ok = virtq_transfer(&d, &vq[TXQ], bb, 2, STEP_TIMEOUT_NS,
					    NULL) >= 0;
			/* the echo comes back (credit 0: it must not), or RST */
			while (ok && vq[RXQ].used.idx != vq[RXQ].last_used) {
				if (!receive(&d, &in))
					break;
				if (in.h.op == RW) {
					kprintf("vsock: flood: data beyond the "
						"credit we gave (0)\n");
					ok = 0;
				}
				rst |= in.h.op == RST;
			}
		}
		kprintf("vsock: flood: %s\n", rst ? "connection reset" :
			"never reset");
		ok = ok && rst && !(virtio_get_status(&d) & VIRTIO_S_NEEDS_RESET);
	}
	if (!ok)
		failed[nfailed++] = "lies";

	/* 5: after all that, the device works */
	ok = !start(&d) && !echo(&d, "recovery");
	if (!ok)
		failed[nfailed++] = "recovery";

	/* 6: the host connects to port 5001 (tests/vm/vsock.sh) */
	if (ok) {
		uint64_t t0 = now_ns();

		kprintf("vsock: waiting for the host's connection to port 5001\n");
		ok = 0;
		while (!ok && now_ns() - t0 < 20 * STEP_TIMEOUT_NS) {
			if (!receive(&d, &in))
				continue;
			if (in.h.op == REQUEST && in.h.dst_port == 5001) {
				send(&d, RESPONSE, 5001, in.h.src_port, NULL,
				     0, 65536);
				ok = 1;
			}
		}
		kprintf("vsock: host-connect: %s\n", ok ?
			"REQUEST for port 5001 answered" : "no REQUEST");
		if (!ok)
			failed[nfailed++] = "host-connect";
	}

	virtio_reset(&d);
	if (nfailed) {
		kprintf("TESTGUEST FAIL %s: step(s)", current_test);
		for (unsigned int i = 0; i < nfailed; i++)
			kprintf(" %s", failed[i]);
		kprintf(" did not see the expected device reaction\n");
		shutdown();
	}
	pass();
}
