/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing for `vmm run`. Pure (no I/O besides what it is
 * given), so the unit tests drive it directly.
 */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum cli_result {
	CLI_OK,    /* cfg filled: run the VM */
	CLI_HELP,  /* --help was asked for: print cli_run_usage, exit 0 */
	CLI_ERROR, /* err holds one line saying what is wrong */
};

/*
 * Parse `run`'s options (argv[0] is "run") over config_init()'s defaults.
 * *set tells which config_field_bit fields the command line gave, for
 * config_overlay() over a --config-file.
 */
enum cli_result cli_parse_run(int argc, char **argv, struct vm_config *cfg,
			      unsigned int *set, char *err, size_t errlen);

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

/* What kind of file a `vmm run` option names (for vmm jail). */
enum cli_path {
	CLI_PATH_READ,    /* vmm reads it: --kernel, --initrd, --seccomp-filter */
	CLI_PATH_DISK,    /* --disk PATH[,...]: read, or read and written */
	CLI_PATH_WRITE,   /* vmm writes it: --serial-log, --metrics-path, --dump-dtb */
	CLI_PATH_SOCKET,  /* vmm makes it: --api-sock */
	CLI_PATH_CONFIG,  /* --config-file, which names more files */
};

struct cli_path_arg {
	const char *opt;       /* "--kernel", for messages */
	enum cli_path kind;
	int argi;              /* the name is argv[argi][off, off + len) */
	size_t off, len;
	const char *value;     /* the whole option value (a disk's options) */
};

/*
 * Every file name in run's options, in order, whichever way each option
 * was written (-kFILE, -k FILE, --kernel=FILE, --kernel FILE). argv[0]
 * is "run"; argv must pass cli_parse_run(). Calls fn(ctx, a) for each;
 * returns the first non-zero value fn returns, else 0.
 */
int cli_run_paths(int argc, char **argv,
		  int (*fn)(void *ctx, const struct cli_path_arg *a), void *ctx);

extern const char cli_run_usage[];
extern const char cli_main_usage[];
extern const char cli_jail_usage[];

#endif
