#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End-to-end test: vmm boots a real Linux guest to /init on x86-64.
#
# The development machines' /dev/kvm cannot boot Linux in useful time (see
# /work/shared/ENVIRONMENT.md), so the test builds an emulated host with real
# hardware virtualization: QEMU TCG with an AMD EPYC CPU with SVM, running
# Debian's cloud kernel with kvm-amd. The static vmm binary, the guest
# kernel and the guest initramfs ride in that host's initramfs; its /init
# runs vmm once and prints what happened between delimiters on the console,
# which this script captures and checks.
#
# Exit status: 0 all checks passed, 1 a check failed, 2 usage error,
# 77 the environment cannot run the test (printed as "SKIP: <reason>").
set -euo pipefail

readonly PROG=tests/e2e/x86_64.sh
readonly EXIT_SKIP=77

# The guest run inside the emulated host.
GUEST_CMDLINE="console=ttyS0 reboot=k panic=-1 quiet"
readonly GUEST_MEM=256M
readonly GUEST_CPUS=2
readonly VMM_TIMEOUT=120 # seconds, vmm inside the emulated host
# The emulated host (ENVIRONMENT.md: EPYC,+svm is the reliable CPU model).
readonly HOST_CMDLINE="console=ttyS0 panic=-1 quiet"
readonly HOST_TIMEOUT=300   # seconds, whole QEMU run
readonly SILENCE_LIMIT=60   # seconds without console output: host is stuck
readonly HOST_KERNEL_META=linux-image-cloud-amd64

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${VMM_CACHE:-$HOME/.cache/vmm}
VMM=
KEEP=0
WORK=
QEMU_PID=
T0=$SECONDS

usage() {
	cat <<EOF
Usage: $PROG --vmm PATH [--keep] [--guest-cmdline STRING]

Boots a Linux guest with the static vmm binary PATH inside an emulated
x86-64 host (QEMU TCG, -cpu EPYC,+svm, Debian cloud kernel with kvm-amd)
and checks that the guest reached /init, fired the boot timer, saw
$GUEST_CPUS CPUs, and that vmm exited with status 0.

Builds (or reuses from \${VMM_CACHE:-\$HOME/.cache/vmm}) the guest kernel and
initramfs with scripts/build-guest-kernel and scripts/build-initramfs;
installs missing packages with apt-get.

  --vmm PATH  statically linked vmm binary to test (e.g. build/vmm-static)
  --keep      keep the work directory (console log, initramfs) and say where
  --guest-cmdline STRING
              guest kernel command line instead of
              "$GUEST_CMDLINE"
              (e.g. without "quiet" to see the guest's boot log)
  --help      this text

Prints one "PASS: <check>" or "FAIL: <check>: <why>" line per check; exits
0 only if all pass, $EXIT_SKIP with "SKIP: <reason>" if this machine cannot
run the test.
EOF
}

log() { echo "e2e: $*"; }
skip() {
	echo "SKIP: $*"
	exit "$EXIT_SKIP"
}
# A failure before any check could run (our scripts, not the environment).
setup_fail() {
	echo "FAIL: setup: $*"
	exit 1
}

parse_args() {
	while (($#)); do
		case $1 in
		--help | -h) usage; exit 0 ;;
		--vmm) (($# >= 2)) || { usage >&2; exit 2; }; VMM=$2; shift ;;
		--keep) KEEP=1 ;;
		--guest-cmdline) (($# >= 2)) || { usage >&2; exit 2; }; GUEST_CMDLINE=$2; shift ;;
		*) echo "$PROG: unknown argument: $1" >&2; usage >&2; exit 2 ;;
		esac
		shift
	done
	# The command line is pasted into the host's /init inside double quotes.
	[[ $GUEST_CMDLINE != *[\"\$\`\\]* ]] ||
		{ echo "$PROG: --guest-cmdline must not contain \" \$ \` or \\" >&2; exit 2; }
	[[ -n $VMM ]] || { echo "$PROG: --vmm PATH is required" >&2; usage >&2; exit 2; }
	[[ -f $VMM && -x $VMM ]] || { echo "$PROG: not an executable file: $VMM" >&2; exit 2; }
	VMM=$(realpath "$VMM")
}

cleanup() {
	if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
		kill "$QEMU_PID" 2>/dev/null || true
	fi
	if [[ -n $WORK && -d $WORK ]]; then
		if ((KEEP)); then
			log "work directory kept: $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
}

is_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# Missing tools are an environment problem: skip rather than fail.
ensure_packages() {
	local missing=() p
	for p in "$@"; do is_installed "$p" || missing+=("$p"); done
	((${#missing[@]})) || return 0
	log "installing ${missing[*]}"
	((EUID == 0)) || skip "need root to install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
		install -y -q "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
		skip "apt-get install ${missing[*]} failed (see $WORK/apt.log with --keep)"
}

# The vmm runs in a busybox-only initramfs: a dynamic binary would fail
# there with a confusing "not found", so refuse it here.
check_vmm_static() {
	command -v readelf >/dev/null || ensure_packages binutils
	if readelf -l "$VMM" 2>/dev/null | grep -q 'Requesting program interpreter'; then
		echo "$PROG: $VMM is dynamically linked; the test needs a static build" >&2
		exit 2
	fi
}

# Stale or missing package lists make apt-cache/apt-get download fail;
# refresh them once when we can (root) and carry on either way.
refresh_package_lists() {
	if ((EUID == 0)); then
		apt-get update -q >>"$WORK/apt.log" 2>&1 || true
	fi
}

# Fetch the cloud kernel that Debian's meta package currently points at
# and keep only what the emulated host needs: vmlinuz and the three KVM
# modules, uncompressed (busybox insmod cannot read .ko.xz/.ko.zst).
# Sets HOST_KERNEL_DIR.
ensure_host_kernel() {
	local pkg version dir
	pkg=$(apt-cache depends "$HOST_KERNEL_META" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
	if [[ -z $pkg ]]; then
		refresh_package_lists
		pkg=$(apt-cache depends "$HOST_KERNEL_META" 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
	fi
	[[ -n $pkg ]] || skip "apt-cache knows no $HOST_KERNEL_META"
	version=$(apt-cache show --no-all-versions "$pkg" | awk '/^Version:/ { print $2; exit }')
	dir=$CACHE/host-kernel-$pkg-$version
	HOST_KERNEL_DIR=$dir
	[[ -f $dir/.complete ]] && return 0

	log "fetching host kernel $pkg $version"
	local tmp=$WORK/host-kernel
	mkdir -p "$tmp"
	if ! (cd "$tmp" && apt-get download -q "$pkg=$version") >"$WORK/apt.log" 2>&1; then
		refresh_package_lists
		(cd "$tmp" && apt-get download -q "$pkg=$version") >>"$WORK/apt.log" 2>&1 ||
			skip "cannot download $pkg $version"
	fi
	dpkg -x "$tmp"/"$pkg"_*.deb "$tmp/root" || setup_fail "dpkg -x of $pkg failed"

	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$tmp"/root/boot/vmlinuz-* "$dir/vmlinuz" || setup_fail "no vmlinuz in $pkg"
	local m file
	for m in irqbypass kvm kvm-amd; do
		file=$(find "$tmp/root/lib/modules" -name "$m.ko*" | head -n1)
		[[ -n $file ]] || setup_fail "$m.ko not found in $pkg"
		case $file in
		*.ko) cp "$file" "$dir/$m.ko" ;;
		*.ko.xz) xz -dc "$file" >"$dir/$m.ko" ;;
		*.ko.zst) zstd -qdc "$file" >"$dir/$m.ko" ;;
		*.ko.gz) gzip -dc "$file" >"$dir/$m.ko" ;;
		*) setup_fail "unknown module format: $file" ;;
		esac
	done
	touch "$dir/.complete"
	rm -rf "$tmp"
}

# The emulated host's /init. Everything it reports goes to the console
# between "===== E2E <name> begin/end =====" lines, which check_results()
# picks apart. It prints a heartbeat while vmm runs so that the silence
# watchdog only fires when the emulated host itself is stuck.
write_host_init() {
	cat >"$1" <<EOF
#!/bin/sh
# /init of the emulated host, generated by $PROG.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "E2E-HOST: \$*"; }
# awk, not cat: also ends a last line that has no newline.
section() {
	echo "===== E2E \$1 begin ====="
	[ -f "\$2" ] && awk '{ print }' "\$2"
	echo "===== E2E \$1 end ====="
}

kvm=ok
for m in irqbypass kvm kvm-amd; do
	insmod /lib/modules/\$m.ko || { say "insmod \$m.ko failed"; kvm=unavailable; }
done
[ -c /dev/kvm ] || mknod /dev/kvm c 10 232
# Opening fails (ENXIO/ENODEV) unless kvm-amd registered the device.
( : </dev/kvm ) 2>/dev/null || kvm=unavailable
echo "E2E-HOST-KVM: \$kvm"
[ \$kvm = ok ] || poweroff -f

say "starting vmm"
rm -f /tmp/vmm.status
(
	timeout $VMM_TIMEOUT /vmm run --kernel /guest/bzImage --initrd /guest/initrd.gz \\
		--cmdline "$GUEST_CMDLINE" --mem $GUEST_MEM --cpus $GUEST_CPUS \\
		--console none --serial-log /tmp/serial.log >/tmp/vmm.out 2>/tmp/vmm.err
	# Written whole, then renamed: the loop below never sees half a file.
	echo \$? >/tmp/vmm.status.new && mv /tmp/vmm.status.new /tmp/vmm.status
) &
n=0
while [ ! -f /tmp/vmm.status ]; do
	sleep 1
	n=\$((n + 1))
	[ \$((n % 15)) -ne 0 ] || say "vmm still running after \$n s"
done
status=\$(cat /tmp/vmm.status)
say "vmm exited with status \$status after about \$n s"

section vmm-stdout /tmp/vmm.out
section vmm-stderr /tmp/vmm.err
section serial-log /tmp/serial.log
echo "E2E-VMM-EXIT-STATUS: \$status"
poweroff -f
EOF
}

build_images() {
	local t=$SECONDS
	log "guest kernel: scripts/build-guest-kernel (built once, then cached)"
	GUEST_KERNEL=$("$REPO/scripts/build-guest-kernel" 2>"$WORK/kernel-build.err" | tail -n1) ||
		{ cat "$WORK/kernel-build.err"; setup_fail "scripts/build-guest-kernel failed"; }
	[[ -f $GUEST_KERNEL ]] || { cat "$WORK/kernel-build.err"; setup_fail "no bzImage at '$GUEST_KERNEL'"; }
	log "guest kernel: $GUEST_KERNEL"
	KERNEL_SECONDS=$((SECONDS - t))

	local guest_initrd=$WORK/guest-initrd.gz
	"$REPO/scripts/build-initramfs" "$guest_initrd" >/dev/null 2>"$WORK/initramfs.err" ||
		{ cat "$WORK/initramfs.err"; setup_fail "scripts/build-initramfs (guest) failed"; }

	write_host_init "$WORK/host-init"
	HOST_INITRD=$WORK/host-initramfs.gz
	"$REPO/scripts/build-initramfs" --init "$WORK/host-init" \
		--add "$VMM=/vmm" \
		--add "$GUEST_KERNEL=/guest/bzImage" \
		--add "$guest_initrd=/guest/initrd.gz" \
		--add "$HOST_KERNEL_DIR/irqbypass.ko=/lib/modules/irqbypass.ko" \
		--add "$HOST_KERNEL_DIR/kvm.ko=/lib/modules/kvm.ko" \
		--add "$HOST_KERNEL_DIR/kvm-amd.ko=/lib/modules/kvm-amd.ko" \
		"$HOST_INITRD" >/dev/null 2>"$WORK/initramfs.err" ||
		{ cat "$WORK/initramfs.err"; setup_fail "scripts/build-initramfs (host) failed"; }
}

# Run the emulated host with its console in $CONSOLE. Besides the overall
# timeout, a watchdog kills QEMU when the console has been silent for
# SILENCE_LIMIT seconds (ENVIRONMENT.md: the emulated host can freeze).
# Sets HOST_STATUS, HOST_SECONDS and HOST_NOTE.
run_host() {
	CONSOLE=$WORK/console.log
	HOST_NOTE=
	local t=$SECONDS
	log "booting the emulated host (QEMU TCG, EPYC+SVM); console: $CONSOLE"
	timeout --kill-after=10 "$HOST_TIMEOUT" qemu-system-x86_64 \
		-accel tcg -M q35 -cpu EPYC,+svm -m 1024 -smp 1 \
		-nographic -no-reboot \
		-kernel "$HOST_KERNEL_DIR/vmlinuz" -initrd "$HOST_INITRD" \
		-append "$HOST_CMDLINE" </dev/null >"$CONSOLE" 2>"$WORK/qemu.err" &
	QEMU_PID=$!

	local size last=-1 quiet_since=$SECONDS
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		sleep 1
		size=$(stat -c %s "$CONSOLE")
		if ((size != last)); then
			last=$size quiet_since=$SECONDS
		elif ((SECONDS - quiet_since >= SILENCE_LIMIT)); then
			HOST_NOTE="emulated host console silent for $SILENCE_LIMIT s; killed QEMU"
			kill "$QEMU_PID" 2>/dev/null || true
			break
		fi
	done
	HOST_STATUS=0
	wait "$QEMU_PID" || HOST_STATUS=$?
	QEMU_PID=
	HOST_SECONDS=$((SECONDS - t))
	if [[ -z $HOST_NOTE ]] && ((HOST_STATUS == 124)); then
		HOST_NOTE="emulated host still running after $HOST_TIMEOUT s; killed QEMU"
	elif [[ -z $HOST_NOTE ]] && ((HOST_STATUS != 0)); then
		HOST_NOTE="QEMU exited with status $HOST_STATUS"
	fi
	# QEMU's stderr is mostly "TCG doesn't support requested feature"
	# noise; show it only when QEMU itself failed.
	if ((HOST_STATUS != 0)); then
		grep -v "TCG doesn't support requested feature" "$WORK/qemu.err" >&2 || true
	fi
}

# Lines of one "===== E2E <name> begin/end =====" section of the console.
section() {
	awk -v name="$1" '
		$0 == "===== E2E " name " end =====" { on = 0 }
		on { print }
		$0 == "===== E2E " name " begin =====" { on = 1 }
	' "$CONSOLE.txt"
}

has_section() {
	grep -qx "===== E2E $1 begin =====" "$CONSOLE.txt"
}

FAILED=0
pass() { echo "PASS: $*"; }
fail() {
	echo "FAIL: $*"
	FAILED=1
}

check_results() {
	# QEMU's -nographic console ends lines with CR LF, and the firmware
	# clears the screen with escape sequences; drop both.
	tr -d '\r' <"$CONSOLE" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' >"$CONSOLE.txt"

	echo "----- emulated host console ($CONSOLE) -----"
	cat "$CONSOLE.txt"
	echo "----- end of emulated host console -----"
	[[ -z $HOST_NOTE ]] || log "$HOST_NOTE"

	if grep -qx 'E2E-HOST-KVM: unavailable' "$CONSOLE.txt"; then
		skip "/dev/kvm does not work in the emulated host (kvm-amd did not load)"
	fi

	# Why every check failed when vmm never ran or its report is missing.
	local why="no vmm report on the emulated host console${HOST_NOTE:+ ($HOST_NOTE)}"
	local serial stderr marker cpus timer status
	if has_section serial-log; then
		serial=$(section serial-log)
		stderr=$(section vmm-stderr)
	else
		serial='' stderr=''
	fi

	marker=$(grep -o 'VMM-GUEST-INIT-OK cpus=[0-9]*' <<<"$serial" | head -n1 || true)
	if [[ -n $marker ]]; then
		pass "guest reached init ($marker)"
	elif has_section serial-log; then
		fail "guest reached init: no VMM-GUEST-INIT-OK line in the serial log"
	else
		fail "guest reached init: $why"
	fi

	timer=$(grep -o 'vmm: boot-timer: .*' <<<"$stderr" | head -n1 || true)
	if [[ $timer =~ boot-timer:\ ([0-9.]+)\ ms\ since\ vmm\ start,\ ([0-9.]+)\ ms\ since\ first\ KVM_RUN ]]; then
		BOOT_MS=${BASH_REMATCH[1]} BOOT_RUN_MS=${BASH_REMATCH[2]}
		pass "boot timer fired: $BOOT_MS ms since vmm start, $BOOT_RUN_MS ms since first KVM_RUN"
	elif [[ -n $timer ]]; then
		fail "boot timer fired: cannot parse '$timer'"
	elif has_section serial-log; then
		fail "boot timer fired: no 'vmm: boot-timer:' line on vmm's stderr"
	else
		fail "boot timer fired: $why"
	fi

	cpus=${marker#*cpus=}
	if [[ -n $marker && $cpus == "$GUEST_CPUS" ]]; then
		pass "guest saw $GUEST_CPUS CPUs (cpus=$cpus)"
	elif [[ -n $marker ]]; then
		fail "guest saw $GUEST_CPUS CPUs: marker says cpus=$cpus"
	else
		fail "guest saw $GUEST_CPUS CPUs: no marker line"
	fi

	status=$(sed -n 's/^E2E-VMM-EXIT-STATUS: //p' "$CONSOLE.txt" | head -n1)
	if [[ $status == 0 ]]; then
		pass "vmm exit status 0"
	elif [[ -n $status ]]; then
		local note=
		# busybox timeout kills vmm with SIGTERM (143), coreutils' exits 124.
		[[ $status == 124 || $status == 143 ]] &&
			note=" (killed by the $VMM_TIMEOUT s timeout?)"
		fail "vmm exit status 0: got $status$note"
	else
		fail "vmm exit status 0: $why"
	fi
}

main() {
	parse_args "$@"
	[[ $(uname -m) == x86_64 ]] || skip "needs an x86-64 machine (this is $(uname -m))"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/vmm-e2e-x86_64.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	check_vmm_static
	ensure_packages qemu-system-x86 busybox-static cpio
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found"
	ensure_host_kernel
	build_images
	run_host
	check_results

	echo "TIME: boot timer: ${BOOT_MS:-?} ms since vmm start, ${BOOT_RUN_MS:-?} ms since first KVM_RUN"
	echo "TIME: emulated host run: $HOST_SECONDS s; guest kernel build/cache: $KERNEL_SECONDS s"
	echo "TIME: total: $((SECONDS - T0)) s"
	return "$FAILED"
}

main "$@"
