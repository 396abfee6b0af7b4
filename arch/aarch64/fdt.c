// SPDX-License-Identifier: MIT
/*
 * The device tree vmm hands an arm64 guest, built with libfdt's
 * sequential-write API from a struct arm64_fdt_desc (no KVM here, so the
 * unit tests check the result with libfdt and dtc). Bindings followed:
 * devicetree/bindings/arm/{cpus,psci}.yaml, timer/arm,arch_timer.yaml,
 * interrupt-controller/arm,gic.yaml and arm,gic-v3.yaml,
 * serial/8250.yaml, virtio/mmio.yaml, chosen.yaml, clock/fixed-clock.yaml,
 * gpio/pl061-gpio.yaml, input/gpio-keys.yaml; pvpanic as Linux's
 * pvpanic-mmio driver matches it (compatible "qemu,pvpanic-mmio", the
 * register at the start of reg).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <libfdt.h>

#include "arm64.h"

/* the architected timer's PPIs: secure, non-secure, virtual, hypervisor */
static const uint32_t timer_ppis[] = { 13, 14, 11, 10 };

/* Stop at the first libfdt error: every helper returns it. */
#define TRY(expr)                              \
	do {                                   \
		int try_ret_ = (expr);         \
		if (try_ret_ < 0)              \
			return try_ret_;       \
	} while (0)

/* a reg property of (address, size) pairs, two cells each */
static int prop_reg(void *fdt, const uint64_t *pairs, unsigned int n)
{
	fdt64_t v[4];

	for (unsigned int i = 0; i < 2 * n && i < 4; i++)
		v[i] = cpu_to_fdt64(pairs[i]);
	return fdt_property(fdt, "reg", v, (int)(2 * n * sizeof(v[0])));
}

/* interrupts = <type number flags> */
static int prop_irq(void *fdt, uint32_t type, uint32_t num, uint32_t flags)
{
	fdt32_t v[3] = { cpu_to_fdt32(type), cpu_to_fdt32(num),
			 cpu_to_fdt32(flags) };

	return fdt_property(fdt, "interrupts", v, sizeof(v));
}

static int node_chosen(void *fdt, const struct arm64_fdt_desc *d,
		       const char *uart_path)
{
	TRY(fdt_begin_node(fdt, "chosen"));
	TRY(fdt_property_string(fdt, "bootargs", d->bootargs ? d->bootargs : ""));
	TRY(fdt_property_string(fdt, "stdout-path", uart_path));
	if (d->initrd_end > d->initrd_start) {
		TRY(fdt_property_u64(fdt, "linux,initrd-start", d->initrd_start));
		TRY(fdt_property_u64(fdt, "linux,initrd-end", d->initrd_end));
	}
	if (d->rng_seed && d->rng_seed_len)
		TRY(fdt_property(fdt, "rng-seed", d->rng_seed,
				 (int)d->rng_seed_len));
	TRY(fdt_property_u64(fdt, "kaslr-seed", d->kaslr_seed));
	return fdt_end_node(fdt);
}

static int node_cpus(void *fdt, const struct arm64_fdt_desc *d)
{
	char name[32];

	TRY(fdt_begin_node(fdt, "cpus"));
	TRY(fdt_property_cell(fdt, "#address-cells", 1));
	TRY(fdt_property_cell(fdt, "#size-cells", 0));
	for (unsigned int i = 0; i < d->ncpus; i++) {
		/* reg: the MPIDR's affinity fields Aff2..Aff0 */
		uint32_t reg = (uint32_t)(d->mpidr[i] & 0xffffff);

		snprintf(name, sizeof(name), "cpu@%" PRIx32, reg);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "device_type", "cpu"));
		TRY(fdt_property_string(fdt, "compatible", "arm,armv8"));
		TRY(fdt_property_cell(fdt, "reg", reg));
		TRY(fdt_property_string(fdt, "enable-method", "psci"));
		TRY(fdt_end_node(fdt));
	}
	return fdt_end_node(fdt);
}

static int node_gic(void *fdt, const struct arm64_fdt_desc *d)
{
	char name[32];

	snprintf(name, sizeof(name), "intc@%" PRIx64, ARM64_GIC_DIST_ADDR);
	TRY(fdt_begin_node(fdt, name));
	if (d->gic == ARM64_GIC_V2) {
		const uint64_t reg[] = { ARM64_GIC_DIST_ADDR, ARM64_GIC_DIST_V2_SIZE,
					 ARM64_GIC_CPU_ADDR, ARM64_GIC_CPU_SIZE };

		/* the GIC-400 of a Raspberry Pi 4/5 is of this family */
		TRY(fdt_property_string(fdt, "compatible", "arm,cortex-a15-gic"));
		TRY(prop_reg(fdt, reg, 2));
	} else {
		const uint64_t reg[] = { ARM64_GIC_DIST_ADDR, ARM64_GIC_DIST_V3_SIZE,
					 ARM64_GIC_REDIST_ADDR,
					 (uint64_t)d->ncpus * ARM64_GIC_REDIST_SIZE };

		TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
		TRY(prop_reg(fdt, reg, 2));
		TRY(fdt_property_cell(fdt, "#redistributor-regions", 1));
	}
	TRY(fdt_property_cell(fdt, "#interrupt-cells", 3));
	TRY(fdt_property_cell(fdt, "#address-cells", 0));
	TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
	TRY(fdt_property_cell(fdt, "phandle", ARM64_FDT_GIC_PHANDLE));
	return fdt_end_node(fdt);
}

static int node_timer(void *fdt, const struct arm64_fdt_desc *d)
{
	fdt32_t v[3 * 4];
	uint32_t flags = ARM64_FDT_IRQ_LEVEL_HIGH;

	/* GICv2 PPIs name the CPUs they reach (bits 15:8); v3 has no mask */
	if (d->gic == ARM64_GIC_V2)
		flags |= ((1U << d->ncpus) - 1) << 8;
	for (unsigned int i = 0; i < 4; i++) {
		v[3 * i] = cpu_to_fdt32(ARM64_FDT_IRQ_PPI);
		v[3 * i + 1] = cpu_to_fdt32(timer_ppis[i]);
		v[3 * i + 2] = cpu_to_fdt32(flags);
	}
	TRY(fdt_begin_node(fdt, "timer"));
	TRY(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
	TRY(fdt_property(fdt, "interrupts", v, sizeof(v)));
	TRY(fdt_property(fdt, "always-on", NULL, 0));
	return fdt_end_node(fdt);
}

static int node_uart(void *fdt, const char *name)
{
	const uint64_t reg[] = { ARM64_UART_ADDR, ARM64_UART_SIZE };

	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "compatible", "ns16550a"));
	TRY(prop_reg(fdt, reg, 1));
	TRY(fdt_property_cell(fdt, "reg-shift", 0));
	TRY(fdt_property_cell(fdt, "reg-io-width", 1));
	TRY(fdt_property_cell(fdt, "clock-frequency", ARM64_UART_CLOCK));
	TRY(prop_irq(fdt, ARM64_FDT_IRQ_SPI, ARM64_UART_SPI,
		     ARM64_FDT_IRQ_LEVEL_HIGH));
	return fdt_end_node(fdt);
}

/*
 * The power key: a PL061 GPIO controller (an AMBA PrimeCell, which wants
 * its bus clock named apb_pclk) and a gpio-keys button for KEY_POWER on
 * one of its pins, the way QEMU's virt machine offers one. Pressed by
 * the host for Ctrl-Alt-Del (arch_send_ctrl_alt_del()).
 */
static int node_power_key(void *fdt)
{
	static const char pl061_compat[] = "arm,pl061\0arm,primecell";
	const uint64_t reg[] = { ARM64_GPIO_ADDR, ARM64_GPIO_SIZE };
	const fdt32_t gpios[] = { cpu_to_fdt32(ARM64_FDT_GPIO_PHANDLE),
				  cpu_to_fdt32(ARM64_GPIO_POWER_PIN),
				  cpu_to_fdt32(0) /* active high */ };
	char name[32];

	TRY(fdt_begin_node(fdt, "apb-pclk"));
	TRY(fdt_property_string(fdt, "compatible", "fixed-clock"));
	TRY(fdt_property_cell(fdt, "#clock-cells", 0));
	TRY(fdt_property_cell(fdt, "clock-frequency", ARM64_FDT_APB_CLOCK));
	TRY(fdt_property_string(fdt, "clock-output-names", "clk24mhz"));
	TRY(fdt_property_cell(fdt, "phandle", ARM64_FDT_CLK_PHANDLE));
	TRY(fdt_end_node(fdt));

	snprintf(name, sizeof(name), "gpio@%" PRIx64, ARM64_GPIO_ADDR);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property(fdt, "compatible", pl061_compat, sizeof(pl061_compat)));
	TRY(prop_reg(fdt, reg, 1));
	TRY(prop_irq(fdt, ARM64_FDT_IRQ_SPI, ARM64_GPIO_SPI,
		     ARM64_FDT_IRQ_LEVEL_HIGH));
	TRY(fdt_property(fdt, "gpio-controller", NULL, 0));
	TRY(fdt_property_cell(fdt, "#gpio-cells", 2));
	TRY(fdt_property_cell(fdt, "clocks", ARM64_FDT_CLK_PHANDLE));
	TRY(fdt_property_string(fdt, "clock-names", "apb_pclk"));
	TRY(fdt_property_cell(fdt, "phandle", ARM64_FDT_GPIO_PHANDLE));
	TRY(fdt_end_node(fdt));

	TRY(fdt_begin_node(fdt, "gpio-keys"));
	TRY(fdt_property_string(fdt, "compatible", "gpio-keys"));
	TRY(fdt_begin_node(fdt, "poweroff"));
	TRY(fdt_property_string(fdt, "label", "GPIO Key Poweroff"));
	TRY(fdt_property_cell(fdt, "linux,code", ARM64_KEY_POWER));
	TRY(fdt_property(fdt, "gpios", gpios, sizeof(gpios)));
	TRY(fdt_end_node(fdt));
	return fdt_end_node(fdt);
}

/* pvpanic: the guest's panic notifier writes PANICKED (devices/pvpanic.c) */
static int node_pvpanic(void *fdt)
{
	const uint64_t reg[] = { ARM64_PVPANIC_ADDR, ARM64_PVPANIC_SIZE };
	char name[32];

	snprintf(name, sizeof(name), "pvpanic@%" PRIx64, ARM64_PVPANIC_ADDR);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "compatible", "qemu,pvpanic-mmio"));
	TRY(prop_reg(fdt, reg, 1));
	return fdt_end_node(fdt);
}

static int node_virtio(void *fdt, const struct arm64_fdt_virtio *v)
{
	const uint64_t reg[] = { v->base, 0x1000 };
	char name[40];

	snprintf(name, sizeof(name), "virtio_mmio@%" PRIx64, v->base);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
	TRY(prop_reg(fdt, reg, 1));
	/* the transport pulses its line through an irqfd: an edge */
	TRY(prop_irq(fdt, ARM64_FDT_IRQ_SPI, v->spi, ARM64_FDT_IRQ_EDGE_RISING));
	/* vmm reads and writes guest memory coherently */
	TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
	return fdt_end_node(fdt);
}

static int build(void *fdt, size_t size, const struct arm64_fdt_desc *d)
{
	const uint64_t mem[] = { d->ram_base, d->ram_size };
	char uart[32], uart_path[40], name[32];

	snprintf(uart, sizeof(uart), "uart@%" PRIx64, ARM64_UART_ADDR);
	snprintf(uart_path, sizeof(uart_path), "/%s", uart);

	TRY(fdt_create(fdt, (int)size));
	TRY(fdt_finish_reservemap(fdt));
	TRY(fdt_begin_node(fdt, ""));
	TRY(fdt_property_string(fdt, "compatible", "linux,dummy-virt"));
	TRY(fdt_property_string(fdt, "model", "vmm"));
	TRY(fdt_property_cell(fdt, "#address-cells", 2));
	TRY(fdt_property_cell(fdt, "#size-cells", 2));
	TRY(fdt_property_cell(fdt, "interrupt-parent", ARM64_FDT_GIC_PHANDLE));

	TRY(node_chosen(fdt, d, uart_path));
	TRY(fdt_begin_node(fdt, "aliases"));
	TRY(fdt_property_string(fdt, "serial0", uart_path));
	TRY(fdt_end_node(fdt));

	snprintf(name, sizeof(name), "memory@%" PRIx64, d->ram_base);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "device_type", "memory"));
	TRY(prop_reg(fdt, mem, 1));
	TRY(fdt_end_node(fdt));

	TRY(node_cpus(fdt, d));
	TRY(fdt_begin_node(fdt, "psci"));
	TRY(fdt_property_string(fdt, "compatible", "arm,psci-0.2"));
	TRY(fdt_property_string(fdt, "method", "hvc"));
	TRY(fdt_end_node(fdt));
	TRY(node_gic(fdt, d));
	TRY(node_timer(fdt, d));
	TRY(node_uart(fdt, uart));
	TRY(node_power_key(fdt));
	TRY(node_pvpanic(fdt));
	for (unsigned int i = 0; i < d->nr_virtio; i++)
		TRY(node_virtio(fdt, &d->virtio[i]));

	TRY(fdt_end_node(fdt));
	return fdt_finish(fdt);
}

int arm64_fdt_build(const struct arm64_fdt_desc *d, void *buf, size_t bufsize)
{
	int ret;

	if (d->ncpus == 0 || !d->mpidr || bufsize > INT32_MAX ||
	    (d->gic != ARM64_GIC_V2 && d->gic != ARM64_GIC_V3) ||
	    (d->gic == ARM64_GIC_V2 && d->ncpus > 8) ||
	    (d->nr_virtio && !d->virtio))
		return -EINVAL;
	ret = build(buf, bufsize, d);
	if (ret == -FDT_ERR_NOSPACE)
		return -ENOSPC;
	return ret < 0 ? -EINVAL : 0;
}
