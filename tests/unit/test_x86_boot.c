// SPDX-License-Identifier: MIT
/*
 * x86-64 boot: the bzImage and ELF loaders on crafted images (valid ones
 * and every kind of corruption), initrd placement, the e820 map, the zero
 * page, the PVH start info, the MP table, the page tables and the GDT, plus
 * a fixed-seed mutation loop over both loaders. Images live in heap
 * buffers of exactly their size so that ASan sees any overread.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../arch/x86_64/x86.h"
#include "unit.h"

#define KIB (1ULL << 10)
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static int mem_init(struct guest_mem *m, uint64_t size)
{
	const uint64_t r[][2] = { { 0, size } };

	return guest_mem_init(m, r, 1);
}

/* guest byte at gpa (the test's own checked view) */
static uint8_t *gp(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	return gpa_ptr(m, gpa, len);
}

static uint8_t *dup_exact(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	if (p && n)
		memcpy(p, src, n);
	return p;
}

static int load(const struct guest_mem *m, const uint8_t *img, size_t size,
		struct x86_kernel *k, char *err, size_t errlen)
{
	memset(err, 0, errlen);
	return x86_load_kernel_image(m, img, size, k, err, errlen);
}

/* Load a copy of img[0..n) in a buffer of exactly n bytes. */
static int load_copy(const struct guest_mem *m, const uint8_t *img, size_t n,
		     struct x86_kernel *k, char *err, size_t errlen)
{
	uint8_t *p = dup_exact(img, n);
	int r;

	if (!p)
		return -12345;
	r = load(m, p, n, k, err, errlen);
	free(p);
	return r;
}

#define LOAD(img, n)      load(&m, (img), (n), &k, err, sizeof(err))
#define LOAD_COPY(img, n) load_copy(&m, (img), (n), &k, err, sizeof(err))
/* fails with this code and says why, in a terminated line */
#define CHECK_FAILS(expr, code)                                   \
	do {                                                      \
		CHECK_EQ((expr), (code));                         \
		CHECK(err[0] != 0);                               \
		CHECK(strlen(err) < sizeof(err));                 \
		CHECK(strchr(err, '\n') == NULL);                 \
	} while (0)

/* ------------------------------------------------------------------ */
/* a bzImage                                                           */

#define BZ_PAYLOAD   8192
#define BZ_PREF      0x1000000ULL
#define BZ_INIT_SIZE 0x200000U
#define BZ_JUMP      0x66        /* header ends at 0x202 + 0x66 = 0x268 */
#define BZ_HDR_END   (0x202 + BZ_JUMP)

static uint8_t payload_byte(size_t i)
{
	return (uint8_t)(i * 31 + 7 + (i >> 9));
}

static size_t bz_setup_size(unsigned int setup_sects)
{
	return (size_t)((setup_sects ? setup_sects : 4) + 1) * 512;
}

/*
 * A minimal valid bzImage with the given setup_sects field (0 means 4)
 * and payload size, in a heap buffer of exactly its size.
 */
static uint8_t *make_bzimage(unsigned int setup_sects, size_t payload,
			     size_t *size)
{
	size_t setup = bz_setup_size(setup_sects);
	uint8_t *b = malloc(setup + payload);

	if (!b)
		return NULL;
	/* non-zero filler everywhere, so copy bounds are visible */
	for (size_t i = 0; i < setup; i++)
		b[i] = (uint8_t)(0x40 + i * 3);
	for (size_t i = 0; i < payload; i++)
		b[setup + i] = payload_byte(i);
	b[HDR_SETUP_SECTS] = (uint8_t)setup_sects;
	put_le16(b + HDR_BOOT_FLAG, BOOT_FLAG_MAGIC);
	b[HDR_JUMP] = 0xeb;
	b[HDR_JUMP + 1] = BZ_JUMP;
	put_le32(b + HDR_HEADER, HDRS_MAGIC);
	put_le16(b + HDR_VERSION, 0x020f);
	b[HDR_TYPE_OF_LOADER] = 0;
	b[HDR_LOADFLAGS] = LOADFLAG_LOADED_HIGH;
	put_le32(b + HDR_INITRD_ADDR_MAX, 0x37ffffff);
	put_le32(b + HDR_KERNEL_ALIGNMENT, 0x200000);
	b[HDR_RELOCATABLE] = 1;
	put_le16(b + HDR_XLOADFLAGS, XLF_KERNEL_64);
	put_le32(b + HDR_CMDLINE_SIZE, 2047);
	put_le64(b + HDR_PREF_ADDRESS, BZ_PREF);
	put_le32(b + HDR_INIT_SIZE, BZ_INIT_SIZE);
	*size = setup + payload;
	return b;
}

static int payload_at(const struct guest_mem *m, uint64_t gpa, size_t n)
{
	const uint8_t *g = gp(m, gpa, n);

	if (!g)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (g[i] != payload_byte(i))
			return 0;
	return 1;
}

TEST(bzimage_loads)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	memset(gp(&m, 0x100000, BZ_PAYLOAD + 16), 0xcc, BZ_PAYLOAD + 16);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.proto, X86_BOOT_LINUX64);
	CHECK(k.is_bzimage);
	CHECK_EQ(k.entry, 0x100000 + 0x200);
	/* the protected-mode part, at 1 MiB, and nothing more */
	CHECK(payload_at(&m, 0x100000, BZ_PAYLOAD));
	CHECK_EQ(*gp(&m, 0x100000 + BZ_PAYLOAD, 1), 0xcc);
	CHECK_EQ(*gp(&m, 0xfffff, 1), 0);
	/* the decompressed kernel needs init_size at pref_address */
	CHECK_EQ(k.end, BZ_PREF + BZ_INIT_SIZE);
	CHECK_EQ(k.initrd_addr_max, 0x37ffffff);
	CHECK_EQ(k.cmdline_max, 2047);
	/* the setup header, 0x1f1 up to the end the jump says */
	CHECK_EQ(k.hdr_len, BZ_HDR_END - BP_HDR);
	CHECK(!memcmp(k.hdr, img + BP_HDR, k.hdr_len));
	for (size_t i = k.hdr_len; i < sizeof(k.hdr); i++)
		CHECK_EQ(k.hdr[i], 0);
	guest_mem_destroy(&m);
	free(img);
}

TEST(bzimage_header_length_from_jump)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	img[HDR_JUMP + 1] = 0xff; /* past 0x280: capped */
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.hdr_len, HDR_END_MAX - BP_HDR);
	CHECK_EQ(k.hdr_len, sizeof(k.hdr));
	CHECK(!memcmp(k.hdr, img + BP_HDR, k.hdr_len));

	img[HDR_JUMP + 1] = 0; /* a header that ends right after "jmp" */
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.hdr_len, 0x202 - BP_HDR);
	CHECK(!memcmp(k.hdr, img + BP_HDR, k.hdr_len));
	CHECK_EQ(k.hdr[k.hdr_len], 0);
	guest_mem_destroy(&m);
	free(img);
}

TEST(bzimage_setup_sects_zero_means_four)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(0, BZ_PAYLOAD, &n);

	CHECK(img);
	CHECK_EQ(n, 5 * 512 + BZ_PAYLOAD);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK(payload_at(&m, 0x100000, BZ_PAYLOAD));
	guest_mem_destroy(&m);
	free(img);
}

TEST(bzimage_oldest_supported_version)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	put_le16(img + HDR_VERSION, 0x020c);
	CHECK_EQ(LOAD(img, n), 0);
	put_le16(img + HDR_VERSION, 0x020b);
	CHECK_FAILS(LOAD(img, n), -ENOTSUP);
	put_le16(img + HDR_VERSION, 0x0100);
	CHECK_FAILS(LOAD(img, n), -ENOTSUP);
	put_le16(img + HDR_VERSION, 0x0000);
	CHECK_FAILS(LOAD(img, n), -ENOTSUP);
	guest_mem_destroy(&m);
	free(img);
}

TEST(bzimage_truncated)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	/* too short to hold the header: not recognised at all */
	CHECK_FAILS(LOAD_COPY(img, HDR_END_MAX - 1), -ENOEXEC);
	CHECK(strstr(err, "not a kernel image"));
	CHECK_FAILS(LOAD_COPY(img, 0x204), -ENOEXEC);
	CHECK(strstr(err, "not a kernel image"));
	CHECK_FAILS(LOAD_COPY(img, 1), -ENOEXEC);
	CHECK_FAILS(LOAD_COPY(img, 0), -ENOEXEC);
	/* the header but not all of the setup code */
	CHECK_FAILS(LOAD_COPY(img, HDR_END_MAX), -EINVAL);
	CHECK_FAILS(LOAD_COPY(img, bz_setup_size(3) - 1), -EINVAL);
	/* exactly the setup code and no kernel */
	CHECK_FAILS(LOAD_COPY(img, bz_setup_size(3)), -EINVAL);
	/* one byte of kernel is a (tiny) kernel */
	CHECK_EQ(LOAD_COPY(img, bz_setup_size(3) + 1), 0);
	CHECK_EQ(*gp(&m, 0x100000, 1), payload_byte(0));
	guest_mem_destroy(&m);
	free(img);
}

TEST(bzimage_bad_magic)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	put_le16(img + HDR_BOOT_FLAG, 0x55aa);
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	CHECK(strstr(err, "not a kernel image"));
	put_le16(img + HDR_BOOT_FLAG, BOOT_FLAG_MAGIC);
	memcpy(img + HDR_HEADER, "HdrT", 4);
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	memcpy(img + HDR_HEADER, "hdrS", 4);
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	memcpy(img + HDR_HEADER, "HdrS", 4);
	CHECK_EQ(LOAD(img, n), 0);
	guest_mem_destroy(&m);
	free(img);
}

TEST(bzimage_not_64bit)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	put_le16(img + HDR_XLOADFLAGS, 0x1e); /* every flag but XLF_KERNEL_64 */
	CHECK_FAILS(LOAD(img, n), -ENOTSUP);
	CHECK(strstr(err, "64"));
	put_le16(img + HDR_XLOADFLAGS, XLF_KERNEL_64);
	img[HDR_LOADFLAGS] = 0; /* a zImage */
	CHECK_FAILS(LOAD(img, n), -ENOTSUP);
	guest_mem_destroy(&m);
	free(img);
}

TEST(bzimage_setup_beyond_file)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	img[HDR_SETUP_SECTS] = 200; /* 100 KiB of setup in a 10 KiB file */
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	img[HDR_SETUP_SECTS] = 0xff;
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	/* setup + 1 sector == the whole file: no kernel left */
	img[HDR_SETUP_SECTS] = (uint8_t)(n / 512 - 1);
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	img[HDR_SETUP_SECTS] = (uint8_t)(n / 512 - 2);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(*gp(&m, 0x100000, 1), payload_byte(BZ_PAYLOAD - 512));
	guest_mem_destroy(&m);
	free(img);
}

TEST(bzimage_init_size_too_big)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	/* exactly up to the end of RAM: fits */
	put_le32(img + HDR_INIT_SIZE, (uint32_t)(64 * MIB - BZ_PREF));
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.end, 64 * MIB);
	/* one byte more: does not */
	put_le32(img + HDR_INIT_SIZE, (uint32_t)(64 * MIB - BZ_PREF + 1));
	CHECK_FAILS(LOAD(img, n), -E2BIG);
	CHECK(strstr(err, "MiB"));
	put_le32(img + HDR_INIT_SIZE, 0xffffffff);
	CHECK_FAILS(LOAD(img, n), -E2BIG);
	/* pref_address itself beyond RAM */
	put_le32(img + HDR_INIT_SIZE, BZ_INIT_SIZE);
	put_le64(img + HDR_PREF_ADDRESS, 1ULL << 40);
	CHECK_FAILS(LOAD(img, n), -E2BIG);
	guest_mem_destroy(&m);
	free(img);
}

TEST(bzimage_pref_address_overflow)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	/* pref_address + init_size wraps around to a small number */
	put_le64(img + HDR_PREF_ADDRESS, UINT64_MAX - 0xff);
	put_le32(img + HDR_INIT_SIZE, 0x1000);
	CHECK(LOAD(img, n) < 0);
	CHECK(err[0]);
	put_le64(img + HDR_PREF_ADDRESS, UINT64_MAX);
	put_le32(img + HDR_INIT_SIZE, 0);
	CHECK(LOAD(img, n) < 0);
	CHECK(err[0]);
	/* a pref_address below 1 MiB means "load address" */
	put_le64(img + HDR_PREF_ADDRESS, 0);
	put_le32(img + HDR_INIT_SIZE, 0x100000);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.end, 0x200000);
	guest_mem_destroy(&m);
	free(img);
}

TEST(bzimage_kernel_bigger_than_memory)
{
	/* 2 MiB of RAM: 1 MiB of kernel fits exactly, one byte more does not */
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, 1 * MIB + 1, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 2 * MIB), 0);
	put_le64(img + HDR_PREF_ADDRESS, 0);
	put_le32(img + HDR_INIT_SIZE, 0);
	CHECK_FAILS(LOAD(img, n), -E2BIG);
	CHECK_EQ(LOAD_COPY(img, n - 1), 0);
	CHECK_EQ(k.end, 2 * MIB);
	CHECK(payload_at(&m, 0x100000, 1 * MIB));
	guest_mem_destroy(&m);
	free(img);
}

TEST(bzimage_no_low_ram)
{
	/* RAM that does not start at 0: nowhere to put the kernel */
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);
	const uint64_t r[][2] = { { 1 * MIB, 64 * MIB } };

	CHECK(img);
	CHECK_EQ(guest_mem_init(&m, r, 1), 0);
	CHECK_FAILS(LOAD(img, n), -E2BIG);
	guest_mem_destroy(&m);
	free(img);
}

/* ------------------------------------------------------------------ */
/* an ELF vmlinux                                                      */

enum { ELF_NO_NOTE, ELF_GNU_NOTE, ELF_PVH_NOTE };

#define ELF_SIZE      0x1800
#define ELF_LOAD_OFF  0x1000
#define ELF_FILESZ    0x800
#define ELF_MEMSZ     0x2000
#define ELF_PADDR     0x100000ULL
#define ELF_VADDR     0xffffffff81000000ULL
#define ELF_ENTRY     0x100010ULL
#define ELF_PVH_ENTRY 0x100100ULL
#define NOTE_OFF      0x200
#define GNU_NOTE_SIZE (12 + 4 + 20)
#define XEN_NOTE      (NOTE_OFF + GNU_NOTE_SIZE) /* the Xen note's header */
#define XEN_NOTE_SIZE (12 + 4 + 4)

#define EH(f)    offsetof(Elf64_Ehdr, f)
#define PH(i, f) (sizeof(Elf64_Ehdr) + (i) * sizeof(Elf64_Phdr) + \
		  offsetof(Elf64_Phdr, f))

static size_t put_note(uint8_t *b, size_t off, const char *name,
		       uint32_t type, const void *desc, uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;

	put_le32(b + off, namesz);
	put_le32(b + off + 4, descsz);
	put_le32(b + off + 8, type);
	memcpy(b + off + 12, name, namesz);
	off += 12 + ((namesz + 3) & ~3U);
	memcpy(b + off, desc, descsz);
	return off + ((descsz + 3) & ~3U);
}

/*
 * An ELF64 x86-64 ET_EXEC: one PT_LOAD (file 0x1000..0x1800 to paddr 1 MiB,
 * 0x2000 bytes in memory) and, unless ELF_NO_NOTE, a PT_NOTE holding a GNU
 * build-id note and (ELF_PVH_NOTE) the Xen PVH entry note.
 */
static uint8_t *make_elf(int notes, size_t *size)
{
	uint8_t *b = calloc(1, ELF_SIZE);
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	uint8_t id[20], entry[4];
	size_t noff = NOTE_OFF;

	if (!b)
		return NULL;
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = ELF_ENTRY;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = notes == ELF_NO_NOTE ? 1 : 2;

	memset(ph, 0, sizeof(ph));
	ph[0].p_type = PT_LOAD;
	ph[0].p_flags = PF_R | PF_W | PF_X;
	ph[0].p_offset = ELF_LOAD_OFF;
	ph[0].p_vaddr = ELF_VADDR;
	ph[0].p_paddr = ELF_PADDR;
	ph[0].p_filesz = ELF_FILESZ;
	ph[0].p_memsz = ELF_MEMSZ;
	ph[0].p_align = 0x1000;

	for (unsigned int i = 0; i < sizeof(id); i++)
		id[i] = (uint8_t)(0xa0 + i);
	put_le32(entry, (uint32_t)ELF_PVH_ENTRY);
	noff = put_note(b, noff, "GNU", NT_GNU_BUILD_ID, id, sizeof(id));
	if (notes == ELF_PVH_NOTE)
		noff = put_note(b, noff, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, entry,
				sizeof(entry));
	ph[1].p_type = PT_NOTE;
	ph[1].p_flags = PF_R;
	ph[1].p_offset = NOTE_OFF;
	ph[1].p_filesz = noff - NOTE_OFF;
	ph[1].p_align = 4;

	memcpy(b, &eh, sizeof(eh));
	memcpy(b + sizeof(eh), ph, eh.e_phnum * sizeof(ph[0]));
	if (notes == ELF_NO_NOTE)
		memset(b + NOTE_OFF, 0, noff - NOTE_OFF);
	for (size_t i = 0; i < ELF_FILESZ; i++)
		b[ELF_LOAD_OFF + i] = payload_byte(i);
	*size = ELF_SIZE;
	return b;
}

TEST(elf_loads)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_GNU_NOTE, &n);
	const uint8_t *g;

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	memset(gp(&m, ELF_PADDR, ELF_MEMSZ + 16), 0xcc, ELF_MEMSZ + 16);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.proto, X86_BOOT_LINUX64);
	CHECK_EQ(k.entry, ELF_ENTRY);
	CHECK(!k.is_bzimage);
	CHECK_EQ(k.hdr_len, 0);
	CHECK_EQ(k.end, ELF_PADDR + ELF_MEMSZ);
	CHECK(k.initrd_addr_max != 0);
	CHECK(k.cmdline_max >= 255);
	/* file bytes at p_paddr (not p_vaddr), then zeroed bss, then untouched */
	CHECK(payload_at(&m, ELF_PADDR, ELF_FILESZ));
	g = gp(&m, ELF_PADDR, ELF_MEMSZ + 1);
	CHECK(g);
	for (size_t i = ELF_FILESZ; i < ELF_MEMSZ; i++)
		CHECK_EQ(g[i], 0);
	CHECK_EQ(g[ELF_MEMSZ], 0xcc);
	guest_mem_destroy(&m);
	free(img);
}

TEST(elf_without_note_phdr)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_NO_NOTE, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.proto, X86_BOOT_LINUX64);
	CHECK_EQ(k.entry, ELF_ENTRY);
	guest_mem_destroy(&m);
	free(img);
}

TEST(elf_pvh_note)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_PVH_NOTE, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.proto, X86_BOOT_PVH);
	CHECK_EQ(k.entry, ELF_PVH_ENTRY);
	CHECK(payload_at(&m, ELF_PADDR, ELF_FILESZ));

	/* an 8-byte descriptor is read as a 64-bit address */
	put_le32(img + XEN_NOTE + 4, 8);
	put_le64(img + XEN_NOTE + 16, 0x100200);
	put_le64(img + PH(1, p_filesz), GNU_NOTE_SIZE + 12 + 4 + 8);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.proto, X86_BOOT_PVH);
	CHECK_EQ(k.entry, 0x100200);
	guest_mem_destroy(&m);
	free(img);
}

TEST(elf_other_notes_are_not_pvh)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_PVH_NOTE, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	put_le32(img + XEN_NOTE + 8, 17); /* another Xen note type */
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.proto, X86_BOOT_LINUX64);
	CHECK_EQ(k.entry, ELF_ENTRY);
	put_le32(img + XEN_NOTE + 8, XEN_ELFNOTE_PHYS32_ENTRY);
	memcpy(img + XEN_NOTE + 12, "Xem", 4); /* another owner */
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.proto, X86_BOOT_LINUX64);
	memcpy(img + XEN_NOTE + 12, "Xen", 4);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.proto, X86_BOOT_PVH);
	/* the note segment ends before the Xen note */
	put_le64(img + PH(1, p_filesz), GNU_NOTE_SIZE);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.proto, X86_BOOT_LINUX64);
	/* ... or in the middle of its descriptor */
	put_le64(img + PH(1, p_filesz), GNU_NOTE_SIZE + XEN_NOTE_SIZE - 1);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.proto, X86_BOOT_LINUX64);
	guest_mem_destroy(&m);
	free(img);
}

TEST(elf_note_huge_sizes)
{
	/* sizes that would take the parser out of the file (ASan watches) */
	static const uint32_t huge[] = { 0xffffffff, 0xfffffffe, 0xfffffffd,
					 0xfffffff0, 0x80000000, 0x10000 };
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_PVH_NOTE, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	for (unsigned int i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		uint8_t *copy = dup_exact(img, n);

		CHECK(copy);
		put_le32(copy + XEN_NOTE, huge[i]);     /* namesz */
		CHECK_EQ(LOAD(copy, n), 0);
		CHECK_EQ(k.proto, X86_BOOT_LINUX64);
		put_le32(copy + XEN_NOTE, 4);
		put_le32(copy + XEN_NOTE + 4, huge[i]); /* descsz */
		CHECK_EQ(LOAD(copy, n), 0);
		CHECK_EQ(k.proto, X86_BOOT_LINUX64);
		put_le32(copy + NOTE_OFF, huge[i]);     /* the first note */
		CHECK_EQ(LOAD(copy, n), 0);
		CHECK_EQ(k.proto, X86_BOOT_LINUX64);
		free(copy);
	}
	guest_mem_destroy(&m);
	free(img);
}

TEST(elf_note_segment_out_of_file)
{
	/* a PT_NOTE that points outside the file: never read; not PVH */
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_PVH_NOTE, &n);
	static const uint64_t bad[][2] = {
		{ ELF_SIZE - 8, 64 },           /* runs off the end */
		{ ELF_SIZE, 12 },               /* starts at the end */
		{ UINT64_MAX - 4, 64 },         /* offset + size wraps */
		{ NOTE_OFF, UINT64_MAX },
		{ NOTE_OFF, ELF_SIZE - NOTE_OFF + 1 },
	};

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r;

		put_le64(img + PH(1, p_offset), bad[i][0]);
		put_le64(img + PH(1, p_filesz), bad[i][1]);
		r = LOAD(img, n);
		/* refusing the image is fine too; taking the PVH entry is not */
		CHECK(r < 0 ? err[0] != 0 : k.proto == X86_BOOT_LINUX64);
	}
	guest_mem_destroy(&m);
	free(img);
}

TEST(elf_bad_ident)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_GNU_NOTE, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	img[EI_CLASS] = ELFCLASS32;
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	img[EI_CLASS] = ELFCLASSNONE;
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	img[EI_CLASS] = ELFCLASS64;
	img[EI_DATA] = ELFDATA2MSB;
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	img[EI_DATA] = ELFDATA2LSB;
	put_le16(img + EH(e_machine), EM_386);
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	put_le16(img + EH(e_machine), EM_AARCH64);
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	put_le16(img + EH(e_machine), EM_X86_64);
	put_le16(img + EH(e_type), ET_DYN);
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	put_le16(img + EH(e_type), ET_REL);
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	put_le16(img + EH(e_type), ET_EXEC);
	CHECK_EQ(LOAD(img, n), 0);
	guest_mem_destroy(&m);
	free(img);
}

TEST(elf_truncated)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_GNU_NOTE, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	CHECK_FAILS(LOAD_COPY(img, 4), -EINVAL);           /* just "\177ELF" */
	CHECK_FAILS(LOAD_COPY(img, sizeof(Elf64_Ehdr) - 1), -EINVAL);
	/* the header but not the program headers */
	CHECK_FAILS(LOAD_COPY(img, sizeof(Elf64_Ehdr)), -EINVAL);
	CHECK_FAILS(LOAD_COPY(img, PH(2, p_type) - 1), -EINVAL);
	/* the headers but not the segment */
	CHECK_FAILS(LOAD_COPY(img, ELF_LOAD_OFF + ELF_FILESZ - 1), -EINVAL);
	CHECK_EQ(LOAD_COPY(img, ELF_LOAD_OFF + ELF_FILESZ), 0);
	CHECK_FAILS(LOAD_COPY(img, 3), -ENOEXEC);           /* "\177EL" */
	guest_mem_destroy(&m);
	free(img);
}

TEST(elf_bad_program_header_table)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_GNU_NOTE, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	put_le64(img + EH(e_phoff), ELF_SIZE + 1);        /* beyond the file */
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	put_le64(img + EH(e_phoff), UINT64_MAX - 8);
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	put_le64(img + EH(e_phoff), ELF_SIZE - 100);       /* table runs off */
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	put_le64(img + EH(e_phoff), ELF_SIZE - 2 * sizeof(Elf64_Phdr) + 1);
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	put_le64(img + EH(e_phoff), sizeof(Elf64_Ehdr));
	put_le16(img + EH(e_phnum), 0xffff);               /* huge table */
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	put_le16(img + EH(e_phentsize), 0xffff);
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	put_le16(img + EH(e_phnum), 2);
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	put_le16(img + EH(e_phentsize), sizeof(Elf64_Phdr) - 1);
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	put_le16(img + EH(e_phentsize), 0);
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	put_le16(img + EH(e_phentsize), sizeof(Elf64_Phdr));
	put_le16(img + EH(e_phnum), 0);
	CHECK(LOAD(img, n) < 0);
	CHECK(err[0]);
	put_le16(img + EH(e_phnum), 2);
	CHECK_EQ(LOAD(img, n), 0);
	guest_mem_destroy(&m);
	free(img);
}

TEST(elf_segment_beyond_file)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_GNU_NOTE, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	put_le64(img + PH(0, p_offset), ELF_SIZE - 0x10); /* 0x800 bytes from 16 */
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	put_le64(img + PH(0, p_offset), ELF_SIZE + 1);
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	put_le64(img + PH(0, p_offset), UINT64_MAX - 0x10); /* offset+size wraps */
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	/* exactly the end of the file is fine */
	put_le64(img + PH(0, p_offset), ELF_SIZE - ELF_FILESZ);
	CHECK_EQ(LOAD(img, n), 0);
	put_le64(img + PH(0, p_offset), ELF_LOAD_OFF);
	/* filesz that wraps offset + filesz */
	put_le64(img + PH(0, p_filesz), UINT64_MAX - 0x800);
	put_le64(img + PH(0, p_memsz), UINT64_MAX - 0x800);
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	guest_mem_destroy(&m);
	free(img);
}

TEST(elf_filesz_above_memsz)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_GNU_NOTE, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	put_le64(img + PH(0, p_memsz), ELF_FILESZ - 1);
	CHECK_FAILS(LOAD(img, n), -EINVAL);
	put_le64(img + PH(0, p_memsz), ELF_FILESZ); /* no bss at all: fine */
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.end, ELF_PADDR + ELF_FILESZ);
	guest_mem_destroy(&m);
	free(img);
}

TEST(elf_segment_outside_memory)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_GNU_NOTE, &n);
	const uint8_t *g;

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	/* straddling the end of RAM */
	put_le64(img + PH(0, p_paddr), 64 * MIB - ELF_MEMSZ + 1);
	CHECK_FAILS(LOAD(img, n), -E2BIG);
	put_le64(img + PH(0, p_paddr), 64 * MIB);
	CHECK_FAILS(LOAD(img, n), -E2BIG);
	put_le64(img + PH(0, p_paddr), UINT64_MAX - 0xfff); /* wraps */
	CHECK_FAILS(LOAD(img, n), -E2BIG);
	put_le64(img + PH(0, p_paddr), 0xc0000000);
	CHECK_FAILS(LOAD(img, n), -E2BIG);
	/* the bss alone too big */
	put_le64(img + PH(0, p_paddr), ELF_PADDR);
	put_le64(img + PH(0, p_memsz), 64 * MIB);
	CHECK_FAILS(LOAD(img, n), -E2BIG);
	/* the last bytes of RAM: fine (entry moved along) */
	put_le64(img + PH(0, p_memsz), ELF_MEMSZ);
	put_le64(img + PH(0, p_paddr), 64 * MIB - ELF_MEMSZ);
	put_le64(img + EH(e_entry), 64 * MIB - ELF_MEMSZ);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.end, 64 * MIB);
	CHECK(payload_at(&m, 64 * MIB - ELF_MEMSZ, ELF_FILESZ));
	g = gp(&m, 64 * MIB - 1, 1);
	CHECK(g && *g == 0);
	guest_mem_destroy(&m);
	free(img);
}

TEST(elf_entry_outside_memory)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_GNU_NOTE, &n), *pvh;

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	put_le64(img + EH(e_entry), 64 * MIB);
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	put_le64(img + EH(e_entry), ELF_VADDR); /* a virtual address */
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	put_le64(img + EH(e_entry), 64 * MIB - 1);
	CHECK_EQ(LOAD(img, n), 0);

	pvh = make_elf(ELF_PVH_NOTE, &n);
	CHECK(pvh);
	put_le32(pvh + XEN_NOTE + 16, 0xfffff000); /* PVH entry: no RAM */
	CHECK_FAILS(LOAD(pvh, n), -ENOEXEC);
	guest_mem_destroy(&m);
	free(img);
	free(pvh);
}

TEST(elf_no_loadable_segment)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_GNU_NOTE, &n);

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	put_le32(img + PH(0, p_type), PT_NULL);
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	/* a PT_LOAD of no bytes is skipped, whatever its other fields say */
	put_le32(img + PH(0, p_type), PT_LOAD);
	put_le64(img + PH(0, p_memsz), 0);
	put_le64(img + PH(0, p_filesz), 0);
	put_le64(img + PH(0, p_paddr), UINT64_MAX);
	CHECK_FAILS(LOAD(img, n), -ENOEXEC);
	guest_mem_destroy(&m);
	free(img);
}

TEST(elf_two_segments)
{
	/* the note's header slot reused as a second PT_LOAD: a pure bss */
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_GNU_NOTE, &n);
	const uint8_t *g;

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	memset(gp(&m, 0x400000, 0x3000), 0xcc, 0x3000);
	put_le32(img + PH(1, p_type), PT_LOAD);
	put_le64(img + PH(1, p_offset), 0);
	put_le64(img + PH(1, p_filesz), 0);
	put_le64(img + PH(1, p_paddr), 0x400000);
	put_le64(img + PH(1, p_memsz), 0x3000);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.end, 0x403000);
	g = gp(&m, 0x400000, 0x3000);
	for (size_t i = 0; i < 0x3000; i++)
		CHECK_EQ(g[i], 0);
	CHECK(payload_at(&m, ELF_PADDR, ELF_FILESZ));
	/* end is the highest end, whatever the order */
	put_le64(img + PH(1, p_paddr), 0x80000);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(k.end, ELF_PADDR + ELF_MEMSZ);
	guest_mem_destroy(&m);
	free(img);
}

TEST(small_err_buffer)
{
	struct guest_mem m;
	struct x86_kernel k;
	char *err = malloc(4);
	uint8_t junk[16] = { 0 };
	int r;

	CHECK(err);
	CHECK_EQ(mem_init(&m, 2 * MIB), 0);
	r = x86_load_kernel_image(&m, junk, sizeof(junk), &k, err, 4);
	CHECK_EQ(r, -ENOEXEC);
	CHECK_EQ(strlen(err), 3);
	guest_mem_destroy(&m);
	free(err);
}

/* ------------------------------------------------------------------ */
/* initrd placement                                                    */

static struct x86_kernel fake_kernel(uint64_t end, uint64_t initrd_addr_max)
{
	struct x86_kernel k;

	memset(&k, 0, sizeof(k));
	k.end = end;
	k.initrd_addr_max = initrd_addr_max;
	return k;
}

TEST(initrd_at_top)
{
	struct guest_mem m;
	struct x86_kernel k = fake_kernel(BZ_PREF + BZ_INIT_SIZE, 0x37ffffff);
	uint64_t a = 0;

	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	CHECK_EQ(x86_place_initrd(&m, &k, 1 * MIB + 1, &a), 0);
	CHECK_EQ(a % 4096, 0);
	CHECK(a + 1 * MIB + 1 <= 64 * MIB);        /* inside RAM */
	CHECK(a + 4096 + 1 * MIB + 1 > 64 * MIB);  /* and as high as it goes */
	CHECK(a >= k.end);
	CHECK_EQ(a, 63 * MIB - 4096);

	CHECK_EQ(x86_place_initrd(&m, &k, 4096, &a), 0);
	CHECK_EQ(a, 64 * MIB - 4096);
	CHECK_EQ(x86_place_initrd(&m, &k, 1, &a), 0);
	CHECK_EQ(a, 64 * MIB - 4096);
	guest_mem_destroy(&m);
}

TEST(initrd_respects_addr_max)
{
	struct guest_mem m;
	struct x86_kernel k = fake_kernel(BZ_PREF + BZ_INIT_SIZE, 32 * MIB - 1);
	uint64_t a = 0;

	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	CHECK_EQ(x86_place_initrd(&m, &k, 3 * MIB + 5, &a), 0);
	CHECK_EQ(a % 4096, 0);
	CHECK(a + 3 * MIB + 5 - 1 <= k.initrd_addr_max); /* last byte allowed */
	CHECK(a + 4096 + 3 * MIB + 5 - 1 > k.initrd_addr_max);
	/* the limit is the last byte allowed: a page may end right at it */
	CHECK_EQ(x86_place_initrd(&m, &k, 4096, &a), 0);
	CHECK_EQ(a, 32 * MIB - 4096);
	/* a limit that is not page aligned */
	k.initrd_addr_max = 32 * MIB + 100;
	CHECK_EQ(x86_place_initrd(&m, &k, 4096, &a), 0);
	CHECK_EQ(a, 32 * MIB - 4096);
	/* a limit above RAM: RAM is the limit */
	k.initrd_addr_max = 0xffffffff;
	CHECK_EQ(x86_place_initrd(&m, &k, 4096, &a), 0);
	CHECK_EQ(a, 64 * MIB - 4096);
	guest_mem_destroy(&m);
}

TEST(initrd_no_space)
{
	struct guest_mem m;
	struct x86_kernel k = fake_kernel(BZ_PREF + BZ_INIT_SIZE, 0x37ffffff);
	uint64_t a = 0x1234;
	uint64_t room = 64 * MIB - k.end; /* k.end is page aligned */

	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	/* exactly the room between the kernel and the top of RAM */
	CHECK_EQ(x86_place_initrd(&m, &k, room, &a), 0);
	CHECK_EQ(a, k.end);
	/* one byte more would overlap the kernel */
	a = 0x1234;
	CHECK_EQ(x86_place_initrd(&m, &k, room + 1, &a), -ENOSPC);
	CHECK_EQ(a, 0x1234);
	CHECK_EQ(x86_place_initrd(&m, &k, 64 * MIB, &a), -ENOSPC);
	CHECK_EQ(x86_place_initrd(&m, &k, 64 * MIB + 1, &a), -ENOSPC);
	CHECK_EQ(x86_place_initrd(&m, &k, UINT64_MAX, &a), -ENOSPC);
	/* the limit leaves no room above the kernel */
	k.initrd_addr_max = k.end + 4096 - 1;
	CHECK_EQ(x86_place_initrd(&m, &k, 4096, &a), 0);
	CHECK_EQ(a, k.end);
	CHECK_EQ(x86_place_initrd(&m, &k, 4097, &a), -ENOSPC);
	guest_mem_destroy(&m);
}

TEST(initrd_never_below_1m)
{
	struct guest_mem m;
	struct x86_kernel k = fake_kernel(0, 0x37ffffff);
	uint64_t a;

	CHECK_EQ(mem_init(&m, 2 * MIB), 0);
	CHECK_EQ(x86_place_initrd(&m, &k, 1 * MIB, &a), 0);
	CHECK_EQ(a, 1 * MIB);
	CHECK_EQ(x86_place_initrd(&m, &k, 1 * MIB + 1, &a), -ENOSPC);
	guest_mem_destroy(&m);
}

TEST(initrd_low_ram_only)
{
	/* RAM above 4 GiB is not for the initrd: it goes below 16 MiB here */
	struct guest_mem m;
	const uint64_t r[][2] = { { 0, 16 * MIB }, { 4 * GIB, 16 * MIB } };
	struct x86_kernel k = fake_kernel(0x200000, X86_MMIO_HOLE_START - 1);
	uint64_t a;

	CHECK_EQ(guest_mem_init(&m, r, 2), 0);
	CHECK_EQ(x86_place_initrd(&m, &k, 5 * MIB, &a), 0);
	CHECK(a + 5 * MIB <= 16 * MIB);
	CHECK(gpa_range_ok(&m, a, 5 * MIB));
	CHECK_EQ(x86_place_initrd(&m, &k, 15 * MIB, &a), -ENOSPC);
	guest_mem_destroy(&m);
}

TEST(initrd_after_loaded_kernel)
{
	/* the loaders' k.end and limits, end to end */
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);
	uint64_t a;

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(x86_place_initrd(&m, &k, 10 * MIB, &a), 0);
	CHECK(a >= k.end && a + 10 * MIB <= 64 * MIB && a % 4096 == 0);
	CHECK_EQ(x86_place_initrd(&m, &k, 64 * MIB - k.end + 1, &a), -ENOSPC);
	guest_mem_destroy(&m);
	free(img);
}

/* ------------------------------------------------------------------ */
/* e820                                                                */

TEST(e820_one_region)
{
	struct guest_mem m;
	struct e820_entry e[8];

	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	CHECK_EQ(x86_e820(&m, e, 8), 2);
	CHECK_EQ(e[0].addr, 0);
	CHECK_EQ(e[0].size, 0x9fc00);
	CHECK_EQ(e[0].type, E820_RAM);
	CHECK_EQ(e[1].addr, 1 * MIB);
	CHECK_EQ(e[1].size, 63 * MIB);
	CHECK_EQ(e[1].type, E820_RAM);
	guest_mem_destroy(&m);
}

TEST(e820_two_regions)
{
	struct guest_mem m;
	const uint64_t r[][2] = { { 0, 16 * MIB }, { 4 * GIB, 16 * MIB } };
	struct e820_entry e[8];

	CHECK_EQ(guest_mem_init(&m, r, 2), 0);
	CHECK_EQ(x86_e820(&m, e, 8), 3);
	CHECK_EQ(e[0].addr, 0);
	CHECK_EQ(e[0].size, 0x9fc00);
	CHECK_EQ(e[1].addr, 1 * MIB);
	CHECK_EQ(e[1].size, 15 * MIB);
	CHECK_EQ(e[2].addr, 4 * GIB);
	CHECK_EQ(e[2].size, 16 * MIB);
	CHECK_EQ(e[2].type, E820_RAM);
	/* sorted, not overlapping, none in the legacy or MMIO holes */
	for (unsigned int i = 1; i < 3; i++)
		CHECK(e[i - 1].addr + e[i - 1].size <= e[i].addr);
	for (unsigned int i = 0; i < 3; i++) {
		CHECK(e[i].addr + e[i].size <= 0x9fc00 || e[i].addr >= 1 * MIB);
		CHECK(e[i].addr + e[i].size <= X86_MMIO_HOLE_START ||
		      e[i].addr >= X86_MMIO_HOLE_END);
	}
	guest_mem_destroy(&m);
}

TEST(e820_respects_max)
{
	struct guest_mem m;
	const uint64_t r[][2] = { { 0, 16 * MIB }, { 4 * GIB, 16 * MIB } };
	struct e820_entry e[4];

	CHECK_EQ(guest_mem_init(&m, r, 2), 0);
	for (unsigned int max = 0; max <= 3; max++) {
		memset(e, 0x5a, sizeof(e));
		CHECK_EQ(x86_e820(&m, e, max), max);
		/* nothing written past max */
		for (unsigned int i = max; i < 4; i++)
			CHECK_EQ(e[i].addr, 0x5a5a5a5a5a5a5a5aULL);
	}
	CHECK_EQ(x86_e820(&m, e, 4), 3);
	guest_mem_destroy(&m);
}

TEST(e820_exactly_1m)
{
	/* nothing above 1 MiB: no empty high entry */
	struct guest_mem m;
	struct e820_entry e[4];

	CHECK_EQ(mem_init(&m, 1 * MIB), 0);
	CHECK_EQ(x86_e820(&m, e, 4), 1);
	CHECK_EQ(e[0].size, 0x9fc00);
	guest_mem_destroy(&m);
	CHECK_EQ(mem_init(&m, 1 * MIB + 4096), 0);
	CHECK_EQ(x86_e820(&m, e, 4), 2);
	CHECK_EQ(e[1].addr, 1 * MIB);
	CHECK_EQ(e[1].size, 4096);
	guest_mem_destroy(&m);
}

TEST(e820_small_low_region)
{
	/* RAM that ends below the EBDA: the map must not claim more */
	struct guest_mem m;
	struct e820_entry e[4];
	unsigned int n;

	CHECK_EQ(mem_init(&m, 512 * KIB), 0);
	n = x86_e820(&m, e, 4);
	CHECK_EQ(n, 1);
	CHECK_EQ(e[0].addr, 0);
	CHECK_EQ(e[0].size, 512 * KIB);
	guest_mem_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* zero page                                                           */

/* zero-page bytes the loader writes itself (not copied from the header) */
static int bp_written_field(unsigned int off)
{
	return (off >= HDR_VID_MODE && off < HDR_VID_MODE + 2) ||
	       off == HDR_TYPE_OF_LOADER || off == HDR_LOADFLAGS ||
	       (off >= HDR_RAMDISK_IMAGE && off < HDR_RAMDISK_SIZE + 4) ||
	       (off >= HDR_HEAP_END_PTR && off < HDR_HEAP_END_PTR + 2) ||
	       (off >= HDR_CMD_LINE_PTR && off < HDR_CMD_LINE_PTR + 4);
}

TEST(boot_params_bzimage)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);
	uint8_t *bp;

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	CHECK_EQ(LOAD(img, n), 0);
	bp = gp(&m, X86_ZERO_PAGE_ADDR, BP_SIZE);
	memset(bp, 0xab, BP_SIZE);
	CHECK_EQ(x86_write_boot_params(&m, &k, X86_CMDLINE_ADDR, 0x3000000,
				       0x123456), 0);
	/* e820 */
	CHECK_EQ(bp[BP_E820_ENTRIES], 2);
	CHECK_EQ(get_le64(bp + BP_E820_TABLE), 0);
	CHECK_EQ(get_le64(bp + BP_E820_TABLE + 8), 0x9fc00);
	CHECK_EQ(get_le32(bp + BP_E820_TABLE + 16), E820_RAM);
	CHECK_EQ(get_le64(bp + BP_E820_TABLE + 20), 1 * MIB);
	CHECK_EQ(get_le64(bp + BP_E820_TABLE + 28), 63 * MIB);
	CHECK_EQ(get_le32(bp + BP_E820_TABLE + 36), E820_RAM);
	for (unsigned int i = 40; i < 60; i++)
		CHECK_EQ(bp[BP_E820_TABLE + i], 0);
	/* command line, initrd, loader */
	CHECK_EQ(get_le32(bp + HDR_CMD_LINE_PTR), X86_CMDLINE_ADDR);
	CHECK_EQ(get_le32(bp + BP_EXT_CMD_LINE_PTR), 0);
	CHECK_EQ(get_le32(bp + HDR_RAMDISK_IMAGE), 0x3000000);
	CHECK_EQ(get_le32(bp + HDR_RAMDISK_SIZE), 0x123456);
	CHECK_EQ(get_le32(bp + BP_EXT_RAMDISK_IMAGE), 0);
	CHECK_EQ(get_le32(bp + BP_EXT_RAMDISK_SIZE), 0);
	CHECK_EQ(bp[HDR_TYPE_OF_LOADER], LOADER_TYPE_UNDEFINED);
	CHECK(bp[HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH);
	CHECK(bp[HDR_LOADFLAGS] & LOADFLAG_CAN_USE_HEAP);
	CHECK(get_le16(bp + HDR_HEAP_END_PTR) != 0);
	/* the kernel's own header, as it was */
	for (unsigned int off = BP_HDR; off < BP_HDR + k.hdr_len; off++)
		if (!bp_written_field(off))
			CHECK_EQ(bp[off], img[off]);
	CHECK_EQ(get_le16(bp + HDR_VERSION), 0x020f);
	CHECK_EQ(get_le32(bp + HDR_HEADER), HDRS_MAGIC);
	CHECK_EQ(get_le16(bp + HDR_BOOT_FLAG), BOOT_FLAG_MAGIC);
	CHECK_EQ(get_le32(bp + HDR_INIT_SIZE), BZ_INIT_SIZE);
	CHECK_EQ(get_le32(bp + HDR_CMDLINE_SIZE), 2047);
	/* beyond the header's end, and elsewhere: cleared */
	for (unsigned int off = BZ_HDR_END; off < HDR_END_MAX; off++)
		CHECK_EQ(bp[off], 0);
	CHECK_EQ(bp[0], 0);
	CHECK_EQ(bp[BP_HDR - 1], 0);
	CHECK_EQ(bp[BP_SIZE - 1], 0);
	guest_mem_destroy(&m);
	free(img);
}

TEST(boot_params_high_addresses)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);
	const uint8_t *bp;

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(x86_write_boot_params(&m, &k, 0x123456789ULL, 0x234567000ULL,
				       0x300000001ULL), 0);
	bp = gp(&m, X86_ZERO_PAGE_ADDR, BP_SIZE);
	CHECK_EQ(get_le32(bp + HDR_CMD_LINE_PTR), 0x23456789);
	CHECK_EQ(get_le32(bp + BP_EXT_CMD_LINE_PTR), 1);
	CHECK_EQ(get_le32(bp + HDR_RAMDISK_IMAGE), 0x34567000);
	CHECK_EQ(get_le32(bp + BP_EXT_RAMDISK_IMAGE), 2);
	CHECK_EQ(get_le32(bp + HDR_RAMDISK_SIZE), 1);
	CHECK_EQ(get_le32(bp + BP_EXT_RAMDISK_SIZE), 3);
	guest_mem_destroy(&m);
	free(img);
}

TEST(boot_params_elf)
{
	struct guest_mem m;
	struct x86_kernel k;
	char err[256];
	size_t n;
	uint8_t *img = make_elf(ELF_GNU_NOTE, &n);
	const uint8_t *bp;

	CHECK(img);
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	CHECK_EQ(LOAD(img, n), 0);
	CHECK_EQ(x86_write_boot_params(&m, &k, X86_CMDLINE_ADDR, 0, 0), 0);
	bp = gp(&m, X86_ZERO_PAGE_ADDR, BP_SIZE);
	/* no header in an ELF: what the kernel reads is synthesised */
	CHECK_EQ(get_le16(bp + HDR_BOOT_FLAG), BOOT_FLAG_MAGIC);
	CHECK_EQ(get_le32(bp + HDR_HEADER), HDRS_MAGIC);
	CHECK(get_le16(bp + HDR_VERSION) >= 0x020c);
	CHECK_EQ(get_le32(bp + HDR_CMDLINE_SIZE), k.cmdline_max);
	CHECK_EQ(bp[HDR_TYPE_OF_LOADER], LOADER_TYPE_UNDEFINED);
	CHECK_EQ(get_le32(bp + HDR_CMD_LINE_PTR), X86_CMDLINE_ADDR);
	CHECK_EQ(get_le32(bp + HDR_RAMDISK_IMAGE), 0);
	CHECK_EQ(get_le32(bp + HDR_RAMDISK_SIZE), 0);
	CHECK_EQ(bp[BP_E820_ENTRIES], 2);
	guest_mem_destroy(&m);
	free(img);
}

TEST(boot_params_two_regions)
{
	struct guest_mem m;
	const uint64_t r[][2] = { { 0, 16 * MIB }, { 4 * GIB, 16 * MIB } };
	struct x86_kernel k = fake_kernel(0x200000, 0);
	const uint8_t *bp, *e;

	CHECK_EQ(guest_mem_init(&m, r, 2), 0);
	CHECK_EQ(x86_write_boot_params(&m, &k, X86_CMDLINE_ADDR, 0, 0), 0);
	bp = gp(&m, X86_ZERO_PAGE_ADDR, BP_SIZE);
	CHECK_EQ(bp[BP_E820_ENTRIES], 3);
	e = bp + BP_E820_TABLE + 2 * E820_ENTRY_SIZE;
	CHECK_EQ(get_le64(e), 4 * GIB);
	CHECK_EQ(get_le64(e + 8), 16 * MIB);
	CHECK_EQ(get_le32(e + 16), E820_RAM);
	guest_mem_destroy(&m);
}

TEST(boot_params_no_memory)
{
	struct guest_mem m;
	const uint64_t r[][2] = { { 1 * MIB, 16 * MIB } };
	struct x86_kernel k = fake_kernel(0x200000, 0);

	CHECK_EQ(guest_mem_init(&m, r, 1), 0);
	CHECK_EQ(x86_write_boot_params(&m, &k, X86_CMDLINE_ADDR, 0, 0), -EFAULT);
	CHECK_EQ(x86_write_pvh_info(&m, X86_CMDLINE_ADDR, 0, 0), -EFAULT);
	CHECK_EQ(x86_write_page_tables(&m), -EFAULT);
	CHECK_EQ(x86_write_gdt(&m), -EFAULT);
	CHECK_EQ(x86_write_mptable(&m, 1), -EFAULT);
	guest_mem_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* PVH start info                                                      */

/* [a, a + n) inside [lo, hi) */
static int within(uint64_t a, uint64_t n, uint64_t lo, uint64_t hi)
{
	return a >= lo && a <= hi && n <= hi - a;
}

TEST(pvh_info)
{
	struct guest_mem m;
	const uint8_t *si, *mod, *map;
	uint64_t mod_addr, map_addr;

	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	memset(gp(&m, X86_PVH_INFO_ADDR, 4096), 0xab, 4096);
	CHECK_EQ(x86_write_pvh_info(&m, X86_CMDLINE_ADDR, 0x3c00000, 0x345678),
		 0);
	si = gp(&m, X86_PVH_INFO_ADDR, PVH_INFO_SIZE);
	CHECK_EQ(get_le32(si + PVH_MAGIC_OFF), PVH_MAGIC);
	CHECK_EQ(get_le32(si + PVH_VERSION_OFF), 1);
	CHECK_EQ(get_le32(si + PVH_FLAGS_OFF), 0);
	CHECK_EQ(get_le64(si + PVH_CMDLINE_OFF), X86_CMDLINE_ADDR);
	CHECK_EQ(get_le64(si + PVH_RSDP_OFF), 0);
	CHECK_EQ(get_le32(si + 52), 0); /* reserved */
	/* one module: the initrd */
	CHECK_EQ(get_le32(si + PVH_NR_MODULES_OFF), 1);
	mod_addr = get_le64(si + PVH_MODLIST_OFF);
	CHECK(within(mod_addr, PVH_MODLIST_ENTRY_SIZE,
		     X86_PVH_INFO_ADDR + PVH_INFO_SIZE, X86_ZERO_PAGE_ADDR));
	mod = gp(&m, mod_addr, PVH_MODLIST_ENTRY_SIZE);
	CHECK(mod);
	CHECK_EQ(get_le64(mod), 0x3c00000);
	CHECK_EQ(get_le64(mod + 8), 0x345678);
	CHECK_EQ(get_le64(mod + 16), 0);
	CHECK_EQ(get_le64(mod + 24), 0);
	/* the memory map, clear of the start info and the module */
	CHECK_EQ(get_le32(si + PVH_MEMMAP_ENTRIES_OFF), 2);
	map_addr = get_le64(si + PVH_MEMMAP_OFF);
	CHECK(within(map_addr, 2 * PVH_MEMMAP_ENTRY_SIZE,
		     X86_PVH_INFO_ADDR + PVH_INFO_SIZE, X86_ZERO_PAGE_ADDR));
	CHECK(map_addr >= mod_addr + PVH_MODLIST_ENTRY_SIZE ||
	      map_addr + 2 * PVH_MEMMAP_ENTRY_SIZE <= mod_addr);
	map = gp(&m, map_addr, 2 * PVH_MEMMAP_ENTRY_SIZE);
	CHECK(map);
	CHECK_EQ(get_le64(map), 0);
	CHECK_EQ(get_le64(map + 8), 0x9fc00);
	CHECK_EQ(get_le32(map + 16), E820_RAM);
	CHECK_EQ(get_le32(map + 20), 0);
	CHECK_EQ(get_le64(map + 24), 1 * MIB);
	CHECK_EQ(get_le64(map + 32), 63 * MIB);
	CHECK_EQ(get_le32(map + 40), E820_RAM);
	CHECK_EQ(get_le32(map + 44), 0);
	guest_mem_destroy(&m);
}

TEST(pvh_info_no_initrd)
{
	struct guest_mem m;
	const uint8_t *si;

	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	memset(gp(&m, X86_PVH_INFO_ADDR, 4096), 0xab, 4096);
	CHECK_EQ(x86_write_pvh_info(&m, X86_CMDLINE_ADDR, 0, 0), 0);
	si = gp(&m, X86_PVH_INFO_ADDR, PVH_INFO_SIZE);
	CHECK_EQ(get_le32(si + PVH_MAGIC_OFF), PVH_MAGIC);
	CHECK_EQ(get_le32(si + PVH_NR_MODULES_OFF), 0);
	CHECK_EQ(get_le32(si + PVH_MEMMAP_ENTRIES_OFF), 2);
	guest_mem_destroy(&m);
}

TEST(pvh_info_two_regions)
{
	struct guest_mem m;
	const uint64_t r[][2] = { { 0, 16 * MIB }, { 4 * GIB, 16 * MIB } };
	const uint8_t *si, *map;

	CHECK_EQ(guest_mem_init(&m, r, 2), 0);
	CHECK_EQ(x86_write_pvh_info(&m, X86_CMDLINE_ADDR, 0x800000, 4096), 0);
	si = gp(&m, X86_PVH_INFO_ADDR, PVH_INFO_SIZE);
	CHECK_EQ(get_le32(si + PVH_MEMMAP_ENTRIES_OFF), 3);
	map = gp(&m, get_le64(si + PVH_MEMMAP_OFF), 3 * PVH_MEMMAP_ENTRY_SIZE);
	CHECK(map);
	CHECK_EQ(get_le64(map + 48), 4 * GIB);
	CHECK_EQ(get_le64(map + 56), 16 * MIB);
	CHECK_EQ(get_le32(map + 64), E820_RAM);
	/* does not spill into the zero page */
	CHECK(get_le64(si + PVH_MEMMAP_OFF) + 3 * PVH_MEMMAP_ENTRY_SIZE <=
	      X86_ZERO_PAGE_ADDR);
	guest_mem_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* MP table                                                            */

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* NULL when the MP table at 0xf0000 is a valid one for ncpus CPUs */
static const char *mp_check(const struct guest_mem *m, unsigned int ncpus)
{
	const uint8_t *fps = gp(m, X86_MPTABLE_ADDR, 16), *hdr, *p, *end;
	unsigned int entries = 0, procs = 0, buses = 0, ioapics = 0, irqs = 0;
	unsigned int lints = 0, last_type = 0, ioapic_id = 0;
	uint32_t tbl, irq_seen = 0;
	uint16_t len;

	if (!fps || memcmp(fps, "_MP_", 4))
		return "no _MP_ floating pointer at 0xf0000";
	if (sum8(fps, 16))
		return "floating pointer checksum";
	if (fps[8] != 1 || (fps[9] != 1 && fps[9] != 4))
		return "floating pointer length or revision";
	if (fps[11] != 0)
		return "floating pointer says a default configuration";
	tbl = get_le32(fps + 4);
	hdr = gp(m, tbl, 44);
	if (!hdr || memcmp(hdr, "PCMP", 4))
		return "no PCMP table where the pointer points";
	len = get_le16(hdr + 4);
	if (len < 44 || tbl + len > X86_HIMEM_START)
		return "table length";
	if (tbl < X86_MPTABLE_ADDR + 16 && tbl + len > X86_MPTABLE_ADDR)
		return "table overlaps the floating pointer";
	hdr = gp(m, tbl, len);
	if (!hdr || sum8(hdr, len))
		return "table checksum";
	if (get_le32(hdr + 36) != X86_LAPIC_ADDR)
		return "local APIC address";
	if (get_le16(hdr + 40) != 0)
		return "extended table";
	end = hdr + len;
	for (p = hdr + 44; p < end; entries++) {
		if (end - p < (p[0] == 0 ? 20 : 8))
			return "entry cut by the table length";
		if (p[0] < last_type)
			return "entries not sorted by type";
		last_type = p[0];
		switch (p[0]) {
		case 0:
			if (p[1] != procs)
				return "APIC ids not 0..n-1";
			if (!(p[3] & 1))
				return "processor not enabled";
			if ((p[3] & 2) != (procs == 0 ? 2 : 0))
				return "BSP flag not only on the first CPU";
			procs++;
			p += 20;
			continue;
		case 1:
			if (memcmp(p + 2, "ISA   ", 6))
				return "bus is not ISA";
			buses++;
			break;
		case 2:
			if (!(p[3] & 1) || get_le32(p + 4) != X86_IOAPIC_ADDR)
				return "IOAPIC entry";
			ioapic_id = p[1];
			ioapics++;
			break;
		case 3:
			/* one per IOAPIC pin (24), ISA IRQ n on pin n */
			if (p[6] != ioapic_id || p[5] >= 24 || p[7] >= 24)
				return "interrupt entry";
			if (irq_seen & 1U << p[7])
				return "two interrupt entries for one pin";
			irq_seen |= 1U << p[7];
			irqs++;
			break;
		case 4:
			lints++;
			break;
		default:
			return "unknown entry type";
		}
		p += 8;
	}
	if (p != end)
		return "entries overrun the table length";
	if (entries != get_le16(hdr + 34))
		return "entry count field";
	if (procs != ncpus)
		return "number of processors";
	if (buses != 1 || ioapics != 1 || irqs < 16 ||
	    (irq_seen & 0xffff) != 0xffff || lints != 2)
		return "bus, IOAPIC, interrupt or local interrupt entries";
	if (ioapic_id < ncpus)
		return "IOAPIC id collides with a CPU's APIC id";
	return NULL;
}

TEST(mptable_cpu_counts)
{
	static const unsigned int counts[] = { 1, 2, 3, 4, 8, 64, 254 };
	struct guest_mem m;

	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	for (unsigned int i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		const char *why;

		memset(gp(&m, X86_MPTABLE_ADDR, 0x10000), 0xee, 0x10000);
		CHECK_EQ(x86_write_mptable(&m, counts[i]), 0);
		why = mp_check(&m, counts[i]);
		if (why) {
			*unit_failed = 1;
			snprintf(unit_why, sizeof(unit_why), "%u CPUs: %s",
				 counts[i], why);
			return;
		}
	}
	guest_mem_destroy(&m);
}

TEST(mptable_rewrite_fewer_cpus)
{
	struct guest_mem m;

	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	CHECK_EQ(x86_write_mptable(&m, 8), 0);
	CHECK_EQ(x86_write_mptable(&m, 2), 0);
	CHECK(mp_check(&m, 2) == NULL);
	guest_mem_destroy(&m);
}

TEST(mptable_rejects)
{
	struct guest_mem m;
	const uint64_t small[][2] = { { 0, X86_MPTABLE_ADDR } };

	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	memset(gp(&m, X86_MPTABLE_ADDR, 16), 0xee, 16);
	CHECK_EQ(x86_write_mptable(&m, 0), -EINVAL);
	CHECK_EQ(x86_write_mptable(&m, 255), -EINVAL);
	CHECK_EQ(x86_write_mptable(&m, 1000), -EINVAL);
	CHECK_EQ(x86_write_mptable(&m, UINT32_MAX), -EINVAL);
	CHECK_EQ(*gp(&m, X86_MPTABLE_ADDR, 1), 0xee); /* nothing written */
	guest_mem_destroy(&m);
	/* RAM that ends where the table would go */
	CHECK_EQ(guest_mem_init(&m, small, 1), 0);
	CHECK_EQ(x86_write_mptable(&m, 1), -EFAULT);
	guest_mem_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* page tables and GDT                                                 */

TEST(page_tables)
{
	struct guest_mem m;
	const uint8_t *pml4, *pdpt, *pd;

	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	memset(gp(&m, X86_PML4_ADDR, 3 * 4096), 0xff, 3 * 4096);
	CHECK_EQ(x86_write_page_tables(&m), 0);
	pml4 = gp(&m, X86_PML4_ADDR, 4096);
	pdpt = gp(&m, X86_PDPT_ADDR, 4096);
	pd = gp(&m, X86_PD_ADDR, 4096);
	/* PML4[0] -> PDPT, PDPT[0] -> PD, present + writable, nothing else */
	CHECK_EQ(get_le64(pml4), X86_PDPT_ADDR | 3);
	CHECK_EQ(get_le64(pdpt), X86_PD_ADDR | 3);
	for (unsigned int i = 1; i < 512; i++) {
		CHECK_EQ(get_le64(pml4 + i * 8), 0);
		CHECK_EQ(get_le64(pdpt + i * 8), 0);
	}
	/* 512 identity 2 MiB pages: present, writable, PS */
	for (uint64_t i = 0; i < 512; i++)
		CHECK_EQ(get_le64(pd + i * 8), (i << 21) | 0x83);
	guest_mem_destroy(&m);
}

TEST(page_tables_need_memory)
{
	struct guest_mem m;
	const uint64_t r[][2] = { { 0, X86_PDPT_ADDR } }; /* PML4 only */

	CHECK_EQ(guest_mem_init(&m, r, 1), 0);
	CHECK_EQ(x86_write_page_tables(&m), -EFAULT);
	guest_mem_destroy(&m);
}

TEST(gdt)
{
	struct guest_mem m;
	const uint8_t *g;
	uint64_t code32, code64, data, tss;

	CHECK_EQ(mem_init(&m, 2 * MIB), 0);
	CHECK_EQ(x86_write_gdt(&m), 0);
	g = gp(&m, X86_GDT_ADDR, 5 * 8);
	CHECK_EQ(get_le64(g), 0);
	code32 = get_le64(g + X86_SEL_CODE32);
	code64 = get_le64(g + X86_SEL_CODE64);
	data = get_le64(g + X86_SEL_DATA);
	tss = get_le64(g + X86_SEL_TSS);
	/* present, code, L clear and D set / L set and D clear */
	CHECK(code32 >> 47 & 1);
	CHECK((code32 >> 43 & 1) && !(code32 >> 53 & 1) && (code32 >> 54 & 1));
	CHECK(code64 >> 47 & 1);
	CHECK((code64 >> 43 & 1) && (code64 >> 53 & 1) && !(code64 >> 54 & 1));
	/* data: present, writable, not code */
	CHECK((data >> 47 & 1) && !(data >> 43 & 1) && (data >> 41 & 1));
	/* TSS: present system descriptor (S clear) */
	CHECK((tss >> 47 & 1) && !(tss >> 44 & 1));
	guest_mem_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* mutation                                                            */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static uint64_t interesting(size_t size)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 4, 8, 0x38, 0x40, 0x7f, 0x80, 0xff, 0x100, 0x1000,
		0x7fffffff, 0x80000000, 0xfffffff0, 0xfffffffc, 0xffffffff,
		0x100000, 0x1000000, 64 * MIB - 1, 64 * MIB, 1ULL << 32,
		0x7fffffffffffffffULL, 0x8000000000000000ULL,
		UINT64_MAX - 0xfff, UINT64_MAX - 1, UINT64_MAX,
	};
	unsigned int i = rnd() % (sizeof(v) / sizeof(v[0]) + 3);

	if (i == sizeof(v) / sizeof(v[0]))
		return size;
	if (i == sizeof(v) / sizeof(v[0]) + 1)
		return size - 1;
	if (i == sizeof(v) / sizeof(v[0]) + 2)
		return size + 1;
	return v[i];
}

/* a few random changes, mostly in the first hot bytes (the headers) */
static void mutate(uint8_t *b, size_t size, size_t hot)
{
	unsigned int changes = 1 + rnd() % 6;

	if (hot > size)
		hot = size;
	for (unsigned int c = 0; c < changes && size; c++) {
		size_t pos = (rnd() % 4 && hot) ? rnd() % hot : rnd() % size;

		switch (rnd() % 5) {
		case 0:
			b[pos] ^= (uint8_t)(1U << (rnd() % 8));
			break;
		case 1:
			b[pos] = (uint8_t)rnd();
			break;
		case 2:
			pos &= ~(size_t)3;
			if (pos + 2 <= size)
				put_le16(b + pos, (uint16_t)interesting(size));
			break;
		case 3:
			pos &= ~(size_t)3;
			if (pos + 4 <= size)
				put_le32(b + pos, (uint32_t)interesting(size));
			break;
		default:
			pos &= ~(size_t)7;
			if (pos + 8 <= size)
				put_le64(b + pos, interesting(size));
			break;
		}
	}
}

struct fuzz_stats {
	unsigned int ok, failed;
};

/*
 * Load one mutated, maybe truncated, copy of tmpl in an exact-size heap
 * buffer. Returns NULL, or what is wrong with the result.
 */
static const char *fuzz_one(const struct guest_mem *m, const uint8_t *tmpl,
			    size_t size, size_t hot, struct fuzz_stats *st)
{
	size_t n = rnd() % 4 ? size : rnd() % (size + 1);
	uint8_t *p = dup_exact(tmpl, n);
	struct x86_kernel k;
	char err[128];
	int r;

	if (!p)
		return "out of memory";
	mutate(p, n, hot);
	memset(err, 0x55, sizeof(err));
	r = x86_load_kernel_image(m, p, n, &k, err, sizeof(err));
	free(p);
	if (r > 0)
		return "positive return";
	if (r < 0) {
		st->failed++;
		if (!memchr(err, 0, sizeof(err)) || !err[0])
			return "error without a message";
		return NULL;
	}
	st->ok++;
	if (!gpa_range_ok(m, k.entry, 1))
		return "entry outside guest memory";
	if (k.end > m->ram_size || k.end == 0)
		return "end outside guest memory";
	if (k.proto != X86_BOOT_LINUX64 && k.proto != X86_BOOT_PVH)
		return "bad protocol";
	if (k.is_bzimage && (k.hdr_len == 0 || k.hdr_len > sizeof(k.hdr) ||
			     k.proto != X86_BOOT_LINUX64))
		return "bad header length";
	if (!k.is_bzimage && k.hdr_len != 0)
		return "ELF with a header";
	return NULL;
}

#define FUZZ_ITERS 3000

static void fuzz(int *unit_failed, const uint8_t *tmpl, size_t size,
		 size_t hot, uint64_t seed, const char *what)
{
	struct guest_mem m;
	struct fuzz_stats st = { 0, 0 };

	rng_state = seed;
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	for (unsigned int i = 0; i < FUZZ_ITERS; i++) {
		const char *why = fuzz_one(&m, tmpl, size, hot, &st);

		if (why) {
			*unit_failed = 1;
			snprintf(unit_why, sizeof(unit_why),
				 "%s, iteration %u: %s", what, i, why);
			return;
		}
	}
	guest_mem_destroy(&m);
	/* the mutations are neither all harmless nor all fatal */
	if (st.ok < FUZZ_ITERS / 20 || st.failed < FUZZ_ITERS / 20) {
		*unit_failed = 1;
		snprintf(unit_why, sizeof(unit_why),
			 "%s: %u loaded, %u refused: the mutations miss", what,
			 st.ok, st.failed);
	}
}

TEST(fuzz_bzimage)
{
	size_t n;
	uint8_t *img = make_bzimage(3, BZ_PAYLOAD, &n);

	CHECK(img);
	fuzz(unit_failed, img, n, HDR_END_MAX, 0x243f6a8885a308d3ULL, "bzImage");
	free(img);
}

TEST(fuzz_elf)
{
	size_t n;
	uint8_t *img = make_elf(ELF_PVH_NOTE, &n);

	CHECK(img);
	fuzz(unit_failed, img, n, XEN_NOTE + XEN_NOTE_SIZE,
	     0x13198a2e03707344ULL, "ELF with PVH note");
	free(img);
}

TEST(fuzz_random_bytes)
{
	/* garbage with just enough magic to reach each parser */
	struct guest_mem m;
	struct x86_kernel k;
	char err[128];

	rng_state = 0xa4093822299f31d0ULL;
	CHECK_EQ(mem_init(&m, 64 * MIB), 0);
	for (unsigned int i = 0; i < 2000; i++) {
		size_t n = rnd() % 1200;
		uint8_t *p = malloc(n ? n : 1);
		int r;

		CHECK(p);
		for (size_t j = 0; j < n; j++)
			p[j] = (uint8_t)rnd();
		if (i % 3 == 0 && n >= 4)
			memcpy(p, ELFMAG, 4);
		if (i % 3 == 1 && n >= HDR_END_MAX) {
			put_le16(p + HDR_BOOT_FLAG, BOOT_FLAG_MAGIC);
			put_le32(p + HDR_HEADER, HDRS_MAGIC);
		}
		if (i % 3 == 0 && n >= sizeof(Elf64_Ehdr) && rnd() % 2) {
			p[EI_CLASS] = ELFCLASS64;
			p[EI_DATA] = ELFDATA2LSB;
			put_le16(p + EH(e_type), ET_EXEC);
			put_le16(p + EH(e_machine), EM_X86_64);
			put_le16(p + EH(e_phentsize), sizeof(Elf64_Phdr));
			put_le16(p + EH(e_phnum), 1 + rnd() % 4);
			put_le64(p + EH(e_phoff), rnd() % n);
		}
		memset(err, 0, sizeof(err));
		r = x86_load_kernel_image(&m, p, n, &k, err, sizeof(err));
		free(p);
		CHECK(r <= 0);
		CHECK(r == 0 || err[0]);
	}
	guest_mem_destroy(&m);
}

UNIT_MAIN("x86_boot",
	  T(bzimage_loads), T(bzimage_header_length_from_jump),
	  T(bzimage_setup_sects_zero_means_four),
	  T(bzimage_oldest_supported_version), T(bzimage_truncated),
	  T(bzimage_bad_magic), T(bzimage_not_64bit),
	  T(bzimage_setup_beyond_file), T(bzimage_init_size_too_big),
	  T(bzimage_pref_address_overflow), T(bzimage_kernel_bigger_than_memory),
	  T(bzimage_no_low_ram),
	  T(elf_loads), T(elf_without_note_phdr), T(elf_pvh_note),
	  T(elf_other_notes_are_not_pvh), T(elf_note_huge_sizes),
	  T(elf_note_segment_out_of_file), T(elf_bad_ident), T(elf_truncated),
	  T(elf_bad_program_header_table), T(elf_segment_beyond_file),
	  T(elf_filesz_above_memsz), T(elf_segment_outside_memory),
	  T(elf_entry_outside_memory), T(elf_no_loadable_segment),
	  T(elf_two_segments), T(small_err_buffer),
	  T(initrd_at_top), T(initrd_respects_addr_max), T(initrd_no_space),
	  T(initrd_never_below_1m), T(initrd_low_ram_only),
	  T(initrd_after_loaded_kernel),
	  T(e820_one_region), T(e820_two_regions), T(e820_respects_max),
	  T(e820_exactly_1m), T(e820_small_low_region),
	  T(boot_params_bzimage), T(boot_params_high_addresses),
	  T(boot_params_elf), T(boot_params_two_regions),
	  T(boot_params_no_memory),
	  T(pvh_info), T(pvh_info_no_initrd), T(pvh_info_two_regions),
	  T(mptable_cpu_counts), T(mptable_rewrite_fewer_cpus),
	  T(mptable_rejects), T(page_tables), T(page_tables_need_memory),
	  T(gdt), T(fuzz_bzimage), T(fuzz_elf), T(fuzz_random_bytes))
