# SPDX-License-Identifier: MIT
"""A hand-written SVG chart: per-runtime distributions, one panel per figure.

Each panel puts every runtime on one horizontal axis: a row per runtime
with its runs as dots, a box from p25 to p75, a thick median line, a tick
at p95 and whiskers from min to max. The axis is logarithmic when the
largest value is 10x the smallest or more.
"""

import math
import re
from xml.sax.saxutils import escape

from . import stats

WIDTH = 1120
# row labels, right-aligned at LABEL_W - 10: room for the longest
# ("vmm, freestanding test guest restored from a snapshot", 12 px)
LABEL_W = 420
PLOT_X0 = LABEL_W
PLOT_X1 = WIDTH - 150  # room on the right for the median text
ROW_H = 26
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"

PALETTE = [
    ("vm-", "#1f5fbf"),      # vmm
    ("qemu-", "#e0701a"),    # QEMU
    ("crun", "#2a9d4b"),
    ("runc", "#7b4fb5"),
    ("unshare", "#b5475b"),
    ("fork-exec", "#666666"),
]


def color_for(row_id):
    rid = row_id.split(":")[-1]
    for prefix, color in PALETTE:
        if rid.startswith(prefix):
            return color
    return "#444444"


def use_log_scale(values):
    """Log axis when the positive values span a factor of 10 or more."""
    s = stats.spread(values)
    return s is not None and s >= 10


def _nice_step(span, target=6):
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


class Axis:
    def __init__(self, values, x0=PLOT_X0, x1=PLOT_X1):
        vals = [v for v in values if v is not None]
        self.x0, self.x1 = x0, x1
        self.log = use_log_scale(vals)
        if self.log:
            pos = [v for v in vals if v > 0]
            lo, hi = min(pos), max(pos)
            # bounds on the 1-2-5 sequence just outside the data
            dlo = 10 ** math.floor(math.log10(lo) + 1e-12)
            self.lo = max(m * dlo for m in (1, 2, 5) if m * dlo <= lo * (1 + 1e-12))
            dhi = 10 ** math.floor(math.log10(hi) + 1e-12)
            self.hi = min(m * dhi for m in (1, 2, 5, 10) if m * dhi >= hi * (1 - 1e-12))
            if self.hi <= self.lo:
                self.hi = self.lo * 10
        else:
            hi = max(vals) if vals else 1.0
            if hi <= 0:
                hi = 1.0
            self.step = _nice_step(hi)
            self.lo = 0.0
            self.hi = math.ceil(hi / self.step - 1e-9) * self.step
            if self.hi <= 0:
                self.hi = self.step

    def x(self, v):
        if self.log:
            v = max(v, self.lo / 10)
            f = (math.log10(v) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        else:
            f = (v - self.lo) / (self.hi - self.lo)
        return self.x0 + f * (self.x1 - self.x0)

    def ticks(self):
        if self.log:
            out = []
            k = math.floor(math.log10(self.lo) + 1e-9)
            while 10 ** k <= self.hi * 1.0001:
                for m in (1, 2, 5):
                    v = m * 10 ** k
                    if self.lo * 0.9999 <= v <= self.hi * 1.0001:
                        out.append(v)
                k += 1
            return out
        n = int(round(self.hi / self.step))
        return [i * self.step for i in range(n + 1)]


def fmt_num(v):
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return ("%.1f" % v).rstrip("0").rstrip(".")
    if a >= 1:
        return ("%.2f" % v).rstrip("0").rstrip(".")
    return ("%.3f" % v).rstrip("0").rstrip(".")


def wrap(line, width):
    """Split line at spaces into pieces of at most width characters."""
    out, cur = [], ""
    for word in line.split(" "):
        if cur and len(cur) + 1 + len(word) > width:
            out.append(cur)
            cur = "    " + word
        else:
            cur = (cur + " " + word) if cur else word
    out.append(cur)
    return out


def fmt_value(v):
    """A median for display: three significant digits."""
    a = abs(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3f" % v


def _text(x, y, s, size=12, anchor="start", weight="normal", fill="#222", extra=""):
    return ('<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" font-weight="%s" '
            'fill="%s"%s>%s</text>' % (x, y, size, anchor, weight, fill, extra, escape(s)))


def _jitter(i):
    # deterministic spread of the dots within a row: -1..1
    return ((i * 0.6180339887) % 1.0) * 2 - 1


def render_panel(panel, y):
    """SVG elements of one panel starting at height y; returns (elements, height)."""
    rows = [r for r in panel["rows"] if [v for v in r["values"] if v is not None]]
    el = []
    h = 8
    # 15 px bold: about 9 px a character
    for part in wrap(panel["title"], (WIDTH - 32) // 9):
        el.append(_text(16, y + h + 10, part, size=15, weight="bold"))
        h += 19
    if panel.get("note"):
        el.append(_text(16, y + h + 12, panel["note"], size=12, fill="#b00020"))
        h += 18
    if not rows:
        el.append(_text(PLOT_X0, y + h + 16, "(no data)", size=12, fill="#777"))
        return el, h + 30
    allv = [v for r in rows for v in r["values"] if v is not None]
    axis = Axis(allv)
    top = y + h + 6
    plot_h = ROW_H * len(rows)
    # grid and tick labels
    for t in axis.ticks():
        x = axis.x(t)
        el.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e2e2e2" '
                  'stroke-width="1"/>' % (x, top, x, top + plot_h))
        el.append(_text(x, top + plot_h + 15, fmt_num(t), size=11, anchor="middle", fill="#555"))
    el.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#888" stroke-width="1"/>'
              % (PLOT_X0, top + plot_h, PLOT_X1, top + plot_h))
    scale = "log scale" if axis.log else "linear scale"
    el.append(_text((PLOT_X0 + PLOT_X1) / 2, top + plot_h + 31,
                    "%s (%s)" % (panel["unit"], scale), size=11, anchor="middle", fill="#555"))
    for i, r in enumerate(rows):
        cy = top + i * ROW_H + ROW_H / 2
        vals = [v for v in r["values"] if v is not None]
        s = stats.summarize(vals)
        color = color_for(r["id"])
        if i % 2 == 0:
            el.append('<rect x="%d" y="%.1f" width="%d" height="%d" fill="#f6f7f9"/>'
                      % (8, cy - ROW_H / 2, PLOT_X1 - 8 + 140, ROW_H))
        weight = "bold" if r.get("highlight") else "normal"
        el.append(_text(PLOT_X0 - 10, cy + 4, r["label"], size=12, anchor="end", weight=weight))
        x_min, x_max = axis.x(s["min"]), axis.x(s["max"])
        el.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.2"/>'
                  % (x_min, cy, x_max, cy, color))
        for xe in (x_min, x_max):
            el.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" '
                      'stroke-width="1.2"/>' % (xe, cy - 4, xe, cy + 4, color))
        x25, x75 = axis.x(s["p25"]), axis.x(s["p75"])
        el.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s" fill-opacity="0.25" '
                  'stroke="%s" stroke-width="1"/>' % (x25, cy - 7, max(x75 - x25, 1.0), 14,
                                                      color, color))
        for j, v in enumerate(vals):
            el.append('<circle cx="%.1f" cy="%.1f" r="2.2" fill="%s" fill-opacity="0.55"/>'
                      % (axis.x(v), cy + _jitter(j) * 5, color))
        xm = axis.x(s["median"])
        el.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>'
                  % (xm, cy - 9, xm, cy + 9, color))
        x95 = axis.x(s["p95"])
        el.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" '
                  'stroke-dasharray="2,1"/>' % (x95, cy - 6, x95, cy + 6, color))
        el.append(_text(PLOT_X1 + 10, cy + 4, "%s %s" % (fmt_value(s["median"]), panel["unit"]),
                        size=12, weight=weight, fill=color))
    return el, h + 6 + plot_h + 44


def panel_extents(text):
    """(title, y0, y1) of every panel of a chart render() made."""
    out = []
    for m in re.finditer(r'<g class="panel" data-y0="([\d.]+)" data-y1="([\d.]+)" '
                         r'data-title="([^"]*)">', text):
        out.append((m.group(3), float(m.group(1)), float(m.group(2))))
    return out


def render(title, subtitle_lines, panels, warning=None):
    """The whole chart as an SVG document (a string)."""
    el = []
    y = 14
    el.append(_text(16, y + 16, title, size=18, weight="bold"))
    y += 26
    for line in subtitle_lines:
        for part in wrap(line, 140):
            el.append(_text(16, y + 12, part, size=12, fill="#444"))
            y += 17
    if warning:
        el.append(_text(16, y + 13, warning, size=13, weight="bold", fill="#b00020"))
        y += 19
    y += 8
    for p in panels:
        pel, ph = render_panel(p, y)
        el.append('<g class="panel" data-y0="%.1f" data-y1="%.1f" data-title="%s">'
                  % (y, y + ph, escape(p["title"], {'"': "&quot;"})))
        el.extend(pel)
        el.append("</g>")
        y += ph + 6
    legend = ("dots: runs;  box: p25\u2013p75;  thick line: median;  dashed tick: p95;  "
              "whiskers: min\u2013max;  figure on the right: median")
    el.append(_text(16, y + 8, legend, size=11, fill="#555"))
    y += 22
    head = ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
            'font-family="%s">' % (WIDTH, y, WIDTH, y, FONT))
    bg = '<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>' % (WIDTH, y)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + head + "\n<title>" + escape(title) +
            "</title>\n" + bg + "\n" + "\n".join(el) + "\n</svg>\n")
