/* SPDX-License-Identifier: MIT */
/*
 * The GDB remote serial protocol, as a pure engine: bytes from the client
 * go in (gdb_stub_input), bytes for it come out (gdb_stub_output), and
 * everything that touches the guest goes through a struct gdb_backend of
 * callbacks. No KVM, no sockets, no threads, no allocation: the caller
 * owns the struct gdb_stub (about 32 KiB) and calls every gdb_stub_*
 * function from one thread; the backend's callbacks run inside those
 * calls.
 *
 * All-stop mode only. vCPU n is GDB thread n + 1. What the engine does:
 *  - framing: $data#cs with +/- acks (a NAK for a bad checksum, an
 *    oversized or malformed packet; our last reply again on a '-'),
 *    QStartNoAckMode, Ctrl-C (0x03 between packets) while running;
 *  - qSupported (PacketSize, qXfer:features:read+, vContSupported+,
 *    QStartNoAckMode+, swbreak+/hwbreak+ when gdb offers them),
 *    qXfer:features:read:target.xml, ?, g/G, p/P, m/M/X, c/s/C/S,
 *    vCont?/vCont with c/C/s/S/t per thread, H g/c, T, qfThreadInfo/
 *    qsThreadInfo, qC, qAttached (1: quitting gdb detaches), 
 *    qThreadExtraInfo, Z0-Z4/z0-z4, D, k, vMustReplyEmpty; an empty
 *    reply for everything else;
 *  - stop replies T<sig>thread:<tid>; with swbreak:/hwbreak:/watch:/
 *    rwatch:/awatch:<addr>; when the backend says why it stopped;
 *  - it remembers every breakpoint and watchpoint inserted, so detaching
 *    (D, or gdb_stub_detach when the connection goes away) removes them
 *    all before the vCPUs run on.
 * Limits whatever the client sends: packets of up to GDB_PACKET_MAX
 * bytes of data (longer ones are NAKed), memory transfers of what fits
 * one reply, GDB_MAX_BREAKPOINTS breakpoints and watchpoints.
 */
#ifndef VMM_GDBSTUB_H
#define VMM_GDBSTUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GDB_PACKET_MAX      4096 /* data bytes of a packet, ours or gdb's */
#define GDB_MAX_CPUS        256
#define GDB_REGS_MAX        2048 /* bytes of the 'g' layout: 2x fits a packet */
#define GDB_MAX_BREAKPOINTS 64

/* GDB's signal numbers in stop replies */
#define GDB_SIGNAL_INT  2
#define GDB_SIGNAL_TRAP 5

/* Z/z packet types; the numbers are the protocol's */
enum gdb_bp_type {
	GDB_BP_SW = 0,       /* software breakpoint; kind = instruction bytes */
	GDB_BP_HW = 1,       /* hardware breakpoint; kind as for GDB_BP_SW */
	GDB_WATCH_WRITE = 2, /* watchpoints; kind = bytes watched */
	GDB_WATCH_READ = 3,
	GDB_WATCH_ACCESS = 4,
};

/* What one vCPU does when the stub resumes the guest */
enum gdb_action {
	GDB_ACT_STOP,     /* stays stopped */
	GDB_ACT_CONTINUE,
	GDB_ACT_STEP,     /* one instruction, then stop */
};

/* Why the vCPUs stopped, as the backend reports it */
enum gdb_stop_reason {
	GDB_STOP_TRAP,        /* a step finished, or stopped for another reason */
	GDB_STOP_INTERRUPT,   /* after backend->interrupt (Ctrl-C): SIGINT */
	GDB_STOP_SWBREAK,     /* a software breakpoint; PC is its address */
	GDB_STOP_HWBREAK,     /* a hardware breakpoint */
	GDB_STOP_WATCH_WRITE, /* a watchpoint; addr is the data address */
	GDB_STOP_WATCH_READ,
	GDB_STOP_WATCH_ACCESS,
};

struct gdb_stop {
	unsigned int cpu;     /* the vCPU that stopped (GDB thread cpu + 1) */
	enum gdb_stop_reason reason;
	uint64_t addr;        /* for GDB_STOP_WATCH_* */
};

/*
 * The registers of one vCPU as GDB sees them: target.xml's registers in
 * order, each reg_bytes[n] bytes in the guest's byte order; 'g' sends
 * them all, 'p n' one. Sum of reg_bytes <= GDB_REGS_MAX.
 */
struct gdb_target {
	const char *xml;          /* target.xml, served by qXfer:features:read */
	unsigned int nr_regs;
	const uint8_t *reg_bytes; /* [nr_regs] */
	unsigned int pc_reg;      /* the PC's number, for "c ADDR" / "s ADDR" */
};

/* Bytes of the 'g' layout of t: the sum of its reg_bytes. */
size_t gdb_target_regs_size(const struct gdb_target *t);

/*
 * What the engine needs from the VM. Every callback gets the opaque
 * pointer given to gdb_stub_init; cpu < the nr_cpus given there. Register
 * and memory callbacks, and insert/remove, are only called while the
 * vCPUs are stopped, except the removals gdb_stub_detach makes while they
 * run. Each returns 0 (or a byte count) or -errno.
 */
struct gdb_backend {
	/* All registers of vCPU cpu in the target's layout (regs_size bytes). */
	int (*read_regs)(void *opaque, unsigned int cpu, uint8_t *buf);
	int (*write_regs)(void *opaque, unsigned int cpu, const uint8_t *buf);
	/*
	 * Guest-virtual memory as vCPU cpu sees it (its page tables). Returns
	 * the bytes copied, 1..len (short where a page is not mapped), or
	 * -errno (-EFAULT) when not even the first byte is.
	 */
	int (*read_mem)(void *opaque, unsigned int cpu, uint64_t addr,
			uint8_t *buf, size_t len);
	int (*write_mem)(void *opaque, unsigned int cpu, uint64_t addr,
			 const uint8_t *buf, size_t len);
	/*
	 * A breakpoint or watchpoint on every vCPU, and its removal (called
	 * only for what insert accepted, with the same arguments). kind is
	 * the Z packet's: the breakpoint instruction's size or the bytes
	 * watched. -EOPNOTSUPP gives gdb the empty reply "not supported" (for
	 * GDB_BP_SW it then writes breakpoint instructions itself with M/X),
	 * -ENOSPC says no debug register is free.
	 */
	int (*insert_bp)(void *opaque, enum gdb_bp_type type, uint64_t addr,
			 uint64_t kind);
	int (*remove_bp)(void *opaque, enum gdb_bp_type type, uint64_t addr,
			 uint64_t kind);
	/*
	 * Let the vCPUs run, act[cpu] for each of them (at least one is not
	 * GDB_ACT_STOP). All-stop: once one of them stops for a reason gdb
	 * must hear of, the backend stops all of them and then calls
	 * gdb_stub_stopped(). 0, or -errno and nothing runs.
	 */
	int (*resume)(void *opaque, const enum gdb_action *act);
	/*
	 * Ctrl-C while the vCPUs run: stop them all, then report
	 * GDB_STOP_INTERRUPT with gdb_stub_stopped(). May do so before
	 * returning; may be called again (an impatient user) before it has.
	 */
	void (*interrupt)(void *opaque);
};

enum gdb_state {
	GDB_STATE_STOPPED,  /* the vCPUs are stopped; gdb issues commands */
	GDB_STATE_RUNNING,  /* resumed; waiting for gdb_stub_stopped() */
	GDB_STATE_EXITED,   /* the guest ended (gdb_stub_exited) */
	GDB_STATE_DETACHED, /* D or gdb_stub_detach: everything removed, */
	                    /* the guest runs on; close once output is out */
	GDB_STATE_KILLED,   /* k: everything removed, the vCPUs stay stopped; */
	                    /* the caller ends the VM (as QEMU does) or resumes */
};

struct gdb_bp {
	enum gdb_bp_type type;
	uint64_t addr, kind;
};

/* Input framing */
enum gdb_rx {
	GDB_RX_IDLE,    /* between packets */
	GDB_RX_DATA,    /* after '$' */
	GDB_RX_CSUM1,   /* after '#' */
	GDB_RX_CSUM2,
};

/* One connection's state. gdb_stub_init() sets every field. */
struct gdb_stub {
	const struct gdb_target *target;
	const struct gdb_backend *ops;
	void *opaque;
	unsigned int nr_cpus;
	size_t regs_size;
	enum gdb_state state;
	struct gdb_stop stop;     /* the last stop, for '?' */
	uint8_t exit_code;        /* for GDB_STATE_EXITED */
	unsigned int g_cpu;       /* Hg: registers and memory */
	int c_cpu;                /* Hc: s/c/S/C; -1 all (any) */
	unsigned int thread_iter; /* qsThreadInfo's next vCPU */
	bool no_ack;              /* after QStartNoAckMode */
	bool swbreak, hwbreak;    /* gdb offered them in qSupported */

	/* the packet being received */
	enum gdb_rx rx;
	bool rx_overflow;
	uint8_t rx_sum, rx_csum;
	size_t rx_len;
	char rx_buf[GDB_PACKET_MAX + 1];

	/* what waits for the caller to send; our last packet, for a NAK */
	size_t out_len;
	uint8_t out[3 * (GDB_PACKET_MAX + 8)];
	size_t last_len;
	uint8_t last[GDB_PACKET_MAX + 4];

	/* a reply being built; scratch for registers and memory */
	size_t reply_len;
	char reply[GDB_PACKET_MAX];
	uint8_t regs[GDB_REGS_MAX];
	uint8_t mem[GDB_PACKET_MAX / 2];

	unsigned int nr_bps;
	struct gdb_bp bp[GDB_MAX_BREAKPOINTS];
	enum gdb_action act[GDB_MAX_CPUS];
};

/*
 * Ready s for a new connection to a guest of nr_cpus vCPUs that the caller
 * has stopped already (gdb expects a stopped target; the first '?' says
 * vCPU 0 stopped with SIGTRAP). Returns 0, or -EINVAL for a target whose
 * registers do not fit GDB_REGS_MAX, missing callbacks or nr_cpus not in
 * 1..GDB_MAX_CPUS.
 */
int gdb_stub_init(struct gdb_stub *s, const struct gdb_target *t,
		  const struct gdb_backend *ops, void *opaque,
		  unsigned int nr_cpus) __attribute__((warn_unused_result));

/*
 * Feed len bytes from the client. Returns how many were taken: all of
 * them, or fewer when the output buffer has no room left for a reply;
 * then send the output and feed the rest again (and stop reading the
 * socket meanwhile: a client that never reads its replies must not make
 * vmm buffer without bound).
 */
size_t gdb_stub_input(struct gdb_stub *s, const uint8_t *data, size_t len);

/* Bytes waiting to be sent to the client (*data points at them). */
size_t gdb_stub_output(const struct gdb_stub *s, const uint8_t **data);
/* The first n of them have been sent. */
void gdb_stub_output_done(struct gdb_stub *s, size_t n);

/*
 * The backend: every vCPU is stopped after a resume or an interrupt;
 * sends the stop reply gdb waits for. -EINVAL (and nothing sent) if the
 * stub was not waiting for one or stop->cpu is out of range.
 */
int gdb_stub_stopped(struct gdb_stub *s, const struct gdb_stop *stop);

/*
 * The guest is gone (shut down, reset into nothing): tells a waiting gdb
 * "process exited with code" (W), or the next time it resumes.
 */
void gdb_stub_exited(struct gdb_stub *s, uint8_t code);

/*
 * The connection is going away (closed, or vmm quits): remove every
 * breakpoint and watchpoint and let stopped vCPUs run on. Also what 'D'
 * does. Idempotent.
 */
void gdb_stub_detach(struct gdb_stub *s);

static inline enum gdb_state gdb_stub_state(const struct gdb_stub *s)
{
	return s->state;
}

#endif
