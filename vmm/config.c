// SPDX-License-Identifier: MIT
/*
 * struct vm_config from and to JSON (config.h). Each section is checked
 * whole (every member known and of its type, values in range) into a copy,
 * which replaces the configuration only when all of it is good.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
 * above U+10FFFF. json-c's own check lets the first two through.
 */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

int config_parse_json(const char *buf, size_t len, json_object **out,
		      char *err, size_t errlen)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *o;
	size_t end;

	if (len > INT32_MAX)
		return fail(err, errlen, "invalid JSON: too long");
	if (!utf8_valid((const unsigned char *)buf, len))
		return fail(err, errlen, "invalid JSON: not valid UTF-8");
	tok = json_tokener_new_ex(32);
	if (!tok)
		return fail(err, errlen, "out of memory");
	/* strings reach paths, logs and answers: only valid UTF-8 */
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = o ? json_tokener_get_parse_end(tok) : 0;
	while (end < len && (buf[end] == ' ' || buf[end] == '\t' ||
			     buf[end] == '\n' || buf[end] == '\r'))
		end++;
	/* the whole text must be one JSON value, nothing after it */
	if (!o || jerr != json_tokener_success || end != len) {
		fail(err, errlen, "invalid JSON: %s", o ?
		     "trailing data after the value" :
		     jerr == json_tokener_continue ? "unexpected end of input" :
		     json_tokener_error_desc(jerr));
		json_object_put(o);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	*out = o;
	return 0;
}

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_size = VMM_DEFAULT_MEM;
	cfg->cpus = 1;
	snprintf(cfg->cmdline, sizeof(cfg->cmdline), "%s", VMM_DEFAULT_CMDLINE);
	cfg->console = CONSOLE_STDIO;
	cfg->api_sock_mode = 0600;
	cfg->log.level = -1;
}

int config_check_fields(json_object *o, const struct config_field *f,
			size_t nf, char *err, size_t errlen)
{
	if (!o || !json_object_is_type(o, json_type_object))
		return fail(err, errlen, "the body must be a JSON object");
	json_object_object_foreach(o, key, val) {
		size_t i;

		for (i = 0; i < nf; i++)
			if (!strcmp(key, f[i].name))
				break;
		if (i == nf)
			return fail(err, errlen, "unknown field '%s'", key);
		if (!val && !f[i].required)
			continue; /* null: as if absent */
		if (!json_object_is_type(val, (json_type)f[i].type))
			return fail(err, errlen, "field '%s' must be %s", key,
				    json_type_to_name((json_type)f[i].type));
		/* a path or name cut short at a NUL would be another one */
		if (f[i].type == json_type_string &&
		    strlen(json_object_get_string(val)) !=
		    (size_t)json_object_get_string_len(val))
			return fail(err, errlen, "field '%s' holds a NUL byte",
				    key);
		/* \ud800 escapes decode to surrogates: not UTF-8 either */
		if (f[i].type == json_type_string &&
		    !utf8_valid((const unsigned char *)json_object_get_string(val),
				(size_t)json_object_get_string_len(val)))
			return fail(err, errlen, "field '%s' is not valid UTF-8",
				    key);
	}
	for (size_t i = 0; i < nf; i++) {
		json_object *v;

		if (f[i].required &&
		    (!json_object_object_get_ex(o, f[i].name, &v) || !v))
			return fail(err, errlen, "missing field '%s'", f[i].name);
	}
	return 0;
}

/* A member's value, NULL when absent or null. */
static json_object *member(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v = member(o, key);

	return v ? json_object_get_string(v) : NULL;
}

static bool get_bool(json_object *o, const char *key, bool dflt)
{
	json_object *v = member(o, key);

	return v ? json_object_get_boolean(v) : dflt;
}

/*
 * A string for a fixed buffer: refuse what does not fit, and what JSON
 * may carry but a path or name must not (NUL, invalid UTF-8 is checked by
 * the parser's caller).
 */
static int copy_str(char *dst, size_t cap, const char *src, const char *what,
		    char *err, size_t errlen)
{
	size_t len = strlen(src);

	if (len >= cap)
		return fail(err, errlen, "%s is longer than %zu bytes", what,
			    cap - 1);
	memcpy(dst, src, len + 1);
	return 0;
}

int config_boot_source(struct vm_config *cfg, json_object *b, char *err,
		       size_t errlen)
{
	static const struct config_field f[] = {
		{ "kernel_image_path", json_type_string, true },
		{ "boot_args", json_type_string, false },
		{ "initrd_path", json_type_string, false },
	};
	struct vm_config n = *cfg;
	const char *s;
	int ret;

	if ((ret = config_check_fields(b, f, 3, err, errlen)) ||
	    (ret = copy_str(n.kernel, sizeof(n.kernel),
			    get_str(b, "kernel_image_path"), "kernel_image_path",
			    err, errlen)))
		return ret;
	s = get_str(b, "boot_args");
	if (s && (ret = copy_str(n.cmdline, sizeof(n.cmdline), s, "boot_args",
				 err, errlen)))
		return ret;
	s = get_str(b, "initrd_path");
	n.initrd[0] = 0;
	if (s && (ret = copy_str(n.initrd, sizeof(n.initrd), s, "initrd_path",
				 err, errlen)))
		return ret;
	*cfg = n;
	return 0;
}

/*
 * machine-config: PUT (every required field) or PATCH (patch: any subset,
 * over what is there). vcpu_count and mem_size_mib in range; smt only
 * with an even number of vCPUs (two threads per core), or one;
 * huge_pages "None" or "2M"; cpu_template only "None" (no templates:
 * vmm passes the host's CPU features, filtered by KVM).
 */
static int machine(struct vm_config *cfg, json_object *b, bool patch,
		   char *err, size_t errlen)
{
	static const struct config_field put[] = {
		{ "vcpu_count", json_type_int, true },
		{ "mem_size_mib", json_type_int, true },
		{ "smt", json_type_boolean, false },
		{ "track_dirty_pages", json_type_boolean, false },
		{ "huge_pages", json_type_string, false },
		{ "cpu_template", json_type_string, false },
		{ "pit", json_type_boolean, false },
		{ "virtio_transport", json_type_string, false },
	}, patch_f[] = {
		{ "vcpu_count", json_type_int, false },
		{ "mem_size_mib", json_type_int, false },
		{ "smt", json_type_boolean, false },
		{ "track_dirty_pages", json_type_boolean, false },
		{ "huge_pages", json_type_string, false },
		{ "cpu_template", json_type_string, false },
		{ "pit", json_type_boolean, false },
		{ "virtio_transport", json_type_string, false },
	};
	struct vm_config n = *cfg;
	const char *hp, *tmpl, *vt;
	json_object *v;
	int ret;

	if ((ret = config_check_fields(b, patch ? patch_f : put, 8, err, errlen)))
		return ret;
	if ((v = member(b, "vcpu_count"))) {
		int64_t cpus = json_object_get_int64(v);

		if (cpus < 1 || cpus > VMM_MAX_CPUS)
			return fail(err, errlen, "vcpu_count must be 1 to %d",
				    VMM_MAX_CPUS);
		n.cpus = (unsigned int)cpus;
	}
	if ((v = member(b, "mem_size_mib"))) {
		int64_t mib = json_object_get_int64(v);

		if (mib < (int64_t)(VMM_MIN_MEM >> 20) ||
		    mib > (int64_t)(VMM_MAX_MEM >> 20))
			return fail(err, errlen, "mem_size_mib must be %llu to %llu",
				    VMM_MIN_MEM >> 20, VMM_MAX_MEM >> 20);
		n.mem_size = (uint64_t)mib << 20;
	}
	if (member(b, "smt") || !patch)
		n.smt = get_bool(b, "smt", false);
	if (n.smt && n.cpus > 1 && n.cpus % 2)
		return fail(err, errlen, "smt needs an even vcpu_count (two "
			    "threads per core), not %u", n.cpus);
	if (get_bool(b, "track_dirty_pages", false))
		return fail(err, errlen, "track_dirty_pages is not supported");
	hp = get_str(b, "huge_pages");
	if (hp && strcmp(hp, "None") && strcmp(hp, "2M"))
		return fail(err, errlen, "huge_pages '%s': expected None or 2M", hp);
	if (hp || !patch)
		n.huge_pages = hp && !strcmp(hp, "2M");
	/* vmm's own: x86-64's in-kernel PIT (--pit), --virtio mmio|pci */
	if (member(b, "pit") || !patch)
		n.pit = get_bool(b, "pit", false);
	vt = get_str(b, "virtio_transport");
	if (vt && strcmp(vt, "mmio") && strcmp(vt, "pci"))
		return fail(err, errlen, "virtio_transport '%s': expected mmio "
			    "or pci", vt);
	if (vt || !patch)
		n.virtio = vt && !strcmp(vt, "pci") ? VIRTIO_TRANSPORT_PCI
						    : VIRTIO_TRANSPORT_MMIO;
	tmpl = get_str(b, "cpu_template");
	if (tmpl && strcmp(tmpl, "None"))
		return fail(err, errlen, "cpu_template '%s' is not supported "
			    "(only None: the host's features, as KVM offers them)",
			    tmpl);
	*cfg = n;
	return 0;
}

int config_machine(struct vm_config *cfg, json_object *b, char *err,
		   size_t errlen)
{
	return machine(cfg, b, false, err, errlen);
}

int config_machine_patch(struct vm_config *cfg, json_object *b, char *err,
			 size_t errlen)
{
	return machine(cfg, b, true, err, errlen);
}

/* A TokenBucket: size and refill_time required, one_time_burst optional. */
static int bucket(json_object *o, const char *what, struct vm_bucket *out,
		  char *err, size_t errlen)
{
	static const struct config_field f[] = {
		{ "size", json_type_int, true },
		{ "refill_time", json_type_int, true },
		{ "one_time_burst", json_type_int, false },
	};
	int64_t size, refill, burst = 0;
	int ret;

	if ((ret = config_check_fields(o, f, 3, err, errlen))) {
		size_t l = strlen(err);

		snprintf(err + l, errlen > l ? errlen - l : 0, " (in %s)", what);
		return ret;
	}
	size = json_object_get_int64(member(o, "size"));
	refill = json_object_get_int64(member(o, "refill_time"));
	if (member(o, "one_time_burst"))
		burst = json_object_get_int64(member(o, "one_time_burst"));
	if (size < 0 || refill < 0 || burst < 0)
		return fail(err, errlen, "%s: size, refill_time and "
			    "one_time_burst cannot be negative", what);
	/* a refill period of more than a day is a typo, not a limit */
	if (refill > 86400000)
		return fail(err, errlen, "%s: refill_time is in milliseconds; "
			    "%lld is more than a day", what, (long long)refill);
	*out = (struct vm_bucket){ (uint64_t)size, (uint64_t)burst,
				   (uint64_t)refill };
	return 0;
}

/* A RateLimiter: an optional bandwidth and an optional ops bucket. */
static int rate_limiter(json_object *o, const char *what,
			struct vm_rate_limit *out, char *err, size_t errlen)
{
	static const struct config_field f[] = {
		{ "bandwidth", json_type_object, false },
		{ "ops", json_type_object, false },
	};
	struct vm_rate_limit r = { 0 };
	char name[64];
	json_object *v;
	int ret;

	if ((ret = config_check_fields(o, f, 2, err, errlen)))
		return ret;
	snprintf(name, sizeof(name), "%s.bandwidth", what);
	if ((v = member(o, "bandwidth")) &&
	    (ret = bucket(v, name, &r.bandwidth, err, errlen)))
		return ret;
	snprintf(name, sizeof(name), "%s.ops", what);
	if ((v = member(o, "ops")) && (ret = bucket(v, name, &r.ops, err, errlen)))
		return ret;
	*out = r;
	return 0;
}

/* Put d in the list: replacing the one with its id, or appended. */
static int add_disk(struct vm_config *cfg, const struct vm_disk *d,
		    char *err, size_t errlen)
{
	unsigned int i;

	for (i = 0; i < cfg->nr_disks; i++)
		if (!strcmp(cfg->disk[i].id, d->id))
			break;
	if (i == VMM_MAX_DISKS)
		return fail(err, errlen, "at most %d drives", VMM_MAX_DISKS);
	/* every check before any change: a refused drive changes nothing */
	for (unsigned int j = 0; d->root && j < cfg->nr_disks; j++)
		if (cfg->disk[j].root && j != i)
			return fail(err, errlen,
				    "drive '%s' is already the root device",
				    cfg->disk[j].id);
	if (i == cfg->nr_disks)
		cfg->nr_disks++;
	cfg->disk[i] = *d;
	/* the root device is /dev/vda: first in line */
	if (d->root) {
		memmove(&cfg->disk[1], &cfg->disk[0], i * sizeof(*d));
		cfg->disk[0] = *d;
	}
	return 0;
}

int config_drive(struct vm_config *cfg, const char *id, json_object *b,
		 char *err, size_t errlen)
{
	static const struct config_field f[] = {
		{ "drive_id", json_type_string, true },
		{ "path_on_host", json_type_string, false },
		{ "is_root_device", json_type_boolean, true },
		{ "is_read_only", json_type_boolean, false },
		{ "io_engine", json_type_string, false },
		{ "cache_type", json_type_string, false },
		{ "partuuid", json_type_string, false },
		{ "rate_limiter", json_type_object, false },
		{ "socket", json_type_string, false },
	};
	struct vm_disk d = { 0 };
	const char *io, *cache, *s;
	json_object *v;
	int ret;

	if ((ret = config_check_fields(b, f, 9, err, errlen)))
		return ret;
	if (id && strcmp(id, get_str(b, "drive_id")))
		return fail(err, errlen,
			    "drive_id '%s' differs from the path's '%s'",
			    get_str(b, "drive_id"), id);
	if (get_str(b, "socket"))
		return fail(err, errlen, "drive '%s': vhost-user drives (socket) "
			    "are not supported", get_str(b, "drive_id"));
	if (!get_str(b, "path_on_host"))
		return fail(err, errlen, "drive '%s': missing field 'path_on_host'",
			    get_str(b, "drive_id"));
	if ((ret = copy_str(d.id, sizeof(d.id), get_str(b, "drive_id"),
			    "drive_id", err, errlen)) ||
	    (ret = copy_str(d.path, sizeof(d.path), get_str(b, "path_on_host"),
			    "path_on_host", err, errlen)))
		return ret;
	if (!d.id[0])
		return fail(err, errlen, "drive_id is empty");
	/* Firecracker's names: Sync blocks (here on the disk's thread) */
	io = get_str(b, "io_engine");
	if (io && !strcmp(io, "Async"))
		d.io = DISK_IO_URING;
	else if (io && strcmp(io, "Sync"))
		return fail(err, errlen, "io_engine '%s': expected Sync or Async",
			    io);
	/*
	 * Firecracker's default is Unsafe; vmm's stays Writeback, so a guest
	 * flush is never acknowledged before it is done unless asked.
	 */
	cache = get_str(b, "cache_type");
	if (cache && !strcmp(cache, "Unsafe"))
		d.cache = DISK_CACHE_UNSAFE;
	else if (cache && strcmp(cache, "Writeback"))
		return fail(err, errlen, "cache_type '%s': expected Unsafe or "
			    "Writeback", cache);
	s = get_str(b, "partuuid");
	if (s && (ret = copy_str(d.partuuid, sizeof(d.partuuid), s, "partuuid",
				 err, errlen)))
		return ret;
	for (const char *p = d.partuuid; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F') || *p == '-'))
			return fail(err, errlen, "partuuid '%s': expected hex "
				    "digits and '-'", d.partuuid);
	if ((v = member(b, "rate_limiter")) &&
	    (ret = rate_limiter(v, "rate_limiter", &d.rate, err, errlen)))
		return ret;
	d.read_only = get_bool(b, "is_read_only", false);
	d.root = get_bool(b, "is_root_device", false);
	return add_disk(cfg, &d, err, errlen);
}

int config_drive_patch(struct vm_config *cfg, const char *id, json_object *b,
		       struct vm_disk *out, char *err, size_t errlen)
{
	static const struct config_field f[] = {
		{ "drive_id", json_type_string, true },
		{ "path_on_host", json_type_string, false },
		{ "rate_limiter", json_type_object, false },
	};
	struct vm_disk d;
	const char *path;
	json_object *v;
	unsigned int i;
	int ret;

	if ((ret = config_check_fields(b, f, 3, err, errlen)))
		return ret;
	if (id && strcmp(id, get_str(b, "drive_id")))
		return fail(err, errlen,
			    "drive_id '%s' differs from the path's '%s'",
			    get_str(b, "drive_id"), id);
	for (i = 0; i < cfg->nr_disks; i++)
		if (!strcmp(cfg->disk[i].id, get_str(b, "drive_id")))
			break;
	if (i == cfg->nr_disks)
		return fail(err, errlen, "no drive '%s'", get_str(b, "drive_id"));
	d = cfg->disk[i];
	path = get_str(b, "path_on_host");
	if (path && (ret = copy_str(d.path, sizeof(d.path), path,
				    "path_on_host", err, errlen)))
		return ret;
	if ((v = member(b, "rate_limiter")) &&
	    (ret = rate_limiter(v, "rate_limiter", &d.rate, err, errlen)))
		return ret;
	*out = d;
	return (int)i;
}

static int add_net(struct vm_config *cfg, const struct vm_net *n, char *err,
		   size_t errlen)
{
	unsigned int i;

	for (i = 0; i < cfg->nr_nets; i++)
		if (n->id[0] && !strcmp(cfg->net[i].id, n->id))
			break;
	if (i == VMM_MAX_NETS)
		return fail(err, errlen, "at most %d network interfaces",
			    VMM_MAX_NETS);
	if (i == cfg->nr_nets)
		cfg->nr_nets++;
	cfg->net[i] = *n;
	return 0;
}

int config_net(struct vm_config *cfg, const char *id, json_object *b,
	       char *err, size_t errlen)
{
	static const struct config_field f[] = {
		{ "iface_id", json_type_string, true },
		{ "host_dev_name", json_type_string, true },
		{ "guest_mac", json_type_string, false },
		{ "mtu", json_type_int, false },
		{ "rx_rate_limiter", json_type_object, false },
		{ "tx_rate_limiter", json_type_object, false },
	};
	struct vm_net n = { 0 };
	const char *mac;
	json_object *v;
	int ret;

	if ((ret = config_check_fields(b, f, 6, err, errlen)))
		return ret;
	if (id && strcmp(id, get_str(b, "iface_id")))
		return fail(err, errlen,
			    "iface_id '%s' differs from the path's '%s'",
			    get_str(b, "iface_id"), id);
	if ((ret = copy_str(n.id, sizeof(n.id), get_str(b, "iface_id"),
			    "iface_id", err, errlen)) ||
	    (ret = copy_str(n.tap, sizeof(n.tap), get_str(b, "host_dev_name"),
			    "host_dev_name", err, errlen)))
		return ret;
	if (!n.id[0])
		return fail(err, errlen, "iface_id is empty");
	if (!n.tap[0])
		return fail(err, errlen, "host_dev_name is empty");
	mac = get_str(b, "guest_mac");
	if (mac) {
		if (config_parse_mac(mac, strlen(mac), n.mac))
			return fail(err, errlen,
				    "guest_mac '%s' is not a unicast MAC address",
				    mac);
		n.mac_set = true;
	}
	if ((v = member(b, "mtu"))) {
		int64_t mtu = json_object_get_int64(v);

		if (mtu < 68 || mtu > 65535)
			return fail(err, errlen, "mtu %lld: expected 68 to 65535",
				    (long long)mtu);
		n.mtu = (unsigned int)mtu;
	}
	if ((v = member(b, "rx_rate_limiter")) &&
	    (ret = rate_limiter(v, "rx_rate_limiter", &n.rx_rate, err, errlen)))
		return ret;
	if ((v = member(b, "tx_rate_limiter")) &&
	    (ret = rate_limiter(v, "tx_rate_limiter", &n.tx_rate, err, errlen)))
		return ret;
	return add_net(cfg, &n, err, errlen);
}

int config_net_patch(struct vm_config *cfg, const char *id, json_object *b,
		     struct vm_net *out, char *err, size_t errlen)
{
	static const struct config_field f[] = {
		{ "iface_id", json_type_string, true },
		{ "rx_rate_limiter", json_type_object, false },
		{ "tx_rate_limiter", json_type_object, false },
	};
	struct vm_net n;
	json_object *v;
	unsigned int i;
	int ret;

	if ((ret = config_check_fields(b, f, 3, err, errlen)))
		return ret;
	if (id && strcmp(id, get_str(b, "iface_id")))
		return fail(err, errlen,
			    "iface_id '%s' differs from the path's '%s'",
			    get_str(b, "iface_id"), id);
	for (i = 0; i < cfg->nr_nets; i++)
		if (!strcmp(cfg->net[i].id[0] ? cfg->net[i].id : cfg->net[i].tap,
			    get_str(b, "iface_id")))
			break;
	if (i == cfg->nr_nets)
		return fail(err, errlen, "no network interface '%s'",
			    get_str(b, "iface_id"));
	n = cfg->net[i];
	if ((v = member(b, "rx_rate_limiter")) &&
	    (ret = rate_limiter(v, "rx_rate_limiter", &n.rx_rate, err, errlen)))
		return ret;
	if ((v = member(b, "tx_rate_limiter")) &&
	    (ret = rate_limiter(v, "tx_rate_limiter", &n.tx_rate, err, errlen)))
		return ret;
	*out = n;
	return (int)i;
}

int config_entropy(struct vm_config *cfg, json_object *b, char *err,
		   size_t errlen)
{
	static const struct config_field f[] = {
		{ "rate_limiter", json_type_object, false },
	};
	struct vm_entropy e = { .enabled = true };
	json_object *v;
	int ret;

	if ((ret = config_check_fields(b, f, 1, err, errlen)))
		return ret;
	if ((v = member(b, "rate_limiter")) &&
	    (ret = rate_limiter(v, "rate_limiter", &e.rate, err, errlen)))
		return ret;
	cfg->entropy = e;
	return 0;
}

int config_vsock(struct vm_config *cfg, json_object *b, char *err,
		 size_t errlen)
{
	static const struct config_field f[] = {
		{ "guest_cid", json_type_int, true },
		{ "uds_path", json_type_string, true },
		{ "vsock_id", json_type_string, false },
	};
	struct vm_vsock v = { .enabled = true };
	int64_t cid;
	const char *s;
	int ret;

	if ((ret = config_check_fields(b, f, 3, err, errlen)))
		return ret;
	cid = json_object_get_int64(member(b, "guest_cid"));
	/* 0-2 are the hypervisor, the local and the host's (VMADDR_CID_*) */
	if (cid < 3 || cid > UINT32_MAX - 1)
		return fail(err, errlen, "guest_cid %lld: expected 3 to %u",
			    (long long)cid, UINT32_MAX - 1);
	v.guest_cid = (uint32_t)cid;
	if ((ret = copy_str(v.uds_path, sizeof(v.uds_path),
			    get_str(b, "uds_path"), "uds_path", err, errlen)))
		return ret;
	if (!v.uds_path[0])
		return fail(err, errlen, "uds_path is empty");
	s = get_str(b, "vsock_id");
	if (s && (ret = copy_str(v.id, sizeof(v.id), s, "vsock_id", err, errlen)))
		return ret;
	cfg->vsock = v;
	return 0;
}

int config_serial(struct vm_config *cfg, json_object *b, char *err,
		  size_t errlen)
{
	static const struct config_field f[] = {
		{ "serial_out_path", json_type_string, false },
		{ "rate_limiter", json_type_object, false },
	};
	const char *s;
	int ret;

	if ((ret = config_check_fields(b, f, 2, err, errlen)))
		return ret;
	if (member(b, "rate_limiter"))
		return fail(err, errlen, "serial rate_limiter is not supported");
	s = get_str(b, "serial_out_path");
	if (!s)
		return 0;
	/* the guest's serial output goes there, not to this terminal */
	if ((ret = copy_str(cfg->serial_log, sizeof(cfg->serial_log), s,
			    "serial_out_path", err, errlen)))
		return ret;
	cfg->console = CONSOLE_NONE;
	return 0;
}

int config_logger(struct vm_config *cfg, json_object *b, char *err,
		  size_t errlen)
{
	static const struct config_field f[] = {
		{ "log_path", json_type_string, false },
		{ "level", json_type_string, false },
		{ "show_level", json_type_boolean, false },
		{ "show_log_origin", json_type_boolean, false },
		{ "module", json_type_string, false },
	};
	/* Firecracker's names; Trace is as verbose as vmm gets */
	static const struct { const char *name; int level; } levels[] = {
		{ "Off", LOG_ERROR }, { "Error", LOG_ERROR },
		{ "Warning", LOG_WARN }, { "Warn", LOG_WARN },
		{ "Info", LOG_INFO }, { "Debug", LOG_DEBUG },
		{ "Trace", LOG_DEBUG },
	};
	struct vm_log l = { .set = true, .level = -1 };
	const char *s;
	int ret;

	if ((ret = config_check_fields(b, f, 5, err, errlen)))
		return ret;
	s = get_str(b, "level");
	if (s) {
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
			if (!strcasecmp(s, levels[i].name))
				l.level = levels[i].level;
		if (l.level < 0)
			return fail(err, errlen, "level '%s': expected Error, "
				    "Warning, Info or Debug", s);
	}
	s = get_str(b, "log_path");
	if (s && (ret = copy_str(l.path, sizeof(l.path), s, "log_path", err,
				 errlen)))
		return ret;
	l.show_level = get_bool(b, "show_level", false);
	l.show_origin = get_bool(b, "show_log_origin", false);
	cfg->log = l;
	return 0;
}

int config_metrics(struct vm_config *cfg, json_object *b, char *err,
		   size_t errlen)
{
	static const struct config_field f[] = {
		{ "metrics_path", json_type_string, true },
	};
	int ret = config_check_fields(b, f, 1, err, errlen);

	if (ret)
		return ret;
	return copy_str(cfg->metrics_path, sizeof(cfg->metrics_path),
			get_str(b, "metrics_path"), "metrics_path", err, errlen);
}

int config_from_json(struct vm_config *cfg, json_object *doc, char *err,
		     size_t errlen)
{
	static const struct config_field f[] = {
		{ "boot-source", json_type_object, true },
		{ "machine-config", json_type_object, false },
		{ "drives", json_type_array, false },
		{ "network-interfaces", json_type_array, false },
		{ "logger", json_type_object, false },
		{ "metrics", json_type_object, false },
		{ "vsock", json_type_object, false },
		{ "entropy", json_type_object, false },
		/* Firecracker's, refused by name below when not null */
		{ "balloon", json_type_object, false },
		{ "mmds-config", json_type_object, false },
		{ "cpu-config", json_type_object, false },
		{ "pmem", json_type_array, false },
		{ "memory-hotplug", json_type_object, false },
	};
	static const char *const unsupported[] = {
		"balloon", "mmds-config", "cpu-config", "pmem", "memory-hotplug",
	};
	struct vm_config n = *cfg;
	json_object *v;
	int ret;

	if ((ret = config_check_fields(doc, f, sizeof(f) / sizeof(f[0]), err,
				       errlen)))
		return ret;
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (member(doc, unsupported[i]) &&
		    !(!strcmp(unsupported[i], "pmem") &&
		      !json_object_array_length(member(doc, "pmem"))))
			return fail(err, errlen, "'%s' is not supported by vmm",
				    unsupported[i]);
	if ((ret = config_boot_source(&n, member(doc, "boot-source"), err,
				      errlen)))
		return ret;
	if ((v = member(doc, "machine-config")) &&
	    (ret = config_machine(&n, v, err, errlen)))
		return ret;
	if ((v = member(doc, "drives")))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if ((ret = config_drive(&n, NULL,
						json_object_array_get_idx(v, i),
						err, errlen)))
				return ret;
	if ((v = member(doc, "network-interfaces")))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if ((ret = config_net(&n, NULL,
					      json_object_array_get_idx(v, i),
					      err, errlen)))
				return ret;
	if ((v = member(doc, "metrics")) &&
	    (ret = config_metrics(&n, v, err, errlen)))
		return ret;
	if ((v = member(doc, "logger")) &&
	    (ret = config_logger(&n, v, err, errlen)))
		return ret;
	if ((v = member(doc, "vsock")) &&
	    (ret = config_vsock(&n, v, err, errlen)))
		return ret;
	if ((v = member(doc, "entropy")) &&
	    (ret = config_entropy(&n, v, err, errlen)))
		return ret;
	*cfg = n;
	return 0;
}

int config_overlay(struct vm_config *file, const struct vm_config *cli,
		   unsigned int set, char *err, size_t errlen)
{
	struct vm_config n = *file;
	int ret;

	if (set & CFG_KERNEL)
		memcpy(n.kernel, cli->kernel, sizeof(n.kernel));
	if (set & CFG_INITRD)
		memcpy(n.initrd, cli->initrd, sizeof(n.initrd));
	if (set & CFG_CMDLINE)
		memcpy(n.cmdline, cli->cmdline, sizeof(n.cmdline));
	if (set & CFG_MEM)
		n.mem_size = cli->mem_size;
	if (set & CFG_CPUS)
		n.cpus = cli->cpus;
	if (set & CFG_METRICS)
		memcpy(n.metrics_path, cli->metrics_path, sizeof(n.metrics_path));
	if (set & CFG_ID)
		memcpy(n.id, cli->id, sizeof(n.id));
	if (set & CFG_SMT)
		n.smt = cli->smt;
	if (set & CFG_HUGE)
		n.huge_pages = cli->huge_pages;
	if (set & CFG_PIT)
		n.pit = cli->pit;
	if (set & CFG_VIRTIO)
		n.virtio = cli->virtio;
	for (unsigned int i = 0; i < cli->nr_disks; i++)
		if ((ret = add_disk(&n, &cli->disk[i], err, errlen)))
			return ret;
	for (unsigned int i = 0; i < cli->nr_nets; i++)
		if ((ret = add_net(&n, &cli->net[i], err, errlen)))
			return ret;
	/* what only the command line says */
	memcpy(n.serial_log, cli->serial_log, sizeof(n.serial_log));
	n.serial_timestamps = cli->serial_timestamps;
	n.console = cli->console;
	n.quiet = cli->quiet;
	n.verbose = cli->verbose;
	memcpy(n.api_sock, cli->api_sock, sizeof(n.api_sock));
	n.api_sock_mode = cli->api_sock_mode;
	memcpy(n.config_file, cli->config_file, sizeof(n.config_file));
	n.boot_timer_line = cli->boot_timer_line;
	n.no_seccomp = cli->no_seccomp;
	memcpy(n.seccomp_filter, cli->seccomp_filter, sizeof(n.seccomp_filter));
	memcpy(n.gdb, cli->gdb, sizeof(n.gdb));
	n.gdb_wait = cli->gdb_wait;
	n.gic = cli->gic;
	memcpy(n.dump_dtb, cli->dump_dtb, sizeof(n.dump_dtb));
	*file = n;
	return 0;
}

json_object *config_machine_json(const struct vm_config *cfg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "vcpu_count", json_object_new_int((int)cfg->cpus));
	json_object_object_add(o, "mem_size_mib",
			       json_object_new_int64((int64_t)(cfg->mem_size >> 20)));
	json_object_object_add(o, "smt", json_object_new_boolean(cfg->smt));
	json_object_object_add(o, "track_dirty_pages", json_object_new_boolean(false));
	json_object_object_add(o, "huge_pages", json_object_new_string(
		cfg->huge_pages ? "2M" : "None"));
	json_object_object_add(o, "pit", json_object_new_boolean(cfg->pit));
	json_object_object_add(o, "virtio_transport", json_object_new_string(
		cfg->virtio == VIRTIO_TRANSPORT_PCI ? "pci" : "mmio"));
	return o;
}

static json_object *str_or_null(const char *s)
{
	return s[0] ? json_object_new_string(s) : NULL;
}

static json_object *bucket_json(const struct vm_bucket *b)
{
	json_object *o;

	if (!vm_bucket_set(b))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "size", json_object_new_int64((int64_t)b->size));
	json_object_object_add(o, "one_time_burst",
			       json_object_new_int64((int64_t)b->one_time_burst));
	json_object_object_add(o, "refill_time",
			       json_object_new_int64((int64_t)b->refill_time_ms));
	return o;
}

static json_object *rate_json(const struct vm_rate_limit *r)
{
	json_object *o;

	if (!vm_bucket_set(&r->bandwidth) && !vm_bucket_set(&r->ops))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "bandwidth", bucket_json(&r->bandwidth));
	json_object_object_add(o, "ops", bucket_json(&r->ops));
	return o;
}

json_object *config_to_json(const struct vm_config *cfg)
{
	json_object *o = json_object_new_object();
	json_object *b = json_object_new_object();
	json_object *arr = json_object_new_array();

	json_object_object_add(b, "kernel_image_path", json_object_new_string(cfg->kernel));
	json_object_object_add(b, "boot_args", json_object_new_string(cfg->cmdline));
	json_object_object_add(b, "initrd_path", str_or_null(cfg->initrd));
	json_object_object_add(o, "boot-source", b);
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct vm_disk *d = &cfg->disk[i];
		json_object *j = json_object_new_object();

		json_object_object_add(j, "drive_id", json_object_new_string(d->id));
		json_object_object_add(j, "path_on_host", json_object_new_string(d->path));
		json_object_object_add(j, "is_root_device", json_object_new_boolean(d->root));
		json_object_object_add(j, "partuuid", str_or_null(d->partuuid));
		json_object_object_add(j, "is_read_only", json_object_new_boolean(d->read_only));
		json_object_object_add(j, "cache_type", json_object_new_string(
			d->cache == DISK_CACHE_UNSAFE ? "Unsafe" : "Writeback"));
		json_object_object_add(j, "io_engine", json_object_new_string(
			d->io == DISK_IO_URING ? "Async" : "Sync"));
		json_object_object_add(j, "rate_limiter", rate_json(&d->rate));
		json_object_array_add(arr, j);
	}
	json_object_object_add(o, "drives", arr);
	arr = json_object_new_array();
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct vm_net *n = &cfg->net[i];
		json_object *j = json_object_new_object();
		char mac[18];

		config_format_mac(n->mac, mac);
		json_object_object_add(j, "iface_id", json_object_new_string(
			n->id[0] ? n->id : n->tap));
		json_object_object_add(j, "host_dev_name", json_object_new_string(n->tap));
		json_object_object_add(j, "guest_mac", n->mac_set ?
				       json_object_new_string(mac) : NULL);
		if (n->mtu)
			json_object_object_add(j, "mtu", json_object_new_int((int)n->mtu));
		json_object_object_add(j, "rx_rate_limiter", rate_json(&n->rx_rate));
		json_object_object_add(j, "tx_rate_limiter", rate_json(&n->tx_rate));
		json_object_array_add(arr, j);
	}
	json_object_object_add(o, "network-interfaces", arr);
	json_object_object_add(o, "machine-config", config_machine_json(cfg));
	if (cfg->metrics_path[0]) {
		json_object *m = json_object_new_object();

		json_object_object_add(m, "metrics_path",
				       json_object_new_string(cfg->metrics_path));
		json_object_object_add(o, "metrics", m);
	}
	if (cfg->vsock.enabled) {
		json_object *v = json_object_new_object();

		json_object_object_add(v, "guest_cid",
				       json_object_new_int64(cfg->vsock.guest_cid));
		json_object_object_add(v, "uds_path",
				       json_object_new_string(cfg->vsock.uds_path));
		json_object_object_add(v, "vsock_id", str_or_null(cfg->vsock.id));
		json_object_object_add(o, "vsock", v);
	}
	if (cfg->entropy.enabled) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "rate_limiter", rate_json(&cfg->entropy.rate));
		json_object_object_add(o, "entropy", e);
	}
	return o;
}

int config_parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	uint8_t m[6];

	/* exactly xx:xx:xx:xx:xx:xx, hex digits, no signs or spaces */
	if (len != 17)
		return -EINVAL;
	for (size_t i = 0; i < 17; i++) {
		char c = s[i];

		if (i % 3 == 2 ? c != ':' :
		    !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return -EINVAL;
	}
	for (int i = 0; i < 6; i++) {
		unsigned int v = 0;

		for (int j = 0; j < 2; j++) {
			char c = s[3 * i + j];

			v = v * 16 + (unsigned int)(c <= '9' ? c - '0' :
				(c | 0x20) - 'a' + 10);
		}
		m[i] = (uint8_t)v;
	}
	/* a NIC needs a unicast address */
	if (m[0] & 1)
		return -EINVAL;
	memcpy(mac, m, 6);
	return 0;
}

void config_format_mac(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		 m[3], m[4], m[5]);
}
