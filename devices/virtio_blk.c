// SPDX-License-Identifier: MIT
/*
 * virtio-blk (virtio 1.x, 5.2) backed by a raw image file. Requests are
 * served on the event-loop thread with vectored I/O straight between the
 * file and the guest's buffers. The image is opened once and locked
 * (flock: exclusive for read-write, shared for read-only) so two VMs
 * cannot write one image; FLUSH reaches the disk with fdatasync() before
 * it completes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../vmm/log.h"
#include "../vmm/vmm.h"
#include "devices.h"
#include "virtio.h"

#define VIRTIO_ID_BLOCK 2
#define SECTOR_SHIFT    9
#define SECTOR_SIZE     (1U << SECTOR_SHIFT)

/* feature bits (5.2.3) */
#define BLK_F_SEG_MAX      2
#define BLK_F_RO           5
#define BLK_F_BLK_SIZE     6
#define BLK_F_FLUSH        9
#define BLK_F_DISCARD      13
#define BLK_F_WRITE_ZEROES 14

/* request types and status (5.2.6) */
#define BLK_T_IN           0
#define BLK_T_OUT          1
#define BLK_T_FLUSH        4
#define BLK_T_GET_ID       8
#define BLK_T_DISCARD      11
#define BLK_T_WRITE_ZEROES 13
#define BLK_S_OK     0
#define BLK_S_IOERR  1
#define BLK_S_UNSUPP 2

#define BLK_QUEUE_SIZE 256
#define BLK_SEG_MAX    (BLK_QUEUE_SIZE - 2) /* minus header and status */
#define BLK_CONFIG_SIZE 60
#define BLK_MAX_DISCARD_SEG 1
#define BLK_DISCARD_SEG_SIZE 16 /* sector u64, num_sectors u32, flags u32 */

struct virtio_blk {
	struct virtio_dev *dev;
	int fd;
	bool read_only;
	uint64_t sectors;
	char id[VMM_DISK_ID_MAX + 1];
	struct virtq_chain chain; /* scratch: one request at a time */
	struct iovec iov[VIRTQ_MAX_CHAIN];
	uint8_t config[BLK_CONFIG_SIZE];
	/* counters */
	uint64_t reads, writes, read_bytes, write_bytes, flushes, errors;
};

static uint64_t blk_features(struct virtio_dev *d)
{
	struct virtio_blk *b = d->priv;
	uint64_t f = (1ULL << BLK_F_SEG_MAX) | (1ULL << BLK_F_BLK_SIZE) |
		     (1ULL << BLK_F_FLUSH);

	if (b->read_only)
		f |= 1ULL << BLK_F_RO;
	else
		f |= (1ULL << BLK_F_DISCARD) | (1ULL << BLK_F_WRITE_ZEROES);
	return f;
}

static size_t blk_config_size(struct virtio_dev *d)
{
	(void)d;
	return BLK_CONFIG_SIZE;
}

static void blk_config_read(struct virtio_dev *d, uint64_t off, uint8_t *data,
			    uint32_t len)
{
	struct virtio_blk *b = d->priv;

	memcpy(data, b->config + off, len);
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void blk_fill_config(struct virtio_blk *b)
{
	uint8_t *c = b->config;

	memcpy(c, &b->sectors, 8);                 /* capacity */
	put32(c + 12, BLK_SEG_MAX);                /* seg_max */
	put32(c + 20, SECTOR_SIZE);                /* blk_size */
	put32(c + 36, UINT32_MAX >> SECTOR_SHIFT); /* max_discard_sectors */
	put32(c + 40, BLK_MAX_DISCARD_SEG);        /* max_discard_seg */
	put32(c + 44, 1);                          /* discard_sector_alignment */
	put32(c + 48, UINT32_MAX >> SECTOR_SHIFT); /* max_write_zeroes_sectors */
	put32(c + 52, BLK_MAX_DISCARD_SEG);        /* max_write_zeroes_seg */
	c[56] = 1;                                 /* write_zeroes_may_unmap */
}

/* Is [sector, sector + bytes) inside the disk? Overflow-safe. */
static bool in_range(const struct virtio_blk *b, uint64_t sector,
		     uint64_t bytes)
{
	uint64_t n = bytes >> SECTOR_SHIFT;

	return sector <= b->sectors && n <= b->sectors - sector;
}

/*
 * iovecs over the data part of a chain: readable bytes after the 16-byte
 * header (OUT), or writable bytes before the final status byte (IN).
 */
static int data_iov(struct virtio_blk *b, bool write_part, uint64_t skip,
		    uint64_t len)
{
	const struct virtq_chain *c = &b->chain;
	unsigned int i = write_part ? c->nread : 0;
	unsigned int end = write_part ? c->nbufs : c->nread;
	int n = 0;

	for (; i < end && len; i++) {
		const struct virtq_buf *buf = &c->buf[i];
		uint64_t take;

		if (skip >= buf->len) {
			skip -= buf->len;
			continue;
		}
		take = buf->len - skip;
		if (take > len)
			take = len;
		b->iov[n++] = (struct iovec){ buf->host + skip, take };
		len -= take;
		skip = 0;
	}
	return n;
}

/* Read or write the whole data part at byte offset pos; 0 or -errno. */
static int do_io(struct virtio_blk *b, int niov, uint64_t pos, bool write)
{
	struct iovec *iov = b->iov;

	while (niov > 0) {
		ssize_t r = write ? pwritev(b->fd, iov, niov, (off_t)pos)
				  : preadv(b->fd, iov, niov, (off_t)pos);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			if (write)
				return -EIO;
			/* past the end of a file shorter than its capacity */
			for (int i = 0; i < niov; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return 0;
		}
		pos += (uint64_t)r;
		while (niov > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			niov--;
		}
		if (niov > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static uint8_t blk_discard(struct virtio_blk *b, uint32_t type)
{
	uint8_t seg[BLK_DISCARD_SEG_SIZE];
	uint64_t sector;
	uint32_t num, flags;
	int mode;

	/* one segment, right after the header (max_discard_seg = 1) */
	if (b->chain.read_len != 16 + BLK_DISCARD_SEG_SIZE ||
	    virtq_chain_read(&b->chain, 16, seg, sizeof(seg)) != sizeof(seg))
		return BLK_S_IOERR;
	memcpy(&sector, seg, 8);
	memcpy(&num, seg + 8, 4);
	memcpy(&flags, seg + 12, 4);
	if (!in_range(b, sector, (uint64_t)num << SECTOR_SHIFT))
		return BLK_S_IOERR;
	/* discard may drop data; write-zeroes must read back as zeros */
	mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	if (type == BLK_T_WRITE_ZEROES && !(flags & 1))
		mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	if (fallocate(b->fd, mode, (off_t)(sector << SECTOR_SHIFT),
		      (off_t)num << SECTOR_SHIFT) < 0) {
		if (errno == EOPNOTSUPP && type == BLK_T_WRITE_ZEROES &&
		    mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) &&
		    fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)(sector << SECTOR_SHIFT),
			      (off_t)num << SECTOR_SHIFT) == 0)
			return BLK_S_OK;
		return errno == EOPNOTSUPP ? BLK_S_UNSUPP : BLK_S_IOERR;
	}
	return BLK_S_OK;
}

/* Serve one request; returns the status byte, sets *written. */
static uint8_t blk_request(struct virtio_blk *b, uint32_t type,
			   uint64_t sector, uint32_t *written)
{
	const struct virtq_chain *c = &b->chain;
	uint64_t data_len;
	int niov, ret;

	*written = 0;
	switch (type) {
	case BLK_T_IN:
		data_len = c->write_len - 1;
		if (data_len % SECTOR_SIZE || !in_range(b, sector, data_len))
			return BLK_S_IOERR;
		niov = data_iov(b, true, 0, data_len);
		ret = do_io(b, niov, sector << SECTOR_SHIFT, false);
		if (ret)
			return BLK_S_IOERR;
		b->reads++;
		b->read_bytes += data_len;
		*written = (uint32_t)data_len;
		return BLK_S_OK;
	case BLK_T_OUT:
		data_len = c->read_len - 16;
		if (b->read_only || data_len % SECTOR_SIZE ||
		    !in_range(b, sector, data_len))
			return BLK_S_IOERR;
		niov = data_iov(b, false, 16, data_len);
		ret = do_io(b, niov, sector << SECTOR_SHIFT, true);
		if (ret)
			return BLK_S_IOERR;
		b->writes++;
		b->write_bytes += data_len;
		return BLK_S_OK;
	case BLK_T_FLUSH:
		b->flushes++;
		return fdatasync(b->fd) < 0 ? BLK_S_IOERR : BLK_S_OK;
	case BLK_T_GET_ID: {
		size_t n = strnlen(b->id, VMM_DISK_ID_MAX);
		uint8_t id[VMM_DISK_ID_MAX] = { 0 };

		memcpy(id, b->id, n);
		/* 20 bytes, NUL-padded; a shorter buffer gets what fits */
		data_len = c->write_len - 1;
		if (data_len > VMM_DISK_ID_MAX)
			data_len = VMM_DISK_ID_MAX;
		*written = (uint32_t)virtq_chain_write(c, 0, id, data_len);
		return BLK_S_OK;
	}
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES:
		if (b->read_only)
			return BLK_S_IOERR;
		return blk_discard(b, type);
	default:
		return BLK_S_UNSUPP;
	}
}

static void blk_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	struct virtio_blk *b = d->priv;
	struct virtq *q = &d->vq[qi];
	bool pushed = false;
	int r;

	pthread_mutex_lock(&d->lock);
	while ((r = virtq_pop(q, &d->vm->mem, &b->chain)) > 0) {
		uint8_t hdr[16], status;
		uint32_t type, written;
		uint64_t sector;

		/* header readable, status byte writable: else a broken driver */
		if (b->chain.read_len < 16 || b->chain.write_len < 1) {
			r = -EIO;
			break;
		}
		virtq_chain_read(&b->chain, 0, hdr, 16);
		memcpy(&type, hdr, 4);
		memcpy(&sector, hdr + 8, 8);
		status = blk_request(b, type, sector, &written);
		if (status != BLK_S_OK)
			b->errors++;
		virtq_chain_write(&b->chain, b->chain.write_len - 1, &status, 1);
		virtq_push(q, b->chain.head, written + 1);
		pushed = true;
	}
	if (r < 0)
		virtio_set_broken(d, "malformed request on the queue");
	if (pushed)
		virtio_notify_used(d, qi);
	pthread_mutex_unlock(&d->lock);
}

static void blk_destroy(void *priv)
{
	struct virtio_blk *b = priv;

	if (b->fd >= 0)
		close(b->fd);
	free(b);
}

static const struct virtio_dev_ops virtio_blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = BLK_QUEUE_SIZE,
	.features = blk_features,
	.config_size = blk_config_size,
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
	.destroy = blk_destroy,
};

static int open_image(struct virtio_blk *b, const struct vm_disk *cfg)
{
	struct stat st;

	b->fd = open(cfg->path, (cfg->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		error("disk %s: %s", cfg->path, strerror(errno));
		return -errno;
	}
	if (fstat(b->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		error("disk %s: not a regular file or block device", cfg->path);
		return -EINVAL;
	}
	/* one writer, or any number of readers */
	if (flock(b->fd, (cfg->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		error("disk %s: %s", cfg->path, errno == EWOULDBLOCK ?
		      "in use by another VM (locked)" : strerror(errno));
		return -EBUSY;
	}
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(b->fd, 0, SEEK_END);

		st.st_size = end < 0 ? 0 : end;
	}
	if (st.st_size % SECTOR_SIZE)
		warn("disk %s: size is not a multiple of 512; the last %lld "
		     "bytes are not visible to the guest", cfg->path,
		     (long long)(st.st_size % SECTOR_SIZE));
	b->sectors = (uint64_t)st.st_size >> SECTOR_SHIFT;
	return 0;
}

int virtio_blk_create(struct vm *vm, struct bus *bus, uint64_t base,
		      unsigned int irq, const struct vm_disk *cfg)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	char group[32];
	int ret;

	if (!b)
		return -ENOMEM;
	b->fd = -1;
	b->read_only = cfg->read_only;
	memcpy(b->id, cfg->id, sizeof(b->id));
	ret = open_image(b, cfg);
	if (ret) {
		blk_destroy(b);
		return ret;
	}
	blk_fill_config(b);
	ret = virtio_mmio_create(vm, bus, base, irq, &virtio_blk_ops, b, &b->dev);
	if (ret)
		return ret;
	snprintf(group, sizeof(group), "blk:%s", cfg->id);
	vm_add_counter(vm, group, "reads", &b->reads);
	vm_add_counter(vm, group, "writes", &b->writes);
	vm_add_counter(vm, group, "read_bytes", &b->read_bytes);
	vm_add_counter(vm, group, "write_bytes", &b->write_bytes);
	vm_add_counter(vm, group, "flushes", &b->flushes);
	vm_add_counter(vm, group, "errors", &b->errors);
	return 0;
}
