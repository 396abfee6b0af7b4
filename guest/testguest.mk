# SPDX-License-Identifier: MIT
#
# The test guest, for each architecture a compiler is at hand for: the
# shared sources in guest/testguest/ plus guest/testguest/ARCH/.
#
#   $(BUILD)/guest/testguest-x86_64    a PVH ELF, built with $(CC) when it
#                                      targets x86-64, else with
#                                      x86_64-linux-gnu-gcc if installed
#   $(BUILD)/guest/testguest-aarch64   an arm64 Image, built with $(CC) when
#                                      it targets aarch64, else with
#                                      aarch64-linux-gnu-gcc if installed
#                                      (Debian: gcc-aarch64-linux-gnu)
#
# Include this from the top-level Makefile after BUILD, Q and quiet (the
# short "  CC  file" lines) are set; it adds what
# it can build to GUEST_BINS (set GUEST_BINS before the include, or use +=)
# and defines the target `testguest`. TESTGUEST_X86_64_CC and
# TESTGUEST_AARCH64_CC pick other compilers (e.g. TESTGUEST_AARCH64_CC=
# "clang --target=aarch64-linux-gnu").
#
# Own flags only: the host CFLAGS (sanitizers, -fPIE, ...) must not leak in.

BUILD ?= build

TESTGUEST_SRC := guest/testguest
TESTGUEST_COMMON := main.c lib.c virtio.c blk.c vconsole.c net.c blkbench.c \
	vsock.c
TESTGUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables \
	-fno-unwind-tables -fno-common -MMD -MP
TESTGUEST_LDFLAGS := -nostdlib -static -Wl,--build-id=none \
	-Wl,-z,max-page-size=4096 -Wl,-z,noexecstack

# $(call testguest_cc,ARCH-PREFIX): $(CC) if it targets that architecture,
# else the Debian cross compiler for it if installed, else nothing.
testguest_cc = $(or \
	$(if $(filter $(1)-%,$(shell $(CC) -dumpmachine 2>/dev/null)),$(CC)), \
	$(if $(shell command -v $(1)-linux-gnu-gcc 2>/dev/null),$(1)-linux-gnu-gcc))

.PHONY: testguest
testguest:

# ---- x86-64 ----

TESTGUEST_X86_64_CC ?= $(call testguest_cc,x86_64)

ifneq ($(TESTGUEST_X86_64_CC),)

TG_X86_OUT := $(BUILD)/guest/x86_64
TG_X86_BIN := $(BUILD)/guest/testguest-x86_64
TG_X86_OBJS := $(addprefix $(TG_X86_OUT)/, $(TESTGUEST_COMMON:.c=.o) \
	x86_64/entry.o x86_64/platform.o x86_64/time.o x86_64/irq.o \
	x86_64/smp.o x86_64/debug.o x86_64/acpi.o x86_64/pci.o)
TG_X86_CFLAGS := $(TESTGUEST_CFLAGS) -I$(TESTGUEST_SRC)/x86_64 \
	-I$(TESTGUEST_SRC) -fcf-protection=none -mno-red-zone -mno-sse \
	-mno-mmx -mno-80387 -mgeneral-regs-only -mcmodel=small
TG_X86_OBJDUMP := $(if $(filter $(CC),$(TESTGUEST_X86_64_CC)),objdump,$(patsubst %gcc,%objdump,$(TESTGUEST_X86_64_CC)))

GUEST_BINS += $(TG_X86_BIN)
testguest: $(TG_X86_BIN)

$(TG_X86_OUT)/%.o: $(TESTGUEST_SRC)/%.c
	@mkdir -p $(@D)
	$(call quiet,CC,$<)$(TESTGUEST_X86_64_CC) $(TG_X86_CFLAGS) -c $< -o $@

$(TG_X86_OUT)/%.o: $(TESTGUEST_SRC)/%.S
	@mkdir -p $(@D)
	$(call quiet,AS,$<)$(TESTGUEST_X86_64_CC) $(TG_X86_CFLAGS) -c $< -o $@

# Link, then refuse instructions the nested-KVM emulator cannot execute.
$(TG_X86_BIN): $(TG_X86_OBJS) $(TESTGUEST_SRC)/x86_64/linker.ld \
		$(TESTGUEST_SRC)/x86_64/check-insns.sh
	@mkdir -p $(@D)
	$(call quiet,LD,$@)$(TESTGUEST_X86_64_CC) $(TESTGUEST_LDFLAGS) \
		-Wl,-T,$(TESTGUEST_SRC)/x86_64/linker.ld $(TG_X86_OBJS) -o $@.tmp
	$(call quiet,CHECK,$@)sh $(TESTGUEST_SRC)/x86_64/check-insns.sh $(TG_X86_OBJDUMP) $@.tmp
	$(Q)mv -f $@.tmp $@

-include $(TG_X86_OBJS:.o=.d)

endif

# ---- aarch64 ----

TESTGUEST_AARCH64_CC ?= $(call testguest_cc,aarch64)

ifneq ($(TESTGUEST_AARCH64_CC),)

TG_A64_OUT := $(BUILD)/guest/aarch64
TG_A64_BIN := $(BUILD)/guest/testguest-aarch64
TG_A64_OBJS := $(addprefix $(TG_A64_OUT)/, $(TESTGUEST_COMMON:.c=.o) \
	aarch64/entry.o aarch64/platform.o aarch64/fdt.o aarch64/gic.o \
	aarch64/irq.o aarch64/time.o aarch64/smp.o)
# no FP/SIMD (nothing enables it), no atomics helpers from libgcc, no
# unaligned accesses (device memory faults on them)
TG_A64_CFLAGS := $(TESTGUEST_CFLAGS) -I$(TESTGUEST_SRC)/aarch64 \
	-I$(TESTGUEST_SRC) -march=armv8-a -mgeneral-regs-only -mstrict-align \
	-mno-outline-atomics -mbranch-protection=none -mcmodel=small
# an objcopy that reads aarch64 ELF: that of a cross gcc, else the cross
# binutils if installed, else this machine's
TESTGUEST_AARCH64_OBJCOPY ?= $(or \
	$(if $(filter %-gcc,$(TESTGUEST_AARCH64_CC)),$(patsubst %gcc,%objcopy,$(TESTGUEST_AARCH64_CC))), \
	$(if $(shell command -v aarch64-linux-gnu-objcopy 2>/dev/null),aarch64-linux-gnu-objcopy), \
	objcopy)

GUEST_BINS += $(TG_A64_BIN)
testguest: $(TG_A64_BIN)

$(TG_A64_OUT)/%.o: $(TESTGUEST_SRC)/%.c
	@mkdir -p $(@D)
	$(call quiet,CC,$<)$(TESTGUEST_AARCH64_CC) $(TG_A64_CFLAGS) -c $< -o $@

$(TG_A64_OUT)/%.o: $(TESTGUEST_SRC)/%.S
	@mkdir -p $(@D)
	$(call quiet,AS,$<)$(TESTGUEST_AARCH64_CC) $(TG_A64_CFLAGS) -c $< -o $@

# Link an ELF (kept for gdb and objdump), then its loadable bytes are the
# Image.
$(TG_A64_BIN): $(TG_A64_OBJS) $(TESTGUEST_SRC)/aarch64/linker.ld
	@mkdir -p $(@D)
	$(call quiet,LD,$@)$(TESTGUEST_AARCH64_CC) $(TESTGUEST_LDFLAGS) -no-pie \
		-Wl,-T,$(TESTGUEST_SRC)/aarch64/linker.ld $(TG_A64_OBJS) -o $@.elf
	$(call quiet,OBJCOPY,$@)$(TESTGUEST_AARCH64_OBJCOPY) -O binary $@.elf $@.tmp
	$(Q)mv -f $@.tmp $@

-include $(TG_A64_OBJS:.o=.d)

endif
