/* SPDX-License-Identifier: MIT */
/*
 * What the GDB stub needs to know about an x86-64 vCPU, without KVM
 * calls: the target description gdb is given (GDB's amd64 core, SSE and
 * segment-base features, plus the control registers a kernel debugger
 * wants), the conversion between KVM's register structures and that
 * register layout, and the guest page-table walker.
 */
#ifndef ARCH_X86_64_GDB_H
#define ARCH_X86_64_GDB_H

#include <linux/kvm.h>
#include <stdint.h>

#include "../../vmm/gdbstub.h"
#include "../../vmm/gva.h"
#include "../arch.h"

/*
 * GDB's register numbers in our target.xml (the 'g' packet's order):
 *   0-15 rax rbx rcx rdx rsi rdi rbp rsp r8-r15   8 bytes each
 *   16 rip (8), 17 eflags (4), 18-23 cs ss ds es fs gs (4 each)
 *   24-31 st0-st7 (10 each), 32-39 fctrl fstat ftag fiseg fioff foseg
 *         fooff fop (4 each)
 *   40-55 xmm0-xmm15 (16 each), 56 mxcsr (4)
 *   57 fs_base, 58 gs_base, 59 k_gs_base, 60 cr0, 61 cr2, 62 cr3,
 *   63 cr4, 64 cr8, 65 efer (8 each)
 */
#define X86_GDB_RIP       16
#define X86_GDB_NR_REGS   66
#define X86_GDB_REGS_SIZE 608

extern const struct gdb_target x86_gdb_target;

/* A vCPU's state as KVM gives it: the source of every GDB register. */
struct x86_gdb_state {
	struct kvm_regs regs;     /* KVM_GET_REGS */
	struct kvm_sregs sregs;   /* KVM_GET_SREGS */
	struct kvm_fpu fpu;       /* KVM_GET_FPU */
	uint64_t kernel_gs_base;  /* MSR 0xc0000102 (KVM_GET_MSRS) */
};

/* Which parts x86_gdb_put() changed: what to write back to KVM */
#define X86_GDB_CHANGED_REGS  (1U << 0)
#define X86_GDB_CHANGED_SREGS (1U << 1)
#define X86_GDB_CHANGED_FPU   (1U << 2)
#define X86_GDB_CHANGED_MSR   (1U << 3)

/* KVM's state into GDB's layout: X86_GDB_REGS_SIZE bytes at buf. */
void x86_gdb_get(const struct x86_gdb_state *st, uint8_t *buf);

/*
 * GDB's layout (X86_GDB_REGS_SIZE bytes) into st, which holds the vCPU's
 * current state: what GDB cannot express (descriptor caches, the upper
 * half of RFLAGS, ...) stays. Returns the X86_GDB_CHANGED_* parts that
 * now differ.
 */
unsigned int x86_gdb_put(struct x86_gdb_state *st, const uint8_t *buf);

/* The paging state a translation depends on */
struct x86_mmu {
	uint64_t cr0, cr3, cr4, efer;
};

static inline struct x86_mmu x86_mmu_from_sregs(const struct kvm_sregs *s)
{
	return (struct x86_mmu){ s->cr0, s->cr3, s->cr4, s->efer };
}

/*
 * Translate gva as the vCPU would: paging off (identity, 32 bits),
 * 32-bit paging (4 MiB pages with CR4.PSE), PAE, 4-level and, with
 * CR4.LA57, 5-level paging with 2 MiB and 1 GiB pages. 0 or -EFAULT
 * (see gva_walk_fn). x86_gva_walk is the same as a gva_walk_fn.
 */
int x86_translate(const struct guest_mem *m, const struct x86_mmu *mmu,
		  uint64_t gva, struct gva_map *out);
int x86_gva_walk(const struct guest_mem *m, const void *mmu, uint64_t gva,
		 struct gva_map *out);

/*
 * Hardware breakpoints and watchpoints in the debug registers: DR0-DR3
 * hold addresses, DR7 says what each one watches.
 */
struct x86_gdb_hw {
	uint64_t dr[8];          /* KVM_SET_GUEST_DEBUG's debugreg[]: 0-3, 7 */
	int slot_bp[4];          /* the hw[] entry DRi serves, or -1 */
};

/*
 * Lay hw[0..n) into the debug registers: an instruction breakpoint takes
 * one, a watchpoint one per naturally aligned piece of 1, 2, 4 or 8 bytes
 * of its range. 0, -ENOSPC (more than four registers), -EOPNOTSUPP (read
 * watchpoints: x86 traps reads only together with writes), -EINVAL (a
 * watchpoint of no bytes).
 */
int x86_gdb_hw_layout(const struct gdb_bp *hw, unsigned int n,
		      struct x86_gdb_hw *out);

/* What the vCPU exception e (#DB 1, #BP 3) means with hw[0..n) set. */
void x86_gdb_classify(const struct kvm_debug_exit_arch *e,
		      const struct gdb_bp *hw, unsigned int n,
		      struct arch_gdb_exit *out);

#endif
