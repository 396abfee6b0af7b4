// SPDX-License-Identifier: MIT
/*
 * The virtio-mmio transport, version 2 ("modern", virtio 1.x, 4.2.2): a
 * 4 KiB register window per device. The registers map onto the device
 * core (virtio.c); queue kicks reach the queue's kick eventfd through an
 * ioeventfd on QueueNotify; interrupts leave through an irqfd.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../vmm/log.h"
#include "state.h"
#include "virtio.h"

enum {
	REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c, REG_DEV_FEATURES = 0x010,
	REG_DEV_FEATURES_SEL = 0x014, REG_DRV_FEATURES = 0x020,
	REG_DRV_FEATURES_SEL = 0x024, REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034, REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044, REG_QUEUE_NOTIFY = 0x050,
	REG_INT_STATUS = 0x060, REG_INT_ACK = 0x064, REG_STATUS = 0x070,
	REG_QUEUE_DESC_LO = 0x080, REG_QUEUE_DESC_HI = 0x084,
	REG_QUEUE_AVAIL_LO = 0x090, REG_QUEUE_AVAIL_HI = 0x094,
	REG_QUEUE_USED_LO = 0x0a0, REG_QUEUE_USED_HI = 0x0a4,
	REG_CONFIG_GEN = 0x0fc, REG_CONFIG = 0x100,
};

#define VIRTIO_MMIO_MAGIC   0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION 2
#define VIRTIO_VENDOR_ID    0x00564d4d /* "MMV" */

struct virtio_mmio {
	struct virtio_dev *d;
	uint64_t base;
	unsigned int irq;
	int irqfd;             /* eventfd bound to irq, or -1: pulse the line */
	bool ioeventfd[VIRTIO_MAX_QUEUES]; /* bound to kick_fd[q] */
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
};

static void mmio_interrupt(struct virtio_dev *d, unsigned int q, uint32_t why)
{
	struct virtio_mmio *m = d->tr_priv;
	uint64_t one = 1;

	(void)q;
	(void)why; /* InterruptStatus (d->isr) says which */
	if (m->irqfd >= 0) {
		if (write(m->irqfd, &one, sizeof(one)) < 0)
			debug("%s: irqfd write: %s", d->where, strerror(errno));
	} else {
		/* no irqfd: pulse the line (an edge, like irqfd gives) */
		host_pulse_irq(d->host, m->irq);
	}
}

static const struct virtio_transport virtio_mmio_transport = {
	.name = "virtio-mmio",
	.interrupt = mmio_interrupt,
};

static struct virtq *selected_queue(struct virtio_mmio *m)
{
	return m->queue_sel < m->d->ops->num_queues ? &m->d->vq[m->queue_sel]
						     : NULL;
}

static void set_addr_half(uint64_t *addr, uint32_t v, bool high)
{
	if (high)
		*addr = (*addr & 0xffffffffULL) | (uint64_t)v << 32;
	else
		*addr = (*addr & ~0xffffffffULL) | v;
}

static void reg_write(struct virtio_mmio *m, uint64_t reg, uint32_t v)
{
	struct virtio_dev *d = m->d;
	struct virtq *q = selected_queue(m);
	bool queue_writable = q && !q->ready;

	switch (reg) {
	case REG_DEV_FEATURES_SEL: m->dev_features_sel = v; break;
	case REG_DRV_FEATURES_SEL: m->drv_features_sel = v; break;
	case REG_DRV_FEATURES:
		virtio_set_driver_features(d, m->drv_features_sel, v);
		break;
	case REG_QUEUE_SEL: m->queue_sel = v; break;
	case REG_QUEUE_NUM:
		if (queue_writable)
			q->size = (uint16_t)(v > 0xffff ? 0 : v);
		break;
	case REG_QUEUE_READY:
		if (q)
			virtio_set_queue_ready(d, m->queue_sel, v != 0);
		break;
	case REG_QUEUE_NOTIFY:
		/* normally an ioeventfd catches this before it gets here */
		virtio_kick(d, v);
		break;
	case REG_INT_ACK: d->isr &= ~v; break;
	case REG_STATUS:
		if (v == 0)
			m->dev_features_sel = m->drv_features_sel =
				m->queue_sel = 0;
		virtio_set_status(d, v);
		break;
	case REG_QUEUE_DESC_LO: case REG_QUEUE_DESC_HI:
		if (queue_writable)
			set_addr_half(&q->desc_gpa, v, reg == REG_QUEUE_DESC_HI);
		break;
	case REG_QUEUE_AVAIL_LO: case REG_QUEUE_AVAIL_HI:
		if (queue_writable)
			set_addr_half(&q->avail_gpa, v, reg == REG_QUEUE_AVAIL_HI);
		break;
	case REG_QUEUE_USED_LO: case REG_QUEUE_USED_HI:
		if (queue_writable)
			set_addr_half(&q->used_gpa, v, reg == REG_QUEUE_USED_HI);
		break;
	default:
		break; /* read-only or reserved */
	}
}

static uint32_t reg_read(struct virtio_mmio *m, uint64_t reg)
{
	struct virtio_dev *d = m->d;
	struct virtq *q = selected_queue(m);

	switch (reg) {
	case REG_MAGIC: return VIRTIO_MMIO_MAGIC;
	case REG_VERSION: return VIRTIO_MMIO_VERSION;
	case REG_DEVICE_ID: return d->ops->device_id;
	case REG_VENDOR_ID: return VIRTIO_VENDOR_ID;
	case REG_DEV_FEATURES:
		return virtio_device_features(d, m->dev_features_sel);
	case REG_QUEUE_NUM_MAX: return q ? d->ops->queue_max : 0;
	case REG_QUEUE_READY: return q ? q->ready : 0;
	case REG_INT_STATUS: return d->isr;
	case REG_STATUS: return d->status;
	case REG_CONFIG_GEN: return d->config_generation;
	default: return 0;
	}
}

static void mmio_io(void *dev, uint64_t off, uint8_t *data, uint32_t len,
		    bool is_write)
{
	struct virtio_mmio *m = dev;
	struct virtio_dev *d = m->d;

	pthread_mutex_lock(&d->lock);
	if (off >= REG_CONFIG) {
		virtio_config_access(d, off - REG_CONFIG, data, len, is_write);
	} else if (len == 4 && off % 4 == 0) {
		/* registers are 32-bit; other widths are ignored (4.2.2.2) */
		uint32_t v;

		if (is_write) {
			memcpy(&v, data, 4);
			reg_write(m, off, v);
		} else {
			v = reg_read(m, off);
			memcpy(data, &v, 4);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

/* --- snapshot state: the transport's selectors, then the device core's ---- */

static void mmio_quiesce(void *p, bool on)
{
	struct virtio_mmio *m = p;

	if (m->d->ops->quiesce)
		m->d->ops->quiesce(m->d, on);
}

static void mmio_save(void *p, struct sbuf *b)
{
	struct virtio_mmio *m = p;

	pthread_mutex_lock(&m->d->lock);
	sbuf_put_u32(b, m->dev_features_sel);
	sbuf_put_u32(b, m->drv_features_sel);
	sbuf_put_u32(b, m->queue_sel);
	virtio_state_save(m->d, b);
	pthread_mutex_unlock(&m->d->lock);
}

static int mmio_restore(void *p, struct sbuf *r, char *err, size_t errlen)
{
	struct virtio_mmio *m = p;
	uint32_t sel[3];
	int ret;

	for (int i = 0; i < 3; i++)
		sel[i] = sbuf_get_u32(r);
	pthread_mutex_lock(&m->d->lock);
	ret = virtio_state_restore(m->d, r, err, errlen);
	if (!ret) {
		m->dev_features_sel = sel[0];
		m->drv_features_sel = sel[1];
		m->queue_sel = sel[2];
	}
	pthread_mutex_unlock(&m->d->lock);
	if (!ret)
		virtio_state_kick(m->d);
	return ret;
}

static const struct dev_state_ops mmio_state_ops = {
	.quiesce = mmio_quiesce,
	.save = mmio_save,
	.restore = mmio_restore,
};

static void virtio_mmio_free(void *p)
{
	struct virtio_mmio *m = p;
	struct virtio_dev *d = m->d;

	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		struct dev_ioeventfd io = {
			.addr = m->base + REG_QUEUE_NOTIFY, .len = 4,
			.match = true, .datamatch = i, .fd = d->kick_fd[i],
		};

		if (m->ioeventfd[i])
			d->host->ops->ioeventfd(d->host->vm, &io, false);
	}
	if (m->irqfd >= 0) {
		d->host->ops->irqfd(d->host->vm, m->irq, m->irqfd, false);
		close(m->irqfd);
	}
	d->tr = NULL;
	free(m);
}

/* Kicks: QueueNotify writes of value q signal kick_fd[q] without an exit. */
static void bind_kicks(struct virtio_mmio *m)
{
	struct virtio_dev *d = m->d;

	for (unsigned int i = 0; i < d->ops->num_queues; i++) {
		struct dev_ioeventfd io = {
			.addr = m->base + REG_QUEUE_NOTIFY, .len = 4,
			.match = true, .datamatch = i, .fd = d->kick_fd[i],
		};

		/* without it the register write path kicks instead */
		m->ioeventfd[i] = d->host->ops->ioeventfd(d->host->vm, &io,
							  true) == 0;
	}
}

static void bind_irq(struct virtio_mmio *m)
{
	const struct dev_host *h = m->d->host;

	m->irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->irqfd >= 0 && h->ops->irqfd(h->vm, m->irq, m->irqfd, true)) {
		close(m->irqfd);
		m->irqfd = -1; /* mmio_interrupt() pulses the line instead */
	}
}

int virtio_mmio_attach(struct virtio_dev *d, struct bus *bus, uint64_t base,
		       unsigned int irq)
{
	struct virtio_mmio *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	m->d = d;
	m->base = base;
	m->irq = irq;
	m->irqfd = -1;
	snprintf(d->where, sizeof(d->where), "%s at 0x%" PRIx64, d->ops->name,
		 base);
	/* before the device core's own cleanup: torn down first */
	ret = host_add_cleanup(d->host, virtio_mmio_free, m);
	if (ret)
		return ret;
	bind_kicks(m);
	bind_irq(m);
	d->tr_priv = m;
	d->tr = &virtio_mmio_transport;
	ret = bus_register(bus, base, VIRTIO_MMIO_SIZE, d->ops->name, mmio_io, m);
	if (ret) {
		error("%s: %s", d->where, strerror(-ret));
		return ret;
	}
	{
		char name[DEV_STATE_NAME_MAX];

		snprintf(name, sizeof(name), "virtio@0x%" PRIx64, base);
		return host_add_state(d->host, name, &mmio_state_ops, m);
	}
}
