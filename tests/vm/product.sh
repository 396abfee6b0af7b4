#!/usr/bin/env bash
# The VM tests again, with the product build (build/vmm) instead of the
# sanitizer build: the sanitizer build's seccomp lists also allow what
# its runtime needs (vmm/seccomp.c), so only this run shows that the
# product's own lists are enough for every scenario. Check names get a
# "product." prefix: PASS: vm.product.hello.cpus1, ...
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
failed=0
for t in run net api seccomp snapshot vsock findings durability; do
	VMM=$BUILD/vmm tests/vm/$t.sh 2>&1 |
		sed -u 's/^\(PASS\|FAIL\|SKIP\): vm\./\1: vm.product./'
	[ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
done
exit $failed
