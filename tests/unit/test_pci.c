// SPDX-License-Identifier: MIT
/*
 * The PCI model with no KVM: configuration reads and writes through both
 * 0xCF8/0xCFC and ECAM at every width, absent devices and malformed
 * accesses answered with all-ones, BAR sizing (32- and 64-bit), moves and
 * memory decoding as the owner sees them, the capability chain (MSI-X and
 * virtio's vendor capabilities), and MSI-X: table reads and writes,
 * vector and function masking, the PBA, delivery on unmask; a function's
 * snapshot state restored into a fresh one, and damaged state refused.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/pci.h"
#include "../../devices/state.h"
#include "unit.h"

#define MEM32  0xc0000000ULL
#define MEM64  0x1000000000ULL
#define CONF1_ADDR 0 /* offsets in the 0xcf8 range */
#define CONF1_DATA 4

/* What the owner callbacks saw. */
struct owner {
	unsigned int moved, changed, io;
	unsigned int last_bar;
	uint64_t old, addr;
	bool was_mapped, mapped;
	struct pci_msix_msg msg;
	unsigned int msg_vector;
	unsigned int delivered[16], ndelivered;
	uint64_t io_off;
	uint32_t io_len;
	bool io_write;
	uint8_t io_data[8];
};

static void own_bar_io(struct pci_dev *d, unsigned int bar, uint64_t off,
		       uint8_t *data, uint32_t len, bool is_write)
{
	struct owner *o = d->owner;

	o->io++;
	o->last_bar = bar;
	o->io_off = off;
	o->io_len = len;
	o->io_write = is_write;
	if (is_write)
		memcpy(o->io_data, data, len);
	else
		memset(data, 0x5a, len);
}

static void own_bar_moved(struct pci_dev *d, unsigned int bar, uint64_t old,
			  bool was_mapped, uint64_t addr, bool mapped)
{
	struct owner *o = d->owner;

	o->moved++;
	o->last_bar = bar;
	o->old = old;
	o->was_mapped = was_mapped;
	o->addr = addr;
	o->mapped = mapped;
}

static void own_msix_changed(struct pci_dev *d, unsigned int v,
			     const struct pci_msix_msg *m)
{
	struct owner *o = d->owner;

	o->changed++;
	o->msg_vector = v;
	o->msg = *m;
}

static void own_msix_deliver(struct pci_dev *d, unsigned int v)
{
	struct owner *o = d->owner;

	if (o->ndelivered < 16)
		o->delivered[o->ndelivered] = v;
	o->ndelivered++;
}

static const struct pci_dev_ops ops = {
	.bar_io = own_bar_io,
	.bar_moved = own_bar_moved,
	.msix_changed = own_msix_changed,
	.msix_deliver = own_msix_deliver,
};

static const struct pci_ids host_ids = { 0x1234, 0x0001, 0, 0, 0, 0 };
static const struct pci_ids net_ids = { 0x1af4, 0x1041, 0x1af4, 0x0001, 1,
					0x020000 };

/* A bus with one device in slot 1: BAR0 32-bit 4 KiB, BAR2 64-bit 16 KiB
 * prefetchable holding a 4-vector MSI-X table at 0x2000, PBA at 0x3000. */
struct fixture {
	struct pci_bus bus;
	struct pci_dev dev;
	struct owner own;
};

static int setup(struct fixture *f)
{
	int ret;

	memset(f, 0, sizeof(*f));
	if ((ret = pci_bus_init(&f->bus, 0, &host_ids, MEM32, 0x10000000,
				MEM64, 0x1000000000ULL)))
		return ret;
	pci_dev_init(&f->dev, &net_ids, &ops, &f->own);
	if ((ret = pci_dev_add_bar(&f->dev, 0, 4096, PCI_BAR_MEM32)) ||
	    (ret = pci_dev_add_bar(&f->dev, 2, 16384,
				   PCI_BAR_MEM64 | PCI_BAR_PREFETCH)))
		return ret;
	if ((ret = pci_dev_add_msix(&f->dev, 4, 2, 0x2000, 0x3000)) < 0)
		return ret;
	return pci_bus_add(&f->bus, &f->dev);
}

static void teardown(struct fixture *f)
{
	pci_dev_destroy(&f->dev);
	pci_bus_destroy(&f->bus);
}

static uint32_t addr1(unsigned int bus, unsigned int slot, unsigned int fn,
		      unsigned int reg)
{
	return 0x80000000U | bus << 16 | slot << 11 | fn << 8 | (reg & 0xfc) |
	       (reg & 0xf00) << 16;
}

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* conf1: latch the address, then access the data port at reg's byte */
static uint64_t c1_read(struct pci_bus *b, unsigned int slot, unsigned int reg,
			uint32_t len)
{
	uint8_t a[4], d[8] = { 0 };

	put(a, addr1(0, slot, 0, reg), 4);
	pci_conf1_io(b, CONF1_ADDR, a, 4, true);
	pci_conf1_io(b, CONF1_DATA + (reg & 3), d, len, false);
	return le(d, len);
}

static void c1_write(struct pci_bus *b, unsigned int slot, unsigned int reg,
		     uint32_t len, uint64_t v)
{
	uint8_t a[4], d[8];

	put(a, addr1(0, slot, 0, reg), 4);
	pci_conf1_io(b, CONF1_ADDR, a, 4, true);
	put(d, v, len);
	pci_conf1_io(b, CONF1_DATA + (reg & 3), d, len, true);
}

static uint64_t ecam_off(unsigned int bus, unsigned int slot, unsigned int fn,
			 unsigned int reg)
{
	return (uint64_t)bus << 20 | slot << 15 | fn << 12 | reg;
}

static uint64_t ec_read(struct pci_bus *b, unsigned int slot, unsigned int reg,
			uint32_t len)
{
	uint8_t d[8] = { 0 };

	pci_ecam_io(b, ecam_off(0, slot, 0, reg), d, len, false);
	return le(d, len);
}

static void ec_write(struct pci_bus *b, unsigned int slot, unsigned int reg,
		     uint32_t len, uint64_t v)
{
	uint8_t d[8];

	put(d, v, len);
	pci_ecam_io(b, ecam_off(0, slot, 0, reg), d, len, true);
}

/* An access to guest-physical addr in one of the windows. */
static uint64_t mem_read(struct pci_bus *b, uint64_t addr, uint32_t len)
{
	uint8_t d[8] = { 0 };

	if (addr >= MEM64)
		pci_mem64_io(b, addr - MEM64, d, len, false);
	else
		pci_mem32_io(b, addr - MEM32, d, len, false);
	return le(d, len);
}

static void mem_write(struct pci_bus *b, uint64_t addr, uint32_t len,
		      uint64_t v)
{
	uint8_t d[8];

	put(d, v, len);
	if (addr >= MEM64)
		pci_mem64_io(b, addr - MEM64, d, len, true);
	else
		pci_mem32_io(b, addr - MEM32, d, len, true);
}

#define SETUP()                                   \
	struct fixture fx;                        \
	CHECK_EQ(setup(&fx), 0);                  \
	struct pci_bus *b = &fx.bus

TEST(config_reads_every_width_both_mechanisms)
{
	SETUP();
	uint64_t (*rd[2])(struct pci_bus *, unsigned int, unsigned int,
			  uint32_t) = { c1_read, ec_read };

	for (int m = 0; m < 2; m++) {
		CHECK_EQ(rd[m](b, 1, 0, 4), 0x10411af4);
		CHECK_EQ(rd[m](b, 1, 0, 2), 0x1af4);
		CHECK_EQ(rd[m](b, 1, 2, 2), 0x1041);
		CHECK_EQ(rd[m](b, 1, 0, 1), 0xf4);
		CHECK_EQ(rd[m](b, 1, 1, 1), 0x1a);
		CHECK_EQ(rd[m](b, 1, 2, 1), 0x41);
		CHECK_EQ(rd[m](b, 1, 3, 1), 0x10);
		CHECK_EQ(rd[m](b, 1, 0x08, 4), 0x02000001); /* class, rev */
		CHECK_EQ(rd[m](b, 1, 0x0e, 1), 0);          /* header type 0 */
		CHECK_EQ(rd[m](b, 1, PCI_SUBSYS_VENDOR, 4), 0x00011af4);
		/* the host bridge */
		CHECK_EQ(rd[m](b, 0, 0, 4), 0x00011234);
		CHECK_EQ(rd[m](b, 0, 0x08, 4) >> 8, 0x060000);
	}
	/* a word at the data port's offset 1 crosses no DWORD: allowed */
	CHECK_EQ(c1_read(b, 1, 1, 2), 0x411a);
	teardown(&fx);
}

TEST(absent_and_malformed_accesses_read_all_ones)
{
	SETUP();
	uint8_t d[8], a[4];

	CHECK_EQ(c1_read(b, 5, 0, 4), 0xffffffff);   /* empty slot */
	CHECK_EQ(ec_read(b, 5, 0, 2), 0xffff);
	CHECK_EQ(ec_read(b, 31, 0x3c, 1), 0xff);
	/* function 1 of a single-function device */
	pci_ecam_io(b, ecam_off(0, 1, 1, 0), d, 4, false);
	CHECK_EQ(le(d, 4), 0xffffffff);
	/* bus 1 through conf1 */
	put(a, addr1(1, 1, 0, 0), 4);
	pci_conf1_io(b, CONF1_ADDR, a, 4, true);
	pci_conf1_io(b, CONF1_DATA, d, 4, false);
	CHECK_EQ(le(d, 4), 0xffffffff);
	/* ECAM for bus 1 (beyond the bus the window was made for) */
	pci_ecam_io(b, ecam_off(1, 1, 0, 0), d, 4, false);
	CHECK_EQ(le(d, 4), 0xffffffff);
	/* the enable bit clear: no configuration cycle */
	put(a, addr1(0, 1, 0, 0) & 0x7fffffff, 4);
	pci_conf1_io(b, CONF1_ADDR, a, 4, true);
	pci_conf1_io(b, CONF1_DATA, d, 4, false);
	CHECK_EQ(le(d, 4), 0xffffffff);
	/* past the data port's DWORD, unaligned or oversized ECAM */
	put(a, addr1(0, 1, 0, 0), 4);
	pci_conf1_io(b, CONF1_ADDR, a, 4, true);
	pci_conf1_io(b, CONF1_DATA + 2, d, 4, false);
	CHECK_EQ(le(d, 4), 0xffffffff);
	CHECK_EQ(ec_read(b, 1, 1, 2), 0xffff);
	CHECK_EQ(ec_read(b, 1, 2, 4), 0xffffffff);
	CHECK_EQ(ec_read(b, 1, 0, 8), UINT64_MAX);
	/* extended configuration space of a conventional device reads 0 */
	CHECK_EQ(ec_read(b, 1, 0x100, 4), 0);
	CHECK_EQ(ec_read(b, 1, 0xffc, 4), 0);
	CHECK_EQ(c1_read(b, 1, 0x100, 4), 0); /* AMD's extended conf1 */
	/* writes to absent things change nothing and do not crash */
	c1_write(b, 7, PCI_COMMAND, 2, 0xffff);
	ec_write(b, 1, 0x200, 4, 0xffffffff);
	ec_write(b, 1, 1, 2, 0xffff);
	CHECK_EQ(ec_read(b, 1, 0, 4), 0x10411af4);
	teardown(&fx);
}

TEST(config_address_latch)
{
	SETUP();
	uint8_t d[4];

	/* Linux's type-1 probe: a byte to 0xcfb, then DWORDs to 0xcf8 */
	d[0] = 1;
	pci_conf1_io(b, 3, d, 1, true);
	put(d, 0x80000000, 4);
	pci_conf1_io(b, CONF1_ADDR, d, 4, true);
	memset(d, 0, 4);
	pci_conf1_io(b, CONF1_ADDR, d, 4, false);
	CHECK_EQ(le(d, 4), 0x80000000);
	/* narrow reads of the address port are not the latch */
	pci_conf1_io(b, 1, d, 1, false);
	CHECK_EQ(d[0], 0xff);
	pci_conf1_io(b, CONF1_ADDR, d, 2, false);
	CHECK_EQ(le(d, 2), 0xffff);
	/* the two low bits are reserved */
	put(d, 0x80000803, 4);
	pci_conf1_io(b, CONF1_ADDR, d, 4, true);
	pci_conf1_io(b, CONF1_ADDR, d, 4, false);
	CHECK_EQ(le(d, 4), 0x80000800);
	teardown(&fx);
}

TEST(config_writes_respect_masks)
{
	SETUP();

	/* command: only the defined bits stick */
	c1_write(b, 1, PCI_COMMAND, 2, 0xffff);
	CHECK_EQ(c1_read(b, 1, PCI_COMMAND, 2), 0x0547);
	ec_write(b, 1, PCI_COMMAND, 2, PCI_CMD_MEMORY);
	CHECK_EQ(ec_read(b, 1, PCI_COMMAND, 2), PCI_CMD_MEMORY);
	/* status: the capability bit is read-only, error bits clear on 1 */
	ec_write(b, 1, PCI_STATUS, 2, 0xffff);
	CHECK_EQ(ec_read(b, 1, PCI_STATUS, 2), PCI_STATUS_CAP);
	fx.dev.cfg[PCI_STATUS + 1] |= 0x20; /* as if it had aborted */
	ec_write(b, 1, PCI_STATUS, 2, 0x0010);
	CHECK_EQ(ec_read(b, 1, PCI_STATUS, 2), 0x2010); /* 0 leaves it */
	ec_write(b, 1, PCI_STATUS, 2, 0x2000);
	CHECK_EQ(ec_read(b, 1, PCI_STATUS, 2), 0x0010); /* 1 clears it */
	/* IDs and class are read-only */
	c1_write(b, 1, 0, 4, 0);
	ec_write(b, 1, 0x08, 4, 0);
	CHECK_EQ(ec_read(b, 1, 0, 4), 0x10411af4);
	CHECK_EQ(ec_read(b, 1, 0x08, 4), 0x02000001);
	/* interrupt line, cache line size, latency timer: read-write */
	ec_write(b, 1, PCI_INTERRUPT_LINE, 1, 0x0b);
	CHECK_EQ(c1_read(b, 1, PCI_INTERRUPT_LINE, 1), 0x0b);
	c1_write(b, 1, 0x0c, 2, 0x4010);
	CHECK_EQ(ec_read(b, 1, 0x0c, 4), 0x00004010);
	/* a DWORD write over line and pin changes only the line */
	ec_write(b, 1, PCI_INTERRUPT_LINE, 4, 0xffffff05);
	CHECK_EQ(ec_read(b, 1, PCI_INTERRUPT_LINE, 4), 0x00000005);
	/* no expansion ROM: its BAR sizes to 0 */
	ec_write(b, 1, PCI_ROM_ADDRESS, 4, 0xffffffff);
	CHECK_EQ(ec_read(b, 1, PCI_ROM_ADDRESS, 4), 0);
	teardown(&fx);
}

TEST(bar_sizing_32bit)
{
	SETUP();
	uint32_t orig = (uint32_t)ec_read(b, 1, PCI_BAR0, 4);

	CHECK_EQ(orig, MEM32);            /* placed at the window's start */
	CHECK_EQ(fx.own.moved, 2);        /* BAR0 and BAR2 mapped at add */
	ec_write(b, 1, PCI_COMMAND, 2, 0); /* as Linux does around sizing */
	ec_write(b, 1, PCI_BAR0, 4, 0xffffffff);
	CHECK_EQ(ec_read(b, 1, PCI_BAR0, 4), 0xfffff000); /* 4 KiB, mem32 */
	c1_write(b, 1, PCI_BAR0, 4, orig);
	CHECK_EQ(c1_read(b, 1, PCI_BAR0, 4), orig);
	/* byte and word writes merge into the register */
	ec_write(b, 1, PCI_BAR0 + 2, 2, 0xc123);
	CHECK_EQ(ec_read(b, 1, PCI_BAR0, 4), 0xc1230000);
	ec_write(b, 1, PCI_BAR0 + 1, 1, 0x0f); /* below the size: hard 0 */
	CHECK_EQ(ec_read(b, 1, PCI_BAR0, 4), 0xc1230000);
	ec_write(b, 1, PCI_BAR0 + 1, 1, 0xff); /* bits 12-15 are address */
	CHECK_EQ(ec_read(b, 1, PCI_BAR0, 4), 0xc123f000);
	/* unimplemented BARs size to 0 */
	ec_write(b, 1, PCI_BAR0 + 4, 4, 0xffffffff);
	CHECK_EQ(ec_read(b, 1, PCI_BAR0 + 4, 4), 0);
	ec_write(b, 1, PCI_BAR0 + 16, 4, 0xffffffff);
	CHECK_EQ(ec_read(b, 1, PCI_BAR0 + 16, 4), 0);
	teardown(&fx);
}

TEST(bar_sizing_64bit)
{
	SETUP();
	uint32_t lo = (uint32_t)ec_read(b, 1, PCI_BAR0 + 8, 4);
	uint32_t hi = (uint32_t)ec_read(b, 1, PCI_BAR0 + 12, 4);
	uint64_t size;

	/* placed in the 64-bit window, type 64-bit prefetchable */
	CHECK_EQ(lo, (uint32_t)MEM64 | 0xc);
	CHECK_EQ(hi, MEM64 >> 32);
	ec_write(b, 1, PCI_COMMAND, 2, 0);
	ec_write(b, 1, PCI_BAR0 + 8, 4, 0xffffffff);
	ec_write(b, 1, PCI_BAR0 + 12, 4, 0xffffffff);
	CHECK_EQ(ec_read(b, 1, PCI_BAR0 + 8, 4), 0xffffc00c);
	CHECK_EQ(ec_read(b, 1, PCI_BAR0 + 12, 4), 0xffffffff);
	size = ~((uint64_t)0xffffffff << 32 | (0xffffc00cU & ~0xfU)) + 1;
	CHECK_EQ(size, 16384);
	c1_write(b, 1, PCI_BAR0 + 8, 4, lo);
	c1_write(b, 1, PCI_BAR0 + 12, 4, hi);
	CHECK_EQ(fx.dev.bar[2].addr, MEM64);
	teardown(&fx);
}

TEST(bar_moves_and_decoding_reach_the_owner)
{
	SETUP();
	uint64_t bar0 = MEM32, moved_to = MEM32 + 0x100000;

	/* decoding on: the BAR answers in the window */
	CHECK_EQ(mem_read(b, bar0 + 0x10, 4), 0x5a5a5a5a);
	CHECK_EQ(fx.own.io, 1);
	CHECK_EQ(fx.own.io_off, 0x10);
	mem_write(b, bar0 + 0xffc, 4, 0x11223344);
	CHECK(fx.own.io_write && fx.own.io_off == 0xffc);
	CHECK_EQ(le(fx.own.io_data, 4), 0x11223344);
	/* decoding off: the owner hears it, the window stops answering */
	fx.own.moved = 0;
	ec_write(b, 1, PCI_COMMAND, 2, 0);
	CHECK_EQ(fx.own.moved, 2);
	CHECK(!fx.own.mapped && fx.own.was_mapped);
	CHECK_EQ(mem_read(b, bar0 + 0x10, 4), 0xffffffff);
	CHECK_EQ(fx.own.io, 2);
	/* moved while off: nothing decodes either way, no callback */
	fx.own.moved = 0;
	ec_write(b, 1, PCI_BAR0, 4, (uint32_t)moved_to);
	CHECK_EQ(fx.own.moved, 0);
	/* on again: mapped at the new place */
	ec_write(b, 1, PCI_COMMAND, 2, PCI_CMD_MEMORY);
	CHECK_EQ(fx.own.moved, 2);
	CHECK(fx.own.mapped);
	CHECK_EQ(fx.dev.bar[0].addr, moved_to);
	CHECK_EQ(mem_read(b, moved_to + 8, 2), 0x5a5a);
	CHECK_EQ(fx.own.io_off, 8);
	CHECK_EQ(mem_read(b, bar0 + 8, 4), 0xffffffff); /* old place: nothing */
	/* moved while on: one callback with both places */
	fx.own.moved = 0;
	c1_write(b, 1, PCI_BAR0, 4, (uint32_t)bar0);
	CHECK_EQ(fx.own.moved, 1);
	CHECK(fx.own.old == moved_to && fx.own.addr == bar0);
	CHECK(fx.own.was_mapped && fx.own.mapped);
	/* an access that runs past the BAR's end is nobody's */
	fx.own.io = 0;
	CHECK_EQ(mem_read(b, bar0 + 0xffe, 4), 0xffffffff);
	CHECK_EQ(fx.own.io, 0);
	teardown(&fx);
}

TEST(capability_chain)
{
	struct pci_bus bus;
	struct pci_dev d;
	struct owner own = { 0 };
	unsigned int off, seen = 0, vendor = 0, msix = 0;
	int r;

	CHECK_EQ(pci_bus_init(&bus, 0, &host_ids, MEM32, 0x10000000, 0, 0), 0);
	pci_dev_init(&d, &net_ids, &ops, &own);
	CHECK_EQ(pci_dev_add_bar(&d, 4, 16384, PCI_BAR_MEM64), 0);
	CHECK(pci_add_virtio_cap(&d, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0, 0x38, 0) >= 0x40);
	CHECK(pci_add_virtio_cap(&d, VIRTIO_PCI_CAP_ISR_CFG, 4, 0x1000, 1, 0) > 0);
	CHECK(pci_add_virtio_cap(&d, VIRTIO_PCI_CAP_DEVICE_CFG, 4, 0x2000, 0x100, 0) > 0);
	CHECK(pci_add_virtio_cap(&d, VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 0x3000, 0x100, 4) > 0);
	CHECK_EQ(pci_add_virtio_cap(&d, VIRTIO_PCI_CAP_PCI_CFG, 4, 0, 0, 0), -EINVAL);
	CHECK(pci_dev_add_msix(&d, 3, 4, 0x3800, 0x3c00) > 0);
	CHECK_EQ(pci_bus_add(&bus, &d), 0);
	/* no 64-bit window: the 64-bit BAR lives below 4 GiB */
	CHECK_EQ(d.bar[4].addr, MEM32);

	CHECK(ec_read(&bus, 1, PCI_STATUS, 2) & PCI_STATUS_CAP);
	off = (unsigned int)ec_read(&bus, 1, PCI_CAP_PTR, 1);
	while (off) {
		unsigned int id = (unsigned int)ec_read(&bus, 1, off, 1);

		CHECK(off >= 0x40 && off % 4 == 0 && off < 256);
		CHECK(seen++ < 8); /* no loop */
		if (id == PCI_CAP_ID_VENDOR) {
			static const struct { unsigned int type, len; uint32_t o, l; }
				want[4] = { { 1, 16, 0, 0x38 }, { 3, 16, 0x1000, 1 },
					    { 4, 16, 0x2000, 0x100 },
					    { 2, 20, 0x3000, 0x100 } };

			CHECK(vendor < 4);
			CHECK_EQ(ec_read(&bus, 1, off + 2, 1), want[vendor].len);
			CHECK_EQ(ec_read(&bus, 1, off + 3, 1), want[vendor].type);
			CHECK_EQ(ec_read(&bus, 1, off + 4, 1), 4); /* BAR */
			CHECK_EQ(ec_read(&bus, 1, off + 8, 4), want[vendor].o);
			CHECK_EQ(c1_read(&bus, 1, off + 12, 4), want[vendor].l);
			if (want[vendor].type == 2)
				CHECK_EQ(ec_read(&bus, 1, off + 16, 4), 4);
			/* read-only to the guest */
			ec_write(&bus, 1, off + 8, 4, 0xdeadbeef);
			CHECK_EQ(ec_read(&bus, 1, off + 8, 4), want[vendor].o);
			vendor++;
		} else if (id == PCI_CAP_ID_MSIX) {
			CHECK_EQ(ec_read(&bus, 1, off + PCI_MSIX_CTRL, 2), 2);
			CHECK_EQ(ec_read(&bus, 1, off + PCI_MSIX_TABLE, 4), 0x3804);
			CHECK_EQ(ec_read(&bus, 1, off + PCI_MSIX_PBA, 4), 0x3c04);
			msix++;
		} else {
			CHECK(!"unexpected capability");
		}
		off = (unsigned int)ec_read(&bus, 1, off + 1, 1);
	}
	CHECK_EQ(vendor, 4);
	CHECK_EQ(msix, 1);
	/* too late to add one, and a full space refuses */
	CHECK_EQ(pci_add_virtio_cap(&d, VIRTIO_PCI_CAP_ISR_CFG, 4, 0, 1, 0), -EINVAL);
	{
		struct pci_dev full;
		uint8_t body[58] = { 0 };

		/* 60-byte capabilities at 0x40, 0x7c, 0xb8; then 0xf4 is free */
		pci_dev_init(&full, &net_ids, NULL, NULL);
		for (int i = 0; i < 3; i++)
			CHECK_EQ(pci_dev_add_cap(&full, 0x09, body, sizeof(body), NULL),
				 0x40 + 60 * i);
		r = pci_dev_add_cap(&full, 0x09, body, sizeof(body), NULL);
		CHECK_EQ(r, -ENOSPC);
		CHECK_EQ(pci_dev_add_cap(&full, 0x09, body, 2, NULL), 0xf4);
		CHECK_EQ(pci_dev_add_cap(&full, 0x09, body, 8, NULL), -ENOSPC);
		CHECK_EQ(pci_dev_add_cap(&full, 0x09, body, 6, NULL), 0xf8);
		CHECK_EQ(full.cfg[0xf4 + 1], 0xf8); /* linked */
		CHECK_EQ(full.cfg[0xf8 + 1], 0);
		CHECK_EQ(pci_dev_add_cap(&full, 0x09, body, 1, NULL), -ENOSPC);
		pci_dev_destroy(&full);
	}
	pci_dev_destroy(&d);
	pci_bus_destroy(&bus);
}

/* The MSI-X capability's offset in fx's device. */
static unsigned int msix_cap(struct pci_bus *b)
{
	unsigned int off = (unsigned int)ec_read(b, 1, PCI_CAP_PTR, 1);

	while (off && ec_read(b, 1, off, 1) != PCI_CAP_ID_MSIX)
		off = (unsigned int)ec_read(b, 1, off + 1, 1);
	return off;
}

TEST(msix_table_masking_and_pba)
{
	SETUP();
	uint64_t table = MEM64 + 0x2000, pba = MEM64 + 0x3000;
	unsigned int cap = msix_cap(b);
	uint64_t e1 = table + PCI_MSIX_ENTRY;

	CHECK(cap);
	CHECK_EQ(ec_read(b, 1, cap + PCI_MSIX_CTRL, 2), 3); /* 4 vectors, off */
	/* every vector starts masked, with a zero message */
	for (unsigned int v = 0; v < 4; v++) {
		CHECK_EQ(mem_read(b, table + v * 16 + 12, 4), 1);
		CHECK_EQ(mem_read(b, table + v * 16, 8), 0);
	}
	/* program vector 1: address by QWORD, data by DWORD */
	mem_write(b, e1, 8, 0xfee01000ULL);
	CHECK_EQ(fx.own.changed, 1);
	CHECK_EQ(fx.own.msg_vector, 1);
	CHECK_EQ(fx.own.msg.addr, 0xfee01000ULL);
	CHECK(fx.own.msg.masked);
	mem_write(b, e1 + 8, 4, 0x4041);
	CHECK_EQ(fx.own.msg.data, 0x4041);
	CHECK_EQ(mem_read(b, e1, 4), 0xfee01000);
	CHECK_EQ(mem_read(b, e1 + 4, 4), 0);
	CHECK_EQ(mem_read(b, e1 + 8, 2), 0x4041); /* any read width */
	/* byte writes and misaligned DWORDs are ignored */
	mem_write(b, e1 + 8, 1, 0x99);
	mem_write(b, e1 + 9, 4, 0x99999999);
	CHECK_EQ(mem_read(b, e1 + 8, 4), 0x4041);
	/* only bit 0 of vector control is writable */
	mem_write(b, e1 + 12, 4, 0xfffffffe);
	CHECK_EQ(mem_read(b, e1 + 12, 4), 0);
	mem_write(b, e1 + 12, 4, 1);
	CHECK_EQ(mem_read(b, e1 + 12, 4), 1);

	/* MSI-X off: nothing may be sent, nothing is pending */
	CHECK(!pci_msix_notify(&fx.dev, 1));
	CHECK_EQ(mem_read(b, pba, 8), 0);
	/* on, vector masked: the event waits in the PBA */
	fx.own.changed = 0;
	ec_write(b, 1, cap + PCI_MSIX_CTRL, 2, PCI_MSIX_ENABLE);
	CHECK_EQ(fx.own.changed, 4); /* every vector's state was re-sent */
	CHECK(!pci_msix_notify(&fx.dev, 1));
	CHECK_EQ(fx.own.ndelivered, 0);
	CHECK_EQ(mem_read(b, pba, 8), 0x2);
	CHECK_EQ(mem_read(b, pba, 4), 0x2);
	mem_write(b, pba, 8, 0); /* the PBA is read-only */
	CHECK_EQ(mem_read(b, pba, 8), 0x2);
	/* unmask: routing first, then the pending message, PBA clear */
	fx.own.changed = 0;
	mem_write(b, e1 + 12, 4, 0);
	CHECK_EQ(fx.own.changed, 1);
	CHECK(!fx.own.msg.masked);
	CHECK_EQ(fx.own.ndelivered, 1);
	CHECK_EQ(fx.own.delivered[0], 1);
	CHECK_EQ(mem_read(b, pba, 8), 0);
	/* unmasked: delivered at once */
	CHECK(pci_msix_notify(&fx.dev, 1));
	CHECK_EQ(fx.own.ndelivered, 2);
	/* the function mask holds every vector */
	ec_write(b, 1, cap + PCI_MSIX_CTRL + 1, 1,
		 (PCI_MSIX_ENABLE | PCI_MSIX_FUNC_MASK) >> 8);
	CHECK(!pci_msix_notify(&fx.dev, 1));
	CHECK(!pci_msix_notify(&fx.dev, 3)); /* masked itself too */
	CHECK_EQ(mem_read(b, pba, 8), 0xa);
	ec_write(b, 1, cap + PCI_MSIX_CTRL, 2, PCI_MSIX_ENABLE);
	CHECK_EQ(fx.own.ndelivered, 3); /* 1 goes, 3 stays pending */
	CHECK_EQ(fx.own.delivered[2], 1);
	CHECK_EQ(mem_read(b, pba, 8), 0x8);
	/* the table size field is read-only */
	ec_write(b, 1, cap + PCI_MSIX_CTRL, 2, 0xffff);
	CHECK_EQ(ec_read(b, 1, cap + PCI_MSIX_CTRL, 2), 0xc003);
	/* no such vector */
	CHECK(!pci_msix_notify(&fx.dev, 4));
	{
		struct pci_msix_msg m;

		CHECK(pci_msix_message(&fx.dev, 1, &m));
		CHECK(m.addr == 0xfee01000ULL && m.data == 0x4041 && m.masked);
		CHECK(!pci_msix_message(&fx.dev, 4, &m));
	}
	/* the rest of the BAR is the owner's */
	fx.own.io = 0;
	CHECK_EQ(mem_read(b, MEM64 + 0x100, 4), 0x5a5a5a5a);
	CHECK_EQ(fx.own.io, 1);
	CHECK_EQ(fx.own.last_bar, 2);
	/* straddling the table's start is nobody's */
	CHECK_EQ(mem_read(b, table - 2, 4), 0xffffffff);
	CHECK_EQ(fx.own.io, 1);
	teardown(&fx);
}

TEST(bad_declarations_refused)
{
	struct pci_dev d;

	pci_dev_init(&d, &net_ids, NULL, NULL);
	CHECK_EQ(pci_dev_add_bar(&d, 0, 3 * 4096, 0), -EINVAL);  /* not 2^n */
	CHECK_EQ(pci_dev_add_bar(&d, 0, 2048, 0), -EINVAL);      /* < 4 KiB */
	CHECK_EQ(pci_dev_add_bar(&d, 6, 4096, 0), -EINVAL);
	CHECK_EQ(pci_dev_add_bar(&d, 5, 4096, PCI_BAR_MEM64), -EINVAL);
	CHECK_EQ(pci_dev_add_bar(&d, 0, 1ULL << 32, 0), -EINVAL); /* 32-bit */
	CHECK_EQ(pci_dev_add_bar(&d, 0, 4096, 0x1), -EINVAL);     /* I/O */
	CHECK_EQ(pci_dev_add_bar(&d, 0, 1ULL << 32, PCI_BAR_MEM64), 0);
	CHECK_EQ(pci_dev_add_bar(&d, 1, 4096, 0), -EINVAL); /* BAR0's half */
	CHECK_EQ(pci_dev_add_bar(&d, 0, 4096, 0), -EINVAL); /* taken */
	CHECK_EQ(pci_dev_add_bar(&d, 2, 8192, 0), 0);
	CHECK_EQ(pci_dev_add_msix(&d, 0, 2, 0, 0x1000), -EINVAL);
	CHECK_EQ(pci_dev_add_msix(&d, 2049, 0, 0, 0x10000), -EINVAL);
	CHECK_EQ(pci_dev_add_msix(&d, 4, 3, 0, 0x1000), -EINVAL);  /* no BAR */
	CHECK_EQ(pci_dev_add_msix(&d, 4, 2, 0x1ff8, 0x1000), -EINVAL); /* out */
	CHECK_EQ(pci_dev_add_msix(&d, 4, 2, 0, 0x20), -EINVAL);   /* overlap */
	CHECK_EQ(pci_dev_add_msix(&d, 4, 2, 4, 0x1000), -EINVAL); /* aligned */
	CHECK(pci_dev_add_msix(&d, 4, 2, 0, 0x1000) > 0);
	CHECK_EQ(pci_dev_add_msix(&d, 4, 2, 0x100, 0x1800), -EINVAL); /* twice */
	pci_dev_destroy(&d);
}

TEST(slots_and_windows_run_out)
{
	struct pci_bus bus;
	struct pci_dev *d = calloc(PCI_SLOTS, sizeof(*d));
	unsigned int n;

	CHECK(d);
	CHECK_EQ(pci_bus_init(&bus, 0, &host_ids, MEM32, 0x100000, 0, 0), 0);
	for (n = 0; n < PCI_SLOTS; n++) {
		pci_dev_init(&d[n], &net_ids, NULL, NULL);
		if (pci_dev_add_bar(&d[n], 0, 4096, 0) || pci_bus_add(&bus, &d[n]))
			break;
		CHECK_EQ(d[n].slot, n + 1);
		CHECK_EQ(d[n].bar[0].addr, MEM32 + 4096 * n);
	}
	CHECK_EQ(n, PCI_SLOTS - 1); /* slot 0 is the host bridge */
	pci_bus_destroy(&bus);
	/* a window too small for the BAR */
	CHECK_EQ(pci_bus_init(&bus, 0, &host_ids, MEM32, 0x100000, 0, 0), 0);
	pci_dev_init(&d[0], &net_ids, NULL, NULL);
	CHECK_EQ(pci_dev_add_bar(&d[0], 0, 0x200000, 0), 0);
	CHECK_EQ(pci_bus_add(&bus, &d[0]), -ENOSPC);
	CHECK(bus.dev[1] == NULL);
	pci_bus_destroy(&bus);
	/* windows that do not fit the address space */
	CHECK_EQ(pci_bus_init(&bus, 0, &host_ids, 0xf0000000, 0x20000000, 0, 0),
		 -EINVAL);
	CHECK_EQ(pci_bus_init(&bus, 0, &host_ids, MEM32, 0, 0, 0), -EINVAL);
	free(d);
}

/* Offsets in pci_dev_state_save()'s record of fx's device (4 vectors). */
#define ST_BAR(n)    (PCI_CFG_SIZE + 8 * (n))
#define ST_TABLE     (PCI_CFG_SIZE + 8 * PCI_NUM_BARS + 4)
#define ST_PBA       (ST_TABLE + 4 * PCI_MSIX_ENTRY)

/* Restore a copy of st, with byte off xor'ed with x, into a fresh fixture. */
static int restore_damaged(const struct sbuf *st, size_t off, uint8_t x,
			   size_t len, char *err, size_t errlen,
			   unsigned int *changed)
{
	struct fixture fz;
	uint8_t *copy = malloc(st->len);
	struct sbuf r;
	int ret;

	if (!copy || setup(&fz)) {
		free(copy);
		return -ENOMEM;
	}
	memcpy(copy, st->data, st->len);
	copy[off] ^= x;
	sbuf_reader(&r, copy, len);
	fz.own.moved = fz.own.changed = 0;
	ret = pci_dev_state_restore(&fz.dev, &r, err, errlen);
	*changed = fz.own.changed + fz.own.moved;
	teardown(&fz);
	free(copy);
	return ret;
}

TEST(state_restore_tells_the_owner)
{
	SETUP();
	struct fixture fy;
	unsigned int cap = msix_cap(b), changed = 0;
	uint64_t e1 = MEM64 + 0x2000 + PCI_MSIX_ENTRY, moved = 0x2000000000ULL;
	struct pci_msix_msg m;
	struct sbuf st, r;
	char err[128] = "";

	/* the guest: BAR 2 moved, MSI-X on, vector 1 unmasked, 3 pending */
	ec_write(b, 1, cap + PCI_MSIX_CTRL, 2, PCI_MSIX_ENABLE);
	mem_write(b, e1, 8, 0xfee01000ULL);
	mem_write(b, e1 + 8, 4, 0x4041);
	mem_write(b, e1 + 12, 4, 0);
	CHECK(!pci_msix_notify(&fx.dev, 3));
	ec_write(b, 1, PCI_BAR0 + 8, 4, (uint32_t)moved);
	ec_write(b, 1, PCI_BAR0 + 12, 4, (uint32_t)(moved >> 32));
	CHECK_EQ(fx.dev.bar[2].addr, moved);
	sbuf_init(&st);
	pci_dev_state_save(&fx.dev, &st);
	CHECK_EQ(st.err, 0);
	CHECK_EQ(st.len, ST_PBA + 8);

	CHECK_EQ(setup(&fy), 0);
	CHECK(fy.dev.bar[2].addr != moved);
	fy.own.moved = fy.own.changed = 0; /* pci_bus_add() mapped the BARs */
	sbuf_reader(&r, st.data, st.len);
	CHECK_EQ(pci_dev_state_restore(&fy.dev, &r, err, sizeof(err)), 0);
	CHECK_EQ(sbuf_done(&r), 0);
	/* BAR 2's owner moved it; every vector's route was told */
	CHECK_EQ(fy.own.moved, 1);
	CHECK_EQ(fy.own.last_bar, 2);
	CHECK_EQ(fy.own.addr, moved);
	CHECK(fy.own.mapped);
	CHECK_EQ(fy.own.changed, 4);
	CHECK_EQ(fy.own.msg_vector, 3);
	CHECK(fy.own.msg.masked);
	CHECK_EQ(fy.own.ndelivered, 0);   /* nothing sent by a restore */
	CHECK(pci_msix_message(&fy.dev, 1, &m));
	CHECK(m.addr == 0xfee01000ULL && m.data == 0x4041 && !m.masked);
	CHECK_EQ(ec_read(&fy.bus, 1, PCI_BAR0 + 12, 4), moved >> 32);
	CHECK_EQ(mem_read(&fy.bus, moved + 0x3000, 8), 0x8); /* the PBA */
	CHECK(pci_msix_notify(&fy.dev, 1));
	CHECK_EQ(fy.own.ndelivered, 1);
	teardown(&fy);

	/* damaged: refused with a line, and the owner told nothing */
	CHECK_EQ(restore_damaged(&st, 0, 0x01, st.len, err, sizeof(err),
				 &changed), -EINVAL);        /* vendor ID */
	CHECK(strstr(err, "read-only") && changed == 0);
	CHECK_EQ(restore_damaged(&st, PCI_COMMAND, PCI_CMD_MASTER, st.len, err,
				 sizeof(err), &changed), 0); /* writable */
	CHECK_EQ(restore_damaged(&st, ST_BAR(2), 0x10, st.len, err, sizeof(err),
				 &changed), -EINVAL);        /* misaligned */
	CHECK(strstr(err, "BAR") && changed == 0);
	CHECK_EQ(restore_damaged(&st, ST_BAR(1), 0x10, st.len, err, sizeof(err),
				 &changed), -EINVAL);        /* BAR 0's upper half */
	CHECK_EQ(restore_damaged(&st, ST_TABLE + 12, 0x2, st.len, err,
				 sizeof(err), &changed), -EINVAL);
	CHECK(strstr(err, "reserved") && changed == 0);
	CHECK_EQ(restore_damaged(&st, ST_PBA, 0x10, st.len, err, sizeof(err),
				 &changed), -EINVAL);        /* vector 4 of 4 */
	CHECK_EQ(restore_damaged(&st, ST_PBA, 0x02, st.len, err, sizeof(err),
				 &changed), -EINVAL);        /* 1 is unmasked */
	CHECK(strstr(err, "unmasked") && changed == 0);
	CHECK_EQ(restore_damaged(&st, ST_TABLE - 4, 0x1, st.len, err,
				 sizeof(err), &changed), -EINVAL); /* nvec */
	CHECK_EQ(restore_damaged(&st, 0, 0, st.len - 1, err, sizeof(err),
				 &changed), -EINVAL);        /* truncated */
	CHECK(strstr(err, "truncated") && changed == 0);
	sbuf_free(&st);
	teardown(&fx);
}

UNIT_MAIN("pci",
	  T(config_reads_every_width_both_mechanisms),
	  T(absent_and_malformed_accesses_read_all_ones),
	  T(config_address_latch), T(config_writes_respect_masks),
	  T(bar_sizing_32bit), T(bar_sizing_64bit),
	  T(bar_moves_and_decoding_reach_the_owner), T(capability_chain),
	  T(msix_table_masking_and_pba), T(bad_declarations_refused),
	  T(slots_and_windows_run_out), T(state_restore_tells_the_owner))
