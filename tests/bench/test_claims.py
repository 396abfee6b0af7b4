# SPDX-License-Identifier: MIT
"""Unit tests of the claims figures of scripts/bench-boot: the emulated
host's density and steady-state lines, the summaries, the isolation
counts, image sizes, the claims table and its verdicts, and the chart
(rendered to PNG: every panel has data)."""

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import claims, emulated, main, proc, report, stats, svg, workloads  # noqa: E402
from test_units import sample_doc  # noqa: E402

RESULT = ("RESULT t0_ns=1 pid=5 first_byte_ns=10 marker_ns=10 exit_ns=20 status=0 signal=-1 "
          "timeout=0 utime_us=1 stime_us=1 maxrss_kib=100 out_bytes=7")


def host_with_lines():
    h = emulated.HostRun()
    lines = [
        "BENCH-HOST-KVM ok",
        "BENCH-DENSITY-NOTE vm-bundle memory: stopped at 3",
        "BENCH-DENSITY vm-bundle 1 marker_ns=2000000000 pss_kib=40960",
        "BENCH-DENSITY vm-bundle 2 marker_ns=3000000000 pss_kib=30720",
        "BENCH-DENSITY vm-bundle 3 marker_ns=-1 pss_kib=-1",
        "BENCH-DENSITY crun-bundle 1 marker_ns=500000000 pss_kib=1024",
        "BENCH-DENSITY crun-bundle 2 marker_ns=700000000 pss_kib=1024",
        "BENCH-WORK crun cpu 1 WORK cpu ns=1000000000 ops=16 check=3 | " + RESULT,
        "BENCH-WORK vmm cpu 1 WORK cpu ns=1100000000 ops=16 check=3 | " + RESULT,
        "BENCH-WORK crun io 1 WORK io ns=200000000 ops=16 check=0 | " + RESULT,
        "BENCH-WORK vmm io 1 WORK io ns=600000000 ops=16 check=0 | " + RESULT,
        "BENCH-WORK vmm io 0 WORK io ns=9000000000 ops=16 check=0 | " + RESULT,  # warm-up
        "BENCH-WORK vmm syscall 1 none | " + RESULT,                             # failed
        "BENCH-LOG work-vmm-syscall 1 err: vmm: error: something",
    ]
    for line in lines:
        h.feed(line)
    return h


class TestHostLines(unittest.TestCase):
    def test_density_lines(self):
        h = host_with_lines()
        self.assertEqual(len(h.density["vm-bundle"]), 3)
        self.assertAlmostEqual(h.density["vm-bundle"][0]["marker_ms"], 2000.0)
        self.assertAlmostEqual(h.density["vm-bundle"][1]["pss_mib"], 30.0)
        self.assertIsNone(h.density["vm-bundle"][2]["marker_ms"])
        self.assertIn("vm-bundle memory: stopped at 3", h.density_notes)

    def test_work_lines(self):
        h = host_with_lines()
        self.assertEqual(h.work_times("crun", "cpu"), [1000.0])
        self.assertEqual(h.work_times("vmm", "io"), [600.0])  # the warm-up left out
        self.assertEqual(h.work_times("vmm", "syscall"), [])
        self.assertEqual(h.logs, ["work-vmm-syscall 1 err: vmm: error: something"])

    def test_host_density_summary(self):
        d = {x["id"]: x for x in claims.host_density(host_with_lines(), workloads.ROWS)}
        vm, c = d["vm-bundle"], d["crun-bundle"]
        self.assertEqual((vm["n"], vm["ok"]), (3, 2))
        self.assertAlmostEqual(vm["pss_per_instance_mib"], 35.0)
        self.assertAlmostEqual(vm["per_gib"], 1024 / 35.0)
        self.assertAlmostEqual(c["per_gib"], 1024.0)
        self.assertEqual(vm["notes"], ["vm-bundle memory: stopped at 3"])
        self.assertIsNone(claims.per_gib(None))
        self.assertIsNone(claims.per_gib(0))

    def test_steady_state_ratios(self):
        ss = {s["mode"]: s for s in claims.steady_state(host_with_lines())}
        self.assertAlmostEqual(ss["cpu"]["ratio"], 1.1)
        self.assertAlmostEqual(ss["io"]["ratio"], 3.0)
        self.assertIsNone(ss["syscall"]["ratio"])
        self.assertIsNone(claims.steady_state(emulated.HostRun()))

    def test_host_init_with_density_and_work(self):
        text = emulated.host_init(
            ["vm-linux", "vm-bundle", "crun-bundle"], 2, 1, "console=ttyS0 quiet", "256M", 60,
            density={"kinds": ["vm-bundle", "crun-bundle"], "max": 7, "timeout": 90},
            work={"runs": 2, "cpu_mib": 8, "syscalls": 1000, "io_mib": 4})
        res = subprocess.run(["sh", "-n"], input=text.encode(), stderr=subprocess.PIPE)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertIn("for kind in vm-bundle crun-bundle", text)
        self.assertIn("/bench-work cpu 8", text)
        self.assertIn("--bundle /data/b/echo crun-$i", text)
        with self.assertRaises(ValueError):
            emulated.host_init(["crun"], 1, 0, "x", "256M", 60)

    @unittest.skipUnless(shutil.which("busybox"), "no busybox")
    def test_pss_tree_matches_python(self):
        """The host's awk PSS sum (busybox awk, as in the host) agrees with
        the local one on a process tree of this machine."""
        p = subprocess.Popen(["sh", "-c", "sleep 20 & sleep 20 & wait"])
        try:
            time.sleep(0.3)
            out = subprocess.run(
                "cat /proc/[0-9]*/stat 2>/dev/null | busybox awk -v roots='%d' '%s'"
                % (p.pid, emulated.PSS_TREE_AWK), shell=True, stdout=subprocess.PIPE)
            root, kib = out.stdout.decode().split()
            table = proc.process_table()
            kids = list(proc.descendants(p.pid, table))
            local = sum(proc.pss_kib(k) or 0 for k in kids)
            self.assertEqual(int(root), p.pid)
            self.assertEqual(len(kids), 2)
            self.assertGreater(int(kib), 0)
            self.assertLess(abs(int(kib) - local), max(64, local // 5))
        finally:
            for k in proc.descendants(p.pid, proc.process_table()):
                os.kill(k, 15)
            p.wait()


class TestIsolation(unittest.TestCase):
    PROFILE = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["read", "write", "nosuch_call"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW",
             "includes": {"arches": ["amd64"]}},
            {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW",
             "includes": {"arches": ["ppc64le"]}},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW",
             "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
             "excludes": {"caps": ["CAP_AUDIT_WRITE"]}},
            {"names": ["reboot"], "action": "SCMP_ACT_ERRNO"},
        ]}
    NAMES = {"read", "write", "personality", "arch_prctl", "sync_file_range2", "mount",
             "socket", "reboot", "open"}

    def test_profile_allowed(self):
        got = claims.profile_allowed(self.PROFILE, self.NAMES, ["CAP_KILL"])
        self.assertEqual(got, {"read", "write", "personality", "arch_prctl", "socket"})
        got = claims.profile_allowed(self.PROFILE, self.NAMES,
                                     ["CAP_SYS_ADMIN", "CAP_AUDIT_WRITE"])
        self.assertEqual(got, {"read", "write", "personality", "arch_prctl", "mount"})
        allow_all = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}
        self.assertEqual(claims.profile_allowed(allow_all, self.NAMES, []), self.NAMES)

    def test_syscall_names_from_header(self):
        with tempfile.NamedTemporaryFile("w", suffix=".h") as f:
            f.write("#define __NR_read 0\n#define __NR_write 1\n#define __NR_x32_thing\n"
                    "#ifndef _ASM_UNISTD_64_H\n")
            f.flush()
            self.assertEqual(claims.syscall_names(f.name), {"read", "write"})

    def test_parse_vmm_seccomp(self):
        line = ("vmm: debug: seccomp: built-in filters allow 32 (main), 22 (vCPU), 27 (disk) "
                "system calls, 40 distinct")
        self.assertEqual(claims.parse_vmm_seccomp("x\n" + line + "\ny"), (32, 22, 27, 40))
        self.assertIsNone(claims.parse_vmm_seccomp("no such line"))

    def test_exit_reasons_from_the_run_loop(self):
        got = claims.exit_reasons(REPO)
        self.assertIn("KVM_EXIT_IO", got)
        self.assertIn("KVM_EXIT_MMIO", got)
        self.assertEqual(got, sorted(set(got)))


class TestImages(unittest.TestCase):
    def test_sizes_of_a_tree(self):
        d = tempfile.mkdtemp()
        try:
            os.makedirs(os.path.join(d, "t/bin"))
            with open(os.path.join(d, "t/bin/a"), "wb") as f:
                f.write(b"x" * 10000)
            os.link(os.path.join(d, "t/bin/a"), os.path.join(d, "t/bin/b"))  # once
            os.symlink("a", os.path.join(d, "t/bin/c"))                      # 1 byte
            self.assertEqual(claims.tree_bytes(os.path.join(d, "t")), 10001)
            tar, tgz = claims.layer_size(os.path.join(d, "t"), d)
            self.assertGreater(tar, 10000)
            self.assertLess(tgz, tar / 10)  # ten thousand x's compress
            self.assertLess(claims.gzip_size(os.path.join(d, "t/bin/a")), 200)
        finally:
            shutil.rmtree(d)


def full_doc():
    """sample_doc plus every claims figure."""
    doc = sample_doc()
    bundle_rows = [
        ("vm-bundle", [4000.0, 5000.0, 4500.0]), ("crun-bundle", [700.0, 800.0, 750.0])]
    for rid, vals in bundle_rows:
        r = {"id": rid, "label": workloads.ROWS[rid]["label"], "section": "linux",
             "base": "vm-linux", "where": workloads.EMULATED, "failures": 0,
             "failure_examples": [], "skipped": None,
             "runs": [{"marker": v, "exit": v + 50, "cpu": v / 2, "peak_rss": 30.0}
                      for v in vals]}
        report.finish_row(r, None)
        doc["rows"].append(r)
    h = host_with_lines()
    doc["host_density"] = claims.host_density(h, workloads.ROWS)
    doc["steady_state"] = claims.steady_state(h)
    doc["images"] = {"kernel_bytes": 5 << 20, "kernel_gz_bytes": 5 << 20,
                     "init_bytes": 1 << 20, "init_gz_bytes": 400 << 10,
                     "rows": [{"label": "busybox-static rootfs", "rootfs_bytes": 2 << 20,
                               "layer_tar_bytes": 2 << 20, "layer_tgz_bytes": 1 << 20,
                               "erofs_bytes": 2 << 20, "erofs_gz_bytes": 1 << 20,
                               "vm_bytes": 8 << 20, "vm_gz_bytes": 6 << 20, "ratio": 4.0,
                               "ratio_gz": 6.0}]}
    doc["isolation"] = {"syscalls_total": 362, "container_no_profile": 362,
                        "container_default_profile": 311, "spec_caps": ["CAP_KILL"],
                        "profile": "/p.json", "vmm_main": 32, "vmm_vcpu": 22, "vmm_disk": 27,
                        "vmm_distinct": 40, "kvm_exits_handled": ["KVM_EXIT_IO", "KVM_EXIT_MMIO"]}
    doc["memory"][0]["samples"] = [{"overhead_rss_mib": 1.5}, {"overhead_rss_mib": 1.6}]
    doc["density"][0]["pss_mib"] = [2.0, 2.0]
    doc["claims"] = claims.claims_table(doc)
    return doc


class TestClaims(unittest.TestCase):
    def test_verdicts(self):
        c = {x["claim"]: x for x in full_doc()["claims"]}
        start = c["Containers start in seconds, VMs in minutes"]
        self.assertEqual(start["verdict"], "partly")       # 6x: seconds vs seconds
        self.assertIn("4500 ms", start["measured"])
        self.assertEqual(c["Containers are megabytes, VMs gigabytes"]["verdict"],
                         "does not hold")
        dens = c["More containers than VMs fit on a host"]
        self.assertEqual(dens["verdict"], "holds")
        self.assertIn("35.0 MiB PSS each", dens["measured"])
        over = c["Containers have less overhead"]
        self.assertEqual(over["verdict"], "partly")        # cpu 1.10x: within 10%, io 3x
        self.assertIn("io 3.00x", over["measured"])
        iso = c["VMs isolate better"]
        self.assertEqual(iso["verdict"], "holds")
        self.assertIn("311 host system calls", iso["measured"])

    def test_not_measured(self):
        doc = sample_doc()
        doc["rows"] = []
        for c in claims.claims_table(doc):
            self.assertEqual(c["verdict"], "not measured", c["claim"])
            self.assertEqual(c["measured"], "not measured")

    def test_start_claim_thresholds(self):
        doc = full_doc()
        for r in doc["rows"]:
            if r["id"] == "vm-bundle":
                r["stats"]["marker"]["median"] = 750.0 * 61
        self.assertEqual(claims.claims_table(doc)[0]["verdict"], "holds")
        for r in doc["rows"]:
            if r["id"] == "vm-bundle":
                r["stats"]["marker"]["median"] = 760.0
        self.assertEqual(claims.claims_table(doc)[0]["verdict"], "does not hold")

    def test_text_has_every_section(self):
        text = report.format_text(full_doc())
        for title in ("== Claims, measured here", "== Density in the emulated host",
                      "== Steady state in the emulated host", "== Image size",
                      "== Isolation", "instances of each at once"):
            self.assertIn(title, text)
        self.assertNotIn("back to back", text)
        self.assertLess(text.index("== Claims"), text.index("== Freestanding test guest"))

    def test_csv_has_the_new_figures(self):
        kinds = {line["kind"] for line in report.csv_rows(full_doc())}
        self.assertTrue({"run", "memory", "density", "host-density", "steady", "image"} <= kinds)


def png_rows(path):
    """(width, bytes per pixel, rows) of a PNG as rsvg-convert writes it
    (8-bit RGB or RGBA, not interlaced)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, bpp = 8, b"", 0, 0, 4
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6) and body[12] == 0, "not 8-bit RGB(A)"
            bpp = 4 if color == 6 else 3
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride, rows = width * bpp, []
    prev = bytearray(stride)
    for y in range(height):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, bpp, rows


def colored(px):
    """A saturated pixel: a data mark (dots, boxes, medians), not text or grid."""
    r, g, b = px[0], px[1], px[2]
    return max(r, g, b) - min(r, g, b) > 60


class TestChart(unittest.TestCase):
    def test_every_panel_has_data(self):
        doc = full_doc()
        text = main.chart(doc)
        self.assertNotIn("(no data)", text)
        titles = [t for t in ("CPU time", "VMM memory overhead", "PSS per instance",
                              "Steady state", "Image size", "Isolation",
                              "Linux + init and the same bundle")
                  if t in text]
        self.assertEqual(len(titles), 7, titles)

    @unittest.skipUnless(shutil.which("rsvg-convert"), "no rsvg-convert (librsvg2-bin)")
    def test_png_every_panel_has_marks(self):
        """Render the chart to PNG and check that the plot area of every
        panel holds coloured marks."""
        doc = full_doc()
        text = main.chart(doc)
        d = tempfile.mkdtemp()
        try:
            with open(os.path.join(d, "c.svg"), "w") as f:
                f.write(text)
            res = subprocess.run(["rsvg-convert", "-o", os.path.join(d, "c.png"),
                                  os.path.join(d, "c.svg")], stderr=subprocess.PIPE)
            self.assertEqual(res.returncode, 0, res.stderr.decode())
            width, bpp, rows = png_rows(os.path.join(d, "c.png"))
            # the panels' vertical extents, from the renderer's own layout
            extents = svg.panel_extents(text)
            self.assertGreaterEqual(len(extents), 10)
            for title, y0, y1 in extents:
                marks = 0
                for y in range(int(y0), min(int(y1), len(rows))):
                    line = rows[y]
                    for x in range(svg.PLOT_X0, svg.PLOT_X1):
                        if colored(line[x * bpp:x * bpp + 3]):
                            marks += 1
                self.assertGreater(marks, 10, "panel without data: %s" % title)
        finally:
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main()
