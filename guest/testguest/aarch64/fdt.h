/* SPDX-License-Identifier: MIT */
/*
 * Test guest, aarch64: a small reader of flattened device trees (the
 * Devicetree Specification v0.4, chapter 5), bounds-checked against the
 * blob's own header so that a corrupt tree yields an error, not a wild
 * read. No libfdt: the guest has no libc.
 *
 *   struct dt f;
 *   const char *err = dt_open(&f, blob);
 *   for (struct dt_node n = { 0 }; dt_next_node(&f, &n) > 0;)
 *       if (dt_is_compatible(&f, &n, "ns16550a")) ...
 */
#ifndef TESTGUEST_FDT_H
#define TESTGUEST_FDT_H

#include <stddef.h>
#include <stdint.h>

#define DT_MAX_DEPTH 16
/* The largest tree accepted: the arm64 boot protocol's limit. dt_open()
 * trusts the header's totalsize up to this, so a blob must have that many
 * readable bytes (it does: it lies in RAM). */
#define DT_MAX_SIZE (2U << 20)

struct dt {
	const uint8_t *blob;
	uint32_t size;                /* totalsize */
	uint32_t struct_off, struct_size;
	uint32_t strings_off, strings_size;
};

/* A position in the structure block: zero it to start at the root. */
struct dt_node {
	uint32_t off;                 /* of the node's FDT_BEGIN_NODE token */
	uint32_t next;                /* where dt_next_node() continues */
	int depth;                    /* root 0, its children 1, ... */
	const char *name;             /* "memory@80000000", "" for the root */
	/* names of the nodes on the path from the root, [0..depth] */
	const char *path[DT_MAX_DEPTH];
	int started;
};

/* Check the header of the blob at `blob`. NULL, or why it is unusable. */
const char *dt_open(struct dt *f, const void *blob);

/* Advance to the next node in document order: 1 if there is one, 0 at the
 * end of the tree, -1 if the structure block is malformed. */
int dt_next_node(const struct dt *f, struct dt_node *n);

/* The property `name` of node n itself (not of its children): its value
 * and length, or NULL if it has none (or the node is malformed). */
const void *dt_getprop(const struct dt *f, const struct dt_node *n,
			const char *name, uint32_t *len);

/* Does n's "compatible" string list contain `compat`? */
int dt_is_compatible(const struct dt *f, const struct dt_node *n,
		      const char *compat);

/* Does the string property `name` of n equal `value`? */
int dt_prop_is(const struct dt *f, const struct dt_node *n,
		const char *name, const char *value);

/* A u32 property, or dflt if absent or not 4 bytes long. */
uint32_t dt_prop_u32(const struct dt *f, const struct dt_node *n,
		      const char *name, uint32_t dflt);

/* Big-endian cell values: `cells` (1 or 2) cells at p. */
uint64_t dt_cells(const void *p, uint32_t cells);

#endif
