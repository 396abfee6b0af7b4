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
