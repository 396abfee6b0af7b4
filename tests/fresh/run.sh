#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The README's two commands on a fresh Debian 12 machine, as root:
#
#   scripts/install-deps && make run
#   scripts/install-deps --test && make check
#
# (taken from README.md: the blocks annotated "fresh", in order).
# "Fresh" is a Debian 12 minbase tree made by debootstrap from the apt
# sources this machine uses, cached once and unpacked anew for every run,
# with /dev (for /dev/kvm and /dev/net/tun), /dev/pts, /proc and /sys bound
# in and a `git archive` of HEAD of this repository at /root/vmm. Nothing
# else is installed in it: what the commands need, they must install.
#
# Not part of `make check` (it takes minutes). Run it before changing what
# scripts/install-deps installs. The last line says how both went; the exit
# status is 0 only if both commands exited 0.
set -euo pipefail

readonly PROG=tests/fresh/run.sh
readonly SUITE=bookworm
readonly CMD_TIMEOUT=5400   # seconds, each of the two commands

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${VMM_CACHE:-$HOME/.cache/vmm}/fresh
TARBALL=$CACHE/$SUITE-minbase.tar
LAYERS=
KEEP=0
REFRESH=0
WORK=
T=
JOB_PID=

usage() {
	cat <<EOF
Usage: $PROG [--layers LIST] [--keep] [--refresh]

Runs the README's two commands in a fresh Debian 12 (minbase) tree, as
root:

  scripts/install-deps && make run
  scripts/install-deps --test && make check

  --layers LIST  VMM_TESTS for make check (e.g. unit,vm,bench; default:
                 every layer, as the README's command runs them)
  --keep         keep the tree and the logs afterwards and say where
  --refresh      make the cached minbase tree again (debootstrap)
  --help         this text

The minbase tree is cached in $TARBALL
(debootstrap, once); the commands run on a copy of HEAD (git archive:
commit what you want tested). Prints the last line of each command and,
last, one line with both results.
EOF
}

log() { echo "fresh: $*"; }
die() {
	echo "fresh: error: $*" >&2
	exit 1
}

parse_args() {
	while (($#)); do
		case $1 in
		--help | -h) usage; exit 0 ;;
		--layers) (($# >= 2)) || die "--layers needs a list"; LAYERS=$2; shift ;;
		--keep) KEEP=1 ;;
		--refresh) REFRESH=1 ;;
		*) usage >&2; die "unknown argument: $1" ;;
		esac
		shift
	done
	[[ $LAYERS =~ ^[a-z0-9,-]*$ ]] || die "--layers: a comma-separated list of layer names"
}

# Mount points at or below $1, deepest first (from this process's view).
mounts_under() {
	awk -v t="$1" '{ p = $5; gsub(/\\040/, " ", p)
		if (p == t || index(p, t "/") == 1) print length(p), p }' /proc/self/mountinfo |
		sort -rn | cut -d' ' -f2-
}

# Everything the run left: its processes (those whose root is the tree:
# ours only), the mounts ip netns made under T/run/netns, the binds, the
# tree. The tree is removed only once nothing is mounted below it.
cleanup() {
	local rc=$? p m left
	trap - EXIT INT TERM
	if [[ -n $JOB_PID ]]; then
		kill -TERM -- "-$JOB_PID" 2>/dev/null || true
	fi
	if [[ -n $T && -d $T ]]; then
		for p in /proc/[0-9]*; do
			[[ $(readlink "$p/root" 2>/dev/null) == "$T" ]] &&
				kill -KILL "${p#/proc/}" 2>/dev/null
		done
		# (twice: a mount can be stacked on another one)
		for _ in 1 2; do
			while read -r m; do
				[[ -n $m ]] || continue
				umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
			done < <(mounts_under "$T")
		done
		left=$(mounts_under "$T")
		if [[ -n $left ]]; then
			echo "fresh: error: still mounted, not removing $WORK: ${left//$'\n'/ }" >&2
			rc=1
		elif ((KEEP)); then
			log "tree and logs kept in $WORK"
		else
			rm -rf --one-file-system "$WORK"
		fi
	elif [[ -n $WORK && -d $WORK ]] && ((KEEP == 0)); then
		rm -rf --one-file-system "$WORK"
	fi
	exit "$rc"
}

ensure_debootstrap() {
	command -v debootstrap >/dev/null && return 0
	log "installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
		--no-install-recommends debootstrap >/dev/null || die "apt-get install debootstrap failed"
}

# The mirror this machine's apt uses for $SUITE (apt's own reading of its
# sources, whatever their format).
mirror() {
	apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 'Created-By: Packages' |
		awk -v s="$SUITE" '$1 == s { print $2; exit }'
}

# debootstrap once into the cache, as a tar that each run unpacks.
ensure_minbase() {
	mkdir -p "$CACHE"
	exec 8>"$CACHE/.lock"
	flock 8
	if ((REFRESH == 0)) && [[ -f $TARBALL ]]; then
		return 0
	fi
	ensure_debootstrap
	local url dir=$CACHE/$SUITE-minbase.tmp
	url=$(mirror)
	[[ -n $url ]] || die "this machine's apt sources have no $SUITE (apt-get indextargets)"
	log "debootstrap --variant=minbase $SUITE from $url (once; cached in $TARBALL)"
	rm -rf --one-file-system "$dir"
	debootstrap --variant=minbase "$SUITE" "$dir" "$url" >"$CACHE/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
	tar --numeric-owner -C "$dir" -cf "$TARBALL.new" .
	mv "$TARBALL.new" "$TARBALL"
	rm -rf --one-file-system "$dir"
}

# The fresh tree for this run: pristine minbase, this machine's apt
# sources and resolver, no daemons started by package installs (as in any
# chroot), the kernel's filesystems, and the source tree.
make_tree() {
	WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/vmm-fresh.XXXXXX")
	T=$WORK/root
	mkdir "$T"
	tar --numeric-owner -C "$T" -xpf "$TARBALL"

	rm -f "$T"/etc/apt/sources.list "$T"/etc/apt/sources.list.d/*
	[[ ! -f /etc/apt/sources.list ]] || cp /etc/apt/sources.list "$T/etc/apt/"
	find /etc/apt/sources.list.d -maxdepth 1 -type f \( -name '*.list' -o -name '*.sources' \) \
		-exec cp -t "$T/etc/apt/sources.list.d/" {} +
	cp -L /etc/resolv.conf "$T/etc/resolv.conf"
	# what Debian's installer writes and debootstrap does not: without it
	# "localhost" does not resolve (gdb's `target remote :PORT`)
	[[ -s $T/etc/hosts ]] ||
		printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$T/etc/hosts"
	printf '#!/bin/sh\nexit 101\n' >"$T/usr/sbin/policy-rc.d"
	chmod 755 "$T/usr/sbin/policy-rc.d"

	# The tree's / must be a mount point of its own, or `ip netns exec`
	# inside fails ("mount --make-rslave /" failed: Invalid argument); and
	# private, so nothing mounted here or by the tests shows up outside.
	mount --bind "$T" "$T"
	mount --make-private "$T"
	mount --bind /dev "$T/dev"
	mount --bind /dev/pts "$T/dev/pts"
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$T/dev/shm"
	mount -t proc proc "$T/proc"
	mount --bind /sys "$T/sys"
	# every Debian 12 machine has its cgroup hierarchies mounted (v2 by
	# systemd; v1 or hybrid on some hosts) for vmm jail's limits; the
	# non-recursive bind of /sys leaves them out: the host's, as they are
	if mountpoint -q /sys/fs/cgroup; then
		mount --rbind /sys/fs/cgroup "$T/sys/fs/cgroup"
		mount --make-rslave "$T/sys/fs/cgroup"
	fi

	git -C "$REPO" archive --format=tar --prefix=vmm/ HEAD | tar -C "$T/root" -x
}

# step NAME COMMAND: run COMMAND (a shell line) as root in the tree's
# /root/vmm with a clean environment; output in $WORK/NAME.log. Prints
# the command's last line; returns its status.
step() {
	local name=$1 cmd=$2 rc=0 t=$SECONDS
	log "$cmd"
	set -m # its own process group, so that cleanup can end all of it
	timeout --kill-after=30 "$CMD_TIMEOUT" chroot "$T" /usr/bin/env -i \
		HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 TERM=dumb ${LAYERS:+VMM_TESTS=$LAYERS} \
		/bin/bash -c "cd /root/vmm && $cmd" </dev/null >"$WORK/$name.log" 2>&1 &
	JOB_PID=$!
	set +m
	wait "$JOB_PID" || rc=$?
	JOB_PID=
	log "  exit $rc after $((SECONDS - t)) s; last line: $(tail -n1 "$WORK/$name.log")"
	return "$rc"
}

main() {
	parse_args "$@"
	((EUID == 0)) || die "needs root (debootstrap, mounts, chroot)"
	git -C "$REPO" rev-parse --verify -q HEAD >/dev/null || die "$REPO is not a git tree with a HEAD"
	[[ -z $(git -C "$REPO" status --porcelain --untracked-files=no) ]] ||
		log "note: uncommitted changes are not tested (the tree gets git archive HEAD)"
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	ensure_minbase
	make_tree
	log "fresh tree: $T, $(git -C "$REPO" log -1 --format='%h %s' HEAD)"

	local blocks=() n rc failed=0 summary res label results=()
	mapfile -d '' blocks < <(python3 "$T/root/vmm/tests/readme/readme.py" \
		--readme "$T/root/vmm/README.md" --blocks fresh)
	((${#blocks[@]})) || die "README.md has no block annotated <!-- test: fresh -->"
	for n in "${!blocks[@]}"; do
		rc=0
		step "step$n" "${blocks[n]%$'\n'}" || rc=$?
		# a test run's own summary line says more than "ok"
		summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' \
			"$WORK/step$n.log" | tail -n1 || true)
		if ((rc == 0)); then
			res=${summary:-ok}
		else
			failed=1
			grep '^FAIL: ' "$WORK/step$n.log" | sed 's/^/  /' || true
			res="FAILED (exit $rc)${summary:+: $summary}"
		fi
		# named by the block's last command: "make run: ok"
		label=${blocks[n]%$'\n'}
		label=${label##*$'\n'}
		results+=("${label##*&& }: $res")
	done
	((failed == 0 || KEEP)) || log "(--keep keeps the logs)"
	summary=$(printf '%s; ' "${results[@]}")
	log "${summary%; }${LAYERS:+ (layers $LAYERS)}"
	((failed == 0))
}

main "$@"
