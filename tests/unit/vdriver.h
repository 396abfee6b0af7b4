/* SPDX-License-Identifier: MIT */
/*
 * A virtio-mmio driver in a few functions, for tests that drive a device
 * model through its registers as a guest would: feature negotiation,
 * queue setup, chains of buffers in guest memory, kicks, and waiting for
 * the used ring. Guest memory is a testhost's (testhost.h).
 */
#ifndef TESTS_VDRIVER_H
#define TESTS_VDRIVER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../devices/virtio.h"
#include "../../vmm/bus.h"

/* test set-up that cannot fail unless the test itself is wrong */
#define VD_MUST(x) do { if (x) abort(); } while (0)

#define VD_QSIZE   16
#define VD_RINGS   0x10000   /* queue q's rings at VD_RINGS + q * 0x4000 */
#define VD_MMIO    0xd0000000ULL

struct vdriver {
	struct bus *bus;
	const struct guest_mem *mem;
	uint64_t base;            /* the device's MMIO window */
	uint16_t avail_idx[VIRTIO_MAX_QUEUES];
	uint16_t next_desc[VIRTIO_MAX_QUEUES];
	uint16_t used_seen[VIRTIO_MAX_QUEUES];
};

/* one buffer of a chain */
struct vd_buf {
	uint64_t gpa;
	uint32_t len;
	int write;                /* device-writable */
};

static inline uint32_t vd_rd(struct vdriver *v, uint64_t off)
{
	uint32_t x = 0;

	bus_access(v->bus, v->base + off, (uint8_t *)&x, 4, false);
	return x;
}

static inline void vd_wr(struct vdriver *v, uint64_t off, uint32_t x)
{
	bus_access(v->bus, v->base + off, (uint8_t *)&x, 4, true);
}

static inline uint64_t vd_desc(unsigned int q) { return VD_RINGS + q * 0x4000ULL; }
static inline uint64_t vd_avail(unsigned int q) { return vd_desc(q) + 0x1000; }
static inline uint64_t vd_used(unsigned int q) { return vd_desc(q) + 0x2000; }

/*
 * Reset, negotiate features (VERSION_1 plus want, which must be offered)
 * and set up queues 0..nq-1. Returns the status register after DRIVER_OK
 * (or after FEATURES_OK when driver_ok is false).
 */
static inline uint32_t vd_init(struct vdriver *v, unsigned int nq,
			       uint64_t want, int driver_ok)
{
	uint64_t feat = want | (1ULL << VIRTIO_F_VERSION_1);

	memset(v->avail_idx, 0, sizeof(v->avail_idx));
	memset(v->next_desc, 0, sizeof(v->next_desc));
	memset(v->used_seen, 0, sizeof(v->used_seen));
	vd_wr(v, 0x070, 0);
	vd_wr(v, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vd_wr(v, 0x024, 0);
	vd_wr(v, 0x020, (uint32_t)feat);
	vd_wr(v, 0x024, 1);
	vd_wr(v, 0x020, (uint32_t)(feat >> 32));
	vd_wr(v, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		  VIRTIO_STATUS_FEATURES_OK);
	for (unsigned int q = 0; q < nq; q++) {
		vd_wr(v, 0x030, q);
		vd_wr(v, 0x038, VD_QSIZE);
		vd_wr(v, 0x080, (uint32_t)vd_desc(q));
		vd_wr(v, 0x090, (uint32_t)vd_avail(q));
		vd_wr(v, 0x0a0, (uint32_t)vd_used(q));
		vd_wr(v, 0x044, 1);
	}
	if (driver_ok)
		vd_wr(v, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return vd_rd(v, 0x070);
}

/* Make a chain of n buffers available on queue q; returns its head. */
static inline uint16_t vd_post(struct vdriver *v, unsigned int q,
			       const struct vd_buf *b, unsigned int n)
{
	uint16_t head = v->next_desc[q], slot;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t id = (uint16_t)((head + i) % VD_QSIZE);
		uint16_t next = (uint16_t)((id + 1) % VD_QSIZE);
		uint16_t flags = (uint16_t)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
					    (b[i].write ? VIRTQ_DESC_F_WRITE : 0));
		uint8_t d[16];

		memcpy(d, &b[i].gpa, 8);
		memcpy(d + 8, &b[i].len, 4);
		memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
		VD_MUST(gpa_write(v->mem, vd_desc(q) + 16ULL * id, d, 16));
	}
	v->next_desc[q] = (uint16_t)((head + n) % VD_QSIZE);
	slot = v->avail_idx[q]++;
	VD_MUST(gpa_write(v->mem, vd_avail(q) + 4 + 2ULL * (slot % VD_QSIZE),
			&head, 2));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	VD_MUST(gpa_write(v->mem, vd_avail(q) + 2, &v->avail_idx[q], 2));
	return head;
}

static inline void vd_kick(struct vdriver *v, unsigned int q)
{
	vd_wr(v, 0x050, q);
}

static inline uint16_t vd_used_idx(struct vdriver *v, unsigned int q)
{
	uint16_t *p = gpa_ptr(v->mem, vd_used(q) + 2, 2);

	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/*
 * Wait (up to ms) for the next used entry of queue q; 0 with its id and
 * len, or -1 on timeout.
 */
static inline int vd_wait_used(struct vdriver *v, unsigned int q, int ms,
			       uint32_t *id, uint32_t *len)
{
	struct timespec ts = { 0, 1000000 };
	uint16_t slot = v->used_seen[q];
	uint8_t e[8];

	for (int i = 0; i < ms && vd_used_idx(v, q) == slot; i++)
		nanosleep(&ts, NULL);
	if (vd_used_idx(v, q) == slot)
		return -1;
	VD_MUST(gpa_read(v->mem, vd_used(q) + 4 + 8ULL * (slot % VD_QSIZE), e, 8));
	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
	v->used_seen[q]++;
	return 0;
}

#endif
