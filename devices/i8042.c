// SPDX-License-Identifier: MIT
/*
 * i8042 keyboard controller without a keyboard: the controller commands a
 * PC guest issues while probing and rebooting, and the CPU reset line
 * (command 0xfe, or an output-port write clearing bit 0). A reset stops
 * the VM; vmm exits 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "../vmm/vmm.h"
#include "devices.h"

#define STATUS_OBF     0x01 /* output buffer full: data for the guest */
#define STATUS_SYS     0x04 /* system flag: self test passed */
#define STATUS_CMD     0x08 /* last write was to the command port */

#define CMD_READ_CTR   0x20
#define CMD_WRITE_CTR  0x60
#define CMD_SELF_TEST  0xaa
#define CMD_KBD_TEST   0xab
#define CMD_READ_OUTP  0xd0
#define CMD_WRITE_OUTP 0xd1
#define CMD_RESET      0xfe

struct i8042 {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t status, ctr, outp;
	uint8_t out;          /* output buffer, valid when STATUS_OBF */
	uint8_t pending_cmd;  /* command waiting for its data byte, or 0 */
};

static void i8042_put(struct i8042 *k, uint8_t v)
{
	k->out = v;
	k->status |= STATUS_OBF;
}

static void i8042_reset(struct i8042 *k)
{
	vm_request_stop(k->vm, VM_STOP_RESET, "guest reset (i8042)");
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->status |= STATUS_CMD;
	switch (cmd) {
	case CMD_READ_CTR:   i8042_put(k, k->ctr); break;
	case CMD_READ_OUTP:  i8042_put(k, k->outp); break;
	case CMD_SELF_TEST:  i8042_put(k, 0x55); k->status |= STATUS_SYS; break;
	case CMD_KBD_TEST:   i8042_put(k, 0x00); break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP: k->pending_cmd = cmd; break;
	case CMD_RESET:      i8042_reset(k); break;
	default:
		/* 0xf0-0xff pulse output lines; bit 0 low is the reset line */
		if (cmd >= 0xf0 && !(cmd & 1))
			i8042_reset(k);
		break;
	}
}

static void i8042_data_write(struct i8042 *k, uint8_t v)
{
	k->status &= (uint8_t)~STATUS_CMD;
	switch (k->pending_cmd) {
	case CMD_WRITE_CTR:
		k->ctr = v;
		break;
	case CMD_WRITE_OUTP:
		k->outp = v;
		if (!(v & 1))
			i8042_reset(k);
		break;
	default:
		break; /* a byte for the keyboard: there is none */
	}
	k->pending_cmd = 0;
}

static void i8042_data_io(void *dev, uint64_t offset, uint8_t *data,
			  uint32_t len, bool is_write)
{
	struct i8042 *k = dev;

	(void)offset;
	(void)len;
	pthread_mutex_lock(&k->lock);
	if (is_write) {
		i8042_data_write(k, data[0]);
	} else {
		data[0] = k->out;
		k->status &= (uint8_t)~STATUS_OBF;
	}
	pthread_mutex_unlock(&k->lock);
}

static void i8042_cmd_io(void *dev, uint64_t offset, uint8_t *data,
			 uint32_t len, bool is_write)
{
	struct i8042 *k = dev;

	(void)offset;
	(void)len;
	pthread_mutex_lock(&k->lock);
	if (is_write)
		i8042_command(k, data[0]);
	else
		data[0] = k->status;
	pthread_mutex_unlock(&k->lock);
}

static void i8042_free(void *p)
{
	struct i8042 *k = p;

	pthread_mutex_destroy(&k->lock);
	free(k);
}

int i8042_create(struct vm *vm, struct bus *bus, uint64_t data_port,
		 uint64_t cmd_port)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	k->vm = vm;
	pthread_mutex_init(&k->lock, NULL);
	k->status = STATUS_SYS;
	k->outp = 0x01; /* reset line not asserted */
	ret = vm_add_cleanup(vm, i8042_free, k);
	if (ret)
		return ret;
	ret = bus_register(bus, data_port, 1, "i8042-data", i8042_data_io, k);
	if (ret)
		return ret;
	return bus_register(bus, cmd_port, 1, "i8042-cmd", i8042_cmd_io, k);
}
