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
the notes read ``<k``.

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
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from screenkit import style
from screenkit.errors import ScreenkitError
from screenkit.export.privacy import Suppression, check_k, mask_small_counts, suppress
from screenkit.export.tables import Table

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation
    from screenkit.forecast import ForecastResult

__all__ = ["REPORT_SEED", "REPORT_SIMS", "Recruitment", "build_recruitment"]

#: simulations and seed of the report's forecast (fixed: reruns are byte-identical)
REPORT_SIMS = 2000
REPORT_SEED = 0
NO_DATE = "(no screening date)"
TOTAL = ("randomized", "total")


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
    counts = _counts(patients)
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
        sup = _all_hidden(counts, k)
    return Recruitment(
        target=target,
        primary_completion=completion,
        randomized=total,
        forecast=result,
        reason=reason,
        figures=_figures(target, completion, total, result, reason, exclude, n_sims, seed),
        sites=_site_table(counts, sup) if tables else None,
        months=_month_table(counts, sup) if tables else None,
        cumulative=_cumulative(counts, sup, target, result),
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


# ---------------------------------------------------------------- counts
def _counts(patients: pd.DataFrame) -> dict[str, Any]:
    """Randomized per site, per month (every month from the first to the last screening,
    zeros included), without a date, and in total."""
    rand = patients["randomized"].fillna(False).astype(bool)
    site = patients["site_id"].astype("string").fillna("(no site)")
    per_site = rand.groupby(site, sort=False).sum().astype(int)
    per_site = per_site.reindex(_natural_order(per_site.index))
    dated = patients["screening_date"].notna()
    month = patients.loc[dated, "screening_date"].dt.to_period("M")
    if len(month):
        span = pd.period_range(month.min(), month.max(), freq="M")
        per_month = rand[dated].groupby(month).sum().reindex(span, fill_value=0).astype(int)
    else:
        per_month = pd.Series(dtype=int)
    return {
        "sites": per_site,
        "months": per_month,
        "undated": int(rand[~dated].sum()),
        "total": int(rand.sum()),
    }


def _natural_order(labels: pd.Index) -> list:
    def key(text: str):
        return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(text))]

    return sorted(labels, key=key)


def _keys(counts: dict) -> dict[str, list[Hashable]]:
    return {
        "sites": [("randomized", "site", s) for s in counts["sites"].index],
        "months": [("randomized", "month", str(m)) for m in counts["months"].index],
        "cum": [("randomized", "cumulative", str(m)) for m in counts["months"].index],
    }


def _suppression(counts: dict, k: int | None) -> Suppression:
    if k is None:
        return Suppression()
    keys = _keys(counts)
    values: dict[Hashable, int] = {TOTAL: counts["total"]}
    values.update(zip(keys["sites"], counts["sites"].tolist(), strict=True))
    values.update(zip(keys["months"], counts["months"].tolist(), strict=True))
    values.update(zip(keys["cum"], counts["months"].cumsum().tolist(), strict=True))
    eqs: list[dict[Hashable, float]] = [dict.fromkeys(keys["sites"], 1) | {TOTAL: -1}]
    undated = ("randomized", "month", NO_DATE)
    if counts["undated"]:
        values[undated] = counts["undated"]
    months = {**dict.fromkeys(keys["months"], 1), TOTAL: -1}
    if counts["undated"]:
        months[undated] = 1
    eqs.append(months)
    previous = None
    for month, cum in zip(keys["months"], keys["cum"], strict=True):
        eqs.append({cum: 1, month: -1, **({previous: -1} if previous else {})})
        previous = cum
    if previous is not None:
        eqs.append({previous: 1, TOTAL: -1, **({undated: 1} if counts["undated"] else {})})
    return suppress(values, eqs, k, keep_shown={TOTAL})


def _all_hidden(counts: dict, k: int | None) -> Suppression:
    """Every count but the total hidden (the chart then draws the forecast and target)."""
    keys = {key for group in _keys(counts).values() for key in group}
    return Suppression(k=k, primary=frozenset(), hidden=frozenset(keys))


def _site_table(counts: dict, sup: Suppression) -> Table:
    keys = _keys(counts)["sites"]
    frame = pd.DataFrame(
        {
            "Site": [str(s) for s in counts["sites"].index],
            "Randomized": [
                sup.show(key, int(v)) for key, v in zip(keys, counts["sites"], strict=True)
            ],
        }
    )
    return Table(
        "Randomized by site",
        "Randomized by site",
        "Every patient of the log counts at their site; the All row is randomized to date.",
        frame,
        {"Randomized": "count"},
        total={"Site": "All", "Randomized": sup.show(TOTAL, counts["total"])},
    )


def _month_table(counts: dict, sup: Suppression) -> Table:
    keys = _keys(counts)
    rows = [
        {
            "Month": str(m),
            "Randomized": sup.show(key, int(v)),
            "Cumulative randomized": sup.show(cum, int(c)),
        }
        for m, key, cum, v, c in zip(
            counts["months"].index,
            keys["months"],
            keys["cum"],
            counts["months"],
            counts["months"].cumsum(),
            strict=True,
        )
    ]
    if counts["undated"]:
        key = ("randomized", "month", NO_DATE)
        rows.append(
            {"Month": NO_DATE, "Randomized": sup.show(key, counts["undated"]),
             "Cumulative randomized": None}
        )  # fmt: skip
    frame = pd.DataFrame(rows, columns=["Month", "Randomized", "Cumulative randomized"])
    return Table(
        "Randomized by month",
        "Randomized by month of screening",
        "Patients randomized, counted in the month they were screened (the log holds no "
        "randomization date); every month from the first screening to the last, zeros "
        "included. The All row is randomized to date.",
        frame,
        {"Randomized": "count", "Cumulative randomized": "count"},
        total={
            "Month": "All",
            "Randomized": sup.show(TOTAL, counts["total"]),
            "Cumulative randomized": None,
        },
    )


def _cumulative(
    counts: dict, sup: Suppression, target: int | None, result: ForecastResult | None
) -> pd.DataFrame:
    """One row per month: observed cumulative (shown values only), then the forecast."""
    keys = _keys(counts)["cum"]
    rows = [
        {
            "Month": str(m),
            "Cumulative randomized": None if sup.is_hidden(key) else int(c),
            "Forecast median": None,
            "Forecast 10%": None,
            "Forecast 90%": None,
            "Target": target,
        }
        for m, key, c in zip(counts["months"].index, keys, counts["months"].cumsum(), strict=True)
    ]
    fan = None if result is None else result.fan
    if fan is not None and len(fan):
        for i, row in enumerate(fan.itertuples(index=False)):
            label = str(pd.Timestamp(row.date).to_period("M"))
            values = {
                "Forecast median": float(row.q50),
                "Forecast 10%": float(row.q10),
                "Forecast 90%": float(row.q90),
            }
            if i == 0 and rows and rows[-1]["Month"] == label:
                rows[-1].update(values)  # the forecast starts where the count stands
            else:
                rows.append({"Month": label, "Cumulative randomized": None, **values,
                             "Target": target})  # fmt: skip
    return pd.DataFrame(rows)


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
