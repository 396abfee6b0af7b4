// SPDX-License-Identifier: MIT
/*
 * Split virtqueues (virtio 1.x, 2.7). The rings live in guest memory and
 * the guest may change them at any moment, so: ring addresses are checked
 * once when the queue is made ready; each descriptor is copied out before
 * it is looked at; every buffer is checked with gpa_ptr(); chains are
 * bounded by the table they live in, which also catches loops.
 */
#include <errno.h>
#include <string.h>

#include "virtio.h"

#define DESC_SIZE 16

static uint16_t load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p,
			       __ATOMIC_ACQUIRE);
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, v, __ATOMIC_RELEASE);
}

/* ring field addresses */
static uint8_t *avail_ring(const struct virtq *q, uint16_t i)
{
	return q->avail + 4 + 2 * (size_t)(i % q->size);
}

static uint8_t *used_event(const struct virtq *q)
{
	return q->avail + 4 + 2 * (size_t)q->size;
}

static uint8_t *avail_event(const struct virtq *q)
{
	return q->used + 4 + 8 * (size_t)q->size;
}

int virtq_activate(struct virtq *q, const struct guest_mem *m, uint16_t max)
{
	uint64_t n = q->size;

	if (n == 0 || n > max || (n & (n - 1)))
		return -EINVAL;
	if (q->desc_gpa % 16 || q->avail_gpa % 2 || q->used_gpa % 4)
		return -EINVAL;
	/* with EVENT_IDX each ring has a trailing u16: count it always */
	q->desc = gpa_ptr(m, q->desc_gpa, n * DESC_SIZE);
	q->avail = gpa_ptr(m, q->avail_gpa, 6 + 2 * n);
	q->used = gpa_ptr(m, q->used_gpa, 6 + 8 * n);
	if (!q->desc || !q->avail || !q->used) {
		q->desc = q->avail = q->used = NULL;
		return -EINVAL;
	}
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_valid = false;
	q->ready = true;
	return 0;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

bool virtq_has_avail(const struct virtq *q)
{
	return q->ready && load16(q->avail + 2) != q->last_avail;
}

void virtq_set_notify(struct virtq *q, bool enable)
{
	if (!q->ready)
		return;
	if (q->event_idx) {
		/* a kick is wanted once the driver goes past what we took */
		if (enable)
			store16(avail_event(q), q->last_avail);
	} else {
		store16(q->used, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Append one buffer to the chain, enforcing readable-before-writable. */
static int chain_add(struct virtq_chain *c, const struct guest_mem *m,
		     uint64_t addr, uint32_t len, bool write)
{
	uint8_t *host;

	/* once a writable buffer came, a readable one is out of order */
	if (!write && c->nbufs != c->nread)
		return -EIO;
	if (len == 0)
		return 0; /* legal, carries nothing */
	if (c->nbufs >= VIRTQ_MAX_CHAIN)
		return -EIO;
	host = gpa_ptr(m, addr, len);
	if (!host)
		return -EIO;
	c->buf[c->nbufs++] = (struct virtq_buf){
		.host = host, .gpa = addr, .len = len, .write = write,
	};
	if (write) {
		c->write_len += len;
	} else {
		c->nread++;
		c->read_len += len;
	}
	return 0;
}

/* Walk a chain from desc[idx] of a table of n descriptors. */
static int walk(struct virtq_chain *c, const struct guest_mem *m,
		const uint8_t *table, uint32_t n, uint16_t idx, bool indirect)
{
	for (uint32_t count = 0;; count++) {
		uint8_t d[DESC_SIZE];
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		int ret;

		/* more descriptors than the table holds: a loop */
		if (idx >= n || count >= n)
			return -EIO;
		memcpy(d, table + (size_t)idx * DESC_SIZE, DESC_SIZE);
		memcpy(&addr, d, 8);
		memcpy(&len, d + 8, 4);
		memcpy(&flags, d + 12, 2);
		memcpy(&idx, d + 14, 2);

		if (flags & VIRTQ_DESC_F_INDIRECT) {
			const uint8_t *sub;

			/* no nesting, no NEXT beside INDIRECT (2.7.5.3.1) */
			if (indirect || (flags & VIRTQ_DESC_F_NEXT) ||
			    len == 0 || len % DESC_SIZE ||
			    len / DESC_SIZE > VIRTQ_MAX_CHAIN)
				return -EIO;
			sub = gpa_ptr(m, addr, len);
			if (!sub)
				return -EIO;
			return walk(c, m, sub, len / DESC_SIZE, 0, true);
		}
		ret = chain_add(c, m, addr, len, flags & VIRTQ_DESC_F_WRITE);
		if (ret)
			return ret;
		if (!(flags & VIRTQ_DESC_F_NEXT))
			return 0;
	}
}

int virtq_pop(struct virtq *q, const struct guest_mem *m,
	      struct virtq_chain *c)
{
	uint16_t avail_idx, head;
	int ret;

	if (!q->ready)
		return 0;
	avail_idx = load16(q->avail + 2);
	if (avail_idx == q->last_avail && q->event_idx) {
		/* ask for a kick, then look again: closes the race with it */
		virtq_set_notify(q, true);
		avail_idx = load16(q->avail + 2);
	}
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return -EIO; /* the driver claims more than the ring holds */
	head = load16(avail_ring(q, q->last_avail));
	c->head = head;
	c->nbufs = c->nread = 0;
	c->read_len = c->write_len = 0;
	ret = walk(c, m, q->desc, q->size, head, false);
	if (ret)
		return ret;
	q->last_avail++;
	return 1;
}

void virtq_fill(struct virtq *q, unsigned int i, uint16_t head, uint32_t len)
{
	uint8_t *e;

	if (!q->ready)
		return;
	e = q->used + 4 + 8 * (size_t)((uint16_t)(q->used_idx + i) % q->size);
	memcpy(e, &(uint32_t){ head }, 4);
	memcpy(e + 4, &len, 4);
}

void virtq_flush(struct virtq *q, unsigned int n)
{
	if (!q->ready)
		return;
	q->used_idx = (uint16_t)(q->used_idx + n);
	/* the elements must be visible before the index that publishes them */
	store16(q->used + 2, q->used_idx);
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	virtq_fill(q, 0, head, len);
	virtq_flush(q, 1);
}

void virtq_unpop(struct virtq *q, unsigned int n)
{
	q->last_avail = (uint16_t)(q->last_avail - n);
}

bool virtq_should_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled_used, new = q->used_idx, event;
	bool valid = q->signalled_valid;

	if (!q->ready)
		return false;
	/* our used idx store must be ordered before reading the driver's flags */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(load16(q->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	q->signalled_used = new;
	q->signalled_valid = true;
	if (!valid)
		return true;
	event = load16(used_event(q));
	/* 2.7.10: interrupt when used_event lies in [old, new) */
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

static size_t chain_copy(const struct virtq_chain *c, bool write, uint64_t off,
			 uint8_t *p, size_t len, bool to_guest)
{
	size_t done = 0;
	unsigned int i = write ? c->nread : 0, end = write ? c->nbufs : c->nread;

	for (; i < end && done < len; i++) {
		const struct virtq_buf *b = &c->buf[i];
		size_t n;

		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		n = b->len - off;
		if (n > len - done)
			n = len - done;
		if (to_guest)
			memcpy(b->host + off, p + done, n);
		else
			memcpy(p + done, b->host + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst,
			size_t len)
{
	return chain_copy(c, false, off, dst, len, false);
}

size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off,
			 const void *src, size_t len)
{
	return chain_copy(c, true, off, (uint8_t *)(uintptr_t)src, len, true);
}
