#!/bin/sh
# SPDX-License-Identifier: MIT
# shellcheck shell=dash
#
# /init of the emulated x86-64 host in tests/e2e/x86_64.sh (busybox sh).
# It loads KVM and the drivers the scenarios need, runs vmm once per
# scenario, and reports everything on the console between
#
#   ===== E2E <scenario>/<what> begin =====
#   ===== E2E <scenario>/<what> end =====
#
# lines, plus "E2E-HOST..." lines; tests/e2e/x86_64.sh picks them apart and
# decides. This script only reports. Its inputs, from x86_64.sh:
#
#   /e2e/env           E2E_SCENARIOS, E2E_TOKEN, GUEST_CMDLINE, GUEST_MEM,
#                      GUEST_MEM_MIB, GUEST_CPUS, GUEST_MAC, VMM_TIMEOUT
#   /vmm               the static vmm under test
#   /guest/bzImage, /guest/initrd.gz (the latter with /e2e/init)
#   /ro.img            an ext4 image for the read-only disk
#   /srv/blob          the file the net scenario's guest fetches
#   /lib/modules/*.ko  KVM, virtio-pci/blk (QEMU's drive: /dev/vda), tun
#
# The read-write disk is QEMU's virtio drive, /dev/vda here: what the guest
# writes lands in a file on the build machine, which checks it with debugfs.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# shellcheck source=/dev/null
. /e2e/env

say() { echo "E2E-HOST: $*"; }

# section NAME FILE: FILE between delimiters (awk, not cat: it also ends a
# last line that has no newline).
section() {
	echo "===== E2E $1 begin ====="
	[ -f "$2" ] && awk '{ print }' "$2"
	echo "===== E2E $1 end ====="
}

# Seconds since boot, with centiseconds.
now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

load_modules() {
	for m in "$@"; do
		insmod "/lib/modules/$m.ko" || { say "insmod $m.ko failed"; return 1; }
	done
}

# wait_until LIMIT COMMAND...: run COMMAND every 0.2 s until it succeeds
# (0) or LIMIT seconds pass (1). Prints a heartbeat every 15 s so that the
# build machine's silence watchdog only fires when this host is stuck.
wait_until() {
	limit=$1
	shift
	ticks=0
	until "$@"; do
		[ "$ticks" -lt "$((limit * 5))" ] || return 1
		sleep 0.2
		ticks=$((ticks + 1))
		[ $((ticks % 75)) -ne 0 ] || say "still waiting after $((ticks / 5)) s for: $*"
	done
}

# quiet FILE: FILE has not grown for 2 s (its size is kept in FILE.size).
quiet() {
	size=$(wc -c <"$1")
	if [ "$size" = "$(cat "$1.size" 2>/dev/null)" ]; then
		quiet_ticks=$((quiet_ticks + 1))
	else
		quiet_ticks=0
		echo "$size" >"$1.size"
	fi
	[ "$quiet_ticks" -ge 10 ]
}
quiet_ticks=0

# grep_file FILE PATTERN: FILE exists and has a line matching PATTERN.
grep_file() { [ -f "$1" ] && grep -q "$2" "$1"; }

# vmm_start NAME STDIN VMM-ARGS...: run vmm in the background under
# timeout, stdin from STDIN, stdout/stderr in /tmp/NAME.out and
# /tmp/NAME.err; its exit status lands whole in /tmp/NAME.status.
vmm_start() {
	name=$1 stdin=$2
	shift 2
	rm -f "/tmp/$name.status" "/tmp/$name.status.new"
	VMM_T0=$(now)
	say "$name: vmm $*"
	(
		timeout "$VMM_TIMEOUT" /vmm "$@" <"$stdin" >"/tmp/$name.out" 2>"/tmp/$name.err"
		# Written whole, then renamed: readers never see half a file.
		echo $? >"/tmp/$name.status.new" && mv "/tmp/$name.status.new" "/tmp/$name.status"
	) &
}

vmm_exited() { [ -f "/tmp/$1.status" ]; }

# vmm_finish NAME: wait for vmm (its own timeout bounds this) and report
# its output, serial log and exit status.
vmm_finish() {
	wait_until $((VMM_TIMEOUT + 10)) vmm_exited "$1" || say "$1: vmm did not exit"
	status=$(cat "/tmp/$1.status" 2>/dev/null || echo none)
	say "$1: vmm exited with status $status after $(elapsed "$VMM_T0") s"
	section "$1/vmm-stdout" "/tmp/$1.out"
	section "$1/vmm-stderr" "/tmp/$1.err"
	section "$1/serial-log" "/tmp/$1.serial"
	echo "E2E-HOST-VMM-EXIT $1 $status"
}

# The guest command line of an /e2e/init scenario.
e2e_cmdline() {
	echo "$GUEST_CMDLINE rdinit=/e2e/init vmm.e2e=$1 vmm.token=$E2E_TOKEN"
}

# --- Scenarios ---------------------------------------------------------------

# The default guest init: reach /init on all CPUs, boot timer, power off.
scenario_boot() {
	vmm_start boot /dev/null run --kernel /guest/bzImage --initrd /guest/initrd.gz \
		--cmdline "$GUEST_CMDLINE" --mem "$GUEST_MEM" --cpus "$GUEST_CPUS" \
		--console none --serial-log /tmp/boot.serial
	vmm_finish boot
}

# ext4 on a read-write disk (QEMU's drive, a block device here) and a
# read-only image file.
scenario_disk() {
	if ! wait_until 10 test -b /dev/vda; then
		say "disk: no /dev/vda (QEMU's virtio drive) in the emulated host"
		return
	fi
	echo "E2E-HOST-RO-SHA before $(sha256sum </ro.img | cut -d' ' -f1)"
	vmm_start disk /dev/null run --kernel /guest/bzImage --initrd /guest/initrd.gz \
		--cmdline "$(e2e_cmdline disk)" --mem "$GUEST_MEM" --cpus "$GUEST_CPUS" \
		--disk /dev/vda --disk /ro.img,ro \
		--console none --serial-log /tmp/disk.serial
	vmm_finish disk
	echo "E2E-HOST-RO-SHA after $(sha256sum </ro.img | cut -d' ' -f1)"
	# The build machine reads QEMU's drive after this host is gone.
	sync
}

tap_exists() { [ -e /sys/class/net/tap0 ]; }

# virtio-net on a TAP that vmm creates; this host is 10.0.2.1 and serves
# /srv/blob over HTTP.
scenario_net() {
	vmm_start net /dev/null run --kernel /guest/bzImage --initrd /guest/initrd.gz \
		--cmdline "$(e2e_cmdline net)" --mem "$GUEST_MEM" --cpus "$GUEST_CPUS" \
		--net "tap=tap0,mac=$GUEST_MAC" \
		--console none --serial-log /tmp/net.serial
	httpd_pid=
	if wait_until 30 tap_exists; then
		if ! ip addr add 10.0.2.1/24 dev tap0 || ! ip link set tap0 up; then
			say "net: cannot configure tap0"
		fi
		httpd -f -p 10.0.2.1:8080 -h /srv &
		httpd_pid=$!
	else
		say "net: vmm did not create tap0 within 30 s"
	fi
	vmm_finish net
	{
		ip addr show tap0
		for f in rx_packets rx_bytes tx_packets tx_bytes rx_dropped tx_dropped; do
			echo "$f $(cat "/sys/class/net/tap0/statistics/$f")"
		done
	} >/tmp/net.tap 2>&1
	section net/host-tap /tmp/net.tap
	[ -z "$httpd_pid" ] || kill "$httpd_pid"
}

# A shell on the guest's hvc0: this host types into vmm's stdin (a FIFO)
# once the guest says the shell is coming, and reads the answer on vmm's
# stdout.
scenario_hvc0() {
	rm -f /tmp/hvc0.in
	mkfifo /tmp/hvc0.in
	vmm_start hvc0 /tmp/hvc0.in run --kernel /guest/bzImage --initrd /guest/initrd.gz \
		--cmdline "$(e2e_cmdline hvc0) console=hvc0" --mem "$GUEST_MEM" \
		--cpus "$GUEST_CPUS" --console virtio --serial-log /tmp/hvc0.serial \
		--metrics-path /tmp/hvc0.metrics-file
	# Blocks until vmm's side opened the FIFO (at once).
	exec 3>/tmp/hvc0.in
	if wait_until 60 grep_file /tmp/hvc0.serial E2E-GUEST-HVC0-READY; then
		sleep 1
		# shellcheck disable=SC2016 # the guest's shell expands it
		printf '%s\n' 'echo HVC0-SHELL-$((6*7))' >&3
		wait_until 20 grep_file /tmp/hvc0.out HVC0-SHELL-42 ||
			say "hvc0: no HVC0-SHELL-42 on vmm's stdout within 20 s"
		printf 'exit\n' >&3
	else
		say "hvc0: the guest did not get to its hvc0 shell within 60 s"
	fi
	exec 3>&-
	vmm_finish hvc0
	section hvc0/metrics-file /tmp/hvc0.metrics-file
}

# Snapshot and restore: a shell on hvc0 with a read-only disk and a NIC,
# paused and saved over the control socket (vmm ctl snapshot), then
# restored by a second vmm, which this host types into: the shell answers
# there, reads the disk and fetches a file over the TAP.
scenario_snap() {
	rm -f /tmp/snap.in /tmp/snap-restore.in /tmp/snap.sock /tmp/vm.snap /tmp/vm.mem
	mkfifo /tmp/snap.in /tmp/snap-restore.in
	vmm_start snap /tmp/snap.in run --kernel /guest/bzImage --initrd /guest/initrd.gz \
		--cmdline "$(e2e_cmdline hvc0) console=hvc0" --mem "$GUEST_MEM" \
		--cpus "$GUEST_CPUS" --console virtio --serial-log /tmp/snap.serial \
		--disk /ro.img,ro --net "tap=tap0,mac=$GUEST_MAC" --api-sock /tmp/snap.sock
	exec 3>/tmp/snap.in
	: >/tmp/snap.ctl
	if wait_until 60 grep_file /tmp/snap.serial E2E-GUEST-HVC0-READY; then
		sleep 1
		# shellcheck disable=SC2016 # the guest's shell expands it
		printf '%s\n' 'ip addr add 10.0.2.2/24 dev eth0; ip link set eth0 up; echo SNAP-BEFORE-$((6*7))' >&3
		wait_until 20 grep_file /tmp/snap.out SNAP-BEFORE-42 ||
			say "snap: no SNAP-BEFORE-42 on vmm's stdout within 20 s"
		for c in pause "snapshot /tmp/vm.snap /tmp/vm.mem" stop; do
			# shellcheck disable=SC2086 # the command and its arguments
			echo "ctl $c: $(/vmm ctl /tmp/snap.sock $c 2>&1)" >>/tmp/snap.ctl
		done
	else
		say "snap: the guest did not get to its hvc0 shell within 60 s"
	fi
	exec 3>&-
	vmm_finish snap
	section snap/ctl /tmp/snap.ctl
	ls -ls /tmp/vm.snap /tmp/vm.mem >/tmp/snap.files 2>&1
	section snap/files /tmp/snap.files
	vmm_start snap-restore /tmp/snap-restore.in run --restore /tmp/vm.snap \
		--mem-file /tmp/vm.mem --serial-log /tmp/snap-restore.serial --boot-timer
	exec 3>/tmp/snap-restore.in
	# the TAP went with the first vmm: the restored one makes it again
	httpd_pid=
	if wait_until 30 tap_exists; then
		ip addr add 10.0.2.1/24 dev tap0 && ip link set tap0 up ||
			say "snap: cannot configure tap0"
		httpd -f -p 10.0.2.1:8080 -h /srv &
		httpd_pid=$!
	else
		say "snap: the restored vmm did not create tap0 within 30 s"
	fi
	sleep 1
	# shellcheck disable=SC2016 # the guest's shell expands it
	printf '%s\n' 'echo SNAP-AFTER-$((6*7)) DISK-$(dd if=/dev/vda bs=512 skip=64 count=8 2>/dev/null | wc -c) NET-$(timeout 20 wget -q -O- http://10.0.2.1:8080/blob | wc -c)' >&3
	wait_until 30 grep_file /tmp/snap-restore.out SNAP-AFTER-42 ||
		say "snap: no SNAP-AFTER-42 from the restored VM within 30 s"
	printf 'exit\n' >&3
	exec 3>&-
	vmm_finish snap-restore
	[ -z "$httpd_pid" ] || kill "$httpd_pid"
}

# A Firecracker-shaped --config-file, the control socket while the guest
# runs (info, metrics), and SendCtrlAltDel for a clean shutdown.
scenario_cad() {
	cat >/tmp/vm.json <<EOF
{
  "boot-source": {
    "kernel_image_path": "/guest/bzImage",
    "initrd_path": "/guest/initrd.gz",
    "boot_args": "$(e2e_cmdline cad)"
  },
  "machine-config": { "vcpu_count": $GUEST_CPUS, "mem_size_mib": $GUEST_MEM_MIB },
  "drives": [
    { "drive_id": "data", "path_on_host": "/ro.img",
      "is_root_device": false, "is_read_only": true }
  ],
  "metrics": { "metrics_path": "/tmp/cad.metrics-file" }
}
EOF
	section cad/config /tmp/vm.json
	sock=/tmp/vmm.sock
	vmm_start cad /dev/null run --config-file /tmp/vm.json --api-sock "$sock" \
		--console none --serial-log /tmp/cad.serial
	if wait_until 60 grep_file /tmp/cad.serial E2E-GUEST-CAD-READY; then
		/vmm ctl "$sock" info --json >/tmp/cad.info 2>&1 ||
			say "cad: vmm ctl info failed"
		# The serial log around the metrics call bounds serial.tx_bytes.
		echo "E2E-HOST-SERIAL-BYTES before-metrics $(wc -c </tmp/cad.serial)"
		/vmm ctl "$sock" metrics --json >/tmp/cad.metrics 2>&1 ||
			say "cad: vmm ctl metrics failed"
		echo "E2E-HOST-SERIAL-BYTES after-metrics $(wc -c </tmp/cad.serial)"
		section cad/ctl-info /tmp/cad.info
		section cad/ctl-metrics /tmp/cad.metrics
		cad_t0=$(now)
		/vmm ctl "$sock" ctrl-alt-del >/tmp/cad.ctl 2>&1
		echo "E2E-HOST-CTL-CAD status=$?"
		section cad/ctl-ctrl-alt-del /tmp/cad.ctl
		if wait_until 30 vmm_exited cad; then
			echo "E2E-HOST-CAD-EXIT-SECONDS $(elapsed "$cad_t0")"
		else
			say "cad: vmm still running 30 s after Ctrl-Alt-Del; stopping it"
			/vmm ctl "$sock" stop
		fi
	else
		say "cad: the guest did not report ready within 60 s"
		/vmm ctl "$sock" stop
	fi
	vmm_finish cad
	section cad/metrics-file /tmp/cad.metrics-file
}

# Magic SysRq over the serial port, from the control API: a BREAK and 't'
# (the task list), 'w' (blocked tasks), then 'b' (reboot at once), which
# ends vmm.
scenario_sysrq() {
	sock=/tmp/sysrq.sock
	vmm_start sysrq /dev/null run --kernel /guest/bzImage --initrd /guest/initrd.gz \
		--cmdline "$(e2e_cmdline sysrq)" --mem "$GUEST_MEM" --cpus "$GUEST_CPUS" \
		--console none --serial-log /tmp/sysrq.serial --api-sock "$sock"
	if wait_until 60 grep_file /tmp/sysrq.serial E2E-GUEST-SYSRQ-READY; then
		for key in t w; do
			/vmm ctl "$sock" sysrq "$key" >/tmp/sysrq.ctl 2>&1
			echo "E2E-HOST-SYSRQ $key status=$?"
			# the next key once this one's output is done, as a user would
			sleep 1
			wait_until 60 quiet /tmp/sysrq.serial ||
				say "sysrq: the guest still prints 60 s after SysRq $key"
		done
		/vmm ctl "$sock" sysrq b >/tmp/sysrq.ctl 2>&1
		echo "E2E-HOST-SYSRQ b status=$?"
		wait_until 30 vmm_exited sysrq || { say "sysrq: still running after SysRq b"; /vmm ctl "$sock" stop; }
	else
		say "sysrq: the guest did not report ready within 60 s"
		/vmm ctl "$sock" stop
	fi
	vmm_finish sysrq
}

# An NMI to every vCPU: with unknown_nmi_panic the guest panics and
# prints where the NMI found it, then reboots (panic=-1).
scenario_nmi() {
	sock=/tmp/nmi.sock
	vmm_start nmi /dev/null run --kernel /guest/bzImage --initrd /guest/initrd.gz \
		--cmdline "$(e2e_cmdline nmi) unknown_nmi_panic" --mem "$GUEST_MEM" \
		--cpus "$GUEST_CPUS" --console none --serial-log /tmp/nmi.serial \
		--api-sock "$sock"
	if wait_until 60 grep_file /tmp/nmi.serial E2E-GUEST-NMI-READY; then
		/vmm ctl "$sock" nmi >/tmp/nmi.ctl 2>&1
		echo "E2E-HOST-NMI status=$?"
		wait_until 30 vmm_exited nmi || { say "nmi: still running 30 s after the NMI"; /vmm ctl "$sock" stop; }
	else
		say "nmi: the guest did not report ready within 60 s"
		/vmm ctl "$sock" stop
	fi
	vmm_finish nmi
}

# gdb on the build machine debugs the running guest kernel: QEMU's second
# serial port (this host's ttyS1) is a TCP socket there, relayed here to
# vmm's --gdb port once the guest's init runs.
scenario_gdb() {
	ip link set lo up
	vmm_start gdb /dev/null run --kernel /guest/bzImage --initrd /guest/initrd.gz \
		--cmdline "$(e2e_cmdline gdb)" --mem "$GUEST_MEM" --cpus "$GUEST_CPUS" \
		--console none --serial-log /tmp/gdb.serial --gdb 1234
	if ! wait_until 60 grep_file /tmp/gdb.serial E2E-GUEST-GDB-READY; then
		say "gdb: the guest did not report ready within 60 s"
	elif ! grep_file /tmp/gdb.err "gdb: listening on"; then
		say "gdb: vmm does not listen for gdb"
	elif ! stty -F /dev/ttyS1 raw -echo 115200; then
		say "gdb: no /dev/ttyS1 for the relay"
	else
		nc -f /dev/ttyS1 -e nc 127.0.0.1 1234 &
		relay=$!
		echo "E2E-HOST-GDB-READY"
		wait_until 120 vmm_exited gdb || say "gdb: vmm still running after 120 s"
		kill "$relay" 2>/dev/null
	fi
	vmm_finish gdb
}

# README blocks (tests/readme): each job typed by /readme/type.sh into an
# interactive bash on a pty, in /readme/run with HOME=/root; lo up for
# curl's sake. Heartbeats while a job runs keep the watchdog quiet.
scenario_readme() {
	mkdir -p /dev/pts
	mount -t devpts -o ptmxmode=0666 devpts /dev/pts || say "readme: cannot mount devpts"
	ip link set lo up
	for block in /readme/jobs/*.sh; do
		j=$(basename "$block" .sh)
		limit=$(cat "/readme/jobs/$j.timeout")
		rm -f "/tmp/$j.ended"
		say "readme: typing $j"
		(
			cd /readme/run &&
				HOME=/root TMPDIR=/tmp bash /readme/type.sh "$block" "/tmp/$j.transcript" "$limit"
			touch "/tmp/$j.ended"
		) &
		# (type.sh bounds each line; this bounds the whole job)
		wait_until $((limit * 20 + 60)) test -f "/tmp/$j.ended" ||
			say "readme: $j did not end"
		section "readme/$j/transcript" "/tmp/$j.transcript"
		section "readme/$j/result" "/tmp/$j.transcript.result"
	done
}

# --- Main --------------------------------------------------------------------

kvm=ok
load_modules irqbypass kvm kvm-amd || kvm=unavailable
[ -c /dev/kvm ] || mknod /dev/kvm c 10 232
# Opening fails (ENXIO/ENODEV) unless kvm-amd registered the device.
(: </dev/kvm) 2>/dev/null || kvm=unavailable
echo "E2E-HOST-KVM: $kvm"
[ "$kvm" = ok ] || poweroff -f

# virtio-pci + virtio-blk for QEMU's drive (disk), tun for vmm's TAP (net).
load_modules virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
	virtio_pci virtio_blk tun

for scenario in $E2E_SCENARIOS; do
	scenario_t0=$(now)
	echo "E2E-HOST-SCENARIO begin $scenario"
	"scenario_$scenario"
	echo "E2E-HOST-SCENARIO end $scenario $(elapsed "$scenario_t0") s"
done
echo "E2E-HOST-DONE"
sync
poweroff -f
