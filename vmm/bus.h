/* SPDX-License-Identifier: MIT */
/*
 * An I/O bus: a sorted table of non-overlapping address ranges, each owned
 * by one device. The VM has two instances, one for port I/O and one for
 * MMIO. Registration happens before any vCPU runs; after that the table is
 * only read, so lookups take no lock.
 */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A device's access handler. offset is relative to the start of the
 * device's range; data holds len bytes (1, 2, 4 or 8, little-endian). On a
 * read the handler fills data (it arrives zeroed).
 */
typedef void (*bus_io_fn)(void *dev, uint64_t offset, uint8_t *data,
			  uint32_t len, bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	const char *name;
	bus_io_fn io;
	void *dev;
};

struct bus {
	const char *name;       /* "pio" or "mmio", for messages */
	struct bus_range *range; /* sorted by base */
	unsigned int nr, cap;
	/* unclaimed accesses, for the rate-limited log and metrics */
	uint64_t unclaimed;
	uint64_t last_log_ns;
};

void bus_init(struct bus *b, const char *name);
void bus_destroy(struct bus *b);

/*
 * Claim [base, base + len) for a device. Returns 0, -EINVAL for a zero
 * length or a range that wraps, -EEXIST when it overlaps a claimed range,
 * -ENOMEM.
 */
int bus_register(struct bus *b, uint64_t base, uint64_t len, const char *name,
		 bus_io_fn io, void *dev) __attribute__((warn_unused_result));

/* The range holding addr, or NULL. */
const struct bus_range *bus_find(const struct bus *b, uint64_t addr);

/*
 * Dispatch one access. An access that straddles the end of a device's
 * range, or hits no device, is unclaimed: a read returns zeros, a write is
 * dropped, and it is logged at most once a second. Returns true when a
 * device handled it.
 */
bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len,
		bool is_write);

#endif
