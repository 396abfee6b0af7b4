// SPDX-License-Identifier: MIT
/* /vmm/spec, the bundle's process as vmm wrote it (spec.h, proto.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "spec.h"

static int bad(char *err, size_t errlen, const char *what, const char *v)
{
	snprintf(err, errlen, "spec: bad %s '%.40s'", what, v);
	return -EINVAL;
}

/* A decimal or (base 16) hex number that fits max; 0 or -EINVAL. */
static int number(const char *s, int base, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Append p to a NULL-terminated array of n entries. */
static int push(char ***a, size_t *n, char *p)
{
	char **q = realloc(*a, (*n + 2) * sizeof(**a));

	if (!q)
		return -ENOMEM;
	q[(*n)++] = p;
	q[*n] = NULL;
	*a = q;
	return 0;
}

/* "A B C ..." hex or decimal numbers, as many as out holds. */
static int numbers(const char *s, int base, uint64_t *out, size_t n)
{
	char tmp[128], *save = NULL, *tok;
	size_t i = 0;

	if (strlen(s) >= sizeof(tmp))
		return -EINVAL;
	strcpy(tmp, s);
	for (tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (i == n || number(tok, base, UINT64_MAX, &out[i++]))
			return -EINVAL;
	}
	return i == n ? 0 : -EINVAL;
}

int spec_decode(char *buf, size_t len, struct guest_spec *s, char *err,
		size_t errlen)
{
	struct spec_mount *m = NULL;
	size_t pos = 0;
	bool cwd = false, uid = false, gid = false, first = true;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	if (!len || buf[len - 1] != 0) {
		snprintf(err, errlen, "spec: not NUL-terminated");
		return -EINVAL;
	}
	while (pos < len && !ret) {
		char tag = buf[pos], *v = buf + pos + 1;
		uint64_t x, n[5];

		pos += strlen(buf + pos) + 1;
		if (first && tag != SPEC_VERSION) {
			ret = bad(err, errlen, "first record", v);
			break;
		}
		first = false;
		switch (tag) {
		case SPEC_VERSION:
			if (strcmp(v, SPEC_FORMAT))
				ret = bad(err, errlen, "version", v);
			break;
		case SPEC_ARG: ret = push(&s->args, &s->nargs, v); break;
		case SPEC_ENV: ret = push(&s->env, &s->nenv, v); break;
		case SPEC_CWD: s->cwd = v; cwd = true; break;
		case SPEC_UID:
		case SPEC_GID:
		case SPEC_GROUP:
			if (number(v, 10, UINT32_MAX, &x)) {
				ret = bad(err, errlen, "id", v);
			} else if (tag == SPEC_UID) {
				s->uid = (uint32_t)x;
				uid = true;
			} else if (tag == SPEC_GID) {
				s->gid = (uint32_t)x;
				gid = true;
			} else {
				uint32_t *g = realloc(s->groups, (s->ngroups + 1) *
						      sizeof(*g));
				if (!g) {
					ret = -ENOMEM;
					break;
				}
				g[s->ngroups++] = (uint32_t)x;
				s->groups = g;
			}
			break;
		case SPEC_UMASK:
			if (number(v, 10, 0777, &x))
				ret = bad(err, errlen, "umask", v);
			s->umask = (unsigned int)x;
			s->umask_set = true;
			break;
		case SPEC_TERMINAL: s->terminal = true; break;
		case SPEC_HOSTNAME: s->hostname = v; break;
		case SPEC_NO_NEW_PRIVS: s->no_new_privs = true; break;
		case SPEC_ROOT_RO: s->root_ro = true; break;
		case SPEC_RLIMIT:
			if (s->nrlimits == SPEC_MAX_RLIMITS ||
			    numbers(v, 10, n, 3) || n[0] > 64) {
				ret = bad(err, errlen, "rlimit", v);
				break;
			}
			s->rlimit[s->nrlimits++] = (struct spec_rlimit){
				(int)n[0], n[1], n[2] };
			break;
		case SPEC_CAPS:
			if (numbers(v, 16, s->caps, 5))
				ret = bad(err, errlen, "capabilities", v);
			s->caps_set = true;
			break;
		case SPEC_MOUNT: {
			struct spec_mount *q = realloc(s->mounts, (s->nmounts + 1) *
						       sizeof(*q));
			if (!q) {
				ret = -ENOMEM;
				break;
			}
			s->mounts = q;
			m = &q[s->nmounts++];
			*m = (struct spec_mount){ .dest = v, .type = "",
						  .source = "", .data = NULL };
			break;
		}
		case SPEC_MOUNT_TYPE:
		case SPEC_MOUNT_SRC:
		case SPEC_MOUNT_FLAGS:
		case SPEC_MOUNT_DATA:
			if (!m) {
				ret = bad(err, errlen, "mount record", v);
			} else if (tag == SPEC_MOUNT_TYPE) {
				m->type = v;
			} else if (tag == SPEC_MOUNT_SRC) {
				m->source = v;
			} else if (tag == SPEC_MOUNT_DATA) {
				m->data = v;
			} else if (number(v, 10, UINT32_MAX, &x)) {
				ret = bad(err, errlen, "mount flags", v);
			} else {
				m->flags = (unsigned long)x;
			}
			break;
		default:
			ret = bad(err, errlen, "record", v);
		}
	}
	if (!ret && (!s->nargs || !cwd || !uid || !gid))
		ret = bad(err, errlen, "spec", "args, cwd, uid or gid missing");
	if (!ret && !s->env && !(s->env = calloc(1, sizeof(*s->env))))
		ret = -ENOMEM;
	if (ret == -ENOMEM)
		snprintf(err, errlen, "spec: out of memory");
	if (ret)
		spec_free(s);
	return ret;
}

void spec_free(struct guest_spec *s)
{
	free(s->args);
	free(s->env);
	free(s->groups);
	free(s->mounts);
	memset(s, 0, sizeof(*s));
}
