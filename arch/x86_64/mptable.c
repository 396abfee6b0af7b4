// SPDX-License-Identifier: MIT
/*
 * Intel MultiProcessor Specification 1.4 tables: how a guest without ACPI
 * finds its CPUs, its IOAPIC and how ISA interrupts are wired. The IOAPIC
 * pins follow KVM's default routing (GSI n -> pin n).
 */
#include <errno.h>
#include <string.h>

#include "x86.h"

#define MP_SPEC_REV       4
#define MP_FPS_SIZE       16
#define MP_HDR_SIZE       44
#define MP_PROC_SIZE      20
#define MP_ENTRY_SIZE     8
#define MP_IRQS           24 /* every IOAPIC pin: virtio uses 5..23 */
#define APIC_VERSION      0x14
#define IOAPIC_VERSION    0x11

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)(0x100 - sum);
}

static size_t mptable_size(unsigned int ncpus)
{
	return MP_FPS_SIZE + MP_HDR_SIZE + ncpus * MP_PROC_SIZE +
	       MP_ENTRY_SIZE * (1 /* bus */ + 1 /* ioapic */ + MP_IRQS + 2);
}

static uint8_t *put_entry(uint8_t *p, uint8_t type, uint8_t irqtype,
			  uint8_t srcirq, uint8_t dstapic, uint8_t dstirq)
{
	p[0] = type;
	p[1] = irqtype;
	put_le16(p + 2, 0); /* polarity and trigger: bus default */
	p[4] = 0;           /* source bus: ISA */
	p[5] = srcirq;
	p[6] = dstapic;
	p[7] = dstirq;
	return p + MP_ENTRY_SIZE;
}

int x86_write_mptable(const struct guest_mem *m, unsigned int ncpus)
{
	size_t size = mptable_size(ncpus);
	uint8_t *base = gpa_ptr(m, X86_MPTABLE_ADDR, size);
	uint8_t *fps, *hdr, *p;
	uint8_t ioapic_id = (uint8_t)ncpus;
	uint16_t entries = 0;

	if (ncpus == 0 || ncpus > 254)
		return -EINVAL;
	if (!base || X86_MPTABLE_ADDR + size > X86_HIMEM_START)
		return -EFAULT;
	memset(base, 0, size);
	fps = base;
	hdr = base + MP_FPS_SIZE;
	p = hdr + MP_HDR_SIZE;

	for (unsigned int i = 0; i < ncpus; i++, entries++) {
		p[0] = MP_PROCESSOR;
		p[1] = (uint8_t)i;               /* local APIC id */
		p[2] = APIC_VERSION;
		p[3] = 0x01 | (i == 0 ? 0x02 : 0); /* enabled, BSP */
		put_le32(p + 4, 0x600);          /* family 6 signature */
		put_le32(p + 8, 0x201);          /* FPU, APIC */
		p += MP_PROC_SIZE;
	}
	p[0] = MP_BUS;
	memcpy(p + 2, "ISA   ", 6);
	p += MP_ENTRY_SIZE;
	entries++;
	p[0] = MP_IOAPIC;
	p[1] = ioapic_id;
	p[2] = IOAPIC_VERSION;
	p[3] = 0x01; /* enabled */
	put_le32(p + 4, (uint32_t)X86_IOAPIC_ADDR);
	p += MP_ENTRY_SIZE;
	entries++;
	for (uint8_t irq = 0; irq < MP_IRQS; irq++, entries++)
		p = put_entry(p, MP_INTSRC, MP_INT, irq, ioapic_id, irq);
	/* LINT0 gets the 8259's ExtINT, LINT1 the NMI, on every CPU */
	p = put_entry(p, MP_LINTSRC, MP_EXTINT, 0, 0xff, 0);
	p = put_entry(p, MP_LINTSRC, MP_NMI, 0, 0xff, 1);
	entries += 2;

	memcpy(hdr, "PCMP", 4);
	put_le16(hdr + 4, (uint16_t)(p - hdr));
	hdr[6] = MP_SPEC_REV;
	memcpy(hdr + 8, "VMM     ", 8);
	memcpy(hdr + 16, "vmm microvm ", 12);
	put_le16(hdr + 34, entries);
	put_le32(hdr + 36, (uint32_t)X86_LAPIC_ADDR);
	hdr[7] = checksum(hdr, (size_t)(p - hdr));

	memcpy(fps, "_MP_", 4);
	put_le32(fps + 4, (uint32_t)(X86_MPTABLE_ADDR + MP_FPS_SIZE));
	fps[8] = 1; /* length in 16-byte units */
	fps[9] = MP_SPEC_REV;
	fps[10] = checksum(fps, MP_FPS_SIZE);
	return 0;
}
