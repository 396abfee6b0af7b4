/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing for `vmm run`. Pure (no I/O besides what it is
 * given), so the unit tests drive it directly.
 */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

#define VMM_DEFAULT_MEM     (256ULL << 20)
#define VMM_DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1"
#define VMM_MIN_MEM         (2ULL << 20)
#define VMM_MAX_MEM         (1ULL << 40)

enum cli_result {
	CLI_OK,    /* cfg filled: run the VM */
	CLI_HELP,  /* --help was asked for: print cli_run_usage(), exit 0 */
	CLI_ERROR, /* err holds one line saying what is wrong */
};

/*
 * Parse `run`'s options (argv[0] is "run"). Defaults: 256 MiB, 1 vCPU,
 * console on stdio, VMM_DEFAULT_CMDLINE.
 */
enum cli_result cli_parse_run(int argc, char **argv, struct vm_config *cfg,
			      char *err, size_t errlen);

/*
 * A memory size: a number with an optional K, M, G or T suffix (an
 * optional "iB" or "B" may follow); a bare number means MiB, as in
 * kvmtool. Returns 0, -EINVAL (garbage), -EDOM (zero) or -ERANGE
 * (overflow).
 */
int parse_size(const char *s, uint64_t *out);

/*
 * --disk PATH[,ro][,id=NAME] and --net tap=NAME[,mac=MAC]. Return 0 or
 * -EINVAL with one line in err.
 */
int parse_disk(const char *s, struct vm_disk *d, char *err, size_t errlen);
int parse_net(const char *s, struct vm_net *n, char *err, size_t errlen);

extern const char cli_run_usage[];
extern const char cli_main_usage[];

#endif
