// SPDX-License-Identifier: MIT
/*
 * Test guest: the scenarios of vmm's debugging features (tests/vm/debug.sh).
 *
 *   debug  something for gdb to work on: debug_tick() runs five times,
 *          adding its argument to debug_counter, then debug_watched is
 *          written once; the PASS line reports debug_poke (0 unless a
 *          debugger set it) and the first byte of debug_spare(), which
 *          never runs: a software breakpoint there shows as 0xcc.
 *   break  a serial BREAK (vmm ctl sysrq, Ctrl-A b): the line-status
 *          interrupt pending in IIR, LSR.BI with a NUL at the top of the
 *          FIFO, BI gone once LSR was read, then the byte that follows.
 *   nmi    an NMI from vmm (vmm ctl nmi) reaches the NMI handler.
 */
#include "hw.h"
#include "x86.h"

#define RBR       (COM1_PORT + 0)
#define IER       (COM1_PORT + 1)
#define IIR       (COM1_PORT + 2)
#define LSR       (COM1_PORT + 5)
#define IER_RLSI  0x04
#define IIR_MASK  0x0f
#define IIR_RLSI  0x06
#define LSR_DR    0x01
#define LSR_BI    0x10
#define WAIT_NS   30000000000ULL

/* What gdb looks at: kept in memory (volatile), with symbols. */
volatile uint64_t debug_counter;
volatile uint64_t debug_watched;
volatile uint64_t debug_poke;

void debug_tick(uint64_t n);
void debug_tick(uint64_t n)
{
	debug_counter += n;
}

void debug_spare(void);
void debug_spare(void)
{
	debug_poke++;
}

/* called through a pointer the compiler cannot see through: never inlined */
static void (*volatile tick)(uint64_t) = debug_tick;
static void (*volatile spare)(void) = debug_spare;

void test_debug(void)
{
	kprintf("debug: ready\n");
	for (uint64_t i = 1; i <= 5; i++)
		tick(i);
	debug_watched = debug_counter * 2;
	passf("counter=%lu watched=%lu poke=%lu spare=0x%02x", debug_counter,
	      debug_watched, debug_poke, *(volatile const uint8_t *)spare);
}

/* Wait for cond on the serial port, up to WAIT_NS. */
static uint8_t wait_port(uint16_t port, uint8_t mask, uint8_t want,
			 const char *what)
{
	uint64_t deadline = now_ns() + WAIT_NS;
	uint8_t v;

	while (((v = inb(port)) & mask) != want) {
		if (now_ns() > deadline)
			fail("no %s within 30 s (port 0x%x reads 0x%x)", what,
			     port, v);
		cpu_relax();
	}
	return v;
}

void test_break(void)
{
	uint8_t lsr, nul, after, key;

	time_init();
	/* line-status interrupts on: IIR says when the break arrives (the
	 * interrupt itself stays masked with IF clear) */
	outb(IER, IER_RLSI);
	kprintf("break: ready\n");
	wait_port(IIR, IIR_MASK, IIR_RLSI, "line-status interrupt in IIR");
	lsr = inb(LSR);
	if ((lsr & (LSR_BI | LSR_DR)) != (LSR_BI | LSR_DR))
		fail("IIR says line status, LSR is 0x%x (want BI and DR)", lsr);
	after = inb(LSR);
	if (after & LSR_BI)
		fail("LSR.BI still set after LSR was read (0x%x)", after);
	nul = inb(RBR);
	if (nul)
		fail("the break's byte is 0x%x, not a NUL", nul);
	wait_port(LSR, LSR_DR, LSR_DR, "byte after the break");
	key = inb(RBR);
	outb(IER, 0);
	passf("lsr=0x%x then '%c'", lsr, key >= 0x20 && key < 0x7f ? key : '?');
}

void test_nmi(void)
{
	uint64_t deadline;

	time_init();
	nmi_handler_init();
	kprintf("nmi: ready\n");
	deadline = now_ns() + WAIT_NS;
	while (!nmi_count()) {
		if (now_ns() > deadline)
			fail("no NMI within 30 s");
		cpu_relax();
	}
	passf("nmis=%lu", nmi_count());
}
