"""The forecast of a comparison: the date the target is reached under A and under B.

Fitted on A's evaluation (the protocol the log was screened under: the site rates and the
probability that an eligible patient is randomized come from it), then B's statuses
through :meth:`~screenkit.forecast.RecruitmentForecast.with_eligibility`; see
:mod:`screenkit.compare`. Skipped, with the reason, when the log cannot be forecast.

>>> ComparisonForecast(150, reason="the log has no screening dates").text()
'Forecast: none (the log has no screening dates).'
>>> ComparisonForecast(150, pd.Timestamp("2027-03-01"), pd.Timestamp("2027-01-30")).change_days
-30
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from screenkit.errors import ScreenkitError

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation

__all__ = ["ComparisonForecast", "forecast_both"]


@dataclass(frozen=True)
class ComparisonForecast:
    """Median date the target is reached under A and under B (or why there is none)."""

    target: int | None
    median_a: pd.Timestamp | None = None
    median_b: pd.Timestamp | None = None
    pi80_a: tuple = (None, None)
    pi80_b: tuple = (None, None)
    reason: str | None = None
    n_sims: int = 0
    seed: int = 0

    @property
    def change_days(self) -> int | None:
        """B's median date minus A's, in days (negative: B reaches the target sooner)."""
        if self.median_a is None or self.median_b is None:
            return None
        return int((self.median_b - self.median_a).days)

    def text(self) -> str:
        if self.reason is not None:
            return f"Forecast: none ({self.reason})."
        change = self.change_days
        shift = (
            "not reached within 100 years under one of them"
            if change is None
            else f"B {abs(change)} days {'sooner' if change < 0 else 'later'}"
            if change
            else "the same date"
        )
        return (
            f"Forecast (target {self.target}, median of {self.n_sims} simulations, seed "
            f"{self.seed}): A {_iso(self.median_a) or 'not reached'}, B "
            f"{_iso(self.median_b) or 'not reached'} ({shift})."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "median_date_a": _iso(self.median_a),
            "median_date_b": _iso(self.median_b),
            "pi80_a": [_iso(d) for d in self.pi80_a],
            "pi80_b": [_iso(d) for d in self.pi80_b],
            "change_days": self.change_days,
            "reason": self.reason,
            "n_sims": self.n_sims,
            "seed": self.seed,
        }


def forecast_both(
    eval_a: Evaluation, eval_b: Evaluation, *, target: int | None, n_sims: int, seed: int
) -> ComparisonForecast:
    """A's and B's median dates to ``target`` (A's protocol file's, then B's, when
    ``None``), or the reason there are none."""
    from screenkit.forecast import RecruitmentForecast, patient_outcomes

    target = target if target is not None else (eval_a.protocol.target or eval_b.protocol.target)
    try:
        patients = patient_outcomes(eval_a)
    except ScreenkitError:
        return ComparisonForecast(
            target, reason="the log has no screening dates (column screening_date)"
        )
    if not patients["randomized"].notna().any():
        return ComparisonForecast(
            target, reason="the log records no randomization outcome ('randomized')"
        )
    if target is None:
        return ComparisonForecast(None, reason="neither protocol file gives a target")
    try:
        fitted = copy.copy(RecruitmentForecast(n_sims=n_sims, random_state=seed)).fit(eval_a)
        as_run = fitted.predict(target=target)
        other = fitted.with_eligibility(eval_b.status).predict(target=target)
    except ScreenkitError as err:
        return ComparisonForecast(
            target, reason="the forecast could not be made: " + str(err).splitlines()[0]
        )
    return ComparisonForecast(
        target,
        median_a=as_run.median_date,
        median_b=other.median_date,
        pi80_a=as_run.pi80,
        pi80_b=other.pi80,
        n_sims=n_sims,
        seed=seed,
    )


def _iso(value) -> str | None:
    return None if value is None else pd.Timestamp(value).date().isoformat()
