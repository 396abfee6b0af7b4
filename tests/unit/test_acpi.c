// SPDX-License-Identifier: MIT
/*
 * The ACPI building blocks that do not depend on the architecture: the
 * AML encoder byte for byte (integers, names, PkgLength at its size
 * boundaries, EISA ids, UUIDs, methods, resource descriptors), its sticky
 * errors, and the sleep control register's decoding. The x86 tables are
 * tested in test_x86_acpi.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/acpi.h"
#include "../../vmm/aml.h"
#include "unit.h"

/* ------------------------------------------------------------------ */
/* AML encoder                                                         */

static void dump_diff(const uint8_t *got, size_t n, const uint8_t *want,
		      size_t wn)
{
	fprintf(stderr, "got: ");
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s%02x", i < wn && got[i] == want[i] ? "" : "*",
			got[i]);
	fprintf(stderr, "\n");
}

/* Encode with the statements given, compare with the expected bytes. */
#define CHECK_AML(expect, ...)                                           \
	do {                                                             \
		static const uint8_t want_[] = expect;                   \
		struct aml a_;                                           \
		aml_init(&a_);                                           \
		int err_, same_;                                         \
		size_t len_;                                             \
		__VA_ARGS__;                                             \
		err_ = aml_finish(&a_);                                  \
		len_ = a_.len;                                           \
		same_ = len_ == sizeof(want_) &&                         \
			memcmp(a_.buf, want_, sizeof(want_)) == 0;       \
		if (!same_)                                              \
			dump_diff(a_.buf, len_, want_, sizeof(want_));   \
		aml_free(&a_);                                           \
		CHECK_EQ(err_, 0);                                       \
		CHECK_EQ(len_, sizeof(want_));                           \
		CHECK(same_);                                            \
	} while (0)
#define B(...) { __VA_ARGS__ }

TEST(aml_integers_shortest)
{
	CHECK_AML(B(0x00), aml_integer(&a_, 0));
	CHECK_AML(B(0x01), aml_integer(&a_, 1));
	CHECK_AML(B(0xff), aml_integer(&a_, UINT64_MAX));
	CHECK_AML(B(0x0a, 0x02), aml_integer(&a_, 2));
	CHECK_AML(B(0x0a, 0xff), aml_integer(&a_, 0xff));
	CHECK_AML(B(0x0b, 0x00, 0x01), aml_integer(&a_, 0x100));
	CHECK_AML(B(0x0c, 0x00, 0x00, 0x01, 0x00), aml_integer(&a_, 0x10000));
	CHECK_AML(B(0x0c, 0xff, 0xff, 0xff, 0xff),
		  aml_integer(&a_, 0xffffffff));
	CHECK_AML(B(0x0e, 0, 0, 0, 0, 1, 0, 0, 0),
		  aml_integer(&a_, 0x100000000ULL));
}

TEST(aml_names)
{
	CHECK_AML(B('_', 'H', 'I', 'D'), aml_name(&a_, "_HID"));
	CHECK_AML(B('_', 'S', '5', '_'), aml_name(&a_, "_S5"));
	CHECK_AML(B(0x5c, '_', 'S', 'B', '_'), aml_name(&a_, "\\_SB"));
	CHECK_AML(B(0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0'),
		  aml_name(&a_, "\\_SB.PCI0"));
	CHECK_AML(B(0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_',
		    '_', '_'), aml_name(&a_, "A.B.C"));
	CHECK_AML(B(0x5e, 0x5e, 'X', '_', '_', '_'), aml_name(&a_, "^^X"));
	CHECK_AML(B(0x5c, 0x00), aml_name(&a_, "\\"));
}

TEST(aml_bad_input_is_sticky)
{
	static const char *const bad[] = { "a", "1ABC", "ABCDE", "A..B", "A.",
					   "\\^A", "A-B" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aml a;

		aml_init(&a);
		aml_name(&a, bad[i]);
		aml_integer(&a, 5); /* ignored after the error */
		CHECK_EQ(aml_finish(&a), -EINVAL);
		aml_free(&a);
	}
	{
		struct aml a;

		aml_init(&a);
		aml_eisaid(&a, "PNP0A0");
		CHECK_EQ(aml_finish(&a), -EINVAL);
		aml_free(&a);
		aml_init(&a);
		aml_uuid(&a, "33db4d5b-1ff7-401c-9657-7441c03dd76");
		CHECK_EQ(aml_finish(&a), -EINVAL);
		aml_free(&a);
		aml_init(&a);
		aml_string(&a, "tab\there");
		CHECK_EQ(aml_finish(&a), -EINVAL);
		aml_free(&a);
		aml_init(&a);
		aml_rt_irq_noflags(&a, 16);
		CHECK_EQ(aml_finish(&a), -EINVAL);
		aml_free(&a);
		aml_init(&a);
		aml_rt_dword_mem(&a, 0xf0000000, 0x20000000, false);
		CHECK_EQ(aml_finish(&a), -EINVAL); /* past 4 GiB */
		aml_free(&a);
		aml_init(&a);
		aml_rt_word_io(&a, 0x1000, 0);
		CHECK_EQ(aml_finish(&a), -EINVAL);
		aml_free(&a);
	}
}

TEST(aml_nesting_errors)
{
	struct aml a;

	aml_init(&a);
	aml_device(&a, "DEV0");
	CHECK_EQ(aml_finish(&a), -EINVAL); /* never closed */
	aml_free(&a);

	aml_init(&a);
	aml_close(&a);
	CHECK_EQ(aml_finish(&a), -EINVAL); /* nothing open */
	aml_free(&a);

	aml_init(&a);
	aml_else(&a);
	CHECK_EQ(aml_finish(&a), -EINVAL); /* no If before it */
	aml_free(&a);

	aml_init(&a);
	aml_if(&a);
	aml_integer(&a, 1);
	aml_close(&a);
	aml_integer(&a, 1);
	aml_else(&a); /* something between If and Else */
	CHECK_EQ(aml_finish(&a), -EINVAL);
	aml_free(&a);

	aml_init(&a);
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml_scope(&a, "X");
	CHECK_EQ(aml_finish(&a), -E2BIG);
	aml_free(&a);
}

/*
 * The PkgLength of a Scope whose body is n bytes (n >= 2: the body starts
 * with the 2-byte name "\\"), as encoded, and its size.
 */
static int pkglen_of(size_t body, uint8_t out[4], unsigned int *n)
{
	struct aml a;
	uint8_t *junk = calloc(1, body);
	int ret;

	aml_init(&a);
	aml_scope(&a, "\\");
	aml_bytes(&a, junk, body - 2);
	aml_close(&a);
	ret = aml_finish(&a);
	*n = (unsigned int)(a.len - 1 - body);
	memcpy(out, a.buf + 1, *n < 4 ? *n : 4);
	aml_free(&a);
	free(junk);
	return ret;
}

TEST(aml_pkglength_boundaries)
{
	static const struct { size_t body; unsigned int n; uint8_t b[4]; } c[] = {
		{ 2, 1, { 0x03 } },
		{ 62, 1, { 0x3f } },                 /* largest one-byte form */
		{ 63, 2, { 0x41, 0x04 } },           /* 63 + 2 = 0x41 */
		{ 4093, 2, { 0x4f, 0xff } },         /* 4093 + 2 = 0xfff */
		{ 4094, 3, { 0x81, 0x00, 0x01 } },   /* 4094 + 3 = 0x1001 */
		{ (1 << 20) - 3, 4, { 0xc1, 0x00, 0x00, 0x01 } }, /* 0x100001 */
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint8_t b[4] = { 0 };
		unsigned int n;

		CHECK_EQ(pkglen_of(c[i].body, b, &n), 0);
		CHECK_EQ(n, c[i].n);
		CHECK(memcmp(b, c[i].b, n) == 0);
	}
}

TEST(aml_objects)
{
	/* Name (_HID, EISAID ("PNP0A08")) */
	CHECK_AML(B(0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x08),
		  aml_name_decl(&a_, "_HID"); aml_eisaid(&a_, "PNP0A08"));
	/* Name (_HID, "LNRO0005") */
	CHECK_AML(B(0x08, '_', 'H', 'I', 'D', 0x0d, 'L', 'N', 'R', 'O', '0',
		    '0', '0', '5', 0),
		  aml_name_decl(&a_, "_HID"); aml_hid(&a_, "LNRO0005"));
	/* Device (DEV0) { Name (_UID, 0x05) } */
	CHECK_AML(B(0x5b, 0x82, 0x0c, 'D', 'E', 'V', '0', 0x08, '_', 'U', 'I',
		    'D', 0x0a, 0x05),
		  aml_device(&a_, "DEV0"); aml_name_decl(&a_, "_UID");
		  aml_integer(&a_, 5); aml_close(&a_));
	/* Package (0x02) { One, 0x10 } */
	CHECK_AML(B(0x12, 0x05, 0x02, 0x01, 0x0a, 0x10),
		  aml_package(&a_, 2); aml_integer(&a_, 1);
		  aml_integer(&a_, 16); aml_close(&a_));
	/* Method (_STA, 0, Serialized) { Return (0x0F) } */
	CHECK_AML(B(0x14, 0x09, '_', 'S', 'T', 'A', 0x08, 0xa4, 0x0a, 0x0f),
		  aml_method(&a_, "_STA", 0, true); aml_op(&a_, AML_OP_RETURN);
		  aml_integer(&a_, 15); aml_close(&a_));
	/* If (Arg0) { Zero } Else { One } */
	CHECK_AML(B(0xa0, 0x03, 0x68, 0x00, 0xa1, 0x02, 0x01),
		  aml_if(&a_); aml_arg(&a_, 0); aml_integer(&a_, 0);
		  aml_close(&a_); aml_else(&a_); aml_integer(&a_, 1);
		  aml_close(&a_));
	/* ToUUID: the first three fields byte-swapped */
	CHECK_AML(B(0x11, 0x13, 0x0a, 0x10, 0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f,
		    0x1c, 0x40, 0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66),
		  aml_uuid(&a_, "33db4d5b-1ff7-401c-9657-7441c03dd766"));
}

TEST(aml_resource_descriptors)
{
	/* IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08) + IRQNoFlags () {4} */
	CHECK_AML(B(0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03,
		    0x01, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00),
		  aml_rt_begin(&a_); aml_rt_io(&a_, 0x3f8, 0x3f8, 1, 8);
		  aml_rt_irq_noflags(&a_, 4); aml_rt_end(&a_));
	/* Memory32Fixed (ReadWrite, 0xD0001000, 0x1000) + Interrupt {5} */
	CHECK_AML(B(0x11, 0x1a, 0x0a, 0x17, 0x86, 0x09, 0x00, 0x01, 0x00, 0x10,
		    0x00, 0xd0, 0x00, 0x10, 0x00, 0x00, 0x89, 0x06, 0x00, 0x03,
		    0x01, 0x05, 0x00, 0x00, 0x00, 0x79, 0x00),
		  aml_rt_begin(&a_);
		  aml_rt_mem32_fixed(&a_, 0xd0001000, 0x1000, true);
		  aml_rt_interrupt(&a_, 5, AML_IRQ_EDGE); aml_rt_end(&a_));
	/* WordBusNumber 0..0: min 0, max 0, length 1 */
	CHECK_AML(B(0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
		    0x01, 0x00),
		  aml_rt_word_bus(&a_, 0, 1));
	/* QWordMemory, 16 GiB at 64 GiB, cacheable */
	CHECK_AML(B(0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x03,
		    0, 0, 0, 0, 0, 0, 0, 0,
		    0, 0, 0, 0, 0x10, 0, 0, 0,
		    0xff, 0xff, 0xff, 0xff, 0x13, 0, 0, 0,
		    0, 0, 0, 0, 0, 0, 0, 0,
		    0, 0, 0, 0, 0x04, 0, 0, 0),
		  aml_rt_qword_mem(&a_, 0x1000000000ULL, 0x400000000ULL, true));
}

TEST(sleep_control_decoding)
{
	CHECK_EQ(acpi_sleep_control(ACPI_SLEEP_CTL_WRITE(ACPI_S5_SLP_TYP)),
		 ACPI_SLEEP_S5);
	CHECK_EQ(ACPI_SLEEP_CTL_WRITE(5), 0x34);
	CHECK_EQ(acpi_sleep_control(0x14), ACPI_SLEEP_NONE); /* no SLP_EN */
	CHECK_EQ(acpi_sleep_control(ACPI_SLEEP_CTL_WRITE(3)), ACPI_SLEEP_OTHER);
	CHECK_EQ(acpi_sleep_control(0), ACPI_SLEEP_NONE);
}

UNIT_MAIN("acpi",
	  T(aml_integers_shortest), T(aml_names), T(aml_bad_input_is_sticky),
	  T(aml_nesting_errors), T(aml_pkglength_boundaries), T(aml_objects),
	  T(aml_resource_descriptors), T(sleep_control_decoding))
