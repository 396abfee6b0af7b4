// SPDX-License-Identifier: MIT
/*
 * The configuration module: JSON documents and sections to struct
 * vm_config and back, the rule for --config-file beside command-line
 * options, and the one MAC parser.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/config.h"
#include "../../vmm/log.h"
#include "unit.h"

/* Parse text as a whole document over the defaults; 0 or -EINVAL. */
static int doc(struct vm_config *cfg, const char *text, char *err, size_t n)
{
	json_object *o;
	int ret;

	config_init(cfg);
	ret = config_parse_json(text, strlen(text), &o, err, n);
	if (ret)
		return ret;
	ret = config_from_json(cfg, o, err, n);
	json_object_put(o);
	return ret;
}

static bool says(const char *err, const char *what)
{
	return strstr(err, what) != NULL;
}

TEST(whole_document)
{
	int rc;
	static struct vm_config cfg;
	char err[256] = "";

	rc = doc(&cfg,
		"{\"boot-source\": {\"kernel_image_path\": \"/k\", "
		"  \"boot_args\": \"console=ttyS0\", \"initrd_path\": \"/i\"},"
		" \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 128},"
		" \"drives\": [{\"drive_id\": \"root\", \"path_on_host\": \"/r.img\","
		"   \"is_root_device\": true, \"is_read_only\": true},"
		"  {\"drive_id\": \"data\", \"path_on_host\": \"/d.img\","
		"   \"is_root_device\": false}],"
		" \"network-interfaces\": [{\"iface_id\": \"eth0\","
		"   \"host_dev_name\": \"tap0\", \"guest_mac\": \"52:54:00:12:34:56\"}],"
		" \"logger\": {\"log_path\": \"/tmp/l\", \"level\": \"Debug\","
		"   \"show_level\": true},"
		" \"metrics\": {\"metrics_path\": \"/tmp/m\"}}\n", err, sizeof(err));
	CHECK_EQ(rc, 0);
	CHECK(!strcmp(cfg.kernel, "/k"));
	CHECK(!strcmp(cfg.cmdline, "console=ttyS0"));
	CHECK(!strcmp(cfg.initrd, "/i"));
	CHECK_EQ(cfg.cpus, 2);
	CHECK_EQ(cfg.mem_size, 128ULL << 20);
	CHECK_EQ(cfg.nr_disks, 2);
	CHECK(!strcmp(cfg.disk[0].id, "root") && cfg.disk[0].root &&
	      cfg.disk[0].read_only);
	CHECK(!strcmp(cfg.disk[1].path, "/d.img") && !cfg.disk[1].root);
	CHECK_EQ(cfg.nr_nets, 1);
	CHECK(!strcmp(cfg.net[0].tap, "tap0") && cfg.net[0].mac_set &&
	      cfg.net[0].mac[5] == 0x56);
	CHECK(cfg.log.set && !strcmp(cfg.log.path, "/tmp/l"));
	CHECK_EQ(cfg.log.level, LOG_DEBUG);
	CHECK(cfg.log.show_level && !cfg.log.show_origin);
	CHECK(!strcmp(cfg.metrics_path, "/tmp/m"));
}

TEST(defaults_kept_for_what_is_absent)
{
	int rc;
	static struct vm_config cfg;
	char err[256];

	rc = doc(&cfg, "{\"boot-source\": {\"kernel_image_path\": \"/k\"}}",
		     err, sizeof(err));
	CHECK_EQ(rc, 0);
	CHECK_EQ(cfg.cpus, 1);
	CHECK_EQ(cfg.mem_size, VMM_DEFAULT_MEM);
	CHECK(!strcmp(cfg.cmdline, VMM_DEFAULT_CMDLINE));
	CHECK(!cfg.log.set);
	CHECK_EQ(cfg.log.level, -1);
}

TEST(null_is_absent_for_optional_fields)
{
	int rc;
	static struct vm_config cfg;
	char err[256];

	rc = doc(&cfg, "{\"boot-source\": {\"kernel_image_path\": \"/k\","
		     " \"initrd_path\": null, \"boot_args\": null},"
		     " \"network-interfaces\": null, \"drives\": null}",
		     err, sizeof(err));
	CHECK_EQ(rc, 0);
	CHECK(!cfg.initrd[0]);
	CHECK(!strcmp(cfg.cmdline, VMM_DEFAULT_CMDLINE));
	/* but a required one may not be null */
	rc = doc(&cfg, "{\"boot-source\": {\"kernel_image_path\": null}}",
		     err, sizeof(err));
	CHECK_EQ(rc, -EINVAL);
	CHECK(says(err, "'kernel_image_path' must be string"));
}

TEST(malformed_documents)
{
	static const struct { const char *text, *why; } bad[] = {
		{ "", "invalid JSON" },
		{ "{", "invalid JSON" },
		{ "[]", "must be a JSON object" },
		{ "{} {}", "trailing data" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\"}} x", "trailing data" },
		{ "{}", "missing field 'boot-source'" },
		{ "{\"boot-source\": 5}", "'boot-source' must be object" },
		{ "{\"boot-source\": {\"kernel_image_path\": 5}}",
		  "'kernel_image_path' must be string" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"frob\": 1}",
		  "unknown field 'frob'" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\", \"x\": 1}}",
		  "unknown field 'x'" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		  " \"machine-config\": {\"vcpu_count\": 0, \"mem_size_mib\": 64}}",
		  "vcpu_count must be 1 to" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		  " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 1}}",
		  "mem_size_mib must be" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		  " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 99999999999}}",
		  "mem_size_mib must be" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		  " \"machine-config\": {\"vcpu_count\": 1.5, \"mem_size_mib\": 64}}",
		  "'vcpu_count' must be int" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		  " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64,"
		  " \"virtio_transport\": \"isa\"}}",
		  "expected mmio or pci" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		  " \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\","
		  " \"is_root_device\": true}, {\"drive_id\": \"b\","
		  " \"path_on_host\": \"/b\", \"is_root_device\": true}]}",
		  "already the root device" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		  " \"drives\": [{\"drive_id\": \"\", \"path_on_host\": \"/a\","
		  " \"is_root_device\": false}]}", "drive_id is empty" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		  " \"network-interfaces\": [{\"iface_id\": \"e\","
		  " \"host_dev_name\": \"tap0\", \"guest_mac\": \"01:00:00:00:00:01\"}]}",
		  "not a unicast MAC" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		  " \"network-interfaces\": [{\"iface_id\": \"e\","
		  " \"host_dev_name\": \"0123456789abcdefg\"}]}",
		  "host_dev_name is longer than 15 bytes" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		  " \"logger\": {\"level\": \"Loud\"}}", "level 'Loud'" },
		/* a NUL inside a path would make it another path */
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\\u0000/x\"}}",
		  "holds a NUL byte" },
	};
	static struct vm_config cfg;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";

		if (doc(&cfg, bad[i].text, err, sizeof(err)) != -EINVAL ||
		    !says(err, bad[i].why)) {
			*unit_failed = 1;
			snprintf(unit_why, sizeof(unit_why), "%s: got '%s', want '%s'",
				 bad[i].text, err, bad[i].why);
			return;
		}
	}
}

TEST(invalid_utf8_is_refused)
{
	static const char *const bad[] = {
		"{\"a\": \"\xff\"}",
		"{\"a\": \"\xc3\"}",          /* cut short */
		"{\"a\": \"\xed\xa0\x80\"}",  /* a surrogate */
		"{\"a\": \"\xc0\xaf\"}",      /* overlong '/' */
		"{\"a\": \"\xf4\x90\x80\x80\"}", /* above U+10FFFF */
	};
	json_object *o;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(config_parse_json(bad[i], strlen(bad[i]), &o, err,
					   sizeof(err)), -EINVAL);
	CHECK_EQ(config_parse_json("{\"a\": \"\xc3\xa9\"}", 11, &o, err,
				   sizeof(err)), 0);
	json_object_put(o);
	/* an escaped lone surrogate becomes U+FFFD: what is kept is UTF-8 */
	{
		static struct vm_config cfg;
		const char *t = "{\"kernel_image_path\": \"/k\\ud800\"}";
		int r;

		config_init(&cfg);
		CHECK_EQ(config_parse_json(t, strlen(t), &o, err, sizeof(err)), 0);
		r = config_boot_source(&cfg, o, err, sizeof(err));
		json_object_put(o);
		CHECK_EQ(r, 0);
		CHECK(!strcmp(cfg.kernel, "/k\xef\xbf\xbd"));
	}
}

TEST(refused_section_changes_nothing)
{
	static struct vm_config cfg, before;
	char err[256];
	const char *t;
	json_object *o;

	config_init(&cfg);
	strcpy(cfg.kernel, "/old");
	before = cfg;
	/* a good path but a bad initrd type: the kernel must not change */
	t = "{\"kernel_image_path\": \"/new\", \"initrd_path\": 3}";
	CHECK_EQ(config_parse_json(t, strlen(t), &o, err, sizeof(err)), 0);
	CHECK_EQ(config_boot_source(&cfg, o, err, sizeof(err)), -EINVAL);
	json_object_put(o);
	CHECK(!memcmp(&cfg, &before, sizeof(cfg)));
	/* a second root device is refused, and the first stays */
	t = "{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": true}";
	CHECK_EQ(config_parse_json(t, strlen(t), &o, err, sizeof(err)), 0);
	CHECK_EQ(config_drive(&cfg, "a", o, err, sizeof(err)), 0);
	json_object_put(o);
	before = cfg;
	t = "{\"drive_id\": \"b\", \"path_on_host\": \"/b\", \"is_root_device\": true}";
	CHECK_EQ(config_parse_json(t, strlen(t), &o, err, sizeof(err)), 0);
	CHECK_EQ(config_drive(&cfg, "b", o, err, sizeof(err)), -EINVAL);
	json_object_put(o);
	CHECK(!memcmp(&cfg, &before, sizeof(cfg)));
}

TEST(drive_path_id_must_agree)
{
	static struct vm_config cfg;
	char err[256];
	json_object *o;
	const char *t = "{\"drive_id\": \"a\", \"path_on_host\": \"/a\","
			" \"is_root_device\": false}";

	config_init(&cfg);
	CHECK_EQ(config_parse_json(t, strlen(t), &o, err, sizeof(err)), 0);
	CHECK_EQ(config_drive(&cfg, "b", o, err, sizeof(err)), -EINVAL);
	CHECK(says(err, "differs from the path's 'b'"));
	/* PUT with the same id replaces */
	CHECK_EQ(config_drive(&cfg, "a", o, err, sizeof(err)), 0);
	CHECK_EQ(config_drive(&cfg, "a", o, err, sizeof(err)), 0);
	CHECK_EQ(cfg.nr_disks, 1);
	json_object_put(o);
}

TEST(too_many_drives)
{
	static struct vm_config cfg;
	char err[256], t[160];
	json_object *o;

	config_init(&cfg);
	for (int i = 0; i <= VMM_MAX_DISKS; i++) {
		int ret;

		snprintf(t, sizeof(t), "{\"drive_id\": \"d%d\", \"path_on_host\":"
			 " \"/d\", \"is_root_device\": false}", i);
		CHECK_EQ(config_parse_json(t, strlen(t), &o, err, sizeof(err)), 0);
		ret = config_drive(&cfg, NULL, o, err, sizeof(err));
		json_object_put(o);
		CHECK_EQ(ret, i < VMM_MAX_DISKS ? 0 : -EINVAL);
	}
	CHECK(says(err, "at most"));
	CHECK_EQ(cfg.nr_disks, VMM_MAX_DISKS);
}

/* GET /vm/config's document, read back, is the same configuration. */
TEST(machine_pit_and_transport)
{
	static struct vm_config a, b;
	char err[256];
	json_object *o;

	CHECK_EQ(doc(&a, "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		     " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64,"
		     " \"pit\": true, \"virtio_transport\": \"pci\"}}", err,
		     sizeof(err)), 0);
	CHECK(a.pit);
	CHECK_EQ(a.virtio, VIRTIO_TRANSPORT_PCI);
	o = config_to_json(&a);
	config_init(&b);
	CHECK_EQ(config_from_json(&b, o, err, sizeof(err)), 0);
	json_object_put(o);
	CHECK(b.pit && b.virtio == VIRTIO_TRANSPORT_PCI);
	CHECK_EQ(doc(&a, "{\"boot-source\": {\"kernel_image_path\": \"/k\"},"
		     " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64}}",
		     err, sizeof(err)), 0);
	CHECK(!a.pit);
	CHECK_EQ(a.virtio, VIRTIO_TRANSPORT_MMIO);
}

TEST(round_trip)
{
	int rc;
	static struct vm_config a, b;
	char err[256];
	json_object *o;

	rc = doc(&a, "{\"boot-source\": {\"kernel_image_path\": \"/k/a b\","
		     " \"boot_args\": \"x=\\\"1\\\" y=/z\"},"
		     " \"machine-config\": {\"vcpu_count\": 3, \"mem_size_mib\": 96},"
		     " \"drives\": [{\"drive_id\": \"r\", \"path_on_host\": \"/r\","
		     "   \"is_root_device\": true, \"is_read_only\": false}],"
		     " \"network-interfaces\": [{\"iface_id\": \"e\","
		     "   \"host_dev_name\": \"tap9\", \"guest_mac\": \"02:00:00:00:00:09\"}],"
		     " \"metrics\": {\"metrics_path\": \"/m\"}}", err, sizeof(err));
	CHECK_EQ(rc, 0);
	o = config_to_json(&a);
	config_init(&b);
	CHECK_EQ(config_from_json(&b, o, err, sizeof(err)), 0);
	json_object_put(o);
	CHECK(!strcmp(a.kernel, b.kernel) && !strcmp(a.cmdline, b.cmdline));
	CHECK_EQ(a.cpus, b.cpus);
	CHECK_EQ(a.mem_size, b.mem_size);
	CHECK_EQ(b.nr_disks, 1);
	CHECK(!memcmp(&a.disk[0], &b.disk[0], sizeof(a.disk[0])));
	CHECK_EQ(b.nr_nets, 1);
	CHECK(!memcmp(a.net[0].mac, b.net[0].mac, 6) && b.net[0].mac_set);
	CHECK(!strcmp(a.metrics_path, b.metrics_path));
}

/* --config-file with options beside it: the command line wins. */
TEST(overlay_command_line_wins_field_by_field)
{
	int rc;
	static struct vm_config file, cli;
	char err[256];

	rc = doc(&file, "{\"boot-source\": {\"kernel_image_path\": \"/k\","
		     " \"boot_args\": \"from-file\"},"
		     " \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 128},"
		     " \"drives\": [{\"drive_id\": \"root\", \"path_on_host\": \"/r\","
		     "   \"is_root_device\": true}]}", err, sizeof(err));
	CHECK_EQ(rc, 0);
	config_init(&cli);
	strcpy(cli.cmdline, "from-cli");
	cli.mem_size = 512ULL << 20;
	cli.cpus = 7;  /* not marked as set: the file's stays */
	strcpy(cli.disk[0].path, "/extra");
	strcpy(cli.disk[0].id, "extra");
	cli.nr_disks = 1;
	cli.console = CONSOLE_NONE;
	strcpy(cli.api_sock, "/tmp/s");
	CHECK_EQ(config_overlay(&file, &cli, CFG_CMDLINE | CFG_MEM, err,
				sizeof(err)), 0);
	CHECK(!strcmp(file.kernel, "/k"));
	CHECK(!strcmp(file.cmdline, "from-cli"));
	CHECK_EQ(file.mem_size, 512ULL << 20);
	CHECK_EQ(file.cpus, 2);
	CHECK_EQ(file.nr_disks, 2);
	CHECK(!strcmp(file.disk[0].id, "root") && !strcmp(file.disk[1].id, "extra"));
	CHECK_EQ(file.console, CONSOLE_NONE);
	CHECK(!strcmp(file.api_sock, "/tmp/s"));
	/* a command-line disk with a file drive's id replaces it */
	strcpy(cli.disk[0].id, "root");
	CHECK_EQ(config_overlay(&file, &cli, 0, err, sizeof(err)), 0);
	CHECK_EQ(file.nr_disks, 2);
	CHECK(!strcmp(file.disk[0].path, "/extra"));
}

TEST(mac_parser)
{
	static const char *const ok[] = {
		"52:54:00:12:34:56", "02:AB:cd:EF:00:ff", "00:00:00:00:00:00",
	};
	static const char *const bad[] = {
		"", "52:54:00:12:34", "52:54:00:12:34:56:78", "52-54-00-12-34-56",
		"52:54:00:12:34:5g", " 2:54:00:12:34:56", "+2:54:00:12:34:56",
		"01:00:5e:00:00:01", /* multicast */ "52:54:00:12:34:56 ",
		"5:254:00:12:34:56",
	};
	uint8_t m[6], keep[6] = { 9, 9, 9, 9, 9, 9 };
	char text[18];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK_EQ(config_parse_mac(ok[i], strlen(ok[i]), m), 0);
	CHECK_EQ(m[0], 0);
	CHECK_EQ(config_parse_mac("02:AB:cd:EF:00:ff", 17, m), 0);
	CHECK(m[0] == 0x02 && m[1] == 0xab && m[3] == 0xef && m[5] == 0xff);
	config_format_mac(m, text);
	CHECK(!strcmp(text, "02:ab:cd:ef:00:ff"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(m, keep, 6);
		CHECK_EQ(config_parse_mac(bad[i], strlen(bad[i]), m), -EINVAL);
		CHECK(!memcmp(m, keep, 6));
	}
}

UNIT_MAIN("config",
	  T(whole_document), T(defaults_kept_for_what_is_absent),
	  T(null_is_absent_for_optional_fields), T(malformed_documents),
	  T(invalid_utf8_is_refused), T(refused_section_changes_nothing),
	  T(drive_path_id_must_agree), T(too_many_drives),
	  T(machine_pit_and_transport), T(round_trip),
	  T(overlay_command_line_wins_field_by_field), T(mac_parser))
