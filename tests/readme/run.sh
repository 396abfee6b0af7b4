#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The README's blocks as tests (tests/readme/readme.py; the annotation
# syntax is in tests/README.md). One PASS:/FAIL:/SKIP: line per block.
#
#   tests/readme/run.sh          the blocks that run on this machine
#   tests/readme/run.sh --e2e    also those that boot Linux, in the
#                                emulated x86-64 host of tests/e2e/x86_64.sh
set -u
cd "$(dirname "$0")/../.."
exec python3 -B tests/readme/readme.py "$@"
