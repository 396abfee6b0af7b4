/* SPDX-License-Identifier: MIT */
/*
 * Device models. Each device is a state struct plus its handlers in its
 * own file; the platform (arch/) or the core (vmm/vm.c, for virtio)
 * decides where it lives (bus, address, interrupt line) and calls its
 * *_create(). Every *_create() returns 0 or -errno with one error line,
 * registers its range, and hands its state to the host's cleanup list:
 * the VM's teardown frees it, also after a failed create. Devices see the
 * VMM only through struct dev_host (host.h).
 */
#ifndef DEVICES_DEVICES_H
#define DEVICES_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host.h"

/*
 * 8250/16550A UART (serial.c). What the guest transmits goes to the host's
 * console; serial_rx() queues bytes the guest will read from RBR (any
 * thread) and returns how many fit.
 */
struct serial;
int serial_create(const struct dev_host *h, struct bus *bus, uint64_t base,
		  unsigned int irq, struct serial **out)
	__attribute__((warn_unused_result));
size_t serial_rx(struct serial *s, const uint8_t *buf, size_t len);
/*
 * A BREAK on the line, received in order after what serial_rx() queued: a
 * NUL with LSR.BI (and the line-status interrupt, IER.RLSI), which Linux's
 * 8250 driver takes as "the next key is SysRq". False when the FIFO was
 * full and it was lost. Any thread.
 */
bool serial_break(struct serial *s);

/*
 * Boot timer (boottimer.c): the guest signals "booted" by writing the byte
 * BOOT_TIMER_MAGIC at offset 0; the host records h->t->boot_timer and is
 * told (DEV_EV_BOOT_TIMER). Reads: offset 0, 8 bytes: microseconds from
 * vmm's start to the signal (0 until signalled); offset 8, 8 bytes:
 * microseconds from the first KVM_RUN to the signal.
 */
#define BOOT_TIMER_MAGIC 123
#define BOOT_TIMER_SIZE  0x1000
int boottimer_create(const struct dev_host *h, struct bus *bus, uint64_t base)
	__attribute__((warn_unused_result));

/*
 * i8042 keyboard controller with a minimal PS/2 keyboard (i8042.c):
 * writing 0xfe to the command port resets the machine (the VM stops);
 * i8042_ctrl_alt_del() types Ctrl-Alt-Del (IRQ 1), so a guest can shut
 * down cleanly; -EBUSY when the guest is not reading its keyboard.
 */
struct i8042;
int i8042_create(const struct dev_host *h, struct bus *bus,
		 uint64_t data_port, uint64_t cmd_port, struct i8042 **out)
	__attribute__((warn_unused_result));
int i8042_ctrl_alt_del(struct i8042 *k);

/*
 * ARM PrimeCell PL061 GPIO controller (pl061.c), PL061_SIZE bytes at base,
 * its combined interrupt on line irq (level-high), with a button on its
 * pins: pl061_press() drives pin high and, 100 ms later (a timer on the
 * host's event loop), low again; -EBUSY while that pin is still pressed.
 * *heard (may be NULL) says whether the guest listens: the pin is an
 * input with its interrupt enabled. Call from the event loop's thread.
 * Its registers are snapshot state ("gpio@0x<base>"); a press in
 * progress is saved released.
 */
#define PL061_SIZE 0x1000
#define PL061_PINS 8
struct pl061;
int pl061_create(const struct dev_host *h, struct bus *bus, uint64_t base,
		 unsigned int irq, struct pl061 **out)
	__attribute__((warn_unused_result));
int pl061_press(struct pl061 *g, unsigned int pin, bool *heard);

/*
 * Ports a PC guest touches constantly where a cheap answer beats an exit
 * to the unclaimed-access path (legacy.c): the CMOS/RTC pair and the POST
 * port 0x80 used for I/O delays.
 */
int cmos_create(const struct dev_host *h, struct bus *bus, uint64_t base)
	__attribute__((warn_unused_result));
int post_port_create(const struct dev_host *h, struct bus *bus, uint64_t port)
	__attribute__((warn_unused_result));

/*
 * pvpanic (pvpanic.c): a one-byte register at base on whichever bus the
 * platform gives it (x86-64: port 0x505, size 1; aarch64: MMIO,
 * qemu,pvpanic-mmio, size 2; bytes past the first read as zero). A read
 * gives PVPANIC_PANICKED | PVPANIC_CRASH_LOADED, a write of PANICKED
 * stops the VM as a crash ("guest kernel panicked"), CRASH_LOADED is
 * logged.
 */
#define PVPANIC_PANICKED     1
#define PVPANIC_CRASH_LOADED 2
int pvpanic_create(const struct dev_host *h, struct bus *bus, uint64_t base,
		   uint64_t size)
	__attribute__((warn_unused_result));

/*
 * The hardware-reduced ACPI power registers (acpi_pm.c), ACPI_PM_PORTS
 * byte-wide ports from base: sleep control (soft off powers the VM off),
 * sleep status, reset (reset_value resets the VM).
 */
#define ACPI_PM_SLEEP_CONTROL 0
#define ACPI_PM_SLEEP_STATUS  1
#define ACPI_PM_RESET         2
#define ACPI_PM_PORTS         3
int acpi_pm_create(const struct dev_host *h, struct bus *bus, uint64_t base,
		   uint8_t reset_value) __attribute__((warn_unused_result));

/*
 * virtio device models (virtio_blk.c, virtio_net.c, virtio_console.c).
 * Each makes a transport-neutral struct virtio_dev (virtio.h); the caller
 * then attaches it to a transport (virtio_mmio_attach()).
 */
struct vm_disk;
struct vm_net;
struct virtio_dev;
int virtio_blk_create(const struct dev_host *h, const struct vm_disk *cfg,
		      struct virtio_dev **out) __attribute__((warn_unused_result));
/*
 * A running disk takes cfg's file (reopened and locked; the driver gets
 * a configuration change with the new capacity). 0 or -errno with err.
 */
int virtio_blk_update(struct virtio_dev *d, const struct vm_disk *cfg,
		      char *err, size_t errlen);
/* A running disk's rate limit changes (buckets start full). */
struct vm_rate_limit;
void virtio_blk_set_rate(struct virtio_dev *d, const struct vm_rate_limit *r);
int virtio_net_create(const struct dev_host *h, const struct vm_net *cfg,
		      struct virtio_dev **out) __attribute__((warn_unused_result));
/*
 * The same NIC on a packet fd the caller opened: each read and write one
 * frame behind the 12-byte virtio-net header (a datagram socket; no
 * offloads). The device owns fd from here on, also on failure.
 */
int virtio_net_create_fd(const struct dev_host *h, int fd, const char *name,
			 const struct vm_net *cfg, struct virtio_dev **out)
	__attribute__((warn_unused_result));
/* A running NIC's rate limits change (buckets start full). */
void virtio_net_set_rate(struct virtio_dev *d, const struct vm_rate_limit *rx,
			 const struct vm_rate_limit *tx);
int virtio_console_create(const struct dev_host *h, struct virtio_dev **out)
	__attribute__((warn_unused_result));
/* virtio-rng: entropy from the host's getrandom() (the API's /entropy). */
struct vm_rate_limit;
int virtio_rng_create(const struct dev_host *h, const struct vm_rate_limit *rate,
		      struct virtio_dev **out) __attribute__((warn_unused_result));
/*
 * virtio-vsock with Firecracker's host side (virtio_vsock.c): listens at
 * cfg->uds_path (a stale socket there is replaced) for host connections
 * ("CONNECT <port>\n"); the guest's connections to host port P go to the
 * listener at "<uds_path>_P". Its sockets are served on the event loop.
 */
struct vm_vsock;
int virtio_vsock_create(const struct dev_host *h, const struct vm_vsock *cfg,
			struct virtio_dev **out) __attribute__((warn_unused_result));
/*
 * The same device on another sink than the VM console (its output goes
 * to sink->write, sink->ready says it takes input again); name is its
 * counters' group.
 */
int virtio_console_create_port(const struct dev_host *h,
			       const struct dev_console *sink,
			       const char *name, struct virtio_dev **out)
	__attribute__((warn_unused_result));
/* Console input for hvc0 (the VM console's sink); how many bytes it took. */
size_t virtio_console_rx(struct virtio_dev *d, const uint8_t *buf, size_t len);

#endif
