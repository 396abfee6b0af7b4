/* SPDX-License-Identifier: MIT */
/*
 * What a VM reports about itself: the boot timeline (microseconds from
 * vmm's start to each milestone) and metrics (exit counts by reason,
 * device counters, vmm's own memory and CPU time), as JSON.
 */
#ifndef VMM_METRICS_H
#define VMM_METRICS_H

#include <json-c/json.h>

struct vm;

/* New JSON objects; the caller puts them. */
json_object *vm_timeline_json(const struct vm *vm);
json_object *vm_metrics_json(const struct vm *vm);

/* The timeline as one line on stderr ("vmm: boot timeline: ..."). */
void vm_print_timeline(const struct vm *vm);

/* Append the metrics as one JSON line to path. 0 or -errno. */
int vm_write_metrics(const struct vm *vm, const char *path);

#endif
