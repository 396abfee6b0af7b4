// SPDX-License-Identifier: MIT
/*
 * Test guest, aarch64: the device tree reader (see fdt.h). Every offset is
 * checked against the structure or strings block before it is read, and
 * every string must end inside its block.
 */
#include "fdt.h"
#include "../lib.h"

#define FDT_MAGIC      0xd00dfeedU
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP        4
#define FDT_END        9

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

uint64_t dt_cells(const void *p, uint32_t cells)
{
	const uint8_t *b = p;

	return cells == 2 ? (uint64_t)be32(b) << 32 | be32(b + 4) : be32(b);
}

const char *dt_open(struct dt *f, const void *blob)
{
	const uint8_t *h = blob;
	uint32_t version, last_comp;

	memset(f, 0, sizeof(*f));
	if (!h)
		return "no device tree (x0 was 0)";
	if ((uintptr_t)h & 7)
		return "device tree not 8-byte aligned";
	if (be32(h) != FDT_MAGIC)
		return "no device tree magic (0xd00dfeed) at x0";
	f->size = be32(h + 4);
	f->struct_off = be32(h + 8);
	f->strings_off = be32(h + 12);
	version = be32(h + 20);
	last_comp = be32(h + 24);
	f->strings_size = be32(h + 32);
	f->struct_size = be32(h + 36);
	if (f->size < 40 || f->size > DT_MAX_SIZE)
		return "device tree totalsize out of range";
	if (version < 17 || last_comp > 17)
		return "device tree version not supported (need 17)";
	if (f->struct_off > f->size || f->struct_size > f->size - f->struct_off ||
	    f->strings_off > f->size ||
	    f->strings_size > f->size - f->strings_off)
		return "device tree blocks lie outside totalsize";
	if (f->struct_off & 3 || f->struct_size & 3)
		return "device tree structure block misaligned";
	f->blob = h;
	return NULL;
}

/* The token at off, or -1 if it would be read past the structure block. */
static int token(const struct dt *f, uint32_t off, uint32_t *tok)
{
	if (f->struct_size < 4 || off < f->struct_off ||
	    off - f->struct_off > f->struct_size - 4)
		return -1;
	*tok = be32(f->blob + off);
	return 0;
}

/* Length of the NUL-terminated string at off inside [off, end), or -1. */
static int64_t strnlen_in(const struct dt *f, uint32_t off, uint32_t end)
{
	for (uint32_t i = off; i < end; i++)
		if (!f->blob[i])
			return i - off;
	return -1;
}

static uint32_t align4(uint32_t v)
{
	return (v + 3) & ~3U;
}

/* off is at an FDT_PROP token: its value, length and name; the offset
 * after it, or 0 if it is malformed. */
static uint32_t prop_at(const struct dt *f, uint32_t off, const void **val,
			uint32_t *len, const char **name)
{
	uint32_t end = f->struct_off + f->struct_size, nameoff;
	int64_t nl;

	if (end - off < 12)
		return 0;
	*len = be32(f->blob + off + 4);
	nameoff = be32(f->blob + off + 8);
	if (*len > end - off - 12 || nameoff >= f->strings_size)
		return 0;
	nl = strnlen_in(f, f->strings_off + nameoff,
			f->strings_off + f->strings_size);
	if (nl < 0)
		return 0;
	*name = (const char *)f->blob + f->strings_off + nameoff;
	*val = f->blob + off + 12;
	return align4(off + 12 + *len);
}

int dt_next_node(const struct dt *f, struct dt_node *n)
{
	uint32_t end = f->struct_off + f->struct_size, off, tok;
	int level;

	if (!f->blob)
		return -1;
	if (!n->started) {
		n->started = 1;
		off = f->struct_off;
		level = -1;
	} else {
		off = n->next;
		level = n->depth;
	}
	for (;;) {
		const void *val;
		const char *name;
		uint32_t len;
		int64_t nl;

		if (token(f, off, &tok))
			return -1;
		switch (tok) {
		case FDT_BEGIN_NODE:
			nl = strnlen_in(f, off + 4, end);
			if (nl < 0 || level + 1 >= DT_MAX_DEPTH)
				return -1;
			n->off = off;
			n->depth = level + 1;
			n->name = (const char *)f->blob + off + 4;
			n->path[n->depth] = n->name;
			n->next = align4(off + 4 + (uint32_t)nl + 1);
			return 1;
		case FDT_END_NODE:
			if (--level < -1)
				return -1;
			off += 4;
			break;
		case FDT_PROP:
			off = prop_at(f, off, &val, &len, &name);
			if (!off)
				return -1;
			break;
		case FDT_NOP:
			off += 4;
			break;
		case FDT_END:
			return level == -1 ? 0 : -1;
		default:
			return -1;
		}
	}
}

const void *dt_getprop(const struct dt *f, const struct dt_node *n,
			const char *name, uint32_t *len)
{
	uint32_t off = n->next, tok, l;

	if (!f->blob || !n->started)
		return NULL;
	while (!token(f, off, &tok)) {
		const void *val;
		const char *pname;

		if (tok == FDT_NOP) {
			off += 4;
			continue;
		}
		if (tok != FDT_PROP)
			break;
		off = prop_at(f, off, &val, &l, &pname);
		if (!off)
			break;
		if (!memcmp(pname, name, strlen(name) + 1)) {
			if (len)
				*len = l;
			return val;
		}
	}
	return NULL;
}

int dt_is_compatible(const struct dt *f, const struct dt_node *n,
		      const char *compat)
{
	uint32_t len, i = 0, clen = (uint32_t)strlen(compat);
	const char *p = dt_getprop(f, n, "compatible", &len);

	if (!p)
		return 0;
	/* a list of NUL-terminated strings */
	while (i < len) {
		uint32_t j = i;

		while (j < len && p[j])
			j++;
		if (j < len && j - i == clen && !memcmp(p + i, compat, clen))
			return 1;
		i = j + 1;
	}
	return 0;
}

int dt_prop_is(const struct dt *f, const struct dt_node *n,
		const char *name, const char *value)
{
	uint32_t len;
	const char *p = dt_getprop(f, n, name, &len);
	size_t vlen = strlen(value);

	return p && len == vlen + 1 && !memcmp(p, value, vlen + 1);
}

uint32_t dt_prop_u32(const struct dt *f, const struct dt_node *n,
		      const char *name, uint32_t dflt)
{
	uint32_t len;
	const void *p = dt_getprop(f, n, name, &len);

	return p && len == 4 ? be32(p) : dflt;
}
