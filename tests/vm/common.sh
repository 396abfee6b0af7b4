# shellcheck shell=bash disable=SC2034 # sets variables for the sourcing script
# Sourced by the tests/vm/*.sh scripts after they cd to the top of the
# tree: which vmm and test guest to run, sanitizer settings, and the
# PASS:/FAIL:/SKIP: lines tests/run counts. Set CHECK_PREFIX first
# (e.g. vm.net); `failed` ends up 1 after any FAIL.
BUILD=${BUILD:-build}
VMM=${VMM:-$BUILD/vmm-san}
GUEST=${GUEST:-$BUILD/guest/testguest-x86_64}
TIMEOUT=${TIMEOUT:-120}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
pass() { echo "PASS: $CHECK_PREFIX.$1"; }
fail() { echo "FAIL: $CHECK_PREFIX.$1: $2"; failed=1; }
skip() { echo "SKIP: $CHECK_PREFIX.$1: $2"; }
