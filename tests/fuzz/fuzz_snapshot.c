// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for what a restore reads from a snapshot file before
 * KVM sees anything: the file format (vmm/snapfile.c), the configuration
 * in its vm section (vmm/config.c), and the devices' state sections
 * (devices/state.h) handed to real devices on a test host — a serial
 * port, the i8042, the CMOS, a virtio console and a virtio-rng on
 * virtio-mmio, as an x86-64 VM registers them, a virtio-rng on
 * virtio-pci (its PCI function's state: configuration space, BARs, MSI-X
 * table and PBA, with the routes they rebuild) and aarch64's PL061 GPIO —
 * and the aarch64 vCPU and VGIC sections (arch/aarch64/snapstate.c),
 * parsed for a two-vCPU VM with a GICv2 and with a GICv3. Checked: a file
 * accepted has sections that lie inside it, with valid unique names,
 * filling it exactly; a refusal always says why; a device state accepted
 * saves back to bytes that restore again and save the same (a fixed
 * point); an aarch64 section accepted yields registers and writes that
 * fill it exactly. ASan and UBSan catch the rest.
 *
 * The first byte of an input chooses whether the checksums are made right
 * first (bit 0 set): without that, nearly every mutation would stop at a
 * checksum and never reach the sections behind it. The rest is the file.
 *
 * -DFUZZ_STANDALONE adds a main() that runs the files named on the
 * command line, for compilers without libFuzzer.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../arch/aarch64/arm64.h"
#include "../../devices/devices.h"
#include "../../devices/pci.h"
#include "../../devices/state.h"
#include "../../devices/virtio.h"
#include "../../vmm/config.h"
#include "../../vmm/snapfile.h"
#include "../unit/testhost.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct testhost th;
static struct bus pio, mmio;
static struct pci_bus pci;
static struct snapfile f;

static void setup(void)
{
	static const struct vm_rate_limit none;
	static const struct pci_ids host = { .vendor = 0x1b36, .device = 8 };
	struct serial *s;
	struct i8042 *k;
	struct virtio_dev *d;
	struct pl061 *g;

	if (testhost_init(&th, 1 << 20))
		abort();
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	if (serial_create(&th.host, &pio, 0x3f8, 4, &s) ||
	    i8042_create(&th.host, &pio, 0x60, 0x64, &k) ||
	    cmos_create(&th.host, &pio, 0x70) ||
	    virtio_console_create(&th.host, &d) ||
	    virtio_mmio_attach(d, &mmio, 0xd0001000, 5) ||
	    virtio_rng_create(&th.host, &none, &d) ||
	    virtio_mmio_attach(d, &mmio, 0xd0002000, 6) ||
	    pci_bus_init(&pci, 0, &host, 0xc0000000, 0x10000000, 0, 0) ||
	    virtio_rng_create(&th.host, &none, &d) ||
	    virtio_pci_attach(d, &pci) ||
	    pl061_create(&th.host, &mmio, 0x09020000, 2, &g))
		abort();
}

/* vcpu:N as aarch64's: every register accepted lies inside it */
static void check_arm64_vcpu(const struct snap_section *sec)
{
	struct arm64_vcpu_snap s;
	struct sbuf r;
	char err[256] = "";
	const uint8_t *val;
	size_t pos = 0, n = 0;
	uint64_t id;

	sbuf_reader(&r, sec->data, sec->len);
	if (arm64_vcpu_snap_parse(&r, &s, err, sizeof(err))) {
		if (!err[0])
			abort();
		return;
	}
	while (!arm64_vcpu_snap_reg(&s, &pos, &id, &val)) {
		if (val < sec->data || val + arm64_reg_bytes(id) > sec->data + sec->len)
			abort();
		n++;
	}
	if (n != s.nr_regs || pos != s.regs_len)
		abort();
}

/* arch as aarch64's VGIC state, of either version */
static void check_arm64_vgic(const struct snap_section *sec)
{
	static const uint64_t mpidr[2] = { 0x80000000, 0x80000001 };
	static const enum arm64_gic_version v[2] = { ARM64_GIC_V2, ARM64_GIC_V3 };

	for (unsigned int i = 0; i < 2; i++) {
		struct arm64_vgic_snap s;
		struct sbuf r;
		char err[256] = "";

		sbuf_reader(&r, sec->data, sec->len);
		if (arm64_vgic_parse(&r, v[i], 128, 2, mpidr, &s, err, sizeof(err))) {
			if (!err[0])
				abort();
			continue;
		}
		if (s.writes + (size_t)s.nr_writes * 20 != sec->data + sec->len)
			abort();
	}
}

static void check_device(unsigned int i, const struct snap_section *sec)
{
	const struct dev_state_ops *ops = th.state[i].ops;
	struct sbuf r, a, b;
	char err[512] = "";
	int ret;

	sbuf_reader(&r, sec->data, sec->len);
	ret = ops->restore(th.state[i].dev, &r, err, sizeof(err));
	if (ret) {
		if (!err[0])
			abort(); /* refused without saying why */
		return;
	}
	sbuf_init(&a);
	sbuf_init(&b);
	ops->save(th.state[i].dev, &a);
	sbuf_reader(&r, a.data, a.len);
	if (ops->restore(th.state[i].dev, &r, err, sizeof(err)))
		abort(); /* its own state refused */
	ops->save(th.state[i].dev, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len))
		abort(); /* not a fixed point */
	sbuf_free(&a);
	sbuf_free(&b);
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Make the header's and the sections' checksums right, where they are. */
static void fix_checksums(uint8_t *b, size_t n)
{
	uint64_t off = SNAP_HEADER_SIZE;
	uint32_t crc;

	if (n < SNAP_HEADER_SIZE)
		return;
	for (uint32_t i = 0; i < rd32(b + 32) && i < SNAP_MAX_SECTIONS; i++) {
		uint64_t len;

		if (n - off < SNAP_SECTION_HDR)
			break;
		len = rd64(b + off + 32);
		if (len > n - off - SNAP_SECTION_HDR)
			break;
		crc = crc32_update(0, b + off + SNAP_SECTION_HDR, len);
		memcpy(b + off + 28, &crc, 4);
		off += SNAP_SECTION_HDR + len;
	}
	crc = crc32_update(0, b, 60);
	memcpy(b + 60, &crc, 4);
}

static int one_file(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	uint8_t *copy;

	if (size < 1)
		return 0;
	/* an exactly-sized copy: ASan sees any read past the file */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, in + 1, size - 1);
	if (in[0] & 1)
		fix_checksums(copy, size - 1);
	one_file(copy, size - 1);
	free(copy);
	return 0;
}

static int one_file(const uint8_t *data, size_t size)
{
	static bool ready;
	const struct snap_section *sec;
	char err[512] = "";
	uint64_t end = SNAP_HEADER_SIZE;

	if (!ready) {
		setup();
		ready = true;
	}
	if (snapfile_parse(data, size, 0, &f, err, sizeof(err))) {
		if (!err[0])
			abort();
		return 0;
	}
	for (unsigned int i = 0; i < f.nr_sections; i++) {
		const struct snap_section *s = &f.section[i];

		end += SNAP_SECTION_HDR;
		if (s->data != data + end || s->len > size - end ||
		    !s->name[0] || snapfile_find(&f, s->name) != s)
			abort();
		end += s->len;
	}
	if (end != size)
		abort();
	if ((sec = snapfile_find(&f, "vm"))) {
		static struct vm_config cfg;
		json_object *o, *c;

		if (!config_parse_json((const char *)sec->data, sec->len, &o,
				       err, sizeof(err))) {
			config_init(&cfg);
			if (json_object_object_get_ex(o, "config", &c) &&
			    json_object_is_type(c, json_type_object) &&
			    config_from_json(&cfg, c, err, sizeof(err)) && !err[0])
				abort();
			json_object_put(o);
		} else if (!err[0]) {
			abort();
		}
	}
	for (unsigned int i = 0; i < f.nr_sections; i++)
		if (!strncmp(f.section[i].name, "vcpu:", 5))
			check_arm64_vcpu(&f.section[i]);
	if ((sec = snapfile_find(&f, "arch")))
		check_arm64_vgic(sec);
	for (unsigned int i = 0; i < th.nr_state; i++) {
		char name[SNAP_NAME_MAX];

		snprintf(name, sizeof(name), "dev:%s", th.state[i].name);
		if ((sec = snapfile_find(&f, name)))
			check_device(i, sec);
	}
	return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
	static uint8_t buf[SNAP_MAX_FILE];
	int i;

	for (i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		size_t n;

		if (!fp) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("%d inputs ok\n", argc - 1);
	return 0;
}
#endif
