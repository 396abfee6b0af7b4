// SPDX-License-Identifier: MIT
/* The snapshot file format (snapfile.h): building and checking files. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "snapfile.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

const char *snap_arch_name(uint32_t arch)
{
	switch (arch) {
	case SNAP_ARCH_X86_64: return "x86_64";
	case SNAP_ARCH_AARCH64: return "aarch64";
	default: return "an unknown architecture";
	}
}

static bool name_ok(const char *n, size_t cap)
{
	size_t len = strnlen(n, cap);

	if (len == 0 || len == cap)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789:@._-", n[i]))
			return false;
	for (size_t i = len; i < cap; i++)
		if (n[i])
			return false;
	return true;
}

int snapfile_version(const uint8_t *buf, size_t len, uint16_t *major,
		     uint16_t *minor, char *err, size_t errlen)
{
	if (len < 12 || memcmp(buf, SNAP_MAGIC, 8))
		return fail(err, errlen, "not a vmm snapshot file (no "
			    "VMMSNAP magic)");
	*major = rd16(buf + 8);
	*minor = rd16(buf + 10);
	return 0;
}

int snapfile_parse(const uint8_t *buf, size_t len, uint32_t arch,
		   struct snapfile *f, char *err, size_t errlen)
{
	uint64_t off = SNAP_HEADER_SIZE, flen;
	uint32_t n;
	int ret;

	memset(f, 0, sizeof(*f));
	ret = snapfile_version(buf, len, &f->major, &f->minor, err, errlen);
	if (ret)
		return ret;
	if (len < SNAP_HEADER_SIZE)
		return fail(err, errlen, "truncated: %zu bytes, shorter than "
			    "the %u-byte header", len, SNAP_HEADER_SIZE);
	if (len > SNAP_MAX_FILE)
		return fail(err, errlen, "%zu bytes: larger than any snapshot "
			    "file (%u MiB)", len, SNAP_MAX_FILE >> 20);
	if (crc32_update(0, buf, 60) != rd32(buf + 60))
		return fail(err, errlen, "the header's checksum is wrong "
			    "(a corrupt file)");
	if (f->major != SNAP_VERSION_MAJOR)
		return fail(err, errlen, "format version %u.%u; this vmm "
			    "reads version %u.x only", f->major, f->minor,
			    SNAP_VERSION_MAJOR);
	f->arch = rd32(buf + 12);
	if (arch && f->arch != arch)
		return fail(err, errlen, "made on %s, this is %s",
			    snap_arch_name(f->arch), snap_arch_name(arch));
	memcpy(f->vmm_version, buf + 16, 16);
	f->vmm_version[16] = 0;
	n = rd32(buf + 32);
	f->mem_size = rd64(buf + 40);
	flen = rd64(buf + 48);
	if (rd32(buf + 36) || rd32(buf + 56))
		return fail(err, errlen, "reserved header fields are not zero");
	if (flen != len)
		return fail(err, errlen, "%s: the header says %" PRIu64 " bytes, "
			    "the file has %zu", flen > len ? "truncated" :
			    "trailing data", flen, len);
	if (n == 0 || n > SNAP_MAX_SECTIONS)
		return fail(err, errlen, "%u sections (1 to %u expected)", n,
			    SNAP_MAX_SECTIONS);
	for (unsigned int i = 0; i < n; i++) {
		struct snap_section *s = &f->section[i];
		const uint8_t *h = buf + off;
		uint64_t slen;

		if (len - off < SNAP_SECTION_HDR)
			return fail(err, errlen, "truncated in the header of "
				    "section %u", i);
		memcpy(s->name, h, SNAP_NAME_MAX);
		if (!name_ok(s->name, SNAP_NAME_MAX))
			return fail(err, errlen, "section %u has an invalid name", i);
		slen = rd64(h + 32);
		off += SNAP_SECTION_HDR;
		if (slen > SNAP_MAX_SECTION)
			return fail(err, errlen, "section %s: %" PRIu64 " bytes, "
				    "more than the %u allowed", s->name, slen,
				    SNAP_MAX_SECTION);
		if (slen > len - off)
			return fail(err, errlen, "truncated in section %s",
				    s->name);
		s->data = buf + off;
		s->len = slen;
		if (crc32_update(0, s->data, slen) != rd32(h + 28))
			return fail(err, errlen, "section %s: wrong checksum "
				    "(a corrupt file)", s->name);
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(f->section[j].name, s->name))
				return fail(err, errlen, "section %s appears "
					    "twice", s->name);
		off += slen;
		f->nr_sections = i + 1;
	}
	if (off != len)
		return fail(err, errlen, "%" PRIu64 " bytes after the last "
			    "section", len - off);
	return 0;
}

const struct snap_section *snapfile_find(const struct snapfile *f,
					 const char *name)
{
	for (unsigned int i = 0; i < f->nr_sections; i++)
		if (!strcmp(f->section[i].name, name))
			return &f->section[i];
	return NULL;
}

void snapfile_writer_init(struct snapfile_writer *w)
{
	uint8_t hdr[SNAP_HEADER_SIZE] = { 0 };

	sbuf_init(&w->out);
	w->nr_sections = 0;
	sbuf_put(&w->out, hdr, sizeof(hdr));
}

int snapfile_add(struct snapfile_writer *w, const char *name,
		 const void *data, size_t len)
{
	uint8_t h[SNAP_SECTION_HDR] = { 0 };
	uint32_t crc = crc32_update(0, data, len);
	uint64_t l = len;

	if (strlen(name) >= SNAP_NAME_MAX || w->nr_sections >= SNAP_MAX_SECTIONS ||
	    len > SNAP_MAX_SECTION)
		return -EINVAL;
	memcpy(h, name, strlen(name));
	if (!name_ok((const char *)h, SNAP_NAME_MAX))
		return -EINVAL;
	memcpy(h + 28, &crc, 4);
	memcpy(h + 32, &l, 8);
	sbuf_put(&w->out, h, sizeof(h));
	sbuf_put(&w->out, data, len);
	w->nr_sections++;
	return w->out.err;
}

int snapfile_finish(struct snapfile_writer *w, uint32_t arch, uint64_t mem_size,
		    const char *vmm_version)
{
	uint8_t *h = w->out.data;
	uint16_t major = SNAP_VERSION_MAJOR, minor = SNAP_VERSION_MINOR;
	uint64_t flen = w->out.len;
	uint32_t n = w->nr_sections, crc;

	if (w->out.err)
		return w->out.err;
	if (!n || flen > SNAP_MAX_FILE)
		return -EINVAL;
	memcpy(h, SNAP_MAGIC, 8);
	memcpy(h + 8, &major, 2);
	memcpy(h + 10, &minor, 2);
	memcpy(h + 12, &arch, 4);
	memcpy(h + 16, vmm_version, strnlen(vmm_version, 16));
	memcpy(h + 32, &n, 4);
	memcpy(h + 40, &mem_size, 8);
	memcpy(h + 48, &flen, 8);
	crc = crc32_update(0, h, 60);
	memcpy(h + 60, &crc, 4);
	return 0;
}

void snapfile_writer_free(struct snapfile_writer *w)
{
	sbuf_free(&w->out);
}
