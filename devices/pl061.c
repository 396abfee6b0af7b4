// SPDX-License-Identifier: MIT
/*
 * ARM PrimeCell PL061 GPIO controller (ARM DDI 0190B): eight pins whose
 * inputs the host drives, with the part's interrupt logic (edge or level,
 * one or both edges, per-pin masks, one combined level-high line), so
 * that Linux's gpio-pl061 and gpio-keys drivers see a button. The host's
 * button is pl061_press(): the pin goes high, and low again PRESS_MS
 * later from a timer on the event loop, long enough for gpio-keys'
 * software debounce to read it pressed.
 *
 * Register accesses come from vCPU threads, presses and releases from
 * the event loop's thread: one lock covers the state.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "devices.h"
#include "state.h"

#define GPIODATA   0x000   /* 0x000-0x3fc: address bits [9:2] mask the data */
#define GPIODIR    0x400   /* 1: output */
#define GPIOIS     0x404   /* interrupt sense, 1: level */
#define GPIOIBE    0x408   /* 1: both edges */
#define GPIOIEV    0x40c   /* 1: rising edge or high level */
#define GPIOIE     0x410   /* interrupt mask, 1: enabled */
#define GPIORIS    0x414   /* raw interrupt status */
#define GPIOMIS    0x418   /* masked interrupt status */
#define GPIOIC     0x41c   /* interrupt clear (edges), write-only */
#define GPIOAFSEL  0x420   /* alternate function: kept, no effect */
#define GPIO_ID    0xfe0   /* PeriphID0-3, PCellID0-3, a byte per word */

#define PRESS_MS   100

/* "arm,primecell" identification: peripheral 0x061, ARM, revision 1 */
static const uint8_t id_regs[8] = { 0x61, 0x10, 0x04, 0x00,
				    0x0d, 0xf0, 0x05, 0xb1 };

struct pl061 {
	const struct dev_host *host;
	unsigned int irq;
	pthread_mutex_t lock;
	uint8_t in;        /* levels the host drives on the pins */
	uint8_t out;       /* what the guest wrote for its output pins */
	uint8_t dir, is, ibe, iev, ie, ris, afsel;
	uint8_t pins;      /* the pins' levels as last seen by the logic */
	int line;          /* the level on the interrupt line */
	int timer_fd;      /* releases a pressed pin */
	uint8_t held;      /* pins pressed, until the timer fires */
};

static uint8_t pin_levels(const struct pl061 *g)
{
	return (uint8_t)((g->out & g->dir) | (g->in & ~g->dir));
}

/*
 * Latch edges seen since the last update, recompute level-sensitive
 * status, and drive the line. With the lock held.
 */
static void update(struct pl061 *g)
{
	uint8_t now = pin_levels(g), changed = now ^ g->pins;
	uint8_t rising = changed & now, falling = changed & (uint8_t)~now;
	uint8_t edge = (uint8_t)((g->ibe & changed) |
				 (~g->ibe & g->iev & rising) |
				 (~g->ibe & ~g->iev & falling));
	uint8_t level = (uint8_t)~(now ^ g->iev); /* high & IEV, low & !IEV */
	int line;

	g->pins = now;
	g->ris = (uint8_t)((g->ris | edge) & ~g->is) | (level & g->is);
	line = (g->ris & g->ie) != 0;
	if (line != g->line) {
		g->line = line;
		host_set_irq(g->host, g->irq, line);
	}
}

static uint32_t reg_read(struct pl061 *g, uint64_t off)
{
	if (off < GPIODIR)
		return pin_levels(g) & (uint8_t)(off >> 2);
	switch (off) {
	case GPIODIR:   return g->dir;
	case GPIOIS:    return g->is;
	case GPIOIBE:   return g->ibe;
	case GPIOIEV:   return g->iev;
	case GPIOIE:    return g->ie;
	case GPIORIS:   return g->ris;
	case GPIOMIS:   return g->ris & g->ie;
	case GPIOAFSEL: return g->afsel;
	}
	if (off >= GPIO_ID && off < GPIO_ID + 4 * sizeof(id_regs) && !(off & 3))
		return id_regs[(off - GPIO_ID) / 4];
	return 0;
}

static void reg_write(struct pl061 *g, uint64_t off, uint8_t v)
{
	if (off < GPIODIR) {
		uint8_t mask = (uint8_t)(off >> 2);

		g->out = (uint8_t)((g->out & ~mask) | (v & mask));
		return;
	}
	switch (off) {
	case GPIODIR:   g->dir = v; break;
	/*
	 * A sense or edge change is not itself an edge: let the new
	 * settings start from the pins as they are now.
	 */
	case GPIOIS:    g->is = v; break;
	case GPIOIBE:   g->ibe = v; break;
	case GPIOIEV:   g->iev = v; break;
	case GPIOIE:    g->ie = v; break;
	case GPIOIC:    g->ris &= (uint8_t)~(v & ~g->is); break;
	case GPIOAFSEL: g->afsel = v; break;
	default:        break;  /* read-only or nothing there */
	}
}

static void pl061_io(void *dev, uint64_t offset, uint8_t *data, uint32_t len,
		     bool is_write)
{
	struct pl061 *g = dev;
	uint32_t v;

	pthread_mutex_lock(&g->lock);
	if (is_write) {
		reg_write(g, offset, data[0]);
		update(g);
	} else {
		v = reg_read(g, offset);
		/* registers are 32 bits wide, the value in the low byte */
		memset(data, 0, len);
		for (uint32_t i = 0; i < len && i < 4; i++)
			data[i] = (uint8_t)(v >> (8 * i));
	}
	pthread_mutex_unlock(&g->lock);
}

/* The press is over: the held pins go low again. */
static void on_release(void *opaque, uint32_t events)
{
	struct pl061 *g = opaque;
	uint64_t n;

	(void)events;
	if (read(g->timer_fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&g->lock);
	g->in &= (uint8_t)~g->held;
	g->held = 0;
	update(g);
	pthread_mutex_unlock(&g->lock);
}

int pl061_press(struct pl061 *g, unsigned int pin, bool *heard)
{
	struct itimerspec t = { .it_value = { 0, PRESS_MS * 1000000L } };
	uint8_t bit = (uint8_t)(1U << pin);
	int ret = 0;

	if (pin >= PL061_PINS)
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	if (g->held & bit) {
		ret = -EBUSY;
	} else if (timerfd_settime(g->timer_fd, 0, &t, NULL) < 0) {
		ret = -errno;
	} else {
		/* anything that will notice: an input with its interrupt on */
		if (heard)
			*heard = !(g->dir & bit) && (g->ie & bit);
		g->held |= bit;
		g->in |= bit;
		update(g);
	}
	pthread_mutex_unlock(&g->lock);
	return ret;
}

/* --- snapshot state ------------------------------------------------------- */

static void pl061_save(void *dev, struct sbuf *b)
{
	struct pl061 *g = dev;

	pthread_mutex_lock(&g->lock);
	/* a press in progress is saved released: its timer stays here */
	sbuf_put_u8(b, (uint8_t)(g->in & ~g->held));
	sbuf_put_u8(b, g->out);
	sbuf_put_u8(b, g->dir);
	sbuf_put_u8(b, g->is);
	sbuf_put_u8(b, g->ibe);
	sbuf_put_u8(b, g->iev);
	sbuf_put_u8(b, g->ie);
	sbuf_put_u8(b, g->ris);
	sbuf_put_u8(b, g->afsel);
	sbuf_put_u8(b, g->pins);
	pthread_mutex_unlock(&g->lock);
}

static int pl061_restore(void *dev, struct sbuf *r, char *err, size_t errlen)
{
	struct pl061 *g = dev;
	uint8_t v[10];

	for (unsigned int i = 0; i < sizeof(v); i++)
		v[i] = sbuf_get_u8(r);
	if (sbuf_done(r)) {
		snprintf(err, errlen, "gpio: malformed state");
		return -EINVAL;
	}
	pthread_mutex_lock(&g->lock);
	g->in = v[0];
	g->held = 0;
	g->out = v[1];
	g->dir = v[2];
	g->is = v[3];
	g->ibe = v[4];
	g->iev = v[5];
	g->ie = v[6];
	g->ris = v[7];
	g->afsel = v[8];
	g->pins = v[9];
	/*
	 * Then the logic runs once (a press saved released is its falling
	 * edge) and drives the line whatever level it had: not every
	 * interrupt controller's state holds line levels (a VGICv2's)
	 */
	g->line = -1;
	update(g);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

static const struct dev_state_ops pl061_state_ops = {
	.save = pl061_save,
	.restore = pl061_restore,
};

static void pl061_free(void *p)
{
	struct pl061 *g = p;

	if (g->timer_fd >= 0) {
		evloop_del(g->host->loop, g->timer_fd);
		close(g->timer_fd);
	}
	pthread_mutex_destroy(&g->lock);
	free(g);
}

int pl061_create(const struct dev_host *h, struct bus *bus, uint64_t base,
		 unsigned int irq, struct pl061 **out)
{
	struct pl061 *g = calloc(1, sizeof(*g));
	int ret;

	if (!g)
		return -ENOMEM;
	g->host = h;
	g->irq = irq;
	pthread_mutex_init(&g->lock, NULL);
	g->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ret = g->timer_fd < 0 ? -errno : 0;
	if (ret) {
		pthread_mutex_destroy(&g->lock);
		free(g);
		return ret;
	}
	if ((ret = host_add_cleanup(h, pl061_free, g)))
		return ret;
	if ((ret = evloop_add(h->loop, g->timer_fd, EPOLLIN, on_release, g)))
		return ret;
	ret = bus_register(bus, base, PL061_SIZE, "gpio", pl061_io, g);
	if (!ret) {
		char name[DEV_STATE_NAME_MAX];

		snprintf(name, sizeof(name), "gpio@0x%" PRIx64, base);
		ret = host_add_state(h, name, &pl061_state_ops, g);
	}
	if (!ret)
		*out = g;
	return ret;
}
