# vmm: a small KVM virtual machine monitor.
#
#   make                 build/vmm and the test guest(s)
#   make check           every test layer (tests/run; ASan/UBSan build)
#   make run             boot the test guest (the README's first command)
#   make CC=clang        any of the above with clang
#   make static          build/vmm-static (for emulated hosts, initramfs)

ARCH    ?= $(shell uname -m)
V       ?= 0
ifeq ($(V),0)
Q := @
endif
BUILD   ?= build
# One spelling per build directory: the -MMD dependency files name their
# targets as BUILD was spelt, so an absolute BUILD for a tree built with a
# relative one would find no dependencies and reuse stale objects.
override BUILD := $(patsubst $(CURDIR)/%,%,$(abspath $(BUILD)))
CC      ?= cc
# make's built-in default is "cc"; keep it unless CC was given
ifeq ($(origin CC),default)
CC := cc
endif

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wformat-security \
	-Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition \
	-Wpointer-arith -Wundef -Wvla -Wwrite-strings -Wcast-align \
	-Wimplicit-fallthrough -Wmissing-declarations -Wredundant-decls \
	-Wnested-externs -Wno-unused-parameter

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -fno-strict-aliasing \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2 -MMD -MP
LDLIBS  += -ljson-c -luring -lseccomp -lpthread
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined -U_FORTIFY_SOURCE -O1

CORE := vmm/acpi.c vmm/aml.c vmm/api.c vmm/bus.c vmm/cli.c vmm/config.c \
	vmm/console.c vmm/ctl.c vmm/evloop.c vmm/fccli.c vmm/gdb.c vmm/gdbstub.c vmm/gva.c \
	vmm/http.c \
	vmm/httpd.c vmm/irqroute.c vmm/jail.c vmm/kvm.c vmm/log.c vmm/memory.c vmm/metrics.c \
	vmm/seccomp.c vmm/seccomp_file.c vmm/util.c vmm/vcpu.c vmm/vm.c \
	vmm/bundle.c vmm/chan.c vmm/cpio.c vmm/guest_init.c vmm/rootfs.c \
	vmm/run_bundle.c vmm/sha256.c vmm/snapfile.c vmm/snapshot.c
DEVICES := devices/acpi_pm.c devices/boottimer.c devices/i8042.c \
	devices/legacy.c devices/pci.c devices/pl061.c devices/pvpanic.c \
	devices/ratelimit.c \
	devices/serial.c devices/state.c devices/virtio.c devices/virtio_blk.c \
	devices/virtio_console.c devices/virtio_mmio.c devices/virtio_net.c \
	devices/virtio_pci.c devices/virtio_rng.c devices/virtio_vsock.c devices/virtqueue.c

# The arch block. `make ARCH=aarch64` on another machine cross-builds with
# Debian's aarch64-linux-gnu-gcc into build/aarch64/ (arm64 libfdt, zlib,
# json-c and libseccomp from dpkg --add-architecture arm64; `make
# ARCH=aarch64 static` gives build/aarch64/vmm-static for the emulated
# Raspberry Pi).
HOST_ARCH := $(shell uname -m)
ifeq ($(ARCH),x86_64)
ARCH_SRCS := arch/x86_64/acpi.c arch/x86_64/boot.c arch/x86_64/cpu.c \
	arch/x86_64/cpuid.c arch/x86_64/debug.c arch/x86_64/gdb.c \
	arch/x86_64/mptable.c arch/x86_64/platform.c arch/x86_64/snapshot.c
else ifeq ($(ARCH),aarch64)
ARCH_SRCS := arch/aarch64/cpu.c arch/aarch64/debug.c arch/aarch64/fdt.c \
	arch/aarch64/gdb.c arch/aarch64/gic.c arch/aarch64/image.c \
	arch/aarch64/layout.c arch/aarch64/platform.c arch/aarch64/snapshot.c \
	arch/aarch64/snapstate.c
# the device tree (libfdt) and Image.gz (zlib)
LDLIBS += -lfdt -lz
else
$(error ARCH=$(ARCH) is not supported (x86_64, aarch64))
endif
ifneq ($(ARCH),$(HOST_ARCH))
CROSS_COMPILE ?= $(ARCH)-linux-gnu-
ifneq ($(origin CC),command line)
CC := $(CROSS_COMPILE)gcc
endif
ifeq ($(BUILD),build)
override BUILD := build/$(ARCH)
endif
# The target's -dev packages (libfdt, zlib, json-c, libseccomp) unpacked
# with dpkg -x into CROSS_SYSROOT, for machines where they cannot be
# installed next to this machine's own (libfdt-dev is not multi-arch);
# tests/e2e/aarch64.sh --build makes one.
ifneq ($(CROSS_SYSROOT),)
CFLAGS += -isystem $(CROSS_SYSROOT)/usr/include
LDFLAGS += -L$(CROSS_SYSROOT)/usr/lib/$(ARCH)-linux-gnu
endif
endif

# The aarch64 loader, device tree, layout rules and snapshot layouts are
# pure C: the unit tests (test_arm64_*) build them for this machine
# whatever ARCH is.
ARM64_PURE := arch/aarch64/fdt.c arch/aarch64/gdb.c arch/aarch64/image.c \
	arch/aarch64/layout.c arch/aarch64/snapstate.c

LIB_SRCS := $(CORE) $(DEVICES) $(ARCH_SRCS)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
SAN_OBJS := $(LIB_SRCS:%.c=$(BUILD)/san/%.o)
ARM64_PURE_SAN := $(filter-out $(SAN_OBJS),$(ARM64_PURE:%.c=$(BUILD)/san/%.o))

UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
# the x86 loader tests link the x86 objects: only in an x86-64 build
ifneq ($(ARCH),x86_64)
UNIT_TESTS := $(filter-out test_x86_%,$(UNIT_TESTS))
endif
UNIT_BINS  := $(UNIT_TESTS:%=$(BUILD)/san/tests/%)

# Short "  CC  file" lines, or the full command lines with V=1:
# $(call quiet,TAG,WHAT) goes first in a recipe line.
quiet = $(if $(Q),@printf '  %-7s %s\n' '$(1)' '$(2)';)

# `make` with no target builds this, whatever the included makefiles
# define first.
.DEFAULT_GOAL := all

GUEST_BINS :=
include guest/testguest.mk

# The guest init of vmm run --bundle (guest/init/): static, for the
# target, and carried inside vmm (vmm/guest_init.c .incbin's it).
GUEST_INIT := $(BUILD)/guest/vmm-init
$(GUEST_INIT): guest/init/init.c guest/init/spec.c guest/init/spec.h \
		guest/init/proto.h
	@mkdir -p $(@D)
	$(call quiet,CC,$@)$(CC) -std=gnu11 -O2 $(WARNINGS) -D_GNU_SOURCE -static -s \
		-o $@ guest/init/init.c guest/init/spec.c
# The vsock end-to-end test's two ends (tests/e2e/x86_64.sh): static, so
# it runs in the guest's and the emulated host's busybox initramfs.
VSOCKECHO := $(BUILD)/guest/vsockecho
$(VSOCKECHO): guest/vsockecho.c
	@mkdir -p $(@D)
	$(call quiet,CC,$@)$(CC) -std=gnu11 -O2 $(WARNINGS) -static -s -o $@ $<
GUEST_BINS += $(VSOCKECHO)
GUEST_INIT_OBJS := $(BUILD)/obj/vmm/guest_init.o $(BUILD)/san/vmm/guest_init.o
$(GUEST_INIT_OBJS): $(GUEST_INIT)
$(GUEST_INIT_OBJS): CFLAGS += -DVMM_INIT_BIN='"$(abspath $(GUEST_INIT))"'

.PHONY: all static check unit clean run install
all: $(BUILD)/vmm $(GUEST_BINS)

$(BUILD)/vmm: $(LIB_OBJS) $(BUILD)/obj/vmm/main.o
	$(call quiet,LD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

static: $(BUILD)/vmm-static
$(BUILD)/vmm-static: $(LIB_OBJS) $(BUILD)/obj/vmm/main.o
	$(call quiet,LD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -static -o $@ $^ $(LDLIBS)

$(BUILD)/vmm-san: $(SAN_OBJS) $(BUILD)/san/vmm/main.o
	$(call quiet,LD san,$@)$(CC) $(CFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(call quiet,CC,$<)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/san/%.o: %.c
	@mkdir -p $(@D)
	$(call quiet,CC san,$<)$(CC) $(CFLAGS) $(SANFLAGS) -c -o $@ $<

$(BUILD)/san/tests/%: tests/unit/%.c tests/unit/unit.h $(SAN_OBJS)
	@mkdir -p $(@D)
	$(call quiet,CCLD,$@)$(CC) $(CFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ $< $(SAN_OBJS) $(LDLIBS)

# test_arm64_*: also the aarch64 pure objects, libfdt and zlib;
# test_arm64_guest_fdt also the aarch64 test guest's device tree reader
ARM64_UNIT_BINS := $(filter $(BUILD)/san/tests/test_arm64_%,$(UNIT_BINS))
GUEST_FDT_SAN := $(BUILD)/san/guest/testguest/aarch64/fdt.o
ifneq ($(ARM64_UNIT_BINS),)
$(ARM64_UNIT_BINS): $(BUILD)/san/tests/%: tests/unit/%.c tests/unit/unit.h \
		$(SAN_OBJS) $(ARM64_PURE_SAN)
	@mkdir -p $(@D)
	$(call quiet,CCLD,$@)$(CC) $(CFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ $< $(SAN_OBJS) \
		$(ARM64_PURE_SAN) $(filter $(GUEST_FDT_SAN),$^) $(LDLIBS) -lfdt -lz
$(BUILD)/san/tests/test_arm64_guest_fdt: $(GUEST_FDT_SAN)
endif

unit: $(UNIT_BINS)

# Fuzz targets (tests/fuzz/): linked against the sanitizer objects in an
# archive, so a target's own fakes win over the library's. By default
# with -DFUZZ_STANDALONE: replay builds that run the files and directories
# named on their command line (gcc or clang; the fuzz layer of make
# check). LIBFUZZER=1 with CC=clang builds them for libFuzzer instead,
# with coverage in every object: make CC=clang BUILD=build/libfuzzer
# LIBFUZZER=1 fuzz (tests/fuzz/README).
FUZZ_TARGETS := virtq virtio_mmio virtio_blk virtio_net virtio_console \
	config arm64_image http gdb bundle snapshot
ifeq ($(ARCH),x86_64)
FUZZ_TARGETS += x86_boot
endif
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
ifneq ($(LIBFUZZER),)
SANFLAGS += -fsanitize=fuzzer-no-link
FUZZ_LINK := -fsanitize=fuzzer
else
FUZZ_LINK := -DFUZZ_STANDALONE
endif
SAN_LIB := $(BUILD)/san/libvmm.a
$(SAN_LIB): $(SAN_OBJS) $(ARM64_PURE_SAN)
	$(call quiet,AR,$@)rm -f $@ && $(AR) rcs $@ $^
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(SAN_LIB)
	@mkdir -p $(@D)
	$(call quiet,CCLD,$@)$(CC) $(CFLAGS) $(SANFLAGS) $(FUZZ_LINK) $(LDFLAGS) \
		-Wno-missing-prototypes -Wno-missing-declarations \
		-o $@ $< $(SAN_LIB) $(LDLIBS) -lfdt -lz
$(filter $(BUILD)/fuzz/fuzz_virtio_%,$(FUZZ_BINS)): tests/fuzz/devfuzz.h \
	tests/unit/testhost.h
fuzz: $(FUZZ_BINS)
.PHONY: fuzz

# The README's test command: every layer, one summary line at the end.
check: $(BUILD)/vmm $(BUILD)/vmm-san $(BUILD)/vmm-static $(UNIT_BINS) $(GUEST_BINS) \
		$(FUZZ_BINS)
	BUILD=$(BUILD) tests/run

# The README's first command: boot the test guest of this architecture
# (x86-64 or aarch64) in its hello scenario.
RUN_CMD := $(BUILD)/vmm run -k $(BUILD)/guest/testguest-$(ARCH) -p "test=hello" -m 64M
run: $(BUILD)/vmm $(GUEST_BINS)
	$(call quiet,RUN,$(RUN_CMD))$(RUN_CMD)

# `make install` puts vmm in $(PREFIX)/bin; FIRECRACKER=1 also installs it
# as `firecracker`, for Firecracker's tools (README: Using vmm as Firecracker).
PREFIX ?= /usr/local
install: $(BUILD)/vmm
	install -D -m 0755 $(BUILD)/vmm $(DESTDIR)$(PREFIX)/bin/vmm
ifneq ($(FIRECRACKER),)
	ln -sf vmm $(DESTDIR)$(PREFIX)/bin/firecracker
endif

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
