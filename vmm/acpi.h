/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables that do not depend on the architecture (ACPI 6.x, chapter
 * 5): the common table header and checksum, RSDP, XSDT, MCFG and a FADT
 * for a hardware-reduced platform, plus what a device model needs to
 * understand the guest's writes to the FADT's sleep registers. Each writer
 * fills a caller-provided buffer of the documented size; nothing here
 * touches guest memory.
 */
#ifndef VMM_ACPI_H
#define VMM_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_OEM_ID       "VMM   " /* 6 characters */
#define ACPI_OEM_TABLE_ID "VMM     " /* 8 characters */
#define ACPI_OEM_REVISION 1

#define ACPI_HDR_LEN   36 /* the header every SDT starts with */
#define ACPI_RSDP_LEN  36 /* an ACPI 2.0+ RSDP */
#define ACPI_FADT_LEN  276 /* FADT revision 6 (ACPI 6.0 and later) */
#define ACPI_MCFG_LEN  (ACPI_HDR_LEN + 8 + 16) /* one ECAM region */
#define ACPI_XSDT_LEN(n) (ACPI_HDR_LEN + 8 * (size_t)(n))

/* Header offsets the tests and the table writers share. */
#define ACPI_HDR_LENGTH    4
#define ACPI_HDR_REVISION  8
#define ACPI_HDR_CHECKSUM  9

/* Sum of len bytes, modulo 256 (0 for a valid table). */
uint8_t acpi_sum(const uint8_t *p, size_t len);

/* The header of a table of len bytes; acpi_checksum() must follow. */
void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev);
/* Set a table's checksum byte so its len bytes sum to 0. */
void acpi_checksum(uint8_t *t, size_t len);

/* RSDP revision 2 pointing at the XSDT (no RSDT), both checksums set. */
void acpi_rsdp(uint8_t t[ACPI_RSDP_LEN], uint64_t xsdt);
/* XSDT listing n tables, checksummed. */
void acpi_xsdt(uint8_t *t, const uint64_t *tables, unsigned int n);
/* MCFG with one ECAM region for buses [bus_start, bus_end], checksummed. */
void acpi_mcfg(uint8_t t[ACPI_MCFG_LEN], uint64_t ecam, uint16_t segment,
	       uint8_t bus_start, uint8_t bus_end);

/* Generic Address Structure (section 5.2.3.2). */
struct acpi_gas {
	uint8_t space;       /* ACPI_GAS_* */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t addr;
};
#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO     1
/* One byte-wide register at an I/O port. */
struct acpi_gas acpi_gas_port8(uint16_t port);

/* FADT Flags (section 5.2.9, table 5.10) */
#define ACPI_FADT_WBINVD        (1U << 0)
#define ACPI_FADT_PWR_BUTTON    (1U << 4)  /* no fixed power button */
#define ACPI_FADT_SLP_BUTTON    (1U << 5)  /* no fixed sleep button */
#define ACPI_FADT_RESET_REG_SUP (1U << 10)
#define ACPI_FADT_HW_REDUCED    (1U << 20)
/* IA-PC boot architecture flags (table 5.11) */
#define ACPI_IAPC_LEGACY_DEVICES (1U << 0)
#define ACPI_IAPC_8042           (1U << 1)
#define ACPI_IAPC_NO_VGA         (1U << 2)
#define ACPI_IAPC_NO_MSI         (1U << 3)
#define ACPI_IAPC_NO_ASPM        (1U << 4)
#define ACPI_IAPC_NO_CMOS_RTC    (1U << 5)

/* FADT fields offsets, for tests. */
#define ACPI_FADT_SCI_INT        46
#define ACPI_FADT_IAPC_BOOT_ARCH 109
#define ACPI_FADT_FLAGS          112
#define ACPI_FADT_RESET_REG      116
#define ACPI_FADT_RESET_VALUE    128
#define ACPI_FADT_MINOR_VERSION  131
#define ACPI_FADT_X_DSDT         140
#define ACPI_FADT_SLEEP_CONTROL  244
#define ACPI_FADT_SLEEP_STATUS   256

/*
 * A hardware-reduced platform: no PM1/GPE blocks, no FACS, no SMI
 * command port. Power-off goes through the sleep control register, reset
 * through the reset register.
 */
struct acpi_fadt {
	uint64_t dsdt;
	uint16_t sci_irq;        /* unused in hardware-reduced mode; see x86 */
	uint16_t iapc_boot_arch; /* ACPI_IAPC_* (x86) */
	uint16_t arm_boot_arch;  /* PSCI flags (arm64) */
	uint32_t flags;          /* besides HW_REDUCED and RESET_REG_SUP */
	struct acpi_gas sleep_control, sleep_status, reset;
	uint8_t reset_value;
};
void acpi_fadt(uint8_t t[ACPI_FADT_LEN], const struct acpi_fadt *f);

/*
 * The sleep control register (section 4.8.3.7): SLP_TYPx in bits 2-4,
 * SLP_EN in bit 5. The DSDT's \_S5 gives ACPI_S5_SLP_TYP, so a guest
 * powers off by writing ACPI_SLEEP_CTL_WRITE(ACPI_S5_SLP_TYP). The sleep
 * status register's WAK_STS is bit 7.
 */
#define ACPI_S5_SLP_TYP          5
#define ACPI_SLEEP_CTL_SLP_EN    0x20
#define ACPI_SLEEP_CTL_WRITE(t)  ((uint8_t)(((t) & 7) << 2 | ACPI_SLEEP_CTL_SLP_EN))
#define ACPI_SLEEP_STS_WAK       0x80

enum acpi_sleep_req {
	ACPI_SLEEP_NONE,  /* SLP_EN clear: nothing to do */
	ACPI_SLEEP_S5,    /* soft off: power the VM off */
	ACPI_SLEEP_OTHER, /* a sleep state this platform does not offer */
};
/* What a write of value to the sleep control register asks for. */
enum acpi_sleep_req acpi_sleep_control(uint8_t value);

#endif
