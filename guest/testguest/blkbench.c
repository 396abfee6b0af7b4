// SPDX-License-Identifier: MIT
/*
 * Test guest: blkbench, a virtio-blk throughput and notification-rate
 * benchmark measured inside the guest (its clock: kvmclock or the TSC on
 * x86-64, the architected timer on arm64; first submit to last
 * completion). scripts/bench-virtio runs it on vmm and on QEMU microvm.
 *
 *   test=blkbench [bs=4096,65536] [qd=1,16] [mode=read|write|both]
 *                 [mb=16] [reqs=N] [kick=batch|each] [evidx=1|0]
 *
 *   bs     request size(s) in bytes, a multiple of 512 (K suffix allowed)
 *   qd     requests kept in flight (1..64)
 *   mode   sequential reads, writes, or reads then writes (both)
 *   mb     MiB per pass and direction (default 16); reqs= gives the
 *          request count directly instead
 *   kick   batch: publish every request that can go, then one QueueNotify
 *          (skipped when the device says it is still looking: EVENT_IDX
 *          avail_event, else VIRTQ_USED_F_NO_NOTIFY);
 *          each: one QueueNotify per request, always (notification rate)
 *   evidx  negotiate VIRTIO_F_EVENT_IDX if offered (default 1)
 *   hold   1: when done, print "blkbench: holding" and halt instead of
 *          powering off, so the VM lives on until the host stops it (the
 *          soak, tests/soak.sh, runs its API load against it meanwhile)
 *
 * For every bs, every qd and every direction asked for, one pass goes
 * sequentially from sector 0, wrapping around at the disk's end, and
 * prints
 *
 *   blkbench: read bs=4096 qd=1: 123.4 MB/s, 31590 req/s, N requests in T ms,
 *             K kicks, P idle polls
 *
 * then, over all passes, "blkbench: notifications: K kicks in T ms = X/s",
 * and TESTGUEST PASS blkbench. MB = 10^6 bytes.
 *
 * The driver polls the used ring with interrupts suppressed (no interrupt
 * handler here, and every guest instruction is costly under nested KVM):
 * the loop per completed request is a few dozen instructions. Request
 * slot s uses descriptor s (header), K+s (data) and 2K+s (status) with K a
 * quarter of the queue size, so the head of a used chain is its slot.
 */
#include "hw.h"
#include "lib.h"
#include "virtio.h"

#define BB_QSIZE      256                  /* ring size we ask for */
#define BB_MAX_QD     64                   /* slots at most (BB_QSIZE / 4) */
#define BB_BUF_BYTES  (4UL << 20)          /* data buffers: qd * bs */
#define BB_MAX_LIST   8                    /* values in bs= / qd= */
#define BB_STALL_NS   10000000000UL        /* no progress for 10 s: fail */
#define BB_SPIN_CHECK 0xffffU              /* idle polls between checks */

#define VIRTIO_BLK_F_FLUSH 9   /* without it QEMU turns its cache to writethrough */
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_BLK_T_IN    0
#define VIRTIO_BLK_T_OUT   1
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct bb_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* The rings, page-aligned each (valid for any virtio version). */
static struct virtq_desc bb_desc[BB_QSIZE] __attribute__((aligned(4096)));
static struct {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[BB_QSIZE];
	uint16_t used_event;
} bb_avail __attribute__((aligned(4096)));
static struct {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[BB_QSIZE];
	uint16_t avail_event;
} bb_used __attribute__((aligned(4096)));

static struct bb_hdr bb_hdrs[BB_MAX_QD] __attribute__((aligned(64)));
static uint8_t bb_status[BB_MAX_QD] __attribute__((aligned(64)));
static uint8_t bb_buf[BB_BUF_BYTES] NOINIT __attribute__((aligned(4096)));

/* Queue state shared by the passes. */
static struct virtio_dev bb_dev;
static uint64_t bb_notify;          /* QueueNotify address */
static uint16_t bb_mask;            /* queue size - 1 */
static uint16_t bb_k;               /* slot stride: queue size / 4 */
static int bb_evidx;
static uint64_t bb_capacity;        /* sectors */

/* Ring positions, carried from pass to pass (locals inside one). */
struct bb_pos {
	uint16_t aidx;                /* next avail index */
	uint16_t kicked;              /* avail index at the last kick check */
	uint16_t last_used;           /* next used entry to take */
	uint64_t kicks;               /* QueueNotify writes */
};
static struct bb_pos bb_pos;

struct bb_result {
	uint64_t ns, reqs, kicks;
	uint64_t polls;               /* used-ring polls that found nothing */
};

void test_blkbench(void);

/* "a,b,c" -> values; returns how many (at least one) or fails. */
static unsigned int param_list(const char *key, const char *dflt,
			       uint64_t *out)
{
	size_t len;
	const char *v = param(key, &len);
	unsigned int n = 0;

	if (!v) {
		v = dflt;
		len = strlen(dflt);
	}
	while (len) {
		size_t l = 0;

		while (l < len && v[l] != ',')
			l++;
		if (n == BB_MAX_LIST || parse_size(v, l, &out[n]))
			fail("bad %s= value", key);
		n++;
		v += l;
		len -= l;
		if (len) {   /* the comma */
			v++;
			len--;
		}
	}
	if (!n)
		fail("empty %s= value", key);
	return n;
}

static uint64_t param_num(const char *key, uint64_t dflt)
{
	uint64_t v;
	int r = param_u64(key, &v);

	if (r < 0)
		fail("bad %s= value", key);
	return r ? v : dflt;
}

static void write64(uint32_t reg_lo, uint64_t v)
{
	virtio_write(&bb_dev, reg_lo, (uint32_t)v);
	virtio_write(&bb_dev, reg_lo + 4, (uint32_t)(v >> 32));
}

/* Negotiate, set up queue 0 on our big rings, DRIVER_OK. */
static void bb_open(int want_evidx)
{
	const char *err;
	uint64_t wanted = 1ULL << VIRTIO_BLK_F_FLUSH;
	uint32_t max;
	uint16_t n;

	if (want_evidx)
		wanted |= 1ULL << VIRTIO_F_EVENT_IDX;
	if (virtio_find(VIRTIO_ID_BLOCK, 0, &bb_dev))
		fail("no virtio-blk device");
	if ((err = virtio_negotiate(&bb_dev, wanted)))
		fail("virtio-blk set-up: %s", err);
	bb_evidx = virtio_has(&bb_dev, VIRTIO_F_EVENT_IDX);

	virtio_write(&bb_dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	if (virtio_read(&bb_dev, VIRTIO_MMIO_QUEUE_READY))
		fail("queue 0 is ready before set-up");
	max = virtio_read(&bb_dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
	for (n = BB_QSIZE; n > max; n /= 2)
		;
	if (n < 8)
		fail("queue 0: QueueNumMax %u, need at least 8", max);
	bb_mask = (uint16_t)(n - 1);
	bb_k = n / 4;
	virtio_write(&bb_dev, VIRTIO_MMIO_QUEUE_NUM, n);
	write64(VIRTIO_MMIO_QUEUE_DESC_LOW, (uintptr_t)bb_desc);
	write64(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uintptr_t)&bb_avail);
	write64(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uintptr_t)&bb_used);
	/* polled: no interrupts wanted (with EVENT_IDX: one per 64K) */
	bb_avail.flags = bb_evidx ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
	bb_avail.used_event = 0x7fff;
	virtio_write(&bb_dev, VIRTIO_MMIO_QUEUE_READY, 1);
	if (virtio_read(&bb_dev, VIRTIO_MMIO_QUEUE_READY) != 1)
		fail("queue 0: QueueReady does not read 1 after set-up");
	virtio_driver_ok(&bb_dev);
	bb_notify = bb_dev.pci_bar ? bb_dev.pci_bar + VIRTIO_PCI_NOTIFY
				   : bb_dev.base + VIRTIO_MMIO_QUEUE_NOTIFY;
	bb_capacity = virtio_config64(&bb_dev, 0);
	kprintf("blkbench: features offered 0x%lx, accepted 0x%lx, queue "
		"size %u, capacity %lu sectors (%lu MiB)\n", bb_dev.offered,
		bb_dev.features, n, bb_capacity, bb_capacity >> 11);
}

/* Descriptors of slots 0..qd-1 for requests of type `type`, bs bytes. */
static void bb_setup_slots(uint32_t type, uint32_t bs, unsigned int qd)
{
	uint16_t k = bb_k;

	for (unsigned int s = 0; s < qd; s++) {
		bb_hdrs[s].type = type;
		bb_hdrs[s].reserved = 0;
		bb_desc[s] = (struct virtq_desc){ (uintptr_t)&bb_hdrs[s],
			sizeof(struct bb_hdr), VIRTQ_DESC_F_NEXT,
			(uint16_t)(k + s) };
		bb_desc[k + s] = (struct virtq_desc){
			(uintptr_t)bb_buf + (uint64_t)s * bs, bs,
			(uint16_t)(VIRTQ_DESC_F_NEXT |
				   (type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0)),
			(uint16_t)(2 * k + s) };
		bb_desc[2 * k + s] = (struct virtq_desc){
			(uintptr_t)&bb_status[s], 1, VIRTQ_DESC_F_WRITE, 0 };
	}
}

/*
 * Make what was added since the last call visible and kick, unless the
 * device says it will look anyway: EVENT_IDX (2.7.10: kick when
 * avail_event lies in [old, new)) or else VIRTQ_USED_F_NO_NOTIFY.
 * `force`: kick regardless.
 */
static inline void bb_publish(struct bb_pos *p, int force)
{
	uint16_t a = p->aidx, old = p->kicked;

	if (a == old)
		return;
	virt_wmb();   /* ring entries and headers before the index */
	*(volatile uint16_t *)&bb_avail.idx = a;
	p->kicked = a;
	if (!force) {
		/* our idx store before the device's avail_event/flags load */
		virt_mb();
		if (bb_evidx) {
			uint16_t ev = *(volatile uint16_t *)&bb_used.avail_event;

			if ((uint16_t)(a - ev - 1) >= (uint16_t)(a - old))
				return;
		} else if (*(volatile uint16_t *)&bb_used.flags &
			   VIRTQ_USED_F_NO_NOTIFY) {
			return;
		}
	}
	if (bb_dev.pci_bar)
		mmio_write16(bb_notify, 0);
	else
		mmio_write32(bb_notify, 0);
	p->kicks++;
}

static void bb_stalled(uint64_t done, uint64_t n, uint16_t last_used)
{
	fail("no completion for 10 s after %lu of %lu requests (Status 0x%x, "
	     "used.idx %u, expected %u)", done, n, virtio_get_status(&bb_dev),
	     *(volatile uint16_t *)&bb_used.idx, last_used);
}

/*
 * n requests of bs bytes, sequential from sector 0 (wrapping), qd in
 * flight. The hot loop: take every used entry, check its status byte,
 * put the slot straight back with the next sector, publish once.
 */
static void bb_pass(uint32_t type, uint32_t bs, unsigned int qd, uint64_t n,
		    int kick_each, struct bb_result *res)
{
	const uint64_t secs = bs >> 9, wrap = bb_capacity - secs;
	const uint16_t mask = bb_mask;
	struct bb_pos p = bb_pos;
	uint64_t pos = 0, submitted = 0, done = 0, t0, t1;
	uint64_t stall_deadline, done_at_check = 0, polls = 0;

	bb_setup_slots(type, bs, qd);
	t0 = now_ns();
	for (unsigned int s = 0; s < qd && submitted < n; s++, submitted++) {
		bb_hdrs[s].sector = pos;
		bb_status[s] = 0xff;
		bb_avail.ring[p.aidx++ & mask] = (uint16_t)s;
		pos = pos + secs > wrap ? 0 : pos + secs;
		if (kick_each)
			bb_publish(&p, 1);
	}
	bb_publish(&p, kick_each);
	stall_deadline = t0 + BB_STALL_NS;

	while (done < n) {
		uint16_t u = *(volatile uint16_t *)&bb_used.idx;

		if (u == p.last_used) {
			/* every 64K idle polls: broken device? no progress? */
			if ((++polls & BB_SPIN_CHECK) == 0) {
				uint64_t now = now_ns();

				if (virtio_get_status(&bb_dev) &
				    VIRTIO_S_NEEDS_RESET)
					fail("device set NEEDS_RESET after %lu "
					     "of %lu requests", done, n);
				if (done != done_at_check) {
					done_at_check = done;
					stall_deadline = now + BB_STALL_NS;
				} else if (now > stall_deadline) {
					bb_stalled(done, n, p.last_used);
				}
			}
			cpu_relax();
			continue;
		}
		virt_rmb();   /* the index before the entries it exposes */
		do {
			uint32_t s = bb_used.ring[p.last_used++ & mask].id;

			if (s >= qd || bb_status[s] != 0)
				fail("request in slot %u: %s %u", s,
				     s >= qd ? "bad used id" : "status",
				     s >= qd ? s : bb_status[s]);
			done++;
			if (submitted < n) {
				submitted++;
				bb_hdrs[s].sector = pos;
				bb_status[s] = 0xff;
				bb_avail.ring[p.aidx++ & mask] = (uint16_t)s;
				pos = pos + secs > wrap ? 0 : pos + secs;
				if (kick_each)
					bb_publish(&p, 1);
			}
		} while (p.last_used != u);
		bb_publish(&p, kick_each);
	}
	t1 = now_ns();
	res->ns = t1 > t0 ? t1 - t0 : 1;
	res->reqs = n;
	res->kicks = p.kicks - bb_pos.kicks;
	res->polls = polls;
	bb_pos = p;
}

/* x / y with one decimal, as "I.D" (I, D returned). */
static void dec1(uint64_t x, uint64_t y, uint64_t *i, uint64_t *d)
{
	uint64_t t = y ? (x * 10 + y / 2) / y : 0;

	*i = t / 10;
	*d = t % 10;
}

static void bb_report(const char *dir, uint32_t bs, unsigned int qd,
		      const struct bb_result *r)
{
	uint64_t mb_i, mb_d, ms_i, ms_d;
	uint64_t bytes = r->reqs * bs;

	/* MB/s = bytes / 10^6 / (ns / 10^9) = bytes * 1000 / ns */
	dec1(bytes * 1000, r->ns, &mb_i, &mb_d);
	dec1(r->ns, 1000000, &ms_i, &ms_d);
	kprintf("blkbench: %s bs=%u qd=%u: %lu.%lu MB/s, %lu req/s, %lu "
		"requests in %lu.%lu ms, %lu kicks, %lu idle polls\n", dir, bs,
		qd, mb_i, mb_d, r->reqs * 1000000000UL / r->ns, r->reqs, ms_i,
		ms_d, r->kicks, r->polls);
}

void test_blkbench(void)
{
	uint64_t bss[BB_MAX_LIST], qds[BB_MAX_LIST], reqs = 0, mb, maxbs = 0,
		 maxqd = 0, total_ns = 0, total_kicks = 0, ki, kd;
	unsigned int nbs, nqd;
	int do_read = 1, do_write = 1, kick_each = 0;
	struct bb_result r;

	time_init();
	nbs = param_list("bs", "4096,65536", bss);
	nqd = param_list("qd", "1,16", qds);
	mb = param_num("mb", 16);
	if (param_u64("reqs", &reqs) < 0)
		fail("bad reqs= value");
	if (param("mode", NULL)) {
		if (param_is("mode", "read"))
			do_write = 0;
		else if (param_is("mode", "write"))
			do_read = 0;
		else if (!param_is("mode", "both"))
			fail("mode= must be read, write or both");
	}
	if (param("kick", NULL)) {
		if (param_is("kick", "each"))
			kick_each = 1;
		else if (!param_is("kick", "batch"))
			fail("kick= must be batch or each");
	}
	for (unsigned int i = 0; i < nbs; i++) {
		if (!bss[i] || bss[i] % 512 || bss[i] > BB_BUF_BYTES)
			fail("bs=%lu: must be a multiple of 512 up to %lu",
			     bss[i], BB_BUF_BYTES);
		if (bss[i] > maxbs)
			maxbs = bss[i];
	}
	for (unsigned int i = 0; i < nqd; i++)
		if (qds[i] > maxqd)
			maxqd = qds[i];

	bb_open(param_num("evidx", 1) != 0);
	for (unsigned int i = 0; i < nqd; i++)
		if (!qds[i] || qds[i] > bb_k || qds[i] > BB_MAX_QD)
			fail("qd=%lu: must be 1..%u", qds[i],
			     bb_k < BB_MAX_QD ? bb_k : BB_MAX_QD);
	if (maxqd * maxbs > BB_BUF_BYTES)
		fail("qd * bs = %lu bytes: at most %lu", maxqd * maxbs,
		     BB_BUF_BYTES);
	if (bb_capacity < maxbs / 512)
		fail("disk of %lu sectors is smaller than bs=%lu", bb_capacity,
		     maxbs);
	kprintf("blkbench: %s, kick=%s, EVENT_IDX %s, %s\n",
		do_read && do_write ? "read+write" : do_read ? "read" : "write",
		kick_each ? "each" : "batch", bb_evidx ? "on" : "off",
		clock_name());

	/* untimed: every buffer touched once, host and device warmed up */
	bb_pass(VIRTIO_BLK_T_IN, (uint32_t)maxbs, (unsigned int)maxqd, maxqd,
		0, &r);

	for (unsigned int b = 0; b < nbs; b++) {
		uint32_t bs = (uint32_t)bss[b];
		uint64_t n = reqs ? reqs : (mb << 20) / bs;

		if (!n)
			n = 1;
		for (unsigned int q = 0; q < nqd; q++)
			for (int dir = 0; dir < 2; dir++) {
				if (dir == 0 ? !do_read : !do_write)
					continue;
				bb_pass(dir ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
					bs, (unsigned int)qds[q], n, kick_each,
					&r);
				bb_report(dir ? "write" : "read", bs,
					  (unsigned int)qds[q], &r);
				total_ns += r.ns;
				total_kicks += r.kicks;
			}
	}
	dec1(total_ns, 1000000, &ki, &kd);
	kprintf("blkbench: notifications: %lu kicks in %lu.%lu ms = %lu/s\n",
		total_kicks, ki, kd,
		total_ns ? total_kicks * 1000000000UL / total_ns : 0);
	virtio_reset(&bb_dev);
	if (param_is("hold", "1")) {
		kprintf("blkbench: holding\n");
		cpu_halt_forever();
	}
	pass();
}
