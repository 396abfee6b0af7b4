/* SPDX-License-Identifier: MIT */
/*
 * Device state behind one interface, for snapshots (vmm/snapshot.c).
 *
 * A device that has state worth keeping registers it with the host
 * (host_add_state) under a name unique in the VM ("serial@0x3f8",
 * "virtio@0xd0000000"). A snapshot asks each one, in registration order,
 * to write its state into a state buffer; a restore builds the same VM
 * from the same configuration, so the same devices register under the
 * same names, and hands each its own buffer back. Everything read from a
 * buffer comes from a file: it is bounds-checked by the reader, and a
 * device checks every value before it uses it (a restore refuses what
 * the device could never have been in).
 */
#ifndef DEVICES_STATE_H
#define DEVICES_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A state buffer: written (grows; an allocation failure sticks in err and
 * later writes do nothing) or read (never past len; reading too far sets
 * err and yields zeros). Little-endian, as both our architectures are.
 */
struct sbuf {
	uint8_t *data;
	size_t len, cap;   /* writing: bytes written, allocated */
	size_t pos;        /* reading: next byte */
	int err;           /* 0, -ENOMEM (writing) or -EINVAL (read past end) */
	bool owned;        /* data is ours to free */
};

void sbuf_init(struct sbuf *b);
/* A reader over len bytes at data (not copied, not freed). */
void sbuf_reader(struct sbuf *b, const void *data, size_t len);
void sbuf_free(struct sbuf *b);

void sbuf_put(struct sbuf *b, const void *p, size_t n);
void sbuf_put_u8(struct sbuf *b, uint8_t v);
void sbuf_put_u16(struct sbuf *b, uint16_t v);
void sbuf_put_u32(struct sbuf *b, uint32_t v);
void sbuf_put_u64(struct sbuf *b, uint64_t v);
/* A length-prefixed blob (u32 length, then the bytes). */
void sbuf_put_blob(struct sbuf *b, const void *p, uint32_t n);

/* Reading: 0 / zeros once past the end (err set). */
void sbuf_get(struct sbuf *b, void *p, size_t n);
uint8_t sbuf_get_u8(struct sbuf *b);
uint16_t sbuf_get_u16(struct sbuf *b);
uint32_t sbuf_get_u32(struct sbuf *b);
uint64_t sbuf_get_u64(struct sbuf *b);
bool sbuf_get_bool(struct sbuf *b);
/*
 * A blob written by sbuf_put_blob() that must be exactly n bytes long
 * (a kernel structure of this build): 0, or -EINVAL (err set).
 */
int sbuf_get_blob(struct sbuf *b, void *p, uint32_t n);
/* Is everything read, and nothing read past the end? 0 or -EINVAL. */
int sbuf_done(const struct sbuf *b);

/* CRC-32 (IEEE 802.3, as zlib's crc32()) of n bytes, continuing crc. */
uint32_t crc32_update(uint32_t crc, const void *p, size_t n);

/* What a device with state implements (a static const table). */
struct dev_state_ops {
	/*
	 * Before the state is read: stop taking new work from the guest and
	 * finish what is in flight, so that the queues and guest memory say
	 * the same (on = true); and go on afterwards (on = false). Called on
	 * the event-loop thread, with the vCPUs paused. NULL: nothing to do.
	 */
	void (*quiesce)(void *dev, bool on);
	/* Append the device's state to b. */
	void (*save)(void *dev, struct sbuf *b);
	/*
	 * Take the state in r (from save(), in a file: check it). Before the
	 * vCPUs first run. 0, or -EINVAL with one line in err.
	 */
	int (*restore)(void *dev, struct sbuf *r, char *err, size_t errlen);
};

#define DEV_STATE_NAME_MAX 28

#endif
