#!/bin/sh
# SPDX-License-Identifier: MIT
# shellcheck shell=dash
#
# /e2e/init of the guest in tests/e2e/x86_64.sh: the end-to-end scenarios
# that need more than "reach init and power off". It rides in the guest
# initramfs next to the default /init, and the emulated host boots it with
# rdinit=/e2e/init on the guest command line, which also names the scenario:
#
#   vmm.e2e=disk   ext4 on /dev/vda: write hello.txt, sync, unmount;
#                  /dev/vdb is read-only: read it, try to write it
#   vmm.e2e=net    eth0 10.0.2.2/24: ping 10.0.2.1, fetch a file by HTTP
#   vmm.e2e=hvc0   a shell on /dev/hvc0 (the host types into it)
#   vmm.e2e=cad    wait for Ctrl-Alt-Del and shut down through init
#   vmm.e2e=sysrq  show KERN_INFO on the console, then wait: the host's
#                  SysRq keys print the task lists and reboot the guest
#   vmm.e2e=nmi    wait for the host's NMI (unknown_nmi_panic: it panics,
#                  printing the NMI's backtrace, and reboots)
#   vmm.e2e=gdb    sync every second for 30 s while the host's gdb
#                  attaches and detaches, then power off
#   vmm.e2e=vsock  /dev/hwrng reads virtio-rng bytes, 16 KiB of them timed
#                  (the device is rate-limited); AF_VSOCK (vsockecho):
#                  an echo server on port 5000 and a listener that never
#                  reads on 5001 for the host; 100 echo connections to the
#                  host's port 5000; a flood into host port 5002, which is
#                  never read; power off once the host connects to 5009
#   vmm.token=T    a per-run random token (disk)
#
# Every result is one "E2E-GUEST-..." line on the console, which the host
# captures and tests/e2e/x86_64.sh checks. Each step that can fail says so
# and the scenario goes on, so a failed check shows how far the guest got.
# busybox sh only (the guest has nothing else).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# Boot timer (vmm's Firecracker-compatible one): userspace is up.
devmem 0xd0000000 8 123 || echo "E2E-GUEST: cannot write the boot timer"

say() { echo "E2E-GUEST: $*"; }

# The value of NAME=VALUE on the kernel command line.
cmdline_value() {
	# shellcheck disable=SC2013 # words, not lines, are wanted
	for word in $(cat /proc/cmdline); do
		case $word in
		"$1"=*) echo "${word#*=}"; return 0 ;;
		esac
	done
	return 1
}

# reboot=k: 'reboot -f' is an i8042 reset, which ends vmm with status 0.
power_off() {
	sync
	reboot -f
	while :; do sleep 1; done
}

# Wait up to $2 seconds for the device node $1 (drivers probe before init,
# but the node can come a moment later).
wait_for_node() {
	n=0
	while [ ! -e "$1" ]; do
		[ "$n" -lt "$(($2 * 10))" ] || return 1
		sleep 0.1
		n=$((n + 1))
	done
}

scenario_disk() {
	token=$(cmdline_value vmm.token) || say "no vmm.token on the command line"
	mkdir -p /mnt/rw /mnt/ro
	if ! wait_for_node /dev/vda 5; then
		say "no /dev/vda"
	elif ! mount -t ext4 /dev/vda /mnt/rw; then
		say "cannot mount /dev/vda as ext4"
	else
		echo "vmm-e2e-$token" >/mnt/rw/hello.txt || say "cannot write hello.txt"
		sync
		echo "E2E-GUEST-DISK-WROTE $(cat /mnt/rw/hello.txt)"
		if umount /mnt/rw; then
			echo "E2E-GUEST-DISK-UNMOUNTED"
		else
			say "cannot unmount /dev/vda"
		fi
	fi

	# The read-only disk: readable, and the guest kernel knows it is
	# read-only (VIRTIO_BLK_F_RO), so a write fails before reaching vmm.
	if ! wait_for_node /dev/vdb 5; then
		say "no /dev/vdb"
		return
	fi
	echo "E2E-GUEST-RO-SYSFS ro=$(cat /sys/block/vdb/ro)"
	if mount -t ext4 -o ro /dev/vdb /mnt/ro; then
		echo "E2E-GUEST-RO-READ $(cat /mnt/ro/ro.txt)"
		umount /mnt/ro
	else
		say "cannot mount /dev/vdb read-only"
	fi
	if dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=fsync 2>/tmp/dd.err; then
		echo "E2E-GUEST-RO-WRITE-ACCEPTED"
	else
		echo "E2E-GUEST-RO-WRITE-REFUSED $(grep -m1 '^dd:' /tmp/dd.err)"
	fi
}

scenario_net() {
	ip link set lo up
	if ! wait_for_node /sys/class/net/eth0 5; then
		say "no eth0"
		return
	fi
	if ! ip addr add 10.0.2.2/24 dev eth0 || ! ip link set eth0 up; then
		say "cannot configure eth0"
	fi
	echo "E2E-GUEST-NET-MAC $(cat /sys/class/net/eth0/address)"

	# The host configures its end of the TAP once vmm has created it:
	# wait for it, boundedly.
	n=0
	until ping -c 1 -W 1 10.0.2.1 >/dev/null 2>&1; do
		n=$((n + 1))
		if [ "$n" -ge 30 ]; then
			say "10.0.2.1 did not answer a ping for 30 s"
			break
		fi
	done
	ping -c 3 10.0.2.1 >/tmp/ping.out 2>&1
	echo "E2E-GUEST-NET-PING $(grep 'packets transmitted' /tmp/ping.out)"

	# (timeout, not wget -T: Debian's busybox 1.35 wget crashes with -T)
	if timeout 30 wget -q -O /tmp/blob http://10.0.2.1:8080/blob; then
		echo "E2E-GUEST-NET-FETCH $(sha256sum </tmp/blob | cut -d' ' -f1) $(wc -c </tmp/blob)"
	else
		say "wget http://10.0.2.1:8080/blob failed"
	fi
}

# /dev/console is hvc0 here (console=hvc0 last on the command line); the
# markers the host waits for go to the serial port, so they cannot be
# confused with what the shell prints.
scenario_hvc0() {
	if ! wait_for_node /dev/hvc0 5; then
		say "no /dev/hvc0"
		return
	fi
	echo "E2E-GUEST-HVC0-READY" >/dev/ttyS0
	# A session of its own with hvc0 as controlling terminal.
	setsid sh -c 'exec sh -i </dev/hvc0 >/dev/hvc0 2>&1'
	echo "E2E-GUEST-HVC0-SHELL-EXITED status=$?" >/dev/ttyS0
}

cad_shutdown() {
	echo "E2E-GUEST-CAD-CLEAN init got SIGINT (Ctrl-Alt-Del); syncing, rebooting"
	power_off
}

scenario_cad() {
	# 0: Ctrl-Alt-Del sends SIGINT to init instead of restarting at once.
	echo 0 >/proc/sys/kernel/ctrl-alt-del || say "cannot write /proc/sys/kernel/ctrl-alt-del"
	trap cad_shutdown INT
	# What the kernel made of the i8042 keyboard.
	dmesg | grep -iE 'i8042|atkbd|serio|input:' | grep -iv 'command line' |
		sed 's/^/E2E-GUEST-KBD: /'
	# Traffic for vmm's block counters (the config file gives a disk).
	if wait_for_node /dev/vda 5; then
		dd if=/dev/vda of=/dev/null bs=65536 count=4 2>/dev/null &&
			echo "E2E-GUEST-CAD-READ 262144"
	else
		say "no /dev/vda"
	fi
	echo "E2E-GUEST-CAD-READY"
	# Signals are handled between commands: sleep in short steps.
	n=0
	while [ "$n" -lt 120 ]; do
		sleep 1
		n=$((n + 1))
	done
	say "no Ctrl-Alt-Del within 120 s"
}

# Wait $1 seconds in short steps (signals are handled between commands).
idle() {
	n=0
	while [ "$n" -lt "$1" ]; do
		sleep 1
		n=$((n + 1))
	done
}

scenario_sysrq() {
	# what a user does first: show the tasks' lines (KERN_INFO) too
	echo 7 >/proc/sys/kernel/printk || say "cannot write /proc/sys/kernel/printk"
	echo "E2E-GUEST-SYSRQ-READY sysrq=$(cat /proc/sys/kernel/sysrq)"
	idle 120
	say "no SysRq reboot within 120 s"
}

scenario_nmi() {
	echo "E2E-GUEST-NMI-READY $(cat /proc/sys/kernel/unknown_nmi_panic 2>/dev/null)"
	idle 120
	say "no NMI within 120 s"
}

# a busy init for 30 s (sync once a second): gdb attaches meanwhile, and
# the lines go on once it has detached
scenario_gdb() {
	echo "E2E-GUEST-GDB-READY"
	n=0
	while [ "$n" -lt 30 ]; do
		sync
		echo "E2E-GUEST-GDB-SYNCED $n"
		sleep 1
		n=$((n + 1))
	done
}

scenario_vsock() {
	if wait_for_node /dev/hwrng 5; then
		echo "E2E-GUEST-HWRNG rng=$(cat /sys/class/misc/hw_random/rng_current)" \
			"bytes=$(dd if=/dev/hwrng bs=512 count=8 2>/dev/null | wc -c)"
		# the device is limited to 1024 bytes per 250 ms (4 KiB/s)
		t0=$(cut -d' ' -f1 /proc/uptime)
		n=$(head -c 16384 /dev/hwrng | wc -c)
		echo "E2E-GUEST-HWRNG-LIMITED bytes=$n seconds=$(awk -v a="$t0" \
			-v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.2f", b - a }')"
	else
		say "no /dev/hwrng"
	fi
	vsockecho echo-server vsock:5000 &
	vsockecho sink-server vsock:5001 &
	vsockecho wait-server vsock:5009 >/dev/null &
	done_pid=$!
	sleep 1
	echo "E2E-GUEST-VSOCK-READY"
	vsockecho echo-client vsock:2:5000 100 65536 | sed 's/^/E2E-GUEST-/'
	# (not through sed: its output would wait in a buffer while this runs)
	vsockecho flood vsock:2:5002 3 &
	wait "$done_pid"
	echo "E2E-GUEST-VSOCK-END the host connected to port 5009"
}

scenario=$(cmdline_value vmm.e2e) || scenario=none
echo "E2E-GUEST-INIT scenario=$scenario cpus=$(grep -c '^processor' /proc/cpuinfo)" \
	"mem_kib=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
case $scenario in
disk | net | hvc0 | cad | sysrq | nmi | gdb | vsock) "scenario_$scenario" ;;
*) say "unknown scenario '$scenario' (vmm.e2e=disk|net|hvc0|cad|sysrq|nmi|gdb|vsock)" ;;
esac
echo "E2E-GUEST-DONE scenario=$scenario"
power_off
