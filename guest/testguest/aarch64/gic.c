// SPDX-License-Identifier: MIT
/*
 * Test guest, aarch64: the interrupt controller, just enough of it for the
 * boot CPU to take a few interrupts (the UART's SPI, the virtual timer's
 * PPI): GICv2 (the Raspberry Pi's GIC-400: memory-mapped CPU interface,
 * everything in group 0) or GICv3 (affinity routing, system-register CPU
 * interface, group 1), whichever the device tree names. All priorities are
 * the same, so nothing nests.
 *
 * Register maps: ARM IHI 0048B (GICv2) and ARM IHI 0069 (GICv3).
 */
#include "a64.h"
#include "hw.h"
#include "lib.h"

#define PRIORITY 0xa0          /* any interrupt we enable */
#define PMR_ALL  0xf0          /* mask nothing of ours */

/* distributor (both) */
#define GICD_CTLR          0x000
#define GICD_IGROUPR       0x080
#define GICD_ISENABLER     0x100
#define GICD_IPRIORITYR    0x400
#define GICD_ITARGETSR     0x800   /* v2 */
#define GICD_ICFGR         0xc00
#define GICD_IROUTER       0x6000  /* v3, 8 bytes per interrupt */
#define GICD_CTLR_RWP      (1U << 31)
#define GICD_CTLR_ARE      (1U << 4)
#define GICD_CTLR_GRP1     (1U << 1)

/* v2 CPU interface */
#define GICC_CTLR          0x00
#define GICC_PMR           0x04
#define GICC_IAR           0x0c
#define GICC_EOIR          0x10

/* v3 redistributor: RD_base frame, then SGI_base frame 64 KiB above */
#define GICR_TYPER         0x0008
#define GICR_WAKER         0x0014
#define GICR_SGI           0x10000
#define GICR_TYPER_VLPIS   (1U << 1)
#define GICR_TYPER_LAST    (1U << 4)
#define GICR_WAKER_SLEEP   (1U << 1)
#define GICR_WAKER_ASLEEP  (1U << 2)

/* v3 CPU interface system registers (by encoding: older assemblers lack
 * the names) */
#define ICC_PMR_EL1        S3_0_C4_C6_0
#define ICC_IAR1_EL1       S3_0_C12_C12_0
#define ICC_EOIR1_EL1      S3_0_C12_C12_1
#define ICC_BPR1_EL1       S3_0_C12_C12_3
#define ICC_CTLR_EL1       S3_0_C12_C12_4
#define ICC_SRE_EL1        S3_0_C12_C12_5
#define ICC_IGRPEN1_EL1    S3_0_C12_C12_7

#define SPIN_LIMIT 1000000

static int ready;
static uint64_t rdist;         /* this CPU's redistributor (v3) */

static uint32_t rd32(uint64_t a)
{
	return mmio_read32(a);
}

static void wr32(uint64_t a, uint32_t v)
{
	mmio_write32(a, v);
}

/* Set bits [shift, shift+width) of the 32-bit register at a to v. */
static void set_field(uint64_t a, unsigned int shift, unsigned int width,
		      uint32_t v)
{
	uint32_t mask = (width == 32 ? ~0U : ((1U << width) - 1)) << shift;

	wr32(a, (rd32(a) & ~mask) | ((v << shift) & mask));
}

static void wait_rwp(void)
{
	for (int i = 0; i < SPIN_LIMIT && (rd32(plat.gicd + GICD_CTLR) & GICD_CTLR_RWP); i++)
		cpu_relax();
}

/* GICR_TYPER[63:32] is Aff3.Aff2.Aff1.Aff0 */
static uint32_t my_affinity(void)
{
	uint64_t m = read_sysreg(mpidr_el1);

	return (uint32_t)(m & 0xffffff) | (uint32_t)((m >> 32) & 0xff) << 24;
}

static void gicv3_find_rdist(void)
{
	uint32_t aff = my_affinity();

	for (uint64_t a = plat.gicr; a < plat.gicr + plat.gicr_size;) {
		uint32_t lo = rd32(a + GICR_TYPER), hi = rd32(a + GICR_TYPER + 4);

		if (hi == aff) {
			rdist = a;
			return;
		}
		if (lo & GICR_TYPER_LAST)
			break;
		a += lo & GICR_TYPER_VLPIS ? 0x40000 : 0x20000;
	}
	fail("GICv3: no redistributor for affinity 0x%x in [0x%lx, +0x%lx)",
	     aff, plat.gicr, plat.gicr_size);
}

void gic_init(void)
{
	if (ready)
		return;
	ready = 1;
	if (plat.gic == 2) {
		wr32(plat.gicc + GICC_PMR, PMR_ALL);
		wr32(plat.gicc + GICC_CTLR, 1);   /* signal group 0 as IRQ */
		wr32(plat.gicd + GICD_CTLR, 1);
		return;
	}
	gicv3_find_rdist();
	wr32(rdist + GICR_WAKER, rd32(rdist + GICR_WAKER) & ~GICR_WAKER_SLEEP);
	for (int i = 0; i < SPIN_LIMIT &&
	     (rd32(rdist + GICR_WAKER) & GICR_WAKER_ASLEEP); i++)
		cpu_relax();
	write_sysreg(ICC_SRE_EL1, read_sysreg(ICC_SRE_EL1) | 1);   /* SRE */
	isb();
	write_sysreg(ICC_PMR_EL1, PMR_ALL);
	write_sysreg(ICC_BPR1_EL1, 0);
	write_sysreg(ICC_CTLR_EL1, 0);                 /* EOImode 0 */
	write_sysreg(ICC_IGRPEN1_EL1, 1);
	isb();
	wr32(plat.gicd + GICD_CTLR, GICD_CTLR_ARE);
	wait_rwp();
	wr32(plat.gicd + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_GRP1);
	wait_rwp();
}

void gic_enable(unsigned int intid, int edge)
{
	uint64_t base, word = 4 * (intid / 32), byte = intid & ~3U;
	unsigned int bit = intid % 32, shift = 8 * (intid % 4);

	gic_init();   /* first: it finds the redistributor */
	/* SGIs and PPIs live in the redistributor on v3, banked per CPU in
	 * the distributor on v2 */
	base = plat.gic == 3 && intid < 32 ? rdist + GICR_SGI : plat.gicd;
	if (plat.gic == 3)
		set_field(base + GICD_IGROUPR + word, bit, 1, 1);
	set_field(base + GICD_IPRIORITYR + byte, shift, 8, PRIORITY);
	if (intid >= 32)
		set_field(base + GICD_ICFGR + 4 * (intid / 16),
			  2 * (intid % 16) + 1, 1, edge ? 1 : 0);
	if (intid >= 32 && plat.gic == 2)
		set_field(base + GICD_ITARGETSR + byte, shift, 8, 1);   /* CPU 0 */
	if (intid >= 32 && plat.gic == 3) {
		uint64_t m = read_sysreg(mpidr_el1);

		wr32(base + GICD_IROUTER + 8 * intid, (uint32_t)(m & 0xffffff));
		wr32(base + GICD_IROUTER + 8 * intid + 4, (uint32_t)(m >> 32) & 0xff);
	}
	wr32(base + GICD_ISENABLER + word, 1U << bit);
	if (plat.gic == 3)
		wait_rwp();
}

uint32_t gic_ack(void)
{
	if (plat.gic == 2)
		return rd32(plat.gicc + GICC_IAR);
	return (uint32_t)read_sysreg(ICC_IAR1_EL1);
}

unsigned int gic_intid(uint32_t iar)
{
	return plat.gic == 2 ? iar & 0x3ff : iar & 0xffffff;
}

void gic_eoi(uint32_t iar)
{
	if (plat.gic == 2)
		wr32(plat.gicc + GICC_EOIR, iar);
	else
		write_sysreg(ICC_EOIR1_EL1, iar);
	isb();
}
