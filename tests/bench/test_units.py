# SPDX-License-Identifier: MIT
"""Unit tests of scripts/bench-boot's statistics, writers and parsers."""

import csv
import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))

from benchlib import emulated, machine, main, proc, report, stats, svg, workloads  # noqa: E402

SVG_NS = "{http://www.w3.org/2000/svg}"


class TestStats(unittest.TestCase):
    def test_percentile_known_inputs(self):
        xs = [1, 2, 3, 4]
        self.assertEqual(stats.percentile(xs, 0), 1)
        self.assertEqual(stats.percentile(xs, 100), 4)
        self.assertAlmostEqual(stats.percentile(xs, 50), 2.5)
        self.assertAlmostEqual(stats.percentile(xs, 25), 1.75)
        self.assertAlmostEqual(stats.percentile(xs, 95), 3.85)

    def test_percentile_linear_interpolation_like_numpy(self):
        # numpy.percentile([15, 20, 35, 40, 50], 40) == 29.0 (default "linear")
        self.assertAlmostEqual(stats.percentile([15, 20, 35, 40, 50], 40), 29.0)
        self.assertAlmostEqual(stats.percentile([50, 15, 40, 20, 35], 40), 29.0)

    def test_percentile_single_and_errors(self):
        self.assertEqual(stats.percentile([7.5], 95), 7.5)
        with self.assertRaises(ValueError):
            stats.percentile([], 50)
        with self.assertRaises(ValueError):
            stats.percentile([1, 2], 101)
        with self.assertRaises(ValueError):
            stats.percentile([1, 2], -1)

    def test_median_odd_even(self):
        self.assertEqual(stats.median([3, 1, 2]), 2)
        self.assertAlmostEqual(stats.median([4, 1, 3, 2]), 2.5)

    def test_summarize_min_median_p95_max(self):
        s = stats.summarize(range(1, 101))
        self.assertEqual(s["n"], 100)
        self.assertEqual(s["min"], 1)
        self.assertEqual(s["max"], 100)
        self.assertAlmostEqual(s["median"], 50.5)
        self.assertAlmostEqual(s["p95"], 95.05)
        self.assertAlmostEqual(s["p99"], 99.01)
        self.assertAlmostEqual(s["mean"], 50.5)

    def test_summarize_skips_none_and_empty(self):
        s = stats.summarize([None, 2.0, None, 4.0])
        self.assertEqual(s["n"], 2)
        self.assertAlmostEqual(s["median"], 3.0)
        self.assertIsNone(stats.summarize([]))
        self.assertIsNone(stats.summarize([None]))

    def test_ratio(self):
        self.assertAlmostEqual(stats.ratio(10, 4), 2.5)
        self.assertIsNone(stats.ratio(None, 4))
        self.assertIsNone(stats.ratio(3, None))
        self.assertIsNone(stats.ratio(3, 0))

    def test_spread(self):
        self.assertAlmostEqual(stats.spread([2, 5, 20]), 10)
        self.assertAlmostEqual(stats.spread([0, 2, 4, None]), 2)
        self.assertIsNone(stats.spread([0, None]))


def sample_doc():
    """A small results document like bench-boot builds."""
    vm = {"id": "vm-tiny", "label": "vmm, tiny guest", "section": "tiny", "base": "vm-tiny",
          "where": "local", "failures": 0, "failure_examples": [], "skipped": None,
          "runs": [{"marker": m, "exit": m + 5, "first_kvm_run": 2.0, "cpu": 3.0,
                    "peak_rss": 2.5} for m in (10.0, 12.0, 11.0, 14.0)]}
    qemu = {"id": "qemu-tiny", "label": "QEMU microvm, tiny guest", "section": "tiny",
            "base": "vm-tiny", "where": "local", "failures": 1,
            "failure_examples": ["run 3: exit status 1"], "skipped": None,
            "runs": [{"marker": m, "exit": m + 3, "first_kvm_run": 30.0, "cpu": 40.0,
                      "peak_rss": 40.0} for m in (60.0, 70.0, 65.0)]}
    crun = {"id": "crun", "label": "crun run (busybox echo)", "section": "tiny", "base": "vm-tiny",
            "where": "local", "failures": 0, "failure_examples": [], "skipped": None,
            "runs": [{"marker": m, "exit": m + 1, "cpu": 5.0, "peak_rss": 3.0}
                     for m in (8.0, 9.0, 10.0)]}
    runc = {"id": "runc", "label": "runc run", "section": "tiny", "base": "vm-tiny",
            "where": "local", "failures": 0, "failure_examples": [],
            "skipped": "missing package(s): runc", "runs": []}
    report.finish_row(vm, vm)
    for r in (qemu, crun, runc):
        report.finish_row(r, vm)
    return {
        "schema": "vmm-bench-boot/2", "generated": "2024-01-01 00:00 UTC",
        "machine": {"line": "Test CPU (2 CPUs), Linux 6.1, KVM: hardware-assisted",
                    "cpu_model": "Test CPU", "cpus": 2, "memory_gib": 4, "kernel": "6.1",
                    "kvm": "hardware-assisted", "kvm_detail": "hardware-assisted (kvm_intel)",
                    "kvm_hardware_assisted": True},
        "settings": {"runs": 4, "linux_runs": 2, "warmup": 1, "concurrency": 2},
        "rows": [vm, qemu, crun, runc],
        "memory": [{"id": "vm-tiny", "label": "vmm, tiny guest", "samples": [],
                    "stats": {k: stats.summarize([v]) for k, v in (
                        ("rss_mib", 3.0), ("guest_rss_mib", 1.5), ("overhead_rss_mib", 1.5),
                        ("overhead_pss_mib", 0.5), ("overhead_private_mib", 0.4))}}],
        "density": [{"id": "vm-tiny", "label": "vmm, tiny guest", "n": 2, "ok": 2,
                     "start_ms": [10.0, 12.0], "stats": stats.summarize([10.0, 12.0]),
                     "total_pss_mib": 4.0, "pss_per_instance_mib": 2.0}],
        "notes": ["a note"],
    }


class TestReport(unittest.TestCase):
    def test_finish_row_stats_and_ratios(self):
        doc = sample_doc()
        vm, qemu = doc["rows"][0], doc["rows"][1]
        self.assertAlmostEqual(vm["stats"]["marker"]["median"], 11.5)
        self.assertAlmostEqual(vm["ratio"]["marker"], 1.0)
        self.assertAlmostEqual(qemu["stats"]["marker"]["median"], 65.0)
        self.assertAlmostEqual(qemu["ratio"]["marker"], 65.0 / 11.5)
        self.assertAlmostEqual(qemu["ratio"]["first_kvm_run"], 15.0)
        self.assertNotIn("boot_timer", qemu["stats"])
        self.assertEqual(doc["rows"][3]["stats"], {})

    def test_csv_writer(self):
        doc = sample_doc()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "boot.csv")
            report.write_csv(doc, path)
            with open(path) as f:
                rows = list(csv.DictReader(f))
            self.assertEqual(os.listdir(d), ["boot.csv"])
        self.assertEqual(list(rows[0].keys()), report.CSV_FIELDS)
        qm = [r for r in rows if r["row"] == "qemu-tiny" and r["metric"] == "marker"]
        self.assertEqual(len(qm), 1)
        self.assertEqual(qm[0]["n"], "3")
        self.assertAlmostEqual(float(qm[0]["median"]), 65.0)
        self.assertAlmostEqual(float(qm[0]["min"]), 60.0)
        self.assertAlmostEqual(float(qm[0]["max"]), 70.0)
        self.assertAlmostEqual(float(qm[0]["ratio_to_vmm"]), 65.0 / 11.5, places=4)
        self.assertEqual(qm[0]["unit"], "ms")
        kinds = {r["kind"] for r in rows}
        self.assertEqual(kinds, {"run", "memory", "density"})
        dens = [r for r in rows if r["kind"] == "density" and r["metric"] == "total_pss"]
        self.assertAlmostEqual(float(dens[0]["median"]), 4.0)

    def test_json_writer_roundtrip(self):
        doc = sample_doc()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "boot.json")
            report.write_json(doc, path)
            with open(path) as f:
                back = json.load(f)
            self.assertEqual(os.listdir(d), ["boot.json"])
        self.assertEqual(back["rows"][1]["stats"]["marker"]["median"], 65.0)
        self.assertEqual(back["schema"], "vmm-bench-boot/2")

    def test_text_table(self):
        doc = sample_doc()
        doc["targets"] = main.targets(doc)
        text = report.format_text(doc)
        self.assertIn("Machine: Test CPU", text)
        self.assertIn("QEMU microvm, tiny guest", text)
        self.assertIn("5.65x", text)  # 65 / 11.5
        self.assertIn("runc run: skipped: missing package(s): runc", text)
        self.assertIn("1 failed run(s)", text)
        self.assertIn("[met] exec -> first guest instruction", text)
        self.assertIn("[MISSED] tiny guest exec -> exit below crun", text)
        self.assertIn("[not measured] Linux guest boot", text)

    def test_targets(self):
        doc = sample_doc()
        vals = main.targets(doc)
        self.assertEqual(len(vals), 7)
        self.assertTrue(vals[0]["met"])             # 30 / 2 = 15x
        self.assertAlmostEqual(vals[0]["value"], 15.0)
        self.assertTrue(vals[1]["met"])             # 1.5 MiB < 2 MiB
        self.assertFalse(vals[2]["met"])            # exit 17 ms vs crun 9 ms
        for v in vals[3:]:                          # no restore, density or Linux rows
            self.assertIsNone(v["met"], v["name"])
        # a restored tiny guest runs after 4 ms, crun's marker comes at 9 ms;
        # 3 restored Linux VMs at 2 MiB PSS each vs 40 MiB cold-booted
        rest = {"id": "vm-tiny-restore", "label": "restored", "section": "tiny",
                "base": "vm-tiny", "where": "local", "failures": 0, "failure_examples": [],
                "skipped": None, "runs": [{"marker": 6.0, "exit": 7.0, "first_kvm_run": 4.0,
                                          "cpu": 1.0, "peak_rss": 2.0}]}
        report.finish_row(rest, doc["rows"][0])
        doc["rows"].append(rest)
        doc["host_density"] = [{"id": "vm-linux-restore", "ok": 3, "pss_per_instance_mib": 2.0},
                               {"id": "vm-bundle", "ok": 3, "pss_per_instance_mib": 40.0}]
        vals = {v["name"]: v for v in main.targets(doc)}
        t = vals["tiny guest exec -> running after restore below crun's exec -> marker"]
        self.assertTrue(t["met"])
        self.assertAlmostEqual(t["value"], 4.0 / 9.0)
        t = vals["restored Linux VMs' PSS each well under (< 1/2) a cold-booted one's"]
        self.assertTrue(t["met"])
        self.assertAlmostEqual(t["value"], 0.05)
        self.assertIsNone(vals["Linux guest exec -> running after restore below crun-bundle's "
                               "exec -> marker"]["met"])


class TestSvg(unittest.TestCase):
    def panel(self, values_by_row, unit="ms"):
        return {"title": "T <&>", "unit": unit,
                "rows": [{"id": rid, "label": rid + " <row>", "values": v}
                         for rid, v in values_by_row.items()]}

    def test_well_formed_and_labelled(self):
        doc = svg.render("Title & more", ["machine <x>"],
                         [self.panel({"vm-tiny": [1, 2, 3], "crun": [4, 5, 6]}),
                          self.panel({"qemu-tiny": []})], warning="not hardware")
        root = ET.fromstring(doc.encode())
        self.assertEqual(root.tag, SVG_NS + "svg")
        texts = [t.text for t in root.iter(SVG_NS + "text")]
        self.assertIn("vm-tiny <row>", texts)
        self.assertIn("T <&>", texts)
        self.assertIn("not hardware", texts)
        self.assertIn("(no data)", texts)
        self.assertTrue(int(root.get("height")) > 100)
        circles = list(root.iter(SVG_NS + "circle"))
        self.assertEqual(len(circles), 6)

    def test_log_scale_when_ranges_differ_10x(self):
        self.assertTrue(svg.use_log_scale([1.0, 10.0]))
        self.assertTrue(svg.use_log_scale([0.5, 3, 200]))
        self.assertFalse(svg.use_log_scale([1.0, 9.9]))
        self.assertFalse(svg.use_log_scale([5, 6, 7]))
        log_doc = svg.render("t", [], [self.panel({"vm-tiny": [1, 2], "qemu-tiny": [30, 40]})])
        lin_doc = svg.render("t", [], [self.panel({"vm-tiny": [10, 12], "qemu-tiny": [30, 40]})])
        self.assertIn("ms (log scale)", [t.text for t in ET.fromstring(log_doc).iter(SVG_NS + "text")])
        self.assertIn("ms (linear scale)",
                      [t.text for t in ET.fromstring(lin_doc).iter(SVG_NS + "text")])

    def test_axis_ticks_cover_the_data(self):
        ax = svg.Axis([0.6, 3.0, 45.0])
        self.assertTrue(ax.log)
        ticks = ax.ticks()
        self.assertLessEqual(ax.lo, 0.6)
        self.assertGreaterEqual(ax.hi, 45.0)
        for t in ticks:
            mant = t / 10 ** __import__("math").floor(__import__("math").log10(t) + 1e-9)
            self.assertIn(round(mant, 6), (1, 2, 5))
        self.assertLess(abs(ax.x(ax.lo) - svg.PLOT_X0), 1e-6)
        self.assertLess(abs(ax.x(ax.hi) - svg.PLOT_X1), 1e-6)
        lin = svg.Axis([3, 7, 18])
        self.assertFalse(lin.log)
        self.assertEqual(lin.lo, 0)
        self.assertGreaterEqual(lin.hi, 18)
        self.assertEqual(lin.ticks()[0], 0)

    def test_values_map_in_order(self):
        ax = svg.Axis([1, 1000])
        self.assertLess(ax.x(1), ax.x(10))
        self.assertLess(ax.x(10), ax.x(1000))
        # log axis: equal ratios are equal distances
        self.assertAlmostEqual(ax.x(10) - ax.x(1), ax.x(100) - ax.x(10), places=6)


class TestParsers(unittest.TestCase):
    def test_parse_result(self):
        r = proc.parse_result("RESULT t0_ns=123 pid=7 first_byte_ns=-1 marker_ns=5000000 "
                              "exit_ns=6000000 status=0 signal=0 timeout=0 utime_us=10 "
                              "stime_us=20 maxrss_kib=2048 out_bytes=9")
        self.assertEqual(r["pid"], 7)
        self.assertEqual(r["first_byte_ns"], -1)
        fig = workloads.figures(r, t0_trace_ns=123 + 2500000,
                                metrics={"boot_timeline": {"boot_timer_us": 4000,
                                                           "first_kvm_run_us": 1500}})
        self.assertIsNone(fig["first_byte"])
        self.assertAlmostEqual(fig["marker"], 5.0)
        self.assertAlmostEqual(fig["exit"], 6.0)
        self.assertAlmostEqual(fig["first_kvm_run"], 2.5)
        self.assertAlmostEqual(fig["boot_timer"], 4.0)
        self.assertAlmostEqual(fig["main_first_kvm_run"], 1.5)
        self.assertAlmostEqual(fig["cpu"], 0.03)
        self.assertAlmostEqual(fig["peak_rss"], 2.0)
        with self.assertRaises(ValueError):
            proc.parse_result("MARKER 1 2")

    def test_check_reports_why(self):
        ok = {"status": 0, "signal": 0, "timeout": 0, "marker_ns": 5}
        workloads.check(ok, "m", "row")
        for bad, why in (({"timeout": 1}, "timed out"), ({"signal": 9}, "signal 9"),
                         ({"status": 1}, "exit status 1"), ({"marker_ns": -1}, "no 'm'")):
            res = dict(ok, **bad)
            with self.assertRaises(workloads.RunFailed) as cm:
                workloads.check(res, "m", "row")
            self.assertIn(why, str(cm.exception))

    def test_trace_line(self):
        line = ("           vcpu0-8712    (   8710) [001] .....  2477.491175: "
                "sys_ioctl(fd: 9, cmd: 0xae80, arg: 0)")
        m = proc._TRACE_LINE.search(line)
        self.assertEqual(m.group(1), "8710")
        self.assertEqual(m.group(2), "2477.491175")

    def test_resolve_only(self):
        self.assertEqual(workloads.resolve_only(""), workloads.ROW_ORDER)
        self.assertEqual(workloads.resolve_only("fork-exec,vm-tiny"), ["vm-tiny", "fork-exec"])
        self.assertEqual(workloads.resolve_only("vm,crun"),
                         ["vm-tiny", "vm-tiny-pit", "vm-tiny-restore", "crun", "vm-linux",
                          "vm-linux-bzimage", "vm-linux-pit", "vm-linux-restore", "vm-bundle"])
        self.assertEqual(workloads.resolve_only("pit"), ["vm-tiny-pit", "vm-linux-pit"])
        self.assertEqual(workloads.resolve_only("restore"),
                         ["vm-tiny-restore", "vm-linux-restore"])
        self.assertEqual(workloads.resolve_only("containers"),
                         ["crun", "runc", "unshare", "fork-exec", "crun-bundle", "runc-bundle"])
        self.assertEqual(workloads.resolve_only("bundle"),
                         ["vm-bundle", "crun-bundle", "runc-bundle"])
        with self.assertRaises(ValueError):
            workloads.resolve_only("vm,docker")

    def test_kvm_kind(self):
        hw, short, _ = machine.kvm_kind({"kvm", "kvm_pvm"}, {"hypervisor"})
        self.assertFalse(hw)
        self.assertEqual(short, "nested/emulated")
        hw, short, _ = machine.kvm_kind({"kvm", "kvm_intel"}, {"vmx"})
        self.assertTrue(hw)
        self.assertEqual(short, "hardware-assisted")
        hw, short, _ = machine.kvm_kind({"kvm", "kvm_amd"}, {"svm", "hypervisor"})
        self.assertTrue(hw)
        self.assertIn("nested", short)
        self.assertFalse(machine.kvm_kind({"kvm_amd"}, set(), dev_kvm=False)[0])

    def test_cpu_info(self):
        model, n, flags = machine.cpu_info(
            "processor\t: 0\nmodel name\t: Foo CPU @ 3GHz\nflags\t\t: fpu vmx\n\n"
            "processor\t: 1\nmodel name\t: Foo CPU @ 3GHz\nflags\t\t: fpu vmx\n")
        self.assertEqual((model, n), ("Foo CPU @ 3GHz", 2))
        self.assertIn("vmx", flags)

    def test_guest_ram_mapping(self):
        maps = [
            {"start": 0, "size": 8 << 20, "path": "", "inode": 0, "Rss": 100},
            {"start": 1, "size": 64 << 20, "path": "", "inode": 0, "Rss": 300},
            {"start": 2, "size": 128 << 20, "path": "/usr/lib/big.so", "inode": 5, "Rss": 9},
            {"start": 3, "size": 66 << 20, "path": "[heap]", "inode": 0, "Rss": 7},
        ]
        self.assertIs(proc.guest_ram_mapping(maps, 64 << 20), maps[1])
        self.assertIsNone(proc.guest_ram_mapping(maps[:1], 64 << 20))

    def test_host_console_parsing(self):
        host = emulated.HostRun()
        lines = [
            "\x1b[2JBENCH-HOST-KVM ok\r",
            "BENCH-HOST-INFO cpu=AMD EPYC Processor",
            "BENCH-START vm-linux 0",
            "BENCH-ROW vm-linux 0 RESULT t0_ns=1000 pid=5 first_byte_ns=1 marker_ns=2000000 "
            "exit_ns=3000000 status=0 signal=0 timeout=0 utime_us=1 stime_us=1 maxrss_kib=1024 "
            "out_bytes=3",
            "BENCH-ROW vm-linux 1 RESULT t0_ns=1000000000 pid=6 first_byte_ns=1 "
            "marker_ns=2500000000 exit_ns=2600000000 status=0 signal=0 timeout=0 utime_us=1 "
            "stime_us=1 maxrss_kib=1024 out_bytes=3\r",
            "BENCH-KVMRUN vm-linux 1 1.250000",
            'BENCH-METRICS vm-linux 1 {"boot_timeline": {"boot_timer_us": 2400000}}',
            "BENCH-ROW qemu-linux 1 RESULT t0_ns=1 pid=7 first_byte_ns=1 marker_ns=-1 "
            "exit_ns=5 status=1 signal=0 timeout=0 utime_us=1 stime_us=1 maxrss_kib=1 "
            "out_bytes=3",
            "BENCH-LOG qemu-linux 1 err: qemu: something broke",
            "BENCH-DONE",
        ]
        keys = [host.feed(line) for line in lines]
        self.assertEqual([k for k in keys if k],
                         [("vm-linux", 0), ("vm-linux", 1), ("qemu-linux", 1)])
        self.assertEqual(host.kvm, "ok")
        self.assertEqual(host.info["cpu"], "AMD EPYC Processor")
        self.assertTrue(host.done)
        labels = {r: r for r in workloads.ROW_ORDER}
        good, bad = host.runs("vm-linux", labels)
        self.assertEqual(len(good), 1)  # run 0 is the warm-up
        self.assertAlmostEqual(good[0]["marker"], 2500.0)
        self.assertAlmostEqual(good[0]["first_kvm_run"], 250.0)
        self.assertAlmostEqual(good[0]["boot_timer"], 2400.0)
        good, bad = host.runs("qemu-linux", labels)
        self.assertEqual(good, [])
        self.assertIn("exit status 1", bad[0])
        self.assertIn("something broke", bad[0])

    def test_host_init_is_valid_sh(self):
        text = emulated.host_init(["vm-linux", "qemu-linux"], 3, 1,
                                  "console=ttyS0 reboot=t quiet", "256M", 60)
        res = subprocess.run(["sh", "-n"], input=text.encode(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        self.assertEqual(res.returncode, 0, res.stdout.decode())
        self.assertIn("i=0", text)
        self.assertIn("for row in vm-linux qemu-linux", text)
        with self.assertRaises(ValueError):
            emulated.host_init(["vm-linux"], 1, 0, 'a"b', "256M", 60)
        # no snapshot is made unless a restore row asks for it
        self.assertNotIn("\nlinux_snapshot\n", text)

    def test_host_init_restore_row(self):
        text = emulated.host_init(["vm-linux", "vm-linux-restore", "vm-bundle"], 2, 1,
                                  "console=ttyS0 reboot=t quiet", "256M", 60,
                                  density={"kinds": ["vm-bundle", "vm-linux-restore"],
                                           "max": 3, "timeout": 60})
        res = subprocess.run(["sh", "-n"], input=text.encode(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        self.assertEqual(res.returncode, 0, res.stdout.decode())
        # the snapshot before the first run; the row restores it with
        # the shell's line on stdin, the density instances each with its own
        self.assertLess(text.index("\nlinux_snapshot\n"), text.index("run_row $row $i"))
        self.assertIn("--restore /tmp/lr.snap --mem-file /tmp/lr.mem --console stdio "
                      "--metrics-path /tmp/m.json </tmp/lr.pipe", text)
        self.assertIn("[ $row = vm-linux-restore ] && feed /tmp/lr.in /tmp/lr.pipe", text)
        self.assertIn("printf '%s\\n' 'echo LINUX-RESTORED-$((6*7)); exit' >/tmp/lr.in", text)
        self.assertIn("printf '%s\\n' 'echo LINUX-RESTORED-$((6*7))' >/tmp/lr.din", text)
        self.assertIn("in=/tmp/d.$started.in mk=LINUX-RESTORED-42", text)
        self.assertIn("feed /tmp/lr.din $in", text)
        self.assertIn('-p "$CMDLINE vmm.shell"', text)
        text = emulated.host_init(["vm-linux-pit"], 1, 0, "console=ttyS0", "256M", 60)
        self.assertIn("vm-linux-pit) cmd='/vmm run -k /guest/vmlinux -i /guest/initrd.gz -p "
                      "\"$CMDLINE\" -m 256M -c 1 --console stdio --metrics-path /tmp/m.json "
                      "--pit'", text)
        self.assertEqual(workloads.marker_of("vm-linux-restore"), "LINUX-RESTORED-42")
        self.assertEqual(workloads.marker_of("crun-bundle"), "marker")
        self.assertEqual(workloads.marker_of("vm-linux"), "VMM-GUEST-INIT-OK")


if __name__ == "__main__":
    unittest.main()
