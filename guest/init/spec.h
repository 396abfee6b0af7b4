/* SPDX-License-Identifier: MIT */
/*
 * The guest init's reading of /vmm/spec (proto.h). Pure, so vmm's unit
 * tests check it against what vmm/bundle.c writes.
 */
#ifndef GUEST_INIT_SPEC_H
#define GUEST_INIT_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPEC_MAX_RLIMITS 16

struct spec_mount {
	const char *dest, *type, *source, *data;
	unsigned long flags;
};

struct spec_rlimit {
	int resource;
	uint64_t soft, hard;
};

struct guest_spec {
	char **args;             /* NULL-terminated, like env */
	size_t nargs;
	char **env;
	size_t nenv;
	const char *cwd;
	uint32_t uid, gid;
	uint32_t *groups;
	size_t ngroups;
	bool umask_set;
	unsigned int umask;
	bool terminal;
	const char *hostname;    /* NULL: leave it */
	struct spec_rlimit rlimit[SPEC_MAX_RLIMITS];
	size_t nrlimits;
	bool no_new_privs;
	bool caps_set;
	uint64_t caps[5];        /* bounding, effective, inheritable,
				    permitted, ambient */
	bool root_ro;
	struct spec_mount *mounts;
	size_t nmounts;
};

/*
 * Read len bytes of buf (kept: the spec points into it) into *s. 0, or
 * -EINVAL with one line in err, or -ENOMEM. spec_free() frees the arrays.
 */
int spec_decode(char *buf, size_t len, struct guest_spec *s, char *err,
		size_t errlen);
void spec_free(struct guest_spec *s);

#endif
