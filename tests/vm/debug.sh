#!/usr/bin/env bash
# Debugging a guest, on this machine's /dev/kvm with the test guest:
#
#   gdb.*      Debian's gdb in batch mode against --gdb: a breakpoint at a
#              test-guest function (symbols from its ELF), registers, a
#              variable, a single step, a watchpoint that triggers, memory
#              written, detach and the guest runs on to PASS; 2 vCPUs as
#              threads; a Unix socket; attaching to a running guest and
#              Ctrl-C (gdb's own, SIGINT); software breakpoints written
#              into and masked out of guest memory; a hostile packet
#              stream and a second client against the live stub
#   sysrq.*    a serial BREAK and the next key (the control API, Ctrl-A b
#              on a terminal) as the guest's 8250 driver sees them
#   nmi        an NMI from the control API reaches the guest
#   timestamps --serial-timestamps in the serial log
#
# This machine's nested KVM emulates guest kernel code and cannot run an
# int3 there (ENVIRONMENT.md), nor does its emulator check data
# breakpoints: gdb's breakpoints here are hardware ones (hbreak) and its
# watchpoint a software one (gdb single-steps); int3 and debug-register
# watchpoints are tested in the emulated host (tests/e2e/x86_64.sh).
#
# Prints PASS: vm.debug.NAME / FAIL: ... / SKIP: ...; exit 1 on failure.
set -u
cd "$(dirname "$0")/../.."
CHECK_PREFIX=vm.debug
. tests/vm/common.sh

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

if [ ! -x "$VMM" ] || [ ! -f "$GUEST" ]; then
	fail build "missing $VMM or $GUEST (run make check)"
	exit 1
fi
if [ ! -e /dev/kvm ]; then
	skip all "/dev/kvm is absent on this machine"
	exit 0
fi
have_gdb=1
command -v gdb >/dev/null || have_gdb=0
if ! command -v python3 >/dev/null; then
	skip all "python3 is not installed (scripts/install-deps --test)"
	exit 0
fi
RSP="python3 tests/vm/rsp.py"

# start NAME ARGS...: vmm in the background, console in $work/NAME.serial,
# the control socket at $work/NAME.sock; sets pid.
start() {
	local name=$1; shift
	rm -f "$work/$name.sock"
	timeout "$TIMEOUT" "$VMM" run --api-sock "$work/$name.sock" --console none \
		--serial-log "$work/$name.serial" "$@" </dev/null \
		>"$work/$name.out" 2>"$work/$name.err" &
	pid=$!
	pids+=("$pid")
}

# wait_for FILE PATTERN: up to 30 s
wait_for() {
	for _ in $(seq 300); do
		grep -aq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# The TCP port vmm chose for --gdb 0, from its stderr line.
gdb_port() {
	wait_for "$work/$1.err" "gdb: .* on 127.0.0.1:" &&
		sed -n 's/.*gdb: .* on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/$1.err" | head -n1
}

# finish NAME: wait for vmm; sets rc; no sanitizer report allowed.
finish() {
	wait "$pid"
	rc=$?
	if grep -q "ERROR: AddressSanitizer\|runtime error:" "$work/$1.err"; then
		rc=99
	fi
}

# gdb_batch NAME PORT-OR-PATH COMMANDS...: gdb on the test guest's ELF.
gdb_batch() {
	local name=$1 target=$2; shift 2
	local args=(-batch -nx -ex "set pagination off" -ex "set confirm off"
		    -ex "target remote $target")
	for c in "$@"; do args+=(-ex "$c"); done
	timeout 60 gdb "${args[@]}" "$GUEST" >"$work/$name.gdb" 2>&1
}

has() { grep -aq -- "$2" "$work/$1"; }
why() { echo "$1; gdb: $(tail -n 4 "$work/$2.gdb" 2>/dev/null | tr '\n' '|'); vmm: $(tail -n 2 "$work/$2.err" | tr '\n' '|')"; }

# --- gdb: a whole session on one vCPU --------------------------------------
if [ "$have_gdb" -eq 1 ]; then
	start one -k "$GUEST" -p test=debug -m 64M --gdb 0 --gdb-wait
	port=$(gdb_port one)
	tick=$(printf '0x%x' "$((16#$(nm "$GUEST" | awk '$3 == "debug_tick" { print $1 }')))")
	gdb_batch one "127.0.0.1:$port" \
		"info threads" \
		"hbreak debug_tick" \
		"continue" \
		"print n" "print debug_counter" "info registers rip" \
		"stepi" "print \$pc" \
		"continue" "print n" \
		"delete" \
		"set var debug_poke = 7" \
		"set can-use-hw-watchpoints 0" \
		"watch debug_watched" \
		"continue" \
		"delete" \
		"detach"
	finish one
	if [ -z "$port" ]; then
		fail gdb.listen "no 'gdb: waiting on 127.0.0.1:PORT' line: $(head -c 300 "$work/one.err")"
	else
		pass gdb.listen
	fi
	if has one.gdb "Thread 1 (vCPU 0) pvh_start"; then
		pass gdb.wait-stops-at-first-instruction
	else
		fail gdb.wait-stops-at-first-instruction "$(why "not at pvh_start" one)"
	fi
	# shellcheck disable=SC2016 # gdb's $1, $2, $3: literal
	if has one.gdb "Breakpoint 1, debug_tick (n=1)" && has one.gdb '^\$1 = 1$' &&
	   has one.gdb '^\$2 = 0$'; then
		pass gdb.breakpoint-and-variables
	else
		fail gdb.breakpoint-and-variables "$(why "no hit with n=1, debug_counter=0" one)"
	fi
	if grep -aq "^rip  *$tick  *$tick <debug_tick>" "$work/one.gdb"; then
		pass gdb.registers
	else
		fail gdb.registers "$(why "rip is not debug_tick ($tick)" one)"
	fi
	# stepi moves past debug_tick's first instruction, still inside it
	# shellcheck disable=SC2016
	if grep -aq '^\$3 = .*<debug_tick+[1-9][0-9]*>' "$work/one.gdb"; then
		pass gdb.stepi
	else
		fail gdb.stepi "$(why "\$pc after stepi is not inside debug_tick" one)"
	fi
	if has one.gdb "Breakpoint 1, debug_tick (n=2)"; then
		pass gdb.continue-hits-again
	else
		fail gdb.continue-hits-again "$(why "no second hit" one)"
	fi
	if has one.gdb "Old value = 0" && has one.gdb "New value = 30"; then
		pass gdb.watchpoint
	else
		fail gdb.watchpoint "$(why "watch debug_watched did not trigger 0 -> 30" one)"
	fi
	if [ "$rc" -eq 0 ] && grep -q "^TESTGUEST PASS debug counter=15 watched=30 poke=7" "$work/one.serial" &&
	   has one.gdb "Inferior 1 (Remote target) detached"; then
		pass gdb.memory-write-and-detach
	else
		fail gdb.memory-write-and-detach "rc=$rc; guest: $(grep TESTGUEST "$work/one.serial")"
	fi
else
	skip gdb "gdb is not installed (scripts/install-deps --test)"
fi

# --- gdb: two vCPUs are two threads ----------------------------------------
if [ "$have_gdb" -eq 1 ]; then
	start smp -k "$GUEST" -p test=debug -m 64M -c 2 --gdb 0 --gdb-wait
	port=$(gdb_port smp)
	gdb_batch smp "127.0.0.1:$port" "info threads" "hbreak debug_tick" "continue" \
		"thread 2" "info registers rip" "thread 1" "print n" "delete" "detach"
	finish smp
	if has smp.gdb "2    Thread 2 (vCPU 1)" && has smp.gdb "Thread 1 hit Breakpoint 1, debug_tick" &&
	   grep -aq "^rip  *0xfff0 " "$work/smp.gdb" &&
	   [ "$rc" -eq 0 ] && grep -q "^TESTGUEST PASS debug" "$work/smp.serial"; then
		pass gdb.two-vcpus
	else
		fail gdb.two-vcpus "rc=$rc; $(why "threads, the AP's reset rip or the hit missing" smp)"
	fi
fi

# --- gdb: a Unix socket, 0600, gone at exit ---------------------------------
if [ "$have_gdb" -eq 1 ]; then
	start unix -k "$GUEST" -p test=debug -m 64M --gdb "$work/gdb.sock" --gdb-wait
	wait_for "$work/unix.err" "gdb: waiting on" >/dev/null
	mode=$(stat -c %a "$work/gdb.sock" 2>/dev/null)
	gdb_batch unix "$work/gdb.sock" "hbreak debug_tick" "continue" "delete" "detach"
	finish unix
	if [ "$mode" = 600 ] && has unix.gdb "Breakpoint 1, debug_tick" && [ "$rc" -eq 0 ] &&
	   [ ! -e "$work/gdb.sock" ]; then
		pass gdb.unix-socket
	else
		fail gdb.unix-socket "mode '$mode', rc=$rc, socket left: $([ -e "$work/gdb.sock" ] && echo yes); $(why "" unix)"
	fi
fi

# --- attaching to a running guest: where is it? Ctrl-C ----------------------
counter_lines() { grep -c '^counter ' "$work/$1.serial"; }
if [ "$have_gdb" -eq 1 ]; then
	start run -k "$GUEST" -p test=counter -m 64M --gdb 0
	port=$(gdb_port run)
	wait_for "$work/run.serial" "^counter 3" >/dev/null
	# gdb's own Ctrl-C: SIGINT to gdb while it waits in `continue`.
	# --foreground: otherwise timeout passes a signal on to gdb and then
	# to its whole process group, gdb among it, and a second SIGINT while
	# the first is pending makes gdb give up the target
	timeout --foreground 60 gdb -batch -nx -ex "set pagination off" -ex "target remote 127.0.0.1:$port" \
		-ex "continue" -ex "bt" -ex "detach" "$GUEST" >"$work/run.gdb" 2>&1 &
	gdbpid=$!
	# only once gdb has attached (it prints where the guest stopped) and
	# gone on to `continue`: attaching takes longer on a loaded machine,
	# and a SIGINT before that asks gdb to give up the target
	wait_for "$work/run.gdb" " in " || true
	sleep 1
	kill -INT "$gdbpid"
	wait "$gdbpid"
	n1=$(counter_lines run); sleep 1.5; n2=$(counter_lines run)
	"$VMM" ctl "$work/run.sock" stop >/dev/null
	finish run
	if has run.gdb "Program received signal SIGINT" && has run.gdb "in test_counter" &&
	   [ "$n2" -gt "$n1" ] && [ "$rc" -eq 0 ]; then
		pass gdb.attach-running-and-ctrl-c
	else
		fail gdb.attach-running-and-ctrl-c "counter $n1 -> $n2 after detach, rc=$rc; $(why "" run)"
	fi
fi

# --- the protocol itself: Ctrl-C, a client that vanishes, a second client,
# the API's resume refused while gdb holds the guest -------------------------
start rsp -k "$GUEST" -p test=counter -m 64M --gdb 0
port=$(gdb_port rsp)
wait_for "$work/rsp.serial" "^counter 2" >/dev/null
out=$($RSP "$port" interrupt 2>&1)
n1=$(counter_lines rsp); sleep 1.5; n2=$(counter_lines rsp)
if [[ $out == "stop T02thread:1;"* ]] && [ "$n2" -gt "$n1" ]; then
	pass rsp.interrupt-then-vanish
else
	fail rsp.interrupt-then-vanish "client: '$out'; counter $n1 -> $n2 after the client left"
fi
python3 - "$port" "$VMM" "$work/rsp.sock" >"$work/hold.out" 2>&1 <<'PY'
import socket, subprocess, sys, time
port, vmm, sock = sys.argv[1:4]
def frame(d): return b"$" + d + b"#" + b"%02x" % (sum(d) & 0xff)
s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
s.sendall(frame(b"?"))
time.sleep(0.5)
s.recv(4096)
r = subprocess.run([vmm, "ctl", sock, "resume"], capture_output=True, text=True)
print("resume-status", r.returncode, r.stderr.strip())
s.sendall(frame(b"D"))
time.sleep(0.5)
PY
if grep -q "resume-status 1 .*debugger" "$work/hold.out"; then
	pass rsp.api-resume-refused-while-stopped
else
	fail rsp.api-resume-refused-while-stopped "$(cat "$work/hold.out")"
fi
out=$($RSP "$port" second 2>&1)
if [ "$out" = "second refused" ] && grep -q "refused a second connection" "$work/rsp.err"; then
	pass rsp.one-client-at-a-time
else
	fail rsp.one-client-at-a-time "client: '$out'"
fi
"$VMM" ctl "$work/rsp.sock" stop >/dev/null
finish rsp
[ "$rc" -eq 0 ] || fail rsp.exit "vmm exited $rc: $(tail -n 3 "$work/rsp.err")"

# --- software breakpoints: written into guest memory, masked from reads, ---
# removed again (the guest reads its own code to tell)
spare=$(nm "$GUEST" | awk '$3 == "debug_spare" { print $1 }')
first=$(objdump -d --start-address=0x"$spare" --stop-address=$((0x$spare + 1)) "$GUEST" |
	awk -F'\t' '/^ *[0-9a-f]+:/ { split($2, b, " "); print b[1]; exit }')
start swin -k "$GUEST" -p test=debug -m 64M --gdb 0 --gdb-wait
port=$(gdb_port swin)
out=$($RSP "$port" swbreak "$spare" "$first" resume 2>&1)
finish swin
if [ "$out" = "masked ok" ] && [ "$rc" -eq 0 ] &&
   grep -q "^TESTGUEST PASS debug .* spare=0xcc" "$work/swin.serial"; then
	pass rsp.swbreak-written-and-masked
else
	fail rsp.swbreak-written-and-masked "client: '$out' (want byte $first); rc=$rc; guest: $(grep TESTGUEST "$work/swin.serial")"
fi
start swout -k "$GUEST" -p test=debug -m 64M --gdb 0 --gdb-wait
port=$(gdb_port swout)
out=$($RSP "$port" swbreak "$spare" "$first" 2>&1)
finish swout
if [ "$out" = "masked ok" ] && [ "$rc" -eq 0 ] &&
   grep -q "^TESTGUEST PASS debug .* spare=0x$first" "$work/swout.serial"; then
	pass rsp.swbreak-removed
else
	fail rsp.swbreak-removed "client: '$out'; rc=$rc; guest: $(grep TESTGUEST "$work/swout.serial")"
fi

# --- a hostile stream: vmm (ASan/UBSan) survives, the guest is untouched ----
start hostile -k "$GUEST" -p test=debug -m 64M --gdb 0 --gdb-wait
port=$(gdb_port hostile)
out=$($RSP "$port" hostile 17 2>&1)
finish hostile
if [[ $out == "hostile survived"* ]] && [ "$rc" -eq 0 ] &&
   grep -q "^TESTGUEST PASS debug counter=15 watched=30 poke=0" "$work/hostile.serial"; then
	pass "rsp.hostile-stream (${out#hostile survived })"
else
	fail rsp.hostile-stream "client: '$out'; rc=$rc (99: sanitizer); $(grep -m1 'ERROR\|runtime error' "$work/hostile.err")"
fi

# --- Magic SysRq: a BREAK, then the key -------------------------------------
start brk -k "$GUEST" -p test=break -m 64M
if wait_for "$work/brk.serial" "break: ready"; then
	"$VMM" ctl "$work/brk.sock" sysrq t >"$work/brk.ctl" 2>&1
fi
finish brk
if [ "$rc" -eq 0 ] && grep -q "^TESTGUEST PASS break lsr=0x[0-9a-f]* then 't'" "$work/brk.serial"; then
	pass sysrq.api
else
	fail sysrq.api "rc=$rc; ctl: $(cat "$work/brk.ctl" 2>/dev/null); guest: $(grep TESTGUEST "$work/brk.serial")"
fi
start brkbad -k "$GUEST" -p test=counter -m 64M
wait_for "$work/brkbad.serial" "^counter 1" >/dev/null
"$VMM" ctl "$work/brkbad.sock" sysrq tt >"$work/brkbad.ctl" 2>&1; bad1=$?
"$VMM" ctl "$work/brkbad.sock" sysrq >>"$work/brkbad.ctl" 2>&1; bad2=$?
"$VMM" ctl "$work/brkbad.sock" stop >/dev/null
finish brkbad
if [ "$bad1" -eq 1 ] && [ "$bad2" -eq 1 ] && grep -q "one printable character" "$work/brkbad.ctl"; then
	pass sysrq.api-refuses-bad-keys
else
	fail sysrq.api-refuses-bad-keys "status $bad1/$bad2: $(tr '\n' '|' <"$work/brkbad.ctl")"
fi
if command -v script >/dev/null; then
	{ sleep 2; printf '\001bk'; sleep 4; } |
		timeout 30 script -qefc "'$VMM' run -k '$GUEST' -p test=break" \
		"$work/brk-tty.typescript" >/dev/null 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && grep -aq "TESTGUEST PASS break lsr=0x[0-9a-f]* then 'k'" "$work/brk-tty.typescript"; then
		pass sysrq.ctrl-a-b
	else
		fail sysrq.ctrl-a-b "rc=$rc: $(tail -c 300 "$work/brk-tty.typescript" | cat -v)"
	fi
else
	skip sysrq.ctrl-a-b "script(1) is not installed"
fi

# --- NMI --------------------------------------------------------------------
start nmi -k "$GUEST" -p test=nmi -m 64M
if wait_for "$work/nmi.serial" "nmi: ready"; then
	"$VMM" ctl "$work/nmi.sock" nmi >"$work/nmi.ctl" 2>&1
fi
finish nmi
if [ "$rc" -eq 0 ] && grep -q "^TESTGUEST PASS nmi nmis=1" "$work/nmi.serial"; then
	pass nmi
else
	fail nmi "rc=$rc; ctl: $(cat "$work/nmi.ctl" 2>/dev/null); guest: $(grep TESTGUEST "$work/nmi.serial")"
fi

# --- timestamps in the serial log -------------------------------------------
timeout "$TIMEOUT" "$VMM" run -k "$GUEST" -p test=hello -m 64M --console none \
	--serial-log "$work/plain.serial" </dev/null >/dev/null 2>&1
timeout "$TIMEOUT" "$VMM" run -k "$GUEST" -p test=hello -m 64M --console none \
	--serial-log "$work/stamped.serial" --serial-timestamps </dev/null >/dev/null 2>&1
rc=$?
# every line stamped, the stamps in order, the text the same as without
if [ "$rc" -eq 0 ] && [ -s "$work/stamped.serial" ] &&
   ! grep -qv '^\[+ *[0-9]*\.[0-9]\{6\}\] ' "$work/stamped.serial" &&
   sed 's/^\[+ *\([0-9.]*\)\] .*/\1/' "$work/stamped.serial" | sort -c -n &&
   diff <(sed 's/^\[+ *[0-9.]*\] //' "$work/stamped.serial" | grep -v 'boot timer') \
	<(grep -v 'boot timer' "$work/plain.serial") >/dev/null; then
	pass "timestamps ($(head -n1 "$work/stamped.serial" | cut -c1-40))"
else
	fail timestamps "rc=$rc: $(head -n 3 "$work/stamped.serial" | tr '\n' '|')"
fi

exit "$failed"
