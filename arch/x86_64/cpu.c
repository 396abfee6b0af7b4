// SPDX-License-Identifier: MIT
/*
 * vCPU setup: CPUID (KVM's supported set, with our topology and the
 * hypervisor bit), MSRs at their reset values, the LAPIC's LINT pins, FPU
 * state, and the registers for the kernel's entry protocol.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/kvm.h"
#include "../../vmm/log.h"
#include "../../vmm/vmm.h"
#include "../arch.h"
#include "cpuid.h"
#include "x86.h"
#include "x86_arch.h"

#define CPUID_MAX_ENTRIES 256

/*
 * Fetch KVM_GET_SUPPORTED_CPUID once per VM, with leaf 0xD made to agree
 * with the features of leaves 1 and 7 (a guest that finds them at odds
 * turns XSAVE, and so AVX, off).
 */
int x86_get_supported_cpuid(struct vm *vm, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *c;
	unsigned int fixed;
	int ret;

	c = calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	c->nent = CPUID_MAX_ENTRIES;
	ret = kvm_ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
	if (ret < 0) {
		free(c);
		return ret;
	}
	fixed = x86_cpuid_fix_xsave(c->entries, c->nent);
	if (fixed)
		debug("CPUID: %u XSAVE bits or sizes changed to agree with "
		      "leaf 0xD", fixed);
	*out = c;
	return 0;
}

static unsigned int bits_for(unsigned int n)
{
	unsigned int b = 0;

	while ((1U << b) < n)
		b++;
	return b;
}

/*
 * One vCPU's CPUID: one socket of ncpus logical CPUs, as cores of one
 * thread each or, with smt, of two (vCPUs 2k and 2k+1 share a core);
 * APIC id = vCPU index; the hypervisor bit set so guests use paravirtual
 * clocks.
 */
static void patch_cpuid(struct kvm_cpuid2 *c, unsigned int id,
			unsigned int ncpus, bool smt, bool tsc_deadline)
{
	unsigned int threads = smt && ncpus > 1 ? 2 : 1;
	unsigned int core_bits = bits_for(ncpus), smt_bits = bits_for(threads);

	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffff) | (id << 24) |
				 ((ncpus > 1 ? ncpus : 1) << 16);
			e->ecx |= 1U << 31; /* running on a hypervisor */
			/*
			 * KVM emulates the LAPIC's TSC-deadline mode but leaves
			 * the bit to userspace; without it Linux checks the LAPIC
			 * timer against the PIT, which is slow.
			 */
			if (tsc_deadline)
				e->ecx |= 1U << 24;
			if (ncpus > 1)
				e->edx |= 1U << 28; /* HTT: multi-core package */
			break;
		case 4:
			/*
			 * cores per package - 1; L1/L2 shared by a core's
			 * threads, L3 by the package
			 */
			e->eax &= 0x3ff;
			e->eax |= (ncpus / threads - 1) << 26;
			e->eax |= (((e->eax >> 5) & 7) == 3 ? ncpus - 1 :
				   threads - 1) << 14;
			break;
		case 0xb:
		case 0x1f:
			e->edx = id;
			if (e->index == 0) {        /* SMT level */
				e->eax = smt_bits;
				e->ebx = threads;
				e->ecx = (1 << 8) | e->index;
			} else if (e->index == 1) { /* core level */
				e->eax = core_bits;
				e->ebx = ncpus;
				e->ecx = (2 << 8) | e->index;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000008:
			/* AMD: cores per package - 1 and APIC id size */
			e->ecx = (e->ecx & ~0xf0ffU) | (core_bits << 12) |
				 (ncpus - 1);
			break;
		case 0x8000001e:
			/* AMD topology extensions: threads per core - 1, core id */
			e->eax = id;
			e->ebx = (e->ebx & ~0xffffU) | ((threads - 1) << 8) |
				 (id >> smt_bits);
			e->ecx &= ~0xffU; /* node 0 */
			break;
		default:
			break;
		}
	}
}

static int set_cpuid(struct vcpu *v)
{
	struct x86_vm *xa = v->vm->arch;
	struct kvm_cpuid2 *c;
	size_t sz = sizeof(*c) + xa->cpuid->nent * sizeof(c->entries[0]);
	int ret;

	c = malloc(sz);
	if (!c)
		return -ENOMEM;
	memcpy(c, xa->cpuid, sz);
	patch_cpuid(c, v->id, v->vm->cfg.cpus, v->vm->cfg.smt,
		    kvm_check_cap(v->vm->kvm_fd, KVM_CAP_TSC_DEADLINE_TIMER) > 0);
	ret = kvm_ioctl(v->fd, KVM_SET_CPUID2, c);
	free(c);
	return ret < 0 ? ret : 0;
}

#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_TSC          0x010
#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_MTRR_DEF_TYPE     0x2ff
#define MSR_STAR              0xc0000081
#define MSR_LSTAR             0xc0000082
#define MSR_CSTAR             0xc0000083
#define MSR_SYSCALL_MASK      0xc0000084
#define MSR_KERNEL_GS_BASE    0xc0000102

static int set_msrs(struct vcpu *v)
{
	static const struct { uint32_t index; uint64_t value; } init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, 1 },            /* fast strings */
		{ MSR_MTRR_DEF_TYPE, (1 << 11) | 6 },   /* MTRRs on, WB */
	};
	const unsigned int n = sizeof(init) / sizeof(init[0]);
	union {
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) +
			    sizeof(init) / sizeof(init[0]) *
			    sizeof(struct kvm_msr_entry)];
	} msrs;
	int ret;

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = n;
	for (unsigned int i = 0; i < n; i++) {
		msrs.hdr.entries[i].index = init[i].index;
		msrs.hdr.entries[i].data = init[i].value;
	}
	ret = kvm_ioctl(v->fd, KVM_SET_MSRS, &msrs);
	if (ret < 0)
		return ret;
	/* KVM stops at the first MSR it refuses: say which, carry on */
	if ((unsigned int)ret < n)
		debug("vCPU %u: KVM refused MSR 0x%x; left at its default",
		      v->id, init[ret].index);
	return 0;
}

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

static void set_lvt_mode(struct kvm_lapic_state *l, unsigned int reg,
			 uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700U) | (mode << 8);
	memcpy(&l->regs[reg], &v, 4);
}

/* LINT0 = ExtINT (the 8259), LINT1 = NMI, as a PC's firmware leaves them */
static int set_lint(struct vcpu *v)
{
	struct kvm_lapic_state l;
	int ret = kvm_ioctl(v->fd, KVM_GET_LAPIC, &l);

	if (ret < 0)
		return ret;
	set_lvt_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	set_lvt_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	ret = kvm_ioctl(v->fd, KVM_SET_LAPIC, &l);
	return ret < 0 ? ret : 0;
}

static int set_fpu(struct vcpu *v)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;    /* FNINIT's control word */
	fpu.mxcsr = 0x1f80; /* all SSE exceptions masked */
	return kvm_ioctl(v->fd, KVM_SET_FPU, &fpu) < 0 ? -EIO : 0;
}

static struct kvm_segment flat_segment(uint16_t sel, uint8_t type, int l,
				       int db)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel,
		.type = type, .present = 1, .dpl = 0, .db = (uint8_t)db,
		.s = 1, .l = (uint8_t)l, .g = 1,
	};
}

#define CR0_PE (1ULL << 0)
#define CR0_ET (1ULL << 4)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

/* Registers for the boot CPU; the others wait for INIT/SIPI. */
static int set_boot_regs(struct vcpu *v)
{
	struct x86_vm *xa = v->vm->arch;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int ret;

	ret = kvm_ioctl(v->fd, KVM_GET_SREGS, &sregs);
	if (ret < 0)
		return ret;
	sregs.gdt.base = X86_GDT_ADDR;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.tr = (struct kvm_segment){
		.base = 0, .limit = 0x67, .selector = X86_SEL_TSS,
		.type = 11, .present = 1, .s = 0,
	};
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;

	if (xa->kernel.proto == X86_BOOT_PVH) {
		/* 32-bit protected mode, paging off (Xen PVH boot ABI) */
		sregs.cs = flat_segment(X86_SEL_CODE32, 0xb, 0, 1);
		sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
			flat_segment(X86_SEL_DATA, 0x3, 0, 1);
		sregs.cr0 = CR0_PE | CR0_ET;
		sregs.cr4 = 0;
		sregs.efer = 0;
		regs.rbx = X86_PVH_INFO_ADDR;
	} else {
		/* 64-bit mode on identity page tables (Linux boot protocol) */
		sregs.cs = flat_segment(X86_SEL_CODE64, 0xb, 1, 0);
		sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
			flat_segment(X86_SEL_DATA, 0x3, 0, 1);
		sregs.cr3 = X86_PML4_ADDR;
		sregs.cr4 = CR4_PAE;
		sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
		regs.rsi = X86_ZERO_PAGE_ADDR;
	}
	regs.rip = xa->kernel.entry;
	ret = kvm_ioctl(v->fd, KVM_SET_SREGS, &sregs);
	if (ret < 0)
		return ret;
	ret = kvm_ioctl(v->fd, KVM_SET_REGS, &regs);
	return ret < 0 ? ret : 0;
}

int arch_vcpu_init(struct vcpu *v)
{
	int ret;

	if ((ret = set_cpuid(v)) || (ret = set_msrs(v)) ||
	    (ret = set_lint(v)) || (ret = set_fpu(v)))
		return ret;
	if (v->id == 0)
		return set_boot_regs(v);
	return 0;
}

size_t arch_vcpu_run_ioctls(const unsigned long **reqs)
{
	static const unsigned long dump[] = { KVM_GET_REGS, KVM_GET_SREGS };

	*reqs = dump;
	return sizeof(dump) / sizeof(dump[0]);
}

void arch_vcpu_dump(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (kvm_ioctl_quiet(v->fd, KVM_GET_REGS, &r) < 0 ||
	    kvm_ioctl_quiet(v->fd, KVM_GET_SREGS, &s) < 0) {
		error("vCPU %u: cannot read registers", v->id);
		return;
	}
	fprintf(stderr,
		"vCPU %u registers:\n"
		" rip %016llx rsp %016llx rflags %016llx\n"
		" rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		" rsi %016llx rdi %016llx rbp %016llx\n"
		" r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
		" r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
		" cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %016llx\n"
		" cs %04x (base %llx, l=%u db=%u) ss %04x\n",
		v->id, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx,
		r.rsi, r.rdi, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13,
		r.r14, r.r15, s.cr0, s.cr2, s.cr3, s.cr4, s.efer,
		s.cs.selector, s.cs.base, s.cs.l, s.cs.db, s.ss.selector);
}
