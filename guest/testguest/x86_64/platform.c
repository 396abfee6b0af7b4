// SPDX-License-Identifier: MIT
/*
 * vmm test guest, x86-64 platform: a PVH "kernel" (entry.S) that finds its
 * command line and memory map in hvm_start_info, prints on COM1, polls the
 * UART for input and shuts the VM down through the i8042 reset line; plus
 * the scenarios whose x86 form differs from the arm64 one (memory map,
 * port-I/O exits, triple-fault reset, unclaimed ports, LAPIC-timer
 * counter, Ctrl-Alt-Del on the keyboard controller).
 */
#include "hw.h"
#include "lib.h"
#include "x86.h"

/* ---- PVH boot information (xen/include/public/arch-x86/hvm/start_info.h) */

#define HVM_START_MAGIC 0x336ec578
#define E820_RAM        1
#define MAX_MEMMAP      128

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;     /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Copied at boot: the VMM's boot area in low RAM may be overwritten. */
static struct hvm_memmap_entry memmap[MAX_MEMMAP] NOINIT;
static unsigned int memmap_count;

/* ---- stopping ---- */

void shutdown(void)
{
	outb(I8042_CMD_PORT, 0xfe);   /* pulse the reset line */
	triple_fault();               /* no i8042 (e.g. QEMU microvm)? */
}

void triple_fault(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) no_idt = { 0, 0 };

	/* #UD cannot be delivered -> #GP -> #DF -> triple fault */
	__asm__ volatile("lidt %0\n\tud2" : : "m"(no_idt));
	__builtin_unreachable();
}

/* ---- helpers ---- */

uint64_t ram_total(unsigned int *ranges)
{
	uint64_t sum = 0;

	*ranges = 0;
	for (unsigned int i = 0; i < memmap_count; i++)
		if (memmap[i].type == E820_RAM) {
			sum += memmap[i].size;
			(*ranges)++;
		}
	return sum;
}

/* ---- scenarios ---- */

/*
 * cad: wait for the host to type Ctrl-Alt-Del on the i8042 keyboard (the
 * control API's SendCtrlAltDel), reading scancodes by polling, then shut
 * down as a guest's init would.
 */
static void test_cad(void)
{
	/* set-1 make codes, as the controller translates by default */
	static const uint8_t want[] = { 0x1d, 0x38, 0xe0, 0x53 };
	unsigned int matched = 0;
	uint64_t deadline;

	time_init();
	kprintf("cad: waiting for Ctrl-Alt-Del on the keyboard\n");
	deadline = now_ns() + 60ULL * 1000000000ULL;
	while (matched < sizeof(want)) {
		uint8_t c;

		if (!(inb(0x64) & 0x01)) {
			if (now_ns() > deadline)
				fail("no Ctrl-Alt-Del within 60 s");
			__asm__ volatile("pause");
			continue;
		}
		c = inb(0x60);
		matched = c == want[matched] ? matched + 1 : (c == want[0]);
	}
	kprintf("cad: got Ctrl-Alt-Del, shutting down\n");
	pass();
}

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

/* Call fn on [start, end) minus the guest image. */
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

static void test_memory(void)
{
	unsigned int ranges;
	uint64_t ram = ram_total(&ranges), mem, pages = 0, above = 0;

	for (unsigned int i = 0; i < memmap_count; i++)
		if (memmap[i].size)
			kprintf("memory: e820 [0x%09lx, 0x%09lx) type %u\n",
				memmap[i].addr,
				memmap[i].addr + memmap[i].size,
				memmap[i].type);
	switch (param_u64("mem", &mem)) {
	case 0:
		fail("no mem=BYTES on the command line (e820 RAM is %lu "
		     "bytes in %u ranges)", ram, ranges);
	case -1:
		fail("bad mem= value on the command line");
	}
	if (mem <= 0x60400)
		fail("mem=%lu is too small (e820 RAM is %lu bytes)", mem, ram);
	if (ram != mem - 0x60400)
		fail("e820 RAM is %lu bytes (0x%lx), expected mem - 0x60400 = "
		     "%lu (0x%lx) for mem=%lu", ram, ram, mem - 0x60400,
		     mem - 0x60400, mem);
	kprintf("memory: e820 RAM %lu bytes in %u ranges = mem - 0x60400\n",
		ram, ranges);

	/* Page test: RAM in [1 MiB, 4 GiB) outside this image. */
	for (int pass_no = 0; pass_no < 2; pass_no++) {
		for (unsigned int i = 0; i < memmap_count; i++) {
			uint64_t s = memmap[i].addr;
			uint64_t e = s + memmap[i].size;

			if (memmap[i].type != E820_RAM)
				continue;
			if (pass_no == 0 && e > FOUR_GIB)
				above += e - (s > FOUR_GIB ? s : FOUR_GIB);
			if (s < HIMEM_START)
				s = HIMEM_START;
			if (e > FOUR_GIB)
				e = FOUR_GIB;
			s = (s + 0xfff) & ~0xfffUL;
			e &= ~0xfffUL;
			if (s < e)
				pages += each_range(s, e, pass_no);
		}
	}
	kprintf("memory: %lu pages checked (one distinct word per 4 KiB page "
		"of RAM in [1 MiB, 4 GiB), skipping the guest image at "
		"[%p, %p)); %lu MiB above 4 GiB not covered\n", pages,
		(void *)_image_start, (void *)_image_end, above >> 20);
	passf("pages=%lu", pages);
}

static void test_exits(void)
{
	uint64_t n = 1000;

	if (param_u64("exits", &n) < 0)
		fail("bad exits= value");
	/* what tests/vm/api.sh finds in vmm's metrics afterwards */
	kprintf("exits: metrics devices.post.writes += %lu, exits.IO += %lu\n",
		n, n);
	if (n)
		__asm__ volatile("1: outb %%al, $0x80\n\t"
				 "dec %0\n\t"
				 "jnz 1b"
				 : "+r"(n) : "a"(0) : "memory");
	pass();
}

static void test_reset(void)
{
	kprintf("TESTGUEST PASS reset\n");
	triple_fault();
}

#define BADIO_PORT 0x3e0
#define BADIO_MMIO 0xd0800000UL

static void badio_reads(const char *when)
{
	uint64_t v;

	if ((v = inb(BADIO_PORT)))
		fail("inb(0x%x) = 0x%lx %s", BADIO_PORT, v, when);
	if ((v = inw(BADIO_PORT)))
		fail("inw(0x%x) = 0x%lx %s", BADIO_PORT, v, when);
	if ((v = inl(BADIO_PORT)))
		fail("inl(0x%x) = 0x%lx %s", BADIO_PORT, v, when);
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
	outb(BADIO_PORT, 0xa5);
	outw(BADIO_PORT, 0xa5a5);
	outl(BADIO_PORT, 0xa5a5a5a5);
	mmio_write8(BADIO_MMIO, 0x5a);
	mmio_write16(BADIO_MMIO, 0x5a5a);
	mmio_write32(BADIO_MMIO, 0x5a5a5a5a);
	mmio_write64(BADIO_MMIO, 0x5a5a5a5a5a5a5a5aUL);
	badio_reads("after writes (expected 0)");
	kprintf("badio: port 0x%x (8/16/32-bit) and MMIO 0x%lx "
		"(8/16/32/64-bit) read 0, writes ignored\n",
		BADIO_PORT, BADIO_MMIO);
	pass();
}

/*
 * hostile-io [seed=N] [n=N]: seeded random port and MMIO accesses of
 * every width over what is not RAM: every port (writes spare only the
 * console, the reset and power-off lines, pvpanic and PCI configuration,
 * which would end the scenario rather than test vmm), and MMIO from the
 * end of RAM and across the MMIO hole up to the in-kernel IOAPIC/LAPIC
 * (writes spare the PCI ECAM). vmm must survive it all and the guest
 * still print; the seed is printed to replay a run.
 */
static int hio_write_ok(uint32_t port)
{
	return !((port >= 0x3f8 && port <= 0x3ff) || port == 0x60 ||
		 port == 0x64 || port == 0x505 ||
		 (port >= 0x600 && port <= 0x602) || port == 0xcf9 ||
		 (port >= 0xcf8 && port <= 0xcff));
}

static void test_hostile_io(void)
{
	uint64_t seed = 1, n = 20000, x, ram = 0;
	unsigned int kinds[2] = { 0, 0 };

	/* the end of the highest RAM range below 4 GiB */
	for (unsigned int i = 0; i < memmap_count; i++)
		if (memmap[i].type == E820_RAM &&
		    memmap[i].addr + memmap[i].size <= 0xc0000000UL &&
		    memmap[i].addr + memmap[i].size > ram)
			ram = memmap[i].addr + memmap[i].size;

	if (param_u64("seed", &seed) < 0 || param_u64("n", &n) < 0)
		fail("bad seed= or n= value");
	x = seed ? seed : 1;
	kprintf("hostile-io: seed %lu, %lu accesses\n", seed, n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r;
		uint32_t v;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		r = x * 0x2545f4914f6cdd1dUL;
		v = (uint32_t)(r >> 32);
		if (r & 1) {
			uint16_t port = (uint16_t)(r >> 8);
			int wr = (r >> 4) & 1 && hio_write_ok(port);

			switch ((r >> 2) & 3) {
			case 0: wr ? outb(port, (uint8_t)v) : (void)inb(port); break;
			case 1: wr ? outw(port, (uint16_t)v) : (void)inw(port); break;
			default: wr ? outl(port, v) : (void)inl(port); break;
			}
			kinds[0]++;
		} else {
			/* RAM's end .. +16 MiB, or the MMIO hole below the APICs */
			uint64_t a = (r >> 8) & 1 ?
				ram + ((r >> 12) & 0xffffff) :
				0xc0000000UL + ((r >> 12) % 0x3ec00000UL);
			int wr = (r >> 4) & 1 && !(a >= 0xe0000000UL && a < 0xe0100000UL);

			switch ((r >> 2) & 3) {
			case 0: wr ? mmio_write8(a, (uint8_t)v) : (void)mmio_read8(a); break;
			case 1: wr ? mmio_write16(a & ~1UL, (uint16_t)v) : (void)mmio_read16(a & ~1UL); break;
			case 2: wr ? mmio_write32(a & ~3UL, v) : (void)mmio_read32(a & ~3UL); break;
			default: wr ? mmio_write64(a & ~7UL, r) : (void)mmio_read64(a & ~7UL); break;
			}
			kinds[1]++;
		}
	}
	kprintf("hostile-io: %u port and %u MMIO accesses done (seed %lu)\n",
		kinds[0], kinds[1], seed);
	pass();
}

#define COUNTER_PERIOD_NS 100000000UL

static void test_counter(void)
{
	int use_timer;
	uint64_t next;

	time_init();
	use_timer = lapic_timer_calibrate() == 0;
	if (use_timer)
		kprintf("testguest: counter every 100 ms (%s, hlt + LAPIC "
			"timer at %lu MHz)\n",
			time_is_kvmclock() ? "kvmclock" : "TSC",
			lapic_timer_hz() / 1000000);
	else
		kprintf("testguest: counter every 100 ms (%s, polling)\n",
			time_is_kvmclock() ? "kvmclock" : "TSC");
	next = now_ns();
	for (uint64_t n = 0;; n++) {
		uint64_t t;

		kprintf("counter %lu\n", n);
		next += COUNTER_PERIOD_NS;
		t = now_ns();
		if (t > next + 10 * COUNTER_PERIOD_NS)
			next = t;   /* far behind (VM paused?): resync */
		if (use_timer)
			sleep_until_ns(next);
		else
			while (now_ns() < next)
				cpu_relax();
	}
}

/* ---- serial input: polled ---- */

void serial_rx_start(void)
{
}

int serial_getc(void)
{
	if (!(inb(COM1_PORT + 5) & 0x01))
		return -1;
	return inb(COM1_PORT);
}

void serial_rx_wait(uint64_t deadline_ns)
{
	(void)deadline_ns;
	__asm__ volatile("pause");
}

void serial_rx_clear(void)
{
	outb(COM1_PORT + 2, 0x07); /* FCR: enable, clear RX and TX */
}

/* ---- virtio-mmio windows: vmm's layout, or virtio_base= ... ---- */

#define VIRTIO_DEFAULT_BASE   0xd0001000UL   /* arch/x86_64/layout.h */
#define VIRTIO_DEFAULT_STRIDE 0x1000UL
#define VIRTIO_DEFAULT_COUNT  16

static uint64_t probe_param(const char *key, uint64_t dflt)
{
	uint64_t v;

	switch (param_u64(key, &v)) {
	case 1:
		return v;
	case -1:
		fail("bad %s= value", key);
	default:
		return dflt;
	}
}

unsigned int virtio_windows(uint64_t *base, unsigned int max)
{
	uint64_t first = probe_param("virtio_base", VIRTIO_DEFAULT_BASE);
	uint64_t stride = probe_param("virtio_stride", VIRTIO_DEFAULT_STRIDE);
	uint64_t count = probe_param("virtio_count", VIRTIO_DEFAULT_COUNT);

	if (count > max)
		count = max;
	/* identity-mapped and uncached: only the 3-4 GiB hole */
	if (!stride || (stride & 3) || (first & 3) || first < 0xc0000000UL ||
	    first + count * stride > FOUR_GIB)
		fail("virtio windows at 0x%lx + n * 0x%lx (n < %lu) are not "
		     "in the 3-4 GiB MMIO hole", first, stride, count);
	for (unsigned int i = 0; i < count; i++)
		base[i] = first + i * stride;
	return (unsigned int)count;
}

/* ---- start-up ---- */

const char arch_name[] = "x86-64";
const char arch_ram_map[] = "e820";

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
	{ "blk",       test_blk,       0 },
	{ "blk-ro",    test_blk_ro,    0 },
	{ "console",   test_virtio_console, 0 },
	{ "net",       test_net,       0 },
	{ "hostile-queue", test_hostile_queue, 0 },
	{ "vsock",     test_vsock,     0 },
	{ "hostile-blk", test_hostile_blk, 0 },
	{ "hostile-net", test_hostile_net, 0 },
	{ "durable", test_durable, 0 },
	{ "hostile-io", test_hostile_io, 0 },
	{ "blkbench",  test_blkbench,  0 },
	{ "rxcount",   test_rxcount,   0 },
	{ "debug",     test_debug,     0 },
	{ "break",     test_break,     0 },
	{ "nmi",       test_nmi,       0 },
	{ "acpi",      test_acpi,      0 },
	{ "acpi-reset", test_acpi_reset, 0 },
	{ "pvpanic",   test_pvpanic,   0 },
	{ "pci",       test_pci,       0 },
	{ "pci-msix",  test_pci_msix,  0 },
};
const unsigned int arch_nr_scenarios = ARRAY_SIZE(arch_scenarios);

static const struct hvm_start_info *start_info;
static uint32_t start_info_paddr;
static uint64_t rsdp_paddr;

uint64_t x86_rsdp_paddr(void)
{
	return rsdp_paddr;
}

static void read_start_info(const struct hvm_start_info *si)
{
	cmdline_set((const char *)(uintptr_t)si->cmdline_paddr);
	rsdp_paddr = si->rsdp_paddr;
	if (si->version >= 1 && si->memmap_paddr) {
		const struct hvm_memmap_entry *e =
			(const void *)(uintptr_t)si->memmap_paddr;

		memmap_count = si->memmap_entries < MAX_MEMMAP ?
			si->memmap_entries : MAX_MEMMAP;
		for (unsigned int i = 0; i < memmap_count; i++)
			memmap[i] = e[i];
	}
}

void arch_boot(uintptr_t boot_info)
{
	start_info_paddr = (uint32_t)boot_info;
	start_info = (const void *)boot_info;
	memmap_count = 0;
	if (start_info && start_info->magic == HVM_START_MAGIC)
		read_start_info(start_info);
	idt_init();
}

void arch_boot_check(void)
{
	const struct hvm_start_info *si = start_info;

	if (!si || si->magic != HVM_START_MAGIC) {
		current_test = "boot";
		fail("bad hvm_start_info at 0x%x (magic 0x%x)", start_info_paddr,
		     si ? si->magic : 0);
	}
}
