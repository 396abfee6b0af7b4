# SPDX-License-Identifier: MIT
"""The results document and its three renderings: text table, CSV, JSON."""

import csv
import io
import json
import os

from . import stats

# Every per-run figure: (key, short label, unit, what it is).
METRICS = [
    ("marker", "exec -> marker", "ms",
     "from bench-run's clock just before fork() to the workload's marker line on its "
     "console/stdout (tiny guest: 'TESTGUEST PASS hello', Linux: 'VMM-GUEST-INIT-OK', "
     "containers: 'marker'), read through a pipe"),
    ("exit", "exec -> exit", "ms",
     "from before fork() to the process's exit (SIGCHLD): the whole lifecycle"),
    ("first_kvm_run", "exec -> first KVM_RUN", "ms",
     "from before fork() to the VMM's first ioctl(KVM_RUN), timestamped by the kernel "
     "(ftrace, CLOCK_MONOTONIC): when the first guest instruction can run (QEMU's "
     "first guest code is its qboot firmware)"),
    ("first_byte", "exec -> first output byte", "ms",
     "from before fork() to the first byte on the console/stdout pipe"),
    ("boot_timer", "vmm main() -> boot timer", "ms",
     "vmm's own figure (metrics boot_timeline.boot_timer_us): from vmm's main(), not "
     "from exec, to the guest's boot-timer write"),
    ("main_first_kvm_run", "vmm main() -> first KVM_RUN", "ms",
     "vmm's own figure (metrics first_kvm_run_us), from main()"),
    ("cpu", "CPU time (user+sys)", "ms",
     "rusage of the process and its reaped children (wait4)"),
    ("peak_rss", "peak RSS", "MiB",
     "ru_maxrss from wait4, guest memory the process touched included"),
]
METRIC_INFO = {k: {"label": l, "unit": u, "description": d} for k, l, u, d in METRICS}
METRIC_ORDER = [m[0] for m in METRICS]


def finish_row(row, base_row=None):
    """Fill row["stats"] and row["ratio"] (median / the base row's median)."""
    row["stats"] = {}
    for key in METRIC_ORDER:
        s = stats.summarize(r.get(key) for r in row.get("runs", []))
        if s:
            row["stats"][key] = s
    row["ratio"] = {}
    if base_row is not None:
        for key, s in row["stats"].items():
            b = base_row.get("stats", {}).get(key)
            r = stats.ratio(s["median"], b["median"] if b else None)
            if r is not None:
                row["ratio"][key] = r


def _fmt(v, unit=None):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1000:
        return "%.0f" % v
    if a >= 100:
        return "%.1f" % v
    if a >= 10:
        return "%.2f" % v
    return "%.3f" % v if a < 1 else "%.2f" % v


def _fmt_ratio(r):
    if r is None:
        return "-"
    if r >= 100:
        return "%.0fx" % r
    if r >= 10:
        return "%.1fx" % r
    return "%.2fx" % r


def _table(header, rows, aligns):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    out = []
    for line in [header] + rows:
        cells = []
        for i, cell in enumerate(line):
            cell = str(cell)
            cells.append(cell.ljust(widths[i]) if aligns[i] == "l" else cell.rjust(widths[i]))
        out.append("  ".join(cells).rstrip())
    out.insert(1, "  ".join("-" * w for w in widths))
    return out


def format_text(doc):
    """The human-readable report (what bench-boot prints)."""
    out = []
    m = doc["machine"]
    out.append("Machine: %s" % m["line"])
    if not m.get("kvm_hardware_assisted"):
        out.append("         local VM figures are NOT hardware-virtualization figures "
                   "(KVM here: %s)" % m["kvm"])
    if m.get("tools"):
        out.append("Versions: " + "; ".join("%s" % v for k, v in sorted(m["tools"].items())))
    if m.get("loadavg_at_start"):
        out.append("Load average at start: %s (other work on the machine skews absolute times)"
                   % " ".join(m["loadavg_at_start"]))
    s = doc["settings"]
    parts = ["Runs: %d per row (+%d warm-up discarded)" % (s["runs"], s["warmup"])]
    if any(r["section"] == "linux" for r in doc["rows"]):
        parts.append("Linux rows %d" % s["linux_runs"])
    if doc.get("density"):
        parts.append("density %d at once" % s["concurrency"])
    out.append("%s; %s" % (", ".join(parts), doc["generated"]))
    if doc.get("claims"):
        out.append("")
        out.append("== Claims, measured here (verdict: what this run shows)")
        out.append("")
        body = [[c["claim"], c["verdict"], c["measured"] + ((" -- " + c["why"]) if c.get("why")
                                                              else ""), c["rows"]]
                for c in doc["claims"]]
        out.extend("  " + x for x in _table(["claim", "verdict", "measured", "rows"], body,
                                             "llll"))
    sections = [
        ("tiny", "Freestanding test guest (the lower bound of a VM start) and containers "
                 "running busybox echo, on this machine"),
        ("linux", None),
    ]
    for sec, title in sections:
        rows = [r for r in doc["rows"] if r["section"] == sec]
        if not rows:
            continue
        if title is None:
            where = rows[0].get("where", "")
            title = ("Linux + init, the same OCI bundle in a microVM and in containers "
                     "(%s, all rows in that one host)" % where)
        out.append("")
        out.append("== %s" % title)
        eh = m.get("emulated_host")
        if sec == "linux" and eh:
            out.append("   emulated host: %s (%s vCPU, QEMU TCG), Linux %s, kvm-amd: %s" % (
                eh.get("cpu", "?"), eh.get("cpus", "?"), eh.get("kernel", "?"), eh.get("kvm", "?")))
        for key in METRIC_ORDER:
            have = [r for r in rows if key in r.get("stats", {})]
            if not have:
                continue
            info = METRIC_INFO[key]
            out.append("")
            header = ["%s [%s]" % (info["label"], info["unit"]), "n", "min", "median",
                      "p95", "max", "x vmm"]
            body = []
            for r in have:
                st = r["stats"][key]
                body.append([r["label"], st["n"], _fmt(st["min"]), _fmt(st["median"]),
                             _fmt(st["p95"]), _fmt(st["max"]), _fmt_ratio(r["ratio"].get(key))])
            out.extend("  " + x for x in _table(header, body, "lrrrrrr"))
        skipped = [r for r in rows if r.get("skipped")]
        for r in skipped:
            out.append("  (%s: skipped: %s)" % (r["label"], r["skipped"]))
        failed = [r for r in rows if r.get("failures")]
        for r in failed:
            out.append("  (%s: %d failed run(s), left out: %s)" % (
                r["label"], r["failures"], "; ".join(r.get("failure_examples", [])[:2])))

    if doc.get("memory"):
        out.append("")
        out.append("== VMM memory while the tiny guest idles (test=counter), /proc/PID/smaps")
        out.append("")
        header = ["[MiB]", "n", "RSS", "guest RAM RSS", "overhead RSS", "overhead PSS",
                  "overhead private"]
        body = []
        for mrow in doc["memory"]:
            st = mrow.get("stats", {})

            def med(k):
                return _fmt(st[k]["median"]) if k in st else "-"
            body.append([mrow["label"], st.get("rss_mib", {}).get("n", 0), med("rss_mib"),
                         med("guest_rss_mib"), med("overhead_rss_mib"), med("overhead_pss_mib"),
                         med("overhead_private_mib")])
        out.extend("  " + x for x in _table(header, body, "lrrrrrr"))
        out.append("  (medians; overhead = everything outside the guest-RAM mapping)")

    if doc.get("density"):
        out.append("")
        out.append("== Density on this machine: %d instances of each at once"
                   % doc["settings"]["concurrency"])
        out.append("")
        header = ["exec -> marker [ms]", "ok", "p50", "p99", "max", "total PSS MiB",
                  "PSS/instance MiB"]
        body = []
        for d in doc["density"]:
            if d.get("skipped"):
                body.append([d["label"], "-", "-", "-", "-", "-", "skipped: " + d["skipped"]])
                continue
            st = d.get("stats") or {}
            body.append([d["label"], "%d/%d" % (d["ok"], d["n"]),
                         _fmt(st.get("median")), _fmt(st.get("p99")), _fmt(st.get("max")),
                         _fmt(d.get("total_pss_mib")), _fmt(d.get("pss_per_instance_mib"))])
        out.extend("  " + x for x in _table(header, body, "lrrrrrr"))

    out.extend(_claims_sections(doc))
    if doc.get("targets"):
        out.append("")
        out.append("== Targets for vmm")
        for t in doc["targets"]:
            verdict = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
            out.append("  [%s] %s: %s" % (verdict, t["name"], t["measured"]))
    if doc.get("notes"):
        out.append("")
        out.append("Notes:")
        for n in doc["notes"]:
            out.append("  - " + n)
    return "\n".join(out) + "\n"


def _mib(b):
    return "-" if b is None else "%.2f" % (b / 2.0**20)


def _claims_sections(doc):
    """Host density, steady state, image sizes, isolation (text)."""
    out = []
    hd = doc.get("host_density")
    if hd:
        out.append("")
        out.append("== Density in the emulated host: Linux microVMs vs containers at once, "
                   "the same bundle")
        out.append("")
        body = []
        for d in hd:
            st = d.get("stats") or {}
            body.append([d["label"], "%d/%d" % (d["ok"], d["n"]), _fmt(st.get("median")),
                         _fmt(st.get("p99")), _fmt(d.get("pss_per_instance_mib")),
                         _fmt(d.get("per_gib"))])
        out.extend("  " + x for x in _table(
            ["exec -> marker [ms]", "up", "p50", "p99", "PSS/instance MiB", "per GiB"],
            body, "lrrrrr"))
    ss = doc.get("steady_state")
    if ss:
        out.append("")
        out.append("== Steady state in the emulated host: the same workload in crun and in "
                   "vmm --bundle (ms inside the workload)")
        out.append("")
        body = []
        for s in ss:
            c, v = s.get("container") or {}, s.get("vm") or {}
            body.append([s["mode"], c.get("n", 0), _fmt(c.get("median")), _fmt(v.get("median")),
                         _fmt_ratio(s.get("ratio"))])
        out.extend("  " + x for x in _table(["workload", "n", "container", "VM", "VM/container"],
                                             body, "lrrrr"))
    im = doc.get("images")
    if im and im.get("rows"):
        out.append("")
        out.append("== Image size: what each side needs on disk (MiB; gzip -6 in brackets)")
        out.append("   VM: kernel %s (%s) + vmm's init %s (%s) + the rootfs's EROFS image" % (
            _mib(im["kernel_bytes"]), _mib(im["kernel_gz_bytes"]), _mib(im.get("init_bytes")),
            _mib(im.get("init_gz_bytes"))))
        out.append("")
        body = []
        for r in im["rows"]:
            if "error" in r:
                body.append([r["label"], "error: " + r["error"], "", "", ""])
                continue
            body.append([r["label"], _mib(r["rootfs_bytes"]),
                         "%s (%s)" % (_mib(r["layer_tar_bytes"]), _mib(r["layer_tgz_bytes"])),
                         "%s (%s)" % (_mib(r["erofs_bytes"]), _mib(r["erofs_gz_bytes"])),
                         "%s (%s)" % (_mib(r["vm_bytes"]), _mib(r["vm_gz_bytes"])),
                         _fmt_ratio(r.get("ratio"))])
        out.extend("  " + x for x in _table(
            ["rootfs", "files", "container: OCI layer", "EROFS image", "VM total", "VM/layer"],
            body, "lrrrrr"))
    iso = doc.get("isolation")
    if iso and not iso.get("error"):
        out.append("")
        out.append("== Isolation: host system calls reachable from the workload")
        out.append("  container, no seccomp (runc spec's config.json): %s of the %s x86-64 "
                   "calls" % (iso.get("container_no_profile"), iso.get("syscalls_total")))
        if "container_default_profile" in iso:
            out.append("  container, the containers' default profile (%s, caps %s): %d" % (
                iso["profile"], ",".join(c.replace("CAP_", "") for c in iso["spec_caps"]),
                iso["container_default_profile"]))
        if "vmm_distinct" in iso:
            out.append("  VM: none directly (the workload's calls reach the guest kernel); "
                       "through vmm, which the guest reaches by %d KVM exit reasons: %d "
                       "distinct (main thread %d, vCPU %d, disk %d; vmm -v)" % (
                           len(iso.get("kvm_exits_handled", [])), iso["vmm_distinct"],
                           iso["vmm_main"], iso["vmm_vcpu"], iso["vmm_disk"]))
    return out


CSV_FIELDS = ["kind", "row", "label", "where", "metric", "unit", "n", "min", "median",
              "p95", "p99", "max", "mean", "ratio_to_vmm"]


def csv_rows(doc):
    """The CSV as a list of dicts (one line per row and figure)."""
    out = []
    for r in doc["rows"]:
        for key in METRIC_ORDER:
            st = r.get("stats", {}).get(key)
            if not st:
                continue
            out.append({
                "kind": "run", "row": r["id"], "label": r["label"], "where": r.get("where", ""),
                "metric": key, "unit": METRIC_INFO[key]["unit"], "n": st["n"],
                "min": st["min"], "median": st["median"], "p95": st["p95"], "p99": st["p99"],
                "max": st["max"], "mean": st["mean"], "ratio_to_vmm": r["ratio"].get(key),
            })
    for mrow in doc.get("memory", []):
        for key, st in sorted(mrow.get("stats", {}).items()):
            out.append({
                "kind": "memory", "row": mrow["id"], "label": mrow["label"],
                "where": mrow.get("where", ""), "metric": key, "unit": "MiB", "n": st["n"],
                "min": st["min"], "median": st["median"], "p95": st["p95"], "p99": st["p99"],
                "max": st["max"], "mean": st["mean"], "ratio_to_vmm": None,
            })
    for d in doc.get("density", []):
        st = d.get("stats")
        if st:
            out.append({
                "kind": "density", "row": d["id"], "label": d["label"], "where": d.get("where", ""),
                "metric": "marker", "unit": "ms", "n": st["n"], "min": st["min"],
                "median": st["median"], "p95": st["p95"], "p99": st["p99"], "max": st["max"],
                "mean": st["mean"], "ratio_to_vmm": d.get("ratio_marker"),
            })
        if d.get("total_pss_mib") is not None:
            v = d["total_pss_mib"]
            out.append({
                "kind": "density", "row": d["id"], "label": d["label"], "where": d.get("where", ""),
                "metric": "total_pss", "unit": "MiB", "n": d["n"], "min": v, "median": v,
                "p95": v, "p99": v, "max": v, "mean": v, "ratio_to_vmm": d.get("ratio_pss"),
            })
    for d in doc.get("host_density") or []:
        for metric, vals, unit in (("marker", d.get("start_ms"), "ms"),
                                   ("pss_per_instance", d.get("pss_mib"), "MiB")):
            st = stats.summarize(vals or [])
            if st:
                out.append(_stat_line("host-density", d["id"], d["label"], "emulated host",
                                      metric, unit, st, None))
    for s in doc.get("steady_state") or []:
        for side in ("container", "vm"):
            if s.get(side):
                out.append(_stat_line("steady", "%s-%s" % (side, s["mode"]), side, "emulated host",
                                      s["mode"], "ms", s[side],
                                      s.get("ratio") if side == "vm" else None))
    im = doc.get("images") or {}
    for r in im.get("rows", []):
        for key in ("rootfs_bytes", "layer_tar_bytes", "layer_tgz_bytes", "erofs_bytes",
                    "vm_bytes", "vm_gz_bytes"):
            if key in r:
                v = r[key] / 2.0**20
                out.append(_stat_line("image", r["label"], r["label"], "local", key[:-6], "MiB",
                                      {"n": 1, "min": v, "median": v, "p95": v, "p99": v,
                                       "max": v, "mean": v}, None))
    return out


def _stat_line(kind, row, label, where, metric, unit, st, ratio):
    return {"kind": kind, "row": row, "label": label, "where": where, "metric": metric,
            "unit": unit, "n": st["n"], "min": st["min"], "median": st["median"],
            "p95": st["p95"], "p99": st["p99"], "max": st["max"], "mean": st["mean"],
            "ratio_to_vmm": ratio}


def write_csv(doc, path):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for line in csv_rows(doc):
        w.writerow({k: ("" if v is None else (round(v, 6) if isinstance(v, float) else v))
                    for k, v in line.items()})
    _atomic_write(path, buf.getvalue())


def write_json(doc, path):
    _atomic_write(path, json.dumps(doc, indent=1, sort_keys=False) + "\n")


def _atomic_write(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
