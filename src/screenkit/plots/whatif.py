"""What-if figures: a threshold sweep and the near misses of one criterion.

Both move one protocol parameter across its slider range with
``Evaluation.with_parameters``, which re-evaluates only the criteria using it.

>>> import pandas as pd
>>> from screenkit import evaluate
>>> frame = pd.DataFrame({"patient_id": ["A", "B", "C"],
...     "largest_lesion_cm": pd.array([3, 6, 8], dtype="Float64"),
...     "spo2": pd.array([99, 99, 90], dtype="Float64")})
>>> result = evaluate(frame, "NCT07103668")
>>> sweep_table(result, "lesion_max_cm", values=[5, 7, 9])["screen_failed"].tolist()
[2, 1, 1]
>>> near_miss_table(result, "I5b")[["patient_id", "passes_at", "change"]]
  patient_id  passes_at  change
0          B        6.0     1.0
1          C        8.0     3.0
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from screenkit.errors import ScreenkitError
from screenkit.plots._style import FAIL, PASS, PENDING, TEMPLATE

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation

__all__ = [
    "near_miss_figure",
    "near_miss_table",
    "parameter_grid",
    "sweep_table",
    "threshold_sweep",
]


def parameter_grid(evaluation: Evaluation, parameter: str, max_points: int = 150) -> np.ndarray:
    """The values a parameter's slider can take: ``min..max`` by ``step``.

    >>> from screenkit import evaluate
    >>> import pandas as pd
    >>> parameter_grid(evaluate(pd.DataFrame({"spo2": [99.0]}), "NCT07103668"),
    ...                "spo2_max_excluded_pct")[:4].tolist()
    [85.0, 86.0, 87.0, 88.0]
    """
    p = _parameter(evaluation, parameter)
    if p.step and (p.max - p.min) / p.step <= max_points:
        n = round((p.max - p.min) / p.step) + 1
        return np.round(p.min + p.step * np.arange(n), 10)
    return np.linspace(p.min, p.max, max_points)


def _parameter(evaluation: Evaluation, parameter: str):
    params = evaluation.protocol.parameters
    if parameter not in params:
        raise ScreenkitError(
            f"Protocol {evaluation.protocol.id} has no parameter {parameter!r}",
            accepted=", ".join(params),
        )
    return params[parameter]


def _fail_unknown(statuses: pd.DataFrame, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    n = len(statuses)
    fail, unknown = np.zeros(n, bool), np.zeros(n, bool)
    for c in ids:
        col = statuses[c]
        fail |= (~col).to_numpy(dtype=bool, na_value=False)
        unknown |= col.isna().to_numpy()
    return fail, unknown


def sweep_table(
    evaluation: Evaluation,
    parameter: str,
    values: Iterable[float] | None = None,
    exclude: Iterable[str] = (),
) -> pd.DataFrame:
    """Eligible / screen-failed / pending as one parameter takes each of ``values``.

    Uses ``evaluation.with_parameters``, so only the criteria that use ``parameter`` are
    re-evaluated; the other criteria's statuses are combined once. ``exclude`` switches
    criteria off as in :func:`~screenkit.funnel.funnel`. ``values`` default to the
    parameter's slider grid.
    """
    p = _parameter(evaluation, parameter)
    grid = parameter_grid(evaluation, parameter) if values is None else list(values)
    excluded = set(exclude)
    ids = [c for c in evaluation.statuses.columns if c not in excluded]
    moving = [c for c in ids if c in p.criteria]
    base_fail, base_unknown = _fail_unknown(
        evaluation.statuses, [c for c in ids if c not in p.criteria]
    )
    rows = []
    for value in grid:
        statuses = evaluation.with_parameters(**{parameter: value}).statuses
        fail, unknown = _fail_unknown(statuses, moving)
        fail |= base_fail
        pending = ~fail & (unknown | base_unknown)
        rows.append(
            {
                parameter: float(value),
                "eligible": int((~fail & ~pending).sum()),
                "screen_failed": int(fail.sum()),
                "pending": int(pending.sum()),
            }
        )
    return pd.DataFrame(rows, columns=[parameter, "eligible", "screen_failed", "pending"])


def _cutoff_line(value: float, text: str) -> tuple[dict, dict]:
    shape = {
        "type": "line",
        "x0": value,
        "x1": value,
        "yref": "paper",
        "y0": 0,
        "y1": 1,
        "line": {"color": "grey", "dash": "dot"},
    }
    note = {
        "x": value,
        "y": 1,
        "yref": "paper",
        "text": text,
        "showarrow": False,
        "yanchor": "bottom",
    }
    return shape, note


def threshold_sweep(
    evaluation: Evaluation,
    parameter: str,
    values: Iterable[float] | None = None,
    exclude: Iterable[str] = (),
    title: str | None = None,
) -> go.Figure:
    """Eligible (trace 0) and pending (trace 1) patients as one parameter moves across
    its range; a dotted line marks the evaluation's current value. Data: :func:`sweep_table`.
    """
    p = _parameter(evaluation, parameter)
    table = sweep_table(evaluation, parameter, values, exclude)
    unit = f" ({p.unit})" if p.unit else ""
    current = float(evaluation.parameters[parameter])
    shape, note = _cutoff_line(current, f"current {current:g}")
    traces = [
        go.Scatter(
            x=table[parameter],
            y=table[column],
            name=name,
            mode="lines+markers",
            line={"color": color, "shape": "hv"},
            hovertemplate=f"{p.label} %{{x:g}}<br>{name} %{{y:,}}<extra></extra>",
        )
        for column, name, color in (("eligible", "Eligible", PASS), ("pending", "Pending", PENDING))
    ]
    layout = go.Layout(
        title={"text": title or f"Eligible patients as “{p.label}” varies", "font": {"size": 14}},
        xaxis={"title": f"{p.label}{unit}"},
        yaxis={"title": "Patients", "rangemode": "tozero"},
        shapes=[shape],
        annotations=[note],
        legend={"orientation": "h", "y": -0.25},
        template=TEMPLATE,
    )
    return go.Figure(data=traces, layout=layout)


def _criterion_parameter(evaluation: Evaluation, criterion: str, parameter: str | None) -> str:
    protocol = evaluation.protocol
    protocol.criterion(criterion)  # raises for an unknown ID
    using = [n for n, p in protocol.parameters.items() if criterion in p.criteria]
    if parameter is None:
        if not using:
            raise ScreenkitError(
                f"Criterion {criterion} has no threshold parameter: nothing to relax",
                accepted="criteria with parameters: "
                + ", ".join(sorted({c for p in protocol.parameters.values() for c in p.criteria})),
            )
        return using[0]
    if parameter not in using:
        raise ScreenkitError(
            f"Parameter {parameter!r} is not used by criterion {criterion}",
            accepted=", ".join(using) or "(none)",
        )
    return parameter


def near_miss_table(
    evaluation: Evaluation,
    criterion: str,
    parameter: str | None = None,
    values: Iterable[float] | None = None,
) -> pd.DataFrame:
    """Patients failing ``criterion`` and the threshold at which each would pass it.

    ``parameter`` defaults to the criterion's first parameter; ``values`` to its slider
    grid. For each failing patient, ``passes_at`` is the grid value nearest the current
    one at which the criterion passes (``<NA>`` if none in the range), ``change`` is
    ``passes_at - current``; then the values the rule reads (its columns and derived
    values). Sorted by the size of the change (the nearest misses first).
    """
    parameter = _criterion_parameter(evaluation, criterion, parameter)
    grid = np.asarray(
        parameter_grid(evaluation, parameter) if values is None else list(values), float
    )
    current = float(evaluation.parameters[parameter])
    status = evaluation.statuses[criterion]
    failing = (~status).to_numpy(dtype=bool, na_value=False)
    passes = np.zeros((int(failing.sum()), len(grid)), bool)
    for j, value in enumerate(grid):
        col = evaluation.with_parameters(**{parameter: value}).statuses[criterion]
        passes[:, j] = col.to_numpy(dtype=bool, na_value=False)[failing]
    distance = np.where(passes, np.abs(grid - current)[None, :], np.inf)
    nearest = distance.argmin(axis=1) if len(grid) else np.zeros(len(passes), int)
    found = np.isfinite(distance.min(axis=1)) if len(grid) else np.zeros(len(passes), bool)
    passes_at = pd.array(np.where(found, grid[nearest] if len(grid) else 0, np.nan), "Float64")
    data = evaluation.data
    index = data.index[failing]
    out = pd.DataFrame(index=index)
    for name in ("patient_id", "site_id", "screening_date"):
        if name in data.columns:
            out[name] = data.loc[failing, name].to_numpy()
    out["passes_at"] = passes_at
    out["change"] = (passes_at - current).round(10)
    rule = evaluation.protocol.criterion(criterion)
    for name in sorted(evaluation.protocol.columns_needed(criterion)):
        if name in data.columns:
            out[name] = data.loc[failing, name].to_numpy()
    for name in sorted(rule.rule.derived):
        if name in evaluation.derived.columns:
            out[name] = evaluation.derived.loc[failing, name].to_numpy()
    key = out["change"].abs().astype("Float64").fillna(np.inf)
    out = out.iloc[np.argsort(key.to_numpy(dtype=float), kind="stable")]
    return out.reset_index(drop=True)


def near_miss_figure(
    evaluation: Evaluation,
    criterion: str,
    parameter: str | None = None,
    values: Iterable[float] | None = None,
    title: str | None = None,
) -> go.Figure:
    """How far the patients failing ``criterion`` are from its cutoff.

    Trace 0 (bars): failing patients by the threshold value at which they would first
    pass (``near_miss_table``'s ``passes_at``); trace 1 (line): patients gained if the
    threshold were moved to each value; a dotted line marks the current cutoff.
    """
    parameter = _criterion_parameter(evaluation, criterion, parameter)
    p = _parameter(evaluation, parameter)
    table = near_miss_table(evaluation, criterion, parameter, values)
    current = float(evaluation.parameters[parameter])
    reached = table["passes_at"].dropna().astype(float)
    counts = reached.value_counts().sort_index()
    x = counts.index.to_numpy(dtype=float)
    # patients gained moving from the current value out to x (either direction)
    order = np.argsort(np.abs(x - current), kind="stable")
    gained = np.empty(len(x), np.int64)
    gained[order] = np.cumsum(counts.to_numpy()[order])
    unit = f" ({p.unit})" if p.unit else ""
    shape, note = _cutoff_line(current, f"current {current:g}")
    never = len(table) - len(reached)
    label = evaluation.protocol.criterion(criterion).label
    traces = [
        go.Bar(
            x=x,
            y=counts.to_numpy(dtype=np.int64),
            name="Would pass first at this value",
            marker={"color": FAIL},
            hovertemplate=f"{p.label} %{{x:g}}: %{{y:,}} patients<extra></extra>",
        ),
        go.Scatter(
            x=x,
            y=gained,
            name="Gained if moved this far",
            mode="lines+markers",
            line={"color": "black", "width": 1},
            marker={"color": "black", "symbol": "diamond"},
            hovertemplate=f"{p.label} %{{x:g}}: %{{y:,}} gained<extra></extra>",
        ),
    ]
    layout = go.Layout(
        title={
            "text": title
            or f"{criterion} {label}: {len(table):,} fail; {never:,} would not pass in the range",
            "font": {"size": 14},
        },
        xaxis={"title": f"{p.label}{unit}"},
        yaxis={"title": "Failing patients", "rangemode": "tozero"},
        shapes=[shape],
        annotations=[note],
        legend={"orientation": "h", "y": -0.25},
        template=TEMPLATE,
    )
    return go.Figure(data=traces, layout=layout)
