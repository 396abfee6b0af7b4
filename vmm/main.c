// SPDX-License-Identifier: MIT
/* vmm's entry point: commands, then the VM's lifecycle. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "config.h"
#include "ctl.h"
#include "evloop.h"
#include "fccli.h"
#include "jail.h"
#include "gdb.h"
#include "log.h"
#include "metrics.h"
#include "run_bundle.h"
#include "snapfile.h"
#include "snapshot.h"
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
/*
 * The configuration: the command line (cli), over --config-file's when
 * given (config_overlay() states the rule), then its logger section
 * applied. 0 or -EINVAL, with one error line.
 */
static int finish_config(const struct vm_config *cli, unsigned int set,
			 struct vm_config *cfg)
{
	char err[256];

	*cfg = *cli;
	if (cli->config_file[0]) {
		config_init(cfg);
		if (load_config_file(cli->config_file, cfg))
			return -EINVAL;
		if (config_overlay(cfg, cli, set, err, sizeof(err))) {
			error("%s", err);
			return -EINVAL;
		}
		/* the command line's logger flags win over the file's */
		if (cli->log.set)
			cfg->log = cli->log;
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

/* Is --bundle among the options (before a "--")? For its exit status. */
static bool wants_bundle(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--bundle") ||
		    !strncmp(argv[i], "--bundle=", 9))
			return true;
	return false;
}

/* Every 60 s, as Firecracker does, the metrics go to metrics_path too. */
static void metrics_tick(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t v;
	int ret;

	(void)events;
	if (read(vm->metrics_timer, &v, sizeof(v)) < 0 || !vm->cfg.metrics_path[0])
		return;
	ret = vm_write_metrics(vm, vm->cfg.metrics_path);
	if (ret)
		warn("metrics %s: %s", vm->cfg.metrics_path, strerror(-ret));
}

static int start_metrics_timer(struct vm *vm)
{
	struct itimerspec it = { { 60, 0 }, { 60, 0 } };

	vm->metrics_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (vm->metrics_timer < 0 ||
	    timerfd_settime(vm->metrics_timer, 0, &it, NULL) < 0)
		return -errno;
	return evloop_add(vm->loop, vm->metrics_timer, EPOLLIN, metrics_tick, vm);
}

/* Launch options that are not the VM's configuration. */
struct launch {
	size_t max_body;     /* the API's largest request body (0: default) */
	bool firecracker;    /* started as Firecracker */
};

/* The VM's life: API, boot (retried after a refused InstanceStart), run. */
static int run(const struct vm_config *cfg, uint64_t t_start,
	       const struct launch *l)
{
	static struct vm vm; /* large: keep it off the stack */
	bool wait_api;
	int ret;

	/* start-up errors were reported where they happened: one line */
	ret = vm_init(&vm, cfg, t_start);
	if (!ret)
		ret = start_metrics_timer(&vm);
	if (!ret && cfg->api_sock[0]) {
		ret = api_create(&vm, cfg->api_sock, cfg->api_sock_mode, &vm.api);
		if (!ret && l->max_body)
			api_set_max_body(vm.api, l->max_body);
	}
	wait_api = !vm.cfg.kernel[0] && !vm.cfg.restore[0];
	if (!ret && wait_api)
		info("waiting on %s for the configuration and InstanceStart",
		     vm.cfg.api_sock);
	while (!ret && !vm_stopping(&vm)) {
		if (wait_api && (ret = vm_wait_for_start(&vm)))
			break;
		if (vm_stopping(&vm))
			break;
		ret = vm_boot(&vm);
		if (!ret && vm.cfg.gdb[0])
			ret = gdb_server_create(&vm, &vm.gdb);
		api_start_result(vm.api, ret, log_last_error());
		if (!ret) {
			if (l->firecracker && !wait_api)
				info("Successfully started microvm that was "
				     "configured from one single json");
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
	ret = vm_exit_status(&vm);
	/* Firecracker's test framework reads the status from the log */
	if (l->firecracker)
		info("Firecracker exiting %s. exit_code=%d",
		     ret ? "with error" : "successfully", ret);
	return ret;
}

static int cmd_run(int argc, char **argv, uint64_t t_start)
{
	struct launch l = { 0 };
	struct vm_config cli, cfg;
	unsigned int set;
	char err[256];

	switch (cli_parse_run(argc, argv, &cli, &set, err, sizeof(err))) {
	case CLI_HELP:
		fputs(cli_run_usage, stdout);
		return 0;
	case CLI_ERROR:
		error("%s", err);
		/* as container runtimes fail */
		return wants_bundle(argc, argv) ? 125 : 1;
	case CLI_OK:
		break;
	}
	if (finish_config(&cli, set, &cfg))
		return wants_bundle(argc, argv) ? 125 : 1;
	if (cfg.bundle[0])
		return run_bundle(&cfg, argc, argv, t_start);
	return run(&cfg, t_start, &l);
}

/* vmm started as Firecracker: its flags, its defaults, its log lines. */
static int cmd_firecracker(int argc, char **argv, uint64_t t_start)
{
	struct launch l = { .firecracker = true };
	struct vm_config cli, cfg;
	struct fc_opts fc;
	unsigned int set;
	char err[256];

	switch (fc_parse(argc, argv, &cli, &set, &fc, err, sizeof(err))) {
	case CLI_HELP:
		printf("Firecracker v%s\n\n%s", VMM_FIRECRACKER_API, fc_usage);
		return 0;
	case CLI_ERROR:
		error("%s", err);
		return 1;
	case CLI_OK:
		break;
	}
	if (fc.version) {
		/* Kata and others parse the first line */
		printf("Firecracker v%s\n\nvmm %s, answering Firecracker's API "
		       "%s\n", VMM_FIRECRACKER_API, VMM_VERSION, VMM_FIRECRACKER_API);
		return 0;
	}
	if (fc.snapshot_version) {
		printf("v%u.%u.0\n", SNAP_VERSION_MAJOR, SNAP_VERSION_MINOR);
		return 0;
	}
	if (fc.describe_snapshot[0]) {
		char v[32];

		if (snapshot_describe(fc.describe_snapshot, v, sizeof(v), err,
				      sizeof(err))) {
			error("--describe-snapshot %s", err);
			return 1;
		}
		printf("%s\n", v);
		return 0;
	}
	if (fc.enable_pci) {
		error("--enable-pci: virtio-pci is not supported by vmm yet");
		return 1;
	}
	if (finish_config(&cli, set, &cfg))
		return 1;
	/* the launcher's start: the boot timeline counts from there */
	if (fc.start_time_us && fc.start_time_us * 1000 <= t_start)
		t_start = fc.start_time_us * 1000;
	l.max_body = fc.max_payload;
	info("Running Firecracker v%s (vmm %s)", VMM_FIRECRACKER_API, VMM_VERSION);
	return run(&cfg, t_start, &l);
}

int main(int argc, char **argv)
{
	uint64_t t_start = monotonic_ns();
	const char *cmd = argc > 1 ? argv[1] : "help";

	if (fc_is_firecracker(argc, argv))
		return cmd_firecracker(argc, argv, t_start);
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
