// SPDX-License-Identifier: MIT
/*
 * i8042 keyboard controller with a minimal keyboard: what a PC guest's
 * driver needs to probe it, the CPU reset line (command 0xfe, or an
 * output-port write clearing bit 0), and Ctrl-Alt-Del injection so the
 * host can ask the guest to shut down cleanly. A reset stops the VM.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "state.h"

#define STATUS_OBF     0x01 /* output buffer full: data for the guest */
#define STATUS_SYS     0x04 /* system flag: self test passed */
#define STATUS_CMD     0x08 /* last write was to the command port */
#define STATUS_UNLOCKED 0x10 /* keyboard not inhibited (no key lock) */

#define CTR_KBD_INT    0x01 /* interrupt on keyboard data */
#define CTR_KBD_OFF    0x10
#define CTR_AUX_OFF    0x20
#define CTR_XLATE      0x40 /* translate to scancode set 1 */

#define CMD_READ_CTR   0x20
#define CMD_WRITE_CTR  0x60
#define CMD_AUX_OFF    0xa7
#define CMD_AUX_ON     0xa8
#define CMD_AUX_TEST   0xa9
#define CMD_SELF_TEST  0xaa
#define CMD_KBD_TEST   0xab
#define CMD_KBD_OFF    0xad
#define CMD_KBD_ON     0xae
#define CMD_READ_OUTP  0xd0
#define CMD_WRITE_OUTP 0xd1
#define CMD_WRITE_KBD_OUT 0xd2
#define CMD_AUX_LOOP   0xd3 /* echo a byte as if from the mouse port */
#define CMD_AUX_WRITE  0xd4 /* a byte for the mouse */
#define CMD_RESET      0xfe

#define KBD_ACK        0xfa
#define KBD_IRQ        1
#define FIFO_SIZE      32

struct i8042 {
	const struct dev_host *host;
	pthread_mutex_t lock;
	uint8_t status, ctr, outp;
	uint8_t pending_cmd;   /* controller command waiting for its data */
	uint8_t pending_kbd;   /* keyboard command waiting for its data */
	uint8_t fifo[FIFO_SIZE];
	unsigned int head, count;
};

static void i8042_put(struct i8042 *k, uint8_t v)
{
	if (k->count == FIFO_SIZE)
		return; /* a real keyboard drops keys too when nobody reads */
	k->fifo[(k->head + k->count) % FIFO_SIZE] = v;
	k->count++;
	k->status |= STATUS_OBF;
}

/* An edge on IRQ 1 while keyboard data waits and interrupts are on. */
static void i8042_irq(struct i8042 *k)
{
	if (k->count && (k->ctr & CTR_KBD_INT)) {
		host_pulse_irq(k->host, KBD_IRQ);
	}
}

static void i8042_reset(struct i8042 *k)
{
	host_request_stop(k->host, DEV_STOP_RESET, "guest reset (i8042)");
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->status |= STATUS_CMD;
	switch (cmd) {
	case CMD_READ_CTR:   i8042_put(k, k->ctr); break;
	case CMD_READ_OUTP:  i8042_put(k, k->outp); break;
	case CMD_SELF_TEST:  i8042_put(k, 0x55); k->status |= STATUS_SYS; break;
	case CMD_KBD_TEST:   i8042_put(k, 0x00); break;
	/*
	 * There is no mouse port: its test reports a stuck clock line (0x01),
	 * which tells a guest at once (Linux otherwise waits 250 ms for a
	 * mouse interrupt that never comes).
	 */
	case CMD_AUX_TEST:   i8042_put(k, 0x01); break;
	case CMD_KBD_OFF:    k->ctr |= CTR_KBD_OFF; break;
	case CMD_KBD_ON:     k->ctr &= (uint8_t)~CTR_KBD_OFF; break;
	case CMD_AUX_OFF:    k->ctr |= CTR_AUX_OFF; break;
	case CMD_AUX_ON:     k->ctr &= (uint8_t)~CTR_AUX_OFF; break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
	case CMD_WRITE_KBD_OUT:
	case CMD_AUX_LOOP:
	case CMD_AUX_WRITE:
		k->pending_cmd = cmd;
		break;
	case CMD_RESET:      i8042_reset(k); break;
	default:
		/* 0xf0-0xff pulse output lines; bit 0 low is the reset line */
		if (cmd >= 0xf0 && !(cmd & 1))
			i8042_reset(k);
		break;
	}
}

/* A byte for the keyboard itself: answer like a PS/2 keyboard. */
static void kbd_command(struct i8042 *k, uint8_t v)
{
	if (k->pending_kbd) {
		/* the data byte of LED, typematic or scancode-set commands */
		if (k->pending_kbd == 0xf0 && v == 0) {
			i8042_put(k, KBD_ACK);
			i8042_put(k, k->ctr & CTR_XLATE ? 0x41 : 0x02);
		} else {
			i8042_put(k, KBD_ACK);
		}
		k->pending_kbd = 0;
		return;
	}
	switch (v) {
	case 0xff: /* reset: ACK, then self-test passed */
		i8042_put(k, KBD_ACK);
		i8042_put(k, 0xaa);
		break;
	case 0xf2: /* identify: an MF2 keyboard */
		i8042_put(k, KBD_ACK);
		i8042_put(k, 0xab);
		i8042_put(k, k->ctr & CTR_XLATE ? 0x41 : 0x83);
		break;
	case 0xee: /* echo */
		i8042_put(k, 0xee);
		break;
	case 0xed: /* set LEDs */
	case 0xf0: /* scancode set */
	case 0xf3: /* typematic rate */
		k->pending_kbd = v;
		i8042_put(k, KBD_ACK);
		break;
	default: /* enable, disable, defaults, ...: just acknowledge */
		i8042_put(k, KBD_ACK);
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
	case CMD_WRITE_KBD_OUT:
		i8042_put(k, v);
		break;
	case CMD_AUX_LOOP:
		/* echoed, but not flagged as mouse data: the loop test fails */
		i8042_put(k, v);
		break;
	case CMD_AUX_WRITE:
		break; /* no mouse to take it */
	default:
		kbd_command(k, v);
		break;
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
	} else if (k->count) {
		data[0] = k->fifo[k->head];
		k->head = (k->head + 1) % FIFO_SIZE;
		if (!--k->count)
			k->status &= (uint8_t)~STATUS_OBF;
	}
	/* more to read: another edge, one byte per interrupt like hardware */
	i8042_irq(k);
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

int i8042_ctrl_alt_del(struct i8042 *k)
{
	/* press Ctrl, Alt, Delete; release them in reverse */
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53,
					0xe0, 0xd3, 0xb8, 0x9d };
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
					0x71, 0xf0, 0x11, 0xf0, 0x14 };
	const uint8_t *seq;
	size_t n;
	int ret = 0;

	pthread_mutex_lock(&k->lock);
	if (k->ctr & CTR_XLATE) {
		seq = set1;
		n = sizeof(set1);
	} else {
		seq = set2;
		n = sizeof(set2);
	}
	if (k->count + n > FIFO_SIZE) {
		ret = -EBUSY; /* the guest is not reading its keyboard */
	} else {
		for (size_t i = 0; i < n; i++)
			i8042_put(k, seq[i]);
		i8042_irq(k);
	}
	pthread_mutex_unlock(&k->lock);
	return ret;
}

static void i8042_save(void *dev, struct sbuf *b)
{
	struct i8042 *k = dev;

	pthread_mutex_lock(&k->lock);
	sbuf_put_u8(b, k->status);
	sbuf_put_u8(b, k->ctr);
	sbuf_put_u8(b, k->outp);
	sbuf_put_u8(b, k->pending_cmd);
	sbuf_put_u8(b, k->pending_kbd);
	sbuf_put_u8(b, (uint8_t)k->count);
	for (unsigned int i = 0; i < k->count; i++)
		sbuf_put_u8(b, k->fifo[(k->head + i) % FIFO_SIZE]);
	pthread_mutex_unlock(&k->lock);
}

static int i8042_restore(void *dev, struct sbuf *r, char *err, size_t errlen)
{
	struct i8042 *k = dev;
	uint8_t v[5], fifo[FIFO_SIZE];
	unsigned int count;

	sbuf_get(r, v, sizeof(v));
	count = sbuf_get_u8(r);
	if (count > FIFO_SIZE) {
		snprintf(err, errlen, "i8042: %u bytes queued, more than its "
			 "FIFO holds", count);
		return -EINVAL;
	}
	sbuf_get(r, fifo, count);
	if (sbuf_done(r)) {
		snprintf(err, errlen, "i8042: malformed state");
		return -EINVAL;
	}
	pthread_mutex_lock(&k->lock);
	k->status = v[0];
	k->ctr = v[1];
	k->outp = v[2];
	k->pending_cmd = v[3];
	k->pending_kbd = v[4];
	memcpy(k->fifo, fifo, count);
	k->head = 0;
	k->count = count;
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static const struct dev_state_ops i8042_state_ops = {
	.save = i8042_save,
	.restore = i8042_restore,
};

static void i8042_free(void *p)
{
	struct i8042 *k = p;

	pthread_mutex_destroy(&k->lock);
	free(k);
}

int i8042_create(const struct dev_host *h, struct bus *bus, uint64_t data_port,
		 uint64_t cmd_port, struct i8042 **out)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	k->host = h;
	pthread_mutex_init(&k->lock, NULL);
	k->status = STATUS_SYS | STATUS_UNLOCKED;
	k->outp = 0x01; /* reset line not asserted */
	/* what a PC BIOS leaves: keyboard interrupt on, translation on */
	k->ctr = CTR_KBD_INT | CTR_XLATE | CTR_AUX_OFF;
	ret = host_add_cleanup(h, i8042_free, k);
	if (ret)
		return ret;
	ret = bus_register(bus, data_port, 1, "i8042-data", i8042_data_io, k);
	if (ret)
		return ret;
	*out = k;
	ret = bus_register(bus, cmd_port, 1, "i8042-cmd", i8042_cmd_io, k);
	return ret ? ret : host_add_state(h, "i8042", &i8042_state_ops, k);
}
