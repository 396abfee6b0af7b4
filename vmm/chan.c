// SPDX-License-Identifier: MIT
/* The process channel's frames (chan.h). */
#include <errno.h>
#include <string.h>

#include "chan.h"

int chan_feed(struct chan_rx *r, const uint8_t *p, size_t n,
	      chan_frame_fn fn, void *arg)
{
	while (n && !r->broken) {
		size_t want = CHAN_HDR, k;

		if (r->have >= CHAN_HDR) {
			size_t len = r->frame[1] | (size_t)r->frame[2] << 8;

			if (len > CHAN_MAX_PAYLOAD) {
				r->broken = -EPROTO;
				break;
			}
			want = CHAN_HDR + len;
		}
		k = want - r->have < n ? want - r->have : n;
		memcpy(r->frame + r->have, p, k);
		r->have += k;
		p += k;
		n -= k;
		if (r->have >= CHAN_HDR) {
			size_t len = r->frame[1] | (size_t)r->frame[2] << 8;

			if (len > CHAN_MAX_PAYLOAD) {
				r->broken = -EPROTO;
				break;
			}
			if (r->have == CHAN_HDR + len) {
				r->have = 0;
				fn(arg, r->frame[0], r->frame + CHAN_HDR, len);
			}
		}
	}
	return r->broken;
}

size_t chan_frame(uint8_t *out, int type, const void *payload, size_t n)
{
	if (n > CHAN_MAX_PAYLOAD)
		return 0;
	out[0] = (uint8_t)type;
	out[1] = (uint8_t)n;
	out[2] = (uint8_t)(n >> 8);
	if (n)
		memcpy(out + CHAN_HDR, payload, n);
	return CHAN_HDR + n;
}
