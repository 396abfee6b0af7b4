# shellcheck shell=bash disable=SC2034 # sets variables for the sourcing script
# Sourced by tests/e2e/aarch64.sh and aarch64-vm.sh: what both harnesses of
# the emulated arm64 hosts need -- Debian's arm64 packages, the
# cross-built (or, on arm64, native) vmm, and the host kernels with the
# few modules the hosts load. They define log(), skip() and setup_fail(),
# and use WORK, CACHE, REPO and PROFILES.

# arm64 packages (host kernels, busybox, -dev libraries) are fetched with
# apt-get download, which needs the architecture in dpkg's list.
ensure_arm64_arch() {
	[[ $'\n'$(dpkg --print-foreign-architectures)$'\n' != *$'\n'arm64$'\n'* ]] || return 0
	((EUID == 0)) || skip "need root to add the arm64 architecture to dpkg"
	log "adding the arm64 architecture to dpkg"
	dpkg --add-architecture arm64
	apt-get update -q >>"$WORK/apt.log" 2>&1 || skip "apt-get update failed"
}

# Download package $1 (name:arm64=version) into directory $2.
download() {
	local pkg=$1 dir=$2
	mkdir -p "$dir"
	chmod 755 "$dir" # apt-get download works as user _apt
	if ! (cd "$dir" && apt-get download -q "$pkg") >>"$WORK/apt.log" 2>&1; then
		((EUID == 0)) && apt-get update -q >>"$WORK/apt.log" 2>&1
		(cd "$dir" && apt-get download -q "$pkg") >>"$WORK/apt.log" 2>&1
	fi
}

candidate_version() {
	{ apt-cache show --no-all-versions "$1" 2>/dev/null || true; } |
		awk '/^Version:/ { print $2; exit }'
}

# arm64_make BUILD_DIR TARGET...: make ARCH=aarch64 into BUILD_DIR, natively
# on an arm64 machine, else with Debian's cross compiler and the arm64
# -dev packages unpacked into the cache (libfdt-dev cannot be installed for
# two architectures). The log goes to $WORK/make.log.
arm64_make() {
	local build=$1
	shift
	if [[ $(uname -m) == aarch64 ]]; then
		ensure_packages gcc make libc6-dev libfdt-dev zlib1g-dev libjson-c-dev \
			liburing-dev libseccomp-dev
		log "building: make ARCH=aarch64 $*"
		make -C "$REPO" ARCH=aarch64 BUILD="$build" "$@" >"$WORK/make.log" 2>&1 ||
			{ tail -n 30 "$WORK/make.log"; setup_fail "make ARCH=aarch64 $* failed"; }
		return 0
	fi
	ensure_packages gcc-aarch64-linux-gnu libc6-dev-arm64-cross make
	local pkgs=(libfdt-dev zlib1g-dev libjson-c-dev liburing-dev libseccomp-dev) p v key=""
	for p in "${pkgs[@]}"; do
		v=$(candidate_version "$p:arm64")
		[[ -n $v ]] || { apt-get update -q >>"$WORK/apt.log" 2>&1 || true; v=$(candidate_version "$p:arm64"); }
		[[ -n $v ]] || skip "apt-cache knows no $p:arm64"
		key+="$p=$v "
	done
	local sysroot
	sysroot=$CACHE/sysroot-arm64-$(echo "$key" | sha256sum | cut -c1-12)
	if [[ ! -f $sysroot/.complete ]]; then
		log "unpacking arm64 ${pkgs[*]} into $sysroot"
		rm -rf "$sysroot"
		local tmp=$WORK/debs deb
		for p in "${pkgs[@]}"; do
			download "$p:arm64=$(candidate_version "$p:arm64")" "$tmp" ||
				skip "cannot download $p:arm64"
		done
		for deb in "$tmp"/*.deb; do
			dpkg -x "$deb" "$sysroot" || setup_fail "dpkg -x $deb failed"
		done
		touch "$sysroot/.complete"
	fi
	log "cross-building: make ARCH=aarch64 $*"
	make -C "$REPO" ARCH=aarch64 BUILD="$build" CROSS_SYSROOT="$sysroot" "$@" \
		>"$WORK/make.log" 2>&1 ||
		{ tail -n 30 "$WORK/make.log"; setup_fail "make ARCH=aarch64 $* failed"; }
}

# The modules the emulated hosts load (busybox insmod, in dependency
# order): tun for vmm's TAP; virtio-blk over PCI and ext4 for a root disk
# (ext4 asks the crypto API for crc32c, which modules.dep does not say).
# Whichever of them a kernel has built in is left out.
# virtio_mmio and virtio_console: the gdb profile's relay console.
readonly HOST_MODULES=(tun virtio_pci virtio_blk crc32c_generic ext4
	virtio_mmio virtio_console)

# collect_modules TREE OUT NAME...: copy each module NAME and those it
# depends on (modules.dep) from the unpacked kernel package TREE into OUT,
# uncompressed, and list them in load order in OUT/order.
collect_modules() {
	local tree=$1 out=$2 moddir line m n d
	shift 2
	moddir=$(find "$tree/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n1)
	[[ -n $moddir ]] || return 1
	# a package has no modules.dep: depmod makes it at install time
	if [[ ! -f $moddir/modules.dep ]]; then
		command -v depmod >/dev/null || ensure_packages kmod
		depmod -b "$tree" "${moddir##*/}" || return 1
	fi
	declare -A path=() deps=() seen=()
	while IFS= read -r line; do
		m=${line%%:*}
		n=${m##*/}
		n=${n%%.ko*}
		path[${n//-/_}]=$m deps[${n//-/_}]=${line#*:}
	done <"$moddir/modules.dep"
	mkdir -p "$out"
	: >"$out/order"
	visit() {
		local n=$1 d dn
		[[ -z ${seen[$n]:-} ]] || return 0
		seen[$n]=1
		for d in ${deps[$n]}; do
			dn=${d##*/}
			dn=${dn%%.ko*}
			visit "${dn//-/_}" || return 1
		done
		case ${path[$n]} in
		*.ko) cp "$moddir/${path[$n]}" "$out/$n.ko" ;;
		*.ko.xz) xz -dc "$moddir/${path[$n]}" >"$out/$n.ko" ;;
		*.ko.zst) zstd -qdc "$moddir/${path[$n]}" >"$out/$n.ko" ;;
		*) return 1 ;;
		esac || return 1
		echo "$n.ko" >>"$out/order"
	}
	for n in "$@"; do
		if [[ -n ${path[$n]:-} ]]; then
			visit "$n" || return 1
		elif ! grep -q "/${n}\.ko" "$moddir/modules.builtin" 2>/dev/null; then
			log "kernel in $tree has no module $n"
			return 1
		fi
	done
}

# A Debian arm64 kernel package's Image and HOST_MODULES, cached by package
# and version. $1: the package; sets HOST_KERNEL (its modules are in
# $(dirname $HOST_KERNEL)/modules, tun.ko also beside it).
fetch_host_kernel() {
	local pkg=$1 version dir tmp
	version=$(candidate_version "$pkg:arm64")
	[[ -n $version ]] || return 1
	dir=$CACHE/host-kernel-$pkg-$version
	HOST_KERNEL=$dir/vmlinuz
	[[ -f $dir/.complete && $(cat "$dir/modules/wanted" 2>/dev/null) == "${HOST_MODULES[*]}" ]] &&
		return 0
	log "fetching host kernel $pkg:arm64 $version"
	tmp=$WORK/host-kernel-$pkg
	download "$pkg:arm64=$version" "$tmp" || return 1
	dpkg -x "$tmp"/*.deb "$tmp/root" || return 1
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$tmp"/root/boot/vmlinuz-* "$HOST_KERNEL" || return 1
	cp "$tmp"/root/boot/config-* "$dir/config" 2>/dev/null || true
	collect_modules "$tmp/root" "$dir/modules" "${HOST_MODULES[@]}" || return 1
	echo "${HOST_MODULES[*]}" >"$dir/modules/wanted"
	cp "$dir/modules/tun.ko" "$dir/tun.ko" 2>/dev/null ||
		log "no tun.ko in $pkg: the net checks will fail"
	touch "$dir/.complete"
	rm -rf "$tmp"
}

# The package a meta package depends on ("linux-image-cloud-arm64" ->
# "linux-image-6.1.0-56-cloud-arm64").
meta_target() {
	{ apt-cache depends "$1:arm64" 2>/dev/null || true; } |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { sub(/:arm64$/, "", $2); print $2; exit }'
}

# 4K: the cloud kernel. 16K: linux-image-arm64-16k where it exists, else
# the newest linux-image-X.Y-arm64-16k meta package (bookworm's 6.12).
# Sets HOST_KERNEL_4K and HOST_KERNEL_16K for the profiles that need them.
ensure_host_kernels() {
	local pkg meta
	if [[ " $PROFILES " == *" pi4 "* || " $PROFILES " == *" gicv3 "* ||
	      " $PROFILES " == *" gdb "* ]]; then
		pkg=$(meta_target linux-image-cloud-arm64)
		[[ -n $pkg ]] || { apt-get update -q >>"$WORK/apt.log" 2>&1 || true; pkg=$(meta_target linux-image-cloud-arm64); }
		if [[ -n $pkg ]] && fetch_host_kernel "$pkg"; then
			HOST_KERNEL_4K=$HOST_KERNEL
		fi
	fi
	if [[ " $PROFILES " == *" pi5 "* ]]; then
		pkg=$(meta_target linux-image-arm64-16k)
		if [[ -z $pkg ]]; then
			meta=$({ apt-cache pkgnames linux-image- 2>/dev/null || true; } |
				awk '/^linux-image-[0-9]+\.[0-9]+-arm64-16k$/' | sort -V | tail -n1)
			[[ -z $meta ]] || pkg=$(meta_target "$meta")
		fi
		if [[ -n $pkg ]] && fetch_host_kernel "$pkg"; then
			HOST_KERNEL_16K=$HOST_KERNEL
		fi
	fi
}

# The emulated host for a profile: sets HOST_CPU, HOST_GIC, HOST_KERNEL and
# HOST_PAGE_KIB (empty HOST_KERNEL: the profile's kernel is unavailable).
#   pi4    Cortex-A72, GICv2, 4K-page kernel (Raspberry Pi 4: A72 + GIC-400)
#   pi5    Cortex-A76, GICv2, 16K-page kernel (Pi 5 kernels use 16 KiB pages)
#   gicv3  Cortex-A72, GICv3 (arm64 servers: no VGICv2)
#   gdb    a Pi 4 whose virtio console carries gdb to vmm's --gdb port
host_profile() {
	case $1 in
	pi4) HOST_CPU=cortex-a72 HOST_GIC=2 HOST_KERNEL=${HOST_KERNEL_4K:-} HOST_PAGE_KIB=4 ;;
	pi5) HOST_CPU=cortex-a76 HOST_GIC=2 HOST_KERNEL=${HOST_KERNEL_16K:-} HOST_PAGE_KIB=16 ;;
	gicv3) HOST_CPU=cortex-a72 HOST_GIC=3 HOST_KERNEL=${HOST_KERNEL_4K:-} HOST_PAGE_KIB=4 ;;
	gdb) HOST_CPU=cortex-a72 HOST_GIC=2 HOST_KERNEL=${HOST_KERNEL_4K:-} HOST_PAGE_KIB=4 ;;
	*) return 1 ;;
	esac
}
