// SPDX-License-Identifier: MIT
/* vmm's entry point: commands, then the VM's lifecycle. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "vmm.h"

static int cmd_run(int argc, char **argv, uint64_t t_start)
{
	static struct vm vm; /* large: keep it off the stack */
	struct vm_config cfg;
	char err[256];
	int ret;

	switch (cli_parse_run(argc, argv, &cfg, err, sizeof(err))) {
	case CLI_HELP:
		fputs(cli_run_usage, stdout);
		return 0;
	case CLI_ERROR:
		error("%s", err);
		return 1;
	case CLI_OK:
		break;
	}
	if (cfg.quiet)
		log_set_level(LOG_WARN);
	if (cfg.verbose)
		log_set_level(LOG_DEBUG);

	/* start-up errors were reported where they happened: one line */
	ret = vm_init(&vm, &cfg, t_start);
	if (!ret)
		ret = vm_boot(&vm);
	if (ret) {
		vm_destroy(&vm);
		return 1;
	}
	ret = vm_run(&vm);
	vm_destroy(&vm);
	if (ret && !vm_stopping(&vm))
		return 1;

	if (vm_exit_status(&vm))
		error("%s", vm.stop_msg);
	else
		info("%s", vm.stop_msg);
	return vm_exit_status(&vm);
}

int main(int argc, char **argv)
{
	uint64_t t_start = monotonic_ns();
	const char *cmd = argc > 1 ? argv[1] : "help";

	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1, t_start);
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("vmm %s\n", VMM_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(cli_main_usage, stdout);
		return argc > 1 ? 0 : 1;
	}
	error("unknown command '%s' (see vmm --help)", cmd);
	return 1;
}
