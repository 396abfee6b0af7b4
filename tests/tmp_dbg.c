// SPDX-License-Identifier: MIT
/*
 * Debian's gdb against the engine with the x86-64 target description,
 * over TCP, the fake VM behind it (registers made by x86_gdb_get from
 * KVM-shaped structures): the handshake and target.xml are accepted,
 * registers, memory and threads read, a breakpoint hit, a step taken,
 * memory written and the session detached, with every breakpoint gone
 * afterwards. SKIP without gdb.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../arch/x86_64/gdb.h"
#include "unit/gdb_session.h"
#include "unit/unit.h"

static void set_cpu(struct fake_vm *f, unsigned int cpu, uint64_t rip)
{
	struct x86_gdb_state st;

	memset(&st, 0, sizeof(st));
	st.regs.rip = rip;
	st.regs.rsp = 0x13f00;
	st.regs.rax = 0x1234 + cpu;
	st.regs.rflags = 0x246;
	st.sregs.cs.selector = 0x10;
	st.sregs.ss.selector = 0x18;
	st.sregs.cr0 = 0x80050033;
	st.sregs.cr3 = 0x1000;
	st.sregs.cr4 = 0x20;
	st.sregs.efer = 0x500;
	st.fpu.fcw = 0x37f;
	st.fpu.mxcsr = 0x1f80;
	x86_gdb_get(&st, f->regs[cpu]);
}

TEST(gdb_session)
{
	static struct gdb_stub s;
	static struct fake_vm f;
	static const uint32_t words[] = { 0x11223344, 0x55667788, 0x99aabbcc, 0xddeeff00 };
	static const char *const cmds[] = {
		"set pagination off", "set debug remote 1",
		"target remote 127.0.0.1:%d",
		"info registers rip rsp rax eflags cs cr0 cr3 efer",
		"x/4xw 0x10040",
		"info threads",
		"thread 2",
		"p/x $rax",
		"thread 1",
		"break *0x10180",
		"continue",
		"stepi",
		"p/x $pc",
		"set var *(unsigned int *)0x10050 = 0xcafef00d",
		"x/1xw 0x10050",
		"x/1xw 0x12000",
		"detach",
		NULL,
	};
	static const char *const want[] = {
		"rip            0x10000",
		"eflags         0x246               [ PF ZF IF ]",
		"cr3            0x1000",
		"0x10040:\t0x11223344\t0x55667788\t0x99aabbcc\t0xddeeff00",
		"* 1    Thread 1 (vCPU 0) 0x0000000000010000 in ?? ()",
		"  2    Thread 2 (vCPU 1) 0x0000000000010100 in ?? ()",
		"$1 = 0x1235",
		"Thread 1 hit Breakpoint 1, 0x0000000000010180 in ?? ()",
		"$2 = 0x10181",
		"0x10050:\t0xcafef00d",
		"Cannot access memory at address 0x12000",
		"[Inferior 1 (Remote target) detached]",
		NULL,
	};
	/* what gdb says when it dislikes a stub's replies */
	static const char *const bad[] = {
		"XML", "Truncated", "unexpected", "Remote failure",
		"not supported", "Bad register", "Ignoring packet error", NULL,
	};
	const char *why;
	char *out;

	if (!have_program("gdb")) {
		printf("SKIP: x86_gdb_session.gdb_session: no gdb (apt-get install gdb)\n");
		return;
	}
	CHECK(fake_init(&f, &s, &x86_gdb_target, 2) == 0);
	f.auto_stop = true;
	set_cpu(&f, 0, 0x10000);
	set_cpu(&f, 1, 0x10100);
	memset(f.mem, 0x90, 0x400); /* nops where the vCPUs are */
	memcpy(f.mem + 0x40, words, sizeof(words));
	out = gdb_session("gdb", &s, cmds);
	CHECK(out);
	print_session(out);
	why = gdb_output_lacks(out, want, bad);
	free(out);
	CHECK(!why);
	CHECK(f.mem[0x50] == 0x0d && f.mem[0x53] == 0xca);
	CHECK(f.nr_bps == 0 && gdb_stub_state(&s) == GDB_STATE_DETACHED);
}

UNIT_MAIN("x86_gdb_session", T(gdb_session))
