# SPDX-License-Identifier: MIT
#
# The x86-64 test guest: a freestanding PVH ELF built with the host $(CC)
# (gcc or clang). Include this from the top-level Makefile after BUILD,
# Q and quiet (the short "  CC  file" lines) are set; it adds
# $(BUILD)/guest/testguest-x86_64 to GUEST_BINS (only when
# $(CC) targets x86-64) and defines the target `testguest`. Set GUEST_BINS
# (if at all) before the include, or use +=, so the entry is not lost.
#
# Own flags only: the host CFLAGS (sanitizers, -fPIE, ...) must not leak in.

BUILD ?= build

TESTGUEST_TARGET := $(shell $(CC) -dumpmachine 2>/dev/null)

ifneq ($(filter x86_64-%,$(TESTGUEST_TARGET)),)

TESTGUEST_SRC := guest/testguest
TESTGUEST_OUT := $(BUILD)/guest/testguest
TESTGUEST_BIN := $(BUILD)/guest/testguest-x86_64

TESTGUEST_OBJS := $(addprefix $(TESTGUEST_OUT)/, \
	entry.o main.o lib.o time.o irq.o smp.o virtio.o blk.o \
	vconsole.o net.o blkbench.o)

TESTGUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables \
	-fno-unwind-tables -fcf-protection=none -fno-common \
	-mno-red-zone -mno-sse -mno-mmx -mno-80387 -mgeneral-regs-only \
	-mcmodel=small -MMD -MP
TESTGUEST_LDFLAGS := -nostdlib -static -Wl,--build-id=none \
	-Wl,-z,max-page-size=4096 -Wl,-z,noexecstack \
	-Wl,-T,$(TESTGUEST_SRC)/linker.ld
TESTGUEST_OBJDUMP ?= objdump

GUEST_BINS += $(TESTGUEST_BIN)

.PHONY: testguest
testguest: $(TESTGUEST_BIN)

$(TESTGUEST_OUT)/%.o: $(TESTGUEST_SRC)/%.c
	@mkdir -p $(@D)
	$(call quiet,CC,$<)$(CC) $(TESTGUEST_CFLAGS) -c $< -o $@

$(TESTGUEST_OUT)/%.o: $(TESTGUEST_SRC)/%.S
	@mkdir -p $(@D)
	$(call quiet,AS,$<)$(CC) $(TESTGUEST_CFLAGS) -c $< -o $@

# Link, then refuse instructions the nested-KVM emulator cannot execute.
$(TESTGUEST_BIN): $(TESTGUEST_OBJS) $(TESTGUEST_SRC)/linker.ld \
		$(TESTGUEST_SRC)/check-insns.sh
	@mkdir -p $(@D)
	$(call quiet,LD,$@)$(CC) $(TESTGUEST_LDFLAGS) \
		$(TESTGUEST_OBJS) -o $@.tmp
	$(call quiet,CHECK,$@)sh $(TESTGUEST_SRC)/check-insns.sh $(TESTGUEST_OBJDUMP) $@.tmp
	$(Q)mv -f $@.tmp $@

-include $(TESTGUEST_OBJS:.o=.d)

endif
