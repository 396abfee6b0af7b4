// SPDX-License-Identifier: MIT
/*
 * Snapshot create and restore (snapshot.h). The sections of a snapshot
 * file, in order:
 *
 *   vm          JSON: the configuration (as GET /vm/config), the guest
 *               RAM ranges, the vCPU count, whether hvc0 exists
 *   arch        the VM's KVM state (arch_snapshot_save_vm)
 *   vcpu:N      each vCPU's (arch_snapshot_save_vcpu)
 *   dev:NAME    each device's, by the name it registered (devices/state.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../arch/arch.h"
#include "config.h"
#include "log.h"
#include "snapfile.h"
#include "snapshot.h"
#include "vmm.h"

#define PAGE 4096u
#define WRITE_RUN (16u << 20) /* largest pwrite of guest memory */

struct snapshot {
	uint8_t *buf;
	size_t len;
	struct snapfile f;
};

/* --- create ---------------------------------------------------------------- */

static json_object *vm_section(const struct vm *vm)
{
	json_object *o = json_object_new_object(), *ram = json_object_new_array();

	json_object_object_add(o, "config", config_to_json(&vm->cfg));
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		json_object *r = json_object_new_array();

		json_object_array_add(r, json_object_new_int64(
			(int64_t)vm->mem.region[i].gpa));
		json_object_array_add(r, json_object_new_int64(
			(int64_t)vm->mem.region[i].size));
		json_object_array_add(ram, r);
	}
	json_object_object_add(o, "ram", ram);
	json_object_object_add(o, "vcpus", json_object_new_int((int)vm->nr_vcpus));
	json_object_object_add(o, "virtio_console",
			       json_object_new_boolean(vm->vconsole != NULL));
	return o;
}

static bool page_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)(const void *)p;

	for (unsigned int i = 0; i < PAGE / 8; i++)
		if (q[i])
			return false;
	return true;
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/*
 * Which of the n 4 KiB pages at host address p may hold data: those in a
 * host page present or swapped out (/proc/self/pagemap, one entry per
 * host page: 16 or 64 KiB on some arm64 kernels); an anonymous page never
 * touched is zero. Memory mapped from a file (a restored VM) may hold
 * data anywhere.
 */
static void pages_used(const struct vm *vm, const uint8_t *p, unsigned int n,
		       bool *used)
{
	uint64_t pm[512];
	uintptr_t host_page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t first, count = 0;
	ssize_t got = -1;

	if (host_page < PAGE)
		host_page = PAGE;
	first = (uintptr_t)p / host_page;
	if (n)
		count = ((uintptr_t)p + (uintptr_t)n * PAGE - 1) / host_page - first + 1;
	if (!vm->mem.file_backed && vm->pagemap_fd >= 0 && count <= 512)
		got = pread(vm->pagemap_fd, pm, count * sizeof(pm[0]),
			    (off_t)(first * sizeof(pm[0])));
	for (unsigned int i = 0; i < n; i++)
		used[i] = got != (ssize_t)(count * sizeof(pm[0])) ||
			  (pm[((uintptr_t)p + (uintptr_t)i * PAGE) / host_page - first] &
			   (3ULL << 62));
}

/*
 * Guest RAM into fd, region after region: a sparse file whose holes are
 * the zero pages, written once, in runs.
 */
static int write_memory(const struct vm *vm, int fd, uint64_t *written)
{
	uint64_t off = 0;
	int ret;

	if (ftruncate(fd, (off_t)vm->mem.ram_size) < 0)
		return -errno;
	*written = 0;
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *r = &vm->mem.region[i];
		uint64_t run = 0, run_len = 0;

		for (uint64_t at = 0; at < r->size; at += 512 * PAGE) {
			unsigned int n = (unsigned int)((r->size - at) / PAGE < 512 ?
							(r->size - at) / PAGE : 512);
			bool used[512];

			pages_used(vm, r->host + at, n, used);
			for (unsigned int k = 0; k < n; k++) {
				uint64_t pg = at + (uint64_t)k * PAGE;
				bool data = used[k] && !page_zero(r->host + pg);

				if (data && run_len && run + run_len == pg &&
				    run_len < WRITE_RUN) {
					run_len += PAGE;
					continue;
				}
				if (run_len) {
					ret = pwrite_all(fd, r->host + run, run_len,
							 off + run);
					if (ret)
						return ret;
					*written += run_len;
				}
				run = pg;
				run_len = data ? PAGE : 0;
			}
		}
		if (run_len) {
			ret = pwrite_all(fd, r->host + run, run_len, off + run);
			if (ret)
				return ret;
			*written += run_len;
		}
		off += r->size;
	}
	return 0;
}

static int add_buf(struct snapfile_writer *w, const char *name, struct sbuf *b)
{
	int ret = b->err ? b->err : snapfile_add(w, name, b->data, b->len);

	sbuf_free(b);
	return ret;
}

/* The snapshot file's bytes, in w. */
static int build_file(struct vm *vm, struct snapfile_writer *w, char *err,
		      size_t errlen)
{
	json_object *o = vm_section(vm);
	const char *js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	struct sbuf b;
	int ret;

	ret = snapfile_add(w, "vm", js, strlen(js));
	json_object_put(o);
	if (ret)
		goto oom;
	sbuf_init(&b);
	ret = arch_snapshot_save_vm(vm, &b, err, errlen);
	if (ret) {
		sbuf_free(&b);
		return ret;
	}
	if ((ret = add_buf(w, "arch", &b)))
		goto oom;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		char name[SNAP_NAME_MAX];

		sbuf_init(&b);
		ret = arch_snapshot_save_vcpu(&vm->vcpu[i], &b, err, errlen);
		if (ret) {
			sbuf_free(&b);
			return ret;
		}
		snprintf(name, sizeof(name), "vcpu:%u", i);
		if ((ret = add_buf(w, name, &b)))
			goto oom;
	}
	for (unsigned int i = 0; i < vm->nr_states; i++) {
		const struct vm_state_entry *e = &vm->states[i];
		char name[SNAP_NAME_MAX];

		sbuf_init(&b);
		e->ops->save(e->dev, &b);
		snprintf(name, sizeof(name), "dev:%s", e->name);
		if ((ret = add_buf(w, name, &b)))
			goto oom;
	}
	ret = snapfile_finish(w, arch_snapshot_arch(), vm->mem.ram_size,
			      VMM_VERSION);
	if (!ret)
		return 0;
oom:
	snprintf(err, errlen, "cannot build the snapshot: %s", strerror(-ret));
	return ret;
}

static int open_out(const char *path, const char *what, int *fd, char *err,
		    size_t errlen)
{
	*fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (*fd >= 0)
		return 0;
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	return -errno;
}

int vm_snapshot_create(struct vm *vm, const char *snap_path,
		       const char *mem_path, char *err, size_t errlen)
{
	struct snapfile_writer w;
	uint64_t t0 = monotonic_ns(), mem_bytes = 0;
	int sfd = -1, mfd = -1, ret;

	if (vm_state(vm) != VM_STATE_PAUSED) {
		snprintf(err, errlen, "the VM must be paused first (PATCH /vm "
			 "{\"state\": \"Paused\"})");
		return -EINVAL;
	}
	if (vm->channel) {
		snprintf(err, errlen, "a VM of vmm run --bundle cannot be "
			 "snapshotted");
		return -EINVAL;
	}
	/*
	 * The guest's vsock connections are host sockets, which a snapshot
	 * cannot hold; carrying the device over would need the transport
	 * reset event of virtio 5.10.6.6 on restore
	 */
	if (vm->cfg.vsock.enabled) {
		snprintf(err, errlen, "a VM with a vsock device cannot be "
			 "snapshotted yet (its connections are host sockets)");
		return -EINVAL;
	}
	if (!strcmp(snap_path, mem_path)) {
		snprintf(err, errlen, "snapshot_path and mem_file_path are the "
			 "same file");
		return -EINVAL;
	}
	/*
	 * A restored VM's memory is mapped from its memory file: truncating
	 * that file would pull the guest's pages from under it
	 */
	if (vm->restore_mem_fd >= 0) {
		struct stat self, st;

		if (!fstat(vm->restore_mem_fd, &self) &&
		    ((!stat(mem_path, &st) && st.st_dev == self.st_dev &&
		      st.st_ino == self.st_ino) ||
		     (!stat(snap_path, &st) && st.st_dev == self.st_dev &&
		      st.st_ino == self.st_ino))) {
			snprintf(err, errlen, "%s is the memory file this VM was "
				 "restored from and runs on: give other paths",
				 vm->cfg.restore_mem);
			return -EINVAL;
		}
	}
	/* nothing in flight: the rings and the devices' indices agree */
	for (unsigned int i = 0; i < vm->nr_states; i++)
		if (vm->states[i].ops->quiesce)
			vm->states[i].ops->quiesce(vm->states[i].dev, true);
	snapfile_writer_init(&w);
	ret = build_file(vm, &w, err, errlen);
	if (!ret)
		ret = open_out(mem_path, "mem_file_path", &mfd, err, errlen);
	if (!ret && (ret = write_memory(vm, mfd, &mem_bytes)))
		snprintf(err, errlen, "mem_file_path %s: %s", mem_path,
			 strerror(-ret));
	/* the snapshot file last: when it is whole, so is the memory file */
	if (!ret)
		ret = open_out(snap_path, "snapshot_path", &sfd, err, errlen);
	if (!ret && (ret = pwrite_all(sfd, w.out.data, w.out.len, 0)))
		snprintf(err, errlen, "snapshot_path %s: %s", snap_path,
			 strerror(-ret));
	if (mfd >= 0)
		close(mfd);
	if (sfd >= 0)
		close(sfd);
	for (unsigned int i = 0; i < vm->nr_states; i++)
		if (vm->states[i].ops->quiesce)
			vm->states[i].ops->quiesce(vm->states[i].dev, false);
	if (!ret)
		info("snapshot: %s (%zu bytes, %u sections), %s (%" PRIu64
		     " MiB of guest memory, %" PRIu64 " MiB of data) in %.1f ms",
		     snap_path, w.out.len, w.nr_sections, mem_path,
		     vm->mem.ram_size >> 20, mem_bytes >> 20,
		     (double)(monotonic_ns() - t0) / 1e6);
	snapfile_writer_free(&w);
	return ret;
}

/* --- restore --------------------------------------------------------------- */

static int read_file(const char *path, uint8_t **buf, size_t *len, char *err,
		     size_t errlen)
{
	struct stat st;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	*buf = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SNAP_MAX_FILE) {
		close(fd);
		snprintf(err, errlen, "%s", S_ISREG(st.st_mode) ?
			 "larger than any snapshot file" : "not a regular file");
		return -EINVAL;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (*buf)
		n = read(fd, *buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(*buf);
		*buf = NULL;
		snprintf(err, errlen, "cannot read it");
		return -EIO;
	}
	*len = (size_t)n;
	return 0;
}

int snapshot_describe(const char *path, char *out, size_t len, char *err,
		      size_t errlen)
{
	uint16_t major, minor;
	uint8_t *buf;
	size_t n;
	char why[256];
	int ret = read_file(path, &buf, &n, why, sizeof(why));

	if (!ret)
		ret = snapfile_version(buf, n, &major, &minor, why, sizeof(why));
	free(buf);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, why);
		return ret;
	}
	snprintf(out, len, "v%u.%u.0", major, minor);
	return 0;
}

/*
 * The snapshot's configuration, with this command line's options that a
 * snapshot does not hold (console, API socket, logging, confinement).
 */
static int take_config(struct vm *vm, json_object *o, char *err, size_t errlen)
{
	struct vm_config *n = malloc(sizeof(*n));
	uint64_t ranges[ARCH_MAX_RAM_RANGES][2];
	json_object *c = NULL, *ram = NULL, *vc = NULL, *nv = NULL;
	unsigned int nr;
	bool vconsole;
	int ret = -EINVAL;

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	config_init(n);
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "config", &c) ||
	    !json_object_object_get_ex(o, "ram", &ram) ||
	    !json_object_object_get_ex(o, "vcpus", &nv) ||
	    !json_object_object_get_ex(o, "virtio_console", &vc) ||
	    !json_object_is_type(c, json_type_object) ||
	    !json_object_is_type(ram, json_type_array) ||
	    !json_object_is_type(nv, json_type_int) ||
	    !json_object_is_type(vc, json_type_boolean)) {
		snprintf(err, errlen, "its vm section is malformed");
		goto out;
	}
	if (config_from_json(n, c, err, errlen))
		goto out;
	/* --disk PATH,id=ID: drive ID's image from PATH instead */
	for (unsigned int i = 0; i < vm->cfg.nr_disks; i++) {
		bool found = false;

		for (unsigned int j = 0; j < n->nr_disks; j++)
			found |= !strcmp(n->disk[j].id, vm->cfg.disk[i].id);
		if (!found) {
			snprintf(err, errlen, "--disk %s: the snapshot has no drive "
				 "'%s' (give id=ID of one of its drives)",
				 vm->cfg.disk[i].path, vm->cfg.disk[i].id);
			goto out;
		}
	}
	if (config_overlay(n, &vm->cfg, 0, err, errlen))
		goto out;
	vconsole = json_object_get_boolean(vc);
	if (vm->cfg.console == CONSOLE_VIRTIO && !vconsole) {
		snprintf(err, errlen, "--console virtio: the snapshot's VM has "
			 "no virtio console");
		goto out;
	}
	/* the device set is the snapshot's; the terminal is this run's */
	if (vconsole && n->console == CONSOLE_STDIO)
		n->console = CONSOLE_VIRTIO;
	vm->restore_vconsole = vconsole;
	memcpy(n->metrics_path, vm->cfg.metrics_path, sizeof(n->metrics_path));
	memcpy(n->id, vm->cfg.id, sizeof(n->id));
	memcpy(n->restore, vm->cfg.restore, sizeof(n->restore));
	memcpy(n->restore_mem, vm->cfg.restore_mem, sizeof(n->restore_mem));
	n->restore_paused = vm->cfg.restore_paused;
	/* the memory file's pages, not huge pages */
	n->huge_pages = false;
	if (json_object_get_int(nv) != (int)n->cpus) {
		snprintf(err, errlen, "its vm section is malformed (%d vCPUs, "
			 "%u configured)", json_object_get_int(nv), n->cpus);
		goto out;
	}
	if (arch_ram_ranges(n, ranges, &nr) ||
	    json_object_array_length(ram) != nr) {
		snprintf(err, errlen, "its guest memory layout is not this "
			 "vmm's for %" PRIu64 " MiB", n->mem_size >> 20);
		goto out;
	}
	for (unsigned int i = 0; i < nr; i++) {
		json_object *r = json_object_array_get_idx(ram, i);

		if (!json_object_is_type(r, json_type_array) ||
		    json_object_array_length(r) != 2 ||
		    (uint64_t)json_object_get_int64(json_object_array_get_idx(r, 0)) != ranges[i][0] ||
		    (uint64_t)json_object_get_int64(json_object_array_get_idx(r, 1)) != ranges[i][1]) {
			snprintf(err, errlen, "its guest memory layout is not "
				 "this vmm's for %" PRIu64 " MiB",
				 n->mem_size >> 20);
			goto out;
		}
	}
	vm->cfg = *n;
	ret = 0;
out:
	free(n);
	return ret;
}

int snapshot_open(struct vm *vm, struct snapshot **out)
{
	const char *path = vm->cfg.restore, *mem = vm->cfg.restore_mem;
	struct snapshot *s = calloc(1, sizeof(*s));
	const struct snap_section *sec;
	json_object *o = NULL;
	char err[512];
	struct stat st;
	int ret;

	*out = NULL;
	if (!s) {
		error("--restore %s: out of memory", path);
		return -ENOMEM;
	}
	ret = read_file(path, &s->buf, &s->len, err, sizeof(err));
	if (!ret)
		ret = snapfile_parse(s->buf, s->len, arch_snapshot_arch(), &s->f,
				     err, sizeof(err));
	if (!ret && !(sec = snapfile_find(&s->f, "vm"))) {
		snprintf(err, sizeof(err), "it has no vm section");
		ret = -EINVAL;
	}
	if (!ret)
		ret = config_parse_json((const char *)sec->data, sec->len, &o,
					err, sizeof(err));
	if (!ret)
		ret = take_config(vm, o, err, sizeof(err));
	json_object_put(o);
	if (!ret && s->f.mem_size != vm->cfg.mem_size) {
		snprintf(err, sizeof(err), "its header says %" PRIu64 " bytes "
			 "of memory, its configuration %" PRIu64,
			 s->f.mem_size, vm->cfg.mem_size);
		ret = -EINVAL;
	}
	if (ret) {
		error("--restore %s: %s", path, err);
		snapshot_free(s);
		return ret;
	}
	vm->restore_mem_fd = open(mem, O_RDONLY | O_CLOEXEC);
	if (vm->restore_mem_fd < 0 || fstat(vm->restore_mem_fd, &st) < 0) {
		ret = -errno;
		error("--mem-file %s: %s", mem, strerror(-ret));
	} else if (!S_ISREG(st.st_mode) ||
		   (uint64_t)st.st_size != vm->cfg.mem_size) {
		ret = -EINVAL;
		error("--mem-file %s: %s; the snapshot's guest has %" PRIu64
		      " bytes", mem, S_ISREG(st.st_mode) ?
		      "not the memory file of this snapshot (another size)" :
		      "not a regular file", vm->cfg.mem_size);
	}
	if (ret) {
		snapshot_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

static int restore_section(const struct snapshot *s, const char *name,
			   struct sbuf *r, char *err, size_t errlen)
{
	const struct snap_section *sec = snapfile_find(&s->f, name);

	if (!sec) {
		snprintf(err, errlen, "it has no %s section", name);
		return -EINVAL;
	}
	sbuf_reader(r, sec->data, sec->len);
	return 0;
}

int snapshot_restore(struct vm *vm, const struct snapshot *s)
{
	unsigned int ndev = 0;
	char err[512], name[SNAP_NAME_MAX];
	struct sbuf r;
	int ret = 0;

	err[0] = 0;
	for (unsigned int i = 0; i < vm->nr_vcpus && !ret; i++) {
		snprintf(name, sizeof(name), "vcpu:%u", i);
		ret = restore_section(s, name, &r, err, sizeof(err));
		if (!ret)
			ret = arch_snapshot_restore_vcpu(&vm->vcpu[i], &r, err,
							 sizeof(err));
	}
	if (!ret && !(ret = restore_section(s, "arch", &r, err, sizeof(err))))
		ret = arch_snapshot_restore_vm(vm, &r, err, sizeof(err));
	for (unsigned int i = 0; i < vm->nr_states && !ret; i++) {
		const struct vm_state_entry *e = &vm->states[i];

		snprintf(name, sizeof(name), "dev:%s", e->name);
		ret = restore_section(s, name, &r, err, sizeof(err));
		if (!ret)
			ret = e->ops->restore(e->dev, &r, err, sizeof(err));
	}
	for (unsigned int i = 0; i < s->f.nr_sections && !ret; i++)
		ndev += !strncmp(s->f.section[i].name, "dev:", 4);
	if (!ret && ndev != vm->nr_states) {
		snprintf(err, sizeof(err), "it has %u devices, this VM %u",
			 ndev, vm->nr_states);
		ret = -EINVAL;
	}
	if (ret)
		error("--restore %s: %s", vm->cfg.restore, err);
	return ret;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	free(s->buf);
	free(s);
}
