/* SPDX-License-Identifier: MIT */
/*
 * Test guest, x86-64: the interfaces between this directory's files.
 */
#ifndef TESTGUEST_X86_H
#define TESTGUEST_X86_H

#include <stdint.h>

#include "lib.h"

/* platform.c */
void triple_fault(void) NORETURN;

/* time.c: kvmclock, or the TSC at an estimated rate without it. */
int time_is_kvmclock(void);

/* irq.c: IDT with exception reporting, LAPIC timer. */
void idt_init(void);
int lapic_timer_calibrate(void);   /* 0 if the LAPIC timer is usable */
uint64_t lapic_timer_hz(void);
void sleep_until_ns(uint64_t deadline);

/* smp.c */
void test_smp(void);

#endif
