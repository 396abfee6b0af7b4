// SPDX-License-Identifier: MIT
/* vmm's entry point: commands, then the VM's lifecycle. */
#include <stdio.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "evloop.h"
#include "log.h"
#include "metrics.h"
#include "vmm.h"

/* --config-file: a Firecracker-shaped JSON document, applied to vm->cfg. */
static int load_config_file(struct vm *vm)
{
	const char *path = vm->cfg.config_file;
	char err[256];
	json_object *doc;
	int ret;

	doc = json_object_from_file(path);
	if (!doc) {
		error("--config-file %s: %s", path, json_util_get_last_err());
		return -EINVAL;
	}
	ret = api_apply_config(&vm->cfg, doc, err, sizeof(err));
	json_object_put(doc);
	if (ret)
		error("--config-file %s: %s", path, err);
	return ret;
}

/* Before boot, with no kernel yet: serve the API until InstanceStart. */
static int wait_for_start(struct vm *vm)
{
	int ret;

	if (!vm->api) {
		error("no kernel: give --kernel, --config-file or --api-sock");
		return -EINVAL;
	}
	info("waiting on %s for the configuration and InstanceStart",
	     vm->cfg.api_sock);
	ret = evloop_run(vm, vm->loop);
	vm->loop_exit = false;
	return ret;
}

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
	if (!ret && cfg.config_file[0])
		ret = load_config_file(&vm);
	if (!ret && cfg.api_sock[0])
		ret = api_create(&vm, cfg.api_sock, cfg.api_sock_mode, &vm.api);
	if (!ret && !vm.cfg.kernel[0])
		ret = wait_for_start(&vm);
	if (!ret && !vm_stopping(&vm)) {
		ret = vm_boot(&vm);
		api_start_result(vm.api, ret, log_last_error());
		if (!ret)
			ret = vm_run(&vm);
	}
	if (vm.cfg.boot_timer_line)
		vm_print_timeline(&vm);
	if (vm.cfg.metrics_path[0] &&
	    (errno = -vm_write_metrics(&vm, vm.cfg.metrics_path)))
		error("--metrics-path %s: %s", vm.cfg.metrics_path,
		      strerror(errno));
	api_destroy(vm.api);
	vm.api = NULL;
	vm_destroy(&vm);
	if (ret && !vm_stopping(&vm))
		return 1;
	if (!vm_stopping(&vm))
		return 0;

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
	if (!strcmp(cmd, "ctl"))
		return api_ctl_main(argc - 1, argv + 1);
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
