/* SPDX-License-Identifier: MIT */
/*
 * vmm run --bundle DIR [-- ARGS...]: the process of an OCI runtime bundle
 * (config.json + rootfs/), run inside a VM as a container runtime runs it
 * in a container. vmm boots its guest kernel with the project's own init
 * (guest/init/, carried inside vmm) in an initramfs of its making, the
 * rootfs as a read-only image (rootfs.h) on /dev/vda, and a process
 * channel (chan.h) on a virtio console: the process's stdin, stdout and
 * stderr are vmm's, its exit status is vmm's, and SIGINT, SIGTERM and
 * SIGHUP sent to vmm go to it.
 */
#ifndef VMM_RUN_BUNDLE_H
#define VMM_RUN_BUNDLE_H

#include <stdint.h>

#include "config.h"

/*
 * Run the bundle cfg->bundle with the rest of cfg (--mem, --cpus,
 * --disk, --net, --kernel, ...); argv[cfg->bundle_args..argc), when
 * cfg->bundle_args is set, replace process.args. Returns the exit status:
 * the process's, or 125 when vmm could not run it (one line on stderr),
 * 126 or 127 when the command cannot be executed or is not found.
 */
int run_bundle(const struct vm_config *cfg, int argc, char **argv,
	       uint64_t t_start);

/* The guest init, built for this architecture (guest_init.c). */
extern const unsigned char vmm_guest_init[];
extern const unsigned char vmm_guest_init_end[];

#endif
