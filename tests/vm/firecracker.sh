#!/usr/bin/env bash
# Firecracker drop-in: vmm started as Firecracker's clients start it, fed
# the requests they send, checked for the answers they accept. Written
# from reading the clients' public source (firecracker-go-sdk's
# machine.go/handlers.go and client models, firectl's defaults, Kata
# Containers' fc.go, Firecracker's tests/framework/microvm.py and its
# getting-started guide); the test guest stands in for their kernels.
# Also: every path and method of Firecracker 1.16's swagger answered
# (implemented, or 400 naming the feature), never 404 or 405.
#
# Prints PASS: vm.fc.NAME / FAIL: ... / SKIP: ...; exit 1 on failure.
set -u
cd "$(dirname "$0")/../.."
CHECK_PREFIX=vm.fc
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

# vmm as `firecracker`: a symlink, as `make install` or a user would make
ln -s "$(realpath "$VMM")" "$work/firecracker"
FC=$work/firecracker
truncate -s 1M "$work/rootfs.ext4"
truncate -s 2M "$work/other.ext4"

# req SOCK METHOD PATH [BODY]: prints "STATUS BODY"
req() {
	python3 - "$@" <<'PY'
import socket, sys
sock, method, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else b""
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sock)
r = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
if body:
    r += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
s.sendall(r.encode() + b"Connection: close\r\n\r\n" + body)
data = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    data += c
head, _, rest = data.partition(b"\r\n\r\n")
print(head.split(b" ")[1].decode(), rest.decode())
PY
}

# launch NAME ARGS...: the binary as a client starts it; sets pid, sock
launch() {
	local name=$1; shift
	sock=$work/$name.sock
	"$FC" --api-sock "$sock" "$@" </dev/null >"$work/$name.out" 2>"$work/$name.err" &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 200); do
		[ -S "$sock" ] && return 0
		sleep 0.05
	done
	return 1
}

# expect NAME WANT METHOD PATH [BODY]: one request, one status
bad=""
expect() {
	local name=$1 want=$2; shift 2
	local s
	s=$(req "$sock" "$@")
	if [[ $s != "$want"* ]]; then
		bad+="$name: $* -> $s; "
	fi
	last=$s
}

wait_line() { # FILE PATTERN [tenths]
	for _ in $(seq "${3:-100}"); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

verdict() { # NAME
	if [ -z "$bad" ]; then pass "$1"; else fail "$1" "$bad"; fi
	bad=""
}

# --- the launch lines ------------------------------------------------------
s=$("$FC" --version | head -1)
[[ $s =~ ^Firecracker\ v[0-9]+\.[0-9]+\.[0-9]+$ ]] && pass version-first-line ||
	fail version-first-line "$s"
s=$("$VMM" --api-sock /nonexistent/x --version | head -1)
[[ $s == "Firecracker v"* ]] && pass vmm-with-a-firecracker-flag-first ||
	fail vmm-with-a-firecracker-flag-first "$s"
"$FC" --no-api </dev/null >/dev/null 2>"$work/noapi.err"
[ $? -eq 1 ] && grep -q "needs --config-file" "$work/noapi.err" &&
	pass no-api-needs-config-file || fail no-api-needs-config-file "$(cat "$work/noapi.err")"
"$FC" --frobnicate </dev/null >/dev/null 2>"$work/unk.err"
[ $? -eq 1 ] && [ "$(wc -l <"$work/unk.err")" -eq 1 ] && pass unknown-flag-one-line ||
	fail unknown-flag-one-line "$(cat "$work/unk.err")"

# --- Firecracker's getting-started guide, with curl's requests -------------
launch gs || fail getting-started "no socket"
expect gs 204 PUT /logger "{\"log_path\":\"$work/gs.log\",\"level\":\"Debug\",\"show_level\":true,\"show_log_origin\":true}"
expect gs 204 PUT /boot-source "{\"kernel_image_path\":\"$GUEST\",\"boot_args\":\"console=ttyS0 reboot=k panic=1 test=counter\"}"
expect gs 204 PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$work/rootfs.ext4\",\"is_root_device\":true,\"is_read_only\":false}"
expect gs 204 PUT /machine-config '{"vcpu_count":2,"mem_size_mib":64}'
expect gs 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_line "$work/gs.out" "^counter 1" || bad+="no counter output; "
expect gs 200 GET /
[[ $last == *'"state":"Running"'* ]] || bad+="state: $last; "
expect gs 204 PUT /actions '{"action_type":"Stop"}'
wait "$pid"
grep -q "show_level\|\[DEBUG\]\|\[INFO\]" "$work/gs.log" || bad+="log has no levels; "
verdict getting-started

# --- firecracker-go-sdk: NewMachine + Start, then its operations -----------
uuid=6a1cfe43-b4e4-4f8f-9e50-0c0b4bd5e0a1
launch gosdk --id "$uuid" --no-seccomp || fail go-sdk "no socket"
expect gosdk 200 GET /machine-config                         # waitForSocket
expect gosdk 204 PUT /logger "{\"log_path\":\"$work/gosdk.log\",\"level\":\"Debug\",\"show_level\":true,\"show_log_origin\":false}"
expect gosdk 204 PUT /metrics "{\"metrics_path\":\"$work/gosdk.metrics\"}"
expect gosdk 204 PUT /machine-config '{"mem_size_mib":64,"smt":false,"vcpu_count":1}'
expect gosdk 204 PUT /boot-source "{\"boot_args\":\"console=ttyS0 test=counter\",\"kernel_image_path\":\"$GUEST\"}"
expect gosdk 204 PUT /drives/1 "{\"drive_id\":\"1\",\"is_read_only\":false,\"is_root_device\":true,\"path_on_host\":\"$work/rootfs.ext4\"}"
expect gosdk 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_line "$work/gosdk.out" "^counter 1" || bad+="no counter output; "
expect gosdk 200 GET /                                        # DescribeInstance
[[ $last == *"\"id\":\"$uuid\""* ]] || bad+="id: $last; "
expect gosdk 200 GET /version                                 # GetFirecrackerVersion
[[ $last == *'"firecracker_version":"1.'* ]] || bad+="version: $last; "
expect gosdk 204 PATCH /vm '{"state":"Paused"}'               # PauseVM
expect gosdk 204 PATCH /vm '{"state":"Resumed"}'              # ResumeVM
expect gosdk 204 PUT /actions '{"action_type":"FlushMetrics"}'
expect gosdk 204 PATCH /drives/1 "{\"drive_id\":\"1\",\"path_on_host\":\"$work/other.ext4\"}"  # UpdateGuestDrive
expect gosdk 200 GET /vm/config
[[ $last == *"other.ext4"* ]] || bad+="drive not swapped: $last; "
expect gosdk 204 PUT /actions '{"action_type":"Stop"}'
wait "$pid"
[ -s "$work/gosdk.metrics" ] || bad+="no metrics written; "
verdict go-sdk

# --- firectl: the same, with its defaults (smt on, its kernel options) -----
launch firectl --id firectl-1 --no-seccomp || fail firectl "no socket"
expect firectl 200 GET /machine-config
expect firectl 204 PUT /machine-config '{"mem_size_mib":64,"smt":true,"vcpu_count":2}'
expect firectl 204 PUT /boot-source "{\"boot_args\":\"ro console=ttyS0 noapic reboot=k panic=1 pci=off nomodules test=smp cpus=2\",\"kernel_image_path\":\"$GUEST\"}"
expect firectl 204 PUT /drives/1 "{\"drive_id\":\"1\",\"is_read_only\":false,\"is_root_device\":true,\"path_on_host\":\"$work/rootfs.ext4\"}"
expect firectl 204 PUT /actions '{"action_type":"InstanceStart"}'
wait "$pid"
rc=$?
grep -q "TESTGUEST PASS smp cpus=2" "$work/firectl.out" || bad+="guest: $(grep -m1 TESTGUEST "$work/firectl.out"); "
[ "$rc" -eq 0 ] || bad+="exit $rc; "
verdict firectl

# --- Kata Containers' fc.go: its base config, nine drives, hot-swap -------
launch kata --id kata-sandbox-1 || fail kata "no socket"
expect kata 204 PUT /logger "{\"log_path\":\"$work/kata.log\",\"level\":\"Debug\",\"show_level\":true}"
expect kata 204 PUT /metrics "{\"metrics_path\":\"$work/kata.metrics\"}"
expect kata 204 PUT /boot-source "{\"kernel_image_path\":\"$GUEST\",\"boot_args\":\"console=ttyS0 test=counter\"}"
expect kata 204 PUT /machine-config '{"mem_size_mib":64,"vcpu_count":1,"smt":false}'
expect kata 204 PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$work/rootfs.ext4\",\"is_root_device\":false,\"is_read_only\":true}"
# Kata attaches placeholder drives at start and swaps files in later
for i in 0 1 2 3 4 5 6 7; do
	truncate -s 1M "$work/drive_$i"
	expect kata 204 PUT "/drives/drive_$i" "{\"drive_id\":\"drive_$i\",\"path_on_host\":\"$work/drive_$i\",\"is_root_device\":false,\"is_read_only\":false,\"rate_limiter\":null,\"io_engine\":\"Sync\"}"
done
# the agent's channel: a hybrid vsock (kata.hvsock in the sandbox's dir)
expect kata 204 PUT /vsock "{\"vsock_id\":\"root\",\"guest_cid\":3,\"uds_path\":\"$work/kata.hvsock\"}"
expect kata 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_line "$work/kata.out" "^counter 1" || bad+="no counter output; "
[ -S "$work/kata.hvsock" ] || bad+="no listener at the vsock's uds_path; "
truncate -s 4M "$work/container-image"
expect kata 204 PATCH /drives/drive_3 "{\"drive_id\":\"drive_3\",\"path_on_host\":\"$work/container-image\"}"
expect kata 200 GET /
# Kata stops a sandbox with SendCtrlAltDel (the test guest then resets)
expect kata 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && expect kata 204 PUT /actions '{"action_type":"Stop"}'
wait "$pid"
grep -q "API server started." "$work/kata.err" "$work/kata.log" || bad+="no 'API server started.'; "
verdict kata

# --- Firecracker's Python test framework: its launch and spawn ------------
touch "$work/fc.log" "$work/serial.log" "$work/fc.ndjson"
launch pyfw --id pytest-1 --log-path "$work/fc.log" --level Debug --show-level \
	--show-log-origin --metrics-path "$work/fc.ndjson" --no-seccomp ||
	fail python-framework "no socket"
wait_line "$work/fc.log" "API server started." || bad+="log lacks 'API server started.'; "
grep -q "Running Firecracker" "$work/fc.log" || bad+="log lacks 'Running Firecracker'; "
expect pyfw 204 PUT /serial "{\"serial_out_path\":\"$work/serial.log\"}"
expect pyfw 204 PUT /machine-config '{"vcpu_count":2,"mem_size_mib":64,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}'
expect pyfw 204 PUT /boot-source "{\"kernel_image_path\":\"$GUEST\",\"boot_args\":\"test=hello\",\"initrd_path\":null}"
expect pyfw 204 PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$work/rootfs.ext4\",\"is_root_device\":true,\"is_read_only\":false,\"partuuid\":null,\"cache_type\":\"Unsafe\",\"io_engine\":\"Sync\",\"rate_limiter\":null}"
expect pyfw 204 PUT /actions '{"action_type":"InstanceStart"}'
wait "$pid"
grep -q "TESTGUEST PASS hello" "$work/serial.log" || bad+="serial_out_path has no PASS line; "
grep -q "Firecracker exiting successfully. exit_code=0" "$work/fc.log" || bad+="no exit line; "
verdict python-framework

# Firecracker's own tests/framework/vm_config.json shape, as a config file
cat >"$work/vm_config.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$GUEST", "boot_args": "test=hello", "initrd_path": null },
  "drives": [ { "drive_id": "rootfs", "partuuid": null, "is_root_device": true,
                "cache_type": "Unsafe", "is_read_only": false,
                "path_on_host": "$work/rootfs.ext4", "io_engine": "Sync",
                "rate_limiter": null, "socket": null } ],
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 64, "smt": false,
                      "track_dirty_pages": false, "huge_pages": "None" },
  "cpu-config": null, "balloon": null, "network-interfaces": [], "vsock": null,
  "logger": null, "metrics": null, "mmds-config": null, "entropy": null
}
JSON
"$FC" --no-api --config-file "$work/vm_config.json" </dev/null >"$work/cf.out" 2>"$work/cf.err"
rc=$?
[ "$rc" -eq 0 ] && grep -q "TESTGUEST PASS hello" "$work/cf.out" &&
	grep -q "configured from one single json" "$work/cf.err" &&
	pass framework-vm-config-json || fail framework-vm-config-json "rc=$rc: $(tail -2 "$work/cf.err")"

# --seccomp-filter: Firecracker's JSON filters installed, as Firecracker
# does: a permissive filter that traps KVM_RUN on the vCPU stops the VM
# at its first guest entry, with one line naming the call
permissive='{"default_action": "allow", "filter_action": "trap", "filter": []}'
cat >"$work/no-run.json" <<JSON
{ "vmm": $permissive, "api": $permissive,
  "vcpu": { "default_action": "allow", "filter_action": "trap",
            "filter": [ { "syscall": "ioctl", "args": [ { "index": 1,
              "type": "dword", "op": "eq", "val": 44672, "comment": "KVM_RUN" } ] } ] } }
JSON
"$FC" --no-api --config-file "$work/vm_config.json" --seccomp-filter "$work/no-run.json" \
	</dev/null >"$work/sf.out" 2>"$work/sf.err"
rc=$?
[ "$rc" -eq 1 ] && grep -Eq "seccomp: thread 'vcpu[0-9]+' made a forbidden system call: ioctl" "$work/sf.err" &&
	pass seccomp-filter-installed || fail seccomp-filter-installed "rc=$rc: $(tail -2 "$work/sf.err")"
"$FC" --no-api --config-file "$work/vm_config.json" --seccomp-filter "$work/no-run.json" \
	--no-seccomp </dev/null >/dev/null 2>"$work/sf2.err"
rc=$?
[ "$rc" -eq 1 ] && [ "$(wc -l <"$work/sf2.err")" -eq 1 ] && pass seccomp-flags-exclusive ||
	fail seccomp-flags-exclusive "rc=$rc: $(cat "$work/sf2.err")"

# --- every path and method of the swagger: answered, never 404/405 --------
launch swagger --id sw || fail swagger "no socket"
while read -r method path; do
	s=$(req "$sock" "$method" "$path" '{}')
	code=${s%% *}
	case $code in
	2??|400) ;;
	*) bad+="$method $path -> $s; " ;;
	esac
	if [ "$code" = 400 ] && [[ $s != *fault_message* ]]; then
		bad+="$method $path: 400 without a fault_message; "
	fi
done <<'PATHS'
GET /
PUT /actions
GET /balloon
PUT /balloon
PATCH /balloon
GET /balloon/statistics
PATCH /balloon/statistics
PATCH /balloon/hinting/start
GET /balloon/hinting/status
PATCH /balloon/hinting/stop
PUT /boot-source
PUT /cpu-config
PUT /drives/x
PATCH /drives/x
PUT /pmem/x
PATCH /pmem/x
PUT /logger
GET /machine-config
PUT /machine-config
PATCH /machine-config
PUT /metrics
PUT /mmds
PATCH /mmds
GET /mmds
PUT /mmds/config
PUT /entropy
PUT /serial
PUT /hotplug/memory
PATCH /hotplug/memory
GET /hotplug/memory
PUT /network-interfaces/x
PATCH /network-interfaces/x
PUT /snapshot/create
PUT /snapshot/load
GET /version
PATCH /vm
GET /vm/config
PUT /vsock
PATHS
verdict every-swagger-path-answered
kill -TERM "$pid"; wait "$pid"

# --- the payload limit of --http-api-max-payload-size ---------------------
launch limit --http-api-max-payload-size 100 || fail payload-limit "no socket"
big=$(printf '{"kernel_image_path":"%0200d"}' 0)
s=$(req "$sock" PUT /boot-source "$big")
[[ $s == 413* ]] && pass payload-limit || fail payload-limit "$s"
kill -TERM "$pid"; wait "$pid"

exit $failed
