// SPDX-License-Identifier: MIT
/* Firecracker's command line (fccli.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fccli.h"
#include "http.h"
#include "log.h"

const char fc_usage[] =
"usage: firecracker [OPTIONS]        (vmm, answering Firecracker's API)\n"
"\n"
"Run a VM configured over the API socket (or from --config-file), as\n"
"Firecracker does; the same as `vmm run` with Firecracker's flags.\n"
"\n"
"  --api-sock PATH        the API socket (default: " FC_DEFAULT_API_SOCK ")\n"
"  --id ID                the instance's id (default: anonymous-instance)\n"
"  --config-file FILE     boot at once from this configuration\n"
"  --no-api               no API socket (needs --config-file)\n"
"  --log-path PATH        messages to PATH (a file or FIFO)\n"
"  --level LEVEL          Error, Warning, Info, Debug or Trace\n"
"  --show-level           prefix messages with their level\n"
"  --show-log-origin      and with their source file and line\n"
"  --module NAME          accepted; vmm has one module\n"
"  --metrics-path PATH    metrics as JSON lines: every 60 s, on\n"
"                         FlushMetrics and at exit\n"
"  --boot-timer           accepted: vmm's boot timer is always there\n"
"  --seccomp-filter FILE  the seccomp filters to install (Firecracker's\n"
"                         JSON format)\n"
"  --no-seccomp           no seccomp filters\n"
"  --start-time-us US     when the launcher started (CLOCK_MONOTONIC):\n"
"                         the boot timeline counts from there\n"
"  --start-time-cpu-us US, --parent-cpu-time-us US\n"
"                         the launcher's CPU time, for the metrics\n"
"  --http-api-max-payload-size BYTES\n"
"                         largest request body (default 51200; at most\n"
"                         65536)\n"
"  --mmds-size-limit BYTES accepted; vmm has no MMDS\n"
"  --enable-pci           virtio devices on PCI\n"
"  --snapshot-version     print the snapshot format version\n"
"  --describe-snapshot FILE  print a snapshot file's format version\n"
"  --version              print the API version answered, and vmm's\n"
"  -h, --help             this text\n";

enum {
	F_API_SOCK = 256, F_ID, F_CONFIG_FILE, F_NO_API, F_LOG_PATH, F_LEVEL,
	F_SHOW_LEVEL, F_SHOW_ORIGIN, F_MODULE, F_METRICS_PATH, F_BOOT_TIMER,
	F_SECCOMP_FILTER, F_NO_SECCOMP, F_START_TIME, F_START_CPU,
	F_PARENT_CPU, F_MAX_PAYLOAD, F_MMDS_LIMIT, F_ENABLE_PCI,
	F_SNAPSHOT_VERSION, F_DESCRIBE_SNAPSHOT, F_VERSION, F_METADATA,
};

static const struct option fc_options[] = {
	{ "api-sock", required_argument, NULL, F_API_SOCK },
	{ "id", required_argument, NULL, F_ID },
	{ "config-file", required_argument, NULL, F_CONFIG_FILE },
	{ "no-api", no_argument, NULL, F_NO_API },
	{ "log-path", required_argument, NULL, F_LOG_PATH },
	{ "level", required_argument, NULL, F_LEVEL },
	{ "show-level", no_argument, NULL, F_SHOW_LEVEL },
	{ "show-log-origin", no_argument, NULL, F_SHOW_ORIGIN },
	{ "module", required_argument, NULL, F_MODULE },
	{ "metrics-path", required_argument, NULL, F_METRICS_PATH },
	{ "boot-timer", no_argument, NULL, F_BOOT_TIMER },
	{ "seccomp-filter", required_argument, NULL, F_SECCOMP_FILTER },
	{ "no-seccomp", no_argument, NULL, F_NO_SECCOMP },
	{ "start-time-us", required_argument, NULL, F_START_TIME },
	{ "start-time-cpu-us", required_argument, NULL, F_START_CPU },
	{ "parent-cpu-time-us", required_argument, NULL, F_PARENT_CPU },
	{ "http-api-max-payload-size", required_argument, NULL, F_MAX_PAYLOAD },
	{ "mmds-size-limit", required_argument, NULL, F_MMDS_LIMIT },
	{ "metadata", required_argument, NULL, F_METADATA },
	{ "enable-pci", no_argument, NULL, F_ENABLE_PCI },
	{ "snapshot-version", no_argument, NULL, F_SNAPSHOT_VERSION },
	{ "describe-snapshot", required_argument, NULL, F_DESCRIBE_SNAPSHOT },
	{ "version", no_argument, NULL, F_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

bool fc_is_firecracker(int argc, char **argv)
{
	const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;

	base = base ? base + 1 : argv[0];
	if (base && !strcmp(base, "firecracker"))
		return true;
	if (argc < 2 || strncmp(argv[1], "--", 2) || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "--version"))
		return false;
	for (const struct option *o = fc_options; o->name; o++) {
		size_t n = strlen(o->name);

		if (!strncmp(argv[1] + 2, o->name, n) &&
		    (argv[1][2 + n] == 0 || argv[1][2 + n] == '='))
			return true;
	}
	return false;
}

#define fail(...) do { snprintf(err, errlen, __VA_ARGS__); return CLI_ERROR; } while (0)

#define COPY_ARG(opt, dst)                                                \
	do {                                                              \
		if (strlen(optarg) >= sizeof(dst))                        \
			fail("%s: longer than %zu bytes", opt,            \
			     sizeof(dst) - 1);                            \
		memcpy(dst, optarg, strlen(optarg) + 1);                  \
	} while (0)

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* Firecracker's rule: 1 to 64 characters, letters, digits and '-'. */
static bool valid_id(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static int level_of(const char *s)
{
	static const struct { const char *name; int level; } levels[] = {
		{ "Off", LOG_ERROR }, { "Error", LOG_ERROR },
		{ "Warning", LOG_WARN }, { "Warn", LOG_WARN },
		{ "Info", LOG_INFO }, { "Debug", LOG_DEBUG },
		{ "Trace", LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strcasecmp(s, levels[i].name))
			return levels[i].level;
	return -1;
}

enum cli_result fc_parse(int argc, char **argv, struct vm_config *cfg,
			 unsigned int *set, struct fc_opts *fc, char *err,
			 size_t errlen)
{
	int c;

	config_init(cfg);
	memset(fc, 0, sizeof(*fc));
	*set = 0;
	snprintf(cfg->api_sock, sizeof(cfg->api_sock), "%s", FC_DEFAULT_API_SOCK);
	fc->max_payload = 51200;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", fc_options, NULL)) != -1) {
		switch (c) {
		case F_API_SOCK: COPY_ARG("--api-sock", cfg->api_sock); break;
		case F_ID:
			if (!valid_id(optarg))
				fail("--id %s: 1 to 64 letters, digits and '-'", optarg);
			COPY_ARG("--id", cfg->id);
			*set |= CFG_ID;
			break;
		case F_CONFIG_FILE: COPY_ARG("--config-file", cfg->config_file); break;
		case F_NO_API: fc->no_api = true; break;
		case F_LOG_PATH:
			COPY_ARG("--log-path", cfg->log.path);
			cfg->log.set = true;
			break;
		case F_LEVEL:
			cfg->log.level = level_of(optarg);
			if (cfg->log.level < 0)
				fail("--level %s: expected Error, Warning, Info, Debug "
				     "or Trace", optarg);
			cfg->log.set = true;
			break;
		case F_SHOW_LEVEL: cfg->log.show_level = cfg->log.set = true; break;
		case F_SHOW_ORIGIN: cfg->log.show_origin = cfg->log.set = true; break;
		case F_MODULE: break; /* one module: everything matches */
		case F_METRICS_PATH:
			COPY_ARG("--metrics-path", cfg->metrics_path);
			*set |= CFG_METRICS;
			break;
		case F_BOOT_TIMER: break; /* always there */
		case F_SECCOMP_FILTER:
			COPY_ARG("--seccomp-filter", cfg->seccomp_filter);
			break;
		case F_NO_SECCOMP: cfg->no_seccomp = true; break;
		case F_START_TIME:
		case F_START_CPU:
		case F_PARENT_CPU: {
			uint64_t v;

			if (parse_u64(optarg, &v))
				fail("%s %s: expected microseconds", argv[optind - 1],
				     optarg);
			if (c == F_START_TIME)
				fc->start_time_us = v;
			else if (c == F_START_CPU)
				fc->start_time_cpu_us = v;
			else
				fc->parent_cpu_time_us = v;
			break;
		}
		case F_MAX_PAYLOAD:
			if (parse_u64(optarg, &fc->max_payload) || !fc->max_payload)
				fail("--http-api-max-payload-size %s: expected bytes",
				     optarg);
			if (fc->max_payload > HTTP_MAX_BODY)
				fail("--http-api-max-payload-size %s: vmm takes at "
				     "most %d bytes", optarg, HTTP_MAX_BODY);
			break;
		case F_MMDS_LIMIT: {
			uint64_t v;

			if (parse_u64(optarg, &v))
				fail("--mmds-size-limit %s: expected bytes", optarg);
			break;
		}
		case F_METADATA:
			fail("--metadata: MMDS (the metadata service) is not "
			     "supported by vmm");
		case F_ENABLE_PCI: fc->enable_pci = true; break;
		case F_SNAPSHOT_VERSION: fc->snapshot_version = true; break;
		case F_DESCRIBE_SNAPSHOT:
			COPY_ARG("--describe-snapshot", fc->describe_snapshot);
			break;
		case F_VERSION: fc->version = true; break;
		case 'h': return CLI_HELP;
		case ':':
			fail("option %s needs a value", argv[optind - 1]);
		default:
			fail("unknown option %s (see firecracker --help)",
			     argv[optind - 1]);
		}
	}
	if (optind < argc)
		fail("unexpected argument '%s' (see firecracker --help)", argv[optind]);
	if (fc->no_api && !cfg->config_file[0])
		fail("--no-api needs --config-file");
	if (cfg->no_seccomp && cfg->seccomp_filter[0])
		fail("--no-seccomp and --seccomp-filter exclude each other");
	if (fc->no_api)
		cfg->api_sock[0] = 0;
	return CLI_OK;
}
