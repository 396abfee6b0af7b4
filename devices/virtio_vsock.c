// SPDX-License-Identifier: MIT
/*
 * virtio-vsock (virtio 1.x, 5.10 "Socket Device"), stream sockets only,
 * with Firecracker's host side: every guest connection is a Unix stream
 * socket on the host.
 *
 *   host -> guest: a program connects to the listener at uds_path and
 *     sends "CONNECT <port>\n"; the device asks the guest (REQUEST to
 *     <port>) and, once the guest's listener accepted (RESPONSE), answers
 *     "OK <host port>\n"; then bytes flow both ways.
 *   guest -> host: a guest connection to CID 2, port P, is a connection
 *     to the Unix listener at "<uds_path>_P".
 *
 * Queues: 0 receive (device -> driver packets), 1 transmit (driver ->
 * device), 2 events (never used: no migration, so no transport reset).
 *
 * Flow control (5.10.6.3): each side tells the other, in every packet
 * header, how much it can buffer (buf_alloc) and how much it has consumed
 * (fwd_cnt). Towards the host, the device offers VSOCK_BUF per connection
 * and writes what the guest sends straight into the Unix socket; only what
 * that socket does not take at once waits, in a buffer of at most VSOCK_BUF
 * bytes that exists only while it holds something. A guest sending beyond
 * the credit it was given loses the connection (RST). Towards the guest,
 * the device reads the Unix socket only as far as the guest's credit and
 * its posted receive buffers go: nothing is buffered in between, so a
 * guest that stops reading stops the host's writer (its socket fills).
 * At most VSOCK_MAX_CONNS connections: beyond that, new ones are refused.
 * So the device holds at most VSOCK_MAX_CONNS * VSOCK_BUF bytes, whatever
 * the guest does.
 *
 * Threads: everything runs on the event-loop thread under d->lock, except
 * a driver reset (vCPU thread, lock held), which closes every connection.
 * The Unix sockets sit in an epoll set of the device's own, itself one fd
 * of the VM's event loop: a connection is a slot in a fixed table, and
 * each epoll event carries the slot and the connection's serial number,
 * so an event for a connection closed meanwhile is recognised and dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../vmm/config.h"
#include "../vmm/log.h"
#include "devices.h"
#include "virtio.h"

#define VIRTIO_ID_VSOCK   19
#define VSOCK_QUEUE_SIZE  256
#define RXQ 0
#define TXQ 1
#define EVQ 2

#define VSOCK_HOST_CID    2
#define VSOCK_HDR         44          /* struct virtio_vsock_hdr */
#define VSOCK_TYPE_STREAM 1
#define VSOCK_MAX_CONNS   256
#define VSOCK_BUF         (64u << 10) /* our buf_alloc, per connection */
#define VSOCK_PKT_MAX     (64u << 10) /* payload of one packet, at most */
#define VSOCK_LINE_MAX    32          /* "CONNECT 4294967295\n" fits */
#define VSOCK_ORPHANS     32          /* RSTs for no connection, queued */
#define VSOCK_FIRST_PORT  (1u << 30)  /* host-side ports we hand out */
/* per turn of the event loop, then the queue kicks itself */
#define TX_BUDGET         256         /* chains */
#define RX_BUDGET         (256u << 10) /* bytes to the guest */
/* a credit update once this much was consumed unannounced */
#define CREDIT_THRESHOLD  (VSOCK_BUF / 4)

enum vsock_op {
	OP_REQUEST = 1, OP_RESPONSE = 2, OP_RST = 3, OP_SHUTDOWN = 4,
	OP_RW = 5, OP_CREDIT_UPDATE = 6, OP_CREDIT_REQUEST = 7,
};
#define SHUT_FLAG_RCV  1  /* the sender will receive no more */
#define SHUT_FLAG_SEND 2  /* the sender will send no more */

/* Control packets a connection owes the guest. */
enum {
	PEND_RESPONSE = 1, PEND_REQUEST = 2, PEND_SHUTDOWN = 4,
	PEND_RST = 8, PEND_CREDIT_UPDATE = 16, PEND_CREDIT_REQUEST = 32,
};

enum conn_state {
	C_FREE,
	C_LINE,      /* host connection: reading "CONNECT <port>\n" */
	C_REQUESTED, /* REQUEST owed or sent to the guest, no answer yet */
	C_OPEN,
	C_CLOSING,   /* fd closed; a RST still owed to the guest */
};

struct vconn {
	enum conn_state st;
	int fd;
	uint32_t serial;       /* tells this connection from the slot's next */
	uint32_t gport, hport; /* the guest's port, the host's */
	unsigned int pend;     /* PEND_* */
	uint32_t shut_flags;   /* of the SHUTDOWN owed */
	uint32_t armed;        /* epoll events asked for; ~0: not in the set */
	/* guest -> host */
	uint32_t rx_cnt;       /* bytes the guest sent */
	uint32_t fwd_cnt;      /* of those, written to the socket */
	uint32_t fwd_told;     /* fwd_cnt in the last header we sent */
	uint8_t *buf;          /* what the socket did not take (a ring) */
	uint32_t buf_head, buf_len;
	bool guest_shut_send, guest_shut_rcv;
	/* host -> guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	bool readable;         /* epoll said so, read() has not said EAGAIN */
	bool host_eof, host_hup;
	bool credit_asked;
	char line[VSOCK_LINE_MAX];
	unsigned int line_len;
};

struct orphan {
	uint32_t gport, hport;
};

struct virtio_vsock {
	struct virtio_dev *dev;
	const struct dev_host *host;
	uint64_t cid;
	char path[VMM_SOCK_PATH_MAX];
	int listen_fd, epfd;
	uint32_t next_serial, next_port;
	unsigned int nconns, rr;
	struct vconn conn[VSOCK_MAX_CONNS];
	struct orphan orphan[VSOCK_ORPHANS];
	unsigned int norphans;
	struct virtq_chain chain;
	uint8_t bounce[VSOCK_PKT_MAX];
	uint64_t opened, refused, to_guest_bytes, from_guest_bytes;
	uint64_t bad_packets, credit_violations;
};

#define LISTENER_TOKEN UINT64_MAX

static inline uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static inline uint64_t ld64(const uint8_t *p)
{
	return ld32(p) | (uint64_t)ld32(p + 4) << 32;
}
static inline void st16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void st32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void st64(uint8_t *p, uint64_t v)
{
	st32(p, (uint32_t)v);
	st32(p + 4, (uint32_t)(v >> 32));
}

struct vhdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

static void hdr_parse(const uint8_t *p, struct vhdr *h)
{
	h->src_cid = ld64(p);
	h->dst_cid = ld64(p + 8);
	h->src_port = ld32(p + 16);
	h->dst_port = ld32(p + 20);
	h->len = ld32(p + 24);
	h->type = ld16(p + 28);
	h->op = ld16(p + 30);
	h->flags = ld32(p + 32);
	h->buf_alloc = ld32(p + 36);
	h->fwd_cnt = ld32(p + 40);
}

/* --- connections ----------------------------------------------------------- */

static struct vconn *conn_find(struct virtio_vsock *v, uint32_t gport,
			       uint32_t hport)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vconn *c = &v->conn[i];

		if (c->st != C_FREE && c->gport == gport && c->hport == hport)
			return c;
	}
	return NULL;
}

static struct vconn *conn_alloc(struct virtio_vsock *v, int fd)
{
	if (v->nconns >= VSOCK_MAX_CONNS)
		return NULL;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vconn *c = &v->conn[i];

		if (c->st != C_FREE)
			continue;
		*c = (struct vconn){
			.fd = fd, .serial = ++v->next_serial, .armed = ~0u,
			.st = C_LINE,
		};
		v->nconns++;
		return c;
	}
	return NULL;
}

static void conn_release_fd(struct vconn *c)
{
	if (c->fd >= 0)
		close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	c->armed = ~0u;
	free(c->buf);
	c->buf = NULL;
	c->buf_len = 0;
}

static void conn_free(struct virtio_vsock *v, struct vconn *c)
{
	conn_release_fd(c);
	c->st = C_FREE;
	v->nconns--;
}

/* Close the host's end; the guest is told with a RST. */
static void conn_reset(struct virtio_vsock *v, struct vconn *c)
{
	/* the guest never heard of it */
	if (c->st == C_LINE || (c->pend & PEND_REQUEST)) {
		conn_free(v, c);
		return;
	}
	conn_release_fd(c);
	c->st = C_CLOSING;
	c->pend = PEND_RST;
}

static uint32_t peer_credit(const struct vconn *c)
{
	uint32_t used = c->tx_cnt - c->peer_fwd_cnt;

	return used >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

/* May the device read the socket for the guest now? */
static bool conn_wants_data(const struct vconn *c)
{
	return c->st == C_OPEN && !c->host_eof && !c->guest_shut_rcv &&
	       !(c->pend & (PEND_SHUTDOWN | PEND_RST));
}

/* The epoll events this connection needs now; 0 with the fd left out. */
static void conn_arm(struct virtio_vsock *v, struct vconn *c)
{
	uint32_t want = 0;
	struct epoll_event ev;
	int op;

	if (c->fd < 0)
		return;
	switch (c->st) {
	case C_LINE:
		want = EPOLLIN;
		break;
	case C_REQUESTED:
		want = EPOLLRDHUP; /* and HUP: the host gave up waiting */
		break;
	case C_OPEN:
		if (conn_wants_data(c) && !c->readable && peer_credit(c))
			want |= EPOLLIN;
		if (c->buf_len)
			want |= EPOLLOUT;
		/*
		 * a hung-up socket is reported whatever we ask: leave it out
		 * (reads go on by c->readable, never EAGAIN now; writes fail)
		 */
		if (c->host_hup && !c->buf_len) {
			if (c->armed != ~0u)
				epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			c->armed = ~0u;
			return;
		}
		break;
	default:
		return;
	}
	if (want == c->armed)
		return;
	ev.events = want;
	ev.data.u64 = (uint64_t)(c - v->conn) | (uint64_t)c->serial << 16;
	op = c->armed == ~0u ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (epoll_ctl(v->epfd, op, c->fd, &ev) == 0)
		c->armed = want;
	else
		conn_reset(v, c);
}

static void orphan_rst(struct virtio_vsock *v, uint32_t gport, uint32_t hport)
{
	if (v->norphans < VSOCK_ORPHANS)
		v->orphan[v->norphans++] = (struct orphan){ gport, hport };
	/* else dropped: the guest times out, as on a lossy link */
}

/* Write the buffered bytes to the socket. */
static void conn_flush(struct virtio_vsock *v, struct vconn *c)
{
	while (c->buf_len) {
		uint32_t n = VSOCK_BUF - c->buf_head;
		ssize_t w;

		if (n > c->buf_len)
			n = c->buf_len;
		w = write(c->fd, c->buf + c->buf_head, n);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (w <= 0) {
			conn_reset(v, c);
			return;
		}
		c->buf_head = (c->buf_head + (uint32_t)w) % VSOCK_BUF;
		c->buf_len -= (uint32_t)w;
		c->fwd_cnt += (uint32_t)w;
	}
	/* empty: no memory held for an idle connection */
	free(c->buf);
	c->buf = NULL;
	c->buf_head = 0;
	if (c->guest_shut_send && c->fd >= 0)
		shutdown(c->fd, SHUT_WR);
	if (c->guest_shut_send && c->guest_shut_rcv)
		conn_reset(v, c); /* the clean end: our RST answers */
}

/* The guest's data for the socket (len <= VSOCK_PKT_MAX, credit checked). */
static void conn_deliver(struct virtio_vsock *v, struct vconn *c,
			 const uint8_t *data, uint32_t len)
{
	uint32_t off = 0;

	c->rx_cnt += len;
	v->from_guest_bytes += len;
	if (!c->buf_len) {
		ssize_t w = write(c->fd, data, len);

		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			conn_reset(v, c);
			return;
		}
		if (w > 0) {
			off = (uint32_t)w;
			c->fwd_cnt += (uint32_t)w;
		}
	}
	if (off == len)
		return;
	if (!c->buf && !(c->buf = malloc(VSOCK_BUF))) {
		conn_reset(v, c);
		return;
	}
	while (off < len) {
		uint32_t tail = (c->buf_head + c->buf_len) % VSOCK_BUF;
		uint32_t n = VSOCK_BUF - tail;

		if (n > len - off)
			n = len - off;
		memcpy(c->buf + tail, data + off, n);
		c->buf_len += n;
		off += n;
	}
}

/* --- the transmit queue: packets from the guest ------------------------------ */

/* A guest connection to host port P: a connection to <uds_path>_P. */
static void guest_connect(struct virtio_vsock *v, const struct vhdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vconn *c;
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->path,
		     h->dst_port);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path) ||
	    v->nconns >= VSOCK_MAX_CONNS) {
		v->refused++;
		orphan_rst(v, h->src_port, h->dst_port);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    !(c = conn_alloc(v, fd))) {
		/* nobody listens there, or its backlog is full: refused */
		if (fd >= 0)
			close(fd);
		v->refused++;
		orphan_rst(v, h->src_port, h->dst_port);
		return;
	}
	c->gport = h->src_port;
	c->hport = h->dst_port;
	c->st = C_OPEN;
	c->pend = PEND_RESPONSE;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	v->opened++;
	conn_arm(v, c);
}

static void tx_packet(struct virtio_vsock *v, const struct virtq_chain *ch)
{
	uint8_t raw[VSOCK_HDR];
	struct vhdr h;
	struct vconn *c;

	if (virtq_chain_read(ch, 0, raw, VSOCK_HDR) < VSOCK_HDR) {
		v->bad_packets++;
		return;
	}
	hdr_parse(raw, &h);
	/* only the guest's own address, to the host, on stream sockets */
	if (h.src_cid != v->cid || h.dst_cid != VSOCK_HOST_CID) {
		v->bad_packets++;
		return;
	}
	if (h.type != VSOCK_TYPE_STREAM) {
		if (h.op != OP_RST)
			orphan_rst(v, h.src_port, h.dst_port);
		v->bad_packets++;
		return;
	}
	c = conn_find(v, h.src_port, h.dst_port);
	if (!c) {
		if (h.op == OP_REQUEST)
			guest_connect(v, &h);
		else if (h.op != OP_RST)
			orphan_rst(v, h.src_port, h.dst_port);
		return;
	}
	if (c->st == C_CLOSING)
		return; /* our RST is on its way; it ends this */
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	if (peer_credit(c))
		c->credit_asked = false;
	switch (h.op) {
	case OP_RESPONSE:
		if (c->st == C_REQUESTED && !(c->pend & PEND_REQUEST)) {
			char ok[VSOCK_LINE_MAX];
			int n = snprintf(ok, sizeof(ok), "OK %u\n", c->hport);

			/* a fresh socket takes a few bytes at once */
			if (write(c->fd, ok, (size_t)n) != n) {
				conn_reset(v, c);
				break;
			}
			c->st = C_OPEN;
			c->readable = true; /* the host may have written already */
			v->opened++;
		} else {
			conn_reset(v, c);
		}
		break;
	case OP_RST:
		conn_free(v, c);
		return;
	case OP_SHUTDOWN:
		if (h.flags & SHUT_FLAG_RCV)
			c->guest_shut_rcv = true;
		if (h.flags & SHUT_FLAG_SEND)
			c->guest_shut_send = true;
		if (c->st != C_OPEN)
			conn_reset(v, c);
		else if (!c->buf_len)
			conn_flush(v, c); /* nothing waits: pass it on now */
		break;
	case OP_RW: {
		uint32_t len = h.len;

		if (c->st != C_OPEN || c->guest_shut_send) {
			conn_reset(v, c);
			break;
		}
		if (len > VSOCK_PKT_MAX ||
		    virtq_chain_read(ch, VSOCK_HDR, v->bounce, len) < len) {
			v->bad_packets++;
			conn_reset(v, c);
			break;
		}
		/* more than the credit we gave: the guest broke the contract */
		if ((uint64_t)(c->rx_cnt - c->fwd_cnt) + len > VSOCK_BUF) {
			v->credit_violations++;
			conn_reset(v, c);
			break;
		}
		conn_deliver(v, c, v->bounce, len);
		break;
	}
	case OP_CREDIT_UPDATE:
		break; /* the header said it all */
	case OP_CREDIT_REQUEST:
		c->pend |= PEND_CREDIT_UPDATE;
		break;
	default:
		v->bad_packets++;
		conn_reset(v, c);
		break;
	}
	if (c->st == C_OPEN && c->fwd_cnt - c->fwd_told >= CREDIT_THRESHOLD)
		c->pend |= PEND_CREDIT_UPDATE;
	conn_arm(v, c);
}

/* --- the receive queue: packets to the guest -------------------------------- */

static void hdr_fill(struct virtio_vsock *v, uint8_t *p, uint32_t gport,
		     uint32_t hport, uint16_t op, uint32_t len, uint32_t flags,
		     struct vconn *c)
{
	memset(p, 0, VSOCK_HDR);
	st64(p, VSOCK_HOST_CID);
	st64(p + 8, v->cid);
	st32(p + 16, hport);
	st32(p + 20, gport);
	st32(p + 24, len);
	st16(p + 28, VSOCK_TYPE_STREAM);
	st16(p + 30, op);
	st32(p + 32, flags);
	if (c) {
		st32(p + 36, VSOCK_BUF);
		st32(p + 40, c->fwd_cnt);
		c->fwd_told = c->fwd_cnt;
		c->pend &= ~(unsigned int)PEND_CREDIT_UPDATE;
	}
}

/*
 * The next packet c owes the guest, into the chain: 1 if one was written
 * (*len bytes), 0 if it owes nothing now.
 */
static int conn_packet(struct virtio_vsock *v, struct vconn *c, uint32_t room,
		       uint32_t *len)
{
	uint8_t hdr[VSOCK_HDR];
	uint16_t op = 0;
	uint32_t flags = 0;

	if (c->pend & PEND_RESPONSE)
		op = OP_RESPONSE;
	else if (c->pend & PEND_REQUEST)
		op = OP_REQUEST;
	if (op) {
		c->pend &= ~(unsigned int)(PEND_RESPONSE | PEND_REQUEST);
		goto control;
	}
	if (conn_wants_data(c) && c->readable) {
		uint32_t n = peer_credit(c);
		ssize_t r;

		if (n > room - VSOCK_HDR)
			n = room - VSOCK_HDR;
		if (n > VSOCK_PKT_MAX)
			n = VSOCK_PKT_MAX;
		if (n) {
			r = read(c->fd, v->bounce, n);
			if (r > 0) {
				hdr_fill(v, hdr, c->gport, c->hport, OP_RW,
					 (uint32_t)r, 0, c);
				virtq_chain_write(&v->chain, 0, hdr, VSOCK_HDR);
				virtq_chain_write(&v->chain, VSOCK_HDR, v->bounce,
						  (size_t)r);
				c->tx_cnt += (uint32_t)r;
				v->to_guest_bytes += (uint64_t)r;
				if ((uint32_t)r < n)
					c->readable = false; /* likely drained */
				*len = VSOCK_HDR + (uint32_t)r;
				return 1;
			}
			if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				/* the host closed its end (at least for writing) */
				c->host_eof = true;
				c->pend |= PEND_SHUTDOWN;
				c->shut_flags |= SHUT_FLAG_SEND |
						 (c->host_hup ? SHUT_FLAG_RCV : 0);
			}
			c->readable = false;
		} else if (!c->credit_asked) {
			c->credit_asked = true;
			c->pend |= PEND_CREDIT_REQUEST;
		}
	}
	if (c->pend & PEND_SHUTDOWN) {
		op = OP_SHUTDOWN;
		flags = c->shut_flags;
		c->pend &= ~(unsigned int)PEND_SHUTDOWN;
	} else if (c->pend & PEND_RST) {
		op = OP_RST;
		c->pend = 0;
	} else if (c->pend & PEND_CREDIT_REQUEST) {
		op = OP_CREDIT_REQUEST;
		c->pend &= ~(unsigned int)PEND_CREDIT_REQUEST;
	} else if (c->pend & PEND_CREDIT_UPDATE) {
		op = OP_CREDIT_UPDATE;
	} else {
		return 0;
	}
control:
	hdr_fill(v, hdr, c->gport, c->hport, op, 0, flags, c);
	virtq_chain_write(&v->chain, 0, hdr, VSOCK_HDR);
	*len = VSOCK_HDR;
	if (op == OP_RST)
		conn_free(v, c); /* its last word */
	return 1;
}

/* Something for the guest: a control packet, or data it has room for. */
static bool conn_has_work(const struct vconn *c)
{
	return c->st != C_FREE && c->st != C_LINE &&
	       (c->pend || (conn_wants_data(c) && c->readable &&
			    (peer_credit(c) || !c->credit_asked)));
}

/* Fill receive buffers with what is owed to the guest. d->lock held. */
static void rx_run(struct virtio_vsock *v)
{
	struct virtio_dev *d = v->dev;
	struct virtq *q = &d->vq[RXQ];
	uint64_t given = 0;
	bool pushed = false;

	if (!virtio_live(d) || !q->ready)
		return;
	/* idle bounds the turns that gave nothing (a read found no data) */
	for (unsigned int idle = 0; given < RX_BUDGET &&
	     idle <= VSOCK_MAX_CONNS;) {
		struct vconn *c = NULL;
		uint32_t len = 0;
		unsigned int i;
		int ret;

		if (!v->norphans) {
			for (i = 0; i < VSOCK_MAX_CONNS; i++) {
				c = &v->conn[(v->rr + i) % VSOCK_MAX_CONNS];
				if (conn_has_work(c))
					break;
			}
			if (i == VSOCK_MAX_CONNS)
				break; /* nothing owed */
			v->rr = (v->rr + i) % VSOCK_MAX_CONNS;
		}
		ret = virtq_pop(q, d->host->mem, &v->chain);
		if (ret == 0)
			break; /* the guest posts more buffers, and kicks */
		if (ret < 0 || v->chain.nread ||
		    v->chain.write_len < VSOCK_HDR) {
			virtio_set_broken(d, "malformed receive buffer");
			return;
		}
		if (v->norphans) {
			struct orphan o = v->orphan[--v->norphans];
			uint8_t hdr[VSOCK_HDR];

			hdr_fill(v, hdr, o.gport, o.hport, OP_RST, 0, 0, NULL);
			virtq_chain_write(&v->chain, 0, hdr, VSOCK_HDR);
			len = VSOCK_HDR;
		} else {
			uint32_t room = v->chain.write_len > UINT32_MAX ?
					UINT32_MAX : (uint32_t)v->chain.write_len;

			if (!conn_packet(v, c, room, &len)) {
				virtq_unpop(q, 1);
				conn_arm(v, c);
				v->rr = (v->rr + 1) % VSOCK_MAX_CONNS;
				idle++;
				continue;
			}
			if (c->st != C_FREE)
				conn_arm(v, c);
			/* the next connection's turn */
			v->rr = (v->rr + 1) % VSOCK_MAX_CONNS;
		}
		virtq_push(q, v->chain.head, len);
		pushed = true;
		given += len;
	}
	if (given >= RX_BUDGET)
		virtio_kick_self(d, RXQ);
	if (pushed)
		virtio_notify_used(d, RXQ);
}

static void tx_run(struct virtio_vsock *v)
{
	struct virtio_dev *d = v->dev;
	struct virtq *q = &d->vq[TXQ];
	unsigned int chains = 0;
	bool pushed = false;
	int ret = 0;

	if (!virtio_live(d) || !q->ready)
		return;
	while (chains++ < TX_BUDGET &&
	       (ret = virtq_pop(q, d->host->mem, &v->chain)) > 0) {
		uint16_t head = v->chain.head;

		tx_packet(v, &v->chain);
		virtq_push(q, head, 0);
		pushed = true;
	}
	if (ret < 0)
		virtio_set_broken(d, "malformed transmit buffer");
	else if (chains > TX_BUDGET)
		virtio_kick_self(d, TXQ);
	if (pushed)
		virtio_notify_used(d, TXQ);
}

static void vsock_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	struct virtio_vsock *v = d->priv;

	pthread_mutex_lock(&d->lock);
	if (qi == TXQ)
		tx_run(v);
	/* new receive buffers, or room freed by what was just sent */
	if (qi != EVQ)
		rx_run(v);
	pthread_mutex_unlock(&d->lock);
}

/* --- the host's sockets -------------------------------------------------------- */

static void host_accept(struct virtio_vsock *v)
{
	for (int i = 0; i < 16; i++) {
		int fd = accept4(v->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vconn *c;

		if (fd < 0)
			return;
		/* no driver yet, or too many: the host sees its end close */
		if (!virtio_live(v->dev) || !(c = conn_alloc(v, fd))) {
			v->refused++;
			close(fd);
			continue;
		}
		conn_arm(v, c);
	}
}

/* "CONNECT <port>\n", a byte at a time: what follows is the stream's. */
static void host_line(struct virtio_vsock *v, struct vconn *c)
{
	unsigned long port;
	char *end;

	for (;;) {
		char ch;
		ssize_t r = read(c->fd, &ch, 1);

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0 || c->line_len + 1 >= VSOCK_LINE_MAX) {
			conn_free(v, c);
			return;
		}
		if (ch == '\n')
			break;
		c->line[c->line_len++] = ch;
	}
	c->line[c->line_len] = 0;
	if (strncmp(c->line, "CONNECT ", 8) || c->line[8] < '0' ||
	    c->line[8] > '9' ||
	    (errno = 0, port = strtoul(c->line + 8, &end, 10), *end) ||
	    errno || port > UINT32_MAX) {
		conn_free(v, c);
		return;
	}
	c->gport = (uint32_t)port;
	/* a host port no other connection to that guest port has */
	for (bool taken = true; taken;) {
		c->hport = v->next_port++;
		if (v->next_port < VSOCK_FIRST_PORT)
			v->next_port = VSOCK_FIRST_PORT;
		taken = false;
		for (unsigned int i = 0; i < VSOCK_MAX_CONNS && !taken; i++)
			taken = &v->conn[i] != c && v->conn[i].st != C_FREE &&
				v->conn[i].gport == c->gport &&
				v->conn[i].hport == c->hport;
	}
	c->st = C_REQUESTED;
	c->pend = PEND_REQUEST;
	c->peer_buf_alloc = 0; /* until the guest says */
	conn_arm(v, c);
}

static void conn_event(struct virtio_vsock *v, struct vconn *c, uint32_t ev)
{
	if (c->st == C_LINE) {
		host_line(v, c);
		return;
	}
	if (c->st == C_REQUESTED) {
		if (ev & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))
			conn_reset(v, c); /* the host stopped waiting */
		return;
	}
	if (c->st != C_OPEN)
		return;
	if (ev & (EPOLLHUP | EPOLLERR))
		c->host_hup = true;
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if ((ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && c->buf_len)
		conn_flush(v, c);
	if (c->st == C_OPEN && c->fwd_cnt - c->fwd_told >= CREDIT_THRESHOLD)
		c->pend |= PEND_CREDIT_UPDATE;
	conn_arm(v, c);
}

static void vsock_events(void *opaque, uint32_t events)
{
	struct virtio_vsock *v = opaque;
	struct epoll_event ev[64];
	int n;

	(void)events;
	pthread_mutex_lock(&v->dev->lock);
	n = epoll_wait(v->epfd, ev, 64, 0);
	for (int i = 0; i < n; i++) {
		uint64_t tok = ev[i].data.u64;
		struct vconn *c;

		if (tok == LISTENER_TOKEN) {
			host_accept(v);
			continue;
		}
		c = &v->conn[tok & 0xffff];
		if ((tok & 0xffff) >= VSOCK_MAX_CONNS || c->st == C_FREE ||
		    c->serial != (uint32_t)(tok >> 16) || c->fd < 0)
			continue; /* closed since */
		conn_event(v, c, ev[i].events);
	}
	rx_run(v);
	pthread_mutex_unlock(&v->dev->lock);
}

/* --- the device -------------------------------------------------------------- */

static size_t vsock_config_size(struct virtio_dev *d)
{
	(void)d;
	return 8;
}

static void vsock_config_read(struct virtio_dev *d, uint64_t off,
			      uint8_t *data, uint32_t len)
{
	struct virtio_vsock *v = d->priv;
	uint8_t cfg[8];

	st64(cfg, v->cid);
	memcpy(data, cfg + off, len);
}

/* The driver reset the device (any thread, lock held): every connection ends. */
static void vsock_reset(struct virtio_dev *d)
{
	struct virtio_vsock *v = d->priv;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conn[i].st != C_FREE)
			conn_free(v, &v->conn[i]);
	v->norphans = 0;
}

static void vsock_destroy(void *priv)
{
	struct virtio_vsock *v = priv;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conn[i].st != C_FREE)
			conn_free(v, &v->conn[i]);
	if (v->epfd >= 0) {
		evloop_del(v->host->loop, v->epfd);
		close(v->epfd);
	}
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->path);
	}
	free(v);
}

static const struct virtio_dev_ops virtio_vsock_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.num_queues = 3,
	.queue_max = VSOCK_QUEUE_SIZE,
	.config_size = vsock_config_size,
	.config_read = vsock_config_read,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
	.destroy = vsock_destroy,
};

/*
 * The listener at uds_path. A stale socket there is replaced; one that
 * someone listens on (another VM's) is not, nor any other file.
 */
static int vsock_listen(struct virtio_vsock *v)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(v->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, v->path, strlen(v->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (lstat(v->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			return -EEXIST;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
		    errno == EAGAIN) {
			close(fd);
			return -EADDRINUSE;
		}
		close(fd);
		unlink(v->path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 128) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	v->listen_fd = fd;
	return 0;
}

int virtio_vsock_create(const struct dev_host *h, const struct vm_vsock *cfg,
			struct virtio_dev **out)
{
	struct virtio_vsock *v = calloc(1, sizeof(*v));
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = LISTENER_TOKEN };
	int ret;

	if (!v)
		return -ENOMEM;
	v->host = h;
	v->cid = cfg->guest_cid;
	v->next_port = VSOCK_FIRST_PORT;
	v->listen_fd = -1;
	snprintf(v->path, sizeof(v->path), "%s", cfg->uds_path);
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (v->epfd < 0) {
		ret = -errno;
		error("vsock: cannot make its epoll set: %s", strerror(-ret));
		vsock_destroy(v);
		return ret;
	}
	ret = vsock_listen(v);
	if (ret) {
		error("vsock: uds_path %s: %s", v->path, ret == -EEXIST ?
		      "exists and is not a socket" : ret == -EADDRINUSE ?
		      "another program listens there" : strerror(-ret));
		vsock_destroy(v);
		return ret;
	}
	if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->listen_fd, &ev) < 0 ||
	    (ret = evloop_add(h->loop, v->epfd, EPOLLIN, vsock_events, v))) {
		ret = ret ? ret : -errno;
		error("vsock: cannot watch its sockets: %s", strerror(-ret));
		close(v->epfd); /* not on the loop */
		v->epfd = -1;
		vsock_destroy(v);
		return ret;
	}
	ret = virtio_dev_create(h, &virtio_vsock_ops, v, &v->dev);
	if (ret)
		return ret;
	host_add_counter(h, "vsock", "conns_opened", &v->opened);
	host_add_counter(h, "vsock", "conns_refused", &v->refused);
	host_add_counter(h, "vsock", "rx_bytes", &v->to_guest_bytes);
	host_add_counter(h, "vsock", "tx_bytes", &v->from_guest_bytes);
	host_add_counter(h, "vsock", "bad_packets", &v->bad_packets);
	host_add_counter(h, "vsock", "credit_violations", &v->credit_violations);
	*out = v->dev;
	return 0;
}
