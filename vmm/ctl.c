// SPDX-License-Identifier: MIT
/*
 * `vmm ctl SOCKET COMMAND`: the built-in client of the control API. One
 * request per invocation; exit status 0 when the VMM answered 2xx.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

#define CTL_MAX_RESPONSE (1 << 20)

static const struct ctl_cmd {
	const char *name;
	const char *method;
	const char *path;
	const char *body;
	const char *arg;   /* the body's field the command's argument fills */
	const char *arg2;  /* and the second argument's, or NULL */
	const char *help;
} cmds[] = {
	{ "info", "GET", "/", NULL, NULL, NULL,
	  "id, state, vCPUs, memory, devices, uptime" },
	{ "config", "GET", "/vm/config", NULL, NULL, NULL, "the whole configuration" },
	{ "metrics", "GET", "/metrics", NULL, NULL, NULL,
	  "boot timeline, exits by reason, device counters, vmm RSS and CPU" },
	{ "timeline", "GET", "/boot-timeline", NULL, NULL, NULL, "the boot timeline" },
	{ "start", "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", NULL, NULL,
	  "boot a VM configured over the API" },
	{ "pause", "PATCH", "/vm", "{\"state\":\"Paused\"}", NULL, NULL,
	  "stop all vCPUs" },
	{ "resume", "PATCH", "/vm", "{\"state\":\"Resumed\"}", NULL, NULL,
	  "run them again" },
	{ "ctrl-alt-del", "PUT", "/actions",
	  "{\"action_type\":\"SendCtrlAltDel\"}", NULL, NULL,
	  "ask the guest to shut down" },
	{ "flush-metrics", "PUT", "/actions",
	  "{\"action_type\":\"FlushMetrics\"}", NULL, NULL,
	  "append metrics to the metrics file" },
	{ "stop", "PUT", "/actions", "{\"action_type\":\"Stop\"}", NULL, NULL,
	  "stop the VM at once" },
	{ "sysrq", "PUT", "/actions", "{\"action_type\":\"SendSysRq\"}", "key", NULL,
	  "KEY: a break, then KEY: Linux's Magic SysRq (t: tasks,\n"
	  "                 w: blocked tasks, l: CPUs, c: crash)" },
	{ "nmi", "PUT", "/actions", "{\"action_type\":\"SendNmi\"}", NULL, NULL,
	  "an NMI to every vCPU (x86-64)" },
	{ "snapshot", "PUT", "/snapshot/create", "{\"snapshot_type\":\"Full\"}",
	  "snapshot_path", "mem_file_path",
	  "SNAP MEM: save the paused VM to snapshot SNAP and memory\n"
	  "                 file MEM (PUT /snapshot/create)" },
	{ "load", "PUT", "/snapshot/load", "{\"resume_vm\":true}",
	  "snapshot_path", "mem_file_path",
	  "SNAP MEM: restore a vmm started with only --api-sock from\n"
	  "                 them and run it (PUT /snapshot/load)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vmm ctl SOCKET COMMAND [ARG [ARG]] [--json]\n\n"
		"Send one command to a running vmm's control socket (--api-sock).\n"
		"--json prints the raw JSON answer.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-14s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nexit status: 0 on success, 1 when vmm refused or could "
		"not be reached.\n");
}

/* Send the request, read the whole answer (the server closes). */
static int exchange(const char *sock, const struct ctl_cmd *c,
		    const char *body, char *resp, size_t cap, size_t *len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 30 };
	char req[512];
	size_t blen = body ? strlen(body) : 0;
	int fd, n;

	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vmm ctl: %s: path too long\n", sock);
		return -1;
	}
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "vmm ctl: %s: %s\n", sock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (body)
		n = snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: localhost\r\n"
			     "Connection: close\r\nContent-Type: application/json\r\n"
			     "Content-Length: %zu\r\n\r\n%s",
			     c->method, c->path, blen, body);
	else
		n = snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: localhost\r\n"
			     "Connection: close\r\n\r\n", c->method, c->path);
	if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n) {
		fprintf(stderr, "vmm ctl: cannot send the request\n");
		close(fd);
		return -1;
	}
	*len = 0;
	for (;;) {
		ssize_t r = read(fd, resp + *len, cap - 1 - *len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "vmm ctl: %s: %s\n", sock, strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0 || *len + (size_t)r >= cap - 1) {
			*len += (size_t)(r > 0 ? r : 0);
			break;
		}
		*len += (size_t)r;
	}
	resp[*len] = 0;
	close(fd);
	return 0;
}

int ctl_main(int argc, char **argv)
{
	const struct ctl_cmd *c = NULL;
	bool raw = false;
	const char *sock = NULL, *name = NULL, *arg = NULL, *arg2 = NULL, *body;
	json_object *req = NULL;
	char *resp;
	size_t len;
	int status, ret = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			raw = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage(stdout), 0;
		else if (!sock)
			sock = argv[i];
		else if (!name)
			name = argv[i];
		else if (!arg)
			arg = argv[i];
		else if (!arg2)
			arg2 = argv[i];
		else
			return usage(stderr), 1;
	}
	for (size_t i = 0; name && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(name, cmds[i].name))
			c = &cmds[i];
	if (!sock || !c) {
		if (name && !c)
			fprintf(stderr, "vmm ctl: unknown command '%s'\n", name);
		usage(stderr);
		return 1;
	}
	if (!c->arg != !arg) {
		fprintf(stderr, c->arg ? "vmm ctl: %s needs an argument\n" :
			"vmm ctl: %s takes no argument\n", c->name);
		return 1;
	}
	if ((arg && !c->arg) || (arg2 && !c->arg2) || (c->arg2 && !arg2)) {
		fprintf(stderr, "vmm ctl: %s: %s\n", c->name, c->arg2 ?
			"two arguments expected" : "unexpected argument");
		return 1;
	}
	body = c->body;
	if (arg) {
		/* json-c writes the argument as a JSON string, escaped */
		req = json_tokener_parse(c->body);
		json_object_object_add(req, c->arg, json_object_new_string(arg));
		if (arg2)
			json_object_object_add(req, c->arg2,
					       json_object_new_string(arg2));
		body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	}
	resp = malloc(CTL_MAX_RESPONSE);
	if (!resp || exchange(sock, c, body, resp, CTL_MAX_RESPONSE, &len)) {
		json_object_put(req);
		free(resp);
		return 1;
	}
	json_object_put(req);
	body = strstr(resp, "\r\n\r\n");
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 || !body) {
		fprintf(stderr, "vmm ctl: not an HTTP answer from %s\n", sock);
		goto out;
	}
	body += 4;
	if (status >= 200 && status < 300) {
		json_object *j = *body ? json_tokener_parse(body) : NULL;

		if (raw && *body)
			printf("%s\n", body);
		else if (j)
			printf("%s\n", json_object_to_json_string_ext(
				j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
				JSON_C_TO_STRING_NOSLASHESCAPE));
		else if (!raw)
			printf("ok\n");
		json_object_put(j);
		ret = 0;
	} else {
		json_object *j = json_tokener_parse(body), *m;

		if (raw)
			printf("%s\n", body);
		fprintf(stderr, "vmm ctl: %s: %d: %s\n", c->name, status,
			j && json_object_object_get_ex(j, "fault_message", &m) ?
			json_object_get_string(m) : body);
		json_object_put(j);
	}
out:
	free(resp);
	return ret;
}
