// SPDX-License-Identifier: MIT
/*
 * Test guest: the PCI bus of --virtio pci (one --disk: virtio-blk at
 * 00:01.0), through the 0xCF8/0xCFC ports and BAR 0 as vmm lays it out
 * (devices/virtio_pci.c: common configuration at 0, notifications at
 * 0x3000, the MSI-X table at 0x4000 and its PBA at 0x6000).
 *   pci       the host bridge at 00.0, virtio-blk (1af4:1042) at 01.0 with
 *             its BAR 0 decoding the common configuration (one queue)
 *   pci-msix  the disk's queue on MSI-X vector 1, aimed at this CPU's
 *             local APIC: a request completed while the vector is masked
 *             interrupts nobody and sets its PBA bit; unmasking delivers
 *             it once and clears the bit; unmasked, each completion is
 *             one interrupt; the function mask holds them the same way.
 *             With loop=1, then a read and its interrupt every 100 ms,
 *             each followed by "counter N" (tests/vm/snapshot.sh: the
 *             vector's route must survive a snapshot and restore).
 *             With bench=N instead, N 512-byte reads one at a time, each
 *             waited for in hlt until its interrupt (poll=1: the vector
 *             masked and the used ring polled), timed (scripts/bench-virtio)
 */
#include "hw.h"
#include "lib.h"
#include "virtio.h"
#include "x86.h"

#define CAP_MSIX        0x11
#define MSIX_ENABLE     0x8000
#define MSIX_FUNC_MASK  0x4000

/* BAR 0 regions and common configuration fields */
#define NOTIFY_OFF      0x3000
#define MSIX_TABLE      0x4000
#define MSIX_PBA        0x6000
#define C_DFSELECT      0x00
#define C_DF            0x04
#define C_GFSELECT      0x08
#define C_GF            0x0c
#define C_NUMQ          0x12
#define C_STATUS        0x14
#define C_Q_SELECT      0x16
#define C_Q_SIZE        0x18
#define C_Q_MSIX        0x1a
#define C_Q_ENABLE      0x1c
#define C_Q_DESC        0x20
#define C_Q_AVAIL       0x28
#define C_Q_USED        0x30

#define QUEUE_VECTOR    1
#define MSIX_TIMEOUT_NS 2000000000UL
#define QUIET_NS        50000000UL
#define LOOP_PERIOD_NS  100000000UL

static uint32_t conf_read(unsigned int slot, unsigned int off)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	return inl(0xcfc);
}

static void conf_write16(unsigned int slot, unsigned int off, uint16_t v)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	outw((uint16_t)(0xcfc + (off & 2)), v);
}

/* 00:01.0's BAR 0, checked to be where vmm puts it and decoding. */
static uint32_t blk_bar(void)
{
	uint32_t id = conf_read(1, 0), bar;

	if (id != 0x10421af4)
		fail("00:01.0 is %08x, not virtio-blk 1af4:1042", id);
	bar = conf_read(1, 0x10) & ~0xfu;
	if (bar < 0xc0000000u || bar >= 0xd0000000u)
		fail("BAR 0 at 0x%x, outside the PCI window", bar);
	if (!(conf_read(1, 4) & 2))
		fail("memory decoding is off");
	return bar;
}

uint64_t virtio_pci_bar(uint32_t device_id, unsigned int nth)
{
	unsigned int seen = 0;

	for (unsigned int slot = 1; slot < 32; slot++) {
		uint32_t id = conf_read(slot, 0);

		if (id != (0x1af4u | (0x1040u + device_id) << 16) ||
		    seen++ != nth)
			continue;
		if (!(conf_read(slot, 4) & 2))
			return 0;   /* memory decoding off: not usable */
		return conf_read(slot, 0x10) & ~0xfu;
	}
	return 0;
}

void test_pci(void)
{
	uint32_t id0 = conf_read(0, 0), bar;
	uint16_t nq;

	if (id0 != 0x00081b36)
		fail("00:00.0 is %08x, not the host bridge 1b36:0008", id0);
	bar = blk_bar();
	nq = mmio_read16(bar + C_NUMQ);
	if (nq != 1)
		fail("common configuration: %u queues", nq);
	passf("00:01.0 virtio-blk, BAR 0 at 0x%x, %u queue", bar, nq);
}

/* ---- pci-msix ---- */

struct blk_req_hdr {
	uint32_t type;       /* 0: read */
	uint32_t reserved;
	uint64_t sector;
};

static struct virtq q;
static struct blk_req_hdr hdr __attribute__((aligned(16)));
static uint8_t sector[512] __attribute__((aligned(16)));
static uint8_t req_status;

static unsigned int msix_cap(void)
{
	unsigned int c = conf_read(1, 0x34) & 0xff;

	for (unsigned int n = 0; c && n < 16; n++) {
		uint32_t w = conf_read(1, c);

		if ((w & 0xff) == CAP_MSIX)
			return c;
		c = (w >> 8) & 0xff;
	}
	fail("00:01.0 has no MSI-X capability");
}

static void set_status(uint32_t bar, uint8_t bits)
{
	mmio_write8(bar + C_STATUS, mmio_read8(bar + C_STATUS) | bits);
}

static void write64(uint32_t reg, uint64_t v)
{
	mmio_write32(reg, (uint32_t)v);
	mmio_write32(reg + 4, (uint32_t)(v >> 32));
}

/* Up to FEATURES_OK, queue 0 on vector QUEUE_VECTOR, then DRIVER_OK. */
static void blk_start(uint32_t bar)
{
	uint16_t size;

	mmio_write8(bar + C_STATUS, 0);
	if (mmio_read8(bar + C_STATUS))
		fail("status does not read 0 after a reset");
	set_status(bar, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	mmio_write32(bar + C_DFSELECT, 1);
	if (!(mmio_read32(bar + C_DF) & 1))
		fail("no VIRTIO_F_VERSION_1");
	mmio_write32(bar + C_GFSELECT, 1);
	mmio_write32(bar + C_GF, 1);
	mmio_write32(bar + C_GFSELECT, 0);
	mmio_write32(bar + C_GF, 0);
	set_status(bar, VIRTIO_S_FEATURES_OK);
	if (!(mmio_read8(bar + C_STATUS) & VIRTIO_S_FEATURES_OK))
		fail("FEATURES_OK did not stick");
	mmio_write16(bar + C_Q_SELECT, 0);
	size = mmio_read16(bar + C_Q_SIZE);
	if (size > VIRTQ_SIZE)
		size = VIRTQ_SIZE;
	memset(&q, 0, sizeof(q));
	q.size = size;
	q.num_free = size;
	for (uint16_t i = 0; i < size; i++)
		q.desc[i].next = (uint16_t)(i + 1);
	mmio_write16(bar + C_Q_SIZE, size);
	mmio_write16(bar + C_Q_MSIX, QUEUE_VECTOR);
	if (mmio_read16(bar + C_Q_MSIX) != QUEUE_VECTOR)
		fail("queue_msix_vector %u not taken", QUEUE_VECTOR);
	write64(bar + C_Q_DESC, (uintptr_t)q.desc);
	write64(bar + C_Q_AVAIL, (uintptr_t)&q.avail);
	write64(bar + C_Q_USED, (uintptr_t)&q.used);
	mmio_write16(bar + C_Q_ENABLE, 1);
	set_status(bar, VIRTIO_S_DRIVER_OK);
}

/* Ask for sector 0 (512 bytes) and kick; returns the chain's head. */
static int blk_submit(uint32_t bar)
{
	struct virtio_buf b[3] = {
		{ (uintptr_t)&hdr, sizeof(hdr), 0 },
		{ (uintptr_t)sector, sizeof(sector), 1 },
		{ (uintptr_t)&req_status, 1, 1 },
	};
	int head;

	hdr.type = 0;
	hdr.sector = 0;
	req_status = 0xff;
	head = virtq_add(&q, b, 3);
	if (head < 0)
		fail("virtq_add: %s", virtq_strerror(head));
	virt_wmb();
	mmio_write16(bar + NOTIFY_OFF, 0);   /* queue 0's notify address */
	return head;
}

/* Read sector 0 and wait (polling) until the device has used it. */
static void blk_read(uint32_t bar)
{
	uint64_t deadline;
	int head = blk_submit(bar), r;

	deadline = now_ns() + MSIX_TIMEOUT_NS;
	while ((r = virtq_poll(&q, NULL)) == VIRTQ_NONE && now_ns() < deadline)
		cpu_relax();
	if (r != head)
		fail("read of sector 0: %s", r < 0 ? virtq_strerror(r) : "other id");
	if (req_status != 0)
		fail("read of sector 0: status %u", req_status);
}

/*
 * Let interrupts in, a few instructions at a time, until want of them
 * have arrived or for_ns has passed; the count then.
 */
static uint64_t msix_wait(uint64_t want, uint64_t for_ns)
{
	uint64_t deadline = now_ns() + for_ns;

	while (msix_count() < want && now_ns() < deadline)
		__asm__ volatile("sti; nop; nop; cli" : : : "memory");
	return msix_count();
}

static int pending(uint32_t bar)
{
	return (mmio_read32(bar + MSIX_PBA) >> QUEUE_VECTOR) & 1;
}

/* Forever: a read, its interrupt, a counter line; every 100 ms. */
static void NORETURN msix_loop(uint32_t bar, uint64_t seen)
{
	int use_timer = lapic_timer_calibrate() == 0;
	uint64_t next = now_ns();

	kprintf("testguest: a read and its MSI-X interrupt every 100 ms\n");
	for (uint64_t c = 0;; c++) {
		uint64_t t;

		blk_read(bar);
		if (msix_wait(seen + 1, MSIX_TIMEOUT_NS) != seen + 1)
			fail("read %lu: no MSI-X interrupt", c);
		seen++;
		kprintf("counter %lu\n", c);
		next += LOOP_PERIOD_NS;
		t = now_ns();
		if (t > next + 10 * LOOP_PERIOD_NS)
			next = t;
		if (use_timer)
			sleep_until_ns(next);
		else
			while (now_ns() < next)
				cpu_relax();
	}
}

/*
 * n reads one at a time, each waited for in hlt until its interrupt, or
 * (poll) with the vector masked, by polling the used ring; then the
 * time per read. A lost interrupt hangs here: the caller's timeout.
 */
static void NORETURN msix_bench(uint32_t bar, uint32_t e, uint64_t n,
				int poll, uint64_t seen)
{
	uint64_t t0, t, irqs = msix_count();
	int r;

	if (poll)
		mmio_write32(e + 12, 1);
	t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		int head = blk_submit(bar);

		if (!poll) {
			while (msix_count() == seen)
				__asm__ volatile("sti; hlt; cli" : : : "memory");
			seen = msix_count();
		}
		while ((r = virtq_poll(&q, NULL)) == VIRTQ_NONE)
			cpu_relax();
		if (r != head || req_status != 0)
			fail("bench read %lu: %s, status %u", i,
			     r < 0 ? virtq_strerror(r) : "ok", req_status);
	}
	t = now_ns() - t0;
	kprintf("pci-msix: bench: %lu reads of 512 B, qd=1, completion by %s: "
		"%lu.%03lu ms, %lu/s, %lu interrupts\n", n,
		poll ? "polling" : "interrupt", t / 1000000, t / 1000 % 1000,
		t ? n * 1000000000UL / t : 0, msix_count() - irqs);
	passf("bench");
}

void test_pci_msix(void)
{
	uint32_t bar = blk_bar(), e = bar + MSIX_TABLE + 16 * QUEUE_VECTOR;
	unsigned int cap = msix_cap();
	uint32_t apic = lapic_read(LAPIC_ID) >> 24;
	uint64_t n, loop = 0, bench = 0, poll = 0;

	time_init();
	msix_handler_init();
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);   /* APIC on */
	/* MSI-X on, vector masked: fixed delivery of VEC_MSIX, edge */
	conf_write16(1, cap + 2, MSIX_ENABLE | MSIX_FUNC_MASK);
	mmio_write32(e, 0xfee00000u | apic << 12);
	mmio_write32(e + 4, 0);
	mmio_write32(e + 8, VEC_MSIX);
	if (!(mmio_read32(e + 12) & 1))
		fail("MSI-X vector %u not masked at reset", QUEUE_VECTOR);
	conf_write16(1, cap + 2, MSIX_ENABLE);
	blk_start(bar);

	/* masked: no interrupt, the PBA bit */
	blk_read(bar);
	if ((n = msix_wait(1, QUIET_NS)) != 0)
		fail("%lu interrupts from a masked vector", n);
	if (!pending(bar))
		fail("masked vector: no PBA bit after a completion");
	/* unmasked: the pending message, once, and the bit clear */
	mmio_write32(e + 12, 0);
	if ((n = msix_wait(1, MSIX_TIMEOUT_NS)) != 1)
		fail("unmasking a pending vector: %lu interrupts, not 1", n);
	if (pending(bar))
		fail("PBA bit still set after the pending message went");
	if ((n = msix_wait(2, QUIET_NS)) != 1)
		fail("unmasking a pending vector: %lu interrupts, not 1", n);
	/* unmasked: one interrupt per completion */
	blk_read(bar);
	if ((n = msix_wait(2, MSIX_TIMEOUT_NS)) != 2)
		fail("completion on an unmasked vector: %lu interrupts, not 2", n);
	/* the function mask holds it the same way */
	conf_write16(1, cap + 2, MSIX_ENABLE | MSIX_FUNC_MASK);
	blk_read(bar);
	if ((n = msix_wait(3, QUIET_NS)) != 2)
		fail("%lu interrupts through the function mask", n);
	if (!pending(bar))
		fail("function mask: no PBA bit after a completion");
	conf_write16(1, cap + 2, MSIX_ENABLE);
	if ((n = msix_wait(3, MSIX_TIMEOUT_NS)) != 3)
		fail("clearing the function mask: %lu interrupts, not 3", n);
	if (pending(bar))
		fail("PBA bit still set after the function mask cleared");
	if (param_u64("bench", &bench) == 1 && bench) {
		param_u64("poll", &poll);
		msix_bench(bar, e, bench, poll != 0, n);
	}
	if (param_u64("loop", &loop) == 1 && loop)
		msix_loop(bar, n);
	passf("MSI-X vector %u to APIC %u: held while masked (PBA), "
	      "delivered once on unmask, %lu interrupts", QUEUE_VECTOR, apic, n);
}
