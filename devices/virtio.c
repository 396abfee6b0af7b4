// SPDX-License-Identifier: MIT
/*
 * The transport-neutral part of a virtio 1.x device: feature negotiation,
 * the status state machine, queue readiness, kicks and interrupts. The
 * transports (virtio_mmio.c) turn register accesses into these calls;
 * the device models (virtio_blk.c, ...) implement struct virtio_dev_ops.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../vmm/log.h"
#include "state.h"
#include "virtio.h"

/* Queue refusals logged per device: a driver may retry without end. */
#define REFUSALS_LOGGED 4

struct kick_ctx {
	struct virtio_dev *d;
	unsigned int q;
};

static void interrupt(struct virtio_dev *d, unsigned int q, uint32_t why)
{
	d->isr |= why;
	if (d->tr)
		d->tr->interrupt(d, q, why);
}

void virtio_notify_used(struct virtio_dev *d, unsigned int q)
{
	if (q < d->ops->num_queues && virtq_should_interrupt(&d->vq[q]))
		interrupt(d, q, VIRTIO_ISR_USED);
}

void virtio_kick(struct virtio_dev *d, unsigned int q)
{
	uint64_t one = 1;

	if (q < d->ops->num_queues && d->kick_fd[q] >= 0 &&
	    write(d->kick_fd[q], &one, sizeof(one)) < 0)
		debug("%s: kick: %s", d->where, strerror(errno));
}

void virtio_kick_self(struct virtio_dev *d, unsigned int q)
{
	virtio_kick(d, q);
}

void virtio_notify_config(struct virtio_dev *d)
{
	d->config_generation++;
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		interrupt(d, 0, VIRTIO_ISR_CONFIG);
}

void virtio_set_broken(struct virtio_dev *d, const char *why)
{
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	if (!d->broken_logged) {
		warn("%s: %s; device needs a reset", d->where, why);
		d->broken_logged = true;
	}
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* NEEDS_RESET comes with a configuration change interrupt (2.1.2) */
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		interrupt(d, 0, VIRTIO_ISR_CONFIG);
}

static void reset(struct virtio_dev *d)
{
	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&d->vq[i]);
	d->status = 0;
	d->isr = 0;
	d->drv_features = 0;
	d->reset_count++;
}

void virtio_set_status(struct virtio_dev *d, uint32_t v)
{
	uint32_t added = v & ~d->status;

	if (v == 0) {
		reset(d);
		return;
	}
	/* FEATURES_OK only for a subset of what we offered, with VERSION_1 */
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		if ((d->drv_features & ~d->dev_features) ||
		    !virtio_has_feature(d, VIRTIO_F_VERSION_1))
			v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
		else
			for (unsigned int i = 0; i < d->ops->num_queues; i++)
				d->vq[i].event_idx = virtio_has_feature(
					d, VIRTIO_F_RING_EVENT_IDX);
	}
	/* the features may not change once accepted */
	if ((d->status & VIRTIO_STATUS_FEATURES_OK) &&
	    !(v & VIRTIO_STATUS_FEATURES_OK))
		v |= VIRTIO_STATUS_FEATURES_OK;
	/*
	 * DRIVER_OK without FEATURES_OK breaks the initialisation sequence
	 * (3.1.1): the device does not go live on it (virtio_live()).
	 */
	if ((added & VIRTIO_STATUS_DRIVER_OK) &&
	    (v & VIRTIO_STATUS_FEATURES_OK) && d->ops->activate &&
	    d->ops->activate(d) < 0)
		v |= VIRTIO_STATUS_NEEDS_RESET;
	/* the device keeps NEEDS_RESET until a reset */
	d->status = v | (d->status & VIRTIO_STATUS_NEEDS_RESET);
}

void virtio_set_queue_ready(struct virtio_dev *d, unsigned int qi, bool ready)
{
	struct virtq *q;

	if (qi >= d->ops->num_queues)
		return;
	q = &d->vq[qi];
	if (!ready) {
		q->ready = false;
		/* answers for what was in flight must not reach a new ring */
		d->reset_count++;
		return;
	}
	if (q->ready)
		return;
	if (virtq_activate(q, d->host->mem, d->ops->queue_max) < 0) {
		/* QueueReady stays 0: the driver can see it failed */
		if (d->refused_logged < REFUSALS_LOGGED)
			warn("%s: queue %u refused (size %u, rings 0x%" PRIx64
			     "/0x%" PRIx64 "/0x%" PRIx64 ")%s", d->where, qi,
			     q->size, q->desc_gpa, q->avail_gpa, q->used_gpa,
			     d->refused_logged + 1 == REFUSALS_LOGGED ?
			     "; further refusals are not logged" : "");
		d->refused_logged++;
		return;
	}
	q->event_idx = virtio_has_feature(d, VIRTIO_F_RING_EVENT_IDX);
}

void virtio_set_driver_features(struct virtio_dev *d, unsigned int half,
				uint32_t bits)
{
	/* only while negotiating, and only the two defined halves */
	if ((d->status & VIRTIO_STATUS_FEATURES_OK) || half > 1)
		return;
	if (half)
		d->drv_features = (d->drv_features & 0xffffffffULL) |
				  (uint64_t)bits << 32;
	else
		d->drv_features = (d->drv_features & ~0xffffffffULL) | bits;
}

uint32_t virtio_device_features(const struct virtio_dev *d, unsigned int half)
{
	return half > 1 ? 0 : (uint32_t)(d->dev_features >> (32 * half));
}

void virtio_config_access(struct virtio_dev *d, uint64_t off, uint8_t *data,
			  uint32_t len, bool is_write)
{
	size_t size = d->ops->config_size ? d->ops->config_size(d) : 0;

	if (off >= size || len > size - off)
		return; /* reads stay zero */
	if (is_write && d->ops->config_write)
		d->ops->config_write(d, off, data, len);
	else if (!is_write && d->ops->config_read)
		d->ops->config_read(d, off, data, len);
}

/* --- snapshot state ------------------------------------------------------- */

void virtio_state_save(struct virtio_dev *d, struct sbuf *b)
{
	sbuf_put_u32(b, d->ops->device_id);
	sbuf_put_u32(b, d->ops->num_queues);
	sbuf_put_u64(b, d->dev_features);
	sbuf_put_u64(b, d->drv_features);
	sbuf_put_u32(b, d->status);
	sbuf_put_u32(b, d->isr);
	sbuf_put_u32(b, d->config_generation);
	for (unsigned int i = 0; i < d->ops->num_queues; i++) {
		const struct virtq *q = &d->vq[i];

		sbuf_put_u16(b, q->size);
		sbuf_put_u64(b, q->desc_gpa);
		sbuf_put_u64(b, q->avail_gpa);
		sbuf_put_u64(b, q->used_gpa);
		sbuf_put_u8(b, q->ready);
		sbuf_put_u16(b, q->last_avail);
		sbuf_put_u16(b, q->used_idx);
		sbuf_put_u8(b, q->event_idx);
		sbuf_put_u16(b, q->signalled_used);
		sbuf_put_u8(b, q->signalled_valid);
	}
}

int virtio_state_restore(struct virtio_dev *d, struct sbuf *r, char *err,
			 size_t errlen)
{
	struct virtq vq[VIRTIO_MAX_QUEUES];
	uint32_t id = sbuf_get_u32(r), nq = sbuf_get_u32(r), status, isr, gen;
	uint64_t devf = sbuf_get_u64(r), drvf;

	if (r->err || id != d->ops->device_id || nq != d->ops->num_queues) {
		snprintf(err, errlen, "%s: the snapshot has another device here "
			 "(virtio type %u, %u queues)", d->where, id, nq);
		return -EINVAL;
	}
	if (devf != d->dev_features) {
		snprintf(err, errlen, "%s: it offers features 0x%" PRIx64
			 " now, 0x%" PRIx64 " in the snapshot", d->where,
			 d->dev_features, devf);
		return -EINVAL;
	}
	drvf = sbuf_get_u64(r);
	status = sbuf_get_u32(r);
	isr = sbuf_get_u32(r);
	gen = sbuf_get_u32(r);
	memset(vq, 0, sizeof(vq));
	for (unsigned int i = 0; i < nq; i++) {
		struct virtq *q = &vq[i];

		q->size = sbuf_get_u16(r);
		q->desc_gpa = sbuf_get_u64(r);
		q->avail_gpa = sbuf_get_u64(r);
		q->used_gpa = sbuf_get_u64(r);
		q->ready = sbuf_get_bool(r);
		q->last_avail = sbuf_get_u16(r);
		q->used_idx = sbuf_get_u16(r);
		q->event_idx = sbuf_get_bool(r);
		q->signalled_used = sbuf_get_u16(r);
		q->signalled_valid = sbuf_get_bool(r);
	}
	if (sbuf_done(r) || (drvf & ~devf) || status > 0xff || isr > 3) {
		snprintf(err, errlen, "%s: malformed state", d->where);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < nq; i++) {
		struct virtq *q = &d->vq[i];

		virtq_reset(q);
		q->size = vq[i].size;
		q->desc_gpa = vq[i].desc_gpa;
		q->avail_gpa = vq[i].avail_gpa;
		q->used_gpa = vq[i].used_gpa;
		if (vq[i].ready &&
		    virtq_activate(q, d->host->mem, d->ops->queue_max) < 0) {
			snprintf(err, errlen, "%s: queue %u (size %u) does not "
				 "fit in guest memory", d->where, i, q->size);
			return -EINVAL;
		}
		q->last_avail = vq[i].last_avail;
		q->used_idx = vq[i].used_idx;
		q->event_idx = vq[i].event_idx;
		q->signalled_used = vq[i].signalled_used;
		q->signalled_valid = vq[i].signalled_valid;
	}
	d->drv_features = drvf;
	d->isr = isr;
	d->config_generation = gen;
	d->status = status;
	/* the model's I/O (a TAP watched, ...) as DRIVER_OK started it */
	if (virtio_live(d) && d->ops->activate && d->ops->activate(d) < 0)
		d->status |= VIRTIO_STATUS_NEEDS_RESET;
	return 0;
}

void virtio_state_kick(struct virtio_dev *d)
{
	for (unsigned int i = 0; i < d->ops->num_queues; i++)
		if (d->vq[i].ready)
			virtio_kick(d, i);
}

/* A kick for a queue served on the event loop. */
static void on_kick(void *opaque, uint32_t events)
{
	struct kick_ctx *k = opaque;
	struct virtio_dev *d = k->d;
	uint64_t v;
	bool live;

	(void)events;
	if (read(d->kick_fd[k->q], &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&d->lock);
	live = virtio_live(d) && d->vq[k->q].ready;
	pthread_mutex_unlock(&d->lock);
	if (live && d->ops->queue_notify)
		d->ops->queue_notify(d, k->q);
}

static void virtio_dev_free(void *p)
{
	struct virtio_dev *d = p;

	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (d->kick_fd[i] < 0)
			continue;
		if (!(d->ops->own_thread_queues & (1u << i)))
			evloop_del(d->host->loop, d->kick_fd[i]);
		close(d->kick_fd[i]);
	}
	if (d->ops->destroy)
		d->ops->destroy(d->priv);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int virtio_dev_create(const struct dev_host *h,
		      const struct virtio_dev_ops *ops, void *priv,
		      struct virtio_dev **out)
{
	/* the kick contexts live right behind the device */
	struct virtio_dev *d = calloc(1, sizeof(*d) +
				      VIRTIO_MAX_QUEUES * sizeof(struct kick_ctx));
	struct kick_ctx *k = (struct kick_ctx *)(d + 1);
	int ret;

	if (!d || ops->num_queues > VIRTIO_MAX_QUEUES ||
	    ops->queue_max > VIRTQ_MAX_SIZE) {
		free(d);
		if (ops->destroy)
			ops->destroy(priv);
		return d ? -EINVAL : -ENOMEM;
	}
	d->ops = ops;
	d->priv = priv;
	d->host = h;
	snprintf(d->where, sizeof(d->where), "%s", ops->name);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		d->kick_fd[i] = -1;
	pthread_mutex_init(&d->lock, NULL);
	d->dev_features = (1ULL << VIRTIO_F_VERSION_1) |
			  (1ULL << VIRTIO_F_RING_EVENT_IDX) |
			  (1ULL << VIRTIO_F_RING_INDIRECT_DESC);
	if (ops->features)
		d->dev_features |= ops->features(d);
	/* from here on, the VM's teardown frees d and priv */
	ret = host_add_cleanup(h, virtio_dev_free, d);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < ops->num_queues; i++) {
		d->kick_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (d->kick_fd[i] < 0) {
			ret = -errno;
			break;
		}
		if (ops->own_thread_queues & (1u << i))
			continue;
		k[i] = (struct kick_ctx){ .d = d, .q = i };
		ret = evloop_add(h->loop, d->kick_fd[i], EPOLLIN, on_kick, &k[i]);
		if (ret) {
			close(d->kick_fd[i]);
			d->kick_fd[i] = -1;
			break;
		}
	}
	if (ret) {
		error("%s: cannot set up its queues: %s", ops->name,
		      strerror(-ret));
		return ret;
	}
	*out = d;
	return 0;
}
