#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check-insns.sh OBJDUMP BINARY: fail if the test guest contains an
# instruction that the nested-KVM instruction emulator cannot execute at
# CPL0 (SSE/AVX, x87, xsave, popcnt, BMI, crc32, cmpxchg16b, rdtscp, int3,
# int n, ...). Each code section is disassembled in the mode it runs in.
set -eu
objdump=$1
bin=$2

dis() {
	# $1 = section, $2 = disassembler mode
	"$objdump" -d --no-show-raw-insn -M "$2" -j "$1" "$bin" |
		awk -F'\t' 'NF >= 2 && $1 ~ /^ *[0-9a-f]+:$/ { print $1 "\t" $2 }'
}

bad=$( { dis .text32 i386; dis .text16 i8086; dis .text x86-64; } |
	grep -Ei '	(f[a-z0-9]*|wait|cmpxchg16b|cmpxchg8b|xsave[a-z0-9]*|xrstor[a-z0-9]*|xgetbv|xsetbv|ldmxcsr|stmxcsr|fxsave[a-z0-9]*|fxrstor[a-z0-9]*|emms|popcnt|lzcnt|tzcnt|andn|bextr|blsi|blsmsk|blsr|bzhi|pdep|pext|rorx|sarx|shlx|shrx|mulx|adcx|adox|crc32[a-z]*|rdtscp|int3|int|into|rdrand|rdseed|movbe|vzero[a-z]*)( |$)|%[xyz]mm|%mm[0-7]|%st' || true)
if [ -n "$bad" ]; then
	echo "$bin: instructions the nested-KVM emulator cannot run:" >&2
	echo "$bad" >&2
	exit 1
fi
