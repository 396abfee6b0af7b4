// SPDX-License-Identifier: MIT
/*
 * Test guest, aarch64: time from the architected timer's virtual count
 * (CNTVCT_EL0 at CNTFRQ_EL0 Hz), and sleeping in WFI until the virtual
 * timer (CNTV_*_EL0) or another interrupt wakes the CPU.
 *
 * Interrupts stay masked (PSTATE.I) except for the moment after each WFI:
 * WFI wakes on a pending interrupt even while it is masked, so checking a
 * condition and then waiting cannot miss the interrupt that would change
 * it, and the handlers never run in the middle of the code they share
 * data with.
 */
#include "a64.h"
#include "hw.h"
#include "lib.h"

#define NSEC 1000000000UL
#define CNTV_CTL_ENABLE 1

static uint64_t freq;
static int timer_ready;

void time_init(void)
{
	if (!freq)
		freq = read_sysreg(cntfrq_el0);
	if (!freq)
		fail("CNTFRQ_EL0 reads 0: no timer frequency");
}

uint64_t timer_hz(void)
{
	return freq;
}

const char *clock_name(void)
{
	return "architected timer";
}

uint64_t now_ns(void)
{
	uint64_t t;

	isb();   /* not read ahead of the code before */
	t = read_sysreg(cntvct_el0);
	return t / freq * NSEC + t % freq * NSEC / freq;
}

/* The first count at or after ns (which fits: freq < 2^64 / 10^9). */
static uint64_t ns_to_count(uint64_t ns)
{
	return ns / NSEC * freq + (ns % NSEC * freq + NSEC - 1) / NSEC;
}

void timer_irq(void)
{
	write_sysreg(cntv_ctl_el0, 0);   /* the line drops */
}

void irq_wait_until(uint64_t deadline_ns)
{
	if (!timer_ready) {
		timer_ready = 1;
		time_init();
		gic_enable(plat.timer_intid, 0);
	}
	write_sysreg(cntv_cval_el0, ns_to_count(deadline_ns));
	write_sysreg(cntv_ctl_el0, CNTV_CTL_ENABLE);
	isb();
	__asm__ volatile("dsb sy\n\twfi\n\t"
			 "msr daifclr, #2\n\tisb\n\tmsr daifset, #2"
			 : : : "memory");
}

void sleep_until_ns(uint64_t deadline_ns)
{
	while (now_ns() < deadline_ns)
		irq_wait_until(deadline_ns);
	write_sysreg(cntv_ctl_el0, 0);
}

void delay_us(uint64_t us)
{
	sleep_until_ns(now_ns() + us * 1000);
}
