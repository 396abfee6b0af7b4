// SPDX-License-Identifier: MIT
/*
 * gdb-multiarch against the engine with the aarch64 target description,
 * on any host, as test_x86_gdb_session does for x86-64: registers from
 * KVM-shaped state through arm64_gdb_get (sp is SP_EL1 in EL1h), memory,
 * threads, a breakpoint, a step, detach. SKIP without gdb-multiarch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../arch/aarch64/gdb.h"
#include "gdb_session.h"
#include "unit.h"

static void set_cpu(struct fake_vm *f, unsigned int cpu, uint64_t pc)
{
	struct arm64_gdb_state st;

	memset(&st, 0, sizeof(st));
	st.pc = pc;
	st.x[0] = 0x4000 + cpu;
	st.x[30] = 0x10008;
	st.sp_el0 = 0x12340000;
	st.sp_el1 = 0x13f00;
	st.pstate = 0x3c5; /* EL1h, DAIF masked */
	st.sctlr = 0x30d00800;
	st.esr = 0x96000045;
	arm64_gdb_get(&st, f->regs[cpu]);
}

TEST(gdb_session)
{
	static struct gdb_stub s;
	static struct fake_vm f;
	static const uint32_t nop = 0xd503201f;
	static const char *const cmds[] = {
		"set pagination off",
		"target remote 127.0.0.1:%d",
		"info registers x0 x30 sp pc cpsr esr_el1",
		"x/2i $pc",
		"info threads",
		"thread 2",
		"p/x $x0",
		"thread 1",
		"break *0x10180",
		"continue",
		"stepi",
		"p/x $pc",
		"p $v0.d.u",
		"detach",
		NULL,
	};
	static const char *const want[] = {
		"x0             0x4000",
		"sp             0x13f00",
		"pc             0x10000",
		"cpsr           0x3c5               [ SP EL=1 F I A D ]",
		"esr_el1        0x96000045",
		"nop",
		"* 1    Thread 1 (vCPU 0) 0x0000000000010000 in ?? ()",
		"$1 = 0x4001",
		"Thread 1 hit Breakpoint 1, 0x0000000000010180 in ?? ()",
		"$2 = 0x10181",
		"$3 = {0, 0}",
		"[Inferior 1 (Remote target) detached]",
		NULL,
	};
	static const char *const bad[] = {
		"XML", "Truncated", "unexpected", "Remote failure",
		"not supported", "Bad register", "Ignoring packet error", NULL,
	};
	const char *why;
	char *out;

	if (!have_program("gdb-multiarch")) {
		printf("SKIP: arm64_gdb_session.gdb_session: no gdb-multiarch "
		       "(apt-get install gdb-multiarch)\n");
		return;
	}
	CHECK(fake_init(&f, &s, &arm64_gdb_target, 2) == 0);
	f.auto_stop = true;
	set_cpu(&f, 0, 0x10000);
	set_cpu(&f, 1, 0x10100);
	for (int i = 0; i < 0x400; i += 4)
		memcpy(f.mem + i, &nop, 4);
	out = gdb_session("gdb-multiarch", &s, cmds);
	CHECK(out);
	print_session(out);
	why = gdb_output_lacks(out, want, bad);
	free(out);
	CHECK(!why);
	CHECK(f.nr_bps == 0 && gdb_stub_state(&s) == GDB_STATE_DETACHED);
}

UNIT_MAIN("arm64_gdb_session", T(gdb_session))
