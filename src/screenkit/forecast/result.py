"""``ForecastResult``: the answers of a recruitment forecast, as values, text, JSON and HTML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from screenkit.forecast.outcome import OutcomeCounts
from screenkit.forecast.prior import KEYS as PRIOR_KEYS
from screenkit.forecast.prior import DeclinePrior
from screenkit.forecast.rates import RecruitmentRates
from screenkit.stats import wilson_interval
from screenkit.style import percent

__all__ = ["ForecastResult"]


def _iso(date: pd.Timestamp | None) -> str | None:
    return None if date is None else date.date().isoformat()


def _words(date: pd.Timestamp | None, never: str = "not within 100 years") -> str:
    return never if date is None else date.strftime("%d %b %Y")


def _prior_keys(prior: DeclinePrior | None) -> dict[str, Any]:
    """The decline prior's JSON keys; ``None`` values when the model uses no prior."""
    return dict.fromkeys(PRIOR_KEYS) if prior is None else prior.to_dict()


_MODEL_WORDS = {
    "posterior": "site rates whose monthly change is averaged over its posterior, sites may close",
    "averaged": "constant and declining site rates averaged by evidence, sites may close",
}


@dataclass(frozen=True)
class ForecastResult:
    """When the target is reached, how likely by a date, and what it would take.

    Dates are ``pandas.Timestamp`` (``None`` = not reached within 100 years in that share
    of simulations).
    ``fan`` holds quantiles of the cumulative count per month (``date``, ``mean``, ``q05``,
    ``q10``, ``q50``, ``q90``, ``q95``); ``observed`` the count so far (``date``,
    ``cumulative``); ``site_posterior`` the per-site observed and fitted rates; ``times`` the
    simulated months from ``as_of`` to the target.
    """

    target: int
    as_of: pd.Timestamp
    by_date: pd.Timestamp
    randomized_so_far: int
    outcome: str
    model: str
    reached: bool
    median_date: pd.Timestamp | None
    pi80: tuple[pd.Timestamp | None, pd.Timestamp | None]
    pi90: tuple[pd.Timestamp | None, pd.Timestamp | None]
    prob_by_date: float
    expected_by_date: float
    count_pi80_by_date: tuple[int, int]
    additional_sites: int | None
    new_sites_open: pd.Timestamp | None
    fan: pd.DataFrame
    observed: pd.DataFrame
    site_posterior: pd.DataFrame
    rates: RecruitmentRates
    times: np.ndarray
    alpha: float
    beta: float
    gamma: float
    p_randomized: float
    aic: dict
    n_sims: int
    new_sites_probability: float = 0.8
    notes: tuple[str, ...] = field(default_factory=tuple)
    eligibility: OutcomeCounts | None = None
    prob_reached: float = 1.0  # share of simulations that ever reach the target
    #: the prior on the monthly decline and its source (:mod:`screenkit.forecast.prior`)
    decline_prior: DeclinePrior | None = None

    def _eligibility(self) -> tuple[float, tuple[float, float]]:
        """The eligibility the forecast uses (eligible among decided) and its 95% CI."""
        e = self.eligibility
        if e is None:
            return self.rates.eligibility_rate, self.rates.eligibility_ci
        return e.rate, wilson_interval(e.eligible, e.decided)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready answers (keys are a contract of ``screenkit forecast --json``)."""
        return {
            "target": self.target,
            "as_of": _iso(self.as_of),
            "randomized_so_far": self.randomized_so_far,
            "median_date": _iso(self.median_date),
            "pi80": [_iso(d) for d in self.pi80],
            "pi90": [_iso(d) for d in self.pi90],
            "prob_by_date": round(self.prob_by_date, 4),
            "by_date": _iso(self.by_date),
            "expected_by_date": round(self.expected_by_date, 1),
            "count_pi80_by_date": list(self.count_pi80_by_date),
            "additional_sites": self.additional_sites,
            "new_sites_open": _iso(self.new_sites_open),
            "new_sites_probability": self.new_sites_probability,
            "outcome": self.outcome,
            "model": self.model,
            "reached": self.reached,
            "sites": len(self.rates.sites),
            "screened": self.rates.screened,
            "eligibility_rate": _float(self._eligibility()[0]),
            "eligibility_ci95": [_float(x) for x in self._eligibility()[1]],
            "eligibility": None if self.eligibility is None else self.eligibility.to_dict(),
            "number_needed_to_screen": _float(self.rates.number_needed_to_screen),
            "p_randomized": round(self.p_randomized, 4),
            "alpha": round(self.alpha, 4),
            "beta": round(self.beta, 4),
            "gamma_per_month": round(self.gamma, 5),
            "aic": {k: round(v, 2) for k, v in self.aic.items()},
            "n_sims": self.n_sims,
            "prob_reached_ever": round(self.prob_reached, 4),
            "notes": list(self.notes),
        } | _prior_keys(self.decline_prior)

    def to_frame(self) -> pd.DataFrame:
        """The answers as a two-column table (``quantity``, ``value``)."""
        flat = self.to_dict()
        rows = {k: v for k, v in flat.items() if k not in ("notes", "aic")}
        return pd.DataFrame({"quantity": list(rows), "value": [str(v) for v in rows.values()]})

    def summary(self) -> str:
        """The answers in plain words."""
        r = self.rates
        what = self.outcome
        lines = [
            f"As of {self.as_of.date()}: {r.screened} patients screened at {len(r.sites)} "
            f"sites, {self.randomized_so_far} {what} (target {self.target}).",
        ]
        if self.outcome == "randomized" and self.randomized_so_far == 0:
            lines.append(
                "Caution: no patient has been randomized yet, so the randomization rate, and "
                "with it this forecast, is very uncertain (see the first note)."
            )
        if self.reached:
            lines.append(f"The target of {self.target} was reached on {_words(self.median_date)}.")
        else:
            lo80, hi80 = self.pi80
            lo90, hi90 = self.pi90
            model = _MODEL_WORDS.get(self.model, f"{self.model} site rates")
            never = (
                f" (the upper end is open: the target is reached at all in only "
                f"{_percent(self.prob_reached)} of simulations, as rates decline or sites "
                "stop screening)"
            )
            lines += [
                (
                    f"The target of {self.target} {what} is expected on "
                    f"{_words(self.median_date)} (median; {model})."
                    if self.median_date is not None
                    else f"The target of {self.target} {what} is not reached in most "
                    f"simulations ({model}): the probability of ever reaching it is "
                    f"{_percent(self.prob_reached)}."
                ),
                f"  80% prediction interval: {_words(lo80)} to {_words(hi80, 'not reached')}"
                + (never if hi80 is None and lo80 is not None else ""),
                f"  90% prediction interval: {_words(lo90)} to {_words(hi90, 'not reached')}"
                + (never if hi90 is None and hi80 is not None and lo90 is not None else ""),
                f"Probability of reaching {self.target} by {self.by_date.date()}: "
                + (
                    f"{_percent(self.prob_by_date)}."
                    if self.prob_by_date > 0
                    else f"below 1 in {self.n_sims} (no simulation reached it)."
                ),
                f"Expected {what} by {self.by_date.date()}: {self.expected_by_date:.0f} "
                f"(80% interval {self.count_pi80_by_date[0]} to {self.count_pi80_by_date[1]}).",
            ]
            if self.additional_sites == 0:
                lines.append(
                    "No additional sites are needed: the probability of reaching "
                    f"{self.target} by {self.by_date.date()} is already at least "
                    f"{percent(self.new_sites_probability, 0)}."
                )
            elif self.additional_sites is not None:
                lines.append(
                    f"To reach {self.target} by {self.by_date.date()} with "
                    f"{percent(self.new_sites_probability, 0)} probability: "
                    f"{self.additional_sites} additional sites opening on "
                    f"{self.new_sites_open.date()}, each with a screening rate drawn from the "
                    "fitted between-site distribution (mean "
                    f"{self.alpha / self.beta:.2f} screened/site/month"
                    + (
                        ", declining (closures included) as in the simulations of the current sites"
                        if self.model in ("posterior", "averaged")
                        else ", declining at the fitted decay rate"
                        if self.gamma > 0
                        else ""
                    )
                    + ")."
                )
        if self.eligibility is not None:
            rate, (lo, hi) = self._eligibility()
            pending = self.eligibility.pending
            lines.append(
                f"Eligibility {percent(rate)} of decided patients (95% CI {percent(lo)} "
                f"to {percent(hi)}"
                + (f"; {pending} pending left out" if pending else "")
                + f"); {r.number_needed_to_screen:.1f} screened per {what} patient so far."
            )
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        body = "".join(f"<li>{line.strip()}</li>" for line in self.summary().splitlines())
        return f"<div><b>Recruitment forecast</b><ul>{body}</ul></div>"


def _percent(p: float) -> str:
    """A probability in words that never rounds a possibility to 0% or 100%."""
    if 0 < p < 0.01:
        return "below 1%"
    if 0.99 < p < 1:
        return "above 99%"
    return f"{percent(p, 0)}"


def _float(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)
