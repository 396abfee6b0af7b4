#!/usr/bin/env bash
# The fuzz layer of make check: every corpus under tests/fuzz/corpus/NAME/
# replayed through its target's -DFUZZ_STANDALONE build (gcc or clang,
# ASan/UBSan; make fuzz), one PASS or FAIL line per target. A corpus
# without a target, or a target without a corpus, is a failure too.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
status=0
for dir in tests/fuzz/corpus/*/; do
	name=$(basename "$dir")
	bin=$BUILD/fuzz/fuzz_$name
	if [ ! -x "$bin" ]; then
		# the x86 loaders build only for x86-64
		if [ "$name" = x86_boot ] && [ "$(uname -m)" != x86_64 ]; then
			echo "SKIP: fuzz.$name: not an x86-64 build"
			continue
		fi
		echo "FAIL: fuzz.$name: no $bin (make fuzz)"
		status=1
		continue
	fi
	n=$(find "$dir" -type f | wc -l)
	out=$(mktemp)
	# the older targets take files only; every target takes them
	if find "$dir" -type f -print0 | sort -z |
	   timeout 120 xargs -0 "$bin" >"$out" 2>&1; then
		echo "PASS: fuzz.$name ($n inputs)"
	else
		echo "FAIL: fuzz.$name: $(grep -m1 -E 'ERROR|invariant|runtime error|Abort' "$out" || tail -1 "$out")"
		tail -20 "$out" | sed 's/^/    /'
		status=1
	fi
	rm -f "$out"
done
for bin in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	if [ ! -d "tests/fuzz/corpus/$name" ]; then
		echo "FAIL: fuzz.$name: no corpus in tests/fuzz/corpus/$name"
		status=1
	fi
done
exit $status
