# SPDX-License-Identifier: MIT
"""Smoke run of bench-boot's same-host section: one run each of the Linux
guest, its restore from a snapshot and the bundle rows (vmm --bundle,
crun, runc on one OCI bundle), density 2, one run of each steady-state workload, all in one emulated
x86-64 host (QEMU TCG + SVM), then the figures checked. Takes 3-5
minutes; skipped where the emulated host cannot run (not x86-64, no
QEMU, crun, runc or mkfs.erofs, not root) or with VMM_BENCH_SAMEHOST=0."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def why_not():
    if os.environ.get("VMM_BENCH_SAMEHOST") == "0":
        return "VMM_BENCH_SAMEHOST=0"
    if os.uname().machine != "x86_64":
        return "the emulated host is x86-64"
    if os.geteuid() != 0:
        return "needs root (crun, runc)"
    for tool in ("qemu-system-x86_64", "crun", "runc", "mkfs.erofs", "mkfs.ext4", "cc"):
        if not shutil.which(tool):
            return "%s is not installed" % tool
    if not os.path.exists("/bin/busybox"):
        return "busybox-static is not installed"
    return None


class TestSameHost(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = why_not()
        if reason:
            raise unittest.SkipTest(reason)
        cls.tmp = tempfile.mkdtemp(prefix="bench-samehost.")
        out = os.path.join(cls.tmp, "out")
        cmd = [os.path.join(REPO, "scripts/bench-boot"), "--only", "vm-linux,vm-linux-restore,bundle",
               "--linux-runs", "1", "--warmup", "0", "--host-density", "2", "--work-runs", "1",
               "--work-size", "4,10000,4", "--concurrency", "0", "--out", out, "--no-install"]
        cls.proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=1500, cwd=REPO)
        cls.stdout = cls.proc.stdout.decode(errors="replace")
        try:
            with open(os.path.join(out, "boot.json")) as f:
                cls.doc = json.load(f)
        except (OSError, ValueError):
            cls.doc = None

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "tmp", None):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_exit_status(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr.decode()[-500:])
        self.assertIsNotNone(self.doc)

    def test_bundle_rows_same_host(self):
        rows = {r["id"]: r for r in self.doc["rows"]}
        for rid in ("vm-linux", "vm-linux-restore", "vm-bundle", "crun-bundle", "runc-bundle"):
            r = rows[rid]
            self.assertFalse(r.get("skipped"), "%s skipped: %s" % (rid, r.get("skipped")))
            self.assertEqual(len(r["runs"]), 1, "%s: %s" % (rid, r["failure_examples"]))
            self.assertIn("emulated host", r["where"])
            self.assertGreater(r["stats"]["marker"]["median"], 0)

    def test_density(self):
        d = {x["id"]: x for x in self.doc["host_density"]}
        for kind in ("vm-bundle", "vm-linux-restore", "crun-bundle"):
            self.assertEqual(d[kind]["ok"], 2, kind)
            self.assertGreater(d[kind]["pss_per_instance_mib"], 0.1)
        # a Linux microVM's PSS includes the guest RAM it touched
        self.assertGreater(d["vm-bundle"]["pss_per_instance_mib"],
                           d["crun-bundle"]["pss_per_instance_mib"])

    def test_restore_row(self):
        r = {x["id"]: x for x in self.doc["rows"]}["vm-linux-restore"]
        # the restored guest ran (ftrace saw its first KVM_RUN) before it
        # printed the command's output
        st = r["stats"]
        self.assertLess(st["first_kvm_run"]["median"], st["marker"]["median"])
        names = [t["name"] for t in self.doc["targets"] if t["met"] is not None]
        self.assertIn("Linux guest exec -> running after restore below crun-bundle's "
                      "exec -> marker", names)

    def test_steady_state(self):
        ss = {s["mode"]: s for s in self.doc["steady_state"]}
        for mode in ("cpu", "syscall", "io"):
            self.assertIsNotNone(ss[mode]["ratio"], mode)

    def test_claims_measured(self):
        verdicts = {c["claim"]: c["verdict"] for c in self.doc["claims"]}
        for claim in ("Containers start in seconds, VMs in minutes",
                      "More containers than VMs fit on a host",
                      "Containers have less overhead"):
            self.assertNotEqual(verdicts[claim], "not measured", claim)
        self.assertIn("== Claims, measured here", self.stdout)


if __name__ == "__main__":
    unittest.main()
