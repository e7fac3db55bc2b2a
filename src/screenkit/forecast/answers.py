"""Answers from simulated recruitment: quantiles, observed counts, sites needed."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import poisson

from screenkit.forecast.rates import RecruitmentRates
from screenkit.forecast.simulate import exposure

__all__ = ["QUANTILES", "additional_sites", "horizon", "observed_counts", "time_quantiles"]

QUANTILES = (0.05, 0.10, 0.50, 0.90, 0.95)


def time_quantiles(times: np.ndarray) -> dict[float, float]:
    """Inverted-CDF quantiles; ``inf`` (never reached in that simulation) stays ``inf``
    (``np.quantile`` gives NaN next to an ``inf``)."""
    ordered = np.sort(times)
    index = np.ceil(np.asarray(QUANTILES) * ordered.size).astype(int) - 1
    values = ordered[np.clip(index, 0, ordered.size - 1)]
    return {k: float(v) for k, v in zip(QUANTILES, values, strict=True)}


def horizon(times: np.ndarray, d: float) -> float:
    finite = times[np.isfinite(times)]
    top = np.quantile(finite, 0.97) if finite.size > times.size * 0.5 else d + 24
    return float(min(max(top, d, 1.0) + 1.0, 240.0))


def observed_counts(rates: RecruitmentRates) -> pd.DataFrame:
    pts = rates.patients
    flag = (
        pts["randomized"].fillna(False).astype(bool)
        if rates.outcome == "randomized"
        else pts["status"].eq("eligible").fillna(False).astype(bool)
    )
    dates = pts.loc[flag, "screening_date"].sort_values()
    return pd.DataFrame({"date": dates.to_numpy(), "cumulative": np.arange(1, dates.size + 1)})


def additional_sites(rng, par, p, need, cum_d, t_open, d, prob, max_sites) -> int | None:
    """Smallest number of new sites (opening at ``t_open``) giving P(target by d) >= prob.

    Each new site's screening rate is drawn, per simulation, from the fitted between-site
    distribution Gamma(alpha, beta) of that simulation's parameters (not fixed at the mean
    rate ``alpha / beta``), then thinned by the randomization probability ``p``.
    """

    def chance(extra):
        return poisson.sf(need[:, None] - 1, cum_d[:, None] + extra).mean(axis=0)

    if chance(np.zeros((need.size, 1)))[0] >= prob:
        return 0
    if t_open >= d:
        return None
    new = rng.gamma(
        np.broadcast_to(par["alpha"][:, None], (need.size, max_sites)),
        1.0 / par["beta"][:, None],
    )
    span = exposure(np.asarray(d - max(t_open, 0.0)), par["gamma"])
    extra = np.cumsum(new, axis=1) * (p * span)[:, None]
    ok = np.nonzero(chance(extra) >= prob)[0]
    return int(ok[0]) + 1 if ok.size else None
