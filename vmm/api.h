/* SPDX-License-Identifier: MIT */
/*
 * The control socket: HTTP/1.1 with JSON bodies on a Unix stream socket,
 * so `curl --unix-socket` works. Paths, methods and fields follow
 * Firecracker's API where an operation exists there; vmm's additions use
 * paths Firecracker does not (GET /boot-timeline, GET /metrics,
 * action "Stop"). Every action lists the VM states that accept it in one
 * table (api.c); anything else gets a 4xx with {"fault_message": ...}
 * and changes nothing.
 */
#ifndef VMM_API_H
#define VMM_API_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct vm;
struct vm_config;
struct api;

/*
 * Listen on path (mode as --api-sock-mode). Refuses to replace a socket
 * someone is listening on, removes a stale one. 0 or -errno.
 */
int api_create(struct vm *vm, const char *path, unsigned int mode,
	       struct api **out) __attribute__((warn_unused_result));
/* Close every connection, unlink the socket. */
void api_destroy(struct api *a);

/* Has a client asked for InstanceStart (pre-boot)? */
bool api_start_requested(const struct api *a);
/* Answer that client: 204, or 400 saying why the boot failed. */
void api_start_result(struct api *a, int ret, const char *why);

/*
 * Apply a Firecracker-shaped configuration document (the body of
 * --config-file, or the pieces PUT by a client) to cfg. Returns 0, or
 * -EINVAL with one line in err.
 */
int api_apply_config(struct vm_config *cfg, json_object *doc, char *err,
		     size_t errlen);

/*
 * The built-in client: `vmm ctl SOCKET COMMAND [--json]`. Returns the
 * process exit status.
 */
int api_ctl_main(int argc, char **argv);

#endif
