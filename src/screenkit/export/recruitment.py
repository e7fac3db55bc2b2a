"""Recruitment in the report: randomized to date vs the target, and the forecast.

:func:`build_recruitment` computes once what the workbook's **Recruitment** sheet and the
HTML report's recruitment section both show, so the two never disagree:

- randomized to date against the protocol file's ``target:`` (and the share reached);
- randomized per site and per month of screening (every patient of the log is in both
  tables: patients without a screening date have their own row in the month table);
- the forecast (:func:`screenkit.forecast.whatif.forecast_evaluation`, the route of
  ``screenkit forecast``): median date, 80% and 90% prediction intervals, and the
  probability of reaching the target by the protocol file's ``primary_completion:``;
- the cumulative randomized per month beside the forecast's monthly median and 80% band
  (the data of the workbook's chart; the HTML draws the fan chart from ``forecast.fan``).

The report's forecast is reproducible: :data:`REPORT_SIMS` simulations with seed
:data:`REPORT_SEED` (2000 keep the Monte Carlo error of the median date to a few days on
the sample and the report under a few seconds; ``screenkit forecast --sims`` gives more),
so reruns are byte-identical. It uses the report's evaluation, with its ``--param``
thresholds and its ``--exclude`` criteria switched off (a what-if on eligibility; the
notes say which). It is skipped, with the reason stated, when the log has no screening
dates, records no randomization, the protocol file gives no target, or the forecast
cannot be made; the rest of the report is written as usual.

Small counts: with ``suppress_below=k`` the randomized counts per site and month and the
cumulative counts are one linear system for :func:`screenkit.export.privacy.suppress`
(site rows and month rows each add up to the total; each month's cumulative count is the
previous one plus that month), so no hidden count can be recovered from the others; the
chart draws only the cumulative counts the table shows, and whole numbers under ``k`` in
the notes read ``<k``. The counts, that system and the tables showing them are in
:mod:`screenkit.export.recruitment_counts`; this module adds the forecast and the
headline figures.

>>> from screenkit.datasets import load_sample
>>> from screenkit.evaluate import evaluate
>>> r = build_recruitment(evaluate(load_sample(), "NCT07103668"))
>>> r.target, r.randomized, r.reason
(150, 65, None)
>>> r.median_date == r.forecast.median_date.date()
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from screenkit import style
from screenkit.errors import ScreenkitError
from screenkit.export.privacy import Suppression, check_k, mask_small_counts, suppress
from screenkit.export.recruitment_counts import (
    TOTAL,
    all_hidden,
    cumulative_frame,
    month_table,
    randomized_per_site_and_month,
    site_table,
    suppression_system,
)
from screenkit.export.tables import Table

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation
    from screenkit.forecast import ForecastResult

__all__ = ["REPORT_SEED", "REPORT_SIMS", "Recruitment", "build_recruitment"]

#: simulations and seed of the report's forecast (fixed: reruns are byte-identical)
REPORT_SIMS = 2000
REPORT_SEED = 0


@dataclass(frozen=True)
class Recruitment:
    """What the report shows about recruitment; see :func:`build_recruitment`.

    ``figures`` is the headline table (``Quantity``, ``Value``); ``sites`` / ``months``
    the randomized counts (``None`` when the log cannot give them); ``cumulative`` one row
    per month (``Month``, ``Cumulative randomized`` (``None`` where hidden), ``Forecast
    median``, ``Forecast 10%``, ``Forecast 90%``, ``Target``) for the chart; ``reason``
    says why there is no forecast (``None``: there is one).
    """

    target: int | None
    primary_completion: dt.date | None
    randomized: int | None
    forecast: ForecastResult | None
    reason: str | None
    figures: pd.DataFrame
    sites: Table | None
    months: Table | None
    cumulative: pd.DataFrame | None
    notes: tuple[str, ...]
    suppression: Suppression
    excluded: tuple[str, ...] = ()

    @property
    def median_date(self) -> dt.date | None:
        f = self.forecast
        return None if f is None or f.median_date is None else f.median_date.date()

    @property
    def headline(self) -> str:
        """One sentence: randomized vs target, and the forecast (or why there is none)."""
        parts = []
        if self.randomized is not None and self.target:
            parts.append(
                f"{self.randomized} of the target {self.target} randomized "
                f"({style.percent(self.randomized / self.target, 0)})."
            )
        elif self.randomized is not None:
            parts.append(f"{self.randomized} randomized.")
        f = self.forecast
        if f is not None and f.reached:
            parts.append(f"The target was reached on {_iso(f.median_date)}.")
        elif f is not None:
            parts.append(
                f"Forecast: target reached on {_iso(f.median_date) or 'not within 100 years'} "
                f"(median; 80% interval {_interval(f.pi80)}); probability by "
                f"{_iso(f.by_date)}: {_probability(f.prob_by_date, f.n_sims)}."
            )
        if self.reason:
            parts.append(f"No forecast: {self.reason}.")
        return " ".join(parts)


def build_recruitment(
    evaluation: Evaluation,
    *,
    exclude: Iterable[str] = (),
    suppress_below: int | None = None,
    forecast: bool = True,
    n_sims: int = REPORT_SIMS,
    seed: int = REPORT_SEED,
) -> Recruitment:
    """Randomized to date, per site and month, and the forecast of ``evaluation``.

    ``exclude``: criteria switched off (as the report's funnel); ``forecast=False``
    (``screenkit report --no-forecast``) skips the simulation and says so.
    """
    from screenkit.forecast import RecruitmentForecast, patient_outcomes
    from screenkit.forecast.whatif import forecast_evaluation

    k = check_k(suppress_below)
    exclude = tuple(dict.fromkeys(exclude))
    protocol = evaluation.protocol
    target = protocol.target
    completion = (
        None
        if protocol.primary_completion is None
        else pd.Timestamp(protocol.primary_completion).date()
    )
    try:
        patients = patient_outcomes(evaluation)
    except ScreenkitError:
        reason = (
            "the log has no screening dates (column screening_date), so randomization over "
            "time can be neither counted nor forecast"
        )
        return _without_counts(target, completion, reason, k, exclude)
    randomized = patients["randomized"]
    if not randomized.notna().any():
        reason = (
            "the log records no randomization outcome (no 'randomized' column, or it is blank "
            "for every patient), so randomized to date is not known and there is nothing to "
            "forecast"
        )
        return _without_counts(target, completion, reason, k, exclude)
    counts = randomized_per_site_and_month(patients)
    try:
        sup = _suppression(counts, k)
    except ScreenkitError:  # no safe pattern: publish the total only, never a small count
        sup = None
    reason = None
    result = None
    if not forecast:
        reason = "skipped on request (--no-forecast)"
    elif target is None:
        reason = "the protocol file gives no target ('target:'), so there is no date to forecast"
    else:
        try:
            result = forecast_evaluation(
                RecruitmentForecast(n_sims=n_sims, random_state=seed), evaluation, exclude=exclude
            )
        except ScreenkitError as err:
            reason = "the forecast could not be made: " + str(err).splitlines()[0]
    total = counts["total"]
    notes = [] if result is None else list(result.notes)
    if k is not None:  # the notes' patient counts follow the suppression too
        notes = [mask_small_counts(note, k) for note in notes]
    undated = counts["undated"]
    if undated:
        notes.insert(
            0,
            ("Some" if k is not None else f"{undated}")
            + " randomized patient(s) have no screening date: they count in the "
            "total and per site, in the month table's own row, and not in the forecast's "
            "rates.",
        )
    tables = sup is not None
    if not tables:
        notes.insert(
            0,
            f"Randomized per site and month are left out: suppression below {k} cannot "
            "protect their small counts (only the total is shown).",
        )
        sup = all_hidden(counts, k)
    return Recruitment(
        target=target,
        primary_completion=completion,
        randomized=total,
        forecast=result,
        reason=reason,
        figures=_figures(target, completion, total, result, reason, exclude, n_sims, seed),
        sites=site_table(counts, sup) if tables else None,
        months=month_table(counts, sup) if tables else None,
        cumulative=cumulative_frame(counts, sup, target, result),
        notes=tuple(notes),
        suppression=sup,
        excluded=exclude,
    )


def _without_counts(
    target: int | None, completion: dt.date | None, reason: str, k: int | None, exclude: tuple
) -> Recruitment:
    """The report's recruitment part when the log cannot count randomization."""
    return Recruitment(
        target=target,
        primary_completion=completion,
        randomized=None,
        forecast=None,
        reason=reason,
        figures=_figures(target, completion, None, None, reason, exclude, 0, 0),
        sites=None,
        months=None,
        cumulative=None,
        notes=(),
        suppression=Suppression(k=k),
        excluded=exclude,
    )


def _suppression(counts: dict, k: int | None) -> Suppression:
    """Which randomized counts to hide below ``k`` (none when ``k`` is ``None``)."""
    if k is None:
        return Suppression()
    values, equations = suppression_system(counts)
    return suppress(values, equations, k, keep_shown={TOTAL})


# ---------------------------------------------------------------- figures
def _iso(date: Any) -> str | None:
    return None if date is None else pd.Timestamp(date).date().isoformat()


def _interval(pair) -> str:
    low, high = pair
    return f"{_iso(low) or 'not reached'} to {_iso(high) or 'not reached'}"


def _probability(p: float, n_sims: int) -> str:
    if p == 0:
        return f"below 1 in {n_sims} (no simulation reached it)"
    if 0 < p < 0.001:
        return "below 0.1%"
    if 0.999 < p < 1:
        return "above 99.9%"
    return style.percent(p)


def _figures(
    target: int | None,
    completion: dt.date | None,
    randomized: int | None,
    result: ForecastResult | None,
    reason: str | None,
    exclude: tuple[str, ...],
    n_sims: int,
    seed: int,
) -> pd.DataFrame:
    """The headline rows (``Quantity``, ``Value``); values are text, numbers or dates."""
    rows: list[tuple[str, Any]] = [
        ("Target (protocol file)", target if target is not None else "not given"),
        ("Primary completion date (protocol file)", completion or "not given"),
    ]
    if randomized is not None:
        as_of = None if result is None else _iso(result.as_of)
        rows.append(("Randomized to date" + (f" (as of {as_of})" if as_of else ""), randomized))
        if target:
            rows.append(("Share of the target reached", style.percent(randomized / target)))
            rows.append(("Still to randomize", max(target - randomized, 0)))
    if result is not None:
        when = _iso(result.by_date)
        rows += [
            ("Forecast: target reached (median)", _date(result.median_date)),
            ("80% prediction interval: from", _date(result.pi80[0])),
            ("80% prediction interval: to", _date(result.pi80[1])),
            ("90% prediction interval: from", _date(result.pi90[0])),
            ("90% prediction interval: to", _date(result.pi90[1])),
            (
                f"Probability of reaching the target by {when}",
                _probability(result.prob_by_date, result.n_sims),
            ),
            (f"Expected randomized by {when}", round(result.expected_by_date)),
            ("Probability of ever reaching the target", _probability(result.prob_reached, n_sims)),
            ("Simulations (seed)", f"{n_sims} (seed {seed})"),
        ]
        if exclude:
            rows.append(("Criteria switched off", ", ".join(exclude)))
    else:
        rows.append(("Forecast", f"not made: {reason}"))
    frame = pd.DataFrame(rows, columns=["Quantity", "Value"])
    frame["Value"] = frame["Value"].astype(object)
    return frame


def _date(value: Any) -> dt.date | str:
    return "not reached" if value is None else pd.Timestamp(value).date()
