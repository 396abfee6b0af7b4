// SPDX-License-Identifier: MIT
/*
 * vmm test guest: a freestanding "kernel" whose command line
 * "test=NAME [key=value ...]" picks one scenario. Every scenario prints
 *
 *   testguest: ARCH, scenario NAME
 *   ... (informational lines)
 *   TESTGUEST PASS NAME [details]      or      TESTGUEST FAIL NAME: reason
 *
 * on the serial port and stops the VM (except `reset`, which resets it,
 * and `counter`, which never stops). This file is the part both
 * architectures share: start-up, reporting, and the scenarios that read
 * the same on both; x86_64/ and aarch64/ supply the rest (see lib.h).
 * On x86-64 the guest runs under instruction-by-instruction emulation in
 * nested KVM, so every scenario is a few thousand instructions plus its
 * real work.
 */
#include "hw.h"
#include "lib.h"

const char *current_test;

/* ---- reporting ---- */

void pass(void)
{
	kprintf("TESTGUEST PASS %s\n", current_test);
	shutdown();
}

void passf(const char *fmt, ...)
{
	va_list ap;

	kprintf("TESTGUEST PASS %s ", current_test);
	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
	putc_serial('\n');
	shutdown();
}

void fail(const char *fmt, ...)
{
	va_list ap;

	kprintf("TESTGUEST FAIL %s: ", current_test);
	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
	putc_serial('\n');
	shutdown();
}

static void boot_timer_signal(void)
{
	mmio_write8(BOOT_TIMER_ADDR, BOOT_TIMER_MAGIC);
}

/* "1.234" for a number of microseconds shown in ms */
#define MS_FMT "%lu.%03lu ms"
#define MS_ARGS(us) (us) / 1000, (us) % 1000

/* ---- the scenarios both architectures share ---- */

void test_hello(void)
{
	/* signalled in testguest_main(), before any serial output */
	uint64_t since_start = mmio_read64(BOOT_TIMER_ADDR);
	uint64_t since_run = mmio_read64(BOOT_TIMER_ADDR + 8);
	unsigned int ranges;
	uint64_t ram = ram_total(&ranges);

	if (since_start || since_run)
		kprintf("Hello from the vmm test guest! boot timer: " MS_FMT
			" since vmm start, " MS_FMT " since first KVM_RUN\n",
			MS_ARGS(since_start), MS_ARGS(since_run));
	else
		kprintf("Hello from the vmm test guest! (no boot timer "
			"at 0x%lx)\n", BOOT_TIMER_ADDR);
	kprintf("testguest: %lu.%lu MiB of RAM in %u %s range(s), "
		"cmdline \"%s\"\n", ram >> 20, ((ram & 0xfffff) * 10) >> 20,
		ranges, arch_ram_map, cmdline_get());
	/* the list tests/vm reads to learn what this guest can do */
	kprintf("testguest: other scenarios: test=");
	for (unsigned int i = 0, n = 0; i < arch_nr_scenarios; i++)
		if (arch_scenarios[i].run != test_hello)
			kprintf(n++ ? " %s" : "%s", arch_scenarios[i].name);
	putc_serial('\n');
	pass();
}

void test_cmdline(void)
{
	kprintf("cmdline: %s\n", cmdline_get());
	pass();
}

void test_boottimer(void)
{
	uint64_t start0 = mmio_read64(BOOT_TIMER_ADDR);
	uint64_t run0 = mmio_read64(BOOT_TIMER_ADDR + 8);
	uint64_t since_start, since_run;

	boot_timer_signal();
	since_start = mmio_read64(BOOT_TIMER_ADDR);
	since_run = mmio_read64(BOOT_TIMER_ADDR + 8);
	kprintf("boottimer: %lu us since vmm start, %lu us since first "
		"KVM_RUN (before the signal: %lu, %lu)\n",
		since_start, since_run, start0, run0);
	if (start0 || run0)
		fail("boot timer read %lu/%lu before it was signalled",
		     start0, run0);
	if (!since_start || !since_run)
		fail("boot timer read zero after the signal (%lu, %lu)",
		     since_start, since_run);
	if (since_start < since_run)
		fail("since vmm start (%lu us) < since first KVM_RUN (%lu us)",
		     since_start, since_run);
	pass();
}

/*
 * echo: read one line from the serial port and print it back, proving
 * console input reaches the guest. Gives up after 20 s.
 */
void test_echo(void)
{
	char line[128];
	unsigned int n = 0;
	uint64_t deadline;

	time_init();
	serial_rx_start();
	kprintf("echo: ready\n");
	deadline = now_ns() + 20ULL * 1000000000ULL;
	while (n < sizeof(line) - 1) {
		int c = serial_getc();

		if (c < 0) {
			if (now_ns() > deadline)
				fail("no complete line within 20 s (got %u bytes)", n);
			serial_rx_wait(deadline);
			continue;
		}
		if (c == '\r' || c == '\n')
			break;
		line[n++] = (char)c;
	}
	line[n] = 0;
	kprintf("echo: %s\n", line);
	pass();
}

/*
 * rxcount: count the bytes that arrive on the serial port until a '.',
 * proving console input is neither lost nor duplicated under load.
 */
void test_rxcount(void)
{
	/* clear=N: after N bytes, clear the FIFO as a UART driver's probe does */
	uint64_t n = 0, deadline, clear = 0;

	uint64_t delay = 0;

	param_u64("clear", &clear);
	/* delay=MS: read nothing for a while, so input backs up in vmm */
	param_u64("delay", &delay);
	time_init();
	kprintf("rxcount: ready\n");
	if (delay)
		delay_us(delay * 1000);
	serial_rx_start();
	deadline = now_ns() + 60ULL * 1000000000ULL;
	for (;;) {
		int c = serial_getc();

		if (c < 0) {
			if (now_ns() > deadline)
				fail("no '.' within 60 s (%lu bytes so far)", n);
			serial_rx_wait(deadline);
			continue;
		}
		if (c == '.')
			break;
		if (++n == clear) {
			serial_rx_clear();
			kprintf("rxcount: cleared the FIFO after %lu bytes\n", n);
		}
	}
	kprintf("rxcount: %lu bytes\n", n);
	pass();
}

/* ---- start-up ---- */

/* Called by the architecture's entry code, on the boot CPU, with its boot
 * information (PVH start_info, device tree, ...). */
void testguest_main(uintptr_t boot_info);
void testguest_main(uintptr_t boot_info)
{
	const struct scenario *sc = NULL;
	static char name[64] NOINIT;
	const char *v;
	size_t len = 0;

	cmdline_set(NULL);
	arch_boot(boot_info);

	v = param("test", &len);
	if (v) {
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, v, len);
		name[len] = '\0';
		for (size_t i = 0; i < arch_nr_scenarios; i++)
			if (!memcmp(arch_scenarios[i].name, name, len + 1))
				sc = &arch_scenarios[i];
	} else {
		memcpy(name, "(none)", 7);
	}
	if (sc && sc->signal_early)
		boot_timer_signal();

	serial_init();
	arch_boot_check();
	kprintf("testguest: %s, scenario %s\n", arch_name, name);
	if (!sc) {
		kprintf("TESTGUEST FAIL unknown: %s\n", name);
		shutdown();
	}
	current_test = sc->name;
	sc->run();
	pass();
}
