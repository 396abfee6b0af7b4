/* SPDX-License-Identifier: MIT */
/*
 * Device models. Each device is a state struct plus a static const table
 * of operations in its own file; the platform code (arch/) decides where
 * a device lives (PIO or MMIO bus, which IRQ) and calls its *_create().
 * Every *_create() returns 0 or -errno and registers the device's range.
 */
#ifndef DEVICES_DEVICES_H
#define DEVICES_DEVICES_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct bus;

/*
 * 8250/16550A UART (serial.c). What the guest transmits goes to
 * the VM console (terminal and/or --serial-log); serial_rx() queues bytes
 * the guest will read from RBR. Safe to call from any thread.
 */
struct serial;
int serial_create(struct vm *vm, struct bus *bus, uint64_t base,
		  unsigned int irq, struct serial **out)
	__attribute__((warn_unused_result));
size_t serial_rx(struct serial *s, const uint8_t *buf, size_t len);
void serial_destroy(struct serial *s);

/*
 * Boot timer (boottimer.c): the guest signals "booted" by writing the byte
 * BOOT_TIMER_MAGIC at offset 0. vmm records the time and prints it. Reads:
 * offset 0, 8 bytes: microseconds from vmm's start to the signal (0 until
 * signalled); offset 8, 8 bytes: microseconds from the first KVM_RUN to
 * the signal.
 */
#define BOOT_TIMER_MAGIC 123
#define BOOT_TIMER_SIZE  0x1000
int boottimer_create(struct vm *vm, struct bus *bus, uint64_t base)
	__attribute__((warn_unused_result));

/*
 * i8042 keyboard controller with a minimal PS/2 keyboard (i8042.c):
 * writing 0xfe to the command port resets the machine (vmm exits 0);
 * i8042_ctrl_alt_del() types Ctrl-Alt-Del (IRQ 1), so a guest can shut
 * down cleanly; -EBUSY when the guest is not reading its keyboard.
 */
struct i8042;
int i8042_create(struct vm *vm, struct bus *bus, uint64_t data_port,
		 uint64_t cmd_port, struct i8042 **out)
	__attribute__((warn_unused_result));
int i8042_ctrl_alt_del(struct i8042 *k);

/*
 * Ports a PC guest touches constantly where a cheap answer beats an exit
 * to the unclaimed-access path (legacy.c): the CMOS/RTC pair and the POST
 * port 0x80 used for I/O delays.
 */
int cmos_create(struct vm *vm, struct bus *bus, uint64_t base)
	__attribute__((warn_unused_result));
int post_port_create(struct vm *vm, struct bus *bus, uint64_t port)
	__attribute__((warn_unused_result));

/*
 * virtio devices over virtio-mmio (virtio_blk.c, virtio_net.c,
 * virtio_console.c), each in a 4 KiB window at base, interrupting on irq.
 */
struct vm_disk;
struct vm_net;
int virtio_blk_create(struct vm *vm, struct bus *bus, uint64_t base,
		      unsigned int irq, const struct vm_disk *cfg)
	__attribute__((warn_unused_result));
int virtio_net_create(struct vm *vm, struct bus *bus, uint64_t base,
		      unsigned int irq, const struct vm_net *cfg)
	__attribute__((warn_unused_result));
int virtio_console_create(struct vm *vm, struct bus *bus, uint64_t base,
			  unsigned int irq) __attribute__((warn_unused_result));

#endif
