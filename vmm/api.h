/* SPDX-License-Identifier: MIT */
/*
 * The control API: HTTP/1.1 with JSON bodies on a Unix stream socket
 * (httpd.c), so `curl --unix-socket` works. Paths, methods and fields
 * follow Firecracker's API where an operation exists there; vmm's
 * additions use paths Firecracker does not (GET /boot-timeline,
 * GET /metrics, action "Stop"). Every operation lists the VM states that
 * accept it in one table (api.c); anything else gets a 4xx with
 * {"fault_message": ...} and changes nothing. The configuration sections
 * go through the configuration module (config.c), like --config-file.
 */
#ifndef VMM_API_H
#define VMM_API_H

#include <stddef.h>

struct vm;
struct api;

/*
 * Serve the API for vm on path (mode as --api-sock-mode). 0 or -errno
 * with one error line.
 */
int api_create(struct vm *vm, const char *path, unsigned int mode,
	       struct api **out) __attribute__((warn_unused_result));
/* Close every connection, unlink the socket. */
void api_destroy(struct api *a);
/* Refuse request bodies over max bytes (Firecracker's payload limit). */
void api_set_max_body(struct api *a, size_t max);

/*
 * The boot that InstanceStart asked for has run: answer that client,
 * 204 or 400 saying why it failed (why: the error line, or NULL).
 */
void api_start_result(struct api *a, int ret, const char *why);

#endif
