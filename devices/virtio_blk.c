// SPDX-License-Identifier: MIT
/*
 * virtio-blk (virtio 1.x, 5.2) backed by a raw image file, with vectored
 * I/O straight between the file and the guest's buffers. Two engines keep
 * disk I/O off the event loop, so a slow disk never holds up the control
 * API, the console, signals or the other devices:
 *
 *  - thread (the default): each disk has its own I/O thread, woken by the
 *    queue's kick eventfd, doing preadv/pwritev;
 *  - uring: the event loop takes the requests and submits them to an
 *    io_uring; completions come back through an eventfd on the loop.
 *
 * Both take a batch of requests under the device lock, join contiguous
 * ones into one I/O, and answer the batch with one used-index update. The
 * image is opened once and locked (flock: exclusive for read-write, shared
 * for read-only) so two VMs cannot write one image. Durability: FLUSH
 * reaches the disk (fdatasync) before it completes; a driver that did not
 * negotiate FLUSH expects write-through, so then every write is a
 * RWF_DSYNC write.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../vmm/config.h"
#include "../vmm/log.h"
#include "../vmm/util.h"
#include "devices.h"
#include "ratelimit.h"
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

#define BLK_BATCH   64   /* requests taken from the ring per round */
#define BLK_IOV_MAX 1024 /* IOV_MAX: iovecs of one batch */

/* One request of a batch, parsed under the device lock. */
struct blk_req {
	uint16_t head;
	uint32_t type;
	uint64_t sector;
	uint64_t len;              /* data bytes (IN/OUT) */
	unsigned int iov, niov;    /* its slice of virtio_blk.iov */
	uint8_t *status;           /* the status byte, in guest memory */
	uint32_t written;          /* bytes written into guest buffers */
	uint8_t st;                /* BLK_S_*, once known */
	bool done;                 /* no I/O left to do */
	uint64_t discard_sector;   /* DISCARD/WRITE_ZEROES segment */
	uint32_t discard_num, discard_flags;
	/*
	 * uring: a run of contiguous requests starting here, submitted in
	 * pieces of at most BLK_IO_CHUNK: where the next piece starts
	 * (iovec at, byte at_off in it), what is done, what is in flight.
	 */
	unsigned int run;          /* requests in the run (0: not a run head) */
	uint64_t run_bytes, run_done;
	unsigned int at, iov_end;
	uint64_t at_off, piece;
};

struct virtio_blk {
	struct virtio_dev *dev;
	const struct dev_host *host;
	int fd;
	bool read_only;
	uint64_t sectors;
	char id[VMM_DISK_ID_MAX + 1];
	char path[64];             /* for messages: the file's base name */
	enum disk_io engine;
	pthread_t worker;          /* engine thread */
	bool worker_started;
	sem_t worker_ready;        /* posted once it is confined (or not) */
	int worker_ret;            /* its confinement: 0 or -errno */
	int stop_fd;               /* eventfd: the worker is to exit */
	bool stopping;             /* accessed atomically */
	struct io_uring ring;      /* engine uring */
	bool ring_ok;
	int cq_fd;                 /* eventfd: completions on the ring */
	unsigned int inflight;     /* SQEs submitted, not yet completed */
	unsigned int batch_n;      /* requests in the batch in flight */
	uint32_t batch_gen;        /* reset_count when it was taken */
	bool batch_more;           /* more was available when it was taken */
	/*
	 * The I/O engine's only (worker thread, or event loop): a batch of
	 * requests and their iovecs. The iovecs of consecutive requests are
	 * consecutive, so contiguous requests become one preadv/pwritev.
	 */
	struct virtq_chain chain;
	struct blk_req req[BLK_BATCH];
	struct iovec iov[BLK_IOV_MAX];
	uint8_t config[BLK_CONFIG_SIZE];
	/* counters */
	uint64_t reads, writes, read_bytes, write_bytes, flushes, errors;
	bool write_back;           /* FLUSH negotiated (worker's copy) */
	bool unsafe;               /* cache_type Unsafe: flushes do nothing */
	int next_fd;               /* PATCH: the new file, until swapped in */
	uint64_t next_sectors;
	struct rate_limiter rl;    /* the drive's rate_limiter: d->lock */
	uint64_t throttle_ns;      /* the limiter said wait this long */
	int throttle_fd;           /* uring: a timerfd on the loop for that */
	uint64_t throttled;        /* requests held back by the limiter */
	/* snapshots (blk_quiesce): d->lock */
	bool frozen;               /* take no requests off the ring */
	bool busy;                 /* a batch is taken and not yet answered */
	pthread_cond_t idle;       /* busy went false */
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
 * Append iovecs over the data part of the chain in b->chain: readable
 * bytes after the 16-byte header (OUT), or writable bytes before the
 * final status byte (IN). Returns how many, or -1 if they do not fit.
 */
static int data_iov(struct virtio_blk *b, unsigned int at, bool write_part,
		    uint64_t skip, uint64_t len)
{
	const struct virtq_chain *c = &b->chain;
	unsigned int i = write_part ? c->nread : 0;
	unsigned int end = write_part ? c->nbufs : c->nread;
	unsigned int n = at;

	for (; i < end && len; i++) {
		const struct virtq_buf *buf = &c->buf[i];
		uint64_t take;

		if (skip >= buf->len) {
			skip -= buf->len;
			continue;
		}
		if (n == BLK_IOV_MAX)
			return -1;
		take = buf->len - skip;
		if (take > len)
			take = len;
		b->iov[n++] = (struct iovec){ buf->host + skip, take };
		len -= take;
		skip = 0;
	}
	return (int)(n - at);
}

/*
 * Read or write a run of iovecs at byte offset pos; 0 or -errno. At most
 * BLK_IO_CHUNK bytes per system call, so that a request a hostile driver
 * made of a thousand 32 MiB buffers still lets the VM stop in time
 * (-ECANCELED once it is stopping).
 */
#define BLK_IO_CHUNK (2u << 20)

static int do_io(struct virtio_blk *b, struct iovec *iov, int niov,
		 uint64_t pos, bool write)
{
	/* no FLUSH negotiated: the driver expects write-through */
	int wflags = b->write_back ? 0 : RWF_DSYNC;

	while (niov > 0) {
		int chunk = 0;
		size_t bytes = 0, cut = 0;
		ssize_t r;

		if (__atomic_load_n(&b->stopping, __ATOMIC_RELAXED))
			return -ECANCELED;
		/* whole iovecs up to the chunk size; at least one, maybe cut */
		while (chunk < niov && chunk < BLK_IOV_MAX &&
		       (chunk == 0 || bytes + iov[chunk].iov_len <= BLK_IO_CHUNK))
			bytes += iov[chunk++].iov_len;
		if (bytes > BLK_IO_CHUNK && chunk == 1) {
			cut = iov[0].iov_len - BLK_IO_CHUNK;
			iov[0].iov_len = BLK_IO_CHUNK;
		}
		r = write ? pwritev2(b->fd, iov, chunk, (off_t)pos, wflags)
			  : preadv(b->fd, iov, chunk, (off_t)pos);
		iov[0].iov_len += cut;

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

static uint8_t blk_discard(struct virtio_blk *b, const struct blk_req *r)
{
	off_t off = (off_t)(r->discard_sector << SECTOR_SHIFT);
	off_t len = (off_t)r->discard_num << SECTOR_SHIFT;
	int punch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

	/* discard may drop data; write-zeroes must read back as zeros */
	if (r->type == BLK_T_WRITE_ZEROES && !(r->discard_flags & 1) &&
	    fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off,
		      len) == 0)
		return BLK_S_OK;
	if (fallocate(b->fd, punch, off, len) == 0)
		return BLK_S_OK;
	return errno == EOPNOTSUPP ? BLK_S_UNSUPP : BLK_S_IOERR;
}

/*
 * Turn the chain in b->chain into request r, its iovecs at b->iov[at].
 * Requests that need no I/O are answered here (done). Returns 0, -ENOSPC
 * when its iovecs do not fit in this batch, -EIO for a broken chain.
 */
static int blk_parse(struct virtio_blk *b, struct blk_req *r, unsigned int at)
{
	const struct virtq_chain *c = &b->chain;
	const struct virtq_buf *last = &c->buf[c->nbufs - 1];
	uint8_t hdr[16];
	int n;

	/* header readable, status byte writable: else a broken driver */
	if (c->read_len < 16 || c->write_len < 1)
		return -EIO;
	virtq_chain_read(c, 0, hdr, 16);
	memset(r, 0, sizeof(*r));
	r->head = c->head;
	memcpy(&r->type, hdr, 4);
	memcpy(&r->sector, hdr + 8, 8);
	r->status = last->host + last->len - 1;
	r->iov = at;
	r->done = true;
	r->st = BLK_S_IOERR;

	switch (r->type) {
	case BLK_T_IN:
	case BLK_T_OUT: {
		bool in = r->type == BLK_T_IN;

		r->len = in ? c->write_len - 1 : c->read_len - 16;
		if (r->len % SECTOR_SIZE || !in_range(b, r->sector, r->len) ||
		    (!in && b->read_only))
			return 0;
		if (!r->len) {
			r->st = BLK_S_OK; /* no data: nothing to do */
			return 0;
		}
		n = data_iov(b, at, in, in ? 0 : 16, r->len);
		if (n < 0)
			return -ENOSPC;
		r->niov = (unsigned int)n;
		r->done = false;
		return 0;
	}
	case BLK_T_FLUSH:
		r->done = false;
		return 0;
	case BLK_T_GET_ID: {
		uint8_t id[VMM_DISK_ID_MAX] = { 0 };
		uint64_t len = c->write_len - 1;

		/* 20 bytes, NUL-padded; a shorter buffer gets what fits */
		memcpy(id, b->id, strnlen(b->id, VMM_DISK_ID_MAX));
		if (len > VMM_DISK_ID_MAX)
			len = VMM_DISK_ID_MAX;
		r->written = (uint32_t)virtq_chain_write(c, 0, id, len);
		r->st = BLK_S_OK;
		return 0;
	}
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES: {
		uint8_t seg[BLK_DISCARD_SEG_SIZE];

		/* one segment, right after the header (max_discard_seg = 1) */
		if (b->read_only || c->read_len != 16 + BLK_DISCARD_SEG_SIZE)
			return 0;
		virtq_chain_read(c, 16, seg, sizeof(seg));
		memcpy(&r->discard_sector, seg, 8);
		memcpy(&r->discard_num, seg + 8, 4);
		memcpy(&r->discard_flags, seg + 12, 4);
		if (!in_range(b, r->discard_sector,
			      (uint64_t)r->discard_num << SECTOR_SHIFT))
			return 0;
		r->done = false;
		return 0;
	}
	default:
		r->st = BLK_S_UNSUPP;
		return 0;
	}
}

/*
 * Do the batch's I/O, in order, without the device lock: runs of
 * sector-contiguous reads (or writes) become one preadv (or pwritev).
 */
static void blk_do_batch(struct virtio_blk *b, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct blk_req *r = &b->req[i];
		unsigned int j = i;
		uint64_t bytes;
		bool write;

		if (r->done)
			continue;
		switch (r->type) {
		case BLK_T_FLUSH:
			b->flushes++;
			r->st = !b->unsafe && fdatasync(b->fd) < 0 ? BLK_S_IOERR
								    : BLK_S_OK;
			continue;
		case BLK_T_DISCARD:
		case BLK_T_WRITE_ZEROES:
			r->st = blk_discard(b, r);
			continue;
		default:
			break;
		}
		write = r->type == BLK_T_OUT;
		bytes = r->len;
		while (j + 1 < n && !b->req[j + 1].done &&
		       b->req[j + 1].type == r->type &&
		       b->req[j + 1].sector == b->req[j].sector +
					       (b->req[j].len >> SECTOR_SHIFT)) {
			j++;
			bytes += b->req[j].len;
		}
		{
			unsigned int niov = b->req[j].iov + b->req[j].niov - r->iov;
			int ret = do_io(b, &b->iov[r->iov], (int)niov,
					r->sector << SECTOR_SHIFT, write);

			for (unsigned int k = i; k <= j; k++) {
				b->req[k].st = ret ? BLK_S_IOERR : BLK_S_OK;
				if (!ret && !write)
					b->req[k].written = (uint32_t)b->req[k].len;
			}
		}
		if (write) {
			b->writes += j - i + 1;
			b->write_bytes += bytes;
		} else {
			b->reads += j - i + 1;
			b->read_bytes += bytes;
		}
		i = j;
	}
}

/*
 * Per wake-up: at most BLK_ROUNDS batches, and a batch stops taking
 * requests once it holds BLK_BATCH_BYTES; then the queue kicks itself, so
 * a stop request (or the loop's other work) comes between rounds.
 */
#define BLK_ROUNDS      4
#define BLK_BATCH_BYTES (32u << 20)

/*
 * Take a batch off the ring into b->req, parsed. Returns how many; *more
 * when the ring may hold more. Takes the device lock.
 */
static unsigned int blk_take(struct virtio_blk *b, struct virtq *q,
			     bool *more)
{
	struct virtio_dev *d = b->dev;
	unsigned int n = 0, iov = 0;
	uint64_t bytes = 0;
	int r = 0;

	pthread_mutex_lock(&d->lock);
	if (b->frozen) {
		/* a snapshot is being taken: the ring stays as it is */
		pthread_mutex_unlock(&d->lock);
		*more = false;
		return 0;
	}
	b->write_back = virtio_has_feature(d, BLK_F_FLUSH) || b->unsafe;
	b->throttle_ns = 0;
	while (n < BLK_BATCH && bytes < BLK_BATCH_BYTES &&
	       (r = virtq_pop(q, d->host->mem, &b->chain)) > 0) {
		r = blk_parse(b, &b->req[n], iov);
		if (r == -ENOSPC) {
			virtq_unpop(q, 1); /* first in the next batch */
			break;
		}
		if (r < 0)
			break;
		/* over the rate limit: it waits on the ring for the timer */
		if (rl_limited(&b->rl) &&
		    !rl_consume(&b->rl, b->req[n].len, monotonic_ns(),
				&b->throttle_ns)) {
			virtq_unpop(q, 1);
			b->throttled++;
			break;
		}
		iov += b->req[n].niov;
		bytes += b->req[n].len;
		n++;
	}
	if (r < 0 && r != -ENOSPC)
		virtio_set_broken(d, "malformed request on the queue");
	*more = (n == BLK_BATCH || r == -ENOSPC || bytes >= BLK_BATCH_BYTES) &&
		!(d->status & VIRTIO_STATUS_NEEDS_RESET);
	b->batch_gen = d->reset_count;
	b->busy = n > 0;
	pthread_mutex_unlock(&d->lock);
	return n;
}

/*
 * Answer the batch's n requests with one used-index update, unless the
 * driver reset the device meanwhile (then false). Takes the device lock.
 */
static bool blk_finish(struct virtio_blk *b, struct virtq *q, unsigned int qi,
		       unsigned int n)
{
	struct virtio_dev *d = b->dev;
	bool same;

	pthread_mutex_lock(&d->lock);
	same = d->reset_count == b->batch_gen;
	if (same) {
		for (unsigned int i = 0; i < n; i++) {
			struct blk_req *rq = &b->req[i];

			if (rq->st != BLK_S_OK)
				b->errors++;
			*rq->status = rq->st;
			virtq_fill(q, i, rq->head, rq->written + 1);
		}
		virtq_flush(q, n);
		virtio_notify_used(d, qi);
	}
	b->busy = false;
	pthread_cond_broadcast(&b->idle);
	pthread_mutex_unlock(&d->lock);
	return same;
}

/* The thread engine: take, do, answer, a few batches per wake-up. */
static void blk_serve(struct virtio_dev *d, unsigned int qi)
{
	struct virtio_blk *b = d->priv;
	struct virtq *q = &d->vq[qi];
	bool more = true;

	for (unsigned int round = 0; more; round++) {
		unsigned int n = blk_take(b, q, &more);

		if (more && round + 1 == BLK_ROUNDS) {
			virtio_kick_self(d, qi); /* the rest on the next wake-up */
			more = false;
		}
		if (!n)
			break;
		/* the disk, unlocked: the vCPUs' register accesses go on */
		blk_do_batch(b, n);
		if (!blk_finish(b, q, qi, n))
			break; /* the driver reset the device meanwhile */
	}
}

/* --- the uring engine --------------------------------------------------------- */

/*
 * Submit the next piece of run i (b->req[i .. i + run)), or a single
 * flush or discard: whole iovecs up to BLK_IO_CHUNK bytes, or part of one
 * larger iovec, so that no single I/O holds up teardown for long.
 * user_data is the request index.
 */
static void uring_queue_run(struct virtio_blk *b, unsigned int i)
{
	struct blk_req *r = &b->req[i];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
	uint64_t pos;

	if (!sqe) {
		/* the ring holds BLK_BATCH entries, one per run: cannot happen */
		r->st = BLK_S_IOERR;
		return;
	}
	switch (r->type) {
	case BLK_T_FLUSH:
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		break;
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES: {
		int mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

		if (r->type == BLK_T_WRITE_ZEROES && !(r->discard_flags & 1))
			mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		io_uring_prep_fallocate(sqe, b->fd, mode,
					(off_t)(r->discard_sector << SECTOR_SHIFT),
					(off_t)r->discard_num << SECTOR_SHIFT);
		break;
	}
	default: {
		struct iovec *v = &b->iov[r->at];
		uint64_t left = v->iov_len - r->at_off;
		bool out = r->type == BLK_T_OUT;

		pos = (r->sector << SECTOR_SHIFT) + r->run_done;
		if (r->at_off || left >= BLK_IO_CHUNK) {
			/* (the rest of) one buffer, cut to the chunk size */
			uint8_t *p = (uint8_t *)v->iov_base + r->at_off;

			r->piece = left < BLK_IO_CHUNK ? left : BLK_IO_CHUNK;
			if (out)
				io_uring_prep_write(sqe, b->fd, p, (unsigned int)r->piece, pos);
			else
				io_uring_prep_read(sqe, b->fd, p, (unsigned int)r->piece, pos);
		} else {
			unsigned int k = 0;

			r->piece = 0;
			while (r->at + k < r->iov_end &&
			       (k == 0 || r->piece + v[k].iov_len <= BLK_IO_CHUNK))
				r->piece += v[k++].iov_len;
			if (out)
				io_uring_prep_writev(sqe, b->fd, v, k, pos);
			else
				io_uring_prep_readv(sqe, b->fd, v, k, pos);
		}
		if (out && !b->write_back)
			sqe->rw_flags = RWF_DSYNC;
		break;
	}
	}
	io_uring_sqe_set_data64(sqe, i);
	b->inflight++;
}

/* Queue the batch's I/O: runs of contiguous reads or writes, one SQE each. */
static void uring_queue_batch(struct virtio_blk *b, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct blk_req *r = &b->req[i];
		unsigned int j = i;

		r->run = 0;
		if (r->done)
			continue;
		if (r->type == BLK_T_FLUSH) {
			b->flushes++;
			if (b->unsafe) {
				r->st = BLK_S_OK; /* asked for: nothing to wait for */
				continue;
			}
		}
		r->run_bytes = r->len;
		r->run_done = 0;
		r->at = r->iov;
		r->at_off = 0;
		while ((r->type == BLK_T_IN || r->type == BLK_T_OUT) &&
		       j + 1 < n && !b->req[j + 1].done &&
		       b->req[j + 1].type == r->type &&
		       b->req[j + 1].sector == b->req[j].sector +
					       (b->req[j].len >> SECTOR_SHIFT)) {
			j++;
			r->run_bytes += b->req[j].len;
		}
		r->run = j - i + 1;
		r->iov_end = b->req[j].iov + b->req[j].niov;
		uring_queue_run(b, i);
		i = j;
	}
}

/* A completion for run i: its status, or its next piece submitted. */
static void uring_complete(struct virtio_blk *b, unsigned int i, int res)
{
	struct blk_req *r = &b->req[i];
	bool rw = r->type == BLK_T_IN || r->type == BLK_T_OUT;
	uint8_t st = BLK_S_OK;

	if (res < 0) {
		st = r->type == BLK_T_DISCARD && res == -EOPNOTSUPP ?
		     BLK_S_UNSUPP : BLK_S_IOERR;
	} else if (rw && res == 0 && r->run_done < r->run_bytes) {
		if (r->type == BLK_T_OUT) {
			st = BLK_S_IOERR;
		} else {
			/* past the end of a file shorter than its capacity */
			memset((uint8_t *)b->iov[r->at].iov_base + r->at_off, 0,
			       b->iov[r->at].iov_len - r->at_off);
			for (unsigned int k = r->at + 1; k < r->iov_end; k++)
				memset(b->iov[k].iov_base, 0, b->iov[k].iov_len);
		}
	} else if (rw) {
		uint64_t n = (uint64_t)res;

		/* step over what was done, whole iovecs and part of one */
		r->run_done += n;
		while (n && r->at < r->iov_end) {
			uint64_t left = b->iov[r->at].iov_len - r->at_off;

			if (n < left) {
				r->at_off += n;
				break;
			}
			n -= left;
			r->at++;
			r->at_off = 0;
		}
		if (r->run_done < r->run_bytes) {
			if (!__atomic_load_n(&b->stopping, __ATOMIC_RELAXED)) {
				uring_queue_run(b, i);
				return;
			}
			st = BLK_S_IOERR;
		}
	}
	for (unsigned int k = i; k < i + (r->run ? r->run : 1); k++) {
		b->req[k].st = st;
		if (st == BLK_S_OK && b->req[k].type == BLK_T_IN)
			b->req[k].written = (uint32_t)b->req[k].len;
		if (b->req[k].type == BLK_T_IN) {
			b->reads++;
			b->read_bytes += b->req[k].len;
		} else if (b->req[k].type == BLK_T_OUT) {
			b->writes++;
			b->write_bytes += b->req[k].len;
		}
	}
}

static void uring_next_batch(struct virtio_blk *b);
static void blk_take_new_file(struct virtio_blk *b);

/* Completions (event loop): when the batch is done, answer it, go on. */
static void on_uring_cq(void *opaque, uint32_t events)
{
	struct virtio_blk *b = opaque;
	struct io_uring_cqe *cqe;
	uint64_t v;

	(void)events;
	if (read(b->cq_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	while (io_uring_peek_cqe(&b->ring, &cqe) == 0) {
		unsigned int i = (unsigned int)io_uring_cqe_get_data64(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&b->ring, cqe);
		b->inflight--;
		if (i < b->batch_n)
			uring_complete(b, i, res);
	}
	if (b->inflight) {
		io_uring_submit(&b->ring); /* the rest of short ones */
		return;
	}
	if (!b->batch_n)
		return;
	blk_take_new_file(b);
	if (blk_finish(b, &b->dev->vq[0], 0, b->batch_n) && b->batch_more) {
		b->batch_n = 0;
		uring_next_batch(b);
	} else {
		b->batch_n = 0;
	}
}

/* Take the next batch and submit it; requests needing no I/O end here. */
static void uring_next_batch(struct virtio_blk *b)
{
	struct virtq *q = &b->dev->vq[0];

	while (!b->batch_n) {
		unsigned int n = blk_take(b, q, &b->batch_more);

		if (b->throttle_ns && b->throttle_fd >= 0) {
			struct itimerspec t = {
				.it_value = { (time_t)(b->throttle_ns / 1000000000),
					      (long)(b->throttle_ns % 1000000000) },
			};

			/* the limiter's wait: on_uring_throttle() goes on */
			timerfd_settime(b->throttle_fd, 0, &t, NULL);
			b->batch_more = false;
		}
		if (!n)
			return;
		b->batch_n = n;
		uring_queue_batch(b, n);
		if (b->inflight) {
			io_uring_submit(&b->ring);
			return;
		}
		/* nothing to wait for: answer now */
		b->batch_n = 0;
		if (!blk_finish(b, q, 0, n) || !b->batch_more)
			return;
	}
}

/* A kick (event loop): unless a batch is in flight, start one. */
static void blk_uring_kick(struct virtio_dev *d, unsigned int qi)
{
	struct virtio_blk *b = d->priv;

	(void)qi;
	if (!b->batch_n)
		uring_next_batch(b); /* else its completion looks again */
}

/* The limiter's wait is over (event loop): take the next batch. */
static void on_uring_throttle(void *opaque, uint32_t events)
{
	struct virtio_blk *b = opaque;
	uint64_t v;

	(void)events;
	if (read(b->throttle_fd, &v, sizeof(v)) < 0)
		return;
	if (!b->batch_n)
		uring_next_batch(b);
}

static int blk_start_uring(struct virtio_blk *b, const struct dev_host *h)
{
	int ret = io_uring_queue_init(BLK_BATCH, &b->ring, 0);

	if (ret)
		return ret;
	b->throttle_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->throttle_fd < 0 ||
	    (ret = evloop_add(h->loop, b->throttle_fd, EPOLLIN, on_uring_throttle, b)))
		return b->throttle_fd < 0 ? -errno : ret;
	b->ring_ok = true;
	b->cq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->cq_fd < 0)
		return -errno;
	ret = io_uring_register_eventfd(&b->ring, b->cq_fd);
	if (ret)
		return ret;
	return evloop_add(h->loop, b->cq_fd, EPOLLIN, on_uring_cq, b);
}

/* The disk's I/O thread: kicks in, requests served, until stopped. */
static void *blk_worker(void *arg)
{
	struct virtio_blk *b = arg;
	struct virtio_dev *d = b->dev;
	struct pollfd p[2] = {
		{ .fd = d->kick_fd[0], .events = POLLIN },
		{ .fd = b->stop_fd, .events = POLLIN },
	};
	char name[16];

	snprintf(name, sizeof(name), "blk:%.11s", b->id);
	pthread_setname_np(pthread_self(), name);
	/* confined before the first request the guest can make */
	b->worker_ret = host_confine_thread(d->host, DEV_THREAD_DISK, name);
	sem_post(&b->worker_ready);
	if (b->worker_ret)
		return NULL;
	while (!__atomic_load_n(&b->stopping, __ATOMIC_ACQUIRE)) {
		uint64_t v;
		bool live;

		int wait = b->throttle_ns ?
			   (int)((b->throttle_ns + 999999) / 1000000) : -1;
		int n = poll(p, 2, wait);

		if (n < 0 || (p[1].revents & POLLIN))
			continue; /* EINTR, or stopping: the loop test says */
		/* a kick, or the limiter's wait is over */
		if (n > 0 && read(d->kick_fd[0], &v, sizeof(v)) < 0)
			continue;
		blk_take_new_file(b);
		pthread_mutex_lock(&d->lock);
		live = virtio_live(d) && d->vq[0].ready;
		pthread_mutex_unlock(&d->lock);
		if (live)
			blk_serve(d, 0);
	}
	return NULL;
}

static void blk_destroy(void *priv)
{
	struct virtio_blk *b = priv;
	uint64_t one = 1;

	__atomic_store_n(&b->stopping, true, __ATOMIC_RELEASE);
	if (b->worker_started) {
		__atomic_store_n(&b->stopping, true, __ATOMIC_RELEASE);
		if (write(b->stop_fd, &one, sizeof(one)) < 0)
			debug("disk %s: cannot wake its thread: %s", b->path,
			      strerror(errno));
		pthread_join(b->worker, NULL);
	}
	if (b->cq_fd >= 0) {
		evloop_del(b->host->loop, b->cq_fd);
		close(b->cq_fd);
	}
	if (b->throttle_fd >= 0) {
		evloop_del(b->host->loop, b->throttle_fd);
		close(b->throttle_fd);
	}
	/* the kernel finishes or cancels what is still in flight */
	if (b->ring_ok)
		io_uring_queue_exit(&b->ring);
	if (b->stop_fd >= 0)
		close(b->stop_fd);
	if (b->next_fd >= 0)
		close(b->next_fd);
	if (b->fd >= 0)
		close(b->fd);
	pthread_cond_destroy(&b->idle);
	free(b);
}

static int blk_start_worker(struct virtio_blk *b)
{
	sigset_t all, old;
	int ret;

	b->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->stop_fd < 0 || sem_init(&b->worker_ready, 0, 0) < 0)
		return -errno;
	/* signals are the main thread's business */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&b->worker, NULL, blk_worker, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		sem_destroy(&b->worker_ready);
		return -ret;
	}
	b->worker_started = true;
	/* a thread that could not be confined serves nothing: say so now */
	while (sem_wait(&b->worker_ready) < 0 && errno == EINTR)
		;
	sem_destroy(&b->worker_ready);
	return b->worker_ret;
}

/*
 * A snapshot: no new batch, and the one under way answered, so that the
 * ring and the queue's indices agree. The thread engine's worker answers
 * its batch itself; the uring engine's completions come to the event
 * loop, which is this thread: take them here.
 */
static void blk_quiesce(struct virtio_dev *d, bool on)
{
	struct virtio_blk *b = d->priv;

	pthread_mutex_lock(&d->lock);
	b->frozen = on;
	while (on && b->busy) {
		if (b->engine == DISK_IO_URING) {
			struct io_uring_cqe *cqe;
			int ret;

			pthread_mutex_unlock(&d->lock);
			ret = io_uring_wait_cqe(&b->ring, &cqe);
			if (!ret)
				on_uring_cq(b, 0);
			pthread_mutex_lock(&d->lock);
			if (ret && ret != -EINTR) {
				warn("disk %s: waiting for its I/O: %s", b->path,
				     strerror(-ret));
				break;
			}
		} else {
			pthread_cond_wait(&b->idle, &d->lock);
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (!on)
		virtio_kick(d, 0); /* what came while frozen */
}

/* the thread engine serves its queue on the disk's own thread */
static const struct virtio_dev_ops virtio_blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = BLK_QUEUE_SIZE,
	.own_thread_queues = 1u << 0,
	.features = blk_features,
	.config_size = blk_config_size,
	.config_read = blk_config_read,
	.destroy = blk_destroy,
	.quiesce = blk_quiesce,
};

/* the uring engine submits from the event loop */
static const struct virtio_dev_ops virtio_blk_uring_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = BLK_QUEUE_SIZE,
	.features = blk_features,
	.config_size = blk_config_size,
	.config_read = blk_config_read,
	.queue_notify = blk_uring_kick,
	.destroy = blk_destroy,
	.quiesce = blk_quiesce,
};

/*
 * Open and lock a disk image: a regular file or a block device, exclusive
 * for read-write, shared for read-only. *fd and *sectors, or -errno with
 * one line in err.
 */
static int open_disk(const struct vm_disk *cfg, int *fdp, uint64_t *sectors,
		     char *err, size_t errlen)
{
	struct stat st;
	int fd, ret;

	/* O_NONBLOCK: a FIFO given as a disk must not block vmm in open() */
	fd = open(cfg->path, (cfg->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC |
		  O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "disk %s: %s", cfg->path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		snprintf(err, errlen, "disk %s: not a regular file or block device",
			 cfg->path);
		close(fd);
		return -EINVAL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	/* one writer, or any number of readers */
	if (flock(fd, (cfg->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		snprintf(err, errlen, "disk %s: %s", cfg->path,
			 errno == EWOULDBLOCK ? "in use by another VM (locked)" :
			 strerror(errno));
		close(fd);
		return -EBUSY;
	}
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);

		st.st_size = end < 0 ? 0 : end;
	}
	if (st.st_size % SECTOR_SIZE)
		warn("disk %s: size is not a multiple of 512; the last %lld "
		     "bytes are not visible to the guest", cfg->path,
		     (long long)(st.st_size % SECTOR_SIZE));
	*fdp = fd;
	*sectors = (uint64_t)st.st_size >> SECTOR_SHIFT;
	return 0;
}

/*
 * Take the new backing file, if one waits (the engine's thread, between
 * batches): the old one closes, the driver hears of the new capacity.
 */
static void blk_take_new_file(struct virtio_blk *b)
{
	struct virtio_dev *d = b->dev;
	int old = -1;

	pthread_mutex_lock(&d->lock);
	if (b->next_fd >= 0) {
		old = b->fd;
		b->fd = b->next_fd;
		b->next_fd = -1;
		b->sectors = b->next_sectors;
		blk_fill_config(b);
		virtio_notify_config(d);
	}
	pthread_mutex_unlock(&d->lock);
	if (old >= 0)
		close(old);
}

void virtio_blk_set_rate(struct virtio_dev *d, const struct vm_rate_limit *r)
{
	struct virtio_blk *b = d->priv;

	pthread_mutex_lock(&d->lock);
	rl_init(&b->rl, r, monotonic_ns());
	pthread_mutex_unlock(&d->lock);
	/* whatever waited on the old limit goes by the new one */
	virtio_kick(d, 0);
}

int virtio_blk_update(struct virtio_dev *d, const struct vm_disk *cfg,
		      char *err, size_t errlen)
{
	struct virtio_blk *b = d->priv;
	uint64_t sectors;
	int fd, ret, stale = -1;

	if (cfg->read_only != b->read_only)
		return seterr(err, errlen, -EINVAL, "disk %s: read-only cannot "
			      "change on a running VM", cfg->path);
	ret = open_disk(cfg, &fd, &sectors, err, errlen);
	if (ret)
		return ret;
	pthread_mutex_lock(&d->lock);
	stale = b->next_fd;
	b->next_fd = fd;
	b->next_sectors = sectors;
	pthread_mutex_unlock(&d->lock);
	if (stale >= 0)
		close(stale);
	/* the engine swaps it in between batches: wake it */
	if (b->engine == DISK_IO_URING) {
		if (!b->batch_n)
			blk_take_new_file(b);
	} else {
		virtio_kick(d, 0);
	}
	info("disk %s: now backed by %s (%" PRIu64 " sectors)", b->id, cfg->path,
	     sectors);
	return 0;
}

int virtio_blk_create(const struct dev_host *h, const struct vm_disk *cfg,
		      struct virtio_dev **out)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	const char *base = strrchr(cfg->path, '/');
	char group[32], errbuf[256];
	int ret;

	if (!b)
		return -ENOMEM;
	pthread_cond_init(&b->idle, NULL);
	b->fd = b->stop_fd = b->cq_fd = b->next_fd = b->throttle_fd = -1;
	rl_init(&b->rl, &cfg->rate, monotonic_ns());
	b->host = h;
	b->engine = cfg->io;
	b->unsafe = cfg->cache == DISK_CACHE_UNSAFE;
	b->read_only = cfg->read_only;
	memcpy(b->id, cfg->id, sizeof(b->id));
	snprintf(b->path, sizeof(b->path), "%.63s", base ? base + 1 : cfg->path);
	ret = open_disk(cfg, &b->fd, &b->sectors, errbuf, sizeof(errbuf));
	if (ret) {
		error("%s", errbuf);
		blk_destroy(b);
		return ret;
	}
	blk_fill_config(b);
	ret = virtio_dev_create(h, b->engine == DISK_IO_URING ?
				&virtio_blk_uring_ops : &virtio_blk_ops, b, &b->dev);
	if (ret)
		return ret;
	ret = b->engine == DISK_IO_URING ? blk_start_uring(b, h) :
					   blk_start_worker(b);
	if (ret) {
		error("disk %s: cannot start its I/O %s: %s", cfg->path,
		      b->engine == DISK_IO_URING ? "ring (io_uring)" : "thread",
		      strerror(-ret));
		return ret;
	}
	snprintf(group, sizeof(group), "blk:%s", cfg->id);
	host_add_counter(h, group, "reads", &b->reads);
	host_add_counter(h, group, "writes", &b->writes);
	host_add_counter(h, group, "read_bytes", &b->read_bytes);
	host_add_counter(h, group, "write_bytes", &b->write_bytes);
	host_add_counter(h, group, "flushes", &b->flushes);
	host_add_counter(h, group, "errors", &b->errors);
	host_add_counter(h, group, "throttled", &b->throttled);
	*out = b->dev;
	return 0;
}
