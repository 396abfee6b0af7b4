// SPDX-License-Identifier: MIT
/*
 * virtio-rng (virtio 1.x, 5.4): one queue of device-writable buffers that
 * the device fills from the host's getrandom(). Served on the event loop;
 * per kick at most RNG_BUDGET bytes, then the queue kicks itself so other
 * fds get their turn (a guest asking for gigabytes cannot starve them).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../vmm/log.h"
#include "devices.h"
#include "virtio.h"

#define VIRTIO_ID_RNG  4
#define RNG_QUEUE_SIZE 64
#define RNG_CHUNK      4096
#define RNG_BUDGET     (256u << 10)

struct virtio_rng {
	struct virtio_dev *dev;
	struct virtq_chain chain;
	uint8_t buf[RNG_CHUNK];
	uint64_t bytes, requests;
};

/* Fill chains with random bytes, up to the budget. */
static void rng_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	struct virtio_rng *r = d->priv;
	struct virtq *q = &d->vq[qi];
	uint64_t given = 0;
	bool pushed = false;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	while (given < RNG_BUDGET && (ret = virtq_pop(q, d->host->mem, &r->chain)) > 0) {
		uint64_t want = r->chain.write_len, off = 0;

		if (r->chain.nread) {
			virtio_set_broken(d, "request with a device-readable buffer");
			ret = -EIO;
			break;
		}
		/* a driver asks for a page or so; give at most what is left */
		if (want > RNG_BUDGET - given)
			want = RNG_BUDGET - given;
		while (off < want) {
			size_t n = want - off < RNG_CHUNK ? want - off : RNG_CHUNK;
			ssize_t got = getrandom(r->buf, n, GRND_NONBLOCK);

			if (got <= 0)
				break; /* entropy not ready yet: give what we have */
			virtq_chain_write(&r->chain, off, r->buf, (size_t)got);
			off += (uint64_t)got;
		}
		virtq_push(q, r->chain.head, (uint32_t)off);
		pushed = true;
		given += off;
		r->bytes += off;
		r->requests++;
		if (off < want)
			break;
	}
	if (ret < 0 && ret != -EIO)
		virtio_set_broken(d, "malformed request on the queue");
	else if (given >= RNG_BUDGET)
		virtio_kick_self(d, qi); /* the rest on the next turn */
	if (pushed)
		virtio_notify_used(d, qi);
	pthread_mutex_unlock(&d->lock);
}

static const struct virtio_dev_ops virtio_rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.queue_max = RNG_QUEUE_SIZE,
	.queue_notify = rng_queue_notify,
	.destroy = free,
};

int virtio_rng_create(const struct dev_host *h, struct virtio_dev **out)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	ret = virtio_dev_create(h, &virtio_rng_ops, r, &r->dev);
	if (ret)
		return ret;
	host_add_counter(h, "rng", "bytes", &r->bytes);
	host_add_counter(h, "rng", "requests", &r->requests);
	*out = r->dev;
	return 0;
}
