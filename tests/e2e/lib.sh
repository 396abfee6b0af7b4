# shellcheck shell=bash disable=SC2034 # sets variables for the sourcing script
# Sourced by tests/e2e/x86_64.sh, aarch64.sh and bundle.sh: what the
# harnesses do the same way. They define log(), skip() and setup_fail(),
# and use WORK, KEEP, QEMU_PID, CONSOLE, HOST_TIMEOUT and SILENCE_LIMIT;
# the x86-64 host kernel also CACHE, HOST_KERNEL_META and HOST_MODULES.

# Kill a QEMU left running, remove (or keep) the work directory.
cleanup() {
	if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
		kill "$QEMU_PID" 2>/dev/null || true
	fi
	if [[ -n $WORK && -d $WORK ]]; then
		if ((KEEP)); then
			log "work directory kept: $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
}

is_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# Missing tools are an environment problem: skip rather than fail.
# E2E_APT_OPTS: extra apt-get options of the harness (an array).
ensure_packages() {
	local missing=() p
	for p in "$@"; do is_installed "$p" || missing+=("$p"); done
	((${#missing[@]})) || return 0
	log "installing ${missing[*]}"
	((EUID == 0)) || skip "need root to install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
		install -y -q "${E2E_APT_OPTS[@]}" "${missing[@]}" >>"$WORK/apt.log" 2>&1 ||
		skip "apt-get install ${missing[*]} failed (see $WORK/apt.log with --keep)"
}

# Wait for the QEMU started as QEMU_PID at second $1, whose console goes
# to $CONSOLE: besides the overall timeout, kill it when the console has
# been silent for SILENCE_LIMIT seconds. Sets HOST_STATUS, HOST_SECONDS
# and HOST_NOTE (empty when QEMU exited 0 on its own).
wait_for_qemu() {
	local t=$1 size last=-1 quiet_since=$SECONDS
	HOST_NOTE=
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		sleep 1
		size=$(stat -c %s "$CONSOLE")
		if ((size != last)); then
			last=$size quiet_since=$SECONDS
		elif ((SECONDS - quiet_since >= SILENCE_LIMIT)); then
			HOST_NOTE="emulated host console silent for $SILENCE_LIMIT s; killed QEMU"
			kill "$QEMU_PID" 2>/dev/null || true
			break
		fi
	done
	HOST_STATUS=0
	wait "$QEMU_PID" || HOST_STATUS=$?
	QEMU_PID=
	HOST_SECONDS=$((SECONDS - t))
	if [[ -z $HOST_NOTE ]] && ((HOST_STATUS == 124)); then
		HOST_NOTE="emulated host still running after $HOST_TIMEOUT s; killed QEMU"
	elif [[ -z $HOST_NOTE ]] && ((HOST_STATUS != 0)); then
		HOST_NOTE="QEMU exited with status $HOST_STATUS"
	fi
}

# Lines of one "===== E2E <name> begin/end =====" section of the console
# ($CONSOLE.txt, the log with the CRs taken out).
section() {
	awk -v name="$1" '
		$0 == "===== E2E " name " end =====" { on = 0 }
		on { print }
		$0 == "===== E2E " name " begin =====" { on = 1 }
	' "$CONSOLE.txt"
}

has_section() {
	grep -qxF "===== E2E $1 begin =====" "$CONSOLE.txt"
}

# --- The x86-64 emulated host's kernel (x86_64.sh, bundle.sh) -----------------

# Stale or missing package lists make apt-cache/apt-get download fail;
# refresh them once when we can (root) and carry on either way.
refresh_package_lists() {
	if ((EUID == 0)); then
		apt-get update -q >>"$WORK/apt.log" 2>&1 || true
	fi
}

host_kernel_complete() {
	local m
	[[ -f $1/.complete && -f $1/vmlinuz ]] || return 1
	for m in $HOST_MODULES; do
		[[ -f $1/$m.ko ]] || return 1
	done
}

# Fetch the cloud kernel that Debian's meta package currently points at
# and keep only what the emulated host needs: vmlinuz and HOST_MODULES,
# uncompressed (busybox insmod cannot read .ko.xz/.ko.zst).
# Sets HOST_KERNEL_DIR.
ensure_host_kernel() {
	local pkg version dir
	pkg=$(apt-cache depends "$HOST_KERNEL_META" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
	if [[ -z $pkg ]]; then
		refresh_package_lists
		pkg=$(apt-cache depends "$HOST_KERNEL_META" 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
	fi
	[[ -n $pkg ]] || skip "apt-cache knows no $HOST_KERNEL_META"
	version=$(apt-cache show --no-all-versions "$pkg" | awk '/^Version:/ { print $2; exit }')
	dir=$CACHE/host-kernel-$pkg-$version
	HOST_KERNEL_DIR=$dir
	host_kernel_complete "$dir" && return 0

	log "fetching host kernel $pkg $version"
	local tmp=$WORK/host-kernel
	mkdir -p "$tmp"
	chmod 755 "$tmp" # apt-get download writes it as user _apt
	if ! (cd "$tmp" && apt-get download -q "$pkg=$version") >"$WORK/apt.log" 2>&1; then
		refresh_package_lists
		(cd "$tmp" && apt-get download -q "$pkg=$version") >>"$WORK/apt.log" 2>&1 ||
			skip "cannot download $pkg $version"
	fi
	dpkg -x "$tmp"/"$pkg"_*.deb "$tmp/root" || setup_fail "dpkg -x of $pkg failed"

	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$tmp"/root/boot/vmlinuz-* "$dir/vmlinuz" || setup_fail "no vmlinuz in $pkg"
	local m file
	for m in $HOST_MODULES; do
		file=$(find "$tmp/root/lib/modules" -name "$m.ko*" | head -n1)
		[[ -n $file ]] || setup_fail "$m.ko not found in $pkg"
		case $file in
		*.ko) cp "$file" "$dir/$m.ko" ;;
		*.ko.xz) xz -dc "$file" >"$dir/$m.ko" ;;
		*.ko.zst) zstd -qdc "$file" >"$dir/$m.ko" ;;
		*.ko.gz) gzip -dc "$file" >"$dir/$m.ko" ;;
		*) setup_fail "unknown module format: $file" ;;
		esac
	done
	touch "$dir/.complete"
	rm -rf "$tmp"
}
