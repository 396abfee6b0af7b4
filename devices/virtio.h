/* SPDX-License-Identifier: MIT */
/*
 * virtio 1.x over MMIO: the split virtqueue (virtqueue.c), the virtio-mmio
 * transport (virtio_mmio.c) and the interface a device model implements
 * (virtio_blk.c, virtio_net.c, virtio_console.c).
 *
 * Threads: register accesses arrive on vCPU threads; queue work runs on the
 * event-loop thread, woken by an ioeventfd per queue. Each device's mutex
 * (struct virtio_dev.lock) serialises the two. Interrupts go out through
 * an irqfd.
 *
 * Trust: everything in guest memory is hostile. Rings are validated once
 * when the driver sets QueueReady; descriptors are copied before use;
 * chains are bounded by the queue size. A malformed queue marks the device
 * NEEDS_RESET and is logged once; the VMM never touches memory outside the
 * guest's.
 */
#ifndef DEVICES_VIRTIO_H
#define DEVICES_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vmm/memory.h"

struct vm;
struct bus;

/* --- split virtqueue ---------------------------------------------------- */

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_USED_F_NO_NOTIFY  1
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

#define VIRTQ_MAX_SIZE   1024 /* largest queue any device offers */
#define VIRTQ_MAX_CHAIN  VIRTQ_MAX_SIZE /* buffers in one chain, indirect included */

struct virtq {
	/* set by the driver through the transport */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready;

	/* validated host views of the rings (valid while ready) */
	uint8_t *desc;  /* size * 16 bytes */
	uint8_t *avail; /* 6 + size * 2 bytes */
	uint8_t *used;  /* 6 + size * 8 bytes */

	uint16_t last_avail; /* next avail entry the device will take */
	uint16_t used_idx;   /* next used entry the device will fill */
	bool event_idx;      /* VIRTIO_F_EVENT_IDX negotiated */
	uint16_t signalled_used; /* used_idx at the last interrupt */
	bool signalled_valid;
};

/* One buffer of a descriptor chain, already bounds-checked. */
struct virtq_buf {
	uint8_t *host;   /* host view of [gpa, gpa + len) */
	uint64_t gpa;
	uint32_t len;
	bool write;      /* device writes into it */
};

struct virtq_chain {
	uint16_t head;         /* id to hand back with virtq_push() */
	unsigned int nbufs;
	unsigned int nread;    /* buf[0..nread) are readable, the rest writable */
	uint64_t read_len, write_len;
	struct virtq_buf buf[VIRTQ_MAX_CHAIN];
};

/*
 * Validate and map the rings the driver configured (size a power of two,
 * 1..max, rings aligned and wholly inside guest memory). 0 or -EINVAL.
 */
int virtq_activate(struct virtq *q, const struct guest_mem *m, uint16_t max)
	__attribute__((warn_unused_result));
void virtq_reset(struct virtq *q);

/*
 * Take the next available chain. Returns 1 with *c filled, 0 when the
 * driver has made nothing available, -EIO when the chain is malformed
 * (out-of-memory buffer, loop, too long, readable after writable, bad
 * indirect table, avail index running ahead by more than the size); the
 * caller then marks the device NEEDS_RESET.
 */
int virtq_pop(struct virtq *q, const struct guest_mem *m,
	      struct virtq_chain *c) __attribute__((warn_unused_result));

/* Return a chain to the driver with len bytes written into it. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);

/*
 * Batched return: virtq_fill() writes used entry used_idx + i without
 * publishing it; virtq_flush() then publishes n entries with one index
 * update, so the driver never sees part of a batch (a merged receive
 * buffer, say).
 */
void virtq_fill(struct virtq *q, unsigned int i, uint16_t head, uint32_t len);
void virtq_flush(struct virtq *q, unsigned int n);

/* Give back the last n chains taken with virtq_pop(): they were not used. */
void virtq_unpop(struct virtq *q, unsigned int n);

/*
 * Should the driver be interrupted for what was pushed since the last
 * interrupt? (EVENT_IDX used_event, else the NO_INTERRUPT flag.)
 */
bool virtq_should_interrupt(struct virtq *q);

/*
 * Tell the driver whether the device wants kicks for new buffers (EVENT_IDX
 * avail_event, else the NO_NOTIFY flag). Used by devices that poll.
 */
void virtq_set_notify(struct virtq *q, bool enable);

/* Is there something available right now? */
bool virtq_has_avail(const struct virtq *q);

/* Copy helpers across a chain's buffers (readable or writable part). */
size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst,
			size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off,
			 const void *src, size_t len);

/* --- device interface --------------------------------------------------- */

#define VIRTIO_F_VERSION_1       32
#define VIRTIO_F_RING_EVENT_IDX  29
#define VIRTIO_F_RING_INDIRECT_DESC 28

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED      0x80

#define VIRTIO_MAX_QUEUES 4

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;        /* "virtio-blk", for messages */
	uint32_t device_id;      /* 2 = blk, 1 = net, 3 = console */
	unsigned int num_queues;
	uint16_t queue_max;      /* largest queue size offered */
	/* device-specific feature bits (the transport adds VERSION_1 etc.) */
	uint64_t (*features)(struct virtio_dev *d);
	/* config space: offset/len already checked against config_size */
	size_t (*config_size)(struct virtio_dev *d);
	void (*config_read)(struct virtio_dev *d, uint64_t off, uint8_t *data,
			    uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint64_t off,
			     const uint8_t *data, uint32_t len);
	/*
	 * The driver kicked queue q (event-loop thread, d->lock NOT held: the
	 * device takes it around queue access).
	 */
	void (*queue_notify)(struct virtio_dev *d, unsigned int q);
	/* DRIVER_OK was set: start I/O (e.g. watch the TAP). d->lock held. */
	int (*activate)(struct virtio_dev *d);
	/* The driver reset the device: forget queue state. d->lock held. */
	void (*reset)(struct virtio_dev *d);
	/* Free the device model's state (priv) at VM teardown. */
	void (*destroy)(void *priv);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;                 /* the device model's state */
	struct vm *vm;
	pthread_mutex_t lock;

	uint64_t base;              /* MMIO window, 4 KiB */
	unsigned int irq;
	int irqfd;                  /* eventfd bound to irq with KVM_IRQFD */
	int ioeventfd[VIRTIO_MAX_QUEUES];

	uint32_t status;
	uint32_t isr;               /* InterruptStatus: bit 0 used, bit 1 config */
	uint32_t config_generation;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint64_t dev_features;      /* offered */
	uint64_t drv_features;      /* accepted by the driver */
	struct virtq vq[VIRTIO_MAX_QUEUES];
	bool broken_logged;
	uint32_t reset_count;       /* bumped by each reset and queue disable:
				       a device that dropped the lock sees one
				       happened */
};

/*
 * Create a virtio-mmio device at base (a 4 KiB window on the MMIO bus)
 * wired to irq, with ops/priv as the device model. The platform then
 * describes it to the guest (command line or device tree). It takes
 * ownership of priv: on failure, ops->destroy(priv) has been called.
 */
int virtio_mmio_create(struct vm *vm, struct bus *bus, uint64_t base,
		       unsigned int irq, const struct virtio_dev_ops *ops,
		       void *priv, struct virtio_dev **out)
	__attribute__((warn_unused_result));

/*
 * Interrupt the driver for used buffers on queue q, if it wants one.
 * Call with d->lock held.
 */
void virtio_notify_used(struct virtio_dev *d, unsigned int q);

/*
 * Come back to queue q later: a device that has used its budget for one
 * event-loop turn kicks its own ioeventfd, so other fds get their turn.
 */
void virtio_kick_self(struct virtio_dev *d, unsigned int q);

/* The device changed its config space: new generation, interrupt. */
void virtio_notify_config(struct virtio_dev *d);

/* The driver broke the queue contract: NEEDS_RESET, log once. Lock held. */
void virtio_set_broken(struct virtio_dev *d, const char *why);

/* Feature negotiated? */
static inline bool virtio_has_feature(const struct virtio_dev *d,
				      unsigned int bit)
{
	return d->drv_features & (1ULL << bit);
}

#define VIRTIO_MMIO_SIZE 0x1000

#endif
