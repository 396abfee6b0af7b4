// SPDX-License-Identifier: MIT
/*
 * vmm jail (jail.h). In order, as root:
 *
 *   1. check the options and vmm run's arguments; plan the files
 *   2. make <base>/<id>/root; hard-link into it the vmm binary and every
 *      file the arguments name (a bind mount placeholder when the file is
 *      on another filesystem); make the output files vmm writes
 *   3. device nodes: root/dev/kvm, and root/dev/net/tun with --net
 *   4. cgroup directories below the jail's own cgroup, with the limits
 *   5. a new PID namespace: the child, PID 1 there, is moved into the
 *      cgroups, then makes its own mount namespace, joins --netns, binds
 *      the root (and the placeholders), pivot_root()s into it and drops
 *      the old root, drops every capability and becomes --uid/--gid with
 *      no_new_privs, checks it can open its files, and execs /vmm run
 *   6. the parent relays SIGINT/TERM/HUP/QUIT, waits, removes what it
 *      made (the device nodes always, the rest unless --keep) and exits
 *      with vmm's status
 *
 * A failure at any step is one line, and what was made is removed.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "jail.h"
#include "log.h"

const char cli_jail_usage[] =
"usage: vmm jail --id ID --uid UID --gid GID [OPTIONS] -- VMM-RUN-OPTIONS\n"
"\n"
"Run `vmm run VMM-RUN-OPTIONS` confined: BASE/ID/root becomes its root\n"
"directory, holding only the files those options name (hard links, or\n"
"bind mounts from other filesystems), /vmm and the device nodes it\n"
"needs; in new mount and PID namespaces, with no capabilities, as\n"
"UID:GID. Paths in the options are rewritten to the jail's; an API\n"
"socket is made in BASE/ID/root. Needs root and a statically linked vmm\n"
"(make static). Exit status: vmm's.\n"
"\n"
"options:\n"
"      --id ID             the VM's name: letters, digits, '-', '_' (64 at most)\n"
"      --uid UID           the user vmm runs as (a number, not 0)\n"
"      --gid GID           its group (a number, not 0)\n"
"      --base DIR          where jails are made (default: " JAIL_DEFAULT_BASE ")\n"
"      --netns PATH        join this network namespace (e.g. /run/netns/NAME)\n"
"      --cgroup FILE=VALUE set a cgroup limit, e.g. memory.max=512M or\n"
"                          pids.max=64 (repeatable); made below this\n"
"                          process's own cgroup, in .../vmm/ID\n"
"      --cgroup-version 1|2  which hierarchy (default: cgroup v2 when it is\n"
"                          the only one mounted, else v1)\n"
"      --exec-file FILE    the vmm binary to run (default: this one)\n"
"      --keep              leave BASE/ID in place at exit (not the device nodes)\n"
"  -h, --help              show this text\n";

/* --- parsing and planning (pure) ------------------------------------------ */

static int errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	/* 0 is root; (uid_t)-1 means "unchanged" to setresuid() */
	if (errno || *end || *out == 0 || *out >= UINT32_MAX)
		return -EINVAL;
	return 0;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > JAIL_ID_MAX || s[0] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789-_") == n;
}

static int parse_cgroup(const char *s, struct jail_cgroup *c, char *err,
			size_t errlen)
{
	const char *eq = strchr(s, '=');
	size_t n = eq ? (size_t)(eq - s) : 0;

	if (!eq || n == 0 || n >= sizeof(c->file) || !memchr(s, '.', n) ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.") != n ||
	    !strncmp(s, "cgroup.", 7))
		return errf(err, errlen, "--cgroup %s: expected FILE=VALUE with "
			    "a controller's file, like memory.max=512M", s);
	if (!eq[1] || strlen(eq + 1) >= sizeof(c->value) || strchr(eq + 1, '\n'))
		return errf(err, errlen, "--cgroup %s: the value is empty, too "
			    "long or holds a newline", s);
	memcpy(c->file, s, n);
	c->file[n] = 0;
	snprintf(c->value, sizeof(c->value), "%s", eq + 1);
	return 0;
}

enum {
	O_ID = 256, O_UID, O_GID, O_BASE, O_NETNS, O_CGROUP, O_CGROUP_VERSION,
	O_EXEC_FILE, O_KEEP,
};

static const struct option jail_options[] = {
	{ "id", required_argument, NULL, O_ID },
	{ "uid", required_argument, NULL, O_UID },
	{ "gid", required_argument, NULL, O_GID },
	{ "base", required_argument, NULL, O_BASE },
	{ "netns", required_argument, NULL, O_NETNS },
	{ "cgroup", required_argument, NULL, O_CGROUP },
	{ "cgroup-version", required_argument, NULL, O_CGROUP_VERSION },
	{ "exec-file", required_argument, NULL, O_EXEC_FILE },
	{ "keep", no_argument, NULL, O_KEEP },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define COPY_OPT(opt, dst)                                                \
	do {                                                              \
		if (!optarg[0] || strlen(optarg) >= sizeof(dst)) {        \
			errf(err, errlen, "%s: empty or longer than %zu " \
			     "bytes", opt, sizeof(dst) - 1);              \
			return JAIL_ERROR;                                \
		}                                                         \
		memcpy(dst, optarg, strlen(optarg) + 1);                  \
	} while (0)

enum jail_parse_result jail_parse(int argc, char **argv, struct jail_opts *o,
				  char *err, size_t errlen)
{
	bool uid_set = false, gid_set = false;
	unsigned long v;
	int c;

	memset(o, 0, sizeof(*o));
	snprintf(o->base, sizeof(o->base), "%s", JAIL_DEFAULT_BASE);
	optind = 0;
	opterr = 0;
	/* "+": stop at the first argument that is not an option */
	while ((c = getopt_long(argc, argv, "+:h", jail_options, NULL)) != -1) {
		switch (c) {
		case O_ID:
			if (!valid_name(optarg)) {
				errf(err, errlen, "--id %s: use 1 to %d letters, "
				     "digits, '-' and '_' (not first '-')",
				     optarg, JAIL_ID_MAX);
				return JAIL_ERROR;
			}
			snprintf(o->id, sizeof(o->id), "%s", optarg);
			break;
		case O_UID:
		case O_GID:
			if (parse_id(optarg, &v)) {
				errf(err, errlen, "--%s %s: expected a number "
				     "from 1 to %u (not root)", c == O_UID ?
				     "uid" : "gid", optarg, UINT32_MAX - 1);
				return JAIL_ERROR;
			}
			if (c == O_UID) {
				o->uid = (uid_t)v;
				uid_set = true;
			} else {
				o->gid = (gid_t)v;
				gid_set = true;
			}
			break;
		case O_BASE: COPY_OPT("--base", o->base); break;
		case O_NETNS: COPY_OPT("--netns", o->netns); break;
		case O_EXEC_FILE: COPY_OPT("--exec-file", o->exec_file); break;
		case O_CGROUP:
			if (o->nr_cgroups == JAIL_MAX_CGROUPS) {
				errf(err, errlen, "--cgroup: at most %d",
				     JAIL_MAX_CGROUPS);
				return JAIL_ERROR;
			}
			if (parse_cgroup(optarg, &o->cgroup[o->nr_cgroups], err,
					 errlen))
				return JAIL_ERROR;
			o->nr_cgroups++;
			break;
		case O_CGROUP_VERSION:
			if (strcmp(optarg, "1") && strcmp(optarg, "2")) {
				errf(err, errlen, "--cgroup-version %s: expected "
				     "1 or 2", optarg);
				return JAIL_ERROR;
			}
			o->cgroup_version = optarg[0] - '0';
			break;
		case O_KEEP: o->keep = true; break;
		case 'h': return JAIL_HELP;
		case ':':
			errf(err, errlen, "option %s needs a value", argv[optind - 1]);
			return JAIL_ERROR;
		default:
			errf(err, errlen, "unknown option %s (vmm run's options "
			     "go after --; see vmm jail --help)", argv[optind - 1]);
			return JAIL_ERROR;
		}
	}
	if (!o->id[0]) {
		errf(err, errlen, "--id is required (the VM's name)");
		return JAIL_ERROR;
	}
	if (!uid_set || !gid_set) {
		errf(err, errlen, "--%s is required (the %s vmm runs as)",
		     uid_set ? "gid" : "uid", uid_set ? "group" : "user");
		return JAIL_ERROR;
	}
	if (optind < 1 || optind > argc || strcmp(argv[optind - 1], "--")) {
		errf(err, errlen, "expected -- and then vmm run's options "
		     "(see vmm jail --help)");
		return JAIL_ERROR;
	}
	/* vmm run's arguments, with or without the word "run" */
	if (optind < argc && !strcmp(argv[optind], "run"))
		optind++;
	o->run_argv = argv + optind - 1; /* [0] is "--": taken as "run" */
	o->run_argc = argc - optind + 1;
	return JAIL_OK;
}

struct planner {
	struct jail_plan *p;
	char **args;               /* rewritten copies, by argv index */
	char *err;
	size_t errlen;
	int ret;
};

static const char *base_name(const char *path, size_t len, size_t *n)
{
	const char *end = path + len, *s = end;

	while (s > path && s[-1] != '/')
		s--;
	*n = (size_t)(end - s);
	return s;
}

static int plan_path(void *ctx, const struct cli_path_arg *a)
{
	struct planner *pl = ctx;
	struct jail_plan *p = pl->p;
	const char *full = p->argv[a->argi + 1];
	struct jail_file f = { .opt = a->opt };
	size_t n;
	const char *name = base_name(full + a->off, a->len, &n);
	char *re;
	struct vm_disk d;

	if (a->kind == CLI_PATH_CONFIG)
		return errf(pl->err, pl->errlen, "--config-file cannot be used "
			    "in a jail (the files it names would stay outside "
			    "it): give the options on the command line");
	if (a->len >= sizeof(f.host) || n == 0 || n >= sizeof(f.name) ||
	    (n == 1 && name[0] == '.') || (n == 2 && !strncmp(name, "..", 2)))
		return errf(pl->err, pl->errlen, "%s %.*s: not a file name the "
			    "jail can use", a->opt, (int)a->len, full + a->off);
	memcpy(f.host, full + a->off, a->len);
	memcpy(f.name, name, n);
	switch (a->kind) {
	case CLI_PATH_READ: f.mode = JAIL_READ; break;
	case CLI_PATH_WRITE: f.mode = JAIL_WRITE; break;
	case CLI_PATH_SOCKET: f.mode = JAIL_SOCKET; break;
	case CLI_PATH_DISK:
		if (parse_disk(a->value, &d, pl->err, pl->errlen))
			return -EINVAL;
		f.mode = d.read_only ? JAIL_READ : JAIL_RDWR;
		break;
	case CLI_PATH_CONFIG: break;
	}
	if (!strcmp(f.name, JAIL_EXEC_NAME) || !strcmp(f.name, "dev") ||
	    !strcmp(f.name, "old_root"))
		return errf(pl->err, pl->errlen, "%s %s: the jail keeps the name "
			    "'%s' for itself: rename the file", a->opt, f.host,
			    f.name);
	for (unsigned int i = 0; i < p->nr_files; i++) {
		if (strcmp(p->file[i].name, f.name))
			continue;
		if (strcmp(p->file[i].host, f.host) || p->file[i].mode != f.mode)
			return errf(pl->err, pl->errlen, "%s %s and %s %s have "
				    "one name, '%s', in the jail: rename one",
				    p->file[i].opt, p->file[i].host, a->opt,
				    f.host, f.name);
		goto rewrite; /* the same file twice: one link */
	}
	if (p->nr_files == JAIL_MAX_FILES)
		return errf(pl->err, pl->errlen, "too many files for one jail");
	p->file[p->nr_files++] = f;
rewrite:
	/* argv[argi] becomes its prefix, "/NAME", and a disk's options */
	re = malloc(strlen(full) + sizeof(f.name) + 2);
	if (!re)
		return errf(pl->err, pl->errlen, "out of memory");
	sprintf(re, "%.*s/%s%s", (int)a->off, full, f.name,
		full + a->off + a->len);
	free(pl->args[a->argi]);
	pl->args[a->argi] = re;
	return 0;
}

void jail_plan_free(struct jail_plan *p)
{
	/* argv[0] and [1] are literals; the rest copies */
	for (int i = 2; p->argv && i < p->argc; i++)
		free(p->argv[i]);
	free(p->argv);
	p->argv = NULL;
}

int jail_plan(const struct jail_opts *o, struct jail_plan *p, char *err,
	      size_t errlen)
{
	struct planner pl = { .p = p, .err = err, .errlen = errlen };
	struct vm_config cfg;
	unsigned int set;
	char **run;
	int ret;

	memset(p, 0, sizeof(*p));
	run = calloc((size_t)o->run_argc + 1, sizeof(*run));
	if (!run)
		return errf(err, errlen, "out of memory");
	memcpy(run, o->run_argv, (size_t)o->run_argc * sizeof(*run));
	run[0] = (char *)"run";
	switch (cli_parse_run(o->run_argc, run, &cfg, &set, err, errlen)) {
	case CLI_OK:
		break;
	case CLI_HELP:
		free(run);
		return errf(err, errlen, "vmm run's --help is not for a jail");
	case CLI_ERROR:
		free(run);
		return -EINVAL;
	}
	p->net = cfg.nr_nets > 0;
	p->quiet = cfg.quiet;
	/* "vmm", "run", then copies of the rest, rewritten below */
	p->argc = o->run_argc + 1;
	p->argv = calloc((size_t)p->argc + 1, sizeof(*p->argv));
	pl.args = calloc((size_t)o->run_argc + 1, sizeof(*pl.args));
	if (!p->argv || !pl.args) {
		free(run);
		free(pl.args);
		free(p->argv);
		p->argv = NULL;
		return errf(err, errlen, "out of memory");
	}
	p->argv[0] = (char *)JAIL_EXEC_NAME;
	p->argv[1] = (char *)"run";
	for (int i = 1; i < o->run_argc; i++)
		p->argv[i + 1] = o->run_argv[i];
	ret = cli_run_paths(o->run_argc, run, plan_path, &pl);
	free(run);
	for (int i = 1; i < o->run_argc; i++) {
		/* every argument a fresh copy, rewritten or not */
		char *s = pl.args[i] ? pl.args[i] : strdup(o->run_argv[i]);

		p->argv[i + 1] = s;
		if (!s && !ret)
			ret = errf(err, errlen, "out of memory");
	}
	free(pl.args);
	if (ret) {
		if (ret != -EINVAL)
			errf(err, errlen, "cannot read vmm run's options");
		jail_plan_free(p);
		return -EINVAL;
	}
	return 0;
}

/* --- doing it --------------------------------------------------------------- */

struct jail {
	const struct jail_opts *o;
	const struct jail_plan *p;
	char dir[VMM_PATH_MAX];        /* <base>/<id> */
	char root[VMM_PATH_MAX];       /* <base>/<id>/root */
	char made_base[8][VMM_PATH_MAX]; /* directories of <base> we made */
	unsigned int nr_made_base;
	bool made_dir;
	unsigned int made_dev;         /* bits: dev_paths[] made in root */
	char exec_host[VMM_PATH_MAX];  /* the binary, resolved */
	bool exec_bind;
	bool bind[JAIL_MAX_FILES];     /* placeholder: bind-mount file[i] */
	bool created[JAIL_MAX_FILES];  /* an output file made for vmm */
	/* cgroup directories made: leaf (always) and parents (vmm/) */
	char cg[2 * JAIL_MAX_CGROUPS][VMM_PATH_MAX];
	unsigned int nr_cg;
	char cg_join[JAIL_MAX_CGROUPS][VMM_PATH_MAX]; /* leaves to join */
	unsigned int nr_cg_join;
	int netns_fd;
};

static int jfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int jfail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error("jail: %s", msg);
	return err ? -err : -EINVAL;
}

static int path_in(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* mkdir -p for <base>; records what it made, to remove it again. */
static int make_base(struct jail *j, const char *base)
{
	char path[VMM_PATH_MAX];
	size_t len = strlen(base);

	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, base, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != 0)
			continue;
		path[i] = 0;
		if (mkdir(path, 0755) == 0) {
			if (j->nr_made_base < 8)
				snprintf(j->made_base[j->nr_made_base++],
					 VMM_PATH_MAX, "%s", path);
		} else if (errno != EEXIST) {
			return -errno;
		}
		path[i] = i == len ? 0 : '/';
	}
	return 0;
}

/*
 * Remove name under dirfd, whatever it is, never following a symlink
 * (the jail's user could have planted one), at most depth levels down.
 */
static int remove_at(int dirfd, const char *name, int depth)
{
	struct dirent *e;
	DIR *d;
	int fd;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR || depth == 0)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			remove_at(fd, e->d_name, depth - 1);
	closedir(d);
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* The device nodes and their directories, as make_devices() made them. */
static const char *const dev_paths[] = {
	"dev", "dev/kvm", "dev/net", "dev/net/tun",
};
#define DEV_DIR 0
#define DEV_KVM 1
#define DEV_NET 2
#define DEV_TUN 3

/* Remove the nodes made, deepest first: only those, only in the root. */
static void remove_devices(struct jail *j)
{
	char path[VMM_PATH_MAX];

	for (int i = 3; i >= 0; i--) {
		if (!(j->made_dev & (1u << i)) ||
		    path_in(path, sizeof(path), j->root, dev_paths[i]))
			continue;
		if ((i == DEV_DIR || i == DEV_NET) ? rmdir(path) : unlink(path))
			warn("jail: cannot remove %s: %s", path, strerror(errno));
		j->made_dev &= ~(1u << i);
	}
}

/* Remove what the jail made; failed: also the output files made for vmm. */
static void undo(struct jail *j, bool failed)
{
	/* a node for /dev/kvm owned by the jail's user must not outlive it */
	remove_devices(j);
	for (unsigned int i = j->nr_cg; i-- > 0;) {
		/* a cgroup may stay busy a moment after its last task exits */
		for (int t = 0; t < 50 && rmdir(j->cg[i]) < 0 && errno == EBUSY; t++)
			usleep(10000);
	}
	j->nr_cg = 0;
	if (j->made_dir && (failed || !j->o->keep)) {
		int fd = open(j->o->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0 || remove_at(fd, j->o->id, 32) < 0)
			warn("jail: cannot remove %s: %s", j->dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		j->made_dir = false;
		for (unsigned int i = j->nr_made_base; i-- > 0;)
			rmdir(j->made_base[i]);
	}
	for (unsigned int i = 0; failed && i < j->p->nr_files; i++)
		if (j->created[i])
			unlink(j->p->file[i].host);
}

/* Is file statically linked (no program interpreter)? */
static int check_static(const char *file)
{
	Elf64_Ehdr eh;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return jfail("%s: %s", file, strerror(errno));
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr)) {
		close(fd);
		errno = ENOEXEC;
		return jfail("%s: not a 64-bit ELF executable", file);
	}
	for (unsigned int i = 0; i < eh.e_phnum && !ret; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    sizeof(ph)) {
			errno = ENOEXEC;
			ret = jfail("%s: truncated ELF file", file);
		} else if (ph.p_type == PT_INTERP) {
			errno = ENOEXEC;
			ret = jfail("%s is dynamically linked, and the jail holds "
				    "no libraries: use a static build (make "
				    "static: build/vmm-static), or --exec-file",
				    file);
		}
	}
	close(fd);
	return ret;
}

/* A hard link to host at path; on another filesystem, a placeholder. */
static int link_in(const char *host, const char *path, bool *bind)
{
	int fd;

	*bind = false;
	if (linkat(AT_FDCWD, host, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM)
		return -errno;
	/* bind-mounted over it by the child, in its own mount namespace */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	*bind = true;
	return 0;
}

static int make_files(struct jail *j)
{
	const struct jail_plan *p = j->p;
	char path[VMM_PATH_MAX];
	struct stat st;
	int ret;

	for (unsigned int i = 0; i < p->nr_files; i++) {
		const struct jail_file *f = &p->file[i];

		if (f->mode == JAIL_SOCKET)
			continue; /* vmm makes it */
		if (path_in(path, sizeof(path), j->root, f->name))
			return jfail("%s %s: path too long", f->opt, f->host);
		if (f->mode == JAIL_WRITE && lstat(f->host, &st) < 0 &&
		    errno == ENOENT) {
			/* vmm will write it: made now, for --uid */
			int fd = open(f->host, O_WRONLY | O_CREAT | O_EXCL |
				      O_CLOEXEC | O_NOFOLLOW, 0640);

			if (fd < 0)
				return jfail("%s %s: %s", f->opt, f->host,
					     strerror(errno));
			j->created[i] = true;
			if (fchown(fd, j->o->uid, j->o->gid) < 0) {
				close(fd);
				return jfail("%s %s: chown: %s", f->opt, f->host,
					     strerror(errno));
			}
			close(fd);
		}
		if (stat(f->host, &st) < 0)
			return jfail("%s %s: %s", f->opt, f->host, strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return jfail("%s %s: is a directory", f->opt, f->host);
		}
		ret = link_in(f->host, path, &j->bind[i]);
		if (ret) {
			errno = -ret;
			return jfail("%s %s: cannot link it into %s: %s", f->opt,
				     f->host, j->root, strerror(-ret));
		}
	}
	if (path_in(path, sizeof(path), j->root, JAIL_EXEC_NAME))
		return jfail("%s: path too long", j->root);
	ret = link_in(j->exec_host, path, &j->exec_bind);
	if (ret) {
		errno = -ret;
		return jfail("%s: cannot link it into %s: %s", j->exec_host,
			     j->root, strerror(-ret));
	}
	return 0;
}

/* A node for host device dev (e.g. "/dev/kvm") at root/dev_paths[i]. */
static int make_node(struct jail *j, const char *dev, int i)
{
	char path[VMM_PATH_MAX];
	struct stat st;

	if (stat(dev, &st) < 0)
		return jfail("%s: %s", dev, strerror(errno));
	if (!S_ISCHR(st.st_mode)) {
		errno = ENODEV;
		return jfail("%s: not a character device", dev);
	}
	if (path_in(path, sizeof(path), j->root, dev_paths[i]))
		return -ENAMETOOLONG;
	if (mknod(path, S_IFCHR | 0600, st.st_rdev) < 0)
		return jfail("%s: %s", path, strerror(errno));
	j->made_dev |= 1u << i;
	if (chown(path, j->o->uid, j->o->gid) < 0)
		return jfail("%s: %s", path, strerror(errno));
	return 0;
}

static int make_dir(struct jail *j, int i)
{
	char path[VMM_PATH_MAX];

	if (path_in(path, sizeof(path), j->root, dev_paths[i]) ||
	    mkdir(path, 0755) < 0)
		return jfail("%s/%s: %s", j->root, dev_paths[i], strerror(errno));
	j->made_dev |= 1u << i;
	return 0;
}

static int make_devices(struct jail *j)
{
	int ret;

	if ((ret = make_dir(j, DEV_DIR)) || (ret = make_node(j, "/dev/kvm", DEV_KVM)))
		return ret;
	if (!j->p->net)
		return 0;
	if ((ret = make_dir(j, DEV_NET)))
		return ret;
	return make_node(j, "/dev/net/tun", DEV_TUN);
}

/* --- cgroups ---------------------------------------------------------------- */

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : n;
	close(fd);
	return n < 0 ? (int)n : n == (ssize_t)strlen(s) ? 0 : -EIO;
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* Is word one of the comma-separated items of list (which may end in a
 * space or newline)? */
static bool has_item(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *s = list;

	for (;;) {
		size_t len = strcspn(s, ", \n");

		if (len == n && !strncmp(s, word, n))
			return true;
		if (s[len] != ',')
			return false;
		s += len + 1;
	}
}

/* Read a whole /proc file into a new buffer; NULL on failure. */
static char *slurp(const char *path)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - 1 - len)) > 0) {
		len += (size_t)n;
		if (len == cap - 1) {
			char *b = realloc(buf, cap * 2);

			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

/*
 * Where this process's cgroup for controller ctrl is: the hierarchy's
 * mount point plus our path in it. v2: the unified hierarchy (ctrl
 * ignored). 0 or -ENOENT.
 */
static int own_cgroup(int version, const char *ctrl, char *out, size_t size)
{
	char *mounts = slurp("/proc/self/mounts"), *self = slurp("/proc/self/cgroup");
	char mnt[VMM_PATH_MAX] = "", rel[VMM_PATH_MAX] = "", *line, *save = NULL;
	int ret = -ENOENT;

	for (line = mounts ? strtok_r(mounts, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char dev[64], dir[VMM_PATH_MAX], type[32], opts[1024];

		if (sscanf(line, "%63s %4095s %31s %1023s", dev, dir, type,
			   opts) != 4)
			continue;
		if ((version == 2 && !strcmp(type, "cgroup2")) ||
		    (version == 1 && !strcmp(type, "cgroup") &&
		     has_item(opts, ctrl))) {
			snprintf(mnt, sizeof(mnt), "%s", dir);
			break;
		}
	}
	save = NULL;
	for (line = self ? strtok_r(self, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c2 = 0;
		if ((version == 2 && c1[1] == 0) ||
		    (version == 1 && c1[1] && has_item(c1 + 1, ctrl))) {
			snprintf(rel, sizeof(rel), "%s", c2 + 1);
			break;
		}
	}
	free(mounts);
	free(self);
	if (mnt[0] && rel[0])
		ret = snprintf(out, size, "%s%s", mnt, strcmp(rel, "/") ? rel : "")
		      >= (int)size ? -ENAMETOOLONG : 0;
	return ret;
}

static int cg_mkdir(struct jail *j, const char *path)
{
	if (mkdir(path, 0755) == 0) {
		if (j->nr_cg < 2 * JAIL_MAX_CGROUPS)
			snprintf(j->cg[j->nr_cg++], VMM_PATH_MAX, "%s", path);
		return 0;
	}
	return errno == EEXIST ? 0 : -errno;
}

/* cgroup v1's cpuset takes no task until it has CPUs and memory nodes. */
static void cpuset_inherit(const char *parent, const char *dir)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char from[VMM_PATH_MAX + 16], to[VMM_PATH_MAX + 16], v[1024], cur[1024];

	for (int i = 0; i < 2; i++) {
		snprintf(from, sizeof(from), "%s/%s", parent, files[i]);
		snprintf(to, sizeof(to), "%s/%s", dir, files[i]);
		if (!read_file(to, cur, sizeof(cur)) && cur[0] != '\n' && cur[0])
			continue;
		if (!read_file(from, v, sizeof(v)))
			write_file(to, v);
	}
}

/* The host's default: v2 when only the unified hierarchy is mounted. */
static int cgroup_version(const struct jail_opts *o)
{
	char *mounts;
	int v;

	if (o->cgroup_version)
		return o->cgroup_version;
	mounts = slurp("/proc/self/mounts");
	v = mounts && strstr(mounts, " cgroup ") ? 1 : 2;
	free(mounts);
	return v;
}

static int make_cgroups(struct jail *j)
{
	const struct jail_opts *o = j->o;
	int version = cgroup_version(o);
	char own[VMM_PATH_MAX], parent[VMM_PATH_MAX + 8], leaf[VMM_PATH_MAX];
	char file[2 * VMM_PATH_MAX], ctrl[64], ctl[80];
	int ret;

	for (unsigned int i = 0; i < o->nr_cgroups; i++) {
		const struct jail_cgroup *c = &o->cgroup[i];
		bool seen = false;

		snprintf(ctrl, sizeof(ctrl), "%.*s",
			 (int)strcspn(c->file, "."), c->file);
		if (own_cgroup(version, ctrl, own, sizeof(own))) {
			errno = ENOENT;
			return jfail("--cgroup %s=%s: no cgroup v%d hierarchy with "
				     "the %s controller is mounted here%s", c->file,
				     c->value, version, ctrl, version == 1 ? "" :
				     " (try --cgroup-version 1)");
		}
		snprintf(parent, sizeof(parent), "%s/vmm", own);
		if (snprintf(leaf, sizeof(leaf), "%s/%s", parent, o->id) >=
		    (int)sizeof(leaf))
			return -ENAMETOOLONG;
		if (version == 2) {
			/* the controller must be handed down to vmm/ and vmm/ID */
			snprintf(ctl, sizeof(ctl), "+%s", ctrl);
			snprintf(file, sizeof(file), "%s/cgroup.subtree_control", own);
			if ((ret = write_file(file, ctl))) {
				errno = -ret;
				return jfail("--cgroup %s: cannot enable the %s "
					     "controller in %s: %s", c->file, ctrl,
					     file, strerror(-ret));
			}
		}
		if ((ret = cg_mkdir(j, parent)) || (ret = cg_mkdir(j, leaf))) {
			errno = -ret;
			return jfail("--cgroup %s: cannot make %s: %s", c->file,
				     leaf, strerror(-ret));
		}
		if (version == 2) {
			snprintf(file, sizeof(file), "%s/cgroup.subtree_control",
				 parent);
			if ((ret = write_file(file, ctl))) {
				errno = -ret;
				return jfail("--cgroup %s: cannot enable the %s "
					     "controller in %s: %s", c->file, ctrl,
					     file, strerror(-ret));
			}
		} else if (!strcmp(ctrl, "cpuset")) {
			cpuset_inherit(own, parent);
			cpuset_inherit(parent, leaf);
		}
		snprintf(file, sizeof(file), "%s/%s", leaf, c->file);
		if ((ret = write_file(file, c->value))) {
			errno = -ret;
			return jfail("--cgroup %s=%s: %s: %s", c->file, c->value,
				     file, strerror(-ret));
		}
		for (unsigned int k = 0; k < j->nr_cg_join; k++)
			seen |= !strcmp(j->cg_join[k], leaf);
		if (!seen)
			snprintf(j->cg_join[j->nr_cg_join++], VMM_PATH_MAX, "%s",
				 leaf);
	}
	return 0;
}

static int join_cgroups(struct jail *j, pid_t pid)
{
	char file[VMM_PATH_MAX + 16], s[24];
	int ret;

	snprintf(s, sizeof(s), "%d", (int)pid);
	for (unsigned int i = 0; i < j->nr_cg_join; i++) {
		snprintf(file, sizeof(file), "%s/cgroup.procs", j->cg_join[i]);
		if ((ret = write_file(file, s))) {
			errno = -ret;
			return jfail("cannot move vmm into %s: %s", j->cg_join[i],
				     strerror(-ret));
		}
	}
	return 0;
}

/* --- the child: into the jail, then vmm run ------------------------------------ */

/* Tell the parent why, and end: exec did not happen. */
static void __attribute__((noreturn, format(printf, 2, 3)))
child_fail(int err_fd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0 && write(err_fd, msg, (size_t)n < sizeof(msg) ? (size_t)n :
			   sizeof(msg) - 1) < 0) {
		/* the parent sees the exit status */
	}
	_exit(1);
}

static void drop_privileges(const struct jail_opts *o, int err_fd)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	uid_t r, e, s;

	/* the bounding set first: dropping it needs CAP_SETPCAP */
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break; /* past the last capability this kernel knows */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (setgroups(0, NULL) < 0)
		child_fail(err_fd, "setgroups: %s", strerror(errno));
	if (setresgid(o->gid, o->gid, o->gid) < 0)
		child_fail(err_fd, "--gid %u: %s", (unsigned int)o->gid,
			   strerror(errno));
	if (setresuid(o->uid, o->uid, o->uid) < 0)
		child_fail(err_fd, "--uid %u: %s", (unsigned int)o->uid,
			   strerror(errno));
	/* a uid change clears the effective and permitted sets, not this */
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		child_fail(err_fd, "capset: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(err_fd, "no_new_privs: %s", strerror(errno));
	/* and check: nothing left, no way back */
	if (syscall(SYS_capget, &h, d) < 0 || d[0].effective || d[0].permitted ||
	    d[0].inheritable || d[1].effective || d[1].permitted ||
	    d[1].inheritable || getresuid(&r, &e, &s) < 0 || r != o->uid ||
	    e != o->uid || s != o->uid || setuid(0) == 0)
		child_fail(err_fd, "capabilities or ids were not dropped");
}

/* Can --uid open its files as vmm will? Say so in the user's terms. */
static void check_access(const struct jail_plan *p, int err_fd)
{
	for (unsigned int i = 0; i < p->nr_files; i++) {
		const struct jail_file *f = &p->file[i];
		char path[sizeof(f->name) + 1];
		int flags, fd;

		if (f->mode == JAIL_SOCKET)
			continue;
		flags = f->mode == JAIL_READ ? O_RDONLY : f->mode == JAIL_RDWR ?
			O_RDWR : O_WRONLY | O_APPEND;
		snprintf(path, sizeof(path), "/%s", f->name);
		/* O_NONBLOCK: a FIFO must not block here either */
		fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 && errno != ENXIO)
			child_fail(err_fd, "%s %s (%s in the jail): %s for its "
				   "user: %s", f->opt, f->host, path,
				   f->mode == JAIL_READ ? "not readable" :
				   "not writable", strerror(errno));
		if (fd >= 0)
			close(fd);
	}
}

static void __attribute__((noreturn))
child(struct jail *j, int go_fd, int err_fd, const sigset_t *mask)
{
	const struct jail_plan *p = j->p;
	char *const envp[] = { NULL };
	char path[VMM_PATH_MAX];
	char go;

	/* the parent has put this process in its cgroups */
	if (read(go_fd, &go, 1) != 1)
		_exit(1);
	close(go_fd);
	if (unshare(CLONE_NEWNS) < 0)
		child_fail(err_fd, "new mount namespace: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(err_fd, "private mounts: %s", strerror(errno));
	if (j->netns_fd >= 0 && setns(j->netns_fd, CLONE_NEWNET) < 0)
		child_fail(err_fd, "--netns %s: %s", j->o->netns, strerror(errno));
	/*
	 * The root becomes a mount of its own (pivot_root needs one), which
	 * allows device nodes and executables even where <base> does not.
	 */
	if (mount(j->root, j->root, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, j->root, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID, NULL) < 0)
		child_fail(err_fd, "bind %s: %s", j->root, strerror(errno));
	for (unsigned int i = 0; i <= p->nr_files; i++) {
		bool last = i == p->nr_files;
		const char *host = last ? j->exec_host : p->file[i].host;
		const char *name = last ? JAIL_EXEC_NAME : p->file[i].name;

		if (!(last ? j->exec_bind : j->bind[i]))
			continue;
		if (path_in(path, sizeof(path), j->root, name) ||
		    mount(host, path, NULL, MS_BIND, NULL) < 0)
			child_fail(err_fd, "bind %s at %s: %s", host, path,
				   strerror(errno));
		if (!last && p->file[i].mode == JAIL_READ &&
		    mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
			  MS_NOSUID, NULL) < 0)
			child_fail(err_fd, "make %s read-only: %s", path,
				   strerror(errno));
	}
	if (chdir(j->root) < 0 || mkdir("old_root", 0700) < 0 ||
	    syscall(SYS_pivot_root, ".", "old_root") < 0 || chdir("/") < 0 ||
	    umount2("/old_root", MNT_DETACH) < 0 || rmdir("/old_root") < 0)
		child_fail(err_fd, "pivot_root into %s: %s", j->root,
			   strerror(errno));
	drop_privileges(j->o, err_fd);
	check_access(p, err_fd);
	/* a jail whose parent died must not run on unwatched */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* nothing of the caller's but stdin, stdout and stderr */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (int fd = 3; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execve("/" JAIL_EXEC_NAME, p->argv, envp);
	child_fail(err_fd, "exec /%s in the jail: %s", JAIL_EXEC_NAME,
		   strerror(errno));
}

/* --- the parent ---------------------------------------------------------------- */

static int prepare(struct jail *j)
{
	const struct jail_opts *o = j->o;
	char self[VMM_PATH_MAX];
	ssize_t n;
	int ret;

	if (geteuid() != 0) {
		errno = EPERM;
		return jfail("needs root (namespaces, device nodes, and the "
			     "switch to --uid)");
	}
	if (o->exec_file[0]) {
		if (!realpath(o->exec_file, j->exec_host))
			return jfail("--exec-file %s: %s", o->exec_file,
				     strerror(errno));
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0)
			return jfail("/proc/self/exe: %s", strerror(errno));
		self[n] = 0;
		snprintf(j->exec_host, sizeof(j->exec_host), "%s", self);
	}
	if ((ret = check_static(j->exec_host)))
		return ret;
	if (o->netns[0]) {
		j->netns_fd = open(o->netns, O_RDONLY | O_CLOEXEC);
		if (j->netns_fd < 0)
			return jfail("--netns %s: %s", o->netns, strerror(errno));
		if (ioctl(j->netns_fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
			errno = EINVAL;
			return jfail("--netns %s: not a network namespace",
				     o->netns);
		}
	}
	if (snprintf(j->dir, sizeof(j->dir), "%s/%s", o->base, o->id) >=
	    (int)sizeof(j->dir) - 8 ||
	    path_in(j->root, sizeof(j->root), j->dir, "root"))
		return jfail("--base %s: path too long", o->base);
	if ((ret = make_base(j, o->base))) {
		errno = -ret;
		return jfail("--base %s: %s", o->base, strerror(-ret));
	}
	if (mkdir(j->dir, 0755) < 0) {
		if (errno == EEXIST)
			return jfail("%s exists: a VM with id %s runs, or its jail "
				     "was left behind (remove it)", j->dir, o->id);
		return jfail("cannot make %s: %s", j->dir, strerror(errno));
	}
	j->made_dir = true;
	if (mkdir(j->root, 0700) < 0)
		return jfail("cannot make %s: %s", j->root, strerror(errno));
	if ((ret = make_files(j)) || (ret = make_devices(j)) ||
	    (ret = make_cgroups(j)))
		return ret;
	/* vmm makes its API socket in its root */
	if (chown(j->root, o->uid, o->gid) < 0)
		return jfail("chown %s: %s", j->root, strerror(errno));
	return 0;
}

static int status_of(int ws)
{
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Run the child in a new PID namespace; returns its exit status. */
static int spawn(struct jail *j, bool *ran)
{
	static const int relay[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	char msg[1024], pidfile[VMM_PATH_MAX + 8], s[24];
	int go[2], errp[2], ws = 0;
	sigset_t wait_set, old, child_mask;
	ssize_t n;
	pid_t pid;

	*ran = false;
	sigemptyset(&wait_set);
	for (size_t i = 0; i < sizeof(relay) / sizeof(relay[0]); i++)
		sigaddset(&wait_set, relay[i]);
	sigaddset(&wait_set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &wait_set, &old);
	/*
	 * vmm keeps SIGINT/TERM/HUP blocked from the start: as PID 1 of its
	 * namespace it would drop them until it blocks them itself.
	 */
	child_mask = old;
	sigaddset(&child_mask, SIGINT);
	sigaddset(&child_mask, SIGTERM);
	sigaddset(&child_mask, SIGHUP);
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
		return jfail("pipe: %s", strerror(errno));
	if (unshare(CLONE_NEWPID) < 0)
		return jfail("new PID namespace: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return jfail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(go[1]);
		close(errp[0]);
		child(j, go[0], errp[1], &child_mask);
	}
	close(go[0]);
	close(errp[1]);
	if (join_cgroups(j, pid)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	snprintf(pidfile, sizeof(pidfile), "%s/pid", j->dir);
	snprintf(s, sizeof(s), "%d\n", (int)pid);
	{
		int fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0644);

		if (fd >= 0) {
			if (write(fd, s, strlen(s)) < 0)
				debug("jail: %s: %s", pidfile, strerror(errno));
			close(fd);
		}
	}
	if (write(go[1], "g", 1) != 1)
		debug("jail: cannot start the child: %s", strerror(errno));
	close(go[1]);
	/* exec closes the pipe; a message means it never got there */
	while ((n = read(errp[0], msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
		;
	close(errp[0]);
	if (n > 0) {
		msg[n] = 0;
		waitpid(pid, NULL, 0);
		errno = EPERM;
		return jfail("%s", msg);
	}
	*ran = true;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&wait_set, &si);

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(pid, sig);
			continue;
		}
		if (waitpid(pid, &ws, WNOHANG) == pid)
			break;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status_of(ws);
}

int jail_main(int argc, char **argv)
{
	struct jail_opts o;
	struct jail_plan p;
	struct jail j;
	char err[512];
	bool ran;
	int status;

	switch (jail_parse(argc, argv, &o, err, sizeof(err))) {
	case JAIL_HELP:
		fputs(cli_jail_usage, stdout);
		return 0;
	case JAIL_ERROR:
		error("jail: %s", err);
		return 1;
	case JAIL_OK:
		break;
	}
	if (jail_plan(&o, &p, err, sizeof(err))) {
		error("jail: %s", err);
		return 1;
	}
	memset(&j, 0, sizeof(j));
	j.o = &o;
	j.p = &p;
	j.netns_fd = -1;
	if (prepare(&j)) {
		undo(&j, true);
		status = 1;
	} else {
		for (unsigned int i = 0; !p.quiet && i < p.nr_files; i++)
			if (p.file[i].mode == JAIL_SOCKET)
				info("jail %s: the API socket is %s/%s", o.id,
				     j.root, p.file[i].name);
		status = spawn(&j, &ran);
		if (status < 0)
			status = 1;
		undo(&j, !ran);
	}
	if (j.netns_fd >= 0)
		close(j.netns_fd);
	jail_plan_free(&p);
	return status;
}
