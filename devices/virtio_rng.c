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
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../vmm/config.h"
#include "../vmm/log.h"
#include "devices.h"
#include "ratelimit.h"
#include "virtio.h"

#define VIRTIO_ID_RNG  4
#define RNG_QUEUE_SIZE 64
#define RNG_CHUNK      4096
#define RNG_BUDGET     (256u << 10)

struct virtio_rng {
	struct virtio_dev *dev;
	const struct dev_host *host;
	struct virtq_chain chain;
	uint8_t buf[RNG_CHUNK];
	struct rate_limiter rl;   /* the entropy device's rate_limiter */
	bool throttled;           /* waiting for the timer */
	int timer_fd;
	uint64_t bytes, requests, throttled_count;
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
	while (!r->throttled && given < RNG_BUDGET &&
	       (ret = virtq_pop(q, d->host->mem, &r->chain)) > 0) {
		uint64_t want = r->chain.write_len, off = 0, wait;

		if (r->chain.nread) {
			virtio_set_broken(d, "request with a device-readable buffer");
			ret = -EIO;
			break;
		}
		/* a driver asks for a page or so; give at most what is left */
		if (want > RNG_BUDGET - given)
			want = RNG_BUDGET - given;
		if (rl_limited(&r->rl) &&
		    !rl_consume(&r->rl, want, monotonic_ns(), &wait)) {
			struct itimerspec t = {
				.it_value = { (time_t)(wait / 1000000000),
					      (long)(wait % 1000000000) },
			};

			/* over the limit: the request waits for the timer */
			virtq_unpop(q, 1);
			r->throttled = true;
			r->throttled_count++;
			timerfd_settime(r->timer_fd, 0, &t, NULL);
			break;
		}
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

static void rng_timer(void *opaque, uint32_t events)
{
	struct virtio_rng *r = opaque;
	uint64_t v;

	(void)events;
	if (read(r->timer_fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&r->dev->lock);
	r->throttled = false;
	pthread_mutex_unlock(&r->dev->lock);
	virtio_kick(r->dev, 0);
}

static void rng_destroy(void *priv)
{
	struct virtio_rng *r = priv;

	if (r->timer_fd >= 0) {
		evloop_del(r->host->loop, r->timer_fd);
		close(r->timer_fd);
	}
	free(r);
}

static const struct virtio_dev_ops virtio_rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.queue_max = RNG_QUEUE_SIZE,
	.queue_notify = rng_queue_notify,
	.destroy = rng_destroy,
};

int virtio_rng_create(const struct dev_host *h, const struct vm_rate_limit *rate,
		      struct virtio_dev **out)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));
	int ret = 0;

	if (!r)
		return -ENOMEM;
	r->host = h;
	rl_init(&r->rl, rate, monotonic_ns());
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->timer_fd < 0 ||
	    (ret = evloop_add(h->loop, r->timer_fd, EPOLLIN, rng_timer, r))) {
		ret = r->timer_fd < 0 ? -errno : ret;
		error("virtio-rng: cannot make its timer: %s", strerror(-ret));
		if (r->timer_fd >= 0)
			close(r->timer_fd);
		free(r);
		return ret;
	}
	ret = virtio_dev_create(h, &virtio_rng_ops, r, &r->dev);
	if (ret)
		return ret;
	host_add_counter(h, "rng", "bytes", &r->bytes);
	host_add_counter(h, "rng", "requests", &r->requests);
	host_add_counter(h, "rng", "throttled", &r->throttled_count);
	*out = r->dev;
	return 0;
}
