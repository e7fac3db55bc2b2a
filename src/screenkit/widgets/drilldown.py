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

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation

__all__ = ["failing_mask", "failing_patients", "masked_ids", "row_groups", "rows_in", "table_html"]


def row_groups(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Site and screening month (``"YYYY-MM"``) per patient; ``None`` when missing.

    >>> frame = pd.DataFrame({"site_id": ["S1", None],
    ...     "screening_date": pd.to_datetime(["2025-09-03", None])})
    >>> [a.tolist() for a in row_groups(frame)]
    [['S1', None], ['2025-09', None]]
    """
    n = len(data)
    sites = np.full(n, None, dtype=object)
    months = np.full(n, None, dtype=object)
    if "site_id" in data.columns:
        site = data["site_id"].astype(object)
        sites[site.notna().to_numpy()] = site[site.notna()].to_numpy(dtype=object)
    if "screening_date" in data.columns:
        dates = pd.to_datetime(data["screening_date"])
        known = dates.notna().to_numpy()
        months[known] = dates[known].dt.strftime("%Y-%m").to_numpy(dtype=object)
    return sites, months


def rows_in(values: np.ndarray, selected: list) -> np.ndarray:
    """Rows whose value is one of ``selected``; rows with no value match the histogram's
    placeholder group (a selected value that no row has, such as ``(no site)``).

    >>> rows_in(np.array(["S1", None, "S2"], dtype=object), ["S1", "(no site)"]).tolist()
    [True, True, False]
    """
    rows = np.isin(values, selected)
    present = set(values[values != None].tolist())  # noqa: E711 - elementwise on objects
    if any(s not in present for s in selected):
        rows |= pd.isna(values)
    return rows


def masked_ids(n: int, positions: np.ndarray | None = None) -> np.ndarray:
    """``P0001, P0002, ...`` by row position (at least four digits), for all ``n`` rows
    or only the rows at ``positions``.

    >>> masked_ids(3).tolist(), masked_ids(12000, np.array([0, 11999])).tolist()
    (['P0001', 'P0002', 'P0003'], ['P00001', 'P12000'])
    """
    width = max(4, len(str(n)))
    rows = np.arange(n) if positions is None else np.asarray(positions)
    numbers = pd.Series(rows + 1, dtype="int64").astype(str).str.zfill(width)
    return ("P" + numbers).to_numpy(dtype=object)


def failing_mask(
    evaluation: Evaluation, criterion: str, rows: np.ndarray | None = None
) -> np.ndarray:
    """Bool per patient: fails ``criterion`` (known fail), within ``rows`` if given."""
    failing = (~evaluation.statuses[criterion]).to_numpy(dtype=bool, na_value=False)
    return failing & rows if rows is not None else failing


def failing_patients(
    evaluation: Evaluation,
    criterion: str,
    rows: np.ndarray | None = None,
    *,
    mask_ids: bool = True,
    limit: int | None = None,
) -> pd.DataFrame:
    """Patients (restricted to ``rows``, a bool mask) who fail ``criterion``; the first
    ``limit`` of them if given.

    Columns: ``patient`` (masked as ``P0001`` by row position unless ``mask_ids=False``),
    ``site_id``, ``screening_date`` when present, then the columns and derived values the
    criterion's rule reads, in the evaluation's current thresholds.
    """
    protocol = evaluation.protocol
    rule = protocol.criterion(criterion).rule
    data = evaluation.data
    positions = np.flatnonzero(failing_mask(evaluation, criterion, rows))
    if limit is not None:
        positions = positions[:limit]
    out = pd.DataFrame(index=pd.RangeIndex(len(positions)))
    if mask_ids or "patient_id" not in data.columns:
        out["patient"] = masked_ids(len(data), positions)
    else:
        out["patient"] = data["patient_id"].iloc[positions].to_numpy(dtype=object)
    rule_columns = sorted(protocol.columns_needed(criterion) - {"site_id", "screening_date"})
    shown = [c for c in ["site_id", "screening_date", *rule_columns] if c in data.columns]
    derived = [c for c in sorted(rule.derived) if c in evaluation.derived.columns]
    values = pd.concat(
        [data[shown].iloc[positions], evaluation.derived[derived].iloc[positions]], axis=1
    )
    return pd.concat([out, values.reset_index(drop=True)], axis=1)


def table_html(table: pd.DataFrame, title: str, limit: int = 50, total: int | None = None) -> str:
    """A scrollable HTML table of the first ``limit`` rows under an escaped title;
    ``total`` is the number of rows the table was cut from (default: its length)."""
    shown = table.head(limit)
    total = len(table) if total is None else total
    more = f" (first {len(shown)} shown)" if total > len(shown) else ""
    body = shown.to_html(
        index=False, na_rep="—", classes="screenkit-table", border=0, float_format="{:g}".format
    )
    return (
        f"<div><b>{html.escape(title)}</b>{html.escape(more)}</div>"
        f'<div style="max-height: 320px; overflow: auto;">{body}</div>'
    )
