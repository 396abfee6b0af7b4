// SPDX-License-Identifier: MIT
/* vmm's entry point: commands, then the VM's lifecycle. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "config.h"
#include "ctl.h"
#include "jail.h"
#include "log.h"
#include "metrics.h"
#include "vmm.h"

#define CONFIG_FILE_MAX (1 << 20)

/* --config-file: a Firecracker-shaped JSON document, applied to cfg. */
static int load_config_file(const char *path, struct vm_config *cfg)
{
	char err[256], *buf = NULL;
	json_object *doc;
	struct stat st;
	ssize_t n = -1;
	int fd, ret;

	/* a FIFO or device must not block vmm here */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		error("--config-file %s: %s", path, strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX) {
		ret = -EINVAL;
		error("--config-file %s: %s", path, S_ISREG(st.st_mode) ?
		      "larger than 1 MiB" : "not a regular file");
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf)
		n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		ret = buf ? -EIO : -ENOMEM;
		error("--config-file %s: cannot read it", path);
		goto out;
	}
	ret = config_parse_json(buf, (size_t)n, &doc, err, sizeof(err));
	if (!ret) {
		ret = config_from_json(cfg, doc, err, sizeof(err));
		json_object_put(doc);
	}
	if (ret)
		error("--config-file %s: %s", path, err);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * The configuration: the command line, over --config-file's when given
 * (config_overlay() states the rule), then its logger section applied.
 */
static int make_config(int argc, char **argv, struct vm_config *cfg)
{
	struct vm_config cli;
	unsigned int set;
	char err[256];

	switch (cli_parse_run(argc, argv, &cli, &set, err, sizeof(err))) {
	case CLI_HELP:
		fputs(cli_run_usage, stdout);
		return 1;
	case CLI_ERROR:
		error("%s", err);
		return -EINVAL;
	case CLI_OK:
		break;
	}
	*cfg = cli;
	if (cli.config_file[0]) {
		config_init(cfg);
		if (load_config_file(cli.config_file, cfg))
			return -EINVAL;
		if (config_overlay(cfg, &cli, set, err, sizeof(err))) {
			error("%s", err);
			return -EINVAL;
		}
	}
	if (cfg->log.set &&
	    log_configure(cfg->log.path, cfg->log.level, cfg->log.show_level,
			  cfg->log.show_origin, err, sizeof(err))) {
		error("logger: %s", err);
		return -EINVAL;
	}
	/* -q and -v are the last word on verbosity */
	if (cfg->quiet)
		log_set_level(LOG_WARN);
	if (cfg->verbose)
		log_set_level(LOG_DEBUG);
	return 0;
}

static int cmd_run(int argc, char **argv, uint64_t t_start)
{
	static struct vm vm; /* large: keep it off the stack */
	struct vm_config cfg;
	bool wait_api;
	int ret;

	ret = make_config(argc, argv, &cfg);
	if (ret)
		return ret > 0 ? 0 : 1;

	/* start-up errors were reported where they happened: one line */
	ret = vm_init(&vm, &cfg, t_start);
	if (!ret && cfg.api_sock[0])
		ret = api_create(&vm, cfg.api_sock, cfg.api_sock_mode, &vm.api);
	wait_api = !vm.cfg.kernel[0];
	if (!ret && wait_api)
		info("waiting on %s for the configuration and InstanceStart",
		     vm.cfg.api_sock);
	while (!ret && !vm_stopping(&vm)) {
		if (wait_api && (ret = vm_wait_for_start(&vm)))
			break;
		if (vm_stopping(&vm))
			break;
		ret = vm_boot(&vm);
		api_start_result(vm.api, ret, log_last_error());
		if (!ret) {
			ret = vm_run(&vm);
			break;
		}
		/* a refused InstanceStart changes nothing: fix it, try again */
		if (!vm_started_by_api(&vm))
			break;
		vm_unboot(&vm);
		ret = 0;
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
		return ctl_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "jail"))
		return jail_main(argc - 1, argv + 1);
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
