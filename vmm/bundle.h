/* SPDX-License-Identifier: MIT */
/*
 * An OCI runtime bundle's config.json (the runtime-spec's config.md), as
 * much of it as a VM honours: root, process (args, env, cwd, user,
 * terminal, rlimits, capabilities, noNewPrivileges), hostname and mounts.
 * Pure: no I/O. The runner of `vmm run --bundle` (run_bundle.c) and, next,
 * an OCI runtime CLI (create/start/state/kill/delete) are built on it.
 *
 * What a VM makes moot is accepted and ignored: linux.namespaces, cgroups
 * and resources (the VM is the boundary and --mem/--cpus its size),
 * seccomp, AppArmor, SELinux, masked and read-only paths, hooks,
 * annotations; unknown members too, as the spec requires. A member that
 * is known must have its type and a sensible value.
 */
#ifndef VMM_BUNDLE_H
#define VMM_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUNDLE_CONFIG_MAX  (4u << 20)  /* config.json: 4 MiB */
#define BUNDLE_MAX_STRINGS 65536       /* args, env, additionalGids, options */
#define BUNDLE_MAX_MOUNTS  1024
#define BUNDLE_MAX_RLIMITS 16
#define BUNDLE_NR_CAPSETS  5

enum bundle_capset {
	CAPS_BOUNDING, CAPS_EFFECTIVE, CAPS_INHERITABLE, CAPS_PERMITTED,
	CAPS_AMBIENT,
};

/* What the VM does with one entry of mounts. */
enum bundle_mount_kind {
	MOUNT_GUEST,     /* a file system the guest kernel makes: proc,
			    sysfs, tmpfs, devpts, mqueue */
	MOUNT_SKIP,      /* moot in a VM (cgroup): left out, silently */
	MOUNT_HOST,      /* needs the host's files (bind, others): left out,
			    with a warning */
};

struct bundle_mount {
	char *destination;      /* absolute */
	char *type;             /* "" when not given */
	char *source;           /* "" when not given */
	unsigned long flags;    /* MS_* from the options */
	char *data;             /* the options that are not flags, "a,b" */
	enum bundle_mount_kind kind;
};

struct bundle_rlimit {
	int resource;           /* RLIMIT_* */
	uint64_t soft, hard;
};

struct bundle_process {
	bool terminal;
	unsigned int rows, cols; /* consoleSize, 0 = not given */
	char **args;
	size_t nargs;
	char **env;
	size_t nenv;
	char *cwd;               /* absolute */
	uint32_t uid, gid;
	uint32_t *gids;          /* additionalGids */
	size_t ngids;
	bool umask_set;
	uint32_t umask;
	struct bundle_rlimit rlimit[BUNDLE_MAX_RLIMITS];
	size_t nrlimits;
	bool no_new_privs;
	bool caps_set;           /* capabilities given: else all stay */
	uint64_t caps[BUNDLE_NR_CAPSETS];
};

struct bundle_spec {
	char *oci_version;
	char *root_path;         /* as written: relative to the bundle or not */
	bool root_readonly;
	struct bundle_process process;
	char *hostname;          /* NULL when not given */
	struct bundle_mount *mounts;
	size_t nmounts;
};

/*
 * Parse config.json (len bytes, strict UTF-8, one JSON object) into *b.
 * 0, or -EINVAL with one line in err naming the member at fault
 * ("process.user.uid: must be an integer from 0 to 4294967295"); -ENOMEM.
 * On failure *b holds nothing to free.
 */
int bundle_parse(const char *json, size_t len, struct bundle_spec *b,
		 char *err, size_t errlen) __attribute__((warn_unused_result));

/* Free what bundle_parse() allocated; *b is zeroed. */
void bundle_free(struct bundle_spec *b);

/*
 * Replace process.args by argv[0..argc) (vmm run --bundle DIR -- ARGS).
 * 0, -EINVAL (argc is 0 or too large, or an empty argv[0]), -ENOMEM.
 */
int bundle_set_args(struct bundle_spec *b, int argc, char *const *argv)
	__attribute__((warn_unused_result));

/*
 * The spec as the guest init reads it (guest/init/proto.h), in a new
 * buffer (*out, *len; the caller frees it). 0 or -ENOMEM.
 */
int bundle_guest_spec(const struct bundle_spec *b, char **out, size_t *len)
	__attribute__((warn_unused_result));

/* "CAP_SYS_ADMIN" -> 21; -1 when unknown. */
int bundle_cap_number(const char *name);
/* "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 when unknown. */
int bundle_rlimit_number(const char *name);

#endif
