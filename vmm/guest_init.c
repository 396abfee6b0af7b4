// SPDX-License-Identifier: MIT
/*
 * The guest init of `vmm run --bundle` (guest/init/), built by the
 * Makefile for the target architecture and carried inside vmm, so a
 * bundle needs nothing installed beside vmm but a guest kernel.
 */
#include "run_bundle.h"

#ifndef VMM_INIT_BIN
#error "VMM_INIT_BIN: the path of the built guest init (the Makefile sets it)"
#endif

__asm__(".section .rodata\n"
	".balign 16\n"
	".global vmm_guest_init\n"
	"vmm_guest_init:\n"
	".incbin \"" VMM_INIT_BIN "\"\n"
	".global vmm_guest_init_end\n"
	"vmm_guest_init_end:\n"
	".previous\n");
