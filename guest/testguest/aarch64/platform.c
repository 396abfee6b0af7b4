// SPDX-License-Identifier: MIT
/*
 * vmm test guest, aarch64 platform: an arm64 Image (entry.S) that finds
 * its RAM, CPUs, GIC, timer, UART, virtio-mmio devices and command line in
 * the device tree vmm hands it in x0, reads serial input from the UART's
 * interrupt (through the GIC) and powers off or resets through PSCI; plus
 * the scenarios whose arm64 form differs from the x86 one (memory map,
 * MMIO exits, PSCI reset, unclaimed MMIO, the architected-timer counter).
 *
 * Ctrl-Alt-Del on arm64 is the power key: a gpio-keys KEY_POWER button
 * on a PL061 GPIO controller (`cad`); pvpanic is the qemu,pvpanic-mmio
 * node's register (`pvpanic`).
 */
#include "a64.h"
#include "fdt.h"
#include "hw.h"
#include "lib.h"

#define KEY_POWER 116   /* linux,code of the power key */

struct platform plat;
uint64_t uart_base = UART_DEFAULT_ADDR;
unsigned int uart_shift, uart_width = 1;

/* ---- PSCI ---- */

int64_t psci_call(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	/* SMCCC: x4..x17 are not preserved */
	if (plat.psci_smc)
		__asm__ volatile("smc #0"
				 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
				 : : "x4", "x5", "x6", "x7", "x8", "x9", "x10",
				   "x11", "x12", "x13", "x14", "x15", "x16",
				   "x17", "memory");
	else
		__asm__ volatile("hvc #0"
				 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
				 : : "x4", "x5", "x6", "x7", "x8", "x9", "x10",
				   "x11", "x12", "x13", "x14", "x15", "x16",
				   "x17", "memory");
	return (int64_t)x0;
}

const char *psci_strerror(int64_t ret)
{
	static const char *const names[] = {
		"SUCCESS", "NOT_SUPPORTED", "INVALID_PARAMETERS", "DENIED",
		"ALREADY_ON", "ON_PENDING", "INTERNAL_FAILURE", "NOT_PRESENT",
		"DISABLED", "INVALID_ADDRESS",
	};

	return ret <= 0 && -ret < (int64_t)ARRAY_SIZE(names) ? names[-ret] : "?";
}

void shutdown(void)
{
	psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
	for (;;)   /* PSCI refused: nothing else can stop the VM */
		__asm__ volatile("wfi");
}

/* ---- the device tree ---- */

static uintptr_t fdt_addr;
static const char *fdt_error;

static int streq(const char *a, const char *b)
{
	return !memcmp(a, b, strlen(b) + 1);
}

/* Interrupt specifier <type number flags> -> GIC interrupt ID */
static int irq_of(const struct dt *f, const struct dt_node *n,
		  unsigned int index, unsigned int *intid)
{
	uint32_t len;
	const uint8_t *p = dt_getprop(f, n, "interrupts", &len);
	uint64_t type, num;

	if (!p || len < 12 * (index + 1))
		return -1;
	type = dt_cells(p + 12 * index, 1);
	num = dt_cells(p + 12 * index + 4, 1);
	if (type > 1 || num >= (type ? 16U : 988U))
		return -1;
	*intid = (unsigned int)(type ? 16 + num : 32 + num);   /* PPI : SPI */
	return 0;
}

/* The i-th (address, size) pair of n's reg, with the root's cell sizes. */
static int reg_of(const struct dt *f, const struct dt_node *n,
		  unsigned int i, uint32_t ac, uint32_t sc, uint64_t *addr,
		  uint64_t *size)
{
	uint32_t len, w = 4 * (ac + sc);
	const uint8_t *p = dt_getprop(f, n, "reg", &len);

	if (!p || ac < 1 || ac > 2 || sc > 2 || len < w * (i + 1))
		return -1;
	*addr = dt_cells(p + w * i, ac);
	*size = sc ? dt_cells(p + w * i + 4 * ac, sc) : 0;
	return 0;
}

static const char *read_node(const struct dt *f, const struct dt_node *n,
			     uint32_t ac, uint32_t sc)
{
	uint64_t a, s;
	uint32_t len;

	if (n->depth == 1 && streq(n->name, "chosen")) {
		const char *args = dt_getprop(f, n, "bootargs", &len);

		if (args && (!len || args[len - 1]))
			return "/chosen/bootargs is not a string";
		if (args)
			cmdline_set(args);
		return NULL;
	}
	if (n->depth == 1 && dt_prop_is(f, n, "device_type", "memory")) {
		for (unsigned int i = 0; !reg_of(f, n, i, ac, sc, &a, &s); i++) {
			if (plat.nr_ram == MAX_RAM_RANGES)
				return "too many memory ranges";
			plat.ram[plat.nr_ram][0] = a;
			plat.ram[plat.nr_ram][1] = s;
			plat.nr_ram++;
		}
		return NULL;
	}
	if (n->depth == 2 && streq(n->path[1], "cpus") &&
	    dt_prop_is(f, n, "device_type", "cpu")) {
		const uint8_t *r = dt_getprop(f, n, "reg", &len);

		if (!r || (len != 4 && len != 8))
			return "a cpu node without a 1- or 2-cell reg";
		if (plat.ncpus == MAX_CPUS)
			return "more CPUs than the guest has stacks for";
		plat.mpidr[plat.ncpus++] = dt_cells(r, len / 4) & MPIDR_AFF_MASK;
		return NULL;
	}
	/* a gpio-keys button: KEY_POWER on <&gpio pin flags> */
	if (n->depth == 2 && dt_prop_u32(f, n, "linux,code", 0) == KEY_POWER) {
		const uint8_t *g = dt_getprop(f, n, "gpios", &len);

		if (!g || len != 12)
			return "the KEY_POWER button has no <phandle pin flags> gpios";
		plat.power_gpio = (uint32_t)dt_cells(g, 1);
		plat.power_pin = (int)dt_cells(g + 4, 1);
		return NULL;
	}
	if (n->depth != 1)
		return NULL;
	if (dt_is_compatible(f, n, "arm,psci-0.2") ||
	    dt_is_compatible(f, n, "arm,psci-1.0")) {
		plat.psci = 1;
		plat.psci_smc = dt_prop_is(f, n, "method", "smc");
		if (!plat.psci_smc && !dt_prop_is(f, n, "method", "hvc"))
			return "PSCI method is neither hvc nor smc";
	} else if (dt_is_compatible(f, n, "arm,cortex-a15-gic") ||
		   dt_is_compatible(f, n, "arm,gic-400")) {
		plat.gic = 2;
		if (reg_of(f, n, 0, ac, sc, &plat.gicd, &s) ||
		    reg_of(f, n, 1, ac, sc, &plat.gicc, &s))
			return "GICv2 node without distributor and CPU interface";
	} else if (dt_is_compatible(f, n, "arm,gic-v3")) {
		plat.gic = 3;
		if (reg_of(f, n, 0, ac, sc, &plat.gicd, &s) ||
		    reg_of(f, n, 1, ac, sc, &plat.gicr, &plat.gicr_size))
			return "GICv3 node without distributor and redistributors";
	} else if (dt_is_compatible(f, n, "arm,armv8-timer")) {
		/* secure, non-secure, virtual, hypervisor: the third */
		if (irq_of(f, n, 2, &plat.timer_intid))
			return "timer node without a virtual timer interrupt";
	} else if (dt_is_compatible(f, n, "ns16550a") ||
		   dt_is_compatible(f, n, "ns16550")) {
		if (reg_of(f, n, 0, ac, sc, &a, &s) ||
		    irq_of(f, n, 0, &plat.uart_intid))
			return "UART node without reg or interrupts";
		uart_base = a;
		uart_shift = dt_prop_u32(f, n, "reg-shift", 0);
		uart_width = dt_prop_u32(f, n, "reg-io-width", 1);
		if (uart_shift > 2 || (uart_width != 1 && uart_width != 4))
			return "UART reg-shift or reg-io-width not supported";
	} else if (dt_is_compatible(f, n, "arm,pl061")) {
		if (reg_of(f, n, 0, ac, sc, &plat.gpio, &s) ||
		    irq_of(f, n, 0, &plat.gpio_intid))
			return "PL061 node without reg or interrupts";
		plat.gpio_phandle = dt_prop_u32(f, n, "phandle", 0);
	} else if (dt_is_compatible(f, n, "qemu,pvpanic-mmio")) {
		if (reg_of(f, n, 0, ac, sc, &plat.pvpanic, &s) || s < 1)
			return "qemu,pvpanic-mmio node without reg";
	} else if (dt_is_compatible(f, n, "virtio,mmio")) {
		if (reg_of(f, n, 0, ac, sc, &a, &s))
			return "virtio,mmio node without reg";
		if (plat.nr_virtio < MAX_VIRTIO)
			plat.virtio[plat.nr_virtio++] = a;
	}
	return NULL;
}

static const char *read_fdt(const void *blob)
{
	struct dt f;
	struct dt_node n;
	const char *err = dt_open(&f, blob);
	uint32_t ac = 2, sc = 1;   /* the specification's defaults */
	int r;

	if (err)
		return err;
	memset(&n, 0, sizeof(n));
	while ((r = dt_next_node(&f, &n)) > 0) {
		if (n.depth == 0) {
			ac = dt_prop_u32(&f, &n, "#address-cells", 2);
			sc = dt_prop_u32(&f, &n, "#size-cells", 1);
			continue;
		}
		if ((err = read_node(&f, &n, ac, sc)))
			return err;
	}
	if (r < 0)
		return "malformed structure block";
	if (!plat.nr_ram)
		return "no memory node";
	if (!plat.ncpus)
		return "no /cpus/cpu nodes";
	if (!plat.gic)
		return "no GICv2 or GICv3 node";
	if (!plat.timer_intid)
		return "no arm,armv8-timer node";
	if (!plat.uart_intid)
		return "no ns16550a UART node";
	return NULL;
}

const char arch_ram_map[] = "device-tree memory";

uint64_t ram_total(unsigned int *ranges)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < plat.nr_ram; i++)
		sum += plat.ram[i][1];
	*ranges = plat.nr_ram;
	return sum;
}

/* vmm's aarch64 platform has no PCI bus (yet). */
uint64_t virtio_pci_bar(uint32_t device_id, unsigned int nth)
{
	(void)device_id;
	(void)nth;
	return 0;
}

unsigned int virtio_windows(uint64_t *base, unsigned int max)
{
	unsigned int n = plat.nr_virtio < max ? plat.nr_virtio : max;

	for (unsigned int i = 0; i < n; i++)
		base[i] = plat.virtio[i];
	return n;
}

/* ---- serial input: the UART's receive interrupt fills a ring ---- */

#define UART_RBR  0
#define UART_THR  0
#define UART_IER  1
#define UART_FCR  2
#define UART_MCR  4
#define UART_LSR  5
#define IER_RDI   0x01
#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10
#define LSR_DR    0x01
#define RX_RING   4096

static uint8_t rx_ring[RX_RING];
static unsigned int rx_head, rx_count;
static int rx_on, rx_throttled;

/*
 * Called with the interrupt taken: move what the UART holds into the ring.
 * A full ring turns the receive interrupt off until serial_getc() has made
 * room, so input waits in vmm rather than being dropped.
 */
void uart_irq(void)
{
	while (uart_read(UART_LSR) & LSR_DR) {
		if (rx_count == RX_RING) {
			uart_write(UART_IER, 0);
			rx_throttled = 1;
			return;
		}
		rx_ring[(rx_head + rx_count) % RX_RING] = uart_read(UART_RBR);
		rx_count++;
	}
}

void serial_rx_start(void)
{
	if (rx_on)
		return;
	rx_on = 1;
	gic_init();
	gic_enable(plat.uart_intid, 0);
	uart_write(UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	uart_write(UART_IER, IER_RDI);
}

/* Interrupts are masked outside irq_wait_until(), so the ring is ours. */
int serial_getc(void)
{
	int c;

	if (!rx_count)
		return -1;
	c = rx_ring[rx_head];
	rx_head = (rx_head + 1) % RX_RING;
	rx_count--;
	if (rx_throttled && rx_count < RX_RING / 2) {
		rx_throttled = 0;
		uart_write(UART_IER, IER_RDI);
	}
	return c;
}

void serial_rx_wait(uint64_t deadline_ns)
{
	irq_wait_until(deadline_ns);
}

void serial_rx_clear(void)
{
	uart_write(UART_FCR, 0x07);   /* FIFOs on, RX and TX cleared */
	rx_head = rx_count = 0;
	if (rx_throttled) {
		rx_throttled = 0;
		uart_write(UART_IER, IER_RDI);
	}
}

/* ---- the power key: a PL061 pin (ARM DDI 0190B) ---- */

#define GPIO_DIR     0x400
#define GPIO_IS      0x404
#define GPIO_IBE     0x408
#define GPIO_IE      0x410
#define GPIO_MIS     0x418
#define GPIO_IC      0x41c

static volatile unsigned int key_presses, key_releases;

static uint32_t gpio_bit(void)
{
	return 1U << plat.power_pin;
}

/* Called with the interrupt taken: acknowledge, and read the pin. */
void gpio_irq(void)
{
	uint32_t mis = mmio_read32(plat.gpio + GPIO_MIS);
	/* the data register through the address mask of the one pin */
	uint32_t level = mmio_read32(plat.gpio + (gpio_bit() << 2));

	mmio_write32(plat.gpio + GPIO_IC, mis);
	if (!(mis & gpio_bit()))
		return;
	if (level & gpio_bit())
		key_presses++;
	else if (key_presses)
		key_releases++;
}

/*
 * pvpanic: the register of the device tree's qemu,pvpanic-mmio node (the
 * node Linux's pvpanic-mmio driver binds to) answers PANICKED |
 * CRASH_LOADED; writing PANICKED ends the VM as a crash (exit status 2).
 */
static void test_pvpanic(void)
{
	uint8_t caps;

	if (!plat.pvpanic)
		fail("no qemu,pvpanic-mmio node in the device tree");
	caps = mmio_read8(plat.pvpanic);
	if (caps != 3)
		fail("pvpanic at 0x%lx reads 0x%x, not PANICKED | CRASH_LOADED",
		     plat.pvpanic, caps);
	kprintf("TESTGUEST PASS pvpanic, panicking\n");
	mmio_write8(plat.pvpanic, 1);
	fail("still running after pvpanic PANICKED");
}

/*
 * cad: wait for the host's Ctrl-Alt-Del (the control API's
 * SendCtrlAltDel), which on arm64 is the power key the device tree
 * describes: gpio-keys KEY_POWER on a PL061 pin. The pin is set up as
 * Linux's gpio-pl061 does for gpio-keys (an input, both edges, then
 * unmasked); the press and the release each raise the GPIO's interrupt.
 */
static void test_cad(void)
{
	uint32_t bit;
	uint64_t deadline;

	if (!plat.gpio || plat.power_pin < 0)
		fail("no arm,pl061 GPIO with a gpio-keys KEY_POWER button in "
		     "the device tree");
	if (plat.power_gpio != plat.gpio_phandle || plat.power_pin > 7)
		fail("the KEY_POWER button is on GPIO phandle %u pin %d, the "
		     "PL061 is phandle %u", plat.power_gpio, plat.power_pin,
		     plat.gpio_phandle);
	bit = gpio_bit();
	mmio_write32(plat.gpio + GPIO_DIR, mmio_read32(plat.gpio + GPIO_DIR) & ~bit);
	mmio_write32(plat.gpio + GPIO_IS, mmio_read32(plat.gpio + GPIO_IS) & ~bit);
	mmio_write32(plat.gpio + GPIO_IBE, mmio_read32(plat.gpio + GPIO_IBE) | bit);
	mmio_write32(plat.gpio + GPIO_IC, bit);
	mmio_write32(plat.gpio + GPIO_IE, mmio_read32(plat.gpio + GPIO_IE) | bit);
	gic_init();
	gic_enable(plat.gpio_intid, 0);
	time_init();
	kprintf("cad: waiting for Ctrl-Alt-Del: the power key (KEY_POWER on "
		"PL061 0x%lx pin %d, interrupt %u)\n", plat.gpio,
		plat.power_pin, plat.gpio_intid);
	deadline = now_ns() + 60ULL * 1000000000ULL;
	while (!key_releases) {
		uint64_t t = now_ns();

		if (t > deadline)
			fail("no power key press and release within 60 s "
			     "(%u presses seen)", key_presses);
		irq_wait_until(t + 1000000000ULL < deadline ?
			       t + 1000000000ULL : deadline);
	}
	kprintf("cad: got the power key (pressed, released), shutting down\n");
	pass();
}

/* ---- scenarios ---- */

/* Every page gets its own value; XOR keeps them distinct. */
#define PAGE_PATTERN 0x7465737467756573UL   /* "testgues" */

static uint64_t fill_pages(uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a < end; a += 4096)
		*(volatile uint64_t *)(uintptr_t)a = a ^ PAGE_PATTERN;
	return start < end ? (end - start) >> 12 : 0;
}

static void check_pages(uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a < end; a += 4096) {
		uint64_t v = *(volatile uint64_t *)(uintptr_t)a;

		if (v != (a ^ PAGE_PATTERN))
			fail("page 0x%lx reads 0x%lx, wrote 0x%lx", a, v,
			     a ^ PAGE_PATTERN);
	}
}

/* Fill (check = 0) or check [start, end) minus the guest image. */
static uint64_t each_range(uint64_t start, uint64_t end, int check)
{
	uint64_t img_lo = (uintptr_t)_image_start & ~0xfffUL;
	uint64_t img_hi = ((uintptr_t)_image_end + 0xfff) & ~0xfffUL;
	uint64_t lo[2] = { start, img_hi > start ? img_hi : start };
	uint64_t hi[2] = { img_lo < end ? img_lo : end, end };
	uint64_t pages = 0;

	for (int i = 0; i < 2; i++) {
		if (lo[i] >= hi[i])
			continue;
		if (check)
			check_pages(lo[i], hi[i]);
		else
			pages += fill_pages(lo[i], hi[i]);
	}
	return pages;
}

/*
 * memory: the device tree's RAM is exactly mem= bytes, and every 4 KiB
 * page of it outside this image keeps a distinct word (so no two pages
 * alias, wherever RAM lies: above 4 GiB too). The device tree itself,
 * at the top of RAM, is overwritten: everything was read from it at boot.
 */
static void test_memory(void)
{
	unsigned int ranges;
	uint64_t ram = ram_total(&ranges), mem, pages = 0, above = 0;

	for (unsigned int i = 0; i < plat.nr_ram; i++)
		kprintf("memory: device tree RAM [0x%09lx, 0x%09lx)\n",
			plat.ram[i][0], plat.ram[i][0] + plat.ram[i][1]);
	switch (param_u64("mem", &mem)) {
	case 0:
		fail("no mem=BYTES on the command line (device tree RAM is "
		     "%lu bytes in %u ranges)", ram, ranges);
	case -1:
		fail("bad mem= value on the command line");
	}
	if (ram != mem)
		fail("device tree RAM is %lu bytes (0x%lx), expected mem=%lu",
		     ram, ram, mem);
	kprintf("memory: device tree RAM %lu bytes in %u range(s) = mem\n",
		ram, ranges);

	for (int pass_no = 0; pass_no < 2; pass_no++)
		for (unsigned int i = 0; i < plat.nr_ram; i++) {
			uint64_t s = (plat.ram[i][0] + 0xfff) & ~0xfffUL;
			uint64_t e = (plat.ram[i][0] + plat.ram[i][1]) & ~0xfffUL;

			if (pass_no == 0 && e > 0x100000000UL)
				above += e - (s > 0x100000000UL ? s : 0x100000000UL);
			if (s < e)
				pages += each_range(s, e, pass_no);
		}
	kprintf("memory: %lu pages checked (one distinct word per 4 KiB page "
		"of RAM, skipping the guest image at [%p, %p)), %lu MiB of "
		"them above 4 GiB\n", pages, (void *)_image_start,
		(void *)_image_end, above >> 20);
	passf("pages=%lu", pages);
}

/*
 * exits: MMIO exits to vmm that its metrics count. The UART in loopback
 * mode (MCR.LOOP): each byte written to THR comes back in RBR instead of
 * going to the console, and vmm counts each one read as serial.rx_bytes.
 * Two exits per byte: the write and the read.
 */
static void test_exits(void)
{
	uint64_t n = 1000;

	if (param_u64("exits", &n) < 0)
		fail("bad exits= value");
	/* what tests/vm/api.sh finds in vmm's metrics afterwards */
	kprintf("exits: metrics devices.serial.rx_bytes += %lu, exits.MMIO "
		"+= %lu\n", n, 2 * n);
	uart_write(UART_MCR, MCR_LOOP | MCR_OUT2);
	for (uint64_t i = 0; i < n; i++) {
		uart_write(UART_THR, 0x5a);
		(void)uart_read(UART_RBR);
	}
	uart_write(UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	pass();
}

static void test_reset(void)
{
	int64_t r;

	kprintf("TESTGUEST PASS reset\n");
	r = psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
	kprintf("TESTGUEST FAIL reset: PSCI SYSTEM_RESET returned %ld (%s)\n",
		r, psci_strerror(r));
	shutdown();
}

/* Nothing lives below the GIC (arch/aarch64/layout.h). */
#define BADIO_MMIO 0x04000000UL

static void badio_reads(const char *when)
{
	uint64_t v;

	if ((v = mmio_read8(BADIO_MMIO)))
		fail("8-bit read of 0x%lx = 0x%lx %s", BADIO_MMIO, v, when);
	if ((v = mmio_read16(BADIO_MMIO)))
		fail("16-bit read of 0x%lx = 0x%lx %s", BADIO_MMIO, v, when);
	if ((v = mmio_read32(BADIO_MMIO)))
		fail("32-bit read of 0x%lx = 0x%lx %s", BADIO_MMIO, v, when);
	if ((v = mmio_read64(BADIO_MMIO)))
		fail("64-bit read of 0x%lx = 0x%lx %s", BADIO_MMIO, v, when);
}

static void test_badio(void)
{
	badio_reads("(expected 0)");
	mmio_write8(BADIO_MMIO, 0x5a);
	mmio_write16(BADIO_MMIO, 0x5a5a);
	mmio_write32(BADIO_MMIO, 0x5a5a5a5a);
	mmio_write64(BADIO_MMIO, 0x5a5a5a5a5a5a5a5aUL);
	badio_reads("after writes (expected 0)");
	kprintf("badio: MMIO 0x%lx (8/16/32/64-bit) reads 0, writes "
		"ignored\n", BADIO_MMIO);
	pass();
}

#define COUNTER_PERIOD_NS 100000000UL

static void test_counter(void)
{
	uint64_t next;

	time_init();
	kprintf("testguest: counter every 100 ms (architected timer at %lu "
		"MHz, wfi + virtual timer)\n", timer_hz() / 1000000);
	next = now_ns();
	for (uint64_t n = 0;; n++) {
		uint64_t t;

		kprintf("counter %lu\n", n);
		next += COUNTER_PERIOD_NS;
		t = now_ns();
		if (t > next + 10 * COUNTER_PERIOD_NS)
			next = t;   /* far behind (VM paused?): resync */
		sleep_until_ns(next);
	}
}

/* ---- start-up ---- */

const char arch_name[] = "aarch64";

/* In the order the hello scenario lists them. */
const struct scenario arch_scenarios[] = {
	{ "hello",     test_hello,     1 },
	{ "cmdline",   test_cmdline,   0 },
	{ "memory",    test_memory,    0 },
	{ "smp",       test_smp,       0 },
	{ "boottimer", test_boottimer, 0 },
	{ "exits",     test_exits,     0 },
	{ "reset",     test_reset,     0 },
	{ "badio",     test_badio,     0 },
	{ "counter",   test_counter,   0 },
	{ "echo",      test_echo,      0 },
	{ "cad",       test_cad,       0 },
	{ "pvpanic",   test_pvpanic,   0 },
	{ "blk",       test_blk,       0 },
	{ "blk-ro",    test_blk_ro,    0 },
	{ "console",   test_virtio_console, 0 },
	{ "net",       test_net,       0 },
	{ "hostile-queue", test_hostile_queue, 0 },
	{ "vsock",     test_vsock,     0 },
	{ "hostile-blk", test_hostile_blk, 0 },
	{ "hostile-net", test_hostile_net, 0 },
	{ "durable", test_durable, 0 },
	{ "blkbench",  test_blkbench,  0 },
	{ "rxcount",   test_rxcount,   0 },
};
const unsigned int arch_nr_scenarios = ARRAY_SIZE(arch_scenarios);

void arch_boot(uintptr_t boot_info)
{
	fdt_addr = boot_info;
	plat.power_pin = -1;
	fdt_error = read_fdt((const void *)boot_info);
}

void arch_boot_check(void)
{
	if (fdt_error) {
		current_test = "boot";
		fail("device tree at 0x%lx: %s", (uint64_t)fdt_addr, fdt_error);
	}
}
