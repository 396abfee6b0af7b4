// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the virtio-mmio transport and the device core
 * (devices/virtio_mmio.c, virtio.c) with a disk, a NIC and a console side
 * by side, driven by register accesses only (devfuzz.h): every offset of
 * the windows and past them, every width, feature selects out of range,
 * QueueSel past the queues, queue addresses changed while ready, the
 * status sequence broken every way, kicks of queues that do not exist,
 * and guest-memory writes under it all.
 *
 * Build: make fuzz (tests/fuzz/README); -DFUZZ_STANDALONE replays files.
 */
#include "devfuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return df_run(data, size, 1u << DF_BLK | 1u << DF_NET | 1u << DF_CON,
		      1u << OP_WRITE | 1u << OP_READ | 1u << OP_MEM |
		      1u << OP_PUMP | 1u << OP_STATUS | 1u << OP_KICK);
}
