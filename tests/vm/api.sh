#!/usr/bin/env bash
# Control API tests: the test guest driven through vmm's control socket
# (curl-free: vmm ctl and a small python3 client for raw HTTP).
#
# Prints PASS: vm.api.NAME / FAIL: ... / SKIP: ...; exit 1 on failure.
set -u
cd "$(dirname "$0")/../.."
CHECK_PREFIX=vm.api
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
s.settimeout(20)
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

# start NAME ARGS...: vmm in the background with a socket at $work/NAME.sock
start() {
	local name=$1; shift
	rm -f "$work/$name.sock"
	"$VMM" run --api-sock "$work/$name.sock" --console none \
		--serial-log "$work/$name.serial" "$@" </dev/null \
		>"$work/$name.out" 2>"$work/$name.err" &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do
		[ -S "$work/$name.sock" ] && return 0
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

counter_lines() { grep -c '^counter ' "$1" 2>/dev/null || echo 0; }

# --- configure over the API, then InstanceStart --------------------------
start preboot
s=$(http "$work/preboot.sock" GET /)
[[ $s == 200*'"state":"Not started"'* ]] && pass info-not-started ||
	fail info-not-started "$s"
[ "$(stat -c %a "$work/preboot.sock")" = 600 ] && pass socket-mode-0600 ||
	fail socket-mode-0600 "mode $(stat -c %a "$work/preboot.sock")"
s=$(http "$work/preboot.sock" PUT /actions '{"action_type":"InstanceStart"}')
[[ $s == 400*"boot source"* ]] && pass start-without-kernel-refused ||
	fail start-without-kernel-refused "$s"
s=$(http "$work/preboot.sock" PATCH /vm '{"state":"Paused"}')
[[ $s == 400*"Not started"* ]] && pass pause-before-start-refused ||
	fail pause-before-start-refused "$s"
http "$work/preboot.sock" PUT /boot-source \
	"{\"kernel_image_path\":\"$GUEST\",\"boot_args\":\"test=counter\"}" >/dev/null
s=$(http "$work/preboot.sock" PUT /machine-config '{"vcpu_count":2,"mem_size_mib":64}')
[[ $s == 204* ]] && pass machine-config || fail machine-config "$s"
s=$(http "$work/preboot.sock" PUT /actions '{"action_type":"InstanceStart"}')
[[ $s == 204* ]] && pass instance-start || fail instance-start "$s"
wait_line "$work/preboot.serial" '^counter 2' && pass guest-running ||
	fail guest-running "no counter lines"
s=$(http "$work/preboot.sock" PUT /actions '{"action_type":"InstanceStart"}')
[[ $s == 400* ]] && pass instance-start-twice-refused || fail instance-start-twice-refused "$s"
s=$(http "$work/preboot.sock" PUT /drives/x '{"drive_id":"x","path_on_host":"/x","is_root_device":false}')
[[ $s == 400*"Running"* ]] && pass drives-after-start-refused ||
	fail drives-after-start-refused "$s"
s=$("$VMM" ctl "$work/preboot.sock" info --json)
[[ $s == *'"vcpu_count":2'*'"mem_size_mib":64'* ]] && pass ctl-info ||
	fail ctl-info "$s"

# a refused PUT changes nothing (a second root device)
preboot_pid=$pid
start drives
http "$work/drives.sock" PUT /drives/a '{"drive_id":"a","path_on_host":"/a.img","is_root_device":true}' >/dev/null
s=$(http "$work/drives.sock" PUT /drives/b '{"drive_id":"b","path_on_host":"/b.img","is_root_device":true}')
c=$(http "$work/drives.sock" GET /vm/config)
if [[ $s == 400*"already the root device"* ]] && [[ $c != *'"b"'* ]]; then
	pass refused-put-changes-nothing
else
	fail refused-put-changes-nothing "$s / $c"
fi
http "$work/drives.sock" PUT /actions '{"action_type":"Stop"}' >/dev/null
wait "$pid"

# --- pause and resume: the guest's counter stops and restarts ----------------
"$VMM" ctl "$work/preboot.sock" pause >/dev/null
"$VMM" ctl "$work/preboot.sock" pause >/dev/null && pass pause-twice-ok ||
	fail pause-twice-ok "second pause refused"
n1=$(counter_lines "$work/preboot.serial")
sleep 1.5
n2=$(counter_lines "$work/preboot.serial")
[ "$n1" -eq "$n2" ] && pass pause-stops-guest || fail pause-stops-guest "$n1 -> $n2 lines while paused"
s=$(http "$work/preboot.sock" GET /)
[[ $s == *'"state":"Paused"'* ]] && pass state-paused || fail state-paused "$s"
"$VMM" ctl "$work/preboot.sock" resume >/dev/null
sleep 1.5
n3=$(counter_lines "$work/preboot.serial")
[ "$n3" -gt "$n2" ] && pass resume-restarts-guest || fail resume-restarts-guest "$n2 -> $n3"

# --- many clients at once, and 1,000 malformed requests ---------------------
ok=0
for i in $(seq 16); do
	"$VMM" ctl "$work/preboot.sock" info >/dev/null 2>&1 &
	cpids+=($!)
done
for p in "${cpids[@]}"; do wait "$p" && ok=$((ok + 1)); done
[ "$ok" -eq 16 ] && pass concurrent-clients || fail concurrent-clients "$ok of 16 answered"

python3 - "$work/preboot.sock" >"$work/garbage.log" 2>&1 <<'PY'
import random, socket, sys
random.seed(42)
path = sys.argv[1]
good = [b"GET / HTTP/1.1\r\n\r\n",
        b"PUT /actions HTTP/1.1\r\nContent-Length: 28\r\n\r\n{\"action_type\":\"Frobnicate\"}",
        b"PATCH /vm HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"state\":\"Paused\""]
fixed = [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
         b"PUT /actions HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
         b"PUT /actions HTTP/1.1\r\nContent-Length: 5\r\n\r\n{{{{{",
         b"PUT /actions HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]",
         b"PUT /actions HTTP/1.1\r\nContent-Length: 24\r\n\r\n{\"action_type\":12345678}",
         b"PUT /machine-config HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
         b"DELETE / HTTP/1.1\r\n\r\n", b"GET /nope HTTP/1.1\r\n\r\n",
         b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
         b"\x00\x01\x02\xff\r\n\r\n", b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n",
         b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n"]
bad = 0
for i in range(1000):
    if i < len(fixed):
        req = fixed[i]
    else:
        req = bytearray(random.choice(good + fixed))
        for _ in range(random.randint(1, 8)):
            op = random.randint(0, 2)
            pos = random.randrange(len(req) + 1)
            if op == 0 and req:
                req[pos % len(req)] = random.randrange(256)
            elif op == 1:
                req[pos:pos] = bytes([random.randrange(256)])
            else:
                del req[pos:pos + random.randint(1, 4)]
        req = bytes(req)
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    data = b""
    try:
        # vmm may answer an early error and close before all is sent
        s.sendall(req)
        s.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
    except ConnectionResetError:
        pass
    except socket.timeout:
        print("timeout on", req[:60])
        bad += 1
    s.close()
    if not data.startswith(b"HTTP/1.1 "):
        continue  # a truncated request may just see the socket close
    status = int(data.split(b" ")[1])
    if status >= 500 and status not in (501, 503, 505):
        print("status", status, "for", req[:60]); bad += 1
print("bad", bad)
PY
if grep -q "^bad 0$" "$work/garbage.log" && kill -0 "$preboot_pid" 2>/dev/null; then
	pass malformed-requests
else
	fail malformed-requests "$(tail -3 "$work/garbage.log")"
fi
n4=$(counter_lines "$work/preboot.serial")
sleep 1
n5=$(counter_lines "$work/preboot.serial")
s=$(http "$work/preboot.sock" GET /)
[ "$n5" -gt "$n4" ] && [[ $s == 200*Running* ]] && pass vm-unaffected-by-garbage ||
	fail vm-unaffected-by-garbage "counter $n4 -> $n5, GET / -> $s"

# pipelined answers filling the output buffer, then Expect: 100-continue
# (this once wrote past the connection's buffer)
start pipeline
pipeline_pid=$pid
python3 - "$work/pipeline.sock" >"$work/pipeline.log" 2>&1 <<'PY'
import json, socket, sys
path = sys.argv[1]
def ask(data):
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.sendall(data)
    s.shutdown(socket.SHUT_WR); out = b""
    while True:
        b = s.recv(65536)
        if not b:
            return out
        out += b
def drive(i, plen):
    body = json.dumps({"drive_id": f"d{i}", "path_on_host": "/" + "a" * plen,
                       "is_root_device": False}).encode()
    ask(b"PUT /drives/d%d HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (i, len(body)) + body)
get = b"GET /vm/config HTTP/1.1\r\n\r\n"
def answer_len():
    return len(ask(get))   # a keep-alive answer, as when pipelined
for i in range(8):
    drive(i, 4000)
# tune the answer so that two of them leave 4 bytes of the 64 KiB buffer:
# less than a "100 Continue" line
drive(7, 4000 - (answer_len() - 32766))
assert answer_len() == 32766, answer_len()
expect = b"PUT /actions HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"
for n in range(1, 4):
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.settimeout(5)
    s.sendall(get * n + expect)
    try:
        while s.recv(65536):
            pass
    except socket.timeout:
        pass
    s.close()
print("done")
PY
s=$(http "$work/pipeline.sock" GET /)
if grep -qx done "$work/pipeline.log" && [[ $s == 200* ]] &&
   ! grep -q "ERROR: AddressSanitizer" "$work/pipeline.err"; then
	pass pipelined-answers-bounded
else
	fail pipelined-answers-bounded "$(tail -2 "$work/pipeline.log"; grep -m1 ERROR "$work/pipeline.err")"
fi
"$VMM" ctl "$work/pipeline.sock" stop >/dev/null
wait "$pipeline_pid"

# a second vmm refuses a socket someone listens on
"$VMM" run --api-sock "$work/preboot.sock" -k "$GUEST" </dev/null \
	>/dev/null 2>"$work/dup.err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "another process is listening" "$work/dup.err" &&
	pass live-socket-refused || fail live-socket-refused "rc=$rc $(cat "$work/dup.err")"

"$VMM" ctl "$work/preboot.sock" stop >/dev/null
wait "$preboot_pid"
rc=$?
[ "$rc" -eq 0 ] && [ ! -e "$work/preboot.sock" ] && pass stop-and-unlink ||
	fail stop-and-unlink "rc=$rc, socket $(ls "$work/preboot.sock" 2>&1)"

# --- a stale socket is replaced; --api-sock-mode; Ctrl-Alt-Del ----------------
# (x86-64: the i8042's Ctrl-Alt-Del; arm64: the power key, a PL061 GPIO
# pin. A guest without the cad scenario runs the counter instead and is
# stopped from outside)
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$work/cad.sock"
if guest_has cad; then cad=1 scenario=cad; else cad=0 scenario=counter; fi
start cad -k "$GUEST" -p "test=$scenario" --api-sock-mode 0660 || fail stale-socket "vmm did not start"
[ "$(stat -c %a "$work/cad.sock")" = 660 ] && pass stale-socket-and-mode ||
	fail stale-socket-and-mode "mode $(stat -c %a "$work/cad.sock" 2>&1)"
if [ "$cad" = 1 ]; then
	wait_line "$work/cad.serial" "cad: waiting" || fail cad "guest never waited"
	"$VMM" ctl "$work/cad.sock" ctrl-alt-del >/dev/null
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] && grep -q "TESTGUEST PASS cad" "$work/cad.serial" && pass ctrl-alt-del ||
		fail ctrl-alt-del "rc=$rc: $(tail -2 "$work/cad.serial")"
else
	"$VMM" ctl "$work/cad.sock" stop >/dev/null
	wait "$pid"
	skip ctrl-alt-del "the $GUEST_ARCH test guest has no cad scenario"
fi

# --- metrics match what the guest did; the timeline is complete and ordered --
"$VMM" run --console none --serial-log "$work/exits.serial" -k "$GUEST" \
	-p "test=exits exits=3000" --metrics-path "$work/exits.json" </dev/null >/dev/null 2>&1
# the guest says which device counter and which exit reason its exits move
# (x86-64: port 0x80, "post"; arm64: the UART in loopback, "serial")
python3 - "$work/exits.json" "$work/exits.serial" >"$work/exits.check" 2>&1 <<'PY'
import json, re, sys
m = json.loads(open(sys.argv[1]).read().splitlines()[-1])
said = re.search(r"^exits: metrics devices\.(\w+)\.(\w+) \+= (\d+), exits\.(\w+) \+= (\d+)$",
                 open(sys.argv[2]).read(), re.M)
assert said, "no 'exits: metrics ...' line from the guest"
group, counter, n, reason, exits = said.groups()
assert int(n) == 3000, f"guest made {n} exits, asked for 3000"
w = m["devices"][group][counter]
assert w == int(n), f"{group}.{counter} {w}, guest made {n}"
assert m["exits"].get(reason, 0) >= int(exits), (reason, exits, m["exits"])
print("ok")
PY
grep -qx ok "$work/exits.check" && pass metrics-count-exits ||
	fail metrics-count-exits "$(cat "$work/exits.check")"

"$VMM" run --console none -k "$GUEST" -p "test=boottimer" --api-sock "$work/tl.sock" \
	--metrics-path "$work/tl.json" --boot-timer </dev/null >/dev/null 2>"$work/tl.err"
python3 - "$work/tl.json" >"$work/tl.check" 2>&1 <<'PY'
import json, sys
t = json.loads(open(sys.argv[1]).read())["boot_timeline"]
keys = ["process_start_us", "api_ready_us", "instance_start_us", "first_kvm_run_us",
        "first_serial_byte_us", "boot_timer_us", "guest_stop_us"]
vals = [t[k] for k in keys]
assert all(v is not None for v in vals), t
assert vals == sorted(vals), t
assert t["vmm_cpu_us_at_boot_timer"] is not None
print("ok")
PY
grep -qx ok "$work/tl.check" && pass boot-timeline-ordered ||
	fail boot-timeline-ordered "$(cat "$work/tl.check")"
grep -q "^vmm: boot timeline (from vmm start): api_ready=.* boot_timer=.* guest_stop=" "$work/tl.err" &&
	pass boot-timer-line || fail boot-timer-line "$(cat "$work/tl.err")"

# FlushMetrics appends one line each time
start flush -k "$GUEST" -p "test=counter" --metrics-path "$work/flush.json"
wait_line "$work/flush.serial" '^counter 1'
"$VMM" ctl "$work/flush.sock" flush-metrics >/dev/null
"$VMM" ctl "$work/flush.sock" flush-metrics >/dev/null
[ "$(wc -l <"$work/flush.json")" -eq 2 ] && pass flush-metrics ||
	fail flush-metrics "$(wc -l <"$work/flush.json") lines"
"$VMM" ctl "$work/flush.sock" stop >/dev/null
wait "$pid"

# --- --config-file --------------------------------------------------------
cat >"$work/vm.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$GUEST", "boot_args": "test=smp cpus=2" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 64 }
}
JSON
"$VMM" run --console none --serial-log "$work/cf.serial" --config-file "$work/vm.json" \
	</dev/null >/dev/null 2>"$work/cf.err"
rc=$?
[ "$rc" -eq 0 ] && grep -q "TESTGUEST PASS smp cpus=2" "$work/cf.serial" &&
	pass config-file || fail config-file "rc=$rc $(cat "$work/cf.err")"
echo '{"boot-source": {"kernel_image_path": 5}}' >"$work/bad.json"
"$VMM" run --config-file "$work/bad.json" </dev/null >/dev/null 2>"$work/bad.err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "kernel_image_path' must be string" "$work/bad.err" &&
	[ "$(wc -l <"$work/bad.err")" -eq 1 ] && pass config-file-invalid ||
	fail config-file-invalid "rc=$rc $(cat "$work/bad.err")"

# --config-file with options beside it: the command line wins field by
# field (here the command line), the file keeps the rest (2 vCPUs)
cat >"$work/vm2.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$GUEST", "boot_args": "test=hello" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 64 }
}
JSON
"$VMM" run --console none --serial-log "$work/cf2.serial" --config-file "$work/vm2.json" \
	-p "test=smp cpus=2" </dev/null >/dev/null 2>"$work/cf2.err"
rc=$?
[ "$rc" -eq 0 ] && grep -q "TESTGUEST PASS smp cpus=2" "$work/cf2.serial" &&
	pass config-file-command-line-wins || fail config-file-command-line-wins "rc=$rc $(cat "$work/cf2.err")"

# the config file's logger section is applied: vmm's messages go to its file
# (the hello scenario ends in a reset on x86-64, a PSCI power-off on arm64)
cat >"$work/vm3.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$GUEST", "boot_args": "test=hello" },
  "logger": { "log_path": "$work/vm3.log", "level": "Info", "show_level": true }
}
JSON
"$VMM" run --console none --config-file "$work/vm3.json" </dev/null >/dev/null 2>"$work/cf3.err"
rc=$?
if [ "$rc" -eq 0 ] && grep -Eq "^vmm: \[INFO\] guest (reset|powered off)" "$work/vm3.log" &&
   ! grep -Eq "guest (reset|powered off)" "$work/cf3.err"; then
	pass config-file-logger
else
	fail config-file-logger "rc=$rc log: $(head -c 200 "$work/vm3.log" 2>&1) stderr: $(head -c 200 "$work/cf3.err")"
fi

# PUT /logger does the same, through the same code
start logger
s=$(http "$work/logger.sock" PUT /logger "{\"log_path\":\"$work/api.log\",\"level\":\"Debug\"}")
http "$work/logger.sock" PUT /boot-source \
	"{\"kernel_image_path\":\"$GUEST\",\"boot_args\":\"test=hello\"}" >/dev/null
http "$work/logger.sock" PUT /actions '{"action_type":"InstanceStart"}' >/dev/null
wait "$pid"
# (the kernel line: "ELF entry at ..." on x86-64, "Image at ..." on arm64)
if [[ $s == 204* ]] && grep -Eq "^vmm: debug: kernel: (ELF|Image) " "$work/api.log" &&
   grep -Eq "guest (reset|powered off)" "$work/api.log"; then
	pass put-logger
else
	fail put-logger "$s: $(head -c 300 "$work/api.log" 2>&1)"
fi

# a boot that fails is answered with the reason, and changes nothing: the
# VM is still "Not started", so the client can fix it and start again
start failboot
http "$work/failboot.sock" PUT /boot-source '{"kernel_image_path":"/nonexistent/kernel"}' >/dev/null
s=$(http "$work/failboot.sock" PUT /actions '{"action_type":"InstanceStart"}')
[[ $s == 400*"No such file"* ]] && pass failed-start-reported || fail failed-start-reported "$s"
s=$(http "$work/failboot.sock" GET /)
[[ $s == 200*'"state":"Not started"'* ]] && pass failed-start-changes-nothing ||
	fail failed-start-changes-nothing "$s"
# a failure late in the boot (devices made, the kernel refused) too (the
# loader's reason: "not a kernel image" on x86-64, "not an arm64 Image")
head -c 8192 /dev/urandom >"$work/garbage-kernel"
http "$work/failboot.sock" PUT /boot-source \
	"{\"kernel_image_path\":\"$work/garbage-kernel\"}" >/dev/null
s=$(http "$work/failboot.sock" PUT /drives/d \
	"{\"drive_id\":\"d\",\"path_on_host\":\"$work/garbage-kernel\",\"is_root_device\":false}")
s=$(http "$work/failboot.sock" PUT /actions '{"action_type":"InstanceStart"}')
[[ $s == 400*"did not start: kernel $work/garbage-kernel: not a"* ]] &&
	pass failed-late-start-reported ||
	fail failed-late-start-reported "$s"
http "$work/failboot.sock" PUT /boot-source \
	"{\"kernel_image_path\":\"$GUEST\",\"boot_args\":\"test=counter\"}" >/dev/null
s=$(http "$work/failboot.sock" PUT /actions '{"action_type":"InstanceStart"}')
if [[ $s == 204* ]] && wait_line "$work/failboot.serial" '^counter 1'; then
	pass start-after-failed-start
else
	fail start-after-failed-start "$s"
fi
"$VMM" ctl "$work/failboot.sock" stop >/dev/null
wait "$pid"

exit $failed
