// SPDX-License-Identifier: MIT
/*
 * The GDB remote serial protocol engine (see gdbstub.h). Input is framed
 * byte by byte into a fixed buffer, so a packet's fate depends only on
 * its bytes and not on how the stream was cut; a complete packet is
 * acked and handled at once, and its reply built in a fixed buffer that
 * no reply can outgrow: memory reads are cut to what fits, thread lists
 * and target.xml come in pieces, register sets are bounded by
 * GDB_REGS_MAX. Everything a client sends is parsed with explicit
 * lengths (X packets carry NULs).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gdbstub.h"

/*
 * Room to keep in the output buffer before taking another input byte:
 * one reply, its ack, and a stop reply that the backend may report
 * whenever it likes while the vCPUs run.
 */
#define STOP_REPLY_MAX 128
#define OUT_RESERVE    (GDB_PACKET_MAX + 4 + 1 + STOP_REPLY_MAX)

_Static_assert(sizeof(((struct gdb_stub *)0)->out) >= 2 * OUT_RESERVE,
	       "output buffer too small for its reserve");
_Static_assert(2 * GDB_REGS_MAX <= GDB_PACKET_MAX, "'g' reply too large");
_Static_assert(2 * sizeof(((struct gdb_stub *)0)->mem) <= GDB_PACKET_MAX,
	       "'m' reply too large");

static const char hexdig[] = "0123456789abcdef";

/* A cursor over a packet's data (not NUL-terminated for our purposes). */
struct cur {
	const char *p, *end;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool at_end(const struct cur *c)
{
	return c->p == c->end;
}

static bool eat(struct cur *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* Does the rest of c start with s (and then take it)? */
static bool eat_str(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n))
		return false;
	c->p += n;
	return true;
}

/* Is the whole rest of c exactly s? */
static bool is_str(const struct cur *c, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(c->end - c->p) == n && !memcmp(c->p, s, n);
}

/* One or more hex digits, up to 64 bits: 0, or -EINVAL (none, overflow). */
static int get_hex(struct cur *c, uint64_t *v)
{
	uint64_t x = 0;
	const char *start = c->p;
	int d;

	while (c->p < c->end && (d = hexval(*c->p)) >= 0) {
		if (x >> 60)
			return -EINVAL;
		x = x << 4 | (uint64_t)d;
		c->p++;
	}
	if (c->p == start)
		return -EINVAL;
	*v = x;
	return 0;
}

/*
 * A thread id: "-1" (all: *cpu = -1), "0" (any: *cpu = -2), or a vCPU's
 * id (1..nr_cpus: *cpu = id - 1). 0 or -EINVAL.
 */
static int get_thread(const struct gdb_stub *s, struct cur *c, int *cpu)
{
	uint64_t id;

	if (eat_str(c, "-1")) {
		*cpu = -1;
		return 0;
	}
	if (get_hex(c, &id))
		return -EINVAL;
	if (id == 0)
		*cpu = -2;
	else if (id <= s->nr_cpus)
		*cpu = (int)(id - 1);
	else
		return -EINVAL;
	return 0;
}

/* Decode exactly n bytes of hex from c into out: 0 or -EINVAL. */
static int get_hex_bytes(struct cur *c, uint8_t *out, size_t n)
{
	if ((size_t)(c->end - c->p) / 2 < n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(c->p[0]), lo = hexval(c->p[1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
		c->p += 2;
	}
	return 0;
}

/* --- output ------------------------------------------------------------- */

static size_t out_room(const struct gdb_stub *s)
{
	return sizeof(s->out) - s->out_len;
}

/* Raw bytes to the client. The reserve rules make the room certain. */
static void out_put(struct gdb_stub *s, const void *p, size_t n)
{
	if (n > out_room(s))
		n = out_room(s); /* cannot happen: see OUT_RESERVE */
	memcpy(s->out + s->out_len, p, n);
	s->out_len += n;
}

static void out_byte(struct gdb_stub *s, uint8_t b)
{
	out_put(s, &b, 1);
}

/* $data#cs; kept for a retransmission if gdb NAKs it */
static void send_packet(struct gdb_stub *s, const char *data, size_t n)
{
	uint8_t sum = 0;
	size_t i;

	if (n > GDB_PACKET_MAX)
		n = GDB_PACKET_MAX;
	for (i = 0; i < n; i++)
		sum = (uint8_t)(sum + (uint8_t)data[i]);
	s->last[0] = '$';
	memcpy(s->last + 1, data, n);
	s->last[n + 1] = '#';
	s->last[n + 2] = (uint8_t)hexdig[sum >> 4];
	s->last[n + 3] = (uint8_t)hexdig[sum & 15];
	s->last_len = n + 4;
	out_put(s, s->last, s->last_len);
}

/* The reply under construction: s->reply[0..reply_len) */
static void r_reset(struct gdb_stub *s)
{
	s->reply_len = 0;
}

static void r_mem(struct gdb_stub *s, const void *p, size_t n)
{
	if (n > sizeof(s->reply) - s->reply_len)
		n = sizeof(s->reply) - s->reply_len;
	memcpy(s->reply + s->reply_len, p, n);
	s->reply_len += n;
}

static void r_str(struct gdb_stub *s, const char *str)
{
	r_mem(s, str, strlen(str));
}

/* v in hex without leading zeros */
static void r_num(struct gdb_stub *s, uint64_t v)
{
	char buf[16];
	size_t n = 0;

	do {
		buf[n++] = hexdig[v & 15];
		v >>= 4;
	} while (v);
	while (n && s->reply_len < sizeof(s->reply))
		s->reply[s->reply_len++] = buf[--n];
}

static void r_hex(struct gdb_stub *s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && s->reply_len + 2 <= sizeof(s->reply); i++) {
		s->reply[s->reply_len++] = hexdig[p[i] >> 4];
		s->reply[s->reply_len++] = hexdig[p[i] & 15];
	}
}

static void r_send(struct gdb_stub *s)
{
	send_packet(s, s->reply, s->reply_len);
}

static void reply(struct gdb_stub *s, const char *str)
{
	send_packet(s, str, strlen(str));
}

/* "Enn" for -errno; gdb only shows that it failed */
static void reply_err(struct gdb_stub *s, int err)
{
	char buf[4];
	unsigned int e = (unsigned int)(err < 0 ? -err : err) & 0xff;

	buf[0] = 'E';
	buf[1] = hexdig[e >> 4];
	buf[2] = hexdig[e & 15];
	buf[3] = 0;
	reply(s, buf);
}

static void send_stop(struct gdb_stub *s, const struct gdb_stop *st,
		      unsigned int sig)
{
	uint8_t sigbyte;
	static const char *const watch[] = {
		[GDB_STOP_WATCH_WRITE] = "watch",
		[GDB_STOP_WATCH_READ] = "rwatch",
		[GDB_STOP_WATCH_ACCESS] = "awatch",
	};

	r_reset(s);
	sigbyte = (uint8_t)sig;
	r_str(s, "T");
	r_hex(s, &sigbyte, 1);
	r_str(s, "thread:");
	r_num(s, st->cpu + 1ULL);
	r_str(s, ";");
	switch (st->reason) {
	case GDB_STOP_SWBREAK:
		if (s->swbreak)
			r_str(s, "swbreak:;");
		break;
	case GDB_STOP_HWBREAK:
		if (s->hwbreak)
			r_str(s, "hwbreak:;");
		break;
	case GDB_STOP_WATCH_WRITE:
	case GDB_STOP_WATCH_READ:
	case GDB_STOP_WATCH_ACCESS:
		r_str(s, watch[st->reason]);
		r_str(s, ":");
		r_num(s, st->addr);
		r_str(s, ";");
		break;
	case GDB_STOP_TRAP:
	case GDB_STOP_INTERRUPT:
		break;
	}
	r_send(s);
}

static unsigned int stop_signal(const struct gdb_stop *st)
{
	return st->reason == GDB_STOP_INTERRUPT ? GDB_SIGNAL_INT : GDB_SIGNAL_TRAP;
}

static void send_exit(struct gdb_stub *s)
{
	r_reset(s);
	r_str(s, "W");
	r_hex(s, &s->exit_code, 1);
	r_send(s);
}

/* --- breakpoints ---------------------------------------------------------- */

static int bp_find(const struct gdb_stub *s, enum gdb_bp_type type,
		   uint64_t addr, uint64_t kind)
{
	for (unsigned int i = 0; i < s->nr_bps; i++)
		if (s->bp[i].type == type && s->bp[i].addr == addr &&
		    s->bp[i].kind == kind)
			return (int)i;
	return -1;
}

static void bp_forget(struct gdb_stub *s, unsigned int i)
{
	s->bp[i] = s->bp[--s->nr_bps];
}

static void remove_all(struct gdb_stub *s)
{
	/* whatever a removal says, the entry goes: detaching cannot wait */
	while (s->nr_bps) {
		const struct gdb_bp *b = &s->bp[s->nr_bps - 1];

		(void)s->ops->remove_bp(s->opaque, b->type, b->addr, b->kind);
		s->nr_bps--;
	}
}

/* Z/z type,addr,kind */
static void cmd_breakpoint(struct gdb_stub *s, struct cur *c, bool insert)
{
	uint64_t type, addr, kind;
	int i, ret;

	if (get_hex(c, &type) || !eat(c, ',') || get_hex(c, &addr) ||
	    !eat(c, ',') || get_hex(c, &kind) || !at_end(c)) {
		reply_err(s, -EINVAL);
		return;
	}
	if (type > GDB_WATCH_ACCESS) {
		reply(s, ""); /* the protocol's answer to an unknown type */
		return;
	}
	i = bp_find(s, (enum gdb_bp_type)type, addr, kind);
	if (insert) {
		/* Z is idempotent: gdb may insert what is there already */
		if (i >= 0) {
			reply(s, "OK");
			return;
		}
		if (s->nr_bps == GDB_MAX_BREAKPOINTS) {
			reply_err(s, -ENOSPC);
			return;
		}
		ret = s->ops->insert_bp(s->opaque, (enum gdb_bp_type)type, addr,
					kind);
		if (ret == -EOPNOTSUPP) {
			reply(s, "");
			return;
		}
		if (ret < 0) {
			reply_err(s, ret);
			return;
		}
		s->bp[s->nr_bps++] = (struct gdb_bp){ (enum gdb_bp_type)type,
						      addr, kind };
		reply(s, "OK");
		return;
	}
	if (i < 0) {
		reply(s, "OK");
		return;
	}
	ret = s->ops->remove_bp(s->opaque, (enum gdb_bp_type)type, addr, kind);
	if (ret < 0) {
		reply_err(s, ret);
		return;
	}
	bp_forget(s, (unsigned int)i);
	reply(s, "OK");
}

/* --- resuming ------------------------------------------------------------- */

/* The vCPU that "any thread" means for resuming: Hc's, else the last stop's */
static unsigned int resume_cpu(const struct gdb_stub *s)
{
	return s->c_cpu >= 0 ? (unsigned int)s->c_cpu : s->stop.cpu;
}

/* Run with s->act; no reply now: the stop reply comes later. */
static void do_resume(struct gdb_stub *s)
{
	bool any = false;
	int ret;

	if (s->state == GDB_STATE_EXITED) {
		send_exit(s);
		return;
	}
	for (unsigned int i = 0; i < s->nr_cpus; i++)
		any |= s->act[i] != GDB_ACT_STOP;
	if (!any) {
		/* vCont;t alone: nothing runs, so it has stopped already */
		struct gdb_stop st = { .cpu = s->stop.cpu, .reason = GDB_STOP_TRAP };

		send_stop(s, &st, 0);
		return;
	}
	/* before the call: the backend may report the stop inside it */
	s->state = GDB_STATE_RUNNING;
	ret = s->ops->resume(s->opaque, s->act);
	if (ret < 0) {
		s->state = GDB_STATE_STOPPED;
		reply_err(s, ret);
	}
}

static int set_pc(struct gdb_stub *s, unsigned int cpu, uint64_t pc)
{
	size_t off = 0, n = s->target->reg_bytes[s->target->pc_reg];
	int ret;

	for (unsigned int i = 0; i < s->target->pc_reg; i++)
		off += s->target->reg_bytes[i];
	ret = s->ops->read_regs(s->opaque, cpu, s->regs);
	if (ret < 0)
		return ret;
	/* the PC in the guest's byte order: both our targets are little-endian */
	for (size_t i = 0; i < n; i++)
		s->regs[off + i] = (uint8_t)(i < 8 ? pc >> (8 * i) : 0);
	return s->ops->write_regs(s->opaque, cpu, s->regs);
}

/* c [addr], s [addr], C sig[;addr], S sig[;addr] */
static void cmd_resume(struct gdb_stub *s, struct cur *c, bool step, bool sig)
{
	unsigned int cpu = resume_cpu(s);
	uint64_t v;
	int ret;

	/* there are no signals to give a VM: the number is read and dropped */
	if (sig && (get_hex(c, &v) || (!at_end(c) && !eat(c, ';')))) {
		reply_err(s, -EINVAL);
		return;
	}
	if (!at_end(c)) {
		if (get_hex(c, &v) || !at_end(c)) {
			reply_err(s, -EINVAL);
			return;
		}
		if (s->state == GDB_STATE_STOPPED &&
		    (ret = set_pc(s, cpu, v)) < 0) {
			reply_err(s, ret);
			return;
		}
	}
	for (unsigned int i = 0; i < s->nr_cpus; i++)
		s->act[i] = step ? GDB_ACT_STOP : GDB_ACT_CONTINUE;
	if (step)
		s->act[cpu] = GDB_ACT_STEP;
	do_resume(s);
}

/* vCont;action[:thread]... — the leftmost action that names a vCPU wins */
static void cmd_vcont(struct gdb_stub *s, struct cur *c)
{
	bool set[GDB_MAX_CPUS] = { false };
	unsigned int i;

	if (at_end(c)) {
		reply_err(s, -EINVAL);
		return;
	}
	while (!at_end(c)) {
		enum gdb_action a;
		uint64_t sig;
		int cpu = -1;
		char op;

		if (!eat(c, ';') || at_end(c)) {
			reply_err(s, -EINVAL);
			return;
		}
		op = *c->p++;
		switch (op) {
		case 'c': a = GDB_ACT_CONTINUE; break;
		case 's': a = GDB_ACT_STEP; break;
		case 't': a = GDB_ACT_STOP; break;
		case 'C': a = GDB_ACT_CONTINUE; break;
		case 'S': a = GDB_ACT_STEP; break;
		default:
			reply_err(s, -EINVAL);
			return;
		}
		if ((op == 'C' || op == 'S') && get_hex(c, &sig)) {
			reply_err(s, -EINVAL);
			return;
		}
		if (eat(c, ':') && get_thread(s, c, &cpu)) {
			reply_err(s, -EINVAL);
			return;
		}
		if (!at_end(c) && *c->p != ';') {
			reply_err(s, -EINVAL);
			return;
		}
		if (cpu == -2)
			cpu = (int)s->stop.cpu; /* "any thread" */
		for (i = 0; i < s->nr_cpus; i++) {
			if (set[i] || (cpu >= 0 && (unsigned int)cpu != i))
				continue;
			s->act[i] = a;
			set[i] = true;
		}
	}
	for (i = 0; i < s->nr_cpus; i++)
		if (!set[i])
			s->act[i] = GDB_ACT_STOP;
	do_resume(s);
}

/* --- registers and memory ------------------------------------------------- */

static size_t reg_offset(const struct gdb_target *t, unsigned int n)
{
	size_t off = 0;

	for (unsigned int i = 0; i < n; i++)
		off += t->reg_bytes[i];
	return off;
}

static void cmd_read_regs(struct gdb_stub *s)
{
	int ret = s->ops->read_regs(s->opaque, s->g_cpu, s->regs);

	if (ret < 0) {
		reply_err(s, ret);
		return;
	}
	r_reset(s);
	r_hex(s, s->regs, s->regs_size);
	r_send(s);
}

static void cmd_write_regs(struct gdb_stub *s, struct cur *c)
{
	int ret;

	if ((size_t)(c->end - c->p) != 2 * s->regs_size ||
	    get_hex_bytes(c, s->regs, s->regs_size)) {
		reply_err(s, -EINVAL);
		return;
	}
	ret = s->ops->write_regs(s->opaque, s->g_cpu, s->regs);
	if (ret < 0)
		reply_err(s, ret);
	else
		reply(s, "OK");
}

/* p n, P n=value */
static void cmd_reg(struct gdb_stub *s, struct cur *c, bool write)
{
	uint8_t val[GDB_REGS_MAX];
	uint64_t n;
	size_t off, len;
	int ret;

	if (get_hex(c, &n) || n >= s->target->nr_regs ||
	    (write ? !eat(c, '=') : !at_end(c))) {
		reply_err(s, -EINVAL);
		return;
	}
	off = reg_offset(s->target, (unsigned int)n);
	len = s->target->reg_bytes[n];
	if (write && ((size_t)(c->end - c->p) != 2 * len ||
		      get_hex_bytes(c, val, len))) {
		reply_err(s, -EINVAL);
		return;
	}
	ret = s->ops->read_regs(s->opaque, s->g_cpu, s->regs);
	if (ret < 0) {
		reply_err(s, ret);
		return;
	}
	if (!write) {
		r_reset(s);
		r_hex(s, s->regs + off, len);
		r_send(s);
		return;
	}
	memcpy(s->regs + off, val, len);
	ret = s->ops->write_regs(s->opaque, s->g_cpu, s->regs);
	if (ret < 0)
		reply_err(s, ret);
	else
		reply(s, "OK");
}

/* addr,length: 0 or -EINVAL */
static int get_addr_len(struct cur *c, uint64_t *addr, uint64_t *len)
{
	if (get_hex(c, addr) || !eat(c, ',') || get_hex(c, len))
		return -EINVAL;
	return 0;
}

/* m addr,length: as much of it as one reply holds, up to what is mapped */
static void cmd_read_mem(struct gdb_stub *s, struct cur *c)
{
	uint64_t addr, len;
	int n;

	if (get_addr_len(c, &addr, &len) || !at_end(c) || len == 0) {
		reply_err(s, -EINVAL);
		return;
	}
	if (len > sizeof(s->mem))
		len = sizeof(s->mem);
	/* stop at the top of the address space rather than wrap */
	if (addr + len < addr)
		len = 0 - addr;
	n = s->ops->read_mem(s->opaque, s->g_cpu, addr, s->mem, (size_t)len);
	if (n <= 0 || (uint64_t)n > len) {
		reply_err(s, n < 0 ? n : -EFAULT);
		return;
	}
	r_reset(s);
	r_hex(s, s->mem, (size_t)n);
	r_send(s);
}

static void write_mem(struct gdb_stub *s, uint64_t addr, size_t len)
{
	int n;

	if (len == 0) {
		reply(s, "OK"); /* gdb probes X support this way */
		return;
	}
	if (addr + len - 1 < addr) {
		reply_err(s, -EFAULT);
		return;
	}
	n = s->ops->write_mem(s->opaque, s->g_cpu, addr, s->mem, len);
	if (n < 0 || (size_t)n != len)
		reply_err(s, n < 0 ? n : -EFAULT);
	else
		reply(s, "OK");
}

/* M addr,length:hex */
static void cmd_write_mem_hex(struct gdb_stub *s, struct cur *c)
{
	uint64_t addr, len;

	if (get_addr_len(c, &addr, &len) || !eat(c, ':') ||
	    len > sizeof(s->mem) || (uint64_t)(c->end - c->p) != 2 * len ||
	    get_hex_bytes(c, s->mem, (size_t)len)) {
		reply_err(s, -EINVAL);
		return;
	}
	write_mem(s, addr, (size_t)len);
}

/* X addr,length:binary, '}' escaping the byte after it (xor 0x20) */
static void cmd_write_mem_bin(struct gdb_stub *s, struct cur *c)
{
	uint64_t addr, len;
	size_t n = 0;

	if (get_addr_len(c, &addr, &len) || !eat(c, ':') ||
	    len > sizeof(s->mem)) {
		reply_err(s, -EINVAL);
		return;
	}
	while (!at_end(c)) {
		uint8_t b = (uint8_t)*c->p++;

		if (b == '}') {
			if (at_end(c)) {
				reply_err(s, -EINVAL);
				return;
			}
			b = (uint8_t)*c->p++ ^ 0x20;
		}
		if (n == len) {
			reply_err(s, -EINVAL);
			return;
		}
		s->mem[n++] = b;
	}
	if (n != len) {
		reply_err(s, -EINVAL);
		return;
	}
	write_mem(s, addr, n);
}

/* --- queries -------------------------------------------------------------- */

/* qSupported[:feature;...]: what gdb offers decides swbreak/hwbreak */
static void cmd_supported(struct gdb_stub *s, struct cur *c)
{
	s->swbreak = s->hwbreak = false;
	if (eat(c, ':')) {
		while (!at_end(c)) {
			const char *f = c->p;
			size_t n;

			while (c->p < c->end && *c->p != ';')
				c->p++;
			n = (size_t)(c->p - f);
			if (n == 8 && !memcmp(f, "swbreak+", 8))
				s->swbreak = true;
			if (n == 8 && !memcmp(f, "hwbreak+", 8))
				s->hwbreak = true;
			eat(c, ';');
		}
	}
	r_reset(s);
	r_str(s, "PacketSize=");
	r_num(s, GDB_PACKET_MAX);
	r_str(s, ";qXfer:features:read+;vContSupported+;QStartNoAckMode+");
	if (s->swbreak)
		r_str(s, ";swbreak+");
	if (s->hwbreak)
		r_str(s, ";hwbreak+");
	r_send(s);
}

/* qXfer:features:read:annex:offset,length -> m<more>/l<last>, escaped */
static void cmd_xfer_features(struct gdb_stub *s, struct cur *c)
{
	const char *xml = s->target->xml;
	size_t size = strlen(xml), i;
	uint64_t off, len;

	if (!eat_str(c, "target.xml:") || get_addr_len(c, &off, &len) ||
	    !at_end(c) || len == 0) {
		reply(s, "E00"); /* the protocol's "bad annex or request" */
		return;
	}
	r_reset(s);
	r_str(s, "m");
	i = off < size ? (size_t)off : size;
	while (i < size && (uint64_t)(i - off) < len) {
		uint8_t b = (uint8_t)xml[i];
		bool esc = b == '$' || b == '#' || b == '}' || b == '*';

		if (s->reply_len + 1 + esc > sizeof(s->reply))
			break;
		if (esc) {
			s->reply[s->reply_len++] = '}';
			b ^= 0x20;
		}
		s->reply[s->reply_len++] = (char)b;
		i++;
	}
	if (i == size)
		s->reply[0] = 'l';
	r_send(s);
}

/* qfThreadInfo / qsThreadInfo: m<id>,<id>... as fits, then l */
static void cmd_thread_info(struct gdb_stub *s, bool first)
{
	if (first)
		s->thread_iter = 0;
	if (s->thread_iter >= s->nr_cpus) {
		reply(s, "l");
		return;
	}
	r_reset(s);
	r_str(s, "m");
	while (s->thread_iter < s->nr_cpus && s->reply_len + 24 < sizeof(s->reply)) {
		if (s->reply_len > 1)
			r_str(s, ",");
		r_num(s, s->thread_iter + 1ULL);
		s->thread_iter++;
	}
	r_send(s);
}

static void cmd_extra_info(struct gdb_stub *s, struct cur *c)
{
	char text[32];
	int cpu, n;

	if (get_thread(s, c, &cpu) || cpu < 0 || !at_end(c)) {
		reply_err(s, -EINVAL);
		return;
	}
	n = snprintf(text, sizeof(text), "vCPU %d", cpu);
	r_reset(s);
	r_hex(s, (const uint8_t *)text, n > 0 ? (size_t)n : 0);
	r_send(s);
}

static void cmd_query(struct gdb_stub *s, struct cur *c)
{
	if (eat_str(c, "qSupported") && (at_end(c) || *c->p == ':')) {
		cmd_supported(s, c);
	} else if (eat_str(c, "qXfer:features:read:")) {
		cmd_xfer_features(s, c);
	} else if (is_str(c, "qfThreadInfo")) {
		cmd_thread_info(s, true);
	} else if (is_str(c, "qsThreadInfo")) {
		cmd_thread_info(s, false);
	} else if (is_str(c, "qC")) {
		r_reset(s);
		r_str(s, "QC");
		r_num(s, s->g_cpu + 1ULL);
		r_send(s);
	} else if (eat_str(c, "qAttached") && (at_end(c) || *c->p == ':')) {
		reply(s, "1"); /* an existing guest: gdb detaches when it quits */
	} else if (eat_str(c, "qThreadExtraInfo,")) {
		cmd_extra_info(s, c);
	} else {
		reply(s, "");
	}
}

/* H op thread: the vCPU for registers and memory (g) or resuming (c) */
static void cmd_set_thread(struct gdb_stub *s, struct cur *c)
{
	char op = at_end(c) ? 0 : *c->p++;
	int cpu;

	if ((op != 'g' && op != 'c') || get_thread(s, c, &cpu) || !at_end(c)) {
		reply_err(s, -EINVAL);
		return;
	}
	if (op == 'g') {
		/* all or any: registers come from one, keep the current one */
		if (cpu >= 0)
			s->g_cpu = (unsigned int)cpu;
	} else {
		s->c_cpu = cpu >= 0 ? cpu : -1;
	}
	reply(s, "OK");
}

static void cmd_thread_alive(struct gdb_stub *s, struct cur *c)
{
	int cpu;

	if (get_thread(s, c, &cpu) || cpu < 0 || !at_end(c))
		reply_err(s, -ESRCH);
	else
		reply(s, "OK");
}

/* --- dispatch ------------------------------------------------------------- */

/* Commands that need the vCPUs stopped and the guest still there */
static bool needs_guest(char cmd)
{
	return cmd && strchr("gGpPmMXZz", cmd) != NULL;
}

static void handle_packet(struct gdb_stub *s, const char *data, size_t len)
{
	struct cur c = { data, data + len };
	char cmd;

	if (len == 0) {
		reply(s, "");
		return;
	}
	cmd = data[0];
	/* resuming an exited guest is answered in do_resume() */
	if (s->state == GDB_STATE_EXITED && needs_guest(cmd)) {
		reply_err(s, -ESRCH);
		return;
	}
	switch (cmd) {
	case '?':
		if (s->state == GDB_STATE_EXITED)
			send_exit(s);
		else
			send_stop(s, &s->stop, stop_signal(&s->stop));
		return;
	case 'g':
		if (len != 1)
			reply_err(s, -EINVAL);
		else
			cmd_read_regs(s);
		return;
	case 'G':
		c.p++;
		cmd_write_regs(s, &c);
		return;
	case 'p':
	case 'P':
		c.p++;
		cmd_reg(s, &c, cmd == 'P');
		return;
	case 'm':
		c.p++;
		cmd_read_mem(s, &c);
		return;
	case 'M':
		c.p++;
		cmd_write_mem_hex(s, &c);
		return;
	case 'X':
		c.p++;
		cmd_write_mem_bin(s, &c);
		return;
	case 'c':
	case 's':
	case 'C':
	case 'S':
		c.p++;
		cmd_resume(s, &c, cmd == 's' || cmd == 'S', cmd == 'C' || cmd == 'S');
		return;
	case 'Z':
	case 'z':
		c.p++;
		cmd_breakpoint(s, &c, cmd == 'Z');
		return;
	case 'H':
		c.p++;
		cmd_set_thread(s, &c);
		return;
	case 'T':
		c.p++;
		cmd_thread_alive(s, &c);
		return;
	case 'D':
		/* "D" or "D;pid": the reply first, then the guest runs on */
		reply(s, "OK");
		gdb_stub_detach(s);
		return;
	case 'k':
		remove_all(s);
		s->state = GDB_STATE_KILLED;
		return;
	case 'q':
		cmd_query(s, &c);
		return;
	case 'Q':
		if (is_str(&c, "QStartNoAckMode")) {
			/* this packet is acked already; nothing is from now on */
			reply(s, "OK");
			s->no_ack = true;
		} else {
			reply(s, "");
		}
		return;
	case 'v':
		if (is_str(&c, "vCont?")) {
			reply(s, "vCont;c;C;s;S;t");
		} else if (eat_str(&c, "vCont")) {
			if (s->state == GDB_STATE_EXITED)
				send_exit(s);
			else
				cmd_vcont(s, &c);
		} else {
			reply(s, ""); /* vMustReplyEmpty and all we lack */
		}
		return;
	default:
		reply(s, "");
		return;
	}
}

/* A whole packet arrived: ack (or NAK) it, then handle it. */
static void packet_done(struct gdb_stub *s)
{
	bool good = !s->rx_overflow && s->rx_csum == s->rx_sum;

	if (!s->no_ack)
		out_byte(s, good ? '+' : '-');
	if (!good)
		return;
	/* all-stop: gdb sends nothing but Ctrl-C while the guest runs */
	if (s->state == GDB_STATE_RUNNING)
		return;
	handle_packet(s, s->rx_buf, s->rx_len);
}

static void rx_byte(struct gdb_stub *s, uint8_t b)
{
	int d;

	switch (s->rx) {
	case GDB_RX_IDLE:
		if (b == '$') {
			s->rx = GDB_RX_DATA;
			s->rx_len = 0;
			s->rx_sum = 0;
			s->rx_overflow = false;
		} else if (b == 0x03) {
			if (s->state == GDB_STATE_RUNNING)
				s->ops->interrupt(s->opaque);
		} else if (b == '-' && !s->no_ack && s->last_len) {
			out_put(s, s->last, s->last_len);
		}
		/* '+' and line noise between packets: nothing to do */
		return;
	case GDB_RX_DATA:
		if (b == '#') {
			s->rx = GDB_RX_CSUM1;
			return;
		}
		if (b == '$') {
			/* gdb gave up on that packet and starts anew */
			s->rx_len = 0;
			s->rx_sum = 0;
			s->rx_overflow = false;
			return;
		}
		s->rx_sum = (uint8_t)(s->rx_sum + b);
		if (s->rx_len == GDB_PACKET_MAX)
			s->rx_overflow = true;
		else
			s->rx_buf[s->rx_len++] = (char)b;
		return;
	case GDB_RX_CSUM1:
	case GDB_RX_CSUM2:
		d = hexval((char)b);
		if (d < 0) {
			/*
			 * Not a checksum: NAK the packet and take this byte
			 * as the start of what comes next ('$' resyncs).
			 */
			if (!s->no_ack)
				out_byte(s, '-');
			s->rx = GDB_RX_IDLE;
			rx_byte(s, b);
			return;
		}
		if (s->rx == GDB_RX_CSUM1) {
			s->rx_csum = (uint8_t)(d << 4);
			s->rx = GDB_RX_CSUM2;
			return;
		}
		s->rx_csum |= (uint8_t)d;
		s->rx = GDB_RX_IDLE;
		s->rx_buf[s->rx_len] = 0;
		packet_done(s);
		return;
	}
}

size_t gdb_stub_input(struct gdb_stub *s, const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s->state == GDB_STATE_DETACHED || s->state == GDB_STATE_KILLED)
			return len; /* the session is over: drop the rest */
		if (out_room(s) < OUT_RESERVE)
			break;
		rx_byte(s, data[i]);
	}
	return i;
}

size_t gdb_stub_output(const struct gdb_stub *s, const uint8_t **data)
{
	*data = s->out;
	return s->out_len;
}

void gdb_stub_output_done(struct gdb_stub *s, size_t n)
{
	if (n > s->out_len)
		n = s->out_len;
	memmove(s->out, s->out + n, s->out_len - n);
	s->out_len -= n;
}

int gdb_stub_stopped(struct gdb_stub *s, const struct gdb_stop *stop)
{
	if (s->state != GDB_STATE_RUNNING || stop->cpu >= s->nr_cpus ||
	    (unsigned int)stop->reason > GDB_STOP_WATCH_ACCESS)
		return -EINVAL;
	s->state = GDB_STATE_STOPPED;
	s->stop = *stop;
	/* gdb takes the thread of a stop reply as our general thread */
	s->g_cpu = stop->cpu;
	send_stop(s, stop, stop_signal(stop));
	return 0;
}

void gdb_stub_exited(struct gdb_stub *s, uint8_t code)
{
	bool waiting = s->state == GDB_STATE_RUNNING;

	if (s->state != GDB_STATE_RUNNING && s->state != GDB_STATE_STOPPED)
		return;
	s->exit_code = code;
	s->state = GDB_STATE_EXITED;
	/* the guest's memory is gone: nothing to remove breakpoints from */
	s->nr_bps = 0;
	if (waiting)
		send_exit(s);
}

void gdb_stub_detach(struct gdb_stub *s)
{
	enum gdb_state was = s->state;

	if (was == GDB_STATE_DETACHED)
		return;
	remove_all(s);
	s->state = GDB_STATE_DETACHED;
	if (was == GDB_STATE_STOPPED || was == GDB_STATE_KILLED) {
		for (unsigned int i = 0; i < s->nr_cpus; i++)
			s->act[i] = GDB_ACT_CONTINUE;
		(void)s->ops->resume(s->opaque, s->act);
	}
}

size_t gdb_target_regs_size(const struct gdb_target *t)
{
	size_t n = 0;

	for (unsigned int i = 0; i < t->nr_regs; i++)
		n += t->reg_bytes[i];
	return n;
}

int gdb_stub_init(struct gdb_stub *s, const struct gdb_target *t,
		  const struct gdb_backend *ops, void *opaque,
		  unsigned int nr_cpus)
{
	size_t size;

	if (!t || !t->xml || !t->reg_bytes || !t->nr_regs ||
	    t->pc_reg >= t->nr_regs || !ops || !ops->read_regs ||
	    !ops->write_regs || !ops->read_mem || !ops->write_mem ||
	    !ops->insert_bp || !ops->remove_bp || !ops->resume ||
	    !ops->interrupt || nr_cpus == 0 || nr_cpus > GDB_MAX_CPUS)
		return -EINVAL;
	size = gdb_target_regs_size(t);
	if (size == 0 || size > GDB_REGS_MAX)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->target = t;
	s->ops = ops;
	s->opaque = opaque;
	s->nr_cpus = nr_cpus;
	s->regs_size = size;
	s->state = GDB_STATE_STOPPED;
	s->stop = (struct gdb_stop){ .cpu = 0, .reason = GDB_STOP_TRAP };
	s->c_cpu = -1;
	s->rx = GDB_RX_IDLE;
	return 0;
}
