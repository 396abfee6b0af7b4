// SPDX-License-Identifier: MIT
/* Guest physical memory and the one checked accessor (see memory.h). */
#include <errno.h>
#include <string.h>
#include <linux/mman.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memory.h"

/*
 * Anonymous memory for the region at gpa, placed so that host address and
 * gpa agree modulo the host's huge page size (one page table of pages: 2
 * MiB with 4 KiB pages, 32 MiB with 16 KiB, 512 MiB with 64 KiB). KVM maps
 * a transparent huge page into the guest as one block only when they do;
 * otherwise every 4 KiB of guest RAM costs its own stage-2 (EPT/NPT) fault.
 */
static void *map_region(uint64_t gpa, uint64_t size, uint64_t page)
{
	uint64_t align = page * (page / 8), head;
	uint8_t *p;

	if (size > UINT64_MAX - align) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	/*
	 * MAP_NORESERVE: guest RAM is touched lazily, and vmm's memory
	 * overhead is measured by what the guest actually uses.
	 */
	p = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return p;
	head = (gpa - (uintptr_t)p) % align;
	if (head)
		munmap(p, head);
	munmap(p + head + size, align - head);
	return p + head;
}

int guest_mem_init(struct guest_mem *m, const uint64_t (*ranges)[2],
		   unsigned int nr)
{
	return guest_mem_init_huge(m, ranges, nr, false);
}

int guest_mem_init_huge(struct guest_mem *m, const uint64_t (*ranges)[2],
			unsigned int nr, bool huge)
{
	uint64_t page = huge ? GUEST_MEM_HUGE_PAGE : (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t prev_end = 0;

	memset(m, 0, sizeof(*m));
	if (nr == 0 || nr > GUEST_MEM_MAX_REGIONS)
		return -EINVAL;
	for (unsigned int i = 0; i < nr; i++) {
		uint64_t gpa = ranges[i][0], size = ranges[i][1];

		if (size == 0 || gpa % page || size % page ||
		    gpa + size < gpa || (i && gpa < prev_end))
			return -EINVAL;
		prev_end = gpa + size;
	}
	for (unsigned int i = 0; i < nr; i++) {
		struct mem_region *r = &m->region[i];
		/*
		 * Huge pages are reserved at mmap (no MAP_NORESERVE): a guest
		 * must not meet a SIGBUS later because the pool ran dry. The
		 * kernel aligns them to their size, and gpa is aligned too.
		 */
		void *p = huge ? mmap(NULL, ranges[i][1], PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
				      MAP_HUGE_2MB, -1, 0)
			       : map_region(ranges[i][0], ranges[i][1], page);

		if (p == MAP_FAILED) {
			int err = -errno;

			guest_mem_destroy(m);
			return err;
		}
		r->gpa = ranges[i][0];
		r->size = ranges[i][1];
		r->host = p;
		m->nr_regions = i + 1;
		m->ram_size += r->size;
	}
	return 0;
}

int guest_mem_init_file(struct guest_mem *m, const uint64_t (*ranges)[2],
			unsigned int nr, int fd)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), off = 0, prev_end = 0;

	memset(m, 0, sizeof(*m));
	if (nr == 0 || nr > GUEST_MEM_MAX_REGIONS)
		return -EINVAL;
	for (unsigned int i = 0; i < nr; i++) {
		uint64_t gpa = ranges[i][0], size = ranges[i][1];

		if (size == 0 || gpa % page || size % page ||
		    gpa + size < gpa || (i && gpa < prev_end))
			return -EINVAL;
		prev_end = gpa + size;
	}
	m->file_backed = true;
	for (unsigned int i = 0; i < nr; i++) {
		struct mem_region *r = &m->region[i];
		/*
		 * Private: the guest's writes stay in this process; pages it
		 * only reads stay the page cache's, shared with every VM
		 * restored from the same file. Nothing is read before the
		 * guest touches it.
		 */
		void *p = mmap(NULL, ranges[i][1], PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_NORESERVE, fd, (off_t)off);

		if (p == MAP_FAILED) {
			int err = -errno;

			guest_mem_destroy(m);
			return err;
		}
		r->gpa = ranges[i][0];
		r->size = ranges[i][1];
		r->host = p;
		m->nr_regions = i + 1;
		m->ram_size += r->size;
		off += r->size;
	}
	return 0;
}

void guest_mem_destroy(struct guest_mem *m)
{
	for (unsigned int i = 0; i < m->nr_regions; i++)
		munmap(m->region[i].host, m->region[i].size);
	memset(m, 0, sizeof(*m));
}

void *gpa_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (len == 0 || gpa + len < gpa)
		return NULL;
	for (unsigned int i = 0; i < m->nr_regions; i++) {
		const struct mem_region *r = &m->region[i];

		/* written so that no sum can overflow: gpa >= r->gpa first */
		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gpa_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = gpa_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gpa_write(const struct guest_mem *m, uint64_t gpa, const void *src,
	      uint64_t len)
{
	void *p = gpa_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int gpa_zero(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uint8_t *p;
	uintptr_t start, end;

	if (len == 0)
		return 0;
	p = gpa_ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	start = ((uintptr_t)p + page - 1) & ~(page - 1);
	end = ((uintptr_t)p + len) & ~(page - 1);
	if (start >= end) {
		memset(p, 0, len);
		return 0;
	}
	/* the partial pages at each end by hand, the whole ones dropped */
	memset(p, 0, start - (uintptr_t)p);
	memset((void *)end, 0, (uintptr_t)p + len - end);
	if (madvise((void *)start, end - start, MADV_DONTNEED) < 0)
		memset((void *)start, 0, end - start);
	return 0;
}
