/* SPDX-License-Identifier: MIT */
/*
 * A fake VM behind the GDB stub, for the unit tests, the fuzz target and
 * the real-gdb test: a few vCPUs whose registers are plain bytes in a
 * small target layout (or an arch's, when given), and guest-virtual
 * memory that is a flat buffer at FAKE_MEM_BASE with an unmapped hole.
 * It records what the engine asked of it, and "runs" by advancing the
 * resumed vCPUs' PCs: a step moves 1 byte, a continue stops at the next
 * software breakpoint above the PC (or at FAKE_MEM_END).
 */
#ifndef TESTS_UNIT_GDB_FAKE_H
#define TESTS_UNIT_GDB_FAKE_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../../vmm/gdbstub.h"

#define FAKE_CPUS      4
#define FAKE_MEM_BASE  0x10000ULL
#define FAKE_MEM_SIZE  0x4000ULL
#define FAKE_MEM_END   (FAKE_MEM_BASE + FAKE_MEM_SIZE)
#define FAKE_HOLE      0x12000ULL  /* one unmapped 4 KiB page */

/* The small target: r0, r1 (8 bytes), pc (8), flags (4) */
static const uint8_t fake_reg_bytes[] = { 8, 8, 8, 4 };
static const struct gdb_target fake_target = {
	.xml = "<?xml version=\"1.0\"?><target><feature name=\"fake\">"
	       "<reg name=\"r0\" bitsize=\"64\"/><reg name=\"r1\" bitsize=\"64\"/>"
	       "<reg name=\"pc\" bitsize=\"64\"/><reg name=\"flags\" bitsize=\"32\"/>"
	       "</feature><!-- $#}* need escaping --></target>",
	.nr_regs = 4,
	.reg_bytes = fake_reg_bytes,
	.pc_reg = 2,
};

struct fake_vm {
	const struct gdb_target *target;
	struct gdb_stub *stub;   /* to report stops to */
	bool auto_stop;          /* report the stop inside resume/interrupt */
	unsigned int nr_cpus;
	size_t regs_size;
	uint8_t regs[FAKE_CPUS][GDB_REGS_MAX];
	uint8_t mem[FAKE_MEM_SIZE];
	int fail_regs;           /* -errno for the next register call */
	int bp_result;           /* what insert_bp answers (0, -ENOSPC, ...) */
	int resume_result;       /* what resume answers */
	unsigned int nr_inserted, nr_removed, nr_resumes, nr_interrupts;
	unsigned int nr_bad_removes; /* of what was never inserted */
	unsigned int nr_bps;
	struct gdb_bp bps[GDB_MAX_BREAKPOINTS + 8];
	enum gdb_action last_act[GDB_MAX_CPUS];
	unsigned int last_cpu;   /* of the last memory call */
};

static size_t fake_pc_off(const struct fake_vm *f)
{
	size_t off = 0;

	for (unsigned int i = 0; i < f->target->pc_reg; i++)
		off += f->target->reg_bytes[i];
	return off;
}

static uint64_t fake_get_pc(const struct fake_vm *f, unsigned int cpu)
{
	uint64_t pc = 0;

	for (int i = 7; i >= 0; i--)
		pc = pc << 8 | f->regs[cpu][fake_pc_off(f) + (size_t)i];
	return pc;
}

static void fake_set_pc(struct fake_vm *f, unsigned int cpu, uint64_t pc)
{
	for (int i = 0; i < 8; i++)
		f->regs[cpu][fake_pc_off(f) + (size_t)i] = (uint8_t)(pc >> (8 * i));
}

static int fake_read_regs(void *o, unsigned int cpu, uint8_t *buf)
{
	struct fake_vm *f = o;
	int r = f->fail_regs;

	f->fail_regs = 0;
	if (r || cpu >= FAKE_CPUS)
		return r ? r : -EINVAL;
	memcpy(buf, f->regs[cpu], f->regs_size);
	return 0;
}

static int fake_write_regs(void *o, unsigned int cpu, const uint8_t *buf)
{
	struct fake_vm *f = o;
	int r = f->fail_regs;

	f->fail_regs = 0;
	if (r || cpu >= FAKE_CPUS)
		return r ? r : -EINVAL;
	memcpy(f->regs[cpu], buf, f->regs_size);
	return 0;
}

static bool fake_mapped(uint64_t a)
{
	return a >= FAKE_MEM_BASE && a < FAKE_MEM_END &&
	       (a & ~0xfffULL) != FAKE_HOLE;
}

static int fake_mem(struct fake_vm *f, unsigned int cpu, uint64_t addr,
		    uint8_t *rd, const uint8_t *wr, size_t len)
{
	size_t n = 0;

	f->last_cpu = cpu;
	while (n < len && addr + n >= addr && fake_mapped(addr + n)) {
		if (rd)
			rd[n] = f->mem[addr + n - FAKE_MEM_BASE];
		else
			f->mem[addr + n - FAKE_MEM_BASE] = wr[n];
		n++;
	}
	return n ? (int)n : -EFAULT;
}

static int fake_read_mem(void *o, unsigned int cpu, uint64_t addr,
			 uint8_t *buf, size_t len)
{
	return fake_mem(o, cpu, addr, buf, NULL, len);
}

static int fake_write_mem(void *o, unsigned int cpu, uint64_t addr,
			  const uint8_t *buf, size_t len)
{
	return fake_mem(o, cpu, addr, NULL, buf, len);
}

static int fake_insert_bp(void *o, enum gdb_bp_type type, uint64_t addr,
			  uint64_t kind)
{
	struct fake_vm *f = o;

	if (f->bp_result)
		return f->bp_result;
	if (f->nr_bps == sizeof(f->bps) / sizeof(f->bps[0]))
		return -ENOSPC;
	f->bps[f->nr_bps++] = (struct gdb_bp){ type, addr, kind };
	f->nr_inserted++;
	return 0;
}

static int fake_remove_bp(void *o, enum gdb_bp_type type, uint64_t addr,
			  uint64_t kind)
{
	struct fake_vm *f = o;

	for (unsigned int i = 0; i < f->nr_bps; i++) {
		if (f->bps[i].type == type && f->bps[i].addr == addr &&
		    f->bps[i].kind == kind) {
			f->bps[i] = f->bps[--f->nr_bps];
			f->nr_removed++;
			return 0;
		}
	}
	f->nr_bad_removes++; /* the engine removed what it never inserted */
	return -ENOENT;
}

/* Run: step = pc + 1; continue = up to the next sw breakpoint above pc */
static void fake_run(struct fake_vm *f)
{
	struct gdb_stop st = { .cpu = 0, .reason = GDB_STOP_TRAP };
	uint64_t best = UINT64_MAX;

	for (unsigned int c = 0; c < f->nr_cpus && c < FAKE_CPUS; c++) {
		uint64_t pc = fake_get_pc(f, c), to = FAKE_MEM_END;

		if (f->last_act[c] == GDB_ACT_STEP) {
			fake_set_pc(f, c, pc + 1);
			st.cpu = c;
			st.reason = GDB_STOP_TRAP;
			best = 0;
			continue;
		}
		if (f->last_act[c] != GDB_ACT_CONTINUE)
			continue;
		for (unsigned int i = 0; i < f->nr_bps; i++)
			if (f->bps[i].type == GDB_BP_SW && f->bps[i].addr > pc &&
			    f->bps[i].addr < to)
				to = f->bps[i].addr;
		fake_set_pc(f, c, to);
		if (to < best) {
			best = to;
			st.cpu = c;
			st.reason = to == FAKE_MEM_END ? GDB_STOP_TRAP
						       : GDB_STOP_SWBREAK;
		}
	}
	(void)gdb_stub_stopped(f->stub, &st);
}

static int fake_resume(void *o, const enum gdb_action *act)
{
	struct fake_vm *f = o;

	if (f->resume_result)
		return f->resume_result;
	memcpy(f->last_act, act, sizeof(act[0]) * f->nr_cpus);
	f->nr_resumes++;
	if (f->auto_stop)
		fake_run(f);
	return 0;
}

static void fake_interrupt(void *o)
{
	struct fake_vm *f = o;
	struct gdb_stop st = { .cpu = 0, .reason = GDB_STOP_INTERRUPT };

	f->nr_interrupts++;
	if (f->auto_stop)
		(void)gdb_stub_stopped(f->stub, &st);
}

static const struct gdb_backend fake_ops = {
	.read_regs = fake_read_regs,
	.write_regs = fake_write_regs,
	.read_mem = fake_read_mem,
	.write_mem = fake_write_mem,
	.insert_bp = fake_insert_bp,
	.remove_bp = fake_remove_bp,
	.resume = fake_resume,
	.interrupt = fake_interrupt,
};

/* A fake VM of nr_cpus on target t (NULL: the small one), stub ready. */
static int fake_init(struct fake_vm *f, struct gdb_stub *s,
		     const struct gdb_target *t, unsigned int nr_cpus)
{
	memset(f, 0, sizeof(*f));
	f->target = t ? t : &fake_target;
	f->stub = s;
	f->nr_cpus = nr_cpus;
	f->regs_size = gdb_target_regs_size(f->target);
	for (unsigned int c = 0; c < FAKE_CPUS; c++)
		for (size_t i = 0; i < f->regs_size; i++)
			f->regs[c][i] = (uint8_t)(c << 5 | (i & 31));
	for (size_t i = 0; i < sizeof(f->mem); i++)
		f->mem[i] = (uint8_t)(i * 13 + 7);
	for (unsigned int c = 0; c < FAKE_CPUS; c++)
		fake_set_pc(f, c, FAKE_MEM_BASE + 0x100 * c);
	return gdb_stub_init(s, f->target, &fake_ops, f, nr_cpus);
}

#endif
