#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Tests of scripts/bench-boot: unit tests of its statistics and writers
# (test_units.py) and a smoke run on the tiny guest and fork+exec
# (test_smoke.py), all through Python's unittest. Prints one line per test:
#   PASS: bench.NAME | FAIL: bench.NAME: why | SKIP: bench.NAME: why
#
#   tests/bench/run.sh                 everything
#   tests/bench/run.sh test_units.py   only the unit tests (no KVM, no root)
set -u
cd "$(dirname "$0")/../.."
exec python3 -B tests/bench/runner.py "$@"
