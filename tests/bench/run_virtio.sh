#!/usr/bin/env bash
# Checks of the virtio-blk benchmark (scripts/bench-virtio and the test
# guest's blkbench and pci-msix scenarios): its log parser on canned guest
# output, the guest's request accounting against vmm's device counters
# over virtio-mmio and virtio-pci, and a smoke run of the whole benchmark
# on vmm (both transports) and QEMU (--quick --runs 1).
#
# Prints PASS: bench.virtio.NAME / FAIL: bench.virtio.NAME: why /
# SKIP: bench.virtio.NAME: reason. Exit status 1 if anything failed.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
VMM=${VMM:-$BUILD/vmm}
GUEST=${GUEST:-$BUILD/guest/testguest-x86_64}
BENCH=scripts/bench-virtio
SMOKE_LIMIT=${SMOKE_LIMIT:-50}   # seconds the smoke run may take

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

pass() { echo "PASS: bench.virtio.$1"; }
fail() { echo "FAIL: bench.virtio.$1: $2"; failed=1; }
skip() { echo "SKIP: bench.virtio.$1: $2"; }

# py CODE ARGS...: run a Python check; its stdout is the failure reason.
py() { python3 -c "$@" 2>&1; }

# ---- help

if out=$("$BENCH" --help 2>&1) && grep -q -- '--runs' <<<"$out" &&
   grep -q -- '--quick' <<<"$out" && grep -q -- '--json' <<<"$out"; then
	pass help
else
	fail help "--help did not exit 0 listing --runs, --quick, --json"
fi

# ---- parser, on canned guest output

cat >"$work/ok.log" <<'EOF'
testguest: x86-64, scenario blkbench
virtio: virtio-blk #0 at 0xfeb02e00 (window 23), virtio-mmio version 2, vendor 0x554d4551
blkbench: features offered 0x10130006e54, accepted 0x120000200, queue size 256, capacity 524288 sectors (256 MiB)
blkbench: read+write, kick=batch, EVENT_IDX on, kvmclock
blkbench: read bs=4096 qd=1: 63.2 MB/s, 15432 req/s, 512 requests in 33.2 ms, 512 kicks, 7 idle polls
blkbench: write bs=4096 qd=1: 69.2 MB/s, 16882 req/s, 512 requests in 30.3 ms, 512 kicks, 0 idle polls
blkbench: read bs=65536 qd=16: 2161.1 MB/s, 32975 req/s, 32 requests in 1.0 ms
blkbench: notifications: 1156 kicks in 139.7 ms = 8275/s
TESTGUEST PASS blkbench
EOF
printf 'blkbench: write bs=65536 qd=16: 1.5 MB/s, 23 req/s, 2 requests in 86.9 ms, 1 kicks, 3 idle polls\r\n' \
	>>"$work/ok.log"
if ! "$BENCH" --parse "$work/ok.log" >"$work/ok.json" 2>"$work/ok.err"; then
	fail parse "--parse exited non-zero: $(head -c 300 "$work/ok.err")"
else
	why=$(py '
import json, sys
d = json.load(open(sys.argv[1]))
p = d["passes"]
want = {
 "read-4096-1": dict(dir="read", bs=4096, qd=1, mb_s=63.2, req_s=15432,
                     reqs=512, ms=33.2, kicks=512, polls=7),
 "write-4096-1": dict(mb_s=69.2, req_s=16882, kicks=512, polls=0),
 "read-65536-16": dict(mb_s=2161.1, req_s=32975, reqs=32, ms=1.0,
                       kicks=None, polls=None),
 "write-65536-16": dict(mb_s=1.5, req_s=23, reqs=2, ms=86.9, kicks=1,
                        polls=3),
}
for k, fields in want.items():
    if k not in p:
        print("no", k, "in", sorted(p)); sys.exit()
    for f, v in fields.items():
        if p[k][f] != v:
            print(k, f, "=", p[k][f], "expected", v); sys.exit()
if len(p) != 4:
    print("parsed", len(p), "passes, expected 4"); sys.exit()
if d["notify"] != {"kicks": 1156, "ms": 139.7, "per_s": 8275}:
    print("notify:", d["notify"]); sys.exit()
if d["result"] != "PASS":
    print("result:", d["result"])
' "$work/ok.json")
	[ -z "$why" ] && pass parse || fail parse "$why"
fi

cat >"$work/msix.log" <<'EOF'
testguest: x86-64, scenario pci-msix
pci-msix: bench: 2000 reads of 512 B, qd=1, completion by interrupt: 915.044 ms, 2185/s, 2000 interrupts
TESTGUEST PASS pci-msix bench
EOF
if "$BENCH" --parse "$work/msix.log" >"$work/msix.json" 2>/dev/null; then
	why=$(py '
import json, sys
d = json.load(open(sys.argv[1]))
want = {"reads": 2000, "by": "interrupt", "ms": 915.044, "per_s": 2185,
        "interrupts": 2000}
if d["msix"] != want:
    print("msix:", d["msix"])
elif d["result"] != "PASS":
    print("result:", d["result"])
' "$work/msix.json")
	[ -z "$why" ] && pass parse-msix || fail parse-msix "$why"
else
	fail parse-msix "--parse exited non-zero"
fi

cat >"$work/bad.log" <<'EOF'
testguest: x86-64, scenario blkbench
blkbench: read bs=4096 qd=1: garbage MB/s
blkbench: notifications: lots
TESTGUEST FAIL blkbench: qd=99: must be 1..64
EOF
if "$BENCH" --parse "$work/bad.log" >"$work/bad.json" 2>/dev/null; then
	why=$(py '
import json, sys
d = json.load(open(sys.argv[1]))
if d["passes"] or d["notify"] is not None:
    print("malformed lines were parsed:", d)
elif d["result"] != "FAIL" or d["detail"] != "qd=99: must be 1..64":
    print("result", d["result"], "detail", repr(d["detail"]))
' "$work/bad.json")
	[ -z "$why" ] && pass parse-fail || fail parse-fail "$why"
else
	fail parse-fail "--parse exited non-zero"
fi

# ---- the guest side on vmm: request counts, parameter checks

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	for t in counts counts-pci guest-badparam smoke; do
		skip "$t" "/dev/kvm not available"
	done
	exit "$failed"
fi
if [ ! -x "$VMM" ] || ! grep -q blkbench "$GUEST" 2>/dev/null; then
	for t in counts counts-pci guest-badparam smoke; do
		skip "$t" "$VMM or $GUEST (with blkbench) not built"
	done
	exit "$failed"
fi

counts_check() { # ID: $work/ID.log and ID.json of the run before
	local id=$1 why
	if [ "$rc" -ne 0 ] || ! grep -q '^TESTGUEST PASS blkbench' "$work/$id.log"; then
		fail "$id" "vmm exit $rc, guest: $(tail -n 2 "$work/$id.log" 2>/dev/null | tr '\n' ' ')"
		return
	fi
	why=$(py '
import json, sys
m = json.loads(open(sys.argv[1]).read().splitlines()[-1])
blk = [v for k, v in m["devices"].items() if k.startswith("blk:")][0]
if (blk["reads"], blk["writes"], blk["errors"]) != (104, 100, 0):
    print("device counted reads/writes/errors", blk["reads"],
          blk["writes"], blk["errors"], "expected 104/100/0")
elif blk["write_bytes"] != 100 * 4096:
    print("write_bytes", blk["write_bytes"])
' "$work/$id.json")
	if [ -z "$why" ]; then
		# and the guest reported those passes
		"$BENCH" --parse "$work/$id.log" >"$work/$id.parsed"
		why=$(py '
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("read-4096-4", "write-4096-4"):
    p = d["passes"].get(k)
    if not p or p["reqs"] != 100 or p["mb_s"] <= 0 or p["req_s"] <= 0:
        print(k, p)
' "$work/$id.parsed")
	fi
	[ -z "$why" ] && pass "$id" || fail "$id" "$why"
}

truncate -s 8M "$work/disk.img"
# 100 reads + 100 writes of 4 KiB, 4 in flight; the untimed warm-up adds
# one read per slot: the device must have seen exactly 104 + 100.
timeout 60 "$VMM" run -q -k "$GUEST" -m 64M --console none \
	--serial-log "$work/counts.log" --disk "$work/disk.img" \
	--metrics-path "$work/counts.json" \
	-p "test=blkbench bs=4096 qd=4 mode=both reqs=100" \
	</dev/null >/dev/null 2>"$work/counts.err"
rc=$?
counts_check counts
# the same over virtio-pci (the guest's driver on vmm's BAR 0)
timeout 60 "$VMM" run -q -k "$GUEST" -m 64M --console none \
	--serial-log "$work/counts-pci.log" --disk "$work/disk.img" \
	--metrics-path "$work/counts-pci.json" --virtio pci \
	-p "test=blkbench bs=4096 qd=4 mode=both reqs=100 virtio=pci" \
	</dev/null >/dev/null 2>"$work/counts-pci.err"
rc=$?
counts_check counts-pci

timeout 60 "$VMM" run -q -k "$GUEST" -m 64M --console none \
	--serial-log "$work/bad-qd.log" --disk "$work/disk.img" \
	-p "test=blkbench qd=0" </dev/null >/dev/null 2>&1
if grep -q '^TESTGUEST FAIL blkbench: qd=0' "$work/bad-qd.log"; then
	pass guest-badparam
else
	fail guest-badparam "qd=0 accepted? $(tail -n 1 "$work/bad-qd.log" 2>/dev/null)"
fi

# ---- smoke: the whole benchmark, tiny, both sides

if ! command -v qemu-system-x86_64 >/dev/null; then
	skip smoke "qemu-system-x86_64 not installed (scripts/bench-virtio installs it)"
	exit "$failed"
fi
start=$(date +%s)
timeout 120 "$BENCH" --quick --runs 1 --no-build --vmm "$VMM" \
	--guest "$GUEST" --json "$work/smoke.json" \
	>"$work/smoke.out" 2>"$work/smoke.err"
rc=$?
took=$(( $(date +%s) - start ))
if [ "$rc" -ne 0 ]; then
	fail smoke "exit $rc: $(tail -n 5 "$work/smoke.err" | tr '\n' ' ')"
elif [ "$took" -gt "$SMOKE_LIMIT" ]; then
	fail smoke "took ${took} s (limit ${SMOKE_LIMIT} s)"
else
	why=$(py '
import json, sys
out = open(sys.argv[2]).read()
for label in ("seq read   4 KiB qd=1", "seq read  64 KiB qd=16",
              "seq write  4 KiB qd=16", "seq write 64 KiB qd=1",
              "notifications/s", "machine:", "KVM:", "cache=writeback",
              "vmm/QEMU", "pci/mmio", "vmm pci", "completion by interrupt",
              "an interrupt costs"):
    if label not in out:
        print("table lacks", repr(label)); sys.exit()
s = json.load(open(sys.argv[1]))["summary"]
if len(s["rows"]) != 8:
    print(len(s["rows"]), "rows, expected 8"); sys.exit()
for k, r in s["rows"].items():
    for who in ("vmm", "vmm-pci", "qemu"):
        if not (r[who]["mb_s"] or 0) > 0 or not (r[who]["req_s"] or 0) > 0:
            print(k, who, r[who]); sys.exit()
    if not r["ratio"] > 0 or not r["pci_ratio"] > 0:
        print(k, "ratios", r["ratio"], r["pci_ratio"]); sys.exit()
n = s["notify"]
if not all((n[w]["per_s"] or 0) > 0 for w in ("vmm", "vmm-pci", "qemu")):
    print("notify", n); sys.exit()
m = s["msix"]
if not (m["msix-irq"]["per_s"] or 0) > 0 or not (m["msix-poll"]["per_s"] or 0) > 0:
    print("msix", m)
elif m["msix-irq"]["interrupts"] != 1000 or m["msix-poll"]["interrupts"] != 0:
    print("msix interrupts", m["msix-irq"]["interrupts"],
          m["msix-poll"]["interrupts"], "expected 1000 and 0")
' "$work/smoke.json" "$work/smoke.out")
	[ -z "$why" ] && pass smoke || fail smoke "$why"
fi

exit "$failed"
