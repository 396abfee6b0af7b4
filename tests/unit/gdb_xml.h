/* SPDX-License-Identifier: MIT */
/* A check of a GDB target description against its register layout. */
#ifndef TESTS_UNIT_GDB_XML_H
#define TESTS_UNIT_GDB_XML_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/gdbstub.h"

/*
 * Does t's target.xml list exactly t's registers: nr_regs <reg> elements
 * whose bitsize is 8 * reg_bytes, named names[] in order? Also checks
 * that every element opened is closed. 1 or 0 (why on stderr).
 */
static inline int fake_xml_matches(const struct gdb_target *t,
				   const char *const *names)
{
	const char *p = t->xml;
	unsigned int n = 0;
	int depth = 0;

	for (const char *q = p; (q = strchr(q, '<')); q++) {
		if (q[1] == '?' || q[1] == '!')
			continue;
		if (q[1] == '/')
			depth--;
		else if (!strstr(q, ">") || strstr(q, ">")[-1] != '/')
			depth++;
		if (depth < 0)
			return 0;
	}
	if (depth) {
		fprintf(stderr, "  unbalanced xml (%d)\n", depth);
		return 0;
	}
	while ((p = strstr(p, "<reg "))) {
		const char *nm = strstr(p, "name=\""), *bs = strstr(p, "bitsize=\"");
		const char *end = strchr(p, '>');
		size_t len;

		if (!nm || !bs || !end || nm > end || bs > end || n >= t->nr_regs)
			return 0;
		nm += 6;
		len = (size_t)(strchr(nm, '"') - nm);
		if (names && (strlen(names[n]) != len || memcmp(names[n], nm, len))) {
			fprintf(stderr, "  reg %u: %.*s, want %s\n", n, (int)len, nm,
				names[n]);
			return 0;
		}
		if (strtoul(bs + 9, NULL, 10) != 8UL * t->reg_bytes[n]) {
			fprintf(stderr, "  reg %u: bitsize %lu\n", n,
				strtoul(bs + 9, NULL, 10));
			return 0;
		}
		n++;
		p = end;
	}
	return n == t->nr_regs;
}

#endif
