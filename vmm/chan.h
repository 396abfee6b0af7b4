/* SPDX-License-Identifier: MIT */
/*
 * The frames of the process channel between vmm and the guest init of
 * `vmm run --bundle` (their format: guest/init/proto.h). Pure: a decoder
 * fed any split of the byte stream, and the encoder.
 */
#ifndef VMM_CHAN_H
#define VMM_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "../guest/init/proto.h"

typedef void (*chan_frame_fn)(void *arg, int type, const uint8_t *payload,
			      size_t len);

struct chan_rx {
	uint8_t frame[CHAN_HDR + CHAN_MAX_PAYLOAD];
	size_t have;           /* bytes of the current frame so far */
	int broken;            /* -EPROTO once a frame was oversized */
};

/*
 * Feed n bytes; fn runs once per whole frame, in order. 0, or -EPROTO
 * when a header claims more than CHAN_MAX_PAYLOAD (the stream cannot be
 * trusted after that: every later call fails too).
 */
int chan_feed(struct chan_rx *r, const uint8_t *p, size_t n,
	      chan_frame_fn fn, void *arg);

/*
 * Write a frame of type with n payload bytes (n <= CHAN_MAX_PAYLOAD) to
 * out (room for CHAN_HDR + n); returns its length, 0 when n is too large.
 */
size_t chan_frame(uint8_t *out, int type, const void *payload, size_t n);

#endif
