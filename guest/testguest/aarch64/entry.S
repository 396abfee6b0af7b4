/* SPDX-License-Identifier: MIT */
/*
 * Test guest, aarch64: from the arm64 boot protocol to C.
 *
 * vmm (like any arm64 boot loader, Documentation/arm64/booting.rst) loads
 * the Image at the 2 MiB-aligned start of RAM plus text_offset and enters
 * its first instruction at EL1 with the MMU and D-cache off, interrupts
 * masked and x0 = the physical address of the device tree. We check we
 * run where we are linked, turn the MMU on with the static identity map
 * below (before storing anything to memory: with the caches off a store
 * would bypass lines the host may hold, and stale lines would reappear
 * once they are on), set up the stack and the exception vectors, clear
 * .bss and call testguest_main(x0).
 *
 * Secondary CPUs enter at secondary_entry (PSCI CPU_ON, x0 = the CPU's
 * index as context id), take the same MMU set-up and end in ap_main().
 *
 * The identity map: one level-1 table of 1 GiB blocks with the 4 KiB
 * granule, 39-bit addresses. [0, 2 GiB) is Device-nGnRE and never
 * executable (vmm's MMIO windows are all below 2 GiB); [2 GiB, 512 GiB)
 * is normal write-back memory, where vmm puts RAM (arch/aarch64/layout.h).
 */

#define MAX_CPUS        64
#define BSP_STACK_SIZE  16384
#define AP_STACK_SHIFT  12          /* 4 KiB each */

/* Image header flags: little-endian, 4 KiB pages, 2 MiB-aligned base */
#define IMAGE_FLAGS     (1 << 1)

/* MAIR_EL1: attribute 0 Device-nGnRE, attribute 1 Normal write-back */
#define MAIR_VALUE      0xff04
/* TCR_EL1: T0SZ 25 (39 bits), inner/outer write-back, inner shareable,
 * 4 KiB granule; no walks through TTBR1 (EPD1, T1SZ 25, TG1 4 KiB); IPS is
 * filled in from ID_AA64MMFR0_EL1.PARange */
#define TCR_VALUE       ((25 << 0) | (1 << 8) | (1 << 10) | (3 << 12) | \
			 (25 << 16) | (1 << 23) | (2 << 30))
/* SCTLR_EL1: M, C, I on; A, WXN, E0E, EE off */
#define SCTLR_SET       ((1 << 0) | (1 << 2) | (1 << 12))
#define SCTLR_CLEAR     ((1 << 1) | (1 << 19) | (1 << 24) | (1 << 25))

/* level-1 block descriptors: valid block, AF, attribute index */
#define BLOCK_DEVICE    ((1 << 0) | (0 << 2) | (1 << 10) | (1 << 53) | (1 << 54))
#define BLOCK_NORMAL    ((1 << 0) | (1 << 2) | (3 << 8) | (1 << 10))

#define FRAME_SIZE      272         /* x0..x30, ELR, SPSR; 16-byte multiple */
#define KIND_IRQ_SPX    5           /* IRQ from EL1 using SP_EL1 */

/* PSCI 0.2 */
#define PSCI_SYSTEM_OFF 0x84000008

/* ---- the Image header ---- */
	.section .head.text, "ax"
	.globl _head
_head:
	b	primary_entry            /* code0 */
	.long	0                        /* code1 */
	.quad	0                        /* text_offset */
	.quad	_image_size              /* image_size, from the linker script */
	.quad	IMAGE_FLAGS
	.quad	0, 0, 0                  /* res2..res4 */
	.ascii	"ARM\x64"                /* magic */
	.long	0                        /* res5: no PE/COFF header */

primary_entry:
	mov	x19, x0
	adr	x1, _head
	ldr	x2, =_head
	cmp	x1, x2
	b.ne	wrong_address
	bl	mmu_on
	cbnz	x0, no_4k_granule
	ldr	x1, =bsp_stack_top
	mov	sp, x1
	ldr	x1, =vectors
	msr	vbar_el1, x1
	isb
	/* clear .bss (8-byte aligned by the linker script) */
	ldr	x1, =__bss_start
	ldr	x2, =__bss_end
1:	cmp	x1, x2
	b.hs	2f
	str	xzr, [x1], #8
	b	1b
2:	mov	x0, x19
	bl	testguest_main
	b	halt

	.globl secondary_entry
	.type secondary_entry, %function
secondary_entry:
	mov	x19, x0
	cmp	x19, #MAX_CPUS
	b.hs	halt
	bl	mmu_on
	cbnz	x0, halt
	ldr	x1, =vectors
	msr	vbar_el1, x1
	isb
	ldr	x1, =ap_stacks
	add	x2, x19, #1
	add	x1, x1, x2, lsl #AP_STACK_SHIFT
	mov	sp, x1
	mov	x0, x19
	bl	ap_main
	b	halt

/* Identity map on, caches on. Returns 0, or 1 if the CPU has no 4 KiB
 * granule. Clobbers x0..x2. */
mmu_on:
	mrs	x0, id_aa64mmfr0_el1
	ubfx	x1, x0, #28, #4          /* TGran4: 0xf = not implemented */
	cmp	x1, #0xf
	b.eq	1f
	and	x0, x0, #7               /* PARange -> IPS */
	ldr	x1, =TCR_VALUE
	orr	x1, x1, x0, lsl #32
	msr	tcr_el1, x1
	ldr	x1, =MAIR_VALUE
	msr	mair_el1, x1
	ldr	x1, =page_table
	msr	ttbr0_el1, x1
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	mrs	x1, sctlr_el1
	ldr	x2, =SCTLR_SET
	orr	x1, x1, x2
	ldr	x2, =SCTLR_CLEAR
	bic	x1, x1, x2
	msr	sctlr_el1, x1
	isb
	ic	iallu
	dsb	nsh
	isb
	mov	x0, #0
	ret
1:	mov	x0, #1
	ret

/* Before the device tree is read, failures can only go to vmm's UART at
 * its fixed address; then power off. */
wrong_address:
	adr	x1, msg_wrong_address
	b	early_fail
no_4k_granule:
	adr	x1, msg_no_4k
early_fail:
	ldr	x2, =0x09000000
1:	ldrb	w3, [x1], #1
	cbz	w3, 2f
	strb	w3, [x2]
	b	1b
2:	ldr	x0, =PSCI_SYSTEM_OFF
	hvc	#0
	.globl halt
halt:
	wfi
	b	halt

msg_wrong_address:
	.asciz	"TESTGUEST FAIL boot: not running at its link address 0x80000000 (vmm's RAM base, text_offset 0)\n"
msg_no_4k:
	.asciz	"TESTGUEST FAIL boot: this CPU has no 4 KiB translation granule\n"
	.p2align 2

/* ---- exception vectors ---- */
	.text
.macro VENTRY kind
	.p2align 7
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x0, #\kind
	b	exc_entry
.endm

	.p2align 11
	.globl vectors
vectors:
	VENTRY 0
	VENTRY 1
	VENTRY 2
	VENTRY 3
	VENTRY 4
	VENTRY 5
	VENTRY 6
	VENTRY 7
	VENTRY 8
	VENTRY 9
	VENTRY 10
	VENTRY 11
	VENTRY 12
	VENTRY 13
	VENTRY 14
	VENTRY 15

/* x0 = vector number (kind), the interrupted x0/x1 saved at [sp]. An IRQ
 * is handled and returned from; anything else is reported, never returns. */
exc_entry:
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	mrs	x1, elr_el1
	mrs	x2, spsr_el1
	stp	x30, x1, [sp, #240]
	str	x2, [sp, #256]
	cmp	x0, #KIND_IRQ_SPX
	b.ne	1f
	bl	irq_handler
	ldp	x30, x1, [sp, #240]
	ldr	x2, [sp, #256]
	msr	elr_el1, x1
	msr	spsr_el1, x2
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	add	sp, sp, #FRAME_SIZE
	eret
1:	mov	x1, x0
	mov	x0, sp
	bl	exception_handler
	b	halt

/* ---- the identity map ---- */
	.section .data.pagetable, "aw"
	.p2align 12
page_table:
	.set	gib, 0
	.rept	2
	.quad	(gib << 30) | BLOCK_DEVICE
	.set	gib, gib + 1
	.endr
	.rept	510
	.quad	(gib << 30) | BLOCK_NORMAL
	.set	gib, gib + 1
	.endr

/* ---- stacks (never read before written) ---- */
	.section .bss.noinit, "aw", %nobits
	.p2align 12
bsp_stack:
	.skip	BSP_STACK_SIZE
	.globl bsp_stack_top
bsp_stack_top:
	.globl ap_stacks
ap_stacks:
	.skip	MAX_CPUS << AP_STACK_SHIFT
