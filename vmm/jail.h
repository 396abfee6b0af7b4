/* SPDX-License-Identifier: MIT */
/*
 * vmm jail: run `vmm run` confined, in the spirit of Firecracker's
 * jailer. The VM's files appear in <base>/<id>/root (hard links, or bind
 * mounts across filesystems), which becomes vmm's root directory in new
 * mount and PID namespaces (and an optional network namespace), with
 * cgroup limits, no capabilities, no_new_privs, and an unprivileged
 * uid/gid; then the jail execs vmm run there, waits for it, relays
 * signals and its exit status, and removes what it made.
 *
 * The parsing and planning (which files, under which names, and vmm
 * run's command line rewritten to them) are pure, for the unit tests.
 */
#ifndef VMM_JAIL_H
#define VMM_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

#define JAIL_ID_MAX       64
#define JAIL_MAX_FILES    24
#define JAIL_MAX_CGROUPS  8
#define JAIL_DEFAULT_BASE "/srv/vmm"
#define JAIL_EXEC_NAME    "vmm"   /* the binary, in the jail's root */

struct jail_cgroup {
	char file[64];         /* "memory.max", "pids.max", ... */
	char value[128];
};

struct jail_opts {
	char id[JAIL_ID_MAX + 1];
	uid_t uid;
	gid_t gid;
	char base[VMM_PATH_MAX];
	char netns[VMM_PATH_MAX];      /* "" = stay in this one */
	char exec_file[VMM_PATH_MAX];  /* "" = this binary */
	struct jail_cgroup cgroup[JAIL_MAX_CGROUPS];
	unsigned int nr_cgroups;
	int cgroup_version;            /* 0: what the host mounts; 1 or 2 */
	bool keep;                     /* leave <base>/<id> at exit */
	/* vmm run's arguments; run_argv[0] is "run" */
	int run_argc;
	char **run_argv;
};

/* How vmm uses a file of the jail. */
enum jail_mode {
	JAIL_READ,     /* opened read-only */
	JAIL_RDWR,     /* a read-write disk */
	JAIL_WRITE,    /* written: made for vmm if it does not exist */
	JAIL_SOCKET,   /* made by vmm inside the jail */
};

struct jail_file {
	const char *opt;               /* "--disk", for messages */
	char host[VMM_PATH_MAX];       /* as given on the command line */
	char name[256];                /* its name in the jail's root */
	enum jail_mode mode;
};

struct jail_plan {
	struct jail_file file[JAIL_MAX_FILES];
	unsigned int nr_files;
	char **argv;                   /* "vmm", "run", ..., NULL (malloc'ed) */
	int argc;
	bool net;                      /* needs /dev/net/tun */
	bool quiet;                    /* run's -q */
};

enum jail_parse_result { JAIL_OK, JAIL_HELP, JAIL_ERROR };

/* Parse jail's options (argv[0] is "jail"); err holds one line on error. */
enum jail_parse_result jail_parse(int argc, char **argv, struct jail_opts *o,
				  char *err, size_t errlen);

/*
 * Check vmm run's arguments and plan the jail's files: each file they
 * name goes in the root under its base name, and the arguments name it
 * there. 0, or -EINVAL with one line in err. Free with jail_plan_free().
 */
int jail_plan(const struct jail_opts *o, struct jail_plan *p, char *err,
	      size_t errlen) __attribute__((warn_unused_result));
void jail_plan_free(struct jail_plan *p);

/* `vmm jail ...`: the process exit status. */
int jail_main(int argc, char **argv);

#endif
