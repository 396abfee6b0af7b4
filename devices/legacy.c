// SPDX-License-Identifier: MIT
/*
 * Small PC legacy devices a guest pokes at often: answering them here is
 * cheaper than the unclaimed-access path and gives the guest sane values.
 *
 * CMOS/RTC (index port, data port): a battery-backed clock that reads the
 * host's UTC time in BCD, 24-hour mode, never "update in progress", plus
 * 128 bytes of CMOS RAM. Writes to the clock registers are ignored.
 * POST port (0x80): a write sink, used by Linux for I/O delays.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices.h"
#include "state.h"

enum {
	RTC_SECONDS = 0x00, RTC_MINUTES = 0x02, RTC_HOURS = 0x04,
	RTC_WEEKDAY = 0x06, RTC_DAY = 0x07, RTC_MONTH = 0x08, RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a, RTC_REG_B = 0x0b, RTC_REG_C = 0x0c, RTC_REG_D = 0x0d,
	RTC_CENTURY = 0x32,
};

struct cmos {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[128];
};

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t cmos_read(struct cmos *c, uint8_t reg)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (reg) {
	case RTC_SECONDS: return bcd(tm.tm_sec);
	case RTC_MINUTES: return bcd(tm.tm_min);
	case RTC_HOURS:   return bcd(tm.tm_hour);
	case RTC_WEEKDAY: return bcd(tm.tm_wday + 1);
	case RTC_DAY:     return bcd(tm.tm_mday);
	case RTC_MONTH:   return bcd(tm.tm_mon + 1);
	case RTC_YEAR:    return bcd(tm.tm_year % 100);
	case RTC_CENTURY: return bcd(19 + tm.tm_year / 100);
	case RTC_REG_A:   return 0x26;  /* 32.768 kHz, 1024 Hz; UIP clear */
	case RTC_REG_B:   return 0x02;  /* 24-hour, BCD, no interrupts */
	case RTC_REG_C:   return 0x00;  /* no interrupt flags */
	case RTC_REG_D:   return 0x80;  /* valid RAM and time */
	default:          return c->ram[reg];
	}
}

static void cmos_io(void *dev, uint64_t offset, uint8_t *data, uint32_t len,
		    bool is_write)
{
	struct cmos *c = dev;

	(void)len;
	pthread_mutex_lock(&c->lock);
	if (offset == 0) {
		/* bit 7 of the index port masks NMIs; nothing to mask here */
		if (is_write)
			c->index = data[0] & 0x7f;
		else
			data[0] = c->index;
	} else if (offset == 1) {
		if (!is_write)
			data[0] = cmos_read(c, c->index);
		else if (c->index > RTC_REG_D)
			c->ram[c->index] = data[0];
	}
	pthread_mutex_unlock(&c->lock);
}

/* the clock is the host's; the index and the RAM are the guest's */
static void cmos_save(void *dev, struct sbuf *b)
{
	struct cmos *c = dev;

	pthread_mutex_lock(&c->lock);
	sbuf_put_u8(b, c->index);
	sbuf_put(b, c->ram, sizeof(c->ram));
	pthread_mutex_unlock(&c->lock);
}

static int cmos_restore(void *dev, struct sbuf *r, char *err, size_t errlen)
{
	struct cmos *c = dev;
	uint8_t index = sbuf_get_u8(r), ram[128];

	sbuf_get(r, ram, sizeof(ram));
	if (sbuf_done(r) || index > 0x7f) {
		snprintf(err, errlen, "cmos: malformed state");
		return -EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	c->index = index;
	memcpy(c->ram, ram, sizeof(ram));
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static const struct dev_state_ops cmos_state_ops = {
	.save = cmos_save,
	.restore = cmos_restore,
};

static void cmos_free(void *p)
{
	struct cmos *c = p;

	pthread_mutex_destroy(&c->lock);
	free(c);
}

int cmos_create(const struct dev_host *h, struct bus *bus, uint64_t base)
{
	struct cmos *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	ret = host_add_cleanup(h, cmos_free, c);
	if (ret)
		return ret;
	ret = bus_register(bus, base, 2, "cmos", cmos_io, c);
	return ret ? ret : host_add_state(h, "cmos", &cmos_state_ops, c);
}

/* Counts writes (metrics: "post"/"writes"); reads return zeros. */
static void post_io(void *dev, uint64_t offset, uint8_t *data, uint32_t len,
		    bool is_write)
{
	(void)offset;
	(void)data;
	(void)len;
	if (is_write)
		__atomic_fetch_add((uint64_t *)dev, 1, __ATOMIC_RELAXED);
}

int post_port_create(const struct dev_host *h, struct bus *bus, uint64_t port)
{
	uint64_t *writes = calloc(1, sizeof(*writes));
	int ret;

	if (!writes)
		return -ENOMEM;
	ret = host_add_cleanup(h, free, writes);
	if (ret)
		return ret;
	host_add_counter(h, "post", "writes", writes);
	return bus_register(bus, port, 1, "post", post_io, writes);
}
