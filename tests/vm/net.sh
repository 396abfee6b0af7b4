#!/usr/bin/env bash
# virtio-net tests: the test guest's `net` scenario on a TAP interface in a
# private network namespace, with the host side played by a small Python
# AF_PACKET helper; plus the TAP set-up failures a user can run into.
#
# Prints one line per check: PASS: vm.net.NAME / FAIL: vm.net.NAME: why /
# SKIP: vm.net.NAME: reason. Exit status 1 if anything failed.
set -u
cd "$(dirname "$0")/../.."
CHECK_PREFIX=vm.net
. tests/vm/common.sh

TAP=vmmtap0
GUEST_MAC=52:54:00:12:34:56
ns=vmmtest-$$
work=$(mktemp -d)
helper_pid=
cleanup() {
	[ -n "$helper_pid" ] && kill "$helper_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

ALL="persistent-tap persistent-tap-frames create-tap create-tap-gone no-tun no-cap-net-admin tap-busy netns-gone"
skip_all() {
	for t in $ALL; do skip "$t" "$1"; done
	exit $failed
}

if [ ! -x "$VMM" ] || [ ! -f "$GUEST" ]; then
	fail build "missing $VMM or $GUEST (run make check)"
	exit 1
fi
[ -e /dev/kvm ] || skip_all "/dev/kvm is absent on this machine"
{ exec 3<>/dev/kvm; } 2>/dev/null || skip_all "/dev/kvm is not accessible to $(id -un)"
exec 3>&-
command -v ip >/dev/null || skip_all "ip(8) is not installed"
ip netns add "$ns" 2>/dev/null ||
	skip_all "cannot create a network namespace (ip netns add: needs root)"
[ -c /dev/net/tun ] || skip_all "/dev/net/tun is absent (tun module not loaded?)"
command -v python3 >/dev/null || skip_all "python3 is not installed (the host-side helper)"

# The host end of the wire, inside the namespace:
#   nethelper.py IFACE GUEST_MAC CAPTURE SEND
# waits for IFACE to exist and be up, binds an AF_PACKET socket for
# EtherType 0x88b5 and writes "ready" to stdout; then prints "rx PAYLOAD"
# for each frame the guest sends until CAPTURE have come (plus a second to
# catch duplicates), then sends SEND frames "vmm-host-net N" to GUEST_MAC.
cat >"$work/nethelper.py" <<'EOF'
import os, socket, sys, time

iface, mac, capture, send = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ETHERTYPE = 0x88b5
PACKET_OUTGOING = 4

def log(*a):
    print(*a, flush=True)

deadline = time.monotonic() + 30
while True:
    try:
        with open(f"/sys/class/net/{iface}/flags") as f:
            if int(f.read(), 16) & 1:
                break
    except FileNotFoundError:
        pass
    if time.monotonic() > deadline:
        log(f"error: {iface} did not come up")
        sys.exit(1)
    time.sleep(0.01)

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
s.bind((iface, ETHERTYPE))
log("ready")

got, until = 0, time.monotonic() + 60
while capture and time.monotonic() < until:
    s.settimeout(max(until - time.monotonic(), 0.01))
    try:
        frame, addr = s.recvfrom(65536)
    except socket.timeout:
        break
    if addr[2] == PACKET_OUTGOING or len(frame) < 14:
        continue
    payload = frame[14:].rstrip(b"\0").decode(errors="replace")
    log(f"rx src={frame[6:12].hex(':')} dst={frame[0:6].hex(':')} {payload}")
    got += 1
    if got == capture:
        until = time.monotonic() + 1  # anything more is a duplicate
if got < capture:
    log(f"error: captured {got} of {capture} frames")

dst = bytes.fromhex(mac.replace(":", ""))
src = bytes.fromhex("020000000001")
for i in range(send):
    body = f"vmm-host-net {i}".encode()
    frame = dst + src + ETHERTYPE.to_bytes(2, "big") + body
    s.send(frame.ljust(60, b"\0"))
    log(f"tx vmm-host-net {i}")
EOF

# start_helper NAME CAPTURE SEND: the helper in the background, in $ns.
start_helper() {
	ip netns exec "$ns" python3 "$work/nethelper.py" "$TAP" "$GUEST_MAC" \
		"$2" "$3" >"$work/$1.helper" 2>&1 &
	helper_pid=$!
}

# run NAME VMM-ARGS...: vmm in $ns, console only to a log; sets rc.
run() {
	local name=$1; shift
	ip netns exec "$ns" timeout "$TIMEOUT" "$VMM" run --console none \
		--serial-log "$work/$name.serial" "$@" \
		</dev/null >"$work/$name.out" 2>"$work/$name.err"
	rc=$?
}

# check_guest NAME: vmm exit 0, PASS line, each host frame exactly once.
check_guest() {
	local id=$1 n
	if [ "$rc" -ne 0 ]; then
		fail "$id" "vmm exited $rc: $(tail -n 3 "$work/$id.err" | tr '\n' ' ')"
		return
	fi
	if grep -q "ERROR: AddressSanitizer\|runtime error:" "$work/$id.err"; then
		fail "$id" "sanitizer report: $(grep -m1 'ERROR\|runtime error' "$work/$id.err")"
		return
	fi
	for i in 0 1; do
		n=$(tr -d '\r' <"$work/$id.serial" | grep -c "^net: got vmm-host-net $i\$")
		if [ "$n" -ne 1 ]; then
			fail "$id" "guest got 'vmm-host-net $i' $n times: $(grep '^net:\|TESTGUEST' "$work/$id.serial" | tail -n 4 | tr '\n' ' ')"
			return
		fi
	done
	if ! grep -q "^TESTGUEST PASS net" "$work/$id.serial"; then
		fail "$id" "no PASS line; guest said: $(grep TESTGUEST "$work/$id.serial" | head -n 2 | tr '\n' ' ')"
		return
	fi
	pass "$id"
}

wait_helper_ready() {
	for _ in $(seq 300); do
		grep -q "^ready\|^error" "$work/$1.helper" 2>/dev/null && return
		sleep 0.1
	done
}

# --- an existing persistent TAP: vmm attaches to it ------------------------
# The helper binds before the guest can send, so no frame can slip by.
id=persistent-tap
ip -n "$ns" tuntap add dev "$TAP" mode tap &&
	ip -n "$ns" link set "$TAP" up || fail "$id" "cannot create a persistent TAP"
start_helper "$id" 3 2
wait_helper_ready "$id"
run "$id" -k "$GUEST" --net "tap=$TAP,mac=$GUEST_MAC" -p "test=net count=3 expect=2"
wait "$helper_pid"
helper_pid=
check_guest "$id"

# the guest's frames, each exactly once, from its MAC, in order
id=persistent-tap-frames
want="src=$GUEST_MAC dst=ff:ff:ff:ff:ff:ff vmm-testguest-net"
got=$(grep '^rx ' "$work/persistent-tap.helper")
exp=$(printf "rx $want %s\n" 0 1 2)
if [ "$got" = "$exp" ]; then
	pass "$id"
else
	fail "$id" "host captured: $(tr '\n' '|' <"$work/persistent-tap.helper")"
fi
ip -n "$ns" link del "$TAP" 2>/dev/null

# --- vmm creates the TAP, and it goes away with vmm -------------------------
# The host sends as soon as the link is up, likely before the guest has
# posted receive buffers: the frames wait in the TAP's queue.
id=create-tap
start_helper "$id" 0 2
run "$id" -k "$GUEST" --net "tap=$TAP,mac=$GUEST_MAC" -p "test=net count=1 expect=2"
wait "$helper_pid"
helper_pid=
if ! grep -q "^tx vmm-host-net 1" "$work/$id.helper"; then
	fail "$id" "helper: $(tr '\n' '|' <"$work/$id.helper")"
else
	check_guest "$id"
fi
id=create-tap-gone
if ip -n "$ns" link show "$TAP" >/dev/null 2>&1; then
	fail "$id" "$TAP still exists after vmm exited"
else
	pass "$id"
fi

# --- set-up failures: exit status 1, one clear line on stderr --------------
# refuse_check NAME PATTERN
refuse_check() {
	local id=$1 pattern=$2 lines
	lines=$(wc -l <"$work/$id.err")
	if [ "$rc" -ne 1 ]; then
		fail "$id" "expected exit status 1, got $rc: $(head -c 300 "$work/$id.err")"
	elif ! grep -q -- "$pattern" "$work/$id.err"; then
		fail "$id" "stderr lacks '$pattern': $(head -c 300 "$work/$id.err")"
	elif [ "$lines" -ne 1 ]; then
		fail "$id" "expected one line on stderr, got $lines: $(head -c 300 "$work/$id.err")"
	else
		pass "$id"
	fi
}

# /dev/net/tun hidden in a private mount namespace
id=no-tun
if unshare -m true 2>/dev/null; then
	ip netns exec "$ns" timeout 30 unshare -m sh -c \
		"mount -t tmpfs none /dev/net && exec '$VMM' run -k '$GUEST' --net tap=$TAP" \
		</dev/null >/dev/null 2>"$work/$id.err"
	rc=$?
	refuse_check "$id" "/dev/net/tun: .*is the tun module loaded?"
else
	skip "$id" "cannot create a mount namespace here"
fi

# root without CAP_NET_ADMIN (dropped from the bounding set) cannot create
# a TAP; /dev/kvm stays usable, so the TAP is what fails
id=no-cap-net-admin
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
	ip netns exec "$ns" timeout 30 setpriv --bounding-set -net_admin \
		"$VMM" run -k "$GUEST" --net tap=$TAP \
		</dev/null >/dev/null 2>"$work/$id.err"
	rc=$?
	refuse_check "$id" "need CAP_NET_ADMIN / root to create TAP $TAP"
else
	skip "$id" "needs root and setpriv(1)"
fi

# a TAP another process holds
id=tap-busy
ip netns exec "$ns" python3 -c '
import fcntl, os, struct, sys, time
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH22x", sys.argv[1].encode(), 0x1002))
print("held", flush=True)
time.sleep(60)' "$TAP" >"$work/$id.holder" 2>&1 &
helper_pid=$!
for _ in $(seq 100); do
	grep -q held "$work/$id.holder" 2>/dev/null && break
	sleep 0.1
done
run "$id" -k "$GUEST" --net tap=$TAP
kill "$helper_pid" 2>/dev/null
wait "$helper_pid" 2>/dev/null
helper_pid=
refuse_check "$id" "TAP $TAP is in use by another process"

# --- the namespace is gone afterwards ----------------------------------------
ip netns del "$ns"
id=netns-gone
if ip netns list | grep -qw "$ns"; then
	fail "$id" "namespace $ns still listed"
else
	pass "$id"
fi

exit $failed
