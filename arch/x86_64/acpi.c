// SPDX-License-Identifier: MIT
/*
 * The x86-64 ACPI tables: the MADT and the DSDT are x86's own, the rest
 * comes from vmm/acpi.c. Everything is laid out in one host buffer that
 * mirrors the guest area, then copied in with a single gpa_write().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/acpi.h"
#include "../../vmm/aml.h"
#include "acpi.h"

#define MADT_HDR_LEN      (ACPI_HDR_LEN + 8)
#define MADT_LAPIC_LEN    8
#define MADT_IOAPIC_LEN   12
#define MADT_OVERRIDE_LEN 10
#define MADT_NMI_LEN      6
enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_OVERRIDE = 2, MADT_LAPIC_NMI = 4 };
#define MADT_PCAT_COMPAT  1
#define LAPIC_ENABLED     1

/* _OSC's UUID for PCI host bridges (PCI Firmware Specification 3.x) */
#define PCI_HOST_BRIDGE_OSC "33db4d5b-1ff7-401c-9657-7441c03dd766"
#define OSC_UNKNOWN_UUID     0x4
#define OSC_UNKNOWN_REVISION 0x8

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static size_t madt_len(const struct x86_acpi_desc *d)
{
	return MADT_HDR_LEN + d->nr_cpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN +
	       d->nr_overrides * MADT_OVERRIDE_LEN + MADT_NMI_LEN;
}

static void madt(uint8_t *t, const struct x86_acpi_desc *d)
{
	size_t len = madt_len(d);
	uint8_t *p = t + MADT_HDR_LEN;

	acpi_header(t, "APIC", (uint32_t)len, 4);
	memset(t + ACPI_HDR_LEN, 0, len - ACPI_HDR_LEN);
	put32(t + ACPI_HDR_LEN, d->lapic_addr);
	put32(t + ACPI_HDR_LEN + 4, d->pcat_compat ? MADT_PCAT_COMPAT : 0);
	for (unsigned int i = 0; i < d->nr_cpus; i++, p += MADT_LAPIC_LEN) {
		p[0] = MADT_LAPIC;
		p[1] = MADT_LAPIC_LEN;
		p[2] = (uint8_t)i; /* ACPI processor UID: the DSDT's _UID */
		p[3] = d->apic_id[i];
		put32(p + 4, LAPIC_ENABLED);
	}
	p[0] = MADT_IOAPIC;
	p[1] = MADT_IOAPIC_LEN;
	p[2] = d->ioapic_id;
	put32(p + 4, d->ioapic_addr);
	put32(p + 8, d->ioapic_gsi_base);
	p += MADT_IOAPIC_LEN;
	for (unsigned int i = 0; i < d->nr_overrides; i++) {
		const struct x86_acpi_override *o = &d->override[i];

		p[0] = MADT_OVERRIDE;
		p[1] = MADT_OVERRIDE_LEN;
		p[2] = 0; /* bus: ISA */
		p[3] = o->bus_irq;
		put32(p + 4, o->gsi);
		put16(p + 8, o->flags);
		p += MADT_OVERRIDE_LEN;
	}
	/* LINT1 of every processor is the NMI, as on a PC */
	p[0] = MADT_LAPIC_NMI;
	p[1] = MADT_NMI_LEN;
	p[2] = 0xff;
	put16(p + 3, 0);
	p[5] = 1;
	acpi_checksum(t, len);
}

/* Memory32Fixed below 4 GiB, else a 64-bit consumer range. */
static void mem_resource(struct aml *a, uint64_t base, uint64_t len)
{
	if (base + len <= 0x100000000ULL)
		aml_rt_mem32_fixed(a, (uint32_t)base, (uint32_t)len, true);
	else
		aml_rt_qword_mem_consumer(a, base, len);
}

static void dsdt_cpus(struct aml *a, const struct x86_acpi_desc *d)
{
	for (unsigned int i = 0; i < d->nr_cpus; i++) {
		char name[5];

		snprintf(name, sizeof(name), "C%03X", i & 0xfff);
		aml_device(a, name);
		aml_name_decl(a, "_HID");
		aml_string(a, "ACPI0007");
		aml_name_decl(a, "_UID");
		aml_integer(a, i);
		aml_close(a);
	}
}

static void dsdt_pio(struct aml *a, const struct x86_acpi_pio_dev *dev)
{
	aml_device(a, dev->name);
	aml_name_decl(a, "_HID");
	aml_hid(a, dev->hid);
	aml_name_decl(a, "_UID");
	aml_integer(a, dev->uid);
	aml_name_decl(a, "_CRS");
	aml_rt_begin(a);
	for (unsigned int i = 0; i < dev->nr_io; i++)
		aml_rt_io(a, dev->io[i].base, dev->io[i].base, 1,
			  (uint8_t)dev->io[i].len);
	if (dev->irq >= 0)
		aml_rt_irq_noflags(a, (unsigned int)dev->irq);
	aml_rt_end(a);
	aml_close(a);
}

static void dsdt_mmio(struct aml *a, const struct x86_acpi_mmio_dev *dev)
{
	aml_device(a, dev->name);
	aml_name_decl(a, "_HID");
	aml_hid(a, dev->hid);
	aml_name_decl(a, "_UID");
	aml_integer(a, dev->uid);
	aml_name_decl(a, "_CRS");
	aml_rt_begin(a);
	mem_resource(a, dev->base, dev->len);
	if (dev->gsi >= 0)
		aml_rt_interrupt(a, (uint32_t)dev->gsi, dev->irq_flags);
	aml_rt_end(a);
	aml_close(a);
}

/*
 * _OSC for the host bridge: the OS gets every control it asks for (there
 * is no firmware to share them with); an unknown UUID or revision is
 * answered as the PCI Firmware Specification says.
 */
static void dsdt_osc(struct aml *a)
{
	aml_method(a, "_OSC", 4, false);
	aml_op(a, AML_OP_CREATE_DWORD_FIELD);
	aml_arg(a, 3);
	aml_integer(a, 0);
	aml_name(a, "CDW1");
	aml_if(a);
	aml_op(a, AML_OP_LEQUAL);
	aml_arg(a, 0);
	aml_uuid(a, PCI_HOST_BRIDGE_OSC);
	{
		aml_if(a);
		aml_op(a, AML_OP_LNOT);
		aml_op(a, AML_OP_LEQUAL);
		aml_arg(a, 1);
		aml_integer(a, 1);
		{
			aml_op(a, AML_OP_OR);
			aml_name(a, "CDW1");
			aml_integer(a, OSC_UNKNOWN_REVISION);
			aml_name(a, "CDW1");
		}
		aml_close(a);
	}
	aml_close(a);
	aml_else(a);
	{
		aml_op(a, AML_OP_OR);
		aml_name(a, "CDW1");
		aml_integer(a, OSC_UNKNOWN_UUID);
		aml_name(a, "CDW1");
	}
	aml_close(a);
	aml_op(a, AML_OP_RETURN);
	aml_arg(a, 3);
	aml_close(a);
}

static uint64_t ecam_start(const struct x86_acpi_pci *p)
{
	return p->ecam + ((uint64_t)p->bus_start << 20);
}

static uint64_t ecam_len(const struct x86_acpi_pci *p)
{
	return (uint64_t)(p->bus_end - p->bus_start + 1) << 20;
}

static void dsdt_pci(struct aml *a, const struct x86_acpi_pci *p)
{
	aml_device(a, "PCI0");
	aml_name_decl(a, "_HID");
	aml_eisaid(a, "PNP0A08");
	aml_name_decl(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name_decl(a, "_SEG");
	aml_integer(a, p->segment);
	aml_name_decl(a, "_UID");
	aml_integer(a, p->segment);
	aml_name_decl(a, "_BBN");
	aml_integer(a, p->bus_start);
	aml_name_decl(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_word_bus(a, p->bus_start,
			(uint16_t)(p->bus_end - p->bus_start + 1));
	aml_rt_io(a, 0xcf8, 0xcf8, 1, 8); /* the config ports are its own */
	if (p->io_len)
		aml_rt_word_io(a, p->io_base, p->io_len);
	if (p->mem32_len)
		aml_rt_dword_mem(a, p->mem32_base, p->mem32_len, false);
	if (p->mem64_len)
		aml_rt_qword_mem(a, p->mem64_base, p->mem64_len, true);
	aml_rt_end(a);
	dsdt_osc(a);
	aml_close(a);

	/* the ECAM window, reserved as Linux requires before using MMCONFIG */
	aml_device(a, "PRES");
	aml_name_decl(a, "_HID");
	aml_eisaid(a, "PNP0C02");
	aml_name_decl(a, "_UID");
	aml_string(a, "PCI ECAM");
	aml_name_decl(a, "_CRS");
	aml_rt_begin(a);
	mem_resource(a, ecam_start(p), ecam_len(p));
	aml_rt_end(a);
	aml_close(a);
}

static void dsdt_aml(struct aml *a, const struct x86_acpi_desc *d)
{
	/* \_S5: soft off; SLP_TYPb is unused on hardware-reduced ACPI */
	aml_name_decl(a, "\\_S5");
	aml_package(a, 4);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_close(a);

	aml_scope(a, "\\_SB");
	dsdt_cpus(a, d);
	for (unsigned int i = 0; i < d->nr_pio; i++)
		dsdt_pio(a, &d->pio[i]);
	for (unsigned int i = 0; i < d->nr_mmio; i++)
		dsdt_mmio(a, &d->mmio[i]);
	if (d->pci)
		dsdt_pci(a, d->pci);
	aml_close(a);
}

/* Names the DSDT puts in \_SB besides the caller's. */
static bool reserved_name(const char *n)
{
	return !strcmp(n, "PCI0") || !strcmp(n, "PRES") ||
	       (n[0] == 'C' && strspn(n + 1, "0123456789ABCDEF") == 3);
}

static int check_names(const struct x86_acpi_desc *d, char *err,
		       size_t errlen)
{
	const char *names[64];
	unsigned int n = 0;

	if (d->nr_pio + d->nr_mmio > sizeof(names) / sizeof(names[0]))
		return fail(err, errlen, -EINVAL,
			    "ACPI: %u devices, at most %zu",
			    d->nr_pio + d->nr_mmio,
			    sizeof(names) / sizeof(names[0]));
	for (unsigned int i = 0; i < d->nr_pio; i++)
		names[n++] = d->pio[i].name;
	for (unsigned int i = 0; i < d->nr_mmio; i++)
		names[n++] = d->mmio[i].name;
	for (unsigned int i = 0; i < n; i++) {
		if (strnlen(names[i], 5) > 4 || reserved_name(names[i]))
			return fail(err, errlen, -EINVAL,
				    "ACPI: device name \"%.5s\" is not free",
				    names[i]);
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(names[i], names[j]))
				return fail(err, errlen, -EINVAL,
					    "ACPI: two devices named %s",
					    names[i]);
	}
	return 0;
}

static int check_desc(const struct x86_acpi_desc *d, char *err, size_t errlen)
{
	const struct x86_acpi_pci *p = d->pci;

	if (d->nr_cpus < 1 || d->nr_cpus > X86_ACPI_MAX_CPUS)
		return fail(err, errlen, -EINVAL,
			    "ACPI: %u vCPUs; the MADT takes 1 to %d",
			    d->nr_cpus, X86_ACPI_MAX_CPUS);
	for (unsigned int i = 0; i < d->nr_cpus; i++) {
		if (d->apic_id[i] == 0xff)
			return fail(err, errlen, -EINVAL,
				    "ACPI: vCPU %u has APIC id 255 (broadcast)",
				    i);
		for (unsigned int j = 0; j < i; j++)
			if (d->apic_id[i] == d->apic_id[j])
				return fail(err, errlen, -EINVAL,
					    "ACPI: vCPUs %u and %u share APIC id %u",
					    j, i, d->apic_id[i]);
	}
	if (d->nr_overrides > X86_ACPI_MAX_OVERRIDES)
		return fail(err, errlen, -EINVAL,
			    "ACPI: %u interrupt overrides, at most %d",
			    d->nr_overrides, X86_ACPI_MAX_OVERRIDES);
	for (unsigned int i = 0; i < d->nr_overrides; i++)
		if (d->override[i].bus_irq == d->sci_irq)
			return fail(err, errlen, -EINVAL,
				    "ACPI: an override of IRQ %u would be taken "
				    "for the SCI's", d->sci_irq);
	for (unsigned int i = 0; i < d->nr_pio; i++) {
		const struct x86_acpi_pio_dev *dev = &d->pio[i];

		if (dev->nr_io > 2 || dev->irq > 15 || dev->irq < -1)
			return fail(err, errlen, -EINVAL,
				    "ACPI: %.4s: %u port ranges, IRQ %d",
				    dev->name, dev->nr_io, dev->irq);
		for (unsigned int j = 0; j < dev->nr_io; j++)
			if (!dev->io[j].len || dev->io[j].len > 255 ||
			    dev->io[j].base + dev->io[j].len > 0x10000)
				return fail(err, errlen, -EINVAL,
					    "ACPI: %.4s: bad port range",
					    dev->name);
	}
	for (unsigned int i = 0; i < d->nr_mmio; i++) {
		const struct x86_acpi_mmio_dev *dev = &d->mmio[i];

		if (!dev->len || dev->base + dev->len < dev->base ||
		    dev->gsi < -1)
			return fail(err, errlen, -EINVAL,
				    "ACPI: %.4s: bad MMIO range or GSI",
				    dev->name);
	}
	if (p && (p->bus_end < p->bus_start || p->ecam & 0xfffff ||
		  ecam_start(p) < p->ecam ||
		  ecam_start(p) + ecam_len(p) < ecam_start(p)))
		return fail(err, errlen, -EINVAL,
			    "ACPI: PCI ECAM at 0x%llx for buses %u-%u",
			    (unsigned long long)p->ecam, p->bus_start,
			    p->bus_end);
	return check_names(d, err, errlen);
}

static size_t align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

int x86_acpi_write(const struct guest_mem *m, const struct x86_acpi_desc *d,
		   uint64_t base, uint64_t size, uint64_t *rsdp, char *err,
		   size_t errlen)
{
	size_t off_xsdt, off_fadt, off_madt, off_mcfg, off_dsdt, total;
	unsigned int ntables = d->pci ? 3 : 2;
	uint64_t tables[3];
	struct acpi_fadt fadt;
	struct aml a;
	uint8_t *buf;
	int ret;

	if ((ret = check_desc(d, err, errlen)))
		return ret;
	if (base & 15)
		return fail(err, errlen, -EINVAL,
			    "ACPI: RSDP at 0x%llx is not 16-byte aligned",
			    (unsigned long long)base);
	aml_init(&a);
	dsdt_aml(&a, d);
	if ((ret = aml_finish(&a))) {
		aml_free(&a);
		return fail(err, errlen, ret, "ACPI: cannot encode the DSDT: %s",
			    strerror(-ret));
	}

	off_xsdt = align16(ACPI_RSDP_LEN);
	off_fadt = off_xsdt + align16(ACPI_XSDT_LEN(ntables));
	off_madt = off_fadt + align16(ACPI_FADT_LEN);
	off_mcfg = off_madt + align16(madt_len(d));
	off_dsdt = off_mcfg + (d->pci ? align16(ACPI_MCFG_LEN) : 0);
	total = off_dsdt + ACPI_HDR_LEN + a.len;
	if (total > size) {
		aml_free(&a);
		return fail(err, errlen, -ENOSPC,
			    "ACPI: the tables need %zu bytes, %llu are free",
			    total, (unsigned long long)size);
	}
	buf = calloc(1, total);
	if (!buf) {
		aml_free(&a);
		return fail(err, errlen, -ENOMEM, "ACPI: out of memory");
	}

	acpi_header(buf + off_dsdt, "DSDT", (uint32_t)(ACPI_HDR_LEN + a.len), 2);
	memcpy(buf + off_dsdt + ACPI_HDR_LEN, a.buf, a.len);
	acpi_checksum(buf + off_dsdt, ACPI_HDR_LEN + a.len);
	aml_free(&a);

	fadt = (struct acpi_fadt){
		.dsdt = base + off_dsdt,
		.sci_irq = d->sci_irq,
		.iapc_boot_arch = d->iapc_boot_arch,
		.flags = ACPI_FADT_WBINVD | ACPI_FADT_PWR_BUTTON |
			 ACPI_FADT_SLP_BUTTON,
		.sleep_control = acpi_gas_port8(d->sleep_control_port),
		.sleep_status = acpi_gas_port8(d->sleep_status_port),
		.reset = acpi_gas_port8(d->reset_port),
		.reset_value = d->reset_value,
	};
	acpi_fadt(buf + off_fadt, &fadt);
	madt(buf + off_madt, d);
	/* the DSDT is reached through the FADT, never listed in the XSDT */
	tables[0] = base + off_fadt;
	tables[1] = base + off_madt;
	if (d->pci) {
		acpi_mcfg(buf + off_mcfg, d->pci->ecam, d->pci->segment,
			  d->pci->bus_start, d->pci->bus_end);
		tables[2] = base + off_mcfg;
	}
	acpi_xsdt(buf + off_xsdt, tables, ntables);
	acpi_rsdp(buf, base + off_xsdt);

	ret = gpa_write(m, base, buf, total);
	free(buf);
	if (ret)
		return fail(err, errlen, ret,
			    "ACPI: [0x%llx, +%zu) is not guest RAM",
			    (unsigned long long)base, total);
	*rsdp = base;
	return 0;
}

int x86_acpi_write_reset_vector(const struct guest_mem *m, uint16_t port,
				uint8_t value)
{
	const uint8_t code[] = {
		0xba, (uint8_t)port, (uint8_t)(port >> 8), /* mov dx, port */
		0xb0, value,                               /* mov al, value */
		0xee,                                      /* out dx, al */
		0xf4,                                      /* 1: hlt */
		0xeb, 0xfd,                                /* jmp 1b */
	};

	return gpa_write(m, X86_RESET_VECTOR_ADDR, code, sizeof(code));
}

int x86_acpi_set_rsdp(const struct guest_mem *m, enum x86_boot_proto proto,
		      uint64_t rsdp)
{
	uint8_t v[8];

	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(rsdp >> (8 * i));
	if (proto == X86_BOOT_PVH)
		return gpa_write(m, X86_PVH_INFO_ADDR + PVH_RSDP_OFF, v, 8);
	return gpa_write(m, X86_ZERO_PAGE_ADDR + BP_ACPI_RSDP_ADDR, v, 8);
}
