// SPDX-License-Identifier: MIT
/*
 * PCI configuration space, BAR decoding and MSI-X. Configuration space is
 * a byte array with a mask of guest-writable bits and one of
 * write-1-to-clear bits; the BAR registers and the MSI-X control word are
 * the only places where a write has side effects, and those go through
 * bar_write() and msix_control().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci.h"
#include "state.h"

#define BAR_END    (PCI_BAR0 + 4 * PCI_NUM_BARS)
#define CAP_START  0x40
#define CMD_WMASK  (PCI_CMD_IO | PCI_CMD_MEMORY | PCI_CMD_MASTER | 0x0040 | \
		    0x0100 | PCI_CMD_INTX_OFF) /* + parity, SERR# */
#define STATUS_W1C 0xf900 /* parity, signalled/received aborts, SERR# */

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint16_t cfg16(const struct pci_dev *d, unsigned int off)
{
	return (uint16_t)get_le(d->cfg + off, 2);
}

void pci_dev_init(struct pci_dev *d, const struct pci_ids *ids,
		  const struct pci_dev_ops *ops, void *owner)
{
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->owner = owner;
	put_le(d->cfg + PCI_VENDOR_ID, ids->vendor, 2);
	put_le(d->cfg + PCI_DEVICE_ID, ids->device, 2);
	d->cfg[PCI_REVISION] = ids->revision;
	put_le(d->cfg + PCI_CLASS_PROG, ids->class_code, 3);
	d->cfg[PCI_HEADER_TYPE] = 0; /* type 0, single function */
	put_le(d->cfg + PCI_SUBSYS_VENDOR, ids->subsys_vendor, 2);
	put_le(d->cfg + PCI_SUBSYS_ID, ids->subsys, 2);
	put_le(d->wmask + PCI_COMMAND, CMD_WMASK, 2);
	put_le(d->w1c + PCI_STATUS, STATUS_W1C, 2);
	d->wmask[0x0c] = 0xff; /* cache line size */
	d->wmask[0x0d] = 0xff; /* latency timer */
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	d->cap_end = CAP_START;
}

void pci_dev_destroy(struct pci_dev *d)
{
	free(d->msix_table);
	free(d->msix_pending);
	d->msix_table = NULL;
	d->msix_pending = NULL;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int pci_dev_add_bar(struct pci_dev *d, unsigned int n, uint64_t size,
		    unsigned int flags)
{
	bool is64 = flags & PCI_BAR_MEM64;

	if (d->bus || n >= PCI_NUM_BARS || (is64 && n + 1 >= PCI_NUM_BARS) ||
	    !pow2(size) || size < 4096 || (!is64 && size > 0x80000000ULL) ||
	    (flags & ~(unsigned int)(PCI_BAR_MEM64 | PCI_BAR_PREFETCH)) ||
	    d->bar[n].size || (is64 && d->bar[n + 1].size) ||
	    (n > 0 && (d->bar[n - 1].flags & PCI_BAR_MEM64)))
		return -EINVAL;
	d->bar[n].size = size;
	d->bar[n].flags = flags;
	return 0;
}

int pci_dev_add_cap(struct pci_dev *d, uint8_t id, const void *body,
		    size_t len, const uint8_t *wmask)
{
	unsigned int off = d->cap_end;

	if (d->bus)
		return -EINVAL;
	if (off + 2 + len > PCI_CFG_SIZE)
		return -ENOSPC;
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	memcpy(d->cfg + off + 2, body, len);
	if (wmask)
		memcpy(d->wmask + off + 2, wmask, len);
	if (d->cap_last)
		d->cfg[d->cap_last + 1] = (uint8_t)off;
	else
		d->cfg[PCI_CAP_PTR] = (uint8_t)off;
	d->cap_last = (uint8_t)off;
	d->cap_end = (unsigned int)(off + 2 + len + 3) & ~3U; /* dword aligned */
	put_le(d->cfg + PCI_STATUS, cfg16(d, PCI_STATUS) | PCI_STATUS_CAP, 2);
	return (int)off;
}

int pci_dev_add_msix(struct pci_dev *d, unsigned int nvec, unsigned int bar,
		     uint32_t table_off, uint32_t pba_off)
{
	uint8_t body[10] = { 0 }, wmask[10] = { 0 };
	uint64_t tlen = (uint64_t)nvec * PCI_MSIX_ENTRY;
	uint64_t plen = ((uint64_t)nvec + 63) / 64 * 8;
	int off;

	if (d->bus || d->msix_cap || nvec < 1 || nvec > PCI_MSIX_MAX ||
	    bar >= PCI_NUM_BARS || !d->bar[bar].size || (table_off & 7) ||
	    (pba_off & 7) || table_off + tlen > d->bar[bar].size ||
	    pba_off + plen > d->bar[bar].size ||
	    (pba_off < table_off + tlen && table_off < pba_off + plen))
		return -EINVAL;
	d->msix_table = calloc(nvec, PCI_MSIX_ENTRY);
	d->msix_pending = calloc((nvec + 63) / 64, sizeof(uint64_t));
	if (!d->msix_table || !d->msix_pending) {
		pci_dev_destroy(d);
		return -ENOMEM;
	}
	put_le(body, nvec - 1, 2);           /* table size - 1; off, unmasked */
	put_le(body + 2, table_off | bar, 4);
	put_le(body + 6, pba_off | bar, 4);
	wmask[1] = (PCI_MSIX_ENABLE | PCI_MSIX_FUNC_MASK) >> 8;
	off = pci_dev_add_cap(d, PCI_CAP_ID_MSIX, body, sizeof(body), wmask);
	if (off < 0) {
		pci_dev_destroy(d);
		return off;
	}
	for (unsigned int v = 0; v < nvec; v++)
		d->msix_table[v * PCI_MSIX_ENTRY + 12] = PCI_MSIX_MASKBIT;
	d->msix_cap = (uint8_t)off;
	d->msix_nvec = nvec;
	d->msix_bar = bar;
	d->msix_table_off = table_off;
	d->msix_pba_off = pba_off;
	return off;
}

int pci_add_virtio_cap(struct pci_dev *d, uint8_t cfg_type, uint8_t bar,
		       uint32_t offset, uint32_t length,
		       uint32_t notify_off_multiplier)
{
	uint8_t body[18] = { 0 };
	size_t len = cfg_type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 18 : 14;

	if (cfg_type < VIRTIO_PCI_CAP_COMMON_CFG ||
	    cfg_type > VIRTIO_PCI_CAP_DEVICE_CFG || bar >= PCI_NUM_BARS)
		return -EINVAL;
	body[0] = (uint8_t)(len + 2); /* cap_len counts id and next too */
	body[1] = cfg_type;
	body[2] = bar;
	put_le(body + 6, offset, 4);
	put_le(body + 10, length, 4);
	if (len == 18)
		put_le(body + 14, notify_off_multiplier, 4);
	return pci_dev_add_cap(d, PCI_CAP_ID_VENDOR, body, len, NULL);
}

/* ---- BARs ---- */

/* Is register i the upper half of a 64-bit BAR? */
static bool bar_upper(const struct pci_dev *d, unsigned int i)
{
	return i > 0 && d->bar[i - 1].size &&
	       (d->bar[i - 1].flags & PCI_BAR_MEM64);
}

static uint32_t bar_reg(const struct pci_dev *d, unsigned int i)
{
	const struct pci_bar *b = &d->bar[i];

	if (bar_upper(d, i))
		return (uint32_t)(d->bar[i - 1].addr >> 32);
	if (!b->size)
		return 0;
	return ((uint32_t)b->addr & ~0xfU) | b->flags;
}

/* Tell the owner when what BAR n decodes changed. */
static void bar_update(struct pci_dev *d, unsigned int n, uint64_t old,
		       bool was_mapped)
{
	struct pci_bar *b = &d->bar[n];

	b->mapped = cfg16(d, PCI_COMMAND) & PCI_CMD_MEMORY;
	if ((was_mapped || b->mapped) &&
	    (old != b->addr || was_mapped != b->mapped) && d->ops &&
	    d->ops->bar_moved)
		d->ops->bar_moved(d, n, old, was_mapped, b->addr, b->mapped);
}

static void bar_write(struct pci_dev *d, unsigned int i, uint32_t v)
{
	unsigned int n = bar_upper(d, i) ? i - 1 : i;
	struct pci_bar *b = &d->bar[n];
	uint64_t old = b->addr;

	if (!b->size)
		return; /* unimplemented: reads 0, sizes to 0 */
	if (n != i)
		b->addr = (uint64_t)v << 32 | (b->addr & 0xffffffffULL);
	else
		b->addr = (b->addr & ~0xffffffffULL) | (v & ~0xfU);
	/* the low bits of the size are hard-wired to 0: that is sizing */
	b->addr &= ~(b->size - 1);
	if (!(b->flags & PCI_BAR_MEM64))
		b->addr &= 0xffffffffULL;
	bar_update(d, n, old, b->mapped);
}

/* ---- MSI-X ---- */

static uint16_t msix_ctrl(const struct pci_dev *d)
{
	return cfg16(d, d->msix_cap + PCI_MSIX_CTRL);
}

static bool vector_masked(const struct pci_dev *d, unsigned int v)
{
	uint16_t c = msix_ctrl(d);

	return !(c & PCI_MSIX_ENABLE) || (c & PCI_MSIX_FUNC_MASK) ||
	       (d->msix_table[v * PCI_MSIX_ENTRY + 12] & PCI_MSIX_MASKBIT);
}

static void message(const struct pci_dev *d, unsigned int v,
		    struct pci_msix_msg *m)
{
	const uint8_t *e = d->msix_table + v * PCI_MSIX_ENTRY;

	m->addr = get_le(e, 8);
	m->data = (uint32_t)get_le(e + 8, 4);
	m->masked = vector_masked(d, v);
}

static bool pending(const struct pci_dev *d, unsigned int v)
{
	return d->msix_pending[v / 64] >> (v % 64) & 1;
}

static void set_pending(struct pci_dev *d, unsigned int v, bool on)
{
	if (on)
		d->msix_pending[v / 64] |= 1ULL << (v % 64);
	else
		d->msix_pending[v / 64] &= ~(1ULL << (v % 64));
}

/* Vector v's mask or message changed: routing first, then anything due. */
static void vector_changed(struct pci_dev *d, unsigned int v)
{
	struct pci_msix_msg m;

	message(d, v, &m);
	if (d->ops && d->ops->msix_changed)
		d->ops->msix_changed(d, v, &m);
	if (!m.masked && pending(d, v)) {
		set_pending(d, v, false);
		if (d->ops && d->ops->msix_deliver)
			d->ops->msix_deliver(d, v);
	}
}

static void msix_control(struct pci_dev *d, uint16_t old)
{
	uint16_t now = msix_ctrl(d);

	if ((old ^ now) & (PCI_MSIX_ENABLE | PCI_MSIX_FUNC_MASK))
		for (unsigned int v = 0; v < d->msix_nvec; v++)
			vector_changed(d, v);
}

/* An access inside the table, [off, off + len) from its start. */
static void msix_table_io(struct pci_dev *d, uint64_t off, uint8_t *data,
			  uint32_t len, bool is_write)
{
	uint8_t *e;

	if (!is_write) {
		memcpy(data, d->msix_table + off, len);
		return;
	}
	/* the guest writes whole, aligned DWORDs or QWORDs (PCI 6.8.2) */
	if ((len != 4 && len != 8) || off % len)
		return;
	for (uint32_t i = 0; i < len; i += 4) {
		uint64_t o = off + i;
		uint32_t v = (uint32_t)get_le(data + i, 4);
		unsigned int vec = (unsigned int)(o / PCI_MSIX_ENTRY);

		e = d->msix_table + o;
		if (o % PCI_MSIX_ENTRY == 12)
			v = (v & PCI_MSIX_MASKBIT) | (uint32_t)(get_le(e, 4) &
								~PCI_MSIX_MASKBIT);
		if (get_le(e, 4) == v)
			continue;
		put_le(e, v, 4);
		vector_changed(d, vec);
	}
}

static void msix_pba_io(struct pci_dev *d, uint64_t off, uint8_t *data,
			uint32_t len, bool is_write)
{
	uint8_t pba[PCI_MSIX_MAX / 8];
	size_t n = (d->msix_nvec + 63) / 64 * 8;

	if (is_write)
		return; /* read-only */
	for (size_t i = 0; i < n / 8; i++)
		put_le(pba + 8 * i, d->msix_pending[i], 8);
	memcpy(data, pba + off, len);
}

bool pci_msix_notify(struct pci_dev *d, unsigned int vector)
{
	bool now = false;

	if (!d->bus)
		return false;
	pthread_mutex_lock(&d->bus->lock);
	if (d->msix_cap && vector < d->msix_nvec &&
	    (msix_ctrl(d) & PCI_MSIX_ENABLE)) {
		if (vector_masked(d, vector)) {
			set_pending(d, vector, true);
		} else {
			now = true;
			if (d->ops && d->ops->msix_deliver)
				d->ops->msix_deliver(d, vector);
		}
	}
	pthread_mutex_unlock(&d->bus->lock);
	return now;
}

bool pci_msix_message(struct pci_dev *d, unsigned int vector,
		      struct pci_msix_msg *m)
{
	bool ok;

	if (!d->bus)
		return false;
	pthread_mutex_lock(&d->bus->lock);
	ok = d->msix_cap && vector < d->msix_nvec;
	if (ok)
		message(d, vector, m);
	pthread_mutex_unlock(&d->bus->lock);
	return ok;
}

/* ---- snapshots ---- */

void pci_dev_state_save(struct pci_dev *d, struct sbuf *b)
{
	size_t words = (d->msix_nvec + 63) / 64;

	pthread_mutex_lock(&d->bus->lock);
	sbuf_put(b, d->cfg, PCI_CFG_SIZE);
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++)
		sbuf_put_u64(b, d->bar[n].addr);
	sbuf_put_u32(b, d->msix_nvec);
	sbuf_put(b, d->msix_table, (size_t)d->msix_nvec * PCI_MSIX_ENTRY);
	for (size_t i = 0; i < words; i++)
		sbuf_put_u64(b, d->msix_pending[i]);
	pthread_mutex_unlock(&d->bus->lock);
}

/* Is the saved state one the guest could have left? NULL or why not. */
static const char *state_check(const struct pci_dev *d, const uint8_t *cfg,
			       const uint64_t *bar, const uint8_t *table,
			       const uint64_t *pend)
{
	for (unsigned int o = 0; o < PCI_CFG_SIZE; o++)
		if ((o < PCI_BAR0 || o >= BAR_END) &&
		    ((cfg[o] ^ d->cfg[o]) & ~d->wmask[o]))
			return "a read-only configuration byte differs";
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++) {
		const struct pci_bar *b = &d->bar[n];

		if ((!b->size && bar[n]) ||
		    (b->size && ((bar[n] & (b->size - 1)) ||
				 (!(b->flags & PCI_BAR_MEM64) &&
				  bar[n] > 0xffffffffULL))))
			return "a BAR address it cannot hold";
	}
	for (unsigned int v = 0; v < d->msix_nvec; v++)
		if (get_le(table + v * PCI_MSIX_ENTRY + 12, 4) &
		    ~(uint64_t)PCI_MSIX_MASKBIT)
			return "a reserved MSI-X vector control bit set";
	if (d->msix_nvec % 64 &&
	    pend[d->msix_nvec / 64] >> (d->msix_nvec % 64))
		return "a pending bit past the last MSI-X vector";
	if (d->msix_cap) {
		uint16_t c = (uint16_t)get_le(cfg + d->msix_cap + PCI_MSIX_CTRL, 2);

		/* unmasking delivers a pending message and clears its bit */
		for (unsigned int v = 0; v < d->msix_nvec; v++)
			if ((pend[v / 64] >> (v % 64) & 1) &&
			    (c & PCI_MSIX_ENABLE) && !(c & PCI_MSIX_FUNC_MASK) &&
			    !(table[v * PCI_MSIX_ENTRY + 12] & PCI_MSIX_MASKBIT))
				return "a pending bit on an unmasked MSI-X vector";
	}
	return NULL;
}

int pci_dev_state_restore(struct pci_dev *d, struct sbuf *r, char *err,
			  size_t errlen)
{
	uint8_t cfg[PCI_CFG_SIZE];
	uint64_t bar[PCI_NUM_BARS], old[PCI_NUM_BARS];
	uint64_t pend[(PCI_MSIX_MAX + 63) / 64] = { 0 };
	uint8_t *table = NULL;
	bool was[PCI_NUM_BARS];
	const char *why = NULL;
	uint32_t nvec;
	size_t words = (d->msix_nvec + 63) / 64;

	sbuf_get(r, cfg, sizeof(cfg));
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++)
		bar[n] = sbuf_get_u64(r);
	nvec = sbuf_get_u32(r);
	if (!r->err && nvec != d->msix_nvec) {
		snprintf(err, errlen, "PCI 00:%02x.0: %u MSI-X vectors in the "
			 "snapshot, %u here", d->slot, nvec, d->msix_nvec);
		return -EINVAL;
	}
	if (nvec) {
		table = malloc((size_t)nvec * PCI_MSIX_ENTRY);
		if (!table) {
			snprintf(err, errlen, "PCI 00:%02x.0: out of memory",
				 d->slot);
			return -EINVAL;
		}
		sbuf_get(r, table, (size_t)nvec * PCI_MSIX_ENTRY);
	}
	for (size_t i = 0; i < words; i++)
		pend[i] = sbuf_get_u64(r);
	pthread_mutex_lock(&d->bus->lock);
	if (r->err)
		why = "truncated state";
	else
		why = state_check(d, cfg, bar, table, pend);
	if (why) {
		pthread_mutex_unlock(&d->bus->lock);
		free(table);
		snprintf(err, errlen, "PCI 00:%02x.0: %s", d->slot, why);
		return -EINVAL;
	}
	memcpy(d->cfg, cfg, sizeof(cfg));
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++) {
		old[n] = d->bar[n].addr;
		was[n] = d->bar[n].mapped;
		d->bar[n].addr = bar[n];
	}
	if (nvec) {
		memcpy(d->msix_table, table, (size_t)nvec * PCI_MSIX_ENTRY);
		memcpy(d->msix_pending, pend, words * sizeof(uint64_t));
	}
	free(table);
	/* the owner hears of it as of the guest's own writes */
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++)
		if (d->bar[n].size)
			bar_update(d, n, old[n], was[n]);
	for (unsigned int v = 0; d->msix_cap && v < d->msix_nvec; v++) {
		struct pci_msix_msg m;

		message(d, v, &m);
		if (d->ops && d->ops->msix_changed)
			d->ops->msix_changed(d, v, &m);
	}
	pthread_mutex_unlock(&d->bus->lock);
	return 0;
}

/* ---- configuration space ---- */

static void cfg_read(const struct pci_dev *d, unsigned int off, uint8_t *data,
		     uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		unsigned int o = off + i;

		if (o >= PCI_CFG_SIZE)
			data[i] = 0; /* no extended capabilities */
		else if (o >= PCI_BAR0 && o < BAR_END)
			data[i] = (uint8_t)(bar_reg(d, (o - PCI_BAR0) / 4) >>
					    (8 * (o % 4)));
		else
			data[i] = d->cfg[o];
	}
}

static void cfg_write(struct pci_dev *d, unsigned int off,
		      const uint8_t *data, uint32_t len)
{
	uint16_t old_cmd = cfg16(d, PCI_COMMAND);
	uint16_t old_msix = d->msix_cap ? msix_ctrl(d) : 0;
	uint32_t i = 0;

	while (i < len && off + i < PCI_CFG_SIZE) {
		unsigned int o = off + i;

		if (o >= PCI_BAR0 && o < BAR_END) {
			/* merge into the BAR register, then write it whole */
			unsigned int reg = (o - PCI_BAR0) / 4;
			uint8_t v[4];

			put_le(v, bar_reg(d, reg), 4);
			while (i < len && off + i < PCI_BAR0 + 4 * (reg + 1)) {
				v[(off + i) % 4] = data[i];
				i++;
			}
			bar_write(d, reg, (uint32_t)get_le(v, 4));
			continue;
		}
		d->cfg[o] = (uint8_t)((d->cfg[o] & ~d->wmask[o]) |
				      (data[i] & d->wmask[o]));
		d->cfg[o] &= (uint8_t)~(data[i] & d->w1c[o]);
		i++;
	}
	if ((old_cmd ^ cfg16(d, PCI_COMMAND)) & PCI_CMD_MEMORY)
		for (unsigned int n = 0; n < PCI_NUM_BARS; n++)
			if (d->bar[n].size)
				bar_update(d, n, d->bar[n].addr,
					   d->bar[n].mapped);
	if (d->msix_cap)
		msix_control(d, old_msix);
}

/* One configuration access; an absent function reads all-ones. */
static void cfg_access(struct pci_bus *b, unsigned int busnr,
		       unsigned int slot, unsigned int fn, unsigned int reg,
		       uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_dev *d;

	pthread_mutex_lock(&b->lock);
	d = busnr == b->bus_start && fn == 0 && slot < PCI_SLOTS ?
		b->dev[slot] : NULL;
	if (!d) {
		if (!is_write)
			memset(data, 0xff, len);
	} else if (is_write) {
		cfg_write(d, reg, data, len);
	} else {
		cfg_read(d, reg, data, len);
	}
	pthread_mutex_unlock(&b->lock);
}

void pci_conf1_io(void *bus, uint64_t offset, uint8_t *data, uint32_t len,
		  bool is_write)
{
	struct pci_bus *b = bus;
	uint32_t a;

	if (offset < 4) {
		/* CONFIG_ADDRESS answers whole DWORD accesses only */
		if (offset != 0 || len != 4) {
			if (!is_write)
				memset(data, 0xff, len);
			return;
		}
		pthread_mutex_lock(&b->lock);
		if (is_write)
			b->conf1_addr = (uint32_t)get_le(data, 4) & ~3U;
		else
			put_le(data, b->conf1_addr, 4);
		pthread_mutex_unlock(&b->lock);
		return;
	}
	pthread_mutex_lock(&b->lock);
	a = b->conf1_addr;
	pthread_mutex_unlock(&b->lock);
	if (!(a & 0x80000000U) || offset - 4 + len > 4) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	/* bits 27:24 extend the register number (AMD's extension) */
	cfg_access(b, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
		   (((a >> 16) & 0xf00) | (a & 0xfc)) + (unsigned int)(offset - 4),
		   data, len, is_write);
}

void pci_ecam_io(void *bus, uint64_t offset, uint8_t *data, uint32_t len,
		 bool is_write)
{
	struct pci_bus *b = bus;
	unsigned int reg = offset & 0xfff;

	/* naturally aligned 1, 2 or 4 bytes, as PCIe allows */
	if ((len != 1 && len != 2 && len != 4) || reg % len) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	cfg_access(b, b->bus_start + (unsigned int)(offset >> 20),
		   (offset >> 15) & 0x1f, (offset >> 12) & 7, reg, data, len,
		   is_write);
}

/* ---- the memory windows ---- */

static void window_io(struct pci_bus *b, uint64_t addr, uint8_t *data,
		      uint32_t len, bool is_write)
{
	struct pci_dev *d = NULL;
	unsigned int n = 0;
	uint64_t off = 0;

	pthread_mutex_lock(&b->lock);
	for (unsigned int s = 0; s < PCI_SLOTS && !d; s++) {
		struct pci_dev *c = b->dev[s];

		for (n = 0; c && n < PCI_NUM_BARS; n++) {
			const struct pci_bar *bar = &c->bar[n];

			if (bar->size && bar->mapped && addr >= bar->addr &&
			    addr - bar->addr + len <= bar->size) {
				d = c;
				off = addr - bar->addr;
				break;
			}
		}
	}
	if (!d) {
		pthread_mutex_unlock(&b->lock);
		if (!is_write)
			memset(data, 0xff, len); /* master abort */
		return;
	}
	if (d->msix_cap && n == d->msix_bar) {
		uint64_t t = d->msix_table_off, p = d->msix_pba_off;
		uint64_t tl = (uint64_t)d->msix_nvec * PCI_MSIX_ENTRY;
		uint64_t pl = ((uint64_t)d->msix_nvec + 63) / 64 * 8;

		if (off >= t && off - t + len <= tl) {
			msix_table_io(d, off - t, data, len, is_write);
			pthread_mutex_unlock(&b->lock);
			return;
		}
		if (off >= p && off - p + len <= pl) {
			msix_pba_io(d, off - p, data, len, is_write);
			pthread_mutex_unlock(&b->lock);
			return;
		}
		if (off < t + tl && t < off + len) { /* straddles the table */
			pthread_mutex_unlock(&b->lock);
			if (!is_write)
				memset(data, 0xff, len);
			return;
		}
	}
	pthread_mutex_unlock(&b->lock);
	if (d->ops && d->ops->bar_io)
		d->ops->bar_io(d, n, off, data, len, is_write);
	else if (!is_write)
		memset(data, 0xff, len);
}

void pci_mem32_io(void *bus, uint64_t offset, uint8_t *data, uint32_t len,
		  bool is_write)
{
	struct pci_bus *b = bus;

	window_io(b, b->mem32_base + offset, data, len, is_write);
}

void pci_mem64_io(void *bus, uint64_t offset, uint8_t *data, uint32_t len,
		  bool is_write)
{
	struct pci_bus *b = bus;

	window_io(b, b->mem64_base + offset, data, len, is_write);
}

/* ---- the bus ---- */

int pci_bus_init(struct pci_bus *b, uint8_t bus_nr,
		 const struct pci_ids *host_ids, uint64_t mem32_base,
		 uint64_t mem32_len, uint64_t mem64_base, uint64_t mem64_len)
{
	struct pci_ids ids = *host_ids;
	int ret;

	memset(b, 0, sizeof(*b));
	if (!mem32_len || mem32_base + mem32_len > 0x100000000ULL ||
	    mem32_base + mem32_len < mem32_base ||
	    mem64_base + mem64_len < mem64_base)
		return -EINVAL;
	ret = pthread_mutex_init(&b->lock, NULL);
	if (ret)
		return -ret;
	b->bus_start = b->bus_end = bus_nr;
	b->mem32_base = b->mem32_next = mem32_base;
	b->mem32_len = mem32_len;
	b->mem64_base = b->mem64_next = mem64_base;
	b->mem64_len = mem64_len;
	ids.class_code = 0x060000; /* bridge, host bridge */
	pci_dev_init(&b->host_bridge, &ids, NULL, NULL);
	b->host_bridge.bus = b;
	b->dev[0] = &b->host_bridge;
	return 0;
}

void pci_bus_destroy(struct pci_bus *b)
{
	pthread_mutex_destroy(&b->lock);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int pci_bus_add(struct pci_bus *b, struct pci_dev *d)
{
	uint64_t next32 = b->mem32_next, next64 = b->mem64_next;
	uint64_t addr[PCI_NUM_BARS] = { 0 };
	unsigned int slot;

	for (slot = 1; slot < PCI_SLOTS && b->dev[slot]; slot++)
		;
	if (slot == PCI_SLOTS)
		return -ENOSPC;
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++) {
		const struct pci_bar *bar = &d->bar[n];
		bool hi = (bar->flags & PCI_BAR_MEM64) && b->mem64_len;
		uint64_t *next = hi ? &next64 : &next32;
		uint64_t end = hi ? b->mem64_base + b->mem64_len
				  : b->mem32_base + b->mem32_len;

		if (!bar->size)
			continue;
		addr[n] = align_up(*next, bar->size);
		if (addr[n] < *next || addr[n] + bar->size > end ||
		    addr[n] + bar->size < addr[n])
			return -ENOSPC;
		*next = addr[n] + bar->size;
	}
	pthread_mutex_lock(&b->lock);
	b->mem32_next = next32;
	b->mem64_next = next64;
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++)
		d->bar[n].addr = addr[n];
	d->bus = b;
	d->slot = slot;
	b->dev[slot] = d;
	/* what firmware would leave: decoding on, so the BARs map now */
	put_le(d->cfg + PCI_COMMAND, cfg16(d, PCI_COMMAND) | PCI_CMD_MEMORY, 2);
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++)
		if (d->bar[n].size)
			bar_update(d, n, 0, false);
	pthread_mutex_unlock(&b->lock);
	return 0;
}
