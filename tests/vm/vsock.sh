#!/usr/bin/env bash
# virtio-vsock with the test guest (test=vsock, guest/testguest/vsock.c):
# an echo through Firecracker's Unix-socket host side (a listener at
# <uds_path>_5000, build/guest/vsockecho), then the device's queues under
# hostile descriptors and lies (bad addresses, a looping chain, a read-only
# receive buffer, a length and a credit lie), then the echo again; vmm must
# still answer its API and a host "CONNECT 5001" afterwards. Once from the
# config file's vsock section, once from PUT /vsock.
#
# Prints PASS: vm.vsock.NAME / FAIL: ... / SKIP: ...; exit 1 on failure.
set -u
cd "$(dirname "$0")/../.."
CHECK_PREFIX=vm.vsock
. tests/vm/common.sh

ECHO=${VSOCKECHO:-$BUILD/guest/vsockecho}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do { kill -KILL "$p"; wait "$p"; } 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

if [ ! -e /dev/kvm ]; then
	skip all "/dev/kvm is absent on this machine"
	exit 0
fi
if ! guest_has vsock; then
	skip all "the test guest has no vsock scenario"
	exit 0
fi
if [ ! -x "$ECHO" ]; then
	skip all "no $ECHO (make $ECHO)"
	exit 0
fi

# wait_for FILE PATTERN SECONDS
wait_for() {
	for _ in $(seq $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# run NAME: the guest's run is under way (vmm pid in $pid); check it.
check_run() {
	local name=$1 sock=$work/$1.api uds=$work/$1.v
	if wait_for "$work/$name.serial" "waiting for the host's connection to port 5001" 60; then
		if "$VMM" ctl "$sock" info >"$work/$name.info" 2>&1; then
			pass "$name-api-answers"
		else
			fail "$name-api-answers" "vmm ctl info after the hostile steps: $(head -n1 "$work/$name.info")"
		fi
		if command -v curl >/dev/null; then
			api() {
				curl -s --unix-socket "$sock" -X "$1" -H 'Content-Type: application/json' \
					-d "$3" -w ' %{http_code}' "http://localhost$2"
			}
			api PATCH /vm '{"state": "Paused"}' >/dev/null
			out=$(api PUT /snapshot/create "{\"snapshot_path\": \"$work/$name.snap\", \"mem_file_path\": \"$work/$name.mem\"}")
			api PATCH /vm '{"state": "Resumed"}' >/dev/null
			if [[ $out == *"vsock device cannot be snapshotted"*" 400" ]]; then
				pass "$name-snapshot-refused"
			else
				fail "$name-snapshot-refused" "PUT /snapshot/create: $out"
			fi
		fi
		if "$ECHO" dial "fc:$uds:5001" >"$work/$name.dial" 2>&1; then
			pass "$name-host-connect"
		else
			fail "$name-host-connect" "$(head -n1 "$work/$name.dial")"
		fi
	else
		fail "$name-api-answers" "the guest never got to its last step"
		fail "$name-host-connect" "the guest never got to its last step"
	fi
	wait "$pid"
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q "^TESTGUEST PASS vsock" "$work/$name.serial"; then
		pass "$name-hostile ($(grep -c '^vsock: ' "$work/$name.serial") steps reported; $(grep -o 'flood: .*' "$work/$name.serial" | head -n1))"
	else
		fail "$name-hostile" "rc=$rc (99: sanitizer); $(grep -m1 'TESTGUEST FAIL' "$work/$name.serial"); $(grep -m1 'ERROR\|runtime error' "$work/$name.err")"
	fi
	if grep -q "virtio-vsock at .*device needs a reset" "$work/$name.err"; then
		pass "$name-broken-logged"
	else
		fail "$name-broken-logged" "no 'virtio-vsock at ...: ... device needs a reset' line on stderr"
	fi
}

"$ECHO" echo-server "unix:$work/cf.v_5000" >/dev/null 2>&1 &
pids+=($!)
"$ECHO" echo-server "unix:$work/api.v_5000" >/dev/null 2>&1 &
pids+=($!)

# --- the config file's vsock section --------------------------------------
cat >"$work/cf.json" <<EOF
{
  "boot-source": { "kernel_image_path": "$GUEST", "boot_args": "test=vsock" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "vsock": { "guest_cid": 7, "uds_path": "$work/cf.v" }
}
EOF
timeout "$TIMEOUT" "$VMM" run --config-file "$work/cf.json" --api-sock "$work/cf.api" \
	--console none --serial-log "$work/cf.serial" </dev/null >/dev/null 2>"$work/cf.err" &
pid=$!
pids+=("$pid")
check_run cf
grep -q "^vsock: guest_cid 7" "$work/cf.serial" && pass cf-guest-cid ||
	fail cf-guest-cid "the guest read '$(grep -o 'guest_cid.*' "$work/cf.serial")'"
[ ! -e "$work/cf.v" ] && pass cf-socket-removed ||
	fail cf-socket-removed "$work/cf.v is still there after vmm exited"

# --- uds_path: neither another file nor a live listener is replaced ----------
echo keep >"$work/busy.file"
"$ECHO" echo-server "unix:$work/busy.v" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$work/busy.v" ] && break; sleep 0.05; done
for what in file v; do
	cat >"$work/busy-$what.json" <<EOF
{ "boot-source": { "kernel_image_path": "$GUEST", "boot_args": "test=hello" },
  "vsock": { "guest_cid": 3, "uds_path": "$work/busy.$what" } }
EOF
	timeout "$TIMEOUT" "$VMM" run --config-file "$work/busy-$what.json" \
		--console none </dev/null >/dev/null 2>"$work/busy-$what.err"
	echo "rc=$? $(cat "$work/busy-$what.err")" >"$work/busy-$what.out"
done
if grep -q "^rc=1 vmm: error: vsock: uds_path .*busy.file: exists and is not a socket$" "$work/busy-file.out" &&
   [ "$(cat "$work/busy.file")" = keep ]; then
	pass uds-path-not-a-socket
else
	fail uds-path-not-a-socket "$(cat "$work/busy-file.out")"
fi
if ! command -v python3 >/dev/null; then
	skip uds-path-in-use "python3 is not installed (scripts/install-deps --test)"
elif grep -q "^rc=1 vmm: error: vsock: uds_path .*busy.v: another program listens there$" "$work/busy-v.out" &&
   python3 -c "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])" \
	"$work/busy.v" 2>/dev/null; then
	pass uds-path-in-use
else
	fail uds-path-in-use "$(cat "$work/busy-v.out"); the listener still there?"
fi

# --- PUT /vsock ---------------------------------------------------------------
if ! command -v curl >/dev/null; then
	skip api "curl is not installed (scripts/install-deps --test)"
	exit $failed
fi
timeout "$TIMEOUT" "$VMM" run --api-sock "$work/api.api" \
	--console none --serial-log "$work/api.serial" </dev/null >/dev/null 2>"$work/api.err" &
pid=$!
pids+=("$pid")
for _ in $(seq 100); do [ -S "$work/api.api" ] && break; sleep 0.05; done
put() {
	curl -s -o /dev/null -w '%{http_code}' --unix-socket "$work/api.api" \
		-X PUT -H 'Content-Type: application/json' -d "$2" "http://localhost$1"
}
s1=$(put /boot-source "{\"kernel_image_path\": \"$GUEST\", \"boot_args\": \"test=vsock\"}")
s2=$(put /vsock '{"guest_cid": 3}')
s3=$(put /vsock "{\"vsock_id\": \"v\", \"guest_cid\": 5, \"uds_path\": \"$work/api.v\"}")
s4=$(put /actions '{"action_type": "InstanceStart"}')
if [ "$s1 $s2 $s3 $s4" = "204 400 204 204" ]; then
	pass "api-put-vsock (boot-source 204, without uds_path 400, vsock 204, start 204)"
else
	fail api-put-vsock "statuses: boot-source $s1, vsock without uds_path $s2, vsock $s3, InstanceStart $s4"
fi
check_run api

exit $failed
