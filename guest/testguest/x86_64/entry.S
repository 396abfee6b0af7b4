/* SPDX-License-Identifier: MIT */
/*
 * Test guest: from the PVH entry point to C.
 *
 * The VMM enters pvh_start in 32-bit protected mode, paging off, flat
 * segments, interrupts off, %ebx = physical address of hvm_start_info.
 * We load our own GDT, switch on PAE paging with the static identity map
 * below (first 4 GiB, 2 MiB pages, the 3-4 GiB MMIO hole uncached),
 * enter long mode, clear .bss and call testguest_main(%ebx).
 *
 * Application processors (smp scenario) start in the real-mode trampoline
 * copied to 0x8000, join the same path at ap_entry32 and end in ap_main().
 *
 * Sections: .text16 (trampoline, never run in place), .text32 (32-bit
 * code), .text (64-bit code): the instruction check disassembles each
 * in its own mode.
 */

#define CR0_PE     0x00000001
#define CR0_PG     0x80000000
#define CR4_PAE    0x00000020
#define MSR_EFER   0xc0000080
#define EFER_LME   0x00000100

#define SEL_CODE64 0x08
#define SEL_DATA   0x10
#define SEL_CODE32 0x18

#define BSP_STACK_SIZE 16384
#define AP_STACK_SHIFT 9          /* 512 bytes: ap_main needs a few words */
#define MAX_APS        256

#define PTE_P      0x001
#define PTE_W      0x002
#define PTE_PWT    0x008
#define PTE_PCD    0x010
#define PTE_PS     0x080

/* ---- The PVH entry note: XEN_ELFNOTE_PHYS32_ENTRY ---- */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 4                  /* namesz */
	.long 4                  /* descsz */
	.long 18                 /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

/* ---- 32-bit code ---- */
	.section .text32, "ax"
	.code32

/* Paging on, long mode on, far jump to \target (64-bit code). */
.macro ENTER_LONG_MODE target
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $SEL_CODE64, $\target
.endm

	.globl pvh_start
	.type pvh_start, @function
pvh_start:
	cli
	cld
	movl %ebx, pvh_info_paddr
	lgdt gdt_desc
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	ENTER_LONG_MODE bsp_entry64

	.globl ap_entry32
	.type ap_entry32, @function
ap_entry32:
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	ENTER_LONG_MODE ap_entry64

/* ---- 16-bit AP trampoline, copied below 1 MiB; position independent ---- */
	.section .text16, "ax"
	.code16
	.globl ap_trampoline_start, ap_trampoline_end
ap_trampoline_start:
	cli
	cld
	lgdtl %cs:(tramp_gdt_desc - ap_trampoline_start)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $SEL_CODE32, $ap_entry32
	.p2align 2
tramp_gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
ap_trampoline_end:

/* ---- 64-bit code ---- */
	.text
	.code64

bsp_entry64:
	movl $SEL_DATA, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq $bsp_stack_top, %rsp
	xorl %ebp, %ebp
	/* clear .bss (8-byte aligned by the linker script) */
	movq $__bss_start, %rdi
	movq $__bss_end, %rcx
	subq %rdi, %rcx
	shrq $3, %rcx
	xorl %eax, %eax
	rep stosq
	movl pvh_info_paddr(%rip), %edi
	call testguest_main
3:	cli
	hlt
	jmp 3b

ap_entry64:
	movl $SEL_DATA, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movl $1, %eax
	lock xaddl %eax, ap_stack_next(%rip)
	cmpl $(MAX_APS - 1), %eax
	jae ap_park
	incl %eax
	shll $AP_STACK_SHIFT, %eax
	leaq ap_stacks(%rip), %rsp
	addq %rax, %rsp
	xorl %ebp, %ebp
	call ap_main
ap_park:
	cli
	hlt
	jmp ap_park

/* Exception stubs: push a zero error code where the CPU pushes none, then
 * the vector, save the registers and hand the frame to C (no return). */
.macro EXC_STUB vec, has_error
	.p2align 3
exc_stub_\vec:
	.if \has_error == 0
	pushq $0
	.endif
	pushq $\vec
	jmp exc_common
.endm

	EXC_STUB 0, 0
	EXC_STUB 1, 0
	EXC_STUB 2, 0
	EXC_STUB 3, 0
	EXC_STUB 4, 0
	EXC_STUB 5, 0
	EXC_STUB 6, 0
	EXC_STUB 7, 0
	EXC_STUB 8, 1
	EXC_STUB 9, 0
	EXC_STUB 10, 1
	EXC_STUB 11, 1
	EXC_STUB 12, 1
	EXC_STUB 13, 1
	EXC_STUB 14, 1
	EXC_STUB 15, 0
	EXC_STUB 16, 0
	EXC_STUB 17, 1
	EXC_STUB 18, 0
	EXC_STUB 19, 0
	EXC_STUB 20, 0
	EXC_STUB 21, 1
	EXC_STUB 22, 0
	EXC_STUB 23, 0
	EXC_STUB 24, 0
	EXC_STUB 25, 0
	EXC_STUB 26, 0
	EXC_STUB 27, 0
	EXC_STUB 28, 0
	EXC_STUB 29, 1
	EXC_STUB 30, 1
	EXC_STUB 31, 0

exc_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	andq $-16, %rsp
	call exception_handler
4:	cli
	hlt
	jmp 4b

/* LAPIC timer: only acknowledge; the sleeper re-reads the clock. */
	.globl timer_stub, spurious_stub
	.p2align 3
timer_stub:
	pushq %rax
	movl $0xfee000b0, %eax       /* LAPIC EOI */
	movl $0, (%rax)
	popq %rax
	iretq

	.p2align 3
spurious_stub:
	iretq

/* an MSI-X message (the `pci-msix` scenario): counted, then EOI */
	.globl msix_stub
	.p2align 3
msix_stub:
	lock incq msix_seen(%rip)
	pushq %rax
	movl $0xfee000b0, %eax       /* LAPIC EOI */
	movl $0, (%rax)
	popq %rax
	iretq

/* NMI: counted, nothing else (the `nmi` scenario) */
	.globl nmi_stub
	.p2align 3
nmi_stub:
	lock incq nmi_seen(%rip)
	iretq

/* ---- data ---- */
	.section .rodata
	.p2align 3
	.globl exc_stubs
exc_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad exc_stub_\v
	.endr

	.p2align 3
gdt:
	.quad 0                      /* null */
	.quad 0x00af9a000000ffff     /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff     /* 0x10: flat data */
	.quad 0x00cf9a000000ffff     /* 0x18: flat 32-bit code */
gdt_end:
	.p2align 3
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.data
	.p2align 2
pvh_info_paddr:                  /* written before .bss is cleared */
	.long 0

/* Identity map of [0, 4 GiB): PML4 -> one PDPT -> four PDs of 2 MiB
 * pages. Static, so no code runs to build it. */
	.section .data.pagetables, "aw"
	.p2align 12
pml4:
	.quad pdpt + PTE_P + PTE_W
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0000 + PTE_P + PTE_W
	.quad pd + 0x1000 + PTE_P + PTE_W
	.quad pd + 0x2000 + PTE_P + PTE_W
	.quad pd + 0x3000 + PTE_P + PTE_W
	.fill 508, 8, 0
pd:
	.set page, 0
	.rept 1536                   /* 0 - 3 GiB: RAM, write-back */
	.quad (page << 21) + PTE_P + PTE_W + PTE_PS
	.set page, page + 1
	.endr
	.rept 512                    /* 3 - 4 GiB: MMIO hole, uncached */
	.quad (page << 21) + PTE_P + PTE_W + PTE_PS + PTE_PCD + PTE_PWT
	.set page, page + 1
	.endr

	.bss
	.p2align 2
ap_stack_next:
	.long 0

/* Stacks: not cleared by us, not in the file. */
	.section .bss.noinit.stacks, "aw", @nobits
	.p2align 12
bsp_stack:
	.skip BSP_STACK_SIZE
bsp_stack_top:
	.p2align 12
ap_stacks:
	.skip MAX_APS << AP_STACK_SHIFT

	.section .note.GNU-stack, "", @progbits
