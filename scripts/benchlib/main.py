# SPDX-License-Identifier: MIT
"""scripts/bench-boot: VM boot time against containers, and vmm against QEMU."""

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import claims, emulated, machine, proc, report, stats, svg, workloads
from .progress import Progress
from .workloads import ROWS, ROW_ORDER, EMULATED

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROG = "bench-boot"

DESCRIPTION = """\
Measure how long a VM takes to start compared with a container, and what
vmm itself costs compared with QEMU microvm, side by side in one run.

Rows (for --only; groups: vm, qemu, tiny, linux, restore, pit, bundle,
emulated, containers, all). On this machine:
  vm-tiny           vmm + the freestanding test guest (test=hello): the lower
                    bound of a VM start, not an OS
  vm-tiny-pit       the same with --pit (KVM's in-kernel PIT, created and torn down)
  vm-tiny-restore   vmm --restore of that guest (test=echo, snapshotted while it
                    waits for a line; stdin gives it one)
  qemu-tiny         QEMU microvm + the same guest
  crun, runc        an OCI container on a busybox-static rootfs: busybox echo marker
  unshare           unshare -fpmnui --mount-proc + chroot into that rootfs, busybox echo
  fork-exec         fork+exec of busybox echo: the floor
In one emulated x86-64 host (QEMU TCG with an AMD SVM CPU, kvm-amd), all in
the same host, when this machine's KVM is not hardware-assisted:
  vm-linux          vmm + the minimal Linux guest (vmlinux, PVH entry) to its /init
  vm-linux-bzimage  the same from the bzImage
  vm-linux-pit      the same vmlinux with --pit (KVM's in-kernel PIT)
  qemu-linux        QEMU microvm + the same vmlinux, initramfs and command line
  vm-linux-restore  vmm --restore of that guest, snapshotted at its shell prompt
                    (vmm.shell); stdin gives it a command whose output is the marker
  vm-bundle         vmm run --bundle: an OCI bundle (busybox-static, echo marker)
  crun-bundle       crun run on the same bundle, in the same host
  runc-bundle       runc run on the same bundle, in the same host
With the bundle rows, the same host also runs density (--host-density: N
Linux microVMs at once vs N containers at once, the same bundle) and the
steady-state workloads (--work-runs: CPU, system calls, I/O in crun and in
vmm --bundle). Density on this machine (--concurrency) starts N instances
of each tiny/container row at once. Image sizes and the isolation figures
(system calls reachable) are computed on this machine.

Output: a claims table and the figures on stdout; DIR/boot.json, DIR/boot.csv
and DIR/boot.svg (one panel per figure).
Progress goes to stderr (a bar on a terminal). Missing packages (qemu-system-x86,
crun, runc, busybox-static, cpio, gcc) are installed with apt-get on first use.
"""


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="scripts/bench-boot", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=20, metavar="N",
                   help="measured runs per local row (default: 20)")
    p.add_argument("--linux-runs", type=int, default=5, metavar="N",
                   help="measured runs per Linux-guest row (default: 5; each costs seconds "
                        "in the emulated host)")
    p.add_argument("--warmup", type=int, default=1, metavar="N",
                   help="unrecorded warm-up runs per row before the measured ones (default: 1)")
    p.add_argument("--concurrency", type=int, default=20, metavar="N",
                   help="density on this machine: instances of each tiny/container row "
                        "started at once (default: 20; 0 skips it)")
    p.add_argument("--host-density", type=int, default=50, metavar="N",
                   help="density in the emulated host: up to N vmm --bundle microVMs at once "
                        "(fewer when its memory runs short), then as many crun containers "
                        "at once (default: 50; 0 skips it)")
    p.add_argument("--work-runs", type=int, default=5, metavar="N",
                   help="steady-state workloads: runs of each in crun and in vmm --bundle "
                        "(default: 5; 0 skips them)")
    p.add_argument("--work-size", default="64,200000,64", metavar="MIB,CALLS,MIB",
                   help="the workloads' sizes: MiB hashed, getppid() calls, MiB written "
                        "and fsync'ed (default: %(default)s)")
    p.add_argument("--only", metavar="LIST", default="",
                   help="comma-separated rows or groups to run (default: all)")
    p.add_argument("--out", metavar="DIR", default="results",
                   help="where boot.json, boot.csv and boot.svg go (default: results)")
    p.add_argument("--json-only", action="store_true",
                   help="no progress and no table: print the JSON document on stdout and "
                        "write only DIR/boot.json")
    p.add_argument("--vmm", metavar="PATH", default=os.path.join(REPO, "build/vmm"),
                   help="vmm binary (default: build/vmm; built with make when missing)")
    p.add_argument("--vmm-static", metavar="PATH",
                   default=os.path.join(REPO, "build/vmm-static"),
                   help="static vmm for the emulated host (default: build/vmm-static; "
                        "built with make static when missing)")
    p.add_argument("--qemu", metavar="PATH", default="qemu-system-x86_64",
                   help="QEMU binary (default: qemu-system-x86_64)")
    p.add_argument("--mem", default="64M", metavar="SIZE",
                   help="tiny guest memory, both VMMs (default: 64M)")
    p.add_argument("--linux-mem", default="256M", metavar="SIZE",
                   help="Linux guest memory, both VMMs (default: 256M)")
    p.add_argument("--linux-cmdline", default="console=ttyS0 reboot=t panic=-1 quiet",
                   metavar="STRING",
                   help="Linux guest command line, both VMMs (default: %(default)s; reboot=t "
                        "because QEMU microvm has no i8042 reset line)")
    p.add_argument("--linux-where", choices=["auto", "local", "emulated"], default="auto",
                   help="where the Linux rows run: auto (local with hardware-assisted KVM, "
                        "else the emulated host), local, emulated")
    p.add_argument("--timeout", type=float, default=30, metavar="S",
                   help="per-run limit for local rows, seconds (default: 30)")
    p.add_argument("--linux-timeout", type=int, default=120, metavar="S",
                   help="per-run limit for Linux rows, seconds (default: 120)")
    p.add_argument("--no-install", action="store_true",
                   help="never run apt-get; rows whose tools are missing are skipped")
    p.add_argument("--no-trace", action="store_true",
                   help="do not use ftrace (no exec -> first KVM_RUN figure)")
    p.add_argument("--keep", action="store_true",
                   help="keep the work directory (logs, bundles, the emulated host's console, "
                        "which then also holds every Linux guest's serial output)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    a = p.parse_args(argv)
    for name in ("runs", "linux_runs"):
        if getattr(a, name) < 1:
            p.error("--%s must be at least 1" % name.replace("_", "-"))
    if a.warmup < 0 or a.concurrency < 0 or a.host_density < 0 or a.work_runs < 0:
        p.error("--warmup, --concurrency, --host-density and --work-runs must not be negative")
    try:
        sizes = [int(x) for x in a.work_size.split(",")]
        if len(sizes) != 3 or min(sizes) <= 0:
            raise ValueError
    except ValueError:
        p.error("--work-size wants three positive integers: MIB,CALLS,MIB")
    a.work_cpu_mib, a.work_syscalls, a.work_io_mib = sizes
    try:
        a.rows = workloads.resolve_only(a.only)
    except ValueError as e:
        p.error(str(e))
    if a.json_only:
        a.quiet = True
    return a


class Ctx:
    """Everything the rows need: paths, helpers, the work directory."""


def log_fn(args):
    def log(msg):
        if not args.quiet:
            sys.stderr.write("%s: %s\n" % (PROG, msg))
            sys.stderr.flush()
    return log


# ---- packages -------------------------------------------------------------

def installed(pkg):
    # one line per installed architecture (libc6-dev and libc6-dev:arm64, ...)
    res = subprocess.run(["dpkg-query", "-W", "-f=${Status}\\n", pkg], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    return "install ok installed" in res.stdout.decode().splitlines()


def ensure_packages(pkgs, args, log):
    """Install what is missing (unless --no-install); returns the packages
    still missing."""
    missing = [p for p in pkgs if not installed(p)]
    if not missing or args.no_install:
        return missing
    if os.geteuid() != 0:
        log("cannot install %s: not root" % " ".join(missing))
        return missing
    log("installing %s with apt-get (first use)" % " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q"] + missing
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    if res.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=env)
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    if res.returncode != 0:
        log("apt-get install failed: %s" % res.stdout.decode(errors="replace").strip()[-300:])
    return [p for p in missing if not installed(p)]


ROW_PACKAGES = {
    "qemu-tiny": ["qemu-system-x86"],
    "qemu-linux": ["qemu-system-x86"],
    "crun": ["crun", "busybox-static"],
    "runc": ["runc", "busybox-static"],
    "unshare": ["busybox-static"],
    "fork-exec": ["busybox-static"],
    "vm-bundle": ["crun", "erofs-utils", "e2fsprogs", "busybox-static"],
    "crun-bundle": ["crun", "e2fsprogs", "busybox-static"],
    "runc-bundle": ["runc", "crun", "e2fsprogs", "busybox-static"],
}


# ---- setup ----------------------------------------------------------------

def ensure_built(path, target, log):
    if os.access(path, os.X_OK):
        return True
    log("%s missing: make %s" % (os.path.relpath(path, REPO), target or ""))
    res = subprocess.run(["make", "-C", REPO] + ([target] if target else []),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if res.returncode != 0:
        log("make failed: %s" % res.stdout.decode(errors="replace").strip()[-400:])
    return os.access(path, os.X_OK)


def last_line(cmd, log, what):
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = res.stdout.decode().strip().splitlines()
    if res.returncode != 0 or not out:
        raise proc.BenchError("%s failed: %s" % (what, res.stderr.decode(errors="replace")
                                                  .strip()[-400:]))
    return out[-1]


def prepare_linux(ctx, log):
    """Guest kernel (bzImage + vmlinux) and initramfs from the project's
    builders (cached by them)."""
    log("guest kernel: scripts/build-guest-kernel (cached after the first build)")
    bz = last_line([os.path.join(REPO, "scripts/build-guest-kernel")], log,
                   "scripts/build-guest-kernel")
    vmlinux = os.path.join(os.path.dirname(bz), "vmlinux")
    if not os.path.exists(bz) or not os.path.exists(vmlinux):
        raise proc.BenchError("no bzImage/vmlinux next to %s" % bz)
    initrd = os.path.join(ctx.work, "guest-initramfs.cpio.gz")
    last_line([os.path.join(REPO, "scripts/build-initramfs"), initrd], log,
              "scripts/build-initramfs")
    ctx.bzimage, ctx.vmlinux, ctx.guest_initrd = bz, vmlinux, initrd


# ---- measurements ---------------------------------------------------------

def run_local_rows(ctx, rows, progress, results):
    runner = workloads.Local(ctx)
    total = ctx.args.warmup + ctx.args.runs
    for i in range(total):
        warm = i < ctx.args.warmup
        for row in rows:
            label = ROWS[row]["label"]
            progress.step("%s: %s" % (label, "warm-up" if warm else
                                      "run %d/%d" % (i - ctx.args.warmup + 1, ctx.args.runs)),
                          phase="local")
            try:
                fig = runner.run(row)
            except (workloads.RunFailed, proc.BenchError) as e:
                if not warm:
                    results[row]["failures"] += 1
                    results[row]["failure_examples"].append(str(e)[:300])
                continue
            except subprocess.TimeoutExpired:
                if not warm:
                    results[row]["failures"] += 1
                    results[row]["failure_examples"].append("bench-run did not return")
                continue
            if not warm:
                results[row]["runs"].append(fig)


MEMORY_ROWS = {
    "vm-tiny": "vmm, tiny guest",
    "vm-tiny-static": "vmm (static build), tiny guest",
    "qemu-tiny": "QEMU microvm, tiny guest",
}


def memory_samples(ctx, row, count, progress):
    """RSS split of the VMM process while the tiny guest idles in
    test=counter, read from /proc/PID/smaps; `count` separate instances."""
    mem_bytes = parse_size(ctx.args.mem)
    samples, errors = [], []
    for k in range(count):
        progress.step("%s: memory sample %d/%d" % (MEMORY_ROWS[row], k + 1, count),
                      phase="memory")
        if row in ("vm-tiny", "vm-tiny-static"):
            vmm = ctx.vmm if row == "vm-tiny" else ctx.vmm_static
            argv = workloads.vmm_cmd(vmm, ctx.testguest, "test=counter", ctx.args.mem)
        else:
            argv = workloads.qemu_cmd(ctx.qemu, ctx.testguest, "test=counter", ctx.args.mem,
                                      cpu=ctx.qemu_cpu)
        insts = workloads.start_group(ctx.bench_run, [argv], workloads.COUNTER_SETTLED,
                                      ctx.args.timeout, False, ctx.work)
        inst = insts[0]
        try:
            workloads.wait_markers(insts, time.monotonic() + ctx.args.timeout)
            if inst.pid is None:
                errors.append("no %r line" % workloads.COUNTER_SETTLED.strip())
                continue
            try:
                m = proc.memory_split(inst.pid, mem_bytes)
            except OSError as e:
                errors.append("smaps: %s" % e)
                continue
            samples.append({k2: (v / 1024.0 if v is not None else None)
                            for k2, v in m.items()})
        finally:
            workloads.stop_group(insts, "signal")
    out = {"id": row, "label": MEMORY_ROWS[row], "where": "local",
           "samples": [{k.replace("_kib", "_mib"): v for k, v in s.items()} for s in samples],
           "errors": errors}
    out["stats"] = {}
    for key in ("rss_mib", "pss_mib", "guest_rss_mib", "overhead_rss_mib", "overhead_pss_mib",
                "overhead_private_mib", "overhead_anon_mib"):
        st = stats.summarize(s.get(key) for s in out["samples"])
        if st:
            out["stats"][key] = st
    return out


def density(ctx, kind, n, progress):
    """n instances of kind started back to back; start time of each and
    the PSS of all of them together while all are alive."""
    label = ROWS[kind]["label"]
    progress.step("density: %d x %s" % (n, label), phase="density")
    out = {"id": kind, "label": label, "n": n, "where": "local"}
    if kind in ("vm-tiny", "vm-tiny-restore", "qemu-tiny"):
        argvs = []
        for _ in range(n):
            if kind == "vm-tiny":
                argvs.append(workloads.vmm_cmd(ctx.vmm, ctx.testguest, "test=counter",
                                               ctx.args.mem))
            elif kind == "vm-tiny-restore":
                argvs.append([ctx.vmm, "run", "--restore", ctx.counter_snap, "--mem-file",
                              ctx.counter_mem, "--console", "stdio"])
            else:
                argvs.append(workloads.qemu_cmd(ctx.qemu, ctx.testguest, "test=counter",
                                                ctx.args.mem, cpu=ctx.qemu_cpu))
        marker, stop = workloads.COUNTER_FIRST, "signal"
        if kind == "vm-tiny-restore":
            marker = workloads.RESTORED_COUNTER
    else:
        argvs = [ctx.containers.cmd(kind, "wait", "bench-boot-%d-d%d" % (os.getpid(), i),
                                    ctx.spec_tool) for i in range(n)]
        marker, stop = workloads.CONTAINER_MARKER, "stdin"
    err_dir = os.path.join(ctx.work, "density-" + kind)
    os.makedirs(err_dir, exist_ok=True)
    limit = max(ctx.args.timeout, 10) + n
    insts = workloads.start_group(ctx.bench_run, argvs, marker, limit + 30,
                                  stop == "stdin", err_dir)
    try:
        workloads.wait_markers(insts, time.monotonic() + limit)
        time.sleep(0.3)  # let the last ones settle before sampling
        alive = [i for i in insts if i.marker_ns is not None and i.result is None]
        total, per = workloads.group_pss_kib(alive)
    finally:
        workloads.stop_group(insts, stop)
    starts = [i.marker_ns / 1e6 for i in insts if i.marker_ns is not None]
    out["ok"] = len(starts)
    out["start_ms"] = starts
    out["stats"] = stats.summarize(starts)
    out["alive_when_sampled"] = len(alive)
    out["total_pss_mib"] = total / 1024.0 if alive else None
    out["pss_per_instance_mib"] = (total / 1024.0 / len(alive)) if alive else None
    out["pss_mib"] = [v / 1024.0 for v in per]
    failures = []
    for i, inst in enumerate(insts):
        if inst.marker_ns is None:
            why = "no marker"
            if inst.result and inst.result.get("status") not in (0, None):
                why += ", exit status %d" % inst.result["status"]
            failures.append("instance %d: %s" % (i, why))
    out["failures"] = failures
    return out


def parse_size(s):
    s = s.strip().upper()
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if s and s[-1] in mult:
        return int(float(s[:-1]) * mult[s[-1]])
    return int(s) << 20


# ---- targets --------------------------------------------------------------

def _med(rows_by_id, row, key):
    r = rows_by_id.get(row)
    if not r or r.get("skipped"):
        return None
    st = r.get("stats", {}).get(key)
    return st["median"] if st else None


def targets(doc):
    rows = {r["id"]: r for r in doc["rows"]}
    out = []

    vm, q = _med(rows, "vm-tiny", "first_kvm_run"), _med(rows, "qemu-tiny", "first_kvm_run")
    if vm is not None and q is not None:
        out.append({"name": "exec -> first guest instruction at least 10x less than QEMU microvm",
                    "measured": "vmm %.2f ms, QEMU %.2f ms: %.1fx less (medians, first KVM_RUN)"
                    % (vm, q, q / vm), "met": q / vm >= 10, "value": q / vm})
    else:
        out.append({"name": "exec -> first guest instruction at least 10x less than QEMU microvm",
                    "measured": "not measured (needs vm-tiny, qemu-tiny and ftrace)",
                    "met": None})

    mem = next((m for m in doc.get("memory", []) if m["id"] == "vm-tiny"), None)
    ov = mem["stats"].get("overhead_rss_mib") if mem else None
    if ov:
        out.append({"name": "VMM RSS overhead (beyond guest memory touched) under 2 MiB",
                    "measured": "%.3f MiB RSS outside guest RAM (median of %d; PSS %.2f MiB, "
                                "private %.2f MiB)" % (
                                    ov["median"], ov["n"],
                                    mem["stats"]["overhead_pss_mib"]["median"],
                                    mem["stats"]["overhead_private_mib"]["median"]),
                    "met": ov["median"] < 2.0, "value": ov["median"]})
    else:
        out.append({"name": "VMM RSS overhead (beyond guest memory touched) under 2 MiB",
                    "measured": "not measured", "met": None})

    vexit, cstart = _med(rows, "vm-tiny", "exit"), _med(rows, "crun", "marker")
    if vexit is not None and cstart is not None:
        cexit = _med(rows, "crun", "exit")
        out.append({"name": "tiny guest exec -> exit below crun's container start",
                    "measured": "vmm exec->exit %.2f ms vs crun exec->marker %.2f ms "
                                "(crun exec->exit %.2f ms)" % (vexit, cstart, cexit or 0),
                    "met": vexit < cstart, "value": vexit / cstart})
    else:
        out.append({"name": "tiny guest exec -> exit below crun's container start",
                    "measured": "not measured (needs vm-tiny and crun)", "met": None})

    # snapshot/restore: the guest running again before a container has
    # printed its marker, in the same run (and the same host)
    for vm_row, c_row, what in (("vm-tiny-restore", "crun", "tiny guest"),
                                ("vm-linux-restore", "crun-bundle", "Linux guest")):
        name = "%s exec -> running after restore below %s's exec -> marker" % (what, c_row)
        run, out_ms = _med(rows, vm_row, "first_kvm_run"), _med(rows, vm_row, "marker")
        cm = _med(rows, c_row, "marker")
        if run is not None and cm is not None:
            out.append({"name": name,
                        "measured": "%s: first KVM_RUN %.2f ms, its output %.2f ms; %s marker "
                                    "%.2f ms (medians; %s)" % (
                                        vm_row, run, out_ms or 0, c_row, cm,
                                        rows[vm_row].get("where", "")),
                        "met": run < cm, "value": run / cm})
        else:
            out.append({"name": name, "measured": "not measured (needs %s with ftrace and %s)"
                        % (vm_row, c_row), "met": None})
    hd = {d["id"]: d for d in doc.get("host_density") or []}
    lr, cold = hd.get("vm-linux-restore"), hd.get("vm-bundle")
    name = "restored Linux VMs' PSS each well under (< 1/2) a cold-booted one's"
    if lr and cold and lr.get("pss_per_instance_mib") and cold.get("pss_per_instance_mib"):
        a, b = lr["pss_per_instance_mib"], cold["pss_per_instance_mib"]
        out.append({"name": name,
                    "measured": "%d restored at once: %.2f MiB each vs %d cold-booted vmm "
                                "--bundle VMs: %.2f MiB each (emulated host)"
                                % (lr["ok"], a, cold["ok"], b),
                    "met": a < b / 2, "value": a / b})
    else:
        out.append({"name": name, "measured": "not measured (needs host density with "
                                              "vm-linux-restore and vm-bundle)", "met": None})

    vl, ql = _med(rows, "vm-linux", "marker"), _med(rows, "qemu-linux", "marker")
    where = rows.get("vm-linux", {}).get("where", "")
    if vl is not None and ql is not None:
        out.append({"name": "Linux guest boot to init at most QEMU microvm's",
                    "measured": "vmm %.0f ms vs QEMU %.0f ms exec -> VMM-GUEST-INIT-OK "
                                "(medians; %s)" % (vl, ql, where),
                    "met": vl <= ql, "value": vl / ql})
    else:
        out.append({"name": "Linux guest boot to init at most QEMU microvm's",
                    "measured": "not measured (needs vm-linux and qemu-linux)", "met": None})
    return out


# ---- the chart ------------------------------------------------------------

def chart(doc):
    m = doc["machine"]
    rows = [r for r in doc["rows"] if not r.get("skipped")]
    tiny = [r for r in rows if r["section"] == "tiny"]
    linux = [r for r in rows if r["section"] == "linux"]

    def panel(title, unit, rs, key, note=None, scale=1.0):
        return {"title": title, "unit": unit, "note": note,
                "rows": [{"id": r["id"], "label": r["label"], "highlight": r["id"].startswith("vm-"),
                          "values": [x[key] * scale for x in r["runs"] if x.get(key) is not None]}
                         for r in rs]}

    local_note = None
    if not m.get("kvm_hardware_assisted"):
        local_note = ("VMs on this machine's %s KVM: guest kernel code is emulated, "
                      "VMM-side costs are native" % m["kvm"])
    def simple(title, unit, rows, note=None):
        return {"title": title, "unit": unit, "note": note,
                "rows": [{"id": i, "label": lab, "highlight": i.startswith("vm-"),
                          "values": [v for v in vals if v is not None]}
                         for i, lab, vals in rows]}

    panels = []
    if tiny:
        tl = "this machine; VMs: the freestanding test guest (lower bound), containers: busybox echo"
        panels += [
            panel("Start: exec \u2192 marker line (%s)" % tl, "ms", tiny, "marker", local_note),
            panel("Whole lifecycle: exec \u2192 exit (this machine)", "ms", tiny, "exit"),
            panel("exec \u2192 first KVM_RUN (first guest instruction), ftrace", "ms",
                  [r for r in tiny if ROWS[r["id"]]["kind"] == "vm"], "first_kvm_run"),
            panel("CPU time, user + system (this machine)", "ms", tiny, "cpu"),
            panel("Peak RSS of the process (ru_maxrss, this machine)", "MiB", tiny, "peak_rss"),
        ]
    if doc.get("memory"):
        panels.append(simple(
            "VMM memory overhead: RSS outside guest RAM while the test guest idles", "MiB",
            [(mr["id"], mr["label"], [x.get("overhead_rss_mib") for x in mr["samples"]])
             for mr in doc["memory"]]))
    if doc.get("density"):
        live = [d for d in doc["density"] if not d.get("skipped")]
        panels.append(simple(
            "Density on this machine: exec \u2192 marker, %d at once"
            % doc["settings"]["concurrency"], "ms",
            [(d["id"], d["label"], d.get("start_ms", [])) for d in live]))
        panels.append(simple(
            "Density on this machine: PSS per instance, %d at once"
            % doc["settings"]["concurrency"], "MiB",
            [(d["id"], d["label"], d.get("pss_mib", [])) for d in live]))
    emu_note = None
    if linux:
        where = linux[0].get("where", "")
        if where == EMULATED:
            emu_note = ("EMULATED HOST (QEMU TCG + SVM), NOT HARDWARE: every row in that one "
                        "host; compare rows, not absolute times")
        panels.append(panel("Linux + init and the same bundle: exec \u2192 marker "
                            "(VMs and containers in one host)", "s", linux, "marker",
                            emu_note, scale=0.001))
        panels.append(panel("Linux + init and the same bundle: CPU time (same host)", "ms",
                            linux, "cpu", emu_note))
        panels.append(panel("Linux + init and the same bundle: peak RSS (same host)", "MiB",
                            linux, "peak_rss", emu_note))
    hd = doc.get("host_density") or []
    if hd:
        n = max(d["n"] for d in hd)
        panels.append(simple("Density in the emulated host: exec \u2192 marker, up to %d at once"
                             % n, "ms",
                             [(d["id"], d["label"], d["start_ms"]) for d in hd], emu_note))
        panels.append(simple("Density in the emulated host: PSS per instance, up to %d at once"
                             % n, "MiB",
                             [(d["id"], d["label"], d["pss_mib"]) for d in hd], emu_note))
    ss = doc.get("steady_state") or []
    if ss:
        rows_ss = []
        for s in ss:
            rows_ss.append(("crun-" + s["mode"], "crun: %s" % s["mode"], s["container_ms"]))
            rows_ss.append(("vm-" + s["mode"], "vmm --bundle: %s" % s["mode"], s["vm_ms"]))
        panels.append(simple("Steady state: the same workload in a container and a VM "
                             "(time inside the workload)", "ms", rows_ss, emu_note))
    im = doc.get("images") or {}
    irows = []
    for r in im.get("rows", []):
        if "vm_bytes" in r:
            irows.append(("crun-" + r["label"], "container: %s, OCI layer" % r["label"],
                          [r["layer_tar_bytes"] / 2.0**20]))
            irows.append(("crun-gz-" + r["label"], "  the same, gzip", [r["layer_tgz_bytes"] / 2.0**20]))
            irows.append(("vm-" + r["label"], "VM: kernel + init + EROFS", [r["vm_bytes"] / 2.0**20]))
            irows.append(("vm-gz-" + r["label"], "  the same, gzip", [r["vm_gz_bytes"] / 2.0**20]))
    if irows:
        panels.append(simple("Image size on disk (this machine)", "MiB", irows))
    iso = doc.get("isolation") or {}
    if iso.get("vmm_distinct"):
        rows_i = [("crun-none", "container, no seccomp profile", [iso.get("container_no_profile")])]
        if "container_default_profile" in iso:
            rows_i.append(("crun-profile", "container, default seccomp profile",
                           [iso["container_default_profile"]]))
        rows_i.append(("vm-vmm", "VM: via vmm's seccomp allow-lists", [iso["vmm_distinct"]]))
        panels.append(simple("Isolation: host system calls within the workload's reach",
                             "calls", rows_i))
    sub = ["%s (%d CPUs, %s GiB), Linux %s" % (m["cpu_model"], m["cpus"], m["memory_gib"],
                                                  m["kernel"]),
           "KVM: %s" % m["kvm_detail"],
           "%s; %d runs per row%s" % (
        doc["generated"], doc["settings"]["runs"],
        (", Linux rows %d" % doc["settings"]["linux_runs"]) if linux else "")]
    warning = None
    if not m.get("kvm_hardware_assisted"):
        warning = ("KVM here is %s, not hardware-assisted: VM figures are not hardware figures"
                   % m["kvm"])
    return svg.render("vmm boot-time benchmark: VMs vs containers (%s)" % m["cpu_model"],
                      sub, panels, warning)


# ---- main -----------------------------------------------------------------

def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    ctx = Ctx()
    ctx.args = args
    ctx.log = log_fn(args)
    ctx.repo = REPO
    ctx.cache = os.path.join(os.environ.get("VMM_CACHE") or
                             os.path.expanduser("~/.cache/vmm"))
    ctx.tracer = None
    ctx.containers = None
    ctx.work = tempfile.mkdtemp(prefix="bench-boot.")
    os.chmod(ctx.work, 0o755)
    # the ftrace instance and the work directory go away however we end
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        return run(args, ctx, argv)
    except KeyboardInterrupt:
        sys.stderr.write("\n%s: interrupted\n" % PROG)
        return 130
    except BrokenPipeError:
        return 1
    finally:
        cleanup(ctx, args)


def run(args, ctx, argv):
    log = ctx.log
    rows = list(args.rows)
    notes = []
    skipped = {}
    is_root = os.geteuid() == 0

    info = machine.describe({
        "vmm": [args.vmm, "--version"], "qemu": [args.qemu, "--version"],
        "crun": ["crun", "--version"], "runc": ["runc", "--version"]})
    linux_where = args.linux_where
    if linux_where == "auto":
        linux_where = "local" if info["kvm_hardware_assisted"] else "emulated"

    # packages (a C compiler and static libc for the bench-run helper)
    need = {"gcc", "libc6-dev"}
    for r in rows:
        need.update(ROW_PACKAGES.get(r, []))
    linux_rows = [r for r in rows if ROWS[r]["section"] == "linux"]
    if linux_rows:
        need.update(["busybox-static", "cpio"])
        if linux_where == "emulated":
            need.add("qemu-system-x86")
    missing = set(ensure_packages(sorted(need), args, log))
    for r in rows:
        lack = [p for p in ROW_PACKAGES.get(r, []) if p in missing]
        if ROWS[r]["section"] == "linux" and missing & {"busybox-static", "cpio",
                                                         "qemu-system-x86"}:
            lack = sorted(missing & {"busybox-static", "cpio", "qemu-system-x86"})
        if lack:
            skipped[r] = "missing package(s): %s" % ", ".join(lack)
    info = machine.describe({
        "vmm": [args.vmm, "--version"], "qemu": [args.qemu, "--version"],
        "crun": ["crun", "--version"], "runc": ["runc", "--version"]})
    info["line"] = machine.one_line(info)

    needs_root = {"crun", "runc", "unshare"}
    if not is_root:
        for r in rows:
            if r in needs_root:
                skipped.setdefault(r, "needs root")

    # a private mount namespace: tracefs and the cgroup quirk stay inside it
    if is_root:
        try:
            proc.private_mount_namespace()
        except OSError as e:
            log("no private mount namespace (%s)" % e)
        else:
            if proc.cgroup_hybrid() and ({"crun", "runc"} & set(rows)):
                try:
                    proc.umount("/sys/fs/cgroup/unified")
                    notes.append(
                        "cgroups here are hybrid (v1 controllers, an empty cgroup2 at "
                        "/sys/fs/cgroup/unified), which crun refuses; the benchmark runs in its "
                        "own mount namespace (private propagation) where /sys/fs/cgroup/unified is "
                        "unmounted, once, before any timing. Nothing outside the benchmark "
                        "changes; runc uses the v1 controllers either way.")
                except OSError as e:
                    notes.append("could not hide /sys/fs/cgroup/unified (%s): crun may fail" % e)

    progress = Progress(1, enabled=not args.quiet)
    try:
        ctx.bench_run, static = proc.build_bench_run(os.path.join(ctx.cache, "bench"), None)
        if not static:
            notes.append("bench-run is dynamically linked (no static libc): peak RSS figures "
                         "include a little of its own pre-exec RSS")
        vm_tiny = {"vm-tiny", "vm-tiny-pit", "vm-tiny-restore"}
        if vm_tiny & set(rows) or (linux_rows and linux_where == "local"):
            if not ensure_built(args.vmm, None, log):
                for r in ("vm-tiny", "vm-tiny-pit", "vm-tiny-restore", "vm-linux",
                          "vm-linux-bzimage", "vm-linux-pit", "vm-linux-restore"):
                    if r in vm_tiny or linux_where == "local":
                        skipped.setdefault(r, "no vmm binary at %s" % args.vmm)
        ctx.vmm = os.path.abspath(args.vmm)
        ctx.testguest = os.path.join(REPO, "build/guest/testguest-x86_64")
        if {"vm-tiny", "vm-tiny-pit", "vm-tiny-restore", "qemu-tiny"} & set(rows) and \
                not os.path.exists(ctx.testguest):
            ensure_built(ctx.testguest, None, log)
            if not os.path.exists(ctx.testguest):
                for r in ("vm-tiny", "vm-tiny-pit", "vm-tiny-restore", "qemu-tiny"):
                    skipped.setdefault(r, "no test guest at %s" % ctx.testguest)
        ctx.qemu_path = shutil.which(args.qemu) or args.qemu
        ctx.qemu = ctx.qemu_path
        # -cpu host is what vmm gives its guest (the host's CPUID), but
        # kvm_pvm rejects QEMU's host model (MSR 0x10a): use the default there
        ctx.qemu_cpu = "host" if info["kvm_hardware_assisted"] else None
        if not os.path.exists("/dev/kvm"):
            for r in ("vm-tiny", "vm-tiny-pit", "vm-tiny-restore", "qemu-tiny"):
                skipped.setdefault(r, "no /dev/kvm")
        if "vm-tiny-restore" in rows and "vm-tiny-restore" not in skipped:
            log("vm-tiny-restore: a snapshot of test=echo (vmm ctl snapshot)")
            try:
                ctx.tiny_snap, ctx.tiny_mem = workloads.make_tiny_snapshot(
                    ctx.vmm, ctx.testguest, args.mem, ctx.work, args.timeout)
                if args.concurrency > 0:
                    ctx.counter_snap, ctx.counter_mem = workloads.make_tiny_snapshot(
                        ctx.vmm, ctx.testguest, args.mem, ctx.work, args.timeout,
                        "counter", b"counter 2\n")
            except (proc.BenchError, OSError, subprocess.TimeoutExpired) as e:
                skipped["vm-tiny-restore"] = "no snapshot: %s" % e
            if linux_where == "local":
                for r in linux_rows:
                    skipped.setdefault(r, "no /dev/kvm")

        if any(ROWS[r]["kind"] == "vm" for r in rows) and not args.no_trace and is_root:
            try:
                ctx.tracer = proc.KvmRunTracer("bench-boot-%d" % os.getpid())
            except proc.BenchError as e:
                notes.append("no exec -> first KVM_RUN figure: %s" % e)
        elif not args.no_trace and not is_root:
            notes.append("no exec -> first KVM_RUN figure: ftrace needs root")

        container_rows = [r for r in rows if ROWS[r]["kind"] == "container" and r not in skipped]
        if container_rows:
            ctx.containers = workloads.Containers(ctx.work)
            ctx.spec_tool = "runc" if shutil.which("runc") else "crun"
            for r in ("crun", "runc"):
                if r in container_rows and not shutil.which(r):
                    skipped[r] = "%s not installed" % r

        local = [r for r in rows if ROWS[r]["section"] == "tiny" and r not in skipped]
        if linux_where == "local":
            local_linux = [r for r in linux_rows if r not in skipped]
        else:
            local_linux = []
        if linux_where == "local":
            for r in workloads.BUNDLE_ROWS:
                if r in local_linux:
                    local_linux.remove(r)
                    skipped.setdefault(r, "the bundle rows run only in the emulated host so far "
                                          "(--linux-where emulated)")
        emu_rows = [r for r in linux_rows if r not in skipped] if linux_where == "emulated" else []
        if linux_rows and linux_where == "emulated" and emu_rows:
            if not ensure_built(args.vmm_static, "static", log):
                for r in emu_rows:
                    skipped[r] = "no static vmm at %s" % args.vmm_static
                emu_rows = []
        ctx.host_density = ctx.host_work = None
        bundle_rows = [r for r in emu_rows if r in workloads.BUNDLE_ROWS]
        if bundle_rows:
            ctx.spec_tool = "runc" if shutil.which("runc") else "crun"
            ctx.bench_work = proc.build_helper(os.path.join(ctx.cache, "bench"), "bench-work")
            if args.host_density > 0 and "vm-bundle" in bundle_rows:
                kinds = [k for k in emulated.DENSITY_KINDS if k in emu_rows]
                ctx.host_density = {"kinds": kinds, "max": args.host_density,
                                    "timeout": args.linux_timeout}
            if args.work_runs > 0 and {"vm-bundle", "crun-bundle"} <= set(bundle_rows):
                ctx.host_work = {"runs": args.work_runs, "cpu_mib": args.work_cpu_mib,
                                 "syscalls": args.work_syscalls, "io_mib": args.work_io_mib}
        if local_linux or emu_rows:
            try:
                prepare_linux(ctx, log)
            except proc.BenchError as e:
                for r in local_linux + emu_rows:
                    skipped[r] = str(e)[:200]
                local_linux, emu_rows = [], []
        if "vm-linux-restore" in local_linux:
            # the emulated host makes its own snapshot, inside
            log("vm-linux-restore: a snapshot of the Linux guest at its shell (vmm ctl snapshot)")
            try:
                ctx.linux_snap, ctx.linux_mem = workloads.make_linux_snapshot(
                    ctx, args.linux_timeout)
            except (proc.BenchError, OSError, subprocess.TimeoutExpired) as e:
                skipped["vm-linux-restore"] = "no snapshot: %s" % e
                local_linux.remove("vm-linux-restore")

        density_kinds = [k for k in workloads.DENSITY_KINDS if k in local] \
            if args.concurrency > 0 else []
        mem_rows = [r for r in ("vm-tiny", "qemu-tiny") if r in local]
        ctx.vmm_static = os.path.abspath(args.vmm_static)
        if "vm-tiny" in mem_rows and os.access(ctx.vmm_static, os.X_OK):
            # for comparison: how much of the overhead is shared libraries
            mem_rows.insert(1, "vm-tiny-static")
        mem_count = min(5, args.runs)
        total = ((args.warmup + args.runs) * len(local) + len(mem_rows) * mem_count +
                 len(density_kinds) +
                 (args.warmup + args.linux_runs) * (len(local_linux) + len(emu_rows)))
        progress = Progress(total, enabled=not args.quiet)
        ctx.log = progress.note if not args.quiet else (lambda m: None)
        log = ctx.log
        log("machine: %s" % info["line"])

        results = {r: {"id": r, "label": ROWS[r]["label"], "section": ROWS[r]["section"],
                       "base": workloads.base_of(r), "where": "local", "runs": [],
                       "failures": 0, "failure_examples": [], "skipped": skipped.get(r)}
                   for r in rows}
        for r in linux_rows:
            results[r]["where"] = EMULATED if linux_where == "emulated" else \
                "this machine (%s KVM)" % info["kvm"]

        run_local_rows(ctx, local, progress, results)
        memory = [memory_samples(ctx, r, mem_count, progress) for r in mem_rows]
        dens = [density(ctx, k, args.concurrency, progress) for k in density_kinds]
        if local_linux:
            run_local_rows_linux(ctx, local_linux, progress, results)
        host_info = None
        host_density, host_work = [], None
        if emu_rows:
            labels = {r: ROWS[r]["label"] for r in ROW_ORDER}
            try:
                host = emulated.run_host(ctx, emu_rows, progress, labels)
            except (proc.BenchError, OSError, subprocess.SubprocessError) as e:
                for r in emu_rows:
                    results[r]["skipped"] = "emulated host: %s" % str(e)[:200]
            else:
                host_info = dict(host.info)
                host_info["kvm"] = host.kvm
                host_info["errors"] = host.errors
                host_density = claims.host_density(host, ROWS)
                host_work = claims.steady_state(host)
                for r in emu_rows:
                    good, bad = host.runs(r, labels, workloads.marker_of(r))
                    results[r]["runs"] = good
                    results[r]["failures"] = len(bad)
                    results[r]["failure_examples"] = bad[:5]
                    if not good and host.errors:
                        results[r]["skipped"] = "; ".join(host.errors)[:300]
    except proc.BenchError as e:
        progress.finish()
        sys.stderr.write("%s: error: %s\n" % (PROG, e))
        return 1
    finally:
        progress.finish()

    # ---- the document
    row_list = [results[r] for r in rows]
    by_id = {r["id"]: r for r in row_list}
    for r in row_list:
        if r["id"] == r["base"]:
            report.finish_row(r, r)
    for r in row_list:
        if r["id"] != r["base"]:
            report.finish_row(r, by_id.get(r["base"]))
    base_d = next((d for d in dens if d["id"] == "vm-tiny"), None)
    for d in dens:
        if base_d and d.get("stats") and base_d.get("stats"):
            d["ratio_marker"] = stats.ratio(d["stats"]["median"], base_d["stats"]["median"])
        if base_d:
            d["ratio_pss"] = stats.ratio(d.get("total_pss_mib"), base_d.get("total_pss_mib"))

    notes.extend(method_notes(info, linux_where, bool(emu_rows or local_linux),
                              bool(memory), bool(dens), bool(local)))
    images = claims.image_sizes(ctx, log) if getattr(ctx, "bzimage", None) else None
    isolation = claims.isolation(ctx, log)
    if host_density or host_work:
        notes.extend(claims.method_notes(bool(host_density), host_work, ctx.args))
    if host_info:
        info["emulated_host"] = host_info
    doc = {
        "schema": "vmm-bench-boot/2",
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": ["scripts/bench-boot"] + (sys.argv[1:] if argv is None else list(argv)),
        "machine": info,
        "settings": {
            "runs": args.runs, "linux_runs": args.linux_runs, "warmup": args.warmup,
            "concurrency": args.concurrency, "tiny_mem": args.mem, "linux_mem": args.linux_mem,
            "linux_cmdline": args.linux_cmdline, "linux_where": linux_where,
            "host_density": args.host_density, "work_runs": args.work_runs,
            "work_size": {"cpu_mib": args.work_cpu_mib, "syscalls": args.work_syscalls,
                          "io_mib": args.work_io_mib},
            "vmm": ctx.vmm, "qemu": ctx.qemu, "qemu_cpu_tiny": ctx.qemu_cpu or "default",
        },
        "metrics": report.METRIC_INFO,
        "rows": row_list,
        "memory": memory,
        "density": dens,
        "host_density": host_density,
        "steady_state": host_work,
        "images": images,
        "isolation": isolation,
        "notes": notes,
    }
    doc["targets"] = targets(doc)
    doc["claims"] = claims.claims_table(doc)

    os.makedirs(args.out, exist_ok=True)
    report.write_json(doc, os.path.join(args.out, "boot.json"))
    if args.json_only:
        sys.stdout.write(json.dumps(doc, indent=1) + "\n")
    else:
        report.write_csv(doc, os.path.join(args.out, "boot.csv"))
        with open(os.path.join(args.out, "boot.svg"), "w") as f:
            f.write(chart(doc))
        sys.stdout.write(report.format_text(doc))
        sys.stdout.write("\nWrote %s, %s, %s\n" % tuple(
            os.path.join(args.out, n) for n in ("boot.json", "boot.csv", "boot.svg")))
    # Skipped rows and failed runs are reported in the output; only a run
    # that measured nothing at all is a failure of the benchmark itself.
    if not any(r["runs"] for r in row_list):
        sys.stderr.write("%s: no row produced any figure\n" % PROG)
        return 1
    return 0


def run_local_rows_linux(ctx, rows, progress, results):
    saved = (ctx.args.runs, ctx.args.warmup)
    ctx.args.runs = ctx.args.linux_runs
    try:
        run_local_rows(ctx, rows, progress, results)
    finally:
        ctx.args.runs, ctx.args.warmup = saved


def method_notes(info, linux_where, have_linux, have_memory, have_density, have_local):
    n = [
        "exec = bench-run's CLOCK_MONOTONIC just before fork(); bench-run is a small static C "
        "helper (scripts/benchlib/bench-run.c) that reads the program's stdout through a pipe "
        "and takes SIGCHLD for the exit, so every row is timed the same way.",
        "VM consoles go to that pipe the same way for both VMMs (vmm --console stdio, QEMU "
        "-serial stdio); containers print to it directly.",
        "vmm's boot-timer figure is measured by vmm from its own main(), not from exec; "
        "exec -> first KVM_RUN comes from ftrace (sys_enter_ioctl, cmd KVM_RUN) for both VMMs.",
    ]
    if have_memory:
        n.append(
            "VMM memory: /proc/PID/smaps of the running VMM with the tiny guest idling "
            "(test=counter); guest RAM is the largest anonymous mapping at least the guest's "
            "size; overhead = RSS of every other mapping (shared libraries included, so this is "
            "an upper bound; PSS and private figures are given too). KVM's own kernel memory is "
            "not in RSS.")
    if have_density:
        n.append(
            "Density: N instances at once (started one after another without waiting); VMs run test=counter (marker: its first "
            "line; vm-tiny-restore: N restores of one snapshot of it, sharing its memory file, "
            "marker: its first counter line) and are stopped with SIGTERM, containers run 'echo marker; read x' and end "
            "when their stdin closes; total PSS = sum of /proc/PID/smaps_rollup Pss over every "
            "process of every instance, sampled once all have printed their marker.")
    if not info.get("kvm_hardware_assisted") and have_local:
        n.append("KVM on this machine is %s: guest kernel-mode code runs in KVM's instruction "
                 "emulator (~0.5 us per instruction), so guest-side time is inflated for both "
                 "VMMs alike; the VMM-side start-up cost is native. QEMU runs the tiny guest "
                 "with its default CPU model here (this KVM rejects -cpu host)." % info["kvm"])
    if have_linux and linux_where == "emulated":
        n.append("Linux rows ran inside an emulated x86-64 host (QEMU TCG, -cpu EPYC,+svm, "
                 "Debian's cloud kernel with kvm-amd): real hardware-virtualization code paths, "
                 "but every instruction is emulated, so absolute times are 10-100x those of "
                 "hardware; compare the rows with each other, not with anything else.")
    if have_linux:
        n.append("Linux rows: same kernel (vmlinux entered at its PVH entry by both; bzImage "
                 "row for vmm's usual path), same initramfs, same command line (reboot=t: QEMU "
                 "microvm has no i8042 reset), 1 vCPU; marker VMM-GUEST-INIT-OK is printed by "
                 "/init right after the boot-timer write.")
    return n


def cleanup(ctx, args):
    if ctx.tracer:
        ctx.tracer.close()
        ctx.tracer = None
    if args.keep:
        sys.stderr.write("%s: work directory kept: %s\n" % (PROG, ctx.work))
    else:
        shutil.rmtree(ctx.work, ignore_errors=True)
