# SPDX-License-Identifier: MIT
"""Run tests/bench/test_*.py with unittest and print one line per test:
PASS: bench.NAME, FAIL: bench.NAME: why, or SKIP: bench.NAME: why
(the lines tests/run counts). Exit status 1 if any test failed."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def short(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


def name_of(test):
    """test_units.TestStats.test_ratio -> bench.stats.ratio. A failure in
    setUpClass/setUpModule reaches the result as a placeholder named
    "setUpClass (test_smoke.TestSmoke)": bench.smoke.setUpClass."""
    if isinstance(test, unittest.TestCase):
        cls = short(type(test).__name__, "Test").lower()
        return "bench.%s.%s" % (cls, short(test._testMethodName, "test_"))
    hook, _, where = str(test).partition(" (")
    where = where.rstrip(")").split(".")[-1]
    return "bench.%s.%s" % (short(short(where, "Test"), "test_").lower(), hook)


def tests_behind(holder):
    """The test methods a class- or module-level placeholder stands for
    (empty when it cannot tell): a skipped setUpClass skips all of them."""
    hook, _, where = str(holder).partition(" (")
    where = where.rstrip(")")
    module, _, cls = where.rpartition(".") if hook.endswith("Class") else (where, "", "")
    mod = sys.modules.get(module)
    if mod is None:
        return []
    loader = unittest.defaultTestLoader
    if cls:
        klass = getattr(mod, cls, None)
        return [klass(n) for n in loader.getTestCaseNames(klass)] if klass else []
    return list(flatten(loader.loadTestsFromModule(mod)))


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


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
        # One line per test a skipped setUpClass/setUpModule stood for, so
        # that the counts are those of a machine where they run.
        each = [test] if isinstance(test, unittest.TestCase) else tests_behind(test)
        for t in each or [test]:
            print("SKIP: %s: %s" % (name_of(t), reason), flush=True)


def main(argv):
    pattern = argv[1] if len(argv) > 1 else "test_*.py"
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    result = LineResult()
    suite.run(result)
    return 1 if result.bad or not result.testsRun else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
