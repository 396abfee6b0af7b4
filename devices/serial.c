// SPDX-License-Identifier: MIT
/*
 * 8250/16550A UART: enough for Linux's 8250 driver (probe, FIFO detection,
 * interrupt-driven RX and TX, a received BREAK) and for earlyprintk/polling
 * guests. Transmission is instantaneous: a byte written to THR goes
 * straight to the console, so THR is always empty again by the next
 * access.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "state.h"

/* register offsets */
enum {
	UART_RBR_THR = 0, UART_IER = 1, UART_IIR_FCR = 2, UART_LCR = 3,
	UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define IER_RDI    0x01 /* received data available */
#define IER_THRI   0x02 /* transmitter holding register empty */
#define IER_RLSI   0x04
#define IER_MSI    0x08
#define IIR_NO_INT 0x01
#define IIR_MSI    0x00
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_RLSI   0x06 /* receiver line status: a break (BI) */
#define IIR_FIFO   0xc0 /* both FIFO bits: a 16550A */
#define FCR_ENABLE 0x01
#define FCR_CLR_RX 0x02
#define LCR_DLAB   0x80
#define MCR_DTR    0x01
#define MCR_RTS    0x02
#define MCR_OUT1   0x04
#define MCR_OUT2   0x08
#define MCR_LOOP   0x10
#define LSR_DR     0x01
#define LSR_BI     0x10 /* the byte at the top of the FIFO is a break */
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define LSR_FIFOE  0x80 /* some byte in the FIFO has an error (a break) */
#define MSR_DELTA  0x0f
#define MSR_CTS    0x10
#define MSR_DSR    0x20
#define MSR_RI     0x40
#define MSR_DCD    0x80

#define RX_FIFO_SIZE 1024

struct serial {
	const struct dev_host *host;
	unsigned int irq;
	pthread_mutex_t lock;

	uint8_t ier, lcr, mcr, msr, scr, dll, dlm;
	bool fifo_enabled;
	bool thri_pending; /* THRE interrupt latched, cleared by IIR read */
	int irq_level;     /* last level driven on the line */
	bool rx_was_full;  /* a push was refused: tell the console on drain */

	uint8_t rx[RX_FIFO_SIZE];
	bool rx_brk[RX_FIFO_SIZE]; /* this byte is a break (a NUL with BI) */
	unsigned int rx_head, rx_count;
	unsigned int rx_breaks;    /* breaks in the FIFO */
	bool bi_read;              /* LSR reported the break at the top */

	uint64_t tx_bytes, rx_bytes, breaks;
};

static unsigned int rx_space(const struct serial *s)
{
	return RX_FIFO_SIZE - s->rx_count;
}

static void rx_put(struct serial *s, uint8_t b, bool brk)
{
	unsigned int i = (s->rx_head + s->rx_count) % RX_FIFO_SIZE;

	s->rx[i] = b;
	s->rx_brk[i] = brk;
	s->rx_breaks += brk;
	s->rx_count++;
}

static void rx_clear(struct serial *s)
{
	s->rx_count = 0;
	s->rx_breaks = 0;
	s->bi_read = false;
}

/* LSR.BI: a break at the top of the FIFO that LSR has not reported yet */
static bool break_pending(const struct serial *s)
{
	return s->rx_count && s->rx_brk[s->rx_head] && !s->bi_read;
}

/* The pending interrupt, highest priority first, as IIR encodes it. */
static uint8_t serial_iir(const struct serial *s)
{
	if ((s->ier & IER_RLSI) && break_pending(s))
		return IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI;
	if ((s->ier & IER_MSI) && (s->msr & MSR_DELTA))
		return IIR_MSI;
	return IIR_NO_INT;
}

/* Drive the IRQ line to match the pending state. Lock held. */
static void serial_update_irq(struct serial *s)
{
	int level = serial_iir(s) != IIR_NO_INT;

	if (level != s->irq_level) {
		s->irq_level = level;
		host_set_irq(s->host, s->irq, level);
	}
}

/* Modem status lines: looped back from MCR in loopback, else all up. */
static void serial_update_msr(struct serial *s)
{
	uint8_t old = s->msr, lines;

	if (s->mcr & MCR_LOOP) {
		lines = (s->mcr & MCR_RTS ? MSR_CTS : 0) |
			(s->mcr & MCR_DTR ? MSR_DSR : 0) |
			(s->mcr & MCR_OUT1 ? MSR_RI : 0) |
			(s->mcr & MCR_OUT2 ? MSR_DCD : 0);
	} else {
		lines = MSR_CTS | MSR_DSR | MSR_DCD;
	}
	s->msr = lines | (old & MSR_DELTA);
	if ((old ^ lines) & MSR_CTS)
		s->msr |= 0x01;
	if ((old ^ lines) & MSR_DSR)
		s->msr |= 0x02;
	if ((old & MSR_RI) && !(lines & MSR_RI)) /* trailing edge of RI */
		s->msr |= 0x04;
	if ((old ^ lines) & MSR_DCD)
		s->msr |= 0x08;
}

/* Returns the byte to transmit (or -1) so output happens unlocked. */
static int serial_write(struct serial *s, unsigned int reg, uint8_t v,
			bool *drained)
{
	int out = -1;

	switch (reg) {
	case UART_RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			break;
		}
		if (s->mcr & MCR_LOOP) {
			if (rx_space(s))
				rx_put(s, v, false);
		} else {
			out = v;
		}
		/* sent at once: THR is empty again */
		s->thri_pending = true;
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* enabling THRI while THR is empty raises it right away */
		if (!(s->ier & IER_THRI) && (v & IER_THRI))
			s->thri_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_IIR_FCR:
		s->fifo_enabled = v & FCR_ENABLE;
		if (v & FCR_CLR_RX) {
			rx_clear(s);
			/* room again: input held back by the console may come */
			if (s->rx_was_full) {
				s->rx_was_full = false;
				*drained = true;
			}
		}
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		serial_update_msr(s);
		break;
	case UART_LSR:
		break; /* read-only */
	case UART_MSR:
		break; /* read-only */
	case UART_SCR:
		s->scr = v;
		break;
	}
	serial_update_irq(s);
	return out;
}

static uint8_t serial_read(struct serial *s, unsigned int reg, bool *drained)
{
	uint8_t v = 0;

	switch (reg) {
	case UART_RBR_THR:
		if (s->lcr & LCR_DLAB) {
			v = s->dll;
			break;
		}
		if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_breaks -= s->rx_brk[s->rx_head];
			s->bi_read = false;
			s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
			s->rx_count--;
			s->rx_bytes++;
			if (!s->rx_count && s->rx_was_full) {
				s->rx_was_full = false;
				*drained = true;
			}
		}
		break;
	case UART_IER:
		v = s->lcr & LCR_DLAB ? s->dlm : s->ier;
		break;
	case UART_IIR_FCR:
		v = serial_iir(s);
		if (v == IIR_THRI)
			s->thri_pending = false; /* reading IIR clears THRE */
		if (s->fifo_enabled)
			v |= IIR_FIFO;
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0) |
		    (break_pending(s) ? LSR_BI : 0) |
		    (s->fifo_enabled && s->rx_breaks ? LSR_FIFOE : 0);
		/* reading LSR clears its error bits */
		if (break_pending(s))
			s->bi_read = true;
		break;
	case UART_MSR:
		v = s->msr;
		s->msr &= (uint8_t)~MSR_DELTA;
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	serial_update_irq(s);
	return v;
}

static void serial_io(void *dev, uint64_t offset, uint8_t *data, uint32_t len,
		      bool is_write)
{
	struct serial *s = dev;
	bool drained = false;
	int out = -1;

	/* registers are bytes; a wider access touches the first one only */
	(void)len;
	pthread_mutex_lock(&s->lock);
	if (is_write)
		out = serial_write(s, (unsigned int)offset, data[0], &drained);
	else
		data[0] = serial_read(s, (unsigned int)offset, &drained);
	if (out >= 0)
		s->tx_bytes++;
	pthread_mutex_unlock(&s->lock);

	if (out >= 0) {
		uint8_t b = (uint8_t)out;

		timeline_mark(&s->host->t->first_serial);
		host_console_write(s->host, &b, 1);
	}
	if (drained)
		host_console_ready(s->host);
}

size_t serial_rx(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && rx_space(s))
		rx_put(s, buf[n++], false);
	if (n < len)
		s->rx_was_full = true;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

bool serial_break(struct serial *s)
{
	bool room;

	pthread_mutex_lock(&s->lock);
	/* a real UART receives a NUL with BI set for the break condition */
	room = rx_space(s) > 0;
	if (room) {
		rx_put(s, 0, true);
		s->breaks++;
	} else {
		s->rx_was_full = true;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return room;
}

/* --- snapshot state ------------------------------------------------------- */

static void serial_save(void *dev, struct sbuf *b)
{
	struct serial *s = dev;

	pthread_mutex_lock(&s->lock);
	sbuf_put_u8(b, s->ier);
	sbuf_put_u8(b, s->lcr);
	sbuf_put_u8(b, s->mcr);
	sbuf_put_u8(b, s->msr);
	sbuf_put_u8(b, s->scr);
	sbuf_put_u8(b, s->dll);
	sbuf_put_u8(b, s->dlm);
	sbuf_put_u8(b, s->fifo_enabled);
	sbuf_put_u8(b, s->thri_pending);
	sbuf_put_u8(b, (uint8_t)s->irq_level);
	sbuf_put_u8(b, s->bi_read);
	/* the receive FIFO, oldest first: each byte and its break flag */
	sbuf_put_u32(b, s->rx_count);
	for (unsigned int i = 0; i < s->rx_count; i++) {
		unsigned int at = (s->rx_head + i) % RX_FIFO_SIZE;

		sbuf_put_u8(b, s->rx[at]);
		sbuf_put_u8(b, s->rx_brk[at]);
	}
	pthread_mutex_unlock(&s->lock);
}

static int serial_restore(void *dev, struct sbuf *r, char *err, size_t errlen)
{
	struct serial *s = dev;
	struct serial n = { 0 };

	n.ier = sbuf_get_u8(r);
	n.lcr = sbuf_get_u8(r);
	n.mcr = sbuf_get_u8(r);
	n.msr = sbuf_get_u8(r);
	n.scr = sbuf_get_u8(r);
	n.dll = sbuf_get_u8(r);
	n.dlm = sbuf_get_u8(r);
	n.fifo_enabled = sbuf_get_bool(r);
	n.thri_pending = sbuf_get_bool(r);
	n.irq_level = sbuf_get_bool(r);
	n.bi_read = sbuf_get_bool(r);
	n.rx_count = sbuf_get_u32(r);
	if (n.rx_count > RX_FIFO_SIZE || n.ier > 0x0f || n.mcr > 0x1f) {
		snprintf(err, errlen, "serial: registers out of range");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < n.rx_count; i++) {
		n.rx[i] = sbuf_get_u8(r);
		n.rx_brk[i] = sbuf_get_bool(r);
		n.rx_breaks += n.rx_brk[i];
	}
	if (sbuf_done(r)) {
		snprintf(err, errlen, "serial: malformed state");
		return -EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	s->ier = n.ier;
	s->lcr = n.lcr;
	s->mcr = n.mcr;
	s->msr = n.msr;
	s->scr = n.scr;
	s->dll = n.dll;
	s->dlm = n.dlm;
	s->fifo_enabled = n.fifo_enabled;
	s->thri_pending = n.thri_pending;
	s->bi_read = n.bi_read;
	memcpy(s->rx, n.rx, sizeof(s->rx));
	memcpy(s->rx_brk, n.rx_brk, sizeof(s->rx_brk));
	s->rx_head = 0;
	s->rx_count = n.rx_count;
	s->rx_breaks = n.rx_breaks;
	/*
	 * The interrupt controller's state came back (restored before the
	 * devices), but a new VM's input line starts low whatever the saved
	 * level was (KVM keeps line levels apart from IOAPIC state; a VGICv2
	 * saves none): drive it from what is pending now. Trusting the saved
	 * level left a line believed high that KVM had low, so the interrupt
	 * pending at the snapshot never came.
	 */
	s->irq_level = 0;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static const struct dev_state_ops serial_state_ops = {
	.save = serial_save,
	.restore = serial_restore,
};

static void serial_free(void *p)
{
	struct serial *s = p;

	pthread_mutex_destroy(&s->lock);
	free(s);
}

int serial_create(const struct dev_host *h, struct bus *bus, uint64_t base,
		  unsigned int irq, struct serial **out)
{
	struct serial *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->host = h;
	s->irq = irq;
	pthread_mutex_init(&s->lock, NULL);
	s->mcr = MCR_OUT2;
	serial_update_msr(s);
	s->msr &= (uint8_t)~MSR_DELTA;
	ret = host_add_cleanup(h, serial_free, s);
	if (ret)
		return ret;
	ret = bus_register(bus, base, 8, "serial", serial_io, s);
	if (!ret) {
		char name[DEV_STATE_NAME_MAX];

		snprintf(name, sizeof(name), "serial@0x%" PRIx64, base);
		ret = host_add_state(h, name, &serial_state_ops, s);
	}
	if (ret)
		return ret;
	host_add_counter(h, "serial", "tx_bytes", &s->tx_bytes);
	host_add_counter(h, "serial", "rx_bytes", &s->rx_bytes);
	host_add_counter(h, "serial", "breaks", &s->breaks);
	*out = s;
	return 0;
}
