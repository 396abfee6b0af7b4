/* SPDX-License-Identifier: MIT */
/*
 * A hostile guest driving virtio devices over virtio-mmio, one input a
 * program: register accesses of every width and offset, guest-memory
 * writes (rings, descriptors, indirect tables, headers), avail-index
 * jumps, kicks, frames from the network peer and console input. The
 * device runs on the harness's own thread: the event loop is pumped
 * (evloop_pump) after each step and virtio-blk uses its inline engine,
 * so an input always does the same thing (no I/O thread, no timing).
 *
 * Guest RAM is two ranges with a gap between them, [0, 128 KiB) and
 * [192 KiB, 320 KiB), so buffers can straddle a hole, run past the end or
 * wrap around 2^64. The host (tests/unit/testhost.h) refuses irqfd and
 * ioeventfd, so kicks are register writes and interrupts are counted.
 *
 * Checked after every step: the device never has more chains in flight
 * than the queue holds, never asks to stop the VM, and every interrupt
 * line stays sane; at the end, tearing it down leaves no fd behind.
 * ASan/UBSan see every access outside guest memory or the device's state.
 */
#ifndef TESTS_FUZZ_DEVFUZZ_H
#define TESTS_FUZZ_DEVFUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../devices/devices.h"
#include "../../devices/virtio.h"
#include "../../vmm/bus.h"
#include "../../vmm/config.h"
#include "../../vmm/log.h"
#include "../unit/testhost.h"
#include "fuzz.h"

#define DF_RAM0_END   0x20000ULL
#define DF_RAM1       0x30000ULL
#define DF_RAM1_END   0x50000ULL
#define DF_SPAN       0x60000ULL   /* addresses the fuzzer picks from */
#define DF_MMIO       0xd0000000ULL
#define DF_MAX_DEVS   3
#define DF_DISK_SIZE  (64 * 1024)
#define DF_MAX_STEPS  256
/* queue q's standard rings (the INIT and CHAIN steps use them) */
#define DF_DESC(q)  (0x4000ULL + (q) * 0x4000ULL)
#define DF_AVAIL(q) (DF_DESC(q) + 0x1000)
#define DF_USED(q)  (DF_DESC(q) + 0x2000)

enum df_kind { DF_BLK, DF_NET, DF_CON };

/* the steps; a target may leave some out (df_run's mask) */
enum df_op {
	OP_WRITE, OP_READ, OP_MEM, OP_DESC, OP_AVAIL, OP_AVAIL_IDX, OP_KICK,
	OP_INIT, OP_PUMP, OP_PEER_SEND, OP_PEER_DRAIN, OP_CON_RX, OP_CHAIN,
	OP_EVENT, OP_STATUS, OP_NR
};
#define DF_OPS_ALL ((1u << OP_NR) - 1)

struct df_dev {
	enum df_kind kind;
	struct virtio_dev *d;
	uint64_t base;
	uint16_t qsize[VIRTIO_MAX_QUEUES];  /* as INIT set it */
	uint16_t avail_idx[VIRTIO_MAX_QUEUES];
	uint16_t next_desc[VIRTIO_MAX_QUEUES];
};

struct df {
	struct testhost th;
	struct bus mmio;
	struct df_dev dev[DF_MAX_DEVS];
	unsigned int ndev;
	int disk_fd;               /* memfd behind virtio-blk */
	int peer;                  /* the network's end of the NIC's socket */
	uint8_t scratch[70000];
};

static struct df df_state;

/* A guest write that may miss RAM (then it does nothing). */
static void df_poke(const struct guest_mem *m, uint64_t gpa, const void *src,
		    size_t n)
{
	if (gpa_write(m, gpa, src, n))
		return;
}

/* An address: mostly inside the span, sometimes near 2^64 (wraps). */
static uint64_t df_addr(struct fuzz_in *in)
{
	uint32_t a = fuzz_u32(in);

	if (a & 0x80000000u)
		return ~0ULL - (a & 0xffff);
	return a % DF_SPAN;
}

static struct df_dev *df_pick(struct df *f, struct fuzz_in *in)
{
	return &f->dev[fuzz_u8(in) % f->ndev];
}

static void df_mmio(struct df_dev *v, uint64_t off, uint32_t x, bool write)
{
	bus_access(&df_state.mmio, v->base + off, (uint8_t *)&x, 4, write);
}

static void df_pump(struct df *f)
{
	FUZZ_CHECK(evloop_pump(f->th.host.loop, 64) >= 0);
}

static void df_check(struct df *f)
{
	for (unsigned int i = 0; i < f->ndev; i++) {
		struct virtio_dev *d = f->dev[i].d;

		for (unsigned int q = 0; q < d->ops->num_queues; q++) {
			const struct virtq *vq = &d->vq[q];

			if (vq->ready)
				FUZZ_CHECK((uint16_t)(vq->last_avail - vq->used_idx) <=
					   vq->size);
		}
	}
	FUZZ_CHECK(!f->th.stop);
}

/* The driver's side of the initialisation (3.1.1), rings at DF_*(q). */
static void df_init_dev(struct df_dev *v, uint64_t feat, uint16_t qsize,
			bool driver_ok)
{
	struct virtio_dev *d = v->d;

	df_mmio(v, 0x070, 0, true);
	df_mmio(v, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, true);
	df_mmio(v, 0x024, 0, true);
	df_mmio(v, 0x020, (uint32_t)feat, true);
	df_mmio(v, 0x024, 1, true);
	df_mmio(v, 0x020, (uint32_t)(feat >> 32), true);
	df_mmio(v, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		VIRTIO_STATUS_FEATURES_OK, true);
	for (unsigned int q = 0; q < d->ops->num_queues; q++) {
		df_mmio(v, 0x030, q, true);
		df_mmio(v, 0x038, qsize, true);
		df_mmio(v, 0x080, (uint32_t)DF_DESC(q), true);
		df_mmio(v, 0x084, 0, true);
		df_mmio(v, 0x090, (uint32_t)DF_AVAIL(q), true);
		df_mmio(v, 0x094, 0, true);
		df_mmio(v, 0x0a0, (uint32_t)DF_USED(q), true);
		df_mmio(v, 0x0a4, 0, true);
		df_mmio(v, 0x044, 1, true);
		v->qsize[q] = qsize;
		v->avail_idx[q] = v->next_desc[q] = 0;
	}
	if (driver_ok)
		df_mmio(v, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK, true);
}

static void df_put_desc(struct df_dev *v, unsigned int q, uint16_t idx,
			uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t e[16];
	uint16_t size = v->qsize[q] ? v->qsize[q] : 256;

	memcpy(e, &addr, 8);
	memcpy(e + 8, &len, 4);
	memcpy(e + 12, &flags, 2);
	memcpy(e + 14, &next, 2);
	df_poke(&df_state.th.mem, DF_DESC(q) + 16ULL * (idx % size), e, 16);
}

static void df_put_avail(struct df_dev *v, unsigned int q, uint16_t head)
{
	uint16_t size = v->qsize[q] ? v->qsize[q] : 256;
	uint16_t slot = v->avail_idx[q]++;

	df_poke(&df_state.th.mem, DF_AVAIL(q) + 4 + 2ULL * (slot % size),
			&head, 2);
	df_poke(&df_state.th.mem, DF_AVAIL(q) + 2, &v->avail_idx[q], 2);
}

static void df_kick(struct df *f, struct df_dev *v, unsigned int q)
{
	df_mmio(v, 0x050, q, true);
	df_pump(f);
}

/* One step of the program; false when the input is used up. */
static bool df_step(struct df *f, struct fuzz_in *in, uint32_t ops)
{
	static const uint32_t widths[4] = { 1, 2, 4, 8 };
	const uint8_t *bytes;
	struct df_dev *v;
	unsigned int op, q;
	uint64_t x, addr;
	uint32_t w;
	size_t n;

	if (!in->left)
		return false;
	op = fuzz_u8(in) % OP_NR;
	if (!(ops & (1u << op)))
		return true;
	switch (op) {
	case OP_WRITE:
	case OP_READ:
		/* every offset of the windows and past them, every width */
		v = df_pick(f, in);
		addr = v->base + (fuzz_u16(in) & 0x1fff);
		w = widths[fuzz_u8(in) % 4];
		x = fuzz_u64(in);
		bus_access(&f->mmio, addr, (uint8_t *)&x, w, op == OP_WRITE);
		break;
	case OP_MEM:
		addr = df_addr(in);
		n = fuzz_bytes(in, fuzz_u8(in), &bytes);
		if (n)
			df_poke(&f->th.mem, addr, bytes, n);
		break;
	case OP_DESC: {
		uint16_t idx, flags, next;
		uint32_t len;

		v = df_pick(f, in);
		q = fuzz_u8(in) % VIRTIO_MAX_QUEUES;
		idx = fuzz_u16(in);
		addr = df_addr(in);
		len = fuzz_u32(in);
		flags = fuzz_u16(in);
		next = fuzz_u16(in);
		df_put_desc(v, q, idx, addr, len, flags, next);
		break;
	}
	case OP_AVAIL:
		v = df_pick(f, in);
		q = fuzz_u8(in) % VIRTIO_MAX_QUEUES;
		df_put_avail(v, q, fuzz_u16(in));
		break;
	case OP_AVAIL_IDX: {
		/* the index jumps anywhere, 2^15 included */
		uint16_t idx;

		v = df_pick(f, in);
		q = fuzz_u8(in) % VIRTIO_MAX_QUEUES;
		idx = fuzz_u16(in);
		v->avail_idx[q] = idx;
		df_poke(&f->th.mem, DF_AVAIL(q) + 2, &idx, 2);
		break;
	}
	case OP_KICK:
		v = df_pick(f, in);
		df_kick(f, v, fuzz_u8(in) % 8); /* queues past the last too */
		break;
	case OP_INIT: {
		uint8_t how;

		v = df_pick(f, in);
		x = fuzz_u64(in);
		how = fuzz_u8(in);
		if (!(how & 1))
			x |= 1ULL << VIRTIO_F_VERSION_1;
		if (how & 2)
			x &= v->d->dev_features; /* only what is offered */
		df_init_dev(v, x, (uint16_t)(1u << ((how >> 2) % 10)) ^
			    (how & 0x80 ? 1 : 0), !(how & 0x40));
		break;
	}
	case OP_PUMP:
		df_pump(f);
		break;
	case OP_PEER_SEND: {
		/* a frame from the network: its bytes from the input, repeated */
		const uint8_t *src;
		size_t len = fuzz_u16(in) | (size_t)(fuzz_u8(in) & 1) << 16;
		size_t have = fuzz_bytes(in, fuzz_u8(in), &src);

		if (f->peer < 0)
			break;
		if (len > sizeof(f->scratch))
			len = sizeof(f->scratch);
		for (size_t i = 0; i < len; i++)
			f->scratch[i] = have ? src[i % have] : (uint8_t)i;
		if (send(f->peer, f->scratch, len, MSG_DONTWAIT) < 0 &&
		    errno != EAGAIN && errno != EMSGSIZE && errno != ENOBUFS)
			FUZZ_CHECK(0);
		df_pump(f);
		break;
	}
	case OP_PEER_DRAIN:
		/* what the guest transmitted: whole frames, header first */
		while (f->peer >= 0) {
			ssize_t r = recv(f->peer, f->scratch, sizeof(f->scratch),
					 MSG_DONTWAIT);

			if (r < 0)
				break;
			FUZZ_CHECK((size_t)r <= sizeof(f->scratch));
		}
		df_pump(f);
		break;
	case OP_CON_RX:
		n = fuzz_bytes(in, fuzz_u8(in), &bytes);
		for (unsigned int i = 0; i < f->ndev; i++)
			if (f->dev[i].kind == DF_CON)
				FUZZ_CHECK(virtio_console_rx(f->dev[i].d, bytes, n) <= n);
		df_pump(f);
		break;
	case OP_CHAIN: {
		/* a well-formed chain of 1..8 buffers anywhere, posted, kicked */
		unsigned int nb;
		uint16_t head, size;

		v = df_pick(f, in);
		q = fuzz_u8(in) % VIRTIO_MAX_QUEUES;
		nb = fuzz_u8(in) % 8 + 1;
		size = v->qsize[q] ? v->qsize[q] : 256;
		head = (uint16_t)(v->next_desc[q] % size);
		for (unsigned int i = 0; i < nb; i++) {
			uint16_t id = (uint16_t)((head + i) % size);
			uint16_t next = (uint16_t)((id + 1) % size);
			uint16_t fl;
			uint32_t len;

			addr = df_addr(in);
			len = fuzz_u16(in);
			fl = (uint16_t)((i + 1 < nb ? VIRTQ_DESC_F_NEXT : 0) |
					(fuzz_u8(in) & 1 ? VIRTQ_DESC_F_WRITE : 0));
			df_put_desc(v, q, id, addr, len, fl, next);
		}
		v->next_desc[q] = (uint16_t)((head + nb) % size);
		df_put_avail(v, q, head);
		df_kick(f, v, q);
		break;
	}
	case OP_EVENT: {
		/* avail flags, used_event, the used ring's flags */
		uint16_t val, size;

		v = df_pick(f, in);
		q = fuzz_u8(in) % VIRTIO_MAX_QUEUES;
		val = fuzz_u16(in);
		size = v->qsize[q] ? v->qsize[q] : 256;
		switch (fuzz_u8(in) % 3) {
		case 0: addr = DF_AVAIL(q); break;
		case 1: addr = DF_AVAIL(q) + 4 + 2ULL * size; break;
		default: addr = DF_USED(q); break;
		}
		df_poke(&f->th.mem, addr, &val, 2);
		break;
	}
	case OP_STATUS:
		/* the status register, any value: sequences broken every way */
		v = df_pick(f, in);
		df_mmio(v, 0x070, fuzz_u8(in), true);
		df_pump(f);
		break;
	}
	df_check(f);
	return true;
}

static void df_add(struct df *f, enum df_kind kind, struct virtio_dev *d)
{
	struct df_dev *v = &f->dev[f->ndev];

	memset(v, 0, sizeof(*v));
	v->kind = kind;
	v->d = d;
	v->base = DF_MMIO + f->ndev * VIRTIO_MMIO_SIZE;
	FUZZ_CHECK(virtio_mmio_attach(d, &f->mmio, v->base, 5 + f->ndev) == 0);
	f->ndev++;
}

/* Make the devices of mask (1 << DF_BLK ...), with setup bits from cfg. */
static void df_setup(struct df *f, unsigned int kinds, uint8_t cfg)
{
	static const uint64_t ranges[2][2] = {
		{ 0, DF_RAM0_END }, { DF_RAM1, DF_RAM1_END - DF_RAM1 },
	};
	struct virtio_dev *d;

	FUZZ_CHECK(testhost_init(&f->th, 0x1000) == 0);
	/* testhost's one range, replaced by two with a gap */
	guest_mem_destroy(&f->th.mem);
	FUZZ_CHECK(guest_mem_init(&f->th.mem, ranges, 2) == 0);
	bus_init(&f->mmio, "mmio");
	f->ndev = 0;
	f->peer = -1;
	if (kinds & (1u << DF_BLK)) {
		struct vm_disk disk;

		memset(&disk, 0, sizeof(disk));
		/* the same zeroed image for every input */
		FUZZ_CHECK(ftruncate(f->disk_fd, 0) == 0);
		FUZZ_CHECK(ftruncate(f->disk_fd, DF_DISK_SIZE + (cfg & 4 ? 100 : 0)) == 0);
		snprintf(disk.path, sizeof(disk.path), "/proc/self/fd/%d", f->disk_fd);
		snprintf(disk.id, sizeof(disk.id), "fuzz");
		disk.io = DISK_IO_INLINE;
		disk.read_only = cfg & 1;
		disk.cache = cfg & 2 ? DISK_CACHE_UNSAFE : DISK_CACHE_WRITEBACK;
		FUZZ_CHECK(virtio_blk_create(&f->th.host, &disk, &d) == 0);
		df_add(f, DF_BLK, d);
	}
	if (kinds & (1u << DF_NET)) {
		struct vm_net net;
		int sv[2];

		memset(&net, 0, sizeof(net));
		net.mtu = cfg & 8 ? 68 + (cfg >> 4) * 500 : 0;
		FUZZ_CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK |
				      SOCK_CLOEXEC, 0, sv) == 0);
		f->peer = sv[1];
		FUZZ_CHECK(virtio_net_create_fd(&f->th.host, sv[0], "fuzz0",
						&net, &d) == 0);
		df_add(f, DF_NET, d);
	}
	if (kinds & (1u << DF_CON)) {
		FUZZ_CHECK(virtio_console_create(&f->th.host, &d) == 0);
		df_add(f, DF_CON, d);
	}
}

static void df_teardown(struct df *f)
{
	testhost_destroy(&f->th);
	bus_destroy(&f->mmio);
	if (f->peer >= 0)
		close(f->peer);
	f->peer = -1;
}

/* The lowest free fd: the same before and after an input, or it leaked. */
static int df_next_fd(void)
{
	int fd = dup(0);

	FUZZ_CHECK(fd >= 0);
	close(fd);
	return fd;
}

/*
 * Run one input: its first byte chooses set-up options, the rest is the
 * program (the steps in ops).
 */
static int df_run(const uint8_t *data, size_t size, unsigned int kinds,
		  uint32_t ops)
{
	struct df *f = &df_state;
	struct fuzz_in in = { data, size };
	unsigned int steps = 0;
	int fd0;

	if (!f->disk_fd) {
		f->disk_fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
		FUZZ_CHECK(f->disk_fd > 0);
		if (!getenv("FUZZ_VERBOSE"))
			log_set_level(LOG_ERROR);
	}
	fd0 = df_next_fd();
	df_setup(f, kinds, fuzz_u8(&in));
	while (steps++ < DF_MAX_STEPS && df_step(f, &in, ops))
		;
	df_pump(f);
	df_check(f);
	df_teardown(f);
	FUZZ_CHECK(df_next_fd() == fd0);
	return 0;
}

#endif
