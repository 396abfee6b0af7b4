// SPDX-License-Identifier: MIT
/*
 * The virtio-pci transport (devices/virtio_pci.c) with no KVM: a
 * virtio-rng device on a PCI bus of a test host, driven through the
 * configuration ports and BAR 0 as Linux's virtio_pci_modern does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../devices/devices.h"
#include "../../devices/pci.h"
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

static int rig_init(struct rig *r)
{
	static const struct pci_ids host = { .vendor = 0x1b36, .device = 8 };
	const struct vm_rate_limit none = { 0 };
	int ret = testhost_init(&r->th, 1 << 20);

	if (ret)
		return ret;
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

	CHECK(rig_init(&r) == 0);
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

	CHECK(rig_init(&r) == 0);
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

TEST(config_interrupt_is_an_msix_message)
{
	unsigned int msix = 0;
	struct rig r;

	CHECK(rig_init(&r) == 0);
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
	  T(config_interrupt_is_an_msix_message))
