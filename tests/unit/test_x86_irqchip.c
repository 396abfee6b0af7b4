// SPDX-License-Identifier: MIT
/*
 * The routes of the x86-64 in-kernel irqchip that a GSI table of ours
 * keeps (arch_irqchip_routes): KVM's own default, GSIs 0-15 to the
 * IOAPIC and to the 8259 pair, 16-23 to the IOAPIC only, so the legacy
 * lines (COM1, the PIT, virtio-mmio) work as before a rewrite.
 */
#include <stdint.h>

#include "../../arch/arch.h"
#include "../../vmm/irqroute.h"
#include "unit.h"

TEST(kvm_default_routes)
{
	struct irq_pin p[64];
	size_t n = arch_irqchip_routes(p, 64);
	unsigned int ioapic[24] = { 0 }, pic[24] = { 0 };

	CHECK_EQ(n, 16 * 2 + 8);
	for (size_t i = 0; i < n; i++) {
		CHECK(p[i].gsi < 24);
		if (p[i].chip == KVM_IRQCHIP_IOAPIC) {
			CHECK_EQ(p[i].pin, p[i].gsi);
			ioapic[p[i].gsi]++;
		} else {
			CHECK_EQ(p[i].chip, p[i].gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
							 : KVM_IRQCHIP_PIC_SLAVE);
			CHECK_EQ(p[i].pin, p[i].gsi % 8);
			pic[p[i].gsi]++;
		}
	}
	for (unsigned int g = 0; g < 24; g++) {
		CHECK_EQ(ioapic[g], 1);
		CHECK_EQ(pic[g], g < 16);
	}
	/* too little room: the count still, and no write past it */
	p[4].gsi = 77;
	CHECK_EQ(arch_irqchip_routes(p, 4), n);
	CHECK_EQ(p[4].gsi, 77);
}

UNIT_MAIN("x86_irqchip", T(kvm_default_routes))
