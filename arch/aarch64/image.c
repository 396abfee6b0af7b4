// SPDX-License-Identifier: MIT
/*
 * The arm64 kernel loader: an Image (Documentation/arm64/booting.rst) or
 * a gzip-compressed Image.gz, placed at the 2 MiB-aligned start of RAM
 * plus the header's text_offset, with the top of RAM kept for the device
 * tree and the initrd. An Image.gz is inflated straight into guest memory
 * and never past the memory set aside for the kernel, so a bomb ends in a
 * clear error, not in a huge allocation. Every guest write goes through
 * gpa_ptr().
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "../../vmm/vmm.h"
#include "arm64.h"

#define MIB ((uint64_t)1 << 20)

/* header fields, little-endian */
#define HDR_TEXT_OFFSET 0x08
#define HDR_IMAGE_SIZE  0x10
#define HDR_FLAGS       0x18
#define HDR_MAGIC       0x38

#define FLAG_BE              (1ULL << 0)
#define FLAG_PAGE_SIZE_SHIFT 1
#define FLAG_PAGE_SIZE_MASK  3ULL


static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t mib_up(uint64_t bytes)
{
	return bytes / MIB + (bytes % MIB != 0);
}

int arm64_parse_image(const uint8_t *img, size_t size, struct arm64_image *h,
		      char *err, size_t errlen)
{
	static const unsigned int page_sizes[] = { 0, 4096, 16384, 65536 };

	memset(h, 0, sizeof(*h));
	if (size >= 4 && !memcmp(img, "\177ELF", 4))
		return seterr(err, errlen, -ENOEXEC,
			    "an ELF file, not an arm64 Image: boot "
			    "arch/arm64/boot/Image or Image.gz instead of vmlinux");
	if (size < ARM64_IMAGE_HDR_SIZE)
		return seterr(err, errlen, -ENOEXEC,
			    "too short for an arm64 Image (%zu bytes)", size);
	if (le32(img + HDR_MAGIC) != ARM64_IMAGE_MAGIC)
		return seterr(err, errlen, -ENOEXEC,
			    "not an arm64 Image (no \"ARM\\x64\" magic at offset 0x38)");
	h->text_offset = le64(img + HDR_TEXT_OFFSET);
	h->image_size = le64(img + HDR_IMAGE_SIZE);
	h->flags = le64(img + HDR_FLAGS);
	/* before Linux 3.17 image_size was 0 and the flags meant nothing */
	if (h->image_size == 0)
		h->flags = 0;
	if (h->flags & FLAG_BE)
		return seterr(err, errlen, -ENOTSUP,
			    "a big-endian kernel: vmm boots little-endian kernels only");
	if (h->text_offset % 4096)
		return seterr(err, errlen, -EINVAL,
			    "corrupt header: text_offset 0x%" PRIx64 " is not 4 KiB aligned",
			    h->text_offset);
	if (h->text_offset >= ARM64_KERNEL_ALIGN)
		return seterr(err, errlen, -EINVAL,
			    "corrupt header: text_offset 0x%" PRIx64 " is beyond 2 MiB",
			    h->text_offset);
	h->page_size = page_sizes[(h->flags >> FLAG_PAGE_SIZE_SHIFT) &
				  FLAG_PAGE_SIZE_MASK];
	return 0;
}

bool arm64_is_gzip(const uint8_t *data, size_t size)
{
	return size >= 3 && data[0] == 0x1f && data[1] == 0x8b && data[2] == 8;
}

/* Feed at most this much to zlib at once: its counters are 32-bit. */
#define ZCHUNK (1U << 30)

int arm64_gunzip(const uint8_t *in, size_t in_len, uint8_t *out,
		 size_t out_max, size_t *out_len, char *err, size_t errlen)
{
	z_stream zs;
	size_t in_off = 0, out_off = 0;
	int zr, ret;

	memset(&zs, 0, sizeof(zs));
	/* 16 + MAX_WBITS: a gzip wrapper, nothing else */
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return seterr(err, errlen, -ENOMEM, "cannot initialise zlib");
	for (;;) {
		size_t in_chunk = in_len - in_off, out_chunk = out_max - out_off;
		uint8_t spare;

		if (in_chunk > ZCHUNK)
			in_chunk = ZCHUNK;
		if (out_chunk > ZCHUNK)
			out_chunk = ZCHUNK;
		zs.next_in = (Bytef *)(uintptr_t)(in + in_off);
		zs.avail_in = (uInt)in_chunk;
		if (out_chunk) {
			zs.next_out = out + out_off;
			zs.avail_out = (uInt)out_chunk;
		} else {
			/* out is full: does the stream want one byte more? */
			zs.next_out = &spare;
			zs.avail_out = 1;
		}
		zr = inflate(&zs, Z_NO_FLUSH);
		in_off += in_chunk - zs.avail_in;
		if (out_chunk) {
			out_off += out_chunk - zs.avail_out;
		} else if (zs.avail_out == 0) {
			ret = seterr(err, errlen, -EFBIG,
				   "inflates to more than %zu bytes", out_max);
			break;
		}
		if (zr == Z_STREAM_END) {
			*out_len = out_off;
			ret = 0;
			break;
		}
		if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT) {
			ret = seterr(err, errlen, -EINVAL, "corrupt gzip data (%s)",
				   zs.msg ? zs.msg : "bad stream");
			break;
		}
		if (zr == Z_MEM_ERROR) {
			ret = seterr(err, errlen, -ENOMEM, "zlib: out of memory");
			break;
		}
		/* Z_OK or Z_BUF_ERROR: no progress possible without input? */
		if (in_off == in_len && zs.avail_out != 0) {
			ret = seterr(err, errlen, -EINVAL,
				   "truncated gzip data (the stream ends after "
				   "%zu bytes of output)", out_off);
			break;
		}
	}
	inflateEnd(&zs);
	return ret;
}

int arm64_load_kernel(const struct guest_mem *m, const uint8_t *img,
		      size_t size, uint64_t initrd_size, struct arm64_boot *b,
		      char *err, size_t errlen)
{
	const struct mem_region *r = &m->region[0];
	uint64_t base = r->gpa, end, limit, avail, need;
	size_t len = size;
	uint8_t *dst = NULL;
	char why[160];
	int ret;

	memset(b, 0, sizeof(*b));
	if (m->nr_regions == 0 || base % ARM64_KERNEL_ALIGN)
		return seterr(err, errlen, -EINVAL,
			    "RAM does not start on a 2 MiB boundary");
	end = base + r->size;
	if (r->size < 2 * ARM64_FDT_MAX_SIZE)
		return seterr(err, errlen, -E2BIG, "guest memory is too small");

	/* the top of RAM: device tree, then the initrd below it */
	b->fdt_addr = (end - ARM64_FDT_MAX_SIZE) & ~(ARM64_KERNEL_ALIGN - 1);
	limit = b->fdt_addr;
	if (initrd_size) {
		if (initrd_size > limit - base)
			return seterr(err, errlen, -E2BIG,
				    "the initrd (%" PRIu64 " MiB) does not fit in "
				    "guest memory: give the guest more --mem",
				    mib_up(initrd_size));
		b->initrd_addr = (limit - initrd_size) & ~(ARM64_INITRD_ALIGN - 1);
		b->initrd_size = initrd_size;
		limit = b->initrd_addr;
	}
	avail = limit - base;

	if (arm64_is_gzip(img, size)) {
		/* inflate at the base, read text_offset, then slide up */
		dst = gpa_ptr(m, base, avail);
		if (!dst)
			return seterr(err, errlen, -E2BIG, "no room for the kernel");
		ret = arm64_gunzip(img, size, dst, avail, &len, why, sizeof(why));
		if (ret == -EFBIG)
			return seterr(err, errlen, ret,
				    "Image.gz inflates to more than the %" PRIu64
				    " MiB of guest memory left for the kernel "
				    "below the initrd and device tree: give the "
				    "guest more --mem", avail / MIB);
		if (ret)
			return seterr(err, errlen, ret, "Image.gz: %s", why);
		ret = arm64_parse_image(dst, len, &b->image, why, sizeof(why));
		if (ret)
			return seterr(err, errlen, ret, "inside the gzip data: %s", why);
		b->compressed = true;
	} else {
		ret = arm64_parse_image(img, size, &b->image, err, errlen);
		if (ret)
			return ret;
	}

	need = b->image.image_size > len ? b->image.image_size : len;
	/* written so that a header's huge image_size cannot wrap the sum */
	if (need > avail || b->image.text_offset > avail - need)
		return seterr(err, errlen, -E2BIG,
			    "the kernel needs %" PRIu64 " MiB from the start of "
			    "RAM, but only %" PRIu64 " MiB are left below the "
			    "initrd and device tree: give the guest more --mem",
			    mib_up(b->image.text_offset + need), avail / MIB);
	b->kernel_addr = base + b->image.text_offset;
	b->kernel_end = b->kernel_addr + need;
	if (b->compressed) {
		if (b->image.text_offset)
			memmove(dst + b->image.text_offset, dst, len);
	} else {
		dst = gpa_ptr(m, b->kernel_addr, len);
		if (!dst)
			return seterr(err, errlen, -E2BIG, "no room for the kernel");
		memcpy(dst, img, len);
	}
	return 0;
}
