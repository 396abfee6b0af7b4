// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-blk (devices/virtio_blk.c) over virtio-mmio,
 * driven by a hostile guest program (devfuzz.h): request headers of every
 * type, sectors past the end and sector x 512 overflowing, GET_ID into
 * short buffers, discard and write-zeroes segments with huge counts,
 * status bytes anywhere, chains straddling the gap in guest RAM. The
 * first byte picks a read-only disk, cache=unsafe and an odd size. The
 * disk is a memfd, zeroed for each input; the inline engine serves it on
 * the harness's thread.
 *
 * Build: make fuzz (tests/fuzz/README); -DFUZZ_STANDALONE replays files.
 */
#include "devfuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return df_run(data, size, 1u << DF_BLK,
		      DF_OPS_ALL & ~(1u << OP_PEER_SEND | 1u << OP_PEER_DRAIN |
				     1u << OP_CON_RX));
}
