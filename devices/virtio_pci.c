// SPDX-License-Identifier: MIT
/*
 * The virtio-pci transport, modern only (virtio 1.x, 4.1): one PCI
 * function per device with a 32 KiB memory BAR 0 holding the common
 * configuration, ISR, device configuration and notification regions that
 * its vendor capabilities point at, and the MSI-X table and PBA. Register
 * accesses map onto the device core (virtio.c) as virtio-mmio's do; a
 * kick reaches the queue's kick eventfd through an ioeventfd on the
 * queue's notification address; an interrupt is an MSI-X message, or a
 * pending bit while its vector is masked (pci.c keeps the PBA).
 *
 * Each vector has an MSI route of the host's (host.h msi_routes): an
 * eventfd bound to a GSI that KVM routes to the vector's message while
 * the vector is unmasked. The route follows the guest's table and mask
 * writes (msix_changed, on the vCPU thread that made them); sending a
 * message is a write to the eventfd, from whichever thread completed the
 * request. A host without routing sends each message itself (send_msi).
 *
 *   BAR 0 + 0x0000  common configuration (4.1.4.3)
 *           0x1000  ISR status (read clears)
 *           0x2000  device configuration
 *           0x3000  notifications: queue q at 0x3000 + 4 q
 *           0x4000  MSI-X table (queues + 1 vectors), 0x6000 its PBA
 *
 * No INTx (interrupt pin 0): a driver without MSI-X gets no interrupts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../vmm/log.h"
#include "pci.h"
#include "state.h"
#include "virtio.h"

#define BAR_SIZE      0x8000
#define COMMON_OFF    0x0000
#define ISR_OFF       0x1000
#define DEVICE_OFF    0x2000
#define NOTIFY_OFF    0x3000
#define NOTIFY_MULT   4
#define MSIX_TABLE    0x4000
#define MSIX_PBA      0x6000
#define REGION_SIZE   0x1000
#define NO_VECTOR     0xffff

#define VIRTIO_PCI_VENDOR   0x1af4
#define VIRTIO_PCI_DEVICE0  0x1040 /* + the virtio device id (4.1.2.1) */

/* common configuration fields */
enum {
	C_DFSELECT = 0x00, C_DF = 0x04, C_GFSELECT = 0x08, C_GF = 0x0c,
	C_MSIX = 0x10, C_NUMQ = 0x12, C_STATUS = 0x14, C_CFGGEN = 0x15,
	C_Q_SELECT = 0x16, C_Q_SIZE = 0x18, C_Q_MSIX = 0x1a,
	C_Q_ENABLE = 0x1c, C_Q_NOFF = 0x1e, C_Q_DESC = 0x20,
	C_Q_AVAIL = 0x28, C_Q_USED = 0x30, C_END = 0x38,
};

struct virtio_pci {
	struct pci_dev pci;
	struct virtio_dev *d;
	uint64_t notify_addr;  /* where the ioeventfds are bound, 0: none */
	bool ioeventfd[VIRTIO_MAX_QUEUES];
	uint32_t dfselect, gfselect;
	uint16_t queue_sel;
	uint16_t config_vector;
	uint16_t queue_vector[VIRTIO_MAX_QUEUES];
	unsigned int nvec;
	int route;                          /* vector 0's MSI route, -1: none */
	int msi_fd[VIRTIO_MAX_QUEUES + 1];  /* each vector's route eventfd */
};

static uint32_t class_of(uint32_t device_id)
{
	switch (device_id) {
	case 1: return 0x020000;  /* network, Ethernet */
	case 2: return 0x018000;  /* mass storage, other */
	case 3: return 0x078000;  /* communication, other */
	default: return 0x00ff00; /* unclassified */
	}
}

/* The vector is unmasked (pci.c holds the bus lock): send its message. */
static void send_msix(struct pci_dev *pd, unsigned int vector)
{
	struct virtio_pci *p = pd->owner;
	const struct dev_host *h = p->d->host;
	const uint8_t *e = pd->msix_table + (size_t)vector * PCI_MSIX_ENTRY;
	uint64_t addr, one = 1;
	uint32_t data;

	if (p->route >= 0) {
		/* non-blocking; only a counter at its limit refuses */
		if (write(p->msi_fd[vector], &one, sizeof(one)) != sizeof(one))
			debug("%s: MSI-X vector %u not sent", p->d->where,
			      vector);
		return;
	}
	/* the bus lock is held: the entry is read directly, not through pci.c */
	memcpy(&addr, e, 8);
	memcpy(&data, e + 8, 4);
	if (!h->ops->send_msi || h->ops->send_msi(h->vm, addr, data))
		debug("%s: MSI-X vector %u not sent", p->d->where, vector);
}

/* The guest changed a vector's message or mask: its route follows. */
static void msix_changed(struct pci_dev *pd, unsigned int vector,
			 const struct pci_msix_msg *m)
{
	struct virtio_pci *p = pd->owner;
	const struct dev_host *h = p->d->host;
	int ret;

	if (p->route < 0)
		return;
	ret = h->ops->msi_route(h->vm, (unsigned int)p->route + vector,
				m->addr, m->data, !m->masked);
	if (ret)
		error("%s: MSI-X vector %u: cannot route it: %s", p->d->where,
		      vector, strerror(-ret));
}

static void pci_interrupt(struct virtio_dev *d, unsigned int q, uint32_t why)
{
	struct virtio_pci *p = d->tr_priv;
	uint16_t v = why == VIRTIO_ISR_CONFIG ? p->config_vector
					      : (q < VIRTIO_MAX_QUEUES ?
						 p->queue_vector[q] : NO_VECTOR);

	if (v != NO_VECTOR)
		pci_msix_notify(&p->pci, v);
}

static const struct virtio_transport virtio_pci_transport = {
	.name = "virtio-pci",
	.interrupt = pci_interrupt,
};

static void reset_transport(struct virtio_pci *p)
{
	p->dfselect = p->gfselect = 0;
	p->queue_sel = 0;
	p->config_vector = NO_VECTOR;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		p->queue_vector[i] = NO_VECTOR;
}

static struct virtq *selected(struct virtio_pci *p)
{
	return p->queue_sel < p->d->ops->num_queues ? &p->d->vq[p->queue_sel]
						     : NULL;
}

static uint16_t vector_or_none(struct virtio_pci *p, uint32_t v)
{
	return v < p->nvec ? (uint16_t)v : NO_VECTOR;
}

static void set_half(uint64_t *a, unsigned int off, uint32_t len, uint64_t v)
{
	if (len == 8)
		*a = v;
	else if (off & 4)
		*a = (*a & 0xffffffffULL) | (v << 32);
	else
		*a = (*a & ~0xffffffffULL) | (uint32_t)v;
}

static void common_write(struct virtio_pci *p, unsigned int off, uint32_t len,
			 uint64_t v)
{
	struct virtio_dev *d = p->d;
	struct virtq *q = selected(p);
	bool writable = q && !q->ready;

	switch (off) {
	case C_DFSELECT: p->dfselect = (uint32_t)v; break;
	case C_GFSELECT: p->gfselect = (uint32_t)v; break;
	case C_GF: virtio_set_driver_features(d, p->gfselect, (uint32_t)v); break;
	case C_MSIX: p->config_vector = vector_or_none(p, (uint32_t)v); break;
	case C_STATUS:
		if ((v & 0xff) == 0)
			reset_transport(p);
		virtio_set_status(d, (uint32_t)(v & 0xff));
		break;
	case C_Q_SELECT: p->queue_sel = (uint16_t)v; break;
	case C_Q_SIZE: if (writable) q->size = (uint16_t)v; break;
	case C_Q_MSIX:
		if (q)
			p->queue_vector[p->queue_sel] = vector_or_none(p, (uint32_t)v);
		break;
	case C_Q_ENABLE:
		/* 1 enables; a driver may not disable a queue this way (4.1.4.3.2) */
		if (q && v == 1)
			virtio_set_queue_ready(d, p->queue_sel, true);
		break;
	case C_Q_DESC: case C_Q_DESC + 4:
		if (writable) set_half(&q->desc_gpa, off, len, v);
		break;
	case C_Q_AVAIL: case C_Q_AVAIL + 4:
		if (writable) set_half(&q->avail_gpa, off, len, v);
		break;
	case C_Q_USED: case C_Q_USED + 4:
		if (writable) set_half(&q->used_gpa, off, len, v);
		break;
	default:
		break; /* read-only */
	}
}

static uint64_t common_read(struct virtio_pci *p, unsigned int off,
			    uint32_t len)
{
	struct virtio_dev *d = p->d;
	struct virtq *q = selected(p);
	uint64_t a;

	switch (off) {
	case C_DFSELECT: return p->dfselect;
	case C_DF: return virtio_device_features(d, p->dfselect);
	case C_GFSELECT: return p->gfselect;
	case C_GF:
		return p->gfselect > 1 ? 0 :
		       (uint32_t)(d->drv_features >> (32 * p->gfselect));
	case C_MSIX: return p->config_vector;
	case C_NUMQ: return d->ops->num_queues;
	case C_STATUS: return d->status & 0xff;
	case C_CFGGEN: return d->config_generation & 0xff;
	case C_Q_SELECT: return p->queue_sel;
	/* the size offered until the driver picks one */
	case C_Q_SIZE: return q ? (q->size ? q->size : d->ops->queue_max) : 0;
	case C_Q_MSIX: return q ? p->queue_vector[p->queue_sel] : NO_VECTOR;
	case C_Q_ENABLE: return q ? q->ready : 0;
	case C_Q_NOFF: return q ? p->queue_sel : 0;
	case C_Q_DESC: case C_Q_DESC + 4: a = q ? q->desc_gpa : 0; break;
	case C_Q_AVAIL: case C_Q_AVAIL + 4: a = q ? q->avail_gpa : 0; break;
	case C_Q_USED: case C_Q_USED + 4: a = q ? q->used_gpa : 0; break;
	default: return 0;
	}
	return len == 8 ? a : (off & 4) ? a >> 32 : (uint32_t)a;
}

/* The width each common field has (64-bit fields also take halves). */
static bool common_width_ok(unsigned int off, uint32_t len)
{
	if (off >= C_Q_DESC && off < C_END)
		return (len == 4 && off % 4 == 0) || (len == 8 && off % 8 == 0);
	if (off == C_STATUS || off == C_CFGGEN)
		return len == 1;
	if (off < C_MSIX)
		return len == 4 && off % 4 == 0;
	return len == 2 && off % 2 == 0;
}

static void bar_io(struct pci_dev *pd, unsigned int bar, uint64_t off,
		   uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_pci *p = pd->owner;
	struct virtio_dev *d = p->d;
	uint64_t v = 0;

	if (!is_write)
		memset(data, 0, len);
	if (bar != 0 || len > 8)
		return;
	if (is_write)
		memcpy(&v, data, len);
	pthread_mutex_lock(&d->lock);
	if (off < COMMON_OFF + C_END) {
		if (common_width_ok((unsigned int)off, len)) {
			if (is_write)
				common_write(p, (unsigned int)off, len, v);
			else {
				v = common_read(p, (unsigned int)off, len);
				memcpy(data, &v, len);
			}
		}
	} else if (off == ISR_OFF && !is_write) {
		data[0] = (uint8_t)d->isr; /* reading clears it (4.1.4.5) */
		d->isr = 0;
	} else if (off >= DEVICE_OFF && off < DEVICE_OFF + REGION_SIZE) {
		virtio_config_access(d, off - DEVICE_OFF, data, len, is_write);
	} else if (off >= NOTIFY_OFF && off < NOTIFY_OFF + REGION_SIZE &&
		   is_write) {
		/* normally an ioeventfd catches this before it gets here */
		virtio_kick(d, (unsigned int)((off - NOTIFY_OFF) / NOTIFY_MULT));
	}
	pthread_mutex_unlock(&d->lock);
}

static void bind_kicks(struct virtio_pci *p, uint64_t bar0, bool attach)
{
	struct virtio_dev *d = p->d;

	for (unsigned int i = 0; i < d->ops->num_queues; i++) {
		struct dev_ioeventfd io = {
			.addr = bar0 + NOTIFY_OFF + (uint64_t)i * NOTIFY_MULT,
			.len = 2, .fd = d->kick_fd[i],
		};

		if (attach)
			p->ioeventfd[i] = !d->host->ops->ioeventfd(d->host->vm,
								  &io, true);
		else if (p->ioeventfd[i])
			d->host->ops->ioeventfd(d->host->vm, &io, false);
		if (!attach)
			p->ioeventfd[i] = false;
	}
	p->notify_addr = attach ? bar0 : 0;
}

/*
 * The guest moved BAR 0: the notification ioeventfds follow. Turning
 * decoding off and on (Linux does while sizing BARs) leaves them: a kick
 * while decoding is off cannot come from a driver that uses the device.
 */
static void bar_moved(struct pci_dev *pd, unsigned int bar, uint64_t old,
		      bool was_mapped, uint64_t addr, bool mapped)
{
	struct virtio_pci *p = pd->owner;

	(void)old;
	(void)was_mapped;
	if (bar != 0 || !mapped || addr == p->notify_addr)
		return;
	if (p->notify_addr)
		bind_kicks(p, p->notify_addr, false);
	bind_kicks(p, addr, true);
}

/*
 * --- snapshot state: the transport's selectors and vectors, the PCI
 * function (configuration space, BARs, MSI-X table and PBA), then the
 * device core's. Restoring the function re-establishes what the guest
 * had set up: the kicks at BAR 0's address, each vector's MSI route.
 */

static void pci_quiesce(void *arg, bool on)
{
	struct virtio_pci *p = arg;

	if (p->d->ops->quiesce)
		p->d->ops->quiesce(p->d, on);
}

static void pci_save(void *arg, struct sbuf *b)
{
	struct virtio_pci *p = arg;
	struct virtio_dev *d = p->d;

	pthread_mutex_lock(&d->lock);
	sbuf_put_u32(b, p->dfselect);
	sbuf_put_u32(b, p->gfselect);
	sbuf_put_u16(b, p->queue_sel);
	sbuf_put_u16(b, p->config_vector);
	for (unsigned int i = 0; i < d->ops->num_queues; i++)
		sbuf_put_u16(b, p->queue_vector[i]);
	pci_dev_state_save(&p->pci, b);
	virtio_state_save(d, b);
	pthread_mutex_unlock(&d->lock);
}

static bool vector_ok(const struct virtio_pci *p, uint16_t v)
{
	return v == NO_VECTOR || v < p->nvec;
}

static int pci_restore(void *arg, struct sbuf *r, char *err, size_t errlen)
{
	struct virtio_pci *p = arg;
	struct virtio_dev *d = p->d;
	uint16_t qv[VIRTIO_MAX_QUEUES], cv;
	uint32_t dfs, gfs;
	uint16_t qsel;
	int ret;

	dfs = sbuf_get_u32(r);
	gfs = sbuf_get_u32(r);
	qsel = sbuf_get_u16(r);
	cv = sbuf_get_u16(r);
	for (unsigned int i = 0; i < d->ops->num_queues; i++)
		qv[i] = sbuf_get_u16(r);
	if (r->err || !vector_ok(p, cv)) {
		snprintf(err, errlen, "%s: malformed state", d->where);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < d->ops->num_queues; i++)
		if (!vector_ok(p, qv[i])) {
			snprintf(err, errlen, "%s: queue %u on MSI-X vector %u "
				 "of %u", d->where, i, qv[i], p->nvec);
			return -EINVAL;
		}
	pthread_mutex_lock(&d->lock);
	ret = pci_dev_state_restore(&p->pci, r, err, errlen);
	if (!ret)
		ret = virtio_state_restore(d, r, err, errlen);
	if (!ret) {
		p->dfselect = dfs;
		p->gfselect = gfs;
		p->queue_sel = qsel;
		p->config_vector = cv;
		memcpy(p->queue_vector, qv, d->ops->num_queues * sizeof(qv[0]));
	}
	pthread_mutex_unlock(&d->lock);
	if (!ret)
		virtio_state_kick(d);
	return ret;
}

static const struct dev_state_ops pci_state_ops = {
	.quiesce = pci_quiesce,
	.save = pci_save,
	.restore = pci_restore,
};

static const struct pci_dev_ops virtio_pci_ops = {
	.bar_io = bar_io,
	.bar_moved = bar_moved,
	.msix_changed = msix_changed,
	.msix_deliver = send_msix,
};

static void virtio_pci_free(void *arg)
{
	struct virtio_pci *p = arg;

	if (p->notify_addr)
		bind_kicks(p, p->notify_addr, false);
	if (p->pci.bus) {
		pthread_mutex_lock(&p->pci.bus->lock);
		p->pci.bus->dev[p->pci.slot] = NULL;
		pthread_mutex_unlock(&p->pci.bus->lock);
	}
	p->d->tr = NULL;
	pci_dev_destroy(&p->pci);
	free(p);
}

int virtio_pci_attach(struct virtio_dev *d, struct pci_bus *bus)
{
	struct virtio_pci *p = calloc(1, sizeof(*p));
	const struct pci_ids ids = {
		.vendor = VIRTIO_PCI_VENDOR,
		.device = (uint16_t)(VIRTIO_PCI_DEVICE0 + d->ops->device_id),
		.subsys_vendor = VIRTIO_PCI_VENDOR,
		.subsys = (uint16_t)(VIRTIO_PCI_DEVICE0 + d->ops->device_id),
		.revision = 1, /* modern only */
		.class_code = class_of(d->ops->device_id),
	};
	int ret;

	if (!p)
		return -ENOMEM;
	p->d = d;
	p->nvec = d->ops->num_queues + 1;
	reset_transport(p);
	pci_dev_init(&p->pci, &ids, &virtio_pci_ops, p);
	ret = host_add_cleanup(d->host, virtio_pci_free, p);
	if (ret)
		return ret;
	p->route = d->host->ops->msi_routes ?
		   d->host->ops->msi_routes(d->host->vm, p->nvec, p->msi_fd) :
		   -ENOTSUP;
	if (p->route < 0 && p->route != -ENOTSUP) {
		error("%s: no MSI routes for its %u vectors: %s", d->ops->name,
		      p->nvec, strerror(-p->route));
		return p->route;
	}
	if (p->route < 0)
		p->route = -1;
	if ((ret = pci_dev_add_bar(&p->pci, 0, BAR_SIZE, PCI_BAR_MEM32)) ||
	    (ret = pci_add_virtio_cap(&p->pci, VIRTIO_PCI_CAP_COMMON_CFG, 0,
				      COMMON_OFF, REGION_SIZE, 0)) < 0 ||
	    (ret = pci_add_virtio_cap(&p->pci, VIRTIO_PCI_CAP_NOTIFY_CFG, 0,
				      NOTIFY_OFF, REGION_SIZE, NOTIFY_MULT)) < 0 ||
	    (ret = pci_add_virtio_cap(&p->pci, VIRTIO_PCI_CAP_ISR_CFG, 0,
				      ISR_OFF, REGION_SIZE, 0)) < 0 ||
	    (ret = pci_add_virtio_cap(&p->pci, VIRTIO_PCI_CAP_DEVICE_CFG, 0,
				      DEVICE_OFF, REGION_SIZE, 0)) < 0 ||
	    (ret = pci_dev_add_msix(&p->pci, p->nvec, 0, MSIX_TABLE,
				    MSIX_PBA)) < 0 ||
	    (ret = pci_bus_add(bus, &p->pci))) {
		error("%s: cannot put it on the PCI bus: %s", d->ops->name,
		      strerror(ret == -ENOSPC ? ENOSPC : -ret));
		return ret < 0 ? ret : -EINVAL;
	}
	snprintf(d->where, sizeof(d->where), "%s at 00:%02x.0", d->ops->name,
		 p->pci.slot);
	/* pci_bus_add() mapped BAR 0: bar_moved() bound the kicks */
	d->tr_priv = p;
	d->tr = &virtio_pci_transport;
	{
		char name[DEV_STATE_NAME_MAX];

		snprintf(name, sizeof(name), "virtio-pci@00:%02x.0",
			 p->pci.slot);
		return host_add_state(d->host, name, &pci_state_ops, p);
	}
}
