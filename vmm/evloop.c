// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"

#define EVLOOP_MAX_HANDLERS 64

struct ev_handler {
	int fd;         /* -1: free slot */
	ev_fn fn;
	void *opaque;
};

/*
 * Handlers run on the loop's thread, but devices add, change and remove
 * fds from other threads too (a NIC activated by its driver on a vCPU
 * thread): the table is only changed under the lock.
 */
struct evloop {
	int epfd;
	int wake_fd;           /* eventfd: evloop_stop() from another thread */
	bool stop;             /* accessed atomically */
	pthread_mutex_t lock;
	struct ev_handler h[EVLOOP_MAX_HANDLERS];
};

int evloop_create(struct evloop **out)
{
	struct evloop *l = calloc(1, sizeof(*l));
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ev.data.ptr = NULL; /* the wake fd has no handler */
	if (l->epfd < 0 || l->wake_fd < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &ev) < 0) {
		err = -errno;
		if (l->epfd >= 0)
			close(l->epfd);
		if (l->wake_fd >= 0)
			close(l->wake_fd);
		free(l);
		return err;
	}
	for (int i = 0; i < EVLOOP_MAX_HANDLERS; i++)
		l->h[i].fd = -1;
	pthread_mutex_init(&l->lock, NULL);
	*out = l;
	return 0;
}

void evloop_destroy(struct evloop *l)
{
	if (!l)
		return;
	close(l->epfd);
	close(l->wake_fd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static struct ev_handler *evloop_find(struct evloop *l, int fd)
{
	for (int i = 0; i < EVLOOP_MAX_HANDLERS; i++)
		if (l->h[i].fd == fd)
			return &l->h[i];
	return NULL;
}

int evloop_add(struct evloop *l, int fd, uint32_t events, ev_fn fn,
	       void *opaque)
{
	struct epoll_event ev = { .events = events };
	struct ev_handler *h;
	int ret = 0;

	if (fd < 0 || !fn)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	h = evloop_find(l, -1);
	if (!h) {
		ret = -ENOSPC;
	} else {
		/* ready before epoll can report anything for it */
		*h = (struct ev_handler){ .fd = fd, .fn = fn, .opaque = opaque };
		ev.data.ptr = h;
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			ret = -errno;
			h->fd = -1;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int evloop_mod(struct evloop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	struct ev_handler *h;
	int ret = -ENOENT;

	pthread_mutex_lock(&l->lock);
	h = evloop_find(l, fd);
	if (h) {
		ev.data.ptr = h;
		ret = epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int evloop_del(struct evloop *l, int fd)
{
	struct ev_handler *h;
	int ret = -ENOENT;

	pthread_mutex_lock(&l->lock);
	h = evloop_find(l, fd);
	if (h) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		h->fd = -1;
		ret = 0;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

void evloop_stop(struct evloop *l)
{
	uint64_t one = 1;

	__atomic_store_n(&l->stop, true, __ATOMIC_RELEASE);
	if (write(l->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		debug("event loop: wake: %s", strerror(errno));
}

/* One epoll_wait and its handlers; how many ran, or -errno. */
static int evloop_turn(struct evloop *l, int timeout_ms)
{
	struct epoll_event ev[16];
	int n = epoll_wait(l->epfd, ev, 16, timeout_ms), ran = 0;

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		struct ev_handler *h = ev[i].data.ptr;
		uint64_t v;

		if (!h) {
			if (read(l->wake_fd, &v, sizeof(v)) < 0 &&
			    errno != EAGAIN)
				debug("event loop: %s", strerror(errno));
			continue;
		}
		/* a handler may have removed a later one */
		if (h->fd >= 0) {
			h->fn(h->opaque, ev[i].events);
			ran++;
		}
		if (__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE))
			break;
	}
	return ran;
}

int evloop_run(struct evloop *l)
{
	while (!__atomic_exchange_n(&l->stop, false, __ATOMIC_ACQ_REL)) {
		int n = evloop_turn(l, -1);

		if (n == -EINTR)
			continue;
		if (n < 0) {
			error("epoll_wait: %s", strerror(-n));
			return n;
		}
	}
	return 0;
}

int evloop_pump(struct evloop *l, unsigned int max_turns)
{
	int total = 0;

	for (unsigned int t = 0; t < max_turns; t++) {
		int n = evloop_turn(l, 0);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? n : total;
		total += n;
	}
	return total;
}
