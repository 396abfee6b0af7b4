// SPDX-License-Identifier: MIT
/*
 * `vmm run` option parsing: parse_size() and cli_parse_run() (defaults,
 * long and short options, every rejection and what its message names).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "../../vmm/cli.h"
#include "unit.h"

#define MIB (1ULL << 20)

/*
 * Run cli_parse_run() on a NULL-terminated list of arguments (argv[0]
 * included). getopt permutes argv, so each call gets a fresh array.
 */
/* which fields the last parse said the command line set */
static unsigned int last_set;

static enum cli_result parse_list(struct vm_config *cfg, char *err,
				  size_t errlen, const char *const *args)
{
	char *argv[64];
	int argc = 0;

	while (args[argc] && argc < 63) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	memset(err, 0, errlen);
	return cli_parse_run(argc, argv, cfg, &last_set, err, errlen);
}

#define PARSE(...) \
	parse_list(&cfg, err, sizeof(err), (const char *const[]){ __VA_ARGS__, NULL })

/* err names what is wrong */
static int says(const char *err, const char *what)
{
	return err[0] && strlen(err) < 256 && strstr(err, what) != NULL;
}

/* ---- parse_size ---- */

TEST(size_suffixes)
{
	static const struct { const char *s; uint64_t v; } ok[] = {
		{ "256M", 256 * MIB },
		{ "256m", 256 * MIB },
		{ "1G", 1ULL << 30 },
		{ "1g", 1ULL << 30 },
		{ "1GiB", 1ULL << 30 },
		{ "1GB", 1ULL << 30 },
		{ "3MiB", 3 * MIB },
		{ "512", 512 * MIB },          /* a bare number is MiB */
		{ "1", 1 * MIB },
		{ "4096K", 4 * MIB },
		{ "4096k", 4 * MIB },
		{ "1KiB", 1024 },
		{ "1T", 1ULL << 40 },
		{ "2t", 2ULL << 40 },
		{ "007M", 7 * MIB },           /* decimal, not octal */
		{ "017", 17 * MIB },
	};

	for (unsigned int i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t v = 12345;
		int r = parse_size(ok[i].s, &v);

		if (r != 0 || v != ok[i].v) {
			*unit_failed = 1;
			snprintf(unit_why, sizeof(unit_why),
				 "parse_size(\"%s\") = %d, %llu", ok[i].s, r,
				 (unsigned long long)v);
			return;
		}
	}
}

TEST(size_garbage)
{
	static const char *const bad[] = {
		"", "M", "G", "garbage", "1Gx", "1GiBx",
		"1Gi", "1iB", "1MM", " 1G", "1G ", "-1", "+1",
		"-0", "1.5G", "0x10", "1e3", "1 G", "1P", "1,5",
	};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 12345;
		int r = parse_size(bad[i], &v);

		if (r != -EINVAL || v != 12345) {
			*unit_failed = 1;
			snprintf(unit_why, sizeof(unit_why),
				 "parse_size(\"%s\") = %d, %llu (want -EINVAL, untouched)",
				 bad[i], r, (unsigned long long)v);
			return;
		}
	}
	CHECK_EQ(parse_size(NULL, &(uint64_t){ 0 }), -EINVAL);
}

TEST(size_zero)
{
	static const char *const zero[] = { "0", "00", "0K", "0G", "0MiB", "0T" };

	for (unsigned int i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		uint64_t v = 12345;
		int r = parse_size(zero[i], &v);

		if (r != -EDOM || v != 12345) {
			*unit_failed = 1;
			snprintf(unit_why, sizeof(unit_why),
				 "parse_size(\"%s\") = %d, %llu (want -EDOM, untouched)",
				 zero[i], r, (unsigned long long)v);
			return;
		}
	}
	/* zero with junk after it is garbage, not zero */
	CHECK_EQ(parse_size("0x", &(uint64_t){ 0 }), -EINVAL);
}

TEST(size_overflow)
{
	static const char *const big[] = {
		"99999999999999999999",          /* beyond strtoull */
		"99999999999999999999G",
		"18446744073709551615G",         /* UINT64_MAX GiB */
		"18446744073709551616K",         /* 2^64 K */
		"17592186044416",                /* 2^44 MiB = 2^64 */
		"16777216T",                     /* 2^24 TiB = 2^64 */
	};
	uint64_t v;

	for (unsigned int i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		int r;

		v = 12345;
		r = parse_size(big[i], &v);
		if (r != -ERANGE || v != 12345) {
			*unit_failed = 1;
			snprintf(unit_why, sizeof(unit_why),
				 "parse_size(\"%s\") = %d, %llu (want -ERANGE, untouched)",
				 big[i], r, (unsigned long long)v);
			return;
		}
	}
	/* the largest values that fit, for every shift */
	CHECK_EQ(parse_size("17592186044415", &v), 0);
	CHECK(v == 0xfffffffffff00000ULL);
	CHECK_EQ(parse_size("16777215T", &v), 0);
	CHECK(v == 0xffffff0000000000ULL);
	CHECK_EQ(parse_size("17179869183G", &v), 0);
	CHECK(v == 0xffffffffc0000000ULL);
	CHECK_EQ(parse_size("17179869184G", &v), -ERANGE);
	CHECK_EQ(parse_size("18014398509481983K", &v), 0);
	CHECK(v == 0xfffffffffffffc00ULL);
	CHECK_EQ(parse_size("18014398509481984K", &v), -ERANGE);
	CHECK_EQ(parse_size("4398046511104K", &v), 0);
	CHECK(v == 1ULL << 52);
}

/* ---- cli_parse_run ---- */

TEST(run_defaults)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-k", "vmlinux"), CLI_OK);
	CHECK(!strcmp(cfg.kernel, "vmlinux"));
	CHECK_EQ(cfg.mem_size, 256 * MIB);
	CHECK_EQ(cfg.mem_size, VMM_DEFAULT_MEM);
	CHECK_EQ(cfg.cpus, 1);
	CHECK(!strcmp(cfg.cmdline, VMM_DEFAULT_CMDLINE));
	CHECK(!strcmp(cfg.cmdline, "console=ttyS0 reboot=k panic=-1"));
	CHECK(cfg.initrd[0] == 0);
	CHECK(cfg.serial_log[0] == 0);
	CHECK_EQ(cfg.console, CONSOLE_STDIO);
	CHECK(!cfg.quiet);
	CHECK_EQ(cfg.verbose, 0);
	CHECK(!cfg.pit); /* no in-kernel PIT unless asked for */
}

TEST(run_pit)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-k", "vmlinux", "--pit"), CLI_OK);
	CHECK(cfg.pit);
	CHECK_EQ(PARSE("run", "-k", "vmlinux", "--pit=1"), CLI_ERROR);
}

TEST(run_virtio_transport)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-k", "vmlinux"), CLI_OK);
	CHECK_EQ(cfg.virtio, VIRTIO_TRANSPORT_MMIO);
	CHECK_EQ(PARSE("run", "-k", "vmlinux", "--virtio", "pci"), CLI_OK);
	CHECK_EQ(cfg.virtio, VIRTIO_TRANSPORT_PCI);
	CHECK_EQ(PARSE("run", "-k", "vmlinux", "--virtio", "mmio"), CLI_OK);
	CHECK_EQ(cfg.virtio, VIRTIO_TRANSPORT_MMIO);
	CHECK_EQ(PARSE("run", "-k", "vmlinux", "--virtio", "isa"), CLI_ERROR);
	CHECK(strstr(err, "expected mmio or pci") != NULL);
}

TEST(run_long_options)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "--kernel", "bzImage", "--initrd", "initrd.img",
		       "--cmdline", "console=ttyS0 quiet", "--mem", "1G",
		       "--cpus", "4", "--console", "none", "--serial-log",
		       "out.log", "--quiet", "--verbose"), CLI_OK);
	CHECK(!strcmp(cfg.kernel, "bzImage"));
	CHECK(!strcmp(cfg.initrd, "initrd.img"));
	CHECK(!strcmp(cfg.cmdline, "console=ttyS0 quiet"));
	CHECK_EQ(cfg.mem_size, 1ULL << 30);
	CHECK_EQ(cfg.cpus, 4);
	CHECK_EQ(cfg.console, CONSOLE_NONE);
	CHECK(!strcmp(cfg.serial_log, "out.log"));
	CHECK(cfg.quiet);
	CHECK_EQ(cfg.verbose, 1);
	CHECK_EQ(err[0], 0);
}

TEST(run_long_options_with_equals)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "--kernel=k.elf", "--mem=64M", "--cpus=2",
		       "--cmdline=", "--console=stdio"), CLI_OK);
	CHECK(!strcmp(cfg.kernel, "k.elf"));
	CHECK_EQ(cfg.mem_size, 64 * MIB);
	CHECK_EQ(cfg.cpus, 2);
	CHECK(!strcmp(cfg.cmdline, ""));  /* an empty command line is allowed */
	CHECK_EQ(cfg.console, CONSOLE_STDIO);
}

TEST(run_short_options)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-k", "kern", "-i", "rd", "-p", "a=b c", "-m",
		       "512", "-c", "3"), CLI_OK);
	CHECK(!strcmp(cfg.kernel, "kern"));
	CHECK(!strcmp(cfg.initrd, "rd"));
	CHECK(!strcmp(cfg.cmdline, "a=b c"));
	CHECK_EQ(cfg.mem_size, 512 * MIB);
	CHECK_EQ(cfg.cpus, 3);
	CHECK_EQ(cfg.console, CONSOLE_STDIO);

	/* attached values and clusters */
	CHECK_EQ(PARSE("run", "-kvmlinux", "-m2G", "-qc8"), CLI_OK);
	CHECK(!strcmp(cfg.kernel, "vmlinux"));
	CHECK_EQ(cfg.mem_size, 2ULL << 30);
	CHECK_EQ(cfg.cpus, 8);
	CHECK(cfg.quiet);
}

TEST(run_verbose_quiet)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-v", "-k", "k"), CLI_OK);
	CHECK_EQ(cfg.verbose, 1);
	CHECK(!cfg.quiet);
	CHECK_EQ(PARSE("run", "-v", "-v", "-k", "k", "--verbose"), CLI_OK);
	CHECK_EQ(cfg.verbose, 3);
	CHECK_EQ(PARSE("run", "-vv", "-k", "k"), CLI_OK);
	CHECK_EQ(cfg.verbose, 2);
	CHECK_EQ(PARSE("run", "-q", "-k", "k"), CLI_OK);
	CHECK(cfg.quiet);
	CHECK_EQ(cfg.verbose, 0);
	/* the previous parse's state does not leak into the next */
	CHECK_EQ(PARSE("run", "-k", "k"), CLI_OK);
	CHECK(!cfg.quiet);
	CHECK_EQ(cfg.verbose, 0);
}

TEST(run_last_value_wins)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-m", "1G", "-k", "a", "--mem", "128M", "-k", "b",
		       "-c", "2", "--cpus", "5"), CLI_OK);
	CHECK_EQ(cfg.mem_size, 128 * MIB);
	CHECK(!strcmp(cfg.kernel, "b"));
	CHECK_EQ(cfg.cpus, 5);
}

TEST(run_console)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-k", "k", "--console", "stdio"), CLI_OK);
	CHECK_EQ(cfg.console, CONSOLE_STDIO);
	CHECK_EQ(PARSE("run", "-k", "k", "--console", "none"), CLI_OK);
	CHECK_EQ(cfg.console, CONSOLE_NONE);
	CHECK_EQ(PARSE("run", "-k", "k", "--console", "bad"), CLI_ERROR);
	CHECK(says(err, "--console"));
	CHECK(says(err, "bad"));
	CHECK_EQ(PARSE("run", "-k", "k", "--console", "STDIO"), CLI_ERROR);
	CHECK(says(err, "--console"));
	CHECK_EQ(PARSE("run", "-k", "k", "--console", ""), CLI_ERROR);
	CHECK(says(err, "--console"));
}

TEST(run_missing_kernel)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run"), CLI_ERROR);
	CHECK(says(err, "kernel"));
	CHECK_EQ(PARSE("run", "-m", "64M", "-c", "2"), CLI_ERROR);
	CHECK(says(err, "kernel"));
}

TEST(run_cpus)
{
	struct vm_config cfg;
	char err[256];
	static const char *const bad[] = {
		"0", "65", "abc", "", "-1", "+2", "2x", "1.0", " 2", "0x2",
		"4294967297", "99999999999999999999",
	};

	CHECK_EQ(PARSE("run", "-k", "k", "-c", "1"), CLI_OK);
	CHECK_EQ(cfg.cpus, 1);
	CHECK_EQ(PARSE("run", "-k", "k", "--cpus", "64"), CLI_OK);
	CHECK_EQ(cfg.cpus, VMM_MAX_CPUS);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum cli_result r = PARSE("run", "-k", "k", "--cpus", bad[i]);

		if (r != CLI_ERROR || !says(err, "--cpus")) {
			*unit_failed = 1;
			snprintf(unit_why, sizeof(unit_why),
				 "--cpus '%s': result %d, err '%s'", bad[i],
				 (int)r, err);
			return;
		}
	}
	CHECK_EQ(PARSE("run", "-k", "k", "-c", "65"), CLI_ERROR);
	CHECK(says(err, "65"));
}

TEST(run_mem_limits)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-k", "k", "-m", "2M"), CLI_OK);
	CHECK_EQ(cfg.mem_size, 2 * MIB);
	CHECK_EQ(PARSE("run", "-k", "k", "-m", "2048K"), CLI_OK);
	CHECK_EQ(cfg.mem_size, 2 * MIB);
	CHECK_EQ(PARSE("run", "-k", "k", "-m", "3072K"), CLI_OK);
	CHECK_EQ(cfg.mem_size, 3 * MIB);
	CHECK_EQ(PARSE("run", "-k", "k", "-m", "1T"), CLI_OK);
	CHECK_EQ(cfg.mem_size, VMM_MAX_MEM);

	/* below 2 MiB */
	CHECK_EQ(PARSE("run", "-k", "k", "-m", "1M"), CLI_ERROR);
	CHECK(says(err, "--mem"));
	CHECK_EQ(PARSE("run", "-k", "k", "-m", "2047K"), CLI_ERROR);
	CHECK(says(err, "--mem"));
	CHECK_EQ(PARSE("run", "-k", "k", "-m", "4K"), CLI_ERROR);
	CHECK(says(err, "--mem"));
	/* not a whole number of MiB */
	CHECK_EQ(PARSE("run", "-k", "k", "-m", "2049K"), CLI_ERROR);
	CHECK(says(err, "--mem"));
	CHECK(says(err, "MiB"));
	CHECK_EQ(PARSE("run", "-k", "k", "--mem", "1048577K"), CLI_ERROR);
	CHECK(says(err, "--mem"));
	/* above the maximum */
	CHECK_EQ(PARSE("run", "-k", "k", "-m", "1025G"), CLI_ERROR);
	CHECK(says(err, "--mem"));
	CHECK_EQ(PARSE("run", "-k", "k", "-m", "2T"), CLI_ERROR);
	CHECK(says(err, "--mem"));
}

TEST(run_mem_bad)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-k", "k", "-m", "lots"), CLI_ERROR);
	CHECK(says(err, "--mem"));
	CHECK(says(err, "lots"));
	CHECK_EQ(PARSE("run", "-k", "k", "--mem", "0"), CLI_ERROR);
	CHECK(says(err, "--mem"));
	CHECK(says(err, "zero"));
	CHECK_EQ(PARSE("run", "-k", "k", "--mem", "1Gx"), CLI_ERROR);
	CHECK(says(err, "1Gx"));
	CHECK_EQ(PARSE("run", "-k", "k", "--mem", "99999999999999999999"),
		 CLI_ERROR);
	CHECK(says(err, "--mem"));
	CHECK_EQ(PARSE("run", "-k", "k", "--mem", "18446744073709551615G"),
		 CLI_ERROR);
	CHECK(says(err, "--mem"));
	CHECK_EQ(PARSE("run", "-k", "k", "--mem", ""), CLI_ERROR);
	CHECK(says(err, "--mem"));
}

TEST(run_cmdline_length)
{
	static char line[VMM_CMDLINE_MAX + 1];
	struct vm_config cfg;
	char err[256];

	memset(line, 'a', VMM_CMDLINE_MAX - 1);
	line[VMM_CMDLINE_MAX - 1] = 0;
	CHECK_EQ(PARSE("run", "-k", "k", "-p", line), CLI_OK);
	CHECK_EQ(strlen(cfg.cmdline), VMM_CMDLINE_MAX - 1);
	line[VMM_CMDLINE_MAX - 1] = 'a';
	line[VMM_CMDLINE_MAX] = 0;
	CHECK_EQ(PARSE("run", "-k", "k", "-p", line), CLI_ERROR);
	CHECK(says(err, "--cmdline"));
}

TEST(run_unknown_option)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-k", "k", "--bogus"), CLI_ERROR);
	CHECK(says(err, "--bogus"));
	CHECK_EQ(PARSE("run", "--frobnicate=3", "-k", "k"), CLI_ERROR);
	CHECK(says(err, "--frobnicate"));
	CHECK_EQ(PARSE("run", "-k", "k", "-x"), CLI_ERROR);
	CHECK(says(err, "-x"));
	/* a flag that takes no value, given one */
	CHECK_EQ(PARSE("run", "-k", "k", "--quiet=yes"), CLI_ERROR);
	CHECK(says(err, "--quiet"));
}

TEST(run_unknown_option_in_cluster)
{
	/*
	 * An unknown letter that is not the last of its cluster: getopt does
	 * not advance optind, so argv[optind - 1] is the previous argument.
	 * The message must still name the unknown option.
	 */
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-xq", "-k", "k"), CLI_ERROR);
	CHECK(says(err, "-x"));
	CHECK_EQ(PARSE("run", "-k", "vmlinux", "-zv"), CLI_ERROR);
	CHECK(says(err, "-z"));
	CHECK(!says(err, "vmlinux"));
}

TEST(run_missing_value)
{
	struct vm_config cfg;
	char err[256];
	static const char *const opts[] = {
		"-k", "--kernel", "-i", "--initrd", "-p", "--cmdline", "-m",
		"--mem", "-c", "--cpus", "--console", "--serial-log",
	};

	for (unsigned int i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		enum cli_result r = PARSE("run", "-k", "k", opts[i]);

		if (r != CLI_ERROR || !says(err, opts[i])) {
			*unit_failed = 1;
			snprintf(unit_why, sizeof(unit_why),
				 "'%s' without a value: result %d, err '%s'",
				 opts[i], (int)r, err);
			return;
		}
	}
	CHECK_EQ(PARSE("run", "-k"), CLI_ERROR);
	CHECK(says(err, "-k"));
}

TEST(run_stray_argument)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-k", "k", "stray"), CLI_ERROR);
	CHECK(says(err, "stray"));
	/* getopt permutes: a positional before the options is still caught */
	CHECK_EQ(PARSE("run", "vmlinux", "-k", "k"), CLI_ERROR);
	CHECK(says(err, "vmlinux"));
	CHECK_EQ(PARSE("run", "-k", "k", "--", "-m"), CLI_ERROR);
	CHECK(says(err, "-m"));
	CHECK_EQ(PARSE("run", "-k", "k", "-m", "64M", "x", "y"), CLI_ERROR);
	CHECK(says(err, "'x'"));
}

TEST(run_help)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "--help"), CLI_HELP);
	CHECK_EQ(PARSE("run", "-h"), CLI_HELP);
	CHECK_EQ(PARSE("run", "-k", "k", "-h"), CLI_HELP);
	/* help wins over a later error: nothing after it is looked at */
	CHECK_EQ(PARSE("run", "--help", "--cpus", "0"), CLI_HELP);
	CHECK(strstr(cli_run_usage, "--kernel") != NULL);
	CHECK(strstr(cli_run_usage, "--console") != NULL);
}

TEST(run_repeatable)
{
	/* getopt keeps state in globals: an error must not spoil the next parse */
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-k", "a", "-qx", "-c", "2"), CLI_ERROR);
	CHECK_EQ(PARSE("run", "-k", "b", "-c", "2"), CLI_OK);
	CHECK(!strcmp(cfg.kernel, "b"));
	CHECK_EQ(cfg.cpus, 2);
	CHECK_EQ(PARSE("run", "-k", "c", "-m"), CLI_ERROR);
	CHECK_EQ(PARSE("run", "-m", "64", "-k", "d"), CLI_OK);
	CHECK_EQ(cfg.mem_size, 64 * MIB);
	CHECK(!strcmp(cfg.kernel, "d"));
}

TEST(run_small_err_buffer)
{
	/* the message is cut, never overrun */
	struct vm_config cfg;
	char err[8];

	CHECK_EQ(PARSE("run", "-k", "k", "--cpus", "1000000000000000000000"),
		 CLI_ERROR);
	CHECK_EQ(strlen(err), sizeof(err) - 1);
}

TEST(disk_options)
{
	struct vm_disk d;
	char err[256];

	CHECK_EQ(parse_disk("/img/root.ext4", &d, err, sizeof(err)), 0);
	CHECK(!strcmp(d.path, "/img/root.ext4") && !d.read_only);
	CHECK(!strcmp(d.id, "root.ext4"));
	CHECK_EQ(d.io, DISK_IO_THREAD);
	CHECK_EQ(parse_disk("a.img,ro,id=data,io=uring", &d, err, sizeof(err)), 0);
	CHECK(d.read_only && !strcmp(d.id, "data"));
	CHECK_EQ(d.io, DISK_IO_URING);
	CHECK_EQ(parse_disk("a.img,ro,rw,io=uring,io=thread", &d, err, sizeof(err)), 0);
	CHECK(!d.read_only);
	CHECK_EQ(d.io, DISK_IO_THREAD);
	/* GET_ID has 20 bytes: a long base name is cut, a long id= refused */
	CHECK_EQ(parse_disk("/x/abcdefghijklmnopqrstuvwxyz", &d, err, sizeof(err)), 0);
	CHECK(!strcmp(d.id, "abcdefghijklmnopqrst"));
	CHECK_EQ(parse_disk("a,id=abcdefghijklmnopqrstu", &d, err, sizeof(err)), -EINVAL);
	CHECK(says(err, "longer than 20"));
	CHECK_EQ(parse_disk("a,rx", &d, err, sizeof(err)), -EINVAL);
	CHECK(says(err, "unknown option 'rx'"));
	CHECK_EQ(parse_disk("a,bw=10M,iops=500", &d, err, sizeof(err)), 0);
	/* per 100 ms: a tenth */
	CHECK_EQ(d.rate.bandwidth.size, (10 << 20) / 10);
	CHECK_EQ(d.rate.bandwidth.refill_time_ms, 100);
	CHECK_EQ(d.rate.ops.size, 50);
	CHECK_EQ(parse_disk("a,bw=0", &d, err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse_disk("a,bw=10X", &d, err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse_disk("a,iops=-1", &d, err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse_disk("a,io=posix", &d, err, sizeof(err)), -EINVAL);
	CHECK(says(err, "io=thread or io=uring"));
	CHECK_EQ(parse_disk("", &d, err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse_disk(",ro", &d, err, sizeof(err)), -EINVAL);
}

TEST(net_options)
{
	struct vm_net n;
	char err[256];

	CHECK_EQ(parse_net("tap=tap0", &n, err, sizeof(err)), 0);
	CHECK(!strcmp(n.tap, "tap0") && !n.mac_set);
	CHECK_EQ(parse_net("tap=t1,mac=52:54:00:ab:CD:ef", &n, err, sizeof(err)), 0);
	CHECK(n.mac_set && n.mac[3] == 0xab && n.mac[5] == 0xef);
	CHECK_EQ(parse_net("tap=", &n, err, sizeof(err)), -EINVAL);
	CHECK(says(err, "empty TAP name"));
	CHECK_EQ(parse_net("tap=0123456789abcdef", &n, err, sizeof(err)), -EINVAL);
	CHECK(says(err, "longer than 15"));
	CHECK_EQ(parse_net("tap=t,mac=01:00:00:00:00:00", &n, err, sizeof(err)), -EINVAL);
	CHECK(says(err, "not a unicast MAC"));
	CHECK_EQ(parse_net("mac=52:54:00:00:00:01", &n, err, sizeof(err)), -EINVAL);
	CHECK(says(err, "expected tap=NAME"));
	CHECK_EQ(parse_net("tap=t,vlan=3", &n, err, sizeof(err)), -EINVAL);
	CHECK(says(err, "unknown option 'vlan=3'"));
}

TEST(run_says_which_fields_it_set)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "--config-file", "f.json"), CLI_OK);
	CHECK_EQ(last_set, 0);
	CHECK_EQ(PARSE("run", "--config-file", "f.json", "-k", "k", "-p", "x",
		       "-m", "64", "--metrics-path", "/m"), CLI_OK);
	CHECK_EQ(last_set, CFG_KERNEL | CFG_CMDLINE | CFG_MEM | CFG_METRICS);
	CHECK_EQ(PARSE("run", "-k", "k", "-c", "2", "-i", "i", "--id", "x"), CLI_OK);
	CHECK_EQ(last_set, CFG_KERNEL | CFG_CPUS | CFG_INITRD | CFG_ID);
}

TEST(run_too_many_disks_and_nics)
{
	const char *args[64] = { "run", "-k", "k" };
	struct vm_config cfg;
	char err[256];
	int n = 3;

	for (int i = 0; i <= VMM_MAX_DISKS; i++) {
		args[n++] = "--disk";
		args[n++] = "d.img";
	}
	args[n] = NULL;
	CHECK_EQ(parse_list(&cfg, err, sizeof(err), args), CLI_ERROR);
	CHECK(says(err, "at most"));
	n = 3;
	for (int i = 0; i <= VMM_MAX_NETS; i++) {
		args[n++] = "--net";
		args[n++] = "tap=t";
	}
	args[n] = NULL;
	CHECK_EQ(parse_list(&cfg, err, sizeof(err), args), CLI_ERROR);
	CHECK(says(err, "at most"));
}

TEST(run_debugging_options)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "-k", "k"), CLI_OK);
	CHECK(!cfg.gdb[0] && !cfg.gdb_wait && !cfg.serial_timestamps);
	CHECK_EQ(PARSE("run", "-k", "k", "--gdb", "1234", "--gdb-wait",
		       "--serial-timestamps"), CLI_OK);
	CHECK(!strcmp(cfg.gdb, "1234"));
	CHECK(cfg.gdb_wait && cfg.serial_timestamps);
	CHECK_EQ(PARSE("run", "-k", "k", "--gdb=/tmp/gdb.sock"), CLI_OK);
	CHECK(!strcmp(cfg.gdb, "/tmp/gdb.sock"));
	CHECK_EQ(PARSE("run", "-k", "k", "--gdb", "0"), CLI_OK);
	CHECK_EQ(PARSE("run", "-k", "k", "--gdb", "65535"), CLI_OK);
	/* a number is a TCP port: one that cannot be is refused */
	CHECK_EQ(PARSE("run", "-k", "k", "--gdb", "65536"), CLI_ERROR);
	CHECK(says(err, "65536") && says(err, "port"));
	CHECK_EQ(PARSE("run", "-k", "k", "--gdb", "99999999999999999999"),
		 CLI_ERROR);
	CHECK(says(err, "port"));
	CHECK_EQ(PARSE("run", "-k", "k", "--gdb", ""), CLI_ERROR);
	CHECK(says(err, "--gdb"));
	CHECK_EQ(PARSE("run", "-k", "k", "--gdb"), CLI_ERROR);
	CHECK(says(err, "--gdb"));
	/* waiting for a debugger that cannot come */
	CHECK_EQ(PARSE("run", "-k", "k", "--gdb-wait"), CLI_ERROR);
	CHECK(says(err, "--gdb-wait") && says(err, "--gdb "));
	/* longer than a socket path can be */
	{
		char path[200];

		memset(path, 'p', sizeof(path) - 1);
		path[sizeof(path) - 1] = 0;
		CHECK_EQ(PARSE("run", "-k", "k", "--gdb", path), CLI_ERROR);
		CHECK(says(err, "--gdb"));
	}
	/* --help lists them, and the keys that go with them */
	CHECK(strstr(cli_run_usage, "--gdb PORT|SOCKET") != NULL);
	CHECK(strstr(cli_run_usage, "--gdb-wait") != NULL);
	CHECK(strstr(cli_run_usage, "--serial-timestamps") != NULL);
	CHECK(strstr(cli_run_usage, "Ctrl-A b") != NULL);
	CHECK(strstr(cli_run_usage, "Ctrl-A t") != NULL);
}

/* --bundle: no kernel needed, the command after the options is kept */
TEST(run_bundle)
{
	struct vm_config cfg;
	char err[256];

	CHECK_EQ(PARSE("run", "--bundle", "b"), CLI_OK);
	CHECK(!strcmp(cfg.bundle, "b"));
	CHECK_EQ(cfg.bundle_args, 0);
	{
		static const char *const args[] = { "run", "--bundle", "b", "-m",
			"512M", "--", "sh", "-c", "echo 'a b'", NULL };
		char *argv[10];

		for (int i = 0; i < 10; i++)
			argv[i] = (char *)args[i];

		memset(err, 0, sizeof(err));
		CHECK_EQ(cli_parse_run(9, argv, &cfg, &last_set, err, sizeof(err)),
			 CLI_OK);
		CHECK_EQ(cfg.bundle_args, 6);
		CHECK(!strcmp(argv[cfg.bundle_args], "sh"));
		CHECK(!strcmp(argv[8], "echo 'a b'"));
		CHECK_EQ(cfg.mem_size, 512 * MIB);
	}
	/* without --, the first word that is no option starts the command */
	CHECK_EQ(PARSE("run", "--bundle", "b", "true"), CLI_OK);
	CHECK(cfg.bundle_args > 0);
	CHECK_EQ(PARSE("run", "--bundle", "b", "--initrd", "i"), CLI_ERROR);
	CHECK(says(err, "--initrd"));
	CHECK_EQ(PARSE("run", "--bundle", "b", "--console", "virtio"), CLI_ERROR);
	CHECK(says(err, "--console"));
	CHECK_EQ(PARSE("run", "--bundle", "b", "--api-sock", "s"), CLI_ERROR);
	CHECK(says(err, "--api-sock"));
	CHECK_EQ(PARSE("run", "--bundle", "b", "--gdb", "1234"), CLI_ERROR);
	CHECK(says(err, "--gdb"));
	/* without --bundle, words after the options are still refused */
	CHECK_EQ(PARSE("run", "-k", "k", "--", "sh"), CLI_ERROR);
	CHECK(says(err, "unexpected argument 'sh'"));
}

UNIT_MAIN("cli",
	  T(size_suffixes), T(size_garbage), T(size_zero), T(size_overflow),
	  T(run_defaults), T(run_pit), T(run_virtio_transport), T(run_long_options), T(run_long_options_with_equals),
	  T(run_short_options), T(run_verbose_quiet), T(run_last_value_wins),
	  T(run_console), T(run_missing_kernel), T(run_cpus),
	  T(run_mem_limits), T(run_mem_bad), T(run_cmdline_length),
	  T(run_unknown_option), T(run_unknown_option_in_cluster),
	  T(run_missing_value), T(run_stray_argument), T(run_help),
	  T(run_repeatable), T(run_small_err_buffer), T(disk_options),
	  T(net_options), T(run_says_which_fields_it_set),
	  T(run_too_many_disks_and_nics), T(run_debugging_options),
	  T(run_bundle))
