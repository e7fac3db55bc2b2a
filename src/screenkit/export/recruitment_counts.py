"""Randomized counts for the report: per site and month, their suppression model, and
the tables and chart data that show them (see :mod:`screenkit.export.recruitment`).

:func:`randomized_per_site_and_month` counts the randomized patients per site (natural
order), per month of screening (every month from the first to the last screening, zeros
included), without a screening date and in total. :func:`suppression_system` states those counts as
one linear system for :func:`screenkit.export.privacy.suppress` (site rows and month rows
each add up to the total; each month's cumulative count is the previous one plus that
month), so no hidden count can be recovered from the others.

>>> patients = pd.DataFrame({
...     "site_id": ["S10", "S2", "S2", None],
...     "screening_date": pd.to_datetime(["2024-01-05", "2024-03-02", None, "2024-01-20"]),
...     "randomized": [True, True, True, None]})
>>> counts = randomized_per_site_and_month(patients)
>>> counts["sites"].to_dict(), counts["months"].tolist(), counts["undated"], counts["total"]
({'S2': 2, 'S10': 1, '(no site)': 0}, [1, 0, 1], 1, 3)
>>> values, equations = suppression_system(counts)
>>> values[TOTAL], len(equations)  # sites, months, 3 cumulative steps, last = total
(3, 6)
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import pandas as pd

from screenkit.export.privacy import Suppression
from screenkit.export.tables import Table
from screenkit.groups import NO_DATE, NO_SITE, site_order

if TYPE_CHECKING:
    from screenkit.forecast import ForecastResult

__all__ = [
    "NO_DATE",
    "TOTAL",
    "all_hidden",
    "cumulative_frame",
    "month_table",
    "randomized_per_site_and_month",
    "site_table",
    "suppression_system",
]

#: the key of randomized to date, the one count never hidden
TOTAL = ("randomized", "total")


def randomized_per_site_and_month(patients: pd.DataFrame) -> dict[str, Any]:
    """Randomized per site, per month (every month from the first to the last screening,
    zeros included), without a date, and in total."""
    rand = patients["randomized"].fillna(False).astype(bool)
    site = patients["site_id"].astype("string").fillna(NO_SITE)
    per_site = rand.groupby(site, sort=False).sum().astype(int)
    per_site = per_site.reindex(site_order(per_site.index))
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


def _keys(counts: dict) -> dict[str, list[Hashable]]:
    return {
        "sites": [("randomized", "site", s) for s in counts["sites"].index],
        "months": [("randomized", "month", str(m)) for m in counts["months"].index],
        "cum": [("randomized", "cumulative", str(m)) for m in counts["months"].index],
    }


def suppression_system(
    counts: dict,
) -> tuple[dict[Hashable, int], list[dict[Hashable, float]]]:
    """The counts by key and the equations between them, for
    :func:`~screenkit.export.privacy.suppress` (keep :data:`TOTAL` shown)."""
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
    return values, eqs


def all_hidden(counts: dict, k: int | None) -> Suppression:
    """Every count but the total hidden (the chart then draws the forecast and target)."""
    keys = {key for group in _keys(counts).values() for key in group}
    return Suppression(k=k, primary=frozenset(), hidden=frozenset(keys))


def site_table(counts: dict, sup: Suppression) -> Table:
    """Randomized per site, with the All row (randomized to date)."""
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


def month_table(counts: dict, sup: Suppression) -> Table:
    """Randomized and cumulative randomized per month of screening, the undated patients
    in their own row, and the All row."""
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


def cumulative_frame(
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
