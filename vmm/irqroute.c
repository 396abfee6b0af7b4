// SPDX-License-Identifier: MIT
/*
 * The GSI routing table KVM_SET_GSI_ROUTING is given (irqroute.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "irqroute.h"

static size_t table_bytes(size_t entries)
{
	return sizeof(struct kvm_irq_routing) +
	       entries * sizeof(struct kvm_irq_routing_entry);
}

int irq_routes_init(struct irq_routes *r, const struct irq_pin *pins,
		    size_t nr_pins, unsigned int max)
{
	memset(r, 0, sizeof(*r));
	if (nr_pins > max)
		return -EINVAL;
	for (size_t i = 0; i < nr_pins; i++) {
		if (pins[i].gsi >= max)
			return -EINVAL;
		if (pins[i].gsi >= r->first_gsi)
			r->first_gsi = pins[i].gsi + 1;
	}
	r->pins = nr_pins ? malloc(nr_pins * sizeof(*pins)) : NULL;
	r->table = malloc(table_bytes(nr_pins));
	if ((nr_pins && !r->pins) || !r->table) {
		irq_routes_destroy(r);
		return -ENOMEM;
	}
	if (nr_pins)
		memcpy(r->pins, pins, nr_pins * sizeof(*pins));
	r->nr_pins = nr_pins;
	r->max = max;
	return 0;
}

void irq_routes_destroy(struct irq_routes *r)
{
	for (unsigned int i = 0; i < r->nr_msi; i++)
		if (r->msi[i].fd >= 0)
			close(r->msi[i].fd);
	free(r->pins);
	free(r->msi);
	free(r->table);
	memset(r, 0, sizeof(*r));
}

int irq_routes_add(struct irq_routes *r, unsigned int n, unsigned int *first)
{
	unsigned int total = r->nr_msi + n;
	struct irq_msi *msi;
	struct kvm_irq_routing *t;

	/* both limits: entries in the table, and the GSI numbers */
	if (n == 0 || total < n || r->nr_pins + total > r->max ||
	    r->first_gsi + total > r->max)
		return -ENOSPC;
	msi = realloc(r->msi, total * sizeof(*msi));
	if (!msi)
		return -ENOMEM;
	r->msi = msi;
	t = realloc(r->table, table_bytes(r->nr_pins + total));
	if (!t)
		return -ENOMEM;
	r->table = t;
	for (unsigned int i = r->nr_msi; i < total; i++)
		msi[i] = (struct irq_msi){ .fd = -1 };
	*first = r->nr_msi;
	r->nr_msi = total;
	return 0;
}

bool irq_routes_set(struct irq_routes *r, unsigned int i, uint64_t addr,
		    uint32_t data, bool enabled)
{
	struct irq_msi *m = &r->msi[i];
	bool change = enabled != m->enabled ||
		      (enabled && (addr != m->addr || data != m->data));

	m->addr = addr;
	m->data = data;
	m->enabled = enabled;
	return change;
}

const struct kvm_irq_routing *irq_routes_table(struct irq_routes *r)
{
	struct kvm_irq_routing_entry *e = r->table->entries;
	unsigned int n = 0;

	for (size_t i = 0; i < r->nr_pins; i++, n++)
		e[n] = (struct kvm_irq_routing_entry){
			.gsi = r->pins[i].gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = r->pins[i].chip,
				       .pin = r->pins[i].pin },
		};
	for (unsigned int i = 0; i < r->nr_msi; i++) {
		const struct irq_msi *m = &r->msi[i];

		if (!m->enabled)
			continue;
		e[n++] = (struct kvm_irq_routing_entry){
			.gsi = irq_routes_gsi(r, i),
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)m->addr,
				   .address_hi = (uint32_t)(m->addr >> 32),
				   .data = m->data },
		};
	}
	r->table->nr = n;
	r->table->flags = 0;
	return r->table;
}
