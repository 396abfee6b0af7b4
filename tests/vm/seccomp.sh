#!/usr/bin/env bash
# seccomp in a running vmm: every thread carries exactly one filter (and
# no_new_privs), --no-seccomp leaves them bare, and a --seccomp-filter in
# Firecracker's format stops vmm at the first call it forbids, with one
# line naming the call and the thread. The built-in lists themselves are
# proven call by call in tests/unit/test_seccomp.c, and by every other VM
# and e2e test, which run under them.
#
# Prints one line per check: PASS: vm.seccomp.NAME / FAIL: ... / SKIP: ...
set -u
cd "$(dirname "$0")/../.."
CHECK_PREFIX=vm.seccomp
. tests/vm/common.sh

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

ALL="threads-confined no-seccomp filter-file-traps filter-file-args filter-file-refused"
if [ ! -x "$VMM" ] || [ ! -f "$GUEST" ]; then
	fail build "missing $VMM or $GUEST (run make check)"
	exit 1
fi
if [ ! -e /dev/kvm ]; then
	for t in $ALL; do skip "$t" "/dev/kvm is absent on this machine"; done
	exit 0
fi

# thread_report PID: "NAME Seccomp=N filters=N nnp=N" per thread, sorted
thread_report() {
	local t
	for t in /proc/"$1"/task/*; do
		awk -v name="$(cat "$t/comm")" '
			/^Seccomp:/ { s = $2 } /^Seccomp_filters:/ { f = $2 }
			/^NoNewPrivs:/ { n = $2 }
			END { printf "%s Seccomp=%s filters=%s nnp=%s\n", name, s, f, n }' \
			"$t/status"
	done | sort
}

# start NAME ARGS...: vmm in the background running the counter guest
# with 2 vCPUs, a disk and an API socket; waits for the socket
start() {
	local name=$1; shift
	truncate -s 1M "$work/$name.img"
	"$VMM" run --console none --serial-log "$work/$name.serial" \
		--api-sock "$work/$name.sock" -c 2 --disk "$work/$name.img" \
		-k "$GUEST" -p "test=counter" "$@" </dev/null \
		>/dev/null 2>"$work/$name.err" &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do
		[ -S "$work/$name.sock" ] && grep -q "^counter " "$work/$name.serial" \
			2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- the built-in filters: one per thread, every thread ------------------
if start on; then
	r=$(thread_report "$pid")
	# the threads vmm made; KVM's own worker (kvm-nx-lpage-re) inherits
	# a vCPU's filter and makes no system calls
	ours=$(grep -E '^(vmm|vmm-san|vcpu[0-9]+|blk:[^ ]+) ' <<<"$r")
	if [ "$(wc -l <<<"$ours")" -eq 4 ] &&
	   ! grep -qv 'Seccomp=2 filters=1 nnp=1$' <<<"$ours" &&
	   ! grep -qv 'Seccomp=2 ' <<<"$r"; then
		pass threads-confined
	else
		fail threads-confined "$(tr '\n' ';' <<<"$r")"
	fi
	kill -TERM "$pid"; wait "$pid" 2>/dev/null
else
	fail threads-confined "vmm did not start: $(head -c 300 "$work/on.err")"
fi

if start off --no-seccomp; then
	r=$(thread_report "$pid")
	if ! grep -qv 'Seccomp=0 ' <<<"$r"; then
		pass no-seccomp
	else
		fail no-seccomp "$(tr '\n' ';' <<<"$r")"
	fi
	kill -TERM "$pid"; wait "$pid" 2>/dev/null
else
	fail no-seccomp "vmm did not start: $(head -c 300 "$work/off.err")"
fi

# --- a user's filter (Firecracker's JSON format) ------------------------
# Permissive filters that trap one thing each: getrusage on a vCPU thread
# (the test guest's boot-timer write makes vmm read its CPU time there),
# or the KVM_RUN ioctl (44672 = 0xae80) named by its argument. (Not
# write: the SIGSYS handler needs it to say anything.)
permissive='{"default_action": "allow", "filter_action": "trap", "filter": []}'
cat >"$work/no-rusage.json" <<EOF
{
  "vmm": $permissive,
  "api": $permissive,
  "vcpu": {
    "default_action": "allow",
    "filter_action": "trap",
    "filter": [ { "syscall": "getrusage", "comment": "the boot timer" } ]
  }
}
EOF
cat >"$work/no-run.json" <<EOF
{
  "vmm": $permissive,
  "api": $permissive,
  "vcpu": {
    "default_action": "allow",
    "filter_action": "trap",
    "filter": [ { "syscall": "ioctl", "args": [ { "index": 1,
      "type": "dword", "op": "eq", "val": 44672, "comment": "KVM_RUN" } ] } ]
  }
}
EOF

# trapped NAME FILE CALL: vmm exits 1 with exactly the one seccomp line
trapped() {
	local name=$1 file=$2 call=$3 rc lines
	timeout "$TIMEOUT" "$VMM" run --console none -k "$GUEST" -p test=hello \
		--seccomp-filter "$file" </dev/null >/dev/null 2>"$work/$name.err"
	rc=$?
	lines=$(wc -l <"$work/$name.err")
	if [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ] &&
	   grep -Eq "^vmm: error: seccomp: thread 'vcpu0' made a forbidden system call: $call \([0-9]+\)$" \
		"$work/$name.err"; then
		pass "$name"
	else
		fail "$name" "rc=$rc, $lines lines: $(head -c 300 "$work/$name.err")"
	fi
}
trapped filter-file-traps "$work/no-rusage.json" getrusage
trapped filter-file-args "$work/no-run.json" ioctl

# a broken file: refused at start, one line, before anything runs
sed 's/"eq"/"equals"/' "$work/no-run.json" >"$work/bad.json"
timeout "$TIMEOUT" "$VMM" run --console none -k "$GUEST" -p test=hello \
	--seccomp-filter "$work/bad.json" </dev/null >/dev/null 2>"$work/bad.err"
rc=$?
if [ "$rc" -eq 1 ] && [ "$(wc -l <"$work/bad.err")" -eq 1 ] &&
   grep -q "^vmm: error: --seccomp-filter .*bad.json: vcpu.filter\[0\].args\[0\]: \"op\" must be" \
	"$work/bad.err"; then
	pass filter-file-refused
else
	fail filter-file-refused "rc=$rc: $(head -c 300 "$work/bad.err")"
fi

exit $failed
