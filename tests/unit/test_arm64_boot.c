// SPDX-License-Identifier: MIT
/*
 * aarch64 boot, on any host: the Image header parser (valid and corrupt
 * headers), Image.gz (valid, truncated, corrupt, a bomb larger than guest
 * memory), where the kernel, initrd and device tree go, the layout rules
 * for 4 KiB, 16 KiB and 64 KiB host pages, the IPA size choice, the
 * granule check, and the aarch64 options of `vmm run` (--gic, --dump-dtb). Images live in heap buffers of exactly their size so
 * that ASan sees any overread.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../arch/aarch64/arm64.h"
#include "../../vmm/cli.h"
#include "unit.h"

#define KIB (1ULL << 10)
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * An Image of size bytes: header with text_offset, image_size and flags,
 * then a byte pattern to recognise it by in guest memory.
 */
static uint8_t *make_image(size_t size, uint64_t text_offset,
			   uint64_t image_size, uint64_t flags)
{
	uint8_t *p = calloc(1, size);

	if (!p)
		return NULL;
	p[0] = 0x4d; p[1] = 0x5a; /* "MZ" like the real thing (EFI stub) */
	put64(p + 0x08, text_offset);
	put64(p + 0x10, image_size);
	put64(p + 0x18, flags);
	p[0x38] = 'A'; p[0x39] = 'R'; p[0x3a] = 'M'; p[0x3b] = 0x64;
	for (size_t i = 64; i < size; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	return p;
}

/* gzip data[0..n) into a heap buffer of exactly the compressed size */
static uint8_t *gzip_buf(const uint8_t *data, size_t n, size_t *out_len)
{
	z_stream zs;
	size_t cap = n + n / 100 + 1024;
	uint8_t *tmp = malloc(cap), *out;

	memset(&zs, 0, sizeof(zs));
	if (!tmp || deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(tmp);
		return NULL;
	}
	zs.next_in = (Bytef *)(uintptr_t)data;
	zs.avail_in = (uInt)n;
	zs.next_out = tmp;
	zs.avail_out = (uInt)cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&zs);
		free(tmp);
		return NULL;
	}
	*out_len = zs.total_out;
	deflateEnd(&zs);
	out = malloc(*out_len);
	if (out)
		memcpy(out, tmp, *out_len);
	free(tmp);
	return out;
}

static int ram_init(struct guest_mem *m, uint64_t size)
{
	const uint64_t r[][2] = { { ARM64_RAM_BASE, size } };

	return guest_mem_init(m, r, 1);
}

/* --- header -------------------------------------------------------------- */

TEST(header_valid)
{
	uint8_t *img = make_image(4096, 0, 3 * MIB, (1 << 1) | (1 << 3));
	struct arm64_image h;
	char err[256] = "";

	CHECK(img);
	CHECK_EQ(arm64_parse_image(img, 4096, &h, err, sizeof(err)), 0);
	CHECK_EQ(h.text_offset, 0);
	CHECK_EQ(h.image_size, 3 * MIB);
	CHECK_EQ(h.page_size, 4096);
	free(img);

	/* 16 KiB and 64 KiB kernels, and one that does not say */
	img = make_image(64, 0x80000, MIB, 2 << 1);
	CHECK_EQ(arm64_parse_image(img, 64, &h, err, sizeof(err)), 0);
	CHECK_EQ(h.page_size, 16384);
	CHECK_EQ(h.text_offset, 0x80000);
	free(img);
	img = make_image(64, 0, MIB, 3 << 1);
	CHECK_EQ(arm64_parse_image(img, 64, &h, err, sizeof(err)), 0);
	CHECK_EQ(h.page_size, 65536);
	free(img);
	img = make_image(64, 0, MIB, 0);
	CHECK_EQ(arm64_parse_image(img, 64, &h, err, sizeof(err)), 0);
	CHECK_EQ(h.page_size, 0);
	free(img);
}

TEST(header_corrupt)
{
	struct arm64_image h;
	char err[256];
	uint8_t *img;

	/* too short: every length below the header */
	img = make_image(64, 0, MIB, 0);
	for (size_t n = 0; n < 64; n++) {
		uint8_t *p = malloc(n ? n : 1);

		memcpy(p, img, n);
		err[0] = 0;
		CHECK_EQ(arm64_parse_image(p, n, &h, err, sizeof(err)), -ENOEXEC);
		CHECK(err[0]);
		free(p);
	}
	/* wrong magic */
	img[0x3b] = 0x65;
	CHECK_EQ(arm64_parse_image(img, 64, &h, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "magic"));
	free(img);
	/* an ELF vmlinux gets a hint */
	img = make_image(64, 0, MIB, 0);
	memcpy(img, "\177ELF", 4);
	CHECK_EQ(arm64_parse_image(img, 64, &h, err, sizeof(err)), -ENOEXEC);
	CHECK(strstr(err, "vmlinux"));
	free(img);
	/* big-endian */
	img = make_image(64, 0, MIB, 1);
	CHECK_EQ(arm64_parse_image(img, 64, &h, err, sizeof(err)), -ENOTSUP);
	CHECK(strstr(err, "big-endian"));
	free(img);
	/* text_offset not page aligned, or absurd */
	img = make_image(64, 0x80010, MIB, 0);
	CHECK_EQ(arm64_parse_image(img, 64, &h, err, sizeof(err)), -EINVAL);
	free(img);
	img = make_image(64, 1ULL << 62, MIB, 0);
	CHECK_EQ(arm64_parse_image(img, 64, &h, err, sizeof(err)), -EINVAL);
	free(img);
	/* pre-3.17: image_size 0, flags ignored (even the BE bit) */
	img = make_image(64, 0x80000, 0, 1);
	CHECK_EQ(arm64_parse_image(img, 64, &h, err, sizeof(err)), 0);
	CHECK_EQ(h.page_size, 0);
	free(img);
}

/* --- gzip ---------------------------------------------------------------- */

TEST(gunzip_valid_and_exact)
{
	uint8_t *img = make_image(100000, 0, MIB, 0), *gz, *out;
	size_t gz_len, len = 0;
	char err[256];

	CHECK(img);
	gz = gzip_buf(img, 100000, &gz_len);
	CHECK(gz);
	CHECK(arm64_is_gzip(gz, gz_len));
	CHECK(!arm64_is_gzip(img, 100000));
	out = malloc(100000);
	/* exactly the right size: fits */
	CHECK_EQ(arm64_gunzip(gz, gz_len, out, 100000, &len, err, sizeof(err)), 0);
	CHECK_EQ(len, 100000);
	CHECK(!memcmp(out, img, 100000));
	/* one byte short: refused */
	CHECK_EQ(arm64_gunzip(gz, gz_len, out, 99999, &len, err, sizeof(err)),
		 -EFBIG);
	CHECK(strstr(err, "more than"));
	free(out);
	free(gz);
	free(img);
}

TEST(gunzip_truncated_and_corrupt)
{
	uint8_t *img = make_image(200000, 0, MIB, 0), *gz, *out;
	size_t gz_len, len;
	char err[256];

	gz = gzip_buf(img, 200000, &gz_len);
	CHECK(gz);
	out = malloc(200000);
	/* every truncation point is an error, never a crash or a success */
	for (size_t n = 0; n < gz_len; n += (n < 64 ? 1 : 97)) {
		uint8_t *p = malloc(n ? n : 1);

		memcpy(p, gz, n);
		err[0] = 0;
		CHECK(arm64_gunzip(p, n, out, 200000, &len, err, sizeof(err)) < 0);
		CHECK(err[0]);
		free(p);
	}
	{
		uint8_t *p = malloc(gz_len - 1);

		memcpy(p, gz, gz_len - 1);
		CHECK_EQ(arm64_gunzip(p, gz_len - 1, out, 200000, &len, err,
				      sizeof(err)), -EINVAL);
		CHECK(strstr(err, "truncated") || strstr(err, "corrupt"));
		free(p);
	}
	/* a flipped bit in the deflate data */
	gz[gz_len / 2] ^= 0x10;
	CHECK_EQ(arm64_gunzip(gz, gz_len, out, 200000, &len, err, sizeof(err)),
		 -EINVAL);
	free(out);
	free(gz);
	free(img);
}

TEST(load_gzip_bomb)
{
	/* 64 MiB of zeros behind a valid header: ~64 KiB of gzip */
	const size_t big = 64 * MIB;
	uint8_t *img = make_image(big, 0, 0, 0), *gz;
	struct guest_mem m;
	struct arm64_boot b;
	size_t gz_len;
	char err[256];

	CHECK(img);
	memset(img + 64, 0, big - 64);
	gz = gzip_buf(img, big, &gz_len);
	free(img);
	CHECK(gz);
	CHECK(gz_len < big / 100);
	CHECK_EQ(ram_init(&m, 32 * MIB), 0);
	CHECK_EQ(arm64_load_kernel(&m, gz, gz_len, 0, &b, err, sizeof(err)),
		 -EFBIG);
	CHECK(strstr(err, "--mem"));
	/* with enough memory the same stream loads */
	guest_mem_destroy(&m);
	CHECK_EQ(ram_init(&m, 128 * MIB), 0);
	CHECK_EQ(arm64_load_kernel(&m, gz, gz_len, 0, &b, err, sizeof(err)), 0);
	CHECK(b.compressed);
	CHECK_EQ(b.kernel_end - b.kernel_addr, big);
	guest_mem_destroy(&m);
	free(gz);
}

/* --- placement ----------------------------------------------------------- */

TEST(load_image_placement)
{
	const size_t n = 300 * KIB;
	uint8_t *img = make_image(n, 0x80000, 4 * MIB, 1 << 1);
	struct guest_mem m;
	struct arm64_boot b;
	char err[256];
	uint8_t *k;

	CHECK_EQ(ram_init(&m, 64 * MIB), 0);
	CHECK_EQ(arm64_load_kernel(&m, img, n, 5 * MIB + 123, &b, err,
				   sizeof(err)), 0);
	CHECK(!b.compressed);
	CHECK_EQ(b.kernel_addr, ARM64_RAM_BASE + 0x80000);
	CHECK_EQ(b.kernel_end, ARM64_RAM_BASE + 0x80000 + 4 * MIB);
	k = gpa_ptr(&m, b.kernel_addr, n);
	CHECK(k && !memcmp(k, img, n));
	/* the device tree: 2 MiB aligned, wholly inside RAM, at the top */
	CHECK_EQ(b.fdt_addr % (2 * MIB), 0);
	CHECK_EQ(b.fdt_addr, ARM64_RAM_BASE + 62 * MIB);
	CHECK(gpa_range_ok(&m, b.fdt_addr, ARM64_FDT_MAX_SIZE));
	/* the initrd: below it, 64 KiB aligned, above the kernel */
	CHECK_EQ(b.initrd_size, 5 * MIB + 123);
	CHECK_EQ(b.initrd_addr % (64 * KIB), 0);
	CHECK(b.initrd_addr + b.initrd_size <= b.fdt_addr);
	CHECK(b.initrd_addr >= b.kernel_end);
	CHECK(gpa_range_ok(&m, b.initrd_addr, b.initrd_size));
	guest_mem_destroy(&m);

	/* an odd number of MiB: the device tree still starts 2 MiB aligned */
	CHECK_EQ(ram_init(&m, 33 * MIB), 0);
	CHECK_EQ(arm64_load_kernel(&m, img, n, 0, &b, err, sizeof(err)), 0);
	CHECK_EQ(b.fdt_addr % (2 * MIB), 0);
	CHECK(gpa_range_ok(&m, b.fdt_addr, ARM64_FDT_MAX_SIZE));
	CHECK_EQ(b.initrd_addr, 0);
	guest_mem_destroy(&m);
	free(img);
}

TEST(load_gzip_text_offset)
{
	const size_t n = 100 * KIB;
	uint8_t *img = make_image(n, 0x80000, MIB, 0), *gz, *k;
	struct guest_mem m;
	struct arm64_boot b;
	size_t gz_len;
	char err[256];

	gz = gzip_buf(img, n, &gz_len);
	CHECK(gz);
	CHECK_EQ(ram_init(&m, 16 * MIB), 0);
	CHECK_EQ(arm64_load_kernel(&m, gz, gz_len, 0, &b, err, sizeof(err)), 0);
	CHECK(b.compressed);
	CHECK_EQ(b.kernel_addr, ARM64_RAM_BASE + 0x80000);
	k = gpa_ptr(&m, b.kernel_addr, n);
	CHECK(k && !memcmp(k, img, n));
	/* a corrupt header inside the gzip data is reported as such */
	img[0x38] = 0;
	free(gz);
	gz = gzip_buf(img, n, &gz_len);
	CHECK_EQ(arm64_load_kernel(&m, gz, gz_len, 0, &b, err, sizeof(err)),
		 -ENOEXEC);
	CHECK(strstr(err, "gzip"));
	guest_mem_destroy(&m);
	free(gz);
	free(img);
}

TEST(load_too_big)
{
	uint8_t *img = make_image(4096, 0, 60 * MIB, 0);
	struct guest_mem m;
	struct arm64_boot b;
	char err[256];

	CHECK_EQ(ram_init(&m, 64 * MIB), 0);
	/* image_size (bss included) counts, not only the file */
	CHECK_EQ(arm64_load_kernel(&m, img, 4096, 0, &b, err, sizeof(err)), 0);
	CHECK_EQ(arm64_load_kernel(&m, img, 4096, 3 * MIB, &b, err, sizeof(err)),
		 -E2BIG);
	CHECK(strstr(err, "--mem"));
	/* an initrd larger than RAM */
	CHECK_EQ(arm64_load_kernel(&m, img, 4096, 100 * MIB, &b, err,
				   sizeof(err)), -E2BIG);
	CHECK(strstr(err, "initrd"));
	guest_mem_destroy(&m);
	/* RAM too small for even the device tree */
	CHECK_EQ(ram_init(&m, 2 * MIB), 0);
	CHECK_EQ(arm64_load_kernel(&m, img, 4096, 0, &b, err, sizeof(err)),
		 -E2BIG);
	guest_mem_destroy(&m);
	free(img);
}

/* --- layout -------------------------------------------------------------- */

TEST(layout_page_sizes)
{
	static const uint64_t pages[] = { 4 * KIB, 16 * KIB, 64 * KIB };
	char err[256];

	for (unsigned int i = 0; i < 3; i++) {
		uint64_t p = pages[i];

		err[0] = 0;
		CHECK_EQ(arm64_layout_check(p, 256 * MIB, 1, err, sizeof(err)), 0);
		CHECK_EQ(arm64_layout_check(p, 256 * MIB, 64, err, sizeof(err)), 0);
		CHECK_EQ(arm64_layout_check(p, 1ULL << 40, 8, err, sizeof(err)), 0);
		/* every window on a page boundary */
		CHECK_EQ(ARM64_GIC_DIST_ADDR % p, 0);
		CHECK_EQ(ARM64_GIC_CPU_ADDR % p, 0);
		CHECK_EQ(ARM64_GIC_REDIST_ADDR % p, 0);
		CHECK_EQ(ARM64_UART_ADDR % p, 0);
		CHECK_EQ(ARM64_BOOT_TIMER_ADDR % p, 0);
		CHECK_EQ(ARM64_RAM_BASE % p, 0);
		for (unsigned int n = 0; n < ARM64_VIRTIO_SLOTS; n++)
			CHECK_EQ(arm64_virtio_base(n) % p, 0);
		/* RAM that is not a whole number of pages */
		CHECK_EQ(arm64_layout_check(p, 256 * MIB + p / 2, 1, err,
					    sizeof(err)), -EINVAL);
		CHECK(strstr(err, "page size"));
	}
	/* 8 KiB pages do not exist; 128 KiB would break the layout */
	CHECK_EQ(arm64_layout_check(8 * KIB + 1, 256 * MIB, 1, err, sizeof(err)),
		 -EINVAL);
	CHECK_EQ(arm64_layout_check(128 * KIB, 256 * MIB, 1, err, sizeof(err)),
		 -EINVAL);
	/* more vCPUs than redistributor space */
	CHECK_EQ(arm64_layout_check(4 * KIB, 256 * MIB, 200, err, sizeof(err)),
		 -EINVAL);
	/* SPIs: distinct, above the UART's, inside the GIC's range */
	CHECK(arm64_virtio_spi(0) > ARM64_UART_SPI);
	CHECK(arm64_virtio_spi(ARM64_VIRTIO_SLOTS - 1) + 32 < ARM64_GIC_NR_IRQS);
	CHECK_EQ(ARM64_GIC_NR_IRQS % 32, 0);
}

TEST(ipa_size)
{
	unsigned long type = 99;
	char err[256];

	/* 256 MiB at 2 GiB: 32 bits; 1 TiB: 41 bits */
	CHECK_EQ(arm64_ipa_bits(256 * MIB), 32);
	CHECK_EQ(arm64_ipa_bits(2 * GIB), 32);
	CHECK_EQ(arm64_ipa_bits(2 * GIB + MIB), 33);
	CHECK_EQ(arm64_ipa_bits(1ULL << 40), 41);
	/* the default (type 0) whenever it fits */
	CHECK_EQ(arm64_vm_type(32, 44, &type, err, sizeof(err)), 0);
	CHECK_EQ(type, 0);
	CHECK_EQ(arm64_vm_type(40, 0, &type, err, sizeof(err)), 0);
	CHECK_EQ(type, 0);
	/* larger: ask for it */
	CHECK_EQ(arm64_vm_type(41, 44, &type, err, sizeof(err)), 0);
	CHECK_EQ(type, 41);
	/* a host whose limit is below the default: ask for what is needed */
	CHECK_EQ(arm64_vm_type(33, 36, &type, err, sizeof(err)), 0);
	CHECK_EQ(type, 33);
	/* too large for the host */
	CHECK_EQ(arm64_vm_type(41, 40, &type, err, sizeof(err)), -E2BIG);
	CHECK(strstr(err, "--mem"));
	CHECK_EQ(arm64_vm_type(41, 0, &type, err, sizeof(err)), -E2BIG);
	CHECK_EQ(arm64_vm_type(37, 36, &type, err, sizeof(err)), -E2BIG);
}

TEST(granules)
{
	/* Cortex-A72: 4K and 64K, no 16K (TGran16 = 0) */
	const uint64_t a72 = 0x0000000000001124ULL;
	/* Cortex-A76: all three (TGran16 = 1) */
	const uint64_t a76 = 0x0000000000101125ULL;
	/* a CPU without 4K or 64K (TGran4 = TGran64 = 0xf) */
	const uint64_t none = 0x00000000ff000000ULL;

	CHECK(arm64_granule_supported(a72, 4096));
	CHECK(!arm64_granule_supported(a72, 16384));
	CHECK(arm64_granule_supported(a72, 65536));
	CHECK(arm64_granule_supported(a76, 16384));
	CHECK(!arm64_granule_supported(none, 4096));
	CHECK(!arm64_granule_supported(none, 65536));
	CHECK(!arm64_granule_supported(a76, 8192));
}

/* --- options ------------------------------------------------------------ */

static enum cli_result parse(struct vm_config *cfg, char *err, size_t len,
			     const char *a, const char *b)
{
	char *argv[] = { (char *)"run", (char *)"-k", (char *)"Image",
			 (char *)a, (char *)b, NULL };
	unsigned int set;

	return cli_parse_run(5, argv, cfg, &set, err, len);
}

TEST(options)
{
	static struct vm_config cfg; /* large */
	char err[256];

	CHECK_EQ(parse(&cfg, err, sizeof(err), "--gic", "v2"), CLI_OK);
	CHECK_EQ(cfg.gic, ARM64_GIC_V2);
	CHECK_EQ(parse(&cfg, err, sizeof(err), "--gic", "v3"), CLI_OK);
	CHECK_EQ(cfg.gic, ARM64_GIC_V3);
	CHECK_EQ(parse(&cfg, err, sizeof(err), "--gic", "auto"), CLI_OK);
	CHECK_EQ(cfg.gic, ARM64_GIC_AUTO);
	CHECK_EQ(parse(&cfg, err, sizeof(err), "--gic", "v4"), CLI_ERROR);
	CHECK(strstr(err, "--gic v4"));
	CHECK_EQ(parse(&cfg, err, sizeof(err), "--gic", "v"), CLI_ERROR);
	CHECK_EQ(parse(&cfg, err, sizeof(err), "--dump-dtb", "/tmp/g.dtb"),
		 CLI_OK);
	CHECK(!strcmp(cfg.dump_dtb, "/tmp/g.dtb"));
	CHECK_EQ(cfg.gic, ARM64_GIC_AUTO); /* the default */
}

UNIT_MAIN("arm64_boot",
	  T(header_valid), T(header_corrupt), T(gunzip_valid_and_exact),
	  T(gunzip_truncated_and_corrupt), T(load_gzip_bomb),
	  T(load_image_placement), T(load_gzip_text_offset), T(load_too_big),
	  T(layout_page_sizes), T(ipa_size), T(granules), T(options))
