// SPDX-License-Identifier: MIT
/*
 * The x86 ACPI tables written into guest memory and read back the way a
 * guest finds them (RSDP -> XSDT -> FADT -> DSDT): every table's length
 * and checksum, the MADT for 1..254 vCPUs, the FADT's hardware-reduced
 * registers, the MCFG, the RSDP pointer of both boot protocols, the
 * description errors. Then through Debian's acpica-tools: iasl must
 * disassemble the DSDT without a complaint, naming every device with the
 * resources we put in, and decode the FADT, MADT and MCFG; acpiexec (the
 * ACPICA interpreter Linux uses) runs \_S5 and _OSC. Without the tools
 * those checks are SKIP lines.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../arch/x86_64/acpi.h"
#include "../../vmm/acpi.h"
#include "../../vmm/aml.h"
#include "unit.h"

#define MIB (1ULL << 20)
#define ACPI_BASE 0xe0000ULL
#define ACPI_SIZE 0x10000ULL

/* ------------------------------------------------------------------ */
/* the x86 tables in guest memory                                      */

static const struct x86_acpi_pio_dev pio_devs[] = {
	{ "COM1", "PNP0501", 1, { { 0x3f8, 8 } }, 1, 4 },
	{ "KBD", "PNP0303", 0, { { 0x60, 1 }, { 0x64, 1 } }, 2, 1 },
	{ "RTC", "PNP0B00", 0, { { 0x70, 2 } }, 1, -1 },
	{ "PEVT", "QEMU0001", 0, { { 0x505, 1 } }, 1, -1 },
};
static const struct x86_acpi_mmio_dev mmio_devs[] = {
	{ "BTMR", "PNP0C02", 0, 0xd0000000, 0x1000, -1, 0 },
	{ "VR00", "LNRO0005", 0, 0xd0001000, 0x1000, 5, AML_IRQ_EDGE },
	{ "VR01", "LNRO0005", 1, 0xd0002000, 0x1000, 6, AML_IRQ_EDGE },
	{ "VR02", "LNRO0005", 2, 0xd0003000, 0x1000, 7, AML_IRQ_EDGE },
};
static const struct x86_acpi_pci pci = {
	.ecam = 0xe0000000, .segment = 0, .bus_start = 0, .bus_end = 0,
	.io_base = 0x1000, .io_len = 0xf000,
	.mem32_base = 0xc0000000, .mem32_len = 0x10000000,
	.mem64_base = 0x1000000000ULL, .mem64_len = 0x1000000000ULL,
};

static void typical(struct x86_acpi_desc *d, unsigned int ncpus)
{
	memset(d, 0, sizeof(*d));
	d->nr_cpus = ncpus;
	for (unsigned int i = 0; i < ncpus && i < X86_ACPI_MAX_CPUS; i++)
		d->apic_id[i] = (uint8_t)i;
	d->lapic_addr = 0xfee00000;
	d->ioapic_id = (uint8_t)ncpus;
	d->ioapic_addr = 0xfec00000;
	d->ioapic_gsi_base = 0;
	d->pcat_compat = true;
	d->override[0] = (struct x86_acpi_override){ 0, 2, 0 };
	d->override[1] = (struct x86_acpi_override){
		5, 5, X86_ACPI_INTI_LEVEL | X86_ACPI_INTI_ACTIVE_HIGH };
	d->nr_overrides = 2;
	d->sci_irq = 9;
	d->iapc_boot_arch = ACPI_IAPC_8042 | ACPI_IAPC_NO_VGA;
	d->sleep_control_port = 0x600;
	d->sleep_status_port = 0x601;
	d->reset_port = 0x602;
	d->reset_value = 0x0e;
	d->pio = pio_devs;
	d->nr_pio = sizeof(pio_devs) / sizeof(pio_devs[0]);
	d->mmio = mmio_devs;
	d->nr_mmio = sizeof(mmio_devs) / sizeof(mmio_devs[0]);
	d->pci = &pci;
}

static int mem_init(struct guest_mem *m, uint64_t size)
{
	const uint64_t r[][2] = { { 0, size } };

	return guest_mem_init(m, r, 1);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* A table in guest memory whose header is sane and checksum right. */
static const uint8_t *table_at(const struct guest_mem *m, uint64_t gpa,
			       const char *sig)
{
	const uint8_t *h = gpa_ptr(m, gpa, ACPI_HDR_LEN);
	uint32_t len;
	const uint8_t *t;

	if (!h || memcmp(h, sig, 4))
		return NULL;
	len = le32(h + ACPI_HDR_LENGTH);
	if (len < ACPI_HDR_LEN || !(t = gpa_ptr(m, gpa, len)))
		return NULL;
	return acpi_sum(t, len) == 0 ? t : NULL;
}

struct found {
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *mcfg, *dsdt;
	unsigned int nxsdt;
};

/* Walk from the RSDP as a guest does; 0 or why not. */
static const char *walk(const struct guest_mem *m, uint64_t rsdp,
			struct found *f)
{
	memset(f, 0, sizeof(*f));
	f->rsdp = gpa_ptr(m, rsdp, ACPI_RSDP_LEN);
	if (!f->rsdp || memcmp(f->rsdp, "RSD PTR ", 8))
		return "no RSDP signature";
	if (acpi_sum(f->rsdp, 20) || acpi_sum(f->rsdp, ACPI_RSDP_LEN))
		return "RSDP checksum";
	if (f->rsdp[15] != 2 || le32(f->rsdp + 20) != ACPI_RSDP_LEN)
		return "RSDP revision or length";
	f->xsdt = table_at(m, le64(f->rsdp + 24), "XSDT");
	if (!f->xsdt)
		return "XSDT";
	f->nxsdt = (le32(f->xsdt + ACPI_HDR_LENGTH) - ACPI_HDR_LEN) / 8;
	for (unsigned int i = 0; i < f->nxsdt; i++) {
		uint64_t gpa = le64(f->xsdt + ACPI_HDR_LEN + 8 * i);
		const uint8_t *h = gpa_ptr(m, gpa, 4);
		const uint8_t **slot = NULL;

		if (!h)
			return "XSDT entry outside memory";
		if (!memcmp(h, "FACP", 4))
			slot = &f->fadt;
		else if (!memcmp(h, "APIC", 4))
			slot = &f->madt;
		else if (!memcmp(h, "MCFG", 4))
			slot = &f->mcfg;
		else
			return "unexpected table in the XSDT";
		if (*slot)
			return "a table listed twice";
		*slot = table_at(m, gpa, (const char *)h);
		if (!*slot)
			return "bad length or checksum in an XSDT table";
	}
	if (!f->fadt)
		return "no FADT";
	f->dsdt = table_at(m, le64(f->fadt + ACPI_FADT_X_DSDT), "DSDT");
	return f->dsdt ? NULL : "no valid DSDT at X_DSDT";
}

static int write_typical(struct guest_mem *m, const struct x86_acpi_desc *d,
			 uint64_t *rsdp, char *err, size_t errlen)
{
	return x86_acpi_write(m, d, ACPI_BASE, ACPI_SIZE, rsdp, err, errlen);
}

TEST(tables_lengths_and_checksums)
{
	struct x86_acpi_desc d;
	struct guest_mem m;
	struct found f;
	uint64_t rsdp = 0;
	char err[256] = "";
	const char *why;

	CHECK_EQ(mem_init(&m, 2 * MIB), 0);
	typical(&d, 2);
	CHECK_EQ(write_typical(&m, &d, &rsdp, err, sizeof(err)), 0);
	CHECK_EQ(rsdp, ACPI_BASE);
	why = walk(&m, rsdp, &f);
	if (why)
		snprintf(unit_why, sizeof(unit_why), "walk: %s", why);
	CHECK(why == NULL);
	CHECK_EQ(f.nxsdt, 3);
	CHECK(f.madt && f.mcfg);
	CHECK_EQ(le32(f.fadt + ACPI_HDR_LENGTH), ACPI_FADT_LEN);
	CHECK_EQ(le32(f.mcfg + ACPI_HDR_LENGTH), ACPI_MCFG_LEN);
	CHECK_EQ(le32(f.madt + ACPI_HDR_LENGTH),
		 44 + 2 * 8 + 12 + 2 * 10 + 6);
	CHECK_EQ(f.dsdt[ACPI_HDR_REVISION], 2); /* 64-bit integers */
	/* every table inside the area, none overlapping another */
	{
		const uint8_t *t[] = { f.rsdp, f.xsdt, f.fadt, f.madt, f.mcfg,
				       f.dsdt };
		uint8_t *area = gpa_ptr(&m, ACPI_BASE, ACPI_SIZE);

		for (size_t i = 0; i < 6; i++) {
			size_t len = i ? le32(t[i] + 4) : ACPI_RSDP_LEN;

			CHECK(t[i] >= area && t[i] + len <= area + ACPI_SIZE);
			for (size_t j = 0; j < i; j++) {
				size_t lj = j ? le32(t[j] + 4) : ACPI_RSDP_LEN;

				CHECK(t[i] >= t[j] + lj || t[j] >= t[i] + len);
			}
		}
	}
	guest_mem_destroy(&m);
}

TEST(no_pci_no_mcfg)
{
	struct x86_acpi_desc d;
	struct guest_mem m;
	struct found f;
	uint64_t rsdp;
	char err[256];

	CHECK_EQ(mem_init(&m, 2 * MIB), 0);
	typical(&d, 1);
	d.pci = NULL;
	CHECK_EQ(write_typical(&m, &d, &rsdp, err, sizeof(err)), 0);
	CHECK(walk(&m, rsdp, &f) == NULL);
	CHECK_EQ(f.nxsdt, 2);
	CHECK(f.mcfg == NULL);
	guest_mem_destroy(&m);
}

TEST(madt_for_1_to_254_vcpus)
{
	struct guest_mem m;

	CHECK_EQ(mem_init(&m, 2 * MIB), 0);
	for (unsigned int n = 1; n <= X86_ACPI_MAX_CPUS; n++) {
		struct x86_acpi_desc d;
		struct found f;
		const uint8_t *p, *end;
		unsigned int lapics = 0, ioapics = 0, isos = 0, nmis = 0;
		uint64_t rsdp;
		char err[256];

		typical(&d, n);
		/* APIC ids need not be the vCPU index: use a sparse set */
		for (unsigned int i = 0; i < n; i++)
			d.apic_id[i] = (uint8_t)(n - 1 - i);
		CHECK_EQ(write_typical(&m, &d, &rsdp, err, sizeof(err)), 0);
		CHECK(walk(&m, rsdp, &f) == NULL);
		CHECK_EQ(le32(f.madt + ACPI_HDR_LENGTH),
			 44 + 8 * n + 12 + 10 * d.nr_overrides + 6);
		CHECK_EQ(le32(f.madt + 36), 0xfee00000);
		CHECK_EQ(le32(f.madt + 40), 1); /* PCAT_COMPAT */
		p = f.madt + 44;
		end = f.madt + le32(f.madt + ACPI_HDR_LENGTH);
		while (p < end) {
			CHECK(p[1] >= 2 && p + p[1] <= end);
			switch (p[0]) {
			case 0:
				CHECK_EQ(p[1], 8);
				CHECK_EQ(p[2], lapics);        /* UID */
				CHECK_EQ(p[3], n - 1 - lapics); /* APIC id */
				CHECK_EQ(le32(p + 4), 1);      /* enabled */
				lapics++;
				break;
			case 1:
				CHECK_EQ(p[1], 12);
				CHECK_EQ(p[2], n);
				CHECK_EQ(le32(p + 4), 0xfec00000);
				CHECK_EQ(le32(p + 8), 0);
				ioapics++;
				break;
			case 2:
				CHECK_EQ(p[1], 10);
				CHECK_EQ(p[2], 0);
				CHECK_EQ(p[3], d.override[isos].bus_irq);
				CHECK_EQ(le32(p + 4), d.override[isos].gsi);
				CHECK_EQ(le16(p + 8), d.override[isos].flags);
				isos++;
				break;
			case 4:
				CHECK_EQ(p[1], 6);
				CHECK_EQ(p[2], 0xff);
				CHECK_EQ(p[5], 1); /* LINT1 */
				nmis++;
				break;
			default:
				CHECK(!"unexpected MADT entry");
			}
			p += p[1];
		}
		CHECK(p == end);
		CHECK_EQ(lapics, n);
		CHECK_EQ(ioapics, 1);
		CHECK_EQ(isos, 2);
		CHECK_EQ(nmis, 1);
	}
	guest_mem_destroy(&m);
}

TEST(fadt_hardware_reduced)
{
	struct x86_acpi_desc d;
	struct guest_mem m;
	struct found f;
	uint64_t rsdp;
	char err[256];
	uint32_t flags;
	const uint8_t *g;

	CHECK_EQ(mem_init(&m, 2 * MIB), 0);
	typical(&d, 2);
	CHECK_EQ(write_typical(&m, &d, &rsdp, err, sizeof(err)), 0);
	CHECK(walk(&m, rsdp, &f) == NULL);
	CHECK_EQ(f.fadt[ACPI_HDR_REVISION], 6);
	CHECK_EQ(f.fadt[ACPI_FADT_MINOR_VERSION], 0);
	flags = le32(f.fadt + ACPI_FADT_FLAGS);
	CHECK(flags & ACPI_FADT_HW_REDUCED);
	CHECK(flags & ACPI_FADT_RESET_REG_SUP);
	CHECK_EQ(le16(f.fadt + ACPI_FADT_IAPC_BOOT_ARCH),
		 ACPI_IAPC_8042 | ACPI_IAPC_NO_VGA);
	CHECK_EQ(le16(f.fadt + ACPI_FADT_SCI_INT), 9);
	CHECK_EQ(le32(f.fadt + 40), 0);       /* no 32-bit DSDT pointer */
	CHECK_EQ(le32(f.fadt + 36), 0);       /* no FACS */
	CHECK_EQ(le64(f.fadt + 132), 0);
	for (unsigned int off = 56; off < 88; off += 4)
		CHECK_EQ(le32(f.fadt + off), 0); /* no PM1/PM2/timer/GPE */
	for (unsigned int off = 148; off < 244; off++)
		CHECK_EQ(f.fadt[off], 0);        /* nor their X_ forms */
	g = f.fadt + ACPI_FADT_SLEEP_CONTROL;
	CHECK(g[0] == ACPI_GAS_IO && g[1] == 8 && g[2] == 0 && g[3] == 1);
	CHECK_EQ(le64(g + 4), 0x600);
	g = f.fadt + ACPI_FADT_SLEEP_STATUS;
	CHECK(g[0] == ACPI_GAS_IO && g[1] == 8 && g[3] == 1);
	CHECK_EQ(le64(g + 4), 0x601);
	g = f.fadt + ACPI_FADT_RESET_REG;
	CHECK(g[0] == ACPI_GAS_IO && g[1] == 8 && g[3] == 1);
	CHECK_EQ(le64(g + 4), 0x602);
	CHECK_EQ(f.fadt[ACPI_FADT_RESET_VALUE], 0x0e);
	guest_mem_destroy(&m);
}

TEST(mcfg_entry)
{
	struct x86_acpi_desc d;
	struct x86_acpi_pci p = pci;
	struct guest_mem m;
	struct found f;
	uint64_t rsdp;
	char err[256];

	CHECK_EQ(mem_init(&m, 2 * MIB), 0);
	typical(&d, 2);
	p.ecam = 0xb0000000;
	p.segment = 0;
	p.bus_start = 0;
	p.bus_end = 15;
	d.pci = &p;
	CHECK_EQ(write_typical(&m, &d, &rsdp, err, sizeof(err)), 0);
	CHECK(walk(&m, rsdp, &f) == NULL);
	CHECK_EQ(le64(f.mcfg + 44), 0xb0000000);
	CHECK_EQ(le16(f.mcfg + 52), 0);
	CHECK_EQ(f.mcfg[54], 0);
	CHECK_EQ(f.mcfg[55], 15);
	guest_mem_destroy(&m);
}

TEST(rsdp_for_both_boot_protocols)
{
	struct guest_mem m;
	const uint8_t *p;

	CHECK_EQ(mem_init(&m, 2 * MIB), 0);
	CHECK_EQ(x86_acpi_set_rsdp(&m, X86_BOOT_LINUX64, 0xe0000), 0);
	p = gpa_ptr(&m, X86_ZERO_PAGE_ADDR + 0x70, 8);
	CHECK_EQ(le64(p), 0xe0000);
	CHECK_EQ(x86_acpi_set_rsdp(&m, X86_BOOT_PVH, 0xe0010), 0);
	p = gpa_ptr(&m, X86_PVH_INFO_ADDR + 32, 8);
	CHECK_EQ(le64(p), 0xe0010);
	guest_mem_destroy(&m);
	/* no memory there */
	{
		const uint64_t r[][2] = { { 0x100000, 2 * MIB } };

		CHECK_EQ(guest_mem_init(&m, r, 1), 0);
		CHECK_EQ(x86_acpi_set_rsdp(&m, X86_BOOT_PVH, 0xe0000), -EFAULT);
		guest_mem_destroy(&m);
	}
}

TEST(reset_vector_writes_the_reset_register)
{
	static const uint8_t want[] = { 0xba, 0x02, 0x06, 0xb0, 0x0e, 0xee,
					0xf4, 0xeb, 0xfd };
	struct guest_mem m;
	const uint8_t *p;

	CHECK_EQ(mem_init(&m, 2 * MIB), 0);
	CHECK_EQ(x86_acpi_write_reset_vector(&m, 0x602, 0x0e), 0);
	p = gpa_ptr(&m, 0xffff0, 16);
	CHECK(memcmp(p, want, sizeof(want)) == 0);
	/* the whole stub lies below 1 MiB, where F000:FFF0 can reach it */
	CHECK(X86_RESET_VECTOR_ADDR + sizeof(want) <= 0x100000);
	/* it loops on hlt: the jump lands on the hlt before it */
	CHECK_EQ((int8_t)p[8], -3);
	CHECK_EQ(p[6], 0xf4);
	guest_mem_destroy(&m);
	{
		const uint64_t r[][2] = { { 0x100000, 2 * MIB } };

		CHECK_EQ(guest_mem_init(&m, r, 1), 0);
		CHECK_EQ(x86_acpi_write_reset_vector(&m, 0x602, 0x0e), -EFAULT);
		guest_mem_destroy(&m);
	}
}

/* Expect x86_acpi_write() to refuse with code and one line of error. */
static int refuses(struct guest_mem *m, const struct x86_acpi_desc *d,
		   uint64_t base, uint64_t size, int code)
{
	char err[256] = "";
	uint64_t rsdp = 1234;
	int ret = x86_acpi_write(m, d, base, size, &rsdp, err, sizeof(err));

	if (ret != code || !err[0] || strchr(err, '\n') || rsdp != 1234) {
		snprintf(unit_why, sizeof(unit_why), "got %d (%s), want %d",
			 ret, err, code);
		return 0;
	}
	return 1;
}

TEST(description_errors)
{
	struct x86_acpi_pio_dev pdup[2] = { pio_devs[0], pio_devs[0] };
	struct x86_acpi_pio_dev pres = pio_devs[0];
	struct x86_acpi_pio_dev pbad = pio_devs[0];
	struct x86_acpi_pci pbus = pci;
	struct x86_acpi_desc d;
	struct guest_mem m;

	CHECK_EQ(mem_init(&m, 2 * MIB), 0);
	typical(&d, 0);
	CHECK(refuses(&m, &d, ACPI_BASE, ACPI_SIZE, -EINVAL));
	typical(&d, X86_ACPI_MAX_CPUS + 1);
	CHECK(refuses(&m, &d, ACPI_BASE, ACPI_SIZE, -EINVAL));
	typical(&d, 2);
	d.apic_id[1] = 0;
	CHECK(refuses(&m, &d, ACPI_BASE, ACPI_SIZE, -EINVAL));
	typical(&d, 2);
	d.apic_id[1] = 0xff;
	CHECK(refuses(&m, &d, ACPI_BASE, ACPI_SIZE, -EINVAL));
	typical(&d, 2);
	d.override[1].bus_irq = 9; /* the SCI's */
	CHECK(refuses(&m, &d, ACPI_BASE, ACPI_SIZE, -EINVAL));
	typical(&d, 2);
	d.pio = pdup;
	d.nr_pio = 2;
	CHECK(refuses(&m, &d, ACPI_BASE, ACPI_SIZE, -EINVAL));
	typical(&d, 2);
	memcpy(pres.name, "C001", 5); /* a CPU's name */
	d.pio = &pres;
	d.nr_pio = 1;
	CHECK(refuses(&m, &d, ACPI_BASE, ACPI_SIZE, -EINVAL));
	typical(&d, 2);
	memcpy(pbad.name, "c1", 3);  /* not an AML name */
	d.pio = &pbad;
	d.nr_pio = 1;
	CHECK(refuses(&m, &d, ACPI_BASE, ACPI_SIZE, -EINVAL));
	pbad = pio_devs[0];
	pbad.irq = 16;
	CHECK(refuses(&m, &d, ACPI_BASE, ACPI_SIZE, -EINVAL));
	typical(&d, 2);
	pbus.bus_start = 2;
	pbus.bus_end = 1;
	d.pci = &pbus;
	CHECK(refuses(&m, &d, ACPI_BASE, ACPI_SIZE, -EINVAL));
	pbus = pci;
	pbus.ecam = 0xe0000800; /* not 1 MiB aligned */
	CHECK(refuses(&m, &d, ACPI_BASE, ACPI_SIZE, -EINVAL));
	typical(&d, 2);
	CHECK(refuses(&m, &d, ACPI_BASE + 8, ACPI_SIZE, -EINVAL));
	CHECK(refuses(&m, &d, ACPI_BASE, 512, -ENOSPC));
	CHECK(refuses(&m, &d, 2 * MIB - 256, 4096, -EFAULT));
	guest_mem_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* iasl                                                                */

static bool have_iasl(void)
{
	return system("iasl -v >/dev/null 2>&1") == 0;
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(p, 1, n, f) == n;

	if (f && fclose(f))
		ok = 0;
	return ok ? 0 : -EIO;
}

/*
 * A text file as one line: comments (outside strings) dropped, every run
 * of white space made one space. iasl's annotations ("// _HID: Hardware
 * ID", a C comment after an EisaId) go, what it decoded stays.
 */
static char *read_squashed(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t n = 0, cap = 0;
	int c, space = 0, quote = 0;

	if (!f)
		return NULL;
	while ((c = fgetc(f)) != EOF) {
		if (!quote && c == '/') {
			int d = fgetc(f);

			if (d == '/') {
				while ((c = fgetc(f)) != EOF && c != '\n')
					;
				space = 1;
				continue;
			}
			if (d == '*') {
				int prev = 0;

				while ((c = fgetc(f)) != EOF &&
				       !(prev == '*' && c == '/'))
					prev = c;
				space = 0; /* "x" /+ note +/) reads "x") */
				continue;
			}
			if (d != EOF)
				ungetc(d, f);
		}
		if (c == '"')
			quote = !quote;
		if (!quote && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
			space = 1;
			continue;
		}
		if (n + 3 > cap) {
			char *t = realloc(s, cap = cap ? 2 * cap : 4096);

			if (!t) {
				free(s);
				fclose(f);
				return NULL;
			}
			s = t;
		}
		if (space && n)
			s[n++] = ' ';
		space = 0;
		s[n++] = (char)c;
	}
	fclose(f);
	if (s)
		s[n] = 0;
	return s;
}

struct iasl_run {
	char dir[64];
	char *dsl;      /* the disassembled DSDT, squashed */
	char *log;      /* what iasl printed */
	int status;
};

/* Disassemble table t (of name "dsdt", "facp", ...) in a fresh temp dir. */
static int iasl_disassemble(struct iasl_run *r, const char *name,
			    const uint8_t *t)
{
	char path[128], cmd[512];

	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/vmm-acpi-XXXXXX");
	if (!mkdtemp(r->dir))
		return -errno;
	snprintf(path, sizeof(path), "%s/%s.dat", r->dir, name);
	if (write_file(path, t, le32(t + ACPI_HDR_LENGTH)))
		return -EIO;
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat >iasl.log 2>&1",
		 r->dir, name);
	r->status = system(cmd);
	snprintf(path, sizeof(path), "%s/%s.dsl", r->dir, name);
	r->dsl = read_squashed(path);
	snprintf(path, sizeof(path), "%s/iasl.log", r->dir);
	r->log = read_squashed(path);
	return r->dsl && r->log ? 0 : -EIO;
}

static void iasl_done(struct iasl_run *r)
{
	char cmd[128];

	free(r->dsl);
	free(r->log);
	if (getenv("VMM_TEST_KEEP")) /* to read iasl's output by hand */
		fprintf(stderr, "kept %s\n", r->dir);
	else if (r->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", r->dir);
	}
}

/* Does the squashed text hold the printf-formatted string? */
static bool has(const char *text, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool has(const char *text, const char *fmt, ...)
{
	char want[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	if (strstr(text, want))
		return true;
	snprintf(unit_why, sizeof(unit_why), "iasl output lacks \"%.400s\"", want);
	return false;
}

/* The text of Device (name) up to the next Device, in a static buffer. */
static const char *device_text(const char *dsl, const char *name)
{
	static char buf[4096];
	char hdr[32];
	const char *p, *q;

	snprintf(hdr, sizeof(hdr), "Device (%s)", name);
	p = strstr(dsl, hdr);
	if (!p)
		return "";
	q = strstr(p + 1, "Device (");
	snprintf(buf, sizeof(buf), "%.*s",
		 (int)(q ? (size_t)(q - p) : strlen(p)), p);
	return buf;
}

static int tables(struct guest_mem *m, struct found *f, unsigned int ncpus)
{
	struct x86_acpi_desc d;
	uint64_t rsdp;
	char err[256];

	if (mem_init(m, 2 * MIB))
		return -ENOMEM;
	typical(&d, ncpus);
	if (write_typical(m, &d, &rsdp, err, sizeof(err)) ||
	    walk(m, rsdp, f)) {
		guest_mem_destroy(m);
		return -EINVAL;
	}
	return 0;
}

TEST(iasl_dsdt_clean_and_complete)
{
	struct guest_mem m;
	struct found f;
	struct iasl_run r;
	const char *dev;

	if (!have_iasl())
		SKIP_TEST("iasl not installed (apt-get install acpica-tools)");
	CHECK_EQ(tables(&m, &f, 2), 0);
	CHECK_EQ(iasl_disassemble(&r, "dsdt", f.dsdt), 0);
	guest_mem_destroy(&m);
	if (r.status != 0 || strstr(r.log, "Error") || strstr(r.log, "error") ||
	    strstr(r.log, "Warning")) {
		snprintf(unit_why, sizeof(unit_why), "iasl: %.400s", r.log);
		iasl_done(&r);
		CHECK(!"iasl complained");
	}
	{
		const char *s = r.dsl;
		bool ok = has(s, "Name (\\_S5, Package (0x04) { 0x05, Zero, Zero, Zero })") &&
			  has(s, "Scope (\\_SB) {") &&
			  has(device_text(s, "C000"), "Name (_HID, \"ACPI0007\") Name (_UID, Zero) }") &&
			  has(device_text(s, "C001"), "Name (_HID, \"ACPI0007\") Name (_UID, One) }") &&
			  !strstr(s, "Device (C002)");

		/* every port device with its ports and IRQ */
		for (size_t i = 0; ok && i < sizeof(pio_devs) / sizeof(pio_devs[0]); i++) {
			const struct x86_acpi_pio_dev *p = &pio_devs[i];

			dev = device_text(s, p->name);
			ok = strlen(p->hid) == 7
				? has(dev, "Name (_HID, EisaId (\"%s\"))", p->hid)
				: has(dev, "Name (_HID, \"%s\")", p->hid);
			for (unsigned int j = 0; ok && j < p->nr_io; j++)
				ok = has(dev, "IO (Decode16, 0x%04X, 0x%04X, 0x01, 0x%02X, )",
					 p->io[j].base, p->io[j].base, p->io[j].len);
			if (ok && p->irq >= 0)
				ok = has(dev, "IRQNoFlags () {%d}", p->irq);
			if (ok && p->irq < 0)
				ok = !strstr(dev, "IRQ");
		}
		/* every MMIO device: its window and its GSI */
		for (size_t i = 0; ok && i < sizeof(mmio_devs) / sizeof(mmio_devs[0]); i++) {
			const struct x86_acpi_mmio_dev *p = &mmio_devs[i];

			dev = device_text(s, p->name);
			ok = has(dev, "Name (_HID, %s\"%s\"%s)",
				 strlen(p->hid) == 7 ? "EisaId (" : "", p->hid,
				 strlen(p->hid) == 7 ? ")" : "") &&
			     has(dev, "Name (_UID, ") &&
			     has(dev, "Memory32Fixed (ReadWrite, 0x%08llX, 0x%08llX, )",
				 (unsigned long long)p->base,
				 (unsigned long long)p->len);
			if (ok && p->gsi >= 0)
				ok = has(dev, "Interrupt (ResourceConsumer, Edge, ActiveHigh, "
					 "Exclusive, ,, ) { 0x%08X, }", p->gsi);
			if (ok && p->gsi < 0)
				ok = !strstr(dev, "Interrupt");
		}
		/* the host bridge */
		if (ok) {
			dev = device_text(s, "PCI0");
			ok = has(dev, "Name (_HID, EisaId (\"PNP0A08\"))") &&
			     has(dev, "Name (_CID, EisaId (\"PNP0A03\"))") &&
			     has(dev, "Name (_SEG, Zero)") &&
			     has(dev, "Name (_BBN, Zero)") &&
			     has(dev, "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, "
				 "PosDecode, 0x0000, 0x%04X, 0x%04X, 0x0000, 0x%04X, ,, )",
				 pci.bus_start, pci.bus_end,
				 pci.bus_end - pci.bus_start + 1) &&
			     has(dev, "IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08, )") &&
			     has(dev, "WordIO (ResourceProducer, MinFixed, MaxFixed, "
				 "PosDecode, EntireRange, 0x0000, 0x%04X, 0x%04X, 0x0000, "
				 "0x%04X, ,, , TypeStatic, DenseTranslation)", pci.io_base,
				 pci.io_base + pci.io_len - 1, pci.io_len) &&
			     has(dev, "DWordMemory (ResourceProducer, PosDecode, MinFixed, "
				 "MaxFixed, NonCacheable, ReadWrite, 0x00000000, 0x%08X, "
				 "0x%08llX, 0x00000000, 0x%08llX, ,, , AddressRangeMemory, "
				 "TypeStatic)", pci.mem32_base,
				 (unsigned long long)(pci.mem32_base + pci.mem32_len - 1),
				 (unsigned long long)pci.mem32_len) &&
			     has(dev, "QWordMemory (ResourceProducer, PosDecode, MinFixed, "
				 "MaxFixed, Cacheable, ReadWrite, 0x0000000000000000, "
				 "0x%016llX, 0x%016llX, 0x0000000000000000, 0x%016llX, ,, , "
				 "AddressRangeMemory, TypeStatic)",
				 (unsigned long long)pci.mem64_base,
				 (unsigned long long)(pci.mem64_base + pci.mem64_len - 1),
				 (unsigned long long)pci.mem64_len) &&
			     has(dev, "Method (_OSC, 4, NotSerialized) { "
				 "CreateDWordField (Arg3, Zero, CDW1) "
				 "If ((Arg0 == ToUUID (\"33db4d5b-1ff7-401c-9657-7441c03dd766\"))) "
				 "{ If ((Arg1 != One)) { CDW1 |= 0x08 } } "
				 "Else { CDW1 |= 0x04 } Return (Arg3) }");
		}
		if (ok) {
			dev = device_text(s, "PRES");
			ok = has(dev, "Name (_HID, EisaId (\"PNP0C02\"))") &&
			     has(dev, "Memory32Fixed (ReadWrite, 0x%08llX, 0x%08X, )",
				 (unsigned long long)pci.ecam,
				 (pci.bus_end - pci.bus_start + 1) << 20);
		}
		iasl_done(&r);
		if (!ok) {
			*unit_failed = 1; /* unit_why says what is missing */
			return;
		}
	}
}

TEST(iasl_data_tables)
{
	static const struct { const char *name; const char *want[6]; } t[] = {
		{ "facp", { "Hardware Reduced (V5) : 1",
			    "Reset Register Supported (V2) : 1",
			    "Sleep Control Register : [Generic Address Structure] "
			    "[0F4h 0244 1] Space ID : 01 [SystemIO] [0F5h 0245 1] "
			    "Bit Width : 08",
			    "[0F8h 0248 8] Address : 0000000000000600",
			    "[104h 0260 8] Address : 0000000000000601",
			    "Value to cause reset : 0E" } },
		{ "apic", { "Local Apic Address : FEE00000",
			    "Subtable Type : 01 [I/O APIC]",
			    "Subtable Type : 02 [Interrupt Source Override]",
			    "Subtable Type : 04 [Local APIC NMI]" } },
		{ "mcfg", { "Base Address : 00000000E0000000",
			    "End Bus Number : 00", NULL, NULL } },
	};
	struct guest_mem m;
	struct found f;

	if (!have_iasl())
		SKIP_TEST("iasl not installed (apt-get install acpica-tools)");
	CHECK_EQ(tables(&m, &f, 2), 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const uint8_t *tab = i == 0 ? f.fadt : i == 1 ? f.madt : f.mcfg;
		struct iasl_run r;
		bool ok;

		CHECK_EQ(iasl_disassemble(&r, t[i].name, tab), 0);
		ok = r.status == 0 && !strstr(r.dsl, "Error") &&
		     !strstr(r.log, "Error") && !strstr(r.dsl, "Invalid");
		if (!ok)
			snprintf(unit_why, sizeof(unit_why), "%s: %.300s",
				 t[i].name, r.log);
		for (size_t j = 0; ok && j < 6 && t[i].want[j]; j++)
			ok = has(r.dsl, "%s", t[i].want[j]);
		iasl_done(&r);
		if (!ok) {
			guest_mem_destroy(&m);
			*unit_failed = 1; /* unit_why says why */
			return;
		}
	}
	guest_mem_destroy(&m);
}

/*
 * acpiexec (also acpica-tools) loads the DSDT into ACPICA, the
 * interpreter Linux uses, and runs its methods: \_S5 must give SLP_TYP 5
 * and _OSC must grant the controls asked for, and flag an unknown UUID
 * or revision in the first DWORD.
 */
TEST(acpiexec_runs_osc_and_s5)
{
	static const char uuid[] = "5b 4d db 33 f7 1f 1c 40 96 57 74 41 c0 3d d7 66";
	static const char bad_uuid[] = "00 4d db 33 f7 1f 1c 40 96 57 74 41 c0 3d d7 66";
	static const char caps[] = "(00 00 00 00 01 00 00 00 1f 00 00 00)";
	struct guest_mem m;
	struct found f;
	struct iasl_run r;
	char cmd[1024], path[128];
	char *out;
	bool ok;

	if (system("acpiexec -v >/dev/null 2>&1") != 0)
		SKIP_TEST("acpiexec not installed (apt-get install acpica-tools)");
	CHECK_EQ(tables(&m, &f, 2), 0);
	CHECK_EQ(iasl_disassemble(&r, "dsdt", f.dsdt), 0);
	guest_mem_destroy(&m);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && acpiexec -b 'evaluate \\_S5; "
		 "evaluate \\_SB.PCI0._OSC (%s) 1 3 %s; "
		 "evaluate \\_SB.PCI0._OSC (%s) 1 3 %s; "
		 "evaluate \\_SB.PCI0._OSC (%s) 2 3 %s' dsdt.dat "
		 ">exec.log 2>&1", r.dir, uuid, caps, bad_uuid, caps, uuid, caps);
	ok = system(cmd) == 0;
	snprintf(path, sizeof(path), "%s/exec.log", r.dir);
	out = read_squashed(path);
	iasl_done(&r);
	CHECK(ok && out);
	ok = has(out, "Evaluating \\_S5 Evaluation of \\_S5 returned object") &&
	     has(out, "[Package] Contains 4 Elements: [Integer] = 0000000000000005 "
		 "[Integer] = 0000000000000000") &&
	     has(out, "[Buffer] Length 0C = 0000: 00 00 00 00 01 00 00 00 1F 00 00 00") &&
	     has(out, "[Buffer] Length 0C = 0000: 04 00 00 00 01 00 00 00 1F 00 00 00") &&
	     has(out, "[Buffer] Length 0C = 0000: 08 00 00 00 01 00 00 00 1F 00 00 00") &&
	     !strstr(out, "AE_") && !strstr(out, "Error");
	free(out);
	if (!ok) {
		*unit_failed = 1;
		return;
	}
}

UNIT_MAIN("x86_acpi",
	  T(tables_lengths_and_checksums),
	  T(no_pci_no_mcfg), T(madt_for_1_to_254_vcpus),
	  T(fadt_hardware_reduced), T(mcfg_entry),
	  T(rsdp_for_both_boot_protocols), T(reset_vector_writes_the_reset_register),
	  T(description_errors),
	  T(iasl_dsdt_clean_and_complete), T(iasl_data_tables),
	  T(acpiexec_runs_osc_and_s5))
