// SPDX-License-Identifier: MIT
/*
 * --seccomp-filter FILE: a user's filters in the JSON format Firecracker
 * documents for its seccompiler (docs/seccompiler.md):
 *
 *   { "vmm":  { "default_action": "trap", "filter_action": "allow",
 *               "filter": [ { "syscall": "read" },
 *                           { "syscall": "ioctl", "args": [
 *                               { "index": 1, "type": "dword", "op": "eq",
 *                                 "val": 44672, "comment": "KVM_RUN" } ] } ] },
 *     "api":  { ... }, "vcpu": { ... } }
 *
 * Actions: "allow", "trap", "log", "kill_thread", "kill_process" ("kill"
 * is taken as kill_process), {"errno": N}, {"trace": N}. A condition
 * (older files say "arg_index" and "arg_type") compares argument index
 * 0-5 with op "eq", "ne", "lt", "le", "gt", "ge" or {"masked_eq": MASK};
 * "dword" compares the low 32 bits for eq and masked_eq, and the whole
 * argument with the 32-bit value for the others (libseccomp has no
 * 32-bit ordering). libseccomp takes one comparison per argument in a
 * rule. System calls this architecture lacks are skipped.
 *
 * vmm's main thread runs both Firecracker's "vmm" and "api" work, so it
 * gets both filters' rules (they must have one default action); vCPU
 * threads get "vcpu"; disk I/O threads an optional "disk" filter, else
 * "vmm" (Firecracker does block I/O on its vmm thread).
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "seccomp.h"

#define FILE_MAX   (1 << 20)
#define RULES_MAX  4096     /* per category */
#define CONDS_MAX  6

enum { CAT_VMM, CAT_API, CAT_VCPU, CAT_DISK, NR_CATS };
static const char *const cat_name[NR_CATS] = { "vmm", "api", "vcpu", "disk" };

struct frule {
	char name[64];
	unsigned int nargs;
	struct scmp_arg_cmp arg[CONDS_MAX];
};

struct ffilter {
	bool present;
	uint32_t def, act;
	size_t nrules;
	struct frule *rules;
};

struct seccomp_file {
	struct ffilter cat[NR_CATS];
};

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

/* A non-negative integer, up to 2^64 - 1. */
static int get_u64(json_object *o, uint64_t *v)
{
	if (!json_object_is_type(o, json_type_int))
		return -EINVAL;
	if (json_object_get_int64(o) < 0)
		return -EINVAL;
	*v = json_object_get_uint64(o);
	return 0;
}

static int parse_action(json_object *o, uint32_t *act, const char *where,
			char *err, size_t errlen)
{
	static const struct { const char *name; uint32_t act; } simple[] = {
		{ "allow", SCMP_ACT_ALLOW }, { "trap", SCMP_ACT_TRAP },
		{ "log", SCMP_ACT_LOG }, { "kill_thread", SCMP_ACT_KILL_THREAD },
		{ "kill_process", SCMP_ACT_KILL_PROCESS },
		{ "kill", SCMP_ACT_KILL_PROCESS },
	};
	json_object *v;
	uint64_t n;

	if (json_object_is_type(o, json_type_string)) {
		for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
			if (!strcmp(json_object_get_string(o), simple[i].name)) {
				*act = simple[i].act;
				return 0;
			}
		}
	} else if (json_object_is_type(o, json_type_object) &&
		   json_object_object_length(o) == 1) {
		bool is_errno = json_object_object_get_ex(o, "errno", &v);

		if ((is_errno || json_object_object_get_ex(o, "trace", &v)) &&
		    !get_u64(v, &n) && n <= 0xffff) {
			*act = is_errno ? SCMP_ACT_ERRNO((uint32_t)n)
					: SCMP_ACT_TRACE((uint32_t)n);
			return 0;
		}
	}
	return fail(err, errlen, "%s: expected \"allow\", \"trap\", \"log\", "
		    "\"kill_thread\", \"kill_process\", {\"errno\": N} or "
		    "{\"trace\": N}", where);
}

static int parse_cond(json_object *o, struct scmp_arg_cmp *c,
		      const char *where, char *err, size_t errlen)
{
	static const struct { const char *name; enum scmp_compare op; } ops[] = {
		{ "eq", SCMP_CMP_EQ }, { "ne", SCMP_CMP_NE },
		{ "lt", SCMP_CMP_LT }, { "le", SCMP_CMP_LE },
		{ "gt", SCMP_CMP_GT }, { "ge", SCMP_CMP_GE },
	};
	json_object *index = NULL, *type = NULL, *op = NULL, *val = NULL, *m;
	uint64_t i, v, mask = ~0ULL;
	bool dword;

	if (!json_object_is_type(o, json_type_object))
		return fail(err, errlen, "%s: a condition is an object", where);
	json_object_object_foreach(o, key, value) {
		if (!strcmp(key, "index") || !strcmp(key, "arg_index"))
			index = value;
		else if (!strcmp(key, "type") || !strcmp(key, "arg_type"))
			type = value;
		else if (!strcmp(key, "op"))
			op = value;
		else if (!strcmp(key, "val"))
			val = value;
		else if (strcmp(key, "comment"))
			return fail(err, errlen, "%s: unknown field '%s'", where,
				    key);
	}
	if (!index || get_u64(index, &i) || i > 5)
		return fail(err, errlen, "%s: \"index\" must be 0 to 5", where);
	if (!type || !json_object_is_type(type, json_type_string) ||
	    (strcmp(json_object_get_string(type), "dword") &&
	     strcmp(json_object_get_string(type), "qword")))
		return fail(err, errlen, "%s: \"type\" must be \"dword\" or "
			    "\"qword\"", where);
	dword = !strcmp(json_object_get_string(type), "dword");
	if (!val || get_u64(val, &v))
		return fail(err, errlen, "%s: \"val\" must be a non-negative "
			    "integer", where);
	if (dword && v > 0xffffffffULL)
		return fail(err, errlen, "%s: \"val\" %llu does not fit a dword",
			    where, (unsigned long long)v);
	memset(c, 0, sizeof(*c));
	c->arg = (unsigned int)i;
	if (op && json_object_is_type(op, json_type_object) &&
	    json_object_object_length(op) == 1 &&
	    json_object_object_get_ex(op, "masked_eq", &m)) {
		if (get_u64(m, &mask))
			return fail(err, errlen, "%s: \"masked_eq\" takes a "
				    "non-negative integer mask", where);
		c->op = SCMP_CMP_MASKED_EQ;
		c->datum_a = dword ? mask & 0xffffffffULL : mask;
		c->datum_b = v;
		return 0;
	}
	for (size_t k = 0; op && json_object_is_type(op, json_type_string) &&
	     k < sizeof(ops) / sizeof(ops[0]); k++) {
		if (strcmp(json_object_get_string(op), ops[k].name))
			continue;
		c->op = ops[k].op;
		c->datum_a = v;
		/* the kernel reads a dword as 32 bits: so does eq */
		if (dword && ops[k].op == SCMP_CMP_EQ) {
			c->op = SCMP_CMP_MASKED_EQ;
			c->datum_a = 0xffffffffULL;
			c->datum_b = v;
		}
		return 0;
	}
	return fail(err, errlen, "%s: \"op\" must be \"eq\", \"ne\", \"lt\", "
		    "\"le\", \"gt\", \"ge\" or {\"masked_eq\": MASK}", where);
}

static int parse_rule(json_object *o, struct frule *r, const char *where,
		      char *err, size_t errlen)
{
	static const struct config_field fields[] = {
		{ "syscall", json_type_string, true },
		{ "comment", json_type_string, false },
		{ "args", json_type_array, false },
	};
	json_object *name, *args;
	char at[160];
	int ret = config_check_fields(o, fields, 3, at, sizeof(at));

	if (ret)
		return fail(err, errlen, "%s: %s", where, at);
	json_object_object_get_ex(o, "syscall", &name);
	if ((size_t)json_object_get_string_len(name) >= sizeof(r->name))
		return fail(err, errlen, "%s: system call name too long", where);
	memset(r, 0, sizeof(*r));
	memcpy(r->name, json_object_get_string(name),
	       (size_t)json_object_get_string_len(name));
	if (seccomp_syscall_resolve_name(r->name) == __NR_SCMP_ERROR)
		return fail(err, errlen, "%s: unknown system call '%s'", where,
			    r->name);
	if (!json_object_object_get_ex(o, "args", &args) || !args)
		return 0;
	if (json_object_array_length(args) > CONDS_MAX)
		return fail(err, errlen, "%s: at most %d conditions", where,
			    CONDS_MAX);
	for (size_t i = 0; i < json_object_array_length(args); i++) {
		snprintf(at, sizeof(at), "%s.args[%zu]", where, i);
		ret = parse_cond(json_object_array_get_idx(args, i),
				 &r->arg[r->nargs], at, err, errlen);
		if (ret)
			return ret;
		for (unsigned int k = 0; k < r->nargs; k++)
			if (r->arg[k].arg == r->arg[r->nargs].arg)
				return fail(err, errlen, "%s: argument %u is "
					    "compared twice (libseccomp takes "
					    "one comparison per argument; write "
					    "two rules)", at, r->arg[k].arg);
		r->nargs++;
	}
	return 0;
}

static int parse_filter(json_object *o, struct ffilter *f, const char *cat,
			char *err, size_t errlen)
{
	static const char *const need[] = {
		"default_action", "filter_action", "filter",
	};
	json_object *def, *act, *rules;
	char where[96], msg[160];
	size_t n;
	int ret;

	if (!json_object_is_type(o, json_type_object))
		return fail(err, errlen, "\"%s\" must be an object", cat);
	/* the actions are strings or objects: checked below, not here */
	json_object_object_foreach(o, key, value) {
		(void)value;
		if (strcmp(key, "default_action") && strcmp(key, "filter_action") &&
		    strcmp(key, "filter"))
			return fail(err, errlen, "%s: unknown field '%s'", cat, key);
	}
	for (size_t i = 0; i < 3; i++)
		if (!json_object_object_get_ex(o, need[i], &def) || !def)
			return fail(err, errlen, "%s: missing field '%s'", cat,
				    need[i]);
	json_object_object_get_ex(o, "default_action", &def);
	json_object_object_get_ex(o, "filter_action", &act);
	json_object_object_get_ex(o, "filter", &rules);
	snprintf(where, sizeof(where), "%s.default_action", cat);
	if ((ret = parse_action(def, &f->def, where, err, errlen)))
		return ret;
	snprintf(where, sizeof(where), "%s.filter_action", cat);
	if ((ret = parse_action(act, &f->act, where, err, errlen)))
		return ret;
	if (!json_object_is_type(rules, json_type_array))
		return fail(err, errlen, "%s.filter must be an array", cat);
	n = json_object_array_length(rules);
	if (n > RULES_MAX)
		return fail(err, errlen, "%s.filter: at most %d rules", cat,
			    RULES_MAX);
	f->rules = calloc(n ? n : 1, sizeof(*f->rules));
	if (!f->rules)
		return fail(err, errlen, "out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "%s.filter[%zu]", cat, i);
		ret = parse_rule(json_object_array_get_idx(rules, i),
				 &f->rules[i], where, msg, sizeof(msg));
		if (ret)
			return fail(err, errlen, "%s", msg);
		f->nrules++;
	}
	f->present = true;
	return 0;
}

/*
 * The main thread gets vmm's and api's rules in one filter: a call both
 * name with different actions has no one meaning there (libseccomp would
 * silently keep the first), so it is refused.
 */
static int check_union(const struct seccomp_file *f, char *err, size_t errlen)
{
	const struct ffilter *v = &f->cat[CAT_VMM], *a = &f->cat[CAT_API];

	if (v->act == a->act)
		return 0;
	for (size_t i = 0; i < v->nrules; i++)
		for (size_t j = 0; j < a->nrules; j++)
			if (!strcmp(v->rules[i].name, a->rules[j].name))
				return fail(err, errlen, "\"vmm\" and \"api\" "
					    "both name '%s' but with different "
					    "filter actions, and vmm's main "
					    "thread does the work of both",
					    v->rules[i].name);
	return 0;
}

int seccomp_file_parse(const char *buf, size_t len, struct seccomp_file **out,
		       char *err, size_t errlen)
{
	struct seccomp_file *f = calloc(1, sizeof(*f));
	json_object *doc = NULL;
	int ret;

	if (!f)
		return fail(err, errlen, "out of memory");
	ret = config_parse_json(buf, len, &doc, err, errlen);
	if (!ret && !json_object_is_type(doc, json_type_object))
		ret = fail(err, errlen, "the file must hold a JSON object of "
			   "thread categories (vmm, api, vcpu, disk)");
	if (!ret) {
		json_object_object_foreach(doc, key, value) {
			int c;

			for (c = 0; c < NR_CATS; c++)
				if (!strcmp(key, cat_name[c]))
					break;
			if (c == NR_CATS) {
				ret = fail(err, errlen, "unknown thread category "
					   "'%s' (vmm, api, vcpu, disk)", key);
				break;
			}
			if ((ret = parse_filter(value, &f->cat[c], key, err,
						errlen)))
				break;
		}
	}
	for (int c = 0; !ret && c < CAT_DISK; c++)
		if (!f->cat[c].present)
			ret = fail(err, errlen, "no \"%s\" filter (vmm, api and "
				   "vcpu are required)", cat_name[c]);
	if (!ret && f->cat[CAT_VMM].def != f->cat[CAT_API].def)
		ret = fail(err, errlen, "\"vmm\" and \"api\" have different "
			   "default actions, but vmm's main thread does the "
			   "work of both");
	if (!ret)
		ret = check_union(f, err, errlen);
	json_object_put(doc);
	if (ret) {
		seccomp_file_free(f);
		return ret;
	}
	*out = f;
	return 0;
}

int seccomp_file_load(const char *path, struct seccomp_file **out,
		      char *err, size_t errlen)
{
	char msg[256], *buf = NULL;
	struct stat st;
	ssize_t n = -1;
	int fd, ret;

	/* a FIFO or device must not block vmm here */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	} else if (!S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: %s", path, S_ISREG(st.st_mode) ?
			 "larger than 1 MiB" : "not a regular file");
	} else if (!(buf = malloc((size_t)st.st_size + 1)) ||
		   (n = read(fd, buf, (size_t)st.st_size)) != st.st_size) {
		ret = buf ? -EIO : -ENOMEM;
		snprintf(err, errlen, "%s: cannot read it", path);
	} else {
		ret = seccomp_file_parse(buf, (size_t)n, out, msg, sizeof(msg));
		if (ret)
			snprintf(err, errlen, "%s: %s", path, msg);
	}
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

void seccomp_file_free(struct seccomp_file *f)
{
	if (!f)
		return;
	for (int c = 0; c < NR_CATS; c++)
		free(f->cat[c].rules);
	free(f);
}

/* The categories whose rules a kind of thread gets. */
static unsigned int cats_of(const struct seccomp_file *f,
			    enum seccomp_thread kind, int cats[2])
{
	switch (kind) {
	case SECCOMP_MAIN:
		cats[0] = CAT_VMM;
		cats[1] = CAT_API;
		return 2;
	case SECCOMP_VCPU:
		cats[0] = CAT_VCPU;
		return 1;
	case SECCOMP_DISK:
		cats[0] = f->cat[CAT_DISK].present ? CAT_DISK : CAT_VMM;
		return 1;
	default:
		return 0;
	}
}

uint32_t seccomp_file_default(const struct seccomp_file *f,
			      enum seccomp_thread kind)
{
	int cats[2];

	return cats_of(f, kind, cats) ? f->cat[cats[0]].def : SCMP_ACT_TRAP;
}

int seccomp_file_rules(const struct seccomp_file *f, enum seccomp_thread kind,
		       seccomp_add_fn add, void *b)
{
	int cats[2];
	unsigned int n = cats_of(f, kind, cats);

	for (unsigned int c = 0; c < n; c++) {
		const struct ffilter *ff = &f->cat[cats[c]];

		for (size_t i = 0; i < ff->nrules; i++) {
			int ret = add(b, ff->act, ff->rules[i].name,
				      ff->rules[i].nargs, ff->rules[i].arg);

			if (ret)
				return ret;
		}
	}
	return 0;
}
