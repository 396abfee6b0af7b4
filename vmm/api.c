// SPDX-License-Identifier: MIT
/*
 * The control socket (see api.h). One event loop serves the listening
 * socket and a bounded number of connections; each connection has a
 * fixed-size parser (http.c), answers one request at a time and is
 * closed when idle or slow. Handlers validate the whole body before they
 * change anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "../arch/arch.h"
#include "api.h"
#include "cli.h"
#include "evloop.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "vmm.h"

#define API_MAX_CONNS     16
#define API_OUT_MAX       (64 << 10)
#define API_SLOW_NS       (5ULL * 1000000000ULL)  /* a request must arrive in 5 s */
#define API_IDLE_NS       (60ULL * 1000000000ULL) /* idle keep-alive */

struct api_conn {
	struct api *api;
	int fd;
	struct http_parser p;
	bool partial;           /* bytes of a request have arrived */
	bool closing;           /* close once out[] is written */
	uint64_t since;         /* start of the current request, or idle */
	size_t out_len, out_off;
	char out[API_OUT_MAX];
};

struct api {
	struct vm *vm;
	int listen_fd;
	int timer_fd;
	char path[VMM_SOCK_PATH_MAX];
	struct api_conn *conn[API_MAX_CONNS];
	bool start_requested;
	struct api_conn *start_conn; /* answered once the boot has run */
};

/* --- responses ---------------------------------------------------------- */

struct api_resp {
	int status;             /* 200, 204, 4xx, ... */
	json_object *body;      /* for 200 */
	char fault[256];        /* for errors */
};

static int fault(struct api_resp *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fault(struct api_resp *r, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->fault, sizeof(r->fault), fmt, ap);
	va_end(ap);
	return r->status = status;
}

static void conn_close(struct api_conn *c)
{
	struct api *a = c->api;

	for (int i = 0; i < API_MAX_CONNS; i++)
		if (a->conn[i] == c)
			a->conn[i] = NULL;
	if (a->start_conn == c)
		a->start_conn = NULL;
	evloop_del(a->vm->loop, c->fd);
	close(c->fd);
	free(c);
}

/* Write what is pending; returns false when the connection is gone. */
static bool conn_flush(struct api_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			evloop_mod(c->api->vm->loop, c->fd, EPOLLOUT);
			return true;
		}
		if (n <= 0) {
			conn_close(c);
			return false;
		}
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	if (c->closing) {
		conn_close(c);
		return false;
	}
	evloop_mod(c->api->vm->loop, c->fd, EPOLLIN);
	return true;
}

static void conn_respond(struct api_conn *c, struct api_resp *r, bool close)
{
	const char *body = NULL;
	size_t len = 0;
	json_object *f = NULL;
	int n;

	if (r->status >= 400) {
		f = json_object_new_object();
		json_object_object_add(f, "fault_message",
				       json_object_new_string(r->fault));
		body = json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	} else if (r->body) {
		body = json_object_to_json_string_ext(r->body,
						      JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	}
	if (body)
		len = strlen(body);
	n = http_format_response(c->out + c->out_len,
				 sizeof(c->out) - c->out_len, r->status,
				 body ? "application/json" : NULL, body, len,
				 close);
	if (n < 0) {
		static const char too_big[] = "{\"fault_message\":\"response too large\"}";

		n = http_format_response(c->out + c->out_len,
					 sizeof(c->out) - c->out_len, 500,
					 "application/json", too_big,
					 sizeof(too_big) - 1, true);
		close = true;
	}
	if (n > 0)
		c->out_len += (size_t)n;
	c->closing = close;
	json_object_put(f);
	json_object_put(r->body);
	r->body = NULL;
}

/* --- body validation ------------------------------------------------------ */

struct field {
	const char *name;
	json_type type;
	bool required;
};

/* Every member known, of the right type; required ones present. */
static int check_fields(json_object *o, const struct field *f, size_t nf,
			struct api_resp *r)
{
	if (!o || !json_object_is_type(o, json_type_object))
		return fault(r, 400, "the body must be a JSON object");
	json_object_object_foreach(o, key, val) {
		size_t i;

		for (i = 0; i < nf; i++)
			if (!strcmp(key, f[i].name))
				break;
		if (i == nf)
			return fault(r, 400, "unknown field '%s'", key);
		if (!json_object_is_type(val, f[i].type))
			return fault(r, 400, "field '%s' must be %s", key,
				     json_type_to_name(f[i].type));
	}
	for (size_t i = 0; i < nf; i++)
		if (f[i].required && !json_object_object_get_ex(o, f[i].name, NULL))
			return fault(r, 400, "missing field '%s'", f[i].name);
	return 0;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static bool get_bool(json_object *o, const char *key, bool dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_boolean(v) : dflt;
}

static int copy_str(char *dst, size_t cap, const char *src, const char *what,
		    struct api_resp *r)
{
	if (strlen(src) >= cap)
		return fault(r, 400, "%s is longer than %zu bytes", what, cap - 1);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* --- configuration (pre-boot) --------------------------------------------- */

static int cfg_boot_source(struct vm_config *cfg, json_object *b,
			   struct api_resp *r)
{
	static const struct field f[] = {
		{ "kernel_image_path", json_type_string, true },
		{ "boot_args", json_type_string, false },
		{ "initrd_path", json_type_string, false },
	};
	struct vm_config n = *cfg;
	const char *s;

	if (check_fields(b, f, 3, r) ||
	    copy_str(n.kernel, sizeof(n.kernel), get_str(b, "kernel_image_path"),
		     "kernel_image_path", r))
		return r->status;
	s = get_str(b, "boot_args");
	if (s && copy_str(n.cmdline, sizeof(n.cmdline), s, "boot_args", r))
		return r->status;
	s = get_str(b, "initrd_path");
	n.initrd[0] = 0;
	if (s && copy_str(n.initrd, sizeof(n.initrd), s, "initrd_path", r))
		return r->status;
	*cfg = n;
	return 0;
}

static int cfg_machine(struct vm_config *cfg, json_object *b, struct api_resp *r)
{
	static const struct field f[] = {
		{ "vcpu_count", json_type_int, true },
		{ "mem_size_mib", json_type_int, true },
		{ "smt", json_type_boolean, false },
		{ "track_dirty_pages", json_type_boolean, false },
	};
	int64_t cpus, mib;

	if (check_fields(b, f, 4, r))
		return r->status;
	cpus = json_object_get_int64(json_object_object_get(b, "vcpu_count"));
	mib = json_object_get_int64(json_object_object_get(b, "mem_size_mib"));
	if (cpus < 1 || cpus > VMM_MAX_CPUS)
		return fault(r, 400, "vcpu_count must be 1 to %d", VMM_MAX_CPUS);
	if (mib < (int64_t)(VMM_MIN_MEM >> 20) || mib > (int64_t)(VMM_MAX_MEM >> 20))
		return fault(r, 400, "mem_size_mib must be %llu to %llu",
			     VMM_MIN_MEM >> 20, VMM_MAX_MEM >> 20);
	if (get_bool(b, "smt", false))
		return fault(r, 400, "smt is not supported: vCPUs are cores");
	if (get_bool(b, "track_dirty_pages", false))
		return fault(r, 400, "track_dirty_pages is not supported");
	cfg->cpus = (unsigned int)cpus;
	cfg->mem_size = (uint64_t)mib << 20;
	return 0;
}

static int cfg_drive(struct vm_config *cfg, const char *id, json_object *b,
		     struct api_resp *r)
{
	static const struct field f[] = {
		{ "drive_id", json_type_string, true },
		{ "path_on_host", json_type_string, true },
		{ "is_root_device", json_type_boolean, true },
		{ "is_read_only", json_type_boolean, false },
	};
	struct vm_disk d = { 0 };
	unsigned int i;

	if (check_fields(b, f, 4, r))
		return r->status;
	if (id && strcmp(id, get_str(b, "drive_id")))
		return fault(r, 400, "drive_id '%s' differs from the path's '%s'",
			     get_str(b, "drive_id"), id);
	if (copy_str(d.id, sizeof(d.id), get_str(b, "drive_id"), "drive_id", r) ||
	    copy_str(d.path, sizeof(d.path), get_str(b, "path_on_host"),
		     "path_on_host", r))
		return r->status;
	d.read_only = get_bool(b, "is_read_only", false);
	/* PUT replaces a drive with the same id */
	for (i = 0; i < cfg->nr_disks; i++)
		if (!strcmp(cfg->disk[i].id, d.id))
			break;
	if (i == VMM_MAX_DISKS)
		return fault(r, 400, "at most %d drives", VMM_MAX_DISKS);
	d.root = get_bool(b, "is_root_device", false);
	/* every check before any change: a refused PUT changes nothing */
	for (unsigned int j = 0; d.root && j < cfg->nr_disks; j++)
		if (cfg->disk[j].root && j != i)
			return fault(r, 400, "drive '%s' is already the root device",
				     cfg->disk[j].id);
	if (i == cfg->nr_disks)
		cfg->nr_disks++;
	cfg->disk[i] = d;
	/* the root device is /dev/vda: first in line */
	if (d.root) {
		memmove(&cfg->disk[1], &cfg->disk[0], i * sizeof(d));
		cfg->disk[0] = d;
	}
	return 0;
}

static int parse_mac_str(const char *s, uint8_t mac[6])
{
	struct vm_net tmp;
	char buf[64], err[128];

	snprintf(buf, sizeof(buf), "tap=x,mac=%s", s);
	if (parse_net(buf, &tmp, err, sizeof(err)))
		return -EINVAL;
	memcpy(mac, tmp.mac, 6);
	return 0;
}

static int cfg_net(struct vm_config *cfg, const char *id, json_object *b,
		   struct api_resp *r)
{
	static const struct field f[] = {
		{ "iface_id", json_type_string, true },
		{ "host_dev_name", json_type_string, true },
		{ "guest_mac", json_type_string, false },
	};
	struct vm_net n = { 0 };
	const char *mac;
	unsigned int i;

	if (check_fields(b, f, 3, r))
		return r->status;
	if (id && strcmp(id, get_str(b, "iface_id")))
		return fault(r, 400, "iface_id '%s' differs from the path's '%s'",
			     get_str(b, "iface_id"), id);
	if (copy_str(n.id, sizeof(n.id), get_str(b, "iface_id"), "iface_id", r) ||
	    copy_str(n.tap, sizeof(n.tap), get_str(b, "host_dev_name"),
		     "host_dev_name", r))
		return r->status;
	mac = get_str(b, "guest_mac");
	if (mac) {
		if (parse_mac_str(mac, n.mac))
			return fault(r, 400, "guest_mac '%s' is not a unicast MAC address",
				     mac);
		n.mac_set = true;
	}
	for (i = 0; i < cfg->nr_nets; i++)
		if (!strcmp(cfg->net[i].id, n.id))
			break;
	if (i == VMM_MAX_NETS)
		return fault(r, 400, "at most %d network interfaces", VMM_MAX_NETS);
	if (i == cfg->nr_nets)
		cfg->nr_nets++;
	cfg->net[i] = n;
	return 0;
}

int api_apply_config(struct vm_config *cfg, json_object *doc, char *err,
		     size_t errlen)
{
	static const struct field f[] = {
		{ "boot-source", json_type_object, true },
		{ "machine-config", json_type_object, false },
		{ "drives", json_type_array, false },
		{ "network-interfaces", json_type_array, false },
		{ "logger", json_type_object, false },
		{ "metrics", json_type_object, false },
	};
	struct vm_config n = *cfg;
	struct api_resp r = { 0 };
	json_object *v;

	if (check_fields(doc, f, sizeof(f) / sizeof(f[0]), &r))
		goto fail;
	if (cfg_boot_source(&n, json_object_object_get(doc, "boot-source"), &r))
		goto fail;
	if (json_object_object_get_ex(doc, "machine-config", &v) &&
	    cfg_machine(&n, v, &r))
		goto fail;
	if (json_object_object_get_ex(doc, "drives", &v))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (cfg_drive(&n, NULL, json_object_array_get_idx(v, i), &r))
				goto fail;
	if (json_object_object_get_ex(doc, "network-interfaces", &v))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (cfg_net(&n, NULL, json_object_array_get_idx(v, i), &r))
				goto fail;
	if (json_object_object_get_ex(doc, "metrics", &v)) {
		static const struct field mf[] = {
			{ "metrics_path", json_type_string, true },
		};

		if (check_fields(v, mf, 1, &r) ||
		    copy_str(n.metrics_path, sizeof(n.metrics_path),
			     get_str(v, "metrics_path"), "metrics_path", &r))
			goto fail;
	}
	if (json_object_object_get_ex(doc, "logger", &v)) {
		/* applied by the caller through the same path as PUT /logger */
		static const struct field lf[] = {
			{ "log_path", json_type_string, false },
			{ "level", json_type_string, false },
			{ "show_level", json_type_boolean, false },
			{ "show_log_origin", json_type_boolean, false },
		};

		if (check_fields(v, lf, 4, &r))
			goto fail;
	}
	*cfg = n;
	return 0;
fail:
	snprintf(err, errlen, "%s", r.fault);
	return -EINVAL;
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
	struct api_conn *conn;
	const char *id;      /* {id} from the path, or NULL */
	json_object *body;   /* parsed body, or NULL */
	struct api_resp *r;
};

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
	/* vmm's additions: clients that only know Firecracker's ignore them */
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
	x->r->body = o;
	return x->r->status = 200;
}

static json_object *machine_json(const struct vm_config *cfg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "vcpu_count", json_object_new_int((int)cfg->cpus));
	json_object_object_add(o, "mem_size_mib",
			       json_object_new_int64((int64_t)(cfg->mem_size >> 20)));
	json_object_object_add(o, "smt", json_object_new_boolean(false));
	json_object_object_add(o, "track_dirty_pages", json_object_new_boolean(false));
	return o;
}

static int op_get_machine(struct api_ctx *x)
{
	x->r->body = machine_json(&x->api->vm->cfg);
	return x->r->status = 200;
}

static int op_get_vm_config(struct api_ctx *x)
{
	const struct vm_config *cfg = &x->api->vm->cfg;
	json_object *o = json_object_new_object();
	json_object *b = json_object_new_object();
	json_object *arr = json_object_new_array();

	json_object_object_add(b, "kernel_image_path", json_object_new_string(cfg->kernel));
	json_object_object_add(b, "boot_args", json_object_new_string(cfg->cmdline));
	json_object_object_add(b, "initrd_path",
			       cfg->initrd[0] ? json_object_new_string(cfg->initrd) : NULL);
	json_object_object_add(o, "boot-source", b);
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		json_object *d = json_object_new_object();

		json_object_object_add(d, "drive_id", json_object_new_string(cfg->disk[i].id));
		json_object_object_add(d, "path_on_host", json_object_new_string(cfg->disk[i].path));
		json_object_object_add(d, "is_root_device", json_object_new_boolean(cfg->disk[i].root));
		json_object_object_add(d, "is_read_only", json_object_new_boolean(cfg->disk[i].read_only));
		json_object_array_add(arr, d);
	}
	json_object_object_add(o, "drives", arr);
	arr = json_object_new_array();
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const uint8_t *m = cfg->net[i].mac;
		json_object *n = json_object_new_object();
		char mac[18];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 m[0], m[1], m[2], m[3], m[4], m[5]);
		json_object_object_add(n, "iface_id", json_object_new_string(
			cfg->net[i].id[0] ? cfg->net[i].id : cfg->net[i].tap));
		json_object_object_add(n, "host_dev_name", json_object_new_string(cfg->net[i].tap));
		json_object_object_add(n, "guest_mac", cfg->net[i].mac_set ?
				       json_object_new_string(mac) : NULL);
		json_object_array_add(arr, n);
	}
	json_object_object_add(o, "network-interfaces", arr);
	json_object_object_add(o, "machine-config", machine_json(cfg));
	x->r->body = o;
	return x->r->status = 200;
}

static int op_put_boot_source(struct api_ctx *x)
{
	return cfg_boot_source(&x->api->vm->cfg, x->body, x->r) ?: (x->r->status = 204);
}

static int op_put_machine(struct api_ctx *x)
{
	return cfg_machine(&x->api->vm->cfg, x->body, x->r) ?: (x->r->status = 204);
}

static int op_put_drive(struct api_ctx *x)
{
	return cfg_drive(&x->api->vm->cfg, x->id, x->body, x->r) ?: (x->r->status = 204);
}

static int op_put_net(struct api_ctx *x)
{
	return cfg_net(&x->api->vm->cfg, x->id, x->body, x->r) ?: (x->r->status = 204);
}

static int apply_logger(json_object *b, struct api_resp *r)
{
	static const struct field f[] = {
		{ "log_path", json_type_string, false },
		{ "level", json_type_string, false },
		{ "show_level", json_type_boolean, false },
		{ "show_log_origin", json_type_boolean, false },
	};
	static const struct { const char *name; enum log_level lvl; } levels[] = {
		{ "Error", LOG_ERROR }, { "Warning", LOG_WARN },
		{ "Info", LOG_INFO }, { "Debug", LOG_DEBUG }, { "Trace", LOG_DEBUG },
	};
	const char *level, *path;
	int lvl = -1, fd = -1;

	if (check_fields(b, f, 4, r))
		return r->status;
	level = get_str(b, "level");
	if (level) {
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
			if (!strcasecmp(level, levels[i].name))
				lvl = (int)levels[i].lvl;
		if (lvl < 0)
			return fault(r, 400, "level '%s': expected Error, Warning, Info or Debug",
				     level);
	}
	path = get_str(b, "log_path");
	if (path) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
		if (fd < 0)
			return fault(r, 400, "log_path %s: %s", path, strerror(errno));
	}
	/* all checked: now apply */
	if (lvl >= 0)
		log_set_level((enum log_level)lvl);
	if (fd >= 0) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	return 0;
}

static int op_put_logger(struct api_ctx *x)
{
	return apply_logger(x->body, x->r) ?: (x->r->status = 204);
}

static int op_put_metrics(struct api_ctx *x)
{
	static const struct field f[] = {
		{ "metrics_path", json_type_string, true },
	};
	struct vm_config *cfg = &x->api->vm->cfg;

	if (check_fields(x->body, f, 1, x->r) ||
	    copy_str(cfg->metrics_path, sizeof(cfg->metrics_path),
		     get_str(x->body, "metrics_path"), "metrics_path", x->r))
		return x->r->status;
	return x->r->status = 204;
}

static int op_get_metrics(struct api_ctx *x)
{
	x->r->body = vm_metrics_json(x->api->vm);
	return x->r->status = 200;
}

static int op_get_timeline(struct api_ctx *x)
{
	x->r->body = vm_timeline_json(x->api->vm);
	return x->r->status = 200;
}

/* actions */

static int op_start(struct api_ctx *x)
{
	struct api *a = x->api;

	if (!a->vm->cfg.kernel[0])
		return fault(x->r, 400, "no boot source: PUT /boot-source first");
	if (a->start_requested)
		return fault(x->r, 400, "InstanceStart is already under way");
	a->start_requested = true;
	a->start_conn = x->conn;
	a->vm->loop_exit = true;
	vm_mark(a->vm, &a->vm->t.instance_start);
	/* answered by api_start_result() once the boot has run */
	return x->r->status = 0;
}

static int op_ctrl_alt_del(struct api_ctx *x)
{
	int ret = arch_send_ctrl_alt_del(x->api->vm);

	if (ret)
		return fault(x->r, 400, "cannot send Ctrl-Alt-Del: %s", strerror(-ret));
	return x->r->status = 204;
}

static int op_flush_metrics(struct api_ctx *x)
{
	struct vm *vm = x->api->vm;
	int ret;

	if (!vm->cfg.metrics_path[0])
		return fault(x->r, 400, "no metrics_path: PUT /metrics first");
	ret = vm_write_metrics(vm, vm->cfg.metrics_path);
	if (ret)
		return fault(x->r, 500, "%s: %s", vm->cfg.metrics_path, strerror(-ret));
	return x->r->status = 204;
}

static int op_stop(struct api_ctx *x)
{
	vm_request_stop(x->api->vm, VM_STOP_USER, "stopped by the control API");
	return x->r->status = 204;
}

static int op_pause(struct api_ctx *x)
{
	int ret = vm_pause(x->api->vm);

	return ret ? fault(x->r, 400, "cannot pause: %s", strerror(-ret))
		   : (x->r->status = 204);
}

static int op_resume(struct api_ctx *x)
{
	int ret = vm_resume(x->api->vm);

	return ret ? fault(x->r, 400, "cannot resume: %s", strerror(-ret))
		   : (x->r->status = 204);
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
	OP_PAUSE, OP_RESUME,
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
};

/* Routes: method + path (with an optional /{id} tail) to an operation. */
static const struct route {
	enum http_method method;
	const char *path;
	bool has_id;
	int op;        /* an enum op, or -1: chosen from the body */
} routes[] = {
	{ HTTP_GET,   "/",                   false, OP_INFO },
	{ HTTP_GET,   "/machine-config",     false, OP_GET_MACHINE },
	{ HTTP_PUT,   "/machine-config",     false, OP_PUT_MACHINE },
	{ HTTP_GET,   "/vm/config",          false, OP_GET_VM_CONFIG },
	{ HTTP_GET,   "/metrics",            false, OP_GET_METRICS },
	{ HTTP_PUT,   "/metrics",            false, OP_PUT_METRICS },
	{ HTTP_GET,   "/boot-timeline",      false, OP_GET_TIMELINE },
	{ HTTP_PUT,   "/boot-source",        false, OP_PUT_BOOT_SOURCE },
	{ HTTP_PUT,   "/drives",             true,  OP_PUT_DRIVE },
	{ HTTP_PUT,   "/network-interfaces", true,  OP_PUT_NET },
	{ HTTP_PUT,   "/logger",             false, OP_PUT_LOGGER },
	{ HTTP_PUT,   "/actions",            false, -1 },
	{ HTTP_PATCH, "/vm",                 false, -1 },
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
			struct api_resp *r)
{
	static const struct { const char *value; int op; } actions[] = {
		{ "InstanceStart", OP_INSTANCE_START },
		{ "SendCtrlAltDel", OP_CTRL_ALT_DEL },
		{ "FlushMetrics", OP_FLUSH_METRICS },
		{ "Stop", OP_STOP },
	}, states[] = {
		{ "Paused", OP_PAUSE },
		{ "Resumed", OP_RESUME },
	};
	static const struct field af[] = { { "action_type", json_type_string, true } };
	static const struct field sf[] = { { "state", json_type_string, true } };
	bool is_actions = rt->method == HTTP_PUT;
	const char *v;

	if (check_fields(body, is_actions ? af : sf, 1, r))
		return -1;
	v = get_str(body, is_actions ? "action_type" : "state");
	if (is_actions) {
		for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
			if (!strcmp(v, actions[i].value))
				return actions[i].op;
		fault(r, 400, "unknown action_type '%s' (InstanceStart, SendCtrlAltDel, "
		      "FlushMetrics, Stop)", v);
		return -1;
	}
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(v, states[i].value))
			return states[i].op;
	fault(r, 400, "unknown state '%s' (Paused, Resumed)", v);
	return -1;
}

static void handle_request(struct api_conn *c, const struct http_request *req,
			   struct api_resp *r)
{
	const struct route *rt = NULL;
	json_object *body = NULL;
	const char *id = NULL;
	bool path_known = false;
	int op;

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
			fault(r, 405, "%s is not allowed on %s",
			      http_method_name(req->method), req->path);
		else
			fault(r, 404, "no such resource: %s", req->path);
		return;
	}
	if (req->method == HTTP_PUT || req->method == HTTP_PATCH) {
		struct json_tokener *tok = json_tokener_new_ex(32);
		enum json_tokener_error jerr;

		if (!req->body_len) {
			json_tokener_free(tok);
			fault(r, 400, "a JSON body is required");
			return;
		}
		body = json_tokener_parse_ex(tok, (const char *)req->body,
					     (int)req->body_len);
		jerr = json_tokener_get_error(tok);
		/* the whole body must be one JSON value, nothing after it */
		if (!body || jerr != json_tokener_success ||
		    json_tokener_get_parse_end(tok) != req->body_len) {
			fault(r, 400, "invalid JSON: %s", body ?
			      "trailing data after the value" :
			      json_tokener_error_desc(jerr));
			json_object_put(body);
			json_tokener_free(tok);
			return;
		}
		json_tokener_free(tok);
	}
	op = rt->op >= 0 ? rt->op : op_from_body(rt, body, r);
	if (op >= 0) {
		const struct op_desc *d = &ops[op];
		enum vm_state st = vm_state(c->api->vm);
		struct api_ctx x = { c->api, c, id, body, r };

		if (!(d->states & (1u << st)))
			fault(r, 400, "%s is not allowed while the VM is %s", d->name,
			      state_name(st));
		else
			d->fn(&x);
	}
	json_object_put(body);
}

/* --- connections ---------------------------------------------------------- */

static void conn_io(struct vm *vm, void *opaque, uint32_t events);

static void conn_handle_input(struct api_conn *c, const uint8_t *buf, size_t n)
{
	size_t off = 0;

	while (off < n || c->p.state == HTTP_ST_DONE) {
		struct api_resp r = { 0 };
		size_t used = 0;
		int ret = http_parse(&c->p, buf + off, n - off, &used);

		off += used;
		if (ret == HTTP_INCOMPLETE) {
			if (http_want_continue(&c->p)) {
				size_t l = strlen(HTTP_CONTINUE_RESPONSE);

				/* no room behind pipelined answers: send them, close */
				if (c->out_len + l > sizeof(c->out)) {
					c->closing = true;
					return;
				}
				memcpy(c->out + c->out_len, HTTP_CONTINUE_RESPONSE, l);
				c->out_len += l;
			}
			c->partial = c->partial || used > 0;
			break;
		}
		if (ret != HTTP_DONE) {
			fault(&r, ret, "%s", http_reason(ret));
			conn_respond(c, &r, true);
			return;
		}
		handle_request(c, &c->p.req, &r);
		if (r.status == 0) {
			/* InstanceStart: the answer comes after the boot */
			http_parser_reset(&c->p);
			c->partial = false;
			return;
		}
		conn_respond(c, &r, !c->p.req.keep_alive);
		http_parser_reset(&c->p);
		c->partial = false;
		c->since = monotonic_ns();
		if (c->closing || off == n)
			break;
		/*
		 * A client pipelining faster than it reads its answers: stop
		 * while the buffer still has room for one more (error) answer
		 * and a "100 Continue", and close.
		 */
		if (c->out_len > sizeof(c->out) / 2) {
			struct api_resp busy = { 0 };

			fault(&busy, 503, "too many pipelined requests");
			conn_respond(c, &busy, true);
			return;
		}
	}
}

static void conn_io(struct vm *vm, void *opaque, uint32_t events)
{
	struct api_conn *c = opaque;
	uint8_t buf[4096];
	ssize_t n;

	(void)vm;
	if (events & EPOLLOUT) {
		conn_flush(c);
		return;
	}
	n = read(c->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	if (!c->partial)
		c->since = monotonic_ns();
	conn_handle_input(c, buf, (size_t)n);
	if (c->out_len)
		conn_flush(c);
}

static void api_accept(struct vm *vm, void *opaque, uint32_t events)
{
	struct api *a = opaque;
	struct api_conn *c;
	int fd, slot = -1;

	(void)events;
	fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < API_MAX_CONNS && slot < 0; i++)
		if (!a->conn[i])
			slot = i;
	c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
			"Content-Type: application/json\r\nContent-Length: 47\r\n"
			"Connection: close\r\n\r\n"
			"{\"fault_message\":\"too many control connections\"}";

		/* best effort: the client learns why, then the socket closes */
		if (write(fd, busy, sizeof(busy) - 1) < 0)
			debug("api: %s", strerror(errno));
		close(fd);
		return;
	}
	c->api = a;
	c->fd = fd;
	c->since = monotonic_ns();
	if (evloop_add(vm->loop, fd, EPOLLIN, conn_io, c)) {
		close(fd);
		free(c);
		return;
	}
	a->conn[slot] = c;
}

/* Once a second: drop clients that are slow to send or idle too long. */
static void api_tick(struct vm *vm, void *opaque, uint32_t events)
{
	struct api *a = opaque;
	uint64_t now = monotonic_ns(), v;

	(void)vm;
	(void)events;
	if (read(a->timer_fd, &v, sizeof(v)) < 0)
		return;
	for (int i = 0; i < API_MAX_CONNS; i++) {
		struct api_conn *c = a->conn[i];

		if (!c || c == a->start_conn)
			continue;
		if (now - c->since > (c->partial ? API_SLOW_NS : API_IDLE_NS)) {
			if (c->partial) {
				struct api_resp r = { 0 };

				fault(&r, 408, "request not received in time");
				conn_respond(c, &r, true);
				if (conn_flush(c))
					conn_close(c);
			} else {
				conn_close(c);
			}
		}
	}
}

/* --- the socket ----------------------------------------------------------- */

static int prepare_path(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		error("--api-sock %s: exists and is not a socket", path);
		return -EEXIST;
	}
	/* someone listening there? then it is theirs */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (ret == 0) {
		error("--api-sock %s: another process is listening on it", path);
		return -EADDRINUSE;
	}
	/* a stale socket left by a dead process */
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

int api_create(struct vm *vm, const char *path, unsigned int mode,
	       struct api **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct itimerspec it = { { 1, 0 }, { 1, 0 } };
	struct api *a;
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		error("--api-sock %s: path longer than %zu bytes", path,
		      sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->vm = vm;
	a->listen_fd = a->timer_fd = -1;
	ret = prepare_path(path);
	if (ret)
		goto fail_quiet;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	a->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->listen_fd < 0 ||
	    bind(a->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto fail;
	}
	snprintf(a->path, sizeof(a->path), "%s", path);
	if (chmod(path, mode) < 0 || listen(a->listen_fd, 16) < 0) {
		ret = -errno;
		goto fail;
	}
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->timer_fd < 0 || timerfd_settime(a->timer_fd, 0, &it, NULL) < 0) {
		ret = -errno;
		goto fail;
	}
	if ((ret = evloop_add(vm->loop, a->listen_fd, EPOLLIN, api_accept, a)) ||
	    (ret = evloop_add(vm->loop, a->timer_fd, EPOLLIN, api_tick, a)))
		goto fail;
	vm_mark(vm, &vm->t.api_ready);
	*out = a;
	return 0;
fail:
	error("--api-sock %s: %s", path, strerror(-ret));
fail_quiet:
	api_destroy(a);
	return ret;
}

bool api_start_requested(const struct api *a)
{
	return a && a->start_requested;
}

void api_start_result(struct api *a, int ret, const char *why)
{
	struct api_conn *c;
	struct api_resp r = { 0 };

	if (!a || !a->start_conn)
		return;
	c = a->start_conn;
	a->start_conn = NULL;
	if (ret)
		fault(&r, 400, "the VM did not start: %s", why && *why ? why :
		      strerror(-ret));
	else
		r.status = 204;
	conn_respond(c, &r, ret != 0 || !c->p.req.keep_alive);
	conn_flush(c);
}

void api_destroy(struct api *a)
{
	if (!a)
		return;
	for (int i = 0; i < API_MAX_CONNS; i++)
		if (a->conn[i])
			conn_close(a->conn[i]);
	if (a->listen_fd >= 0) {
		evloop_del(a->vm->loop, a->listen_fd);
		close(a->listen_fd);
	}
	if (a->timer_fd >= 0) {
		evloop_del(a->vm->loop, a->timer_fd);
		close(a->timer_fd);
	}
	if (a->path[0])
		unlink(a->path);
	free(a);
}
