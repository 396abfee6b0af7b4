/* SPDX-License-Identifier: MIT */
/*
 * A PCI bus (segment 0, bus 0, function 0 of each slot) with a host
 * bridge at 00.0, reached through the legacy 0xCF8/0xCFC mechanism and
 * through an ECAM window, and the memory BARs of its devices, decoded in
 * one or two MMIO windows.
 *
 * Each device has a type-0 configuration space (IDs, command/status,
 * six BAR registers with the usual sizing semantics, a capability list)
 * and optionally an MSI-X capability whose table and PBA live in one of
 * its BARs. vmm places the BARs when a device is added (there is no
 * BIOS) and enables memory decoding; the guest may move them and turn
 * decoding off and on, and the owner hears of it.
 *
 * The handlers below are bus_io_fn's for vmm/bus.h:
 *   bus_register(pio,  0xcf8, 8, "pci-conf1", pci_conf1_io, bus)
 *   bus_register(mmio, ecam + (bus_start << 20), nbuses << 20, "pci-ecam",
 *                pci_ecam_io, bus)
 *   bus_register(mmio, mem32_base, mem32_len, "pci-mem32", pci_mem32_io, bus)
 *   bus_register(mmio, mem64_base, mem64_len, "pci-mem64", pci_mem64_io, bus)
 * The window handlers find the BAR an access falls in at the time of the
 * access, so a BAR the guest moves needs no change on the MMIO bus.
 *
 * Locking: one mutex per bus guards every configuration space and the
 * MSI-X state. The owner callbacks run with it held and must not call
 * back into this module; bar_io runs without it.
 */
#ifndef DEVICES_PCI_H
#define DEVICES_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCI_SLOTS      32
#define PCI_NUM_BARS   6
#define PCI_CFG_SIZE   256  /* conventional space; ECAM's rest reads 0 */
#define PCI_ECAM_SIZE  4096 /* per function */
#define PCI_MSIX_MAX   2048

/* Configuration header offsets and bits used by owners and tests */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION       0x08
#define PCI_CLASS_PROG     0x09
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_SUBSYS_VENDOR  0x2c
#define PCI_SUBSYS_ID      0x2e
#define PCI_ROM_ADDRESS    0x30
#define PCI_CAP_PTR        0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN  0x3d
#define PCI_CMD_IO         0x0001
#define PCI_CMD_MEMORY     0x0002
#define PCI_CMD_MASTER     0x0004
#define PCI_CMD_INTX_OFF   0x0400
#define PCI_STATUS_CAP     0x0010
#define PCI_CAP_ID_MSIX    0x11
#define PCI_CAP_ID_VENDOR  0x09
#define PCI_MSIX_CTRL      2       /* offsets inside the MSI-X capability */
#define PCI_MSIX_TABLE     4
#define PCI_MSIX_PBA       8
#define PCI_MSIX_ENABLE    0x8000
#define PCI_MSIX_FUNC_MASK 0x4000
#define PCI_MSIX_ENTRY     16      /* bytes per table entry */
#define PCI_MSIX_MASKBIT   1       /* vector control bit 0 */

/* BAR flags */
#define PCI_BAR_MEM32    0x0
#define PCI_BAR_MEM64    0x4 /* takes this BAR register and the next */
#define PCI_BAR_PREFETCH 0x8

struct pci_dev;

/* An MSI-X vector as the guest programmed it. */
struct pci_msix_msg {
	uint64_t addr;
	uint32_t data;
	bool masked; /* vector mask, function mask or MSI-X disabled */
};

struct pci_dev_ops {
	/*
	 * Access to a BAR outside its MSI-X table and PBA: offset is from
	 * the BAR's start, data holds len bytes (see bus_io_fn).
	 */
	void (*bar_io)(struct pci_dev *d, unsigned int bar, uint64_t offset,
		       uint8_t *data, uint32_t len, bool is_write);
	/*
	 * A BAR moved or its decoding changed: it was at old (mapped or
	 * not), it is now at addr (mapped: memory decoding on). For
	 * ioeventfds and anything else keyed by guest address. Optional.
	 */
	void (*bar_moved)(struct pci_dev *d, unsigned int bar, uint64_t old,
			  bool was_mapped, uint64_t addr, bool mapped);
	/*
	 * Vector's message or effective mask changed (table write, function
	 * mask, MSI-X enable), so routing can follow. Optional.
	 */
	void (*msix_changed)(struct pci_dev *d, unsigned int vector,
			     const struct pci_msix_msg *msg);
	/* A pending vector became deliverable: send it now. */
	void (*msix_deliver)(struct pci_dev *d, unsigned int vector);
};

struct pci_ids {
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys;
	uint8_t revision;
	uint32_t class_code; /* class << 16 | subclass << 8 | prog-if */
};

struct pci_bar {
	uint64_t size;    /* 0: not implemented */
	unsigned int flags;
	uint64_t addr;    /* as programmed */
	bool mapped;      /* addr decoded: memory enable on */
};

struct pci_bus;

struct pci_dev {
	struct pci_bus *bus;
	unsigned int slot;
	const struct pci_dev_ops *ops;
	void *owner;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];  /* bits the guest may change */
	uint8_t w1c[PCI_CFG_SIZE];    /* bits a 1 clears */
	unsigned int cap_end;         /* first free byte for capabilities */
	unsigned int cap_last;        /* offset of the last capability, or 0 */
	struct pci_bar bar[PCI_NUM_BARS];
	/* MSI-X */
	uint8_t msix_cap;             /* 0: none */
	unsigned int msix_nvec;
	unsigned int msix_bar;
	uint32_t msix_table_off, msix_pba_off;
	uint8_t *msix_table;          /* msix_nvec * 16 bytes */
	uint64_t *msix_pending;       /* one bit per vector */
};

struct pci_bus {
	pthread_mutex_t lock;
	struct pci_dev *dev[PCI_SLOTS];
	struct pci_dev host_bridge;
	uint32_t conf1_addr;          /* the 0xCF8 latch */
	uint8_t bus_start, bus_end;   /* ECAM decodes these; we populate bus_start */
	uint64_t mem32_base, mem32_len, mem32_next;
	uint64_t mem64_base, mem64_len, mem64_next;
};

/*
 * Set up bus number bus_nr with its memory windows (mem64_len may be 0)
 * and the host bridge at 00.0 with the given IDs (class 0x060000).
 * 0 or -errno.
 */
int pci_bus_init(struct pci_bus *b, uint8_t bus_nr,
		 const struct pci_ids *host_ids, uint64_t mem32_base,
		 uint64_t mem32_len, uint64_t mem64_base, uint64_t mem64_len)
	__attribute__((warn_unused_result));
void pci_bus_destroy(struct pci_bus *b);

/* A fresh device: IDs, a header of type 0, no BARs or capabilities. */
void pci_dev_init(struct pci_dev *d, const struct pci_ids *ids,
		  const struct pci_dev_ops *ops, void *owner);
void pci_dev_destroy(struct pci_dev *d);
/*
 * Declare BAR n as a memory BAR of size bytes (a power of two, at least
 * 4 KiB). A 64-bit BAR also takes register n + 1. Before pci_bus_add().
 * 0 or -EINVAL.
 */
int pci_dev_add_bar(struct pci_dev *d, unsigned int n, uint64_t size,
		    unsigned int flags) __attribute__((warn_unused_result));
/*
 * Append a capability: id, then body (len bytes, starting with what
 * follows the next pointer). Before pci_bus_add(). Returns its offset in
 * configuration space, -ENOSPC, or -EINVAL once the device is on a bus. The body is read-only to the guest unless wmask is given
 * (len bytes, same layout, 1 = guest-writable), else pass NULL.
 */
int pci_dev_add_cap(struct pci_dev *d, uint8_t id, const void *body,
		    size_t len, const uint8_t *wmask)
	__attribute__((warn_unused_result));
/*
 * An MSI-X capability with nvec vectors (1..2048, all masked at reset),
 * its table at table_off and its PBA at pba_off in BAR bar (8-byte
 * aligned, inside the BAR, not overlapping), before pci_bus_add().
 * Returns the capability's
 * offset, or -EINVAL/-ENOSPC/-ENOMEM.
 */
int pci_dev_add_msix(struct pci_dev *d, unsigned int nvec, unsigned int bar,
		     uint32_t table_off, uint32_t pba_off)
	__attribute__((warn_unused_result));

/*
 * Put d in the first free slot of b, give its BARs addresses in the
 * windows (naturally aligned; 64-bit BARs in the 64-bit window when there
 * is one) and turn on memory decoding. 0, or -ENOSPC for no free slot or
 * no room in a window.
 */
int pci_bus_add(struct pci_bus *b, struct pci_dev *d)
	__attribute__((warn_unused_result));

/*
 * A device event on vector: with MSI-X on and the vector and function
 * unmasked, msix_deliver is called at once (under the lock, so a mask
 * cannot overtake it) and the result is true. Masked, the vector's PBA
 * bit is set and msix_deliver runs when it is unmasked. With MSI-X off,
 * or no such vector, nothing may be sent: false.
 */
bool pci_msix_notify(struct pci_dev *d, unsigned int vector);
/* The current message of vector; false if there is no such vector. */
bool pci_msix_message(struct pci_dev *d, unsigned int vector,
		      struct pci_msix_msg *m);

/*
 * Snapshots (state.h): d's configuration space, BAR addresses, MSI-X
 * table and pending bits. A restore (into the same device, freshly on
 * its bus, before the guest runs) refuses a read-only bit that differs,
 * a misaligned BAR or a reserved vector-control bit, then tells the
 * owner what the guest had set up, as if it had just written it: every
 * BAR that decodes (bar_moved) and every vector (msix_changed), so
 * ioeventfds and MSI routes follow. 0 or -EINVAL with one line in err.
 */
struct sbuf;
void pci_dev_state_save(struct pci_dev *d, struct sbuf *b);
int pci_dev_state_restore(struct pci_dev *d, struct sbuf *r, char *err,
			  size_t errlen);

/* Configuration access to bus b, as the two mechanisms present it. */
void pci_conf1_io(void *bus, uint64_t offset, uint8_t *data, uint32_t len,
		  bool is_write);
void pci_ecam_io(void *bus, uint64_t offset, uint8_t *data, uint32_t len,
		 bool is_write);
/* The memory windows: offset is from the window's base. */
void pci_mem32_io(void *bus, uint64_t offset, uint8_t *data, uint32_t len,
		  bool is_write);
void pci_mem64_io(void *bus, uint64_t offset, uint8_t *data, uint32_t len,
		  bool is_write);

/*
 * virtio 1.x (section 4.1.4) vendor-specific capabilities: a
 * struct virtio_pci_cap of cfg_type (VIRTIO_PCI_CAP_*) for the region
 * [offset, offset + length) of BAR bar; the notify capability also
 * carries notify_off_multiplier. Returns the capability's offset,
 * -ENOSPC, or -EINVAL for VIRTIO_PCI_CAP_PCI_CFG, whose data window the
 * transport must serve itself.
 */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5
int pci_add_virtio_cap(struct pci_dev *d, uint8_t cfg_type, uint8_t bar,
		       uint32_t offset, uint32_t length,
		       uint32_t notify_off_multiplier)
	__attribute__((warn_unused_result));

#endif
