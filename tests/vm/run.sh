#!/usr/bin/env bash
# VM tests: boot the freestanding test guest on this machine's /dev/kvm
# with the sanitizer build of vmm, check what it printed and how vmm
# exited; plus the start-up failures a user can run into.
#
# Prints one line per check: PASS: vm.NAME / FAIL: vm.NAME: why /
# SKIP: vm.NAME: reason. Exit status 1 if anything failed.
set -u
cd "$(dirname "$0")/../.."
CHECK_PREFIX=vm
. tests/vm/common.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run NAME VMM-ARGS...: run vmm with the console going only to a log.
# Sets rc, and leaves $work/NAME.serial and $work/NAME.err.
run() {
	local name=$1; shift
	timeout "$TIMEOUT" "$VMM" run --console none \
		--serial-log "$work/$name.serial" "$@" \
		</dev/null >"$work/$name.out" 2>"$work/$name.err"
	rc=$?
}

# A guest scenario must print its PASS line and vmm must exit 0.
# scenario NAME CPUS ARGS... (or ID:NAME to name the check differently)
scenario() {
	local name=${1#*:} cpus=$2 id=${1%%:*}; shift 2
	id="$id.cpus$cpus"
	run "$id" -k "$GUEST" -c "$cpus" "$@"
	if [ "$rc" -ne 0 ]; then
		fail "$id" "vmm exited $rc: $(tail -n 3 "$work/$id.err" | tr '\n' ' ')"
	elif ! grep -q "^TESTGUEST PASS $name" "$work/$id.serial"; then
		fail "$id" "no PASS line; guest said: $(grep TESTGUEST "$work/$id.serial" | head -n 2 | tr '\n' ' ')"
	elif grep -q "ERROR: AddressSanitizer\|runtime error:" "$work/$id.err"; then
		fail "$id" "sanitizer report: $(grep -m1 'ERROR\|runtime error' "$work/$id.err")"
	else
		pass "$id"
	fi
}

# wait_for_line FILE PATTERN: up to 30 s
wait_for_line() {
	for _ in $(seq 300); do
		grep -aq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# A start-up failure: exit status 1 and exactly one stderr line matching.
refuse() {
	local id=$1 pattern=$2; shift 2
	run "$id" "$@"
	local lines
	lines=$(wc -l <"$work/$id.err")
	if [ "$rc" -ne 1 ]; then
		fail "$id" "expected exit status 1, got $rc"
	elif ! grep -q -- "$pattern" "$work/$id.err"; then
		fail "$id" "stderr lacks '$pattern': $(head -c 300 "$work/$id.err")"
	elif [ "$lines" -ne 1 ]; then
		fail "$id" "expected one line on stderr, got $lines: $(head -c 300 "$work/$id.err")"
	else
		pass "$id"
	fi
}

if [ ! -x "$VMM" ] || [ ! -f "$GUEST" ]; then
	fail build "missing $VMM or $GUEST (run make check)"
	exit 1
fi

# A kernel image of the guest's kind whose header asks for 64 MiB: valid,
# but too big for 16M. Sets too_big_error: what vmm says about it.
make_big_kernel() {
	local f=$1
	head -c 8192 /dev/zero >"$f"
	put() { printf "$2" | dd of="$f" bs=1 seek=$(($1)) conv=notrunc status=none; }
	case $GUEST_ARCH in
	aarch64)
		# an arm64 Image (Documentation/arm64/booting.rst)
		put 0x10 '\x00\x00\x00\x04\x00\x00\x00\x00' # image_size 64 MiB
		put 0x18 '\x02'                 # flags: little-endian, 4 KiB pages
		put 0x38 'ARM\x64'              # magic
		too_big_error="the kernel needs 64 MiB from the start of RAM"
		;;
	*)
		# a bzImage
		put 0x1f1 '\x01'                 # setup_sects
		put 0x1fe '\x55\xaa'             # boot_flag
		put 0x201 '\x66'                 # jump: header ends at 0x268
		put 0x202 'HdrS'
		put 0x206 '\x0f\x02'             # protocol 2.15
		put 0x211 '\x01'                 # LOADED_HIGH
		put 0x236 '\x01'                 # XLF_KERNEL_64
		put 0x238 '\xff\x07\x00\x00'     # cmdline_size
		put 0x258 '\x00\x00\x00\x01\x00\x00\x00\x00' # pref_address 16 MiB
		put 0x260 '\x00\x00\x00\x04'     # init_size 64 MiB
		too_big_error="kernel needs 80 MiB of memory"
		;;
	esac
}

# What vmm says about a file that is no kernel, for this guest's arch.
case $GUEST_ARCH in
aarch64) not_a_kernel_error="not an arm64 Image" ;;
*) not_a_kernel_error="not a kernel image" ;;
esac

# --- start-up failures (need no KVM) -------------------------------------
refuse missing-kernel "No such file or directory" -k "$work/nonexistent"
printf "" >"$work/empty"
refuse empty-kernel "empty file" -k "$work/empty"
refuse dir-kernel "not a regular file" -k "$work"
refuse zero-mem "cannot be zero" -k "$GUEST" -m 0
refuse no-kernel "no kernel given"
refuse bad-option "unknown option" -k "$GUEST" --frobnicate
refuse missing-initrd "initrd .*No such file" -k "$GUEST" -i "$work/nonexistent"

if [ ! -e /dev/kvm ]; then
	for t in garbage-kernel kernel-too-big initrd-too-big no-kvm no-kvm-permission hello \
		cmdline memory smp boottimer exits reset badio cmdline-exact \
		boottimer-line memory-above-4g huge-pages-pool-empty huge-pages \
		counter-sigterm console-none console-stdio-pipe console-input-pipe console-input-tty \
		console-input-no-loss console-input-after-fifo-clear \
		console-quit console-quit-while-guest-deaf console-background-job \
		console-escape-help \
		blk blk-ro hostile-queue disk-locked virtio-console; do
		skip "$t" "/dev/kvm is absent on this machine"
	done
	exit $failed
fi
if ! { exec 3<>/dev/kvm; } 2>/dev/null; then
	skip all "/dev/kvm is not accessible to $(id -un)"
	exit $failed
fi
exec 3>&-

head -c 4096 /dev/urandom >"$work/garbage"
refuse garbage-kernel "$not_a_kernel_error" -k "$work/garbage"
make_big_kernel "$work/big-kernel"
refuse kernel-too-big "$too_big_error" -k "$work/big-kernel" -m 16M
head -c $((20 << 20)) /dev/zero >"$work/big-initrd"
refuse initrd-too-big "does not fit in guest memory" -k "$GUEST" -i "$work/big-initrd" -m 16M

# /dev/kvm absent (hidden in a private mount namespace) or not permitted
if unshare -m true 2>/dev/null; then
	timeout 30 unshare -m sh -c "mount -t tmpfs none /dev && exec '$VMM' run -k '$GUEST'" \
		</dev/null >/dev/null 2>"$work/no-kvm.err"
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q "/dev/kvm does not exist" "$work/no-kvm.err" &&
	   [ "$(wc -l <"$work/no-kvm.err")" -eq 1 ]; then
		pass no-kvm
	else
		fail no-kvm "rc=$rc: $(head -c 300 "$work/no-kvm.err")"
	fi
else
	skip no-kvm "cannot create a mount namespace here"
fi
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
   [ "$(stat -c %a /dev/kvm)" = 600 ]; then
	cp "$GUEST" "$work/guest" && chmod 755 "$work" && chmod 644 "$work/guest"
	timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$VMM" run -k "$work/guest" </dev/null >/dev/null 2>"$work/perm.err"
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q "/dev/kvm: permission denied" "$work/perm.err"; then
		pass no-kvm-permission
	else
		fail no-kvm-permission "rc=$rc: $(head -c 300 "$work/perm.err")"
	fi
else
	skip no-kvm-permission "needs root, setpriv and a mode-0600 /dev/kvm"
fi

# --- the test guest's scenarios, on 1 and 2 vCPUs ------------------------
for cpus in 1 2; do
	scenario hello "$cpus" -p "test=hello"
	scenario cmdline "$cpus" -p "test=cmdline"
	scenario memory "$cpus" -m 128M -p "test=memory mem=128M"
	scenario smp "$cpus" -p "test=smp cpus=$cpus"
	scenario boottimer "$cpus" -p "test=boottimer"
	scenario exits "$cpus" -p "test=exits exits=2000"
	scenario reset "$cpus" -p "test=reset"
	scenario badio "$cpus" -p "test=badio"
done

# x86-64: vmm's ACPI tables as a guest reads them, and the ways out they
# name (the FADT's sleep control and reset registers); the PCI bus of
# --virtio pci. Both: pvpanic (port 0x505 on x86-64, the device tree's
# qemu,pvpanic-mmio on aarch64). ends ID STATUS PATTERN: vmm exited
# STATUS, the guest passed, stderr has PATTERN.
ends() {
	local id=$1 want=$2 pattern=$3
	if [ "$rc" -ne "$want" ]; then
		fail "$id" "vmm exited $rc, not $want: $(tail -n 2 "$work/$id.err" | tr '\n' ' ')"
	elif ! grep -q "^TESTGUEST PASS" "$work/$id.serial"; then
		fail "$id" "guest: $(grep TESTGUEST "$work/$id.serial" | head -n 2 | tr '\n' ' ')"
	elif ! grep -q "$pattern" "$work/$id.err"; then
		fail "$id" "no '$pattern' on stderr: $(tail -n 2 "$work/$id.err" | tr '\n' ' ')"
	else
		pass "$id"
	fi
}
if [ "$GUEST_ARCH" = x86_64 ]; then
	for cpus in 1 2; do
		run "acpi.cpus$cpus" -k "$GUEST" -c "$cpus" -p "test=acpi cpus=$cpus"
		ends "acpi.cpus$cpus" 0 "guest powered off"
	done
	run acpi-reset -k "$GUEST" -p "test=acpi-reset"
	ends acpi-reset 0 "guest reset (ACPI)"
	head -c 1048576 /dev/zero >"$work/pci.img"
	run pci -k "$GUEST" -p "test=pci" --virtio pci --disk "$work/pci.img"
	ends pci 0 "guest reset"
	# MSI-X through KVM's GSI routes and an irqfd per vector: held
	# while masked (the PBA), sent once on unmask, under the function mask
	run pci-msix -k "$GUEST" -p "test=pci-msix" --virtio pci --disk "$work/pci.img"
	ends pci-msix 0 "guest reset"
	run pit -k "$GUEST" -p "test=hello" --pit
	ends pit 0 "guest reset"
fi
run pvpanic -k "$GUEST" -p "test=pvpanic"
ends pvpanic 2 "guest kernel panicked (pvpanic)"

# the command line arrives byte for byte
arg='test=cmdline console=ttyS0 quoted="a b" path=/x/y,z=1'
run cmdline-exact -k "$GUEST" -p "$arg"
if grep -qxF "cmdline: $arg" <(tr -d '\r' <"$work/cmdline-exact.serial"); then
	pass cmdline-exact
else
	fail cmdline-exact "guest saw: $(grep cmdline: "$work/cmdline-exact.serial")"
fi

# the boot timer line on stderr, and the guest reads the same figure back
run boottimer-line -k "$GUEST" -p "test=boottimer"
if grep -q "^vmm: boot-timer: [0-9.]* ms since vmm start, [0-9.]* ms since first KVM_RUN$" \
	"$work/boottimer-line.err"; then
	pass boottimer-line
else
	fail boottimer-line "stderr: $(head -c 300 "$work/boottimer-line.err")"
fi

# RAM above 4 GiB: on x86-64 the memory map splits around the MMIO hole
# when --mem passes 3 GiB; on arm64 RAM starts at 2 GiB
scenario memory-above-4g:memory 1 -m 3200M -p "test=memory mem=3200M"

# --huge-pages: guest RAM comes from the host's 2 MiB pool, reserved when
# vmm maps it; an empty pool is one clear line, not a SIGBUS later
hp_sys=/sys/kernel/mm/hugepages/hugepages-2048kB
hp_avail() { echo $(($(cat "$hp_sys/free_hugepages") - $(cat "$hp_sys/resv_hugepages"))); }
if [ ! -d "$hp_sys" ] || [ ! -w "$hp_sys/nr_hugepages" ]; then
	skip huge-pages-pool-empty "no 2 MiB huge pages on this host, or not root"
	skip huge-pages "no 2 MiB huge pages on this host, or not root"
else
	hp_old=$(cat "$hp_sys/nr_hugepages")
	echo 0 >"$hp_sys/nr_hugepages"
	if [ "$(cat "$hp_sys/nr_hugepages")" -ne 0 ]; then
		skip huge-pages-pool-empty "the host's huge pages are in use"
	else
		refuse huge-pages-pool-empty "in 2 MiB huge pages: the host's pool is too small" \
			-k "$GUEST" -m 64M --huge-pages
	fi
	echo $((hp_old + 40)) >"$hp_sys/nr_hugepages"
	hp_before=$(hp_avail)
	if [ "$hp_before" -lt 32 ]; then
		skip huge-pages "the host could not make 32 huge pages free"
	else
		timeout "$TIMEOUT" "$VMM" run --console none --serial-log "$work/huge.serial" \
			-k "$GUEST" -m 64M --huge-pages -p "test=counter" \
			</dev/null >/dev/null 2>"$work/huge.err" &
		pid=$!
		wait_for_line "$work/huge.serial" '^counter '
		hp_during=$(hp_avail)
		kill -TERM "$pid"
		wait "$pid"
		rc=$?
		hp_after=$(hp_avail)
		# 64 MiB of RAM is 32 pages; all back in the pool at exit
		if [ "$rc" -eq 0 ] && [ $((hp_before - hp_during)) -eq 32 ] &&
		   [ "$hp_after" -eq "$hp_before" ]; then
			pass huge-pages
		else
			fail huge-pages "rc=$rc, pages available before/during/after: $hp_before/$hp_during/$hp_after; $(head -c 200 "$work/huge.err")"
		fi
	fi
	echo "$hp_old" >"$hp_sys/nr_hugepages"
fi

# a guest that runs until stopped from outside: SIGTERM stops it, exit 0
timeout "$TIMEOUT" "$VMM" run --console none --serial-log "$work/counter.serial" \
	-k "$GUEST" -p "test=counter" </dev/null >/dev/null 2>"$work/counter.err" &
pid=$!
for _ in $(seq 100); do
	n=$(grep -c '^counter ' "$work/counter.serial" 2>/dev/null)
	[ "${n:-0}" -ge 3 ] && break
	sleep 0.1
done
kill -TERM "$pid"
wait "$pid"
rc=$?
n=$(grep -c '^counter ' "$work/counter.serial")
if [ "$rc" -eq 0 ] && [ "$n" -ge 3 ] && grep -q "stopped by signal TERM" "$work/counter.err"; then
	pass counter-sigterm
else
	fail counter-sigterm "rc=$rc, $n counter lines, stderr: $(head -c 200 "$work/counter.err")"
fi

# --console none: nothing on stdout, all of it in the log
run console-none -k "$GUEST" -p "test=hello"
if [ ! -s "$work/console-none.out" ] && grep -q "TESTGUEST PASS hello" "$work/console-none.serial"; then
	pass console-none
else
	fail console-none "stdout had $(wc -c <"$work/console-none.out") bytes"
fi

# console on stdio with stdin a pipe: output on stdout
timeout "$TIMEOUT" "$VMM" run -k "$GUEST" -p "test=hello" </dev/null \
	>"$work/stdio.out" 2>"$work/stdio.err"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "TESTGUEST PASS hello" "$work/stdio.out"; then
	pass console-stdio-pipe
else
	fail console-stdio-pipe "rc=$rc"
fi

# typed input reaches the guest: from a pipe, byte for byte (sent once
# the guest listens: its UART driver clears the FIFO at boot, and a slow
# start -- vmm-san in a loaded emulated host -- took longer than a sleep)
{ wait_for_line "$work/echo-pipe.out" "echo: ready"; printf 'piped line 42\n'; } |
	timeout "$TIMEOUT" "$VMM" run -k "$GUEST" -p "test=echo" \
	>"$work/echo-pipe.out" 2>"$work/echo-pipe.err"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "^echo: piped line 42" "$work/echo-pipe.out" &&
   grep -q "TESTGUEST PASS echo" "$work/echo-pipe.out"; then
	pass console-input-pipe
else
	fail console-input-pipe "rc=$rc: $(tail -c 300 "$work/echo-pipe.out")"
fi

# 20,000 bytes through a pipe whose writer then hangs up: every byte
# arrives once (input waiting for the guest used to be lost on hang-up)
rm -f "$work/rx.fifo"
mkfifo "$work/rx.fifo"
timeout "$TIMEOUT" "$VMM" run --console stdio -k "$GUEST" -p "test=rxcount" \
	<"$work/rx.fifo" >"$work/rx.out" 2>"$work/rx.err" &
rxpid=$!
exec 4>"$work/rx.fifo"
if wait_for_line "$work/rx.out" "rxcount: ready"; then
	head -c 20000 /dev/zero | tr '\0' 'a' >&4
	printf . >&4
fi
exec 4>&-
wait "$rxpid"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "^rxcount: 20000 bytes" "$work/rx.out"; then
	pass console-input-no-loss
else
	fail console-input-no-loss "rc=$rc: $(grep -a rxcount "$work/rx.out" | tail -1)"
fi

# input that arrived before the guest's UART driver, which clears the
# FIFO, must not stall what follows (the console used to wait forever)
rm -f "$work/rx2.fifo"
mkfifo "$work/rx2.fifo"
timeout 30 "$VMM" run --console stdio -k "$GUEST" -p "test=rxcount delay=1500 clear=10" \
	<"$work/rx2.fifo" >"$work/rx2.out" 2>"$work/rx2.err" &
rxpid=$!
exec 4>"$work/rx2.fifo"
if wait_for_line "$work/rx2.out" "rxcount: ready"; then
	# more than the UART's FIFO and the console's buffer hold, sent while
	# the guest reads nothing: backed up when it clears its FIFO
	head -c 5000 /dev/zero | tr '\0' 'b' >&4
	wait_for_line "$work/rx2.out" "cleared the FIFO"
	head -c 100 /dev/zero | tr '\0' 'c' >&4
	printf . >&4
fi
# the writer stays open until vmm exits: a hang-up must not be what
# gets the input moving again
wait "$rxpid"
rc=$?
exec 4>&-
got=$(grep -a "^rxcount: [0-9]* bytes" "$work/rx2.out" | grep -o "[0-9]*" | head -1)
if [ "$rc" -eq 0 ] && [ -n "$got" ] && [ "$got" -ge 110 ]; then
	pass console-input-after-fifo-clear
else
	fail console-input-after-fifo-clear "rc=$rc, guest counted '${got:-nothing}'"
fi

# on a terminal: raw mode (Enter arrives as CR), Ctrl-A Ctrl-A sends one
# Ctrl-A, and Ctrl-A x quits with exit status 0
if command -v script >/dev/null; then
	# (typed once the guest listens: earlier keys can be flushed with the
	# terminal's mode change or cleared with the guest's UART FIFO)
	{ wait_for_line "$work/echo-tty.typescript" "echo: ready"
	  printf 'tty\001\001line\r'; sleep 5; } |
		timeout "$TIMEOUT" script -qefc "'$VMM' run -k '$GUEST' -p test=echo" \
		"$work/echo-tty.typescript" >/dev/null 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && grep -aq "^echo: tty.line" "$work/echo-tty.typescript" &&
	   [ "$(grep -a '^echo: tty' "$work/echo-tty.typescript" | tr -cd '\001' | wc -c)" -eq 1 ]; then
		pass console-input-tty
	else
		fail console-input-tty "rc=$rc: $(tail -c 300 "$work/echo-tty.typescript" | cat -v)"
	fi
else
	skip console-input-tty "script(1) is not installed"
fi

# on a terminal: Ctrl-A x quits with exit status 0
if command -v script >/dev/null; then
	{ sleep 2; printf '\001x'; sleep 5; } |
		timeout "$TIMEOUT" script -qefc "'$VMM' run -k '$GUEST' -p test=counter" \
		"$work/tty.typescript" >/dev/null 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q "quit from the console" "$work/tty.typescript" &&
	   grep -q "^counter " "$work/tty.typescript"; then
		pass console-quit
	else
		fail console-quit "rc=$rc: $(tail -c 300 "$work/tty.typescript")"
	fi
else
	skip console-quit "script(1) is not installed"
fi

# on a terminal, Ctrl-A x quits even when the guest has not read its input
# for a long while (the console used to stop reading the terminal)
if command -v script >/dev/null; then
	{ sleep 2; head -c 3000 /dev/zero | tr '\0' 'z'; sleep 1; printf '\001x'; sleep 10; } |
		timeout 30 script -qefc "'$VMM' run -k '$GUEST' -p test=counter" \
		"$work/tty2.typescript" >/dev/null 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q "quit from the console" "$work/tty2.typescript"; then
		pass console-quit-while-guest-deaf
	else
		fail console-quit-while-guest-deaf "rc=$rc (124: Ctrl-A x was not seen)"
	fi
fi

# on a terminal: Ctrl-A h lists the keys; Ctrl-A and a key that means
# nothing says so (and both keys still reach the guest)
if command -v script >/dev/null; then
	{ sleep 2; printf '\001h'; sleep 1; printf '\001q'; sleep 1; printf '\001x'; sleep 3; } |
		timeout 30 script -qefc "'$VMM' run -k '$GUEST' -p test=counter" \
		"$work/esc.typescript" >/dev/null 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q "Ctrl-A x  *quit" "$work/esc.typescript" &&
	   grep -q "Ctrl-A q is not an escape key" "$work/esc.typescript"; then
		pass console-escape-help
	else
		fail console-escape-help "rc=$rc: $(grep -a 'vmm:' "$work/esc.typescript" | head -3 | tr '\r\n' '  ')"
	fi
else
	skip console-escape-help "script(1) is not installed"
fi

# `vmm run ... &` at an interactive shell (job control on a terminal): vmm
# must not stop itself (SIGTTOU) by taking over a terminal it does not
# own, so the API answers; brought to the foreground it would take it.
# (test=counter runs until stopped on both architectures.)
if command -v script >/dev/null && command -v bash >/dev/null; then
	rm -f "$work/jc.sock"
	{ sleep 1
	  echo "'$VMM' run --api-sock '$work/jc.sock' -k '$GUEST' -p test=counter &"
	  sleep 3; echo "'$VMM' ctl '$work/jc.sock' info"
	  sleep 2; echo "'$VMM' ctl '$work/jc.sock' stop"
	  sleep 2; echo 'wait; echo "vmm exited $?"'
	  sleep 1; echo exit; } |
		timeout 60 script -qfec "bash --norc --noprofile -i" \
		"$work/jc.typescript" >/dev/null 2>&1
	rc=$?
	tr -d '\r' <"$work/jc.typescript" >"$work/jc.txt"
	if [ "$rc" -eq 0 ] && grep -q '"state": "Running"' "$work/jc.txt" &&
	   grep -q "vmm exited 0" "$work/jc.txt" && ! grep -q "Stopped" "$work/jc.txt"; then
		pass console-background-job
	else
		fail console-background-job "rc=$rc: $(grep -a -m2 'Stopped\|exited' "$work/jc.txt")"
	fi
else
	skip console-background-job "script(1) or bash is not installed"
fi

# --- virtio ------------------------------------------------------------
# a disk image whose sector 0 holds i % 256 (what the blk scenario expects)
# (the bytes as printf escapes, built without a subshell per byte: forks
# are slow in the emulated arm64 hosts)
bytes_up='' bytes_down=''
for i in $(seq 0 255); do
	printf -v bytes_up '%s\\x%02x' "$bytes_up" "$i"
	printf -v bytes_down '\\x%02x%s' "$i" "$bytes_down"
done
make_disk() {
	printf '%b%b' "$bytes_up" "$bytes_up" >"$1"
	truncate -s 1M "$1"
}
# the bitwise complement of sector 0: what the guest writes to sector 1
expected_sector1() {
	printf '%b%b' "$bytes_down" "$bytes_down"
}

make_disk "$work/disk.img"
scenario blk 1 --disk "$work/disk.img,id=vmmdisk0" -p "test=blk"
if cmp -s <(dd if="$work/disk.img" bs=512 skip=1 count=1 status=none) \
	<(expected_sector1); then
	pass blk-host-sees-write
else
	fail blk-host-sees-write "sector 1 of the image is not the complement of sector 0"
fi
grep -q "^blk: id=vmmdisk0" "$work/blk.cpus1.serial" &&
	pass blk-get-id || fail blk-get-id "$(grep 'blk: id' "$work/blk.cpus1.serial")"

# the same with the io_uring engine
make_disk "$work/disk-uring.img"
scenario blk-uring:blk 1 --disk "$work/disk-uring.img,id=vmmdisk0,io=uring" -p "test=blk"
if cmp -s <(dd if="$work/disk-uring.img" bs=512 skip=1 count=1 status=none) \
	<(expected_sector1); then
	pass blk-uring-host-sees-write
else
	fail blk-uring-host-sees-write "sector 1 of the image is not the complement of sector 0"
fi

make_disk "$work/ro.img"
cp "$work/ro.img" "$work/ro.orig"
scenario blk-ro 1 --disk "$work/ro.img,ro" -p "test=blk-ro"
cmp -s "$work/ro.img" "$work/ro.orig" && pass blk-ro-image-unchanged ||
	fail blk-ro-image-unchanged "the read-only image changed"

make_disk "$work/hostile.img"
scenario hostile-queue 1 --disk "$work/hostile.img" -p "test=hostile-queue"
# where the disk is: the guest says
addr=$(sed -n 's/^virtio: virtio-blk #0 at \(0x[0-9a-f]*\) .*/\1/p' \
	"$work/hostile-queue.cpus1.serial" | head -n1)
if [ -n "$addr" ] && grep -q "virtio-blk at $addr: malformed request on the queue; device needs a reset" \
	"$work/hostile-queue.cpus1.err"; then
	pass hostile-queue-logged
else
	fail hostile-queue-logged "no 'virtio-blk at ${addr:-?}: ... device needs a reset' line on stderr"
fi

# two VMs cannot write one image
make_disk "$work/locked.img"
timeout "$TIMEOUT" "$VMM" run --console none -k "$GUEST" -p "test=counter" \
	--disk "$work/locked.img" </dev/null >/dev/null 2>&1 &
holder=$!
# until vmm holds its lock on the image (/proc/locks: FLOCK ... MAJ:MIN:INODE),
# taken at start-up, well before the guest runs
ino=$(stat -c %i "$work/locked.img")
for _ in $(seq 50); do
	grep -Eq "FLOCK +ADVISORY +WRITE +[0-9]+ [0-9a-f]+:[0-9a-f]+:$ino " /proc/locks && break
	sleep 0.1
done
refuse disk-locked "in use by another VM" -k "$GUEST" --disk "$work/locked.img"
kill -TERM "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
refuse disk-missing "disk .*No such file or directory" -k "$GUEST" \
	--disk "$work/nonexistent.img"
refuse disk-bad-option "unknown option 'rx'" -k "$GUEST" --disk "$work/disk.img,rx"

# virtio console: output on the terminal, typed input to the guest
{ sleep 1; printf 'typed into hvc0\n'; } |
	timeout "$TIMEOUT" "$VMM" run -k "$GUEST" -p "test=console" --console virtio \
	>"$work/vcon.out" 2>"$work/vcon.err"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "^virtio-console: hello from hvc0" "$work/vcon.out" &&
   grep -q "^echo: typed into hvc0" "$work/vcon.out" &&
   grep -q "TESTGUEST PASS console" "$work/vcon.out"; then
	pass virtio-console
else
	fail virtio-console "rc=$rc: $(tail -c 300 "$work/vcon.out")"
fi

exit $failed
