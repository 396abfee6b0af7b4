// SPDX-License-Identifier: MIT
/*
 * Test guest: the virtio-blk scenarios.
 *
 *   blk            capacity, read / write / flush / vectored read / GET_ID
 *                  and an out-of-range read on the first virtio-blk device;
 *                  the host prepares sector 0 to hold bytes i % 256
 *   blk-ro         the same device read-only: reads work, writes fail
 *   hostile-queue  a buggy driver: invalid queue sizes, a buffer outside
 *                  guest RAM, a looping chain; the device must refuse or
 *                  report NEEDS_RESET, and work again after a reset
 *   hostile-blk    more of that [seed=N]: GET_ID into 1 byte, sector x 512
 *                  past 2^64, a 2^32-sector discard, buffers that wrap or
 *                  lie in the MMIO hole, indirect in indirect, an indirect
 *                  table of 17 bytes, an avail index jumping by 2^15,
 *                  DRIVER_OK without FEATURES_OK, 20,000 refused
 *                  QueueReady writes, every register width and
 *                  offset, then seeded random accesses over the window and
 *                  the next; each must see its reaction (a status, or
 *                  NEEDS_RESET, or no service), and a reset must bring the
 *                  device back
 *   durable        flush=0|1 n=N seed=S: N sector writes (from sector 8,
 *                  each 512 bytes of "vmm-durable S K " repeated), with
 *                  VIRTIO_BLK_F_FLUSH negotiated and a FLUSH after them,
 *                  or without it; "durable: complete K" as each write
 *                  completes, "durable: done" once all are (and flushed),
 *                  then it waits to be killed (tests/vm/durability.sh)
 *
 * A request is a chain: 16-byte header (readable), data (readable for
 * writes, writable for reads), 1-byte status (writable).
 */
#include "hw.h"
#include "lib.h"
#include "virtio.h"

#define VIRTIO_BLK_F_RO     5
#define VIRTIO_BLK_F_FLUSH  9

#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define SECTOR_SIZE         512
#define BLK_TIMEOUT_NS      5000000000UL
#define HOSTILE_TIMEOUT_NS  1000000000UL
#define HOSTILE_BAD_ADDR    0x7fff00000000UL

struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct virtq blkq;
static struct virtio_blk_req_hdr req_hdr __attribute__((aligned(16)));
static uint8_t req_status;
static uint8_t sector_buf[SECTOR_SIZE] __attribute__((aligned(16)));
static uint8_t saved_buf[SECTOR_SIZE] __attribute__((aligned(16)));
static char id_buf[VIRTIO_BLK_ID_BYTES + 1];

static const char *blk_status_name(int s)
{
	switch (s) {
	case VIRTIO_BLK_S_OK:     return "OK";
	case VIRTIO_BLK_S_IOERR:  return "IOERR";
	case VIRTIO_BLK_S_UNSUPP: return "UNSUPP";
	default:                  return "not a virtio-blk status";
	}
}

/*
 * One request: the header, the data split into `pieces` equal descriptors
 * (0 for none), the status byte. Returns the status the device wrote, or
 * a VIRTQ_* error.
 */
static int blk_request(struct virtio_dev *d, uint32_t type, uint64_t sector,
		       void *data, uint32_t len, unsigned int pieces)
{
	struct virtio_buf b[2 + 2];
	unsigned int n = 0;
	int r;

	if (pieces > 2)
		pieces = 2;
	req_hdr.type = type;
	req_hdr.reserved = 0;
	req_hdr.sector = sector;
	b[n++] = (struct virtio_buf){ (uintptr_t)&req_hdr, sizeof(req_hdr), 0 };
	for (unsigned int i = 0; i < pieces; i++)
		b[n++] = (struct virtio_buf){
			(uintptr_t)data + i * (len / pieces), len / pieces,
			type != VIRTIO_BLK_T_OUT };
	req_status = 0xff;
	b[n++] = (struct virtio_buf){ (uintptr_t)&req_status, 1, 1 };
	r = virtq_transfer(d, &blkq, b, n, BLK_TIMEOUT_NS, NULL);
	if (r < 0)
		return r;
	return *(volatile uint8_t *)&req_status;
}

/* The request must have completed with VIRTIO_BLK_S_OK. */
static void expect_ok(const struct virtio_dev *d, int r, const char *what)
{
	if (r < 0)
		fail("%s: %s (Status 0x%x)", what, virtq_strerror(r),
		     virtio_get_status(d));
	if (r != VIRTIO_BLK_S_OK)
		fail("%s: status %d (%s)", what, r, blk_status_name(r));
}

/* Index of the first byte i of buf that is not (i % 256) ^ x, or -1. */
static int pattern_mismatch(const uint8_t *buf, uint8_t x)
{
	for (int i = 0; i < SECTOR_SIZE; i++)
		if (buf[i] != (uint8_t)(i ^ x))
			return i;
	return -1;
}

static void blk_open(struct virtio_dev *d, uint64_t wanted)
{
	const char *err;

	if (virtio_find(VIRTIO_ID_BLOCK, 0, d))
		fail("no virtio-blk device");
	if ((err = virtio_start(d, wanted, &blkq, 1)))
		fail("virtio-blk set-up: %s", err);
	kprintf("%s: features offered 0x%lx, accepted 0x%lx, queue size %u\n",
		current_test, d->offered, d->features, blkq.size);
}

void test_blk(void)
{
	struct virtio_dev d;
	uint64_t capacity;
	int r, bad;

	time_init();
	blk_open(&d, 1ULL << VIRTIO_BLK_F_FLUSH);
	capacity = virtio_config64(&d, 0);
	kprintf("blk: capacity=%lu sectors (%lu KiB)\n", capacity,
		capacity / 2);
	if (capacity < 2)
		fail("capacity %lu: need at least 2 sectors", capacity);

	memset(sector_buf, 0xee, SECTOR_SIZE);
	r = blk_request(&d, VIRTIO_BLK_T_IN, 0, sector_buf, SECTOR_SIZE, 1);
	expect_ok(&d, r, "read sector 0");
	if ((bad = pattern_mismatch(sector_buf, 0)) >= 0)
		fail("sector 0 byte %d is 0x%x, expected 0x%x (i %% 256)", bad,
		     sector_buf[bad], bad & 0xff);
	kprintf("blk: read sector 0: OK, holds bytes i %% 256\n");

	for (int i = 0; i < SECTOR_SIZE; i++)
		sector_buf[i] = (uint8_t)~i;
	r = blk_request(&d, VIRTIO_BLK_T_OUT, 1, sector_buf, SECTOR_SIZE, 1);
	expect_ok(&d, r, "write sector 1");
	kprintf("blk: wrote sector 1 (bytes ~i): OK\n");

	if (virtio_has(&d, VIRTIO_BLK_F_FLUSH)) {
		r = blk_request(&d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0);
		expect_ok(&d, r, "flush");
		kprintf("blk: flush: OK\n");
	} else {
		kprintf("blk: flush: VIRTIO_BLK_F_FLUSH not offered, "
			"skipped\n");
	}

	memset(sector_buf, 0, SECTOR_SIZE);
	r = blk_request(&d, VIRTIO_BLK_T_IN, 1, sector_buf, SECTOR_SIZE, 2);
	expect_ok(&d, r, "read sector 1 (2 data descriptors)");
	if ((bad = pattern_mismatch(sector_buf, 0xff)) >= 0)
		fail("sector 1 byte %d reads back 0x%x, wrote 0x%x", bad,
		     sector_buf[bad], (uint8_t)~bad);
	kprintf("blk: read sector 1 back through 2 x 256-byte descriptors: "
		"OK, matches\n");

	memset(id_buf, 0, sizeof(id_buf));
	r = blk_request(&d, VIRTIO_BLK_T_GET_ID, 0, id_buf,
			VIRTIO_BLK_ID_BYTES, 1);
	expect_ok(&d, r, "GET_ID");
	kprintf("blk: id=");
	put_text(id_buf, VIRTIO_BLK_ID_BYTES);
	kprintf("\n");

	r = blk_request(&d, VIRTIO_BLK_T_IN, capacity, sector_buf,
			SECTOR_SIZE, 1);
	if (r < 0)
		fail("read past the end: %s", virtq_strerror(r));
	kprintf("blk: read at sector %lu (one past the end): status %d "
		"(%s)\n", capacity, r, blk_status_name(r));
	if (r != VIRTIO_BLK_S_IOERR)
		fail("read past the end: status %d (%s), expected IOERR", r,
		     blk_status_name(r));
	pass();
}

void test_blk_ro(void)
{
	struct virtio_dev d;
	int r;

	time_init();
	blk_open(&d, 1ULL << VIRTIO_BLK_F_RO);
	if (!virtio_has(&d, VIRTIO_BLK_F_RO))
		fail("device does not offer VIRTIO_BLK_F_RO");
	kprintf("blk-ro: VIRTIO_BLK_F_RO offered\n");

	r = blk_request(&d, VIRTIO_BLK_T_IN, 0, sector_buf, SECTOR_SIZE, 1);
	expect_ok(&d, r, "read sector 0");
	kprintf("blk-ro: read sector 0: OK%s\n",
		pattern_mismatch(sector_buf, 0) < 0 ?
			", holds bytes i % 256" : "");

	r = blk_request(&d, VIRTIO_BLK_T_IN, 1, saved_buf, SECTOR_SIZE, 1);
	expect_ok(&d, r, "read sector 1");
	for (int i = 0; i < SECTOR_SIZE; i++)
		sector_buf[i] = (uint8_t)~saved_buf[i];
	r = blk_request(&d, VIRTIO_BLK_T_OUT, 1, sector_buf, SECTOR_SIZE, 1);
	if (r < 0)
		fail("write sector 1: %s", virtq_strerror(r));
	kprintf("blk-ro: write sector 1: status %d (%s)\n", r,
		blk_status_name(r));
	if (r != VIRTIO_BLK_S_IOERR && r != VIRTIO_BLK_S_UNSUPP)
		fail("write to a read-only disk: status %d (%s), expected "
		     "IOERR or UNSUPP", r, blk_status_name(r));

	r = blk_request(&d, VIRTIO_BLK_T_IN, 1, sector_buf, SECTOR_SIZE, 1);
	expect_ok(&d, r, "read sector 1 again");
	if (memcmp(sector_buf, saved_buf, SECTOR_SIZE))
		fail("the refused write changed sector 1");
	kprintf("blk-ro: sector 1 unchanged\n");
	pass();
}

/* ---- hostile-queue ---- */

static void write64(const struct virtio_dev *d, uint32_t reg, uint64_t v)
{
	virtio_write(d, reg, (uint32_t)v);
	virtio_write(d, reg + 4, (uint32_t)(v >> 32));
}

/*
 * Queue 0 with QueueNum = num (invalid) and otherwise proper rings: does
 * the device refuse QueueReady? 1 if it did. Resets the device after.
 */
static int try_bad_queue_num(struct virtio_dev *d, uint32_t num,
			     const char *why)
{
	const char *err = virtio_negotiate(d, 0);
	uint32_t ready, max;

	if (err)
		fail("ready: %s", err);
	virtio_write(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	max = virtio_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	virtio_write(d, VIRTIO_MMIO_QUEUE_NUM, num);
	write64(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uintptr_t)blkq.desc);
	write64(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uintptr_t)&blkq.avail);
	write64(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uintptr_t)&blkq.used);
	virtio_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	ready = virtio_read(d, VIRTIO_MMIO_QUEUE_READY);
	kprintf("hostile: ready: QueueNum=%u (%s, QueueNumMax %u): QueueReady "
		"reads %u (%s), Status 0x%x\n", num, why, max, ready,
		ready ? "accepted" : "refused", virtio_get_status(d));
	if (virtio_reset(d))
		fail("ready: device did not reset afterwards");
	return ready == 0;
}

/* Wait for the device to notice what was just kicked. 1 if NEEDS_RESET. */
static int expect_needs_reset(struct virtio_dev *d, const char *step)
{
	uint32_t st;
	int r = virtq_wait(d, &blkq, HOSTILE_TIMEOUT_NS, NULL);

	st = virtio_get_status(d);
	kprintf("hostile: %s: ", step);
	if (r >= 0)
		kprintf("request completed (status byte %u); ",
			*(volatile uint8_t *)&req_status);
	else
		kprintf("%s; ", virtq_strerror(r));
	kprintf("Status 0x%x (%s)\n", st, st & VIRTIO_S_NEEDS_RESET ?
		"NEEDS_RESET" : "no NEEDS_RESET");
	virtio_ack_interrupt(d);
	return (st & VIRTIO_S_NEEDS_RESET) != 0;
}

static int hostile_start_with(struct virtio_dev *d, const char *step,
			      uint64_t want)
{
	const char *err = virtio_start(d, want, &blkq, 1);

	if (err)
		kprintf("hostile: %s: set-up failed: %s\n", step, err);
	return err == NULL;
}

static int hostile_start(struct virtio_dev *d, const char *step)
{
	return hostile_start_with(d, step, 0);
}

void test_hostile_queue(void)
{
	struct virtio_dev d;
	const char *failed[4];
	unsigned int nfailed = 0;
	uint32_t max;
	int ok;

	time_init();
	if (virtio_find(VIRTIO_ID_BLOCK, 0, &d))
		fail("no virtio-blk device");

	/* 1: invalid queue sizes must not become ready. */
	if (virtio_negotiate(&d, 0))
		fail("ready: device set-up failed");
	virtio_write(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
	max = virtio_read(&d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	ok = try_bad_queue_num(&d, 3, "not a power of two");
	ok &= try_bad_queue_num(&d, max * 2, "larger than QueueNumMax");
	if (!ok)
		failed[nfailed++] = "ready";

	/* 2: a buffer outside guest RAM. */
	ok = hostile_start(&d, "bad-address");
	if (ok) {
		struct virtio_buf b[3] = {
			{ (uintptr_t)&req_hdr, sizeof(req_hdr), 0 },
			{ HOSTILE_BAD_ADDR, SECTOR_SIZE, 1 },
			{ (uintptr_t)&req_status, 1, 1 },
		};

		req_hdr = (struct virtio_blk_req_hdr){ VIRTIO_BLK_T_IN, 0, 0 };
		req_status = 0xff;
		kprintf("hostile: bad-address: reading sector 0 into 0x%lx\n",
			HOSTILE_BAD_ADDR);
		if (virtq_add(&blkq, b, 3) < 0)
			fail("bad-address: virtq_add failed");
		virtq_kick(&d, &blkq);
		ok = expect_needs_reset(&d, "bad-address");
	}
	if (!ok)
		failed[nfailed++] = "bad-address";

	/* 3: a chain that loops: 0 -> 1 -> 0 -> ... */
	ok = hostile_start(&d, "loop");
	if (ok) {
		kprintf("hostile: loop: Status read 0 after reset; submitting "
			"chain 0 -> 1 -> 0\n");
		blkq.desc[0] = (struct virtq_desc){ (uintptr_t)&req_hdr,
			sizeof(req_hdr), VIRTQ_DESC_F_NEXT, 1 };
		blkq.desc[1] = (struct virtq_desc){ (uintptr_t)&req_hdr,
			sizeof(req_hdr), VIRTQ_DESC_F_NEXT, 0 };
		virtq_publish(&blkq, 0);
		virtq_kick(&d, &blkq);
		ok = expect_needs_reset(&d, "loop");
	}
	if (!ok)
		failed[nfailed++] = "loop";

	/* 4: after a reset the device works again. */
	ok = hostile_start(&d, "recovery");
	if (ok) {
		int r;

		memset(sector_buf, 0xee, SECTOR_SIZE);
		r = blk_request(&d, VIRTIO_BLK_T_IN, 0, sector_buf,
				SECTOR_SIZE, 1);
		if (r < 0)
			kprintf("hostile: recovery: read of sector 0: %s "
				"(Status 0x%x)\n", virtq_strerror(r),
				virtio_get_status(&d));
		else
			kprintf("hostile: recovery: read of sector 0 after "
				"reset: status %d (%s), data %02x %02x %02x "
				"%02x ...\n", r, blk_status_name(r),
				sector_buf[0], sector_buf[1], sector_buf[2],
				sector_buf[3]);
		ok = r == VIRTIO_BLK_S_OK;
	}
	if (!ok)
		failed[nfailed++] = "recovery";

	virtio_reset(&d);
	if (nfailed) {
		kprintf("TESTGUEST FAIL %s: step(s)", current_test);
		for (unsigned int i = 0; i < nfailed; i++)
			kprintf(" %s", failed[i]);
		kprintf(" did not see the expected device reaction\n");
		shutdown();
	}
	pass();
}

/* ---- hostile-blk ---- */

#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_F_INDIRECT_DESC    28
#define VIRTQ_DESC_F_INDIRECT     4

static struct virtq_desc ind_table[4] __attribute__((aligned(16)));
static struct virtq_desc ind_inner[2] __attribute__((aligned(16)));
static struct { uint64_t sector; uint32_t num, flags; } discard_seg
	__attribute__((aligned(16)));

/* xorshift64*, seeded from seed= (default 1), printed */
static uint64_t hb_rng;
static uint64_t hb_next(void)
{
	hb_rng ^= hb_rng >> 12;
	hb_rng ^= hb_rng << 25;
	hb_rng ^= hb_rng >> 27;
	return hb_rng * 0x2545f4914f6cdd1dUL;
}

/* A request of header + one data buffer at (addr, len) + status. */
static int hb_request(struct virtio_dev *d, uint32_t type, uint64_t sector,
		      uint64_t addr, uint32_t len, int writable)
{
	struct virtio_buf b[3] = {
		{ (uintptr_t)&req_hdr, sizeof(req_hdr), 0 },
		{ addr, len, writable },
		{ (uintptr_t)&req_status, 1, 1 },
	};

	req_hdr = (struct virtio_blk_req_hdr){ type, 0, sector };
	req_status = 0xff;
	int r = virtq_transfer(d, &blkq, b, 3, HOSTILE_TIMEOUT_NS, NULL);
	return r < 0 ? r : *(volatile uint8_t *)&req_status;
}

/* A step that must end in NEEDS_RESET (then the device is set up anew). */
static int hb_broken(struct virtio_dev *d, const char *step, uint64_t want)
{
	int ok = expect_needs_reset(d, step);

	if (!hostile_start_with(d, step, want))
		return 0;
	return ok;
}

static int hb_status(const char *step, int r, int want1, int want2)
{
	kprintf("hostile-blk: %s: %s%s\n", step,
		r < 0 ? virtq_strerror(r) : blk_status_name(r),
		r == want1 || r == want2 ? "" : " (unexpected)");
	return r == want1 || r == want2;
}

void test_hostile_blk(void)
{
	struct virtio_dev d;
	const char *failed[16];
	unsigned int nfailed = 0;
	uint64_t want = 1UL << VIRTIO_BLK_F_DISCARD | 1UL << VIRTIO_F_INDIRECT_DESC,
		 capacity, seed = 1;
	int ok, r;

	time_init();
	if (param_u64("seed", &seed) < 0)
		fail("bad seed= value");
	hb_rng = seed ? seed : 1;
	kprintf("hostile-blk: seed %lu\n", seed);
	if (virtio_find(VIRTIO_ID_BLOCK, 0, &d))
		fail("no virtio-blk device");
	if (!hostile_start_with(&d, "start", want))
		fail("set-up failed");
	capacity = virtio_config64(&d, 0);

	/* GET_ID into a 1-byte buffer: what fits, status OK */
	id_buf[0] = 0;
	r = hb_request(&d, VIRTIO_BLK_T_GET_ID, 0, (uintptr_t)id_buf, 1, 1);
	if (!hb_status("get-id-1-byte", r, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_OK))
		failed[nfailed++] = "get-id-1-byte";

	/* sector x 512 past 2^64, and the first sector past the end */
	r = hb_request(&d, VIRTIO_BLK_T_IN, 1UL << 55, (uintptr_t)sector_buf,
		       SECTOR_SIZE, 1);
	if (!hb_status("sector-overflow", r, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_IOERR))
		failed[nfailed++] = "sector-overflow";
	r = hb_request(&d, VIRTIO_BLK_T_IN, capacity, (uintptr_t)sector_buf,
		       SECTOR_SIZE, 1);
	if (!hb_status("sector-past-end", r, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_IOERR))
		failed[nfailed++] = "sector-past-end";

	/* a discard of 2^32 - 1 sectors: refused, nothing discarded */
	discard_seg.sector = 0;
	discard_seg.num = 0xffffffffu;
	discard_seg.flags = 0;
	r = hb_request(&d, VIRTIO_BLK_T_DISCARD, 0, (uintptr_t)&discard_seg,
		       sizeof(discard_seg), 0);
	if (!hb_status(virtio_has(&d, VIRTIO_BLK_F_DISCARD) ? "huge-discard" :
		       "huge-discard (not negotiated)", r, VIRTIO_BLK_S_IOERR,
		       VIRTIO_BLK_S_UNSUPP))
		failed[nfailed++] = "huge-discard";

	/* a data buffer whose address + length wraps around 2^64 */
	{
		struct virtio_buf b[3] = {
			{ (uintptr_t)&req_hdr, sizeof(req_hdr), 0 },
			{ 0xfffffffffffff000UL, 0x2000, 1 },
			{ (uintptr_t)&req_status, 1, 1 },
		};
		req_hdr = (struct virtio_blk_req_hdr){ VIRTIO_BLK_T_IN, 0, 0 };
		if (virtq_add(&blkq, b, 3) < 0)
			fail("wrap: virtq_add failed");
		virtq_kick(&d, &blkq);
		if (!hb_broken(&d, "wrap", want))
			failed[nfailed++] = "wrap";
	}

	/* a data buffer in the MMIO hole: the device's own window */
	{
		struct virtio_buf b[3] = {
			{ (uintptr_t)&req_hdr, sizeof(req_hdr), 0 },
			{ d.base, SECTOR_SIZE, 1 },
			{ (uintptr_t)&req_status, 1, 1 },
		};
		req_hdr = (struct virtio_blk_req_hdr){ VIRTIO_BLK_T_IN, 0, 0 };
		if (virtq_add(&blkq, b, 3) < 0)
			fail("mmio-hole: virtq_add failed");
		virtq_kick(&d, &blkq);
		if (!hb_broken(&d, "mmio-hole", want))
			failed[nfailed++] = "mmio-hole";
	}

	/* an indirect table whose entry is indirect again */
	if (virtio_has(&d, VIRTIO_F_INDIRECT_DESC)) {
		ind_inner[0] = (struct virtq_desc){ (uintptr_t)&req_hdr,
			sizeof(req_hdr), 0, 0 };
		ind_table[0] = (struct virtq_desc){ (uintptr_t)ind_inner,
			sizeof(ind_inner), VIRTQ_DESC_F_INDIRECT, 0 };
		blkq.desc[0] = (struct virtq_desc){ (uintptr_t)ind_table,
			sizeof(struct virtq_desc), VIRTQ_DESC_F_INDIRECT, 0 };
		virtq_publish(&blkq, 0);
		virtq_kick(&d, &blkq);
		if (!hb_broken(&d, "indirect-in-indirect", want))
			failed[nfailed++] = "indirect-in-indirect";

		/* an indirect table 17 bytes long */
		blkq.desc[0] = (struct virtq_desc){ (uintptr_t)ind_table, 17,
			VIRTQ_DESC_F_INDIRECT, 0 };
		virtq_publish(&blkq, 0);
		virtq_kick(&d, &blkq);
		if (!hb_broken(&d, "indirect-len-17", want))
			failed[nfailed++] = "indirect-len-17";
	} else {
		kprintf("hostile-blk: indirect: not offered, skipped\n");
	}

	/* the avail index jumps by 2^15 */
	blkq.avail.idx = (uint16_t)(blkq.avail.idx + 0x8000);
	virt_wmb();
	virtq_kick(&d, &blkq);
	if (!hb_broken(&d, "avail-jump", want))
		failed[nfailed++] = "avail-jump";

	/* DRIVER_OK without FEATURES_OK: the device must not serve */
	virtio_reset(&d);
	virtio_write(&d, VIRTIO_MMIO_STATUS, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	if (virtio_queue_setup(&d, &blkq, 0, VIRTQ_SIZE))
		fail("no-features-ok: queue set-up failed");
	virtio_write(&d, VIRTIO_MMIO_STATUS, VIRTIO_S_ACKNOWLEDGE |
		     VIRTIO_S_DRIVER | VIRTIO_S_DRIVER_OK);
	r = hb_request(&d, VIRTIO_BLK_T_IN, 0, (uintptr_t)sector_buf, SECTOR_SIZE, 1);
	kprintf("hostile-blk: no-features-ok: %s\n", r == VIRTQ_TIMEOUT ?
		"not served" : r < 0 ? virtq_strerror(r) : "served (wrong)");
	if (r >= 0)
		failed[nfailed++] = "no-features-ok";

	/* 20,000 refused QueueReady writes: vmm logs a few, not 20,000 */
	virtio_reset(&d);
	if (virtio_negotiate(&d, 0))
		fail("ready-flood: set-up failed");
	virtio_write(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
	virtio_write(&d, VIRTIO_MMIO_QUEUE_NUM, 3);
	for (unsigned int i = 0; i < 20000; i++)
		virtio_write(&d, VIRTIO_MMIO_QUEUE_READY, 1);
	kprintf("hostile-blk: ready-flood: 20000 refused QueueReady writes, "
		"QueueReady reads %u\n", virtio_read(&d, VIRTIO_MMIO_QUEUE_READY));
	if (virtio_read(&d, VIRTIO_MMIO_QUEUE_READY))
		failed[nfailed++] = "ready-flood";

	/* every width at every offset past the registers, then random */
	for (uint64_t off = 0; off < 0x1000; off += 1) {
		if (off == VIRTIO_MMIO_STATUS || off == VIRTIO_MMIO_QUEUE_NOTIFY)
			continue;
		(void)mmio_read8(d.base + off);
		if (off % 2 == 0)
			(void)mmio_read16(d.base + off);
		if (off % 8 == 0)
			(void)mmio_read64(d.base + off);
		if (off >= 0x100 + 0x40 && off % 4 == 0)
			mmio_write32(d.base + off, 0xa5a5a5a5);
		if (off % 8 == 4)
			mmio_write16(d.base + off, 0x5a5a);
	}
	for (unsigned int i = 0; i < 4096; i++) {
		uint64_t x = hb_next();
		uint64_t a = d.base + (x & 0x1fff); /* this window and the next */
		uint32_t v = (uint32_t)(x >> 32);

		switch ((x >> 16) & 7) {
		case 0: (void)mmio_read8(a); break;
		case 1: (void)mmio_read16(a & ~1UL); break;
		case 2: (void)mmio_read32(a & ~3UL); break;
		case 3: (void)mmio_read64(a & ~7UL); break;
		case 4: mmio_write8(a, (uint8_t)v); break;
		case 5: mmio_write16(a & ~1UL, (uint16_t)v); break;
		case 6: mmio_write32(a & ~3UL, v); break;
		default: mmio_write64(a & ~7UL, x); break;
		}
	}
	kprintf("hostile-blk: mmio: every width and offset, 4096 random "
		"accesses (seed %lu); MagicValue 0x%x\n", seed,
		virtio_read(&d, VIRTIO_MMIO_MAGIC_VALUE));
	if (virtio_read(&d, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
		failed[nfailed++] = "mmio";

	/* and after a reset it all works again */
	ok = hostile_start_with(&d, "recovery", want);
	if (ok) {
		/* a write without FLUSH negotiated: write-through (5.2.6.3) */
		memset(sector_buf, 0x3c, SECTOR_SIZE);
		r = blk_request(&d, VIRTIO_BLK_T_OUT, 1, sector_buf, SECTOR_SIZE, 1);
		ok = hb_status("recovery-write", r, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_OK);
		r = blk_request(&d, VIRTIO_BLK_T_IN, 0, sector_buf, SECTOR_SIZE, 1);
		ok &= hb_status("recovery", r, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_OK);
	}
	if (!ok)
		failed[nfailed++] = "recovery";
	virtio_reset(&d);
	if (nfailed) {
		kprintf("TESTGUEST FAIL %s: step(s)", current_test);
		for (unsigned int i = 0; i < nfailed; i++)
			kprintf(" %s", failed[i]);
		kprintf(" did not see the expected device reaction\n");
		shutdown();
	}
	pass();
}

/* ---- durable ---- */

#define DURABLE_FIRST 8

/* Sector k of the durable scenario: "vmm-durable S K " over and over. */
static void durable_fill(uint8_t *buf, uint64_t seed, uint64_t k)
{
	char unit[64];
	unsigned int n = 0;
	static const char pre[] = "vmm-durable ";

	memcpy(unit, pre, sizeof(pre) - 1);
	n = sizeof(pre) - 1;
	/* decimal digits, most significant first */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t v = pass ? k : seed, p = 1;

		while (v / p >= 10)
			p *= 10;
		for (; p; p /= 10)
			unit[n++] = (char)('0' + v / p % 10);
		unit[n++] = ' ';
	}
	for (unsigned int i = 0; i < SECTOR_SIZE; i++)
		buf[i] = (uint8_t)unit[i % n];
}

void test_durable(void)
{
	struct virtio_dev d;
	uint64_t flush = 1, n = 8, seed = 1;
	int r;

	time_init();
	if (param_u64("flush", &flush) < 0 || flush > 1)
		fail("bad flush= value (0 or 1)");
	if (param_u64("n", &n) < 0 || n < 1 || n > 64)
		fail("bad n= value (1..64)");
	if (param_u64("seed", &seed) < 0)
		fail("bad seed= value");
	blk_open(&d, flush ? 1ULL << VIRTIO_BLK_F_FLUSH : 0);
	if (virtio_has(&d, VIRTIO_BLK_F_FLUSH) != (int)flush)
		fail("VIRTIO_BLK_F_FLUSH %snegotiated", flush ? "not " : "");
	kprintf("durable: FLUSH %s, %lu sector(s) from %u, seed %lu\n",
		flush ? "negotiated" : "not negotiated", n, DURABLE_FIRST, seed);
	for (uint64_t k = 0; k < n; k++) {
		durable_fill(sector_buf, seed, k);
		r = blk_request(&d, VIRTIO_BLK_T_OUT, DURABLE_FIRST + k,
				sector_buf, SECTOR_SIZE, 1);
		expect_ok(&d, r, "write");
		kprintf("durable: complete %lu\n", k);
	}
	if (flush) {
		r = blk_request(&d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0);
		expect_ok(&d, r, "flush");
		kprintf("durable: flushed\n");
	}
	kprintf("durable: done\n");
	/* the host kills vmm now; if it does not, say so after a while */
	delay_us(20000000);
	fail("not killed within 20 s of \"durable: done\"");
}
