/* SPDX-License-Identifier: MIT */
/*
 * The snapshot file format: a header, then named sections, each with its
 * length and CRC-32. Pure: no I/O, no KVM (the parser is a fuzz target).
 *
 *   header (64 bytes, little-endian)
 *     0  magic "VMMSNAP\0"
 *     8  u16 format major, u16 format minor
 *    12  u32 architecture (SNAP_ARCH_*)
 *    16  char vmm_version[16] (NUL-padded)
 *    32  u32 number of sections (1..SNAP_MAX_SECTIONS)
 *    36  u32 reserved, 0
 *    40  u64 guest memory bytes (what the memory file must hold)
 *    48  u64 length of the whole file
 *    56  u32 reserved, 0
 *    60  u32 CRC-32 of bytes 0..59
 *   section, repeated (40-byte header, then its data)
 *     0  char name[28] (NUL-terminated, NUL-padded, [a-z0-9:@._-])
 *    28  u32 CRC-32 of the data
 *    32  u64 length of the data (<= SNAP_MAX_SECTION)
 *
 * Sections fill the file exactly; names are unique. A file of another
 * major version or architecture is refused; a newer minor version of the
 * same major is read (it may only add sections).
 */
#ifndef VMM_SNAPFILE_H
#define VMM_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "../devices/state.h"

#define SNAP_MAGIC         "VMMSNAP"   /* and a NUL: 8 bytes */
#define SNAP_VERSION_MAJOR 1
#define SNAP_VERSION_MINOR 0
#define SNAP_HEADER_SIZE   64
#define SNAP_SECTION_HDR   40
#define SNAP_NAME_MAX      28
#define SNAP_MAX_SECTIONS  256
#define SNAP_MAX_SECTION   (16u << 20)
#define SNAP_MAX_FILE      (64u << 20)

enum snap_arch {
	SNAP_ARCH_X86_64 = 1,
	SNAP_ARCH_AARCH64 = 2,
};
const char *snap_arch_name(uint32_t arch);

struct snap_section {
	char name[SNAP_NAME_MAX];
	const uint8_t *data;
	uint64_t len;
};

/* A parsed file: views into the caller's buffer. */
struct snapfile {
	uint16_t major, minor;
	uint32_t arch;
	char vmm_version[17];
	uint64_t mem_size;
	unsigned int nr_sections;
	struct snap_section section[SNAP_MAX_SECTIONS];
};

/*
 * Check len bytes at buf as a whole snapshot file of this major version
 * for architecture arch (0: any) and fill *f. 0, or -EINVAL with one line
 * in err saying what is wrong (truncated, bad checksum, other version or
 * architecture, ...).
 */
int snapfile_parse(const uint8_t *buf, size_t len, uint32_t arch,
		   struct snapfile *f, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Only the header's version (for --describe-snapshot): 0, or -EINVAL
 * with err set when it is not a snapshot file at all.
 */
int snapfile_version(const uint8_t *buf, size_t len, uint16_t *major,
		     uint16_t *minor, char *err, size_t errlen);

/* The section called name, or NULL. */
const struct snap_section *snapfile_find(const struct snapfile *f,
					 const char *name);

/* Building a file: header fields, then sections in order. */
struct snapfile_writer {
	struct sbuf out;
	unsigned int nr_sections;
};
void snapfile_writer_init(struct snapfile_writer *w);
/* Add section name with data; -EINVAL (bad name, too many), -ENOMEM. */
int snapfile_add(struct snapfile_writer *w, const char *name,
		 const void *data, size_t len) __attribute__((warn_unused_result));
/*
 * Fill in the header (vmm_version: at most 16 bytes are kept): the
 * finished file is w->out.data, w->out.len.
 */
int snapfile_finish(struct snapfile_writer *w, uint32_t arch,
		    uint64_t mem_size, const char *vmm_version)
	__attribute__((warn_unused_result));
void snapfile_writer_free(struct snapfile_writer *w);

#endif
