# SPDX-License-Identifier: MIT
"""The figures behind the VM-vs-container claims: density and steady state
in the emulated host, image sizes and the isolation surface on this
machine, and the claims table that puts each claim beside its verdict."""

import gzip
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile

from . import stats

WORK_MODES = [
    ("cpu", "CPU-bound: FNV-1a hash of %(cpu_mib)d MiB in memory"),
    ("syscall", "system-call-bound: %(syscalls)d getppid() calls"),
    ("io", "I/O-bound: write %(io_mib)d MiB in 1 MiB writes + fsync"),
]


def host_density(host, rows):
    """The density phase of a HostRun: per kind, start times, PSS per
    instance and instances per GiB."""
    out = []
    for kind, insts in host.density.items():
        starts = [x["marker_ms"] for x in insts if x["marker_ms"] is not None]
        pss = [x["pss_mib"] for x in insts if x["pss_mib"] is not None]
        per = stats.summarize(pss)
        d = {"id": kind, "label": rows[kind]["label"], "n": len(insts), "ok": len(starts),
             "start_ms": starts, "stats": stats.summarize(starts), "pss_mib": pss,
             "pss_stats": per,
             "total_pss_mib": sum(pss) if pss else None,
             "pss_per_instance_mib": (sum(pss) / len(pss)) if pss else None,
             "where": "emulated host"}
        d["per_gib"] = per_gib(d["pss_per_instance_mib"])
        out.append(d)
    notes = [n for n in host.density_notes if "stopped" in n]
    for d in out:
        d["notes"] = [n for n in notes if n.startswith(d["id"] + " ")]
    return out


def per_gib(pss_mib):
    """How many instances of that PSS fit in 1 GiB (None without a figure)."""
    if not pss_mib or pss_mib <= 0:
        return None
    return 1024.0 / pss_mib


def steady_state(host):
    """The steady-state workloads: elapsed ms per side, and VM/container."""
    if not host.work:
        return None
    out = []
    for mode, _ in WORK_MODES:
        c, v = host.work_times("crun", mode), host.work_times("vmm", mode)
        sc, sv = stats.summarize(c), stats.summarize(v)
        out.append({"mode": mode, "container_ms": c, "vm_ms": v, "container": sc, "vm": sv,
                    "ratio": stats.ratio(sv["median"] if sv else None,
                                         sc["median"] if sc else None)})
    return out


# ---- image sizes ----------------------------------------------------------

def tree_bytes(path):
    """Sum of the sizes of the regular files and symlinks under path
    (lstat, hard links once): what the tree holds."""
    seen, total = set(), 0
    for root, dirs, files in os.walk(path):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            st = os.lstat(os.path.join(root, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def gzip_size(path, level=6):
    """Bytes of path compressed with gzip -level (streamed)."""
    class Count:
        n = 0

        def write(self, b):
            self.n += len(b)

        def flush(self):
            pass
    cnt = Count()
    with open(path, "rb") as f, gzip.GzipFile(fileobj=cnt, mode="wb", compresslevel=level,
                                              mtime=0) as g:
        shutil.copyfileobj(f, g, 1 << 20)
    return cnt.n


def layer_size(rootfs, work):
    """An OCI image layer of rootfs: its tar, and that tar gzip'ed."""
    tar = os.path.join(work, "layer.tar")
    with tarfile.open(tar, "w") as t:
        t.add(rootfs, arcname=".")
    size = os.path.getsize(tar)
    gz = gzip_size(tar)
    os.unlink(tar)
    return size, gz


def image_sizes(ctx, log):
    """What each side needs on disk for the busybox bundle (and Debian 12
    minbase when its tree is in the cache): the container's rootfs and
    its OCI layer vs the VM's kernel + init + EROFS image (as vmm makes
    it: mkfs.erofs with its defaults)."""
    if not shutil.which("mkfs.erofs"):
        return {"error": "mkfs.erofs not installed"}
    init = os.path.join(ctx.repo, "build/guest/vmm-init")
    work = tempfile.mkdtemp(prefix="images.", dir=ctx.work)
    trees = []
    bb = os.path.join(work, "busybox-rootfs")
    os.makedirs(os.path.join(bb, "bin"))
    shutil.copy2("/bin/busybox", os.path.join(bb, "bin/busybox"))
    for a in ("sh", "echo", "true", "sleep", "cat"):
        os.symlink("busybox", os.path.join(bb, "bin", a))
    trees.append(("busybox-static rootfs", bb))
    deb = os.path.join(ctx.cache, "debian-bookworm-minbase")
    if os.path.exists(deb + ".complete"):
        trees.append(("Debian 12 minbase", deb))
    kernel = os.path.getsize(ctx.bzimage)
    kernel_gz = gzip_size(ctx.bzimage)
    init_size = os.path.getsize(init) if os.path.exists(init) else None
    init_gz = gzip_size(init) if init_size else None
    out = {"kernel_bytes": kernel, "kernel_gz_bytes": kernel_gz, "init_bytes": init_size,
           "init_gz_bytes": init_gz, "rows": []}
    for label, tree in trees:
        img = os.path.join(work, "rootfs.erofs")
        res = subprocess.run(["mkfs.erofs", "--quiet", img, tree], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        if res.returncode != 0:
            out["rows"].append({"label": label, "error": res.stdout.decode()[-200:]})
            continue
        tar, tgz = layer_size(tree, work)
        erofs, erofs_gz = os.path.getsize(img), gzip_size(img)
        os.unlink(img)
        vm = kernel + (init_size or 0) + erofs
        vm_gz = kernel_gz + (init_gz or 0) + erofs_gz
        out["rows"].append({"label": label, "rootfs_bytes": tree_bytes(tree),
                            "layer_tar_bytes": tar, "layer_tgz_bytes": tgz,
                            "erofs_bytes": erofs, "erofs_gz_bytes": erofs_gz,
                            "vm_bytes": vm, "vm_gz_bytes": vm_gz,
                            "ratio": vm / tar if tar else None,
                            "ratio_gz": vm_gz / tgz if tgz else None})
    shutil.rmtree(work, ignore_errors=True)
    return out


# ---- isolation ------------------------------------------------------------

UNISTD = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
PROFILE = "/usr/share/containers/seccomp.json"


def syscall_names(header=UNISTD):
    """The x86-64 system call names the installed kernel headers define."""
    with open(header) as f:
        return set(re.findall(r"^#define __NR_(\w+)\s+\d+", f.read(), re.M))


def profile_allowed(profile, names, caps, arch="amd64"):
    """The system calls (of names) a seccomp profile in the containers/
    Docker format lets a process with capabilities caps make, with some
    arguments: a rule counts when its includes (arches, caps) match and
    its excludes do not; rules with argument conditions count too."""
    if profile.get("defaultAction") == "SCMP_ACT_ALLOW":
        return set(names)
    allowed = set()
    for rule in profile.get("syscalls", []):
        if rule.get("action") != "SCMP_ACT_ALLOW":
            continue
        inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
        if inc.get("arches") and arch not in inc["arches"]:
            continue
        if inc.get("caps") and not set(inc["caps"]) <= set(caps):
            continue
        if exc.get("arches") and arch in exc["arches"]:
            continue
        if exc.get("caps") and set(exc["caps"]) & set(caps):
            continue
        allowed.update(n for n in rule.get("names", []) if n in names)
    return allowed


_VMM_SECCOMP = re.compile(r"filters allow (\d+) \(main\), (\d+) \(vCPU\), (\d+) \(disk\) "
                          r"system calls, (\d+) distinct")


def parse_vmm_seccomp(text):
    """(main, vcpu, disk, distinct) from vmm -v's seccomp line, or None."""
    m = _VMM_SECCOMP.search(text)
    return tuple(int(x) for x in m.groups()) if m else None


def exit_reasons(repo):
    """The KVM exit reasons vmm's run loop handles (its switch's cases)."""
    found = set()
    for path in ("vmm/vcpu.c",):
        with open(os.path.join(repo, path)) as f:
            found.update(re.findall(r"case (KVM_EXIT_\w+)", f.read()))
    return sorted(found)


def isolation(ctx, log):
    """Host system calls reachable from the workload, each side."""
    out = {}
    try:
        names = syscall_names()
    except OSError as e:
        return {"error": "no %s: %s" % (UNISTD, e)}
    out["syscalls_total"] = len(names)
    caps = []
    spec = getattr(ctx, "spec_tool", None) or ("runc" if shutil.which("runc") else "crun")
    if shutil.which(spec):
        d = tempfile.mkdtemp(prefix="spec.", dir=ctx.work)
        if subprocess.run([spec, "spec"], cwd=d, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0:
            with open(os.path.join(d, "config.json")) as f:
                cfg = json.load(f)
            caps = cfg.get("process", {}).get("capabilities", {}).get("bounding", [])
            out["spec_has_seccomp"] = "seccomp" in cfg.get("linux", {})
        shutil.rmtree(d, ignore_errors=True)
    out["spec_caps"] = caps
    out["container_no_profile"] = len(names)
    if os.path.exists(PROFILE):
        with open(PROFILE) as f:
            prof = json.load(f)
        out["container_default_profile"] = len(profile_allowed(prof, names, caps))
        out["profile"] = PROFILE
    vmm = getattr(ctx, "vmm", None)
    guest = getattr(ctx, "testguest", None)
    if vmm and guest and os.path.exists(guest) and os.path.exists("/dev/kvm"):
        res = subprocess.run([vmm, "run", "-v", "-k", guest, "-p", "test=hello", "-m", "64M",
                              "--console", "stdio"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=60)
        got = parse_vmm_seccomp(res.stdout.decode(errors="replace"))
        if got:
            out["vmm_main"], out["vmm_vcpu"], out["vmm_disk"], out["vmm_distinct"] = got
    try:
        out["kvm_exits_handled"] = exit_reasons(ctx.repo)
    except OSError:
        pass
    return out


# ---- the claims -----------------------------------------------------------

def _med(doc, row, key):
    for r in doc.get("rows", []):
        if r["id"] == row and not r.get("skipped"):
            st = r.get("stats", {}).get(key)
            return st["median"] if st else None
    return None


def _dens(doc, kind):
    return next((d for d in doc.get("host_density") or [] if d["id"] == kind), None)


def claims_table(doc):
    """Each claim of the VM-vs-container debate, the figure measured here,
    a verdict and the rows that prove it. Verdicts: "holds", "does not
    hold", "partly" or "not measured"."""
    out = []

    # 1. start time
    vb, cb = _med(doc, "vm-bundle", "marker"), _med(doc, "crun-bundle", "marker")
    vt, ct = _med(doc, "vm-tiny", "marker"), _med(doc, "crun", "marker")
    c = {"claim": "Containers start in seconds, VMs in minutes",
         "rows": "vm-bundle vs crun-bundle (same emulated host); vm-tiny vs crun (this machine)"}
    if vb and cb:
        r = vb / cb
        c["measured"] = ("same bundle, same host: VM %.0f ms vs container %.0f ms (%.1fx)"
                         % (vb, cb, r))
        if vt and ct:
            c["measured"] += "; freestanding guest vs crun here: %.1f vs %.1f ms" % (vt, ct)
        lr = _med(doc, "vm-linux-restore", "marker")
        if lr:
            c["measured"] += ("; a Linux VM restored from a snapshot: %.0f ms to a command's "
                              "output (%.2fx the container)" % (lr, lr / cb))
            c["rows"] += "; vm-linux-restore"
        # minutes vs seconds is a factor of 60 or more
        c["verdict"] = "holds" if r >= 60 else ("partly" if r >= 2 else "does not hold")
        c["why"] = ("the VM is %.1fx slower, not 60x: seconds vs seconds" % r if 2 <= r < 60
                    else "")
    elif vt and ct:
        c["measured"] = "freestanding guest %.1f ms vs crun %.1f ms (%.2fx)" % (vt, ct, vt / ct)
        c["verdict"] = "does not hold" if vt / ct < 2 else "partly"
    else:
        c["measured"], c["verdict"] = "not measured", "not measured"
    out.append(c)

    # 2. image size
    im = doc.get("images") or {}
    rows = [r for r in im.get("rows", []) if "vm_bytes" in r]
    c = {"claim": "Containers are megabytes, VMs gigabytes",
         "rows": "images: kernel + init + EROFS image vs the bundle's rootfs and OCI layer"}
    if rows:
        parts = ["%s: VM %.1f MiB (%.1f gzip) vs container layer %.1f MiB (%.1f gzip)"
                 % (r["label"], r["vm_bytes"] / 2**20, r["vm_gz_bytes"] / 2**20,
                    r["layer_tar_bytes"] / 2**20, r["layer_tgz_bytes"] / 2**20) for r in rows]
        c["measured"] = "; ".join(parts)
        biggest = max(r["vm_bytes"] for r in rows)
        c["verdict"] = "holds" if biggest >= 2**30 else "does not hold"
        c["why"] = "the VM adds a %.1f MiB kernel and a %.1f MiB init, not gigabytes" % (
            im["kernel_bytes"] / 2**20, (im.get("init_bytes") or 0) / 2**20)
    else:
        c["measured"], c["verdict"] = "not measured", "not measured"
    out.append(c)

    # 3. density
    dv, dc = _dens(doc, "vm-bundle"), _dens(doc, "crun-bundle")
    c = {"claim": "More containers than VMs fit on a host",
         "rows": "host density: vm-bundle vs crun-bundle, N at once (same emulated host)"}
    if dv and dc and dv.get("per_gib") and dc.get("per_gib"):
        r = dc["per_gib"] / dv["per_gib"]
        c["measured"] = ("%d at once: VM %.1f MiB PSS each (%.0f per GiB) vs container "
                         "%.2f MiB (%.0f per GiB): %.0fx more containers"
                         % (dv["ok"], dv["pss_per_instance_mib"], dv["per_gib"],
                            dc["pss_per_instance_mib"], dc["per_gib"], r))
        c["verdict"] = "holds" if r >= 2 else ("partly" if r > 1.1 else "does not hold")
    else:
        c["measured"], c["verdict"] = "not measured", "not measured"
    out.append(c)

    # 4. steady-state overhead
    ss = doc.get("steady_state") or []
    have = [s for s in ss if s.get("ratio")]
    c = {"claim": "Containers have less overhead",
         "rows": "steady state: the same workloads in crun and vmm --bundle (same emulated host)"}
    if have:
        c["measured"] = ", ".join("%s %.2fx" % (s["mode"], s["ratio"]) for s in have) + \
            " (VM time / container time, medians)"
        worse = [s for s in have if s["ratio"] > 1.1]
        c["verdict"] = ("holds" if len(worse) == len(have) else
                        "partly" if worse else "does not hold")
        c["why"] = ("VM slower in: %s" % ", ".join(s["mode"] for s in worse)) if worse else \
            "within 10% in every workload"
    else:
        c["measured"], c["verdict"] = "not measured", "not measured"
    out.append(c)

    # 5. isolation
    iso = doc.get("isolation") or {}
    c = {"claim": "VMs isolate better",
         "rows": "isolation: host system calls reachable from the workload"}
    cont = iso.get("container_default_profile", iso.get("container_no_profile"))
    if cont and iso.get("vmm_distinct"):
        c["measured"] = (
            "container: %d host system calls (%s), %d with no seccomp (as runc spec's "
            "config.json); VM: 0 direct (its calls reach the guest kernel), through vmm at "
            "most %d (main %d, vCPU %d, disk %d), plus %d KVM exit reasons"
            % (cont, "containers' default seccomp profile" if "container_default_profile"
               in iso else "no profile", iso.get("container_no_profile", 0),
               iso["vmm_distinct"], iso["vmm_main"], iso["vmm_vcpu"], iso["vmm_disk"],
               len(iso.get("kvm_exits_handled", []))))
        c["verdict"] = "holds" if iso["vmm_distinct"] < cont else "does not hold"
        c["why"] = "%.0fx fewer host system calls in reach" % (cont / iso["vmm_distinct"])
    else:
        c["measured"], c["verdict"] = "not measured", "not measured"
    out.append(c)
    return out


def method_notes(have_density, work, args):
    n = []
    if have_density:
        n.append(
            "Host density (emulated host): vmm --bundle microVMs (%s guest RAM, 1 vCPU) are "
            "started at once, as many as fit while a quarter of the host's memory stays free "
            "(at most --host-density), each running 'echo marker; read x' from one bundle; then "
            "as many crun containers of the same bundle at once. PSS per instance: sum of "
            "/proc/PID/smaps_rollup Pss over every process of the instance (vmm: its guest "
            "RAM touched included), once all have printed the marker; per GiB = 1024 / PSS."
            % args.linux_mem)
    if work:
        n.append(
            "Steady state (emulated host): bench-work (static C, scripts/benchlib/bench-work.c) "
            "as the process of the same bundle in crun and in vmm --bundle, alternating, page "
            "cache dropped before each; time measured inside the workload (CLOCK_MONOTONIC "
            "around the work, no start-up): FNV-1a hash over %d MiB, %d getppid() calls, %d MiB "
            "written in 1 MiB writes then fsync (container: a file on the host's ext4; VM: its "
            "virtio disk /dev/vdb, a file on that same ext4)."
            % (args.work_cpu_mib, args.work_syscalls, args.work_io_mib))
    return n
