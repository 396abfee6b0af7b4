// SPDX-License-Identifier: MIT
/*
 * The GSI routing table (vmm/irqroute.c) with no KVM: the pins stay at
 * the front as given, each enabled route follows at first_gsi + its
 * number, a disabled one is absent, a rewrite is asked for only when
 * what KVM holds would change, and the limits of KVM_CAP_IRQ_ROUTING
 * hold for entries and GSI numbers alike.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../../vmm/irqroute.h"
#include "unit.h"

static const struct irq_pin pins[] = {
	{ 0, 2, 0 }, { 0, 0, 0 }, { 1, 2, 1 }, { 9, 1, 1 },
};

TEST(pins_then_enabled_routes)
{
	struct irq_routes r;
	const struct kvm_irq_routing *t;
	unsigned int a, b;

	CHECK_EQ(irq_routes_init(&r, pins, 4, 64), 0);
	CHECK_EQ(r.first_gsi, 10);
	t = irq_routes_table(&r);
	CHECK_EQ(t->nr, 4);
	for (unsigned int i = 0; i < 4; i++) {
		CHECK_EQ(t->entries[i].type, KVM_IRQ_ROUTING_IRQCHIP);
		CHECK_EQ(t->entries[i].gsi, pins[i].gsi);
		CHECK_EQ(t->entries[i].u.irqchip.irqchip, pins[i].chip);
		CHECK_EQ(t->entries[i].u.irqchip.pin, pins[i].pin);
	}
	CHECK_EQ(irq_routes_add(&r, 2, &a), 0);
	CHECK_EQ(irq_routes_add(&r, 3, &b), 0);
	CHECK_EQ(a, 0);
	CHECK_EQ(b, 2);
	CHECK_EQ(irq_routes_gsi(&r, b + 1), 13);
	CHECK_EQ(r.msi[4].fd, -1);
	/* new routes are disabled: nothing to tell KVM */
	CHECK_EQ(irq_routes_table(&r)->nr, 4);
	/* a masked vector's message is remembered, not routed */
	CHECK(!irq_routes_set(&r, 3, 0xfee00000, 0x30, false));
	CHECK(irq_routes_set(&r, 3, 0xfee00000, 0x30, true));
	CHECK(irq_routes_set(&r, 1, 0x1fee01000ULL, 0x31, true));
	t = irq_routes_table(&r);
	CHECK_EQ(t->nr, 6);
	CHECK_EQ(t->flags, 0);
	CHECK_EQ(t->entries[4].gsi, 11);     /* route 1 */
	CHECK_EQ(t->entries[4].type, KVM_IRQ_ROUTING_MSI);
	CHECK_EQ(t->entries[4].u.msi.address_lo, 0xfee01000);
	CHECK_EQ(t->entries[4].u.msi.address_hi, 1);
	CHECK_EQ(t->entries[4].u.msi.data, 0x31);
	CHECK_EQ(t->entries[5].gsi, 13);     /* route 3 */
	CHECK_EQ(t->entries[5].u.msi.data, 0x30);
	/* the same message again: no rewrite; another one: a rewrite */
	CHECK(!irq_routes_set(&r, 3, 0xfee00000, 0x30, true));
	CHECK(irq_routes_set(&r, 3, 0xfee00000, 0x32, true));
	/* disabled: out of the table, whatever its message */
	CHECK(irq_routes_set(&r, 1, 0, 0, false));
	CHECK(!irq_routes_set(&r, 1, 0x5, 0x6, false));
	t = irq_routes_table(&r);
	CHECK_EQ(t->nr, 5);
	CHECK_EQ(t->entries[4].gsi, 13);
	CHECK_EQ(t->entries[4].u.msi.data, 0x32);
	irq_routes_destroy(&r);
}

TEST(limits)
{
	struct irq_routes r;
	unsigned int first = 99;
	struct irq_pin high = { 8, 0, 0 };

	/* a pin's GSI or the pins' number past what KVM takes */
	CHECK_EQ(irq_routes_init(&r, &high, 1, 8), -EINVAL);
	CHECK_EQ(irq_routes_init(&r, pins, 4, 3), -EINVAL);
	/* GSIs 10.. up to 15: six routes, though the table has room for 12 */
	CHECK_EQ(irq_routes_init(&r, pins, 4, 16), 0);
	CHECK_EQ(irq_routes_add(&r, 7, &first), -ENOSPC);
	CHECK_EQ(first, 99);
	CHECK_EQ(irq_routes_add(&r, 0, &first), -ENOSPC);
	CHECK_EQ(irq_routes_add(&r, 6, &first), 0);
	CHECK_EQ(irq_routes_add(&r, 1, &first), -ENOSPC);
	CHECK_EQ(r.nr_msi, 6);
	irq_routes_destroy(&r);
	/* no pins at all (a host of tests): routes from GSI 0 */
	CHECK_EQ(irq_routes_init(&r, NULL, 0, 4), 0);
	CHECK_EQ(irq_routes_add(&r, 4, &first), 0);
	CHECK_EQ(irq_routes_gsi(&r, 0), 0);
	CHECK_EQ(irq_routes_table(&r)->nr, 0);
	irq_routes_destroy(&r);
}

TEST(destroy_closes_the_eventfds)
{
	struct irq_routes r;
	unsigned int first;
	int fd;

	CHECK_EQ(irq_routes_init(&r, pins, 4, 64), 0);
	CHECK_EQ(irq_routes_add(&r, 1, &first), 0);
	fd = eventfd(0, EFD_CLOEXEC);
	CHECK(fd >= 0);
	r.msi[first].fd = fd;
	irq_routes_destroy(&r);
	CHECK(close(fd) < 0 && errno == EBADF);
	CHECK(r.table == NULL && r.nr_msi == 0);
}

UNIT_MAIN("irqroute",
	  T(pins_then_enabled_routes), T(limits),
	  T(destroy_closes_the_eventfds))
