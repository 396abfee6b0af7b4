# SPDX-License-Identifier: MIT
"""Starting and observing processes: the bench-run helper, ftrace, smaps."""

import ctypes
import ctypes.util
import hashlib
import os
import re
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_RUN_SRC = os.path.join(HERE, "bench-run.c")

KVM_RUN = 0xAE80  # _IO(KVMIO, 0x80)


class BenchError(Exception):
    """A failure the benchmark reports in one line and stops on."""


def build_bench_run(cache_dir, log=None):
    """Compile scripts/benchlib/bench-run.c (statically when possible) into
    cache_dir, keyed by the source's hash; returns (path, is_static)."""
    with open(BENCH_RUN_SRC, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    os.makedirs(cache_dir, exist_ok=True)
    for static in (True, False):
        path = os.path.join(cache_dir, "bench-run-%s%s" % (digest, "" if static else "-dyn"))
        if os.access(path, os.X_OK):
            return path, static
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            raise BenchError("no C compiler (cc) to build scripts/benchlib/bench-run.c")
        tmp = "%s.tmp.%d" % (path, os.getpid())
        cmd = [cc, "-O2", "-Wall", "-o", tmp, BENCH_RUN_SRC]
        if static:
            cmd.insert(1, "-static")
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if res.returncode == 0:
            os.replace(tmp, path)
            if log:
                log("built %s%s" % (path, "" if static else " (dynamic: no static libc)"))
            return path, static
        if not static:
            raise BenchError("cannot build bench-run: %s" % res.stdout.decode(errors="replace")[-400:])
    raise AssertionError("unreachable")


def build_helper(cache_dir, name):
    """Compile scripts/benchlib/NAME.c statically into cache_dir (keyed by
    the source's hash): a helper that runs inside a rootfs or an emulated
    host, so it must need no libraries. Returns its path."""
    src = os.path.join(HERE, name + ".c")
    with open(src, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, "%s-%s" % (name, digest))
    if os.access(path, os.X_OK):
        return path
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise BenchError("no C compiler (cc) to build scripts/benchlib/%s.c" % name)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    res = subprocess.run([cc, "-O2", "-Wall", "-static", "-o", tmp, src],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if res.returncode != 0:
        raise BenchError("cannot build %s (static): %s"
                         % (name, res.stdout.decode(errors="replace")[-400:]))
    os.replace(tmp, path)
    return path


_RESULT_RE = re.compile(r"(\w+)=(-?\d+)")


def parse_result(line):
    """The key=value integers of a bench-run "RESULT ..." line."""
    if not line.startswith("RESULT "):
        raise ValueError("not a RESULT line: %r" % (line,))
    return {k: int(v) for k, v in _RESULT_RE.findall(line)}


def ns_to_ms(ns):
    return None if ns is None or ns < 0 else ns / 1e6


def run_timed(bench_run, argv, marker=None, timeout=60, log_path=None,
              err_path=None, stdin=subprocess.DEVNULL, env=None):
    """Run argv under bench-run once; returns the RESULT fields."""
    cmd = [bench_run, "-t", str(timeout)]
    if marker:
        cmd += ["-m", marker]
    if log_path:
        cmd += ["-l", log_path]
    if err_path:
        cmd += ["-e", err_path]
    cmd += ["--"] + list(argv)
    res = subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, timeout=timeout + 30)
    for line in res.stdout.decode(errors="replace").splitlines():
        if line.startswith("RESULT "):
            return parse_result(line)
    raise BenchError("bench-run gave no result for %s: %s" %
                     (argv[0], res.stderr.decode(errors="replace").strip()[-300:]))


# ---- mount namespace (the cgroup quirk) ---------------------------------

CLONE_NEWNS = 0x00020000
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def private_mount_namespace():
    """Move this process into its own mount namespace with private
    propagation, so that mounts and unmounts made here (tracefs, hiding
    cgroup2) affect nothing outside the benchmark."""
    libc = _libc()
    if libc.unshare(CLONE_NEWNS) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "unshare(CLONE_NEWNS): " + os.strerror(e))
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "mount --make-rprivate /: " + os.strerror(e))


def umount(path):
    libc = _libc()
    if libc.umount2(path.encode(), MNT_DETACH) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "umount %s: %s" % (path, os.strerror(e)))


def mount_fs(fstype, target):
    libc = _libc()
    if libc.mount(fstype.encode(), target.encode(), fstype.encode(), 0, None) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "mount -t %s %s: %s" % (fstype, target, os.strerror(e)))


def mounts():
    """(mount point, fs type) of every mount in this namespace."""
    out = []
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3:
                out.append((parts[1].replace("\\040", " "), parts[2]))
    return out


def cgroup_hybrid():
    """True when cgroups are in hybrid mode: v1 controllers with an empty
    cgroup2 at /sys/fs/cgroup/unified (crun refuses to run there)."""
    m = dict(mounts())
    return m.get("/sys/fs/cgroup/unified") == "cgroup2" and m.get("/sys/fs/cgroup") != "cgroup2"


# ---- ftrace: the first KVM_RUN of a process ------------------------------

_TRACE_LINE = re.compile(r"\(\s*(\d+)\)\s+\[\d+\]\s+\S+\s+(\d+\.\d+):\s+sys_ioctl\(")


class KvmRunTracer:
    """A private ftrace instance recording every ioctl(KVM_RUN) with the
    CLOCK_MONOTONIC timestamp (trace_clock mono) and the caller's thread
    group, so that "exec -> first KVM_RUN" is measured the same way for
    every VMM, by the kernel, with the clock bench-run's t0 comes from."""

    def __init__(self, name):
        self.base = None
        self.inst = None
        root = "/sys/kernel/tracing"
        if not os.path.exists(os.path.join(root, "instances")):
            if os.path.isdir(root):
                try:
                    mount_fs("tracefs", root)
                except OSError:
                    pass
        if not os.path.exists(os.path.join(root, "instances")):
            alt = "/sys/kernel/debug/tracing"
            if os.path.exists(os.path.join(alt, "instances")):
                root = alt
            else:
                raise BenchError("tracefs is not available")
        ev = os.path.join(root, "events/syscalls/sys_enter_ioctl")
        if not os.path.isdir(ev):
            raise BenchError("the kernel has no syscall trace events (CONFIG_FTRACE_SYSCALLS)")
        self.base = root
        self._remove_stale(os.path.join(root, "instances"), name)
        inst = os.path.join(root, "instances", name)
        try:
            os.mkdir(inst)
        except FileExistsError:
            pass
        self.inst = inst
        try:
            self._w("trace_clock", "mono")
            self._w("options/record-tgid", "1")
            self._w("options/overwrite", "0")  # keep the first events when full
            self._w("buffer_size_kb", "2048")
            self._w("events/syscalls/sys_enter_ioctl/filter", "cmd == %d" % KVM_RUN)
            self._w("events/syscalls/sys_enter_ioctl/enable", "1")
            self._w("tracing_on", "1")
        except OSError as e:
            self.close()
            raise BenchError("cannot set up ftrace: %s" % e)

    @staticmethod
    def _remove_stale(instances, name):
        """Remove instances left by earlier benchmark processes that died
        (instances are named PREFIX-PID)."""
        prefix = name.rsplit("-", 1)[0] + "-"
        for d in os.listdir(instances):
            pid = d[len(prefix):]
            if d.startswith(prefix) and pid.isdigit() and not os.path.exists("/proc/" + pid):
                try:
                    with open(os.path.join(instances, d, "tracing_on"), "w") as f:
                        f.write("0")
                    os.rmdir(os.path.join(instances, d))
                except OSError:
                    pass

    def _w(self, rel, value):
        with open(os.path.join(self.inst, rel), "w") as f:
            f.write(value)

    def clear(self):
        with open(os.path.join(self.inst, "trace"), "w"):
            pass

    def first_kvm_run_ns(self, tgid):
        """CLOCK_MONOTONIC ns of the first KVM_RUN by process tgid since
        the last clear(), or None."""
        with open(os.path.join(self.inst, "trace")) as f:
            for line in f:
                m = _TRACE_LINE.search(line)
                if m and int(m.group(1)) == tgid:
                    sec, _, frac = m.group(2).partition(".")
                    return int(sec) * 1000000000 + int(frac.ljust(9, "0")[:9])
        return None

    def close(self):
        if self.inst and os.path.isdir(self.inst):
            try:
                self._w("tracing_on", "0")
                self._w("events/syscalls/sys_enter_ioctl/enable", "0")
            except OSError:
                pass
            try:
                os.rmdir(self.inst)
            except OSError:
                pass
        self.inst = None


# ---- memory: smaps, PSS of process trees --------------------------------

_MAP_RE = re.compile(r"^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+\S+\s+\S+\s+(\d+)\s*(.*)$")


def read_smaps(pid):
    """The mappings of pid: dicts with start, size, perms, path and the
    smaps fields in KiB (Rss, Pss, Private_Clean, ...)."""
    maps = []
    cur = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = _MAP_RE.match(line)
            if m:
                cur = {
                    "start": int(m.group(1), 16),
                    "size": int(m.group(2), 16) - int(m.group(1), 16),
                    "perms": m.group(3),
                    "inode": int(m.group(4)),
                    "path": m.group(5).strip(),
                }
                maps.append(cur)
                continue
            key, _, rest = line.partition(":")
            parts = rest.split()
            if cur is not None and len(parts) == 2 and parts[1] == "kB":
                cur[key] = int(parts[0])
    return maps


def guest_ram_mapping(maps, mem_bytes):
    """The mapping most likely to be guest RAM: the largest anonymous
    (no file, no [name]) mapping at least mem_bytes long."""
    best = None
    for m in maps:
        if m["path"] or m["inode"] or m["size"] < mem_bytes:
            continue
        if best is None or m["size"] > best["size"]:
            best = m
    return best


def memory_split(pid, mem_bytes):
    """RSS/PSS of pid split into guest RAM and everything else (KiB)."""
    maps = read_smaps(pid)
    g = guest_ram_mapping(maps, mem_bytes)

    def tot(key, ms):
        return sum(m.get(key, 0) for m in ms)

    rest = [m for m in maps if m is not g]
    out = {
        "rss_kib": tot("Rss", maps),
        "pss_kib": tot("Pss", maps),
        "guest_rss_kib": g.get("Rss", 0) if g else None,
        "overhead_rss_kib": tot("Rss", rest),
        "overhead_pss_kib": tot("Pss", rest),
        "overhead_private_kib": tot("Private_Clean", rest) + tot("Private_Dirty", rest),
        "overhead_anon_kib": tot("Anonymous", rest),
    }
    return out


def process_table():
    """{pid: ppid} of every process."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                data = f.read()
        except OSError:
            continue
        # comm may hold spaces and parentheses: the fields follow the last ')'
        fields = data[data.rfind(")") + 2:].split()
        if len(fields) >= 2:
            table[int(name)] = int(fields[1])
    return table


def descendants(pid, table=None):
    """Every process below pid (not pid itself)."""
    table = process_table() if table is None else table
    children = {}
    for p, pp in table.items():
        children.setdefault(pp, []).append(p)
    out, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pss_kib(pid):
    """Pss of one process from smaps_rollup (KiB), or None if it is gone."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None
