// SPDX-License-Identifier: MIT
/*
 * The control API's routes and operations (api.h). httpd.c hands over
 * each request; the route table maps method and path to an operation;
 * the operation table says which VM states accept it; the configuration
 * sections are checked and applied by config.c.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../arch/arch.h"
#include "api.h"
#include "config.h"
#include "console.h"
#include "gdb.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "snapshot.h"
#include "vmm.h"

struct api {
	struct vm *vm;
	struct httpd *srv;
	bool start_requested;
	struct httpd_conn *start_conn; /* answered once the boot has run */
	struct httpd_conn *pause_conn; /* answered once the vCPUs parked */
};

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* --- answers -------------------------------------------------------------- */

/* 200 with o as the body (consumed). */
static int answer_json(struct httpd_conn *c, json_object *o)
{
	httpd_answer(c, 200, json_object_to_json_string_ext(o, JSON_FLAGS));
	json_object_put(o);
	return 0;
}

static int answer_fault(struct httpd_conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int answer_fault(struct httpd_conn *c, int status, const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "fault_message", json_object_new_string(msg));
	httpd_answer(c, status, json_object_to_json_string_ext(o, JSON_FLAGS));
	json_object_put(o);
	return 0;
}

static int answer_ok(struct httpd_conn *c)
{
	httpd_answer(c, 204, NULL);
	return 0;
}

/* --- operations and the states that accept them ---------------------------- */

enum {
	S_NOT_STARTED = 1 << VM_STATE_NOT_STARTED,
	S_RUNNING = 1 << VM_STATE_RUNNING,
	S_PAUSED = 1 << VM_STATE_PAUSED,
	S_ANY = S_NOT_STARTED | S_RUNNING | S_PAUSED,
	S_BOOTED = S_RUNNING | S_PAUSED,
};

struct api_ctx {
	struct api *api;
	struct httpd_conn *conn;
	const char *id;      /* {id} from the path, or NULL */
	json_object *body;   /* parsed body, or NULL */
	const char *what;    /* the feature, for op_unsupported */
};

/* Returns 0, or HTTPD_HELD when the answer comes later. */
typedef int (*op_fn)(struct api_ctx *x);

static const char *state_name(enum vm_state s)
{
	static const char *const names[] = {
		[VM_STATE_NOT_STARTED] = "Not started",
		[VM_STATE_RUNNING] = "Running",
		[VM_STATE_PAUSED] = "Paused",
		[VM_STATE_STOPPED] = "Stopped",
	};

	return names[s];
}

static int op_info(struct api_ctx *x)
{
	struct vm *vm = x->api->vm;
	json_object *o = json_object_new_object();
	json_object *devs = json_object_new_array();

	json_object_object_add(o, "id", json_object_new_string(
		vm->cfg.id[0] ? vm->cfg.id : "anonymous-instance"));
	json_object_object_add(o, "state", json_object_new_string(
		state_name(vm_state(vm))));
	json_object_object_add(o, "vmm_version", json_object_new_string(VMM_VERSION));
	json_object_object_add(o, "app_name", json_object_new_string("vmm"));
	json_object_object_add(o, "vcpu_count", json_object_new_int((int)vm->cfg.cpus));
	json_object_object_add(o, "mem_size_mib",
			       json_object_new_int64((int64_t)(vm->cfg.mem_size >> 20)));
	for (unsigned int i = 0; i < vm->cfg.nr_disks; i++)
		json_object_array_add(devs, json_object_new_string(vm->cfg.disk[i].id));
	json_object_object_add(o, "drives", devs);
	devs = json_object_new_array();
	for (unsigned int i = 0; i < vm->cfg.nr_nets; i++)
		json_object_array_add(devs, json_object_new_string(
			vm->cfg.net[i].id[0] ? vm->cfg.net[i].id : vm->cfg.net[i].tap));
	json_object_object_add(o, "network_interfaces", devs);
	json_object_object_add(o, "uptime_us", json_object_new_int64(
		(int64_t)((monotonic_ns() - vm->t.start) / 1000)));
	return answer_json(x->conn, o);
}

static int op_get_machine(struct api_ctx *x)
{
	return answer_json(x->conn, config_machine_json(&x->api->vm->cfg));
}

static int op_get_vm_config(struct api_ctx *x)
{
	return answer_json(x->conn, config_to_json(&x->api->vm->cfg));
}

/* A configuration section: checked whole by config.c, then applied. */
typedef int (*section_fn)(struct vm_config *cfg, const char *id,
			  json_object *o, char *err, size_t errlen);

static int put_section(struct api_ctx *x, section_fn fn)
{
	char err[256];

	if (fn(&x->api->vm->cfg, x->id, x->body, err, sizeof(err)))
		return answer_fault(x->conn, 400, "%s", err);
	return answer_ok(x->conn);
}

static int boot_source(struct vm_config *c, const char *id, json_object *o,
		       char *e, size_t n)
{
	(void)id;
	return config_boot_source(c, o, e, n);
}

static int machine(struct vm_config *c, const char *id, json_object *o,
		   char *e, size_t n)
{
	(void)id;
	return config_machine(c, o, e, n);
}

static int metrics(struct vm_config *c, const char *id, json_object *o,
		   char *e, size_t n)
{
	(void)id;
	return config_metrics(c, o, e, n);
}

static int op_put_boot_source(struct api_ctx *x) { return put_section(x, boot_source); }
static int op_put_machine(struct api_ctx *x) { return put_section(x, machine); }
static int op_put_drive(struct api_ctx *x) { return put_section(x, config_drive); }
static int op_put_net(struct api_ctx *x) { return put_section(x, config_net); }
static int op_put_metrics(struct api_ctx *x) { return put_section(x, metrics); }

/* PUT /logger: the same checks and the same effect as a logger section. */
static int op_put_logger(struct api_ctx *x)
{
	struct vm_config n = x->api->vm->cfg;
	char err[256];

	if (config_logger(&n, x->body, err, sizeof(err)) ||
	    log_configure(n.log.path, n.log.level, n.log.show_level,
			  n.log.show_origin, err, sizeof(err)))
		return answer_fault(x->conn, 400, "%s", err);
	x->api->vm->cfg.log = n.log;
	return answer_ok(x->conn);
}

static int op_get_metrics(struct api_ctx *x)
{
	return answer_json(x->conn, vm_metrics_json(x->api->vm));
}

static int op_get_timeline(struct api_ctx *x)
{
	return answer_json(x->conn, vm_timeline_json(x->api->vm));
}

static int op_get_version(struct api_ctx *x)
{
	json_object *o = json_object_new_object();

	/* the Firecracker API level vmm implements, and vmm's own version */
	json_object_object_add(o, "firecracker_version",
			       json_object_new_string(VMM_FIRECRACKER_API));
	json_object_object_add(o, "vmm_version", json_object_new_string(VMM_VERSION));
	return answer_json(x->conn, o);
}

static int machine_patch(struct vm_config *c, const char *id, json_object *o,
			 char *e, size_t n)
{
	(void)id;
	return config_machine_patch(c, o, e, n);
}

static int entropy(struct vm_config *c, const char *id, json_object *o,
		   char *e, size_t n)
{
	(void)id;
	return config_entropy(c, o, e, n);
}

static int vsock(struct vm_config *c, const char *id, json_object *o,
		 char *e, size_t n)
{
	(void)id;
	return config_vsock(c, o, e, n);
}

static int serial(struct vm_config *c, const char *id, json_object *o,
		  char *e, size_t n)
{
	(void)id;
	return config_serial(c, o, e, n);
}

static int op_patch_machine(struct api_ctx *x) { return put_section(x, machine_patch); }
static int op_put_entropy(struct api_ctx *x) { return put_section(x, entropy); }
/* the device is not there yet: refused, not accepted and ignored */
static int op_put_vsock(struct api_ctx *x)
{
	(void)vsock;
	return answer_fault(x->conn, 400, "vsock is not supported by vmm yet");
}
static int op_put_serial(struct api_ctx *x) { return put_section(x, serial); }

/*
 * PATCH /drives/{id}: before boot a change of the configuration; once
 * booted, the running disk takes the new file (reopened and locked, its
 * capacity announced to the driver) or rate limit.
 */
static int op_patch_drive(struct api_ctx *x)
{
	struct vm *vm = x->api->vm;
	struct vm_disk d;
	char err[256];
	int i = config_drive_patch(&vm->cfg, x->id, x->body, &d, err, sizeof(err));

	if (i < 0)
		return answer_fault(x->conn, 400, "%s", err);
	if (vm_state(vm) != VM_STATE_NOT_STARTED &&
	    vm_update_disk(vm, (unsigned int)i, &d, err, sizeof(err)))
		return answer_fault(x->conn, 400, "%s", err);
	vm->cfg.disk[i] = d;
	return answer_ok(x->conn);
}

/* PATCH /network-interfaces/{id}: the rate limiters, before or after boot. */
static int op_patch_net(struct api_ctx *x)
{
	struct vm *vm = x->api->vm;
	struct vm_net n;
	char err[256];
	int i = config_net_patch(&vm->cfg, x->id, x->body, &n, err, sizeof(err));

	if (i < 0)
		return answer_fault(x->conn, 400, "%s", err);
	if (vm_state(vm) != VM_STATE_NOT_STARTED &&
	    vm_update_net(vm, (unsigned int)i, &n, err, sizeof(err)))
		return answer_fault(x->conn, 400, "%s", err);
	vm->cfg.net[i] = n;
	return answer_ok(x->conn);
}

/* What Firecracker has and vmm does not: refused by name, never a 404. */
static int op_unsupported(struct api_ctx *x)
{
	return answer_fault(x->conn, 400, "%s is not supported by vmm",
			    x->what);
}

/* actions */

static int op_start(struct api_ctx *x)
{
	struct api *a = x->api;

	if (!a->vm->cfg.kernel[0])
		return answer_fault(x->conn, 400,
				    "no boot source: PUT /boot-source first");
	if (a->start_requested)
		return answer_fault(x->conn, 400,
				    "InstanceStart is already under way");
	a->start_requested = true;
	a->start_conn = x->conn;
	vm_start_requested(a->vm);
	/* answered by api_start_result() once the boot has run */
	return HTTPD_HELD;
}

static int op_ctrl_alt_del(struct api_ctx *x)
{
	int ret = arch_send_ctrl_alt_del(x->api->vm);

	if (ret)
		return answer_fault(x->conn, 400, "cannot send Ctrl-Alt-Del: %s",
				    strerror(-ret));
	return answer_ok(x->conn);
}

static int op_flush_metrics(struct api_ctx *x)
{
	struct vm *vm = x->api->vm;
	int ret;

	if (!vm->cfg.metrics_path[0])
		return answer_fault(x->conn, 400,
				    "no metrics_path: PUT /metrics first");
	ret = vm_write_metrics(vm, vm->cfg.metrics_path);
	if (ret)
		return answer_fault(x->conn, 500, "%s: %s", vm->cfg.metrics_path,
				    strerror(-ret));
	return answer_ok(x->conn);
}

static int op_stop(struct api_ctx *x)
{
	vm_request_stop(x->api->vm, VM_STOP_USER, "stopped by the control API");
	return answer_ok(x->conn);
}

/* Magic SysRq: a break and the key, on the guest's console */
static int op_sysrq(struct api_ctx *x)
{
	json_object *k = NULL;
	const char *key;
	int ret;

	if (!json_object_object_get_ex(x->body, "key", &k) || !k)
		return answer_fault(x->conn, 400, "SendSysRq needs \"key\": "
				    "the SysRq key, e.g. \"t\" (tasks)");
	key = json_object_get_string(k);
	if (strlen(key) != 1 || key[0] <= ' ' || key[0] > '~')
		return answer_fault(x->conn, 400, "key '%s': expected one "
				    "printable character, e.g. \"t\"", key);
	ret = console_send_sysrq(x->api->vm->console, (uint8_t)key[0]);
	if (ret == -ENODEV)
		return answer_fault(x->conn, 400, "this VM's console has no "
				    "break to send");
	if (ret)
		return answer_fault(x->conn, 400, "the guest is not reading "
				    "its console input");
	return answer_ok(x->conn);
}

static int op_nmi(struct api_ctx *x)
{
	int ret = vm_send_nmi(x->api->vm);

	if (ret)
		return answer_fault(x->conn, 400, "cannot send an NMI: %s",
				    ret == -EOPNOTSUPP ? "this architecture "
				    "has none" : strerror(-ret));
	return answer_ok(x->conn);
}

/* --- snapshots (Firecracker's /snapshot/create and /snapshot/load) -------- */

static const char *member_str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ?
	       json_object_get_string(v) : NULL;
}

static bool member_true(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v &&
	       json_object_get_boolean(v);
}

static int op_snapshot_create(struct api_ctx *x)
{
	static const struct config_field f[] = {
		{ "snapshot_type", json_type_string, false },
		{ "snapshot_path", json_type_string, true },
		{ "mem_file_path", json_type_string, true },
	};
	const char *type = member_str(x->body, "snapshot_type");
	char err[512];

	if (config_check_fields(x->body, f, sizeof(f) / sizeof(f[0]), err,
				sizeof(err)))
		return answer_fault(x->conn, 400, "%s", err);
	if (type && !strcmp(type, "Diff"))
		return answer_fault(x->conn, 400, "snapshot_type Diff: diff "
				    "snapshots (dirty page tracking) are not "
				    "supported by vmm; use Full");
	if (type && strcmp(type, "Full"))
		return answer_fault(x->conn, 400, "snapshot_type '%s': expected "
				    "Full", type);
	if (vm_snapshot_create(x->api->vm, member_str(x->body, "snapshot_path"),
			       member_str(x->body, "mem_file_path"), err,
			       sizeof(err)))
		return answer_fault(x->conn, 400, "cannot create the snapshot: "
				    "%s", err);
	return answer_ok(x->conn);
}

static int op_snapshot_load(struct api_ctx *x)
{
	static const struct config_field f[] = {
		{ "snapshot_path", json_type_string, true },
		{ "mem_file_path", json_type_string, false },
		{ "mem_backend", json_type_object, false },
		{ "enable_diff_snapshots", json_type_boolean, false },
		{ "track_dirty_pages", json_type_boolean, false },
		{ "resume_vm", json_type_boolean, false },
		{ "network_overrides", json_type_array, false },
		{ "clock_realtime", json_type_boolean, false },
	}, bf[] = {
		{ "backend_type", json_type_string, true },
		{ "backend_path", json_type_string, true },
	};
	struct api *a = x->api;
	struct vm_config *cfg = &a->vm->cfg;
	const char *snap = member_str(x->body, "snapshot_path");
	const char *mem = member_str(x->body, "mem_file_path");
	json_object *be = NULL, *no = NULL;
	char err[512];

	if (config_check_fields(x->body, f, sizeof(f) / sizeof(f[0]), err,
				sizeof(err)))
		return answer_fault(x->conn, 400, "%s", err);
	if (member_true(x->body, "enable_diff_snapshots") ||
	    member_true(x->body, "track_dirty_pages"))
		return answer_fault(x->conn, 400, "dirty page tracking (diff "
				    "snapshots) is not supported by vmm");
	if (member_true(x->body, "clock_realtime"))
		return answer_fault(x->conn, 400, "clock_realtime is not "
				    "supported by vmm: the guest's clocks go on "
				    "from the snapshot");
	if (json_object_object_get_ex(x->body, "network_overrides", &no) && no &&
	    json_object_array_length(no))
		return answer_fault(x->conn, 400, "network_overrides are not "
				    "supported by vmm: the TAPs of the snapshot "
				    "are opened again by name");
	json_object_object_get_ex(x->body, "mem_backend", &be);
	if (be) {
		const char *type;

		if (mem)
			return answer_fault(x->conn, 400, "give mem_backend or "
					    "mem_file_path, not both");
		if (config_check_fields(be, bf, sizeof(bf) / sizeof(bf[0]), err,
					sizeof(err)))
			return answer_fault(x->conn, 400, "mem_backend: %s", err);
		type = member_str(be, "backend_type");
		if (!strcmp(type, "Uffd"))
			return answer_fault(x->conn, 400, "mem_backend: "
					    "backend_type Uffd (userfaultfd) "
					    "is not supported by vmm; use File");
		if (strcmp(type, "File"))
			return answer_fault(x->conn, 400, "mem_backend: "
					    "backend_type '%s': expected File",
					    type);
		mem = member_str(be, "backend_path");
	}
	if (!mem)
		return answer_fault(x->conn, 400, "the memory file is missing: "
				    "mem_backend {\"backend_type\": \"File\", "
				    "\"backend_path\": PATH}");
	if (cfg->kernel[0] || cfg->nr_disks || cfg->nr_nets)
		return answer_fault(x->conn, 400, "PUT /snapshot/load must come "
				    "before any other configuration: the "
				    "snapshot brings its own");
	if (a->start_requested)
		return answer_fault(x->conn, 400, "a start is already under way");
	if (strlen(snap) >= sizeof(cfg->restore) ||
	    strlen(mem) >= sizeof(cfg->restore_mem))
		return answer_fault(x->conn, 400, "path too long");
	snprintf(cfg->restore, sizeof(cfg->restore), "%s", snap);
	snprintf(cfg->restore_mem, sizeof(cfg->restore_mem), "%s", mem);
	cfg->restore_paused = !member_true(x->body, "resume_vm");
	a->start_requested = true;
	a->start_conn = x->conn;
	vm_start_requested(a->vm);
	/* answered by api_start_result() once the restore has run */
	return HTTPD_HELD;
}

static void pause_done(void *arg, int ret)
{
	struct api *a = arg;
	struct httpd_conn *c = a->pause_conn;

	a->pause_conn = NULL;
	if (!c)
		return;
	if (ret)
		answer_fault(c, 400, "cannot pause: %s", ret == -ETIMEDOUT ?
			     "the vCPUs did not stop within 5 s" : strerror(-ret));
	else
		answer_ok(c);
}

static int op_pause(struct api_ctx *x)
{
	struct api *a = x->api;
	int ret;

	if (a->pause_conn)
		return answer_fault(x->conn, 400, "a pause is already under way");
	ret = vm_pause(a->vm, pause_done, a);
	if (ret == 1)
		return answer_ok(x->conn); /* already paused */
	if (ret)
		return answer_fault(x->conn, 400, "cannot pause: %s",
				    strerror(-ret));
	a->pause_conn = x->conn;
	return HTTPD_HELD;
}

static int op_resume(struct api_ctx *x)
{
	int ret;

	/* gdb thinks the guest stopped: it would not hear it ran on */
	if (x->api->vm->gdb && gdb_server_holds(x->api->vm->gdb))
		return answer_fault(x->conn, 400, "cannot resume: the debugger "
				    "(--gdb) holds the guest stopped; continue "
				    "or detach it there");
	ret = vm_resume(x->api->vm);

	if (ret)
		return answer_fault(x->conn, 400, "cannot resume: %s",
				    ret == -EBUSY ? "a pause is under way" :
				    strerror(-ret));
	return answer_ok(x->conn);
}

/*
 * The one table of what can be done, and in which VM states. Requests
 * for an operation in another state get 400 and change nothing.
 */
enum op {
	OP_INFO, OP_GET_MACHINE, OP_GET_VM_CONFIG, OP_GET_METRICS,
	OP_GET_TIMELINE, OP_PUT_BOOT_SOURCE, OP_PUT_MACHINE, OP_PUT_DRIVE,
	OP_PUT_NET, OP_PUT_LOGGER, OP_PUT_METRICS,
	OP_INSTANCE_START, OP_CTRL_ALT_DEL, OP_FLUSH_METRICS, OP_STOP,
	OP_PAUSE, OP_RESUME, OP_GET_VERSION, OP_PATCH_MACHINE, OP_PATCH_DRIVE,
	OP_PATCH_NET, OP_PUT_ENTROPY, OP_PUT_VSOCK, OP_PUT_SERIAL,
	OP_SYSRQ, OP_NMI, OP_SNAPSHOT_CREATE, OP_SNAPSHOT_LOAD, OP_UNSUPPORTED,
	OP_COUNT,
};

static const struct op_desc {
	const char *name;
	unsigned int states;
	op_fn fn;
} ops[OP_COUNT] = {
	[OP_INFO]            = { "GET /",               S_ANY,         op_info },
	[OP_GET_MACHINE]     = { "GET /machine-config", S_ANY,         op_get_machine },
	[OP_GET_VM_CONFIG]   = { "GET /vm/config",      S_ANY,         op_get_vm_config },
	[OP_GET_METRICS]     = { "GET /metrics",        S_ANY,         op_get_metrics },
	[OP_GET_TIMELINE]    = { "GET /boot-timeline",  S_ANY,         op_get_timeline },
	[OP_PUT_BOOT_SOURCE] = { "PUT /boot-source",    S_NOT_STARTED, op_put_boot_source },
	[OP_PUT_MACHINE]     = { "PUT /machine-config", S_NOT_STARTED, op_put_machine },
	[OP_PUT_DRIVE]       = { "PUT /drives",         S_NOT_STARTED, op_put_drive },
	[OP_PUT_NET]         = { "PUT /network-interfaces", S_NOT_STARTED, op_put_net },
	[OP_PUT_LOGGER]      = { "PUT /logger",         S_NOT_STARTED, op_put_logger },
	[OP_PUT_METRICS]     = { "PUT /metrics",        S_NOT_STARTED, op_put_metrics },
	[OP_INSTANCE_START]  = { "InstanceStart",       S_NOT_STARTED, op_start },
	[OP_CTRL_ALT_DEL]    = { "SendCtrlAltDel",      S_RUNNING,     op_ctrl_alt_del },
	[OP_FLUSH_METRICS]   = { "FlushMetrics",        S_ANY,         op_flush_metrics },
	[OP_STOP]            = { "Stop",                S_ANY,         op_stop },
	[OP_PAUSE]           = { "Pause",               S_BOOTED,      op_pause },
	[OP_RESUME]          = { "Resume",              S_BOOTED,      op_resume },
	[OP_GET_VERSION]     = { "GET /version",        S_ANY,         op_get_version },
	[OP_PATCH_MACHINE]   = { "PATCH /machine-config", S_NOT_STARTED, op_patch_machine },
	[OP_PATCH_DRIVE]     = { "PATCH /drives",       S_ANY,         op_patch_drive },
	[OP_PATCH_NET]       = { "PATCH /network-interfaces", S_ANY,   op_patch_net },
	[OP_PUT_ENTROPY]     = { "PUT /entropy",        S_NOT_STARTED, op_put_entropy },
	[OP_PUT_VSOCK]       = { "PUT /vsock",          S_NOT_STARTED, op_put_vsock },
	[OP_PUT_SERIAL]      = { "PUT /serial",         S_NOT_STARTED, op_put_serial },
	[OP_SYSRQ]           = { "SendSysRq",           S_BOOTED,      op_sysrq },
	[OP_NMI]             = { "SendNmi",             S_BOOTED,      op_nmi },
	[OP_SNAPSHOT_CREATE] = { "PUT /snapshot/create", S_PAUSED,     op_snapshot_create },
	[OP_SNAPSHOT_LOAD]   = { "PUT /snapshot/load",  S_NOT_STARTED, op_snapshot_load },
	[OP_UNSUPPORTED]     = { "this request",        S_ANY,         op_unsupported },
};

/* Routes: method + path (with an optional /{id} tail) to an operation. */
static const struct route {
	enum http_method method;
	const char *path;
	bool has_id;
	int op;        /* an enum op, or -1: chosen from the body */
	const char *what; /* OP_UNSUPPORTED: the feature's name */
} routes[] = {
	{ HTTP_GET,   "/",                   false, OP_INFO, NULL },
	{ HTTP_GET,   "/machine-config",     false, OP_GET_MACHINE, NULL },
	{ HTTP_PUT,   "/machine-config",     false, OP_PUT_MACHINE, NULL },
	{ HTTP_GET,   "/vm/config",          false, OP_GET_VM_CONFIG, NULL },
	{ HTTP_GET,   "/metrics",            false, OP_GET_METRICS, NULL },
	{ HTTP_PUT,   "/metrics",            false, OP_PUT_METRICS, NULL },
	{ HTTP_GET,   "/boot-timeline",      false, OP_GET_TIMELINE, NULL },
	{ HTTP_PUT,   "/boot-source",        false, OP_PUT_BOOT_SOURCE, NULL },
	{ HTTP_PUT,   "/drives",             true,  OP_PUT_DRIVE, NULL },
	{ HTTP_PUT,   "/network-interfaces", true,  OP_PUT_NET, NULL },
	{ HTTP_PUT,   "/logger",             false, OP_PUT_LOGGER, NULL },
	{ HTTP_PUT,   "/actions",            false, -1, NULL },
	{ HTTP_PATCH, "/vm",                 false, -1, NULL },
	{ HTTP_GET,   "/version",            false, OP_GET_VERSION, NULL },
	{ HTTP_PATCH, "/machine-config",     false, OP_PATCH_MACHINE, NULL },
	{ HTTP_PATCH, "/drives",             true,  OP_PATCH_DRIVE, NULL },
	{ HTTP_PATCH, "/network-interfaces", true,  OP_PATCH_NET, NULL },
	{ HTTP_PUT,   "/entropy",            false, OP_PUT_ENTROPY, NULL },
	{ HTTP_PUT,   "/vsock",              false, OP_PUT_VSOCK, NULL },
	{ HTTP_PUT,   "/serial",             false, OP_PUT_SERIAL, NULL },
	{ HTTP_PUT,   "/snapshot/create",    false, OP_SNAPSHOT_CREATE, NULL },
	{ HTTP_PUT,   "/snapshot/load",      false, OP_SNAPSHOT_LOAD, NULL },
	/* the rest of Firecracker's API (swagger 1.16): answered, refused */
	{ HTTP_GET,   "/balloon",            false, OP_UNSUPPORTED, "the balloon device" },
	{ HTTP_PUT,   "/balloon",            false, OP_UNSUPPORTED, "the balloon device" },
	{ HTTP_PATCH, "/balloon",            false, OP_UNSUPPORTED, "the balloon device" },
	{ HTTP_GET,   "/balloon/statistics", false, OP_UNSUPPORTED, "the balloon device" },
	{ HTTP_PATCH, "/balloon/statistics", false, OP_UNSUPPORTED, "the balloon device" },
	{ HTTP_PATCH, "/balloon/hinting/start", false, OP_UNSUPPORTED, "the balloon device" },
	{ HTTP_GET,   "/balloon/hinting/status", false, OP_UNSUPPORTED, "the balloon device" },
	{ HTTP_PATCH, "/balloon/hinting/stop", false, OP_UNSUPPORTED, "the balloon device" },
	{ HTTP_PUT,   "/cpu-config",         false, OP_UNSUPPORTED, "custom CPU templates (cpu-config)" },
	{ HTTP_PUT,   "/pmem",               true,  OP_UNSUPPORTED, "virtio-pmem" },
	{ HTTP_PATCH, "/pmem",               true,  OP_UNSUPPORTED, "virtio-pmem" },
	{ HTTP_GET,   "/mmds",               false, OP_UNSUPPORTED, "MMDS (the metadata service)" },
	{ HTTP_PUT,   "/mmds",               false, OP_UNSUPPORTED, "MMDS (the metadata service)" },
	{ HTTP_PATCH, "/mmds",               false, OP_UNSUPPORTED, "MMDS (the metadata service)" },
	{ HTTP_PUT,   "/mmds/config",        false, OP_UNSUPPORTED, "MMDS (the metadata service)" },
	{ HTTP_GET,   "/hotplug/memory",     false, OP_UNSUPPORTED, "memory hot-plug" },
	{ HTTP_PUT,   "/hotplug/memory",     false, OP_UNSUPPORTED, "memory hot-plug" },
	{ HTTP_PATCH, "/hotplug/memory",     false, OP_UNSUPPORTED, "memory hot-plug" },
};

/* Does path match route r? Sets *id to the {id} part. */
static bool route_match(const struct route *r, const char *path,
			const char **id)
{
	size_t n = strlen(r->path);

	*id = NULL;
	if (strncmp(path, r->path, n))
		return false;
	if (!r->has_id)
		return path[n] == 0;
	if (path[n] != '/' || !path[n + 1] || strchr(path + n + 1, '/'))
		return false;
	*id = path + n + 1;
	return true;
}

/* PUT /actions and PATCH /vm name their operation in the body. */
static int op_from_body(const struct route *rt, json_object *body,
			struct httpd_conn *c)
{
	static const struct { const char *value; int op; } actions[] = {
		{ "InstanceStart", OP_INSTANCE_START },
		{ "SendCtrlAltDel", OP_CTRL_ALT_DEL },
		{ "FlushMetrics", OP_FLUSH_METRICS },
		{ "Stop", OP_STOP },
		{ "SendSysRq", OP_SYSRQ },
		{ "SendNmi", OP_NMI },
	}, states[] = {
		{ "Paused", OP_PAUSE },
		{ "Resumed", OP_RESUME },
	};
	static const struct config_field af[] = {
		{ "action_type", json_type_string, true },
		{ "key", json_type_string, false },    /* SendSysRq's */
	};
	static const struct config_field sf[] = {
		{ "state", json_type_string, true },
	};
	bool is_actions = rt->method == HTTP_PUT;
	json_object *v;
	const char *s;
	char err[256];

	if (config_check_fields(body, is_actions ? af : sf,
				is_actions ? 2 : 1, err, sizeof(err))) {
		answer_fault(c, 400, "%s", err);
		return -1;
	}
	json_object_object_get_ex(body, is_actions ? "action_type" : "state", &v);
	s = json_object_get_string(v);
	if (is_actions) {
		for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
			if (strcmp(s, actions[i].value))
				continue;
			if (actions[i].op != OP_SYSRQ &&
			    json_object_object_get_ex(body, "key", &v)) {
				answer_fault(c, 400, "field 'key' is for SendSysRq "
					     "only");
				return -1;
			}
			return actions[i].op;
		}
		answer_fault(c, 400, "unknown action_type '%s' (InstanceStart, "
			     "SendCtrlAltDel, FlushMetrics, Stop, SendSysRq, "
			     "SendNmi)", s);
		return -1;
	}
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(s, states[i].value))
			return states[i].op;
	answer_fault(c, 400, "unknown state '%s' (Paused, Resumed)", s);
	return -1;
}

static int handle_request(void *opaque, struct httpd_conn *c,
			  const struct http_request *req)
{
	struct api *a = opaque;
	const struct route *rt = NULL;
	json_object *body = NULL;
	const char *id = NULL;
	bool path_known = false;
	char err[256];
	int op, ret = 0;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *rid;

		if (!route_match(&routes[i], req->path, &rid))
			continue;
		path_known = true;
		if (routes[i].method == req->method) {
			rt = &routes[i];
			id = rid;
			break;
		}
	}
	if (!rt) {
		if (path_known)
			return answer_fault(c, 405, "%s is not allowed on %s",
					    http_method_name(req->method),
					    req->path);
		return answer_fault(c, 404, "no such resource: %s", req->path);
	}
	if ((req->method == HTTP_PUT || req->method == HTTP_PATCH) &&
	    rt->op != OP_UNSUPPORTED) {
		if (!req->body_len)
			return answer_fault(c, 400, "a JSON body is required");
		if (config_parse_json((const char *)req->body, req->body_len,
				      &body, err, sizeof(err)))
			return answer_fault(c, 400, "%s", err);
	}
	op = rt->op >= 0 ? rt->op : op_from_body(rt, body, c);
	if (op >= 0) {
		const struct op_desc *d = &ops[op];
		enum vm_state st = vm_state(a->vm);
		struct api_ctx x = { a, c, id, body, rt->what };

		if (!(d->states & (1u << st)))
			answer_fault(c, 400, "%s is not allowed while the VM is %s",
				     d->name, state_name(st));
		else
			ret = d->fn(&x);
	}
	json_object_put(body);
	return ret;
}

int api_create(struct vm *vm, const char *path, unsigned int mode,
	       struct api **out)
{
	struct api *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return -ENOMEM;
	a->vm = vm;
	ret = httpd_create(vm->loop, path, mode, handle_request, a, &a->srv);
	if (ret) {
		free(a);
		return ret;
	}
	timeline_mark(&vm->t.api_ready);
	/* what Firecracker's clients wait for in its log */
	info("API server started.");
	*out = a;
	return 0;
}

void api_set_max_body(struct api *a, size_t max)
{
	httpd_set_max_body(a->srv, max);
}

void api_start_result(struct api *a, int ret, const char *why)
{
	struct httpd_conn *c;

	if (!a || !a->start_conn)
		return;
	c = a->start_conn;
	a->start_conn = NULL;
	a->start_requested = false;
	if (ret) {
		httpd_close_after(c);
		answer_fault(c, 400, "the VM did not start: %s",
			     why && *why ? why : strerror(-ret));
	} else {
		answer_ok(c);
	}
}

void api_destroy(struct api *a)
{
	if (!a)
		return;
	httpd_destroy(a->srv);
	free(a);
}
