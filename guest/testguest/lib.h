/* SPDX-License-Identifier: MIT */
/*
 * Test guest: the little runtime it has instead of libc (lib.c) -- serial
 * output, printf-style formatting, strings, command-line parameters -- and
 * the interfaces between the guest's other files.
 */
#ifndef TESTGUEST_LIB_H
#define TESTGUEST_LIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define NORETURN __attribute__((noreturn))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))
/* Not cleared at boot: for buffers that are always written before read. */
#define NOINIT __attribute__((section(".bss.noinit")))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* lib.c: output on COM1. Lines end in a plain "\n". */
void serial_init(void);
void putc_serial(char c);
void puts_serial(const char *s);
/* Up to n bytes of s, stopping at a NUL; unprintable bytes as '.'. */
void put_text(const void *s, size_t n);
void kprintf(const char *fmt, ...) PRINTF(1, 2);
void vkprintf(const char *fmt, va_list ap);

/* lib.c: memory and strings (the compiler may call memset/memcpy). */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/*
 * lib.c: the command line is words separated by spaces; "key=value" words
 * are parameters. param() finds the value of the first word "key=..." and
 * its length (a value is not NUL-terminated: it ends at the next space).
 */
void cmdline_set(const char *s);
const char *cmdline_get(void);
const char *param(const char *key, size_t *len);
int param_is(const char *key, const char *value);
/* Decimal or 0x hex, with an optional K/M/G/T suffix (powers of 1024). */
int parse_size(const char *s, size_t len, uint64_t *out);
/* param() as a number; returns 1 if present and valid, 0 if absent, -1 bad */
int param_u64(const char *key, uint64_t *out);

/* main.c: report and stop. */
extern const char *current_test;
void pass(void) NORETURN;
void passf(const char *fmt, ...) PRINTF(1, 2) NORETURN;
void fail(const char *fmt, ...) PRINTF(1, 2) NORETURN;
void shutdown(void) NORETURN;
void triple_fault(void) NORETURN;

/* time.c: nanoseconds from kvmclock (or an estimated TSC without it). */
void time_init(void);
int time_is_kvmclock(void);
uint64_t now_ns(void);
void delay_us(uint64_t us);

/* irq.c: IDT with exception reporting, LAPIC timer. */
void idt_init(void);
int lapic_timer_calibrate(void);   /* 0 if the LAPIC timer is usable */
uint64_t lapic_timer_hz(void);
void sleep_until_ns(uint64_t deadline);

/* smp.c */
void test_smp(void);

/* blk.c, vconsole.c, net.c: the virtio scenarios */
void test_blk(void);
void test_blk_ro(void);
void test_hostile_queue(void);
void test_virtio_console(void);
void test_net(void);

/* Linker-script symbols: the guest image, from its first to last byte. */
extern char _image_start[], _image_end[];

#endif
