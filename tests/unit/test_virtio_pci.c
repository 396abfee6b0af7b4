// SPDX-License-Identifier: MIT
/*
 * The virtio-pci transport (devices/virtio_pci.c) with no KVM: a
 * virtio-rng device on a PCI bus of a test host, driven through the
 * configuration ports and BAR 0 as Linux's virtio_pci_modern does; its
 * MSI-X vectors through the host's routes (the GSI table KVM would be
 * given, an eventfd write per message) or, on a host without them, one
 * send_msi each.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../devices/devices.h"
#include "../../devices/pci.h"
#include "../../devices/state.h"
#include "../../devices/virtio.h"
#include "../../vmm/config.h"
#include "testhost.h"
#include "unit.h"

#define MEM32 0xc0000000ULL

struct rig {
	struct testhost th;
	struct bus pio, mmio;
	struct pci_bus pci;
	struct virtio_dev *d;
};

static int rig_init(struct rig *r, bool routes)
{
	static const struct pci_ids host = { .vendor = 0x1b36, .device = 8 };
	const struct vm_rate_limit none = { 0 };
	int ret = testhost_init(&r->th, 1 << 20);

	if (ret)
		return ret;
	r->th.no_msi_routes = !routes;
	bus_init(&r->pio, "pio");
	bus_init(&r->mmio, "mmio");
	if ((ret = pci_bus_init(&r->pci, 0, &host, MEM32, 1 << 24, 0, 0)) ||
	    (ret = bus_register(&r->pio, 0xcf8, 8, "conf1", pci_conf1_io,
				&r->pci)) ||
	    (ret = bus_register(&r->mmio, MEM32, 1 << 24, "mem32", pci_mem32_io,
				&r->pci)) ||
	    (ret = virtio_rng_create(&r->th.host, &none, &r->d)))
		return ret;
	return virtio_pci_attach(r->d, &r->pci);
}

static void rig_destroy(struct rig *r)
{
	testhost_destroy(&r->th);
	pci_bus_destroy(&r->pci);
	bus_destroy(&r->pio);
	bus_destroy(&r->mmio);
}

/* configuration space of 00:01.0 through 0xCF8/0xCFC */
static uint32_t cfg_read(struct rig *r, unsigned int off, uint32_t len)
{
	uint32_t a = 0x80000000u | (1u << 11) | (off & 0xfc), v = 0;

	bus_access(&r->pio, 0xcf8, (uint8_t *)&a, 4, true);
	bus_access(&r->pio, 0xcfc + (off & 3), (uint8_t *)&v, len, false);
	return v;
}

static void cfg_write(struct rig *r, unsigned int off, uint32_t v,
		      uint32_t len)
{
	uint32_t a = 0x80000000u | (1u << 11) | (off & 0xfc);

	bus_access(&r->pio, 0xcf8, (uint8_t *)&a, 4, true);
	bus_access(&r->pio, 0xcfc + (off & 3), (uint8_t *)&v, len, true);
}

static uint64_t rd(struct rig *r, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	bus_access(&r->mmio, MEM32 + off, (uint8_t *)&v, len, false);
	return v;
}

static void wr(struct rig *r, uint64_t off, uint64_t v, uint32_t len)
{
	bus_access(&r->mmio, MEM32 + off, (uint8_t *)&v, len, true);
}

TEST(ids_caps_and_bar)
{
	unsigned int seen = 0, msix = 0;
	struct rig r;

	CHECK(rig_init(&r, true) == 0);
	CHECK(cfg_read(&r, PCI_VENDOR_ID, 2) == 0x1af4);
	CHECK(cfg_read(&r, PCI_DEVICE_ID, 2) == 0x1044); /* 0x1040 + rng */
	CHECK(cfg_read(&r, PCI_REVISION, 1) == 1);
	CHECK(cfg_read(&r, PCI_INTERRUPT_PIN, 1) == 0);
	CHECK((cfg_read(&r, PCI_BAR0, 4) & ~0xfu) == MEM32);
	CHECK(cfg_read(&r, PCI_STATUS, 2) & PCI_STATUS_CAP);
	for (unsigned int c = cfg_read(&r, PCI_CAP_PTR, 1), n = 0; c && n < 16;
	     c = cfg_read(&r, c + 1, 1), n++) {
		if (cfg_read(&r, c, 1) == PCI_CAP_ID_VENDOR)
			seen |= 1u << cfg_read(&r, c + 3, 1); /* cfg_type */
		if (cfg_read(&r, c, 1) == PCI_CAP_ID_MSIX)
			msix = c;
	}
	CHECK(seen == 0x1e); /* common, notify, ISR, device */
	CHECK(msix != 0);
	CHECK((cfg_read(&r, msix + PCI_MSIX_CTRL, 2) & 0x7ff) + 1 == 2);
	rig_destroy(&r);
}

TEST(common_config_and_vectors)
{
	struct rig r;

	CHECK(rig_init(&r, true) == 0);
	CHECK(rd(&r, 0x12, 2) == 1);            /* num_queues */
	wr(&r, 0x00, 1, 4);                     /* device_feature_select */
	CHECK(rd(&r, 0x04, 4) & 1);             /* VERSION_1 (bit 32) */
	CHECK(rd(&r, 0x18, 2) > 0);             /* queue_size: the max */
	wr(&r, 0x1a, 7, 2);                     /* no such vector */
	CHECK(rd(&r, 0x1a, 2) == 0xffff);
	wr(&r, 0x1a, 1, 2);
	CHECK(rd(&r, 0x1a, 2) == 1);
	wr(&r, 0x20, 0x12345000, 4);            /* queue_desc, in halves */
	wr(&r, 0x24, 0x1, 4);
	CHECK(rd(&r, 0x20, 4) == 0x12345000 && rd(&r, 0x24, 4) == 1);
	CHECK(rd(&r, 0x1e, 2) == 0);            /* queue_notify_off */
	wr(&r, 0x14, 0, 1);                     /* reset: vectors forgotten */
	CHECK(rd(&r, 0x1a, 2) == 0xffff);
	rig_destroy(&r);
}

/* The MSI-X capability's offset. */
static unsigned int msix_cap(struct rig *r)
{
	for (unsigned int c = cfg_read(r, PCI_CAP_PTR, 1), n = 0; c && n < 16;
	     c = cfg_read(r, c + 1, 1), n++)
		if (cfg_read(r, c, 1) == PCI_CAP_ID_MSIX)
			return c;
	return 0;
}

/* Features, DRIVER_OK, and the configuration interrupt on vector 0. */
static bool driver_up(struct rig *r)
{
	wr(r, 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	wr(r, 0x08, 1, 4);
	wr(r, 0x0c, 1, 4);
	wr(r, 0x14, 0x0b, 1);
	if (!(rd(r, 0x14, 1) & VIRTIO_STATUS_FEATURES_OK))
		return false;
	wr(r, 0x14, 0x0f, 1);
	wr(r, 0x10, 0, 2);                      /* config_msix_vector 0 */
	return rd(r, 0x10, 2) == 0;
}

static void config_event(struct rig *r)
{
	pthread_mutex_lock(&r->d->lock);
	virtio_notify_config(r->d);
	pthread_mutex_unlock(&r->d->lock);
}

/* How many MSI routes the table KVM would be given holds (after the pins). */
static unsigned int table_msis(struct rig *r)
{
	const struct kvm_irq_routing *t = irq_routes_table(&r->th.routes);
	unsigned int n = 0;

	for (unsigned int i = 0; i < t->nr; i++)
		n += t->entries[i].type == KVM_IRQ_ROUTING_MSI;
	return n;
}

/* Does it route route's GSI to (addr, data)? */
static bool table_has(struct rig *r, unsigned int route, uint64_t addr,
		      uint32_t data)
{
	const struct kvm_irq_routing *t = irq_routes_table(&r->th.routes);

	for (unsigned int i = 0; i < t->nr; i++) {
		const struct kvm_irq_routing_entry *e = &t->entries[i];

		if (e->gsi == TESTHOST_PINS + route)
			return e->type == KVM_IRQ_ROUTING_MSI &&
			       e->u.msi.address_lo == (uint32_t)addr &&
			       e->u.msi.address_hi == (uint32_t)(addr >> 32) &&
			       e->u.msi.data == data;
	}
	return false;
}

TEST(msix_vectors_follow_their_routes)
{
	unsigned int msix;
	struct rig r;

	CHECK(rig_init(&r, true) == 0);
	msix = msix_cap(&r);
	CHECK(msix != 0);
	/* one route per vector (config + 1 queue), none in the table yet */
	CHECK(r.th.routes.nr_msi == 2);
	CHECK(table_msis(&r) == 0);
	CHECK(driver_up(&r));
	cfg_write(&r, msix + PCI_MSIX_CTRL, PCI_MSIX_ENABLE, 2);
	wr(&r, 0x4000, 0xfee00000, 4);          /* vector 0: address, data */
	wr(&r, 0x4008, 0x41, 4);
	/* every vector still masked: the table KVM holds stays as it was */
	CHECK(r.th.route_writes == 0);
	config_event(&r);                       /* masked: pending only */
	CHECK(testhost_route_sent(&r.th, 0) == 0);
	CHECK(rd(&r, 0x6000, 8) == 1);          /* the PBA bit */
	/* unmask: the route first, then the pending message, once */
	wr(&r, 0x400c, 0, 4);
	CHECK(r.th.route_writes == 1);
	CHECK(table_msis(&r) == 1);
	CHECK(table_has(&r, 0, 0xfee00000, 0x41));
	CHECK(testhost_route_sent(&r.th, 0) == 1);
	CHECK(rd(&r, 0x6000, 8) == 0);
	config_event(&r);
	config_event(&r);
	CHECK(testhost_route_sent(&r.th, 0) == 2);
	CHECK(r.th.msis == 0);                  /* never by ioctl */
	/* a new message for the unmasked vector: the route follows */
	wr(&r, 0x4000, 0xfee01000, 8);
	wr(&r, 0x4008, 0x42, 4);
	CHECK(r.th.route_writes == 3);
	CHECK(table_has(&r, 0, 0xfee01000, 0x42));
	wr(&r, 0x4008, 0x42, 4);                /* the same again: no rewrite */
	CHECK(r.th.route_writes == 3);
	/* the function mask takes the route out; events wait in the PBA */
	cfg_write(&r, msix + PCI_MSIX_CTRL,
		  PCI_MSIX_ENABLE | PCI_MSIX_FUNC_MASK, 2);
	CHECK(table_msis(&r) == 0);
	CHECK(r.th.route_writes == 4);
	config_event(&r);
	CHECK(testhost_route_sent(&r.th, 0) == 0);
	CHECK(rd(&r, 0x6000, 8) == 1);
	cfg_write(&r, msix + PCI_MSIX_CTRL, PCI_MSIX_ENABLE, 2);
	CHECK(table_has(&r, 0, 0xfee01000, 0x42));
	CHECK(testhost_route_sent(&r.th, 0) == 1);
	CHECK(rd(&r, 0x6000, 8) == 0);
	/* the queue's vector, never unmasked, never had a route */
	CHECK(!table_has(&r, 1, 0, 0) && table_msis(&r) == 1);
	/* MSI-X off: no route, nothing sent, nothing pending */
	cfg_write(&r, msix + PCI_MSIX_CTRL, 0, 2);
	CHECK(table_msis(&r) == 0);
	config_event(&r);
	CHECK(testhost_route_sent(&r.th, 0) == 0);
	CHECK(rd(&r, 0x6000, 8) == 0);
	rig_destroy(&r);
}

/* The transport's snapshot state, as the test host holds it. */
static const struct dev_state_ops *state_of(struct rig *r, void **dev)
{
	for (unsigned int i = 0; i < r->th.nr_state; i++)
		if (!strcmp(r->th.state[i].name, "virtio-pci@00:01.0")) {
			*dev = r->th.state[i].dev;
			return r->th.state[i].ops;
		}
	return NULL;
}

TEST(restore_brings_the_routes_back)
{
	const struct dev_state_ops *ops;
	struct rig a, b;
	struct sbuf st, rd_;
	unsigned int msix;
	char err[128] = "";
	void *dev;

	CHECK(rig_init(&a, true) == 0);
	msix = msix_cap(&a);
	CHECK(driver_up(&a));
	cfg_write(&a, msix + PCI_MSIX_CTRL, PCI_MSIX_ENABLE, 2);
	wr(&a, 0x4000, 0xfee02000, 4);
	wr(&a, 0x4008, 0x45, 4);
	wr(&a, 0x400c, 0, 4);
	wr(&a, 0x16, 0, 2);                     /* queue 0 ... */
	wr(&a, 0x1a, 1, 2);                     /* ... on vector 1, masked */
	CHECK((ops = state_of(&a, &dev)) != NULL);
	sbuf_init(&st);
	ops->save(dev, &st);
	CHECK_EQ(st.err, 0);

	CHECK(rig_init(&b, true) == 0);
	CHECK(table_msis(&b) == 0);
	CHECK((ops = state_of(&b, &dev)) != NULL);
	sbuf_reader(&rd_, st.data, st.len);
	CHECK_EQ(ops->restore(dev, &rd_, err, sizeof(err)), 0);
	/* the unmasked vector's route is back; the masked one has none */
	CHECK(table_msis(&b) == 1);
	CHECK(table_has(&b, 0, 0xfee02000, 0x45));
	CHECK(rd(&b, 0x10, 2) == 0 && rd(&b, 0x1a, 2) == 1);
	config_event(&b);
	CHECK(testhost_route_sent(&b.th, 0) == 1);
	rig_destroy(&b);

	/* a vector past the table: refused */
	CHECK(rig_init(&b, true) == 0);
	CHECK((ops = state_of(&b, &dev)) != NULL);
	st.data[10] = 7;                        /* config_vector's low byte */
	sbuf_reader(&rd_, st.data, st.len);
	CHECK_EQ(ops->restore(dev, &rd_, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "malformed"));
	CHECK(table_msis(&b) == 0);
	rig_destroy(&b);
	sbuf_free(&st);
	rig_destroy(&a);
}

/* A host without MSI routes: each message is one send_msi. */
TEST(config_interrupt_by_send_msi_without_routes)
{
	unsigned int msix = 0;
	struct rig r;

	CHECK(rig_init(&r, false) == 0);
	CHECK(r.th.routes.nr_msi == 0);

	for (unsigned int c = cfg_read(&r, PCI_CAP_PTR, 1); c;
	     c = cfg_read(&r, c + 1, 1))
		if (cfg_read(&r, c, 1) == PCI_CAP_ID_MSIX)
			msix = c;
	CHECK(msix != 0);
	/* features: VERSION_1; then DRIVER_OK */
	wr(&r, 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	wr(&r, 0x08, 1, 4);
	wr(&r, 0x0c, 1, 4);
	wr(&r, 0x14, 0x0b, 1);
	CHECK(rd(&r, 0x14, 1) & VIRTIO_STATUS_FEATURES_OK);
	wr(&r, 0x14, 0x0f, 1);
	wr(&r, 0x10, 0, 2);                     /* config_msix_vector 0 */
	CHECK(rd(&r, 0x10, 2) == 0);
	cfg_write(&r, msix + PCI_MSIX_CTRL, PCI_MSIX_ENABLE, 2);
	wr(&r, 0x4000, 0xfee00000, 4);          /* vector 0: address, data */
	wr(&r, 0x4008, 0x41, 4);
	pthread_mutex_lock(&r.d->lock);
	virtio_notify_config(r.d);              /* masked: pending only */
	pthread_mutex_unlock(&r.d->lock);
	CHECK(r.th.msis == 0);
	CHECK(rd(&r, 0x6000, 8) & 1);           /* the PBA bit */
	wr(&r, 0x400c, 0, 4);                   /* unmask: sent now */
	CHECK(r.th.msis == 1);
	CHECK(r.th.msi_addr == 0xfee00000 && r.th.msi_data == 0x41);
	CHECK((rd(&r, 0x6000, 8) & 1) == 0);
	pthread_mutex_lock(&r.d->lock);
	virtio_notify_config(r.d);
	pthread_mutex_unlock(&r.d->lock);
	CHECK(r.th.msis == 2);
	rig_destroy(&r);
}

UNIT_MAIN("virtio_pci",
	  T(ids_caps_and_bar), T(common_config_and_vectors),
	  T(msix_vectors_follow_their_routes), T(restore_brings_the_routes_back),
	  T(config_interrupt_by_send_msi_without_routes))
