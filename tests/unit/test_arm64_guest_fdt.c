// SPDX-License-Identifier: MIT
/*
 * The aarch64 test guest's device tree reader (guest/testguest/aarch64/
 * fdt.c), built for this machine: on the trees vmm generates (GICv2 and
 * GICv3) it must find what vmm put there, in document order; on corrupt
 * trees -- truncated, bad header, and thousands of random byte flips of a
 * good one -- it must return errors, never read outside the blob's 2 MiB
 * window (ASan watches) and never return a property outside the tree.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../arch/aarch64/arm64.h"
#include "../../guest/testguest/aarch64/fdt.h"
#include "unit.h"

#define MIB (1ULL << 20)

static const uint64_t mpidr[3] = { 0, 1, 0x100 };
static const struct arm64_fdt_virtio virtio[2] = {
	{ 0x0a000000, 16 }, { 0x0a010000, 17 },
};

/* A vmm tree at the start of a DT_MAX_SIZE buffer (what the guest may
 * read); its size in *size. */
static uint8_t *vmm_tree(enum arm64_gic_version gic, size_t *size)
{
	struct arm64_fdt_desc d = {
		.bootargs = "test=hello console=ttyS0",
		.ram_base = ARM64_RAM_BASE,
		.ram_size = 256 * MIB,
		.ncpus = 3,
		.mpidr = mpidr,
		.gic = gic,
		.virtio = virtio,
		.nr_virtio = 2,
	};
	uint8_t *buf = calloc(1, DT_MAX_SIZE);

	if (!buf || arm64_fdt_build(&d, buf, 64 * 1024)) {
		free(buf);
		return NULL;
	}
	*size = (size_t)buf[4] << 24 | (size_t)buf[5] << 16 |
		(size_t)buf[6] << 8 | buf[7];
	return buf;
}

/* The value of property `name` of the first node named `node`, or NULL. */
static const uint8_t *find(const struct dt *f, const char *node,
			   const char *name, uint32_t *len)
{
	struct dt_node n;

	memset(&n, 0, sizeof(n));
	while (dt_next_node(f, &n) > 0)
		if (!strcmp(n.name, node))
			return dt_getprop(f, &n, name, len);
	return NULL;
}

static void check_tree(int *unit_failed, enum arm64_gic_version gic)
{
	size_t size = 0;
	uint8_t *blob = vmm_tree(gic, &size);
	struct dt f;
	struct dt_node n;
	const uint8_t *p;
	uint32_t len;
	unsigned int nodes = 0, cpus = 0, virt = 0;
	int r;

	CHECK(blob);
	CHECK(dt_open(&f, blob) == NULL);
	CHECK_EQ(f.size, size);

	memset(&n, 0, sizeof(n));
	while ((r = dt_next_node(&f, &n)) > 0) {
		if (nodes++ == 0) {
			CHECK_EQ(n.depth, 0);
			CHECK(!strcmp(n.name, ""));
			CHECK_EQ(dt_prop_u32(&f, &n, "#address-cells", 0), 2);
		}
		if (n.depth == 2 && !strcmp(n.path[1], "cpus") &&
		    dt_prop_is(&f, &n, "device_type", "cpu")) {
			p = dt_getprop(&f, &n, "reg", &len);
			CHECK(p && len == 4);
			CHECK_EQ(dt_cells(p, 1), mpidr[cpus]);
			cpus++;
		}
		if (dt_is_compatible(&f, &n, "virtio,mmio")) {
			p = dt_getprop(&f, &n, "reg", &len);
			CHECK(p && len == 16);
			CHECK_EQ(dt_cells(p, 2), virtio[virt].base);
			CHECK_EQ(dt_cells(p + 8, 2), 0x1000);
			virt++;
		}
		/* a name that appears in the strings block but not here */
		if (!strcmp(n.name, "chosen"))
			CHECK(!dt_getprop(&f, &n, "device_type", NULL));
	}
	CHECK_EQ(r, 0);
	CHECK_EQ(cpus, 3);
	CHECK_EQ(virt, 2);
	CHECK(nodes >= 12);

	p = find(&f, "chosen", "bootargs", &len);
	CHECK(p && len == sizeof("test=hello console=ttyS0"));
	CHECK(!strcmp((const char *)p, "test=hello console=ttyS0"));
	p = find(&f, "memory@80000000", "reg", &len);
	CHECK(p && len == 16);
	CHECK_EQ(dt_cells(p, 2), ARM64_RAM_BASE);
	CHECK_EQ(dt_cells(p + 8, 2), 256 * MIB);
	p = find(&f, "timer", "interrupts", &len);
	CHECK(p && len == 48);
	CHECK_EQ(dt_cells(p + 24 + 4, 1), 11);   /* the virtual timer's PPI */

	memset(&n, 0, sizeof(n));
	while (dt_next_node(&f, &n) > 0 && strncmp(n.name, "intc@", 5))
		;
	CHECK(dt_is_compatible(&f, &n, gic == ARM64_GIC_V2 ?
			       "arm,cortex-a15-gic" : "arm,gic-v3"));
	CHECK(!dt_is_compatible(&f, &n, "arm,cortex-a15"));

	/* the power key as the cad scenario finds it: a depth-2 KEY_POWER
	 * button whose gpios name the arm,pl061 by phandle */
	memset(&n, 0, sizeof(n));
	while (dt_next_node(&f, &n) > 0 && !dt_is_compatible(&f, &n, "arm,pl061"))
		;
	CHECK_EQ(n.depth, 1);
	CHECK(dt_is_compatible(&f, &n, "arm,primecell"));
	CHECK_EQ(dt_prop_u32(&f, &n, "phandle", 0), ARM64_FDT_GPIO_PHANDLE);
	memset(&n, 0, sizeof(n));
	while (dt_next_node(&f, &n) > 0 &&
	       dt_prop_u32(&f, &n, "linux,code", 0) != 116)
		;
	CHECK_EQ(n.depth, 2);
	CHECK(!strcmp(n.path[1], "gpio-keys"));
	p = dt_getprop(&f, &n, "gpios", &len);
	CHECK(p && len == 12);
	CHECK_EQ(dt_cells(p, 1), ARM64_FDT_GPIO_PHANDLE);
	CHECK_EQ(dt_cells(p + 4, 1), ARM64_GPIO_POWER_PIN);

	/* pvpanic as the pvpanic scenario finds it: by compatible */
	memset(&n, 0, sizeof(n));
	while (dt_next_node(&f, &n) > 0 &&
	       !dt_is_compatible(&f, &n, "qemu,pvpanic-mmio"))
		;
	CHECK_EQ(n.depth, 1);
	p = dt_getprop(&f, &n, "reg", &len);
	CHECK(p && len == 16);
	CHECK_EQ(dt_cells(p, 2), ARM64_PVPANIC_ADDR);
	CHECK_EQ(dt_cells(p + 8, 2), 2);
	free(blob);
}

TEST(gicv2_tree)
{
	check_tree(unit_failed, ARM64_GIC_V2);
}

TEST(gicv3_tree)
{
	check_tree(unit_failed, ARM64_GIC_V3);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

TEST(bad_header)
{
	size_t size = 0;
	uint8_t *blob = vmm_tree(ARM64_GIC_V2, &size), *copy = calloc(1, DT_MAX_SIZE);
	struct dt f;

	CHECK(blob && copy);
	CHECK(dt_open(&f, NULL) != NULL);
	memcpy(copy, blob, size);
	copy[0] ^= 1;                               /* magic */
	CHECK(dt_open(&f, copy) != NULL);
	memcpy(copy, blob, size);
	put_be32(copy + 4, DT_MAX_SIZE + 1);        /* totalsize */
	CHECK(dt_open(&f, copy) != NULL);
	memcpy(copy, blob, size);
	put_be32(copy + 20, 16);                    /* version */
	CHECK(dt_open(&f, copy) != NULL);
	memcpy(copy, blob, size);
	put_be32(copy + 36, (uint32_t)size);        /* size_dt_struct */
	CHECK(dt_open(&f, copy) != NULL);
	memcpy(copy, blob, size);
	put_be32(copy + 4, 100);                    /* blocks past the end */
	CHECK(dt_open(&f, copy) != NULL);
	CHECK(dt_open(&f, blob + 4) != NULL);       /* misaligned */
	/* a failed open leaves nothing to walk */
	{
		struct dt_node n;

		memset(&n, 0, sizeof(n));
		CHECK_EQ(dt_next_node(&f, &n), -1);
	}
	free(blob);
	free(copy);
}

/* Walk everything; every property returned must lie inside the tree. */
static int walk_all(const struct dt *f, const uint8_t *blob)
{
	static const char *const names[] = { "reg", "compatible", "interrupts",
		"bootargs", "device_type", "#address-cells", "nothing" };
	struct dt_node n;
	int r, steps = 0;

	memset(&n, 0, sizeof(n));
	while ((r = dt_next_node(f, &n)) > 0) {
		if (++steps > 100000)
			return -2;   /* no tree this small has that many nodes */
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			uint32_t len;
			const uint8_t *p = dt_getprop(f, &n, names[i], &len);

			if (p && (p < blob || p + len > blob + f->size))
				return -3;
		}
		(void)dt_is_compatible(f, &n, "virtio,mmio");
		(void)dt_prop_u32(f, &n, "#size-cells", 0);
	}
	return r;
}

TEST(truncated)
{
	size_t size = 0;
	uint8_t *blob = vmm_tree(ARM64_GIC_V3, &size), *copy = calloc(1, DT_MAX_SIZE);
	struct dt f;

	CHECK(blob && copy);
	/* every shorter totalsize that still opens must end in an error */
	for (uint32_t cut = 40; cut < size; cut += 4) {
		memcpy(copy, blob, size);
		put_be32(copy + 4, cut);
		put_be32(copy + 36, cut > 0x38 ? cut - 0x38 : 0);
		if (dt_open(&f, copy))
			continue;
		CHECK(walk_all(&f, copy) == -1);
	}
	free(blob);
	free(copy);
}

TEST(random_flips)
{
	size_t size = 0;
	uint8_t *blob = vmm_tree(ARM64_GIC_V2, &size), *copy = calloc(1, DT_MAX_SIZE);
	uint32_t seed = 12345;
	unsigned int opened = 0, complete = 0;

	CHECK(blob && copy);
	for (int iter = 0; iter < 20000; iter++) {
		struct dt f;
		int flips, r;

		memcpy(copy, blob, size);
		memset(copy + size, 0, DT_MAX_SIZE - size);
		seed = seed * 1103515245 + 12345;
		flips = 1 + (int)(seed >> 16) % 8;
		for (int i = 0; i < flips; i++) {
			seed = seed * 1103515245 + 12345;
			/* the header 1 time in 8, else anywhere in the tree */
			size_t at = (seed >> 13) % 8 ? (seed >> 8) % size : (seed >> 8) % 40;

			seed = seed * 1103515245 + 12345;
			copy[at] ^= (uint8_t)(1 + (seed >> 16) % 255);
		}
		if (dt_open(&f, copy))
			continue;
		opened++;
		r = walk_all(&f, copy);
		CHECK(r == 0 || r == -1);
		complete += r == 0;
	}
	/* the mutations were neither all fatal nor all harmless */
	CHECK(opened > 1000);
	CHECK(complete > 100 && complete < opened);
	free(blob);
	free(copy);
}

UNIT_MAIN("arm64_guest_fdt", T(gicv2_tree), T(gicv3_tree), T(bad_header),
	  T(truncated), T(random_flips))
