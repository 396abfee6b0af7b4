# SPDX-License-Identifier: MIT
"""Smoke run of scripts/bench-boot: two runs of the tiny guest, crun (when
installed, as root) and fork+exec, density 2, and the three output files checked for sane content.
Keeps the script from rotting; takes a few seconds."""

import csv
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SVG_NS = "{http://www.w3.org/2000/svg}"
LIMIT = 60  # seconds: the smoke run must stay well under a minute


def why_not():
    if not os.path.exists("/bin/busybox"):
        return "busybox-static is not installed"
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        return "no C compiler for the bench-run helper"
    return None


class TestSmoke(unittest.TestCase):
    out = None
    proc = None
    elapsed = None

    @classmethod
    def setUpClass(cls):
        reason = why_not()
        if reason:
            raise unittest.SkipTest(reason)
        cls.tmp = tempfile.mkdtemp(prefix="bench-smoke.")
        cls.out = os.path.join(cls.tmp, "out")
        cmd = [os.path.join(REPO, "scripts/bench-boot"), "--runs", "2", "--only",
               "vm-tiny,crun,fork-exec", "--concurrency", "2", "--out", cls.out, "--no-install"]
        start = time.monotonic()
        cls.proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=3 * LIMIT, cwd=REPO)
        cls.elapsed = time.monotonic() - start
        cls.stdout = cls.proc.stdout.decode(errors="replace")
        cls.stderr = cls.proc.stderr.decode(errors="replace")
        try:
            with open(os.path.join(cls.out, "boot.json")) as f:
                cls.doc = json.load(f)
        except (OSError, ValueError):
            cls.doc = None

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "tmp", None):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def vm_expected(self):
        return os.path.exists("/dev/kvm") and os.geteuid() == 0

    def test_exit_status_and_time(self):
        self.assertEqual(self.proc.returncode, 0, self.stderr[-500:])
        self.assertLess(self.elapsed, LIMIT, "smoke run took %.0f s" % self.elapsed)

    def test_files_written(self):
        for name in ("boot.json", "boot.csv", "boot.svg"):
            path = os.path.join(self.out, name)
            self.assertTrue(os.path.exists(path), name)
            self.assertGreater(os.path.getsize(path), 100, name)

    def test_json_rows(self):
        doc = self.doc
        self.assertIsNotNone(doc, "boot.json missing or not JSON")
        self.assertEqual([r["id"] for r in doc["rows"]], ["vm-tiny", "crun", "fork-exec"])
        self.assertIn("kvm", doc["machine"])
        self.assertTrue(doc["machine"]["cpu_model"])
        crun = doc["rows"][1]
        if shutil.which("crun") and os.geteuid() == 0:
            self.assertIsNone(crun["skipped"])
            self.assertEqual(len(crun["runs"]), 2, crun["failure_examples"])
        else:
            self.assertTrue(crun["skipped"])
        fe = doc["rows"][2]
        self.assertIsNone(fe["skipped"])
        self.assertEqual(len(fe["runs"]), 2, fe.get("failure_examples"))
        for run in fe["runs"]:
            self.assertGreater(run["marker"], 0)
            self.assertGreaterEqual(run["exit"] + 1e-9, run["marker"])
            self.assertLess(run["exit"], 5000)
        st = fe["stats"]["marker"]
        self.assertLessEqual(st["min"], st["median"])
        self.assertLessEqual(st["median"], st["p95"])
        self.assertLessEqual(st["p95"], st["max"])
        self.assertEqual(len(doc["targets"]), 7)

    def test_json_vm_row(self):
        vm = self.doc["rows"][0]
        if not self.vm_expected():
            self.assertTrue(vm["skipped"])
            return
        self.assertIsNone(vm["skipped"])
        self.assertEqual(len(vm["runs"]), 2, vm.get("failure_examples"))
        for run in vm["runs"]:
            self.assertGreater(run["exit"], run["marker"])
            self.assertGreater(run["peak_rss"], 0.5)
            self.assertGreater(run["boot_timer"], 0)
        self.assertAlmostEqual(vm["ratio"]["marker"], 1.0)
        fe = self.doc["rows"][1]
        self.assertIn("marker", fe["ratio"])
        mem = {m["id"]: m for m in self.doc["memory"]}
        self.assertIn("vm-tiny", mem)
        self.assertGreater(mem["vm-tiny"]["stats"]["overhead_rss_mib"]["median"], 0.1)

    def test_density(self):
        dens = {d["id"]: d for d in self.doc["density"]}
        self.assertEqual(dens["fork-exec"]["n"], 2)
        self.assertEqual(dens["fork-exec"]["ok"], 2)
        self.assertGreater(dens["fork-exec"]["total_pss_mib"], 0)
        if self.vm_expected():
            self.assertEqual(dens["vm-tiny"]["ok"], 2, dens["vm-tiny"].get("failures"))
            # measured at all, and no more than the two guests' RAM (64 MiB
            # each) plus a VMM's worth each: a tiny VM may well be leaner
            # than two waiting busybox processes
            pss = dens["vm-tiny"]["total_pss_mib"]
            self.assertGreater(pss, 0.1)
            self.assertLess(pss, 2 * (64 + 16))

    def test_csv(self):
        with open(os.path.join(self.out, "boot.csv")) as f:
            rows = list(csv.DictReader(f))
        fe = [r for r in rows if r["row"] == "fork-exec" and r["kind"] == "run"
              and r["metric"] == "marker"]
        self.assertEqual(len(fe), 1)
        self.assertEqual(fe[0]["n"], "2")
        self.assertGreater(float(fe[0]["median"]), 0)

    def test_svg(self):
        root = ET.parse(os.path.join(self.out, "boot.svg")).getroot()
        self.assertEqual(root.tag, SVG_NS + "svg")
        texts = " ".join(t.text or "" for t in root.iter(SVG_NS + "text"))
        self.assertIn("fork+exec busybox echo (floor)", texts)
        self.assertIn("KVM", texts)
        self.assertGreaterEqual(len(list(root.iter(SVG_NS + "circle"))), 4)

    def test_table(self):
        self.assertIn("Machine: ", self.stdout)
        self.assertIn("fork+exec busybox echo (floor)", self.stdout)
        self.assertIn("== Targets for vmm", self.stdout)
        self.assertIn("== Density", self.stdout)


if __name__ == "__main__":
    unittest.main()
