// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "vmm.h"

/* Microseconds from vmm's start to t, or -1 when it has not happened. */
static int64_t since_start(const struct vm *vm, const uint64_t *t)
{
	uint64_t v = __atomic_load_n(t, __ATOMIC_RELAXED);

	return v && v >= vm->t.start ? (int64_t)((v - vm->t.start) / 1000) : -1;
}

static const struct {
	const char *name;
	size_t offset;
} milestones[] = {
	{ "api_ready_us", offsetof(struct vm_timeline, api_ready) },
	{ "instance_start_us", offsetof(struct vm_timeline, instance_start) },
	{ "restore_start_us", offsetof(struct vm_timeline, restore_start) },
	{ "restore_done_us", offsetof(struct vm_timeline, restore_done) },
	{ "first_kvm_run_us", offsetof(struct vm_timeline, first_run) },
	{ "first_serial_byte_us", offsetof(struct vm_timeline, first_serial) },
	{ "boot_timer_us", offsetof(struct vm_timeline, boot_timer) },
	{ "guest_stop_us", offsetof(struct vm_timeline, stop) },
};

json_object *vm_timeline_json(const struct vm *vm)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "process_start_us", json_object_new_int64(0));
	for (size_t i = 0; i < sizeof(milestones) / sizeof(milestones[0]); i++) {
		const uint64_t *t = (const uint64_t *)(const void *)
			((const char *)&vm->t + milestones[i].offset);
		int64_t us = since_start(vm, t);

		json_object_object_add(o, milestones[i].name,
				       us < 0 ? NULL : json_object_new_int64(us));
	}
	json_object_object_add(o, "vmm_cpu_us_at_boot_timer",
			       vm->t.boot_timer ?
			       json_object_new_int64((int64_t)vm->t.cpu_at_boot_timer_us) :
			       NULL);
	return o;
}

void vm_print_timeline(const struct vm *vm)
{
	char line[512];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(milestones) / sizeof(milestones[0]); i++) {
		const uint64_t *t = (const uint64_t *)(const void *)
			((const char *)&vm->t + milestones[i].offset);
		int64_t us = since_start(vm, t);
		int w;

		if (us < 0)
			continue;
		w = snprintf(line + n, sizeof(line) - n, " %.*s=%.3fms",
			     (int)(strlen(milestones[i].name) - 3),
			     milestones[i].name, (double)us / 1000);
		if (w < 0 || (size_t)w >= sizeof(line) - n)
			break;
		n += (size_t)w;
	}
	if (vm->t.boot_timer && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, " vmm_cpu_at_boot_timer=%.3fms",
			 (double)vm->t.cpu_at_boot_timer_us / 1000);
	/* asked for with --boot-timer: printed even with --quiet */
	fprintf(stderr, "vmm: boot timeline (from vmm start):%s\n",
		n ? line : " (nothing happened)");
}

/*
 * VmRSS and VmHWM of /proc/self/status, read at once: HWM >= RSS. The
 * file was opened at start (vm->status_fd): reading it from offset 0
 * again renders it anew, and a confined main thread may not open files.
 */
static void rss_kib(int fd, long *rss, long *hwm)
{
	char buf[4096];
	ssize_t n;
	char *p;

	*rss = *hwm = -1;
	if (fd < 0)
		return;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = 0;
	if ((p = strstr(buf, "VmRSS:")))
		sscanf(p + 6, "%ld", rss);
	if ((p = strstr(buf, "VmHWM:")))
		sscanf(p + 6, "%ld", hwm);
	/*
	 * getrusage()'s ru_maxrss lags behind VmRSS (the kernel updates the
	 * high-water mark lazily); VmHWM is computed with VmRSS.
	 */
	if (*hwm < *rss)
		*hwm = *rss;
}

json_object *vm_metrics_json(const struct vm *vm)
{
	json_object *o = json_object_new_object();
	json_object *exits = json_object_new_object();
	json_object *devs = json_object_new_object();
	json_object *self = json_object_new_object();
	uint64_t by_reason[VCPU_EXIT_COUNTS] = { 0 }, total = 0;
	struct rusage ru;
	long rss, hwm;

	json_object_object_add(o, "boot_timeline", vm_timeline_json(vm));

	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		for (unsigned int r = 0; r < VCPU_EXIT_COUNTS; r++)
			by_reason[r] += __atomic_load_n(&vm->vcpu[i].exit_count[r],
							__ATOMIC_RELAXED);
	for (unsigned int r = 0; r < VCPU_EXIT_COUNTS; r++) {
		if (!by_reason[r])
			continue;
		json_object_object_add(exits, exit_reason_str(r),
				       json_object_new_int64((int64_t)by_reason[r]));
		total += by_reason[r];
	}
	json_object_object_add(exits, "total", json_object_new_int64((int64_t)total));
	json_object_object_add(exits, "unclaimed_pio",
			       json_object_new_int64((int64_t)vm->pio.unclaimed));
	json_object_object_add(exits, "unclaimed_mmio",
			       json_object_new_int64((int64_t)vm->mmio.unclaimed));
	json_object_object_add(o, "exits", exits);

	for (unsigned int i = 0; i < vm->nr_counters; i++) {
		const struct vm_counter *c = &vm->counter[i];
		json_object *g;

		if (!json_object_object_get_ex(devs, c->group, &g)) {
			g = json_object_new_object();
			json_object_object_add(devs, c->group, g);
		}
		json_object_object_add(g, c->name, json_object_new_int64(
			(int64_t)__atomic_load_n(c->value, __ATOMIC_RELAXED)));
	}
	json_object_object_add(o, "devices", devs);

	getrusage(RUSAGE_SELF, &ru);
	rss_kib(vm->status_fd, &rss, &hwm);
	json_object_object_add(self, "rss_kib", json_object_new_int64(rss));
	json_object_object_add(self, "max_rss_kib", json_object_new_int64(hwm));
	json_object_object_add(self, "cpu_user_us", json_object_new_int64(
		(int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec));
	json_object_object_add(self, "cpu_sys_us", json_object_new_int64(
		(int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec));
	json_object_object_add(self, "uptime_us", json_object_new_int64(
		(int64_t)((monotonic_ns() - vm->t.start) / 1000)));
	json_object_object_add(o, "vmm", self);
	return o;
}

int vm_write_metrics(const struct vm *vm, const char *path)
{
	json_object *m = vm_metrics_json(vm);
	const char *s = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	/* O_NONBLOCK: a FIFO nobody reads is an error, not a hang */
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
		      O_NONBLOCK | O_NOCTTY, 0644);
	struct stat st;
	int ret = 0;

	if (fd >= 0 && (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode))) {
		close(fd);
		fd = -1;
		errno = EISDIR;
	}
	if (fd < 0) {
		ret = -errno;
	} else {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		size_t len = strlen(s);
		char *line = malloc(len + 1);

		/*
		 * One line per flush in one write(): with O_APPEND a reader
		 * (or another writer) never sees half a line.
		 */
		if (!line) {
			ret = -ENOMEM;
		} else {
			memcpy(line, s, len);
			line[len] = '\n';
			if (write(fd, line, len + 1) != (ssize_t)(len + 1))
				ret = -EIO;
			free(line);
		}
		close(fd);
	}
	json_object_put(m);
	return ret;
}
