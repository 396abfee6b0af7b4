// SPDX-License-Identifier: MIT
/*
 * Test guest: the `smp` scenario. Read the MP table (Intel MultiProcessor
 * Specification 1.4), then start every application processor it lists the
 * way firmware does: INIT, then two STARTUP IPIs pointing at a real-mode
 * trampoline copied to TRAMPOLINE_ADDR. Each AP goes 16-bit -> 32-bit ->
 * long mode on the BSP's page tables (entry.S), then runs ap_main(): it
 * records its APIC id, bumps a counter and halts for good.
 */
#include "hw.h"
#include "lib.h"
#include "x86.h"

#define TRAMPOLINE_ADDR 0x8000   /* SIPI vector 0x08; free in vmm's layout */
#define MAX_CPUS        256      /* xAPIC ids are 8 bits */
#define AP_WAIT_NS      2000000000UL

#define ICR_INIT        0x00000500
#define ICR_STARTUP     0x00000600
#define ICR_LEVEL       0x00008000
#define ICR_ASSERT      0x00004000
#define ICR_BUSY        0x00001000

struct mp_floating {
	char signature[4];    /* "_MP_" */
	uint32_t config;      /* physical address of the config table */
	uint8_t length;       /* in 16-byte units */
	uint8_t revision;
	uint8_t checksum;
	uint8_t features[5];
} __attribute__((packed));

struct mp_config {
	char signature[4];    /* "PCMP" */
	uint16_t length;      /* base table, header included */
	uint8_t revision;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_table;
	uint16_t oem_size;
	uint16_t entries;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_processor {
	uint8_t type;         /* 0 */
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;        /* bit 0 enabled, bit 1 BSP */
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

/* Written by the APs. */
static volatile uint32_t ap_count;
static volatile uint8_t ap_seen[MAX_CPUS];

/* entry.S */
extern char ap_trampoline_start[], ap_trampoline_end[];

void ap_main(void);
void ap_main(void)
{
	uint32_t id = lapic_read(LAPIC_ID) >> 24;

	ap_seen[id & (MAX_CPUS - 1)] = 1;
	__atomic_fetch_add(&ap_count, 1, __ATOMIC_SEQ_CST);
	for (;;)
		__asm__ volatile("cli; hlt");
}

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *b++);
	return sum;
}

static const struct mp_floating *scan(uint64_t start, uint64_t len)
{
	for (uint64_t a = start; a + 16 <= start + len; a += 16) {
		const struct mp_floating *f = (const void *)(uintptr_t)a;

		if (!memcmp(f->signature, "_MP_", 4) && f->length == 1 &&
		    !checksum(f, 16))
			return f;
	}
	return NULL;
}

/* The spec's search order: EBDA's first KiB, the last KiB of base
 * memory, then the BIOS ROM area. */
static const struct mp_floating *find_mp_floating(void)
{
	const struct mp_floating *f;
	/* BDA word 0x40e: EBDA segment (read via asm: a constant low
	 * address upsets gcc -Warray-bounds) */
	uint64_t ebda = (uint64_t)mmio_read16(0x40e) << 4;

	if (ebda >= 0x80000 && ebda < 0xa0000 && (f = scan(ebda, 1024)))
		return f;
	if ((f = scan(0x9fc00, 1024)))
		return f;
	return scan(0xf0000, 0x10000);
}

static void send_ipi(uint32_t apic_id, uint32_t icr)
{
	for (int i = 0; i < 100000 && (lapic_read(LAPIC_ICR_LO) & ICR_BUSY); i++)
		cpu_relax();
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr);
}

void test_smp(void)
{
	static uint8_t ids[MAX_CPUS] NOINIT;
	const struct mp_floating *fp = find_mp_floating();
	const struct mp_config *mc;
	const uint8_t *e, *end;
	unsigned int ncpus = 0, naps = 0, nbsp = 0;
	uint32_t bsp_id;
	uint64_t want, t0, t;
	uint8_t vector = TRAMPOLINE_ADDR >> 12;

	if (!fp)
		fail("no MP floating pointer (\"_MP_\") found");
	if (fp->features[0] || !fp->config)
		fail("MP floating pointer at %p has no config table "
		     "(default configuration %u)", (const void *)fp,
		     fp->features[0]);
	mc = (const void *)(uintptr_t)fp->config;
	if (memcmp(mc->signature, "PCMP", 4))
		fail("no \"PCMP\" signature at 0x%x", fp->config);
	if (mc->length < sizeof(*mc) || checksum(mc, mc->length))
		fail("MP config table checksum/length bad (length %u)",
		     mc->length);
	if (mc->lapic != LAPIC_ADDR)
		kprintf("testguest: MP table says LAPIC at 0x%x, using 0x%lx\n",
			mc->lapic, (uint64_t)LAPIC_ADDR);

	bsp_id = lapic_read(LAPIC_ID) >> 24;
	e = (const uint8_t *)(mc + 1);
	end = (const uint8_t *)mc + mc->length;
	/* Walk the entries by the table length, as Linux does: some firmware
	 * (QEMU's qboot) leaves the entry count at 0. */
	for (unsigned int i = 0; e < end; i++) {
		if (*e == 0) {
			const struct mp_processor *p = (const void *)e;

			if (e + sizeof(*p) > end)
				fail("MP processor entry %u truncated", i);
			if (p->flags & 1) {
				if (ncpus == MAX_CPUS)
					fail("more than %u CPUs", MAX_CPUS);
				ids[ncpus++] = p->apic_id;
				if (p->flags & 2) {
					nbsp++;
					if (p->apic_id != bsp_id)
						fail("MP table BSP has APIC id %u, "
						     "boot CPU has %u",
						     p->apic_id, bsp_id);
				}
			}
			e += sizeof(*p);
		} else if (*e <= 4) {
			e += 8;   /* bus, I/O APIC, I/O and local interrupts */
		} else {
			fail("unknown MP table entry type %u", *e);
		}
	}
	if (!ncpus)
		fail("MP table lists no enabled processor");
	if (nbsp != 1)
		fail("MP table marks %u processors as BSP", nbsp);
	switch (param_u64("cpus", &want)) {
	case -1:
		fail("bad cpus= parameter");
	case 1:
		if (want != ncpus)
			fail("MP table lists %u CPUs, cpus=%lu", ncpus, want);
		break;
	}
	kprintf("testguest: MP table at %p lists %u CPU(s), BSP APIC id %u\n",
		(const void *)fp, ncpus, bsp_id);

	time_init();
	t0 = now_ns();
	memcpy((void *)(uintptr_t)TRAMPOLINE_ADDR, ap_trampoline_start,
	       (size_t)(ap_trampoline_end - ap_trampoline_start));
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);   /* enable the APIC */

	/* INIT (assert, then de-assert), 10 ms, STARTUP, 200 us, STARTUP. */
	for (unsigned int i = 0; i < ncpus; i++) {
		if (ids[i] == bsp_id)
			continue;
		send_ipi(ids[i], ICR_INIT | ICR_LEVEL | ICR_ASSERT);
		send_ipi(ids[i], ICR_INIT | ICR_LEVEL);
		naps++;
	}
	if (naps) {
		delay_us(10000);
		for (unsigned int i = 0; i < ncpus; i++)
			if (ids[i] != bsp_id)
				send_ipi(ids[i], ICR_STARTUP | vector);
		delay_us(200);
		for (unsigned int i = 0; i < ncpus; i++)
			if (ids[i] != bsp_id && !ap_seen[ids[i]])
				send_ipi(ids[i], ICR_STARTUP | vector);
	}

	while (ap_count < naps) {
		t = now_ns();
		if (t - t0 > AP_WAIT_NS)
			fail("only %u of %u APs started within %lu ms",
			     ap_count, naps, AP_WAIT_NS / 1000000);
		cpu_relax();
	}
	t = now_ns();
	for (unsigned int i = 0; i < ncpus; i++)
		if (ids[i] != bsp_id && !ap_seen[ids[i]])
			fail("AP with APIC id %u did not report", ids[i]);
	if (ap_count != naps)
		fail("%u APs reported, expected %u", ap_count, naps);
	kprintf("testguest: %u AP(s) in long mode after %lu us\n", naps,
		(t - t0) / 1000);
	passf("cpus=%u", ncpus);
}
