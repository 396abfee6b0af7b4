// SPDX-License-Identifier: MIT
/*
 * config.json of OCI bundles (vmm/bundle.c): runc's default spec, each
 * member's type and range, what a VM ignores, absurd sizes; and the spec
 * the guest init reads back (guest/init/spec.c), both ways.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "../../guest/init/proto.h"
#include "../../guest/init/spec.c"
#include "../../vmm/bundle.h"
#include "unit.h"

/* What `runc spec` (1.1) writes, terminal set to false. */
static const char runc_spec[] =
"{\n"
"  \"ociVersion\": \"1.0.2-dev\",\n"
"  \"process\": {\n"
"    \"terminal\": false,\n"
"    \"user\": { \"uid\": 0, \"gid\": 0 },\n"
"    \"args\": [ \"sh\" ],\n"
"    \"env\": [ \"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"TERM=xterm\" ],\n"
"    \"cwd\": \"/\",\n"
"    \"capabilities\": {\n"
"      \"bounding\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
"      \"effective\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
"      \"permitted\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
"      \"ambient\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ]\n"
"    },\n"
"    \"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024 } ],\n"
"    \"noNewPrivileges\": true\n"
"  },\n"
"  \"root\": { \"path\": \"rootfs\", \"readonly\": true },\n"
"  \"hostname\": \"runc\",\n"
"  \"mounts\": [\n"
"    { \"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\" },\n"
"    { \"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
"      \"options\": [ \"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\" ] },\n"
"    { \"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
"      \"options\": [ \"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\", \"gid=5\" ] },\n"
"    { \"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\",\n"
"      \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\" ] },\n"
"    { \"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\",\n"
"      \"options\": [ \"nosuid\", \"noexec\", \"nodev\" ] },\n"
"    { \"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\",\n"
"      \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"ro\" ] },\n"
"    { \"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\",\n"
"      \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\" ] }\n"
"  ],\n"
"  \"linux\": {\n"
"    \"resources\": { \"devices\": [ { \"allow\": false, \"access\": \"rwm\" } ] },\n"
"    \"namespaces\": [ { \"type\": \"pid\" }, { \"type\": \"network\" }, { \"type\": \"mount\" } ],\n"
"    \"maskedPaths\": [ \"/proc/kcore\" ],\n"
"    \"readonlyPaths\": [ \"/proc/bus\" ]\n"
"  }\n"
"}\n";

static int parse(const char *json, struct bundle_spec *b, char *err)
{
	return bundle_parse(json, strlen(json), b, err, 256);
}

/* A minimal valid document with MEMBERS spliced into process. */
static char *doc_with(const char *process_members, const char *top_members)
{
	char *d = NULL;

	if (asprintf(&d, "{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}, "
		     "\"process\": {\"cwd\": \"/\", \"args\": [\"true\"], "
		     "\"user\": {\"uid\": 1, \"gid\": 2}%s%s}%s%s}",
		     process_members[0] ? ", " : "", process_members,
		     top_members[0] ? ", " : "", top_members) < 0)
		abort();
	return d;
}

/* parse doc_with(p, t): 0, or -EINVAL with err containing want */
static int try(const char *p, const char *t, const char *want)
{
	struct bundle_spec b;
	char err[256] = "", *d = doc_with(p, t);
	int ret = parse(d, &b, err);

	free(d);
	if (!ret) {
		bundle_free(&b);
		return want ? -1 : 0;
	}
	if (!want || !strstr(err, want)) {
		fprintf(stderr, "  error was: %s\n", err);
		return -1;
	}
	return 0;
}

TEST(runc_default)
{
	struct bundle_spec b;
	char err[256];

	CHECK_EQ(parse(runc_spec, &b, err), 0);
	CHECK(!strcmp(b.oci_version, "1.0.2-dev"));
	CHECK(!strcmp(b.root_path, "rootfs") && b.root_readonly);
	CHECK_EQ(b.process.nargs, 1);
	CHECK(!strcmp(b.process.args[0], "sh"));
	CHECK_EQ(b.process.nenv, 2);
	CHECK(!strcmp(b.process.env[1], "TERM=xterm"));
	CHECK(!strcmp(b.process.cwd, "/"));
	CHECK(b.process.uid == 0 && b.process.gid == 0 && !b.process.ngids);
	CHECK(!b.process.terminal && b.process.no_new_privs);
	CHECK(b.process.caps_set);
	CHECK_EQ(b.process.caps[CAPS_BOUNDING], (1ULL << 29) | (1ULL << 5) | (1ULL << 10));
	CHECK_EQ(b.process.caps[CAPS_INHERITABLE], 0);
	CHECK_EQ(b.process.nrlimits, 1);
	CHECK_EQ(b.process.rlimit[0].resource, RLIMIT_NOFILE);
	CHECK_EQ(b.process.rlimit[0].soft, 1024);
	CHECK(!strcmp(b.hostname, "runc"));
	CHECK_EQ(b.nmounts, 7);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(b.mounts[i].kind, MOUNT_GUEST);
	CHECK_EQ(b.mounts[6].kind, MOUNT_SKIP); /* cgroup */
	CHECK(!strcmp(b.mounts[1].destination, "/dev"));
	CHECK_EQ(b.mounts[1].flags, MS_NOSUID | MS_STRICTATIME);
	CHECK(!strcmp(b.mounts[1].data, "mode=755,size=65536k"));
	CHECK_EQ(b.mounts[5].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
	CHECK(!strcmp(b.mounts[5].data, ""));
	CHECK(!strcmp(b.mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5"));
	bundle_free(&b);
	CHECK(b.process.args == NULL);
}

TEST(malformed_json)
{
	struct bundle_spec b;
	char err[256];
	static const char *const bad[] = {
		"", "{", "{\"ociVersion\": \"1.0.0\"", "[]", "\"x\"", "null",
		"{} {}", "{\"ociVersion\": \"1.0.0\",}", "{'a': 1}",
		"{\"ociVersion\": \"1.0\xc0\xaf\"}", /* overlong UTF-8 */
		"{\"ociVersion\": \"\xed\xa0\x80\"}", /* a surrogate */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_EQ(parse(bad[i], &b, err), -EINVAL);
		CHECK(err[0]);
	}
	CHECK_EQ(parse("[]", &b, err), -EINVAL);
	CHECK(strstr(err, "must be an object"));
}

TEST(missing_fields)
{
	struct bundle_spec b;
	char err[256];

	CHECK_EQ(parse("{}", &b, err), -EINVAL);
	CHECK(strstr(err, "ociVersion: missing"));
	CHECK_EQ(parse("{\"ociVersion\": \"1.0.0\"}", &b, err), -EINVAL);
	CHECK(strstr(err, "root: missing"));
	CHECK_EQ(parse("{\"ociVersion\": \"1.0.0\", \"root\": {}}", &b, err), -EINVAL);
	CHECK(strstr(err, "root.path: missing"));
	CHECK_EQ(parse("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"\"}}", &b, err), -EINVAL);
	CHECK(strstr(err, "root.path: is empty"));
	CHECK_EQ(parse("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}}", &b, err), -EINVAL);
	CHECK(strstr(err, "process: missing"));
	CHECK_EQ(parse("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}, "
		       "\"process\": {\"args\": [\"a\"]}}", &b, err), -EINVAL);
	CHECK(strstr(err, "process.cwd: missing"));
	CHECK_EQ(parse("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}, "
		       "\"process\": {\"cwd\": \"/\"}}", &b, err), -EINVAL);
	CHECK(strstr(err, "process.user: missing"));
	CHECK_EQ(parse("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}, "
		       "\"process\": {\"cwd\": \"/\", \"user\": {\"gid\": 0}}}", &b, err), -EINVAL);
	CHECK(strstr(err, "process.user.uid: missing"));
	/* args may be left to the command line: parsed, checked when run */
	CHECK_EQ(parse("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}, "
		       "\"process\": {\"cwd\": \"/\", \"user\": {\"uid\": 0, \"gid\": 0}}}",
		       &b, err), 0);
	CHECK_EQ(b.process.nargs, 0);
	bundle_free(&b);
	CHECK_EQ(try("", "\"mounts\": [{\"type\": \"tmpfs\"}]", "mounts[0].destination: missing"), 0);
	CHECK_EQ(try("\"rlimits\": [{\"type\": \"RLIMIT_CPU\", \"soft\": 1}]", "",
		     "process.rlimits[0].hard: missing"), 0);
	CHECK_EQ(try("\"consoleSize\": {\"height\": 1}", "", "height and width"), 0);
}

TEST(types_and_ranges)
{
	CHECK_EQ(try("", "", NULL), 0);
	CHECK_EQ(try("\"terminal\": \"yes\"", "", "process.terminal: must be a boolean"), 0);
	CHECK_EQ(try("\"env\": \"A=1\"", "", "process.env: must be an array"), 0);
	CHECK_EQ(try("\"env\": [\"A=1\", 2]", "", "process.env[1]: must be a string"), 0);
	CHECK_EQ(try("\"env\": [\"NOEQUALS\"]", "", "process.env[0]: must be NAME=value"), 0);
	CHECK_EQ(try("\"env\": [\"=x\"]", "", "process.env[0]: must be NAME=value"), 0);
	CHECK_EQ(try("\"env\": [\"A=a\\u0000b\"]", "", "process.env[0]: holds a NUL"), 0);
	CHECK_EQ(try("", "\"hostname\": 7", "hostname: must be a string"), 0);
	CHECK_EQ(try("", "\"hostname\": \"a\\u0000b\"", "hostname: holds a NUL"), 0);
	CHECK_EQ(try("", "\"mounts\": {}", "mounts: must be an array"), 0);
	CHECK_EQ(try("", "\"mounts\": [{\"destination\": \"rel\"}]",
		     "mounts[0].destination: must be an absolute path"), 0);
	CHECK_EQ(try("", "\"mounts\": [{\"destination\": \"/m\", \"options\": [\"\"]}]",
		     "an empty option"), 0);
	CHECK_EQ(try("\"capabilities\": {\"bounding\": [\"CAP_NOPE\"]}", "",
		     "unknown capability 'CAP_NOPE'"), 0);
	CHECK_EQ(try("\"capabilities\": {\"effective\": [1]}", "",
		     "process.capabilities.effective[0]: must be a string"), 0);
	CHECK_EQ(try("\"rlimits\": [{\"type\": \"RLIMIT_NOPE\", \"soft\": 1, \"hard\": 1}]", "",
		     "unknown resource"), 0);
	CHECK_EQ(try("\"rlimits\": [{\"type\": \"RLIMIT_CPU\", \"soft\": 2, \"hard\": 1}]", "",
		     "soft is above hard"), 0);
	CHECK_EQ(try("\"rlimits\": [{\"type\": \"RLIMIT_CPU\", \"soft\": 1, \"hard\": 1}, "
		     "{\"type\": \"RLIMIT_CPU\", \"soft\": 1, \"hard\": 1}]", "", "given twice"), 0);
	CHECK_EQ(try("\"rlimits\": [{\"type\": \"RLIMIT_CPU\", \"soft\": -1, \"hard\": 1}]", "",
		     "process.rlimits[0].soft: must be an integer"), 0);
	CHECK_EQ(try("\"noNewPrivileges\": 1", "", "must be a boolean"), 0);
	/* wrong version, relative cwd */
	struct bundle_spec b;
	char err[256];

	CHECK_EQ(parse("{\"ociVersion\": \"2.0.0\", \"root\": {\"path\": \"r\"}}", &b, err), -EINVAL);
	CHECK(strstr(err, "'2.0.0' is not supported"));
	CHECK_EQ(parse("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}, "
		       "\"process\": {\"cwd\": \"tmp\", \"user\": {\"uid\": 0, \"gid\": 0}}}",
		       &b, err), -EINVAL);
	CHECK(strstr(err, "process.cwd: must be an absolute path"));
}

TEST(user_ids)
{
	struct bundle_spec b;
	char err[256], *d;

	CHECK_EQ(try("\"user\": {\"uid\": \"0\", \"gid\": 0}", "",
		     "process.user.uid: must be an integer"), 0);
	CHECK_EQ(try("\"user\": {\"uid\": -1, \"gid\": 0}", "",
		     "process.user.uid: must be an integer from 0 to 4294967294"), 0);
	CHECK_EQ(try("\"user\": {\"uid\": 4294967295, \"gid\": 0}", "",
		     "from 0 to 4294967294"), 0);
	CHECK_EQ(try("\"user\": {\"uid\": 1e3, \"gid\": 0}", "", "must be an integer"), 0);
	CHECK_EQ(try("\"user\": {\"uid\": 0, \"gid\": 0, \"umask\": 512}", "",
		     "process.user.umask: must be an integer from 0 to 511"), 0);
	CHECK_EQ(try("\"user\": {\"uid\": 0, \"gid\": 0, \"additionalGids\": [1, \"2\"]}", "",
		     "process.user.additionalGids[1]: must be an integer"), 0);
	/* the later "user" wins in json-c: the last member of that name */
	d = doc_with("\"user\": {\"uid\": 4294967294, \"gid\": 7, \"umask\": 18, "
		     "\"additionalGids\": [10, 20]}", "");
	CHECK_EQ(parse(d, &b, err), 0);
	free(d);
	CHECK_EQ(b.process.uid, 4294967294u);
	CHECK_EQ(b.process.gid, 7);
	CHECK(b.process.umask_set && b.process.umask == 18);
	CHECK_EQ(b.process.ngids, 2);
	CHECK_EQ(b.process.gids[1], 20);
	bundle_free(&b);
}

TEST(ignored_and_unknown)
{
	/* what a VM makes moot, and what this reader does not know */
	CHECK_EQ(try("\"apparmorProfile\": \"x\", \"oomScoreAdj\": 3, \"selinuxLabel\": 1",
		     "\"linux\": {\"seccomp\": {}, \"cgroupsPath\": 5}, \"hooks\": {}, "
		     "\"annotations\": {\"a\": \"b\"}, \"vendor.new\": [1, 2]", NULL), 0);
	/* null is "not set" */
	CHECK_EQ(try("\"env\": null, \"terminal\": null", "\"hostname\": null", NULL), 0);
}

TEST(mount_kinds)
{
	struct bundle_spec b;
	char err[256], *d = doc_with("",
		"\"mounts\": [{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/srv\"},"
		"{\"destination\": \"/x\", \"source\": \"/srv\", \"options\": [\"rbind\", \"ro\"]},"
		"{\"destination\": \"/y\", \"type\": \"tmpfs\", \"options\": [\"ro\", \"rw\", \"private\", \"size=1m\"]},"
		"{\"destination\": \"/z\", \"type\": \"nfs\", \"source\": \"h:/e\"},"
		"{\"destination\": \"/c\", \"type\": \"cgroup2\"}]");

	CHECK_EQ(parse(d, &b, err), 0);
	free(d);
	CHECK_EQ(b.nmounts, 5);
	CHECK_EQ(b.mounts[0].kind, MOUNT_HOST);
	CHECK_EQ(b.mounts[1].kind, MOUNT_HOST);
	CHECK_EQ(b.mounts[1].flags, MS_RDONLY);
	CHECK_EQ(b.mounts[2].kind, MOUNT_GUEST);
	CHECK_EQ(b.mounts[2].flags, 0); /* rw after ro clears it */
	CHECK(!strcmp(b.mounts[2].data, "size=1m"));
	CHECK(!strcmp(b.mounts[2].source, ""));
	CHECK_EQ(b.mounts[3].kind, MOUNT_HOST);
	CHECK_EQ(b.mounts[4].kind, MOUNT_SKIP);
	bundle_free(&b);
}

/* A document with n entries of "x" in process.args. */
static char *many_args(size_t n)
{
	size_t cap = 200 + 5 * n, len;
	char *d = malloc(cap);

	if (!d)
		abort();
	len = (size_t)snprintf(d, cap, "{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}, "
			       "\"process\": {\"cwd\": \"/\", \"user\": {\"uid\": 0, \"gid\": 0}, "
			       "\"args\": [");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(d + len, cap - len, "%s\"x\"", i ? "," : "");
	snprintf(d + len, cap - len, "]}}");
	return d;
}

TEST(absurd_sizes)
{
	struct bundle_spec b;
	char err[256], *d;
	size_t big = BUNDLE_CONFIG_MAX + 1;

	d = many_args(BUNDLE_MAX_STRINGS);
	CHECK_EQ(parse(d, &b, err), 0);
	CHECK_EQ(b.process.nargs, BUNDLE_MAX_STRINGS);
	bundle_free(&b);
	free(d);
	d = many_args(BUNDLE_MAX_STRINGS + 1);
	CHECK_EQ(parse(d, &b, err), -EINVAL);
	free(d);
	CHECK(strstr(err, "process.args: more than 65536 entries"));
	/* more than the reader takes at all, whatever it holds */
	d = malloc(big);
	CHECK(d);
	memset(d, ' ', big);
	d[0] = '{';
	d[big - 1] = '}';
	CHECK_EQ(bundle_parse(d, big, &b, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "larger than 4 MiB"));
	free(d);
	/* a long string is fine; a 17th rlimit is not */
	CHECK_EQ(try("\"rlimits\": [{\"type\":\"RLIMIT_AS\",\"soft\":0,\"hard\":18446744073709551615}]",
		     "", NULL), 0);
	/* json-c saturates integers past 2^64 - 1: for an rlimit that is
	   unlimited anyway; an id that large is refused */
	CHECK_EQ(try("\"rlimits\": [{\"type\":\"RLIMIT_AS\",\"soft\":0,\"hard\":18446744073709551616}]",
		     "", NULL), 0);
	CHECK_EQ(try("\"user\": {\"uid\": 99999999999999999999999999, \"gid\": 0}", "",
		     "process.user.uid: must be an integer from 0 to 4294967294"), 0);
	CHECK_EQ(try("\"consoleSize\": {\"height\": 70000, \"width\": 80}", "",
		     "process.consoleSize.height: must be an integer from 0 to 65535"), 0);
	{
		char r[2048] = "\"rlimits\": [";

		for (int i = 0; i < BUNDLE_MAX_RLIMITS + 1; i++)
			snprintf(r + strlen(r), sizeof(r) - strlen(r),
				 "%s{\"type\":\"RLIMIT_CPU\",\"soft\":1,\"hard\":1}", i ? "," : "");
		strcat(r, "]");
		CHECK_EQ(try(r, "", "more than 16 entries"), 0);
	}
}

TEST(set_args)
{
	struct bundle_spec b;
	char err[256];
	char a0[] = "/bin/sh", a1[] = "-c", a2[] = "echo 'a b'", e0[] = "";
	char *argv[] = { a0, a1, a2, NULL }, *empty[] = { e0, NULL };

	CHECK_EQ(parse(runc_spec, &b, err), 0);
	CHECK_EQ(bundle_set_args(&b, 3, argv), 0);
	CHECK_EQ(b.process.nargs, 3);
	CHECK(!strcmp(b.process.args[2], "echo 'a b'"));
	CHECK(b.process.args[3] == NULL);
	CHECK_EQ(bundle_set_args(&b, 0, argv), -EINVAL);
	CHECK_EQ(bundle_set_args(&b, 1, empty), -EINVAL);
	CHECK_EQ(b.process.nargs, 3); /* a refused override changes nothing */
	bundle_free(&b);
}

TEST(guest_spec_round_trip)
{
	struct bundle_spec b;
	struct guest_spec g;
	char err[256], *buf;
	size_t len;

	CHECK_EQ(parse(runc_spec, &b, err), 0);
	b.process.uid = 1000;
	CHECK_EQ(bundle_guest_spec(&b, &buf, &len), 0);
	CHECK_EQ(buf[0], SPEC_VERSION);
	CHECK_EQ(spec_decode(buf, len, &g, err, sizeof(err)), 0);
	CHECK_EQ(g.nargs, 1);
	CHECK(!strcmp(g.args[0], "sh") && g.args[1] == NULL);
	CHECK_EQ(g.nenv, 2);
	CHECK(!strcmp(g.env[0], b.process.env[0]) && g.env[2] == NULL);
	CHECK(!strcmp(g.cwd, "/"));
	CHECK(g.uid == 1000 && g.gid == 0);
	CHECK(!g.terminal && g.no_new_privs && g.root_ro);
	CHECK(!strcmp(g.hostname, "runc"));
	CHECK(g.caps_set);
	for (int s = 0; s < 5; s++)
		CHECK_EQ(g.caps[s], b.process.caps[s]);
	CHECK_EQ(g.nrlimits, 1);
	CHECK(g.rlimit[0].resource == RLIMIT_NOFILE && g.rlimit[0].hard == 1024);
	CHECK_EQ(g.nmounts, 6); /* not the cgroup one */
	CHECK(!strcmp(g.mounts[1].dest, "/dev") && !strcmp(g.mounts[1].type, "tmpfs"));
	CHECK(!strcmp(g.mounts[1].source, "tmpfs"));
	CHECK_EQ(g.mounts[1].flags, MS_NOSUID | MS_STRICTATIME);
	CHECK(!strcmp(g.mounts[1].data, "mode=755,size=65536k"));
	CHECK(g.mounts[0].data == NULL); /* proc: no options */
	spec_free(&g);
	free(buf);
	bundle_free(&b);
}

TEST(guest_spec_rejects)
{
	struct guest_spec g;
	char err[256];
	char no_version[] = "Atrue\0C/\0U0\0G0";
	char bad_uid[] = "V1\0Atrue\0C/\0U-1\0G0";
	char no_args[] = "V1\0C/\0U0\0G0";
	char orphan[] = "V1\0Atrue\0C/\0U0\0G0\0m" "tmpfs";
	char version2[] = "V2\0Atrue\0C/\0U0\0G0";
	char ok[] = "V1\0Atrue\0C/\0U0\0G0\0Msome\0f7";

	CHECK_EQ(spec_decode(no_version, sizeof(no_version), &g, err, sizeof(err)), -EINVAL);
	CHECK_EQ(spec_decode(bad_uid, sizeof(bad_uid), &g, err, sizeof(err)), -EINVAL);
	CHECK_EQ(spec_decode(no_args, sizeof(no_args), &g, err, sizeof(err)), -EINVAL);
	CHECK_EQ(spec_decode(orphan, sizeof(orphan), &g, err, sizeof(err)), -EINVAL);
	CHECK_EQ(spec_decode(version2, sizeof(version2), &g, err, sizeof(err)), -EINVAL);
	CHECK_EQ(spec_decode(ok, sizeof(ok) - 1, &g, err, sizeof(err)), -EINVAL); /* no NUL */
	CHECK_EQ(spec_decode(ok, sizeof(ok), &g, err, sizeof(err)), 0);
	CHECK(g.nmounts == 1 && g.mounts[0].flags == 7 && g.env && !g.env[0]);
	spec_free(&g);
}

TEST(names)
{
	CHECK_EQ(bundle_cap_number("CAP_CHOWN"), 0);
	CHECK_EQ(bundle_cap_number("CAP_SYS_ADMIN"), 21);
	CHECK_EQ(bundle_cap_number("CAP_CHECKPOINT_RESTORE"), 40);
	CHECK_EQ(bundle_cap_number("SYS_ADMIN"), -1);
	CHECK_EQ(bundle_cap_number("CAP_"), -1);
	CHECK_EQ(bundle_rlimit_number("RLIMIT_NOFILE"), RLIMIT_NOFILE);
	CHECK_EQ(bundle_rlimit_number("RLIMIT_RTTIME"), RLIMIT_RTTIME);
	CHECK_EQ(bundle_rlimit_number("NOFILE"), -1);
}

UNIT_MAIN("bundle", T(runc_default), T(malformed_json), T(missing_fields),
	  T(types_and_ranges), T(user_ids), T(ignored_and_unknown),
	  T(mount_kinds), T(absurd_sizes), T(set_args),
	  T(guest_spec_round_trip), T(guest_spec_rejects), T(names))
