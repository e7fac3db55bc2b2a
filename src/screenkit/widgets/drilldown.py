"""The drill-down table: patients failing one criterion, with the values its rule reads.

>>> import pandas as pd
>>> from screenkit import evaluate
>>> frame = pd.DataFrame({"patient_id": ["S1-7", "S1-8"], "site_id": ["S1", "S1"],
...                       "largest_lesion_cm": pd.array([4.0, 6.5], dtype="Float64")})
>>> table = failing_patients(evaluate(frame, "NCT07103668"), "I5b")
>>> table.to_dict("records")
[{'patient': 'P0002', 'site_id': 'S1', 'largest_lesion_cm': 6.5}]
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from screenkit.funnel import NO_DATE, NO_SITE

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation

__all__ = ["failing_patients", "masked_ids", "row_groups", "table_html"]


def row_groups(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Site and screening month (``"YYYY-MM"``) per patient, spelled as the pattern
    histogram spells them (``(no site)`` / ``(no date)`` when missing).

    >>> frame = pd.DataFrame({"site_id": ["S1", None],
    ...     "screening_date": pd.to_datetime(["2025-09-03", None])})
    >>> [a.tolist() for a in row_groups(frame)]
    [['S1', '(no site)'], ['2025-09', '(no date)']]
    """
    n = len(data)
    if "site_id" in data.columns:
        site = data["site_id"].astype(object)
        sites = site.where(site.notna(), NO_SITE).to_numpy(dtype=object)
    else:
        sites = np.full(n, NO_SITE, dtype=object)
    if "screening_date" in data.columns:
        dates = pd.to_datetime(data["screening_date"])
        month = dates.dt.strftime("%Y-%m").astype(object)
        months = month.where(dates.notna(), NO_DATE).to_numpy(dtype=object)
    else:
        months = np.full(n, NO_DATE, dtype=object)
    return sites, months


def masked_ids(n: int) -> np.ndarray:
    """``P0001, P0002, ...`` by row position (at least four digits).

    >>> masked_ids(3).tolist()
    ['P0001', 'P0002', 'P0003']
    """
    width = max(4, len(str(n)))
    return np.array([f"P{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def failing_patients(
    evaluation: Evaluation,
    criterion: str,
    rows: np.ndarray | None = None,
    *,
    mask_ids: bool = True,
) -> pd.DataFrame:
    """Patients (restricted to ``rows``, a bool mask) who fail ``criterion``.

    Columns: ``patient`` (masked as ``P0001`` by row position unless ``mask_ids=False``),
    ``site_id``, ``screening_date`` when present, then the columns and derived values the
    criterion's rule reads, in the evaluation's current thresholds.
    """
    protocol = evaluation.protocol
    rule = protocol.criterion(criterion).rule
    data = evaluation.data
    failing = (~evaluation.statuses[criterion]).to_numpy(dtype=bool, na_value=False)
    if rows is not None:
        failing &= rows
    out = pd.DataFrame(index=pd.RangeIndex(int(failing.sum())))
    if mask_ids or "patient_id" not in data.columns:
        out["patient"] = masked_ids(len(data))[failing]
    else:
        out["patient"] = data["patient_id"].to_numpy(dtype=object)[failing]
    rule_columns = sorted(protocol.columns_needed(criterion) - {"site_id", "screening_date"})
    shown = ["site_id", "screening_date", *rule_columns]
    for name in shown:
        if name in data.columns:
            out[name] = data[name].to_numpy()[failing]
    for name in sorted(rule.derived):
        if name in evaluation.derived.columns:
            out[name] = evaluation.derived[name].to_numpy()[failing]
    return out


def table_html(table: pd.DataFrame, title: str, limit: int = 50) -> str:
    """A scrollable HTML table of the first ``limit`` rows under an escaped title."""
    shown = table.head(limit)
    more = f" (first {limit} shown)" if len(table) > limit else ""
    body = shown.to_html(
        index=False, na_rep="—", classes="screenkit-table", border=0, float_format="{:g}".format
    )
    return (
        f"<div><b>{html.escape(title)}</b>{html.escape(more)}</div>"
        f'<div style="max-height: 320px; overflow: auto;">{body}</div>'
    )
