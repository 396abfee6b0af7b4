/* SPDX-License-Identifier: MIT */
/*
 * What the GDB stub needs to know about an aarch64 vCPU, without KVM
 * calls and without arm64 headers (so the unit tests run on any host):
 * the target description (GDB's aarch64 core and fpu features, plus the
 * EL1 system registers a kernel debugger wants), the KVM_GET_ONE_REG ids
 * the registers come from, their conversion to GDB's layout, and the
 * stage-1 page-table walker.
 */
#ifndef ARCH_AARCH64_GDB_H
#define ARCH_AARCH64_GDB_H

#include <stddef.h>
#include <stdint.h>

#include "../../vmm/gdbstub.h"
#include "../../vmm/gva.h"
#include "../arch.h"

/*
 * GDB's register numbers in our target.xml (the 'g' packet's order):
 *   0-30 x0-x30, 31 sp (the one PSTATE selects), 32 pc   8 bytes each
 *   33 cpsr (4)
 *   34-65 v0-v31 (16 each), 66 fpsr (4), 67 fpcr (4)
 *   68 sp_el0, 69 sp_el1, 70 elr_el1, 71 spsr_el1, 72 esr_el1,
 *   73 far_el1, 74 vbar_el1, 75 sctlr_el1, 76 tcr_el1, 77 ttbr0_el1,
 *   78 ttbr1_el1, 79 mair_el1 (8 each)
 */
#define ARM64_GDB_PC        32
#define ARM64_GDB_NR_REGS   80
#define ARM64_GDB_REGS_SIZE 884

extern const struct gdb_target arm64_gdb_target;

/* A vCPU's state as KVM_GET_ONE_REG gives it. */
struct arm64_gdb_state {
	uint64_t x[31];
	uint64_t sp_el0, pc, pstate;
	uint64_t sp_el1, elr_el1, spsr_el1;
	uint8_t v[32][16];        /* little-endian 128-bit values */
	uint32_t fpsr, fpcr;
	uint64_t esr, far, vbar, sctlr, tcr, ttbr0, ttbr1, mair;
};

/* One KVM register: its id and where it goes in struct arm64_gdb_state */
struct arm64_one_reg {
	uint64_t id;
	uint16_t offset;
	uint8_t size;       /* bytes: 4, 8 or 16, as the id's size field says */
};

/*
 * Every register of struct arm64_gdb_state, once: a backend fills the
 * state with KVM_GET_ONE_REG of each, and after arm64_gdb_put() writes
 * back (KVM_SET_ONE_REG) those whose bytes changed.
 */
extern const struct arm64_one_reg arm64_gdb_one_regs[];
extern const unsigned int arm64_gdb_nr_one_regs;

/* KVM's state into GDB's layout: ARM64_GDB_REGS_SIZE bytes at buf. */
void arm64_gdb_get(const struct arm64_gdb_state *st, uint8_t *buf);

/*
 * GDB's layout into st, which holds the vCPU's current state. "sp" goes
 * to the stack pointer PSTATE selects (as the new cpsr has it); sp_el0
 * and sp_el1 are written after it, so an explicit write of them wins.
 */
void arm64_gdb_put(struct arm64_gdb_state *st, const uint8_t *buf);

/* The registers stage-1 translation depends on */
struct arm64_mmu {
	uint64_t sctlr, tcr, ttbr0, ttbr1;
};

static inline struct arm64_mmu
arm64_mmu_from_state(const struct arm64_gdb_state *st)
{
	return (struct arm64_mmu){ st->sctlr, st->tcr, st->ttbr0, st->ttbr1 };
}

/*
 * Translate va by the EL1&0 stage-1 tables: MMU off (identity), TTBR0 or
 * TTBR1 by the top bits (TCR_EL1.TBI0/1 honoured), T0SZ/T1SZ, 4, 16 and
 * 64 KiB granules, block descriptors at the levels each granule allows,
 * 52-bit output addresses (64 KiB with IPS 52, or TCR_EL1.DS). 0 or
 * -EFAULT (see gva_walk_fn). arm64_gva_walk is the same as a gva_walk_fn.
 */
int arm64_translate(const struct guest_mem *m, const struct arm64_mmu *mmu,
		    uint64_t va, struct gva_map *out);
int arm64_gva_walk(const struct guest_mem *m, const void *mmu, uint64_t va,
		   struct gva_map *out);

/*
 * Hardware breakpoints and watchpoints in the debug registers: DBGBCR/BVR
 * pairs for instructions, DBGWCR/WVR pairs for data (KVM_SET_GUEST_DEBUG's
 * struct kvm_guest_debug_arch; KVM says how many of each a VM has).
 */
#define ARM64_DBG_REGS 16
struct arm64_gdb_hw {
	uint64_t bcr[ARM64_DBG_REGS], bvr[ARM64_DBG_REGS];
	uint64_t wcr[ARM64_DBG_REGS], wvr[ARM64_DBG_REGS];
	int brp_bp[ARM64_DBG_REGS];  /* the hw[] entry each serves, or -1 */
	int wrp_bp[ARM64_DBG_REGS];
};

/*
 * Lay hw[0..n) into nr_brps breakpoint and nr_wrps watchpoint registers:
 * an instruction breakpoint (4-byte aligned) takes one, a watchpoint one
 * per aligned doubleword its range touches. 0, -ENOSPC, -EINVAL (a
 * misaligned instruction address, a watchpoint of no bytes).
 */
int arm64_gdb_hw_layout(const struct gdb_bp *hw, unsigned int n,
			unsigned int nr_brps, unsigned int nr_wrps,
			struct arm64_gdb_hw *out);

/*
 * What a KVM_EXIT_DEBUG means: its syndrome (ESR_EL2, kvm_run's hsr), the
 * faulting data address (far) and the vCPU's pc, with hw[0..n) set.
 */
void arm64_gdb_classify(uint32_t esr, uint64_t far, uint64_t pc,
			const struct gdb_bp *hw, unsigned int n,
			struct arch_gdb_exit *out);

#endif
