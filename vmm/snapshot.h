/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of a paused VM, and restoring one (vmm/snapfile.h has the
 * file format, the README's "Snapshot and restore" the whole story).
 *
 * A snapshot is two files: the snapshot file (the configuration, every
 * vCPU's state, the VM's interrupt controller and clocks, every device's
 * state, in checked sections) and the memory file (guest RAM, region
 * after region, zero pages left as holes). A restore builds the VM from
 * the snapshot's configuration as a boot would, minus the kernel, maps
 * the memory file copy-on-write and puts the state back before any vCPU
 * runs.
 */
#ifndef VMM_SNAPSHOT_H
#define VMM_SNAPSHOT_H

#include <stddef.h>

struct vm;
struct snapshot;

/*
 * Save a paused VM to snap_path and mem_path (created or truncated, mode
 * 0600). The VM stays paused. 0, or -errno with one line in err.
 */
int vm_snapshot_create(struct vm *vm, const char *snap_path,
		       const char *mem_path, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * A restore's first step (vm->cfg.restore names the files): read and
 * check the snapshot file, make vm->cfg the snapshot's configuration
 * (with this command line's console, API socket, logging and
 * confinement), open the memory file (vm->restore_mem_fd). 0, or -errno
 * after one error line; *out is freed with snapshot_free().
 */
int snapshot_open(struct vm *vm, struct snapshot **out)
	__attribute__((warn_unused_result));

/*
 * Its last step, once the VM's vCPUs and devices exist: their state back
 * from the file. 0, or -errno after one error line.
 */
int snapshot_restore(struct vm *vm, const struct snapshot *s)
	__attribute__((warn_unused_result));

void snapshot_free(struct snapshot *s);

/*
 * The format version of the snapshot file at path into buf ("v1.0.0").
 * 0, or -errno with one line in err.
 */
int snapshot_describe(const char *path, char *buf, size_t len, char *err,
		      size_t errlen);

#endif
