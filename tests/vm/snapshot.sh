#!/usr/bin/env bash
# Snapshot and restore with the test guest: PUT /snapshot/create on a
# paused VM, then vmm run --restore (and PUT /snapshot/load) in a new vmm:
# the guest goes on where it was (its counter, its disk queue, a half
# typed console line), ten restores of one snapshot run at once sharing
# its memory file, and damaged snapshots are refused with one clear line.
#
# Prints PASS: vm.snapshot.NAME / FAIL: ... / SKIP: ...; exit 1 on failure.
set -u
cd "$(dirname "$0")/../.."
CHECK_PREFIX=vm.snapshot
. tests/vm/common.sh

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

if [ ! -e /dev/kvm ]; then
	skip all "/dev/kvm is absent on this machine"
	exit 0
fi
if ! command -v python3 >/dev/null; then
	skip all "python3 is not installed (scripts/install-deps --test)"
	exit 0
fi

# http SOCK METHOD PATH [BODY]: prints "STATUS BODY"
http() {
	python3 - "$@" <<'PY'
import socket, sys
sock, method, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else b""
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sock)
req = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
if body:
    req += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
s.sendall(req.encode() + b"\r\n" + body)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, _, rest = data.partition(b"\r\n\r\n")
print(head.split(b" ")[1].decode(), rest.decode())
PY
}

wait_sock() {
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

wait_line() { # FILE PATTERN [tenths]
	for _ in $(seq "${3:-100}"); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# boot NAME ARGS...: vmm in the background, API socket $work/NAME.sock
boot() {
	local name=$1; shift
	"$VMM" run --api-sock "$work/$name.sock" --console none \
		--serial-log "$work/$name.serial" "$@" </dev/null \
		>"$work/$name.out" 2>"$work/$name.err" &
	pid=$!
	pids+=("$pid")
	wait_sock "$work/$name.sock"
}

# snap NAME: pause the VM of NAME and snapshot it to $work/NAME.{snap,mem}
snap() {
	local s
	s=$(http "$work/$1.sock" PATCH /vm '{"state":"Paused"}')
	[[ $s == 204* ]] || { echo "pause: $s"; return 1; }
	s=$(http "$work/$1.sock" PUT /snapshot/create \
		"{\"snapshot_type\":\"Full\",\"snapshot_path\":\"$work/$1.snap\",\"mem_file_path\":\"$work/$1.mem\"}")
	[[ $s == 204* ]] || { echo "create: $s"; return 1; }
}

counters() { grep -a '^counter ' "$1" | tr -d '\r' | awk '{print $2}'; }

# --pit: the PIT's state is saved and restored with it (the snapshot's
# machine-config says so), and a virtio-pci guest's MSI-X routes. Both
# are x86-64's: an aarch64 VM has the architected timer and no PCI.
if [ "$GUEST_ARCH" = x86_64 ]; then
	boot pit -k "$GUEST" -p test=counter -m 64M --pit
	wait_line "$work/pit.serial" '^counter 2' || fail pit-boot "no counter lines"
	if out=$(snap pit); then
		kill "$pid"; wait "$pid" 2>/dev/null
		plast=$(counters "$work/pit.serial" | tail -1)
		timeout "$TIMEOUT" "$VMM" run --restore "$work/pit.snap" --mem-file "$work/pit.mem" \
			--console none --serial-log "$work/pitr.serial" </dev/null \
			>"$work/pitr.out" 2>"$work/pitr.err" &
		rpid=$!
		pids+=("$rpid")
		wait_line "$work/pitr.serial" "^counter $((plast + 3))"
		kill "$rpid"; wait "$rpid" 2>/dev/null
		[ "$(counters "$work/pitr.serial" | head -1)" = $((plast + 1)) ] &&
			pass pit-restore || fail pit-restore "$(tail -n 2 "$work/pitr.err" | tr '\n' ' ')"
	else
		fail pit-restore "$out"
		kill "$pid"; wait "$pid" 2>/dev/null
	fi
	# --virtio pci: a disk read and its MSI-X interrupt every 100 ms go on
	# after a restore, so the restored MSI-X table brought the vector's GSI
	# route and irqfd back (without them the guest stops with "no MSI-X
	# interrupt"), and the counter goes on from where it was
	head -c 1048576 /dev/zero >"$work/pci.img"
	boot pci -k "$GUEST" -p "test=pci-msix loop=1" -m 64M --virtio pci --disk "$work/pci.img"
	wait_line "$work/pci.serial" '^counter 2' || fail pci-boot "no counter lines: $(grep -a TESTGUEST "$work/pci.serial")"
	if out=$(snap pci); then
		kill "$pid"; wait "$pid" 2>/dev/null
		plast=$(counters "$work/pci.serial" | tail -1)
		timeout "$TIMEOUT" "$VMM" run --restore "$work/pci.snap" --mem-file "$work/pci.mem" \
			--console none --serial-log "$work/pcir.serial" </dev/null \
			>"$work/pcir.out" 2>"$work/pcir.err" &
		rpid=$!
		pids+=("$rpid")
		wait_line "$work/pcir.serial" "^counter $((plast + 5))" 300
		kill "$rpid"; wait "$rpid" 2>/dev/null
		if [ "$(counters "$work/pcir.serial" | head -1)" = $((plast + 1)) ] &&
		   [ "$(counters "$work/pcir.serial" | tail -1)" -ge $((plast + 5)) ]; then
			pass pci-msix-restore
		else
			fail pci-msix-restore "$(grep -a TESTGUEST "$work/pcir.serial") $(tail -n 2 "$work/pcir.err" | tr '\n' ' ')"
		fi
	else
		fail pci-msix-restore "$out"
		kill "$pid"; wait "$pid" 2>/dev/null
	fi
else
	skip pit-restore "--pit is x86-64's (an $GUEST_ARCH guest has the architected timer)"
	skip pci-msix-restore "the $GUEST_ARCH platform has no virtio-pci transport"
fi

# --- the counter goes on from where it was --------------------------------
boot cnt -k "$GUEST" -p test=counter -m 64M -c 2
wait_line "$work/cnt.serial" '^counter 3' || fail counter-boot "no counter lines"
s=$(http "$work/cnt.sock" PUT /snapshot/create \
	"{\"snapshot_path\":\"$work/x.snap\",\"mem_file_path\":\"$work/x.mem\"}")
[[ $s == 400*"not allowed while the VM is Running"* ]] && pass create-running-refused ||
	fail create-running-refused "$s"
if out=$(snap cnt); then pass create; else fail create "$out"; fi
t_cnt=$(date +%s.%N)
s=$(http "$work/cnt.sock" PUT /snapshot/create \
	"{\"snapshot_type\":\"Diff\",\"snapshot_path\":\"$work/x.snap\",\"mem_file_path\":\"$work/x.mem\"}")
[[ $s == 400*"Diff"*"not supported"* ]] && pass diff-refused-by-name || fail diff-refused-by-name "$s"
last=$(counters "$work/cnt.serial" | tail -1)
# the memory file has holes where the guest's zero pages are
alloc=$(du -k "$work/cnt.mem" | cut -f1)
size=$(($(stat -c %s "$work/cnt.mem") / 1024))
[ "$size" -eq 65536 ] && [ "$alloc" -lt 8192 ] && pass mem-file-sparse ||
	fail mem-file-sparse "$size KiB, $alloc KiB allocated"
kill "$pid"; wait "$pid" 2>/dev/null

timeout "$TIMEOUT" "$VMM" run --restore "$work/cnt.snap" --mem-file "$work/cnt.mem" \
	--console none --serial-log "$work/r1.serial" --boot-timer </dev/null \
	>"$work/r1.out" 2>"$work/r1.err" &
rpid=$!
pids+=("$rpid")
wait_line "$work/r1.serial" "^counter $((last + 5))"
kill "$rpid"; wait "$rpid" 2>/dev/null
first=$(counters "$work/r1.serial" | head -1)
n=$(counters "$work/r1.serial" | wc -l)
dups=$(counters "$work/r1.serial" | sort | uniq -d | wc -l)
if [ "$first" = $((last + 1)) ] && [ "$n" -ge 5 ] && [ "$dups" -eq 0 ]; then
	pass counter-continues
else
	fail counter-continues "last before $last, first after ${first:-none}, $n lines, $dups repeated"
fi
grep -q 'restore_start=.*restore_done=.*first_kvm_run=' "$work/r1.err" &&
	pass timeline-restore || fail timeline-restore "$(tail -2 "$work/r1.err")"
echo "  (from vmm's start: $(grep -o 'restore_start=.*first_kvm_run=[0-9.]*ms' "$work/r1.err") with $VMM)"

# --- aarch64: the guest's virtual counter goes on from the saved value -----
# KVM_REG_ARM_TIMER_CNT of vCPU 0 in two snapshots, the second of a VM
# restored from the first after 3 s on disk: the guest's time between them
# is the time it ran, not the wall clock's (which has the 3 s in it)
timer_cnt() { # SNAPSHOT: vCPU 0's virtual counter
	python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
n, at = struct.unpack_from("<I", b, 32)[0], 64
for _ in range(n):
    name = b[at:at + 28].split(b"\0")[0]
    size = struct.unpack_from("<Q", b, at + 32)[0]
    data, at = b[at + 40:at + 40 + size], at + 40 + size
    if name != b"vcpu:0":
        continue
    p = 16
    p += 4 + struct.unpack_from("<I", data, p)[0]   # the events blob
    nregs, p = struct.unpack_from("<I", data, p)[0], p + 4
    for _ in range(nregs):
        rid = struct.unpack_from("<Q", data, p)[0]
        width = 1 << ((rid >> 52) & 0xf)
        if rid == 0x603000000013DF1A:                # KVM_REG_ARM_TIMER_CNT
            print(struct.unpack_from("<Q", data, p + 8)[0])
        p += 8 + width
PY
}
if [ "$GUEST_ARCH" = aarch64 ]; then
	sleep 3
	"$VMM" run --restore "$work/cnt.snap" --mem-file "$work/cnt.mem" \
		--api-sock "$work/ct.sock" --console none --serial-log "$work/ct.serial" \
		</dev/null >/dev/null 2>"$work/ct.err" &
	pid=$!
	pids+=("$pid")
	wait_sock "$work/ct.sock"
	wait_line "$work/ct.serial" "^counter $((last + 5))"
	if out=$(snap ct); then
		t_ct=$(date +%s.%N)
		mhz=$(grep -ao 'architected timer at [0-9]* MHz' "$work/cnt.serial" | awk '{print $4}')
		c0=$(timer_cnt "$work/cnt.snap")
		c1=$(timer_cnt "$work/ct.snap")
		read -r guest wall < <(awk -v c0="${c0:-0}" -v c1="${c1:-0}" -v f="${mhz:-0}" \
			-v t0="$t_cnt" -v t1="$t_ct" \
			'BEGIN { printf "%.2f %.2f\n", f ? (c1 - c0) / (f * 1e6) : -1, t1 - t0 }')
		echo "  (virtual counter: +${guest} s between the two snapshots, wall clock +${wall} s)"
		if [ -n "$c0" ] && [ -n "$c1" ] && [ -n "$mhz" ] &&
		   awk -v g="$guest" -v w="$wall" 'BEGIN { exit !(g >= 0.4 && g < w - 2.5) }'; then
			pass virtual-counter-continues
		else
			fail virtual-counter-continues "counter $c0 -> $c1 at ${mhz:-?} MHz: +$guest s in the guest, +$wall s on the wall clock"
		fi
	else
		fail virtual-counter-continues "$out"
	fi
	kill "$pid"; wait "$pid" 2>/dev/null
fi

# --- PUT /snapshot/load, Firecracker's fields -----------------------------
boot load
s=$(http "$work/load.sock" PUT /snapshot/load \
	"{\"snapshot_path\":\"$work/cnt.snap\",\"mem_backend\":{\"backend_type\":\"Uffd\",\"backend_path\":\"/x\"}}")
[[ $s == 400*"Uffd"*"not supported"* ]] && pass load-uffd-refused || fail load-uffd-refused "$s"
s=$(http "$work/load.sock" PUT /snapshot/load \
	"{\"snapshot_path\":\"$work/cnt.snap\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$work/cnt.mem\"},\"resume_vm\":false}")
[[ $s == 204* ]] && pass load || fail load "$s"
s=$(http "$work/load.sock" GET /)
[[ $s == *'"state":"Paused"'* ]] && pass load-paused || fail load-paused "$s"
sleep 0.5
[ "$(counters "$work/load.serial" | wc -l)" -eq 0 ] && pass load-paused-runs-nothing ||
	fail load-paused-runs-nothing "$(tail -1 "$work/load.serial")"
http "$work/load.sock" PATCH /vm '{"state":"Resumed"}' >/dev/null
if wait_line "$work/load.serial" "^counter $((last + 3))" &&
   [ "$(counters "$work/load.serial" | head -1)" = $((last + 1)) ]; then
	pass load-resume-continues
else
	fail load-resume-continues "$(head -2 "$work/load.serial")"
fi
# its own memory file is not overwritten
s=$(http "$work/load.sock" PATCH /vm '{"state":"Paused"}')
s=$(http "$work/load.sock" PUT /snapshot/create \
	"{\"snapshot_path\":\"$work/x.snap\",\"mem_file_path\":\"$work/cnt.mem\"}")
[[ $s == 400*"the memory file this VM was restored from"* ]] &&
	pass create-over-own-mem-file-refused || fail create-over-own-mem-file-refused "$s"
# a snapshot of a restored VM (memory mapped from the file) restores too
if out=$(snap load); then
	last2=$(counters "$work/load.serial" | tail -1)
	kill "$pid"; wait "$pid" 2>/dev/null
	timeout 5 "$VMM" run --restore "$work/load.snap" --mem-file "$work/load.mem" \
		--console none --serial-log "$work/r2.serial" </dev/null >/dev/null 2>&1
	[ "$(counters "$work/r2.serial" | head -1)" = $((last2 + 1)) ] &&
		pass snapshot-of-restored || fail snapshot-of-restored \
		"last $last2, then $(head -1 "$work/r2.serial")"
else
	fail snapshot-of-restored "$out"
fi

# --- ten restores of one snapshot at once, sharing its memory file ---------
rp=()
for i in $(seq 10); do
	"$VMM" run --restore "$work/cnt.snap" --mem-file "$work/cnt.mem" \
		--console none --serial-log "$work/m$i.serial" </dev/null \
		>/dev/null 2>"$work/m$i.err" &
	rp+=($!)
	pids+=($!)
done
ok=0
for i in $(seq 10); do
	wait_line "$work/m$i.serial" "^counter $((last + 3))" && ok=$((ok + 1))
done
pss=0
for p in "${rp[@]}"; do
	k=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
	pss=$((pss + ${k:-0}))
done
for p in "${rp[@]}"; do kill "$p" 2>/dev/null; done
for p in "${rp[@]}"; do wait "$p" 2>/dev/null; done
[ "$ok" -eq 10 ] && pass ten-restores-at-once || fail ten-restores-at-once "$ok of 10 counted on"
echo "  (PSS per restored VM: $((pss / 10)) KiB with $VMM)"

# --- a disk's queue split by a snapshot, both I/O engines ------------------
truncate -s 64M "$work/disk.img"
for io in thread uring; do
	boot "blk$io" -k "$GUEST" -m 64M --disk "$work/disk.img,io=$io" \
		-p "test=blkbench bs=4096 qd=16 mode=both reqs=150000"
	wait_line "$work/blk$io.serial" '^blkbench: read+write' || true
	sleep 1
	if out=$(snap "blk$io"); then
		kill "$pid"; wait "$pid" 2>/dev/null
		timeout "$TIMEOUT" "$VMM" run --restore "$work/blk$io.snap" \
			--mem-file "$work/blk$io.mem" --console none \
			--serial-log "$work/blk$io-r.serial" </dev/null >/dev/null \
			2>"$work/blk$io-r.err"
		rc=$?
		if [ "$rc" -eq 0 ] && ! grep -q 'TESTGUEST PASS' "$work/blk$io.serial" &&
		   grep -q 'TESTGUEST PASS blkbench' "$work/blk$io-r.serial"; then
			pass "blk-$io-queue-survives"
		else
			fail "blk-$io-queue-survives" "rc=$rc: $(tail -2 "$work/blk$io-r.serial") $(tail -1 "$work/blk$io-r.err")"
		fi
	else
		fail "blk-$io-queue-survives" "$out"
	fi
done

# another file for a drive at restore (--disk PATH,id=ID), by id only
cp "$work/disk.img" "$work/copy.img"
timeout "$TIMEOUT" "$VMM" run --restore "$work/blkthread.snap" --mem-file "$work/blkthread.mem" \
	--disk "$work/copy.img,id=disk.img" --console none --serial-log "$work/ov.serial" \
	</dev/null >/dev/null 2>"$work/ov.err"
rc=$?
[ "$rc" -eq 0 ] && grep -q 'TESTGUEST PASS blkbench' "$work/ov.serial" &&
	pass disk-override || fail disk-override "rc=$rc: $(tail -1 "$work/ov.err")"
timeout "$TIMEOUT" "$VMM" run --restore "$work/blkthread.snap" --mem-file "$work/blkthread.mem" \
	--disk "$work/copy.img,id=nope" --console none </dev/null >/dev/null 2>"$work/ov.err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "the snapshot has no drive 'nope'" "$work/ov.err" &&
	pass disk-override-unknown-id-refused ||
	fail disk-override-unknown-id-refused "rc=$rc: $(cat "$work/ov.err")"

# --- a half-typed console line (UART and guest memory) survives -----------
mkfifo "$work/in"
# typed once the guest listens (it empties the UART's FIFO first)
{ wait_line "$work/echo.out" '^echo: ready'; sleep 0.3; printf 'snap'; sleep 20; } \
	>"$work/in" &
pids+=($!)
disown $!
"$VMM" run --api-sock "$work/echo.sock" -k "$GUEST" -p test=echo -m 64M \
	<"$work/in" >"$work/echo.out" 2>"$work/echo.err" &
pid=$!
pids+=("$pid")
wait_sock "$work/echo.sock"
wait_line "$work/echo.out" '^echo: ready'
sleep 1
if out=$(snap echo); then
	kill "$pid"; wait "$pid" 2>/dev/null
	printf 'shot\n' | timeout "$TIMEOUT" "$VMM" run --restore "$work/echo.snap" \
		--mem-file "$work/echo.mem" >"$work/echo-r.out" 2>"$work/echo-r.err"
	grep -aq '^echo: snapshot' "$work/echo-r.out" &&
		grep -aq 'TESTGUEST PASS echo' "$work/echo-r.out" &&
		pass console-line-survives ||
		fail console-line-survives "$(tail -c 200 "$work/echo-r.out")"
else
	fail console-line-survives "$out"
fi

# --- damaged, foreign and mismatched snapshots: one line, nothing run ------
# patch FILE OFFSET HEXBYTES [fixcrc]: overwrite bytes, optionally fix the
# header's checksum (so that the field itself is what is refused)
patch() {
	python3 - "$@" <<'PY'
import sys, zlib
path, off, hexb = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
b = bytearray(open(path, "rb").read())
b[off:off + len(hexb)] = hexb
if len(sys.argv) > 4:
    b[60:64] = zlib.crc32(bytes(b[:60])).to_bytes(4, "little")
open(path, "wb").write(bytes(b))
PY
}
refused() { # NAME EXPECTED-REGEX SNAPSHOT [MEM]
	local rc
	timeout "$TIMEOUT" "$VMM" run --restore "$3" --mem-file "${4:-$work/cnt.mem}" \
		--console none </dev/null >"$work/bad.out" 2>"$work/bad.err"
	rc=$?
	if [ "$rc" -eq 1 ] && [ "$(wc -l <"$work/bad.err")" -eq 1 ] &&
	   grep -Eq "$2" "$work/bad.err"; then
		pass "$1"
	else
		fail "$1" "rc=$rc: $(cat "$work/bad.err")"
	fi
}
cp "$work/cnt.snap" "$work/bad.snap"; patch "$work/bad.snap" 2000 ff
refused corrupt-refused "cnt|bad.snap: section .*: wrong checksum" "$work/bad.snap"
head -c 5000 "$work/cnt.snap" >"$work/bad.snap"
refused truncated-refused "truncated: the header says" "$work/bad.snap"
cp "$work/cnt.snap" "$work/bad.snap"; patch "$work/bad.snap" 8 0200 fix
refused version-refused "format version 2\.0; this vmm reads version 1\.x only" "$work/bad.snap"
cp "$work/cnt.snap" "$work/bad.snap"
if [ "$GUEST_ARCH" = x86_64 ]; then
	patch "$work/bad.snap" 12 02000000 fix
	refused arch-refused "made on aarch64, this is x86_64" "$work/bad.snap"
else
	patch "$work/bad.snap" 12 01000000 fix
	refused arch-refused "made on x86_64, this is aarch64" "$work/bad.snap"
fi
refused not-a-snapshot-refused "not a vmm snapshot file" "$GUEST"
head -c 1048576 "$work/cnt.mem" >"$work/bad.mem"
refused mem-file-mismatch-refused "mem-file .*: not the memory file of this snapshot" \
	"$work/cnt.snap" "$work/bad.mem"
s=$("$VMM" --snapshot-version 2>&1)
[ "$s" = v1.0.0 ] && pass fc-snapshot-version || fail fc-snapshot-version "$s"
s=$("$VMM" --describe-snapshot "$work/cnt.snap" 2>&1)
[ "$s" = v1.0.0 ] && pass fc-describe-snapshot || fail fc-describe-snapshot "$s"

exit "$failed"
