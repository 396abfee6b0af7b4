/* SPDX-License-Identifier: MIT */
/*
 * The aarch64 guest-physical layout: where vmm puts RAM, the boot
 * structures and the devices. This is the platform contract a guest can
 * rely on (the device tree describes all of it but the boot timer).
 *
 *   0x00000000  nothing (reads as unclaimed MMIO) ........ up to 0x08000000
 *   0x08000000  GIC distributor (v2: 4 KiB; v3: 64 KiB)
 *   0x08010000  GICv2 CPU interface (8 KiB)
 *   0x080a0000  GICv3 redistributors, 128 KiB per vCPU (64 vCPUs: 8 MiB)
 *   0x09000000  8250 UART (16550A, byte registers), SPI 1
 *   0x09010000  boot timer (4 KiB): write 123 to offset 0
 *   0x09020000  PL061 GPIO (4 KiB), SPI 2: the power key on pin 3
 *               (gpio-keys, KEY_POWER): Ctrl-Alt-Del from the host
 *   0x09030000  pvpanic (2 bytes, qemu,pvpanic-mmio): the guest's panic
 *               notifier writes PANICKED, vmm exits with status 2
 *   0x0a000000  virtio-mmio devices: 4 KiB windows every 64 KiB, SPIs from
 *               16 (disks, then NICs, then the console)
 *   0x80000000  RAM (--mem bytes):
 *                 kernel at the 2 MiB-aligned start of RAM + text_offset;
 *                 the device tree (<= 2 MiB) in the last 2 MiB of RAM;
 *                 the initrd right below it, 64 KiB aligned
 *
 * Every window starts on a 64 KiB boundary, so the layout is the same for
 * 4 KiB, 16 KiB (Raspberry Pi 5 kernels) and 64 KiB host pages; KVM maps
 * the GICv2 CPU interface into the guest in whole host pages, so it must.
 * RAM below 4 GiB + 2 GiB fits the default 40-bit IPA space; more asks
 * KVM for a larger one (KVM_CAP_ARM_VM_IPA_SIZE).
 */
#ifndef ARCH_AARCH64_LAYOUT_H
#define ARCH_AARCH64_LAYOUT_H

#include <stdint.h>

#define ARM64_MAX_PAGE_SIZE    UINT64_C(0x10000) /* 64 KiB: what every window aligns to */

#define ARM64_GIC_DIST_ADDR    UINT64_C(0x08000000)
#define ARM64_GIC_DIST_V2_SIZE UINT64_C(0x1000)
#define ARM64_GIC_DIST_V3_SIZE UINT64_C(0x10000)
#define ARM64_GIC_CPU_ADDR     UINT64_C(0x08010000) /* GICv2 only */
#define ARM64_GIC_CPU_SIZE     UINT64_C(0x2000)
#define ARM64_GIC_REDIST_ADDR  UINT64_C(0x080a0000) /* GICv3 only */
#define ARM64_GIC_REDIST_SIZE  UINT64_C(0x20000)    /* per vCPU */
#define ARM64_GIC_REDIST_END   UINT64_C(0x09000000)

#define ARM64_UART_ADDR        UINT64_C(0x09000000)
#define ARM64_UART_SIZE        UINT64_C(0x8)
#define ARM64_UART_SPI         1
#define ARM64_UART_CLOCK       1843200 /* Hz: a 115200 baud base */

#define ARM64_BOOT_TIMER_ADDR  UINT64_C(0x09010000)

#define ARM64_GPIO_ADDR        UINT64_C(0x09020000)
#define ARM64_GPIO_SIZE        UINT64_C(0x1000)
#define ARM64_GPIO_SPI         2
#define ARM64_GPIO_POWER_PIN   3
#define ARM64_KEY_POWER        116 /* linux,code: KEY_POWER */

#define ARM64_PVPANIC_ADDR     UINT64_C(0x09030000)
#define ARM64_PVPANIC_SIZE     UINT64_C(0x2)      /* as QEMU's pvpanic-mmio */

#define ARM64_VIRTIO_MMIO_BASE UINT64_C(0x0a000000)
#define ARM64_VIRTIO_STRIDE    UINT64_C(0x10000)
#define ARM64_VIRTIO_SLOTS     32
#define ARM64_VIRTIO_SPI_BASE  16

#define ARM64_RAM_BASE         UINT64_C(0x80000000)

/* 32 SGIs/PPIs + 96 SPIs: KVM wants a multiple of 32 */
#define ARM64_GIC_NR_IRQS      128

/* Kernel placement (Documentation/arm64/booting.rst) */
#define ARM64_KERNEL_ALIGN     UINT64_C(0x200000) /* 2 MiB */
#define ARM64_FDT_MAX_SIZE     UINT64_C(0x200000) /* the protocol's limit */
#define ARM64_INITRD_ALIGN     ARM64_MAX_PAGE_SIZE

#endif
