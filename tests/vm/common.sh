# shellcheck shell=bash disable=SC2034 # sets variables for the sourcing script
# Sourced by the tests/vm/*.sh scripts after they cd to the top of the
# tree: which vmm and test guest to run, sanitizer settings, and the
# PASS:/FAIL:/SKIP: lines tests/run counts. Set CHECK_PREFIX first
# (e.g. vm.net); `failed` ends up 1 after any FAIL.
#
# The same scripts run on x86-64 and arm64 hosts: what differs between the
# two comes from the guest (GUEST_ARCH from its file format, the scenarios
# it has from its hello scenario, device addresses from what it prints).
BUILD=${BUILD:-build}
VMM=${VMM:-$BUILD/vmm-san}
GUEST=${GUEST:-$BUILD/guest/testguest-$(uname -m)}
TIMEOUT=${TIMEOUT:-120}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
pass() { echo "PASS: $CHECK_PREFIX.$1"; }
fail() { echo "FAIL: $CHECK_PREFIX.$1: $2"; failed=1; }
skip() { echo "SKIP: $CHECK_PREFIX.$1: $2"; }

# The architecture the guest file is built for: x86_64 (an ELF for
# x86-64), aarch64 (an arm64 Image: "ARM\x64" at offset 0x38), or unknown.
guest_arch() {
	local magic machine
	magic=$(od -An -tx1 -N4 "$GUEST" 2>/dev/null | tr -d ' \n')
	machine=$(od -An -tx1 -j18 -N2 "$GUEST" 2>/dev/null | tr -d ' \n')
	if [ "$magic" = 7f454c46 ] && [ "$machine" = 3e00 ]; then
		echo x86_64
	elif [ "$(od -An -tx1 -j56 -N4 "$GUEST" 2>/dev/null | tr -d ' \n')" = 41524d64 ]; then
		echo aarch64
	else
		echo unknown
	fi
}
GUEST_ARCH=$(guest_arch)

# guest_has SCENARIO: does the test guest have it? Its hello scenario
# lists the others (booted once, the first time this is asked).
guest_scenarios=
guest_has() {
	if [ -z "$guest_scenarios" ]; then
		local log
		log=$(mktemp)
		timeout "$TIMEOUT" "$VMM" run --console none --serial-log "$log" \
			-k "$GUEST" -p "test=hello" </dev/null >/dev/null 2>&1
		guest_scenarios=" hello $(sed -n 's/^testguest: other scenarios: test=//p' "$log" | tr -d '\r') "
		rm -f "$log"
	fi
	[[ $guest_scenarios == *" $1 "* ]]
}
