// SPDX-License-Identifier: MIT
/* State buffers and the CRC of snapshot sections (state.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

void sbuf_init(struct sbuf *b)
{
	memset(b, 0, sizeof(*b));
	b->owned = true;
}

void sbuf_reader(struct sbuf *b, const void *data, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->data = (uint8_t *)(uintptr_t)data;
	b->len = len;
}

void sbuf_free(struct sbuf *b)
{
	if (b->owned)
		free(b->data);
	memset(b, 0, sizeof(*b));
}

void sbuf_put(struct sbuf *b, const void *p, size_t n)
{
	if (b->err || !n)
		return;
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *d;

		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2) {
				b->err = -ENOMEM;
				return;
			}
			cap *= 2;
		}
		d = realloc(b->data, cap);
		if (!d) {
			b->err = -ENOMEM;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void sbuf_put_u8(struct sbuf *b, uint8_t v) { sbuf_put(b, &v, 1); }
void sbuf_put_u16(struct sbuf *b, uint16_t v) { sbuf_put(b, &v, 2); }
void sbuf_put_u32(struct sbuf *b, uint32_t v) { sbuf_put(b, &v, 4); }
void sbuf_put_u64(struct sbuf *b, uint64_t v) { sbuf_put(b, &v, 8); }

void sbuf_put_blob(struct sbuf *b, const void *p, uint32_t n)
{
	sbuf_put_u32(b, n);
	sbuf_put(b, p, n);
}

void sbuf_get(struct sbuf *b, void *p, size_t n)
{
	if (b->err || n > b->len - b->pos) {
		b->err = -EINVAL;
		memset(p, 0, n);
		return;
	}
	memcpy(p, b->data + b->pos, n);
	b->pos += n;
}

uint8_t sbuf_get_u8(struct sbuf *b)
{
	uint8_t v;

	sbuf_get(b, &v, 1);
	return v;
}

uint16_t sbuf_get_u16(struct sbuf *b)
{
	uint16_t v;

	sbuf_get(b, &v, 2);
	return v;
}

uint32_t sbuf_get_u32(struct sbuf *b)
{
	uint32_t v;

	sbuf_get(b, &v, 4);
	return v;
}

uint64_t sbuf_get_u64(struct sbuf *b)
{
	uint64_t v;

	sbuf_get(b, &v, 8);
	return v;
}

bool sbuf_get_bool(struct sbuf *b)
{
	uint8_t v = sbuf_get_u8(b);

	if (v > 1)
		b->err = -EINVAL;
	return v == 1;
}

int sbuf_get_blob(struct sbuf *b, void *p, uint32_t n)
{
	if (sbuf_get_u32(b) != n) {
		b->err = -EINVAL;
		memset(p, 0, n);
		return -EINVAL;
	}
	sbuf_get(b, p, n);
	return b->err;
}

int sbuf_done(const struct sbuf *b)
{
	return b->err || b->pos != b->len ? -EINVAL : 0;
}

uint32_t crc32_update(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *s = p;

	crc = ~crc;
	while (n--) {
		crc ^= *s++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320U & (0U - (crc & 1)));
	}
	return ~crc;
}
