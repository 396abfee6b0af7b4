// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-console (devices/virtio_console.c) over
 * virtio-mmio, driven by a hostile guest program (devfuzz.h): transmit
 * chains of any shape, receive buffers of any size, console input from
 * the host while the queues are half set up, reset or broken.
 *
 * Build: make fuzz (tests/fuzz/README); -DFUZZ_STANDALONE replays files.
 */
#include "devfuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return df_run(data, size, 1u << DF_CON,
		      DF_OPS_ALL & ~(1u << OP_PEER_SEND | 1u << OP_PEER_DRAIN));
}
