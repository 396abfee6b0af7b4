#!/usr/bin/env bash
# Durability of virtio-blk writes, proven by SIGKILL and by the order of
# system calls. The test guest's `durable` scenario writes 8 sectors of a
# seeded pattern, with VIRTIO_BLK_F_FLUSH negotiated and a FLUSH after
# them, or without it (then the driver expects each write to be stable
# when it completes, 5.2.6.4); it prints a line as each write completes
# and "durable: done" once all have (and the flush). The moment that line
# is in the serial log vmm gets SIGKILL.
#
# A SIGKILLed process leaves its writes in the page cache, so looking in
# the image file proves nothing. The image lives on an ext4 file system
# on a loop device instead, and the loop device is read with O_DIRECT
# right after the kill: what is there went through the file system's
# writeback, which without fdatasync/O_DSYNC does not happen for ~30 s
# (dirty_expire_centisecs). Every sector the guest saw complete must be
# there, for each disk engine (io=thread, io=uring).
#
# Then, for the thread engine, the same run under strace: the disk
# thread's pwritev2(..., RWF_DSYNC) of each sector (no FLUSH), or its
# fdatasync after the last write (FLUSH), must have returned before the
# vCPU wrote the guest's line about that completion to the serial log
# (strace stops a thread at each system call's return until it has
# printed it, so nothing the thread does next, the used-ring update the
# guest waits for included, can come earlier in the log). The uring
# engine's sync is inside its submissions (IORING_OP_FSYNC, RWF_DSYNC on
# the SQE): strace cannot show it, the SIGKILL check covers it.
#
# Needs root (a loop device and a mount); skipped otherwise.
set -u
cd "$(dirname "$0")/../.."
CHECK_PREFIX=vm.durability
. tests/vm/common.sh

work=$(mktemp -d)
mnt=$work/mnt
loopdev=
vmm_pid=
cleanup() {
	[ -n "$vmm_pid" ] && kill -KILL "$vmm_pid" 2>/dev/null
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	[ -n "$loopdev" ] && losetup -d "$loopdev"
	rm -rf "$work"
}
trap cleanup EXIT

ALL="sigkill-thread-flush sigkill-thread-noflush sigkill-uring-flush sigkill-uring-noflush strace-flush strace-noflush"
skip_all() {
	for t in $ALL; do skip "$t" "$1"; done
	exit $failed
}
[ -e /dev/kvm ] || skip_all "/dev/kvm is absent on this machine"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (a loop device and a mount)"
for c in losetup mkfs.ext4 python3; do
	command -v "$c" >/dev/null || skip_all "$c is not installed"
done
guest_has durable || skip_all "the guest has no durable scenario"

mkdir "$mnt"
truncate -s 64M "$work/fs.img"
loopdev=$(losetup --find --show "$work/fs.img") || skip_all "no loop device"
mkfs.ext4 -q -F "$loopdev" && mount "$loopdev" "$mnt" ||
	skip_all "cannot make and mount an ext4 file system on $loopdev"

# watch.py PID EXE SERIAL: SIGKILL the process running EXE, PID or one of
# its descendants (under strace, the tracer's child), as soon as SERIAL
# has "durable: done" (looked for every 0.5 ms)
cat >"$work/watch.py" <<'EOF'
import os, signal, sys, time
top, exe, serial = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def find(p):
    try:
        if os.readlink(f"/proc/{p}/exe") == exe:
            return p
        kids = open(f"/proc/{p}/task/{p}/children").read().split()
    except OSError:
        return None
    for k in kids:
        f = find(int(k))
        if f:
            return f
    return None
pid, end = None, time.monotonic() + 60
while not pid and time.monotonic() < end:
    pid = find(top)
    time.sleep(0.001)
while pid and time.monotonic() < end:
    try:
        with open(serial, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        data = b""
    if b"durable: done\n" in data:
        os.kill(pid, signal.SIGKILL)
        print("killed as the line appeared")
        sys.exit(0)
    if b"TESTGUEST FAIL" in data:
        break
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    time.sleep(0.0005)
print("error: no 'durable: done' line")
sys.exit(1)
EOF

# scan.py DEVICE IMAGE SEED N: how many of the N sectors' patterns are on
# DEVICE (read with O_DIRECT) and in IMAGE (through the page cache)
cat >"$work/scan.py" <<'EOF'
import mmap, os, sys
dev, img, seed, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def sector(k):
    unit = f"vmm-durable {seed} {k} ".encode()
    return (unit * (512 // len(unit) + 1))[:512]
fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
buf, data = mmap.mmap(-1, 1 << 20), bytearray()
while True:
    got = os.readv(fd, [buf])
    data += buf[:got]
    if got < len(buf):
        break
os.close(fd)
with open(img, "rb") as f:
    file = f.read()
on_dev = sum(sector(k) in data for k in range(n))
in_file = sum(sector(k) in file for k in range(n))
print(f"{on_dev} {in_file}")
EOF

# run_durable ID ENGINE FLUSH [PREFIX...]: the scenario, killed at its
# line; sets rc and seed
run_durable() {
	local id=$1 engine=$2 flush=$3
	shift 3
	seed=$((RANDOM * 32768 + RANDOM))
	rm -f "$mnt/$id.img" "$work/$id.serial"
	truncate -s 1M "$mnt/$id.img"
	"$@" "$VMM" run --console none --serial-log "$work/$id.serial" \
		-k "$GUEST" -m 64M --disk "$mnt/$id.img,io=$engine" \
		-p "test=durable flush=$flush n=8 seed=$seed" \
		</dev/null >"$work/$id.out" 2>"$work/$id.err" &
	vmm_pid=$!
	# (bash's "Killed" notice for the job goes nowhere)
	{
		python3 "$work/watch.py" "$vmm_pid" "$(realpath "$VMM")" \
			"$work/$id.serial" >"$work/$id.watch" 2>&1
		wait "$vmm_pid"
		rc=$?
	} 2>/dev/null
	vmm_pid=
}

# check_disk ID: vmm was killed at the line, all 8 sectors on the device
check_disk() {
	local id=$1 counts dev file
	counts=$(python3 "$work/scan.py" "$loopdev" "$mnt/$id.img" "$seed" 8)
	read -r dev file <<<"$counts"
	echo "  $id: $(cat "$work/$id.watch"); sectors on the device: $dev of 8, in the file: $file of 8"
	if ! grep -q "^killed" "$work/$id.watch"; then
		fail "$id" "$(cat "$work/$id.watch"): $(grep -m1 TESTGUEST "$work/$id.serial")"
	elif [ "$rc" -ne 137 ]; then
		fail "$id" "vmm ended with status $rc, not by SIGKILL"
	elif [ "$dev" != 8 ]; then
		fail "$id" "only $dev of the 8 completed writes reached the device ($file in the page cache)"
	else
		pass "$id"
	fi
}

for engine in thread uring; do
	for flush in 1 0; do
		id=sigkill-$engine-$([ "$flush" = 1 ] && echo flush || echo noflush)
		run_durable "$id" "$engine" "$flush"
		check_disk "$id"
	done
done

# --- the order of system calls ------------------------------------------------
if ! command -v strace >/dev/null; then
	skip strace-flush "strace is not installed (scripts/install-deps --test)"
	skip strace-noflush "strace is not installed (scripts/install-deps --test)"
	exit $failed
fi
cat >"$work/order.py" <<'EOF'
# order.py STRACE SERIAL IMAGE FLUSH: is each completion the guest
# reported preceded by the system call that made it stable?
import codecs, re, sys
log, serial, image, flush = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
calls, pending = [], {}
for i, line in enumerate(open(log, errors="replace")):
    m = re.match(r"(\d+) +(.*)", line.rstrip("\n"))
    if not m:
        continue
    pid, rest = m.groups()
    u = re.match(r"(\w+)\((.*) <unfinished \.\.\.>$", rest)
    if u:
        pending[pid] = u.groups()
        continue
    r = re.match(r"<\.\.\. (\w+) resumed>(.*)$", rest)
    if r and pid in pending:
        name, args = pending.pop(pid)
        rest = f"{name}({args}{r.group(2)}"
    c = re.match(r"(\w+)\((.*)\) += (-?\d+)", rest)
    if c:
        calls.append((i + 1, c.group(1), c.group(2), int(c.group(3))))
fds = {}
for _, name, args, ret in calls:
    if name == "openat":
        for what, path in (("serial", serial), ("image", image)):
            if f'"{path}"' in args:
                fds[what] = ret
if len(fds) != 2:
    sys.exit(f"no openat of the serial log and the image in the trace: {fds}")
text, marks, writes, syncs = "", {}, [], []
for ln, name, args, ret in calls:
    fd = int(args.split(",")[0]) if args[:1].isdigit() else -1
    if name == "write" and fd == fds["serial"]:
        s = re.match(r'\d+, "((?:[^"\\]|\\.)*)"', args)
        text += codecs.decode(s.group(1), "unicode_escape") if s else ""
        # every line this write completed
        *lines, text = text.split("\n")
        for l in lines:
            m = re.match(r"durable: (complete (\d+)|done)$", l.rstrip("\r"))
            if m:
                marks[m.group(2) if m.group(2) else "done"] = ln
    elif name in ("pwritev2", "pwritev", "pwrite64") and fd == fds["image"]:
        m = re.search(r", (\d+)(?:, ([A-Z_|0-9]+))?$", args)
        writes.append((ln, int(m.group(1)), m.group(2) or "", ret))
    elif name in ("fdatasync", "fsync") and fd == fds["image"] and ret == 0:
        syncs.append(ln)
bad = []
for k in range(8):
    off = (8 + k) * 512
    mark = marks.get(str(k))
    w = [x for x in writes if x[1] <= off < x[1] + max(x[3], 0)]
    if mark is None or not w:
        bad.append(f"sector {8 + k}: {'no completion line' if mark is None else 'no write'}")
        continue
    ln, _, flags, _ = w[0]
    print(f"sector {8 + k}: write returned at line {ln} ({flags or 'no flags'}), "
          f"the guest's completion line written at line {mark}")
    if ln > mark:
        bad.append(f"sector {8 + k}: completion seen before the write returned")
    if not flush and "RWF_DSYNC" not in flags:
        bad.append(f"sector {8 + k}: completed without RWF_DSYNC or a sync before it")
if flush:
    last_w = max((x[0] for x in writes), default=0)
    done = marks.get("done")
    ok = [s for s in syncs if last_w < s < (done or 0)]
    print(f"last write returned at line {last_w}, fdatasync at {syncs}, "
          f"'durable: done' written at line {done}")
    if not ok:
        bad.append("no fdatasync between the last write and the guest's flush completion")
print("ok" if not bad else "BAD: " + "; ".join(bad))
EOF
for flush in 1 0; do
	id=strace-$([ "$flush" = 1 ] && echo flush || echo noflush)
	run_durable "$id" thread "$flush" strace -f -qq -s 256 -o "$work/$id.trace" \
		-e trace=openat,pwritev2,pwritev,pwrite64,fdatasync,fsync,write \
		-e signal=none
	python3 "$work/order.py" "$work/$id.trace" "$work/$id.serial" \
		"$mnt/$id.img" "$flush" >"$work/$id.order" 2>&1
	sed 's/^/  /' "$work/$id.order"
	if ! grep -q "^killed" "$work/$id.watch"; then
		fail "$id" "$(cat "$work/$id.watch"): $(grep -m1 TESTGUEST "$work/$id.serial")"
	elif [ "$(tail -n 1 "$work/$id.order")" = ok ]; then
		pass "$id"
	else
		fail "$id" "$(tail -n 1 "$work/$id.order")"
	fi
done
exit $failed
