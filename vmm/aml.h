/* SPDX-License-Identifier: MIT */
/*
 * An encoder for ACPI Machine Language (ACPI 6.x, chapter 20) and for the
 * resource descriptors of _CRS buffers (section 6.4): enough to write a
 * DSDT that describes devices, with no iasl at build or run time.
 *
 * The encoder is a byte stream with a sticky error, like a FILE: the
 * emitting functions return nothing, the first failure (out of memory, a
 * bad name, nesting too deep, a value out of range) is kept in a->err and
 * later calls do nothing; aml_finish() reports it. Objects with a
 * PkgLength (Scope, Device, Method, If, Else, Package, Buffer) are opened,
 * filled, then closed with aml_close(), which writes their length.
 *
 * Names are ASL-style paths: "_HID", "COM1", "\\_SB.PCI0", "^CDW1".
 * Segments of fewer than four characters are padded with '_'.
 */
#ifndef VMM_AML_H
#define VMM_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 16

struct aml {
	uint8_t *buf;
	size_t len, cap;
	int err;                     /* 0, or the first -errno */
	size_t open[AML_MAX_DEPTH];  /* where each open object's body starts */
	uint8_t open_op[AML_MAX_DEPTH]; /* and what it is */
	unsigned int depth;
	size_t if_end;               /* where the last If closed, for Else */
};

/* Opcodes for method bodies (section 20.2.5). */
enum {
	AML_OP_STORE = 0x70,
	AML_OP_AND = 0x7b,
	AML_OP_OR = 0x7d,
	AML_OP_CREATE_DWORD_FIELD = 0x8a,
	AML_OP_LNOT = 0x92,
	AML_OP_LEQUAL = 0x93,
	AML_OP_RETURN = 0xa4,
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
/*
 * 0 when everything emitted so far is well formed and every object was
 * closed; otherwise the first error (-ENOMEM, -EINVAL, -E2BIG).
 */
int aml_finish(const struct aml *a) __attribute__((warn_unused_result));

/* Raw bytes and opcodes, for what the helpers below do not cover. */
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_op(struct aml *a, uint8_t op);

/* Data objects (section 20.2.3). */
void aml_integer(struct aml *a, uint64_t v); /* shortest encoding */
void aml_string(struct aml *a, const char *s); /* printable ASCII */
void aml_name(struct aml *a, const char *path); /* a NameString */
/* A 7-character PNP id ("PNP0A08") as its compressed EISA DWORD. */
void aml_eisaid(struct aml *a, const char *id);
/*
 * _HID/_CID value: 7 characters are a PNP id (EISA-compressed), anything
 * else an ACPI id written as a string ("LNRO0005", "ACPI0007").
 */
void aml_hid(struct aml *a, const char *id);
/* ToUUID("33db4d5b-1ff7-401c-9657-7441c03dd766"): a 16-byte Buffer. */
void aml_uuid(struct aml *a, const char *uuid);
void aml_arg(struct aml *a, unsigned int n);   /* Arg0..Arg6 */
void aml_local(struct aml *a, unsigned int n); /* Local0..Local7 */

/* Name(name, <the data object emitted next>) */
void aml_name_decl(struct aml *a, const char *name);

/* Objects with a body; each is ended by aml_close(). */
void aml_scope(struct aml *a, const char *path);
void aml_device(struct aml *a, const char *name);
void aml_method(struct aml *a, const char *name, unsigned int nargs,
		bool serialized);
void aml_if(struct aml *a);   /* the predicate is the first term emitted */
void aml_else(struct aml *a); /* right after the If's aml_close() */
void aml_package(struct aml *a, unsigned int nelems);
void aml_buffer(struct aml *a); /* the size is written when closed */
void aml_close(struct aml *a);

/*
 * Resource templates: aml_rt_begin() opens the Buffer, the descriptors
 * follow, aml_rt_end() adds the End Tag and closes it.
 */
void aml_rt_begin(struct aml *a);
void aml_rt_end(struct aml *a);
/* IO(Decode16, min, max, align, len) */
void aml_rt_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
	       uint8_t len);
/* IRQNoFlags() {irq}: an ISA interrupt, edge-triggered, active high. */
void aml_rt_irq_noflags(struct aml *a, unsigned int irq);
/* Memory32Fixed(ReadWrite|ReadOnly, base, len) */
void aml_rt_mem32_fixed(struct aml *a, uint32_t base, uint32_t len, bool rw);

enum {
	AML_IRQ_EDGE = 1 << 1,       /* else level-triggered */
	AML_IRQ_ACTIVE_LOW = 1 << 2, /* else active high */
	AML_IRQ_SHARED = 1 << 3,     /* else exclusive */
};
/* Interrupt(ResourceConsumer, ..., ...) {gsi}: flags from AML_IRQ_*. */
void aml_rt_interrupt(struct aml *a, uint32_t gsi, unsigned int flags);

/*
 * Address space descriptors of a bridge's windows (ResourceProducer,
 * PosDecode, MinFixed, MaxFixed, granularity and translation 0); the
 * range is [min, min + len) and len must be at least 1.
 */
void aml_rt_word_bus(struct aml *a, uint16_t min, uint16_t len);
void aml_rt_word_io(struct aml *a, uint16_t min, uint32_t len);
void aml_rt_dword_mem(struct aml *a, uint32_t min, uint64_t len,
		      bool cacheable);
void aml_rt_qword_mem(struct aml *a, uint64_t min, uint64_t len,
		      bool cacheable);
/* QWordMemory(ResourceConsumer, ...): a range a device decodes itself. */
void aml_rt_qword_mem_consumer(struct aml *a, uint64_t min, uint64_t len);

#endif
