# SPDX-License-Identifier: MIT
"""Order statistics for the benchmark: percentiles, summaries, ratios."""

import math


def percentile(values, p):
    """The p-th percentile (0 <= p <= 100) of values.

    Linear interpolation between the two nearest ranks (rank p/100*(n-1),
    counting from 0): the definition NumPy and most spreadsheets use by
    default. percentile(v, 50) is the median; 0 and 100 are min and max.
    """
    if not 0 <= p <= 100:
        raise ValueError("percentile must be within 0..100, got %r" % (p,))
    xs = sorted(values)
    if not xs:
        raise ValueError("percentile of no values")
    rank = p / 100.0 * (len(xs) - 1)
    lo = math.floor(rank)
    hi = math.ceil(rank)
    if lo == hi:
        return float(xs[lo])
    frac = rank - lo
    return xs[lo] + (xs[hi] - xs[lo]) * frac


def median(values):
    return percentile(values, 50)


def summarize(values):
    """min / median / p95 / max (and n, mean, p25, p75, p99) of the values
    that are not None; None when there are none."""
    xs = [float(v) for v in values if v is not None]
    if not xs:
        return None
    return {
        "n": len(xs),
        "min": min(xs),
        "p25": percentile(xs, 25),
        "median": percentile(xs, 50),
        "p75": percentile(xs, 75),
        "p95": percentile(xs, 95),
        "p99": percentile(xs, 99),
        "max": max(xs),
        "mean": sum(xs) / len(xs),
    }


def ratio(value, base):
    """value / base, or None when either is missing or base is 0."""
    if value is None or base is None or base == 0:
        return None
    return value / base


def spread(values):
    """max / min of the positive values (how many times the largest is the
    smallest); None with fewer than one positive value."""
    xs = [v for v in values if v is not None and v > 0]
    if not xs:
        return None
    return max(xs) / min(xs)
