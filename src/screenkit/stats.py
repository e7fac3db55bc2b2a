"""Small statistical helpers shared by the funnel, the exports and the forecast.

>>> wilson_interval(41, 100)
(0.3186..., 0.5079...)
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

__all__ = ["newcombe_paired_interval", "wilson_frame", "wilson_interval"]


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


Z_95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975), bit for bit (tests/test_values.py)


@cache
def _z(confidence: float) -> float:
    if confidence == 0.95:  # the default: no scipy import (0.4 s) for one constant
        return Z_95
    # scipy.stats.norm.ppf is scipy.special.ndtri (scipy/stats/_continuous_distns.py
    # _norm_ppf), and importing scipy.stats costs ~1 s of every command's start-up
    from scipy.special import ndtri

    return float(ndtri(0.5 + confidence / 2))


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


def newcombe_paired_interval(
    both: int, first_only: int, second_only: int, neither: int, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Difference of two paired proportions and its Newcombe (1998) interval.

    The patients of a paired 2x2 table: ``both`` positive under both classifications,
    ``first_only`` / ``second_only`` positive under one, ``neither``. Returns
    ``(estimate, low, high)`` for ``p_first - p_second`` with ``p_first = (both +
    first_only) / n`` and ``p_second = (both + second_only) / n``: Newcombe's method 10
    (Stat Med 1998; 17: 2635-50), Wilson score limits for each proportion combined by
    "square and add" with the estimated correlation phi of the two proportions, phi
    continuity corrected as in the paper (``ad - bc`` reduced by ``n / 2`` when it is
    larger, set to 0 between 0 and ``n / 2``; 0 when a margin is empty). ``n == 0`` gives
    NaN for all three.

    The worked example of Fagerland, Lydersen and Laake (*Statistical Analysis of
    Contingency Tables*, 2017, chapter 8; complete response before and after
    consolidation therapy, Cavo et al. 2012):

    >>> [round(x, 4) for x in newcombe_paired_interval(59, 6, 16, 80)]
    [-0.0621, -0.1186, -0.0046]
    """
    a, b, c, d = (float(x) for x in (both, first_only, second_only, neither))
    n = a + b + c + d
    if n <= 0:
        return float("nan"), float("nan"), float("nan")
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n, confidence)
    l2, u2 = wilson_interval(a + c, n, confidence)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    phi = 0.0
    if margins > 0:
        cross = a * d - b * c
        if cross > n / 2:
            phi = (cross - n / 2) / np.sqrt(margins)
        elif cross < 0:
            phi = cross / np.sqrt(margins)
    estimate = p1 - p2
    low = estimate - np.sqrt(
        max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0)
    )
    high = estimate + np.sqrt(
        max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0.0)
    )
    return float(estimate), float(max(low, -1.0)), float(min(high, 1.0))
