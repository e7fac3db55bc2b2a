"""Small statistical helpers shared by the funnel, the exports and the forecast.

>>> wilson_interval(41, 100)
(0.3186..., 0.5079...)
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
from scipy.stats import norm

__all__ = ["wilson_frame", "wilson_interval"]


def wilson_interval(successes, trials, confidence: float = 0.95):
    """Wilson score interval for a binomial proportion (vectorized).

    Returns ``(low, high)``; arrays when given arrays. ``trials == 0`` gives NaN bounds
    (no information), never an error. Uses the same formula as
    ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``.

    >>> lo, hi = wilson_interval(np.array([0, 10]), np.array([10, 10]))
    >>> [round(float(x), 4) for x in lo], [round(float(x), 4) for x in hi]
    ([0.0, 0.7225], [0.2775, 1.0])
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


@cache
def _z(confidence: float) -> float:
    return float(norm.ppf(0.5 + confidence / 2))


def wilson_frame(successes, trials, confidence: float = 0.95) -> pd.DataFrame:
    """Rate and Wilson interval as a frame with columns ``rate``, ``ci_low``, ``ci_high``.

    >>> wilson_frame([5], [20]).round(3)
       rate  ci_low  ci_high
    0  0.25   0.112    0.469
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    low, high = wilson_interval(k, n, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = k / n
    return pd.DataFrame({"rate": rate, "ci_low": low, "ci_high": high})
