// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for vmm/bundle.c: the input is a config.json. What is
 * accepted must make a guest spec that the guest init's reader
 * (guest/init/spec.c) reads back to the same process: args, env, cwd,
 * ids, groups, rlimits, capabilities and the mounts the VM makes; what
 * is refused must say why (a non-empty error line) and leave nothing to
 * free. ASan/UBSan catch the rest. The channel's frame decoder
 * (vmm/chan.c) is fed the same bytes too, cut where the first byte says.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *   tests/fuzz/fuzz_bundle.c vmm/bundle.c vmm/config.c vmm/chan.c \
 *   vmm/log.c -ljson-c -o /tmp/fuzz_bundle
 * -DFUZZ_STANDALONE adds a main() that runs the files named on the
 * command line, for compilers without libFuzzer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest/init/spec.c"
#include "../../vmm/bundle.h"
#include "../../vmm/chan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void frame(void *arg, int type, const uint8_t *p, size_t len)
{
	size_t *total = arg;

	(void)type;
	if (len > CHAN_MAX_PAYLOAD || (len && !p))
		abort();
	*total += CHAN_HDR + len;
}

static void check_round_trip(const struct bundle_spec *b)
{
	const struct bundle_process *pr = &b->process;
	struct guest_spec g;
	size_t len, nm = 0;
	char *buf, err[256];

	if (bundle_guest_spec(b, &buf, &len))
		return; /* out of memory */
	/* an empty args is refused by the runner before it gets this far */
	if (spec_decode(buf, len, &g, err, sizeof(err))) {
		if (pr->nargs)
			abort();
		free(buf);
		return;
	}
	if (g.nargs != pr->nargs || g.nenv != pr->nenv || g.uid != pr->uid ||
	    g.gid != pr->gid || g.ngroups != pr->ngids ||
	    g.nrlimits != pr->nrlimits || strcmp(g.cwd, pr->cwd) ||
	    g.terminal != pr->terminal || g.root_ro != b->root_readonly ||
	    g.caps_set != pr->caps_set || (b->hostname == NULL) != (g.hostname == NULL))
		abort();
	for (size_t i = 0; i < pr->nargs; i++)
		if (strcmp(g.args[i], pr->args[i]))
			abort();
	for (size_t i = 0; i < pr->nenv; i++)
		if (strcmp(g.env[i], pr->env[i]))
			abort();
	for (size_t i = 0; i < pr->nrlimits; i++)
		if (g.rlimit[i].soft != pr->rlimit[i].soft ||
		    g.rlimit[i].hard != pr->rlimit[i].hard)
			abort();
	for (int s = 0; pr->caps_set && s < BUNDLE_NR_CAPSETS; s++)
		if (g.caps[s] != pr->caps[s])
			abort();
	for (size_t i = 0; i < b->nmounts; i++) {
		const struct bundle_mount *m = &b->mounts[i];

		if (m->kind != MOUNT_GUEST)
			continue;
		if (nm >= g.nmounts || strcmp(g.mounts[nm].dest, m->destination) ||
		    strcmp(g.mounts[nm].type, m->type) ||
		    g.mounts[nm].flags != m->flags)
			abort();
		nm++;
	}
	if (nm != g.nmounts)
		abort();
	spec_free(&g);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_spec b;
	struct chan_rx rx = { .have = 0 };
	char err[256] = "";
	size_t total = 0, cut;
	int ret;

	ret = bundle_parse((const char *)data, size, &b, err, sizeof(err));
	if (ret) {
		if ((ret != -EINVAL && ret != -ENOMEM) || !err[0] || b.process.args)
			abort();
	} else {
		check_round_trip(&b);
		bundle_free(&b);
	}
	/* the same bytes as a channel stream, in two pieces */
	cut = size ? data[0] % (size + 1) : 0;
	if (!chan_feed(&rx, data, cut, frame, &total))
		chan_feed(&rx, data + cut, size - cut, frame, &total);
	if (total > size)
		abort();
	return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
	static uint8_t buf[BUNDLE_CONFIG_MAX + 1];
	int i;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (!f) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("%d inputs ok\n", argc - 1);
	return 0;
}
#endif
