#!/bin/sh
# SPDX-License-Identifier: MIT
# shellcheck shell=dash
#
# /init of the emulated x86-64 host of tests/e2e/bundle.sh: runs each OCI
# bundle case with `vmm run --bundle` and with crun, on this same host,
# and reports on the console between
#
#   ===== E2E <case>/<runtime>/<what> begin =====
#   ===== E2E <case>/<runtime>/<what> end =====
#
# lines (what: stdout, stderr, result; result is bench-run's RESULT line:
# exit status and exec -> first output byte and exit). bundle.sh decides.
# Its inputs:
#
#   /dev/vda (ext4)    /cases/ORDER: one "CASE KIND RUNTIME..." per line,
#                      /cases/CASE/config.json (+ stdin, + vmm-args: more
#                      options for vmm), /extra.img, the rootfs trees
#                      /busybox/rootfs and /debian/rootfs, /cache (vmm's
#                      rootfs images: empty at first, so vmm's first run of
#                      each rootfs makes its image)
#   /vmm, /bench-run   static; crun, mkfs.erofs with their libraries
#   /guest/bzImage     the guest kernel
#   /lib/modules/*.ko  KVM, virtio-pci and virtio-blk (the data disk)
#
# KIND: plain (run, report), sigterm (SIGTERM once the process printed
# "ready"), rootwrite (then whether /written reached the rootfs tree),
# terminal (under script(1), so that the runtime's stdin is a terminal).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts # script(1), for the terminal case
mkdir -p /run /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp

say() { echo "E2E-HOST: $*"; }

section() {
	echo "===== E2E $1 begin ====="
	[ -f "$2" ] && awk '{ print }' "$2"
	echo "===== E2E $1 end ====="
}

for m in irqbypass kvm kvm-amd virtio_ring virtio virtio_pci_modern_dev \
	virtio_pci_legacy_dev virtio_pci virtio_blk; do
	insmod "/lib/modules/$m.ko" || say "insmod $m.ko failed"
done
[ -c /dev/kvm ] || mknod /dev/kvm c 10 232
if ! (: </dev/kvm) 2>/dev/null; then
	echo "E2E-HOST-KVM: unavailable"
	poweroff -f
fi
echo "E2E-HOST-KVM: ok"

n=0
while [ ! -b /dev/vda ] && [ "$n" -lt 50 ]; do sleep 0.2; n=$((n + 1)); done
mkdir -p /data
mount -t ext4 /dev/vda /data || { say "cannot mount the data disk"; poweroff -f; }
# crun: a cgroup2 hierarchy of this host's own, and its state in /run
mkdir -p /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup || say "cannot mount cgroup2"
export VMM_CACHE=/data/cache VMM_KERNEL=/guest/bzImage

# run_one CASE RUNTIME KIND: one run under bench-run.
run_one() {
	c=$1 rt=$2 kind=$3 dir=/data/cases/$1
	out=/tmp/$c.$rt.out err=/tmp/$c.$rt.err res=/tmp/$c.$rt.res
	stdin=/dev/null
	[ -f "$dir/stdin" ] && stdin=$dir/stdin
	case $rt in
	vmm*)
		# shellcheck disable=SC2046 # the options are words
		set -- /vmm run --serial-log "/tmp/$c.$rt.serial" \
			$(cat "$dir/vmm-args" 2>/dev/null) --bundle "$dir" ;;
	# initramfs is no mount point pivot_root could leave: --no-pivot
	crun*) set -- /usr/bin/crun run --no-pivot --bundle "$dir" "e2e-$c-$rt" ;;
	esac
	rm -f "$out" "$err" "$res"
	if [ "$kind" = terminal ]; then
		# script(1) gives the runtime a terminal; its own output file is
		# /dev/null, what the runtime prints goes to bench-run's pipe
		/bench-run -t 120 -l "$out" -e "$err" -- /usr/bin/script -qec \
			"$*" /dev/null <"$stdin" >"$res"
	elif [ "$kind" = sigterm ]; then
		/bench-run -t 120 -l "$out" -e "$err" -- "$@" <"$stdin" >"$res" &
		pid=$!
		n=0
		until grep -q ready "$out" 2>/dev/null || [ "$n" -ge 600 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		[ "$n" -lt 600 ] || say "$c/$rt: no 'ready' within 60 s"
		kill -TERM "$pid"
		wait "$pid"
	else
		/bench-run -t 120 -l "$out" -e "$err" -- "$@" <"$stdin" >"$res"
	fi
	section "$c/$rt/stdout" "$out"
	section "$c/$rt/stderr" "$err"
	section "$c/$rt/result" "$res"
	[ -f "/tmp/$c.$rt.serial" ] && section "$c/$rt/serial" "/tmp/$c.$rt.serial"
	if [ "$kind" = rootwrite ]; then
		if [ -e /data/busybox/rootfs/written ]; then
			echo "E2E-HOST-ROOTWRITE $c $rt reached-rootfs"
			rm -f /data/busybox/rootfs/written
		else
			echo "E2E-HOST-ROOTWRITE $c $rt rootfs-unchanged"
		fi
	fi
}

while read -r c kind runtimes; do
	[ -n "$c" ] || continue
	echo "E2E-HOST-CASE begin $c"
	for rt in $runtimes; do
		run_one "$c" "$rt" "$kind"
	done
	echo "E2E-HOST-CASE end $c"
done </data/cases/ORDER
ls -la /data/cache/rootfs >/tmp/cache.ls 2>&1
section cache/ls /tmp/cache.ls
echo "E2E-HOST-DONE"
umount /data
sync
poweroff -f
