// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-net (devices/virtio_net.c) over virtio-mmio,
 * on a datagram socket for its TAP (virtio_net_create_fd), driven by a
 * hostile guest program (devfuzz.h): TX chains with any header (GSO and
 * checksum fields included) and any length up to past 64 KiB, RX buffers
 * of any size (tiny ones too) with or without mergeable buffers, frames
 * from the network of 0 to 128 KiB, resets while frames are held. The
 * first byte picks an MTU.
 *
 * Build: make fuzz (tests/fuzz/README); -DFUZZ_STANDALONE replays files.
 */
#include "devfuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return df_run(data, size, 1u << DF_NET, DF_OPS_ALL & ~(1u << OP_CON_RX));
}
