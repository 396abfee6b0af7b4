/* SPDX-License-Identifier: MIT */
/*
 * Test guest: the little runtime it has instead of libc (lib.c) -- serial
 * output, printf-style formatting, strings, command-line parameters -- and
 * the interfaces between the guest's other files, including what each
 * architecture's directory provides. hw.h (one per architecture) has the
 * MMIO accessors, barriers and platform constants.
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

/* lib.c: output on the 16550 UART. Lines end in a plain "\n". */
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

/* main.c: the scenarios both architectures share */
void test_hello(void);
void test_cmdline(void);
void test_boottimer(void);
void test_echo(void);
void test_rxcount(void);

/* blk.c, vconsole.c, net.c, blkbench.c: the virtio scenarios */
void test_blk(void);
void test_blk_ro(void);
void test_hostile_queue(void);
void test_hostile_blk(void);
void test_durable(void);
void test_virtio_console(void);
void test_net(void);
void test_hostile_net(void);
void test_blkbench(void);
/* vsock.c */
void test_vsock(void);

/*
 * What each architecture (x86_64/, aarch64/) provides to the rest.
 */
struct scenario {
	const char *name;
	void (*run)(void);
	int signal_early;   /* boot timer signalled before any output */
};

/* The scenarios that exist on this architecture, in the order the hello
 * scenario lists them. */
extern const struct scenario arch_scenarios[];
extern const unsigned int arch_nr_scenarios;
extern const char arch_name[];      /* "x86-64", "aarch64" */
extern const char arch_ram_map[];   /* what describes RAM: "e820", ... */

/* Read the boot information (command line, memory, devices) before
 * anything is printed; arch_boot_check() then fail()s if it was unusable. */
void arch_boot(uintptr_t boot_info);
void arch_boot_check(void);
/* Power off (the normal end of a scenario). */
void shutdown(void) NORETURN;
/* Bytes of RAM the boot information lists, and in how many ranges. */
uint64_t ram_total(unsigned int *ranges);

/* Serial input: serial_rx_start() before the first serial_getc(), which
 * returns a byte or -1 if none is waiting; serial_rx_wait() returns when
 * input may have arrived or at the deadline (or sooner); serial_rx_clear()
 * drops what is waiting, as a UART driver's FIFO reset does. */
void serial_rx_start(void);
int serial_getc(void);
void serial_rx_wait(uint64_t deadline_ns);
void serial_rx_clear(void);

/* The virtio-mmio windows, in the order vmm attached the devices: their
 * base addresses in base[0..max-1]; returns how many there are. */
unsigned int virtio_windows(uint64_t *base, unsigned int max);
/* The BAR 0 of the nth virtio-pci function of that device ID in vmm's
 * layout (devices/virtio_pci.c), or 0: none (no PCI bus here). */
uint64_t virtio_pci_bar(uint32_t device_id, unsigned int nth);

/* Nanoseconds since some point at boot (time_init() first), and a busy
 * wait. */
void time_init(void);
uint64_t now_ns(void);
void delay_us(uint64_t us);
/* Where now_ns() comes from, for reports: "kvmclock", ... */
const char *clock_name(void);

/* Linker-script symbols: the guest image, from its first to last byte. */
extern char _image_start[], _image_end[];

#endif
