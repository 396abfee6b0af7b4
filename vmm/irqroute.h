/* SPDX-License-Identifier: MIT */
/*
 * The VM's GSI routing table, as KVM_SET_GSI_ROUTING takes it: whole, so
 * every change rewrites it. It holds the interrupt controller's pins as
 * KVM routes them by default (arch_irqchip_routes(): without them a
 * rewrite would cut every wired line) and then one MSI route per enabled
 * MSI-X vector, route i at GSI first_gsi + i. Pure: no KVM, no locking
 * (vmm/vm.c holds the lock and makes the ioctls), so a unit test can read
 * what KVM would be given.
 */
#ifndef VMM_IRQROUTE_H
#define VMM_IRQROUTE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One interrupt-controller pin behind a GSI (KVM_IRQ_ROUTING_IRQCHIP). */
struct irq_pin {
	uint32_t gsi;
	uint32_t chip;  /* KVM's irqchip number (x86: PIC master, slave, IOAPIC) */
	uint32_t pin;
};

/* An MSI route: a vector's message, and the eventfd bound to its GSI. */
struct irq_msi {
	uint64_t addr;
	uint32_t data;
	bool enabled;   /* in the table: the vector is unmasked */
	int fd;         /* -1 until vm.c makes it */
};

struct irq_routes {
	struct irq_pin *pins;
	size_t nr_pins;
	uint32_t first_gsi;   /* past the highest pin's GSI */
	unsigned int max;     /* entries KVM takes (KVM_CAP_IRQ_ROUTING) */
	struct irq_msi *msi;
	unsigned int nr_msi;
	struct kvm_irq_routing *table; /* room for every pin and route */
};

/*
 * Start a table with the pins (copied) and room for at most max entries
 * (pins and routes, GSIs below max). 0, -EINVAL or -ENOMEM.
 */
int irq_routes_init(struct irq_routes *r, const struct irq_pin *pins,
		    size_t nr_pins, unsigned int max)
	__attribute__((warn_unused_result));
/* Closes the routes' eventfds too. */
void irq_routes_destroy(struct irq_routes *r);

/*
 * n more routes, disabled, with fd -1: *first is the first's number.
 * 0, -ENOSPC (past max) or -ENOMEM.
 */
int irq_routes_add(struct irq_routes *r, unsigned int n, unsigned int *first)
	__attribute__((warn_unused_result));

/* Route i's GSI. */
static inline uint32_t irq_routes_gsi(const struct irq_routes *r,
				      unsigned int i)
{
	return r->first_gsi + i;
}

/*
 * Route i now sends (addr, data), if enabled. True if the table KVM holds
 * has to change (a disabled route's message is not in it).
 */
bool irq_routes_set(struct irq_routes *r, unsigned int i, uint64_t addr,
		    uint32_t data, bool enabled);

/* The whole table, in r->table: the pins, then each enabled route. */
const struct kvm_irq_routing *irq_routes_table(struct irq_routes *r);

#endif
