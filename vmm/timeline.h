/* SPDX-License-Identifier: MIT */
/*
 * A VM's boot timeline: CLOCK_MONOTONIC timestamps (ns) of its milestones,
 * each recorded once (the first mark wins), readable from any thread.
 * Devices mark the ones they witness (first serial byte, boot timer).
 */
#ifndef VMM_TIMELINE_H
#define VMM_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

/* 0 = not yet */
struct vm_timeline {
	uint64_t start;          /* vmm's main() began */
	uint64_t api_ready;      /* the control socket accepts connections */
	uint64_t instance_start; /* boot began (InstanceStart, or at once) */
	uint64_t restore_start;  /* a snapshot's restore began */
	uint64_t restore_done;   /* ... and ended: the VM can run */
	uint64_t first_run;      /* first KVM_RUN entered (after a restore) */
	uint64_t first_serial;   /* first byte the guest sent to the serial port */
	uint64_t boot_timer;     /* guest wrote the boot-timer magic */
	uint64_t stop;           /* stop requested (power-off, reset, ...) */
	uint64_t cpu_at_boot_timer_us; /* vmm's own CPU time at the signal */
};

uint64_t monotonic_ns(void);

/* Record now in *slot unless it is set; true if this call set it. */
static inline bool timeline_mark(uint64_t *slot)
{
	uint64_t zero = 0;

	if (__atomic_load_n(slot, __ATOMIC_ACQUIRE))
		return false;
	return __atomic_compare_exchange_n(slot, &zero, monotonic_ns(), false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static inline uint64_t timeline_get(const uint64_t *slot)
{
	return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
}

/* Microseconds from *from to *to; 0 unless both happened in that order. */
static inline uint64_t timeline_us(const uint64_t *from, const uint64_t *to)
{
	uint64_t a = timeline_get(from), b = timeline_get(to);

	return a && b >= a ? (b - a) / 1000 : 0;
}

#endif
