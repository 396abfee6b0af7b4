/* SPDX-License-Identifier: MIT */
/*
 * Firecracker's command line (its src/firecracker/src/main.rs flags), so
 * that vmm installed as `firecracker` — or started as `vmm --api-sock S
 * --id ID ...` — runs what Firecracker's clients launch, unmodified. It
 * maps onto `vmm run`'s configuration; pure, like cli.c.
 */
#ifndef VMM_FCCLI_H
#define VMM_FCCLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

#define FC_DEFAULT_API_SOCK "/run/firecracker.socket"

/* What Firecracker's flags ask for beyond struct vm_config. */
struct fc_opts {
	bool version;              /* --version: print and exit */
	bool snapshot_version;     /* --snapshot-version */
	char describe_snapshot[VMM_PATH_MAX];
	bool no_api;               /* --no-api (needs --config-file) */
	uint64_t start_time_us;    /* --start-time-us, CLOCK_MONOTONIC; 0 */
	uint64_t start_time_cpu_us;
	uint64_t parent_cpu_time_us;
	uint64_t max_payload;      /* --http-api-max-payload-size */
	bool enable_pci;           /* --enable-pci */
};

/* Is this a Firecracker command line (by program name or first flag)? */
bool fc_is_firecracker(int argc, char **argv);

/*
 * Parse it (argv[0] is the program). CLI_HELP for --help; CLI_OK with cfg
 * (over config_init()'s defaults, the API socket at FC_DEFAULT_API_SOCK
 * unless --no-api), *set as cli_parse_run() gives it, and *fc.
 */
enum cli_result fc_parse(int argc, char **argv, struct vm_config *cfg,
			 unsigned int *set, struct fc_opts *fc, char *err,
			 size_t errlen);

extern const char fc_usage[];

#endif
