/* SPDX-License-Identifier: MIT */
/*
 * virtio 1.x: the split virtqueue (virtqueue.c), the transport-neutral
 * device core (virtio.c), the transports (virtio_mmio.c) and the
 * interface a device model implements (virtio_blk.c, virtio_net.c,
 * virtio_console.c). A model never knows which transport carries it.
 *
 * Threads: register accesses arrive on vCPU threads; queue work runs on the
 * event-loop thread, or on the model's own thread for the queues it serves
 * itself (virtio-blk's disk I/O), woken by a kick eventfd per queue that
 * KVM signals (ioeventfd). Each device's mutex (struct virtio_dev.lock)
 * serialises them. Interrupts go out through an irqfd.
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

#include "host.h"

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

/* InterruptStatus / ISR bits: used buffers, configuration change */
#define VIRTIO_ISR_USED   1
#define VIRTIO_ISR_CONFIG 2

#define VIRTIO_MAX_QUEUES 4

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;        /* "virtio-blk", for messages */
	uint32_t device_id;      /* 2 = blk, 1 = net, 3 = console */
	unsigned int num_queues;
	uint16_t queue_max;      /* largest queue size offered */
	/*
	 * Queues (bit q) whose kicks the model takes on its own thread by
	 * reading d->kick_fd[q]; the others are served on the event loop.
	 */
	uint32_t own_thread_queues;
	/* device-specific feature bits (the core adds VERSION_1 etc.) */
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
	/*
	 * For a snapshot (state.h's quiesce): take no new requests and finish
	 * those in flight (on), or go on (off). Event-loop thread, d->lock
	 * NOT held. NULL: the model does all its work on the event loop,
	 * which the snapshot holds, and keeps nothing in flight across it.
	 */
	void (*quiesce)(struct virtio_dev *d, bool on);
};

/* What a transport does for the core: interrupt the driver. */
struct virtio_transport {
	const char *name;        /* "virtio-mmio", for messages */
	/*
	 * Interrupt the driver: why is VIRTIO_ISR_USED (for queue q) or
	 * VIRTIO_ISR_CONFIG. d->lock held.
	 */
	void (*interrupt)(struct virtio_dev *d, unsigned int q, uint32_t why);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;                 /* the device model's state */
	const struct dev_host *host;
	pthread_mutex_t lock;

	/* the transport carrying it, and where (for messages) */
	const struct virtio_transport *tr;
	void *tr_priv;
	char where[48];             /* "virtio-blk at 0xd0001000" */

	int kick_fd[VIRTIO_MAX_QUEUES]; /* eventfd per queue, signalled by KVM */

	uint32_t status;
	uint32_t isr;               /* bit 0 used, bit 1 config */
	uint32_t config_generation;
	uint64_t dev_features;      /* offered */
	uint64_t drv_features;      /* accepted by the driver */
	struct virtq vq[VIRTIO_MAX_QUEUES];
	bool broken_logged;
	uint32_t refused_logged;    /* queue refusals logged (bounded) */
	uint32_t reset_count;       /* bumped by each reset and queue disable:
				       a device that dropped the lock sees one
				       happened */
};

/*
 * The core (virtio.c). virtio_dev_create() makes a device for model
 * ops/priv, not yet on any transport, and puts it on the host's cleanup
 * list; on failure ops->destroy(priv) has been called.
 */
int virtio_dev_create(const struct dev_host *h,
		      const struct virtio_dev_ops *ops, void *priv,
		      struct virtio_dev **out) __attribute__((warn_unused_result));

/*
 * What transports call on the driver's behalf, d->lock held: a status
 * write (0 resets), a queue made ready or not, the driver's features.
 */
void virtio_set_status(struct virtio_dev *d, uint32_t status);
void virtio_set_queue_ready(struct virtio_dev *d, unsigned int q, bool ready);
void virtio_set_driver_features(struct virtio_dev *d, unsigned int half,
				uint32_t bits);
uint32_t virtio_device_features(const struct virtio_dev *d, unsigned int half);
/* Config space access, bounds-checked against the model's config size. */
void virtio_config_access(struct virtio_dev *d, uint64_t off, uint8_t *data,
			  uint32_t len, bool is_write);
/* The driver kicked queue q by a register write (no ioeventfd). */
void virtio_kick(struct virtio_dev *d, unsigned int q);

/*
 * What device models call. virtio_notify_used: interrupt the driver for
 * used buffers on queue q, if it wants one. d->lock held.
 */
void virtio_notify_used(struct virtio_dev *d, unsigned int q);

/*
 * Come back to queue q later: a device that has used its budget for one
 * event-loop turn kicks its own queue, so other fds get their turn.
 */
void virtio_kick_self(struct virtio_dev *d, unsigned int q);

/* The device changed its config space: new generation, interrupt. */
void virtio_notify_config(struct virtio_dev *d);

/* The driver broke the queue contract: NEEDS_RESET, log once. Lock held. */
void virtio_set_broken(struct virtio_dev *d, const char *why);

/*
 * May the device process queues now? Only once the driver has finished
 * initialising it (FEATURES_OK and DRIVER_OK, 3.1.1), until it needs a
 * reset.
 */
static inline bool virtio_live(const struct virtio_dev *d)
{
	uint32_t s = d->status;

	return (s & VIRTIO_STATUS_DRIVER_OK) &&
	       (s & VIRTIO_STATUS_FEATURES_OK) &&
	       !(s & VIRTIO_STATUS_NEEDS_RESET);
}

/*
 * Snapshots (virtio_mmio.c's state): the transport-neutral state of d,
 * d->lock held. virtio_state_restore() checks it against this device (its
 * type, queues, features) and the guest's memory (the rings), and starts
 * the model's I/O when the driver had; 0 or -EINVAL with err set.
 * virtio_state_kick(): look at every ready queue once (lock not held):
 * what the driver queued before the snapshot is served after it.
 */
struct sbuf;
void virtio_state_save(struct virtio_dev *d, struct sbuf *b);
int virtio_state_restore(struct virtio_dev *d, struct sbuf *r, char *err,
			 size_t errlen);
void virtio_state_kick(struct virtio_dev *d);

/* Feature negotiated? */
static inline bool virtio_has_feature(const struct virtio_dev *d,
				      unsigned int bit)
{
	return d->drv_features & (1ULL << bit);
}

/* --- transports ---------------------------------------------------------- */

/*
 * virtio-mmio (version 2): put d in a VIRTIO_MMIO_SIZE window at base on
 * bus, interrupting on irq. 0 or -errno with one error line.
 */
#define VIRTIO_MMIO_SIZE 0x1000
int virtio_mmio_attach(struct virtio_dev *d, struct bus *bus, uint64_t base,
		       unsigned int irq) __attribute__((warn_unused_result));

#endif
