// SPDX-License-Identifier: MIT
/*
 * The 8250 UART through its registers, as a guest driver sees it: bytes
 * queued by serial_rx() come out of RBR in order, and a BREAK
 * (serial_break) arrives in its place among them the way Linux's 8250
 * driver expects to find one: the line-status interrupt pending (IER.RLSI),
 * LSR with BI and DR set and FIFOE while it is in the FIFO, BI cleared by
 * reading LSR, a NUL in RBR, then the bytes after it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../devices/devices.h"
#include "testhost.h"
#include "unit.h"

#define BASE 0x3f8
#define IRQ  4

enum { RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5 };
#define LSR_DR    0x01
#define LSR_BI    0x10
#define LSR_FIFOE 0x80
#define IIR_NONE  0x01
#define IIR_RDI   0x04
#define IIR_RLSI  0x06

struct uart {
	struct testhost th;
	struct bus pio;
	struct serial *s;
};

static int setup(struct uart *u)
{
	int ret = testhost_init(&u->th, 1 << 20);

	if (ret)
		return ret;
	bus_init(&u->pio, "pio");
	return serial_create(&u->th.host, &u->pio, BASE, IRQ, &u->s);
}

static void teardown(struct uart *u)
{
	testhost_destroy(&u->th);
	bus_destroy(&u->pio);
}

static uint8_t rd(struct uart *u, unsigned int reg)
{
	uint8_t v = 0xee;

	bus_access(&u->pio, BASE + reg, &v, 1, false);
	return v;
}

static void wr(struct uart *u, unsigned int reg, uint8_t v)
{
	bus_access(&u->pio, BASE + reg, &v, 1, true);
}

TEST(bytes_in_order)
{
	struct uart u;

	CHECK(setup(&u) == 0);
	CHECK_EQ(serial_rx(u.s, (const uint8_t *)"ab", 2), 2);
	CHECK_EQ(rd(&u, LSR) & LSR_DR, LSR_DR);
	CHECK_EQ(rd(&u, RBR), 'a');
	CHECK_EQ(rd(&u, RBR), 'b');
	CHECK_EQ(rd(&u, LSR) & (LSR_DR | LSR_BI), 0);
	teardown(&u);
}

TEST(break_as_linux_reads_it)
{
	struct uart u;
	uint8_t lsr;

	CHECK(setup(&u) == 0);
	wr(&u, FCR, 0x01);              /* FIFOs on, as the 8250 driver runs */
	wr(&u, MCR, 0x08);              /* OUT2: the interrupt reaches the PIC */
	wr(&u, IER, 0x05);              /* RDI | RLSI */
	CHECK_EQ(rd(&u, IIR) & 0x0f, IIR_NONE);
	CHECK(serial_break(u.s));
	CHECK_EQ(serial_rx(u.s, (const uint8_t *)"t", 1), 1);
	CHECK_EQ(u.th.irq_level[IRQ], 1);
	/* the line status outranks received data */
	CHECK_EQ(rd(&u, IIR) & 0x0f, IIR_RLSI);
	lsr = rd(&u, LSR);
	CHECK_EQ(lsr & (LSR_DR | LSR_BI | LSR_FIFOE), LSR_DR | LSR_BI | LSR_FIFOE);
	/* reading LSR reported it: BI clears, the NUL is still there */
	lsr = rd(&u, LSR);
	CHECK_EQ(lsr & (LSR_DR | LSR_BI), LSR_DR);
	CHECK_EQ(rd(&u, IIR) & 0x0f, IIR_RDI);
	CHECK_EQ(rd(&u, RBR), 0);
	/* the break has left the FIFO: no error bits, the key follows */
	lsr = rd(&u, LSR);
	CHECK_EQ(lsr & (LSR_DR | LSR_BI | LSR_FIFOE), LSR_DR);
	CHECK_EQ(rd(&u, RBR), 't');
	CHECK_EQ(rd(&u, IIR) & 0x0f, IIR_NONE);
	CHECK_EQ(u.th.irq_level[IRQ], 0);
	teardown(&u);
}

TEST(break_after_queued_bytes)
{
	struct uart u;

	CHECK(setup(&u) == 0);
	wr(&u, IER, 0x04);
	CHECK_EQ(serial_rx(u.s, (const uint8_t *)"xy", 2), 2);
	CHECK(serial_break(u.s));
	/* BI belongs to the byte at the top of the FIFO only */
	CHECK_EQ(rd(&u, IIR) & 0x0f, IIR_NONE);
	CHECK_EQ(rd(&u, LSR) & LSR_BI, 0);
	CHECK_EQ(rd(&u, RBR), 'x');
	CHECK_EQ(rd(&u, RBR), 'y');
	CHECK_EQ(rd(&u, IIR) & 0x0f, IIR_RLSI);
	CHECK_EQ(rd(&u, LSR) & LSR_BI, LSR_BI);
	CHECK_EQ(rd(&u, RBR), 0);
	CHECK_EQ(rd(&u, LSR) & (LSR_DR | LSR_BI), 0);
	teardown(&u);
}

TEST(two_breaks_each_reported)
{
	struct uart u;

	CHECK(setup(&u) == 0);
	CHECK(serial_break(u.s));
	CHECK(serial_break(u.s));
	CHECK_EQ(rd(&u, LSR) & LSR_BI, LSR_BI);
	CHECK_EQ(rd(&u, RBR), 0);
	CHECK_EQ(rd(&u, LSR) & LSR_BI, LSR_BI);
	CHECK_EQ(rd(&u, RBR), 0);
	CHECK_EQ(rd(&u, LSR) & (LSR_DR | LSR_BI), 0);
	teardown(&u);
}

TEST(fifo_clear_drops_the_break)
{
	struct uart u;

	CHECK(setup(&u) == 0);
	wr(&u, FCR, 0x01);
	CHECK(serial_break(u.s));
	wr(&u, FCR, 0x03);              /* clear RX */
	CHECK_EQ(rd(&u, LSR) & (LSR_DR | LSR_BI | LSR_FIFOE), 0);
	teardown(&u);
}

TEST(full_fifo_loses_the_break)
{
	struct uart u;
	uint8_t fill[1024];

	CHECK(setup(&u) == 0);
	memset(fill, 'z', sizeof(fill));
	CHECK_EQ(serial_rx(u.s, fill, sizeof(fill)), sizeof(fill));
	CHECK(!serial_break(u.s));
	for (size_t i = 0; i < sizeof(fill); i++)
		CHECK_EQ(rd(&u, RBR), 'z');
	CHECK_EQ(rd(&u, LSR) & (LSR_DR | LSR_BI), 0);
	/* the console is told there is room again */
	CHECK(u.th.console_ready > 0);
	teardown(&u);
}

UNIT_MAIN("serial",
	  T(bytes_in_order), T(break_as_linux_reads_it),
	  T(break_after_queued_bytes), T(two_breaks_each_reported),
	  T(fifo_clear_drops_the_break), T(full_fifo_loses_the_break))
