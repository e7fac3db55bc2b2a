"""Vectorized Monte Carlo kernels for the Poisson-gamma recruitment model.

Time is in months from the as-of date (0). Site ``i`` recruits from ``open_i`` to
``close_i`` (``inf`` = never closes) with intensity ``rate_si * exp(-gamma_s * (t - act_i))``
in simulation ``s``, where ``act_i`` is its activation (age 0; negative for sites already
open). ``gamma = 0`` is the constant-rate model.

Between consecutive activation / closing times the set of open sites is fixed, so the
summed intensity is ``A * exp(-gamma * (t - t0))`` and its integral inverts in closed form:
the time of the n-th recruit is exact (no time grid), since the n-th event of a Poisson
process is where the cumulative intensity reaches a Gamma(n, 1) draw.

>>> import numpy as np
>>> t = time_to_reach(np.array([[1.0, 1.0]]), np.zeros(1), np.zeros(2), np.zeros(2),
...                   np.full(2, np.inf), np.array([4.0]))
>>> float(t[0])
2.0
"""

from __future__ import annotations

import numpy as np

__all__ = ["cumulative_intensity", "exposure", "time_to_reach"]


def exposure(x: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Integral of ``exp(-gamma * u)`` over ``u`` in ``[0, x]`` (``x`` when ``gamma == 0``)."""
    x = np.asarray(x, dtype=float)
    gamma = np.asarray(gamma, dtype=float)
    small = np.abs(gamma) < 1e-9
    safe = np.where(small, 1.0, gamma)
    with np.errstate(over="ignore", invalid="ignore"):
        value = -np.expm1(-safe * x) / safe
    value = np.where(small, x, value)
    return np.where(np.isinf(x) & ~small & (gamma > 0), 1.0 / safe, value)


def cumulative_intensity(
    rates: np.ndarray,
    gamma: np.ndarray,
    act: np.ndarray,
    open_: np.ndarray,
    close: np.ndarray,
    times: np.ndarray,
) -> np.ndarray:
    """Expected recruits from time 0 to each of ``times``: an array (sims, times)."""
    times = np.asarray(times, dtype=float)
    span = np.clip(np.minimum(times[None, :], close[:, None]) - open_[:, None], 0.0, None)
    if not np.any(gamma):  # constant rates: a matrix product
        return rates @ span
    total = np.zeros((rates.shape[0], times.size))
    g = gamma[:, None]
    for chunk in np.array_split(np.arange(rates.shape[1]), max(1, rates.shape[1] // 8)):
        start = np.exp(-g[:, :, None] * (open_[chunk] - act[chunk])[None, :, None])
        expo = exposure(span[chunk][None, :, :], g[:, :, None])
        total += np.einsum("sc,sct->st", rates[:, chunk], start * expo)
    return total


def _intensity_after(rates, gamma, act, open_, close, times):
    """Summed intensity just after each of ``times``: (sims, times)."""
    active = (open_[:, None] <= times[None, :]) & (times[None, :] < close[:, None])
    if not np.any(gamma):
        return rates @ active.astype(float)
    total = np.zeros((rates.shape[0], times.size))
    g = gamma[:, None]
    for i in range(rates.shape[1]):
        total += np.where(
            active[i][None, :], rates[:, i : i + 1] * np.exp(-g * (times - act[i])), 0.0
        )
    return total


def time_to_reach(
    rates: np.ndarray,
    gamma: np.ndarray,
    act: np.ndarray,
    open_: np.ndarray,
    close: np.ndarray,
    level: np.ndarray,
) -> np.ndarray:
    """Time at which the cumulative intensity of each simulation reaches ``level``.

    ``rates`` is (sims, sites); ``gamma`` and ``level`` are (sims,). Returns ``inf`` where
    the level is never reached (all sites closed, or a decaying rate that runs out).
    """
    points = np.concatenate([[0.0], open_, close])
    points = np.unique(points[np.isfinite(points) & (points >= 0)])
    cum = cumulative_intensity(rates, gamma, act, open_, close, points)
    slope = _intensity_after(rates, gamma, act, open_, close, points)
    seg = (cum <= level[:, None]).sum(axis=1) - 1
    seg = np.clip(seg, 0, points.size - 1)
    rows = np.arange(level.size)
    t0, c0, a0 = points[seg], cum[rows, seg], slope[rows, seg]
    x = level - c0
    small = np.abs(gamma) < 1e-9
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        linear = np.where(a0 > 0, x / a0, np.inf)
        y = 1.0 - gamma * x / a0
        curved = np.where((a0 > 0) & (y > 0), -np.log(y) / np.where(small, 1.0, gamma), np.inf)
    out = t0 + np.where(small, linear, curved)
    return np.where(level <= 0, 0.0, out)
