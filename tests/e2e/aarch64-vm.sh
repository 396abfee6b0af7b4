#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The VM test layer (tests/vm/run.sh, net.sh, api.sh, snapshot.sh with the aarch64 test
# guest) and the README's first command, on arm64: inside the emulated
# Raspberry Pi-like hosts of tests/e2e/aarch64.sh (QEMU TCG with EL2, so
# the host's /dev/kvm is real KVM and the freestanding guest runs at speed).
#
# The tests/vm scripts need bash, python3, util-linux, iproute2 and
# coreutils, so the emulated host runs Debian: a minbase root file system
# made once with debootstrap (on x86-64: --foreign, then the second stage
# under qemu-user-static) and cached as an ext4 image, given to QEMU
# read-only as a virtio disk. A busybox initramfs loads the disk's modules,
# mounts it, puts this run's files (the cross-built vmm-san and vmm, the
# guest, tests/vm) on a tmpfs at /vmtest and switches to it; its /init
# runs the layer and prints every line on the console, where this script
# picks up the PASS/FAIL/SKIP lines, renamed e2e-arm64.PROFILE.vm.*.
#
# Exit status: 0 all checks passed, 1 a check failed, 2 usage error,
# 77 the environment cannot run the test (printed as "SKIP: <reason>").
set -euo pipefail

readonly PROG=tests/e2e/aarch64-vm.sh
readonly EXIT_SKIP=77
readonly ALL_PROFILES="pi4 pi5 gicv3"
# The memory-above-4g check gives the guest 3200 MiB.
readonly HOST_MEM=4096
readonly HOST_CPUS=2
readonly HOST_CMDLINE="console=ttyAMA0 panic=-1 quiet"
readonly HOST_TIMEOUT=1200   # seconds, one whole QEMU run
readonly SILENCE_LIMIT=150   # seconds without console output: host is stuck
# What the root file system holds besides Debian's minbase (the sanitizer
# runtimes are added from what vmm-san needs).
readonly ROOT_PACKAGES=(python3 iproute2 util-linux)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$REPO/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/arm64.sh
. "$REPO/tests/e2e/arm64.sh"
E2E_APT_OPTS=(--no-install-recommends)
CACHE=${VMM_CACHE:-$HOME/.cache/vmm}
# the arm64 build, relative to the top of the tree as make prints it
ARM_BUILD=${BUILD:-build}/aarch64
BUILD_ARM=0
KEEP=0
PROFILES=
WORK=
QEMU_PID=
FAILED=0
RAN=0
T0=$SECONDS

usage() {
	cat <<EOF
Usage: $PROG [--build] [--profile NAME]... [--keep]

Runs tests/vm/run.sh, net.sh, api.sh and snapshot.sh with the aarch64 vmm (its
ASan/UBSan build) and test guest inside emulated arm64 hosts (QEMU TCG
with EL2), and the command 'make run' runs on an arm64 machine, and
reports each check as e2e-arm64.<profile>.vm.<name>.

Profiles (default: all): pi4 (Cortex-A72, GICv2, 4K-page host kernel),
pi5 (Cortex-A76, GICv2, 16K-page host kernel), gicv3 (GICv3 host).

Uses $ARM_BUILD/{vmm,vmm-san,guest/testguest-aarch64} (\$BUILD/aarch64,
BUILD defaults to build). The Debian root file system and the host
kernels are made or downloaded once and cached in
\${VMM_CACHE:-\$HOME/.cache/vmm}; missing packages are installed with
apt-get.

  --build           first build them: make ARCH=aarch64 (cross-compiled on
                    x86-64 with gcc-aarch64-linux-gnu)
  --profile NAME    run only this profile (repeatable)
  --keep            keep the work directory (consoles, images) and say where
  --help            this text

Prints one "PASS: e2e-arm64.<profile>.<check>" / "FAIL: ...: <why>" /
"SKIP: ...: <why>" line per check; exits 0 only if none failed,
$EXIT_SKIP with "SKIP: <reason>" if this machine cannot run the test.
EOF
}

log() { echo "e2e-arm64-vm: $*"; }
skip() {
	echo "SKIP: $*"
	exit "$EXIT_SKIP"
}
setup_fail() {
	echo "FAIL: e2e-arm64.vm-setup: $*"
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
		--build) BUILD_ARM=1 ;;
		--profile)
			(($# >= 2)) || { usage >&2; exit 2; }
			[[ " $ALL_PROFILES " == *" $2 "* ]] ||
				{ echo "$PROG: unknown profile $2 ($ALL_PROFILES)" >&2; exit 2; }
			PROFILES+=" $2"; shift ;;
		--keep) KEEP=1 ;;
		*) echo "$PROG: unknown argument: $1" >&2; usage >&2; exit 2 ;;
		esac
		shift
	done
	[[ -n $PROFILES ]] || PROFILES=$ALL_PROFILES
}

# ---- the binaries ----

readonly BINS=(vmm vmm-san guest/testguest-aarch64)

build_or_check() {
	local b
	if ((BUILD_ARM)); then
		arm64_make "$ARM_BUILD" "${BINS[@]/#/$ARM_BUILD/}"
	fi
	for b in "${BINS[@]}"; do
		[[ -f $REPO/$ARM_BUILD/$b ]] ||
			{ echo "$PROG: no $ARM_BUILD/$b (add --build to build it)" >&2; exit 2; }
	done
	# The README's first command as make runs it on an arm64 machine
	# (there BUILD is build; here the arm64 build has its own directory).
	MAKE_RUN=$(make -s -n -C "$REPO" ARCH=aarch64 BUILD="$ARM_BUILD" run \
		2>/dev/null | grep -F "$ARM_BUILD/vmm run " | tail -n1 || true)
	[[ -n $MAKE_RUN ]] || setup_fail "make -n ARCH=aarch64 run prints no '$ARM_BUILD/vmm run' command"
}

# Debian packages of the sanitizer runtimes vmm-san was linked against
# (libasan.so.8 -> libasan8).
sanitizer_packages() {
	readelf -d "$REPO/$ARM_BUILD/vmm-san" 2>/dev/null |
		sed -n 's/.*Shared library: \[\(lib[a-z]*san\)\.so\.\([0-9]*\)\].*/\1\2/p' | sort -u | tr '\n' ' '
}

# ---- the Debian root file system ----

# The mirror and suite this machine's apt uses (deb822 or one-line format).
debian_mirror() {
	local uri
	uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	[[ -n $uri ]] || uri=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
	echo "${uri:-http://deb.debian.org/debian}"
}

debian_suite() {
	. /etc/os-release
	echo "${VERSION_CODENAME:-bookworm}"
}

# Run "$@" with arm64 ELF binaries handed to qemu-aarch64-static: register
# it with binfmt_misc for the duration (flag F: the interpreter is opened
# now, so it works inside a chroot) unless a registration exists.
with_qemu_binfmt() {
	local mnt=/proc/sys/fs/binfmt_misc mounted=0 registered=0 rc=0 conf rule
	if [[ ! -e $mnt/register ]]; then
		mount -t binfmt_misc binfmt_misc "$mnt" || return 1
		mounted=1
	fi
	if [[ ! -e $mnt/qemu-aarch64 ]]; then
		conf=/usr/lib/binfmt.d/qemu-aarch64.conf
		[[ -f $conf ]] || return 1
		# :name:type:offset:magic:mask:interpreter:flags
		rule=$(awk -F: '{ OFS = ":"; $7 = "/usr/bin/qemu-aarch64-static"; $8 = "F"; print; exit }' "$conf")
		echo "$rule" >"$mnt/register" || return 1
		registered=1
	elif ! grep -q '^flags:.*F' "$mnt/qemu-aarch64"; then
		log "binfmt_misc's qemu-aarch64 has no F flag: the chroot may not run"
	fi
	"$@" || rc=$?
	((registered == 0)) || echo -1 >"$mnt/qemu-aarch64"
	((mounted == 0)) || umount "$mnt"
	return "$rc"
}

# The root file system image, cached by suite and package list; sets ROOT_IMG.
ensure_rootfs() {
	local suite mirror pkgs key tree t=$SECONDS san=()
	suite=$(debian_suite)
	mirror=$(debian_mirror)
	read -ra san <<<"$(sanitizer_packages)"
	pkgs="${ROOT_PACKAGES[*]} ${san[*]}"
	key=$(echo "$suite $pkgs v1" | sha256sum | cut -c1-12)
	ROOT_IMG=$CACHE/rootfs-arm64-$suite-$key.img
	[[ -f $ROOT_IMG.complete ]] && return 0
	ensure_packages debootstrap e2fsprogs
	[[ $(uname -m) == aarch64 ]] || ensure_packages qemu-user-static
	((EUID == 0)) || skip "need root to run debootstrap"
	tree=$CACHE/rootfs-arm64-$suite-$key.tree
	rm -rf "$tree" "$ROOT_IMG" "$ROOT_IMG.complete"
	mkdir -p "$CACHE"
	log "debootstrap: Debian $suite arm64 minbase + ${pkgs// /, } from $mirror (once; cached)"
	debootstrap --arch=arm64 --foreign --variant=minbase --include="${pkgs// /,}" \
		"$suite" "$tree" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$WORK/debootstrap.log"; skip "debootstrap (first stage) failed"; }
	if [[ $(uname -m) == aarch64 ]]; then
		chroot "$tree" /debootstrap/debootstrap --second-stage >>"$WORK/debootstrap.log" 2>&1
	else
		with_qemu_binfmt chroot "$tree" /debootstrap/debootstrap --second-stage \
			>>"$WORK/debootstrap.log" 2>&1
	fi || { tail -n 20 "$WORK/debootstrap.log"; rm -rf "$tree"; skip "debootstrap (second stage) failed"; }
	# what nothing reads; the mount point for this run's files
	rm -rf "$tree"/usr/share/{doc,man,info,locale} "$tree"/var/cache/apt/archives/*.deb \
		"$tree"/var/lib/apt/lists/*
	mkdir -p "$tree/vmtest"
	local mb
	mb=$(($(du -sm "$tree" | cut -f1) * 5 / 4 + 64))
	mkfs.ext4 -q -F -L vmm-vm-root -d "$tree" "$ROOT_IMG" "${mb}M" >>"$WORK/mkfs.log" 2>&1 ||
		{ rm -rf "$tree"; setup_fail "mkfs.ext4 of the root file system failed"; }
	rm -rf "$tree"
	touch "$ROOT_IMG.complete"
	log "root file system: $ROOT_IMG (${mb} MiB, made in $((SECONDS - t)) s)"
}

# ---- what the emulated host runs ----

# Stage 1, the initramfs's /init (busybox): modules, the root disk, this
# run's files on a tmpfs at /vmtest, then stage 2.
write_stage1() {
	cat >"$1" <<'EOF'
#!/bin/sh
# stage 1 of the emulated arm64 host for tests/e2e/aarch64-vm.sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "E2E-STAGE1: $*"; }
while read -r m; do
	insmod "/lib/modules/$m" || say "insmod $m failed"
done </lib/modules/order
n=0
while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
mkdir -p /newroot
if ! mount -t ext4 -o ro /dev/vda /newroot; then
	say "cannot mount the root disk /dev/vda"
	poweroff -f
fi
mount -t tmpfs -o mode=755 vmtest /newroot/vmtest
cp -a /payload/. /newroot/vmtest/
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /vmtest/init
EOF
}

# Stage 2, /vmtest/init on the Debian root: the layer, then power-off.
write_stage2() {
	cat >"$1" <<EOF
#!/bin/bash
# stage 2 of the emulated arm64 host for $PROG
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o mode=620,ptmxmode=666 devpts /dev/pts
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
for d in /tmp /run /dev/shm /root; do mount -t tmpfs tmpfs "\$d"; done
[ -c /dev/kvm ] || mknod /dev/kvm c 10 232
echo "E2E-HOST: \$(uname -r), \$((\$(getconf PAGESIZE) / 1024)) KiB pages, \$(grep -o -m1 'GIC[^ ]*' /proc/interrupts), \$(nproc) CPUs"
if ( : </dev/kvm ) 2>/dev/null; then kvm=ok; else kvm=unavailable; fi
echo "E2E-HOST-KVM: \$kvm"
# keep the silence watchdog quiet during long checks
( while sleep 30; do echo "E2E-HOST: still running (\$(cut -d' ' -f1 /proc/uptime) s)"; done ) &
cd /vmtest/src
export VMM=/vmtest/src/$ARM_BUILD/vmm-san GUEST=/vmtest/src/$ARM_BUILD/guest/testguest-aarch64
# Under TCG the disk benchmark of snapshot.sh (150000 reads, then as many
# writes, split by a snapshot) serves ~3000 requests/s: more than the
# scripts' default 120 s per VM
export TIMEOUT=300
# LeakSanitizer's check at exit takes 15 s per process under TCG (0.3 s
# without): the layer runs without it, one VM below with it.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
if [ \$kvm = ok ]; then
	for s in run net api snapshot; do
		t=\$(cut -d. -f1 /proc/uptime)
		echo "===== E2E vm-\$s begin ====="
		bash tests/vm/\$s.sh </dev/null 2>&1
		echo "E2E-VM-STATUS: \$s \$? \$((\$(cut -d. -f1 /proc/uptime) - t)) s"
		echo "===== E2E vm-\$s end ====="
	done
	echo "===== E2E leaks begin ====="
	head -c 1048576 /dev/zero >/tmp/leaks.img
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 timeout 120 "\$VMM" run -k "\$GUEST" -c 2 \\
		--console virtio --serial-log /tmp/leaks.serial --disk /tmp/leaks.img,ro \\
		-p test=blk-ro </dev/null >/dev/null 2>/tmp/leaks.err
	echo "E2E-LEAKS-STATUS: \$?"
	grep -h TESTGUEST /tmp/leaks.serial
	tail -n 20 /tmp/leaks.err
	echo "===== E2E leaks end ====="
	echo "===== E2E make-run begin ====="
	timeout 60 bash /vmtest/make-run.sh </dev/null 2>&1
	echo "E2E-MAKE-RUN-STATUS: \$?"
	echo "===== E2E make-run end ====="
fi
echo "E2E-HOST: done"
sync
echo o >/proc/sysrq-trigger
sleep 10
EOF
	chmod 755 "$1"
}

# The initramfs of one host kernel: busybox, its modules, this run's files.
make_initramfs() {
	local kernel=$1 out=$2 payload=$WORK/payload b m args=()
	rm -rf "$payload"
	mkdir -p "$payload/src/tests/vm"
	cp "$REPO"/tests/vm/*.sh "$payload/src/tests/vm/"
	for b in "${BINS[@]}"; do
		mkdir -p "$payload/src/$ARM_BUILD/$(dirname "$b")"
		cp "$REPO/$ARM_BUILD/$b" "$payload/src/$ARM_BUILD/$b"
	done
	write_stage2 "$payload/init"
	# make's recipe line exactly as printed (its quoting intact: it holds
	# the "  RUN ..." printf and single quotes), run from a file
	printf 'cd /vmtest/src\n%s\n' "$MAKE_RUN" >"$payload/make-run.sh"
	write_stage1 "$WORK/stage1"
	args=(--arch aarch64 --init "$WORK/stage1")
	while read -r m; do
		args+=(--add "$(dirname "$kernel")/modules/$m=/lib/modules/$m")
	done <"$(dirname "$kernel")/modules/order"
	args+=(--add "$(dirname "$kernel")/modules/order=/lib/modules/order")
	while read -r b; do
		args+=(--add "$b=/payload/${b#"$payload"/}")
	done < <(find "$payload" -type f)
	"$REPO/scripts/build-initramfs" "${args[@]}" "$out" >/dev/null 2>"$WORK/initramfs.err" ||
		{ cat "$WORK/initramfs.err"; setup_fail "scripts/build-initramfs --arch aarch64 failed"; }
}

run_host() {
	local t=$SECONDS initrd=$1
	log "booting the emulated host (QEMU TCG, $HOST_CPU, gic-version=$HOST_GIC, ${HOST_PAGE_KIB}K pages); console: $CONSOLE"
	timeout --kill-after=10 "$HOST_TIMEOUT" qemu-system-aarch64 \
		-M "virt,virtualization=on,gic-version=$HOST_GIC" -cpu "$HOST_CPU" \
		-m "$HOST_MEM" -smp "$HOST_CPUS" -nographic -no-reboot \
		-kernel "$HOST_KERNEL" -initrd "$initrd" -append "$HOST_CMDLINE" \
		-drive "if=none,id=root,file=$ROOT_IMG,format=raw,readonly=on" \
		-device virtio-blk-pci,drive=root \
		</dev/null >"$CONSOLE" 2>"$CONSOLE.qemu-err" &
	QEMU_PID=$!
	wait_for_qemu "$t"
	[[ $HOST_NOTE != "QEMU exited with status"* ]] || cat "$CONSOLE.qemu-err" >&2
}

# ---- results ----

# The checks of one tests/vm script, renamed; a script that stopped
# without a FAIL line for it counts as one failure.
report_script() {
	local p=$1 s=$2 lines status
	if ! has_section "vm-$s"; then
		fail "$p.vm-$s: no output from tests/vm/$s.sh${HOST_NOTE:+ ($HOST_NOTE)}"
		return
	fi
	lines=$(section "vm-$s" | grep -E '^(PASS|FAIL|SKIP): vm[.]' || true)
	# PASS: vm.x -> PASS: e2e-arm64.pi4.vm.x
	[[ -z $lines ]] || sed "s/^\(PASS\|FAIL\|SKIP\): vm/\1: e2e-arm64.$p.vm/" <<<"$lines"
	grep -q '^FAIL: ' <<<"$lines" && FAILED=1
	status=$(section "vm-$s" | sed -n "s/^E2E-VM-STATUS: $s \([0-9]*\) \([0-9]*\) s$/\1 \2/p")
	if [[ -z $status ]]; then
		fail "$p.vm-$s: tests/vm/$s.sh did not finish"
	elif [[ ${status% *} != 0 ]] && ! grep -q '^FAIL: ' <<<"$lines"; then
		fail "$p.vm-$s: tests/vm/$s.sh exited with status ${status% *}"
	fi
	SECS[$p.$s]=${status#* }
}

check_profile() {
	local p=$1 out
	tr -d '\r' <"$CONSOLE" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' >"$CONSOLE.txt"
	[[ -z $HOST_NOTE ]] || log "$p: $HOST_NOTE"
	if grep -qx 'E2E-HOST-KVM: unavailable' "$CONSOLE.txt"; then
		echo "SKIP: e2e-arm64.$p.vm: /dev/kvm does not work in the emulated host"
		return 0
	fi
	if ! grep -q '^E2E-HOST: ' "$CONSOLE.txt"; then
		fail "$p.vm: the emulated host never reached the Debian root${HOST_NOTE:+ ($HOST_NOTE)}; console ends with: $(tail -n 5 "$CONSOLE.txt" | tr '\n' '|')"
		return 0
	fi
	RAN=1
	log "$p: $(grep -m1 '^E2E-HOST: ' "$CONSOLE.txt" | cut -d' ' -f2-)"
	for s in run net api snapshot; do
		report_script "$p" "$s"
	done
	# one VM with LeakSanitizer: SMP, a disk and the virtio console
	out=$(section leaks)
	if grep -qx 'E2E-LEAKS-STATUS: 0' <<<"$out" && grep -q '^TESTGUEST PASS blk-ro' <<<"$out" &&
	   ! grep -q 'Sanitizer\|runtime error' <<<"$out"; then
		pass "$p.vm-leaks (vmm-san -c 2 --disk --console virtio, test=blk-ro: no leaks)"
	else
		fail "$p.vm-leaks: $(grep -v '^E2E' <<<"$out" | head -n 3 | tr '\n' '|') $(grep '^E2E-LEAKS' <<<"$out")"
	fi
	# the README's first command: the hello scenario, the boot timer line
	out=$(section make-run)
	if [[ $out =~ boot\ timer:\ ([0-9.]+)\ ms\ since\ vmm\ start,\ ([0-9.]+)\ ms\ since\ first\ KVM_RUN ]] &&
	   grep -q '^TESTGUEST PASS hello' <<<"$out" &&
	   grep -qx 'E2E-MAKE-RUN-STATUS: 0' <<<"$out"; then
		BOOT[$p]="${BASH_REMATCH[1]} ms since vmm start, ${BASH_REMATCH[2]} ms since first KVM_RUN"
		pass "$p.make-run ($MAKE_RUN: boot timer ${BOOT[$p]})"
	else
		fail "$p.make-run: '$MAKE_RUN' did not pass hello: $(tail -n 4 <<<"$out" | tr '\n' '|')"
	fi
}

run_profile() {
	local p=$1
	host_profile "$p"
	if [[ -z $HOST_KERNEL ]]; then
		echo "SKIP: e2e-arm64.$p.vm: cannot fetch the host kernel for this profile"
		return
	fi
	make_initramfs "$HOST_KERNEL" "$WORK/$p-initramfs.gz"
	CONSOLE=$WORK/$p-console.log
	run_host "$WORK/$p-initramfs.gz"
	HOST_SECS[$p]=$HOST_SECONDS
	check_profile "$p"
}

main() {
	parse_args "$@"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/vmm-e2e-aarch64-vm.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	declare -gA HOST_SECS=() SECS=() BOOT=()

	ensure_packages qemu-system-arm busybox-static cpio binutils
	command -v qemu-system-aarch64 >/dev/null || skip "qemu-system-aarch64 not found"
	ensure_arm64_arch
	build_or_check
	ensure_host_kernels
	ensure_rootfs

	local p
	for p in $PROFILES; do
		run_profile "$p"
	done
	((RAN)) || skip "no profile could run (host kernels or /dev/kvm unavailable)"

	for p in $PROFILES; do
		[[ -n ${HOST_SECS[$p]:-} ]] || continue
		echo "TIME: $p: tests/vm run.sh ${SECS[$p.run]:-?} s, net.sh ${SECS[$p.net]:-?} s, api.sh ${SECS[$p.api]:-?} s; emulated host run ${HOST_SECS[$p]} s; make run: boot timer ${BOOT[$p]:-?}"
	done
	echo "TIME: total: $((SECONDS - T0)) s"
	return "$FAILED"
}

main "$@"
