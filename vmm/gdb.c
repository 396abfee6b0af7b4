// SPDX-License-Identifier: MIT
/*
 * The GDB server (gdb.h): the socket and the one connection on the event
 * loop, and the engine's backend on top of the pause path and the arch
 * hooks.
 *
 * Threads. Everything here runs on the event-loop thread except the two
 * vm_debugger hooks that vCPU threads call: debug_exit() on a
 * KVM_EXIT_DEBUG, sync() to apply the debugger's settings before entering
 * the guest. What they share (the breakpoint tables, who single-steps, the
 * stop to report) is under lock. A vCPU that stops for gdb holds itself
 * (vcpu_hold) and wakes the loop (stop_efd); the loop parks the others
 * with vm_pause() and then sends the stop reply. vm_resume_vcpus() lets
 * them run again, those gdb leaves stopped staying held. vCPU ioctls from
 * this thread (registers, paging state) happen only while the vCPUs are
 * parked, when no KVM_RUN holds the vCPU's mutex.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "../arch/arch.h"
#include "evloop.h"
#include "gdb.h"
#include "gdbstub.h"
#include "gva.h"
#include "log.h"
#include "util.h"
#include "vmm.h"

#define GDB_IN_MAX     4096 /* bytes read from the client at a time */
#define GDB_GRAVEYARD  16   /* software breakpoints removed lately */
#define GDB_RETRY_NS   20000000 /* another pause was under way: retry */

/* A software breakpoint: the instruction we wrote and what it replaced. */
struct sw_bp {
	uint64_t addr;                       /* guest-virtual, as gdb said */
	unsigned int len;
	uint64_t gpa[ARCH_GDB_INSN_MAX];     /* where each byte went */
	uint8_t orig[ARCH_GDB_INSN_MAX];
	uint8_t insn[ARCH_GDB_INSN_MAX];
};

enum phase {
	PHASE_IDLE,      /* no client */
	PHASE_ATTACHING, /* a client came: the vCPUs are being parked */
	PHASE_ACTIVE,    /* the engine runs the session */
};

struct gdb_server {
	struct vm *vm;
	struct vm_debugger hooks;
	int listen_fd, conn_fd, stop_efd, retry_fd;
	bool tcp;
	char path[VMM_SOCK_PATH_MAX]; /* the Unix socket to remove, or "" */
	char where[VMM_SOCK_PATH_MAX + 16];
	enum phase phase;
	bool pausing;                 /* our vm_pause() is under way */
	bool waiting_first;           /* --gdb-wait: held since boot */
	bool in_service;
	uint32_t conn_events;
	size_t in_off, in_len;
	uint8_t in[GDB_IN_MAX];
	unsigned int last_cpu;        /* the vCPU of the last stop */

	pthread_mutex_t lock;         /* shared with the vCPU threads: */
	struct gdb_bp hw[GDB_MAX_BREAKPOINTS];
	unsigned int nr_hw;
	struct sw_bp sw[GDB_MAX_BREAKPOINTS];
	unsigned int nr_sw;
	uint64_t removed[GDB_GRAVEYARD]; /* addresses of removed sw_bps */
	unsigned int nr_removed;
	bool step[VMM_MAX_CPUS];
	bool accept_stops;            /* a client waits for stops */
	bool stop_pending;
	struct gdb_stop stop;

	struct gdb_stub stub;
};

static void service(struct gdb_server *s);
static void start_pause(struct gdb_server *s);

/* --- the vCPU threads' side ------------------------------------------------ */

static void sync_all(struct gdb_server *s)
{
	for (unsigned int i = 0; i < s->vm->nr_vcpus; i++)
		vcpu_request(&s->vm->vcpu[i], VCPU_REQ_DEBUG);
}

/* lock held */
static struct arch_gdb_debug settings(const struct gdb_server *s,
				      const struct vcpu *v)
{
	return (struct arch_gdb_debug){
		.hw = s->hw, .nr_hw = s->nr_hw, .sw = s->nr_sw > 0,
		.step = s->step[v->id],
	};
}

static void hook_sync(void *opaque, struct vcpu *v)
{
	struct gdb_server *s = opaque;
	struct arch_gdb_debug d;
	int ret;

	pthread_mutex_lock(&s->lock);
	d = settings(s, v);
	ret = arch_gdb_set_debug(v, &d);
	pthread_mutex_unlock(&s->lock);
	if (ret)
		warn("gdb: vCPU %u: cannot set up guest debugging: %s", v->id,
		     strerror(-ret));
}

/* lock held */
static int sw_find(const struct gdb_server *s, uint64_t addr)
{
	for (unsigned int i = 0; i < s->nr_sw; i++)
		if (s->sw[i].addr == addr)
			return (int)i;
	return -1;
}

/* lock held */
static bool recently_removed(const struct gdb_server *s, uint64_t pc)
{
	unsigned int n = s->nr_removed < GDB_GRAVEYARD ? s->nr_removed :
			 GDB_GRAVEYARD;

	for (unsigned int i = 0; i < n; i++)
		if (s->removed[i] == pc)
			return true;
	return false;
}

static enum gdb_stop_reason watch_reason(enum gdb_bp_type t)
{
	return t == GDB_WATCH_READ ? GDB_STOP_WATCH_READ :
	       t == GDB_WATCH_ACCESS ? GDB_STOP_WATCH_ACCESS :
	       GDB_STOP_WATCH_WRITE;
}

/*
 * A KVM_EXIT_DEBUG on v's thread: gdb's breakpoint, watchpoint or step
 * (stop and tell), or the guest's own debug exception (give it back).
 */
static void hook_debug_exit(void *opaque, struct vcpu *v)
{
	struct gdb_server *s = opaque;
	struct gdb_stop st = { .cpu = v->id, .reason = GDB_STOP_TRAP };
	struct arch_gdb_exit ex;
	bool report = false, inject = false;

	pthread_mutex_lock(&s->lock);
	arch_gdb_debug_exit(v, s->hw, s->nr_hw, &ex);
	switch (ex.event) {
	case ARCH_GDB_STEP:
		report = s->step[v->id];
		inject = !report; /* the guest single-steps on its own */
		break;
	case ARCH_GDB_SWBREAK:
		st.reason = GDB_STOP_SWBREAK;
		if (sw_find(s, ex.pc) >= 0)
			report = true;
		else
			/* ours, just removed (the vCPU runs the original
			 * instruction now), or the guest's own */
			inject = !recently_removed(s, ex.pc);
		break;
	case ARCH_GDB_HWBREAK:
		st.reason = GDB_STOP_HWBREAK;
		report = true;
		break;
	case ARCH_GDB_WATCH:
		st.reason = watch_reason(s->hw[ex.bp].type);
		st.addr = ex.addr;
		report = true;
		break;
	case ARCH_GDB_OTHER:
		inject = true;
		break;
	}
	if (inject) {
		struct arch_gdb_debug d = settings(s, v);

		d.inject = ex.exception;
		/* where the arch cannot give it back (aarch64), gdb hears of it */
		if (arch_gdb_set_debug(v, &d)) {
			st.reason = GDB_STOP_TRAP;
			report = true;
		}
	}
	/* with no client waiting, settings being changed catch up (sync) */
	if (report && s->accept_stops) {
		uint64_t one = 1;

		/* the first stop is reported; others hit again when resumed */
		if (!s->stop_pending) {
			s->stop_pending = true;
			s->stop = st;
		}
		vcpu_hold(v);
		if (write(s->stop_efd, &one, sizeof(one)) < 0)
			debug("gdb: stop eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&s->lock);
}

/* --- the engine's backend (event-loop thread, vCPUs parked) ------------------ */

static int be_read_regs(void *opaque, unsigned int cpu, uint8_t *buf)
{
	struct gdb_server *s = opaque;

	return arch_gdb_get_regs(&s->vm->vcpu[cpu], buf);
}

static int be_write_regs(void *opaque, unsigned int cpu, const uint8_t *buf)
{
	struct gdb_server *s = opaque;

	return arch_gdb_set_regs(&s->vm->vcpu[cpu], buf);
}

/* Code changed behind the vCPUs' backs: no instruction cache may keep the
 * old bytes (aarch64; x86-64 keeps them coherent itself). */
static void code_written(const struct guest_mem *m, uint64_t gpa, size_t len)
{
	char *p = gpa_ptr(m, gpa, len);

	if (p)
		__builtin___clear_cache(p, p + len);
}

static int be_read_mem(void *opaque, unsigned int cpu, uint64_t addr,
		       uint8_t *buf, size_t len)
{
	struct gdb_server *s = opaque;
	uint8_t mmu[ARCH_GDB_MMU_SIZE];
	gva_walk_fn walk;
	int n = arch_gdb_mmu(&s->vm->vcpu[cpu], mmu, &walk);

	if (n)
		return n;
	n = gva_read(&s->vm->mem, walk, mmu, addr, buf, len);
	/* gdb sees the guest's instructions, not our breakpoints */
	for (unsigned int i = 0; i < s->nr_sw && n > 0; i++)
		for (unsigned int j = 0; j < s->sw[i].len; j++) {
			uint64_t off = s->sw[i].addr + j - addr;

			if (off < (uint64_t)n)
				buf[off] = s->sw[i].orig[j];
		}
	return n;
}

static int be_write_mem(void *opaque, unsigned int cpu, uint64_t addr,
			const uint8_t *buf, size_t len)
{
	struct gdb_server *s = opaque;
	const struct guest_mem *m = &s->vm->mem;
	uint8_t mmu[ARCH_GDB_MMU_SIZE];
	gva_walk_fn walk;
	int n = arch_gdb_mmu(&s->vm->vcpu[cpu], mmu, &walk);

	if (n)
		return n;
	n = gva_write(m, walk, mmu, addr, buf, len);
	if (n <= 0)
		return n;
	/* a breakpoint written over stays: the new bytes are its original */
	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < s->nr_sw; i++) {
		struct sw_bp *b = &s->sw[i];

		for (unsigned int j = 0; j < b->len; j++) {
			uint64_t off = b->addr + j - addr;

			if (off >= (uint64_t)n)
				continue;
			b->orig[j] = buf[off];
			if (gpa_write(m, b->gpa[j], &b->insn[j], 1) < 0)
				debug("gdb: breakpoint at 0x%llx moved",
				      (unsigned long long)b->addr);
		}
	}
	pthread_mutex_unlock(&s->lock);
	for (uint64_t off = 0; off < (uint64_t)n;) {
		struct gva_map map;
		uint64_t piece = 4096 - ((addr + off) & 4095);

		if (walk(m, mmu, addr + off, &map) < 0)
			break;
		if (piece > (uint64_t)n - off)
			piece = (uint64_t)n - off;
		code_written(m, map.gpa, piece);
		off += piece;
	}
	return n;
}

static int sw_insert(struct gdb_server *s, uint64_t addr, uint64_t kind)
{
	const struct guest_mem *m = &s->vm->mem;
	struct sw_bp b = { .addr = addr };
	uint8_t mmu[ARCH_GDB_MMU_SIZE];
	gva_walk_fn walk;
	int len = arch_gdb_sw_insn(kind, b.insn), ret;

	if (len < 0)
		return len;
	if (s->nr_sw == GDB_MAX_BREAKPOINTS)
		return -ENOSPC;
	/* two breakpoints over one byte would each save the other's bytes */
	for (unsigned int i = 0; i < s->nr_sw; i++)
		if (addr < s->sw[i].addr + s->sw[i].len &&
		    s->sw[i].addr < addr + (unsigned int)len)
			return -EEXIST;
	ret = arch_gdb_mmu(&s->vm->vcpu[s->last_cpu], mmu, &walk);
	if (ret)
		return ret;
	b.len = (unsigned int)len;
	for (unsigned int j = 0; j < b.len; j++) {
		struct gva_map map;

		if (walk(m, mmu, addr + j, &map) < 0 ||
		    gpa_read(m, map.gpa, &b.orig[j], 1) < 0)
			return -EFAULT;
		b.gpa[j] = map.gpa;
	}
	pthread_mutex_lock(&s->lock);
	for (unsigned int j = 0; j < b.len; j++) {
		if (gpa_write(m, b.gpa[j], &b.insn[j], 1) < 0)
			debug("gdb: cannot write a breakpoint byte");
		code_written(m, b.gpa[j], 1);
	}
	s->sw[s->nr_sw++] = b;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void sw_remove(struct gdb_server *s, unsigned int i)
{
	const struct guest_mem *m = &s->vm->mem;
	struct sw_bp *b = &s->sw[i];

	pthread_mutex_lock(&s->lock);
	for (unsigned int j = 0; j < b->len; j++) {
		uint8_t now;

		/* the guest may have put other code there meanwhile */
		if (gpa_read(m, b->gpa[j], &now, 1) == 0 && now == b->insn[j] &&
		    gpa_write(m, b->gpa[j], &b->orig[j], 1) == 0)
			code_written(m, b->gpa[j], 1);
	}
	s->removed[s->nr_removed++ % GDB_GRAVEYARD] = b->addr;
	s->sw[i] = s->sw[--s->nr_sw];
	pthread_mutex_unlock(&s->lock);
}

static int be_insert_bp(void *opaque, enum gdb_bp_type type, uint64_t addr,
			uint64_t kind)
{
	struct gdb_server *s = opaque;
	struct gdb_bp all[GDB_MAX_BREAKPOINTS];
	int ret;

	if (type == GDB_BP_SW) {
		ret = sw_insert(s, addr, kind);
	} else if (s->nr_hw == GDB_MAX_BREAKPOINTS) {
		ret = -ENOSPC;
	} else {
		memcpy(all, s->hw, s->nr_hw * sizeof(all[0]));
		all[s->nr_hw] = (struct gdb_bp){ type, addr, kind };
		ret = arch_gdb_hw_check(s->vm, all, s->nr_hw + 1);
		if (!ret) {
			pthread_mutex_lock(&s->lock);
			s->hw[s->nr_hw] = all[s->nr_hw];
			s->nr_hw++;
			pthread_mutex_unlock(&s->lock);
		}
	}
	if (!ret)
		sync_all(s);
	return ret;
}

static int be_remove_bp(void *opaque, enum gdb_bp_type type, uint64_t addr,
			uint64_t kind)
{
	struct gdb_server *s = opaque;
	int i;

	if (type == GDB_BP_SW) {
		i = sw_find(s, addr);
		if (i < 0)
			return -ENOENT;
		sw_remove(s, (unsigned int)i);
	} else {
		for (i = 0; i < (int)s->nr_hw; i++)
			if (s->hw[i].type == type && s->hw[i].addr == addr &&
			    s->hw[i].kind == kind)
				break;
		if (i == (int)s->nr_hw)
			return -ENOENT;
		pthread_mutex_lock(&s->lock);
		/* keep the order: the others keep their debug registers */
		memmove(&s->hw[i], &s->hw[i + 1],
			(s->nr_hw - (unsigned int)i - 1) * sizeof(s->hw[0]));
		s->nr_hw--;
		pthread_mutex_unlock(&s->lock);
	}
	/* may run while the guest does (detach): each vCPU catches up */
	sync_all(s);
	return 0;
}

static int be_resume(void *opaque, const enum gdb_action *act)
{
	struct gdb_server *s = opaque;
	bool run[VMM_MAX_CPUS];
	int ret;

	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < s->vm->nr_vcpus; i++) {
		s->step[i] = act[i] == GDB_ACT_STEP;
		run[i] = act[i] != GDB_ACT_STOP;
	}
	s->stop_pending = false;
	/* the engine detaching lets the guest go for good */
	s->accept_stops = gdb_stub_state(&s->stub) == GDB_STATE_RUNNING;
	pthread_mutex_unlock(&s->lock);
	sync_all(s);
	ret = vm_resume_vcpus(s->vm, run);
	if (ret)
		warn("gdb: cannot resume the vCPUs: %s", ret == -EBUSY ?
		     "the control API is pausing them" : strerror(-ret));
	return ret;
}

static void be_interrupt(void *opaque)
{
	start_pause(opaque);
}

static const struct gdb_backend backend = {
	.read_regs = be_read_regs,
	.write_regs = be_write_regs,
	.read_mem = be_read_mem,
	.write_mem = be_write_mem,
	.insert_bp = be_insert_bp,
	.remove_bp = be_remove_bp,
	.resume = be_resume,
	.interrupt = be_interrupt,
};

/* --- stopping ----------------------------------------------------------------- */

/* Every vCPU is parked (our pause ended, or the VM was paused already). */
static void all_stopped(struct gdb_server *s)
{
	struct gdb_stop st;
	int ret;

	if (s->phase == PHASE_IDLE) {
		/* the client went away meanwhile: run on (--gdb-wait: wait on) */
		bool none[VMM_MAX_CPUS] = { false };

		ret = vm_resume_vcpus(s->vm, s->waiting_first ? none : NULL);
		if (ret)
			warn("gdb: cannot resume the vCPUs: %s", strerror(-ret));
		return;
	}
	if (s->phase == PHASE_ATTACHING) {
		ret = gdb_stub_init(&s->stub, arch_gdb_target(), &backend, s,
				    s->vm->nr_vcpus);
		if (ret) {
			error("gdb: cannot start a session: %s", strerror(-ret));
			return;
		}
		s->phase = PHASE_ACTIVE;
		s->waiting_first = false;
		s->last_cpu = 0;
		info("gdb: %s attached; the guest is stopped", s->where);
		service(s);
		return;
	}
	if (gdb_stub_state(&s->stub) != GDB_STATE_RUNNING)
		return;
	pthread_mutex_lock(&s->lock);
	st = s->stop_pending ? s->stop :
	     (struct gdb_stop){ .cpu = s->last_cpu, .reason = GDB_STOP_INTERRUPT };
	s->stop_pending = false;
	s->accept_stops = false;
	pthread_mutex_unlock(&s->lock);
	s->last_cpu = st.cpu;
	if (gdb_stub_stopped(&s->stub, &st))
		warn("gdb: the engine refused a stop of vCPU %u", st.cpu);
	service(s);
}

static void paused(void *arg, int ret)
{
	struct gdb_server *s = arg;

	s->pausing = false;
	if (ret == -ETIMEDOUT) {
		warn("gdb: the vCPUs did not stop within 5 s; trying again");
		start_pause(s);
		return;
	}
	if (!ret)
		all_stopped(s);
	/* else the VM is going away: its end tells gdb */
}

static void start_pause(struct gdb_server *s)
{
	struct itimerspec t = { .it_value = { 0, GDB_RETRY_NS } };
	int ret;

	if (s->pausing)
		return;
	ret = vm_pause(s->vm, paused, s);
	if (ret == 0)
		s->pausing = true;
	else if (ret == 1)
		all_stopped(s);
	else if (ret == -EBUSY)
		timerfd_settime(s->retry_fd, 0, &t, NULL);
}

static void on_retry(void *opaque, uint32_t events)
{
	struct gdb_server *s = opaque;
	uint64_t v;

	(void)events;
	if (read(s->retry_fd, &v, sizeof(v)) < 0)
		return;
	start_pause(s);
}

static void on_stop_event(void *opaque, uint32_t events)
{
	struct gdb_server *s = opaque;
	bool pending;
	uint64_t v;

	(void)events;
	if (read(s->stop_efd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&s->lock);
	pending = s->stop_pending;
	pthread_mutex_unlock(&s->lock);
	if (pending)
		start_pause(s);
}

/* --- the connection ------------------------------------------------------------ */

static void conn_watch(struct gdb_server *s, uint32_t events)
{
	if (s->conn_fd < 0 || events == s->conn_events)
		return;
	if (evloop_mod(s->vm->loop, s->conn_fd, events) == 0)
		s->conn_events = events;
}

static void conn_close(struct gdb_server *s)
{
	evloop_del(s->vm->loop, s->conn_fd);
	close(s->conn_fd);
	s->conn_fd = -1;
	s->conn_events = 0;
	s->in_off = s->in_len = 0;
	s->phase = PHASE_IDLE;
}

/* The session ends: nothing of gdb's stays in the guest, which runs on. */
static void end_session(struct gdb_server *s, const char *why)
{
	enum gdb_state was = s->phase == PHASE_ACTIVE ?
			     gdb_stub_state(&s->stub) : GDB_STATE_DETACHED;

	info("gdb: %s %s; the guest runs on", s->where, why);
	if (s->phase == PHASE_ACTIVE)
		gdb_stub_detach(&s->stub); /* removes them all, resumes */
	pthread_mutex_lock(&s->lock);
	s->accept_stops = false;
	memset(s->step, 0, sizeof(s->step));
	pthread_mutex_unlock(&s->lock);
	sync_all(s);
	conn_close(s);
	/* vCPUs gdb left stopped while others ran are let go by a pause */
	if (was == GDB_STATE_RUNNING)
		start_pause(s);
}

/* Send what the engine has for the client; false if the connection broke. */
static bool conn_flush(struct gdb_server *s)
{
	const uint8_t *p;
	size_t n;

	while ((n = gdb_stub_output(&s->stub, &p))) {
		ssize_t w = write(s->conn_fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (w <= 0)
			return false;
		gdb_stub_output_done(&s->stub, (size_t)w);
	}
	return true;
}

/*
 * Feed what was read to the engine and send its answers; input waits
 * while the client does not read them (the engine's back-pressure).
 */
static void service(struct gdb_server *s)
{
	const uint8_t *p;
	enum gdb_state st;
	bool out;

	if (s->conn_fd < 0 || s->in_service)
		return;
	if (s->phase != PHASE_ACTIVE) {
		conn_watch(s, s->in_off == s->in_len ? EPOLLIN : 0);
		return;
	}
	s->in_service = true;
	for (;;) {
		size_t took;

		if (!conn_flush(s)) {
			s->in_service = false;
			end_session(s, "broke the connection");
			return;
		}
		if (s->in_off == s->in_len)
			break;
		took = gdb_stub_input(&s->stub, s->in + s->in_off,
				      s->in_len - s->in_off);
		s->in_off += took;
		if (!took)
			break; /* the output is full: wait for the client */
	}
	s->in_service = false;
	if (s->in_off == s->in_len)
		s->in_off = s->in_len = 0;
	out = gdb_stub_output(&s->stub, &p) > 0;
	st = gdb_stub_state(&s->stub);
	if (st == GDB_STATE_KILLED && !out) {
		/* gdb's kill: the VM ends, as its inferior would */
		vm_request_stop(s->vm, VM_STOP_USER, "killed from gdb");
		conn_close(s);
		return;
	}
	if (st == GDB_STATE_DETACHED && !out) {
		end_session(s, "detached");
		return;
	}
	conn_watch(s, (s->in_len ? 0 : EPOLLIN) | (out ? EPOLLOUT : 0));
}

static void on_conn(void *opaque, uint32_t events)
{
	struct gdb_server *s = opaque;

	if (events & (EPOLLHUP | EPOLLERR)) {
		end_session(s, "closed the connection");
		return;
	}
	if ((events & EPOLLIN) && s->in_len == 0) {
		ssize_t n = read(s->conn_fd, s->in, sizeof(s->in));

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			end_session(s, n == 0 ? "closed the connection" :
				    "broke the connection");
			return;
		}
		if (n > 0) {
			s->in_off = 0;
			s->in_len = (size_t)n;
		}
	}
	service(s);
}

static void on_accept(void *opaque, uint32_t events)
{
	struct gdb_server *s = opaque;
	int fd, one = 1;

	(void)events;
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (s->conn_fd >= 0) {
		info("gdb: refused a second connection on %s: one client at a "
		     "time", s->where);
		close(fd);
		return;
	}
	/* one small packet at a time, each waited for: no Nagle delay */
	if (s->tcp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (evloop_add(s->vm->loop, fd, EPOLLIN, on_conn, s)) {
		close(fd);
		return;
	}
	s->conn_fd = fd;
	s->conn_events = EPOLLIN;
	s->phase = PHASE_ATTACHING;
	start_pause(s);
}

/* --- setting up ------------------------------------------------------------ */

static int listen_tcp(struct gdb_server *s, unsigned int port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr = { htonl(INADDR_LOOPBACK) },
	};
	socklen_t len = sizeof(sa);
	int one = 1;

	s->tcp = true;
	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return -errno;
	setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s->listen_fd, 1) < 0 ||
	    getsockname(s->listen_fd, (struct sockaddr *)&sa, &len) < 0)
		return -errno;
	snprintf(s->where, sizeof(s->where), "127.0.0.1:%u", ntohs(sa.sin_port));
	return 0;
}

static int listen_unix(struct gdb_server *s, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ret = unix_socket_reclaim("--gdb", path);

	if (ret)
		return ret;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0 ||
	    bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(s->where, sizeof(s->where), "%s", path);
	/* whoever may connect may read and write all of guest memory */
	if (chmod(path, 0600) < 0 || listen(s->listen_fd, 1) < 0)
		return -errno;
	return 0;
}

static void gdb_server_free(void *p)
{
	struct gdb_server *s = p;
	struct evloop *loop = s->vm->loop;

	/* the guest is gone: a waiting gdb hears how it ended */
	if (s->conn_fd >= 0 && s->phase == PHASE_ACTIVE) {
		gdb_stub_exited(&s->stub, (uint8_t)vm_exit_status(s->vm));
		conn_flush(s);
	}
	if (s->conn_fd >= 0)
		conn_close(s);
	if (s->listen_fd >= 0) {
		evloop_del(loop, s->listen_fd);
		close(s->listen_fd);
	}
	if (s->stop_efd >= 0) {
		evloop_del(loop, s->stop_efd);
		close(s->stop_efd);
	}
	if (s->retry_fd >= 0) {
		evloop_del(loop, s->retry_fd);
		close(s->retry_fd);
	}
	if (s->path[0])
		unlink(s->path);
	s->vm->gdb = NULL;
	s->vm->debugger = NULL;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static bool is_port(const char *a, unsigned int *port)
{
	unsigned long v = 0;

	if (!*a)
		return false;
	for (const char *p = a; *p; p++) {
		if (*p < '0' || *p > '9' || v > 65535)
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	*port = (unsigned int)v;
	return v <= 65535;
}

int gdb_server_create(struct vm *vm, struct gdb_server **out)
{
	const char *addr = vm->cfg.gdb;
	struct gdb_server *s = calloc(1, sizeof(*s));
	unsigned int port;
	int ret;

	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->listen_fd = s->conn_fd = s->stop_efd = s->retry_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->hooks = (struct vm_debugger){
		.debug_exit = hook_debug_exit, .sync = hook_sync, .opaque = s,
	};
	ret = is_port(addr, &port) ? listen_tcp(s, port) : listen_unix(s, addr);
	if (ret) {
		if (ret != -EEXIST && ret != -EADDRINUSE && ret != -ENAMETOOLONG)
			error("--gdb %s: %s", addr, strerror(-ret));
		gdb_server_free(s);
		return ret;
	}
	s->stop_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->stop_efd < 0 || s->retry_fd < 0)
		ret = -errno;
	if (ret ||
	    (ret = evloop_add(vm->loop, s->listen_fd, EPOLLIN, on_accept, s)) ||
	    (ret = evloop_add(vm->loop, s->stop_efd, EPOLLIN, on_stop_event, s)) ||
	    (ret = evloop_add(vm->loop, s->retry_fd, EPOLLIN, on_retry, s))) {
		error("--gdb %s: %s", addr, strerror(-ret));
		gdb_server_free(s);
		return ret;
	}
	vm->gdb = s;
	vm->debugger = &s->hooks;
	ret = vm_add_cleanup(vm, gdb_server_free, s);
	if (ret)
		return ret;
	if (vm->cfg.gdb_wait) {
		/* nothing runs before a client lets it */
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vcpu_hold(&vm->vcpu[i]);
		s->waiting_first = true;
		info("gdb: waiting on %s (target remote %s%s); the guest starts "
		     "when gdb continues it", s->where, s->tcp ? ":" : "",
		     s->tcp ? strchr(s->where, ':') + 1 : s->where);
	} else {
		info("gdb: listening on %s (target remote %s%s)", s->where,
		     s->tcp ? ":" : "",
		     s->tcp ? strchr(s->where, ':') + 1 : s->where);
	}
	*out = s;
	return 0;
}

bool gdb_server_holds(const struct gdb_server *s)
{
	return s->waiting_first || s->phase == PHASE_ATTACHING ||
	       (s->phase == PHASE_ACTIVE &&
		gdb_stub_state(&s->stub) == GDB_STATE_STOPPED);
}
