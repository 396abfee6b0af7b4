// SPDX-License-Identifier: MIT
/*
 * config.json of an OCI bundle (bundle.h). Each member is checked where
 * it is read: its type, its range, and for strings that they hold no NUL
 * (which would cut a path or an argument short in the guest). The first
 * problem found is the one reported, by its path in the document.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "../guest/init/proto.h"
#include "bundle.h"
#include "config.h"

struct parse {
	char *err;
	size_t errlen;
};

static int bad(struct parse *p, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(struct parse *p, const char *path, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s: %s", path, msg);
	return -EINVAL;
}

/* A member, NULL when absent or null (the spec's "not set"). */
static json_object *member(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int want_type(struct parse *p, json_object *v, json_type t,
		     const char *path)
{
	static const char *const name[] = {
		[json_type_boolean] = "a boolean", [json_type_int] = "an integer",
		[json_type_string] = "a string", [json_type_array] = "an array",
		[json_type_object] = "an object",
	};

	if (json_object_is_type(v, t))
		return 0;
	return bad(p, path, "must be %s", name[t]);
}

/* A string member copied; NULL in *out when absent. */
static int get_string(struct parse *p, json_object *o, const char *key,
		      const char *path, char **out)
{
	json_object *v = member(o, key);
	const char *s;
	size_t len;
	int ret;

	*out = NULL;
	if (!v)
		return 0;
	if ((ret = want_type(p, v, json_type_string, path)))
		return ret;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len)
		return bad(p, path, "holds a NUL byte");
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int get_bool(struct parse *p, json_object *o, const char *key,
		    const char *path, bool *out)
{
	json_object *v = member(o, key);
	int ret;

	if (!v)
		return 0;
	if ((ret = want_type(p, v, json_type_boolean, path)))
		return ret;
	*out = json_object_get_boolean(v);
	return 0;
}

/* An integer in [0, max]; json-c keeps those above INT64_MAX unsigned. */
static int get_uint(struct parse *p, json_object *v, uint64_t max,
		    const char *path, uint64_t *out)
{
	int64_t s;
	uint64_t u;
	int ret;

	if ((ret = want_type(p, v, json_type_int, path)))
		return ret;
	s = json_object_get_int64(v);
	if (s < 0)
		return bad(p, path, "must be an integer from 0 to %llu",
			   (unsigned long long)max);
	u = s == INT64_MAX ? json_object_get_uint64(v) : (uint64_t)s;
	if (u > max)
		return bad(p, path, "must be an integer from 0 to %llu",
			   (unsigned long long)max);
	*out = u;
	return 0;
}

/* An array of strings, each checked by ok() when given; NULL if absent. */
static int get_strings(struct parse *p, json_object *o, const char *key,
		       const char *path, char ***out, size_t *n,
		       const char *(*ok)(const char *s))
{
	json_object *v = member(o, key);
	char elem[64];
	size_t len;
	int ret;

	*out = NULL;
	*n = 0;
	if (!v)
		return 0;
	if ((ret = want_type(p, v, json_type_array, path)))
		return ret;
	len = json_object_array_length(v);
	if (len > BUNDLE_MAX_STRINGS)
		return bad(p, path, "more than %u entries", BUNDLE_MAX_STRINGS);
	*out = calloc(len + 1, sizeof(char *));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		const char *s, *why;

		snprintf(elem, sizeof(elem), "%s[%zu]", path, i);
		if (!e || (ret = want_type(p, e, json_type_string, elem)))
			return e ? ret : bad(p, elem, "must be a string");
		s = json_object_get_string(e);
		if (strlen(s) != (size_t)json_object_get_string_len(e))
			return bad(p, elem, "holds a NUL byte");
		if (ok && (why = ok(s)))
			return bad(p, elem, "%s", why);
		if (!((*out)[i] = strdup(s)))
			return -ENOMEM;
		*n = i + 1;
	}
	return 0;
}

static const char *env_ok(const char *s)
{
	return strchr(s, '=') && s[0] != '=' ? NULL :
	       "must be NAME=value";
}

/* --- names ------------------------------------------------------------ */

/* Linux's capability numbers (linux/capability.h), in order. */
static const char *const cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID",
	"KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
	"NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
	"SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
	"SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
	"AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE",
	"MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
	"PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

int bundle_cap_number(const char *name)
{
	if (strncmp(name, "CAP_", 4))
		return -1;
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (!strcmp(name + 4, cap_names[i]))
			return (int)i;
	return -1;
}

int bundle_rlimit_number(const char *name)
{
	static const struct { const char *name; int res; } r[] = {
		{ "RLIMIT_AS", RLIMIT_AS }, { "RLIMIT_CORE", RLIMIT_CORE },
		{ "RLIMIT_CPU", RLIMIT_CPU }, { "RLIMIT_DATA", RLIMIT_DATA },
		{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
		{ "RLIMIT_LOCKS", RLIMIT_LOCKS },
		{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
		{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
		{ "RLIMIT_NICE", RLIMIT_NICE }, { "RLIMIT_NOFILE", RLIMIT_NOFILE },
		{ "RLIMIT_NPROC", RLIMIT_NPROC }, { "RLIMIT_RSS", RLIMIT_RSS },
		{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
		{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
		{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
		{ "RLIMIT_STACK", RLIMIT_STACK },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (!strcmp(name, r[i].name))
			return r[i].res;
	return -1;
}

/* --- sections --------------------------------------------------------- */

static int parse_user(struct parse *p, json_object *u, struct bundle_process *pr)
{
	json_object *v;
	uint64_t x;
	int ret;

	if (!u)
		return bad(p, "process.user", "missing (uid and gid are required)");
	if ((ret = want_type(p, u, json_type_object, "process.user")))
		return ret;
	if (!(v = member(u, "uid")))
		return bad(p, "process.user.uid", "missing");
	if ((ret = get_uint(p, v, UINT32_MAX - 1, "process.user.uid", &x)))
		return ret;
	pr->uid = (uint32_t)x;
	if (!(v = member(u, "gid")))
		return bad(p, "process.user.gid", "missing");
	if ((ret = get_uint(p, v, UINT32_MAX - 1, "process.user.gid", &x)))
		return ret;
	pr->gid = (uint32_t)x;
	if ((v = member(u, "umask"))) {
		if ((ret = get_uint(p, v, 0777, "process.user.umask", &x)))
			return ret;
		pr->umask_set = true;
		pr->umask = (uint32_t)x;
	}
	if ((v = member(u, "additionalGids"))) {
		size_t n;

		if ((ret = want_type(p, v, json_type_array,
				     "process.user.additionalGids")))
			return ret;
		n = json_object_array_length(v);
		if (n > BUNDLE_MAX_STRINGS)
			return bad(p, "process.user.additionalGids",
				   "more than %u entries", BUNDLE_MAX_STRINGS);
		pr->gids = calloc(n + 1, sizeof(*pr->gids));
		if (!pr->gids)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(v, i);
			char path[64];

			snprintf(path, sizeof(path),
				 "process.user.additionalGids[%zu]", i);
			if (!e)
				return bad(p, path, "must be an integer");
			if ((ret = get_uint(p, e, UINT32_MAX - 1, path, &x)))
				return ret;
			pr->gids[pr->ngids++] = (uint32_t)x;
		}
	}
	return 0;
}

static int parse_rlimits(struct parse *p, json_object *a,
			 struct bundle_process *pr)
{
	size_t n;
	int ret;

	if (!a)
		return 0;
	if ((ret = want_type(p, a, json_type_array, "process.rlimits")))
		return ret;
	n = json_object_array_length(a);
	if (n > BUNDLE_MAX_RLIMITS)
		return bad(p, "process.rlimits", "more than %u entries",
			   BUNDLE_MAX_RLIMITS);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i), *v;
		struct bundle_rlimit *r = &pr->rlimit[pr->nrlimits];
		char path[64], sub[80];
		int res;

		snprintf(path, sizeof(path), "process.rlimits[%zu]", i);
		if (!e || (ret = want_type(p, e, json_type_object, path)))
			return e ? ret : bad(p, path, "must be an object");
		snprintf(sub, sizeof(sub), "%s.type", path);
		if (!(v = member(e, "type")))
			return bad(p, sub, "missing");
		if ((ret = want_type(p, v, json_type_string, sub)))
			return ret;
		res = bundle_rlimit_number(json_object_get_string(v));
		if (res < 0)
			return bad(p, sub, "unknown resource '%s'",
				   json_object_get_string(v));
		for (size_t k = 0; k < pr->nrlimits; k++)
			if (pr->rlimit[k].resource == res)
				return bad(p, sub, "%s given twice",
					   json_object_get_string(v));
		r->resource = res;
		snprintf(sub, sizeof(sub), "%s.soft", path);
		if (!(v = member(e, "soft")))
			return bad(p, sub, "missing");
		if ((ret = get_uint(p, v, UINT64_MAX, sub, &r->soft)))
			return ret;
		snprintf(sub, sizeof(sub), "%s.hard", path);
		if (!(v = member(e, "hard")))
			return bad(p, sub, "missing");
		if ((ret = get_uint(p, v, UINT64_MAX, sub, &r->hard)))
			return ret;
		if (r->soft > r->hard)
			return bad(p, path, "soft is above hard");
		pr->nrlimits++;
	}
	return 0;
}

static int parse_caps(struct parse *p, json_object *c, struct bundle_process *pr)
{
	static const char *const set[BUNDLE_NR_CAPSETS] = {
		"bounding", "effective", "inheritable", "permitted", "ambient",
	};
	int ret;

	if (!c)
		return 0;
	if ((ret = want_type(p, c, json_type_object, "process.capabilities")))
		return ret;
	pr->caps_set = true;
	for (int s = 0; s < BUNDLE_NR_CAPSETS; s++) {
		json_object *a = member(c, set[s]);
		char path[64];
		size_t n;

		snprintf(path, sizeof(path), "process.capabilities.%s", set[s]);
		if (!a)
			continue;
		if ((ret = want_type(p, a, json_type_array, path)))
			return ret;
		n = json_object_array_length(a);
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(a, i);
			char elem[96];
			int cap;

			snprintf(elem, sizeof(elem), "%s[%zu]", path, i);
			if (!e || (ret = want_type(p, e, json_type_string, elem)))
				return e ? ret : bad(p, elem, "must be a string");
			cap = bundle_cap_number(json_object_get_string(e));
			/* runc and crun refuse unknown names too */
			if (cap < 0)
				return bad(p, elem, "unknown capability '%s'",
					   json_object_get_string(e));
			pr->caps[s] |= 1ULL << cap;
		}
	}
	return 0;
}

static int parse_process(struct parse *p, json_object *o, struct bundle_process *pr)
{
	json_object *v;
	int ret;

	if (!o)
		return bad(p, "process", "missing: the bundle has nothing to run");
	if ((ret = want_type(p, o, json_type_object, "process")) ||
	    (ret = get_bool(p, o, "terminal", "process.terminal", &pr->terminal)))
		return ret;
	if ((v = member(o, "consoleSize"))) {
		json_object *h = member(v, "height"), *w = member(v, "width");
		uint64_t x;

		if ((ret = want_type(p, v, json_type_object, "process.consoleSize")))
			return ret;
		if (!h || !w)
			return bad(p, "process.consoleSize",
				   "height and width are required");
		if ((ret = get_uint(p, h, UINT16_MAX, "process.consoleSize.height", &x)))
			return ret;
		pr->rows = (unsigned int)x;
		if ((ret = get_uint(p, w, UINT16_MAX, "process.consoleSize.width", &x)))
			return ret;
		pr->cols = (unsigned int)x;
	}
	if ((ret = get_strings(p, o, "args", "process.args", &pr->args,
			       &pr->nargs, NULL)) ||
	    (ret = get_strings(p, o, "env", "process.env", &pr->env,
			       &pr->nenv, env_ok)) ||
	    (ret = get_string(p, o, "cwd", "process.cwd", &pr->cwd)))
		return ret;
	/* args may come from the command line instead: checked when run */
	if (!pr->cwd)
		return bad(p, "process.cwd", "missing");
	if (pr->cwd[0] != '/')
		return bad(p, "process.cwd", "must be an absolute path");
	if ((ret = parse_user(p, member(o, "user"), pr)) ||
	    (ret = parse_rlimits(p, member(o, "rlimits"), pr)) ||
	    (ret = parse_caps(p, member(o, "capabilities"), pr)) ||
	    (ret = get_bool(p, o, "noNewPrivileges", "process.noNewPrivileges",
			    &pr->no_new_privs)))
		return ret;
	return 0;
}

/*
 * Mount options as runc and crun read them: the flag words become MS_*
 * flags (their "no" forms clear them), propagation words are moot in a
 * VM without mount namespaces, the rest is data for the file system.
 */
static int mount_options(struct parse *p, char **opt, size_t n,
			 struct bundle_mount *m, bool *bind, const char *path)
{
	static const struct { const char *name; bool clear; unsigned long flag; } f[] = {
		{ "ro", false, MS_RDONLY }, { "rw", true, MS_RDONLY },
		{ "nosuid", false, MS_NOSUID }, { "suid", true, MS_NOSUID },
		{ "nodev", false, MS_NODEV }, { "dev", true, MS_NODEV },
		{ "noexec", false, MS_NOEXEC }, { "exec", true, MS_NOEXEC },
		{ "sync", false, MS_SYNCHRONOUS }, { "async", true, MS_SYNCHRONOUS },
		{ "dirsync", false, MS_DIRSYNC },
		{ "noatime", false, MS_NOATIME }, { "atime", true, MS_NOATIME },
		{ "nodiratime", false, MS_NODIRATIME },
		{ "diratime", true, MS_NODIRATIME },
		{ "relatime", false, MS_RELATIME },
		{ "norelatime", true, MS_RELATIME },
		{ "strictatime", false, MS_STRICTATIME },
		{ "nostrictatime", true, MS_STRICTATIME },
		{ "mand", false, MS_MANDLOCK }, { "nomand", true, MS_MANDLOCK },
	};
	static const char *const moot[] = {
		"private", "rprivate", "shared", "rshared", "slave", "rslave",
		"unbindable", "runbindable", "remount", "tmpcopyup",
	};
	size_t cap = 1, used = 0;

	for (size_t i = 0; i < n; i++)
		cap += strlen(opt[i]) + 1;
	m->data = calloc(1, cap);
	if (!m->data)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *o = opt[i];
		size_t k, len;

		if (!strcmp(o, "bind") || !strcmp(o, "rbind")) {
			*bind = true;
			continue;
		}
		for (k = 0; k < sizeof(f) / sizeof(f[0]); k++)
			if (!strcmp(o, f[k].name))
				break;
		if (k < sizeof(f) / sizeof(f[0])) {
			if (f[k].clear)
				m->flags &= ~f[k].flag;
			else
				m->flags |= f[k].flag;
			continue;
		}
		for (k = 0; k < sizeof(moot) / sizeof(moot[0]); k++)
			if (!strcmp(o, moot[k]))
				break;
		if (k < sizeof(moot) / sizeof(moot[0]))
			continue;
		if (!o[0])
			return bad(p, path, "an empty option");
		len = strlen(o);
		if (used)
			m->data[used++] = ',';
		memcpy(m->data + used, o, len + 1);
		used += len;
	}
	return 0;
}

static int parse_mounts(struct parse *p, json_object *a, struct bundle_spec *b)
{
	size_t n;
	int ret;

	if (!a)
		return 0;
	if ((ret = want_type(p, a, json_type_array, "mounts")))
		return ret;
	n = json_object_array_length(a);
	if (n > BUNDLE_MAX_MOUNTS)
		return bad(p, "mounts", "more than %u entries", BUNDLE_MAX_MOUNTS);
	b->mounts = calloc(n + 1, sizeof(*b->mounts));
	if (!b->mounts)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		static const char *const guest_fs[] = {
			"proc", "sysfs", "tmpfs", "devpts", "mqueue",
		};
		json_object *e = json_object_array_get_idx(a, i);
		struct bundle_mount *m = &b->mounts[i];
		char path[48], sub[80], **opt = NULL;
		size_t nopt = 0;
		bool bind = false;

		b->nmounts = i + 1;
		snprintf(path, sizeof(path), "mounts[%zu]", i);
		if (!e || (ret = want_type(p, e, json_type_object, path)))
			return e ? ret : bad(p, path, "must be an object");
		snprintf(sub, sizeof(sub), "%s.destination", path);
		if ((ret = get_string(p, e, "destination", sub, &m->destination)))
			return ret;
		if (!m->destination)
			return bad(p, sub, "missing");
		if (m->destination[0] != '/')
			return bad(p, sub, "must be an absolute path");
		snprintf(sub, sizeof(sub), "%s.type", path);
		if ((ret = get_string(p, e, "type", sub, &m->type)))
			return ret;
		snprintf(sub, sizeof(sub), "%s.source", path);
		if ((ret = get_string(p, e, "source", sub, &m->source)))
			return ret;
		if ((!m->type && !(m->type = strdup(""))) ||
		    (!m->source && !(m->source = strdup(""))))
			return -ENOMEM;
		snprintf(sub, sizeof(sub), "%s.options", path);
		ret = get_strings(p, e, "options", sub, &opt, &nopt, NULL);
		if (!ret)
			ret = mount_options(p, opt, nopt, m, &bind, sub);
		for (size_t k = 0; k < nopt; k++)
			free(opt[k]);
		free(opt);
		if (ret)
			return ret;
		if (!strcmp(m->type, "bind"))
			bind = true;
		m->kind = MOUNT_HOST;
		for (size_t k = 0; !bind && k < sizeof(guest_fs) / sizeof(guest_fs[0]); k++)
			if (!strcmp(m->type, guest_fs[k]))
				m->kind = MOUNT_GUEST;
		if (!bind && (!strcmp(m->type, "cgroup") ||
			      !strcmp(m->type, "cgroup2")))
			m->kind = MOUNT_SKIP;
	}
	return 0;
}

int bundle_parse(const char *json, size_t len, struct bundle_spec *b,
		 char *err, size_t errlen)
{
	struct parse p = { err, errlen };
	json_object *doc, *root;
	int ret;

	memset(b, 0, sizeof(*b));
	if (len > BUNDLE_CONFIG_MAX) {
		snprintf(err, errlen, "larger than %u MiB", BUNDLE_CONFIG_MAX >> 20);
		return -EINVAL;
	}
	if ((ret = config_parse_json(json, len, &doc, err, errlen)))
		return ret;
	if ((ret = want_type(&p, doc, json_type_object, "the document")))
		goto out;
	if ((ret = get_string(&p, doc, "ociVersion", "ociVersion",
			      &b->oci_version)))
		goto out;
	if (!b->oci_version) {
		ret = bad(&p, "ociVersion", "missing");
		goto out;
	}
	/* 1.x: the version this code reads; a 2.0 may mean anything */
	if (strncmp(b->oci_version, "1.", 2)) {
		ret = bad(&p, "ociVersion", "'%s' is not supported (1.x is)",
			  b->oci_version);
		goto out;
	}
	root = member(doc, "root");
	if (!root) {
		ret = bad(&p, "root", "missing");
		goto out;
	}
	if ((ret = want_type(&p, root, json_type_object, "root")) ||
	    (ret = get_string(&p, root, "path", "root.path", &b->root_path)) ||
	    (ret = get_bool(&p, root, "readonly", "root.readonly",
			    &b->root_readonly)))
		goto out;
	if (!b->root_path || !b->root_path[0]) {
		ret = bad(&p, "root.path", b->root_path ? "is empty" : "missing");
		goto out;
	}
	if ((ret = parse_process(&p, member(doc, "process"), &b->process)) ||
	    (ret = get_string(&p, doc, "hostname", "hostname", &b->hostname)) ||
	    (ret = parse_mounts(&p, member(doc, "mounts"), b)))
		goto out;
out:
	json_object_put(doc);
	if (ret) {
		if (ret == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		bundle_free(b);
	}
	return ret;
}

static void free_strings(char **s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i]);
	free(s);
}

void bundle_free(struct bundle_spec *b)
{
	free(b->oci_version);
	free(b->root_path);
	free(b->hostname);
	free_strings(b->process.args, b->process.nargs);
	free_strings(b->process.env, b->process.nenv);
	free(b->process.cwd);
	free(b->process.gids);
	for (size_t i = 0; b->mounts && i < b->nmounts; i++) {
		free(b->mounts[i].destination);
		free(b->mounts[i].type);
		free(b->mounts[i].source);
		free(b->mounts[i].data);
	}
	free(b->mounts);
	memset(b, 0, sizeof(*b));
}

int bundle_set_args(struct bundle_spec *b, int argc, char *const *argv)
{
	char **a;

	if (argc <= 0 || argc > BUNDLE_MAX_STRINGS || !argv[0][0])
		return -EINVAL;
	a = calloc((size_t)argc + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (int i = 0; i < argc; i++)
		if (!(a[i] = strdup(argv[i]))) {
			free_strings(a, (size_t)i);
			return -ENOMEM;
		}
	free_strings(b->process.args, b->process.nargs);
	b->process.args = a;
	b->process.nargs = (size_t)argc;
	return 0;
}

/* --- the guest's spec --------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, char tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void put(struct buf *b, char tag, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = room > 1 ? vsnprintf(b->p + b->len + 1, room - 1, fmt, ap) : -1;
		va_end(ap);
		if (n >= 0 && (size_t)n + 2 <= room)
			break;
		/* grow: the record is tag, text, NUL */
		size_t want = b->cap * 2 + (n > 0 ? (size_t)n : 0) + 64;
		char *q = realloc(b->p, want);

		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = want;
	}
	b->p[b->len] = tag;
	b->len += (size_t)n + 2;
}

int bundle_guest_spec(const struct bundle_spec *s, char **out, size_t *len)
{
	const struct bundle_process *pr = &s->process;
	struct buf b = { 0 };

	put(&b, SPEC_VERSION, "%s", SPEC_FORMAT);
	for (size_t i = 0; i < pr->nargs; i++)
		put(&b, SPEC_ARG, "%s", pr->args[i]);
	for (size_t i = 0; i < pr->nenv; i++)
		put(&b, SPEC_ENV, "%s", pr->env[i]);
	put(&b, SPEC_CWD, "%s", pr->cwd);
	put(&b, SPEC_UID, "%u", pr->uid);
	put(&b, SPEC_GID, "%u", pr->gid);
	for (size_t i = 0; i < pr->ngids; i++)
		put(&b, SPEC_GROUP, "%u", pr->gids[i]);
	if (pr->umask_set)
		put(&b, SPEC_UMASK, "%u", pr->umask);
	if (pr->terminal)
		put(&b, SPEC_TERMINAL, "1");
	if (s->hostname)
		put(&b, SPEC_HOSTNAME, "%s", s->hostname);
	for (size_t i = 0; i < pr->nrlimits; i++)
		put(&b, SPEC_RLIMIT, "%d %llu %llu", pr->rlimit[i].resource,
		    (unsigned long long)pr->rlimit[i].soft,
		    (unsigned long long)pr->rlimit[i].hard);
	if (pr->no_new_privs)
		put(&b, SPEC_NO_NEW_PRIVS, "1");
	if (pr->caps_set)
		put(&b, SPEC_CAPS, "%llx %llx %llx %llx %llx",
		    (unsigned long long)pr->caps[CAPS_BOUNDING],
		    (unsigned long long)pr->caps[CAPS_EFFECTIVE],
		    (unsigned long long)pr->caps[CAPS_INHERITABLE],
		    (unsigned long long)pr->caps[CAPS_PERMITTED],
		    (unsigned long long)pr->caps[CAPS_AMBIENT]);
	if (s->root_readonly)
		put(&b, SPEC_ROOT_RO, "1");
	for (size_t i = 0; i < s->nmounts; i++) {
		const struct bundle_mount *m = &s->mounts[i];

		if (m->kind != MOUNT_GUEST)
			continue;
		put(&b, SPEC_MOUNT, "%s", m->destination);
		put(&b, SPEC_MOUNT_TYPE, "%s", m->type);
		put(&b, SPEC_MOUNT_SRC, "%s", m->source[0] ? m->source : m->type);
		put(&b, SPEC_MOUNT_FLAGS, "%lu", m->flags);
		if (m->data[0])
			put(&b, SPEC_MOUNT_DATA, "%s", m->data);
	}
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
