// SPDX-License-Identifier: MIT
/*
 * AML and resource-descriptor encoding. Each object with a PkgLength is
 * written body first; aml_close() then inserts the PkgLength (and a
 * Buffer's size) in front of the body, so no length is ever guessed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aml.h"

enum {
	OP_ZERO = 0x00, OP_ONE = 0x01, OP_NAME = 0x08, OP_BYTE = 0x0a,
	OP_WORD = 0x0b, OP_DWORD = 0x0c, OP_STRING = 0x0d, OP_QWORD = 0x0e,
	OP_SCOPE = 0x10, OP_BUFFER = 0x11, OP_PACKAGE = 0x12, OP_METHOD = 0x14,
	OP_DUAL_NAME = 0x2e, OP_MULTI_NAME = 0x2f, OP_EXT = 0x5b,
	OP_ROOT = 0x5c, OP_PARENT = 0x5e, OP_LOCAL0 = 0x60, OP_ARG0 = 0x68,
	OP_IF = 0xa0, OP_ELSE = 0xa1, OP_ONES = 0xff,
	EXT_DEVICE = 0x82,
};

/* A PkgLength holds at most 28 bits (section 20.2.4). */
#define PKGLEN_MAX ((1U << 28) - 1)

static void fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

static int reserve(struct aml *a, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (a->err)
		return a->err;
	if (a->len + n <= a->cap)
		return 0;
	cap = a->cap ? a->cap : 256;
	while (cap < a->len + n)
		cap *= 2;
	p = realloc(a->buf, cap);
	if (!p) {
		fail(a, -ENOMEM);
		return -ENOMEM;
	}
	a->buf = p;
	a->cap = cap;
	return 0;
}

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

int aml_finish(const struct aml *a)
{
	if (a->err)
		return a->err;
	return a->depth ? -EINVAL : 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!n || reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_op(struct aml *a, uint8_t op)
{
	aml_bytes(a, &op, 1);
}

static void le(struct aml *a, uint64_t v, unsigned int n)
{
	uint8_t b[8];

	for (unsigned int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_op(a, OP_ZERO);
	} else if (v == 1) {
		aml_op(a, OP_ONE);
	} else if (v == UINT64_MAX) {
		aml_op(a, OP_ONES); /* 64-bit Ones: the DSDT is revision 2 */
	} else if (v <= 0xff) {
		aml_op(a, OP_BYTE);
		le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_op(a, OP_WORD);
		le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_op(a, OP_DWORD);
		le(a, v, 4);
	} else {
		aml_op(a, OP_QWORD);
		le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *c = s; *c; c++)
		if (*c < 0x20 || *c > 0x7e) {
			fail(a, -EINVAL);
			return;
		}
	aml_op(a, OP_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

static bool lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return lead_char(c) || (c >= '0' && c <= '9');
}

/* One NameSeg from s[0..n), padded with '_'; false if not a valid one. */
static bool name_seg(const char *s, size_t n, uint8_t seg[4])
{
	if (n < 1 || n > 4 || !lead_char(s[0]))
		return false;
	for (size_t i = 0; i < 4; i++) {
		if (i < n && !name_char(s[i]))
			return false;
		seg[i] = (uint8_t)(i < n ? s[i] : '_');
	}
	return true;
}

void aml_name(struct aml *a, const char *path)
{
	uint8_t segs[255][4];
	unsigned int nseg = 0;
	const char *p = path;

	if (*p == '\\') {
		aml_op(a, OP_ROOT);
		p++;
	} else {
		while (*p == '^') {
			aml_op(a, OP_PARENT);
			p++;
		}
	}
	while (*p) {
		size_t n = strcspn(p, ".");

		if (nseg == 255 || !name_seg(p, n, segs[nseg])) {
			fail(a, -EINVAL);
			return;
		}
		nseg++;
		p += n;
		if (*p == '.' && !*++p) { /* a trailing dot */
			fail(a, -EINVAL);
			return;
		}
	}
	if (nseg == 0) {
		aml_op(a, OP_ZERO); /* NullName: "\\" alone is the root */
		return;
	}
	if (nseg == 2) {
		aml_op(a, OP_DUAL_NAME);
	} else if (nseg > 2) {
		aml_op(a, OP_MULTI_NAME);
		aml_op(a, (uint8_t)nseg);
	}
	aml_bytes(a, segs, 4 * (size_t)nseg);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v;
	uint16_t vendor = 0, product = 0;

	if (strlen(id) != 7) {
		fail(a, -EINVAL);
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			fail(a, -EINVAL);
			return;
		}
		vendor = (uint16_t)(vendor << 5 | ((id[i] - '@') & 0x1f));
	}
	for (int i = 3; i < 7; i++) {
		int h = hexval(id[i]);

		if (h < 0) {
			fail(a, -EINVAL);
			return;
		}
		product = (uint16_t)(product << 4 | h);
	}
	/* stored big-endian: vendor bytes first, then the product's */
	v = (uint32_t)(vendor >> 8) | (uint32_t)(vendor & 0xff) << 8 |
	    (uint32_t)(product >> 8) << 16 | (uint32_t)(product & 0xff) << 24;
	aml_integer(a, v);
}

void aml_hid(struct aml *a, const char *id)
{
	if (strlen(id) == 7)
		aml_eisaid(a, id);
	else
		aml_string(a, id);
}

void aml_uuid(struct aml *a, const char *uuid)
{
	/* the first three fields are little-endian, the rest byte order */
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
					   8, 9, 10, 11, 12, 13, 14, 15 };
	uint8_t raw[16], out[16];
	unsigned int n = 0;

	for (const char *c = uuid; *c; c++) {
		int hi, lo;

		if (*c == '-' && (n == 4 || n == 6 || n == 8 || n == 10))
			continue;
		hi = hexval(c[0]);
		lo = hi < 0 ? -1 : hexval(c[1]);
		if (n == 16 || lo < 0) {
			fail(a, -EINVAL);
			return;
		}
		raw[n++] = (uint8_t)(hi << 4 | lo);
		c++;
	}
	if (n != 16 || strlen(uuid) != 36) {
		fail(a, -EINVAL);
		return;
	}
	for (unsigned int i = 0; i < 16; i++)
		out[i] = raw[order[i]];
	aml_buffer(a);
	aml_bytes(a, out, sizeof(out));
	aml_close(a);
}

void aml_arg(struct aml *a, unsigned int n)
{
	if (n > 6)
		fail(a, -EINVAL);
	else
		aml_op(a, (uint8_t)(OP_ARG0 + n));
}

void aml_local(struct aml *a, unsigned int n)
{
	if (n > 7)
		fail(a, -EINVAL);
	else
		aml_op(a, (uint8_t)(OP_LOCAL0 + n));
}

void aml_name_decl(struct aml *a, const char *name)
{
	aml_op(a, OP_NAME);
	aml_name(a, name);
}

/* Start an object: its opcode(s) are out, its body starts here. */
static void open_obj(struct aml *a, uint8_t op)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		fail(a, -E2BIG);
		return;
	}
	a->open_op[a->depth] = op;
	a->open[a->depth++] = a->len;
}

void aml_scope(struct aml *a, const char *path)
{
	aml_op(a, OP_SCOPE);
	open_obj(a, OP_SCOPE);
	aml_name(a, path);
}

void aml_device(struct aml *a, const char *name)
{
	const uint8_t op[2] = { OP_EXT, EXT_DEVICE };

	aml_bytes(a, op, 2);
	open_obj(a, EXT_DEVICE);
	aml_name(a, name);
}

void aml_method(struct aml *a, const char *name, unsigned int nargs,
		bool serialized)
{
	if (nargs > 7) {
		fail(a, -EINVAL);
		return;
	}
	aml_op(a, OP_METHOD);
	open_obj(a, OP_METHOD);
	aml_name(a, name);
	aml_op(a, (uint8_t)(nargs | (serialized ? 1 << 3 : 0)));
}

void aml_if(struct aml *a)
{
	aml_op(a, OP_IF);
	open_obj(a, OP_IF);
}

void aml_else(struct aml *a)
{
	/* an Else belongs to the If closed just before it */
	if (!a->err && (a->if_end == 0 || a->if_end != a->len)) {
		fail(a, -EINVAL);
		return;
	}
	aml_op(a, OP_ELSE);
	open_obj(a, OP_ELSE);
}

void aml_package(struct aml *a, unsigned int nelems)
{
	if (nelems > 255) {
		fail(a, -EINVAL);
		return;
	}
	aml_op(a, OP_PACKAGE);
	open_obj(a, OP_PACKAGE);
	aml_op(a, (uint8_t)nelems);
}

void aml_buffer(struct aml *a)
{
	aml_op(a, OP_BUFFER);
	open_obj(a, OP_BUFFER);
}

/* PkgLength bytes for a body of n bytes; 0 if it cannot be encoded. */
static unsigned int pkglen_encode(size_t body, uint8_t out[4])
{
	unsigned int n;
	size_t v;

	if (body + 1 <= 0x3f) {
		out[0] = (uint8_t)(body + 1);
		return 1;
	}
	for (n = 2; n <= 4; n++)
		if (body + n < ((size_t)1 << (4 + 8 * (n - 1))))
			break;
	if (n > 4 || body + n > PKGLEN_MAX)
		return 0;
	v = body + n;
	out[0] = (uint8_t)((n - 1) << 6 | (v & 0xf));
	for (unsigned int i = 1; i < n; i++)
		out[i] = (uint8_t)(v >> (4 + 8 * (i - 1)));
	return n;
}

void aml_close(struct aml *a)
{
	uint8_t hdr[4 + 9];
	unsigned int n;
	size_t start, body;

	if (a->err)
		return;
	if (a->depth == 0) {
		fail(a, -EINVAL);
		return;
	}
	start = a->open[--a->depth];
	body = a->len - start;
	if (a->open_op[a->depth] == OP_BUFFER) {
		/* BufferSize, an Integer, is inside the PkgLength */
		struct aml size;

		aml_init(&size);
		aml_integer(&size, body);
		if (size.err) {
			fail(a, size.err);
			aml_free(&size);
			return;
		}
		n = pkglen_encode(body + size.len, hdr);
		if (n)
			memcpy(hdr + n, size.buf, size.len);
		n = n ? n + (unsigned int)size.len : 0;
		aml_free(&size);
	} else {
		n = pkglen_encode(body, hdr);
	}
	if (!n) {
		fail(a, -E2BIG);
		return;
	}
	if (reserve(a, n))
		return;
	memmove(a->buf + start + n, a->buf + start, body);
	memcpy(a->buf + start, hdr, n);
	a->len += n;
	a->if_end = a->open_op[a->depth] == OP_IF ? a->len : 0;
}

/* ---- resource descriptors (section 6.4) ---- */

enum {
	RT_IRQ_NOFLAGS = 0x22, RT_IO = 0x47, RT_END = 0x79,
	RT_MEM32_FIXED = 0x86, RT_DWORD = 0x87, RT_WORD = 0x88,
	RT_EXT_IRQ = 0x89, RT_QWORD = 0x8a,
};
enum { SPACE_MEM = 0, SPACE_IO = 1, SPACE_BUS = 2 };
/* general flags: producer (bit 0 clear), positive decode, fixed min/max */
#define ADDR_PRODUCER_FIXED 0x0c
#define ADDR_CONSUMER_FIXED 0x0d
#define IO_ENTIRE_RANGE     0x03
#define MEM_RW              0x01
#define MEM_CACHEABLE       0x02

void aml_rt_begin(struct aml *a)
{
	aml_buffer(a);
}

void aml_rt_end(struct aml *a)
{
	const uint8_t end[2] = { RT_END, 0 }; /* checksum 0: not checked */

	aml_bytes(a, end, 2);
	aml_close(a);
}

void aml_rt_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
	       uint8_t len)
{
	aml_op(a, RT_IO);
	aml_op(a, 1); /* decodes 16 address bits */
	le(a, min, 2);
	le(a, max, 2);
	le(a, align, 1);
	le(a, len, 1);
}

void aml_rt_irq_noflags(struct aml *a, unsigned int irq)
{
	if (irq > 15) {
		fail(a, -EINVAL);
		return;
	}
	aml_op(a, RT_IRQ_NOFLAGS);
	le(a, 1U << irq, 2);
}

void aml_rt_mem32_fixed(struct aml *a, uint32_t base, uint32_t len, bool rw)
{
	aml_op(a, RT_MEM32_FIXED);
	le(a, 9, 2);
	aml_op(a, rw ? 1 : 0);
	le(a, base, 4);
	le(a, len, 4);
}

void aml_rt_interrupt(struct aml *a, uint32_t gsi, unsigned int flags)
{
	if (flags & ~(unsigned int)(AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW |
				    AML_IRQ_SHARED)) {
		fail(a, -EINVAL);
		return;
	}
	aml_op(a, RT_EXT_IRQ);
	le(a, 6, 2);
	aml_op(a, (uint8_t)(flags | 1)); /* bit 0: a consumer */
	aml_op(a, 1);                     /* one interrupt */
	le(a, gsi, 4);
}

/* An address space descriptor with fields of sz bytes. */
static void addr_space(struct aml *a, uint8_t tag, unsigned int sz,
		       uint8_t space, uint8_t gflags, uint8_t tflags,
		       uint64_t min, uint64_t len, uint64_t limit)
{
	if (len == 0 || min > limit || len - 1 > limit - min) {
		fail(a, -EINVAL);
		return;
	}
	aml_op(a, tag);
	le(a, 3 + 5 * sz, 2);
	aml_op(a, space);
	aml_op(a, gflags);
	aml_op(a, tflags);
	le(a, 0, sz);             /* granularity */
	le(a, min, sz);
	le(a, min + len - 1, sz); /* max */
	le(a, 0, sz);             /* translation offset */
	le(a, len, sz);
}

void aml_rt_word_bus(struct aml *a, uint16_t min, uint16_t len)
{
	addr_space(a, RT_WORD, 2, SPACE_BUS, ADDR_PRODUCER_FIXED, 0, min, len,
		   0xffff);
}

void aml_rt_word_io(struct aml *a, uint16_t min, uint32_t len)
{
	addr_space(a, RT_WORD, 2, SPACE_IO, ADDR_PRODUCER_FIXED,
		   IO_ENTIRE_RANGE, min, len, 0xffff);
}

void aml_rt_dword_mem(struct aml *a, uint32_t min, uint64_t len,
		      bool cacheable)
{
	addr_space(a, RT_DWORD, 4, SPACE_MEM, ADDR_PRODUCER_FIXED,
		   MEM_RW | (cacheable ? MEM_CACHEABLE : 0), min, len,
		   0xffffffff);
}

void aml_rt_qword_mem(struct aml *a, uint64_t min, uint64_t len,
		      bool cacheable)
{
	addr_space(a, RT_QWORD, 8, SPACE_MEM, ADDR_PRODUCER_FIXED,
		   MEM_RW | (cacheable ? MEM_CACHEABLE : 0), min, len,
		   UINT64_MAX);
}

void aml_rt_qword_mem_consumer(struct aml *a, uint64_t min, uint64_t len)
{
	addr_space(a, RT_QWORD, 8, SPACE_MEM, ADDR_CONSUMER_FIXED, MEM_RW, min,
		   len, UINT64_MAX);
}
