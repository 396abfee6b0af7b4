# SPDX-License-Identifier: MIT
"""Linux-guest rows inside an emulated x86-64 host with real hardware
virtualization (QEMU TCG, -cpu EPYC,+svm, Debian's cloud kernel with
kvm-amd), for machines whose own /dev/kvm cannot boot Linux.

The host's initramfs carries the static vmm, the static bench-run helper,
the guest kernel (bzImage and vmlinux) and initramfs, and, for the QEMU
row, qemu-system-x86_64 with its shared libraries and the qboot firmware.
Its /init runs every row the requested number of times under bench-run
and prints one line per result on the console, which this module reads
as it comes.
"""

import glob
import json
import os
import re
import select
import shutil
import subprocess
import time

from . import proc
from .workloads import (CONTAINER_MARKER, LINUX_MARKER, LINUX_RESTORE_MARKER, QEMU_MICROVM,
                        LINUX_SHELL_READY, LINUX_SHELL_PROBE, LINUX_RESTORE_INPUT, figures,
                        check, RunFailed)

HOST_KERNEL_META = "linux-image-cloud-amd64"
HOST_CMDLINE = "console=ttyS0 panic=-1 quiet"
HOST_MEM_MIB = 1536
# with the same-host section (bundles, density): room for up to 50 Linux VMs
HOST_MEM_MIB_DENSITY = 3072
# as tests/e2e/x86_64.sh and bundle.sh, so that all three share the cache;
# virtio-blk for the data disk of the I/O workload
HOST_MODULES = ["irqbypass", "kvm", "kvm-amd", "virtio_ring", "virtio",
                "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
                "virtio_blk", "tun"]
SILENCE_LIMIT = 60  # s without console output beyond a run's own timeout


def _apt_env():
    env = dict(os.environ)
    env["DEBIAN_FRONTEND"] = "noninteractive"
    return env


def ensure_host_kernel(cache, log):
    """Debian's current cloud kernel (vmlinuz + irqbypass/kvm/kvm-amd
    modules, uncompressed), fetched with apt-get download and cached in
    CACHE/host-kernel-<package>-<version>/ (the layout the e2e test uses,
    so either fills the cache for the other)."""

    def depends():
        out = subprocess.run(["apt-cache", "depends", HOST_KERNEL_META], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout.decode()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "Depends:" and parts[1].startswith("linux-image-"):
                return parts[1]
        return None

    pkg = depends()
    if not pkg:
        subprocess.run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        pkg = depends()
    if not pkg:
        raise proc.BenchError("apt-cache knows no %s" % HOST_KERNEL_META)
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", pkg],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
    m = re.search(r"^Version: (\S+)", out, re.M)
    if not m:
        raise proc.BenchError("apt-cache has no version of %s" % pkg)
    version = m.group(1)
    d = os.path.join(cache, "host-kernel-%s-%s" % (pkg, version))
    if os.path.exists(os.path.join(d, ".complete")) and all(
            os.path.exists(os.path.join(d, "%s.ko" % m)) for m in HOST_MODULES):
        return d
    log("fetching the emulated host's kernel %s %s (apt-get download)" % (pkg, version))
    tmp = d + ".tmp.%d" % os.getpid()
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    os.chmod(tmp, 0o755)  # apt-get download may write as user _apt
    res = subprocess.run(["apt-get", "download", "-q", "%s=%s" % (pkg, version)], cwd=tmp,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_apt_env())
    debs = glob.glob(os.path.join(tmp, "*.deb"))
    if res.returncode != 0 or not debs:
        raise proc.BenchError("apt-get download %s failed: %s" % (pkg, res.stdout.decode()[-300:]))
    root = os.path.join(tmp, "root")
    subprocess.run(["dpkg", "-x", debs[0], root], check=True)
    os.makedirs(os.path.join(tmp, "out"))
    vmlinuz = glob.glob(os.path.join(root, "boot/vmlinuz-*"))
    if not vmlinuz:
        raise proc.BenchError("no vmlinuz in %s" % pkg)
    shutil.copy(vmlinuz[0], os.path.join(tmp, "out/vmlinuz"))
    for mod in HOST_MODULES:
        found = [f for f in glob.glob(os.path.join(root, "lib/modules/*/**/%s.ko*" % mod),
                                      recursive=True)]
        if not found:
            raise proc.BenchError("%s.ko not in %s" % (mod, pkg))
        src, dst = found[0], os.path.join(tmp, "out/%s.ko" % mod)
        unpack = {".xz": ["xz", "-dc"], ".zst": ["zstd", "-qdc"], ".gz": ["gzip", "-dc"]}
        ext = os.path.splitext(src)[1]
        if ext == ".ko":
            shutil.copy(src, dst)
        elif ext in unpack:
            with open(dst, "wb") as f:
                subprocess.run(unpack[ext] + [src], stdout=f, check=True)
        else:
            raise proc.BenchError("unknown module format: %s" % src)
    shutil.rmtree(d, ignore_errors=True)
    os.rename(os.path.join(tmp, "out"), d)
    open(os.path.join(d, ".complete"), "w").close()
    shutil.rmtree(tmp, ignore_errors=True)
    return d


def shared_libs(binary):
    """The shared libraries (and loader) binary needs, from ldd."""
    out = subprocess.run(["ldd", binary], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode()
    libs = []
    for line in out.splitlines():
        line = line.strip()
        m = re.match(r"\S+ => (/\S+) \(", line) or re.match(r"(/\S+) \(", line)
        if m:
            libs.append(m.group(1))
    return libs


# The awk program behind pss_tree in the host's /init: reads `cat
# /proc/[0-9]*/stat` on stdin, and for each root PID (roots, space-separated)
# prints "ROOT KIB": the sum of smaps_rollup Pss over every descendant of
# ROOT (ROOT itself, bench-run, left out), as group_pss_kib does locally.
PSS_TREE_AWK = r"""
function pss(p,   f, l, v, x) {
	v = 0
	f = "/proc/" p "/smaps_rollup"
	while ((getline l < f) > 0)
		if (l ~ /^Pss:/) { split(l, x, " "); v = x[2] }
	close(f)
	return v
}
{
	pid = $1
	rest = $0
	sub(/.*\) /, "", rest)
	split(rest, a, " ")
	ppid[pid] = a[2]
}
END {
	n = split(roots, r, " ")
	for (k = 1; k <= n; k++) {
		total = 0
		head = 1; tail = 1; q[1] = r[k]
		while (head <= tail) {
			p = q[head++]
			for (c in ppid)
				if (ppid[c] == p) { q[++tail] = c; total += pss(c) }
		}
		print r[k], total
	}
}
"""

# What each emulated-host row runs (sh words; $CMDLINE, $i expand there).
BUNDLE_ROOT = "/data/b"   # on the data disk (make_host_data)


def _host_commands(mem, cmdline_var="$CMDLINE"):
    qemu = " ".join([
        "qemu-system-x86_64", "-M", QEMU_MICROVM, "-accel", "kvm", "-cpu", "host", "-smp", "1",
        "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-m", mem,
        "-kernel", "/guest/vmlinux", "-initrd", "/guest/initrd.gz",
        '-append "%s"' % cmdline_var, "-no-reboot"])
    vmm = '/vmm run -k %s -i /guest/initrd.gz -p "' + cmdline_var + '" -m ' + mem + \
        " -c 1 --console stdio --metrics-path /tmp/m.json"
    bundle = "/vmm run -m %s -c 1 --bundle %s/echo" % (mem, BUNDLE_ROOT)
    # the snapshot linux_snapshot made; its stdin is a pipe with the line
    # the shell waits for (--console stdio takes no input from a regular
    # file; a redirection of its own wins over run_row's </dev/null)
    restore = "/vmm run --restore /tmp/lr.snap --mem-file /tmp/lr.mem --console stdio " \
        "--metrics-path /tmp/m.json </tmp/lr.pipe"
    return {
        "vm-linux": (vmm % "/guest/vmlinux", LINUX_MARKER),
        "vm-linux-bzimage": (vmm % "/guest/bzImage", LINUX_MARKER),
        "vm-linux-pit": (vmm % "/guest/vmlinux" + " --pit", LINUX_MARKER),
        "qemu-linux": (qemu, LINUX_MARKER),
        "vm-linux-restore": (restore, LINUX_RESTORE_MARKER),
        "vm-bundle": (bundle, CONTAINER_MARKER),
        "crun-bundle": ("/usr/bin/crun run --no-pivot --bundle %s/echo crun-$i" % BUNDLE_ROOT,
                        CONTAINER_MARKER),
        "runc-bundle": ("/usr/bin/runc run --no-pivot --bundle %s/echo runc-$i" % BUNDLE_ROOT,
                        CONTAINER_MARKER),
    }


HOST_ROWS = ["vm-linux", "vm-linux-bzimage", "vm-linux-pit", "qemu-linux", "vm-linux-restore",
             "vm-bundle", "crun-bundle", "runc-bundle"]
DENSITY_KINDS = ["vm-bundle", "vm-linux-restore", "crun-bundle", "runc-bundle"]


def host_init(rows, runs, warmup, cmdline, mem, timeout, show_serial=False,
              density=None, work=None):
    """The emulated host's /init (busybox sh).

    rows: HOST_ROWS to run `runs` times each (after `warmup`), interleaved.
    density: None or {"kinds": [...], "max": N, "timeout": S}: N instances of
    each kind (DENSITY_KINDS) at once, as many as the host's memory allows,
    the same number for each kind.
    work: None or {"runs": N, "cpu_mib": M, "syscalls": N, "io_mib": M}: the
    steady-state workloads in crun and in vmm --bundle, alternating."""
    if re.search(r"[\"$`\\]", cmdline):
        raise ValueError("the Linux command line must not contain \" $ ` or \\")
    unknown = [r for r in rows if r not in HOST_ROWS]
    if unknown:
        raise ValueError("not an emulated-host row: %s" % ", ".join(unknown))
    cmds = _host_commands(mem)
    cases = "\n".join("\t%s) cmd='%s' marker=%s ;;" % (r, cmds[r][0], cmds[r][1])
                      for r in HOST_ROWS)
    dens = density or {"kinds": [], "max": 0, "timeout": 60}
    wk = work or {"runs": 0, "cpu_mib": 16, "syscalls": 50000, "io_mib": 16}
    return """#!/bin/sh
# /init of the emulated host for scripts/bench-boot (generated).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp /run /data
mount -t tmpfs tmpfs /run
echo 1 >/proc/sys/kernel/printk   # no kernel messages in the middle of result lines
CMDLINE="%(cmdline)s"
for m in %(modules)s; do
	[ -f /lib/modules/$m.ko ] || continue
	insmod /lib/modules/$m.ko || echo "BENCH-HOST-ERROR insmod $m.ko failed"
done
[ -c /dev/kvm ] || mknod /dev/kvm c 10 232
if ! ( : </dev/kvm ) 2>/dev/null; then
	echo "BENCH-HOST-KVM unavailable"
	poweroff -f
fi
echo "BENCH-HOST-KVM ok"
echo "BENCH-HOST-INFO cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "BENCH-HOST-INFO kernel=$(uname -r)"
echo "BENCH-HOST-INFO cpus=$(grep -c ^processor /proc/cpuinfo)"
echo "BENCH-HOST-INFO mem_mib=$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)"
# the containers' cgroup2 hierarchy, vmm's rootfs image cache (tmpfs)
mkdir -p /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
export VMM_CACHE=/tmp/vmm-cache VMM_KERNEL=/guest/bzImage
# the I/O workload's disk (ext4 on virtio-blk), when there is one
n=0
while [ ! -b /dev/vda ] && [ -d /sys/bus/virtio ] && [ "$n" -lt 25 ]; do sleep 0.2; n=$((n + 1)); done
DATA=0
if [ -b /dev/vda ] && mount -t ext4 /dev/vda /data; then
	DATA=1
	mkdir -p /data/io
	echo "BENCH-HOST-INFO disk=ext4 on virtio-blk"
fi

# ftrace: the first ioctl(KVM_RUN) of each run, CLOCK_MONOTONIC
T=/sys/kernel/tracing
if mount -t tracefs tracefs $T 2>/dev/null && [ -d $T/events/syscalls/sys_enter_ioctl ]; then
	echo mono >$T/trace_clock
	echo 0 >$T/options/overwrite
	echo 'cmd == 44672' >$T/events/syscalls/sys_enter_ioctl/filter
	echo 1 >$T/events/syscalls/sys_enter_ioctl/enable
else
	T=
fi

run_row() {
	row=$1 i=$2
	echo "BENCH-START $row $i"
	rm -f /tmp/m.json
	[ -n "$T" ] && : >$T/trace
	[ $row = vm-linux-restore ] && feed /tmp/lr.in /tmp/lr.pipe
	case $row in
%(cases)s
	esac
	r=$(eval /bench-run -m $marker -t %(timeout)d -l /tmp/out.log -e /tmp/err.log -- $cmd </dev/null)
	echo "BENCH-ROW $row $i $r"
	if [ -n "$T" ]; then
		k=$(grep -m1 'sys_ioctl' $T/trace | sed -n 's/.* \\([0-9][0-9]*\\.[0-9]*\\): sys_ioctl.*/\\1/p')
		[ -n "$k" ] && echo "BENCH-KVMRUN $row $i $k"
	fi
	[ -f /tmp/m.json ] && echo "BENCH-METRICS $row $i $(tail -n1 /tmp/m.json)"
	[ %(show_serial)d = 1 ] && sed "s/^/BENCH-SERIAL $row $i: /" /tmp/out.log
	case $r in
	*"status=0 "*) ;;
	*)
		tail -n 3 /tmp/err.log | sed "s/^/BENCH-LOG $row $i err: /"
		tail -n 3 /tmp/out.log | sed "s/^/BENCH-LOG $row $i out: /"
		;;
	esac
}

pss_tree() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v roots="$*" '%(pss_awk)s'
}

avail_mib() { awk '/MemAvailable/ { print int($2 / 1024) }' /proc/meminfo; }
total_mib() { awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo; }

# vm-linux-restore: one snapshot of the Linux guest (vmlinux) at its shell
# prompt (vmm.shell), taken once the shell has answered a command; then
# /tmp/lr.in (the row's stdin: a command and exit) and /tmp/lr.din
# (density's: the command only, so that the VM stays up)
# feed FILE FIFO: FILE's lines through a new FIFO to whoever opens it
feed() {
	rm -f $2
	mkfifo $2
	cat $1 >$2 &
}
wait_out() {
	n=0
	while ! grep -q "$2" $1 2>/dev/null && [ $n -lt %(timeout)d0 ]; do sleep 0.1; n=$((n + 1)); done
	grep -q "$2" $1
}
linux_snapshot() {
	rm -f /tmp/lr.*
	mkfifo /tmp/lr.fifo
	/vmm run -k /guest/vmlinux -i /guest/initrd.gz -p "$CMDLINE vmm.shell" -m %(mem)s -c 1 \\
		--console stdio --api-sock /tmp/lr.sock </tmp/lr.fifo >/tmp/lr.out 2>/tmp/lr.err &
	pid=$!
	exec 4>/tmp/lr.fifo
	ok=0
	if wait_out /tmp/lr.out '%(shell_ready)s'; then
		echo '%(probe)s' >&4
		if wait_out /tmp/lr.out '%(probe_answer)s'; then
			sleep 0.5   # the shell back at its prompt, reading
			ok=1
			for c in pause "snapshot /tmp/lr.snap /tmp/lr.mem" stop; do
				/vmm ctl /tmp/lr.sock $c >/tmp/lr.ctl 2>&1 || {
					ok=0
					echo "BENCH-HOST-ERROR vm-linux-restore: vmm ctl $c: $(cat /tmp/lr.ctl)"
				}
			done
		fi
	fi
	[ $ok = 1 ] || {
		echo "BENCH-HOST-ERROR vm-linux-restore: the Linux guest's shell did not answer"
		tail -n 3 /tmp/lr.out /tmp/lr.err | sed "s/^/BENCH-HOST-ERROR vm-linux-restore: /"
		kill $pid 2>/dev/null
	}
	exec 4>&-
	wait $pid
	printf '%%s\\n' '%(restore_input)s' >/tmp/lr.in
	printf '%%s\\n' '%(restore_density)s' >/tmp/lr.din
	echo "BENCH-HOST-INFO restore_snapshot_kib=$(du -k /tmp/lr.snap 2>/dev/null | cut -f1)"
}
%(snapshot_call)s

# density KIND MAX: up to MAX instances of KIND at once (fewer when less
# than a quarter of the host's memory is left before the next one starts);
# sets $started. Each prints its marker and waits for its stdin (a FIFO)
# to end; PSS of every instance's processes once all are up.
density() {
	kind=$1 max=$2
	rm -f /tmp/dfifo /tmp/d.*
	mkfifo /tmp/dfifo
	exec 3<>/tmp/dfifo
	pids= started=0 floor=$(( $(total_mib) / 4 ))
	while [ $started -lt $max ]; do
		[ "$(avail_mib)" -lt $floor ] && { echo "BENCH-DENSITY-NOTE $kind memory: stopped at $started"; break; }
		started=$((started + 1))
		in=/tmp/dfifo mk=marker
		case $kind in
		vm-bundle) set -- /vmm run -m %(mem)s -c 1 --bundle %(broot)s/wait ;;
		vm-linux-restore)
			# its own line on stdin: the restored shell prints the
			# marker and waits; vmm ctl stop ends it
			in=/tmp/d.$started.in mk=%(restore_marker)s
			feed /tmp/lr.din $in
			set -- /vmm run --restore /tmp/lr.snap --mem-file /tmp/lr.mem --console stdio \\
				--api-sock /tmp/d.$started.sock ;;
		crun-bundle) set -- /usr/bin/crun run --no-pivot --bundle %(broot)s/wait d$started ;;
		runc-bundle) set -- /usr/bin/runc run --no-pivot --bundle %(broot)s/wait d$started ;;
		esac
		/bench-run -M -m $mk -t %(dtimeout)d -e /tmp/d.$started.err -- "$@" \\
			<$in 3>&- >/tmp/d.$started.out &
		pids="$pids $!"
		[ $kind = vm-bundle ] && sleep 0.2   # let its guest RAM be counted before the next
	done
	t=0
	while [ $t -lt $(( %(dtimeout)d * 5 )) ]; do
		up=$(cat /tmp/d.*.out 2>/dev/null | grep -c -e '^MARKER ' -e '^RESULT ')
		[ "$up" -ge $started ] && break
		# a sign of life for the console's silence watchdog
		[ $((t %% 50)) = 49 ] && echo "BENCH-DENSITY-NOTE $kind waiting: $up of $started up"
		sleep 0.2
		t=$((t + 1))
	done
	sleep 1   # the last ones settle
	echo "BENCH-DENSITY-MEM $kind avail_mib=$(avail_mib) total_mib=$(total_mib)"
	pss_tree $pids >/tmp/d.pss
	exec 3>&-
	for sock in /tmp/d.*.sock; do
		[ -S "$sock" ] && /vmm ctl "$sock" stop >/dev/null 2>&1
	done
	wait
	k=0
	for p in $pids; do
		k=$((k + 1))
		m=$(sed -n 's/^MARKER \\([0-9]*\\) .*/\\1/p' /tmp/d.$k.out)
		s=$(awk -v p=$p '$1 == p { print $2 }' /tmp/d.pss)
		echo "BENCH-DENSITY $kind $k marker_ns=${m:--1} pss_kib=${s:--1}"
		[ -n "$m" ] || tail -n 2 /tmp/d.$k.err | sed "s/^/BENCH-LOG density-$kind $k err: /"
	done
}

# work SIDE MODE I: one steady-state workload in crun or in vmm --bundle
work() {
	side=$1 mode=$2 i=$3
	case $mode in
	cpu) args="/bench-work cpu %(cpu_mib)d" ;;
	syscall) args="/bench-work syscall %(syscalls)d" ;;
	io) args="/bench-work io /io/file %(io_mib)d"
		rm -f /data/io/file
		[ -f /data/io.img ] || truncate -s %(io_img_mib)dM /data/io.img ;;
	esac
	if [ $side = crun ]; then
		set -- /usr/bin/crun run --no-pivot --bundle %(broot)s/work-$mode work-$i
	elif [ $mode = io ]; then
		set -- /vmm run -m %(mem)s -c 1 --disk /data/io.img --bundle %(broot)s/work-$mode \\
			-- /bench-work io /dev/vdb %(io_mib)d
	else
		set -- /vmm run -m %(mem)s -c 1 --bundle %(broot)s/work-$mode
	fi
	sync
	echo 3 >/proc/sys/vm/drop_caches
	r=$(/bench-run -t %(timeout)d -l /tmp/w.out -e /tmp/w.err -- "$@" </dev/null)
	w=$(grep -m1 '^WORK ' /tmp/w.out)
	echo "BENCH-WORK $side $mode $i ${w:-none} | $r"
	[ -n "$w" ] || tail -n 3 /tmp/w.err | sed "s/^/BENCH-LOG work-$side-$mode $i err: /"
}

i=%(first)d
while [ $i -le %(runs)d ]; do
	for row in %(rows)s; do
		run_row $row $i
	done
	i=$((i + 1))
done

if [ %(dmax)d -gt 0 ]; then
	n=%(dmax)d
	for kind in %(dkinds)s; do
		density $kind $n
		# the same number of each kind: the first one's memory decides
		n=$started
	done
fi

if [ %(wruns)d -gt 0 ] && [ $DATA = 1 ]; then
	for mode in cpu syscall io; do
		work vmm $mode 0 >/dev/null   # warm-up: vmm's rootfs image is made here
		i=1
		while [ $i -le %(wruns)d ]; do
			work crun $mode $i
			work vmm $mode $i
			i=$((i + 1))
		done
	done
elif [ %(wruns)d -gt 0 ]; then
	echo "BENCH-HOST-ERROR no data disk: no steady-state workloads"
fi
echo "BENCH-DONE"
poweroff -f
""" % {
        "cmdline": cmdline,
        "modules": " ".join(HOST_MODULES),
        "cases": cases,
        "timeout": timeout,
        "first": 1 - warmup,
        "runs": runs if rows else 0,
        "rows": " ".join(rows) if rows else "none",
        "show_serial": 1 if show_serial else 0,
        "pss_awk": PSS_TREE_AWK,
        "mem": mem,
        "broot": BUNDLE_ROOT,
        "dtimeout": int(dens["timeout"]),
        "dmax": int(dens["max"]) if dens["kinds"] else 0,
        "dkinds": " ".join(dens["kinds"]) or "none",
        "wruns": int(wk["runs"]),
        "cpu_mib": int(wk["cpu_mib"]),
        "syscalls": int(wk["syscalls"]),
        "io_mib": int(wk["io_mib"]),
        "io_img_mib": int(wk["io_mib"]) + 64,
        "shell_ready": LINUX_SHELL_READY.decode(),
        "probe": LINUX_SHELL_PROBE[0].decode().rstrip("\n"),
        "probe_answer": LINUX_SHELL_PROBE[1].decode(),
        "restore_input": LINUX_RESTORE_INPUT.decode().rstrip("\n"),
        "restore_density": LINUX_RESTORE_INPUT.decode().split(";")[0],
        "restore_marker": LINUX_RESTORE_MARKER,
        "snapshot_call": "linux_snapshot" if (
            "vm-linux-restore" in rows or "vm-linux-restore" in dens["kinds"])
        else ": no restore rows",
    }


def _trace_ns(text):
    sec, _, frac = text.partition(".")
    return int(sec) * 1000000000 + int(frac.ljust(9, "0")[:9])


class HostRun:
    """Parsed console of one emulated-host run."""

    def __init__(self):
        self.kvm = None
        self.info = {}
        self.results = {}   # (row, i) -> dict(res=..., kvm=..., metrics=..., log=[])
        self.density = {}   # kind -> [{"i", "marker_ms", "pss_mib"}]
        self.density_notes = []
        self.work = []      # {"side", "mode", "i", "ns", "ops", "res"}
        self.done = False
        self.errors = []
        self.logs = []

    def feed(self, line):
        """One console line; returns (row, i) when a run's result arrived."""
        line = line.rstrip("\r\n")
        m = re.search(r"BENCH-[A-Z-]+.*", line)
        if not m:
            return None
        line = m.group(0)
        tag, _, rest = line.partition(" ")
        if tag == "BENCH-HOST-KVM":
            self.kvm = rest.strip()
        elif tag == "BENCH-HOST-INFO":
            k, _, v = rest.partition("=")
            self.info[k.strip()] = v.strip()
        elif tag == "BENCH-HOST-ERROR":
            self.errors.append(rest)
        elif tag == "BENCH-DONE":
            self.done = True
        elif tag == "BENCH-DENSITY":
            parts = rest.split()
            if len(parts) >= 4:
                kv = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
                try:
                    mk, pss = int(kv.get("marker_ns", -1)), int(kv.get("pss_kib", -1))
                except ValueError:
                    return ("density", parts[0])
                self.density.setdefault(parts[0], []).append({
                    "i": int(parts[1]), "marker_ms": mk / 1e6 if mk >= 0 else None,
                    "pss_mib": pss / 1024.0 if pss > 0 else None})
                return ("density", parts[0])
        elif tag in ("BENCH-DENSITY-NOTE", "BENCH-DENSITY-MEM"):
            self.density_notes.append(rest)
        elif tag == "BENCH-WORK":
            # BENCH-WORK side mode i WORK mode ns=.. ops=.. check=.. | RESULT ...
            head, _, res = rest.partition(" | ")
            parts = head.split()
            if len(parts) < 3:
                return None
            kv = dict(p.split("=", 1) for p in parts[3:] if "=" in p)
            entry = {"side": parts[0], "mode": parts[1], "i": int(parts[2]),
                     "ns": int(kv["ns"]) if kv.get("ns", "").isdigit() else None,
                     "ops": int(kv["ops"]) if kv.get("ops", "").isdigit() else None}
            try:
                entry["res"] = proc.parse_result(res.strip())
            except ValueError:
                entry["res"] = None
            self.work.append(entry)
            return ("work", parts[1])
        elif tag in ("BENCH-ROW", "BENCH-KVMRUN", "BENCH-METRICS", "BENCH-LOG"):
            parts = rest.split(" ", 2)
            if len(parts) < 3:
                return None
            if tag == "BENCH-LOG" and not parts[1].lstrip("-").isdigit():
                return None
            if tag == "BENCH-LOG" and parts[0].startswith(("density-", "work-")):
                self.logs.append(rest)
                return None
            key = (parts[0], int(parts[1]))
            entry = self.results.setdefault(key, {"log": []})
            if tag == "BENCH-ROW":
                try:
                    entry["res"] = proc.parse_result(parts[2].strip())
                except ValueError:
                    entry["res"] = None
                return key
            if tag == "BENCH-KVMRUN":
                entry["kvm"] = _trace_ns(parts[2].strip())
            elif tag == "BENCH-METRICS":
                try:
                    entry["metrics"] = json.loads(parts[2])
                except ValueError:
                    pass
            else:
                entry["log"].append(parts[2])
        return None

    def runs(self, row, labels, marker=LINUX_MARKER):
        """(figures of the counted runs, failure reasons) for a row."""
        good, bad = [], []
        for (r, i), e in sorted(self.results.items()):
            if r != row or i < 1:
                continue
            res = e.get("res")
            if not res:
                bad.append("run %d: no result line" % i)
                continue
            try:
                check(res, marker, labels[row])
            except RunFailed as ex:
                detail = " | ".join(e["log"][-2:])
                bad.append("run %d: %s%s" % (i, ex, (": " + detail) if detail else ""))
                continue
            good.append(figures(res, e.get("kvm"), e.get("metrics")))
        return good, bad

    def work_times(self, side, mode):
        """Elapsed ms of the good runs of one workload on one side."""
        return [w["ns"] / 1e6 for w in self.work
                if w["side"] == side and w["mode"] == mode and w["i"] >= 1 and w["ns"]]


def bundle_config(base, args, rootfs, mounts=()):
    """config.json for a bundle of the emulated host: base (from `runc spec`)
    with terminal off, args, a read-only root at rootfs and extra mounts."""
    cfg = json.loads(json.dumps(base))
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = list(args)
    cfg["root"] = {"path": rootfs, "readonly": True}
    cfg["mounts"] = list(cfg.get("mounts", [])) + list(mounts)
    return cfg


HOST_BUNDLES = {
    "echo": ["/bin/busybox", "echo", CONTAINER_MARKER],
    "wait": ["/bin/busybox", "sh", "-c", "echo %s; read x" % CONTAINER_MARKER],
}


def make_host_data(ctx, work, wk):
    """The emulated host's data disk (ext4): the bundles under b/ (one
    busybox-static rootfs with bench-work, shared by all of them) and
    room for the I/O workload. Returns the image's path."""
    data = os.path.join(work, "data")
    rootfs = os.path.join(data, "b", "rootfs")
    for d in ("bin", "proc", "dev", "sys", "tmp", "etc", "io"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    shutil.copy2("/bin/busybox", os.path.join(rootfs, "bin/busybox"))
    for applet in ("sh", "echo", "true", "sleep", "cat"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    shutil.copy2(ctx.bench_work, os.path.join(rootfs, "bench-work"))
    with open(os.path.join(rootfs, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/:/bin/sh\n")
    res = subprocess.run([ctx.spec_tool, "spec"], cwd=work, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    if res.returncode != 0:
        raise proc.BenchError("%s spec failed: %s" % (ctx.spec_tool, res.stdout.decode()[-200:]))
    with open(os.path.join(work, "config.json")) as f:
        base = json.load(f)
    guest_rootfs = BUNDLE_ROOT + "/rootfs"
    bundles = dict(HOST_BUNDLES)
    bundles["work-cpu"] = ["/bench-work", "cpu", str(wk["cpu_mib"])]
    bundles["work-syscall"] = ["/bench-work", "syscall", str(wk["syscalls"])]
    bundles["work-io"] = ["/bench-work", "io", "/io/file", str(wk["io_mib"])]
    for name, argv in bundles.items():
        mounts = []
        if name == "work-io":
            # crun writes a file on the host's ext4; vmm's guest (which has
            # no bind mounts) its virtio disk, a file on that same ext4
            mounts = [{"destination": "/io", "type": "bind", "source": "/data/io",
                       "options": ["rbind", "rw"]}]
        os.makedirs(os.path.join(data, "b", name), exist_ok=True)
        with open(os.path.join(data, "b", name, "config.json"), "w") as f:
            json.dump(bundle_config(base, argv, guest_rootfs, mounts), f, indent=1)
    img = os.path.join(work, "data.img")
    mib = 64 + 2 * (wk["io_mib"] + 64)
    with open(img, "wb") as f:
        f.truncate(mib << 20)
    res = subprocess.run(["mkfs.ext4", "-q", "-F", "-d", data, img], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    if res.returncode != 0:
        raise proc.BenchError("mkfs.ext4 -d (the emulated host's data disk) failed: %s"
                              % res.stdout.decode(errors="replace")[-300:])
    return img


def run_host(ctx, rows, progress, labels):
    """Build the emulated host, run it, return the HostRun."""
    args = ctx.args
    log = ctx.log
    cache = ctx.cache
    hk = ensure_host_kernel(cache, log)
    work = os.path.join(ctx.work, "emulated")
    os.makedirs(work, exist_ok=True)
    init = os.path.join(work, "init")
    dens = getattr(ctx, "host_density", None)
    wk = getattr(ctx, "host_work", None)
    with open(init, "w") as f:
        f.write(host_init(rows, args.linux_runs, args.warmup, args.linux_cmdline,
                          args.linux_mem, args.linux_timeout, show_serial=args.keep,
                          density=dens, work=wk))
    adds = {
        "/vmm": ctx.vmm_static,
        "/bench-run": ctx.bench_run,
        "/guest/vmlinux": ctx.vmlinux,
        "/guest/bzImage": ctx.bzimage,
        "/guest/initrd.gz": ctx.guest_initrd,
    }
    for m in HOST_MODULES:
        adds["/lib/modules/%s.ko" % m] = os.path.join(hk, "%s.ko" % m)
    same_host = bool(dens or wk or set(rows) & {"vm-bundle", "crun-bundle", "runc-bundle"})
    tools = []
    if same_host:
        tools = ["crun", "mkfs.erofs"] + (["runc"] if "runc-bundle" in rows or (
            dens and "runc-bundle" in dens["kinds"]) else [])
        for tool in tools:
            path = shutil.which(tool)
            if not path:
                raise proc.BenchError("%s is not installed" % tool)
            adds["/usr/bin/" + tool] = os.path.realpath(path)
            for lib in shared_libs(path):
                adds[lib] = lib
    if "qemu-linux" in rows:
        qemu = os.path.realpath(ctx.qemu_path)
        adds["/usr/bin/qemu-system-x86_64"] = qemu
        for lib in shared_libs(qemu):
            adds[lib] = lib
        fw = "/usr/share/qemu/bios-microvm.bin"
        if not os.path.exists(fw):
            raise proc.BenchError("QEMU's microvm firmware %s is missing" % fw)
        adds[fw] = fw
    data_img = None
    if same_host:
        data_img = make_host_data(ctx, work, wk or {"cpu_mib": 16, "syscalls": 50000,
                                                    "io_mib": 16})
    host_initrd = os.path.join(work, "host-initramfs.gz")
    cmd = [os.path.join(ctx.repo, "scripts/build-initramfs"), "--init", init]
    for dest, src in sorted(adds.items()):
        cmd += ["--add", "%s=%s" % (src, dest)]
    cmd.append(host_initrd)
    log("building the emulated host's initramfs (vmm-static, guest kernel%s%s)"
        % (", QEMU and its libraries" if "qemu-linux" in rows else "",
           (", " + ", ".join(tools)) if tools else ""))
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if res.returncode != 0:
        raise proc.BenchError("scripts/build-initramfs (emulated host) failed: %s"
                              % res.stdout.decode(errors="replace")[-400:])

    console = os.path.join(work, "console.log")
    mem = HOST_MEM_MIB_DENSITY if dens else HOST_MEM_MIB
    qemu_cmd = ["qemu-system-x86_64", "-accel", "tcg", "-M", "q35", "-cpu", "EPYC,+svm",
                "-m", str(mem), "-smp", "1", "-nographic", "-no-reboot",
                "-kernel", os.path.join(hk, "vmlinuz"), "-initrd", host_initrd,
                "-append", HOST_CMDLINE]
    if data_img:
        qemu_cmd += ["-drive", "file=%s,format=raw,if=virtio" % data_img]
    total_runs = (args.linux_runs + args.warmup) * len(rows)
    overall = 180 + total_runs * (args.linux_timeout + 10)
    if dens:
        overall += len(dens["kinds"]) * (dens["timeout"] * 2 + 60)
    if wk:
        overall += 3 * (2 * wk["runs"] + 1) * (args.linux_timeout + 10)
    log("booting the emulated host (QEMU TCG, EPYC+SVM): %d Linux boots, console in %s"
        % (total_runs, console))
    host = HostRun()
    p = subprocess.Popen(qemu_cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=open(os.path.join(work, "qemu.err"), "wb"))
    start = last = time.monotonic()
    buf = b""
    note = None
    with open(console, "wb") as con:
        while True:
            now = time.monotonic()
            if now - start > overall:
                note = "emulated host still running after %d s; killed" % overall
                break
            if now - last > SILENCE_LIMIT + args.linux_timeout:
                note = "emulated host console silent for %d s; killed" % (now - last)
                break
            r, _, _ = select.select([p.stdout], [], [], 1.0)
            if not r:
                if p.poll() is not None:
                    break
                continue
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                break
            last = time.monotonic()
            con.write(data)
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                key = host.feed(line.decode(errors="replace"))
                if key and key[0] in ("density", "work"):
                    progress.note("emulated host: %s %s" % key)
                elif key:
                    progress.step("emulated host: %s run %d%s" % (
                        labels[key[0]], key[1], " (warm-up)" if key[1] < 1 else ""),
                        phase="emulated")
    if p.poll() is None:
        p.kill()
    p.wait()
    if note:
        host.errors.append(note)
    if host.kvm != "ok":
        host.errors.append("KVM did not work in the emulated host (kvm-amd: %s)" % host.kvm)
    return host
