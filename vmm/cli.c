// SPDX-License-Identifier: MIT
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char cli_main_usage[] =
"usage: vmm COMMAND [OPTIONS]\n"
"\n"
"A small KVM virtual machine monitor.\n"
"\n"
"commands:\n"
"  run        boot a guest kernel (see `vmm run --help`)\n"
"  ctl        talk to a running vmm's control socket (`vmm ctl --help`)\n"
"  jail       run a VM confined: own root, namespaces, no privileges\n"
"             (`vmm jail --help`)\n"
"  help       show this text\n"
"  version    print the version (also --version)\n"
"\n"
"Installed or started as `firecracker`, or with one of Firecracker's flags\n"
"first (`vmm --api-sock PATH ...`), vmm takes Firecracker's command line\n"
"(see `firecracker --help`).\n";

const char cli_run_usage[] =
"usage: vmm run -k KERNEL [OPTIONS]\n"
"       vmm run --api-sock PATH [OPTIONS]   (configure and start over the API)\n"
"       vmm run --config-file FILE [OPTIONS]\n"
"       vmm run --bundle DIR [OPTIONS] [-- COMMAND [ARGS...]]\n"
"       vmm run --restore SNAPSHOT --mem-file MEM [OPTIONS]\n"
"\n"
"Boot KERNEL (x86-64: bzImage, or an ELF vmlinux with a 64-bit or PVH\n"
"entry; aarch64: Image or Image.gz) with the guest's serial console on\n"
"this terminal.\n"
"\n"
"options:\n"
"  -k, --kernel FILE       kernel image to boot (required)\n"
"  -i, --initrd FILE       initial ramdisk\n"
"  -p, --cmdline STRING    kernel command line\n"
"                          (default: \"" VMM_DEFAULT_CMDLINE "\")\n"
"  -m, --mem SIZE          guest memory: 256M, 1G, ...; a bare number is MiB\n"
"                          (default: 256M)\n"
"  -c, --cpus N            number of vCPUs (default: 1)\n"
"      --smt               two threads per core (an even --cpus)\n"
"      --huge-pages        guest memory in 2 MiB huge pages (hugetlbfs)\n"
"      --console MODE      stdio: serial console on this terminal (default)\n"
"                          virtio: virtio console (hvc0) on this terminal;\n"
"                          the serial port still prints early messages\n"
"                          none: no console input or output (see --serial-log)\n"
"      --serial-log FILE   also write everything the guest prints to FILE\n"
"      --serial-timestamps prefix each line the guest prints (in FILE and\n"
"                          on this terminal) with the time since vmm started;\n"
"                          Ctrl-A t turns them on and off on the terminal\n"
"      --disk PATH[,ro][,id=NAME][,io=thread|uring][,bw=RATE][,iops=N]\n"
"                          a virtio-blk disk (repeatable: vda, vdb, ...);\n"
"                          ro: read-only; id: what GET_ID reports;\n"
"                          io: its I/O on a thread of its own (default)\n"
"                          or through io_uring; bw, iops: at most RATE\n"
"                          bytes (10M, 1G, ...) and N requests per second\n"
"      --net tap=NAME[,mac=MAC]\n"
"                          a virtio-net NIC on host TAP interface NAME\n"
"                          (created if absent; repeatable)\n"
"      --api-sock PATH     serve the control API (HTTP/JSON) on a Unix socket;\n"
"                          without --kernel, wait there for the configuration\n"
"                          and InstanceStart (see README: control API)\n"
"      --api-sock-mode MODE  the socket's permissions (default: 0600)\n"
"      --config-file FILE  the configuration as one JSON document\n"
"                          (Firecracker's shape); boots without the API.\n"
"                          Options given beside it win, field by field;\n"
"                          its drives and interfaces come first\n"
"      --id NAME           the instance's name, reported by the API\n"
"      --restore FILE      resume the VM saved in snapshot FILE (the API's\n"
"                          PUT /snapshot/create made it) instead of booting;\n"
"                          its configuration is the snapshot's, but for\n"
"                          --disk PATH,id=ID: that drive's image from PATH\n"
"      --mem-file FILE     with --restore: the snapshot's memory file, mapped\n"
"                          copy-on-write (VMs restored from one file share it)\n"
"      --bundle DIR        run the process of the OCI bundle DIR (config.json\n"
"                          and its rootfs) in the VM, as a container runtime\n"
"                          would: its stdin, stdout, stderr and exit status\n"
"                          are vmm's; COMMAND replaces process.args. The\n"
"                          kernel defaults to what scripts/build-guest-kernel\n"
"                          made; exit status 125 when vmm fails, 126/127 when\n"
"                          the command cannot run / is not found\n"
"      --boot-timer        print the boot timeline on stderr at exit\n"
"      --metrics-path FILE append metrics as a JSON line to FILE every 60 s,\n"
"                          at exit and on the API's FlushMetrics\n"
"      --no-seccomp        run without the seccomp filters (see README: Security)\n"
"      --seccomp-filter FILE  replace the built-in seccomp filters with FILE's\n"
"                          (Firecracker's JSON format; see README: Security)\n"
"      --gic v2|v3|auto    aarch64: the interrupt controller (auto: v2, else v3)\n"
"      --dump-dtb FILE     aarch64: also write the guest's device tree to FILE\n"
"      --gdb PORT|SOCKET   serve GDB's remote protocol on 127.0.0.1:PORT (0:\n"
"                          any free port) or on a Unix socket (see README:\n"
"                          Debugging a guest)\n"
"      --gdb-wait          with --gdb: stop before the guest's first\n"
"                          instruction until gdb continues it\n"
"  -q, --quiet             no informational messages on stderr\n"
"  -v, --verbose           more messages (unclaimed I/O, exits)\n"
"  -h, --help              show this text\n"
"\n"
"console keys (when stdin is a terminal it is put in raw mode):\n"
"  Ctrl-A x                quit: stop the VM and exit\n"
"  Ctrl-A b                send a break: Linux takes the next key as SysRq\n"
"                          (Ctrl-A b t: tasks, w: blocked tasks, c: crash)\n"
"  Ctrl-A t                timestamps on the terminal on or off\n"
"  Ctrl-A h                show the console keys\n"
"  Ctrl-A Ctrl-A           send one Ctrl-A to the guest\n"
"\n"
"exit status: 0 when the guest powers off or resets or you quit,\n"
"1 on a vmm or KVM error, 2 when the guest reports a crash;\n"
"with --bundle, the process's.\n";

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v, shift = 20;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	switch (*end) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (*end) {
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	}
	if (*end)
		return -EINVAL;
	if (v == 0)
		return -EDOM;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

static int parse_cpus(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > VMM_MAX_CPUS)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* A byte count: a number with an optional K, M or G (powers of 1024). */
static int parse_bytes(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v, shift = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end || !v || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

static int parse_count(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end || !*out ? -EINVAL : 0;
}

/* Split "a,b,c" options: the next comma-separated item of *s. */
static const char *next_item(const char **s, size_t *len)
{
	const char *start = *s, *comma;

	if (!*start)
		return NULL;
	comma = strchr(start, ',');
	*len = comma ? (size_t)(comma - start) : strlen(start);
	*s = comma ? comma + 1 : start + *len;
	return start;
}

#define failp(...) do { snprintf(err, errlen, __VA_ARGS__); return -EINVAL; } while (0)

int parse_disk(const char *s, struct vm_disk *d, char *err, size_t errlen)
{
	const char *item, *base;
	size_t len;

	memset(d, 0, sizeof(*d));
	item = next_item(&s, &len);
	if (!item || len == 0)
		failp("--disk: expected PATH[,ro][,id=NAME][,io=thread|uring]");
	if (len >= sizeof(d->path))
		failp("--disk: path too long");
	memcpy(d->path, item, len);
	while ((item = next_item(&s, &len))) {
		if (len == 2 && !strncmp(item, "ro", 2)) {
			d->read_only = true;
		} else if (len == 2 && !strncmp(item, "rw", 2)) {
			d->read_only = false;
		} else if (len == 9 && !strncmp(item, "io=thread", 9)) {
			d->io = DISK_IO_THREAD;
		} else if (len == 8 && !strncmp(item, "io=uring", 8)) {
			d->io = DISK_IO_URING;
		} else if (len > 3 && !strncmp(item, "io=", 3)) {
			failp("--disk %s: io=%.*s: expected io=thread or io=uring",
			      d->path, (int)len - 3, item + 3);
		} else if ((len > 3 && !strncmp(item, "bw=", 3)) ||
			   (len > 5 && !strncmp(item, "iops=", 5))) {
			/* a rate limit, in units per second */
			bool bw = item[0] == 'b';
			char num[32];
			uint64_t v;
			size_t k = bw ? 3 : 5;

			if (len - k >= sizeof(num))
				failp("--disk %s: %.*s: too long", d->path, (int)len, item);
			memcpy(num, item + k, len - k);
			num[len - k] = 0;
			if (bw ? parse_bytes(num, &v) : parse_count(num, &v))
				failp("--disk %s: %s=%s: expected %s", d->path,
				      bw ? "bw" : "iops", num, bw ?
				      "bytes per second (like 10M)" : "a number");
			/*
			 * A tenth of the rate every 100 ms: the same rate as
			 * a one-second bucket with a tenth of its burst.
			 */
			v = v >= 10 ? v / 10 : 1;
			if (bw)
				d->rate.bandwidth = (struct vm_bucket){ v, 0, 100 };
			else
				d->rate.ops = (struct vm_bucket){ v, 0, 100 };
		} else if (len > 3 && !strncmp(item, "id=", 3)) {
			if (len - 3 > VMM_DISK_ID_MAX)
				failp("--disk %s: id longer than %d bytes",
				      d->path, VMM_DISK_ID_MAX);
			memcpy(d->id, item + 3, len - 3);
		} else {
			failp("--disk %s: unknown option '%.*s' (ro, id=NAME, io=thread|uring, bw=RATE, iops=N)",
			      d->path, (int)len, item);
		}
	}
	if (!d->id[0]) {
		base = strrchr(d->path, '/');
		base = base ? base + 1 : d->path;
		/* GET_ID has 20 bytes: a longer name is cut */
		len = strlen(base);
		memcpy(d->id, base, len < VMM_DISK_ID_MAX ? len : VMM_DISK_ID_MAX);
	}
	return 0;
}

int parse_net(const char *s, struct vm_net *n, char *err, size_t errlen)
{
	const char *item;
	size_t len;

	memset(n, 0, sizeof(*n));
	while ((item = next_item(&s, &len))) {
		if (len == 4 && !strncmp(item, "tap=", 4)) {
			failp("--net: empty TAP name in 'tap='");
		} else if (len > 4 && !strncmp(item, "tap=", 4)) {
			if (len - 4 >= sizeof(n->tap))
				failp("--net: TAP name longer than %zu bytes",
				      sizeof(n->tap) - 1);
			memcpy(n->tap, item + 4, len - 4);
			n->tap[len - 4] = 0;
		} else if (len > 4 && !strncmp(item, "mac=", 4)) {
			if (config_parse_mac(item + 4, len - 4, n->mac))
				failp("--net: '%.*s' is not a unicast MAC address "
				      "(like 52:54:00:12:34:56)", (int)len - 4,
				      item + 4);
			n->mac_set = true;
		} else {
			failp("--net: unknown option '%.*s' (tap=NAME, mac=MAC)",
			      (int)len, item);
		}
	}
	if (!n->tap[0])
		failp("--net: expected tap=NAME[,mac=MAC]");
	return 0;
}

enum {
	OPT_CONSOLE = 256, OPT_SERIAL_LOG, OPT_DISK, OPT_NET, OPT_API_SOCK,
	OPT_API_SOCK_MODE, OPT_CONFIG_FILE, OPT_METRICS_PATH, OPT_BOOT_TIMER,
	OPT_ID, OPT_GIC, OPT_DUMP_DTB, OPT_SMT, OPT_HUGE_PAGES, OPT_BUNDLE,
	OPT_NO_SECCOMP, OPT_SECCOMP_FILTER,
	OPT_SERIAL_TIMESTAMPS, OPT_GDB, OPT_GDB_WAIT, OPT_RESTORE, OPT_MEM_FILE,
};

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'p' },
	{ "mem", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'c' },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "serial-log", required_argument, NULL, OPT_SERIAL_LOG },
	{ "serial-timestamps", no_argument, NULL, OPT_SERIAL_TIMESTAMPS },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "api-sock-mode", required_argument, NULL, OPT_API_SOCK_MODE },
	{ "config-file", required_argument, NULL, OPT_CONFIG_FILE },
	{ "metrics-path", required_argument, NULL, OPT_METRICS_PATH },
	{ "boot-timer", no_argument, NULL, OPT_BOOT_TIMER },
	{ "id", required_argument, NULL, OPT_ID },
	{ "gic", required_argument, NULL, OPT_GIC },
	{ "dump-dtb", required_argument, NULL, OPT_DUMP_DTB },
	{ "smt", no_argument, NULL, OPT_SMT },
	{ "huge-pages", no_argument, NULL, OPT_HUGE_PAGES },
	{ "gdb", required_argument, NULL, OPT_GDB },
	{ "gdb-wait", no_argument, NULL, OPT_GDB_WAIT },
	{ "restore", required_argument, NULL, OPT_RESTORE },
	{ "mem-file", required_argument, NULL, OPT_MEM_FILE },
	{ "bundle", required_argument, NULL, OPT_BUNDLE },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "seccomp-filter", required_argument, NULL, OPT_SECCOMP_FILTER },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char run_optstring[] = ":k:i:p:m:c:qvh";

/* The string in argv that holds p (likely argv[hint]), or -1. */
static int argv_holding(int argc, char **argv, int hint, const char *p)
{
	if (hint >= 0 && hint < argc && p >= argv[hint] &&
	    p <= argv[hint] + strlen(argv[hint]))
		return hint;
	for (int i = 0; i < argc; i++)
		if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
			return i;
	return -1;
}

int cli_run_paths(int argc, char **argv,
		  int (*fn)(void *ctx, const struct cli_path_arg *a), void *ctx)
{
	/* getopt may reorder its array: walk a copy, find names in argv */
	char **copy = calloc((size_t)argc + 1, sizeof(*copy));
	int c, ret = 0;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, argv, (size_t)argc * sizeof(*copy));
	optind = 0;
	opterr = 0;
	while (!ret && (c = getopt_long(argc, copy, run_optstring, run_options,
					NULL)) != -1) {
		struct cli_path_arg a = { .value = optarg };

		switch (c) {
		case 'k': a.opt = "--kernel"; a.kind = CLI_PATH_READ; break;
		case 'i': a.opt = "--initrd"; a.kind = CLI_PATH_READ; break;
		case OPT_SECCOMP_FILTER:
			a.opt = "--seccomp-filter"; a.kind = CLI_PATH_READ; break;
		case OPT_DISK: a.opt = "--disk"; a.kind = CLI_PATH_DISK; break;
		case OPT_SERIAL_LOG:
			a.opt = "--serial-log"; a.kind = CLI_PATH_WRITE; break;
		case OPT_METRICS_PATH:
			a.opt = "--metrics-path"; a.kind = CLI_PATH_WRITE; break;
		case OPT_DUMP_DTB: a.opt = "--dump-dtb"; a.kind = CLI_PATH_WRITE; break;
		case OPT_RESTORE: a.opt = "--restore"; a.kind = CLI_PATH_READ; break;
		case OPT_MEM_FILE: a.opt = "--mem-file"; a.kind = CLI_PATH_READ; break;
		case OPT_API_SOCK: a.opt = "--api-sock"; a.kind = CLI_PATH_SOCKET; break;
		case OPT_CONFIG_FILE:
			a.opt = "--config-file"; a.kind = CLI_PATH_CONFIG; break;
		default:
			continue;
		}
		a.argi = argv_holding(argc, argv, optind - 1, optarg);
		if (a.argi < 0) {
			ret = -EINVAL;
			break;
		}
		a.off = (size_t)(optarg - argv[a.argi]);
		/* a disk's name ends at its first option */
		a.len = a.kind == CLI_PATH_DISK ? strcspn(optarg, ",") : strlen(optarg);
		ret = fn(ctx, &a);
	}
	free(copy);
	return ret;
}

#define fail(...) do { snprintf(err, errlen, __VA_ARGS__); return CLI_ERROR; } while (0)

/* Copy an option's value into a config buffer, refusing what does not fit. */
#define COPY_ARG(opt, dst)                                                \
	do {                                                              \
		if (strlen(optarg) >= sizeof(dst))                        \
			fail("%s: longer than %zu bytes", opt,            \
			     sizeof(dst) - 1);                            \
		memcpy(dst, optarg, strlen(optarg) + 1);                  \
	} while (0)

enum cli_result cli_parse_run(int argc, char **argv, struct vm_config *cfg,
			      unsigned int *set, char *err, size_t errlen)
{
	int c;

	config_init(cfg);
	*set = 0;

	/* getopt keeps state in globals: reset it so parsing is repeatable */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, run_optstring, run_options,
				NULL)) != -1) {
		switch (c) {
		case 'k': COPY_ARG("--kernel", cfg->kernel); *set |= CFG_KERNEL; break;
		case 'i': COPY_ARG("--initrd", cfg->initrd); *set |= CFG_INITRD; break;
		case 'p': COPY_ARG("--cmdline", cfg->cmdline); *set |= CFG_CMDLINE; break;
		case 'm': {
			int r = parse_size(optarg, &cfg->mem_size);

			*set |= CFG_MEM;
			if (r == -ERANGE)
				fail("--mem %s: too large", optarg);
			if (r == -EDOM)
				fail("--mem %s: guest memory cannot be zero", optarg);
			if (r)
				fail("--mem %s: not a size (examples: 256M, 1G, 512)",
				     optarg);
			break;
		}
		case 'c':
			*set |= CFG_CPUS;
			if (parse_cpus(optarg, &cfg->cpus))
				fail("--cpus %s: not a number from 1 to %d",
				     optarg, VMM_MAX_CPUS);
			break;
		case OPT_CONSOLE:
			if (!strcmp(optarg, "stdio"))
				cfg->console = CONSOLE_STDIO;
			else if (!strcmp(optarg, "none"))
				cfg->console = CONSOLE_NONE;
			else if (!strcmp(optarg, "virtio"))
				cfg->console = CONSOLE_VIRTIO;
			else
				fail("--console %s: expected stdio, virtio or none",
				     optarg);
			break;
		case OPT_SERIAL_LOG: COPY_ARG("--serial-log", cfg->serial_log); break;
		case OPT_SERIAL_TIMESTAMPS: cfg->serial_timestamps = true; break;
		case OPT_GDB:
			if (!*optarg)
				fail("--gdb: expected a TCP port or a socket path");
			if (optarg[strspn(optarg, "0123456789")] == 0 &&
			    (strlen(optarg) > 5 || strtoul(optarg, NULL, 10) > 65535))
				fail("--gdb %s: not a TCP port (0 to 65535)", optarg);
			COPY_ARG("--gdb", cfg->gdb);
			break;
		case OPT_GDB_WAIT: cfg->gdb_wait = true; break;
		case OPT_RESTORE: COPY_ARG("--restore", cfg->restore); break;
		case OPT_MEM_FILE: COPY_ARG("--mem-file", cfg->restore_mem); break;
		case OPT_DISK:
			if (cfg->nr_disks == VMM_MAX_DISKS)
				fail("--disk: at most %d disks", VMM_MAX_DISKS);
			if (parse_disk(optarg, &cfg->disk[cfg->nr_disks], err,
				       errlen))
				return CLI_ERROR;
			cfg->nr_disks++;
			break;
		case OPT_NET:
			if (cfg->nr_nets == VMM_MAX_NETS)
				fail("--net: at most %d interfaces", VMM_MAX_NETS);
			if (parse_net(optarg, &cfg->net[cfg->nr_nets], err,
				      errlen))
				return CLI_ERROR;
			cfg->nr_nets++;
			break;
		case OPT_API_SOCK: COPY_ARG("--api-sock", cfg->api_sock); break;
		case OPT_API_SOCK_MODE: {
			char *end;
			unsigned long m = strtoul(optarg, &end, 8);

			if (!*optarg || *end || m > 07777)
				fail("--api-sock-mode %s: expected an octal mode like 0660",
				     optarg);
			cfg->api_sock_mode = (unsigned int)m;
			break;
		}
		case OPT_CONFIG_FILE: COPY_ARG("--config-file", cfg->config_file); break;
		case OPT_METRICS_PATH:
			COPY_ARG("--metrics-path", cfg->metrics_path);
			*set |= CFG_METRICS;
			break;
		case OPT_BOOT_TIMER: cfg->boot_timer_line = true; break;
		case OPT_ID: COPY_ARG("--id", cfg->id); *set |= CFG_ID; break;
		case OPT_GIC:
			if (!strcmp(optarg, "auto"))
				cfg->gic = 0;
			else if (!strcmp(optarg, "v2") || !strcmp(optarg, "v3"))
				cfg->gic = (unsigned int)(optarg[1] - '0');
			else
				fail("--gic %s: expected v2, v3 or auto", optarg);
			break;
		case OPT_DUMP_DTB: COPY_ARG("--dump-dtb", cfg->dump_dtb); break;
		case OPT_SMT: cfg->smt = true; *set |= CFG_SMT; break;
		case OPT_HUGE_PAGES: cfg->huge_pages = true; *set |= CFG_HUGE; break;
		case OPT_BUNDLE: COPY_ARG("--bundle", cfg->bundle); break;
		case OPT_NO_SECCOMP: cfg->no_seccomp = true; break;
		case OPT_SECCOMP_FILTER:
			COPY_ARG("--seccomp-filter", cfg->seccomp_filter);
			break;
		case 'q': cfg->quiet = true; break;
		case 'v': cfg->verbose++; break;
		case 'h': return CLI_HELP;
		case ':':
			fail("option %s needs a value", argv[optind - 1]);
		default: {
			/*
			 * In a cluster like -xq glibc has not moved past the
			 * argument yet: name the letter, not the argument.
			 */
			const char *arg = argv[optind - 1];

			if (optopt && strncmp(arg, "--", 2))
				fail("unknown option -%c (see vmm run --help)",
				     optopt);
			fail("unknown option %s (see vmm run --help)", arg);
		}
		}
	}
	if (cfg->bundle[0]) {
		/* vmm makes the initramfs and owns the console */
		if (cfg->initrd[0])
			fail("--bundle: no --initrd (vmm makes the initramfs)");
		if (cfg->config_file[0] || cfg->api_sock[0])
			fail("--bundle: no --config-file or --api-sock");
		if (cfg->console != CONSOLE_STDIO)
			fail("--bundle: no --console (the process has the "
			     "terminal; --serial-log has the guest's messages)");
		if (cfg->gdb[0])
			fail("--bundle: no --gdb (debug the VM itself with "
			     "vmm run -k KERNEL --gdb ...)");
		if (optind < argc)
			cfg->bundle_args = optind;
	} else if (optind < argc) {
		fail("unexpected argument '%s' (see vmm run --help)", argv[optind]);
	}
	if (cfg->gdb_wait && !cfg->gdb[0])
		fail("--gdb-wait needs --gdb PORT|SOCKET");
	if (cfg->restore[0] && !cfg->restore_mem[0])
		fail("--restore needs --mem-file MEM (the snapshot's memory file)");
	if (cfg->restore_mem[0] && !cfg->restore[0])
		fail("--mem-file is for --restore SNAPSHOT");
	/* the snapshot holds the VM's configuration */
	if (cfg->restore[0] && ((*set & ~(unsigned int)(CFG_METRICS | CFG_ID)) || cfg->nr_nets ||
				cfg->config_file[0] || cfg->bundle[0] ||
				cfg->gdb_wait))
		fail("--restore: the snapshot holds the VM's configuration "
		     "(no --kernel, --initrd, --cmdline, --mem, --cpus, --smt, "
		     "--huge-pages, --net, --config-file, --bundle, --gdb-wait; "
		     "--disk PATH,id=ID gives one of its drives another file)");
	/* the API or a config file may bring the kernel later */
	if (!cfg->kernel[0] && !cfg->api_sock[0] && !cfg->config_file[0] &&
	    !cfg->bundle[0] && !cfg->restore[0])
		fail("no kernel given: vmm run --kernel FILE (see vmm run --help)");
	if (cfg->no_seccomp && cfg->seccomp_filter[0])
		fail("--no-seccomp and --seccomp-filter contradict each other");
	if (cfg->mem_size < VMM_MIN_MEM)
		fail("--mem: at least %llu MiB is needed", VMM_MIN_MEM >> 20);
	if (cfg->mem_size % (1ULL << 20))
		fail("--mem: must be a whole number of MiB");
	if (cfg->mem_size > VMM_MAX_MEM)
		fail("--mem: at most %llu GiB is supported", VMM_MAX_MEM >> 30);
	if (cfg->smt && cfg->cpus > 1 && cfg->cpus % 2)
		fail("--smt: needs an even --cpus (two threads per core), not %u",
		     cfg->cpus);
	return CLI_OK;
}
