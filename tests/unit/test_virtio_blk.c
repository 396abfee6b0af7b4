// SPDX-License-Identifier: MIT
/*
 * virtio-blk driven as a guest would (vdriver.h) over virtio-mmio, with a
 * temporary image file and no KVM: request parsing, data both ways, the
 * status of every kind of bad request, read-only disks, discard and
 * write-zeroes, and a hostile request that must not hold up teardown.
 * The same tests run for each I/O engine: test_virtio_blk_uring.c
 * includes this file with BLK_ENGINE set to the uring engine.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../devices/devices.h"
#include "../../vmm/config.h"
#include "testhost.h"
#include "unit.h"
#include "vdriver.h"

#define MEM      (64ULL << 20)
#define HDR      0x100000ULL   /* request header */
#define DATA     0x200000ULL   /* data buffers */
#define STATUS   0x300000ULL   /* status byte */
#define DISK_SZ  (1 << 20)

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WRITE_ZEROES 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define F_FLUSH (1ULL << 9)
#define F_DISCARD (1ULL << 13)
#define F_WRITE_ZEROES (1ULL << 14)

#ifndef BLK_ENGINE
#define BLK_ENGINE DISK_IO_THREAD
#define BLK_SUITE "virtio_blk"
#endif

static struct testhost th;
static struct bus mmio;
static struct vdriver vd;
static char image[64];
static pthread_t loop_thread; /* the uring engine works on the event loop */

static void *run_loop(void *arg)
{
	(void)evloop_run(arg);
	return NULL;
}

/* An image of size bytes whose every byte is its offset % 251. */
static void make_image(size_t size)
{
	uint8_t *b = malloc(size);
	int fd;

	snprintf(image, sizeof(image), "/tmp/vmm-test-blk-XXXXXX");
	fd = mkstemp(image);
	if (fd < 0 || !b)
		abort();
	for (size_t i = 0; i < size; i++)
		b[i] = (uint8_t)(i % 251);
	if (write(fd, b, size) != (ssize_t)size)
		abort();
	close(fd);
	free(b);
}

static struct virtio_dev *start(bool ro, uint64_t features)
{
	struct vm_disk cfg = { .read_only = ro, .io = BLK_ENGINE };
	struct virtio_dev *d;

	if (testhost_init(&th, MEM))
		abort();
	bus_init(&mmio, "mmio");
	snprintf(cfg.path, sizeof(cfg.path), "%s", image);
	snprintf(cfg.id, sizeof(cfg.id), "disk-under-test");
	if (virtio_blk_create(&th.host, &cfg, &d) ||
	    virtio_mmio_attach(d, &mmio, VD_MMIO, 5))
		abort();
	vd = (struct vdriver){ .bus = &mmio, .mem = &th.mem, .base = VD_MMIO };
	if (pthread_create(&loop_thread, NULL, run_loop, th.host.loop))
		abort();
	vd_init(&vd, 1, features, 1);
	return d;
}

static void stop(void)
{
	evloop_stop(th.host.loop);
	pthread_join(loop_thread, NULL);
	testhost_destroy(&th);
	bus_destroy(&mmio);
}

static void put_hdr(uint32_t type, uint64_t sector)
{
	uint8_t h[16] = { 0 };

	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	VD_MUST(gpa_write(&th.mem, HDR, h, 16));
	VD_MUST(gpa_write(&th.mem, STATUS, &(uint8_t){ 0xee }, 1));
}

static uint8_t status(void)
{
	uint8_t s = 0xff;

	VD_MUST(gpa_read(&th.mem, STATUS, &s, 1));
	return s;
}

/* header, optional data buffer, status; wait for completion. -1: none */
static int request(uint32_t type, uint64_t sector, uint64_t data,
		   uint32_t len, bool data_writable, uint32_t *used_len)
{
	struct vd_buf b[3] = {
		{ HDR, 16, 0 },
		{ data, len, data_writable },
		{ STATUS, 1, 1 },
	};
	uint32_t id;

	put_hdr(type, sector);
	if (len) {
		vd_post(&vd, 0, b, 3);
	} else {
		b[1] = b[2];
		vd_post(&vd, 0, b, 2);
	}
	vd_kick(&vd, 0);
	return vd_wait_used(&vd, 0, 5000, &id, used_len);
}

static int file_byte(off_t off)
{
	uint8_t v;
	int fd = open(image, O_RDONLY);

	if (fd < 0 || pread(fd, &v, 1, off) != 1)
		abort();
	close(fd);
	return v;
}

TEST(read_and_write)
{
	uint8_t buf[1024];
	uint32_t len;

	make_image(DISK_SZ);
	start(false, F_FLUSH);
	/* sectors 2-3 read back as the image's bytes */
	CHECK_EQ(request(T_IN, 2, DATA, 1024, true, &len), 0);
	CHECK_EQ(status(), S_OK);
	CHECK_EQ(len, 1025);
	CHECK_EQ(gpa_read(&th.mem, DATA, buf, sizeof(buf)), 0);
	for (int i = 0; i < 1024; i++)
		CHECK_EQ(buf[i], (1024 + i) % 251);
	/* a write lands in the file */
	memset(buf, 0x5a, 512);
	CHECK_EQ(gpa_write(&th.mem, DATA, buf, 512), 0);
	CHECK_EQ(request(T_OUT, 7, DATA, 512, false, &len), 0);
	CHECK_EQ(status(), S_OK);
	CHECK_EQ(len, 1);
	CHECK_EQ(file_byte(7 * 512), 0x5a);
	CHECK_EQ(file_byte(8 * 512), (8 * 512) % 251);
	CHECK_EQ(request(T_FLUSH, 0, 0, 0, false, &len), 0);
	CHECK_EQ(status(), S_OK);
	stop();
	unlink(image);
}

TEST(bad_requests_get_ioerr_or_unsupp)
{
	uint32_t len;

	make_image(DISK_SZ);
	start(false, 0);
	/* past the end, straddling the end, not whole sectors */
	CHECK_EQ(request(T_IN, DISK_SZ / 512, DATA, 512, true, &len), 0);
	CHECK_EQ(status(), S_IOERR);
	CHECK_EQ(request(T_IN, DISK_SZ / 512 - 1, DATA, 1024, true, &len), 0);
	CHECK_EQ(status(), S_IOERR);
	CHECK_EQ(request(T_IN, 0, DATA, 100, true, &len), 0);
	CHECK_EQ(status(), S_IOERR);
	CHECK_EQ(request(T_IN, UINT64_MAX, DATA, 512, true, &len), 0);
	CHECK_EQ(status(), S_IOERR);
	/* no data at all: nothing to do, and nothing to touch */
	CHECK_EQ(request(T_IN, 0, 0, 0, true, &len), 0);
	CHECK_EQ(status(), S_OK);
	CHECK_EQ(len, 1);
	CHECK_EQ(request(T_OUT, 0, 0, 0, false, &len), 0);
	CHECK_EQ(status(), S_OK);
	/* an unknown type */
	CHECK_EQ(request(99, 0, DATA, 512, true, &len), 0);
	CHECK_EQ(status(), S_UNSUPP);
	/* the device still works */
	CHECK_EQ(request(T_IN, 0, DATA, 512, true, &len), 0);
	CHECK_EQ(status(), S_OK);
	CHECK(!(vd_rd(&vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET));
	stop();
	unlink(image);
}

TEST(get_id)
{
	char id[21] = { 0 };
	uint32_t len;

	make_image(DISK_SZ);
	start(false, 0);
	CHECK_EQ(request(T_GET_ID, 0, DATA, 20, true, &len), 0);
	CHECK_EQ(status(), S_OK);
	CHECK_EQ(gpa_read(&th.mem, DATA, id, 20), 0);
	CHECK(!strcmp(id, "disk-under-test"));
	/* a one-byte buffer gets one byte */
	VD_MUST(gpa_write(&th.mem, DATA, "XX", 2));
	CHECK_EQ(request(T_GET_ID, 0, DATA, 1, true, &len), 0);
	CHECK_EQ(status(), S_OK);
	CHECK_EQ(len, 2);
	CHECK_EQ(gpa_read(&th.mem, DATA, id, 2), 0);
	CHECK(id[0] == 'd' && id[1] == 'X');
	stop();
	unlink(image);
}

TEST(read_only_disk_refuses_writes)
{
	uint32_t len;
	uint8_t seg[16] = { 0 };

	make_image(DISK_SZ);
	start(true, 0);
	CHECK_EQ(vd_rd(&vd, 0x010) & (1u << 5), 1u << 5); /* BLK_F_RO */
	CHECK_EQ(request(T_OUT, 0, DATA, 512, false, &len), 0);
	CHECK_EQ(status(), S_IOERR);
	VD_MUST(gpa_write(&th.mem, DATA, seg, 16));
	CHECK_EQ(request(T_DISCARD, 0, DATA, 16, false, &len), 0);
	CHECK_EQ(status(), S_IOERR);
	CHECK_EQ(file_byte(0), 0);
	CHECK_EQ(file_byte(300), 300 % 251);
	stop();
	unlink(image);
}

TEST(discard_and_write_zeroes)
{
	uint8_t seg[16] = { 0 };
	uint64_t sector = 4;
	uint32_t num = 8, len;

	make_image(DISK_SZ);
	start(false, F_DISCARD | F_WRITE_ZEROES);
	memcpy(seg, &sector, 8);
	memcpy(seg + 8, &num, 4);
	VD_MUST(gpa_write(&th.mem, DATA, seg, 16));
	CHECK_EQ(request(T_WRITE_ZEROES, 0, DATA, 16, false, &len), 0);
	CHECK_EQ(status(), S_OK);
	CHECK_EQ(file_byte(4 * 512 + 17), 0);
	CHECK_EQ(file_byte(12 * 512 - 1), 0);
	CHECK_EQ(file_byte(12 * 512), (12 * 512) % 251);
	/* a segment past the end */
	sector = DISK_SZ / 512;
	memcpy(seg, &sector, 8);
	VD_MUST(gpa_write(&th.mem, DATA, seg, 16));
	CHECK_EQ(request(T_DISCARD, 0, DATA, 16, false, &len), 0);
	CHECK_EQ(status(), S_IOERR);
	stop();
	unlink(image);
}

TEST(malformed_chain_needs_reset)
{
	struct vd_buf b[2] = { { HDR, 8, 0 }, { STATUS, 1, 1 } };
	uint32_t id, len;

	make_image(DISK_SZ);
	start(false, 0);
	/* a header of 8 bytes: a broken driver */
	vd_post(&vd, 0, b, 2);
	vd_kick(&vd, 0);
	for (int i = 0; i < 500 && !(vd_rd(&vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET); i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	CHECK(vd_rd(&vd, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(vd_wait_used(&vd, 0, 50, &id, &len), -1);
	/* a reset brings it back */
	vd_init(&vd, 1, 0, 1);
	CHECK_EQ(request(T_IN, 0, DATA, 512, true, &len), 0);
	CHECK_EQ(status(), S_OK);
	stop();
	unlink(image);
}

TEST(not_served_without_features_ok)
{
	struct vd_buf b[3] = { { HDR, 16, 0 }, { DATA, 512, 1 }, { STATUS, 1, 1 } };
	uint32_t id, len;

	make_image(DISK_SZ);
	start(false, 0);
	/* reset, then DRIVER_OK straight after DRIVER: never FEATURES_OK */
	vd_wr(&vd, 0x070, 0);
	vd_wr(&vd, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vd_wr(&vd, 0x030, 0);
	vd_wr(&vd, 0x038, VD_QSIZE);
	vd_wr(&vd, 0x080, (uint32_t)vd_desc(0));
	vd_wr(&vd, 0x090, (uint32_t)vd_avail(0));
	vd_wr(&vd, 0x0a0, (uint32_t)vd_used(0));
	vd_wr(&vd, 0x044, 1);
	vd_wr(&vd, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	      VIRTIO_STATUS_DRIVER_OK);
	memset(vd.avail_idx, 0, sizeof(vd.avail_idx));
	memset(vd.used_seen, 0, sizeof(vd.used_seen));
	memset(vd.next_desc, 0, sizeof(vd.next_desc));
	put_hdr(T_IN, 0);
	vd_post(&vd, 0, b, 3);
	vd_kick(&vd, 0);
	CHECK_EQ(vd_wait_used(&vd, 0, 200, &id, &len), -1);
	stop();
	unlink(image);
}

/*
 * A hostile read of a thousand 32 MiB buffers (all the same guest memory)
 * from a large sparse image: 32 GiB of I/O. Teardown must not wait for it.
 */
TEST(huge_request_does_not_hold_up_teardown)
{
	static struct vd_buf b[VD_QSIZE];
	struct timespec t0, t1;
	int fd;

	snprintf(image, sizeof(image), "/tmp/vmm-test-blk-XXXXXX");
	fd = mkstemp(image);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 64LL << 30), 0);
	close(fd);
	start(false, 0);
	put_hdr(T_IN, 0);
	b[0] = (struct vd_buf){ HDR, 16, 0 };
	for (int i = 1; i < VD_QSIZE - 1; i++)
		b[i] = (struct vd_buf){ DATA, 32u << 20, 1 };
	b[VD_QSIZE - 1] = (struct vd_buf){ STATUS, 1, 1 };
	vd_post(&vd, 0, b, VD_QSIZE);
	vd_kick(&vd, 0);
	nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	stop();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	unlink(image);
	/* one bounded chunk at most, not the whole request */
	CHECK((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 1000);
}

UNIT_MAIN(BLK_SUITE,
	  T(read_and_write), T(bad_requests_get_ioerr_or_unsupp), T(get_id),
	  T(read_only_disk_refuses_writes), T(discard_and_write_zeroes),
	  T(malformed_chain_needs_reset), T(not_served_without_features_ok),
	  T(huge_request_does_not_hold_up_teardown))
