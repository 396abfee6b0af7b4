# SPDX-License-Identifier: MIT
"""Run tests/bench/test_*.py with unittest and print one line per test:
PASS: bench.NAME, FAIL: bench.NAME: why, or SKIP: bench.NAME: why
(the lines tests/run counts). Exit status 1 if any test failed."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def name_of(test):
    # test_units.TestStats.test_ratio -> bench.stats.ratio
    cls = type(test).__name__
    if cls.startswith("Test"):
        cls = cls[4:]
    method = test._testMethodName
    if method.startswith("test_"):
        method = method[5:]
    return "bench.%s.%s" % (cls.lower(), method)


def first_line(text):
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    # the exception line (last) says why; keep it to one line
    return lines[-1] if lines else "failed"


class LineResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.bad = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        print("PASS: %s" % name_of(test), flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.bad += 1
        print("FAIL: %s: %s" % (name_of(test), first_line(self._exc_info_to_string(err, test))),
              flush=True)

    def addError(self, test, err):
        super().addError(test, err)
        self.bad += 1
        print("FAIL: %s: %s" % (name_of(test), first_line(self._exc_info_to_string(err, test))),
              flush=True)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        print("SKIP: %s: %s" % (name_of(test), reason), flush=True)


def main(argv):
    pattern = argv[1] if len(argv) > 1 else "test_*.py"
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    result = LineResult()
    suite.run(result)
    return 1 if result.bad or not result.testsRun else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
