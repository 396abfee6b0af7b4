// SPDX-License-Identifier: MIT
/*
 * The GDB remote protocol engine against a fake VM (gdb_fake.h): the
 * packet streams gdb sends (written from the RSP chapter of the GDB
 * manual), replies checked byte for byte where the protocol fixes them,
 * framing errors (bad or non-hex checksums, oversized packets, noise,
 * restarts), malformed commands, output back-pressure, and the
 * breakpoint bookkeeping that detaching relies on. guest-virtual copies
 * (vmm/gva.c) through a small fake walker are at the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/gva.h"
#include "gdb_fake.h"
#include "gdb_xml.h"
#include "unit.h"

/* $data#cs */
static size_t frame(char *dst, size_t cap, const char *data, size_t n)
{
	unsigned int sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (uint8_t)data[i];
	if (n + 5 > cap)
		abort();
	dst[0] = '$';
	memcpy(dst + 1, data, n);
	snprintf(dst + 1 + n, 4, "#%02x", sum & 0xff);
	return n + 4;
}

static void feed_raw(struct gdb_stub *s, const void *data, size_t n)
{
	if (gdb_stub_input(s, data, n) != n)
		abort(); /* the tests that want back-pressure feed by hand */
}

static void send_pkt(struct gdb_stub *s, const char *data)
{
	char buf[GDB_PACKET_MAX + 8];

	feed_raw(s, buf, frame(buf, sizeof(buf), data, strlen(data)));
}

/* Take all output, NUL-terminated (the output is text in these tests) */
static char outbuf[4 * GDB_PACKET_MAX];
static const char *take(struct gdb_stub *s)
{
	const uint8_t *p;
	size_t n = gdb_stub_output(s, &p);

	if (n >= sizeof(outbuf))
		abort();
	memcpy(outbuf, p, n);
	outbuf[n] = 0;
	gdb_stub_output_done(s, n);
	return outbuf;
}

/*
 * Send data as a packet; the output must be exactly want (acks, framing
 * and checksum included). Shows what came instead on a mismatch.
 */
static int xchg(struct gdb_stub *s, const char *data, const char *want)
{
	const char *got;

	send_pkt(s, data);
	got = take(s);
	if (strcmp(got, want)) {
		fprintf(stderr, "  sent %s\n  want %s\n  got  %s\n", data, want, got);
		return 0;
	}
	return 1;
}

/* Send data; the output must be "+" and the framed reply */
static int ask(struct gdb_stub *s, const char *data, const char *reply)
{
	char want[2 * GDB_PACKET_MAX];

	want[0] = '+';
	frame(want + 1, sizeof(want) - 1, reply, strlen(reply));
	return xchg(s, data, want);
}

static void hex(char *dst, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(dst + 2 * i, "%02x", p[i]);
	dst[2 * n] = 0;
}

/* about 60 KiB of stack: no leaks when a CHECK returns early */
#define SETUP(ncpus)                                        \
	struct gdb_stub stub_;                              \
	struct fake_vm fake_;                               \
	struct gdb_stub *s = &stub_;                        \
	struct fake_vm *f = &fake_;                         \
	CHECK(fake_init(f, s, NULL, ncpus) == 0)

#define TEARDOWN() do { } while (0)

/* --- the handshake and framing ------------------------------------------ */

TEST(handshake_as_gdb_does_it)
{
	SETUP(2);
	/* gdb 13's first packets on "target remote" */
	CHECK(xchg(s, "qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;"
		   "fork-events+;vfork-events+;exec-events+;vContSupported+;"
		   "QThreadEvents+;no-resumed+;memory-tagging+;xmlRegisters=i386",
		   "+$PacketSize=1000;qXfer:features:read+;vContSupported+;"
		   "QStartNoAckMode+;swbreak+;hwbreak+#b7"));
	feed_raw(s, "+", 1);
	CHECK(xchg(s, "vMustReplyEmpty", "+$#00"));
	feed_raw(s, "+", 1);
	CHECK(xchg(s, "QStartNoAckMode", "+$OK#9a"));
	feed_raw(s, "+", 1);
	/* from here on neither side acks */
	CHECK(xchg(s, "Hgp0.0", "$E16#ac")); /* no multiprocess: p ids refused */
	CHECK(xchg(s, "qTStatus", "$#00"));
	CHECK(xchg(s, "?", "$T05thread:1;#d7"));
	CHECK(xchg(s, "qfThreadInfo", "$m1,2#fc"));
	CHECK(xchg(s, "qsThreadInfo", "$l#6c"));
	CHECK(xchg(s, "qAttached", "$1#31"));
	CHECK(xchg(s, "Hc-1", "$OK#9a"));
	CHECK(xchg(s, "qC", "$QC1#c5"));
	CHECK(xchg(s, "qOffsets", "$#00"));
	CHECK(xchg(s, "vCont?", "$vCont;c;C;s;S;t#11"));
	CHECK(xchg(s, "qSymbol::", "$#00"));
	TEARDOWN();
}

TEST(qsupported_without_swbreak)
{
	SETUP(1);
	CHECK(xchg(s, "qSupported", "+$PacketSize=1000;qXfer:features:read+;"
		   "vContSupported+;QStartNoAckMode+#18"));
	/* not offered: a breakpoint stop is a plain T05 */
	CHECK(ask(s, "Z0,10010,1", "OK"));
	f->auto_stop = true;
	CHECK(xchg(s, "c", "+$T05thread:1;#d7"));
	CHECK(fake_get_pc(f, 0) == 0x10010);
	TEARDOWN();
}

TEST(bad_checksum_is_naked_and_not_run)
{
	SETUP(1);
	feed_raw(s, "$g#00", 5);
	CHECK(!strcmp(take(s), "-"));
	/* uppercase hex is a checksum too */
	feed_raw(s, "$g#67", 5);
	CHECK(take(s)[0] == '+');
	feed_raw(s, "$OK#9A", 6);
	CHECK(!strcmp(take(s), "+$#00"));
	TEARDOWN();
}

TEST(nak_resends_last_reply)
{
	SETUP(1);
	CHECK(ask(s, "qC", "QC1"));
	feed_raw(s, "-", 1);
	CHECK(!strcmp(take(s), "$QC1#c5"));
	feed_raw(s, "-", 1);
	CHECK(!strcmp(take(s), "$QC1#c5"));
	/* acks between packets are just taken */
	feed_raw(s, "+++", 3);
	CHECK(!strcmp(take(s), ""));
	TEARDOWN();
}

TEST(non_hex_checksum_naks_and_resyncs)
{
	SETUP(1);
	/* "#x" is no checksum; the '$' right after starts the next packet */
	feed_raw(s, "$g#x$qC#b4", 10);
	CHECK(!strcmp(take(s), "-+$QC1#c5"));
	feed_raw(s, "$g#6$qC#b4", 10);
	CHECK(!strcmp(take(s), "-+$QC1#c5"));
	TEARDOWN();
}

TEST(noise_and_restart)
{
	SETUP(1);
	/* line noise between packets is ignored, '$' restarts a packet */
	feed_raw(s, "xyz\r\n$garbage$qC#b4", 19);
	CHECK(!strcmp(take(s), "+$QC1#c5"));
	TEARDOWN();
}

TEST(oversized_packet_naked)
{
	SETUP(1);
	char *big = malloc(GDB_PACKET_MAX + 16);
	size_t n;

	CHECK(big);
	/* exactly GDB_PACKET_MAX bytes: accepted (an unknown packet) */
	memset(big, 'a', GDB_PACKET_MAX);
	big[GDB_PACKET_MAX] = 0;
	CHECK(ask(s, big, ""));
	/* one more: NAKed whatever the checksum */
	memset(big, 'a', GDB_PACKET_MAX + 1);
	big[GDB_PACKET_MAX + 1] = 0;
	send_pkt(s, big);
	CHECK(!strcmp(take(s), "-"));
	/* a stream without '#' costs nothing and is dropped */
	feed_raw(s, "$", 1);
	for (int i = 0; i < 64; i++)
		feed_raw(s, big, GDB_PACKET_MAX);
	feed_raw(s, "#00", 3);
	CHECK(!strcmp(take(s), "-"));
	/* and the stub still works */
	CHECK(ask(s, "qC", "QC1"));
	n = strlen(big);
	CHECK(n == GDB_PACKET_MAX + 1);
	free(big);
	TEARDOWN();
}

TEST(split_anywhere_same_result)
{
	SETUP(2);
	const char *stream = "$qC#b4$m10000,4#be$g#67$Hg2#e1$qC#b4";
	char whole[2048];

	feed_raw(s, stream, strlen(stream));
	snprintf(whole, sizeof(whole), "%s", take(s));
	for (size_t cut = 1; cut < strlen(stream); cut++) {
		CHECK(fake_init(f, s, NULL, 2) == 0);
		feed_raw(s, stream, cut);
		feed_raw(s, stream + cut, strlen(stream) - cut);
		CHECK(!strcmp(take(s), whole));
	}
	/* one byte at a time */
	CHECK(fake_init(f, s, NULL, 2) == 0);
	for (size_t i = 0; i < strlen(stream); i++)
		feed_raw(s, stream + i, 1);
	CHECK(!strcmp(take(s), whole));
	CHECK(strstr(whole, "$QC2#c6"));
	TEARDOWN();
}

TEST(empty_and_unknown_packets)
{
	SETUP(1);
	CHECK(xchg(s, "", "+$#00"));
	CHECK(ask(s, "vMustReplyEmpty", ""));
	CHECK(ask(s, "qRcmd,7265736574", ""));
	CHECK(ask(s, "vKill;1", ""));
	CHECK(ask(s, "!", ""));
	CHECK(ask(s, "QNonStop:1", ""));
	CHECK(ask(s, "vFile:open:", ""));
	CHECK(ask(s, "qXfer:threads:read::0,fff", ""));
	CHECK(ask(s, "qSupportedX", ""));
	TEARDOWN();
}

/* --- registers ------------------------------------------------------------ */

TEST(read_write_registers)
{
	SETUP(2);
	char want[2 * GDB_REGS_MAX + 1], cmd[2 * GDB_REGS_MAX + 8];
	uint8_t regs[28];

	hex(want, f->regs[0], 28);
	CHECK(ask(s, "g", want));
	CHECK(ask(s, "Hg2", "OK"));
	hex(want, f->regs[1], 28);
	CHECK(ask(s, "g", want));
	/* p: one register, by its number */
	hex(want, f->regs[1] + 16, 8);
	CHECK(ask(s, "p2", want));
	hex(want, f->regs[1] + 24, 4);
	CHECK(ask(s, "p3", want));
	/* G: all of them */
	for (int i = 0; i < 28; i++)
		regs[i] = (uint8_t)(0xa0 + i);
	cmd[0] = 'G';
	hex(cmd + 1, regs, 28);
	CHECK(ask(s, cmd, "OK"));
	CHECK(!memcmp(f->regs[1], regs, 28));
	/* P: one, the rest untouched */
	CHECK(ask(s, "P1=0102030405060708", "OK"));
	CHECK(f->regs[1][8] == 1 && f->regs[1][15] == 8);
	CHECK(f->regs[1][7] == 0xa7 && f->regs[1][16] == 0xb0);
	CHECK(ask(s, "P3=deadbeef", "OK"));
	CHECK(f->regs[1][24] == 0xde && f->regs[1][27] == 0xef);
	/* vCPU 0 never changed */
	CHECK(f->regs[0][0] == 0);
	TEARDOWN();
}

TEST(malformed_register_packets)
{
	SETUP(2);
	CHECK(ask(s, "gx", "E16"));
	CHECK(ask(s, "G00", "E16"));              /* too short */
	CHECK(ask(s, "p4", "E16"));               /* no such register */
	CHECK(ask(s, "p", "E16"));
	CHECK(ask(s, "pffffffffffffffffff", "E16")); /* over 64 bits */
	CHECK(ask(s, "p2x", "E16"));
	CHECK(ask(s, "P2=01", "E16"));            /* wrong size */
	CHECK(ask(s, "P2=010203040506070809", "E16"));
	CHECK(ask(s, "P2=0102030405060g08", "E16"));
	CHECK(ask(s, "P2", "E16"));
	CHECK(ask(s, "Hg3", "E16"));              /* no thread 3 */
	CHECK(ask(s, "Hx1", "E16"));
	CHECK(ask(s, "H", "E16"));
	CHECK(ask(s, "Hg", "E16"));
	/* the backend's error comes through */
	f->fail_regs = -EIO;
	CHECK(ask(s, "g", "E05"));
	f->fail_regs = -EIO;
	CHECK(ask(s, "p0", "E05"));
	TEARDOWN();
}

/* --- memory ----------------------------------------------------------------- */

TEST(read_memory)
{
	SETUP(2);
	char want[2 * GDB_PACKET_MAX];

	hex(want, f->mem, 4);
	CHECK(ask(s, "m10000,4", want));
	hex(want, f->mem + 0x123, 16);
	CHECK(ask(s, "m10123,10", want));
	/* up to the hole, then short */
	hex(want, f->mem + 0x1ff0, 16);
	CHECK(ask(s, "m11ff0,100", want));
	/* nothing readable at all */
	CHECK(ask(s, "m12000,4", "E0e"));
	CHECK(ask(s, "m0,4", "E0e"));
	/* through the g thread's page tables */
	CHECK(ask(s, "Hg2", "OK"));
	hex(want, f->mem, 1);
	CHECK(ask(s, "m10000,1", want));
	CHECK(f->last_cpu == 1);
	TEARDOWN();
}

TEST(read_memory_huge_lengths_are_cut)
{
	SETUP(1);
	const char *r;

	/* a length gdb would never send: one reply's worth comes back */
	send_pkt(s, "m10000,ffffffffffffffff");
	r = take(s);
	CHECK(r[0] == '+' && r[1] == '$');
	CHECK(strlen(r) == 1 + 1 + 2 * (GDB_PACKET_MAX / 2) + 3);
	/* the top of the address space: no wrap to 0 */
	CHECK(ask(s, "mffffffffffffff00,200", "E0e"));
	CHECK(ask(s, "m10000,0", "E16"));
	CHECK(ask(s, "m10000", "E16"));
	CHECK(ask(s, "m,4", "E16"));
	CHECK(ask(s, "m10000,", "E16"));
	CHECK(ask(s, "m10000,4,", "E16"));
	CHECK(ask(s, "m1000g,4", "E16"));
	CHECK(ask(s, "m10000000000000000,4", "E16"));
	TEARDOWN();
}

TEST(write_memory_hex)
{
	SETUP(1);
	CHECK(ask(s, "M10010,4:deadbeef", "OK"));
	CHECK(f->mem[0x10] == 0xde && f->mem[0x13] == 0xef);
	CHECK(ask(s, "M10010,0:", "OK"));
	CHECK(ask(s, "M10010,4:deadbe", "E16"));     /* truncated hex */
	CHECK(ask(s, "M10010,4:deadbeef00", "E16")); /* more than length */
	CHECK(ask(s, "M10010,4:deadbeeg", "E16"));
	CHECK(ask(s, "M10010,4", "E16"));
	CHECK(ask(s, "M10010:deadbeef", "E16"));
	CHECK(ask(s, "M10010,ffffffff:00", "E16"));
	/* into the hole: fails, and the part before it is not claimed done */
	CHECK(ask(s, "M11ffe,4:01020304", "E0e"));
	CHECK(ask(s, "Mfffffffffffffffe,4:01020304", "E0e"));
	TEARDOWN();
}

TEST(write_memory_binary)
{
	SETUP(1);
	/* X with the escapes gdb uses: '}' then the byte xor 0x20 */
	static const char pkt[] = "X10020,6:\x01}\x03}\x04}]}\x0a\x00";
	char buf[64];
	size_t n = frame(buf, sizeof(buf), pkt, sizeof(pkt) - 1);

	feed_raw(s, buf, n);
	CHECK(!strcmp(take(s), "+$OK#9a"));
	CHECK(f->mem[0x20] == 0x01 && f->mem[0x21] == '#' && f->mem[0x22] == '$');
	CHECK(f->mem[0x23] == '}' && f->mem[0x24] == '*' && f->mem[0x25] == 0);
	/* the probe gdb starts with */
	CHECK(ask(s, "X10020,0:", "OK"));
	CHECK(ask(s, "X10020,2:\x01", "E16"));       /* fewer than length */
	CHECK(ask(s, "X10020,1:\x01\x02", "E16"));   /* more */
	CHECK(ask(s, "X10020,1:}", "E16"));          /* escape at the end */
	CHECK(ask(s, "X10020,1", "E16"));
	CHECK(ask(s, "X10020,1000000:\x01", "E16"));
	TEARDOWN();
}

/* --- breakpoints ------------------------------------------------------------ */

TEST(breakpoints_inserted_once_removed_once)
{
	SETUP(2);
	CHECK(ask(s, "Z0,10010,1", "OK"));
	CHECK(ask(s, "Z0,10010,1", "OK")); /* idempotent */
	CHECK(f->nr_inserted == 1 && s->nr_bps == 1);
	CHECK(ask(s, "Z1,10020,1", "OK"));
	CHECK(ask(s, "Z2,10100,8", "OK"));
	CHECK(ask(s, "Z3,10108,4", "OK"));
	CHECK(ask(s, "Z4,10110,2", "OK"));
	CHECK(f->nr_inserted == 5 && f->nr_bps == 5);
	CHECK(f->bps[2].type == GDB_WATCH_WRITE && f->bps[2].kind == 8);
	CHECK(ask(s, "z0,10010,1", "OK"));
	CHECK(ask(s, "z0,10010,1", "OK")); /* not there: still OK */
	CHECK(f->nr_removed == 1 && f->nr_bps == 4);
	/* same address, other kind: a different breakpoint */
	CHECK(ask(s, "z1,10020,2", "OK"));
	CHECK(f->nr_removed == 1);
	CHECK(ask(s, "Z5,10010,1", ""));   /* unknown type */
	CHECK(ask(s, "Z0,10010", "E16"));
	CHECK(ask(s, "Z0,10010,1;X2,0a", "E16")); /* conditions: not offered */
	CHECK(ask(s, "Z,10010,1", "E16"));
	CHECK(ask(s, "z", "E16"));
	TEARDOWN();
}

TEST(breakpoint_backend_answers)
{
	SETUP(1);
	f->bp_result = -ENOSPC;
	CHECK(ask(s, "Z1,10010,1", "E1c"));
	f->bp_result = -EOPNOTSUPP;
	CHECK(ask(s, "Z0,10010,1", ""));   /* gdb then patches memory itself */
	f->bp_result = -EFAULT;
	CHECK(ask(s, "Z0,10010,1", "E0e"));
	CHECK(s->nr_bps == 0);
	/* nothing refused is remembered: detach removes nothing */
	gdb_stub_detach(s);
	CHECK(f->nr_removed == 0);
	TEARDOWN();
}

TEST(breakpoint_table_is_bounded)
{
	SETUP(1);
	char cmd[64];

	for (int i = 0; i < GDB_MAX_BREAKPOINTS; i++) {
		snprintf(cmd, sizeof(cmd), "Z0,%x,1", 0x10000 + i);
		CHECK(ask(s, cmd, "OK"));
	}
	CHECK(ask(s, "Z0,20000,1", "E1c"));
	CHECK(f->nr_inserted == GDB_MAX_BREAKPOINTS);
	CHECK(ask(s, "D", "OK"));
	CHECK(f->nr_removed == GDB_MAX_BREAKPOINTS && f->nr_bps == 0);
	TEARDOWN();
}

/* --- running and stopping --------------------------------------------------- */

TEST(continue_to_breakpoint_and_step)
{
	SETUP(2);
	CHECK(ask(s, "qSupported:swbreak+", "PacketSize=1000;qXfer:features:read+;"
		  "vContSupported+;QStartNoAckMode+;swbreak+"));
	f->auto_stop = true;
	CHECK(ask(s, "Z0,10180,1", "OK"));
	fake_set_pc(f, 0, 0x10200);
	/* vCPU 1 starts at 0x10100 and stops at 0x10180, vCPU 0 runs off */
	CHECK(xchg(s, "c", "+$T05thread:2;swbreak:;#3c"));
	CHECK(f->last_act[0] == GDB_ACT_CONTINUE && f->last_act[1] == GDB_ACT_CONTINUE);
	CHECK(fake_get_pc(f, 1) == 0x10180);
	/* the stop thread is now the general one */
	CHECK(ask(s, "qC", "QC2"));
	/* s: the stop thread alone */
	CHECK(xchg(s, "s", "+$T05thread:2;#d8"));
	CHECK(f->last_act[0] == GDB_ACT_STOP && f->last_act[1] == GDB_ACT_STEP);
	CHECK(fake_get_pc(f, 1) == 0x10181);
	/* Hc picks who steps */
	CHECK(ask(s, "Hc1", "OK"));
	CHECK(xchg(s, "s", "+$T05thread:1;#d7"));
	CHECK(f->last_act[0] == GDB_ACT_STEP && f->last_act[1] == GDB_ACT_STOP);
	/* C/S carry a signal, which a VM has no use for */
	CHECK(xchg(s, "S05", "+$T05thread:1;#d7"));
	CHECK(xchg(s, "C05;10200", "+$T05thread:1;#d7"));
	CHECK(fake_get_pc(f, 0) == FAKE_MEM_END);
	CHECK(f->nr_resumes == 5);
	TEARDOWN();
}

TEST(continue_at_address)
{
	SETUP(1);
	f->auto_stop = true;
	CHECK(xchg(s, "s10300", "+$T05thread:1;#d7"));
	CHECK(fake_get_pc(f, 0) == 0x10301);
	CHECK(ask(s, "s10300x", "E16"));
	CHECK(ask(s, "Cxx", "E16"));
	CHECK(ask(s, "C05x", "E16"));
	TEARDOWN();
}

TEST(vcont_actions_per_thread)
{
	SETUP(3);
	/* gdb stepping thread 2 with the others running (scheduler-locking off) */
	send_pkt(s, "vCont;s:2;c");
	CHECK(!strcmp(take(s), "+"));
	CHECK(gdb_stub_state(s) == GDB_STATE_RUNNING);
	CHECK(f->last_act[0] == GDB_ACT_CONTINUE && f->last_act[1] == GDB_ACT_STEP &&
	      f->last_act[2] == GDB_ACT_CONTINUE);
	CHECK(gdb_stub_stopped(s, &(struct gdb_stop){ .cpu = 1 }) == 0);
	CHECK(!strcmp(take(s), "$T05thread:2;#d8"));
	/* leftmost wins; unnamed threads stay stopped */
	send_pkt(s, "vCont;c:3;s:3;s:1");
	CHECK(f->last_act[0] == GDB_ACT_STEP && f->last_act[1] == GDB_ACT_STOP &&
	      f->last_act[2] == GDB_ACT_CONTINUE);
	CHECK(gdb_stub_stopped(s, &(struct gdb_stop){ .cpu = 2,
		.reason = GDB_STOP_WATCH_WRITE, .addr = 0x10010 }) == 0);
	CHECK(!strcmp(take(s), "+$T05thread:3;watch:10010;#57"));
	/* -1: all; 0: any (the last stop's) */
	send_pkt(s, "vCont;C05:-1");
	CHECK(f->last_act[0] == GDB_ACT_CONTINUE && f->last_act[2] == GDB_ACT_CONTINUE);
	CHECK(gdb_stub_stopped(s, &(struct gdb_stop){ .cpu = 0,
		.reason = GDB_STOP_WATCH_READ, .addr = 0xabc }) == 0);
	CHECK(!strcmp(take(s), "+$T05thread:1;rwatch:abc;#fb"));
	send_pkt(s, "vCont;S05:0");
	CHECK(f->last_act[0] == GDB_ACT_STEP && f->last_act[1] == GDB_ACT_STOP);
	CHECK(gdb_stub_stopped(s, &(struct gdb_stop){ .cpu = 0,
		.reason = GDB_STOP_WATCH_ACCESS, .addr = 0 }) == 0);
	CHECK(!strcmp(take(s), "+$T05thread:1;awatch:0;#f4"));
	/* t alone: nothing runs, the stop is immediate */
	CHECK(f->nr_resumes == 4);
	CHECK(ask(s, "vCont;t", "T00thread:1;"));
	CHECK(f->nr_resumes == 4 && gdb_stub_state(s) == GDB_STATE_STOPPED);
	TEARDOWN();
}

TEST(vcont_malformed)
{
	SETUP(2);
	CHECK(ask(s, "vCont", "E16"));
	CHECK(ask(s, "vCont;", "E16"));
	CHECK(ask(s, "vCont;x", "E16"));
	CHECK(ask(s, "vCont;c:3", "E16"));      /* no such thread */
	CHECK(ask(s, "vCont;c:", "E16"));
	CHECK(ask(s, "vCont;c:1x", "E16"));
	CHECK(ask(s, "vCont;C", "E16"));
	CHECK(ask(s, "vCont;r1000,2000", "E16")); /* not offered */
	CHECK(ask(s, "vCont;c;", "E16"));
	CHECK(ask(s, "vContc", "E16"));
	CHECK(ask(s, "vCont;c:p1.1", "E16"));
	CHECK(f->nr_resumes == 0 && gdb_stub_state(s) == GDB_STATE_STOPPED);
	TEARDOWN();
}

TEST(ctrl_c_interrupts_running_guest)
{
	SETUP(2);
	uint8_t cc = 0x03;

	/* stopped: Ctrl-C means nothing */
	feed_raw(s, &cc, 1);
	CHECK(f->nr_interrupts == 0 && !strcmp(take(s), ""));
	send_pkt(s, "c");
	CHECK(!strcmp(take(s), "+"));
	/* running: packets are acked and dropped, all-stop gdb sends none */
	CHECK(xchg(s, "g", "+"));
	f->auto_stop = true;
	feed_raw(s, &cc, 1);
	CHECK(f->nr_interrupts == 1);
	CHECK(!strcmp(take(s), "$T02thread:1;#d4"));
	CHECK(ask(s, "?", "T02thread:1;"));
	TEARDOWN();
}

TEST(stopped_only_when_running)
{
	SETUP(2);
	struct gdb_stop st = { .cpu = 0 };

	CHECK(gdb_stub_stopped(s, &st) == -EINVAL);
	send_pkt(s, "c");
	st.cpu = 2;
	CHECK(gdb_stub_stopped(s, &st) == -EINVAL);
	st.cpu = 1;
	st.reason = (enum gdb_stop_reason)99;
	CHECK(gdb_stub_stopped(s, &st) == -EINVAL);
	st.reason = GDB_STOP_HWBREAK;
	CHECK(gdb_stub_stopped(s, &st) == 0);
	/* hwbreak not offered in qSupported: plain */
	CHECK(!strcmp(take(s), "+$T05thread:2;#d8"));
	CHECK(gdb_stub_stopped(s, &st) == -EINVAL);
	TEARDOWN();
}

TEST(resume_failure_is_an_error)
{
	SETUP(1);
	f->resume_result = -EBUSY;
	CHECK(ask(s, "c", "E10"));
	CHECK(ask(s, "vCont;s:1", "E10"));
	CHECK(gdb_stub_state(s) == GDB_STATE_STOPPED);
	f->resume_result = 0;
	send_pkt(s, "c");
	CHECK(gdb_stub_state(s) == GDB_STATE_RUNNING);
	TEARDOWN();
}

/* --- threads ------------------------------------------------------------------ */

TEST(thread_queries)
{
	SETUP(4);
	CHECK(ask(s, "qfThreadInfo", "m1,2,3,4"));
	CHECK(ask(s, "qsThreadInfo", "l"));
	CHECK(ask(s, "qsThreadInfo", "l"));
	CHECK(ask(s, "T1", "OK"));
	CHECK(ask(s, "T4", "OK"));
	CHECK(ask(s, "T5", "E03"));
	CHECK(ask(s, "T0", "E03"));
	CHECK(ask(s, "T-1", "E03"));
	CHECK(ask(s, "T", "E03"));
	/* "vCPU 3", hex-encoded */
	CHECK(ask(s, "qThreadExtraInfo,4", "764350552033"));
	CHECK(ask(s, "qThreadExtraInfo,5", "E16"));
	CHECK(ask(s, "qAttached:1", "1"));
	CHECK(ask(s, "Hg4", "OK"));
	CHECK(ask(s, "qC", "QC4"));
	CHECK(ask(s, "Hg0", "OK"));          /* any: stays */
	CHECK(ask(s, "qC", "QC4"));
	CHECK(ask(s, "Hc3", "OK"));
	CHECK(s->c_cpu == 2);
	CHECK(ask(s, "Hc0", "OK"));
	CHECK(s->c_cpu == -1);
	TEARDOWN();
}

TEST(thread_list_of_many_vcpus)
{
	SETUP(GDB_MAX_CPUS);
	char want[2048];
	size_t n = 1;

	want[0] = 'm';
	for (unsigned int i = 1; i <= GDB_MAX_CPUS; i++)
		n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%x",
				      i > 1 ? "," : "", i);
	CHECK(ask(s, "qfThreadInfo", want));
	CHECK(ask(s, "qsThreadInfo", "l"));
	CHECK(ask(s, "T100", "OK"));
	CHECK(ask(s, "T101", "E03"));
	CHECK(fake_init(f, s, NULL, GDB_MAX_CPUS + 1) == -EINVAL);
	CHECK(fake_init(f, s, NULL, 0) == -EINVAL);
	TEARDOWN();
}

/* --- target.xml ------------------------------------------------------------------ */

/* Read annex the way gdb does, in pieces of len; unescape; compare */
static int xfer_all(struct gdb_stub *s, const char *xml, unsigned int len)
{
	char got[8192], cmd[64];
	size_t off = 0, n = 0;

	for (int rounds = 0; rounds < 1000; rounds++) {
		const char *r;
		size_t rl;

		snprintf(cmd, sizeof(cmd), "qXfer:features:read:target.xml:%zx,%x",
			 off, len);
		send_pkt(s, cmd);
		r = take(s);
		/* "+$" m|l data "#cs" */
		rl = strlen(r);
		if (rl < 6 || r[0] != '+' || r[1] != '$' || (r[2] != 'm' && r[2] != 'l'))
			return 0;
		for (size_t i = 3; i < rl - 3; i++) {
			char c = r[i];

			if (c == '$' || c == '#' || c == '*')
				return 0; /* must have been escaped */
			if (c == '}')
				c = r[++i] ^ 0x20;
			if (n >= sizeof(got) - 1)
				return 0;
			got[n++] = c;
			off++;
		}
		if (r[2] == 'l') {
			got[n] = 0;
			return n == strlen(xml) && !strcmp(got, xml);
		}
	}
	return 0;
}

TEST(target_xml_in_pieces)
{
	SETUP(1);
	CHECK(xfer_all(s, fake_target.xml, 0xfff));
	CHECK(xfer_all(s, fake_target.xml, 1));
	CHECK(xfer_all(s, fake_target.xml, 7));
	CHECK(xfer_all(s, fake_target.xml, 0xffffffff));
	CHECK(ask(s, "qXfer:features:read:target.xml:10000,100", "l"));
	CHECK(ask(s, "qXfer:features:read:target.xml:ffffffffffffffff,ffffffffffffffff", "l"));
	CHECK(ask(s, "qXfer:features:read:other.xml:0,100", "E00"));
	CHECK(ask(s, "qXfer:features:read:target.xml:0", "E00"));
	CHECK(ask(s, "qXfer:features:read:target.xml:0,0", "E00"));
	CHECK(ask(s, "qXfer:features:read:target.xml", "E00"));
	CHECK(ask(s, "qXfer:features:read:", "E00"));
	TEARDOWN();
}

/* --- ending ------------------------------------------------------------------------ */

TEST(detach_removes_everything_and_resumes)
{
	SETUP(2);
	CHECK(ask(s, "Z0,10010,1", "OK"));
	CHECK(ask(s, "Z1,10020,1", "OK"));
	CHECK(ask(s, "Z2,10100,4", "OK"));
	CHECK(xchg(s, "D;1", "+$OK#9a"));
	CHECK(f->nr_bps == 0 && f->nr_removed == 3);
	CHECK(f->nr_resumes == 1);
	CHECK(f->last_act[0] == GDB_ACT_CONTINUE && f->last_act[1] == GDB_ACT_CONTINUE);
	CHECK(gdb_stub_state(s) == GDB_STATE_DETACHED);
	/* what comes after is dropped; detaching again does nothing */
	CHECK(xchg(s, "g", ""));
	gdb_stub_detach(s);
	CHECK(f->nr_resumes == 1 && f->nr_removed == 3);
	TEARDOWN();
}

TEST(connection_lost_while_running)
{
	SETUP(2);
	CHECK(ask(s, "Z0,10010,1", "OK"));
	send_pkt(s, "c");
	gdb_stub_detach(s);
	/* the breakpoints go; the guest was running already */
	CHECK(f->nr_bps == 0 && f->nr_resumes == 1);
	CHECK(gdb_stub_state(s) == GDB_STATE_DETACHED);
	TEARDOWN();
}

TEST(kill_removes_everything_and_stays_stopped)
{
	SETUP(2);
	CHECK(ask(s, "Z0,10010,1", "OK"));
	CHECK(xchg(s, "k", "+"));
	CHECK(f->nr_bps == 0 && f->nr_resumes == 0);
	CHECK(gdb_stub_state(s) == GDB_STATE_KILLED);
	TEARDOWN();
}

TEST(guest_exit)
{
	SETUP(2);
	send_pkt(s, "c");
	take(s);
	gdb_stub_exited(s, 0);
	CHECK(!strcmp(take(s), "$W00#b7"));
	CHECK(gdb_stub_state(s) == GDB_STATE_EXITED);
	CHECK(ask(s, "?", "W00"));
	CHECK(ask(s, "g", "E03"));
	CHECK(ask(s, "m10000,4", "E03"));
	CHECK(ask(s, "Z0,10010,1", "E03"));
	CHECK(ask(s, "c", "W00"));
	CHECK(ask(s, "vCont;c", "W00"));
	/* an exit while stopped is told at the next resume */
	CHECK(fake_init(f, s, NULL, 2) == 0);
	gdb_stub_exited(s, 0x2a);
	CHECK(!strcmp(take(s), ""));
	CHECK(ask(s, "s", "W2a"));
	CHECK(f->nr_resumes == 0);
	TEARDOWN();
}

TEST(no_ack_mode)
{
	SETUP(1);
	CHECK(ask(s, "QStartNoAckMode", "OK"));
	CHECK(xchg(s, "qC", "$QC1#c5"));
	/* a NAK means nothing now, nor does a bad checksum get one */
	feed_raw(s, "-", 1);
	CHECK(!strcmp(take(s), ""));
	feed_raw(s, "$qC#00", 6);
	CHECK(!strcmp(take(s), ""));
	TEARDOWN();
}

TEST(output_back_pressure)
{
	SETUP(1);
	/* 200 "m" packets of 2 KiB replies each, never drained */
	static char stream[200 * 24];
	size_t len = 0, off = 0, replies = 0, used;
	const uint8_t *p;

	for (int i = 0; i < 200; i++)
		len += frame(stream + len, sizeof(stream) - len, "m10000,800", 10);
	used = gdb_stub_input(s, (const uint8_t *)stream, len);
	CHECK(used > 0 && used < len);
	/* drain and go on, like the event loop would */
	for (;;) {
		size_t n = gdb_stub_output(s, &p);

		off += used;
		for (size_t i = 0; i < n; i++)
			replies += p[i] == '$';
		gdb_stub_output_done(s, n);
		if (off == len)
			break;
		used = gdb_stub_input(s, (const uint8_t *)stream + off, len - off);
		CHECK(used > 0);
	}
	CHECK(replies == 200);
	TEARDOWN();
}

TEST(fake_target_xml)
{
	static const char *const names[] = { "r0", "r1", "pc", "flags" };

	CHECK(fake_xml_matches(&fake_target, names));
}

TEST(init_checks)
{
	struct gdb_stub *s = calloc(1, sizeof(*s));
	struct gdb_target t = fake_target;
	static const uint8_t huge[2] = { 255, 255 };
	uint8_t *many = calloc(GDB_REGS_MAX, 1);

	CHECK(s && many);
	CHECK(gdb_stub_init(s, &t, &fake_ops, NULL, 1) == 0);
	CHECK(gdb_stub_init(s, NULL, &fake_ops, NULL, 1) == -EINVAL);
	CHECK(gdb_stub_init(s, &t, NULL, NULL, 1) == -EINVAL);
	t.pc_reg = 4;
	CHECK(gdb_stub_init(s, &t, &fake_ops, NULL, 1) == -EINVAL);
	t = fake_target;
	t.nr_regs = 0;
	CHECK(gdb_stub_init(s, &t, &fake_ops, NULL, 1) == -EINVAL);
	/* too many register bytes for a 'g' reply */
	memset(many, 1, GDB_REGS_MAX);
	t = fake_target;
	t.reg_bytes = many;
	t.nr_regs = GDB_REGS_MAX;
	CHECK(gdb_stub_init(s, &t, &fake_ops, NULL, 1) == 0);
	many[0] = 2;
	CHECK(gdb_stub_init(s, &t, &fake_ops, NULL, 1) == -EINVAL);
	t.reg_bytes = huge;
	t.nr_regs = 2;
	t.pc_reg = 0;
	CHECK(gdb_stub_init(s, &t, &fake_ops, NULL, 1) == 0);
	free(many);
	free(s);
}

/* --- guest-virtual copies (vmm/gva.c) ---------------------------------------------- */

/*
 * A walker for the tests: pages of 4 KiB; va page n maps to gpa page
 * map[n], or nothing if map[n] is ~0; va above the table is unmapped.
 */
struct toy_mmu {
	uint64_t map[8];
};

static int toy_walk(const struct guest_mem *m, const void *mmu, uint64_t va,
		    struct gva_map *out)
{
	const struct toy_mmu *t = mmu;

	if (va >> 15 || t->map[va >> 12] == ~0ULL)
		return -EFAULT;
	out->gpa = t->map[va >> 12] + (va & 0xfff);
	out->len = 0x1000 - (va & 0xfff);
	return 0;
}

/* A huge page at the top of the address space, mapping to gpa 0 */
static int top_walk(const struct guest_mem *m, const void *mmu, uint64_t va,
		    struct gva_map *out)
{
	if (va < 0xfffffffffffff000ULL)
		return -EFAULT;
	out->gpa = va - 0xfffffffffffff000ULL;
	out->len = 0 - va;
	return 0;
}

TEST(gva_copies_page_by_page)
{
	const uint64_t ranges[][2] = { { 0, 0x8000 }, { 0x10000, 0x8000 } };
	struct toy_mmu t = { { 0x3000, 0x10000, 0x1000, ~0ULL, 0x7000, 0x8000,
			       0x17000, ~0ULL } };
	struct guest_mem m;
	uint8_t buf[0x3000], *g;

	CHECK(guest_mem_init(&m, ranges, 2) == 0);
	g = gpa_ptr(&m, 0, 0x8000);
	for (int i = 0; i < 0x8000; i++)
		g[i] = (uint8_t)(i >> 4);
	/* va 0xff8..0x1008: gpa 0x3ff8.. then 0x10000.. */
	CHECK(gva_read(&m, toy_walk, &t, 0xff8, buf, 16) == 16);
	CHECK(buf[0] == (uint8_t)(0x3ff8 >> 4) && buf[8] == 0);
	/* up to the unmapped page 3: short */
	CHECK(gva_read(&m, toy_walk, &t, 0x2000, buf, 0x3000) == 0x1000);
	CHECK(gva_read(&m, toy_walk, &t, 0x3000, buf, 4) == -EFAULT);
	/* page 5 maps to 0x8000, outside RAM: stops there */
	CHECK(gva_read(&m, toy_walk, &t, 0x4ffc, buf, 8) == 4);
	CHECK(gva_read(&m, toy_walk, &t, 0x5000, buf, 8) == -EFAULT);
	/* writes go where reads come from */
	CHECK(gva_write(&m, toy_walk, &t, 0x1ffe, "\xaa\xbb\xcc\xdd", 4) == 4);
	/* va page 1 is gpa 0x10000, page 2 is gpa 0x1000 */
	g = gpa_ptr(&m, 0x10ffe, 2);
	CHECK(g && g[0] == 0xaa && g[1] == 0xbb);
	g = gpa_ptr(&m, 0x1000, 2);
	CHECK(g && g[0] == 0xcc && g[1] == 0xdd);
	CHECK(gva_write(&m, toy_walk, &t, 0x6ffe, "\x01\x02\x03\x04", 4) == 2);
	CHECK(gva_read(&m, toy_walk, &t, 0, buf, 0) == -EINVAL);
	/* the top of the address space: no wrap */
	CHECK(gva_read(&m, top_walk, NULL, 0xfffffffffffffffcULL, buf, 16) == 4);
	CHECK(buf[0] == *(uint8_t *)gpa_ptr(&m, 0xffc, 1));
	guest_mem_destroy(&m);
}

UNIT_MAIN("gdbstub",
	  T(handshake_as_gdb_does_it), T(qsupported_without_swbreak),
	  T(bad_checksum_is_naked_and_not_run), T(nak_resends_last_reply),
	  T(non_hex_checksum_naks_and_resyncs), T(noise_and_restart),
	  T(oversized_packet_naked), T(split_anywhere_same_result),
	  T(empty_and_unknown_packets), T(read_write_registers),
	  T(malformed_register_packets), T(read_memory),
	  T(read_memory_huge_lengths_are_cut), T(write_memory_hex),
	  T(write_memory_binary), T(breakpoints_inserted_once_removed_once),
	  T(breakpoint_backend_answers), T(breakpoint_table_is_bounded),
	  T(continue_to_breakpoint_and_step), T(continue_at_address),
	  T(vcont_actions_per_thread), T(vcont_malformed),
	  T(ctrl_c_interrupts_running_guest), T(stopped_only_when_running),
	  T(resume_failure_is_an_error), T(thread_queries),
	  T(thread_list_of_many_vcpus), T(target_xml_in_pieces),
	  T(detach_removes_everything_and_resumes),
	  T(connection_lost_while_running),
	  T(kill_removes_everything_and_stays_stopped), T(guest_exit),
	  T(no_ack_mode), T(output_back_pressure), T(fake_target_xml),
	  T(init_checks),
	  T(gva_copies_page_by_page))
