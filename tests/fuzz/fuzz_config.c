// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the configuration JSON (vmm/config.c), as a config
 * file and as the API's PUT and PATCH bodies. The first byte picks the
 * entry point (the whole document, or one section: boot-source,
 * machine-config, drives/{id}, network-interfaces/{id}, logger, metrics,
 * vsock, entropy, serial, or a PATCH of machine-config, a drive, an
 * interface); the rest is the body.
 *
 * Checked: a refusal says why (a non-empty line); what a whole document
 * sets comes back from config_to_json() (GET /vm/config) as JSON that
 * config_parse_json() takes (valid UTF-8, so never what issue 11 found:
 * invalid bytes echoed back), and that, applied to a fresh
 * configuration, gives the same JSON again. ASan/UBSan catch the rest.
 *
 * Build: make fuzz (tests/fuzz/README); -DFUZZ_STANDALONE replays files.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/config.h"
#include "fuzz.h"

static struct vm_config cfg, back;

static int apply(unsigned int which, struct vm_config *c, json_object *o,
		 char *err, size_t n)
{
	struct vm_disk d;
	struct vm_net net;

	switch (which) {
	case 0: return config_from_json(c, o, err, n);
	case 1: return config_boot_source(c, o, err, n);
	case 2: return config_machine(c, o, err, n);
	case 3: return config_drive(c, "rootfs", o, err, n);
	case 4: return config_net(c, "eth0", o, err, n);
	case 5: return config_logger(c, o, err, n);
	case 6: return config_metrics(c, o, err, n);
	case 7: return config_vsock(c, o, err, n);
	case 8: return config_entropy(c, o, err, n);
	case 9: return config_serial(c, o, err, n);
	case 10: return config_machine_patch(c, o, err, n);
	case 11:
		return config_drive_patch(c, "rootfs", o, &d, err, n);
	default:
		return config_net_patch(c, "eth0", o, &net, err, n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	json_object *o, *out, *o2;
	const char *s1;
	char *copy;
	unsigned int which;
	int r;

	if (!size)
		return 0;
	which = data[0] % 13;
	config_init(&cfg);
	/* something for the PATCHes to find */
	cfg.nr_disks = 1;
	snprintf(cfg.disk[0].path, sizeof(cfg.disk[0].path), "/dev/null");
	snprintf(cfg.disk[0].id, sizeof(cfg.disk[0].id), "rootfs");
	cfg.nr_nets = 1;
	snprintf(cfg.net[0].id, sizeof(cfg.net[0].id), "eth0");
	snprintf(cfg.net[0].tap, sizeof(cfg.net[0].tap), "tap0");
	err[0] = 0;
	if (config_parse_json((const char *)data + 1, size - 1, &o, err,
			      sizeof(err))) {
		FUZZ_CHECK(err[0]);
		return 0;
	}
	err[0] = 0;
	r = apply(which, &cfg, o, err, sizeof(err));
	json_object_put(o);
	if (r) {
		FUZZ_CHECK(err[0]);
		return 0;
	}
	/* GET /vm/config of what was accepted */
	out = config_to_json(&cfg);
	FUZZ_CHECK(out);
	s1 = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN);
	copy = strdup(s1);
	FUZZ_CHECK(copy);
	json_object_put(out);
	if (config_parse_json(copy, strlen(copy), &o2, err, sizeof(err))) {
		fprintf(stderr, "GET /vm/config gave what it would refuse: %s: %s\n",
			err, copy);
		FUZZ_CHECK(0);
	}
	if (which == 0) {
		/* and that document, read again, says the same */
		config_init(&back);
		if (config_from_json(&back, o2, err, sizeof(err))) {
			fprintf(stderr, "refused its own output: %s: %s\n", err, copy);
			FUZZ_CHECK(0);
		}
		out = config_to_json(&back);
		s1 = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN);
		if (strcmp(s1, copy)) {
			fprintf(stderr, "not the same:\n%s\n%s\n", copy, s1);
			FUZZ_CHECK(0);
		}
		json_object_put(out);
	}
	json_object_put(o2);
	free(copy);
	return 0;
}
