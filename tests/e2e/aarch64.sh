#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End-to-end test: vmm boots a real Linux guest on aarch64, in emulated
# Raspberry Pi-like hosts.
#
# Each profile is an emulated arm64 host with hardware virtualization
# (QEMU TCG, -M virt,virtualization=on, so the host kernel runs at EL2 and
# has /dev/kvm with a virtual GIC):
#
#   pi4    -cpu cortex-a72, gic-version=2, Debian's 4K-page cloud kernel
#          (Raspberry Pi 4: Cortex-A72 + GIC-400)
#   pi5    -cpu cortex-a76, gic-version=2, Debian's 16K-page kernel
#          (Raspberry Pi 5 kernels use 16 KiB pages)
#   gicv3  -cpu cortex-a72, gic-version=3: creating a VGICv2 fails with
#          ENODEV there, so vmm must fall back to a VGICv3 (arm64 servers)
#   gdb    the pi4 host, vmm with --gdb --gdb-wait: gdb-multiarch here,
#          with the guest kernel's vmlinux, debugs the guest through a
#          virtio console of the host (relayed there to vmm's port): a
#          hardware breakpoint, a watchpoint, a software breakpoint, a step
#
# The static aarch64 vmm, the guest kernel (pi5: its Image.gz), an
# initramfs and an ext4 disk image ride in the host's initramfs; its /init
# runs vmm once (--cpus 2, the disk, a virtio console, a virtio-net NIC on
# a TAP the guest pings through) and prints what
# happened between delimiters on the console; then (not in the gdb
# profile) a second boot for Ctrl-Alt-Del: the guest writes a file
# without syncing and starts acpid with the initramfs's power-key handler,
# vmm ctl SOCK ctrl-alt-del presses the power key (a PL061 GPIO pin,
# gpio-keys KEY_POWER), and vmm must exit 0 soon after; then (not in
# the gdb profile either) a third boot to a shell on hvc0, paused and
# snapshotted (vmm ctl), then restored by a second vmm, whose guest must
# answer on hvc0, read its disk and ping the host through its TAP; last
# the disk image (gzip + base64), which this script captures and checks
# for the files of the first two boots.
#
# Exit status: 0 all checks passed, 1 a check failed, 2 usage error,
# 77 the environment cannot run the test (printed as "SKIP: <reason>").
set -euo pipefail

readonly PROG=tests/e2e/aarch64.sh
readonly EXIT_SKIP=77
readonly ALL_PROFILES="pi4 pi5 gicv3 gdb"

GUEST_CMDLINE="console=ttyS0 panic=-1 quiet"
readonly GUEST_MEM=256M
readonly GUEST_CPUS=2
readonly VMM_TIMEOUT=150 # seconds, vmm inside the emulated host
readonly GDB_VMM_TIMEOUT=240 # the same, with gdb stopping the guest
# The 4K host kernel's modules the gdb profile loads for its virtio
# console (the relay's end), in load order; arm64.sh's HOST_MODULES
# collects them (those built in are simply absent).
readonly GDB_HOST_MODULES="virtio_ring virtio virtio_mmio virtio_console"
readonly HOST_CMDLINE="console=ttyAMA0 panic=-1 quiet"
readonly HOST_MEM=1024
readonly HOST_CPUS=2
readonly HOST_TIMEOUT=420   # seconds, one whole QEMU run
readonly SILENCE_LIMIT=90   # seconds without console output: host is stuck
# The guest's boot timer: ARM64_BOOT_TIMER_ADDR in arch/aarch64/layout.h.
readonly BOOT_TIMER_ADDR=0x09010000
readonly DISK_FILE=guest-was-here.txt
# The Ctrl-Alt-Del run: the file the guest writes just before it (with
# no sync, and ext4's commit interval far away, only a clean shutdown
# puts it in the image), and how long vmm may take to exit after it.
readonly CAD_FILE=written-before-ctrl-alt-del.txt
readonly CAD_EXIT_LIMIT=30
readonly GUEST_MAC=52:54:00:12:34:56

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# cleanup, ensure_packages, wait_for_qemu, section: shared with the other arch
# shellcheck source=tests/e2e/lib.sh
. "$REPO/tests/e2e/lib.sh"
# arm64 packages, arm64_make, host kernels and profiles: shared with
# aarch64-vm.sh
# shellcheck source=tests/e2e/arm64.sh
. "$REPO/tests/e2e/arm64.sh"
# the arm64 tool chain needs none of the recommended packages
E2E_APT_OPTS=(--no-install-recommends)
CACHE=${VMM_CACHE:-$HOME/.cache/vmm}
VMM=
BUILD_VMM=0
KEEP=0
PROFILES=
WORK=
QEMU_PID=
GDB_PORT=
GDB_VMLINUX=
FAILED=0
RAN=0
T0=$SECONDS

usage() {
	cat <<EOF
Usage: $PROG --vmm PATH [--build] [--profile NAME]... [--keep]
                         [--guest-cmdline STRING]

Boots a Linux guest with the static aarch64 vmm binary PATH inside
emulated arm64 hosts (QEMU TCG with EL2) and checks, for each profile,
that the guest reached /init with $GUEST_CPUS CPUs online, fired the boot
timer, wrote a file to its virtio disk (found in the image afterwards with
debugfs), spoke on the virtio console, pinged the host through virtio-net
and a TAP, got a device tree dtc can read, and that vmm exited with
status 0; then that Ctrl-Alt-Del (vmm ctl SOCK ctrl-alt-del: the power
key) shuts a second boot down cleanly, the file it wrote just before in
the image afterwards.

Profiles (default: all): pi4 (Cortex-A72, GICv2, 4K-page host kernel),
pi5 (Cortex-A76, GICv2, 16K-page host kernel), gicv3 (GICv3 host: the
VGICv2 -> VGICv3 fallback), gdb (the pi4 host, the same checks, and
gdb-multiarch here debugging the guest kernel through vmm's --gdb: a
hardware breakpoint, a watchpoint, a software breakpoint and a step).

Builds (or reuses from \${VMM_CACHE:-\$HOME/.cache/vmm}) the guest kernel and
initramfs with scripts/build-guest-kernel --arch aarch64 and
scripts/build-initramfs --arch aarch64; downloads Debian's arm64 host
kernels; installs missing packages with apt-get.

  --vmm PATH        statically linked aarch64 vmm (build/aarch64/vmm-static)
  --build           first cross-build PATH: make ARCH=aarch64 static
                    (installs gcc-aarch64-linux-gnu; unpacks Debian's arm64
                    libfdt, zlib, json-c and libseccomp -dev packages into
                    the cache)
  --profile NAME    run only this profile (repeatable)
  --keep            keep the work directory (consoles, images) and say where
  --guest-cmdline STRING
                    guest kernel command line instead of
                    "$GUEST_CMDLINE"
  --help            this text

Prints one "PASS: e2e-arm64.<profile>.<check>" or "FAIL: ...: <why>" line
per check; exits 0 only if all pass, $EXIT_SKIP with "SKIP: <reason>" if this
machine cannot run the test at all.
EOF
}

log() { echo "e2e-arm64: $*"; }
skip() {
	echo "SKIP: $*"
	exit "$EXIT_SKIP"
}
setup_fail() {
	echo "FAIL: e2e-arm64.setup: $*"
	exit 1
}
pass() { echo "PASS: e2e-arm64.$*"; }
fail() {
	echo "FAIL: e2e-arm64.$*"
	FAILED=1
}

parse_args() {
	while (($#)); do
		case $1 in
		--help | -h) usage; exit 0 ;;
		--vmm) (($# >= 2)) || { usage >&2; exit 2; }; VMM=$2; shift ;;
		--build) BUILD_VMM=1 ;;
		--profile)
			(($# >= 2)) || { usage >&2; exit 2; }
			[[ " $ALL_PROFILES " == *" $2 "* ]] ||
				{ echo "$PROG: unknown profile $2 ($ALL_PROFILES)" >&2; exit 2; }
			PROFILES+=" $2"; shift ;;
		--keep) KEEP=1 ;;
		--guest-cmdline) (($# >= 2)) || { usage >&2; exit 2; }; GUEST_CMDLINE=$2; shift ;;
		*) echo "$PROG: unknown argument: $1" >&2; usage >&2; exit 2 ;;
		esac
		shift
	done
	[[ -n $VMM ]] || { echo "$PROG: --vmm PATH is required" >&2; usage >&2; exit 2; }
	if ((BUILD_VMM == 0)); then
		[[ -f $VMM && -x $VMM ]] ||
			{ echo "$PROG: not an executable file: $VMM (add --build to cross-build it)" >&2; exit 2; }
	fi
	[[ -n $PROFILES ]] || PROFILES=$ALL_PROFILES
}


# The cross-built (on arm64: native) static vmm.
build_vmm() {
	local out
	out=$(realpath -m "$VMM")
	[[ $(basename "$out") == vmm-static ]] ||
		{ echo "$PROG: --build makes BUILD_DIR/vmm-static; --vmm $VMM is not such a path" >&2; exit 2; }
	arm64_make "$(dirname "$out")" static
	[[ -x $VMM ]] || setup_fail "make did not produce $VMM"
}

check_vmm() {
	command -v readelf >/dev/null || ensure_packages binutils
	local hdr
	hdr=$(readelf -h "$VMM" 2>/dev/null) || { echo "$PROG: $VMM is not an ELF file" >&2; exit 2; }
	[[ $hdr == *AArch64* ]] ||
		{ echo "$PROG: $VMM is not an aarch64 binary (make ARCH=aarch64 static)" >&2; exit 2; }
	if readelf -l "$VMM" 2>/dev/null | grep 'Requesting program interpreter' >/dev/null; then
		echo "$PROG: $VMM is dynamically linked; the test needs a static build" >&2
		exit 2
	fi
	VMM=$(realpath "$VMM")
}

# The guest's /init: the boot timer, a marker with the CPU and GIC counts,
# a file on the ext4 disk, a line on the virtio console, then power-off
# (PSCI SYSTEM_OFF). Each step says on the console how it went.
write_guest_init() {
	cat >"$1" <<EOF
#!/bin/sh
# /init of the aarch64 e2e guest, generated by $PROG.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
devmem $BOOT_TIMER_ADDR 8 123 || echo "init: cannot write the boot timer"
cpus=\$(grep -c '^processor' /proc/cpuinfo)
gic=\$(grep -o -m1 'GIC[^ ]*' /proc/interrupts)
echo "VMM-GUEST-INIT-OK cpus=\$cpus online=\$(cat /sys/devices/system/cpu/online) gic=\$gic"
case " \$(cat /proc/cmdline) " in
*" e2e.cad "*)
	# The Ctrl-Alt-Del run: a file written (not synced; commit=600 keeps
	# ext4's journal from writing it meanwhile), then the power key's
	# handler of scripts/build-initramfs, started as its default /init
	# starts it, must shut down cleanly for the file to reach the image.
	mkdir -p /mnt
	mount -t ext4 -o commit=600 /dev/vda /mnt || echo "init: cannot mount /dev/vda"
	echo "written by the aarch64 guest before Ctrl-Alt-Del: \$(uname -r)" >/mnt/$CAD_FILE
	ls /dev/input/ | sed 's/^/init: input device: /'
	acpid -c /etc/acpi -l /dev/null -p /tmp/acpid.pid || echo "init: cannot start acpid"
	echo "VMM-GUEST-CAD-READY"
	while :; do sleep 1; done
	;;
*" e2e.snap "*)
	# The snapshot run: eth0 up, then a shell on hvc0 that the host
	# types into, before the snapshot and in the restored VM.
	ip addr add 10.0.2.2/24 dev eth0 && ip link set eth0 up || echo "init: cannot configure eth0"
	echo "VMM-GUEST-SNAP-READY"
	while :; do sh </dev/hvc0 >/dev/hvc0 2>&1; done
	;;
esac
mkdir -p /mnt
if mount -t ext4 /dev/vda /mnt; then
	echo "init: disk says: \$(cat /mnt/hello.txt)"
	echo "written by the aarch64 guest: \$(uname -m) \$(uname -r) cpus=\$cpus" >/mnt/$DISK_FILE
	umount /mnt && echo "VMM-GUEST-DISK-OK"
else
	echo "init: cannot mount /dev/vda"
fi
echo "VMM-GUEST-HVC-OK cpus=\$cpus" >/dev/hvc0 || echo "init: cannot write /dev/hvc0"
echo "VMM-GUEST-NET-MAC \$(cat /sys/class/net/eth0/address 2>/dev/null)"
if ip addr add 10.0.2.2/24 dev eth0 && ip link set eth0 up; then
	n=0
	until ping -c 1 -W 1 10.0.2.1 >/dev/null 2>&1 || [ \$n -ge 30 ]; do n=\$((n + 1)); done
	echo "VMM-GUEST-NET-PING \$(ping -c 3 -W 2 10.0.2.1 2>&1 | grep 'packets transmitted')"
else
	echo "init: cannot configure eth0"
fi
poweroff -f
while :; do sleep 1; done
EOF
}

# The emulated host's /init. Everything it reports goes to the console
# between "===== E2E <name> begin/end =====" lines; a heartbeat keeps the
# silence watchdog quiet while vmm runs. $2 "gdb": vmm waits for gdb, whose
# connection comes over the host's virtio console (hvc0), relayed to vmm's
# port.
write_host_init() {
	local limit=$VMM_TIMEOUT gdb_args='' gdb_setup=: gdb_relay=: cad_run snap_run
	# A second boot (not in the gdb profile) for Ctrl-Alt-Del: the guest
	# says it is ready, vmm ctl sends it, vmm must exit 0 soon after; the
	# disk dump that follows holds what the guest wrote before it.
	# shellcheck disable=SC2016 # for the host's shell to expand
	cad_run='say "cad: starting vmm"
/vmm run --kernel /guest/kernel --initrd /guest/initrd.gz \
	--cmdline "'"$GUEST_CMDLINE"' e2e.cad" --mem '"$GUEST_MEM"' --cpus '"$GUEST_CPUS"' \
	--disk /guest/disk.img --api-sock /tmp/cad.sock --console none \
	--serial-log /tmp/cad-serial.log </dev/null >/tmp/cad-vmm.out 2>/tmp/cad-vmm.err &
pid=$!
n=0
while [ -d /proc/$pid ] && ! grep -q VMM-GUEST-CAD-READY /tmp/cad-serial.log 2>/dev/null && [ $n -lt 1200 ]; do
	sleep 0.1
	n=$((n + 1))
done
if grep -q VMM-GUEST-CAD-READY /tmp/cad-serial.log 2>/dev/null; then
	/vmm ctl /tmp/cad.sock ctrl-alt-del >/tmp/cad-ctl.out 2>&1
	echo "E2E-HOST-CTL-CAD status=$?"
	n=0
	while [ -d /proc/$pid ] && ! grep -q "^State:.*Z" /proc/$pid/status 2>/dev/null && [ $n -lt '"$CAD_EXIT_LIMIT"'0 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ -d /proc/$pid ] && ! grep -q "^State:.*Z" /proc/$pid/status 2>/dev/null ||
		echo "E2E-HOST-CAD-EXIT-SECONDS $((n / 10)).$((n % 10))"
else
	say "cad: the guest never said VMM-GUEST-CAD-READY"
fi
kill -TERM $pid 2>/dev/null
wait $pid
echo "E2E-CAD-VMM-EXIT-STATUS: $?"
section cad-ctl /tmp/cad-ctl.out
section cad-vmm-stderr /tmp/cad-vmm.err
section cad-serial-log /tmp/cad-serial.log'
	# Not in the gdb profile either: a third boot, snapshotted and
	# restored (both VGICs, 4K and 16K pages). A shell on hvc0 with the
	# disk (read-only: the dump below is the other boots') and a NIC
	# answers before the snapshot (vmm ctl pause, snapshot, stop); a
	# second vmm restores it and the host types into it again: the shell
	# answers, reads the disk and pings the host through the TAP.
	# shellcheck disable=SC2016 # for the host's shell to expand
	snap_run='say "snap: starting vmm"
rm -f /tmp/snap.in /tmp/rs.in /tmp/vm.snap /tmp/vm.mem
mkfifo /tmp/snap.in /tmp/rs.in
tap_up() {
	t=0
	while [ ! -e /sys/class/net/tap0 ] && [ $t -lt 300 ] && [ -d /proc/$pid ]; do sleep 0.1; t=$((t + 1)); done
	ip addr add 10.0.2.1/24 dev tap0 && ip link set tap0 up || say "snap: cannot configure tap0"
}
wait_out() { # FILE PATTERN TENTHS
	n=0
	while [ -d /proc/$pid ] && ! grep -q "$2" "$1" 2>/dev/null && [ $n -lt $3 ]; do sleep 0.1; n=$((n + 1)); done
	grep -q "$2" "$1" 2>/dev/null
}
/vmm run --kernel /guest/kernel --initrd /guest/initrd.gz \
	--cmdline "'"$GUEST_CMDLINE"' e2e.snap" --mem '"$GUEST_MEM"' --cpus '"$GUEST_CPUS"' \
	--disk /guest/disk.img,ro --console virtio --serial-log /tmp/snap-serial.log \
	--net tap=tap0,mac='"$GUEST_MAC"' --api-sock /tmp/snap.sock \
	</tmp/snap.in >/tmp/snap.out 2>/tmp/snap.err &
pid=$!
exec 3>/tmp/snap.in
tap_up
: >/tmp/snap-ctl.out
if wait_out /tmp/snap-serial.log VMM-GUEST-SNAP-READY 1200; then
	sleep 1
	printf "%s\n" "echo SNAP-BEFORE-\$((6*7))" >&3
	wait_out /tmp/snap.out SNAP-BEFORE-42 300 || say "snap: no SNAP-BEFORE-42 within 30 s"
	for c in pause "snapshot /tmp/vm.snap /tmp/vm.mem" stop; do
		echo "ctl $c: $(/vmm ctl /tmp/snap.sock $c 2>&1)" >>/tmp/snap-ctl.out
	done
else
	say "snap: the guest never said VMM-GUEST-SNAP-READY"
	kill -TERM $pid
fi
wait $pid
echo "E2E-SNAP-VMM-EXIT-STATUS: $?"
exec 3>&-
ls -ls /tmp/vm.snap /tmp/vm.mem >/tmp/snap-files.out 2>&1
/vmm run --restore /tmp/vm.snap --mem-file /tmp/vm.mem --serial-log /tmp/rs-serial.log \
	--boot-timer </tmp/rs.in >/tmp/rs.out 2>/tmp/rs.err &
pid=$!
exec 3>/tmp/rs.in
tap_up
sleep 1
printf "%s\n" "echo SNAP-AFTER-\$((6*7)) DISK-\$(dd if=/dev/vda bs=512 count=8 2>/dev/null | wc -c) NET-\$(ping -c 2 -W 2 10.0.2.1 | grep -c \"bytes from\")" >&3
wait_out /tmp/rs.out SNAP-AFTER-42 300 || say "snap: no SNAP-AFTER-42 from the restored VM within 30 s"
kill -TERM $pid
wait $pid
echo "E2E-RESTORE-VMM-EXIT-STATUS: $?"
exec 3>&-
section snap-ctl /tmp/snap-ctl.out
section snap-files /tmp/snap-files.out
section snap-stdout /tmp/snap.out
section snap-stderr /tmp/snap.err
section restore-stdout /tmp/rs.out
section restore-stderr /tmp/rs.err'
	if [[ ${2:-} == gdb ]]; then
		cad_run=:
		snap_run=:
		limit=$GDB_VMM_TIMEOUT
		gdb_args=" --gdb 1234 --gdb-wait"
		# shellcheck disable=SC2016 # for the host's shell to expand
		gdb_setup='for m in '"$GDB_HOST_MODULES"'; do [ ! -f /lib/modules/$m.ko ] || insmod /lib/modules/$m.ko || say "insmod $m.ko failed"; done; ip link set lo up'
		# shellcheck disable=SC2016
		gdb_relay='t=0; while ! grep -q "gdb: waiting on" /tmp/vmm.err 2>/dev/null && [ $t -lt 100 ]; do sleep 0.1; t=$((t + 1)); done
# hvc forgets its settings when nobody has it open: fd 3 holds it
if [ -c /dev/hvc0 ] && exec 3<>/dev/hvc0 && stty -F /dev/hvc0 raw -echo; then nc -f /dev/hvc0 -e nc 127.0.0.1 1234 & echo "E2E-HOST-GDB-READY"; else say "gdb: no /dev/hvc0 for the relay"; fi'
	fi
	cat >"$1" <<EOF
#!/bin/sh
# /init of the emulated arm64 host, generated by $PROG.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "E2E-HOST: \$*"; }
section() {
	echo "===== E2E \$1 begin ====="
	[ -f "\$2" ] && awk '{ print }' "\$2"
	echo "===== E2E \$1 end ====="
}

echo "E2E-HOST-PAGESIZE: \$(awk '/KernelPageSize/ { print \$2; exit }' /proc/self/smaps)"
echo "E2E-HOST-GIC: \$(grep -o -m1 'GIC[^ ]*' /proc/interrupts)"
[ -c /dev/kvm ] || mknod /dev/kvm c 10 232
if ( : </dev/kvm ) 2>/dev/null; then kvm=ok; else kvm=unavailable; fi
echo "E2E-HOST-KVM: \$kvm"
[ \$kvm = ok ] || { dmesg | grep -i kvm | tail -n 5; poweroff -f; }

insmod /lib/modules/tun.ko || say "insmod tun.ko failed"
$gdb_setup
say "starting vmm"
# -v: vmm says which GIC it fell back to (the gic_fallback check)
/vmm run -v --kernel /guest/kernel --initrd /guest/initrd.gz \\
	--cmdline "$GUEST_CMDLINE" --mem $GUEST_MEM --cpus $GUEST_CPUS \\
	--disk /guest/disk.img --console virtio --serial-log /tmp/serial.log \\
	--net tap=tap0,mac=$GUEST_MAC --dump-dtb /tmp/guest.dtb$gdb_args \\
	</dev/null >/tmp/vmm.out 2>/tmp/vmm.err &
pid=\$!
$gdb_relay
# vmm creates tap0; this host is 10.0.2.1 on it
t=0
while [ ! -e /sys/class/net/tap0 ] && [ \$t -lt 300 ] && [ -d /proc/\$pid ]; do
	sleep 0.1
	t=\$((t + 1))
done
ip addr add 10.0.2.1/24 dev tap0 && ip link set tap0 up || say "cannot configure tap0"
# Stop a stuck vmm: SIGTERM at the limit, SIGKILL 10 s later; show where
# the guest got meanwhile.
n=0
while [ -d /proc/\$pid ] && ! grep -q '^State:.*Z' /proc/\$pid/status 2>/dev/null; do
	sleep 1
	n=\$((n + 1))
	[ \$n -ne $limit ] || { say "vmm timed out: SIGTERM"; kill -TERM \$pid; }
	[ \$n -ne \$(($limit + 10)) ] || { say "SIGKILL"; kill -KILL \$pid; }
	if [ \$((n % 15)) -eq 0 ]; then
		say "vmm still running after \$n s; serial log ends with:"
		tail -n 2 /tmp/serial.log 2>/dev/null
	fi
done
wait \$pid
status=\$?
say "vmm exited with status \$status after about \$n s"

section vmm-stdout /tmp/vmm.out
section vmm-stderr /tmp/vmm.err
section serial-log /tmp/serial.log
echo "===== E2E dtb begin ====="
[ -f /tmp/guest.dtb ] && base64 /tmp/guest.dtb
echo "===== E2E dtb end ====="
echo "E2E-VMM-EXIT-STATUS: \$status"
$cad_run
$snap_run
echo "===== E2E disk begin ====="
gzip -c /guest/disk.img | base64
echo "===== E2E disk end ====="
poweroff -f
EOF
}

build_images() {
	local t=$SECONDS
	log "guest kernel: scripts/build-guest-kernel --arch aarch64 (built once, then cached)"
	GUEST_IMAGE=$("$REPO/scripts/build-guest-kernel" --arch aarch64 2>"$WORK/kernel-build.err" | tail -n1) ||
		{ cat "$WORK/kernel-build.err"; setup_fail "scripts/build-guest-kernel --arch aarch64 failed"; }
	[[ -f $GUEST_IMAGE && -f $GUEST_IMAGE.gz ]] ||
		{ cat "$WORK/kernel-build.err"; setup_fail "no Image and Image.gz at '$GUEST_IMAGE'"; }
	log "guest kernel: $GUEST_IMAGE"
	GDB_VMLINUX=$(dirname "$GUEST_IMAGE")/vmlinux
	[[ -f $GDB_VMLINUX ]] || GDB_VMLINUX=
	KERNEL_SECONDS=$((SECONDS - t))

	write_guest_init "$WORK/guest-init"
	GUEST_INITRD=$WORK/guest-initrd.gz
	"$REPO/scripts/build-initramfs" --arch aarch64 --init "$WORK/guest-init" \
		"$GUEST_INITRD" >/dev/null 2>"$WORK/initramfs.err" ||
		{ cat "$WORK/initramfs.err"; setup_fail "scripts/build-initramfs --arch aarch64 (guest) failed"; }
	write_host_init "$WORK/host-init"
	write_host_init "$WORK/host-init-gdb" gdb
}

# A fresh ext4 image per run, with one file the guest reads.
make_disk() {
	local dir=$WORK/disk-root
	rm -rf "$dir" "$1"
	mkdir -p "$dir"
	echo "hello from the e2e test" >"$dir/hello.txt"
	mkfs.ext4 -q -F -L vmm-e2e -d "$dir" "$1" 16M >>"$WORK/mkfs.log" 2>&1 ||
		setup_fail "mkfs.ext4 failed (see $WORK/mkfs.log with --keep)"
}

# Run one emulated host; its console goes to $CONSOLE. Besides the overall
# timeout, a watchdog kills QEMU when the console has been silent for
# SILENCE_LIMIT seconds. Sets HOST_STATUS, HOST_SECONDS and HOST_NOTE.
run_host() {
	local cpu=$1 gic=$2 kernel=$3 initrd=$4 gdb=${5:-}
	local t=$SECONDS extra=() client=
	log "booting the emulated host (QEMU TCG, $cpu, gic-version=$gic); console: $CONSOLE"
	# gdb: a virtio console of the host (its hvc0) is GDB_PORT here
	# shellcheck disable=SC2054 # QEMU's commas
	[[ -z $gdb ]] || extra=(-device virtio-serial-device
		-chardev "socket,id=gdb,host=127.0.0.1,port=$GDB_PORT,server=on,wait=off"
		-device virtconsole,chardev=gdb)
	timeout --kill-after=10 "$HOST_TIMEOUT" qemu-system-aarch64 \
		-M "virt,virtualization=on,gic-version=$gic" -cpu "$cpu" \
		-m "$HOST_MEM" -smp "$HOST_CPUS" -nographic -no-reboot \
		-kernel "$kernel" -initrd "$initrd" -append "$HOST_CMDLINE" \
		"${extra[@]}" \
		</dev/null >"$CONSOLE" 2>"$CONSOLE.qemu-err" &
	QEMU_PID=$!
	if [[ -n $gdb ]]; then
		gdb_client &
		client=$!
	fi
	wait_for_qemu "$t"
	[[ -z $client ]] || wait "$client"
	if [[ $HOST_NOTE == "QEMU exited with status"* ]]; then
		cat "$CONSOLE.qemu-err" >&2
	fi
}

# The gdb profile's client, here: once the host's relay is up, gdb-multiarch
# with the guest kernel's vmlinux. vmm stopped the guest at its first
# instruction, before its kernel is mapped: first a hardware breakpoint
# (DBGBCR) at start_kernel; there a watchpoint (DBGWCR) on jiffies, which
# the first timer tick writes; then a software breakpoint (BRK #0 written
# into the kernel) at ksys_sync, which the guest's init reaches through
# its power-off's sync, long after; a step, and detach.
gdb_client() {
	local t=$SECONDS status=0
	until grep -q 'E2E-HOST-GDB-READY' "$CONSOLE" 2>/dev/null; do
		kill -0 "$QEMU_PID" 2>/dev/null || return 0
		((SECONDS - t < HOST_TIMEOUT)) || return 0
		sleep 1
	done
	timeout 300 gdb-multiarch -batch -nx -ex "set pagination off" \
		-ex "set confirm off" -ex "set remotetimeout 60" \
		-ex "target remote :$GDB_PORT" -ex "info threads" \
		-ex "hbreak start_kernel" -ex "continue" -ex "info registers pc" \
		-ex "delete" -ex "watch *(volatile unsigned long *)&jiffies" \
		-ex "continue" -ex "delete" -ex "break ksys_sync" \
		-ex "continue" -ex "stepi" -ex "info registers pc" -ex "delete" \
		-ex "detach" "$GDB_VMLINUX" >"$WORK/gdb.out" 2>&1 || status=$?
	echo "gdb exited with status $status" >>"$WORK/gdb.out"
}

# The gdb profile's own checks, on what gdb printed.
check_gdb() {
	local out=$WORK/gdb.out pc1 pc2 sym
	echo "----- gdb-multiarch here ($out) -----"
	cat "$out" 2>/dev/null
	echo "----- end of gdb -----"
	if [[ ! -s $out ]]; then
		fail "gdb.session: gdb never ran (no E2E-HOST-GDB-READY on the host console?)"
		return
	fi
	if grep -q "Thread $GUEST_CPUS (vCPU $((GUEST_CPUS - 1)))" "$out"; then
		pass "gdb.threads ($GUEST_CPUS vCPUs, $GUEST_CPUS threads)"
	else
		fail "gdb.threads: no thread per vCPU in 'info threads'"
	fi
	sym=$(nm "$GDB_VMLINUX" | awk '$3 == "start_kernel" { print $1 }' | sed 's/^0*//')
	pc1=$(awk '$1 == "pc" { print $2 }' "$out" | sed -n 1p)
	if grep -q "Breakpoint 1, 0x[0-9a-f]* in start_kernel ()" "$out" && [[ $pc1 == "0x$sym" ]]; then
		pass "gdb.hbreak (a debug-register breakpoint at start_kernel, set before the kernel was mapped: pc $pc1)"
	else
		fail "gdb.hbreak: no hit at start_kernel (pc '$pc1')"
	fi
	if grep -q "Hardware watchpoint 2: \*(volatile unsigned long \*)&jiffies" "$out" &&
	   grep -q "^New value = " "$out"; then
		pass "gdb.watchpoint (jiffies: $(grep -m1 '^Old value' "$out") -> $(grep -m1 '^New value' "$out" | sed 's/New value = //'))"
	else
		fail "gdb.watchpoint: the watchpoint on jiffies did not trigger"
	fi
	# one step on from the breakpoint: the next instruction, or the
	# exception vectors when an interrupt was pending (KVM on arm64 does
	# not hold interrupts off during a step, as x86's BLOCKIRQ does)
	local bp step
	bp=$(sed -n 's/.*Breakpoint 3, \(0x[0-9a-f]*\) in ksys_sync ()$/\1/p' "$out")
	step=$(grep '^pc' "$out" | sed -n 2p)
	pc2=$(awk '{ print $2 }' <<<"$step")
	if [[ -n $bp ]] && { [[ $pc2 == "$(printf '0x%x' $((bp + 4)))" ]] || [[ $step == *"<vectors+"* ]]; }; then
		pass "gdb.swbreak-and-step (BRK written into the kernel at $bp, ksys_sync, hit; one step on: ${step##* })"
	else
		fail "gdb.swbreak-and-step: no hit at ksys_sync ('$bp') and a step on from it ('$step')"
	fi
	if grep -q "Inferior 1 (Remote target) detached" "$out"; then
		pass "gdb.detach (the guest ran on: see vmm_exit_status)"
	else
		fail "gdb.detach: gdb did not detach"
	fi
}

# Checks of one profile's run. $1 profile, $2 expected host page size in
# KiB, $3 expected guest GIC ("v2" or "v3").
check_results() {
	local p=$1 want_page=$2 want_gic=$3
	tr -d '\r' <"$CONSOLE" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' >"$CONSOLE.txt"

	echo "----- emulated host console, profile $p (without the disk dump) -----"
	awk '/^===== E2E disk begin/ { skip = 1 } !skip { print } /^===== E2E disk end/ { skip = 0 }' "$CONSOLE.txt"
	echo "----- end of emulated host console -----"
	[[ -z $HOST_NOTE ]] || log "$HOST_NOTE"

	if grep -qx 'E2E-HOST-KVM: unavailable' "$CONSOLE.txt"; then
		echo "SKIP: e2e-arm64.$p: /dev/kvm does not work in the emulated host"
		return 0
	fi
	RAN=1

	local why="no vmm report on the emulated host console${HOST_NOTE:+ ($HOST_NOTE)}"
	local serial='' stderr='' stdout='' marker cpus gic timer status page
	if has_section serial-log; then
		serial=$(section serial-log)
		stderr=$(section vmm-stderr)
		stdout=$(section vmm-stdout)
	fi

	page=$(sed -n 's/^E2E-HOST-PAGESIZE: //p' "$CONSOLE.txt" | head -n1)
	if [[ $page == "$want_page" ]]; then
		pass "$p.host_page_size (${page} KiB pages)"
	else
		fail "$p.host_page_size: expected $want_page KiB, host reports '${page:-nothing}'"
	fi

	marker=$(grep -o 'VMM-GUEST-INIT-OK .*' <<<"$serial" | head -n1 || true)
	if [[ -n $marker ]]; then
		pass "$p.init ($marker)"
	elif has_section serial-log; then
		fail "$p.init: no VMM-GUEST-INIT-OK line in the serial log"
	else
		fail "$p.init: $why"
	fi

	timer=$(grep -o 'vmm: boot-timer: .*' <<<"$stderr" | head -n1 || true)
	if [[ $timer =~ boot-timer:\ ([0-9.]+)\ ms\ since\ vmm\ start,\ ([0-9.]+)\ ms\ since\ first\ KVM_RUN ]]; then
		BOOT_MS[$p]=${BASH_REMATCH[1]} BOOT_RUN_MS[$p]=${BASH_REMATCH[2]}
		pass "$p.boot_timer (${BASH_REMATCH[1]} ms since vmm start, ${BASH_REMATCH[2]} ms since first KVM_RUN)"
	else
		fail "$p.boot_timer: no parsable 'vmm: boot-timer:' line on vmm's stderr${timer:+ ('$timer')}"
	fi

	cpus=$(sed -n 's/.*cpus=\([0-9]*\).*/\1/p' <<<"$marker")
	if [[ $cpus == "$GUEST_CPUS" ]]; then
		pass "$p.cpus ($cpus online)"
	else
		fail "$p.cpus: expected $GUEST_CPUS online, marker says '${cpus:-nothing}'"
	fi

	gic=$(sed -n 's/.* gic=\(.*\)$/\1/p' <<<"$marker")
	if [[ $want_gic == v3 ]]; then
		if [[ $gic == GICv3 ]] && grep -q "cannot emulate a GICv2" <<<"$stderr"; then
			pass "$p.gic_fallback (VGICv2 refused, guest runs on $gic)"
		else
			fail "$p.gic_fallback: guest GIC '${gic:-?}', vmm said: $(grep -m1 GIC <<<"$stderr" || echo nothing)"
		fi
	else
		if [[ -n $gic && $gic != GICv3 ]]; then
			pass "$p.gic (guest runs on a GICv2: $gic)"
		else
			fail "$p.gic: expected a GICv2 in the guest, got '${gic:-?}'"
		fi
	fi

	if grep -q 'VMM-GUEST-HVC-OK' <<<"$stdout"; then
		pass "$p.virtio_console"
	else
		fail "$p.virtio_console: no VMM-GUEST-HVC-OK on vmm's stdout (hvc0)"
	fi

	check_disk "$p"
	check_net "$p" "$serial"
	check_dtb "$p" "$want_gic"

	[[ $p == gdb ]] || check_cad "$p"
	[[ $p == gdb ]] || check_snap "$p"

	status=$(sed -n 's/^E2E-VMM-EXIT-STATUS: //p' "$CONSOLE.txt" | head -n1)
	if [[ $status == 0 ]]; then
		pass "$p.vmm_exit_status (0)"
	elif [[ -n $status ]]; then
		fail "$p.vmm_exit_status: got $status$([[ $status == 124 || $status == 143 ]] && echo " (killed by the $VMM_TIMEOUT s timeout?)")"
	else
		fail "$p.vmm_exit_status: $why"
	fi
}

# The disk image as the host saw it after vmm exited: the guest's file
# must be in it.
check_disk() {
	local p=$1 img=$WORK/$1-disk-after.img content
	if ! has_section disk || ! section disk | base64 -d 2>/dev/null | gzip -dc >"$img" 2>/dev/null; then
		fail "$p.disk: no readable disk image dump on the console"
		return
	fi
	content=$(debugfs -R "cat /$DISK_FILE" "$img" 2>/dev/null || true)
	if [[ $content == "written by the aarch64 guest: aarch64"* ]]; then
		pass "$p.disk (/$DISK_FILE: $content)"
	else
		fail "$p.disk: /$DISK_FILE not in the image afterwards (debugfs: '${content:0:80}')"
	fi
}

# Ctrl-Alt-Del (the power key: PL061, gpio-keys, acpid and the
# initramfs's handler): vmm ctl succeeded, the guest's handler ran and
# powered off, vmm exited 0 within CAD_EXIT_LIMIT seconds, and the file
# written just before is in the image.
check_cad() {
	local p=$1 img=$WORK/$1-disk-after.img ctl secs status serial stderr content
	ctl=$(sed -n 's/^E2E-HOST-CTL-CAD //p' "$CONSOLE.txt" | head -n1)
	secs=$(sed -n 's/^E2E-HOST-CAD-EXIT-SECONDS //p' "$CONSOLE.txt" | head -n1)
	status=$(sed -n 's/^E2E-CAD-VMM-EXIT-STATUS: //p' "$CONSOLE.txt" | head -n1)
	serial=$(section cad-serial-log 2>/dev/null || true)
	stderr=$(section cad-vmm-stderr 2>/dev/null || true)
	if [[ -z $ctl ]]; then
		fail "$p.ctrl-alt-del: not sent (the guest never got ready); serial log ends: $(tail -n 3 <<<"$serial" | paste -sd '|' -)"
	elif [[ $ctl != status=0 ]]; then
		fail "$p.ctrl-alt-del: vmm ctl ctrl-alt-del failed ($ctl): $(section cad-ctl | paste -sd ' ' -)"
	elif ! grep -q 'init: power key: syncing' <<<"$serial"; then
		fail "$p.ctrl-alt-del: the guest's power-key handler never ran (vmm status ${status:-none}); vmm: $(grep -m1 'power key' <<<"$stderr")"
	elif [[ $status != 0 || -z $secs ]] || ! grep -q 'guest powered off' <<<"$stderr"; then
		fail "$p.ctrl-alt-del: vmm exited with status ${status:-none}, ${secs:-not within $CAD_EXIT_LIMIT} s after the request: $(tail -n 2 <<<"$stderr" | paste -sd '|' -)"
	else
		pass "$p.ctrl-alt-del (KEY_POWER on the PL061, acpid ran the initramfs's handler; guest powered off, vmm exited 0 ${secs} s after the request)"
	fi
	# the image as check_disk unpacked it
	content=$(debugfs -R "cat /$CAD_FILE" "$img" 2>/dev/null || true)
	if [[ $content == "written by the aarch64 guest before Ctrl-Alt-Del: "* ]]; then
		pass "$p.ctrl-alt-del-disk (/$CAD_FILE: $content)"
	else
		fail "$p.ctrl-alt-del-disk: /$CAD_FILE not in the image afterwards (debugfs: '${content:0:80}')"
	fi
}

# The snapshot run: the shell answered, the three vmm ctl commands said
# ok, and the restored guest's shell answers, reads its disk and pings
# the host; the restore's timeline for the figures.
check_snap() {
	local p=$1 ctl out line status
	ctl=$(section snap-ctl 2>/dev/null || true)
	out=$(section restore-stdout 2>/dev/null || true)
	if ! grep -q 'SNAP-BEFORE-42' <<<"$(section snap-stdout 2>/dev/null || true)"; then
		fail "$p.snap-create: the shell on hvc0 did not answer before the snapshot; vmm: $(section snap-stderr 2>/dev/null | tail -n 2 | paste -sd '|' -)"
	elif [[ $(grep -c ': ok$' <<<"$ctl") != 3 ]]; then
		fail "$p.snap-create: $(paste -sd ';' - <<<"$ctl")"
	else
		pass "$p.snap-create (paused, snapshotted, stopped: $(section snap-files | awk '{print $1 "K " $NF}' | paste -sd ' ' -))"
	fi
	line=$(section restore-stderr 2>/dev/null | grep 'boot timeline' || true)
	if grep -q 'SNAP-AFTER-42' <<<"$out"; then
		SNAP_LINE[$p]=${line#*: }
		pass "$p.snap-restore-shell (the restored guest's shell answers on hvc0; ${line#*: })"
	else
		fail "$p.snap-restore-shell: no SNAP-AFTER-42 on the restored vmm's stdout; vmm: $(section restore-stderr 2>/dev/null | tail -n 3 | paste -sd '|' -)"
	fi
	if grep -q 'SNAP-AFTER-42 DISK-4096' <<<"$out"; then
		pass "$p.snap-restore-disk (4096 bytes read from /dev/vda after the restore)"
	else
		fail "$p.snap-restore-disk: $(grep -a 'SNAP-AFTER' <<<"$out" | tail -1)"
	fi
	if grep -q 'SNAP-AFTER-42 DISK-[0-9]* NET-2' <<<"$out"; then
		pass "$p.snap-restore-net (2 pings through the TAP answered after the restore)"
	else
		fail "$p.snap-restore-net: $(grep -a 'SNAP-AFTER-42' <<<"$out" | tail -1)"
	fi
	status=$(sed -n 's/^E2E-SNAP-VMM-EXIT-STATUS: //p' "$CONSOLE.txt" | head -n1)
	[[ $status == 0 ]] && pass "$p.snap-vmm-exit-status (0 after vmm ctl stop)" ||
		fail "$p.snap-vmm-exit-status: ${status:-none}"
}

# virtio-net: the MAC vmm was given, and pings to the host's end of the TAP.
check_net() {
	local p=$1 serial=$2 mac ping
	mac=$(sed -n 's/^VMM-GUEST-NET-MAC //p' <<<"$serial" | head -n1)
	ping=$(sed -n 's/^VMM-GUEST-NET-PING //p' <<<"$serial" | head -n1)
	if [[ $mac == "$GUEST_MAC" && $ping == *"3 packets received"* ]]; then
		pass "$p.net (eth0 $mac: $ping)"
	else
		fail "$p.net: eth0 MAC '${mac:-?}', ping '${ping:-no result}'"
	fi
}

# The device tree vmm gave the guest (--dump-dtb): dtc reads it, and it
# has both CPUs, the GIC the host could emulate, the disk, NIC and console.
check_dtb() {
	local p=$1 want_gic=$2 dtb=$WORK/$1-guest.dtb dts=$WORK/$1-guest.dts compat
	if ! has_section dtb || ! section dtb | base64 -d >"$dtb" 2>/dev/null ||
	   ! dtc -q -I dtb -O dts -o "$dts" "$dtb" 2>/dev/null; then
		fail "$p.dtb: no device tree dump that dtc can read"
		return
	fi
	[[ $want_gic == v3 ]] && compat=arm,gic-v3 || compat=arm,cortex-a15-gic
	if grep -q "cpu@0 {" "$dts" && grep -q "cpu@1 {" "$dts" &&
	   grep -q "compatible = \"$compat\"" "$dts" &&
	   [[ $(grep -c 'compatible = "virtio,mmio"' "$dts") == 3 ]]; then
		pass "$p.dtb (2 cpus, $compat, 3 virtio-mmio devices)"
	else
		fail "$p.dtb: unexpected device tree (see $dts with --keep)"
	fi
}

run_profile() {
	local p=$1 cpu gic kernel page want_gic guest_kernel=$GUEST_IMAGE
	local init=$WORK/host-init adds=()
	host_profile "$p"
	cpu=$HOST_CPU gic=$HOST_GIC kernel=$HOST_KERNEL page=$HOST_PAGE_KIB
	[[ $gic == 3 ]] && want_gic=v3 || want_gic=v2
	# the 16K profile boots the compressed kernel (vmm inflates it)
	[[ $p != pi5 ]] || guest_kernel=$GUEST_IMAGE.gz
	[[ $p != gdb ]] || init=$WORK/host-init-gdb
	if [[ -z $kernel ]]; then
		echo "SKIP: e2e-arm64.$p: cannot fetch the host kernel for this profile"
		return
	fi
	if [[ $p == gdb ]]; then
		if [[ -z $GDB_VMLINUX ]]; then
			echo "SKIP: e2e-arm64.gdb: no vmlinux next to the guest Image"
			return
		fi
		local m ko
		for m in $GDB_HOST_MODULES; do
			ko=$(dirname "$kernel")/modules/$m.ko
			[[ ! -f $ko ]] || adds+=(--add "$ko=/lib/modules/$m.ko")
		done
	fi
	make_disk "$WORK/$p-disk.img"
	local initrd=$WORK/$p-host-initramfs.gz
	"$REPO/scripts/build-initramfs" --arch aarch64 --init "$init" \
		--add "$VMM=/vmm" "${adds[@]}" \
		--add "$guest_kernel=/guest/kernel" \
		--add "$GUEST_INITRD=/guest/initrd.gz" \
		--add "$WORK/$p-disk.img=/guest/disk.img" \
		--add "$(dirname "$kernel")/tun.ko=/lib/modules/tun.ko" \
		"$initrd" >/dev/null 2>"$WORK/initramfs.err" ||
		{ cat "$WORK/initramfs.err"; setup_fail "scripts/build-initramfs --arch aarch64 (host) failed"; }
	CONSOLE=$WORK/$p-console.log
	run_host "$cpu" "$gic" "$kernel" "$initrd" "$([[ $p == gdb ]] && echo gdb)"
	HOST_SECS[$p]=$HOST_SECONDS
	check_results "$p" "$page" "$want_gic"
	[[ $p != gdb ]] || check_gdb
}

main() {
	parse_args "$@"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/vmm-e2e-aarch64.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	declare -gA BOOT_MS=() BOOT_RUN_MS=() HOST_SECS=() SNAP_LINE=()

	ensure_packages qemu-system-arm busybox-static cpio e2fsprogs device-tree-compiler
	if [[ " $PROFILES " == *" gdb "* ]]; then
		ensure_packages gdb-multiarch python3
		GDB_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	fi
	command -v qemu-system-aarch64 >/dev/null || skip "qemu-system-aarch64 not found"
	ensure_arm64_arch
	((BUILD_VMM == 0)) || build_vmm
	check_vmm
	ensure_host_kernels
	build_images

	local p
	for p in $PROFILES; do
		run_profile "$p"
	done
	((RAN)) || skip "no profile could run (host kernels or /dev/kvm unavailable)"

	for p in $PROFILES; do
		[[ -n ${HOST_SECS[$p]:-} ]] || continue
		echo "TIME: $p: boot timer ${BOOT_MS[$p]:-?} ms since vmm start, ${BOOT_RUN_MS[$p]:-?} ms since first KVM_RUN; emulated host run ${HOST_SECS[$p]} s"
		[[ -z ${SNAP_LINE[$p]:-} ]] || echo "TIME: $p: restored Linux guest: ${SNAP_LINE[$p]}"
	done
	echo "TIME: guest kernel build/cache: $KERNEL_SECONDS s; total: $((SECONDS - T0)) s"
	return "$FAILED"
}

main "$@"
