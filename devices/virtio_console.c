// SPDX-License-Identifier: MIT
/*
 * virtio-console (virtio 1.x, 5.3), a single port: the guest's /dev/hvc0
 * on the VM console, with the same terminal and escape keys as the serial
 * port, or on another sink (virtio_console_create_port()). Queue 0 carries input to the guest, queue 1 output from it. Input
 * waits in a small buffer until the guest posts receive buffers; while
 * that is full, the console stops reading the terminal.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "virtio.h"

#define VIRTIO_ID_CONSOLE 3
#define CONSOLE_QUEUE_SIZE 64
#define RXQ 0
#define TXQ 1
#define CONSOLE_CONFIG_SIZE 12 /* cols, rows, max_nr_ports, emerg_wr */
#define PENDING_SIZE 4096

struct virtio_console {
	struct virtio_dev *dev;
	const struct dev_console *sink; /* where output goes, who hears of room */
	struct virtq_chain chain;
	uint8_t pending[PENDING_SIZE]; /* input not yet in a guest buffer */
	size_t npending;
	bool was_full;
	uint8_t out[4096];
	uint64_t rx_bytes, tx_bytes;
};

static size_t console_config_size(struct virtio_dev *d)
{
	(void)d;
	return CONSOLE_CONFIG_SIZE;
}

static void console_config_read(struct virtio_dev *d, uint64_t off,
				uint8_t *data, uint32_t len)
{
	uint8_t cfg[CONSOLE_CONFIG_SIZE] = { 0 };

	(void)d;
	cfg[4] = 1; /* max_nr_ports (only meaningful with MULTIPORT) */
	memcpy(data, cfg + off, len);
}

/* Move pending input into receive buffers. d->lock held. */
static void deliver_input(struct virtio_dev *d, struct virtio_console *c)
{
	struct virtq *q = &d->vq[RXQ];
	bool pushed = false;
	int r = 0;

	while (c->npending && (r = virtq_pop(q, d->host->mem, &c->chain)) > 0) {
		size_t n = virtq_chain_write(&c->chain, 0, c->pending,
					     c->npending);

		memmove(c->pending, c->pending + n, c->npending - n);
		c->npending -= n;
		c->rx_bytes += n;
		virtq_push(q, c->chain.head, (uint32_t)n);
		pushed = true;
	}
	if (r < 0)
		virtio_set_broken(d, "malformed receive buffer");
	if (pushed)
		virtio_notify_used(d, RXQ);
}

/*
 * Per kick: at most TX_BUDGET chains (then the queue kicks itself), and
 * at most TX_CHAIN_MAX bytes of one chain reach the terminal; a driver
 * never sends more than a page per buffer, a hostile one may claim all
 * of guest RAM a thousand times.
 */
#define TX_BUDGET    64
#define TX_CHAIN_MAX (1u << 20)

static void transmit(struct virtio_dev *d, struct virtio_console *c)
{
	struct virtq *q = &d->vq[TXQ];
	bool pushed = false;
	unsigned int chains = 0;
	int r = 0;

	while (chains++ < TX_BUDGET &&
	       (r = virtq_pop(q, d->host->mem, &c->chain)) > 0) {
		uint64_t off = 0;
		size_t n;

		while (off < TX_CHAIN_MAX &&
		       (n = virtq_chain_read(&c->chain, off, c->out,
					     sizeof(c->out))) > 0) {
			if (c->sink)
				c->sink->write(c->sink->opaque, c->out, n);
			off += n;
		}
		c->tx_bytes += off;
		virtq_push(q, c->chain.head, 0);
		pushed = true;
	}
	if (r < 0)
		virtio_set_broken(d, "malformed transmit buffer");
	else if (chains > TX_BUDGET)
		virtio_kick_self(d, TXQ); /* the rest on the next turn */
	if (pushed)
		virtio_notify_used(d, TXQ);
}

static void console_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtio_console *c = d->priv;
	bool drained = false;

	pthread_mutex_lock(&d->lock);
	if (q == TXQ) {
		transmit(d, c);
	} else {
		deliver_input(d, c);
		drained = c->was_full && c->npending < PENDING_SIZE;
		if (drained)
			c->was_full = false;
	}
	pthread_mutex_unlock(&d->lock);
	if (drained && c->sink && c->sink->ready)
		c->sink->ready(c->sink->opaque);
}

/* Console input (event-loop thread): buffer it, hand it over if we can. */
size_t virtio_console_rx(struct virtio_dev *d, const uint8_t *buf, size_t len)
{
	struct virtio_console *c = d->priv;
	size_t n;

	pthread_mutex_lock(&d->lock);
	n = PENDING_SIZE - c->npending;
	if (n > len)
		n = len;
	memcpy(c->pending + c->npending, buf, n);
	c->npending += n;
	if (n < len)
		c->was_full = true;
	if (virtio_live(d))
		deliver_input(d, c);
	pthread_mutex_unlock(&d->lock);
	return n;
}

static void vcon_destroy(void *priv)
{
	free(priv);
}

static const struct virtio_dev_ops virtio_console_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.num_queues = 2,
	.queue_max = CONSOLE_QUEUE_SIZE,
	.config_size = console_config_size,
	.config_read = console_config_read,
	.queue_notify = console_queue_notify,
	.destroy = vcon_destroy,
};

int virtio_console_create_port(const struct dev_host *h,
			       const struct dev_console *sink,
			       const char *name, struct virtio_dev **out)
{
	struct virtio_console *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return -ENOMEM;
	c->sink = sink;
	ret = virtio_dev_create(h, &virtio_console_ops, c, &c->dev);
	if (ret)
		return ret;
	host_add_counter(h, name, "rx_bytes", &c->rx_bytes);
	host_add_counter(h, name, "tx_bytes", &c->tx_bytes);
	*out = c->dev;
	return 0;
}

int virtio_console_create(const struct dev_host *h, struct virtio_dev **out)
{
	return virtio_console_create_port(h, h->console, "console", out);
}
