#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of `vmm run --bundle`: OCI bundles run by vmm (in a VM)
# and by crun (in a container), side by side in the same emulated x86-64
# host with hardware virtualization (QEMU TCG + AMD SVM, as
# tests/e2e/x86_64.sh), and compared: stdout, stderr and exit status,
# plus exec -> first output and exec -> exit of each run (bench-run).
#
# The bundles: a busybox-static rootfs with `runc spec`'s config.json,
# patched per case with jq, and a Debian 12 minbase rootfs (debootstrap,
# cached). They reach the emulated host on an ext4 disk, with an empty
# directory for vmm's rootfs image cache, so each rootfs's first vmm run
# makes its image there and the later ones use it. crun runs there with
# its libraries from this machine and a cgroup2 hierarchy the host's
# /init mounts; --no-pivot, since that root is an initramfs.
#
# Exit status: 0 all checks passed, 1 a check failed, 2 usage error,
# 77 the environment cannot run the test (printed as "SKIP: <reason>").
set -euo pipefail

readonly PROG=tests/e2e/bundle.sh
readonly EXIT_SKIP=77
readonly HOST_CMDLINE="console=ttyS0 panic=-1 quiet"
readonly HOST_MEM=1536      # MiB: the Debian tree's page cache, its image, a guest
readonly HOST_TIMEOUT=900
readonly SILENCE_LIMIT=120
readonly HOST_KERNEL_META=linux-image-cloud-amd64
# as tests/e2e/x86_64.sh, so both share the cached host kernel
readonly HOST_MODULES="irqbypass kvm kvm-amd virtio_ring virtio
	virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk tun"
readonly DEBIAN_SUITE=bookworm

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$REPO/tests/e2e/lib.sh"
E2E_APT_OPTS=()
CACHE=${VMM_CACHE:-$HOME/.cache/vmm}
VMM=
GUEST_KERNEL=
KEEP=0
DEBIAN=1
CASES=
WORK=
QEMU_PID=
T0=$SECONDS

usage() {
	cat <<EOF
Usage: $PROG --vmm PATH [--keep] [--no-debian] [--guest-kernel BZIMAGE]

Runs OCI bundles with \`vmm run --bundle\` (static vmm PATH) and with crun
in one emulated x86-64 host and compares what they print and their exit
statuses; reports exec -> first output and exec -> exit for both, for
vmm's first run (the rootfs image is made) and cached runs.

  --no-debian   leave out the Debian minbase rootfs (debootstrap, ~200 MiB)
  --cases LIST  only these cases (comma-separated; checks of the others fail)
  --keep        keep the work directory and say where
  --guest-kernel BZIMAGE   instead of scripts/build-guest-kernel's
EOF
}

log() { echo "bundle-e2e: $*"; }
skip() {
	echo "SKIP: $*"
	exit "$EXIT_SKIP"
}
setup_fail() {
	echo "FAIL: bundle.setup: $*"
	exit 1
}

parse_args() {
	while (($#)); do
		case $1 in
		--help | -h) usage; exit 0 ;;
		--vmm) (($# >= 2)) || { usage >&2; exit 2; }; VMM=$2; shift ;;
		--keep) KEEP=1 ;;
		--no-debian) DEBIAN=0 ;;
		--cases) (($# >= 2)) || { usage >&2; exit 2; }; CASES=${2//,/ }; shift ;;
		--guest-kernel) (($# >= 2)) || { usage >&2; exit 2; }; GUEST_KERNEL=$2; shift ;;
		*) echo "$PROG: unknown argument: $1" >&2; usage >&2; exit 2 ;;
		esac
		shift
	done
	[[ -n $VMM ]] || { echo "$PROG: --vmm PATH is required" >&2; exit 2; }
	[[ -f $VMM && -x $VMM ]] || { echo "$PROG: not an executable file: $VMM" >&2; exit 2; }
	VMM=$(realpath "$VMM")
	if readelf -l "$VMM" 2>/dev/null | grep 'Requesting program interpreter' >/dev/null; then
		echo "$PROG: $VMM is dynamically linked; the test needs a static build" >&2
		exit 2
	fi
}

# --- the bundles ---------------------------------------------------------------

# A case: its config.json from the base one through a jq filter.
add_case() {
	local name=$1 filter=$2
	mkdir -p "$DATA/cases/$name"
	jq "$filter" "$BASE_CONFIG" >"$DATA/cases/$name/config.json"
}

make_bundles() {
	DATA=$WORK/data
	local rootfs=$DATA/busybox/rootfs applet
	mkdir -p "$rootfs/bin" "$DATA/cache" "$DATA/cases"
	cp /bin/busybox "$rootfs/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[[ $applet == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
	done
	echo "not a program" >"$rootfs/noexec"
	chmod 644 "$rootfs/noexec"

	(cd "$WORK" && runc spec) || setup_fail "runc spec failed"
	BASE_CONFIG=$WORK/config.json
	jq '.process.terminal = false | .root.path = "/data/busybox/rootfs"' \
		"$BASE_CONFIG" >"$WORK/base.json"
	BASE_CONFIG=$WORK/base.json

	add_case first '.process.args = ["echo", "hello from the first run"]'
	add_case exit0 '.process.args = ["sh", "-c", "echo hello from the bundle; echo and its stderr >&2"]'
	add_case exit3 '.process.args = ["sh", "-c", "echo out; echo err >&2; exit 3"]'
	add_case quote '.process.args = ["printf", "[%s]\\n", "two words", "a \"quote\"", "it'"'"'s", "$HOME", "  ", "tab\there", "*"]'
	add_case env '.process.env += ["GREETING=hello world", "EMPTY="] |
		.process.cwd = "/tmp/work dir" |
		.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [10, 20]} |
		.process.args = ["sh", "-c", "env | sort; pwd; id; echo pid=$$; hostname; umask"]'
	add_case stdin '.process.args = ["sh", "-c", "cat; echo stdin-closed"]'
	printf 'line one\nline two\n' >"$DATA/cases/stdin/stdin"
	add_case notfound '.process.args = ["nosuch-command", "arg"]'
	add_case noexec '.process.args = ["/noexec"]'
	add_case sigterm '.process.args = ["sh", "-c", "trap \"echo got-TERM; exit 42\" TERM; echo ready; while :; do sleep 1; done"]'
	add_case rootwrite '.root.readonly = false |
		.process.args = ["sh", "-c", "echo x >/written && cat /written"]'
	add_case timing '.process.args = ["echo", "hi"]'
	add_case terminal '.process.terminal = true |
		.process.args = ["sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-three-a-tty; echo to-stderr >&2; exit 5"]'
	# vmm's own options still apply: memory, vCPUs, a disk; no network
	add_case options '.process.args = ["sh", "-c", "grep -c ^processor /proc/cpuinfo; cat /sys/block/vdb/size; ls /sys/class/net; awk \"/MemTotal/ { print int(\\$2 / 1024) }\" /proc/meminfo"]'
	echo "--mem 384M --cpus 2 --disk /data/extra.img,ro" >"$DATA/cases/options/vmm-args"
	truncate -s 4M "$DATA/extra.img"
	mkdir -p "$DATA/cases/badjson"
	printf '{"ociVersion": "1.0.2", "process": ' >"$DATA/cases/badjson/config.json"

	local order=(
		"first plain vmm-first"
		"exit0 plain vmm crun"
		"exit3 plain vmm crun"
		"quote plain vmm crun"
		"env plain vmm crun"
		"stdin plain vmm crun"
		"notfound plain vmm crun"
		"noexec plain vmm crun"
		"sigterm sigterm vmm crun"
		"rootwrite rootwrite vmm crun"
		"timing plain vmm1 crun1 vmm2 crun2 vmm3 crun3 vmm4 crun4 vmm5 crun5"
		"terminal terminal vmm crun"
		"options plain vmm"
		"badjson plain vmm crun"
		"missing plain vmm crun"
	)
	if ((DEBIAN)); then
		ensure_debian
		mkdir -p "$DATA/debian"
		cp -a "$DEBIAN_TREE" "$DATA/debian/rootfs"
		add_case debian '.root.path = "/data/debian/rootfs" |
			.process.args = ["cat", "/etc/os-release"]'
		order+=("debian plain vmm-first crun1 vmm1 crun2 vmm2 crun3 vmm3")
	fi
	local line
	for line in "${order[@]}"; do
		[[ -z $CASES || " $CASES " == *" ${line%% *} "* ]] && echo "$line"
	done >"$DATA/cases/ORDER"

	DATA_IMG=$WORK/data.img
	local mib
	mib=$(du -sm "$DATA" | cut -f1)
	truncate -s "$((mib * 2 + 512))M" "$DATA_IMG"
	mkfs.ext4 -q -F -d "$DATA" "$DATA_IMG" || setup_fail "mkfs.ext4 -d of the bundles failed"
}

# Debian 12 minbase, made once with debootstrap from this machine's apt
# sources and kept in the cache.
ensure_debian() {
	DEBIAN_TREE=$CACHE/debian-$DEBIAN_SUITE-minbase
	[[ -f $DEBIAN_TREE.complete ]] && return 0
	local mirror
	mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
	[[ -n $mirror ]] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
	[[ -n $mirror ]] || skip "no Debian mirror in the apt sources for debootstrap"
	log "debootstrap --variant=minbase $DEBIAN_SUITE into $DEBIAN_TREE (once)"
	rm -rf "$DEBIAN_TREE"
	debootstrap --variant=minbase "$DEBIAN_SUITE" "$DEBIAN_TREE" "$mirror" \
		>"$WORK/debootstrap.log" 2>&1 || { tail -n5 "$WORK/debootstrap.log"; skip "debootstrap failed"; }
	touch "$DEBIAN_TREE.complete"
}

# --- the emulated host -----------------------------------------------------------

# --add arguments for a dynamic binary and the libraries ldd names.
with_libs() {
	local bin=$1 lib
	ADDS+=(--add "$bin=$bin")
	while read -r lib; do
		ADDS+=(--add "$lib=$lib")
	done < <(ldd "$bin" | grep -o '/[^ ]*' | sort -u)
}

build_host() {
	if [[ -z $GUEST_KERNEL ]]; then
		GUEST_KERNEL=$("$REPO/scripts/build-guest-kernel" 2>"$WORK/kernel-build.err" | tail -n1) ||
			{ cat "$WORK/kernel-build.err"; setup_fail "scripts/build-guest-kernel failed"; }
	fi
	log "guest kernel: $GUEST_KERNEL"
	BENCH_RUN=$WORK/bench-run
	gcc -O2 -static -o "$BENCH_RUN" "$REPO/scripts/benchlib/bench-run.c" ||
		setup_fail "cannot build bench-run"
	ADDS=(--add "$VMM=/vmm" --add "$BENCH_RUN=/bench-run"
		--add "$GUEST_KERNEL=/guest/bzImage")
	local m
	for m in $HOST_MODULES; do
		ADDS+=(--add "$HOST_KERNEL_DIR/$m.ko=/lib/modules/$m.ko")
	done
	with_libs "$(command -v crun)"
	with_libs "$(command -v mkfs.erofs)"
	# a terminal for the terminal case (busybox has no script)
	with_libs "$(command -v script)"
	HOST_INITRD=$WORK/host-initramfs.gz
	"$REPO/scripts/build-initramfs" --init "$REPO/tests/e2e/bundle-host-init.sh" \
		"${ADDS[@]}" "$HOST_INITRD" >/dev/null 2>"$WORK/initramfs.err" ||
		{ cat "$WORK/initramfs.err"; setup_fail "scripts/build-initramfs failed"; }
}

run_host() {
	CONSOLE=$WORK/console.log
	local t=$SECONDS
	log "booting the emulated host (QEMU TCG, EPYC+SVM); console: $CONSOLE"
	timeout --kill-after=10 "$HOST_TIMEOUT" qemu-system-x86_64 \
		-accel tcg -M q35 -cpu EPYC,+svm -m "$HOST_MEM" -smp 1 \
		-nographic -no-reboot \
		-kernel "$HOST_KERNEL_DIR/vmlinuz" -initrd "$HOST_INITRD" \
		-append "$HOST_CMDLINE" \
		-drive "file=$DATA_IMG,format=raw,if=virtio" \
		</dev/null >"$CONSOLE" 2>"$WORK/qemu.err" &
	QEMU_PID=$!
	wait_for_qemu "$t"
	tr -d '\r' <"$CONSOLE" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' >"$CONSOLE.txt"
}

# --- the checks ------------------------------------------------------------------

FAILED=0
pass() { echo "PASS: bundle.$*"; }
fail() {
	echo "FAIL: bundle.$*"
	FAILED=1
}

# result CASE RUNTIME FIELD: a field of bench-run's RESULT line
result() {
	section "$1/$2/result" | tr ' ' '\n' | sed -n "s/^$3=//p" | head -n1
}
status() {
	local s sig
	s=$(result "$1" "$2" status)
	sig=$(result "$1" "$2" signal)
	if [[ -n $sig && $sig != -1 && $sig != 0 ]]; then echo "signal$sig"; else echo "$s"; fi
}
ms() {
	local ns
	ns=$(result "$1" "$2" "$3")
	[[ $ns =~ ^[0-9]+$ ]] && awk -v n="$ns" 'BEGIN { printf "%.0f", n / 1e6 }' || echo "?"
}
brief() { section "$1" | head -c 300 | tr '\n' '|'; }

# same CASE WHAT [CRUN-FILTER]: vmm and crun alike in stdout, stderr and
# status (crun's stdout through the sed expression CRUN-FILTER first)
same() {
	local c=$1 what=$2 filter=${3:-} problems=()
	has_section "$c/vmm/result" || { fail "$c: no vmm result ($(host_said))"; return; }
	[[ $(section "$c/vmm/stdout") == "$(section "$c/crun/stdout" | sed "$filter")" ]] ||
		problems+=("stdout vmm '$(brief "$c/vmm/stdout")' crun '$(brief "$c/crun/stdout")'")
	[[ $(section "$c/vmm/stderr") == "$(section "$c/crun/stderr")" ]] ||
		problems+=("stderr vmm '$(brief "$c/vmm/stderr")' crun '$(brief "$c/crun/stderr")'")
	[[ $(status "$c" vmm) == "$(status "$c" crun)" ]] ||
		problems+=("status vmm $(status "$c" vmm) crun $(status "$c" crun)")
	if ((${#problems[@]} == 0)); then
		pass "$c ($what; status $(status "$c" vmm), stdout and stderr identical to crun's)"
	else
		fail "$c: $(IFS=';'; echo "${problems[*]}")"
	fi
}

host_said() {
	sed -n 's/^E2E-HOST: //p' "$CONSOLE.txt" | paste -sd ';' - | head -c 300
	[[ -z ${HOST_NOTE:-} ]] || echo " ($HOST_NOTE)"
}

# one line on stderr holding $3, stdout empty, status $2 (vmm)
vmm_error() {
	local c=$1 want=$2 text=$3 err lines
	err=$(section "$c/vmm/stderr")
	lines=$(grep -c . <<<"$err" || true)
	if [[ $(status "$c" vmm) == "$want" && $lines == 1 && $err == *"$text"* &&
		-z $(section "$c/vmm/stdout") ]]; then
		pass "$c (vmm: status $want, '$err'; crun: status $(status "$c" crun), '$(section "$c/crun/stderr" | head -n1)')"
	else
		fail "$c: vmm status $(status "$c" vmm) (want $want), stderr '$(brief "$c/vmm/stderr")' (want one line with '$text'), stdout '$(brief "$c/vmm/stdout")'"
	fi
}

check_results() {
	echo "----- emulated host console ($CONSOLE) -----"
	cat "$CONSOLE.txt"
	echo "----- end of emulated host console -----"
	grep -qx 'E2E-HOST-KVM: unavailable' "$CONSOLE.txt" &&
		skip "/dev/kvm does not work in the emulated host (kvm-amd did not load)"

	if [[ $(section first/vmm-first/stdout) == "hello from the first run" &&
		$(status first vmm-first) == 0 ]]; then
		pass "first-run (the rootfs image made on first use; echo printed, status 0)"
	else
		fail "first-run: status $(status first vmm-first), stdout '$(brief first/vmm-first/stdout)', stderr '$(brief first/vmm-first/stderr)'; $(host_said)"
	fi
	same exit0 "exit 0 with stdout and stderr"
	same exit3 "exit 3"
	same quote "arguments with spaces, quotes, \$ and *"
	same env "env, cwd that does not exist yet, uid/gid/groups, PID 1, hostname, umask"
	same stdin "stdin from a file, and its end"
	vmm_error notfound 127 'nosuch-command'
	vmm_error noexec 126 '/noexec'
	same sigterm "SIGTERM reaches the process (trap, exit 42)"
	# crun writes a NUL to the terminal (first or last, as it happens),
	# which script's echo shows as ^@
	same terminal "process.terminal: a pty for stdin, stdout and stderr (under script(1)), exit 5" \
		's/\^@//g'
	if [[ $(section terminal/vmm/stdout) != *all-three-a-tty* ]]; then
		fail "terminal-tty: the process did not see a terminal: '$(brief terminal/vmm/stdout)'"
	fi
	if [[ $(status sigterm vmm) != 42 ]]; then
		fail "sigterm-42: vmm status $(status sigterm vmm), want 42 from the trap"
	fi

	local rw_vmm rw_crun
	rw_vmm=$(sed -n 's/^E2E-HOST-ROOTWRITE rootwrite vmm //p' "$CONSOLE.txt")
	rw_crun=$(sed -n 's/^E2E-HOST-ROOTWRITE rootwrite crun //p' "$CONSOLE.txt")
	if [[ $rw_vmm == rootfs-unchanged && $(section rootwrite/vmm/stdout) == x &&
		$(status rootwrite vmm) == 0 ]]; then
		pass "rootwrite (the process wrote /written and read it back; the bundle's rootfs is unchanged; crun's write: $rw_crun)"
	else
		fail "rootwrite: vmm '$rw_vmm', stdout '$(brief rootwrite/vmm/stdout)', status $(status rootwrite vmm), stderr '$(brief rootwrite/vmm/stderr)'"
	fi
	local opt
	opt=$(section options/vmm/stdout | paste -sd ' ' -)
	if [[ $opt =~ ^2\ 8192\ lo\ ([0-9]+)$ ]] && ((BASH_REMATCH[1] > 300 && BASH_REMATCH[1] <= 384)) &&
		[[ $(status options vmm) == 0 ]]; then
		pass "options (--cpus 2, --mem 384M, --disk as /dev/vdb, no network but lo: '$opt')"
	else
		fail "options: status $(status options vmm), stdout '$opt' (want '2 8192 lo N' with N MiB of 300..384), stderr '$(brief options/vmm/stderr)'"
	fi
	vmm_error badjson 125 'config.json'
	vmm_error missing 125 'missing'

	local r
	for r in 1 2 3 4 5; do
		[[ $(section timing/vmm$r/stdout) == hi && $(status timing vmm$r) == 0 ]] ||
			fail "timing-vmm$r: status $(status timing vmm$r), stdout '$(brief timing/vmm$r/stdout)'"
	done
	if ((DEBIAN)); then
		same_debian
	fi
	report_times
}

same_debian() {
	local out
	out=$(section debian/vmm-first/stdout)
	if [[ $out == *'VERSION_ID="12"'* && $out == "$(section debian/crun1/stdout)" &&
		$(section debian/vmm1/stdout) == "$out" && $(status debian vmm-first) == 0 ]]; then
		pass "debian (cat /etc/os-release from a $(du -sh "$DEBIAN_TREE" | cut -f1) Debian 12 minbase rootfs, identical to crun's, first and cached run)"
	else
		fail "debian: vmm status $(status debian vmm-first), stdout '$(brief debian/vmm-first/stdout)', stderr '$(brief debian/vmm-first/stderr)', crun '$(brief debian/crun1/stdout)'"
	fi
}

# median CASE FIELD RUNTIME...: the median in ms of FIELD over the runs
median() {
	local c=$1 f=$2 rt v=()
	shift 2
	for rt in "$@"; do
		has_section "$c/$rt/result" && v+=("$(ms "$c" "$rt" "$f")")
	done
	((${#v[@]})) || { echo "?"; return; }
	printf '%s\n' "${v[@]}" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}

report_times() {
	local c rt line
	echo "TIME: exec -> first output / exec -> exit in ms, same emulated host (QEMU TCG + SVM: not hardware figures)"
	for c in first timing debian; do
		for rt in vmm-first vmm1 vmm2 vmm3 vmm4 vmm5 crun1 crun2 crun3 crun4 crun5; do
			has_section "$c/$rt/result" || continue
			echo "TIME: $c $rt: first output $(ms "$c" "$rt" first_byte_ns) ms, exit $(ms "$c" "$rt" exit_ns) ms"
		done
	done
	for line in "busybox vmm-first-run:first:vmm-first" "busybox vmm-cached:timing:vmm1 vmm2 vmm3 vmm4 vmm5" \
		"busybox crun:timing:crun1 crun2 crun3 crun4 crun5" "debian vmm-first-run:debian:vmm-first" \
		"debian vmm-cached:debian:vmm1 vmm2 vmm3" "debian crun:debian:crun1 crun2 crun3"; do
		IFS=: read -r name c rt <<<"$line"
		# shellcheck disable=SC2086 # the runtimes are words
		echo "TIME-MEDIAN: $name: first output $(median "$c" first_byte_ns $rt) ms, exit $(median "$c" exit_ns $rt) ms"
	done
	echo "TIME: emulated host run $HOST_SECONDS s; total $((SECONDS - T0)) s"
}

main() {
	parse_args "$@"
	[[ $(uname -m) == x86_64 ]] || skip "needs an x86-64 machine (this is $(uname -m))"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/vmm-e2e-bundle.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	ensure_packages qemu-system-x86 busybox-static cpio e2fsprogs jq erofs-utils \
		crun runc gcc libc6-dev bsdutils
	((DEBIAN == 0)) || ensure_packages debootstrap
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found"
	ensure_host_kernel
	make_bundles
	build_host
	run_host
	check_results
	return "$FAILED"
}

main "$@"
