// SPDX-License-Identifier: MIT
/*
 * Test guest: interrupts. The IDT routes the 32 CPU exceptions to a
 * handler that reports "TESTGUEST FAIL <test>: CPU exception ..." and shuts
 * down, so a broken VMM shows up as a readable line rather than a silent
 * triple fault. Vector VEC_TIMER is the LAPIC timer (the stub in entry.S
 * only writes EOI), used to sleep in hlt instead of polling.
 */
#include "hw.h"
#include "lib.h"
#include "x86.h"

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
} __attribute__((packed));

struct exc_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* entry.S */
extern const uint64_t exc_stubs[32];
extern char timer_stub[], spurious_stub[], nmi_stub[], msix_stub[];
/* NMIs taken since nmi_handler_init() (entry.S increments it) */
volatile uint64_t nmi_seen;
/* VEC_MSIX interrupts taken since msix_handler_init() (entry.S too) */
volatile uint64_t msix_seen;

static struct idt_gate idt[256] __attribute__((aligned(16)));

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
	"#OF overflow", "#BR bound", "#UD invalid opcode",
	"#NM device not available", "#DF double fault", "coprocessor",
	"#TS invalid TSS", "#NP segment not present", "#SS stack fault",
	"#GP general protection", "#PF page fault", "15", "#MF x87",
	"#AC alignment check", "#MC machine check", "#XM SIMD", "#VE", "#CP",
};

static void set_gate(unsigned int vec, uint64_t handler)
{
	struct idt_gate *g = &idt[vec];

	g->off_lo = (uint16_t)handler;
	g->sel = 0x08;
	g->ist = 0;
	g->type = 0x8e;   /* present, DPL 0, 64-bit interrupt gate */
	g->off_mid = (uint16_t)(handler >> 16);
	g->off_hi = (uint32_t)(handler >> 32);
	g->reserved = 0;
}

void idt_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uintptr_t)idt };

	for (unsigned int i = 0; i < 32; i++)
		set_gate(i, exc_stubs[i]);
	set_gate(VEC_TIMER, (uintptr_t)timer_stub);
	set_gate(VEC_SPURIOUS, (uintptr_t)spurious_stub);
	__asm__ volatile("lidt %0" : : "m"(desc));
}

void nmi_handler_init(void)
{
	nmi_seen = 0;
	set_gate(2, (uintptr_t)nmi_stub);
}

uint64_t nmi_count(void)
{
	return nmi_seen;
}

void msix_handler_init(void)
{
	msix_seen = 0;
	set_gate(VEC_MSIX, (uintptr_t)msix_stub);
}

uint64_t msix_count(void)
{
	return msix_seen;
}

/* Called from entry.S with the saved registers; never returns. */
void exception_handler(struct exc_frame *f);
void exception_handler(struct exc_frame *f)
{
	const char *name = f->vector < 32 && exc_names[f->vector] ?
		exc_names[f->vector] : "?";
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	kprintf("\nTESTGUEST FAIL %s: CPU exception %u (%s) error=0x%lx "
		"rip=0x%lx rsp=0x%lx cr2=0x%lx\n",
		current_test ? current_test : "boot", (unsigned int)f->vector,
		name, f->error, f->rip, f->rsp, cr2);
	shutdown();
}

/* ---- LAPIC timer ---- */

#define TIMER_MASKED  (1u << 16)
#define TIMER_DIV_1   0xb

static uint64_t timer_ticks, timer_ns;   /* calibration: ticks per ns */

int lapic_timer_calibrate(void)
{
	uint64_t t0, t1;
	uint32_t cur;

	time_init();
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_1);
	lapic_write(LAPIC_LVT_TIMER, TIMER_MASKED | VEC_TIMER);
	t0 = now_ns();
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	do {
		cpu_relax();
		t1 = now_ns();
	} while (t1 - t0 < 2000000);   /* 2 ms */
	cur = lapic_read(LAPIC_TIMER_CUR);
	t1 = now_ns();
	lapic_write(LAPIC_TIMER_INIT, 0);
	timer_ticks = 0xffffffffu - cur;
	timer_ns = t1 - t0;
	return timer_ticks > 100 ? 0 : -1;
}

uint64_t lapic_timer_hz(void)
{
	return timer_ns ? timer_ticks * 1000000000UL / timer_ns : 0;
}

/*
 * Sleep in hlt until now_ns() >= deadline, woken by a one-shot LAPIC timer
 * (requires lapic_timer_calibrate() == 0). The time itself always comes
 * from the clock, so a timer running fast or slow costs only extra wakeups.
 */
void sleep_until_ns(uint64_t deadline)
{
	uint64_t t;

	while ((t = now_ns()) < deadline) {
		uint64_t ticks = (deadline - t) * timer_ticks / timer_ns + 1;

		if (ticks > 0xffffffffu)
			ticks = 0xffffffffu;
		lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);   /* one-shot */
		lapic_write(LAPIC_TIMER_INIT, (uint32_t)ticks);
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	}
}
