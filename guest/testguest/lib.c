// SPDX-License-Identifier: MIT
/*
 * Test guest: serial output, a printf subset, string helpers and the
 * command-line parameter parser.
 *
 * kprintf understands %% %c %s %d %i %u %x %X %p with the flags '-' and
 * '0', a field width, and the length modifiers l, ll and z.
 */
#include "hw.h"
#include "lib.h"

/* 16550 registers (hw.h: uart_read/uart_write take these numbers) */
#define UART_THR  0
#define UART_FCR  2
#define UART_IIR  2
#define UART_LSR  5
#define LSR_THRE  0x20
#define FCR_ENABLE_CLEAR 0x07   /* FIFOs on, both cleared */
#define IIR_FIFOS 0xc0          /* both bits set: 16550A FIFOs enabled */

/*
 * Bytes that may be written before LSR.THRE must be polled again: 16 when
 * the UART has a working transmit FIFO (THRE then means it is empty), else
 * 1. Every register access is a VM exit, so this halves the cost of output.
 */
static unsigned int tx_burst = 1, tx_room;

void serial_init(void)
{
	uart_write(UART_FCR, FCR_ENABLE_CLEAR);
	tx_burst = (uart_read(UART_IIR) & IIR_FIFOS) == IIR_FIFOS ? 16 : 1;
	tx_room = 0;
}

void putc_serial(char c)
{
	if (!tx_room) {
		/* The VMM's 8250 is always ready; bound the wait anyway. */
		for (int i = 0; i < 100000 && !(uart_read(UART_LSR) & LSR_THRE); i++)
			cpu_relax();
		tx_room = tx_burst;
	}
	uart_write(UART_THR, (uint8_t)c);
	tx_room--;
}

void puts_serial(const char *s)
{
	while (*s)
		putc_serial(*s++);
}

void put_text(const void *s, size_t n)
{
	const unsigned char *p = s;

	for (; n && *p; n--, p++)
		putc_serial(*p >= 0x20 && *p < 0x7f ? (char)*p : '.');
}

/*
 * memset/memcpy are written so the compiler cannot turn their loops back
 * into calls to themselves (the empty asm makes each store "observable").
 */
void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;

	while (n--) {
		*p++ = (unsigned char)c;
		barrier();
	}
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;

	while (n--) {
		*p++ = *q++;
		barrier();
	}
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* ---- formatting ---- */

struct fmtspec {
	int width;
	int zero;
	int left;
};

static void pad(int n, char c)
{
	while (n-- > 0)
		putc_serial(c);
}

static void put_str(const char *s, const struct fmtspec *f)
{
	int len = (int)strlen(s);

	if (!f->left)
		pad(f->width - len, ' ');
	puts_serial(s);
	if (f->left)
		pad(f->width - len, ' ');
}

static void put_num(uint64_t v, unsigned int base, int neg, int upper,
		    const struct fmtspec *f)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int n = 0, len;

	do {
		buf[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + neg;
	if (f->left) {
		if (neg)
			putc_serial('-');
		while (n)
			putc_serial(buf[--n]);
		pad(f->width - len, ' ');
		return;
	}
	if (f->zero) {
		if (neg)
			putc_serial('-');
		pad(f->width - len, '0');
	} else {
		pad(f->width - len, ' ');
		if (neg)
			putc_serial('-');
	}
	while (n)
		putc_serial(buf[--n]);
}

void vkprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		struct fmtspec f = { 0, 0, 0 };
		int lng = 0;
		uint64_t u;
		int64_t s;

		if (*fmt != '%') {
			putc_serial(*fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '0')
				f.zero = 1;
			else if (*fmt == '-')
				f.left = 1;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			f.width = f.width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng = 1;
			fmt++;
		}
		switch (*fmt) {
		case '%':
			putc_serial('%');
			break;
		case 'c':
			putc_serial((char)va_arg(ap, int));
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);

			put_str(str ? str : "(null)", &f);
			break;
		}
		case 'd':
		case 'i':
			s = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			u = s < 0 ? -(uint64_t)s : (uint64_t)s;
			put_num(u, 10, s < 0, 0, &f);
			break;
		case 'u':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			put_num(u, 10, 0, 0, &f);
			break;
		case 'x':
		case 'X':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			put_num(u, 16, 0, *fmt == 'X', &f);
			break;
		case 'p':
			puts_serial("0x");
			put_num((uintptr_t)va_arg(ap, void *), 16, 0, 0, &f);
			break;
		case '\0':
			return;
		default:
			putc_serial('%');
			putc_serial(*fmt);
			break;
		}
	}
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
}

/* ---- command line ---- */

#define CMDLINE_MAX 4096

static char cmdline[CMDLINE_MAX] NOINIT;

void cmdline_set(const char *s)
{
	size_t i = 0;

	if (s)
		for (; i < CMDLINE_MAX - 1 && s[i]; i++)
			cmdline[i] = s[i];
	cmdline[i] = '\0';
}

const char *cmdline_get(void)
{
	return cmdline;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

const char *param(const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		const char *w;

		while (is_space(*p))
			p++;
		w = p;
		while (*p && !is_space(*p))
			p++;
		if ((size_t)(p - w) > klen && !memcmp(w, key, klen) &&
		    w[klen] == '=') {
			if (len)
				*len = (size_t)(p - w) - klen - 1;
			return w + klen + 1;
		}
	}
	return NULL;
}

int param_is(const char *key, const char *value)
{
	size_t len;
	const char *v = param(key, &len);

	return v && len == strlen(value) && !memcmp(v, value, len);
}

int parse_size(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0, base = 10;
	size_t i = 0, digits = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	for (; i < len; i++, digits++) {
		char c = s[i];
		uint64_t d;

		if (c >= '0' && c <= '9')
			d = (uint64_t)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (uint64_t)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (uint64_t)(c - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	if (!digits)
		return -1;
	if (i < len) {
		unsigned int shift;

		switch (s[i]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return -1;
		}
		if (i + 1 != len || v > (UINT64_MAX >> shift))
			return -1;
		v <<= shift;
	}
	*out = v;
	return 0;
}

int param_u64(const char *key, uint64_t *out)
{
	size_t len;
	const char *v = param(key, &len);

	if (!v)
		return 0;
	return parse_size(v, len, out) ? -1 : 1;
}
