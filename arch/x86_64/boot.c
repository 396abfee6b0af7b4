// SPDX-License-Identifier: MIT
/*
 * Kernel loaders (bzImage, ELF64 with or without a PVH note) and the boot
 * structures they need: the zero page, the PVH start info, the e820 map,
 * identity page tables and the GDT. Every length read from an image is
 * checked against the image size before use; every guest write goes
 * through gpa_ptr().
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../../vmm/vmm.h"
#include "x86.h"

#define PAGE_SIZE 4096ULL
#define MIB (1ULL << 20)


/* End of low RAM: the end of the region that starts at 0. */
static uint64_t low_ram_end(const struct guest_mem *m)
{
	for (unsigned int i = 0; i < m->nr_regions; i++)
		if (m->region[i].gpa == 0)
			return m->region[i].size;
	return 0;
}

static int load_bzimage(const struct guest_mem *m, const uint8_t *img,
			size_t size, struct x86_kernel *k, char *err,
			size_t errlen)
{
	uint32_t setup_sects, version, init_size, hdr_end;
	uint64_t setup_size, ksize, load = X86_HIMEM_START, need;
	void *dst;

	version = get_le16(img + HDR_VERSION);
	if (version < 0x020c)
		return seterr(err, errlen, -ENOTSUP,
			    "boot protocol %u.%02u is too old (2.12 or later needed)",
			    version >> 8, version & 0xff);
	if (!(img[HDR_XLOADFLAGS] & XLF_KERNEL_64))
		return seterr(err, errlen, -ENOTSUP,
			    "not a 64-bit kernel (no 64-bit entry point)");
	if (!(img[HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH))
		return seterr(err, errlen, -ENOTSUP,
			    "a zImage (loaded low) is not supported");
	setup_sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	setup_size = (uint64_t)(setup_sects + 1) * 512;
	if (setup_size >= size)
		return seterr(err, errlen, -EINVAL,
			    "truncated: setup (%" PRIu64 " bytes) reaches past the end of the file (%zu bytes)",
			    setup_size, size);
	ksize = size - setup_size;
	init_size = get_le32(img + HDR_INIT_SIZE);

	/*
	 * The decompressor runs at the load address and writes the kernel at
	 * its preferred address (at least 16 MiB for relocatable kernels),
	 * needing init_size bytes there.
	 */
	need = get_le64(img + HDR_PREF_ADDRESS);
	if (need < load)
		need = load;
	if (init_size > UINT64_MAX - need)
		return seterr(err, errlen, -EINVAL, "corrupt init_size");
	need += init_size;
	if (need < load + ksize)
		need = load + ksize;
	if (need > low_ram_end(m))
		return seterr(err, errlen, -E2BIG,
			    "kernel needs %" PRIu64 " MiB of memory, more than "
			    "--mem gives (%" PRIu64 " MiB)",
			    (uint64_t)((need + MIB - 1) / MIB),
			    (uint64_t)(m->ram_size / MIB));
	dst = gpa_ptr(m, load, ksize);
	if (!dst)
		return seterr(err, errlen, -E2BIG, "kernel does not fit in memory");
	memcpy(dst, img + setup_size, ksize);

	/* the header ends at 0x202 + the jump instruction's 8-bit offset */
	hdr_end = 0x202 + img[HDR_JUMP + 1];
	if (hdr_end > HDR_END_MAX)
		hdr_end = HDR_END_MAX;
	if (hdr_end > size)
		hdr_end = (uint32_t)size;
	k->hdr_len = hdr_end - BP_HDR;
	memcpy(k->hdr, img + BP_HDR, k->hdr_len);
	k->is_bzimage = 1;
	k->proto = X86_BOOT_LINUX64;
	k->entry = load + 0x200; /* startup_64 is 512 bytes into the image */
	k->end = need;
	k->initrd_addr_max = get_le32(img + HDR_INITRD_ADDR_MAX);
	/*
	 * 0 is no limit a kernel can mean: take the protocol's default for
	 * a header without the field (boot.rst), not "anywhere" (found by
	 * fuzz_x86_boot: an initrd placed above what the header said)
	 */
	if (!k->initrd_addr_max)
		k->initrd_addr_max = 0x37ffffff;
	k->cmdline_max = get_le32(img + HDR_CMDLINE_SIZE);
	return 0;
}

/* The PVH entry from a PT_NOTE segment, or 0. */
static uint64_t find_pvh_entry(const uint8_t *img, size_t size,
			       const Elf64_Phdr *ph)
{
	uint64_t off = ph->p_offset, end;

	if (off > size || ph->p_filesz > size - off)
		return 0;
	end = off + ph->p_filesz;
	while (end - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name, desc, next;

		memcpy(&nh, img + off, sizeof(nh));
		name = off + sizeof(nh);
		desc = name + ((nh.n_namesz + 3ULL) & ~3ULL);
		next = desc + ((nh.n_descsz + 3ULL) & ~3ULL);
		if (next > end || next <= off)
			return 0;
		if (nh.n_namesz == 4 && !memcmp(img + name, "Xen", 4) &&
		    nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY) {
			if (nh.n_descsz == 4)
				return get_le32(img + desc);
			if (nh.n_descsz == 8)
				return get_le64(img + desc);
			return 0;
		}
		off = next;
	}
	return 0;
}

static int load_elf(const struct guest_mem *m, const uint8_t *img, size_t size,
		    struct x86_kernel *k, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	uint64_t pvh = 0, end = 0;
	int loaded = 0;

	if (size < sizeof(eh))
		return seterr(err, errlen, -EINVAL, "truncated ELF header");
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		return seterr(err, errlen, -ENOEXEC, "not an x86-64 ELF64 image");
	if (eh.e_type != ET_EXEC)
		return seterr(err, errlen, -ENOEXEC,
			    "ELF is not an executable (ET_EXEC)");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > 64 || eh.e_phoff > size ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > size - eh.e_phoff)
		return seterr(err, errlen, -EINVAL,
			    "corrupt ELF program header table");
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint8_t *dst;

		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE && !pvh)
			pvh = find_pvh_entry(img, size, &ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > size ||
		    ph.p_filesz > size - ph.p_offset)
			return seterr(err, errlen, -EINVAL,
				    "corrupt ELF segment %u (reaches past the end of the file)",
				    i);
		dst = gpa_ptr(m, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return seterr(err, errlen, -E2BIG,
				    "ELF segment %u at 0x%" PRIx64 " (%" PRIu64 " bytes) is outside guest memory",
				    i, (uint64_t)ph.p_paddr, (uint64_t)ph.p_memsz);
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		if (gpa_zero(m, ph.p_paddr + ph.p_filesz, ph.p_memsz - ph.p_filesz))
			return seterr(err, errlen, -EFAULT, "cannot clear ELF segment %u", i);
		if (ph.p_paddr + ph.p_memsz > end)
			end = ph.p_paddr + ph.p_memsz;
		loaded++;
	}
	if (!loaded)
		return seterr(err, errlen, -ENOEXEC, "ELF has no loadable segment");
	memset(k->hdr, 0, sizeof(k->hdr));
	k->hdr_len = 0;
	k->is_bzimage = 0;
	k->end = end;
	k->initrd_addr_max = X86_MMIO_HOLE_START - 1;
	k->cmdline_max = X86_CMDLINE_MAX - 1;
	if (pvh) {
		k->proto = X86_BOOT_PVH;
		k->entry = pvh;
	} else {
		k->proto = X86_BOOT_LINUX64;
		k->entry = eh.e_entry;
	}
	if (!gpa_range_ok(m, k->entry, 1))
		return seterr(err, errlen, -ENOEXEC,
			    "entry point 0x%" PRIx64 " is outside guest memory",
			    k->entry);
	return 0;
}

int x86_load_kernel_image(const struct guest_mem *m, const uint8_t *img,
			  size_t size, struct x86_kernel *k, char *err,
			  size_t errlen)
{
	memset(k, 0, sizeof(*k));
	if (size >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG))
		return load_elf(m, img, size, k, err, errlen);
	if (size >= HDR_END_MAX && get_le16(img + HDR_BOOT_FLAG) == BOOT_FLAG_MAGIC &&
	    get_le32(img + HDR_HEADER) == HDRS_MAGIC)
		return load_bzimage(m, img, size, k, err, errlen);
	return seterr(err, errlen, -ENOEXEC,
		    "not a kernel image (expected a bzImage or an ELF64 vmlinux)");
}

int x86_place_initrd(const struct guest_mem *m, const struct x86_kernel *k,
		     uint64_t size, uint64_t *addr)
{
	uint64_t top = low_ram_end(m), a;

	if (k->initrd_addr_max && k->initrd_addr_max + 1 < top)
		top = k->initrd_addr_max + 1;
	if (size == 0 || size > top)
		return -ENOSPC;
	a = (top - size) & ~(PAGE_SIZE - 1);
	if (a < k->end || a < X86_HIMEM_START)
		return -ENOSPC;
	*addr = a;
	return 0;
}

unsigned int x86_e820(const struct guest_mem *m, struct e820_entry *e,
		      unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < m->nr_regions && n < max; i++) {
		const struct mem_region *r = &m->region[i];

		if (r->gpa == 0) {
			/* the legacy hole: EBDA, VGA, option ROMs, BIOS */
			e[n++] = (struct e820_entry){
				0, r->size < X86_EBDA_START ? r->size :
				X86_EBDA_START, E820_RAM };
			if (r->size > X86_HIMEM_START && n < max)
				e[n++] = (struct e820_entry){
					X86_HIMEM_START,
					r->size - X86_HIMEM_START, E820_RAM };
		} else {
			e[n++] = (struct e820_entry){ r->gpa, r->size, E820_RAM };
		}
	}
	return n;
}

int x86_write_boot_params(const struct guest_mem *m, const struct x86_kernel *k,
			  uint64_t cmdline_addr, uint64_t initrd_addr,
			  uint64_t initrd_size)
{
	uint8_t *bp = gpa_ptr(m, X86_ZERO_PAGE_ADDR, BP_SIZE);
	struct e820_entry e[BP_E820_MAX];
	unsigned int n;

	if (!bp)
		return -EFAULT;
	memset(bp, 0, BP_SIZE);
	if (k->is_bzimage) {
		memcpy(bp + BP_HDR, k->hdr, k->hdr_len);
	} else {
		/* an ELF vmlinux has no header: write what the kernel reads */
		put_le16(bp + HDR_BOOT_FLAG, BOOT_FLAG_MAGIC);
		put_le32(bp + HDR_HEADER, HDRS_MAGIC);
		put_le16(bp + HDR_VERSION, 0x020c);
		put_le32(bp + HDR_KERNEL_ALIGNMENT, 0x1000000);
		put_le32(bp + HDR_CMDLINE_SIZE, (uint32_t)k->cmdline_max);
	}
	bp[HDR_TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
	bp[HDR_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP | LOADFLAG_LOADED_HIGH;
	put_le16(bp + HDR_HEAP_END_PTR, 0xfe00);
	put_le16(bp + HDR_VID_MODE, 0xffff); /* "normal" */
	put_le32(bp + HDR_CMD_LINE_PTR, (uint32_t)cmdline_addr);
	put_le32(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(cmdline_addr >> 32));
	put_le32(bp + HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
	put_le32(bp + HDR_RAMDISK_SIZE, (uint32_t)initrd_size);
	put_le32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_addr >> 32));
	put_le32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(initrd_size >> 32));

	n = x86_e820(m, e, BP_E820_MAX);
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *p = bp + BP_E820_TABLE + i * E820_ENTRY_SIZE;

		put_le64(p, e[i].addr);
		put_le64(p + 8, e[i].size);
		put_le32(p + 16, e[i].type);
	}
	return 0;
}

int x86_write_pvh_info(const struct guest_mem *m, uint64_t cmdline_addr,
		       uint64_t initrd_addr, uint64_t initrd_size)
{
	const uint64_t mod_addr = X86_PVH_INFO_ADDR + 64;
	const uint64_t map_addr = mod_addr + PVH_MODLIST_ENTRY_SIZE;
	struct e820_entry e[16];
	unsigned int n = x86_e820(m, e, 16);
	uint8_t *si = gpa_ptr(m, X86_PVH_INFO_ADDR, 4096);
	uint8_t *mod, *map;

	if (!si)
		return -EFAULT;
	memset(si, 0, 4096);
	mod = si + (mod_addr - X86_PVH_INFO_ADDR);
	map = si + (map_addr - X86_PVH_INFO_ADDR);
	put_le32(si + PVH_MAGIC_OFF, PVH_MAGIC);
	put_le32(si + PVH_VERSION_OFF, 1);
	put_le64(si + PVH_CMDLINE_OFF, cmdline_addr);
	if (initrd_size) {
		put_le32(si + PVH_NR_MODULES_OFF, 1);
		put_le64(si + PVH_MODLIST_OFF, mod_addr);
		put_le64(mod, initrd_addr);
		put_le64(mod + 8, initrd_size);
	}
	put_le64(si + PVH_MEMMAP_OFF, map_addr);
	put_le32(si + PVH_MEMMAP_ENTRIES_OFF, n);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *p = map + i * PVH_MEMMAP_ENTRY_SIZE;

		put_le64(p, e[i].addr);
		put_le64(p + 8, e[i].size);
		put_le32(p + 16, e[i].type);
	}
	return 0;
}

int x86_write_page_tables(const struct guest_mem *m)
{
	uint8_t *pml4 = gpa_ptr(m, X86_PML4_ADDR, PAGE_SIZE);
	uint8_t *pdpt = gpa_ptr(m, X86_PDPT_ADDR, PAGE_SIZE);
	uint8_t *pd = gpa_ptr(m, X86_PD_ADDR, PAGE_SIZE);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	/* present + writable; PD entries are 2 MiB pages (PS) */
	put_le64(pml4, X86_PDPT_ADDR | 0x3);
	put_le64(pdpt, X86_PD_ADDR | 0x3);
	for (uint64_t i = 0; i < 512; i++)
		put_le64(pd + i * 8, (i << 21) | 0x83);
	return 0;
}

int x86_write_gdt(const struct guest_mem *m)
{
	static const uint64_t gdt[] = {
		0,                     /* null */
		0x00cf9b000000ffffULL, /* 0x08: 32-bit code, flat */
		0x00af9b000000ffffULL, /* 0x10: 64-bit code */
		0x00cf93000000ffffULL, /* 0x18: data, flat */
		0x00008b0000000067ULL, /* 0x20: 32-bit TSS (busy), base 0 */
	};

	return gpa_write(m, X86_GDT_ADDR, gdt, sizeof(gdt)) ? -EFAULT : 0;
}
