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
from .workloads import LINUX_MARKER, QEMU_MICROVM, figures, check, RunFailed

HOST_KERNEL_META = "linux-image-cloud-amd64"
HOST_CMDLINE = "console=ttyS0 panic=-1 quiet"
HOST_MEM_MIB = 1536
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
    if os.path.exists(os.path.join(d, ".complete")):
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
    for mod in ("irqbypass", "kvm", "kvm-amd"):
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


def host_init(rows, runs, warmup, cmdline, mem, timeout, show_serial=False):
    """The emulated host's /init (busybox sh)."""
    if re.search(r"[\"$`\\]", cmdline):
        raise ValueError("the Linux command line must not contain \" $ ` or \\")
    qemu = " ".join([
        "qemu-system-x86_64", "-M", QEMU_MICROVM, "-accel", "kvm", "-cpu", "host", "-smp", "1",
        "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-m", mem,
        "-kernel", "/guest/vmlinux", "-initrd", "/guest/initrd.gz",
        '-append "$CMDLINE"', "-no-reboot"])
    vmm = '/vmm run -k %s -i /guest/initrd.gz -p "$CMDLINE" -m ' + mem + \
        " -c 1 --console stdio --metrics-path /tmp/m.json"
    return """#!/bin/sh
# /init of the emulated host for scripts/bench-boot (generated).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp
echo 1 >/proc/sys/kernel/printk   # no kernel messages in the middle of result lines
CMDLINE="%(cmdline)s"
for m in irqbypass kvm kvm-amd; do
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
	case $row in
	vm-linux) cmd='%(vmm_vmlinux)s' ;;
	vm-linux-bzimage) cmd='%(vmm_bzimage)s' ;;
	qemu-linux) cmd='%(qemu)s' ;;
	esac
	r=$(eval /bench-run -m %(marker)s -t %(timeout)d -l /tmp/out.log -e /tmp/err.log -- $cmd </dev/null)
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

i=%(first)d
while [ $i -le %(runs)d ]; do
	for row in %(rows)s; do
		run_row $row $i
	done
	i=$((i + 1))
done
echo "BENCH-DONE"
poweroff -f
""" % {
        "cmdline": cmdline,
        "vmm_vmlinux": vmm % "/guest/vmlinux",
        "vmm_bzimage": vmm % "/guest/bzImage",
        "qemu": qemu,
        "marker": LINUX_MARKER,
        "timeout": timeout,
        "first": 1 - warmup,
        "runs": runs,
        "rows": " ".join(rows),
        "show_serial": 1 if show_serial else 0,
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
        self.done = False
        self.errors = []

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
        elif tag in ("BENCH-ROW", "BENCH-KVMRUN", "BENCH-METRICS", "BENCH-LOG"):
            parts = rest.split(" ", 2)
            if len(parts) < 3:
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

    def runs(self, row, labels):
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
                check(res, LINUX_MARKER, labels[row])
            except RunFailed as ex:
                detail = " | ".join(e["log"][-2:])
                bad.append("run %d: %s%s" % (i, ex, (": " + detail) if detail else ""))
                continue
            good.append(figures(res, e.get("kvm"), e.get("metrics")))
        return good, bad


def run_host(ctx, rows, progress, labels):
    """Build the emulated host, run it, return the HostRun."""
    args = ctx.args
    log = ctx.log
    cache = ctx.cache
    hk = ensure_host_kernel(cache, log)
    work = os.path.join(ctx.work, "emulated")
    os.makedirs(work, exist_ok=True)
    init = os.path.join(work, "init")
    with open(init, "w") as f:
        f.write(host_init(rows, args.linux_runs, args.warmup, args.linux_cmdline,
                          args.linux_mem, args.linux_timeout, show_serial=args.keep))
    adds = {
        "/vmm": ctx.vmm_static,
        "/bench-run": ctx.bench_run,
        "/guest/vmlinux": ctx.vmlinux,
        "/guest/bzImage": ctx.bzimage,
        "/guest/initrd.gz": ctx.guest_initrd,
        "/lib/modules/irqbypass.ko": os.path.join(hk, "irqbypass.ko"),
        "/lib/modules/kvm.ko": os.path.join(hk, "kvm.ko"),
        "/lib/modules/kvm-amd.ko": os.path.join(hk, "kvm-amd.ko"),
    }
    if "qemu-linux" in rows:
        qemu = os.path.realpath(ctx.qemu_path)
        adds["/usr/bin/qemu-system-x86_64"] = qemu
        for lib in shared_libs(qemu):
            adds[lib] = lib
        fw = "/usr/share/qemu/bios-microvm.bin"
        if not os.path.exists(fw):
            raise proc.BenchError("QEMU's microvm firmware %s is missing" % fw)
        adds[fw] = fw
    host_initrd = os.path.join(work, "host-initramfs.gz")
    cmd = [os.path.join(ctx.repo, "scripts/build-initramfs"), "--init", init]
    for dest, src in sorted(adds.items()):
        cmd += ["--add", "%s=%s" % (src, dest)]
    cmd.append(host_initrd)
    log("building the emulated host's initramfs (vmm-static, guest kernel%s)"
        % (", QEMU and its libraries" if "qemu-linux" in rows else ""))
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if res.returncode != 0:
        raise proc.BenchError("scripts/build-initramfs (emulated host) failed: %s"
                              % res.stdout.decode(errors="replace")[-400:])

    console = os.path.join(work, "console.log")
    qemu_cmd = ["qemu-system-x86_64", "-accel", "tcg", "-M", "q35", "-cpu", "EPYC,+svm",
                "-m", str(HOST_MEM_MIB), "-smp", "1", "-nographic", "-no-reboot",
                "-kernel", os.path.join(hk, "vmlinuz"), "-initrd", host_initrd,
                "-append", HOST_CMDLINE]
    total_runs = (args.linux_runs + args.warmup) * len(rows)
    overall = 180 + total_runs * (args.linux_timeout + 10)
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
                if key:
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
