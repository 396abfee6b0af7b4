# SPDX-License-Identifier: MIT
"""Progress on stderr: a bar on a terminal, plain lines otherwise."""

import shutil
import sys
import time


class Progress:
    def __init__(self, total, stream=None, enabled=True, prefix="bench-boot"):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.total = max(int(total), 1)
        self.done = 0
        self.prefix = prefix
        self.start = time.monotonic()
        self.what = ""
        self.last_plain_pct = -1
        self.last_phase = None
        self.bar_shown = False

    def add_total(self, n):
        self.total += n

    def _clear(self):
        if self.tty and self.bar_shown:
            self.stream.write("\r\x1b[K")
            self.bar_shown = False

    def note(self, msg):
        """A message line that stays (the bar is redrawn under it)."""
        if not self.enabled:
            return
        self._clear()
        self.stream.write("%s: %s\n" % (self.prefix, msg))
        self.stream.flush()
        if self.tty:
            self._draw()

    def step(self, what=None, phase=None, n=1):
        self.done = min(self.done + n, self.total)
        if what is not None:
            self.what = what
        if not self.enabled:
            return
        if self.tty:
            self._draw()
            return
        pct = int(100 * self.done / self.total)
        if phase != self.last_phase or pct // 10 != self.last_plain_pct // 10 \
                or self.done == self.total:
            self.last_phase = phase
            self.last_plain_pct = pct
            self.stream.write("%s: [%d/%d %3d%%] %s\n" % (self.prefix, self.done, self.total,
                                                         pct, self.what))
            self.stream.flush()

    def _draw(self):
        cols = shutil.get_terminal_size((80, 24)).columns
        frac = self.done / self.total
        elapsed = time.monotonic() - self.start
        eta = ""
        if 0 < self.done < self.total and elapsed > 1:
            eta = " ETA %ds" % int(elapsed / self.done * (self.total - self.done))
        head = "%d/%d%s " % (self.done, self.total, eta)
        bar_w = max(10, min(40, cols - len(head) - 30))
        fill = int(bar_w * frac)
        bar = "[" + "#" * fill + "." * (bar_w - fill) + "] "
        line = bar + head + self.what
        self.stream.write("\r\x1b[K" + line[:cols - 1])
        self.stream.flush()
        self.bar_shown = True

    def finish(self):
        if self.tty and self.bar_shown:
            self._clear()
            self.stream.flush()
