// SPDX-License-Identifier: MIT
/* The virtio-blk tests (test_virtio_blk.c) with the io_uring engine. */
#define BLK_ENGINE DISK_IO_URING
#define BLK_SUITE "virtio_blk_uring"
#include "test_virtio_blk.c"
