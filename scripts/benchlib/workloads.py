# SPDX-License-Identifier: MIT
"""The rows: what each runtime runs, and how one run is measured."""

import json
import os
import select
import shutil
import signal
import subprocess
import time

from . import proc

TINY_MARKER = "TESTGUEST PASS hello"
# vm-tiny-restore: test=echo snapshotted while it waits for a line; the
# restored guest reads one from stdin, echoes it and passes
RESTORE_MARKER = "TESTGUEST PASS echo"
LINUX_MARKER = "VMM-GUEST-INIT-OK"
# vm-linux-restore: the Linux guest snapshotted at its shell prompt
# (vmm.shell); the restored shell reads "echo LINUX-RESTORED-$((6*7))"
# from stdin, and only its output, not the echoed input, says 42
LINUX_RESTORE_MARKER = "LINUX-RESTORED-42"
CONTAINER_MARKER = "marker"
# test=counter prints "testguest: x86-64, scenario counter" first, then a
# "counter N" line every 100 ms.
COUNTER_FIRST = "scenario counter"
COUNTER_SETTLED = "counter 1\n"

QEMU_MICROVM = "microvm,x-option-roms=off,rtc=off,isa-serial=on"

EMULATED = "emulated host (QEMU TCG + SVM), not hardware"

# id -> static description. section "tiny" rows are compared with vm-tiny,
# "linux" rows with vm-linux.
ROWS = {
    "vm-tiny": {"label": "vmm, freestanding test guest", "section": "tiny", "kind": "vm"},
    "vm-tiny-pit": {"label": "vmm --pit, freestanding test guest", "section": "tiny",
                    "kind": "vm"},
    "vm-tiny-restore": {"label": "vmm, freestanding test guest restored from a snapshot",
                        "section": "tiny", "kind": "vm"},
    "qemu-tiny": {"label": "QEMU microvm, freestanding test guest", "section": "tiny",
                  "kind": "vm"},
    "crun": {"label": "crun run (busybox echo)", "section": "tiny", "kind": "container"},
    "runc": {"label": "runc run (busybox echo)", "section": "tiny", "kind": "container"},
    "unshare": {"label": "unshare -fpmnui + chroot (echo)", "section": "tiny",
                "kind": "container"},
    "fork-exec": {"label": "fork+exec busybox echo (floor)", "section": "tiny",
                  "kind": "container"},
    "vm-linux": {"label": "vmm, Linux + init (vmlinux, PVH)", "section": "linux", "kind": "vm"},
    "vm-linux-bzimage": {"label": "vmm, Linux + init (bzImage)", "section": "linux",
                         "kind": "vm"},
    "vm-linux-pit": {"label": "vmm --pit, Linux + init (vmlinux, PVH)", "section": "linux",
                     "kind": "vm"},
    "qemu-linux": {"label": "QEMU microvm, Linux + init (vmlinux)", "section": "linux",
                   "kind": "vm"},
    "vm-linux-restore": {"label": "vmm, Linux + init restored from a snapshot",
                         "section": "linux", "kind": "vm"},
    "vm-bundle": {"label": "vmm --bundle: busybox echo bundle", "section": "linux",
                  "kind": "vm"},
    "crun-bundle": {"label": "crun: the same bundle", "section": "linux",
                    "kind": "container"},
    "runc-bundle": {"label": "runc: the same bundle", "section": "linux",
                    "kind": "container"},
}
# which workload each row runs (the table and chart say it)
WORKLOAD = {
    "vm-tiny": "freestanding test guest (a few KiB, no OS): the lower bound of a VM start",
    "vm-tiny-pit": "freestanding test guest, with KVM's in-kernel PIT",
    "vm-tiny-restore": "freestanding test guest, restored from a snapshot",
    "qemu-tiny": "freestanding test guest",
    "crun": "busybox echo in a busybox-static rootfs",
    "runc": "busybox echo in a busybox-static rootfs",
    "unshare": "busybox echo in a busybox-static rootfs",
    "fork-exec": "busybox echo",
    "vm-linux": "the minimal Linux kernel + the project's initramfs, to its /init",
    "vm-linux-bzimage": "the minimal Linux kernel + the project's initramfs, to its /init",
    "vm-linux-pit": "the same, with KVM's in-kernel PIT",
    "qemu-linux": "the minimal Linux kernel + the project's initramfs, to its /init",
    "vm-linux-restore": "the same Linux guest, restored at its shell prompt: to a command's output",
    "vm-bundle": "one OCI bundle (busybox-static rootfs, busybox echo) in a Linux microVM",
    "crun-bundle": "the same OCI bundle in a container",
    "runc-bundle": "the same OCI bundle in a container",
}
BUNDLE_ROWS = ["vm-bundle", "crun-bundle", "runc-bundle"]
ROW_ORDER = list(ROWS)
LOCAL_TINY = ["vm-tiny", "vm-tiny-pit", "vm-tiny-restore", "qemu-tiny", "crun", "runc",
              "unshare", "fork-exec"]
LINUX_ROWS = ["vm-linux", "vm-linux-bzimage", "vm-linux-pit", "qemu-linux",
              "vm-linux-restore"] + BUNDLE_ROWS
DENSITY_KINDS = ["vm-tiny", "vm-tiny-restore", "qemu-tiny", "crun", "runc", "unshare", "fork-exec"]
ALIASES = {
    "all": ROW_ORDER,
    "vm": ["vm-tiny", "vm-tiny-pit", "vm-tiny-restore", "vm-linux", "vm-linux-bzimage",
           "vm-linux-pit", "vm-linux-restore", "vm-bundle"],
    "vmm": ["vm-tiny", "vm-tiny-pit", "vm-tiny-restore", "vm-linux", "vm-linux-bzimage",
            "vm-linux-pit", "vm-linux-restore", "vm-bundle"],
    "qemu": ["qemu-tiny", "qemu-linux"],
    "tiny": ["vm-tiny", "vm-tiny-pit", "vm-tiny-restore", "qemu-tiny"],
    "linux": ["vm-linux", "vm-linux-bzimage", "vm-linux-pit", "qemu-linux", "vm-linux-restore"],
    "pit": ["vm-tiny-pit", "vm-linux-pit"],
    "restore": ["vm-tiny-restore", "vm-linux-restore"],
    "bundle": BUNDLE_ROWS,
    "emulated": LINUX_ROWS,
    "containers": ["crun", "runc", "unshare", "fork-exec", "crun-bundle", "runc-bundle"],
}


def marker_of(row_id):
    """The line that says an emulated-host row's workload ran."""
    if row_id in BUNDLE_ROWS:
        return CONTAINER_MARKER
    return LINUX_RESTORE_MARKER if row_id == "vm-linux-restore" else LINUX_MARKER


def resolve_only(spec):
    """The row ids a --only list names (ids or aliases); ValueError if an
    entry is unknown."""
    if not spec:
        return list(ROW_ORDER)
    want = set()
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        if item in ROWS:
            want.add(item)
        elif item in ALIASES:
            want.update(ALIASES[item])
        else:
            raise ValueError("unknown row %r (rows: %s; groups: %s)" % (
                item, ", ".join(ROW_ORDER), ", ".join(sorted(ALIASES))))
    return [r for r in ROW_ORDER if r in want]


def base_of(row_id):
    return "vm-linux" if ROWS[row_id]["section"] == "linux" else "vm-tiny"


# ---- commands -------------------------------------------------------------

# density of vm-tiny-restore: test=counter snapshotted, restored N times;
# its first line after the restore
RESTORED_COUNTER = "counter "


# what the Linux guest's shell is given before its snapshot and after
# its restore (vm-linux-restore)
LINUX_SHELL_READY = b"init: vmm.shell given"
LINUX_SHELL_PROBE = (b"echo LR-READY-$((2+3))\n", b"LR-READY-5")
LINUX_RESTORE_INPUT = b"echo LINUX-RESTORED-$((6*7)); exit\n"


def make_snapshot(vmm, boot, name, work, ready, timeout=60, probe=None):
    """Boot `vmm run BOOT...`, snapshot it once its console printed READY
    (and, with probe=(line, answer), once it answered that line on stdin):
    vmm ctl pause, snapshot, stop. Returns (snapshot, memory file) in work."""
    sock = os.path.join(work, "snap.sock")
    snap = os.path.join(work, "%s.snap" % name)
    memf = os.path.join(work, "%s.mem" % name)
    for f in (sock, snap, memf):
        if os.path.exists(f):
            os.unlink(f)
    p = subprocess.Popen([vmm, "run"] + list(boot) + ["--api-sock", sock],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        buf = b""
        waits = [ready] + ([probe[1]] if probe else [])
        for want in waits:
            if want != ready:
                p.stdin.write(probe[0])
                p.stdin.flush()
            while want not in buf and time.monotonic() < deadline:
                r, _, _ = select.select([p.stdout], [], [], 1.0)
                if r:
                    chunk = os.read(p.stdout.fileno(), 4096)
                    if not chunk:
                        break
                    buf += chunk
            if want not in buf:
                raise proc.BenchError("%s did not get ready for its snapshot (no %r)"
                                      % (name, want.decode()))
        if probe:
            time.sleep(0.5)  # the shell back at its prompt, reading
        for args in (["pause"], ["snapshot", snap, memf], ["stop"]):
            res = subprocess.run([vmm, "ctl", sock] + args, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, timeout=timeout)
            if res.returncode != 0:
                raise proc.BenchError("vmm ctl %s: %s" % (args[0], res.stderr.decode(
                    errors="replace").strip()))
        p.wait(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return snap, memf


def make_tiny_snapshot(vmm, guest, mem, work, timeout=60, scenario="echo",
                       ready=b"echo: ready"):
    """The test guest in test=SCENARIO, snapshotted once it printed READY
    (for echo: while it waits for its line)."""
    return make_snapshot(vmm, ["-k", guest, "-p", "test=" + scenario, "-m", mem],
                         "tiny-" + scenario, work, ready, timeout)


def make_linux_snapshot(ctx, timeout):
    """The Linux guest (vmlinux) at its vmm.shell prompt, snapshotted once
    its shell answered a command."""
    boot = vmm_cmd(ctx.vmm, ctx.vmlinux, ctx.args.linux_cmdline + " vmm.shell",
                   ctx.args.linux_mem, initrd=ctx.guest_initrd, cpus=1)[2:]
    return make_snapshot(ctx.vmm, boot, "linux-shell", ctx.work, LINUX_SHELL_READY, timeout,
                         probe=LINUX_SHELL_PROBE)


def vmm_cmd(vmm, kernel, cmdline, mem, initrd=None, metrics=None, cpus=None,
            extra=()):
    cmd = [vmm, "run", "-k", kernel] + list(extra)
    if initrd:
        cmd += ["-i", initrd]
    cmd += ["-p", cmdline, "-m", mem]
    if cpus:
        cmd += ["-c", str(cpus)]
    cmd += ["--console", "stdio"]
    if metrics:
        cmd += ["--metrics-path", metrics]
    return cmd


def qemu_cmd(qemu, kernel, cmdline, mem, initrd=None, cpu=None, smp=None):
    cmd = [qemu, "-M", QEMU_MICROVM, "-accel", "kvm"]
    if cpu:
        cmd += ["-cpu", cpu]
    if smp:
        cmd += ["-smp", str(smp)]
    cmd += ["-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
            "-m", mem, "-kernel", kernel]
    if initrd:
        cmd += ["-initrd", initrd]
    cmd += ["-append", cmdline, "-no-reboot"]
    return cmd


class Containers:
    """A busybox-static root file system and OCI bundles made from it."""

    def __init__(self, work, busybox="/bin/busybox"):
        self.work = work
        self.rootfs = os.path.join(work, "rootfs")
        for d in ("bin", "proc", "dev", "sys", "tmp", "etc"):
            os.makedirs(os.path.join(self.rootfs, d), exist_ok=True)
        shutil.copy2(busybox, os.path.join(self.rootfs, "bin/busybox"))
        for applet in ("sh", "echo", "true", "sleep", "cat"):
            os.symlink("busybox", os.path.join(self.rootfs, "bin", applet))
        self.busybox = os.path.join(self.rootfs, "bin/busybox")
        self.bundles = {}

    def bundle(self, name, args, spec_tool):
        """An OCI bundle running args; config.json from `<spec_tool> spec`
        with terminal=false and the shared read-only rootfs."""
        if name in self.bundles:
            return self.bundles[name]
        path = os.path.join(self.work, "bundle-" + name)
        os.makedirs(path, exist_ok=True)
        res = subprocess.run([spec_tool, "spec"], cwd=path, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        if res.returncode != 0:
            raise proc.BenchError("%s spec failed: %s" % (spec_tool, res.stdout.decode()[-200:]))
        cfg_path = os.path.join(path, "config.json")
        with open(cfg_path) as f:
            cfg = json.load(f)
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = list(args)
        cfg["root"] = {"path": self.rootfs, "readonly": True}
        with open(cfg_path, "w") as f:
            json.dump(cfg, f, indent=1)
        self.bundles[name] = path
        return path

    VARIANTS = {
        # start, print the marker, exit
        "echo": ["/bin/busybox", "echo", CONTAINER_MARKER],
        # start, print the marker, stay until stdin closes (density)
        "wait": ["/bin/busybox", "sh", "-c", "echo %s; read x" % CONTAINER_MARKER],
    }

    def cmd(self, row, variant, ident, spec_tool):
        """The command line that runs a variant in the row's kind of container."""
        args = self.VARIANTS[variant]
        if row in ("crun", "runc"):
            bundle = self.bundle(variant, args, spec_tool)
            return [row, "run", "--bundle", bundle, ident]
        if row == "unshare":
            return ["unshare", "-fpmnui", "--mount-proc=" + os.path.join(self.rootfs, "proc"),
                    "chroot", self.rootfs] + args
        if row == "fork-exec":
            return [self.busybox] + args[1:]
        raise ValueError(row)


# ---- one measured run -----------------------------------------------------

class RunFailed(Exception):
    pass


def _tail(path, n=2):
    try:
        with open(path, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
        return " | ".join(lines[-n:])
    except OSError:
        return ""


def _last_json_line(path):
    try:
        with open(path) as f:
            lines = [line for line in f if line.strip()]
    except OSError:
        return None
    if not lines:
        return None
    try:
        return json.loads(lines[-1])
    except ValueError:
        return None


def figures(res, t0_trace_ns=None, metrics=None):
    """The per-run figures (ms, MiB) from a RESULT, a trace time, metrics."""
    run = {
        "marker": proc.ns_to_ms(res.get("marker_ns")),
        "exit": proc.ns_to_ms(res.get("exit_ns")),
        "first_byte": proc.ns_to_ms(res.get("first_byte_ns")),
        "cpu": (res.get("utime_us", 0) + res.get("stime_us", 0)) / 1000.0,
        "peak_rss": res.get("maxrss_kib", 0) / 1024.0,
    }
    if t0_trace_ns is not None:
        run["first_kvm_run"] = (t0_trace_ns - res["t0_ns"]) / 1e6
    if metrics:
        tl = metrics.get("boot_timeline", {})
        if tl.get("boot_timer_us") is not None:
            run["boot_timer"] = tl["boot_timer_us"] / 1000.0
        if tl.get("first_kvm_run_us") is not None:
            run["main_first_kvm_run"] = tl["first_kvm_run_us"] / 1000.0
    return run


def check(res, marker, what, err_path=None, log_path=None):
    """RunFailed with a one-line reason unless the run exited 0 after the marker."""
    why = None
    if res.get("timeout"):
        why = "timed out"
    elif res.get("signal"):
        why = "killed by signal %d" % res["signal"]
    elif res.get("status") != 0:
        why = "exit status %d" % res.get("status")
    elif marker and res.get("marker_ns", -1) < 0:
        why = "no %r in its output" % marker
    if why:
        detail = _tail(err_path) if err_path else ""
        if not detail and log_path:
            detail = _tail(log_path)
        raise RunFailed("%s%s" % (why, (": " + detail) if detail else ""))


class Local:
    """Runs rows on this machine, one process at a time."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.n = 0

    def run(self, row):
        ctx = self.ctx
        self.n += 1
        err = os.path.join(ctx.work, "last.err")
        log = os.path.join(ctx.work, "last.out")
        metrics = None
        marker = CONTAINER_MARKER
        timeout = ctx.args.timeout
        if row in ("vm-tiny", "vm-tiny-pit"):
            # vm-tiny-pit: the same with KVM's in-kernel PIT, whose
            # teardown waits for an SRCU grace period at exit
            metrics = os.path.join(ctx.work, "metrics-%d.json" % self.n)
            argv = vmm_cmd(ctx.vmm, ctx.testguest, "test=hello", ctx.args.mem, metrics=metrics,
                           extra=["--pit"] if row == "vm-tiny-pit" else [])
            marker = TINY_MARKER
        elif row == "vm-tiny-restore":
            metrics = os.path.join(ctx.work, "metrics-%d.json" % self.n)
            argv = [ctx.vmm, "run", "--restore", ctx.tiny_snap, "--mem-file", ctx.tiny_mem,
                    "--console", "stdio", "--metrics-path", metrics]
            marker = RESTORE_MARKER
        elif row == "qemu-tiny":
            argv = qemu_cmd(ctx.qemu, ctx.testguest, "test=hello", ctx.args.mem,
                            cpu=ctx.qemu_cpu)
            marker = TINY_MARKER
        elif row in ("vm-linux", "vm-linux-bzimage", "vm-linux-pit"):
            metrics = os.path.join(ctx.work, "metrics-%d.json" % self.n)
            kernel = ctx.bzimage if row == "vm-linux-bzimage" else ctx.vmlinux
            argv = vmm_cmd(ctx.vmm, kernel, ctx.args.linux_cmdline, ctx.args.linux_mem,
                           initrd=ctx.guest_initrd, metrics=metrics, cpus=1,
                           extra=["--pit"] if row == "vm-linux-pit" else [])
            marker = LINUX_MARKER
            timeout = ctx.args.linux_timeout
        elif row == "vm-linux-restore":
            metrics = os.path.join(ctx.work, "metrics-%d.json" % self.n)
            argv = [ctx.vmm, "run", "--restore", ctx.linux_snap, "--mem-file", ctx.linux_mem,
                    "--console", "stdio", "--metrics-path", metrics]
            marker = LINUX_RESTORE_MARKER
            timeout = ctx.args.linux_timeout
        elif row == "qemu-linux":
            argv = qemu_cmd(ctx.qemu, ctx.vmlinux, ctx.args.linux_cmdline, ctx.args.linux_mem,
                            initrd=ctx.guest_initrd, cpu="host", smp=1)
            marker = LINUX_MARKER
            timeout = ctx.args.linux_timeout
        else:
            ident = "bench-boot-%d-%d" % (os.getpid(), self.n)
            argv = ctx.containers.cmd(row, "echo", ident, ctx.spec_tool)
        if ctx.tracer and ROWS[row]["kind"] == "vm":
            ctx.tracer.clear()
        stdin = subprocess.DEVNULL
        if row in ("vm-tiny-restore", "vm-linux-restore"):
            # the line the restored guest waits for, already in a pipe
            rfd, wfd = os.pipe()
            os.write(wfd, b"bench\n" if row == "vm-tiny-restore" else LINUX_RESTORE_INPUT)
            os.close(wfd)
            stdin = rfd
        try:
            res = proc.run_timed(ctx.bench_run, argv, marker=marker, timeout=timeout,
                                 log_path=log, err_path=err, stdin=stdin)
        finally:
            if stdin is not subprocess.DEVNULL:
                os.close(stdin)
        check(res, marker, ROWS[row]["label"], err, log)
        first_run = None
        if ctx.tracer and ROWS[row]["kind"] == "vm":
            first_run = ctx.tracer.first_kvm_run_ns(res["pid"])
        m = None
        if metrics:
            m = _last_json_line(metrics)
            try:
                os.unlink(metrics)
            except OSError:
                pass
        return figures(res, first_run, m)


# ---- several instances at once --------------------------------------------

class Instance:
    def __init__(self, popen):
        self.p = popen
        self.buf = b""
        self.marker_ns = None
        self.pid = None
        self.result = None


def _read_lines(inst):
    """Consume what inst's bench-run printed; False at EOF."""
    data = os.read(inst.p.stdout.fileno(), 65536)
    if not data:
        return False
    inst.buf += data
    while b"\n" in inst.buf:
        line, inst.buf = inst.buf.split(b"\n", 1)
        text = line.decode(errors="replace")
        if text.startswith("MARKER "):
            parts = text.split()
            inst.marker_ns = int(parts[1])
            inst.pid = int(parts[2])
        elif text.startswith("RESULT "):
            inst.result = proc.parse_result(text)
    return True


def start_group(bench_run, argvs, marker, timeout, stdin_pipe, err_dir):
    """Start one bench-run per argv (back to back); return the Instances."""
    out = []
    for i, argv in enumerate(argvs):
        cmd = [bench_run, "-M", "-m", marker, "-t", str(timeout),
               "-e", os.path.join(err_dir, "inst-%d.err" % i), "--"] + list(argv)
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out.append(Instance(p))
    return out


def wait_markers(instances, deadline):
    """Read the instances' output until each has shown its marker or ended."""
    pending = {i.p.stdout.fileno(): i for i in instances}
    while pending and time.monotonic() < deadline:
        want = [fd for fd, i in pending.items() if i.marker_ns is None and i.result is None]
        if not want:
            break
        r, _, _ = select.select(want, [], [], max(0.0, min(0.5, deadline - time.monotonic())))
        for fd in r:
            inst = pending[fd]
            if not _read_lines(inst):
                del pending[fd]


def stop_group(instances, how, grace=20.0):
    """End the instances (close stdin or SIGTERM) and collect the results."""
    for inst in instances:
        try:
            if how == "stdin":
                inst.p.stdin.close()
            else:
                inst.p.send_signal(signal.SIGTERM)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + grace
    for inst in instances:
        while inst.result is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([inst.p.stdout.fileno()], [], [], left)
            if r and not _read_lines(inst):
                break
        if inst.result is None:
            try:
                inst.p.kill()
            except OSError:
                pass
        try:
            inst.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        inst.p.stdout.close()


def group_pss_kib(instances):
    """Sum of PSS over every process below each instance's bench-run (the
    measured program and its children; bench-run itself is left out)."""
    table = proc.process_table()
    total, per = 0, []
    for inst in instances:
        s = 0
        for pid in proc.descendants(inst.p.pid, table):
            v = proc.pss_kib(pid)
            if v:
                s += v
        per.append(s)
        total += s
    return total, per
