"""Small-sample inference on training units: Student-t and Welch intervals, MDE, heterogeneity.

The detail: docs/library.md, `transferlab/analysis/stats.py`."""

from __future__ import annotations

import functools
import math
import statistics
from dataclasses import dataclass

import numpy as np


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbeta) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbeta) * _betacf(b, a, 1.0 - x) / b


def t_cdf(x: float, df: float) -> float:
    """P(T ≤ x) for Student's t with ``df`` (> 0, not necessarily whole) degrees of freedom."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + x * x))
    return 1.0 - tail if x >= 0 else tail


def t_ppf(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t (bisection on :func:`t_cdf`; ``df`` = inf gives the normal's)."""
    return _t_ppf(float(p), float(df))


@functools.lru_cache(maxsize=4096)
def _t_ppf(p: float, df: float) -> float:
    if not 0.0 < p < 1.0:
        raise ValueError(f"t_ppf needs 0 < p < 1, got {p}")
    if not math.isfinite(df) or df > 1e7:  # the normal's (betainc loses digits to cancellation at huge df)
        return statistics.NormalDist().inv_cdf(p)
    if p < 0.5:
        return -_t_ppf(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Interval:
    """A mean over units (or a difference of two groups' means) with its small-sample interval."""

    value: float
    low: float
    high: float
    se: float
    df: float
    mde: float  # the true effect a two-sided 5 % test detects with 80 % power at this SE and df


NAN = Interval(*(float("nan"),) * 6)


def unit_interval(groups: list, level: float = 0.95) -> Interval:
    """Student-t interval of the mean of one group of unit values, or Welch's interval of the difference of
    two groups' means (first minus second).  Units without a value (NaN) are left out; a group with fewer
    than two values gives the point estimate with no interval."""
    vals = [np.asarray(g, float)[np.isfinite(np.asarray(g, float))] for g in groups]
    if any(len(v) == 0 for v in vals):
        return NAN
    value = float(vals[0].mean() - (vals[1].mean() if len(vals) > 1 else 0.0))
    if any(len(v) < 2 for v in vals):
        return Interval(value, *(float("nan"),) * 5)
    parts = [v.var(ddof=1) / len(v) for v in vals]
    se = math.sqrt(sum(parts))
    if len(vals) == 1:
        df = len(vals[0]) - 1.0
    elif se == 0:
        df = float(sum(len(v) - 1 for v in vals))
    else:  # Welch–Satterthwaite
        df = se**4 / sum(p * p / (len(v) - 1) for p, v in zip(parts, vals, strict=True))
    crit = t_ppf(1 - (1 - level) / 2, df)
    mde = (t_ppf(0.975, df) + t_ppf(0.80, df)) * se
    return Interval(value, value - crit * se, value + crit * se, se, df, mde)


def heterogeneity(groups: list, image_se: list) -> tuple[float, float]:
    """(between-unit SD, I²) of unit values around their group means.

    I² = max(0, (Q − df) / Q) with Cochran's Q = Σ (y_u − ȳ)² / se_u², se_u the unit value's image-noise
    standard error: the share of the spread between units that image noise does not explain (training
    noise, and for two directions of one split their different halves).  NaN where it cannot be computed."""
    q, df, dev = 0.0, 0, []
    for g, s in zip(groups, image_se, strict=True):
        g, s = np.asarray(g, float), np.asarray(s, float)
        ok = np.isfinite(g)
        g, s = g[ok], s[ok]
        if len(g) < 2:
            continue
        dev.extend(g - g.mean())
        df += len(g) - 1
        if np.all(np.isfinite(s)) and np.all(s > 0):
            q += float(np.sum((g - g.mean()) ** 2 / s**2))
        else:
            q = float("nan")
    if df == 0:
        return float("nan"), float("nan")
    sd = float(np.sqrt(np.sum(np.square(dev)) / df))
    i2 = float(max(0.0, (q - df) / q)) if np.isfinite(q) and q > 0 else float("nan")
    return sd, i2


def mde_for(unit_sd: float, units: int, level: float = 0.95, power: float = 0.80) -> float:
    """Minimum detectable effect of a mean over ``units`` unit values with standard deviation ``unit_sd``."""
    if units < 2:
        return float("nan")
    df = units - 1
    return (t_ppf(1 - (1 - level) / 2, df) + t_ppf(power, df)) * unit_sd / math.sqrt(units)
