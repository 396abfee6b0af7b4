// SPDX-License-Identifier: MIT
/*
 * Architecture-neutral ACPI tables, written field by field at the offsets
 * of the ACPI 6.x specification, little-endian.
 */
#include <string.h>

#include "acpi.h"

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

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

uint8_t acpi_sum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return sum;
}

void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memset(t, 0, ACPI_HDR_LEN);
	memcpy(t, sig, 4);
	put32(t + ACPI_HDR_LENGTH, len);
	t[ACPI_HDR_REVISION] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
	put32(t + 24, ACPI_OEM_REVISION);
	memcpy(t + 28, "VMM ", 4); /* creator id */
	put32(t + 32, 1);          /* creator revision */
}

void acpi_checksum(uint8_t *t, size_t len)
{
	t[ACPI_HDR_CHECKSUM] = 0;
	t[ACPI_HDR_CHECKSUM] = (uint8_t)(0x100 - acpi_sum(t, len));
}

void acpi_rsdp(uint8_t t[ACPI_RSDP_LEN], uint64_t xsdt)
{
	memset(t, 0, ACPI_RSDP_LEN);
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, ACPI_OEM_ID, 6);
	t[15] = 2;                 /* revision: ACPI 2.0 and later */
	put32(t + 20, ACPI_RSDP_LEN);
	put64(t + 24, xsdt);
	/* the first checksum covers the ACPI 1.0 part, the second it all */
	t[8] = (uint8_t)(0x100 - acpi_sum(t, 20));
	t[32] = (uint8_t)(0x100 - acpi_sum(t, ACPI_RSDP_LEN));
}

void acpi_xsdt(uint8_t *t, const uint64_t *tables, unsigned int n)
{
	size_t len = ACPI_XSDT_LEN(n);

	acpi_header(t, "XSDT", (uint32_t)len, 1);
	for (unsigned int i = 0; i < n; i++)
		put64(t + ACPI_HDR_LEN + 8 * i, tables[i]);
	acpi_checksum(t, len);
}

void acpi_mcfg(uint8_t t[ACPI_MCFG_LEN], uint64_t ecam, uint16_t segment,
	       uint8_t bus_start, uint8_t bus_end)
{
	uint8_t *e = t + ACPI_HDR_LEN + 8; /* after 8 reserved bytes */

	acpi_header(t, "MCFG", ACPI_MCFG_LEN, 1);
	memset(t + ACPI_HDR_LEN, 0, ACPI_MCFG_LEN - ACPI_HDR_LEN);
	put64(e, ecam);
	put16(e + 8, segment);
	e[10] = bus_start;
	e[11] = bus_end;
	acpi_checksum(t, ACPI_MCFG_LEN);
}

struct acpi_gas acpi_gas_port8(uint16_t port)
{
	return (struct acpi_gas){
		.space = ACPI_GAS_IO, .bit_width = 8, .access_size = 1,
		.addr = port,
	};
}

static void put_gas(uint8_t *p, const struct acpi_gas *g)
{
	p[0] = g->space;
	p[1] = g->bit_width;
	p[2] = g->bit_offset;
	p[3] = g->access_size;
	put64(p + 4, g->addr);
}

void acpi_fadt(uint8_t t[ACPI_FADT_LEN], const struct acpi_fadt *f)
{
	acpi_header(t, "FACP", ACPI_FADT_LEN, 6);
	memset(t + ACPI_HDR_LEN, 0, ACPI_FADT_LEN - ACPI_HDR_LEN);
	/* FIRMWARE_CTRL, DSDT (32-bit) and X_FIRMWARE_CTRL stay 0 */
	put16(t + ACPI_FADT_SCI_INT, f->sci_irq);
	put16(t + ACPI_FADT_IAPC_BOOT_ARCH, f->iapc_boot_arch);
	put32(t + ACPI_FADT_FLAGS, f->flags | ACPI_FADT_HW_REDUCED |
				   ACPI_FADT_RESET_REG_SUP);
	put_gas(t + ACPI_FADT_RESET_REG, &f->reset);
	t[ACPI_FADT_RESET_VALUE] = f->reset_value;
	put16(t + 129, f->arm_boot_arch);
	t[ACPI_FADT_MINOR_VERSION] = 0; /* 6.0 */
	put64(t + ACPI_FADT_X_DSDT, f->dsdt);
	put_gas(t + ACPI_FADT_SLEEP_CONTROL, &f->sleep_control);
	put_gas(t + ACPI_FADT_SLEEP_STATUS, &f->sleep_status);
	acpi_checksum(t, ACPI_FADT_LEN);
}

enum acpi_sleep_req acpi_sleep_control(uint8_t value)
{
	if (!(value & ACPI_SLEEP_CTL_SLP_EN))
		return ACPI_SLEEP_NONE;
	return ((value >> 2) & 7) == ACPI_S5_SLP_TYP ? ACPI_SLEEP_S5
						     : ACPI_SLEEP_OTHER;
}
