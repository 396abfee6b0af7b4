#!/usr/bin/env bash
# vmm jail with the test guest: the guest boots and its disk works with
# vmm as an unprivileged uid with no capabilities, inside a root that
# holds only its files (a host path given to its API is not found), in
# its cgroups and network namespace; SIGTERM stops it; every failure is
# one line, and nothing is left behind.
#
# Needs root and the static build ($BUILD/vmm-static): the jail holds no
# libraries. Prints PASS: vm.jail.NAME / FAIL: ... / SKIP: ... lines.
set -u
cd "$(dirname "$0")/../.."
CHECK_PREFIX=vm.jail
. tests/vm/common.sh
JAILED=${JAILED:-$BUILD/vmm-static}
UID_=43210 # uid and gid of the jailed vmm: no such user needed

work=$(mktemp -d)
base=$work/base
ns=vmmjail-$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	for m in "$work/ro" "$work/other"; do umount "$m" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

ALL="boot-disk cleaned-up unprivileged no-host-files api-socket cgroup
	sigterm api-host-path-not-found other-filesystem netns
	refuse-no-uid refuse-missing-kernel refuse-base-read-only refuse-id-exists
	refuse-dynamic refuse-cgroup-value refuse-unreadable refuse-not-netns
	host-devices-untouched"
skip_all() {
	for t in $ALL; do skip "$t" "$1"; done
	exit 0
}
if [ ! -x "$JAILED" ] || [ ! -f "$GUEST" ]; then
	fail build "missing $JAILED or $GUEST (run make check)"
	exit 1
fi
[ "$(id -u)" -eq 0 ] || skip_all "needs root (namespaces, device nodes, setuid)"
[ -e /dev/kvm ] || skip_all "/dev/kvm is absent on this machine"

# The jail's root must be reachable for the uid: the work directory too.
chmod 755 "$work"
host_devs=$(stat -c '%n %F %t:%T' /dev/kvm /dev/net/tun 2>&1)

# a disk image whose sector 0 holds i % 256 (what the blk scenario expects)
make_disk() {
	local f=$1 i
	: >"$f"
	for i in 0 1; do
		for i in $(seq 0 255); do printf "\\x$(printf %02x "$i")"; done
	done >>"$f"
	truncate -s 1M "$f"
	chown "$UID_:$UID_" "$f"
}

# jail NAME JAIL-OPTIONS... -- RUN-OPTIONS: the jailed vmm in the
# foreground, console to $work/NAME.serial; sets rc
jail() {
	local name=$1; shift
	timeout "$TIMEOUT" "$JAILED" jail --id "$name" --uid "$UID_" --gid "$UID_" \
		--base "$base" "$@" </dev/null >"$work/$name.out" 2>"$work/$name.err"
	rc=$?
}

# gone NAME: nothing of jail NAME is left in the base directory
gone() { [ ! -e "$base/$1" ]; }

# refuse NAME PATTERN ARGS...: exit 1, one stderr line matching, no trace
refuse() {
	local name=$1 pattern=$2 lines; shift 2
	"$@" </dev/null >"$work/$name.out" 2>"$work/$name.err"
	rc=$?
	lines=$(wc -l <"$work/$name.err")
	if [ "$rc" -ne 1 ]; then
		fail "$name" "expected exit status 1, got $rc: $(head -c 300 "$work/$name.err")"
	elif [ "$lines" -ne 1 ] || ! grep -q -- "$pattern" "$work/$name.err"; then
		fail "$name" "expected one line with '$pattern': $(head -c 300 "$work/$name.err")"
	elif [ -e "$base/$name" ]; then
		fail "$name" "left $base/$name behind"
	else
		pass "$name"
	fi
}

# --- the guest and its disk, then nothing left ----------------------------
make_disk "$work/disk.img"
jail boot-disk -- --console none --serial-log "$work/boot-disk.serial" \
	--disk "$work/disk.img,id=jaildisk" -k "$GUEST" -p test=blk
if [ "$rc" -eq 0 ] && grep -q "^TESTGUEST PASS blk" "$work/boot-disk.serial" &&
   grep -q "^blk: id=jaildisk" "$work/boot-disk.serial" &&
   [ "$(dd if="$work/disk.img" bs=1 skip=512 count=1 status=none | od -An -tu1 | tr -d ' ')" = 255 ]; then
	pass boot-disk
else
	fail boot-disk "rc=$rc: $(head -c 300 "$work/boot-disk.err") $(tail -n 2 "$work/boot-disk.serial" 2>/dev/null)"
fi
# the base directory too: the jail made it
if gone boot-disk && [ ! -e "$base" ]; then
	pass cleaned-up
else
	fail cleaned-up "$(find "$base" 2>&1 | head -n 5 | tr '\n' ' ')"
fi

# --- a running jail: who vmm is, what it sees, its cgroup, SIGTERM ----------
make_disk "$work/run.img"
"$JAILED" jail --id run --uid "$UID_" --gid "$UID_" --base "$base" \
	--cgroup pids.max=64 -- --console none --serial-log "$work/run.serial" \
	--api-sock api.sock --disk "$work/run.img" -k "$GUEST" -p test=counter \
	</dev/null >"$work/run.out" 2>"$work/run.err" &
jailer=$!
pids+=("$jailer")
for _ in $(seq 100); do
	grep -q "^counter " "$work/run.serial" 2>/dev/null && break
	sleep 0.1
done
vmm=$(cat "$base/run/pid" 2>/dev/null)
if [ -z "$vmm" ] || [ ! -d "/proc/$vmm" ]; then
	for t in unprivileged no-host-files api-socket cgroup sigterm; do
		fail "$t" "the jailed vmm did not start: $(head -c 300 "$work/run.err")"
	done
else
	st=$(cat "/proc/$vmm/status")
	want_ids="$UID_	$UID_	$UID_	$UID_"
	if grep -qx "Uid:	$want_ids" <<<"$st" && grep -qx "Gid:	$want_ids" <<<"$st" &&
	   [ "$(grep -c '^Cap[A-Za-z]*:	0000000000000000$' <<<"$st")" -eq 5 ] &&
	   grep -qx 'NoNewPrivs:	1' <<<"$st" && grep -qx 'Seccomp:	2' <<<"$st"; then
		pass unprivileged
	else
		fail unprivileged "$(grep -E '^(Uid|Gid|Cap|NoNewPrivs|Seccomp)' <<<"$st" | tr '\n' ' ')"
	fi
	# its root holds the jail's files and nothing else, in one mount
	seen=$(ls -A "/proc/$vmm/root/" | sort | tr '\n' ' ')
	want="api.sock dev run.img run.serial $(basename "$GUEST") vmm "
	mounts=$(wc -l <"/proc/$vmm/mountinfo")
	if [ "$seen" = "$want" ] && [ "$(ls -A "/proc/$vmm/root/dev")" = kvm ] &&
	   [ "$mounts" -eq 1 ] && [ ! -e "/proc/$vmm/root/etc" ]; then
		pass no-host-files
	else
		fail no-host-files "root: '$seen' (want '$want'), $mounts mounts"
	fi
	s=$(python3 - "$base/run/root/api.sock" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
print(s.recv(4096).decode(errors="replace"))
EOF
)
	[[ $s == *'"state":"Running"'* ]] && pass api-socket || fail api-socket "$s"
	cg=$(grep ':pids:' "/proc/$vmm/cgroup" | cut -d: -f3)
	cgdir=$(awk '$3 == "cgroup" && $4 ~ /(^|,)pids(,|$)/ { print $2; exit }' /proc/mounts)$cg
	if [[ $cg == */vmm/run ]] && [ "$(cat "$cgdir/pids.max" 2>/dev/null)" = 64 ]; then
		cg_ok=1
	else
		cg_ok=0
		cg_why="cgroup '$cg', pids.max '$(cat "$cgdir/pids.max" 2>&1)'"
	fi
	kill -TERM "$jailer"
	wait "$jailer"
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q "stopped by signal TERM" "$work/run.err" && gone run; then
		pass sigterm
	else
		fail sigterm "rc=$rc, left: $(ls "$base" 2>&1): $(tail -n 2 "$work/run.err")"
	fi
	if [ "$cg_ok" -eq 1 ] && [ ! -e "$cgdir" ]; then
		pass cgroup
	else
		fail cgroup "${cg_why:-$cgdir is left}"
	fi
fi

# --- the API cannot reach the host's files ---------------------------------
"$JAILED" jail --id api --uid "$UID_" --gid "$UID_" --base "$base" -- \
	--console none --serial-log "$work/api.serial" --api-sock api.sock \
	</dev/null >"$work/api.out" 2>"$work/api.err" &
jailer=$!
pids+=("$jailer")
for _ in $(seq 100); do [ -S "$base/api/root/api.sock" ] && break; sleep 0.1; done
api() { # METHOD PATH [BODY]: "STATUS BODY"
	python3 - "$base/api/root/api.sock" "$@" <<'EOF'
import socket, sys
sock, method, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else b""
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
r = s.recv(65536).decode(errors="replace")
print(r.split(" ")[1], r.split("\r\n\r\n", 1)[1])
EOF
}
api PUT /boot-source "{\"kernel_image_path\": \"$(realpath "$GUEST")\", \"boot_args\": \"test=hello\"}" >/dev/null
s1=$(api PUT /actions '{"action_type": "InstanceStart"}')
s2=$(api GET /)
# the same kernel, put in the jail by the host: it boots
ln "$GUEST" "$base/api/root/guest" 2>/dev/null || cp "$GUEST" "$base/api/root/guest"
api PUT /boot-source '{"kernel_image_path": "/guest", "boot_args": "test=hello"}' >/dev/null
s3=$(api PUT /actions '{"action_type": "InstanceStart"}')
wait "$jailer"
rc=$?
if [[ $s1 == 400*"No such file or directory"* ]] && [[ $s2 == *'"Not started"'* ]] &&
   [[ $s3 == 204* ]] && [ "$rc" -eq 0 ] &&
   grep -q "^TESTGUEST PASS hello" "$work/api.serial" && gone api; then
	pass api-host-path-not-found
else
	fail api-host-path-not-found "rc=$rc; $s1; $s2; $s3"
fi

# --- a file on another filesystem: bind-mounted, read-only ------------------
mkdir -p "$work/other"
if mount -t tmpfs -o size=4M tmpfs "$work/other" 2>/dev/null; then
	make_disk "$work/other/ro.img"
	cp "$work/other/ro.img" "$work/ro.orig"
	jail other -- --console none --serial-log "$work/other.serial" \
		--disk "$work/other/ro.img,ro" -k "$GUEST" -p test=blk-ro
	if [ "$rc" -eq 0 ] && grep -q "^TESTGUEST PASS blk-ro" "$work/other.serial" &&
	   cmp -s "$work/other/ro.img" "$work/ro.orig" && gone other; then
		pass other-filesystem
	else
		fail other-filesystem "rc=$rc: $(head -c 300 "$work/other.err")"
	fi
	umount "$work/other"
else
	skip other-filesystem "cannot mount a tmpfs"
fi

# --- a network namespace with a TAP the uid owns ----------------------------
if command -v ip >/dev/null && ip netns add "$ns" 2>/dev/null &&
   ip -n "$ns" tuntap add vmmjt0 mode tap user "$UID_" 2>/dev/null &&
   ip -n "$ns" link set vmmjt0 up; then
	# the TAP exists only in $ns: vmm, without CAP_NET_ADMIN, must be there
	jail net --netns "/run/netns/$ns" -- --console none \
		--serial-log "$work/net.serial" --net tap=vmmjt0 -k "$GUEST" -p test=hello
	if [ "$rc" -eq 0 ] && grep -q "^TESTGUEST PASS hello" "$work/net.serial" &&
	   ! grep -q "TAP" "$work/net.err" && gone net; then
		pass netns
	else
		fail netns "rc=$rc: $(head -c 300 "$work/net.err")"
	fi
else
	skip netns "cannot make a network namespace with a TAP (ip netns, tun)"
fi

# --- failures: one line each, nothing left ----------------------------------
J=("$JAILED" jail --uid "$UID_" --gid "$UID_" --base "$base")
refuse refuse-no-uid "jail: --uid is required" \
	"$JAILED" jail --id x --gid 1 --base "$base" -- -k "$GUEST"
refuse refuse-missing-kernel "jail: --kernel $work/nonexistent: No such file or directory" \
	"${J[@]}" --id refuse-missing-kernel -- -k "$work/nonexistent"
mkdir -p "$work/ro"
if mount -t tmpfs -o ro,size=1M tmpfs "$work/ro" 2>/dev/null; then
	refuse refuse-base-read-only "jail: --base $work/ro/jails: Read-only file system" \
		"$JAILED" jail --id x --uid "$UID_" --gid "$UID_" --base "$work/ro/jails" \
		-- -k "$GUEST"
	umount "$work/ro"
else
	skip refuse-base-read-only "cannot mount a tmpfs"
fi
mkdir -p "$base/refuse-id-exists/mine"
"${J[@]}" --id refuse-id-exists -- -k "$GUEST" </dev/null >/dev/null 2>"$work/exists.err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "refuse-id-exists exists: a VM with id refuse-id-exists runs" \
	"$work/exists.err" && [ -d "$base/refuse-id-exists/mine" ]; then
	pass refuse-id-exists
else
	fail refuse-id-exists "rc=$rc, $(cat "$work/exists.err"); another's directory must stay"
fi
rm -rf "$base/refuse-id-exists"
if [ -x "$BUILD/vmm" ] && readelf -l "$BUILD/vmm" 2>/dev/null | grep -q INTERP; then
	refuse refuse-dynamic "is dynamically linked, and the jail holds no libraries" \
		"$BUILD/vmm" jail --id refuse-dynamic --uid "$UID_" --gid "$UID_" \
		--base "$base" -- -k "$GUEST"
else
	skip refuse-dynamic "no dynamically linked $BUILD/vmm here"
fi
refuse refuse-cgroup-value "jail: --cgroup pids.max=lots: .*Invalid argument" \
	"${J[@]}" --id refuse-cgroup-value --cgroup pids.max=lots -- -k "$GUEST"
cp "$GUEST" "$work/private-kernel"
chmod 600 "$work/private-kernel"
refuse refuse-unreadable "jail: --kernel $work/private-kernel (/private-kernel in the jail): not readable for its user: Permission denied" \
	"${J[@]}" --id refuse-unreadable -- -k "$work/private-kernel"
refuse refuse-not-netns "jail: --netns $work/disk.img: not a network namespace" \
	"${J[@]}" --id refuse-not-netns --netns "$work/disk.img" -- -k "$GUEST"

# the jail removes the nodes it made in its root, never the host's
now=$(stat -c '%n %F %t:%T' /dev/kvm /dev/net/tun 2>&1)
[ "$now" = "$host_devs" ] && pass host-devices-untouched ||
	fail host-devices-untouched "before: $host_devs; after: $now"

exit $failed
