/* SPDX-License-Identifier: MIT */
/*
 * The x86 boot protocols vmm speaks, described by byte offsets (from
 * Documentation/arch/x86/boot.rst and the Xen PVH ABI) rather than by
 * packed structs, so every access is an explicit little-endian load/store
 * with a known bound.
 */
#ifndef ARCH_X86_64_BOOTPARAM_H
#define ARCH_X86_64_BOOTPARAM_H

#include <stdint.h>
#include <string.h>

/* Linux zero page (struct boot_params), 4 KiB */
#define BP_SIZE               4096
#define BP_ACPI_RSDP_ADDR     0x070 /* boot protocol 2.14+ */
#define BP_EXT_RAMDISK_IMAGE  0x0c0
#define BP_EXT_RAMDISK_SIZE   0x0c4
#define BP_EXT_CMD_LINE_PTR   0x0c8
#define BP_E820_ENTRIES       0x1e8
#define BP_HDR                0x1f1 /* setup header: same offsets in the file */
#define BP_E820_TABLE         0x2d0
#define BP_E820_MAX           128
#define E820_ENTRY_SIZE       20

/* setup header fields, as offsets into the zero page / the bzImage */
#define HDR_SETUP_SECTS       0x1f1
#define HDR_VID_MODE          0x1fa
#define HDR_BOOT_FLAG         0x1fe /* 0xaa55 */
#define HDR_JUMP              0x200
#define HDR_HEADER            0x202 /* "HdrS" */
#define HDR_VERSION           0x206
#define HDR_TYPE_OF_LOADER    0x210
#define HDR_LOADFLAGS         0x211
#define HDR_RAMDISK_IMAGE     0x218
#define HDR_RAMDISK_SIZE      0x21c
#define HDR_HEAP_END_PTR      0x224
#define HDR_CMD_LINE_PTR      0x228
#define HDR_INITRD_ADDR_MAX   0x22c
#define HDR_KERNEL_ALIGNMENT  0x230
#define HDR_RELOCATABLE       0x234
#define HDR_XLOADFLAGS        0x236
#define HDR_CMDLINE_SIZE      0x238
#define HDR_PREF_ADDRESS      0x258
#define HDR_INIT_SIZE         0x260
#define HDR_END_MAX           0x280 /* no header field lies beyond this */

#define BOOT_FLAG_MAGIC       0xaa55
#define HDRS_MAGIC            0x53726448 /* "HdrS" */
#define LOADFLAG_LOADED_HIGH  0x01
#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64         0x01
#define LOADER_TYPE_UNDEFINED 0xff

#define E820_RAM              1
#define E820_RESERVED         2

/* Xen PVH start info (struct hvm_start_info, version 1) */
#define PVH_MAGIC             0x336ec578
#define PVH_INFO_SIZE         56
#define PVH_MAGIC_OFF         0
#define PVH_VERSION_OFF       4
#define PVH_FLAGS_OFF         8
#define PVH_NR_MODULES_OFF    12
#define PVH_MODLIST_OFF       16
#define PVH_CMDLINE_OFF       24
#define PVH_RSDP_OFF          32
#define PVH_MEMMAP_OFF        40
#define PVH_MEMMAP_ENTRIES_OFF 48
#define PVH_MODLIST_ENTRY_SIZE 32 /* paddr, size, cmdline_paddr, reserved */
#define PVH_MEMMAP_ENTRY_SIZE 24  /* addr, size, type (u32), reserved */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
