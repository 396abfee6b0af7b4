/* SPDX-License-Identifier: MIT */
/*
 * Test guest: a small polling driver for virtio 1.x devices on the
 * virtio-mmio transport (register layout version 2, "modern") with split
 * virtqueues. No interrupts: the driver submits a descriptor chain, kicks
 * the queue and polls the used ring with a timeout.
 *
 * Typical use:
 *
 *   struct virtio_dev d;
 *   static struct virtq q;
 *
 *   if (virtio_find(VIRTIO_ID_BLOCK, 0, &d)) fail(...);
 *   if ((err = virtio_start(&d, wanted_features, &q, 1))) fail("%s", err);
 *   struct virtio_buf b[] = { { addr, len, 0 }, { addr2, len2, 1 } };
 *   n = virtq_transfer(&d, &q, b, 2, timeout_ns, &used_len);
 *
 * Where the devices are: the windows virtio_windows() lists (lib.h; x86-64:
 * virtio_base= (default 0xd0001000, vmm's layout) every virtio_stride=
 * bytes (default 0x1000), at most virtio_count= (default 16); aarch64: the
 * device tree's virtio,mmio nodes), up to the first window whose
 * MagicValue is not "virt". Windows with DeviceID 0 (QEMU's empty
 * transports) are skipped. Guest memory is identity-mapped, so a buffer's
 * address is its guest-physical address.
 *
 * With virtio=pci on the command line (vmm's --virtio pci, x86-64) the
 * devices are PCI functions instead (virtio_pci_bar(), lib.h): the same
 * calls, the virtio-mmio register numbers below mapped onto the modern
 * virtio-pci regions of vmm's BAR 0 (common configuration, ISR, device
 * configuration, notifications). MSI-X stays off: still polled.
 */
#ifndef TESTGUEST_VIRTIO_H
#define TESTGUEST_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

/* Device IDs */
#define VIRTIO_ID_NET      1
#define VIRTIO_ID_BLOCK    2
#define VIRTIO_ID_CONSOLE  3

/* Device-independent feature bits */
#define VIRTIO_F_VERSION_1 32

/* Status bits */
#define VIRTIO_S_ACKNOWLEDGE 0x01
#define VIRTIO_S_DRIVER      0x02
#define VIRTIO_S_DRIVER_OK   0x04
#define VIRTIO_S_FEATURES_OK 0x08
#define VIRTIO_S_NEEDS_RESET 0x40
#define VIRTIO_S_FAILED      0x80

/* virtio-mmio registers (version 2 layout) */
#define VIRTIO_MMIO_MAGIC_VALUE       0x000
#define VIRTIO_MMIO_VERSION           0x004
#define VIRTIO_MMIO_DEVICE_ID         0x008
#define VIRTIO_MMIO_VENDOR_ID         0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES   0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES   0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL         0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX     0x034
#define VIRTIO_MMIO_QUEUE_NUM         0x038
#define VIRTIO_MMIO_QUEUE_READY       0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY      0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS  0x060
#define VIRTIO_MMIO_INTERRUPT_ACK     0x064
#define VIRTIO_MMIO_STATUS            0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW    0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH   0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW  0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW  0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG            0x100

#define VIRTIO_MMIO_MAGIC 0x74726976   /* "virt" */

/* virtio-pci (vmm's BAR 0): queue q's notification, 16 bits, at
 * VIRTIO_PCI_NOTIFY + 4 q */
#define VIRTIO_PCI_NOTIFY 0x3000

/* ---- split virtqueue (virtio 1.x, 2.7) ---- */

#define VIRTQ_SIZE        16   /* the most descriptors a queue here has */
#define VIRTQ_DESC_F_NEXT  1
#define VIRTQ_DESC_F_WRITE 2

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

/*
 * One queue: the three rings (in guest RAM, handed to the device) and the
 * driver's bookkeeping. Give each queue its own static struct virtq.
 */
struct virtq {
	struct virtq_desc desc[VIRTQ_SIZE] __attribute__((aligned(16)));
	struct {
		uint16_t flags;
		uint16_t idx;
		uint16_t ring[VIRTQ_SIZE];
		uint16_t used_event;
	} avail __attribute__((aligned(2)));
	struct {
		uint16_t flags;
		uint16_t idx;
		struct virtq_used_elem ring[VIRTQ_SIZE];
		uint16_t avail_event;
	} used __attribute__((aligned(4)));

	/* driver side */
	unsigned int index;          /* queue number on the device */
	uint16_t size;               /* negotiated, a power of two */
	uint16_t free_head;          /* free descriptors, linked by .next */
	uint16_t num_free;
	uint16_t avail_idx;          /* our copy of avail.idx */
	uint16_t last_used;          /* next used entry to consume */
	uint8_t in_flight[VIRTQ_SIZE]; /* head of a chain the device owns */
};

/* One buffer of a chain: readable by the device, or writable. */
struct virtio_buf {
	uint64_t addr;               /* guest-physical */
	uint32_t len;
	int writable;
};

/* virtq_poll/virtq_wait/virtq_transfer results below 0 */
#define VIRTQ_NONE     (-1)   /* nothing used yet (virtq_poll) */
#define VIRTQ_TIMEOUT  (-2)   /* nothing used before the deadline */
#define VIRTQ_BROKEN   (-3)   /* the device set NEEDS_RESET */
#define VIRTQ_BAD_ID   (-4)   /* used ring names a chain we did not submit */
#define VIRTQ_FULL     (-5)   /* not enough free descriptors */

/* ---- device ---- */

struct virtio_dev {
	uint64_t base;               /* MMIO window */
	uint64_t pci_bar;            /* virtio-pci: its BAR 0, else 0 */
	unsigned int slot;           /* window number from the probe base */
	uint32_t version;            /* MMIO register layout: 2 = modern */
	uint32_t device_id;
	uint32_t vendor_id;
	uint64_t offered;            /* DeviceFeatures */
	uint64_t features;           /* what we accepted */
	uint32_t status;             /* what we last wrote to Status */
};

const char *virtio_id_name(uint32_t device_id);

/*
 * Find the nth (0-based) device with this DeviceID and print where it is.
 * 0 if found, -1 if not (after printing what the probe saw).
 */
int virtio_find(uint32_t device_id, unsigned int nth, struct virtio_dev *d);

/* Raw registers (32-bit accesses). */
uint32_t virtio_read(const struct virtio_dev *d, uint32_t reg);
void virtio_write(const struct virtio_dev *d, uint32_t reg, uint32_t v);
uint32_t virtio_get_status(const struct virtio_dev *d);

/* Write 0 to Status and wait (bounded) until it reads 0. 0 or -1. */
int virtio_reset(struct virtio_dev *d);

/*
 * Initialisation up to FEATURES_OK: reset, ACKNOWLEDGE, DRIVER, read the
 * offered features, accept (offered & wanted) | VERSION_1, FEATURES_OK and
 * check it stuck. NULL on success, else why not (Status then has FAILED).
 */
const char *virtio_negotiate(struct virtio_dev *d, uint64_t wanted);

/*
 * Set up queue `index` with a power-of-two size <= min(size, QueueNumMax,
 * VIRTQ_SIZE) on the rings in q and make it ready. NULL or why not.
 */
const char *virtio_queue_setup(struct virtio_dev *d, struct virtq *q,
			       unsigned int index, uint16_t size);

/* Set DRIVER_OK: the device is live. */
void virtio_driver_ok(struct virtio_dev *d);

/*
 * virtio_negotiate + queues 0..nq-1 on q[0..nq-1] (VIRTQ_SIZE each) +
 * DRIVER_OK. NULL or why not.
 */
const char *virtio_start(struct virtio_dev *d, uint64_t wanted,
			 struct virtq *q, unsigned int nq);

static inline int virtio_has(const struct virtio_dev *d, unsigned int bit)
{
	return (d->features >> bit) & 1;
}

/*
 * Device configuration space, read with the access width the spec asks
 * for (8/16/32-bit; 64-bit fields as two 32-bit halves), retried until
 * ConfigGeneration is stable.
 */
uint32_t virtio_config32(const struct virtio_dev *d, uint32_t off);
uint64_t virtio_config64(const struct virtio_dev *d, uint32_t off);
void virtio_config_bytes(const struct virtio_dev *d, uint32_t off,
			 uint8_t *out, size_t n);

/* Acknowledge whatever InterruptStatus shows. */
void virtio_ack_interrupt(const struct virtio_dev *d);

/*
 * Queue operations. virtq_add puts a chain of n buffers (readable ones
 * first) in the descriptor table and the avail ring and returns its head,
 * or VIRTQ_FULL; the device only looks once kicked. virtq_poll returns the
 * head of the next used chain (its descriptors freed, *len = bytes the
 * device wrote) or VIRTQ_NONE. virtq_wait polls until something is used,
 * the device reports NEEDS_RESET or timeout_ns passes (time_init() first).
 * virtq_transfer = add + kick + wait for that very chain.
 */
int virtq_add(struct virtq *q, const struct virtio_buf *b, unsigned int n);
void virtq_kick(const struct virtio_dev *d, const struct virtq *q);
int virtq_poll(struct virtq *q, uint32_t *len);
int virtq_wait(const struct virtio_dev *d, struct virtq *q,
	       uint64_t timeout_ns, uint32_t *len);
int virtq_transfer(const struct virtio_dev *d, struct virtq *q,
		   const struct virtio_buf *b, unsigned int n,
		   uint64_t timeout_ns, uint32_t *len);
const char *virtq_strerror(int err);

/*
 * For tests that hand-craft (possibly malformed) chains in q->desc: make
 * descriptor `head` available without touching the free list. The queue
 * must be set up again (after a device reset) before normal use.
 */
void virtq_publish(struct virtq *q, uint16_t head);

#endif
