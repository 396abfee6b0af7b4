// SPDX-License-Identifier: MIT
/*
 * vmm jail's options and its plan: which files go into the jail under
 * which names, and vmm run's command line rewritten to name them there,
 * whichever way each option was written. (The jail itself, as root with
 * namespaces, is tests/vm/jail.sh.)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../vmm/jail.h"
#include "unit.h"

static char err[512];

/* A mutable, NULL-ended argv over the literals of args (getopt permutes). */
static int mkargv(const char *const *args, char **argv, int max)
{
	int argc = 0;

	while (args[argc] && argc < max - 1) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	return argc;
}

#define ARGV(...) \
	static const char *const args_[] = { __VA_ARGS__, NULL }; \
	char *argv[64]; \
	int argc = mkargv(args_, argv, 64)

static enum jail_parse_result parse(int argc, char **argv, struct jail_opts *o)
{
	err[0] = 0;
	return jail_parse(argc, argv, o, err, sizeof(err));
}

static int plan(char **argv, int argc, struct jail_plan *p)
{
	struct jail_opts o;

	if (parse(argc, argv, &o) != JAIL_OK)
		return -1;
	return jail_plan(&o, p, err, sizeof(err));
}

/* The file named name in p, or NULL. */
static const struct jail_file *file(const struct jail_plan *p, const char *name)
{
	for (unsigned int i = 0; i < p->nr_files; i++)
		if (!strcmp(p->file[i].name, name))
			return &p->file[i];
	return NULL;
}

TEST(options)
{
	ARGV("jail", "--id", "vm-1_a", "--uid", "1000", "--gid",
			 "1001", "--base", "/var/jails", "--netns",
			 "/run/netns/x", "--cgroup", "memory.max=256M",
			 "--cgroup", "pids.max=64", "--cgroup-version", "2",
			 "--keep", "--", "run", "-k", "k");
	struct jail_opts o;

	CHECK_EQ(parse(argc, argv, &o), JAIL_OK);
	CHECK(!strcmp(o.id, "vm-1_a"));
	CHECK_EQ(o.uid, 1000);
	CHECK_EQ(o.gid, 1001);
	CHECK(!strcmp(o.base, "/var/jails"));
	CHECK(!strcmp(o.netns, "/run/netns/x"));
	CHECK_EQ(o.nr_cgroups, 2);
	CHECK(!strcmp(o.cgroup[0].file, "memory.max"));
	CHECK(!strcmp(o.cgroup[0].value, "256M"));
	CHECK(!strcmp(o.cgroup[1].file, "pids.max"));
	CHECK_EQ(o.cgroup_version, 2);
	CHECK(o.keep);
	/* "run" after -- is optional: the same arguments either way */
	CHECK_EQ(o.run_argc, 3);
	CHECK(!strcmp(o.run_argv[1], "-k") && !strcmp(o.run_argv[2], "k"));
}

TEST(defaults)
{
	ARGV("jail", "--id", "a", "--uid", "7", "--gid", "8", "--",
			 "-k", "k");
	struct jail_opts o;

	CHECK_EQ(parse(argc, argv, &o), JAIL_OK);
	CHECK(!strcmp(o.base, JAIL_DEFAULT_BASE));
	CHECK(!o.netns[0] && !o.exec_file[0] && !o.keep);
	CHECK_EQ(o.nr_cgroups, 0);
	CHECK_EQ(o.cgroup_version, 0);
	CHECK_EQ(o.run_argc, 3);
}

TEST(option_errors)
{
	static const struct { const char *args[12]; const char *why; } bad[] = {
		{ { "--uid", "1", "--gid", "1", "--", "-k", "k" }, "--id is required" },
		{ { "--id", "a", "--gid", "1", "--", "-k", "k" }, "--uid is required" },
		{ { "--id", "a", "--uid", "1", "--", "-k", "k" }, "--gid is required" },
		{ { "--id", "a", "--uid", "0", "--gid", "1", "--" }, "--uid 0: expected" },
		{ { "--id", "a", "--uid", "x", "--gid", "1", "--" }, "--uid x: expected" },
		{ { "--id", "a", "--uid", "1", "--gid", "-3", "--" }, "--gid -3: expected" },
		{ { "--id", "a/b", "--uid", "1", "--gid", "1", "--" }, "--id a/b: use" },
		{ { "--id", "-a", "--uid", "1", "--gid", "1", "--" }, "--id -a: use" },
		{ { "--id", "a", "--uid", "1", "--gid", "1", "-k", "k" },
		  "unknown option -k (vmm run's options go after --" },
		{ { "--id", "a", "--uid", "1", "--gid", "1", "run", "-k", "k" },
		  "expected -- and then" },
		{ { "--id", "a", "--uid", "1", "--gid", "1" }, "expected -- and then" },
		{ { "--id", "a", "--uid", "1", "--gid", "1", "--cgroup", "memory" },
		  "--cgroup memory: expected FILE=VALUE" },
		{ { "--id", "a", "--uid", "1", "--gid", "1", "--cgroup",
		    "../x.max=1" }, "expected FILE=VALUE" },
		{ { "--id", "a", "--uid", "1", "--gid", "1", "--cgroup",
		    "cgroup.procs=1" }, "expected FILE=VALUE" },
		{ { "--id", "a", "--uid", "1", "--gid", "1", "--cgroup",
		    "pids.max=" }, "the value is empty" },
		{ { "--id", "a", "--uid", "1", "--gid", "1", "--cgroup-version",
		    "3" }, "--cgroup-version 3: expected 1 or 2" },
		{ { "--id", "a", "--uid", "1", "--gid", "1", "--bogus" },
		  "unknown option --bogus" },
		{ { "--id" }, "option --id needs a value" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[14] = { NULL };
		struct jail_opts o;
		int argc = 1;

		argv[0] = (char *)"jail";
		while (bad[i].args[argc - 1]) {
			argv[argc] = (char *)bad[i].args[argc - 1];
			argc++;
		}
		if (parse(argc, argv, &o) != JAIL_ERROR || !strstr(err, bad[i].why)) {
			printf("  case %zu: '%s', expected '%s'\n", i, err,
			       bad[i].why);
			CHECK(0);
		}
	}
}

TEST(help)
{
	ARGV("jail", "--help");
	struct jail_opts o;

	CHECK_EQ(parse(argc, argv, &o), JAIL_HELP);
}

TEST(rewrites_every_form)
{
	ARGV("jail", "--id", "a", "--uid", "5", "--gid", "5", "--",
			 "-k/boot/vmlinuz", "-i", "/boot/initrd.img",
			 "--disk=/img/root.img,id=root", "--disk",
			 "data/extra.img,ro", "--serial-log", "/var/log/s.log",
			 "--metrics-path=m.json", "--api-sock", "/run/v.sock",
			 "--seccomp-filter", "/etc/vmm/filter.json", "-m",
			 "64M", "--net", "tap=tap0");
	static const char *const want[] = {
		"vmm", "run", "-k/vmlinuz", "-i", "/initrd.img",
		"--disk=/root.img,id=root", "--disk", "/extra.img,ro",
		"--serial-log", "/s.log", "--metrics-path=/m.json",
		"--api-sock", "/v.sock", "--seccomp-filter", "/filter.json",
		"-m", "64M", "--net", "tap=tap0",
	};
	struct jail_plan p;
	const struct jail_file *f;

	CHECK(plan(argv, argc, &p) == 0);
	CHECK_EQ(p.argc, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < p.argc; i++)
		CHECK(!strcmp(p.argv[i], want[i]));
	CHECK(p.argv[p.argc] == NULL);
	CHECK_EQ(p.nr_files, 8);
	CHECK((f = file(&p, "vmlinuz")) && f->mode == JAIL_READ &&
	      !strcmp(f->host, "/boot/vmlinuz"));
	CHECK((f = file(&p, "root.img")) && f->mode == JAIL_RDWR &&
	      !strcmp(f->host, "/img/root.img"));
	CHECK((f = file(&p, "extra.img")) && f->mode == JAIL_READ &&
	      !strcmp(f->host, "data/extra.img") && !strcmp(f->opt, "--disk"));
	CHECK((f = file(&p, "s.log")) && f->mode == JAIL_WRITE);
	CHECK((f = file(&p, "m.json")) && f->mode == JAIL_WRITE &&
	      !strcmp(f->host, "m.json"));
	CHECK((f = file(&p, "v.sock")) && f->mode == JAIL_SOCKET);
	CHECK((f = file(&p, "filter.json")) && f->mode == JAIL_READ);
	CHECK(p.net);
	CHECK(!p.quiet);
	jail_plan_free(&p);
}

TEST(same_file_twice_is_one_link)
{
	ARGV("jail", "--id", "a", "--uid", "5", "--gid", "5", "--",
			 "-q", "-k", "/x/k", "--initrd", "/x/k");
	struct jail_plan p;

	CHECK(plan(argv, argc, &p) == 0);
	CHECK_EQ(p.nr_files, 1);
	CHECK(!strcmp(p.argv[4], "/k") && !strcmp(p.argv[6], "/k"));
	CHECK(p.quiet && !p.net);
	jail_plan_free(&p);
}

TEST(plan_refusals)
{
	static const struct { const char *args[8]; const char *why; } bad[] = {
		{ { "-k", "/a/k", "--initrd", "/b/k" },
		  "--kernel /a/k and --initrd /b/k have one name, 'k'" },
		{ { "-k", "/a/k", "--disk", "/a/k" }, "have one name" },
		{ { "-k", "/a/vmm" }, "keeps the name 'vmm'" },
		{ { "-k", "/a/dev" }, "keeps the name 'dev'" },
		{ { "-k", "/a/" }, "not a file name the jail can use" },
		{ { "-k", "/a/.." }, "not a file name the jail can use" },
		{ { "--config-file", "/etc/vm.json" }, "--config-file cannot be used" },
		{ { "-k", "k", "--frob" }, "unknown option --frob" },
		{ { "--mem", "1" }, "no kernel given" },
		{ { "-k", "k", "--help" }, "--help is not for a jail" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		static const char *const head[] = { "jail", "--id", "a", "--uid",
						    "5", "--gid", "5", "--", NULL };
		char *argv[20];
		struct jail_plan p;
		int argc = mkargv(head, argv, 20);

		for (int k = 0; bad[i].args[k]; k++)
			argv[argc++] = (char *)bad[i].args[k];
		if (plan(argv, argc, &p) != -EINVAL || !strstr(err, bad[i].why)) {
			printf("  case %zu: '%s', expected '%s'\n", i, err,
			       bad[i].why);
			CHECK(0);
		}
	}
}

UNIT_MAIN("jail", T(options), T(defaults), T(option_errors), T(help),
	  T(rewrites_every_form), T(same_file_twice_is_one_link),
	  T(plan_refusals))
