// SPDX-License-Identifier: MIT
/*
 * The aarch64 device tree, on any host: built for a GICv2 and a GICv3
 * machine, then read back with libfdt (nodes, the GIC's phandle, every
 * interrupt specifier, reg, chosen, the power key) and round-tripped through dtc
 * (dtb -> dts -> dtb -> dts must give the same text, with no warnings).
 * dtc comes from Debian's device-tree-compiler; without it that check is
 * a SKIP line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libfdt.h>

#include "../../arch/aarch64/arm64.h"
#include "unit.h"

#define MIB (1ULL << 20)

static const uint64_t mpidr[4] = { 0x80000000, 0x80000001, 0x80000002,
				   0x80000003 };
static const uint8_t seed[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
				  14, 15, 16 };
static const struct arm64_fdt_virtio virtio[3] = {
	{ 0x0a000000, 16 }, { 0x0a010000, 17 }, { 0x0a020000, 18 },
};

static struct arm64_fdt_desc desc(enum arm64_gic_version gic,
				  unsigned int ncpus)
{
	return (struct arm64_fdt_desc){
		.bootargs = "console=ttyS0 reboot=k panic=-1",
		.ram_base = ARM64_RAM_BASE,
		.ram_size = 256 * MIB,
		.ncpus = ncpus,
		.mpidr = mpidr,
		.gic = gic,
		.initrd_start = ARM64_RAM_BASE + 200 * MIB,
		.initrd_end = ARM64_RAM_BASE + 201 * MIB + 5,
		.rng_seed = seed,
		.rng_seed_len = sizeof(seed),
		.kaslr_seed = 0x1122334455667788ULL,
		.virtio = virtio,
		.nr_virtio = 3,
	};
}

static uint32_t cell(const void *prop, unsigned int i)
{
	fdt32_t v;

	memcpy(&v, (const uint8_t *)prop + 4 * i, 4);
	return fdt32_to_cpu(v);
}

static uint64_t cell64(const void *prop, unsigned int i)
{
	return (uint64_t)cell(prop, i) << 32 | cell(prop, i + 1);
}

/* property name of node path: its value and length, or NULL */
static const void *prop(const void *fdt, const char *path, const char *name,
			int *len)
{
	int off = fdt_path_offset(fdt, path);

	if (off < 0)
		return NULL;
	return fdt_getprop(fdt, off, name, len);
}

static int prop_is(const void *fdt, const char *path, const char *name,
		   const char *str)
{
	int len;
	const char *v = prop(fdt, path, name, &len);

	return v && len == (int)strlen(str) + 1 && !memcmp(v, str, (size_t)len);
}

static void *build(const struct arm64_fdt_desc *d)
{
	void *buf = malloc(64 * 1024);

	if (buf && arm64_fdt_build(d, buf, 64 * 1024)) {
		free(buf);
		return NULL;
	}
	return buf;
}

TEST(gicv2_tree)
{
	struct arm64_fdt_desc d = desc(ARM64_GIC_V2, 2);
	void *fdt = build(&d);
	const void *p;
	int len, gic;

	CHECK(fdt);
	CHECK_EQ(fdt_check_header(fdt), 0);
	CHECK(fdt_totalsize(fdt) < 4096);

	/* root */
	p = prop(fdt, "/", "#address-cells", &len);
	CHECK(p && len == 4 && cell(p, 0) == 2);
	p = prop(fdt, "/", "#size-cells", &len);
	CHECK(p && len == 4 && cell(p, 0) == 2);
	p = prop(fdt, "/", "interrupt-parent", &len);
	CHECK(p && len == 4 && cell(p, 0) == ARM64_FDT_GIC_PHANDLE);

	/* the phandle leads to the GIC, which is what we think it is */
	gic = fdt_node_offset_by_phandle(fdt, ARM64_FDT_GIC_PHANDLE);
	CHECK(gic >= 0);
	CHECK_EQ(gic, fdt_path_offset(fdt, "/intc@8000000"));
	CHECK_EQ(fdt_node_check_compatible(fdt, gic, "arm,cortex-a15-gic"), 0);
	CHECK(fdt_getprop(fdt, gic, "interrupt-controller", &len) && len == 0);
	p = fdt_getprop(fdt, gic, "#interrupt-cells", &len);
	CHECK(p && cell(p, 0) == 3);
	p = fdt_getprop(fdt, gic, "reg", &len);
	CHECK(p && len == 32);
	CHECK_EQ(cell64(p, 0), ARM64_GIC_DIST_ADDR);
	CHECK_EQ(cell64(p, 2), 0x1000);
	CHECK_EQ(cell64(p, 4), ARM64_GIC_CPU_ADDR);
	CHECK_EQ(cell64(p, 6), 0x2000);

	/* memory */
	CHECK(prop_is(fdt, "/memory@80000000", "device_type", "memory"));
	p = prop(fdt, "/memory@80000000", "reg", &len);
	CHECK(p && len == 16);
	CHECK_EQ(cell64(p, 0), ARM64_RAM_BASE);
	CHECK_EQ(cell64(p, 2), 256 * MIB);

	/* cpus: reg = MPIDR affinity, PSCI */
	CHECK(prop_is(fdt, "/cpus/cpu@0", "enable-method", "psci"));
	CHECK(prop_is(fdt, "/cpus/cpu@1", "device_type", "cpu"));
	p = prop(fdt, "/cpus/cpu@1", "reg", &len);
	CHECK(p && len == 4 && cell(p, 0) == 1);
	CHECK(fdt_path_offset(fdt, "/cpus/cpu@2") < 0);
	CHECK(prop_is(fdt, "/psci", "compatible", "arm,psci-0.2"));
	CHECK(prop_is(fdt, "/psci", "method", "hvc"));

	/* timer: 4 PPIs 13, 14, 11, 10, level-high, to CPUs 0-1 (v2 mask) */
	p = prop(fdt, "/timer", "interrupts", &len);
	CHECK(p && len == 48);
	for (unsigned int i = 0; i < 4; i++) {
		static const uint32_t ppi[] = { 13, 14, 11, 10 };

		CHECK_EQ(cell(p, 3 * i), ARM64_FDT_IRQ_PPI);
		CHECK_EQ(cell(p, 3 * i + 1), ppi[i]);
		CHECK_EQ(cell(p, 3 * i + 2), 0x304);
	}

	/* the UART: 16550A, byte registers, SPI 1 level-high, the console */
	CHECK(prop_is(fdt, "/uart@9000000", "compatible", "ns16550a"));
	p = prop(fdt, "/uart@9000000", "reg", &len);
	CHECK(p && len == 16 && cell64(p, 0) == ARM64_UART_ADDR &&
	      cell64(p, 2) == 8);
	p = prop(fdt, "/uart@9000000", "reg-shift", &len);
	CHECK(p && cell(p, 0) == 0);
	p = prop(fdt, "/uart@9000000", "reg-io-width", &len);
	CHECK(p && cell(p, 0) == 1);
	p = prop(fdt, "/uart@9000000", "clock-frequency", &len);
	CHECK(p && cell(p, 0) == ARM64_UART_CLOCK);
	p = prop(fdt, "/uart@9000000", "interrupts", &len);
	CHECK(p && len == 12 && cell(p, 0) == ARM64_FDT_IRQ_SPI &&
	      cell(p, 1) == ARM64_UART_SPI && cell(p, 2) == 4);
	CHECK(prop_is(fdt, "/chosen", "stdout-path", "/uart@9000000"));
	CHECK(prop_is(fdt, "/aliases", "serial0", "/uart@9000000"));

	/* virtio-mmio: one node each, in order, edge-rising SPIs */
	for (unsigned int i = 0; i < 3; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/virtio_mmio@%llx",
			 (unsigned long long)virtio[i].base);
		CHECK(prop_is(fdt, path, "compatible", "virtio,mmio"));
		p = prop(fdt, path, "reg", &len);
		CHECK(p && len == 16 && cell64(p, 0) == virtio[i].base &&
		      cell64(p, 2) == 0x1000);
		p = prop(fdt, path, "interrupts", &len);
		CHECK(p && len == 12 && cell(p, 0) == ARM64_FDT_IRQ_SPI &&
		      cell(p, 1) == virtio[i].spi && cell(p, 2) == 1);
		CHECK(prop(fdt, path, "dma-coherent", &len) && len == 0);
	}
	free(fdt);
}

TEST(chosen)
{
	struct arm64_fdt_desc d = desc(ARM64_GIC_V2, 1);
	void *fdt = build(&d);
	const void *p;
	int len;

	CHECK(fdt);
	CHECK(prop_is(fdt, "/chosen", "bootargs", "console=ttyS0 reboot=k panic=-1"));
	p = prop(fdt, "/chosen", "linux,initrd-start", &len);
	CHECK(p && len == 8 && cell64(p, 0) == ARM64_RAM_BASE + 200 * MIB);
	p = prop(fdt, "/chosen", "linux,initrd-end", &len);
	CHECK(p && len == 8 && cell64(p, 0) == ARM64_RAM_BASE + 201 * MIB + 5);
	p = prop(fdt, "/chosen", "rng-seed", &len);
	CHECK(p && len == sizeof(seed) && !memcmp(p, seed, sizeof(seed)));
	p = prop(fdt, "/chosen", "kaslr-seed", &len);
	CHECK(p && len == 8 && cell64(p, 0) == 0x1122334455667788ULL);
	/* one CPU: the v2 PPI mask names CPU 0 only */
	p = prop(fdt, "/timer", "interrupts", &len);
	CHECK(p && cell(p, 2) == 0x104);
	free(fdt);

	/* no initrd, no seed: no properties for them */
	d.initrd_start = d.initrd_end = 0;
	d.rng_seed = NULL;
	fdt = build(&d);
	CHECK(fdt);
	CHECK(!prop(fdt, "/chosen", "linux,initrd-start", &len));
	CHECK(!prop(fdt, "/chosen", "rng-seed", &len));
	free(fdt);
}

/*
 * The power key: a PL061 (an AMBA PrimeCell with its apb_pclk) and a
 * gpio-keys button for KEY_POWER on its pin, each reference resolving
 * through its phandle, as Linux's drivers look them up.
 */
TEST(power_key)
{
	struct arm64_fdt_desc d = desc(ARM64_GIC_V3, 2);
	void *fdt = build(&d);
	static const char compat[] = "arm,pl061\0arm,primecell";
	const void *p;
	int len, gpio, clk, key;

	CHECK(fdt);
	gpio = fdt_path_offset(fdt, "/gpio@9020000");
	CHECK(gpio >= 0);
	p = fdt_getprop(fdt, gpio, "compatible", &len);
	CHECK(p && len == sizeof(compat) && !memcmp(p, compat, sizeof(compat)));
	p = fdt_getprop(fdt, gpio, "reg", &len);
	CHECK(p && len == 16 && cell64(p, 0) == ARM64_GPIO_ADDR &&
	      cell64(p, 2) == 0x1000);
	p = fdt_getprop(fdt, gpio, "interrupts", &len);
	CHECK(p && len == 12 && cell(p, 0) == ARM64_FDT_IRQ_SPI &&
	      cell(p, 1) == ARM64_GPIO_SPI && cell(p, 2) == ARM64_FDT_IRQ_LEVEL_HIGH);
	CHECK(fdt_getprop(fdt, gpio, "gpio-controller", &len) && len == 0);
	p = fdt_getprop(fdt, gpio, "#gpio-cells", &len);
	CHECK(p && len == 4 && cell(p, 0) == 2);
	CHECK(prop_is(fdt, "/gpio@9020000", "clock-names", "apb_pclk"));
	p = fdt_getprop(fdt, gpio, "clocks", &len);
	CHECK(p && len == 4);
	clk = fdt_node_offset_by_phandle(fdt, cell(p, 0));
	CHECK(clk >= 0 && fdt_node_check_compatible(fdt, clk, "fixed-clock") == 0);
	p = fdt_getprop(fdt, clk, "#clock-cells", &len);
	CHECK(p && len == 4 && cell(p, 0) == 0);
	p = fdt_getprop(fdt, clk, "clock-frequency", &len);
	CHECK(p && len == 4 && cell(p, 0) == ARM64_FDT_APB_CLOCK);

	CHECK(prop_is(fdt, "/gpio-keys", "compatible", "gpio-keys"));
	key = fdt_path_offset(fdt, "/gpio-keys/poweroff");
	CHECK(key >= 0);
	p = fdt_getprop(fdt, key, "linux,code", &len);
	CHECK(p && len == 4 && cell(p, 0) == 116);   /* KEY_POWER */
	p = fdt_getprop(fdt, key, "gpios", &len);
	CHECK(p && len == 12 && cell(p, 1) == ARM64_GPIO_POWER_PIN &&
	      cell(p, 2) == 0);
	CHECK(fdt_node_offset_by_phandle(fdt, cell(p, 0)) == gpio);
	free(fdt);
}

/* pvpanic: found by compatible the way Linux's pvpanic-mmio driver is */
TEST(pvpanic_node)
{
	struct arm64_fdt_desc d = desc(ARM64_GIC_V2, 1);
	void *fdt = build(&d);
	const void *p;
	int len, node;

	CHECK(fdt);
	node = fdt_node_offset_by_compatible(fdt, -1, "qemu,pvpanic-mmio");
	CHECK(node >= 0);
	CHECK(strcmp(fdt_get_name(fdt, node, NULL), "pvpanic@9030000") == 0);
	CHECK(prop_is(fdt, "/pvpanic@9030000", "compatible", "qemu,pvpanic-mmio"));
	p = fdt_getprop(fdt, node, "reg", &len);
	CHECK(p && len == 16 && cell64(p, 0) == 0x09030000 && cell64(p, 2) == 2);
	/* only one */
	CHECK(fdt_node_offset_by_compatible(fdt, node, "qemu,pvpanic-mmio") < 0);
	free(fdt);
}

TEST(gicv3_tree)
{
	struct arm64_fdt_desc d = desc(ARM64_GIC_V3, 4);
	void *fdt = build(&d);
	const void *p;
	int len, gic;

	CHECK(fdt);
	gic = fdt_node_offset_by_phandle(fdt, ARM64_FDT_GIC_PHANDLE);
	CHECK(gic >= 0);
	CHECK_EQ(fdt_node_check_compatible(fdt, gic, "arm,gic-v3"), 0);
	p = fdt_getprop(fdt, gic, "reg", &len);
	CHECK(p && len == 32);
	CHECK_EQ(cell64(p, 0), ARM64_GIC_DIST_ADDR);
	CHECK_EQ(cell64(p, 2), 0x10000);
	CHECK_EQ(cell64(p, 4), ARM64_GIC_REDIST_ADDR);
	CHECK_EQ(cell64(p, 6), 4 * 0x20000);
	/* v3 PPIs carry no CPU mask */
	p = prop(fdt, "/timer", "interrupts", &len);
	CHECK(p && cell(p, 2) == 4);
	CHECK(fdt_path_offset(fdt, "/cpus/cpu@3") >= 0);
	free(fdt);
}

TEST(bad_input)
{
	struct arm64_fdt_desc d = desc(ARM64_GIC_V2, 2);
	uint8_t small[256];
	void *buf = malloc(64 * 1024);

	/* a buffer too small says so, so the caller can grow it */
	CHECK_EQ(arm64_fdt_build(&d, small, sizeof(small)), -ENOSPC);
	d.ncpus = 9; /* a GICv2 has 8 CPU interfaces */
	CHECK_EQ(arm64_fdt_build(&d, buf, 64 * 1024), -EINVAL);
	d.ncpus = 0;
	CHECK_EQ(arm64_fdt_build(&d, buf, 64 * 1024), -EINVAL);
	d.ncpus = 1;
	d.gic = ARM64_GIC_AUTO;
	CHECK_EQ(arm64_fdt_build(&d, buf, 64 * 1024), -EINVAL);
	free(buf);
}

/* --- dtc round trip ------------------------------------------------------ */

/* Run a shell command; 0 on exit status 0. */
static int sh(const char *cmd)
{
	int st = system(cmd);

	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return (int)n;
}

/* 1 pass, 0 fail (why in unit_why), -1 skip */
static int dtc_round_trip(enum arm64_gic_version gic, unsigned int ncpus)
{
	struct arm64_fdt_desc d = desc(gic, ncpus);
	char dir[] = "/tmp/test_arm64_fdt.XXXXXX", cmd[1024];
	void *fdt;
	FILE *f;
	int ok = 0;

	if (sh("command -v dtc >/dev/null 2>&1"))
		return -1;
	fdt = build(&d);
	if (!fdt || !mkdtemp(dir)) {
		snprintf(unit_why, sizeof(unit_why), "cannot build the tree");
		free(fdt);
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "%s/a.dtb", dir);
	f = fopen(cmd, "wb");
	if (f) {
		fwrite(fdt, 1, fdt_totalsize(fdt), f);
		fclose(f);
	}
	/*
	 * dtb -> dts (warnings to a file), dts -> dtb, dtb -> dts again. A
	 * decompiled source names phandles by number, which dtc's clocks
	 * and gpios checks always call "not a phandle reference" (they want
	 * &label in a source): those two are off for the source's compile
	 * only; the dtb itself passes every check (warn1).
	 */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && dtc -q -I dtb -O dts -o a.dts a.dtb 2>/dev/null && "
		 "dtc -I dtb -O dts -o /dev/null a.dtb 2>warn1 && "
		 "dtc -W no-clocks_property -W no-gpios_property "
		 "-I dts -O dtb -o b.dtb a.dts 2>warn2 && "
		 "dtc -q -I dtb -O dts -o b.dts b.dtb && cmp -s a.dts b.dts && "
		 "grep -q 'compatible = \"virtio,mmio\"' a.dts", dir);
	if (sh(cmd)) {
		snprintf(unit_why, sizeof(unit_why),
			 "dtc round trip failed (kept in %s)", dir);
	} else if (file_size(strcat(strcpy(cmd, dir), "/warn1")) != 0 ||
		   file_size(strcat(strcpy(cmd, dir), "/warn2")) != 0) {
		snprintf(unit_why, sizeof(unit_why),
			 "dtc warns about the tree (see %s/warn1, warn2)", dir);
	} else {
		ok = 1;
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)sh(cmd);
	}
	free(fdt);
	return ok;
}

int main(void)
{
	static const struct unit_test tests[] = {
		T(gicv2_tree), T(chosen), T(gicv3_tree), T(power_key), T(pvpanic_node),
		T(bad_input),
	};
	static const struct { const char *name; enum arm64_gic_version gic;
			      unsigned int ncpus; } rt[] = {
		{ "dtc_round_trip_gicv2", ARM64_GIC_V2, 2 },
		{ "dtc_round_trip_gicv3", ARM64_GIC_V3, 4 },
	};
	int failures = 0;

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int failed = 0;

		unit_why[0] = 0;
		tests[i].fn(&failed);
		if (failed)
			printf("FAIL: arm64_fdt.%s: %s\n", tests[i].name, unit_why);
		else
			printf("PASS: arm64_fdt.%s\n", tests[i].name);
		fflush(stdout);
		failures += failed;
	}
	for (size_t i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
		int r;

		unit_why[0] = 0;
		r = dtc_round_trip(rt[i].gic, rt[i].ncpus);
		if (r < 0)
			printf("SKIP: arm64_fdt.%s: dtc not installed "
			       "(apt-get install device-tree-compiler)\n",
			       rt[i].name);
		else if (r)
			printf("PASS: arm64_fdt.%s\n", rt[i].name);
		else
			printf("FAIL: arm64_fdt.%s: %s\n", rt[i].name, unit_why);
		fflush(stdout);
		failures += r == 0;
	}
	return failures ? 1 : 0;
}
