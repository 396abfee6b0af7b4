// SPDX-License-Identifier: MIT
/*
 * The virtio-mmio transport, version 2 ("modern", virtio 1.x, 4.2.2):
 * feature negotiation in 32-bit halves, the status state machine, queue
 * configuration, interrupt status/ack and the device config window.
 * Queue kicks arrive through one ioeventfd per queue on the event loop;
 * interrupts leave through an irqfd.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../vmm/evloop.h"
#include "../vmm/kvm.h"
#include "../vmm/log.h"
#include "../vmm/vmm.h"
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
#define ISR_USED   1
#define ISR_CONFIG 2

struct notify_ctx {
	struct virtio_dev *d;
	unsigned int q;
};

static void raise_irq(struct virtio_dev *d, uint32_t why)
{
	uint64_t one = 1;

	d->isr |= why;
	if (d->irqfd >= 0) {
		if (write(d->irqfd, &one, sizeof(one)) < 0)
			debug("%s: irqfd write: %s", d->ops->name, strerror(errno));
	} else {
		/* no irqfd: pulse the line (an edge, like irqfd gives) */
		vm_set_irq(d->vm, d->irq, 1);
		vm_set_irq(d->vm, d->irq, 0);
	}
}

void virtio_notify_used(struct virtio_dev *d, unsigned int q)
{
	if (q < d->ops->num_queues && virtq_should_interrupt(&d->vq[q]))
		raise_irq(d, ISR_USED);
}

void virtio_kick_self(struct virtio_dev *d, unsigned int q)
{
	uint64_t one = 1;

	if (q < d->ops->num_queues && d->ioeventfd[q] >= 0 &&
	    write(d->ioeventfd[q], &one, sizeof(one)) < 0)
		debug("%s: self-kick: %s", d->ops->name, strerror(errno));
}

void virtio_notify_config(struct virtio_dev *d)
{
	d->config_generation++;
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(d, ISR_CONFIG);
}

void virtio_set_broken(struct virtio_dev *d, const char *why)
{
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	if (!d->broken_logged) {
		warn("%s at 0x%" PRIx64 ": %s; device needs a reset",
		     d->ops->name, d->base, why);
		d->broken_logged = true;
	}
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* 4.2.2: NEEDS_RESET comes with a configuration change interrupt */
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(d, ISR_CONFIG);
}

static void virtio_reset(struct virtio_dev *d)
{
	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&d->vq[i]);
	d->status = 0;
	d->isr = 0;
	d->dev_features_sel = d->drv_features_sel = d->queue_sel = 0;
	d->drv_features = 0;
	d->reset_count++;
}

static struct virtq *selected_queue(struct virtio_dev *d)
{
	return d->queue_sel < d->ops->num_queues ? &d->vq[d->queue_sel] : NULL;
}

static void set_status(struct virtio_dev *d, uint32_t v)
{
	uint32_t added = v & ~d->status;

	if (v == 0) {
		virtio_reset(d);
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
	if ((added & VIRTIO_STATUS_DRIVER_OK) &&
	    (v & VIRTIO_STATUS_FEATURES_OK) && d->ops->activate &&
	    d->ops->activate(d) < 0)
		v |= VIRTIO_STATUS_NEEDS_RESET;
	/* the device keeps NEEDS_RESET until a reset */
	d->status = v | (d->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void set_queue_ready(struct virtio_dev *d, struct virtq *q, uint32_t v)
{
	if (!v) {
		q->ready = false;
		/* answers for what was in flight must not reach a new ring */
		d->reset_count++;
		return;
	}
	if (q->ready)
		return;
	if (virtq_activate(q, &d->vm->mem, d->ops->queue_max) < 0) {
		/* leaves QueueReady reading 0: the driver can see it failed */
		warn("%s at 0x%" PRIx64 ": queue %u refused (size %u, rings "
		     "0x%" PRIx64 "/0x%" PRIx64 "/0x%" PRIx64 ")",
		     d->ops->name, d->base, d->queue_sel, q->size, q->desc_gpa,
		     q->avail_gpa, q->used_gpa);
		return;
	}
	q->event_idx = virtio_has_feature(d, VIRTIO_F_RING_EVENT_IDX);
}

static void set_addr_half(uint64_t *addr, uint32_t v, bool high)
{
	if (high)
		*addr = (*addr & 0xffffffffULL) | (uint64_t)v << 32;
	else
		*addr = (*addr & ~0xffffffffULL) | v;
}

static void reg_write(struct virtio_dev *d, uint64_t reg, uint32_t v)
{
	struct virtq *q = selected_queue(d);
	bool queue_writable = q && !q->ready;
	uint64_t one = 1;

	switch (reg) {
	case REG_DEV_FEATURES_SEL: d->dev_features_sel = v; break;
	case REG_DRV_FEATURES_SEL: d->drv_features_sel = v; break;
	case REG_DRV_FEATURES:
		/* only while negotiating, and only the two defined halves */
		if (d->status & VIRTIO_STATUS_FEATURES_OK ||
		    d->drv_features_sel > 1)
			break;
		set_addr_half(&d->drv_features, v, d->drv_features_sel == 1);
		break;
	case REG_QUEUE_SEL: d->queue_sel = v; break;
	case REG_QUEUE_NUM:
		if (queue_writable)
			q->size = (uint16_t)(v > 0xffff ? 0 : v);
		break;
	case REG_QUEUE_READY:
		if (q)
			set_queue_ready(d, q, v);
		break;
	case REG_QUEUE_NOTIFY:
		/* normally an ioeventfd catches this before it gets here */
		if (v < d->ops->num_queues &&
		    write(d->ioeventfd[v], &one, sizeof(one)) < 0)
			debug("%s: notify: %s", d->ops->name, strerror(errno));
		break;
	case REG_INT_ACK: d->isr &= ~v; break;
	case REG_STATUS: set_status(d, v); break;
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

static uint32_t reg_read(struct virtio_dev *d, uint64_t reg)
{
	struct virtq *q = selected_queue(d);

	switch (reg) {
	case REG_MAGIC: return VIRTIO_MMIO_MAGIC;
	case REG_VERSION: return VIRTIO_MMIO_VERSION;
	case REG_DEVICE_ID: return d->ops->device_id;
	case REG_VENDOR_ID: return VIRTIO_VENDOR_ID;
	case REG_DEV_FEATURES:
		if (d->dev_features_sel > 1)
			return 0;
		return (uint32_t)(d->dev_features >> (32 * d->dev_features_sel));
	case REG_QUEUE_NUM_MAX: return q ? d->ops->queue_max : 0;
	case REG_QUEUE_READY: return q ? q->ready : 0;
	case REG_INT_STATUS: return d->isr;
	case REG_STATUS: return d->status;
	case REG_CONFIG_GEN: return d->config_generation;
	default: return 0;
	}
}

static void virtio_mmio_io(void *dev, uint64_t off, uint8_t *data, uint32_t len,
			   bool is_write)
{
	struct virtio_dev *d = dev;

	pthread_mutex_lock(&d->lock);
	if (off >= REG_CONFIG) {
		uint64_t coff = off - REG_CONFIG;
		size_t csize = d->ops->config_size ? d->ops->config_size(d) : 0;

		if (coff < csize && len <= csize - coff) {
			if (is_write && d->ops->config_write)
				d->ops->config_write(d, coff, data, len);
			else if (!is_write && d->ops->config_read)
				d->ops->config_read(d, coff, data, len);
		}
	} else if (len == 4 && off % 4 == 0) {
		/* registers are 32-bit; other widths are ignored (4.2.2.2) */
		uint32_t v;

		if (is_write) {
			memcpy(&v, data, 4);
			reg_write(d, off, v);
		} else {
			v = reg_read(d, off);
			memcpy(data, &v, 4);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

static void on_queue_kick(struct vm *vm, void *opaque, uint32_t events)
{
	struct notify_ctx *n = opaque;
	struct virtio_dev *d = n->d;
	uint64_t v;
	bool live;

	(void)vm;
	(void)events;
	if (read(d->ioeventfd[n->q], &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&d->lock);
	live = (d->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(d->status & VIRTIO_STATUS_NEEDS_RESET) && d->vq[n->q].ready;
	pthread_mutex_unlock(&d->lock);
	if (live)
		d->ops->queue_notify(d, n->q);
}

static void virtio_mmio_free(void *p)
{
	struct virtio_dev *d = p;

	if (d->ops->destroy)
		d->ops->destroy(d->priv);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		if (d->ioeventfd[i] >= 0)
			close(d->ioeventfd[i]);
	if (d->irqfd >= 0)
		close(d->irqfd);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* Queue kicks: an eventfd per queue, bound to QueueNotify by KVM. */
static int setup_notify(struct virtio_dev *d, struct notify_ctx *ctx)
{
	for (unsigned int i = 0; i < d->ops->num_queues; i++) {
		struct kvm_ioeventfd io = {
			.datamatch = i,
			.addr = d->base + REG_QUEUE_NOTIFY,
			.len = 4,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		int ret;

		d->ioeventfd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (d->ioeventfd[i] < 0)
			return -errno;
		io.fd = d->ioeventfd[i];
		/* without ioeventfd the register write path kicks instead */
		if (kvm_check_cap(d->vm->vm_fd, KVM_CAP_IOEVENTFD))
			(void)kvm_ioctl(d->vm->vm_fd, KVM_IOEVENTFD, &io);
		ctx[i] = (struct notify_ctx){ .d = d, .q = i };
		ret = evloop_add(d->vm->loop, d->ioeventfd[i], EPOLLIN,
				 on_queue_kick, &ctx[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static int setup_irqfd(struct virtio_dev *d)
{
	struct kvm_irqfd irqfd = { .gsi = d->irq };

	if (!kvm_check_cap(d->vm->vm_fd, KVM_CAP_IRQFD))
		return 0; /* raise_irq() falls back to KVM_IRQ_LINE */
	d->irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->irqfd < 0)
		return -errno;
	irqfd.fd = (uint32_t)d->irqfd;
	if (kvm_ioctl(d->vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		close(d->irqfd);
		d->irqfd = -1;
	}
	return 0;
}

int virtio_mmio_create(struct vm *vm, struct bus *bus, uint64_t base,
		       unsigned int irq, const struct virtio_dev_ops *ops,
		       void *priv, struct virtio_dev **out)
{
	/* the notify contexts live right behind the device */
	struct virtio_dev *d = calloc(1, sizeof(*d) +
				      VIRTIO_MAX_QUEUES * sizeof(struct notify_ctx));
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
	d->vm = vm;
	d->base = base;
	d->irq = irq;
	d->irqfd = -1;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		d->ioeventfd[i] = -1;
	pthread_mutex_init(&d->lock, NULL);
	d->dev_features = (1ULL << VIRTIO_F_VERSION_1) |
			  (1ULL << VIRTIO_F_RING_EVENT_IDX) |
			  (1ULL << VIRTIO_F_RING_INDIRECT_DESC);
	if (ops->features)
		d->dev_features |= ops->features(d);
	/* from here on, the VM's teardown frees d and priv */
	ret = vm_add_cleanup(vm, virtio_mmio_free, d);
	if (ret)
		return ret;
	if ((ret = setup_notify(d, (struct notify_ctx *)(d + 1))) ||
	    (ret = setup_irqfd(d)) ||
	    (ret = bus_register(bus, base, VIRTIO_MMIO_SIZE, ops->name,
				virtio_mmio_io, d))) {
		error("%s at 0x%" PRIx64 ": %s", ops->name, base, strerror(-ret));
		return ret;
	}
	*out = d;
	return 0;
}
