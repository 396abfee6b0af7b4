// SPDX-License-Identifier: MIT
/*
 * The PL061 GPIO controller through its registers, as Linux's gpio-pl061
 * and gpio-keys drivers use it: the PrimeCell ID the AMBA bus reads, a
 * both-edges interrupt on the power key's pin, pl061_press() raising the
 * line with the pin reading high through its data mask, GPIOIC lowering
 * it, and the release 100 ms later (the host's event loop) a second
 * edge with the pin low; level sensing, masks, output pins, bad input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../../devices/devices.h"
#include "testhost.h"
#include "unit.h"

#define BASE 0x09020000
#define IRQ  2
#define PIN  3
#define BIT  (1U << PIN)

enum { DIR = 0x400, IS = 0x404, IBE = 0x408, IEV = 0x40c, IE = 0x410,
       RIS = 0x414, MIS = 0x418, IC = 0x41c };

struct gpio {
	struct testhost th;
	struct bus mmio;
	struct pl061 *g;
};

static int setup(struct gpio *t)
{
	int ret = testhost_init(&t->th, 1 << 20);

	if (ret)
		return ret;
	bus_init(&t->mmio, "mmio");
	return pl061_create(&t->th.host, &t->mmio, BASE, IRQ, &t->g);
}

static void teardown(struct gpio *t)
{
	testhost_destroy(&t->th);
	bus_destroy(&t->mmio);
}

static uint32_t rd(struct gpio *t, uint64_t off)
{
	uint32_t v = 0xeeeeeeee;

	bus_access(&t->mmio, BASE + off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(struct gpio *t, uint64_t off, uint32_t v)
{
	bus_access(&t->mmio, BASE + off, (uint8_t *)&v, 4, true);
}

/* the data register seen through the address mask of one pin */
static uint32_t pin_data(struct gpio *t, unsigned int pin)
{
	return rd(t, (uint64_t)(1U << pin) << 2);
}

static void on_stop(void *opaque, uint32_t events)
{
	(void)events;
	evloop_stop(opaque);
}

/* Run the host's event loop for ms milliseconds. */
static int run_loop(struct gpio *t, long ms)
{
	struct itimerspec it = { .it_value = { ms / 1000, (ms % 1000) * 1000000L } };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &it, NULL) < 0 ||
	    (ret = evloop_add(t->th.host.loop, fd, EPOLLIN, on_stop,
			      t->th.host.loop))) {
		close(fd);
		return -EIO;
	}
	ret = evloop_run(t->th.host.loop);
	evloop_del(t->th.host.loop, fd);
	close(fd);
	return ret;
}

TEST(primecell_id)
{
	static const uint8_t id[8] = { 0x61, 0x10, 0x04, 0x00,
				       0x0d, 0xf0, 0x05, 0xb1 };
	struct gpio t;

	CHECK(setup(&t) == 0);
	for (unsigned int i = 0; i < 8; i++)
		CHECK_EQ(rd(&t, 0xfe0 + 4 * i), id[i]);
	/* everything at reset: inputs, no interrupts, line low */
	CHECK_EQ(rd(&t, DIR), 0);
	CHECK_EQ(rd(&t, IE), 0);
	CHECK_EQ(rd(&t, RIS), 0);
	CHECK_EQ(t.th.irq_level[IRQ], 0);
	teardown(&t);
}

TEST(press_as_gpio_keys_sees_it)
{
	struct gpio t;
	bool heard = true;

	CHECK(setup(&t) == 0);
	/* the pin unheard: the press happens, nothing is raised */
	CHECK_EQ(pl061_press(t.g, PIN, &heard), 0);
	CHECK(!heard);
	CHECK_EQ(t.th.irq_level[IRQ], 0);
	CHECK_EQ(pin_data(&t, PIN), BIT);
	CHECK_EQ(pl061_press(t.g, PIN, NULL), -EBUSY);
	CHECK_EQ(run_loop(&t, 250), 0);
	CHECK_EQ(pin_data(&t, PIN), 0);

	/* gpio-pl061 for IRQ_TYPE_EDGE_BOTH: edge, both, then unmask */
	wr(&t, IS, 0);
	wr(&t, IBE, BIT);
	wr(&t, IC, BIT);
	wr(&t, IE, BIT);
	CHECK_EQ(t.th.irq_level[IRQ], 0);
	CHECK_EQ(pl061_press(t.g, PIN, &heard), 0);
	CHECK(heard);
	CHECK_EQ(t.th.irq_level[IRQ], 1);
	CHECK_EQ(t.th.irq_raised[IRQ], 1);
	CHECK_EQ(rd(&t, MIS), BIT);
	/* the data mask: this pin high, the others (and their masks) 0 */
	CHECK_EQ(pin_data(&t, PIN), BIT);
	CHECK_EQ(pin_data(&t, 2), 0);
	CHECK_EQ(rd(&t, 0x3fc), BIT);
	/* the handler acknowledges: an edge stays cleared */
	wr(&t, IC, BIT);
	CHECK_EQ(t.th.irq_level[IRQ], 0);
	CHECK_EQ(rd(&t, RIS), 0);
	/* the release, from the event loop: a second edge, the pin low */
	CHECK_EQ(run_loop(&t, 250), 0);
	CHECK_EQ(t.th.irq_level[IRQ], 1);
	CHECK_EQ(t.th.irq_raised[IRQ], 2);
	CHECK_EQ(pin_data(&t, PIN), 0);
	wr(&t, IC, BIT);
	CHECK_EQ(t.th.irq_level[IRQ], 0);
	/* pressed again once released */
	CHECK_EQ(pl061_press(t.g, PIN, NULL), 0);
	CHECK_EQ(t.th.irq_raised[IRQ], 3);
	teardown(&t);
}

TEST(rising_edge_only)
{
	struct gpio t;

	CHECK(setup(&t) == 0);
	wr(&t, IEV, BIT);
	wr(&t, IE, BIT);
	CHECK_EQ(pl061_press(t.g, PIN, NULL), 0);
	CHECK_EQ(t.th.irq_level[IRQ], 1);
	wr(&t, IC, BIT);
	CHECK_EQ(run_loop(&t, 250), 0);
	/* the falling edge is not one it asked for */
	CHECK_EQ(t.th.irq_level[IRQ], 0);
	CHECK_EQ(rd(&t, RIS), 0);
	teardown(&t);
}

TEST(level_high)
{
	struct gpio t;

	CHECK(setup(&t) == 0);
	wr(&t, IS, BIT);
	wr(&t, IEV, BIT);
	wr(&t, IE, BIT);
	CHECK_EQ(t.th.irq_level[IRQ], 0);
	CHECK_EQ(pl061_press(t.g, PIN, NULL), 0);
	CHECK_EQ(t.th.irq_level[IRQ], 1);
	/* a level is not cleared by GPIOIC while it lasts */
	wr(&t, IC, BIT);
	CHECK_EQ(t.th.irq_level[IRQ], 1);
	CHECK_EQ(run_loop(&t, 250), 0);
	CHECK_EQ(t.th.irq_level[IRQ], 0);
	/* masked: the raw status still shows a level-low pin */
	wr(&t, IEV, 0);
	CHECK_EQ(rd(&t, RIS), BIT);
	CHECK_EQ(t.th.irq_level[IRQ], 1);
	wr(&t, IE, 0);
	CHECK_EQ(rd(&t, MIS), 0);
	CHECK_EQ(t.th.irq_level[IRQ], 0);
	teardown(&t);
}

TEST(output_pins_and_bad_input)
{
	struct gpio t;
	uint8_t b = 0xee;

	CHECK(setup(&t) == 0);
	wr(&t, DIR, 0x03);
	/* a write changes only the pins its address selects */
	wr(&t, 0x3fc, 0xff);
	CHECK_EQ(rd(&t, 0x3fc), 0x03);
	wr(&t, 0x04, 0x00);            /* mask 0x01: pin 0 low */
	CHECK_EQ(rd(&t, 0x3fc), 0x02);
	/* byte reads of a register, reads of nothing: defined values */
	bus_access(&t.mmio, BASE + DIR, &b, 1, false);
	CHECK_EQ(b, 0x03);
	CHECK_EQ(rd(&t, 0x500), 0);
	CHECK_EQ(pl061_press(t.g, PL061_PINS, NULL), -EINVAL);
	teardown(&t);
}

UNIT_MAIN("pl061",
	  T(primecell_id), T(press_as_gpio_keys_sees_it), T(rising_edge_only),
	  T(level_high), T(output_pins_and_bad_input))
