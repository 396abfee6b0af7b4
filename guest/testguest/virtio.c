// SPDX-License-Identifier: MIT
/*
 * Test guest: the virtio-mmio driver (see virtio.h). Follows the virtio 1.x
 * initialisation sequence (3.1.1) and the split virtqueue rules (2.7);
 * everything is polled.
 *
 * Ordering (hw.h): virt_wmb() between filling descriptors, the avail ring
 * entry and avail.idx, and before QueueNotify; virt_rmb() between reading
 * used.idx and the used entries. On x86 these are compiler barriers (stores
 * and loads stay in program order, and the QueueNotify exit serialises);
 * on arm64 they are DMBs.
 */
#include "hw.h"
#include "lib.h"
#include "virtio.h"

#define MAX_WINDOWS 64

#define RESET_TIMEOUT_NS   1000000000UL
#define STATUS_CHECK_NS    10000000UL   /* NEEDS_RESET check while polling */
#define SPINS_PER_CHECK    256          /* polls between clock reads */

const char *virtio_id_name(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:     return "virtio-net";
	case VIRTIO_ID_BLOCK:   return "virtio-blk";
	case VIRTIO_ID_CONSOLE: return "virtio-console";
	default:                return "virtio device";
	}
}

/*
 * virtio-pci: where a virtio-mmio register lives in vmm's BAR 0 (common
 * configuration at 0, ISR at 0x1000, device configuration at 0x2000,
 * queue q's notification at 0x3000 + 4 q) and its width there; width 0:
 * nothing there (reads 0, writes dropped).
 */
#define PCI_ISR     0x1000
#define PCI_DEVCFG  0x2000
#define PCI_NOTIFY  VIRTIO_PCI_NOTIFY

static uint32_t pci_reg(uint32_t reg, unsigned int *width)
{
	static const struct { uint16_t mmio, pci; uint8_t width; } map[] = {
		{ VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0x00, 4 },
		{ VIRTIO_MMIO_DEVICE_FEATURES,     0x04, 4 },
		{ VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0x08, 4 },
		{ VIRTIO_MMIO_DRIVER_FEATURES,     0x0c, 4 },
		{ VIRTIO_MMIO_STATUS,              0x14, 1 },
		{ VIRTIO_MMIO_CONFIG_GENERATION,   0x15, 1 },
		{ VIRTIO_MMIO_QUEUE_SEL,           0x16, 2 },
		{ VIRTIO_MMIO_QUEUE_NUM_MAX,       0x18, 2 },
		{ VIRTIO_MMIO_QUEUE_NUM,           0x18, 2 },
		{ VIRTIO_MMIO_QUEUE_READY,         0x1c, 2 },
		{ VIRTIO_MMIO_QUEUE_DESC_LOW,      0x20, 4 },
		{ VIRTIO_MMIO_QUEUE_DESC_HIGH,     0x24, 4 },
		{ VIRTIO_MMIO_QUEUE_DRIVER_LOW,    0x28, 4 },
		{ VIRTIO_MMIO_QUEUE_DRIVER_HIGH,   0x2c, 4 },
		{ VIRTIO_MMIO_QUEUE_DEVICE_LOW,    0x30, 4 },
		{ VIRTIO_MMIO_QUEUE_DEVICE_HIGH,   0x34, 4 },
		{ VIRTIO_MMIO_INTERRUPT_STATUS,    PCI_ISR, 1 },
	};

	for (unsigned int i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].mmio == reg) {
			*width = map[i].width;
			return map[i].pci;
		}
	if (reg >= VIRTIO_MMIO_CONFIG) {
		*width = 4;
		return PCI_DEVCFG + reg - VIRTIO_MMIO_CONFIG;
	}
	*width = 0;
	return 0;
}

uint32_t virtio_read(const struct virtio_dev *d, uint32_t reg)
{
	unsigned int w;
	uint64_t a;

	if (!d->pci_bar)
		return mmio_read32(d->base + reg);
	a = d->pci_bar + pci_reg(reg, &w);
	return w == 1 ? mmio_read8(a) : w == 2 ? mmio_read16(a) :
	       w == 4 ? mmio_read32(a) : 0;
}

void virtio_write(const struct virtio_dev *d, uint32_t reg, uint32_t v)
{
	unsigned int w;
	uint64_t a;

	if (!d->pci_bar) {
		mmio_write32(d->base + reg, v);
		return;
	}
	if (reg == VIRTIO_MMIO_QUEUE_NOTIFY) {
		mmio_write16(d->pci_bar + PCI_NOTIFY + 4 * (uint64_t)v,
			     (uint16_t)v);
		return;
	}
	a = d->pci_bar + pci_reg(reg, &w);
	if (w == 1)
		mmio_write8(a, (uint8_t)v);
	else if (w == 2)
		mmio_write16(a, (uint16_t)v);
	else if (w == 4)
		mmio_write32(a, v);
}

/* Device configuration byte off, on either transport. */
static uint8_t config8(const struct virtio_dev *d, uint32_t off)
{
	return d->pci_bar ? mmio_read8(d->pci_bar + PCI_DEVCFG + off)
			  : mmio_read8(d->base + VIRTIO_MMIO_CONFIG + off);
}

uint32_t virtio_get_status(const struct virtio_dev *d)
{
	return virtio_read(d, VIRTIO_MMIO_STATUS);
}

static void set_status(struct virtio_dev *d, uint32_t bits)
{
	d->status |= bits;
	virtio_write(d, VIRTIO_MMIO_STATUS, d->status);
}

/* ---- probing ---- */

/* virtio=pci: the nth such PCI function. */
static int pci_find(uint32_t device_id, unsigned int nth, struct virtio_dev *d)
{
	uint64_t bar = virtio_pci_bar(device_id, nth);

	if (!bar) {
		kprintf("virtio: no %s #%u (device id %u) on the PCI bus\n",
			virtio_id_name(device_id), nth, device_id);
		return -1;
	}
	memset(d, 0, sizeof(*d));
	d->pci_bar = bar;
	d->device_id = device_id;
	d->version = 2;      /* modern: the same initialisation */
	d->vendor_id = 0x1af4;
	kprintf("virtio: %s #%u on PCI, BAR 0 at 0x%lx, virtio-pci modern\n",
		virtio_id_name(device_id), nth, bar);
	return 0;
}

int virtio_find(uint32_t device_id, unsigned int nth, struct virtio_dev *d)
{
	uint64_t win[MAX_WINDOWS];
	unsigned int count = virtio_windows(win, MAX_WINDOWS);
	unsigned int seen = 0, slot;

	if (param_is("virtio", "pci"))
		return pci_find(device_id, nth, d);

	if (count > MAX_WINDOWS)
		count = MAX_WINDOWS;
	for (slot = 0; slot < count; slot++) {
		uint64_t a = win[slot];
		uint32_t id;

		if (mmio_read32(a + VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
			break;
		id = mmio_read32(a + VIRTIO_MMIO_DEVICE_ID);
		if (id != device_id || seen++ != nth)
			continue;
		memset(d, 0, sizeof(*d));
		d->base = a;
		d->slot = slot;
		d->device_id = id;
		d->version = mmio_read32(a + VIRTIO_MMIO_VERSION);
		d->vendor_id = mmio_read32(a + VIRTIO_MMIO_VENDOR_ID);
		kprintf("virtio: %s #%u at 0x%lx (window %u), virtio-mmio "
			"version %u, vendor 0x%x\n", virtio_id_name(id), nth,
			a, slot, d->version, d->vendor_id);
		return 0;
	}
	kprintf("virtio: no %s #%u (device id %u) among %u virtio-mmio "
		"window(s)", virtio_id_name(device_id), nth, device_id, slot);
	if (count)
		kprintf(" from 0x%lx", win[0]);
	putc_serial('\n');
	return -1;
}

/* ---- initialisation ---- */

int virtio_reset(struct virtio_dev *d)
{
	uint64_t deadline;
	unsigned int n = 0;

	d->status = 0;
	virtio_write(d, VIRTIO_MMIO_STATUS, 0);
	if (!virtio_get_status(d))
		return 0;
	deadline = now_ns() + RESET_TIMEOUT_NS;
	while (virtio_get_status(d)) {
		if (++n % 16 == 0 && now_ns() > deadline)
			return -1;
		cpu_relax();
	}
	return 0;
}

const char *virtio_negotiate(struct virtio_dev *d, uint64_t wanted)
{
	uint32_t lo, hi, st;

	if (d->version != 2)
		return d->version == 1 ?
			"legacy virtio-mmio (version 1) is not supported" :
			"unknown virtio-mmio version";
	if (virtio_reset(d))
		return "device did not reset (Status not 0 after writing 0)";
	set_status(d, VIRTIO_S_ACKNOWLEDGE);
	set_status(d, VIRTIO_S_DRIVER);

	virtio_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	lo = virtio_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	virtio_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	hi = virtio_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	d->offered = (uint64_t)hi << 32 | lo;
	if (!(d->offered & (1ULL << VIRTIO_F_VERSION_1))) {
		set_status(d, VIRTIO_S_FAILED);
		return "device does not offer VIRTIO_F_VERSION_1";
	}
	d->features = (d->offered & wanted) | (1ULL << VIRTIO_F_VERSION_1);
	virtio_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	virtio_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_write(d, VIRTIO_MMIO_DRIVER_FEATURES,
		     (uint32_t)(d->features >> 32));

	set_status(d, VIRTIO_S_FEATURES_OK);
	st = virtio_get_status(d);
	if (!(st & VIRTIO_S_FEATURES_OK)) {
		kprintf("virtio: Status reads 0x%x after FEATURES_OK\n", st);
		set_status(d, VIRTIO_S_FAILED);
		return "device did not accept our features (FEATURES_OK "
		       "did not stick)";
	}
	return NULL;
}

static uint16_t pow2_floor(uint32_t n)
{
	uint16_t p = 1;

	while ((uint32_t)p * 2 <= n && p < 0x8000)
		p *= 2;
	return p;
}

static void virtq_init(struct virtq *q, unsigned int index, uint16_t size)
{
	memset(q, 0, sizeof(*q));
	q->index = index;
	q->size = size;
	for (uint16_t i = 0; i < size; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	q->free_head = 0;
	q->num_free = size;
}

static void write64(struct virtio_dev *d, uint32_t reg_lo, uint64_t v)
{
	virtio_write(d, reg_lo, (uint32_t)v);
	virtio_write(d, reg_lo + 4, (uint32_t)(v >> 32));
}

const char *virtio_queue_setup(struct virtio_dev *d, struct virtq *q,
			       unsigned int index, uint16_t size)
{
	uint32_t max;
	uint16_t n;

	virtio_write(d, VIRTIO_MMIO_QUEUE_SEL, index);
	if (virtio_read(d, VIRTIO_MMIO_QUEUE_READY))
		return "queue is already ready before set-up";
	max = virtio_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (!max)
		return "queue does not exist (QueueNumMax 0)";
	if (size > VIRTQ_SIZE)
		size = VIRTQ_SIZE;
	n = pow2_floor(max < size ? max : size);
	virtq_init(q, index, n);

	virtio_write(d, VIRTIO_MMIO_QUEUE_NUM, n);
	write64(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uintptr_t)q->desc);
	write64(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uintptr_t)&q->avail);
	write64(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uintptr_t)&q->used);
	virtio_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	if (virtio_read(d, VIRTIO_MMIO_QUEUE_READY) != 1)
		return "QueueReady does not read 1 after a valid set-up";
	return NULL;
}

void virtio_driver_ok(struct virtio_dev *d)
{
	set_status(d, VIRTIO_S_DRIVER_OK);
}

const char *virtio_start(struct virtio_dev *d, uint64_t wanted,
			 struct virtq *q, unsigned int nq)
{
	const char *err = virtio_negotiate(d, wanted);

	for (unsigned int i = 0; !err && i < nq; i++)
		if ((err = virtio_queue_setup(d, &q[i], i, VIRTQ_SIZE))) {
			kprintf("virtio: queue %u: %s\n", i, err);
			set_status(d, VIRTIO_S_FAILED);
		}
	if (err)
		return err;
	virtio_driver_ok(d);
	return NULL;
}

/* ---- configuration space ---- */

#define CONFIG_RETRIES 10

uint32_t virtio_config32(const struct virtio_dev *d, uint32_t off)
{
	uint32_t gen, v;
	int n = 0;

	do {
		gen = virtio_read(d, VIRTIO_MMIO_CONFIG_GENERATION);
		v = virtio_read(d, VIRTIO_MMIO_CONFIG + off);
	} while (gen != virtio_read(d, VIRTIO_MMIO_CONFIG_GENERATION) &&
		 ++n < CONFIG_RETRIES);
	return v;
}

uint64_t virtio_config64(const struct virtio_dev *d, uint32_t off)
{
	uint32_t gen, lo, hi;
	int n = 0;

	do {
		gen = virtio_read(d, VIRTIO_MMIO_CONFIG_GENERATION);
		lo = virtio_read(d, VIRTIO_MMIO_CONFIG + off);
		hi = virtio_read(d, VIRTIO_MMIO_CONFIG + off + 4);
	} while (gen != virtio_read(d, VIRTIO_MMIO_CONFIG_GENERATION) &&
		 ++n < CONFIG_RETRIES);
	return (uint64_t)hi << 32 | lo;
}

void virtio_config_bytes(const struct virtio_dev *d, uint32_t off,
			 uint8_t *out, size_t n)
{
	uint32_t gen;
	int tries = 0;

	do {
		gen = virtio_read(d, VIRTIO_MMIO_CONFIG_GENERATION);
		for (size_t i = 0; i < n; i++)
			out[i] = config8(d, off + (uint32_t)i);
	} while (gen != virtio_read(d, VIRTIO_MMIO_CONFIG_GENERATION) &&
		 ++tries < CONFIG_RETRIES);
}

void virtio_ack_interrupt(const struct virtio_dev *d)
{
	uint32_t isr = virtio_read(d, VIRTIO_MMIO_INTERRUPT_STATUS);

	if (isr)
		virtio_write(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
}

/* ---- virtqueues ---- */

void virtq_publish(struct virtq *q, uint16_t head)
{
	q->avail.ring[q->avail_idx & (q->size - 1)] = head;
	virt_wmb();   /* the entry before the index that exposes it */
	q->avail_idx++;
	*(volatile uint16_t *)&q->avail.idx = q->avail_idx;
}

int virtq_add(struct virtq *q, const struct virtio_buf *b, unsigned int n)
{
	uint16_t head = q->free_head, i = head;

	if (!n || n > q->num_free)
		return VIRTQ_FULL;
	for (unsigned int k = 0; k < n; k++) {
		struct virtq_desc *dsc = &q->desc[i];

		dsc->addr = b[k].addr;
		dsc->len = b[k].len;
		dsc->flags = (uint16_t)((b[k].writable ? VIRTQ_DESC_F_WRITE : 0) |
					(k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		/* .next already links to the next free descriptor */
		i = dsc->next;
	}
	q->free_head = i;
	q->num_free = (uint16_t)(q->num_free - n);
	q->in_flight[head] = 1;
	virtq_publish(q, head);
	return head;
}

void virtq_kick(const struct virtio_dev *d, const struct virtq *q)
{
	virt_wmb();   /* the rings before the notification */
	virtio_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
}

/* Give a used chain's descriptors back to the free list. */
static void free_chain(struct virtq *q, uint16_t head)
{
	uint16_t i = head, n = 1;

	while ((q->desc[i].flags & VIRTQ_DESC_F_NEXT) && n < q->size) {
		i = q->desc[i].next;
		n++;
	}
	q->desc[i].next = q->free_head;
	q->free_head = head;
	q->num_free = (uint16_t)(q->num_free + n);
	q->in_flight[head] = 0;
}

int virtq_poll(struct virtq *q, uint32_t *len)
{
	volatile struct virtq_used_elem *e;
	uint32_t id;

	if (*(volatile uint16_t *)&q->used.idx == q->last_used)
		return VIRTQ_NONE;
	virt_rmb();   /* the index before the entry it exposes */
	e = &q->used.ring[q->last_used & (q->size - 1)];
	id = e->id;
	if (len)
		*len = e->len;
	q->last_used++;
	if (id >= q->size || !q->in_flight[id])
		return VIRTQ_BAD_ID;
	free_chain(q, (uint16_t)id);
	return (int)id;
}

int virtq_wait(const struct virtio_dev *d, struct virtq *q,
	       uint64_t timeout_ns, uint32_t *len)
{
	uint64_t now = now_ns();
	uint64_t deadline = now + timeout_ns;
	uint64_t next_check = now + STATUS_CHECK_NS;

	for (unsigned int spins = 0;; spins++) {
		int r = virtq_poll(q, len);

		if (r != VIRTQ_NONE) {
			virtio_ack_interrupt(d);
			return r;
		}
		if (spins % SPINS_PER_CHECK == SPINS_PER_CHECK - 1) {
			now = now_ns();
			if (now >= next_check || now > deadline) {
				if (virtio_get_status(d) & VIRTIO_S_NEEDS_RESET)
					return VIRTQ_BROKEN;
				next_check = now + STATUS_CHECK_NS;
			}
			if (now > deadline)
				return VIRTQ_TIMEOUT;
		}
		cpu_relax();
	}
}

int virtq_transfer(const struct virtio_dev *d, struct virtq *q,
		   const struct virtio_buf *b, unsigned int n,
		   uint64_t timeout_ns, uint32_t *len)
{
	int head = virtq_add(q, b, n), r;

	if (head < 0)
		return head;
	virtq_kick(d, q);
	do
		r = virtq_wait(d, q, timeout_ns, len);
	while (r >= 0 && r != head);   /* some older chain: not ours */
	return r;
}

const char *virtq_strerror(int err)
{
	switch (err) {
	case VIRTQ_NONE:    return "nothing used";
	case VIRTQ_TIMEOUT: return "timed out waiting for the used ring";
	case VIRTQ_BROKEN:  return "device set NEEDS_RESET";
	case VIRTQ_BAD_ID:  return "used ring returned an id we never "
				   "submitted";
	case VIRTQ_FULL:    return "no free descriptors";
	default:            return err >= 0 ? "ok" : "?";
	}
}
