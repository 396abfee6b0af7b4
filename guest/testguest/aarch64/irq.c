// SPDX-License-Identifier: MIT
/*
 * Test guest, aarch64: the C side of the exception vectors (entry.S). An
 * IRQ is acknowledged at the GIC and dispatched (virtual timer, UART,
 * the PL061 GPIO of the power key);
 * any other exception is reported as "TESTGUEST FAIL <test>: CPU
 * exception ..." before the VM powers off, so a broken VMM shows up as a
 * readable line rather than a hang.
 */
#include "a64.h"
#include "hw.h"
#include "lib.h"

struct exc_frame {
	uint64_t x[31];
	uint64_t elr, spsr;
};

static const char *const kinds[16] = {
	"synchronous (SP_EL0)", "IRQ (SP_EL0)", "FIQ (SP_EL0)", "SError (SP_EL0)",
	"synchronous", "IRQ", "FIQ", "SError",
	"synchronous from EL0", "IRQ from EL0", "FIQ from EL0", "SError from EL0",
	"synchronous from AArch32", "IRQ from AArch32", "FIQ from AArch32",
	"SError from AArch32",
};

void irq_handler(void);
void irq_handler(void)
{
	/* a few at most: each handler quiets its source */
	for (int i = 0; i < 8; i++) {
		uint32_t iar = gic_ack();
		unsigned int id = gic_intid(iar);

		if (id >= 1020 && id <= 1023)
			return;   /* spurious: nothing (left) pending */
		if (id == plat.timer_intid)
			timer_irq();
		else if (id == plat.uart_intid)
			uart_irq();
		else if (plat.gpio && id == plat.gpio_intid)
			gpio_irq();
		gic_eoi(iar);
	}
}

void exception_handler(struct exc_frame *f, uint64_t kind);
void exception_handler(struct exc_frame *f, uint64_t kind)
{
	uint64_t esr = read_sysreg(esr_el1), far = read_sysreg(far_el1);

	kprintf("\nTESTGUEST FAIL %s: CPU exception: %s, ESR_EL1 0x%lx (EC "
		"0x%lx), ELR 0x%lx, FAR 0x%lx, SPSR 0x%lx, x0 0x%lx, x30 "
		"0x%lx\n", current_test ? current_test : "boot",
		kinds[kind & 15], esr, esr >> 26, f->elr, far, f->spsr,
		f->x[0], f->x[30]);
	shutdown();
}
