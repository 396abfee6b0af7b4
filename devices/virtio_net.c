// SPDX-License-Identifier: MIT
/*
 * virtio-net (virtio 1.x, 5.1) on a host TAP interface. The TAP speaks the
 * same 12-byte header as the device (IFF_VNET_HDR, TUNSETVNETHDRSZ), so
 * frames move with one writev()/readv() straight between the TAP and the
 * guest's buffers, offload metadata included. Only a transmit header is
 * copied first: the TAP trusts what it is given (frames of any length,
 * offloads the device never offered), so vmm checks its own copy against
 * the negotiated features and drops what does not fit them (tx_check()).
 *
 * Flow control, all on the event-loop thread under the device lock:
 *  - TX (queue 1 kicked): each chain is written to the TAP. If the TAP
 *    pushes back (EAGAIN) the chain goes back to the ring and the loop
 *    waits for EPOLLOUT; nothing is dropped.
 *  - RX (TAP readable): frames are read into the guest's receive chains.
 *    When the guest has none, the TAP is no longer watched for input (the
 *    kernel keeps queueing) and a kick on queue 0 resumes it: no polling,
 *    no frame dropped here, none delivered twice.
 * A chain taken from a ring but not used is put back by stepping the
 * ring's last_avail back over it: the driver still owns nothing of it, and
 * the next pop revalidates it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../vmm/config.h"
#include "../vmm/log.h"
#include "devices.h"
#include "ratelimit.h"
#include "virtio.h"

/* malformed transmit frames logged per device (all are counted) */
#define MALFORMED_LOGGED 4

#define VIRTIO_ID_NET 1
#define RXQ 0
#define TXQ 1
#define NET_QUEUE_SIZE 256

/* feature bits (5.1.3) */
#define NET_F_CSUM       0
#define NET_F_GUEST_CSUM 1
#define NET_F_MTU        3
#define NET_F_MAC        5
#define NET_F_GUEST_TSO4 7
#define NET_F_GUEST_TSO6 8
#define NET_F_GUEST_ECN  9
#define NET_F_GUEST_UFO  10
#define NET_F_HOST_TSO4  11
#define NET_F_HOST_TSO6  12
#define NET_F_HOST_ECN   13
#define NET_F_HOST_UFO   14
#define NET_F_MRG_RXBUF  15
#define NET_F_STATUS     16

#define NET_S_LINK_UP 1

/* config space (5.1.4): mac[6], status, max_virtqueue_pairs, mtu */
#define NET_CONFIG_SIZE 12

/*
 * struct virtio_net_hdr with num_buffers (always this size with
 * VERSION_1); num_buffers is the last field.
 */
#define NET_HDR_LEN          12
#define NET_HDR_FLAGS        0
#define NET_HDR_GSO_TYPE     1
#define NET_HDR_HDR_LEN      2
#define NET_HDR_GSO_SIZE     4
#define NET_HDR_CSUM_START   6
#define NET_HDR_CSUM_OFFSET  8
#define NET_HDR_NUM_BUFFERS  10

#define NET_HDR_F_NEEDS_CSUM 1
#define NET_HDR_GSO_NONE     0
#define NET_HDR_GSO_TCPV4    1
#define NET_HDR_GSO_UDP      3
#define NET_HDR_GSO_TCPV6    4
#define NET_HDR_GSO_ECN      0x80

/*
 * The largest frame the TAP can hand over: the link's MTU plus an Ethernet
 * header with a VLAN tag, or a 64 KiB GSO frame when the guest takes
 * TSO/UFO. With the default MTU these are the receive buffer sizes the
 * spec asks drivers for (5.1.6.3.1).
 */
#define NET_ETH_OVERHEAD  (14 + 4)
#define NET_DEFAULT_MTU   1500
#define NET_MAX_GSO_FRAME (14 + 65536)
/*
 * What the guest may send: at least an Ethernet header, at most a 64 KiB
 * GSO frame with a VLAN tag. The TAP itself takes frames of any length
 * (200 KB measured) and hands them to the host's stack as they are.
 */
#define NET_ETH_HLEN      14
#define NET_MAX_TX_FRAME  (NET_ETH_OVERHEAD + 65536)

#define NET_IOV_MAX  1024 /* UIO_MAXIOV */
#define RX_BUDGET    64   /* frames per TAP event: others get a turn */
#define TX_BUDGET    256  /* chains per kick, then the queue re-kicks itself */

_Static_assert(VIRTQ_MAX_CHAIN <= NET_IOV_MAX, "a chain must fit one writev");
_Static_assert(NET_QUEUE_SIZE <= VIRTQ_MAX_SIZE, "queue size");

struct net_stats {
	uint64_t rx_packets, rx_bytes, rx_drops;
	uint64_t tx_packets, tx_bytes, tx_drops;
	uint64_t tx_malformed; /* of tx_drops: refused by tx_check() */
};

/* A receive chain taken for the frame being read. */
struct rx_held {
	uint16_t head;
	uint64_t cap; /* its writable bytes */
	uint32_t len; /* what the frame filled */
};

struct virtio_net {
	struct virtio_dev *dev;
	const struct dev_host *host;
	int tap;
	bool is_tap;     /* a TAP (offloads, link state), else a datagram fd */
	bool watched;    /* tap is registered with the event loop */
	bool tap_gone;   /* the interface was deleted under us */
	char name[IFNAMSIZ];
	uint8_t config[NET_CONFIG_SIZE];
	uint64_t offer;  /* device feature bits */
	unsigned int mtu; /* the API's mtu, or 0: the TAP's */

	/* I/O state: d->lock */
	bool active;     /* DRIVER_OK seen, not reset since */
	bool mergeable;  /* MRG_RXBUF negotiated */
	size_t rx_need;  /* bytes of buffer a frame may need */
	bool rx_wait;    /* out of receive buffers: until queue 0 is kicked */
	bool tx_wait;    /* the TAP pushed back: until it is writable */
	uint32_t events; /* what the event loop watches on tap */
	struct net_stats stats;
	/* rate limits: over them, the queue waits for the timer */
	struct rate_limiter rx_rl, tx_rl;
	bool rx_throttled, tx_throttled;
	int timer_fd;    /* timerfd on the loop, or -1 */
	uint64_t throttled;

	/* scratch, one frame at a time */
	struct virtq_chain chain;
	struct rx_held held[NET_QUEUE_SIZE];
	struct iovec iov[NET_IOV_MAX];
	uint8_t overflow; /* receives the first byte a frame does not fit */
	uint8_t tx_hdr[NET_HDR_LEN]; /* the checked copy of a frame's header */
};

static uint64_t net_features(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;

	return n->offer;
}

static size_t net_config_size(struct virtio_dev *d)
{
	(void)d;
	return NET_CONFIG_SIZE;
}

static void net_config_read(struct virtio_dev *d, uint64_t off, uint8_t *data,
			    uint32_t len)
{
	struct virtio_net *n = d->priv;

	memcpy(data, n->config + off, len);
}

static bool io_live(const struct virtio_net *n)
{
	return n->active && !(n->dev->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* Make the event loop watch the TAP for what the state asks. Lock held. */
static void net_watch(struct virtio_net *n)
{
	uint32_t ev = 0;
	int ret;

	if (n->tap_gone)
		return;
	if (io_live(n)) {
		if (!n->rx_wait && !n->rx_throttled)
			ev |= EPOLLIN;
		if (n->tx_wait)
			ev |= EPOLLOUT;
	}
	if (ev == n->events)
		return;
	ret = evloop_mod(n->host->loop, n->tap, ev);
	if (ret)
		warn("TAP %s: epoll: %s", n->name, strerror(-ret));
	else
		n->events = ev;
}

/*
 * Publish used entries for held[0..k) with a single used-index update:
 * the driver must never see the first buffer of a merged frame without
 * the others (Linux counts that as a length error and drops the frame),
 * which one virtq_push() per buffer would allow.
 */
static void rx_publish(struct virtq *q, const struct rx_held *h, unsigned int k)
{
	for (unsigned int i = 0; i < k; i++)
		virtq_fill(q, i, h[i].head, h[i].len);
	virtq_flush(q, k);
}

/* Write len bytes at offset off of an iovec array. */
static void iov_put(const struct iovec *iov, unsigned int niov, size_t off,
		    const void *src, size_t len)
{
	const uint8_t *p = src;

	for (unsigned int i = 0; i < niov && len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off;
		if (n > len)
			n = len;
		memcpy((uint8_t *)iov[i].iov_base + off, p, n);
		p += n;
		len -= n;
		off = 0;
	}
}

enum rx_result {
	RX_FRAME,   /* a frame went to the guest */
	RX_DROPPED, /* a frame was read but did not fit: dropped */
	RX_EMPTY,   /* nothing (more) to read from the TAP now */
	RX_NOBUF,   /* not enough receive buffers */
	RX_BROKEN,  /* the driver broke the queue; device needs reset */
};

/*
 * Move one frame from the TAP into receive chains. Without MRG_RXBUF one
 * chain must hold the whole frame; with it, chains are taken until they
 * can hold the largest frame the TAP may deliver (the size of the next
 * frame cannot be learnt without reading it), and the unused ones go back.
 */
static enum rx_result rx_one(struct virtio_net *n, struct virtq *q)
{
	struct virtio_dev *d = n->dev;
	struct virtq_chain *c = &n->chain;
	unsigned int max = n->mergeable ? q->size : 1;
	unsigned int nheld = 0, niov = 0, used;
	uint64_t cap = 0, rest;
	bool ran_dry = false;
	uint8_t nb[2];
	ssize_t len;

	if (max > NET_QUEUE_SIZE)
		max = NET_QUEUE_SIZE;
	while (nheld < max && (nheld == 0 || cap < n->rx_need)) {
		int r = virtq_pop(q, d->host->mem, c);

		if (r < 0 || (r > 0 && (c->nread || c->write_len < NET_HDR_LEN))) {
			virtq_unpop(q, nheld);
			virtio_set_broken(d, r < 0 ? "malformed receive chain" :
					  "receive buffer that is read-only or "
					  "shorter than the header");
			return RX_BROKEN;
		}
		if (r == 0) {
			ran_dry = true;
			break;
		}
		/* one iovec stays free for the overflow byte */
		if (niov + c->nbufs >= NET_IOV_MAX) {
			virtq_unpop(q, 1);
			if (nheld)
				break;
			virtio_set_broken(d, "receive chain of too many buffers");
			return RX_BROKEN;
		}
		for (unsigned int i = 0; i < c->nbufs; i++)
			n->iov[niov++] = (struct iovec){
				.iov_base = c->buf[i].host,
				.iov_len = c->buf[i].len,
			};
		n->held[nheld++] = (struct rx_held){
			.head = c->head, .cap = c->write_len,
		};
		cap += c->write_len;
	}
	/* wait for more buffers rather than risk truncating a frame */
	if (nheld == 0 || (ran_dry && cap < n->rx_need && n->mergeable)) {
		virtq_unpop(q, nheld);
		return RX_NOBUF;
	}

	/*
	 * A frame longer than the buffers is cut short, and the TAP reports
	 * the cut length: a byte past the end tells that apart from a frame
	 * that fits exactly.
	 */
	n->iov[niov++] = (struct iovec){
		.iov_base = &n->overflow, .iov_len = sizeof(n->overflow),
	};
	len = readv(n->tap, n->iov, (int)niov);
	if (len < 0) {
		int err = errno;

		virtq_unpop(q, nheld);
		if (err != EAGAIN && err != EINTR)
			debug("TAP %s: read: %s", n->name, strerror(err));
		return RX_EMPTY;
	}
	if ((size_t)len < NET_HDR_LEN || (uint64_t)len > cap) {
		virtq_unpop(q, nheld);
		n->stats.rx_drops++;
		debug("TAP %s: dropped a frame longer than the %" PRIu64
		      " bytes of receive buffers", n->name, cap);
		return RX_DROPPED;
	}

	/* spread the length over the chains in the order they were filled */
	rest = (uint64_t)len;
	for (used = 0; rest; used++) {
		uint64_t l = rest < n->held[used].cap ? rest : n->held[used].cap;

		n->held[used].len = (uint32_t)l;
		rest -= l;
	}
	/* num_buffers is 1 without MRG_RXBUF (5.1.6.4) */
	nb[0] = (uint8_t)used;
	nb[1] = (uint8_t)(used >> 8);
	iov_put(n->iov, niov, NET_HDR_NUM_BUFFERS, nb, sizeof(nb));
	rx_publish(q, n->held, used);
	virtq_unpop(q, nheld - used);
	if (rl_limited(&n->rx_rl))
		rl_charge(&n->rx_rl, (uint64_t)len - NET_HDR_LEN, monotonic_ns());
	n->stats.rx_packets++;
	n->stats.rx_bytes += (uint64_t)len - NET_HDR_LEN;
	return RX_FRAME;
}

/* Come back in ns (the earliest of what waits). */
static void throttle_timer(struct virtio_net *n, uint64_t ns)
{
	struct itimerspec cur, t = {
		.it_value = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) },
	};

	n->throttled++;
	if (n->timer_fd < 0)
		return;
	if (timerfd_gettime(n->timer_fd, &cur) == 0 &&
	    (cur.it_value.tv_sec || cur.it_value.tv_nsec) &&
	    (uint64_t)cur.it_value.tv_sec * 1000000000 +
	    (uint64_t)cur.it_value.tv_nsec <= ns)
		return;
	timerfd_settime(n->timer_fd, 0, &t, NULL);
}

/* Read frames from the TAP while the guest has room. Lock held. */
static void net_rx(struct virtio_net *n)
{
	struct virtq *q = &n->dev->vq[RXQ];
	bool pushed = false, rearmed = false;
	unsigned int frames = 0;

	while (frames < RX_BUDGET) {
		enum rx_result r;
		uint64_t w;

		/* over the limit: the TAP is not read until the timer */
		if (rl_limited(&n->rx_rl) &&
		    (w = rl_wait(&n->rx_rl, monotonic_ns()))) {
			n->rx_throttled = true;
			net_watch(n);
			throttle_timer(n, w);
			break;
		}
		r = rx_one(n, q);

		if (r == RX_FRAME || r == RX_DROPPED) {
			pushed |= r == RX_FRAME;
			frames++;
		} else if (r == RX_NOBUF && !rearmed) {
			/*
			 * Ask for a kick, then look once more: buffers added
			 * before the request took effect would bring none.
			 */
			virtq_set_notify(q, true);
			rearmed = true;
		} else {
			if (r == RX_NOBUF) {
				n->rx_wait = true;
				net_watch(n);
			}
			break;
		}
	}
	/* buffers came after all: reading goes on without kicks */
	if (rearmed && !n->rx_wait)
		virtq_set_notify(q, false);
	if (pushed)
		virtio_notify_used(n->dev, RXQ);
	if (!io_live(n))
		net_watch(n);
}

static uint16_t le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void le16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/*
 * Check a transmit header h (vmm's own copy: the guest cannot change it
 * under the TAP) against what was negotiated and the flen-byte frame it
 * describes (5.1.6.2), and clear what the device must not use: flag bits
 * it does not know, checksum fields without NEEDS_CSUM, a hdr_len past
 * the frame (only a hint), num_buffers. NULL if the frame may go, else
 * why it is dropped: the TAP would pass most of these to the host's
 * stack as they are (an oversized frame, offloads never negotiated).
 */
static const char *tx_check(const struct virtio_net *n, uint8_t *h,
			    uint64_t flen)
{
	const struct virtio_dev *d = n->dev;
	uint8_t gso = h[NET_HDR_GSO_TYPE];
	bool ok;

	if (flen < NET_ETH_HLEN)
		return "frame shorter than an Ethernet header";
	if (flen > NET_MAX_TX_FRAME)
		return "frame longer than 64 KiB";
	h[NET_HDR_FLAGS] &= NET_HDR_F_NEEDS_CSUM;
	if (h[NET_HDR_FLAGS]) {
		if (!virtio_has_feature(d, NET_F_CSUM))
			return "checksum offload not negotiated";
		if ((uint64_t)le16_at(h + NET_HDR_CSUM_START) +
		    le16_at(h + NET_HDR_CSUM_OFFSET) + 2 > flen)
			return "checksum field outside the frame";
	} else {
		le16_put(h + NET_HDR_CSUM_START, 0);
		le16_put(h + NET_HDR_CSUM_OFFSET, 0);
	}
	if (gso == NET_HDR_GSO_NONE) {
		/* the MTU the device announced binds unsegmented frames */
		if (virtio_has_feature(d, NET_F_MTU) &&
		    flen > NET_ETH_OVERHEAD + n->mtu)
			return "frame longer than the MTU";
	} else {
		switch (gso & ~NET_HDR_GSO_ECN) {
		case NET_HDR_GSO_TCPV4:
			ok = virtio_has_feature(d, NET_F_HOST_TSO4);
			break;
		case NET_HDR_GSO_TCPV6:
			ok = virtio_has_feature(d, NET_F_HOST_TSO6);
			break;
		case NET_HDR_GSO_UDP:
			ok = virtio_has_feature(d, NET_F_HOST_UFO);
			break;
		default:
			ok = false;
		}
		if (gso & NET_HDR_GSO_ECN)
			ok = ok && virtio_has_feature(d, NET_F_HOST_ECN);
		if (!ok)
			return "segmentation offload not negotiated";
		if (!h[NET_HDR_FLAGS])
			return "segmentation without checksum offload";
		if (!le16_at(h + NET_HDR_GSO_SIZE))
			return "segment size 0";
	}
	if (le16_at(h + NET_HDR_HDR_LEN) > flen)
		le16_put(h + NET_HDR_HDR_LEN, 0);
	le16_put(h + NET_HDR_NUM_BUFFERS, 0);
	return NULL;
}

/*
 * The iovecs of a transmit chain with its header replaced by n->tx_hdr
 * (the header may span buffers): how many, or 0 if they are too many.
 */
static unsigned int tx_iov(struct virtio_net *n, const struct virtq_chain *c)
{
	size_t skip = NET_HDR_LEN;
	unsigned int k = 1;

	n->iov[0] = (struct iovec){
		.iov_base = n->tx_hdr, .iov_len = NET_HDR_LEN,
	};
	for (unsigned int i = 0; i < c->nread; i++) {
		size_t len = c->buf[i].len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		if (k == NET_IOV_MAX)
			return 0;
		n->iov[k++] = (struct iovec){
			.iov_base = c->buf[i].host + skip,
			.iov_len = len - skip,
		};
		skip = 0;
	}
	return k;
}

/* Send the guest's frames to the TAP. Lock held. */
static void net_tx(struct virtio_net *n)
{
	struct virtio_dev *d = n->dev;
	struct virtq *q = &d->vq[TXQ];
	struct virtq_chain *c = &n->chain;
	bool pushed = false, rearmed = false;
	unsigned int done = 0;

	if (n->tx_wait || n->tx_throttled)
		return; /* EPOLLOUT, or the limiter's timer, resumes */
	/* no kicks needed while the queue is being drained */
	virtq_set_notify(q, false);
	for (;;) {
		const char *bad;
		unsigned int niov;
		ssize_t w;
		int r;

		if (done == TX_BUDGET) {
			/* come back after the loop's other work */
			virtio_kick_self(d, TXQ);
			break;
		}
		r = virtq_pop(q, d->host->mem, c);
		if (r < 0) {
			virtio_set_broken(d, "malformed transmit chain");
			break;
		}
		if (r == 0) {
			if (rearmed)
				break;
			/* drained: ask for kicks again, then look once more */
			virtq_set_notify(q, true);
			rearmed = true;
			continue;
		}
		if (c->nread != c->nbufs || c->read_len < NET_HDR_LEN) {
			virtio_set_broken(d, "transmit chain with device-writable "
					  "buffers or shorter than the header");
			break;
		}
		virtq_chain_read(c, 0, n->tx_hdr, NET_HDR_LEN);
		bad = tx_check(n, n->tx_hdr, c->read_len - NET_HDR_LEN);
		niov = bad ? 0 : tx_iov(n, c);
		if (!niov) {
			/* the chain is well-formed, the frame is not: dropped */
			n->stats.tx_drops++;
			/* a guest may send them without end: the first few
			 * are logged, the counter tells the rest */
			if (++n->stats.tx_malformed <= MALFORMED_LOGGED)
				debug("TAP %s: dropped a %" PRIu64 "-byte frame: "
				      "%s%s", n->name, c->read_len - NET_HDR_LEN,
				      bad ? bad : "too many buffers",
				      n->stats.tx_malformed == MALFORMED_LOGGED ?
				      "; further drops are only counted" : "");
			virtq_push(q, c->head, 0);
			pushed = true;
			done++;
			continue;
		}
		if (rl_limited(&n->tx_rl)) {
			uint64_t wait;

			if (!rl_consume(&n->tx_rl, c->read_len - NET_HDR_LEN,
					monotonic_ns(), &wait)) {
				virtq_unpop(q, 1);
				n->tx_throttled = true;
				throttle_timer(n, wait);
				break;
			}
		}
		w = writev(n->tap, n->iov, (int)niov);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			/* keep the frame: back to the ring, retry when writable */
			virtq_unpop(q, 1);
			n->tx_wait = true;
			net_watch(n);
			break;
		}
		if (w < 0) {
			/* the kernel refused the frame (bad GSO header, ...) */
			n->stats.tx_drops++;
			debug("TAP %s: write: %s", n->name, strerror(errno));
		} else {
			n->stats.tx_packets++;
			n->stats.tx_bytes += c->read_len - NET_HDR_LEN;
		}
		virtq_push(q, c->head, 0);
		pushed = true;
		done++;
	}
	if (pushed)
		virtio_notify_used(d, TXQ);
	if (!io_live(n))
		net_watch(n);
}

static void net_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	struct virtio_net *n = d->priv;

	pthread_mutex_lock(&d->lock);
	if (io_live(n)) {
		if (qi == TXQ) {
			net_tx(n);
		} else if (qi == RXQ && n->rx_wait) {
			/* buffers arrived: read the TAP again */
			n->rx_wait = false;
			virtq_set_notify(&d->vq[RXQ], false);
			net_watch(n);
			net_rx(n);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

static void net_tap_event(void *opaque, uint32_t events)
{
	struct virtio_net *n = opaque;
	struct virtio_dev *d = n->dev;

	pthread_mutex_lock(&d->lock);
	if (events & (EPOLLERR | EPOLLHUP)) {
		/* reported whatever we ask for: stop watching or spin */
		warn("TAP %s went away; the guest's NIC is cut off", n->name);
		evloop_del(n->host->loop, n->tap);
		n->watched = false;
		n->tap_gone = true;
		/* link down, and tell the driver */
		n->config[6] = 0;
		virtio_notify_config(d);
	} else if (!io_live(n)) {
		net_watch(n);
	} else {
		if ((events & EPOLLOUT) && n->tx_wait) {
			n->tx_wait = false;
			net_watch(n);
			net_tx(n);
		}
		if ((events & EPOLLIN) && io_live(n) && !n->rx_wait)
			net_rx(n);
	}
	pthread_mutex_unlock(&d->lock);
}

/* The limiter's wait is over: both directions try again. */
static void net_throttle_timer(void *opaque, uint32_t events)
{
	struct virtio_net *n = opaque;
	struct virtio_dev *d = n->dev;
	uint64_t v;

	(void)events;
	if (read(n->timer_fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&d->lock);
	n->rx_throttled = n->tx_throttled = false;
	if (io_live(n)) {
		net_watch(n); /* EPOLLIN again: net_tap_event() reads */
		net_tx(n);
	}
	pthread_mutex_unlock(&d->lock);
}

void virtio_net_set_rate(struct virtio_dev *d, const struct vm_rate_limit *rx,
			 const struct vm_rate_limit *tx)
{
	struct virtio_net *n = d->priv;
	uint64_t now = monotonic_ns();

	pthread_mutex_lock(&d->lock);
	rl_init(&n->rx_rl, rx, now);
	rl_init(&n->tx_rl, tx, now);
	pthread_mutex_unlock(&d->lock);
}

/* The TAP's MTU now (the host may raise it), at least the default. */
static unsigned int tap_mtu(const struct virtio_net *n)
{
	if (n->mtu)
		return n->mtu;
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned int mtu = NET_DEFAULT_MTU;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, n->name, IFNAMSIZ);
	if (n->is_tap && s >= 0 && ioctl(s, SIOCGIFMTU, &ifr) == 0 &&
	    ifr.ifr_mtu > NET_DEFAULT_MTU && ifr.ifr_mtu <= 65535)
		mtu = (unsigned int)ifr.ifr_mtu;
	if (s >= 0)
		close(s);
	return mtu;
}

static int net_activate(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;
	unsigned int off = 0;

	/* what the guest can receive is what the TAP may hand us */
	if (virtio_has_feature(d, NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (virtio_has_feature(d, NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (virtio_has_feature(d, NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if (virtio_has_feature(d, NET_F_GUEST_ECN) &&
		    (off & (TUN_F_TSO4 | TUN_F_TSO6)))
			off |= TUN_F_TSO_ECN;
		if (virtio_has_feature(d, NET_F_GUEST_UFO))
			off |= TUN_F_UFO;
	}
	/* a TAP deleted under us is an unplugged cable, not a broken NIC */
	if (n->is_tap && !n->tap_gone &&
	    ioctl(n->tap, TUNSETOFFLOAD, (unsigned long)off) < 0) {
		int err = errno;

		warn("TAP %s: cannot set offloads 0x%x: %s", n->name, off,
		     strerror(err));
		return -err;
	}
	n->mergeable = virtio_has_feature(d, NET_F_MRG_RXBUF);
	n->rx_need = NET_HDR_LEN +
		((off & (TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_UFO)) ?
		 NET_MAX_GSO_FRAME : NET_ETH_OVERHEAD + tap_mtu(n));
	n->rx_wait = n->tx_wait = false;
	n->active = true;
	net_watch(n);
	return 0;
}

static void net_reset(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;

	/* the rings are forgotten too: so are chains put back for later */
	n->active = false;
	n->rx_wait = n->tx_wait = false;
	net_watch(n);
}

static void net_destroy(void *priv)
{
	struct virtio_net *n = priv;

	if (n->timer_fd >= 0) {
		evloop_del(n->host->loop, n->timer_fd);
		close(n->timer_fd);
	}
	if (n->watched)
		evloop_del(n->host->loop, n->tap);
	if (n->tap >= 0) {
		debug("TAP %s: rx %" PRIu64 " frames %" PRIu64 " bytes %" PRIu64
		      " dropped, tx %" PRIu64 " frames %" PRIu64 " bytes %" PRIu64
		      " dropped", n->name, n->stats.rx_packets,
		      n->stats.rx_bytes, n->stats.rx_drops, n->stats.tx_packets,
		      n->stats.tx_bytes, n->stats.tx_drops);
		close(n->tap);
	}
	free(n);
}

static const struct virtio_dev_ops virtio_net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.queue_max = NET_QUEUE_SIZE,
	.features = net_features,
	.config_size = net_config_size,
	.config_read = net_config_read,
	.queue_notify = net_queue_notify,
	.activate = net_activate,
	.reset = net_reset,
	.destroy = net_destroy,
};

/* Attach to (or create) the TAP; one error line on failure. */
static int tap_open(struct virtio_net *n, const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = NET_HDR_LEN, le = 1, err;

	if (!name[0] || strlen(name) >= IFNAMSIZ) {
		error("TAP name '%s' is empty or too long", name);
		return -EINVAL;
	}
	n->tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (n->tap < 0) {
		err = errno;
		if (err == EACCES || err == EPERM)
			error("/dev/net/tun: %s (need CAP_NET_ADMIN / root to "
			      "create TAP %s)", strerror(err), name);
		else if (err == ENOENT || err == ENODEV || err == ENXIO)
			error("/dev/net/tun: %s: is the tun module loaded?",
			      strerror(err));
		else
			error("/dev/net/tun: %s", strerror(err));
		return -err;
	}
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	if (ioctl(n->tap, TUNSETIFF, &ifr) < 0) {
		err = errno;
		if (err == EPERM)
			error("cannot attach TAP %s: %s (need CAP_NET_ADMIN / "
			      "root to create TAP %s, or a persistent TAP owned "
			      "by this user)", name, strerror(err), name);
		else if (err == EBUSY)
			error("TAP %s is in use by another process", name);
		else if (err == EINVAL)
			error("TAP %s: cannot attach: the interface exists but "
			      "is not a single-queue TAP", name);
		else
			error("TAP %s: %s", name, strerror(err));
		return -err;
	}
	/* the kernel may have completed a pattern like "tap%d" */
	memcpy(n->name, ifr.ifr_name, IFNAMSIZ);
	n->name[IFNAMSIZ - 1] = 0;
	if (ioctl(n->tap, TUNSETVNETHDRSZ, &hdr) < 0) {
		err = errno;
		error("TAP %s: cannot use a %d-byte virtio-net header: %s",
		      n->name, hdr, strerror(err));
		return -err;
	}
	/* the header is little-endian like virtio 1.x (native on LE hosts) */
	if (ioctl(n->tap, TUNSETVNETLE, &le) < 0)
		debug("TAP %s: TUNSETVNETLE: %s", n->name, strerror(errno));
	return 0;
}

/* Which receive offloads the TAP accepts decides which the guest gets. */
static void tap_probe_offloads(struct virtio_net *n)
{
	if (ioctl(n->tap, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) < 0)
		return;
	n->offer |= 1ULL << NET_F_GUEST_CSUM;
	if (ioctl(n->tap, TUNSETOFFLOAD,
		  (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
				  TUN_F_TSO_ECN)) == 0)
		n->offer |= 1ULL << NET_F_GUEST_TSO4 | 1ULL << NET_F_GUEST_TSO6 |
			    1ULL << NET_F_GUEST_ECN;
	if (ioctl(n->tap, TUNSETOFFLOAD,
		  (unsigned long)(TUN_F_CSUM | TUN_F_UFO)) == 0)
		n->offer |= 1ULL << NET_F_GUEST_UFO;
	/* nothing until the driver says what it takes */
	if (ioctl(n->tap, TUNSETOFFLOAD, 0UL) < 0)
		debug("TAP %s: TUNSETOFFLOAD 0: %s", n->name, strerror(errno));
}

/* The guest's MTU on the host side too, so its frames fit. */
static void tap_set_mtu(struct virtio_net *n, unsigned int mtu)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, n->name, IFNAMSIZ);
	ifr.ifr_mtu = (int)mtu;
	if (s < 0 || ioctl(s, SIOCSIFMTU, &ifr) < 0)
		warn("TAP %s: cannot set its MTU to %u: %s", n->name, mtu,
		     strerror(errno));
	if (s >= 0)
		close(s);
}

/* Bring the link up so the host side can use it at once. */
static void tap_link_up(struct virtio_net *n)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, n->name, IFNAMSIZ);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		warn("TAP %s: cannot read the link flags: %s", n->name,
		     strerror(errno));
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			warn("TAP %s: cannot bring the link up (%s); run: ip "
			     "link set %s up", n->name, strerror(errno),
			     n->name);
	}
	if (s >= 0)
		close(s);
}

/* A locally administered unicast MAC that stays put for a TAP name. */
static void mac_from_name(const char *name, uint8_t mac[6])
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

/* The device on an open packet fd: a TAP, or a datagram socket. */
static int net_create(const struct dev_host *h, struct virtio_net *n,
		      const struct vm_net *cfg, struct virtio_dev **out)
{
	char group[32];
	int ret = 0;

	if (cfg->mac_set)
		memcpy(n->config, cfg->mac, 6);
	else
		mac_from_name(n->name, n->config);
	n->config[6] = NET_S_LINK_UP;   /* status, little-endian */
	n->config[8] = 1;               /* max_virtqueue_pairs */
	n->offer = 1ULL << NET_F_MAC | 1ULL << NET_F_STATUS |
		   1ULL << NET_F_MRG_RXBUF;
	if (cfg->mtu) {
		n->mtu = cfg->mtu;
		n->config[10] = (uint8_t)cfg->mtu;
		n->config[11] = (uint8_t)(cfg->mtu >> 8);
		n->offer |= 1ULL << NET_F_MTU;
		if (n->is_tap)
			tap_set_mtu(n, cfg->mtu);
	}
	if (n->is_tap) {
		n->offer |= 1ULL << NET_F_CSUM | 1ULL << NET_F_HOST_TSO4 |
			    1ULL << NET_F_HOST_TSO6 | 1ULL << NET_F_HOST_ECN;
		tap_probe_offloads(n);
		tap_link_up(n);
	}
	rl_init(&n->rx_rl, &cfg->rx_rate, monotonic_ns());
	rl_init(&n->tx_rl, &cfg->tx_rate, monotonic_ns());
	n->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (n->timer_fd < 0 ||
	    (ret = evloop_add(h->loop, n->timer_fd, EPOLLIN, net_throttle_timer, n))) {
		ret = n->timer_fd < 0 ? -errno : ret;
		if (n->timer_fd >= 0)
			close(n->timer_fd);
		n->timer_fd = -1;
		error("TAP %s: cannot make its rate-limit timer: %s", n->name,
		      strerror(-ret));
		net_destroy(n);
		return ret;
	}
	/* watched for nothing until the driver is ready */
	ret = evloop_add(h->loop, n->tap, 0, net_tap_event, n);
	if (ret) {
		error("TAP %s: cannot watch it: %s", n->name, strerror(-ret));
		net_destroy(n);
		return ret;
	}
	n->watched = true;
	debug("TAP %s: MAC %02x:%02x:%02x:%02x:%02x:%02x, features 0x%" PRIx64,
	      n->name, n->config[0], n->config[1], n->config[2], n->config[3],
	      n->config[4], n->config[5], n->offer);
	ret = virtio_dev_create(h, &virtio_net_ops, n, &n->dev);
	if (ret)
		return ret;
	snprintf(group, sizeof(group), "net:%s", n->name);
	host_add_counter(h, group, "rx_packets", &n->stats.rx_packets);
	host_add_counter(h, group, "rx_bytes", &n->stats.rx_bytes);
	host_add_counter(h, group, "rx_drops", &n->stats.rx_drops);
	host_add_counter(h, group, "tx_packets", &n->stats.tx_packets);
	host_add_counter(h, group, "tx_bytes", &n->stats.tx_bytes);
	host_add_counter(h, group, "tx_drops", &n->stats.tx_drops);
	host_add_counter(h, group, "tx_malformed", &n->stats.tx_malformed);
	host_add_counter(h, group, "throttled", &n->throttled);
	*out = n->dev;
	return 0;
}

int virtio_net_create(const struct dev_host *h, const struct vm_net *cfg,
		      struct virtio_dev **out)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	int ret;

	if (!n)
		return -ENOMEM;
	n->host = h;
	n->tap = n->timer_fd = -1;
	n->is_tap = true;
	ret = tap_open(n, cfg->tap);
	if (ret) {
		net_destroy(n);
		return ret;
	}
	return net_create(h, n, cfg, out);
}

int virtio_net_create_fd(const struct dev_host *h, int fd, const char *name,
			 const struct vm_net *cfg, struct virtio_dev **out)
{
	struct virtio_net *n = calloc(1, sizeof(*n));

	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	n->host = h;
	n->tap = fd;
	n->timer_fd = -1;
	snprintf(n->name, sizeof(n->name), "%s", name);
	return net_create(h, n, cfg, out);
}
