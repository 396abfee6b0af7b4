#!/usr/bin/env bash
# Soak (issue 11): does vmm leak or leave anything behind over many VMs
# and one long-lived one?
#
#   tests/soak.sh [--short] [--cycles N] [--api N] [--blk N] [--vmm PATH]
#
# 1. N start/stop cycles of the test guest (default 1,000; --short: 100):
#    half power off from inside (test=hello), a quarter are stopped over
#    the API (vmm ctl SOCK stop), a quarter with SIGTERM (test=counter).
#    Each must end with status 0 and leave nothing: its API socket
#    removed, no child left (no zombie), this shell's fd count unchanged,
#    no stray vmm process.
# 2. One long-lived VM serving --api requests (default 100,000; --short
#    10,000) on keep-alive connections while its guest does --blk block
#    requests (default 1,000,000; --short 20,000: test=blkbench hold=1,
#    512-byte reads then writes, queue depth 16, then the guest halts until
#    stopped over the API). Its fds, threads and RSS are read
#    after 10% of the API requests and at the end: no growth in fds or
#    threads, RSS within 4 MiB.
# PASS/FAIL lines as the other layers; the figures on INFO lines.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
VMM=$BUILD/vmm
GUEST=${GUEST:-$BUILD/guest/testguest-$(uname -m)}
cycles=1000 api=100000 blk=1000000
while [ $# -gt 0 ]; do
	case $1 in
	--short) cycles=100 api=10000 blk=20000 ;;
	--cycles) cycles=$2; shift ;;
	--api) api=$2; shift ;;
	--blk) blk=$2; shift ;;
	--vmm) VMM=$2; shift ;;
	*) echo "usage: $0 [--short] [--cycles N] [--api N] [--blk N] [--vmm PATH]" >&2; exit 2 ;;
	esac
	shift
done
failed=0
pass() { echo "PASS: soak.$1"; }
fail() { echo "FAIL: soak.$1: $2"; failed=1; }
if [ ! -e /dev/kvm ]; then
	echo "SKIP: soak: /dev/kvm is absent on this machine"
	exit 0
fi
work=$(mktemp -d)
trap 'kill -KILL $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

myfds() { ls /proc/$$/fd | wc -l; }
children() { ps -o pid= --ppid $$ | wc -l; }
wait_sock() {
	for _ in $(seq 200); do
		[ -S "$1" ] && return 0
		sleep 0.02
	done
	return 1
}

# --- 1. start/stop cycles ----------------------------------------------------
fds0=$(myfds)
t0=$(date +%s.%N)
bad=0 off=0 apistop=0 term=0
for i in $(seq "$cycles"); do
	sock=$work/c.sock
	case $((i % 4)) in
	0|2)
		"$VMM" run --console none --serial-log "$work/c.serial" --api-sock "$sock" \
			-k "$GUEST" -p test=hello -m 32M </dev/null >"$work/c.out" 2>"$work/c.err"
		rc=$? kind=poweroff
		off=$((off + 1))
		;;
	*)
		"$VMM" run --console none --serial-log "$work/c.serial" --api-sock "$sock" \
			-k "$GUEST" -p test=counter -m 32M </dev/null >"$work/c.out" 2>"$work/c.err" &
		pid=$!
		if ! wait_sock "$sock"; then
			echo "  cycle $i: no API socket after 4 s"
			kill -KILL "$pid"
		elif [ $((i % 4)) = 1 ]; then
			"$VMM" ctl "$sock" stop >/dev/null 2>"$work/ctl.err" || {
				echo "  cycle $i: vmm ctl stop: $(head -c 200 "$work/ctl.err")"
				kill -KILL "$pid"
			}
			apistop=$((apistop + 1)) kind=api
		else
			kill -TERM "$pid"
			term=$((term + 1)) kind=sigterm
		fi
		wait "$pid"
		rc=$?
		;;
	esac
	if [ "$rc" -ne 0 ] || [ -e "$sock" ]; then
		bad=$((bad + 1))
		[ "$bad" -le 3 ] && echo "  cycle $i ($kind): status $rc, socket $( [ -e "$sock" ] && echo left || echo gone): $(head -c 200 "$work/c.err")"
	fi
done
t1=$(date +%s.%N)
fds1=$(myfds) kids=$(children)
stray=$(pgrep -f -- "--serial-log $work/c.serial" | wc -l)
echo "INFO: soak.cycles: $cycles cycles ($off powered off, $apistop API stop, $term SIGTERM) in $(echo "$t1 - $t0" | bc) s"
if [ "$bad" -eq 0 ] && [ "$fds1" -eq "$fds0" ] && [ "$kids" -le 1 ] && [ "$stray" -eq 0 ]; then
	pass cycles
else
	fail cycles "$bad cycles failed, fds $fds0 -> $fds1, children $kids, stray vmm $stray"
fi

# --- 2. one long-lived VM ------------------------------------------------------
truncate -s 64M "$work/disk.img"
sock=$work/long.sock
"$VMM" run --console none --serial-log "$work/long.serial" --api-sock "$sock" \
	--disk "$work/disk.img" -k "$GUEST" -m 64M \
	-p "test=blkbench bs=512 qd=16 mode=both reqs=$((blk / 2)) hold=1" \
	</dev/null >"$work/long.out" 2>"$work/long.err" &
vpid=$!
if ! wait_sock "$sock"; then
	fail long-lived "no API socket: $(head -c 300 "$work/long.err")"
	exit 1
fi
sample() {
	echo "$(ls /proc/$vpid/fd 2>/dev/null | wc -l) $(ls /proc/$vpid/task 2>/dev/null | wc -l)" \
		"$(awk '/^VmRSS/ {print $2}' /proc/$vpid/status 2>/dev/null)"
}
python3 - "$sock" "$api" "$work/sample" "$vpid" >"$work/api.log" 2>&1 <<'PY'
import os, socket, sys, time
path, n, sample, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def snap():
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    thr = len(os.listdir(f"/proc/{pid}/task"))
    rss = [l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")][0].split()[1]
    return f"{fds} {thr} {rss}"
reqs = [b"GET / HTTP/1.1\r\n\r\n", b"GET /machine-config HTTP/1.1\r\n\r\n",
        b"GET /vm/config HTTP/1.1\r\n\r\n", b"PUT /actions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
        b"GET /nope HTTP/1.1\r\n\r\n"]
done = bad = 0
t0 = time.time()
s = None
while done < n:
    if s is None or done % 1000 == 0:
        if s: s.close()      # a new connection now and then
        s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(path)
    s.sendall(reqs[done % len(reqs)])
    buf = b""
    while b"\r\n\r\n" not in buf:
        c = s.recv(65536)
        if not c: raise SystemExit("connection closed")
        buf += c
    head, _, body = buf.partition(b"\r\n\r\n")
    cl = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")]
    need = cl[0] if cl else 0
    while len(body) < need:
        body += s.recv(65536)
    if not head.startswith(b"HTTP/1.1 "): bad += 1
    done += 1
    if done == n // 10:
        open(sample + ".early", "w").write(snap())
open(sample + ".late", "w").write(snap())
print(f"requests {done} bad {bad} in {time.time() - t0:.1f} s")
PY
api_rc=$?
# the guest's block requests: until blkbench is done
for _ in $(seq 3000); do
	grep -q "blkbench: holding\|TESTGUEST" "$work/long.serial" 2>/dev/null && break
	kill -0 "$vpid" 2>/dev/null || break
	sleep 0.2
done
late=$(sample)
"$VMM" ctl "$sock" stop >/dev/null 2>&1 || kill -TERM "$vpid"
wait "$vpid"
vrc=$?
early=$(cat "$work/sample.early" 2>/dev/null) apilate=$(cat "$work/sample.late" 2>/dev/null)
echo "INFO: soak.api: $(tail -1 "$work/api.log")"
echo "INFO: soak.blk: $(grep -E "blkbench: (read|write) " "$work/long.serial" | tr -d '\r' | sed 's/^blkbench: //' | paste -sd ';')"
echo "INFO: soak.long-lived: fds threads RSS(KiB): after 10% of the API requests $early, after all $apilate, after the block requests $late"
read -r f0 t0 r0 <<<"$early"
read -r f1 t1 r1 <<<"$late"
if [ "$api_rc" -eq 0 ] && grep -q "bad 0" "$work/api.log" &&
   grep -q "blkbench: holding" "$work/long.serial" && [ "$vrc" -eq 0 ] &&
   [ "${f1:-999}" -le "${f0:-0}" ] && [ "${t1:-999}" -le "${t0:-0}" ] &&
   [ $(( ${r1:-999999} - ${r0:-0} )) -le 4096 ] && [ ! -e "$sock" ]; then
	pass long-lived
else
	fail long-lived "api rc $api_rc ($(tail -1 "$work/api.log")), vmm rc $vrc, $early -> $late, $(grep -m1 "TESTGUEST\|holding" "$work/long.serial")"
fi
[ "$failed" -eq 0 ]
