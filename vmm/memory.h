/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory: a handful of host mappings, one per KVM memory
 * slot. Every access to guest-physical memory in the VMM goes through
 * gpa_ptr() (or the copy helpers built on it), which checks that the whole
 * range [gpa, gpa + len) lies inside one region and that gpa + len does not
 * overflow. Nothing else computes "host base + gpa".
 */
#ifndef VMM_MEMORY_H
#define VMM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 4

struct mem_region {
	uint64_t gpa;   /* guest-physical start */
	uint64_t size;  /* bytes */
	uint8_t *host;  /* host mapping of the whole region */
};

struct guest_mem {
	struct mem_region region[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
	uint64_t ram_size; /* sum of region sizes */
	bool file_backed;  /* mapped from a snapshot's memory file */
};

/*
 * Map anonymous host memory for each [gpa, gpa + size) range (sorted, not
 * overlapping, each size a multiple of the host page size).
 * Returns 0 or -errno; on failure nothing stays mapped.
 */
int guest_mem_init(struct guest_mem *m, const uint64_t (*ranges)[2],
		   unsigned int nr) __attribute__((warn_unused_result));
/*
 * The same in 2 MiB huge pages (hugetlbfs), reserved at once: ranges must
 * be multiples of 2 MiB; -ENOMEM when the host's pool is too small.
 */
#define GUEST_MEM_HUGE_PAGE (2ULL << 20)
int guest_mem_init_huge(struct guest_mem *m, const uint64_t (*ranges)[2],
			unsigned int nr, bool huge)
	__attribute__((warn_unused_result));
/*
 * The same ranges mapped copy-on-write (MAP_PRIVATE) from fd, a snapshot's
 * memory file holding the regions one after the other: pages load on the
 * guest's first touch and are shared until it writes them.
 */
int guest_mem_init_file(struct guest_mem *m, const uint64_t (*ranges)[2],
			unsigned int nr, int fd) __attribute__((warn_unused_result));
void guest_mem_destroy(struct guest_mem *m);

/*
 * Host pointer for guest range [gpa, gpa + len), or NULL when len is 0,
 * the range wraps around, or it is not wholly inside one region.
 */
void *gpa_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy to/from guest memory; 0 or -EFAULT when gpa_ptr() refuses. */
int gpa_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
	__attribute__((warn_unused_result));
int gpa_write(const struct guest_mem *m, uint64_t gpa, const void *src,
	      uint64_t len) __attribute__((warn_unused_result));

/*
 * Zero [gpa, gpa + len) without touching whole pages: they are dropped
 * (MADV_DONTNEED) and read back as zeros, so a large .bss costs neither
 * time nor resident memory. An empty range is fine. 0 or -EFAULT.
 */
int gpa_zero(const struct guest_mem *m, uint64_t gpa, uint64_t len)
	__attribute__((warn_unused_result));

/* Does [gpa, gpa + len) lie wholly inside guest RAM (one region)? */
static inline int gpa_range_ok(const struct guest_mem *m, uint64_t gpa,
			       uint64_t len)
{
	return gpa_ptr(m, gpa, len) != NULL;
}

#endif
