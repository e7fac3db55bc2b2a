"""Figures for screen-failure funnels: attrition, per-criterion costs, combinations,
sites, threshold sweeps and near misses.

Pure functions from result objects (:class:`~screenkit.funnel.Funnel`,
:class:`~screenkit.evaluate.Evaluation`) to ``plotly.graph_objects.Figure``. The layout is
passed to the constructor (Voila keeps it), and each function always returns the same
number of traces, so :class:`~screenkit.widgets.ScreeningExplorer` can copy a new figure
into an existing ``FigureWidget`` in place.

>>> import pandas as pd
>>> from screenkit import evaluate, funnel
>>> frame = pd.DataFrame({"patient_id": ["A", "B", "C"],
...     "largest_lesion_cm": pd.array([3, 6, 8], dtype="Float64"),
...     "spo2": pd.array([99, 99, 90], dtype="Float64")})
>>> result = evaluate(frame, "NCT07103668")
>>> f = funnel(result, order=["I5b", "E7"])
>>> list(funnel_figure(f).data[0].x[:3])        # Screened, then remaining after I5b, E7
[3, 1, 1]
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

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation
    from screenkit.funnel import Funnel

__all__ = [
    "FIGURE_SPECS",
    "combinations_figure",
    "criteria_figure",
    "funnel_figure",
    "near_miss_figure",
    "near_miss_table",
    "site_heatmap",
    "step_label",
    "sweep_table",
    "threshold_sweep",
]

TEMPLATE = "plotly_white"
FAIL = "rgb(214, 39, 40)"
PASS = "rgb(44, 160, 44)"
PENDING = "rgb(255, 127, 14)"
NEUTRAL = "rgb(31, 119, 180)"
ROW_PX = 22


def step_label(criterion: str, label: str, width: int = 42) -> str:
    """``"I5b Largest lesion <= 5 cm"``, shortened to ``width`` characters.

    >>> step_label("I7a", "No transfusion / growth factor within 7 days of labs", 30)
    'I7a No transfusion / growth f…'
    """
    text = f"{criterion} {label}"
    return text if len(text) <= width else text[: width - 1] + "…"


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else float("nan")


# ---------------------------------------------------------------- the funnel
def funnel_figure(funnel: Funnel, title: str | None = None) -> go.Figure:
    """Sequential attrition: patients remaining after each active criterion, in order.

    The one trace is a ``go.Funnel``: ``y`` the steps ("Screened" first, then
    ``"<ID> <label>"`` per active criterion in funnel order), ``x`` the patients remaining,
    ``text`` the count and % of screened, ``customdata`` the patients each step excludes.
    The last value is eligible + pending.

    >>> from screenkit.funnel import PatternCounts, funnel
    >>> import numpy as np, pandas as pd
    >>> p = PatternCounts.from_matrices(np.array([[1, 0], [1, 1], [0, 0]], bool),
    ...     np.zeros((3, 2), bool), pd.DataFrame(index=range(3)), criteria=["A", "B"])
    >>> fig = funnel_figure(funnel(p, order=["B", "A"]))
    >>> list(fig.data[0].y), list(fig.data[0].x), list(fig.data[0].text)
    (['Screened', 'B B', 'A A'], [3, 2, 1], ['3 (100.0%)', '2 (66.7%)', '1 (33.3%)'])
    """
    return go.Figure(**funnel_spec(funnel, title))


def funnel_spec(funnel: Funnel, title: str | None = None) -> dict:
    """:func:`funnel_figure` as plain ``{"data": [...], "layout": {...}}`` (no template)."""
    steps = funnel.steps
    n = funnel.screened
    labels = ["Screened"] + [
        step_label(c, lab) for c, lab in zip(steps["criterion"], steps["label"], strict=True)
    ]
    remaining = [n, *(int(v) for v in steps["remaining"])]
    excluded = [0, *(int(v) for v in steps["excluded"])]
    text = [f"{v:,} ({_pct(v, n):.1f}%)" for v in remaining]
    trace = dict(
        type="funnel",
        y=labels,
        x=remaining,
        text=text,
        textinfo="text",
        textposition="outside",
        customdata=excluded,
        hovertemplate="%{y}<br>remaining %{x:,}<br>excluded here %{customdata:,}<extra></extra>",
        marker={"color": NEUTRAL},
        connector={"line": {"color": "lightgrey"}},
        cliponaxis=False,
    )
    layout = dict(
        title={"text": title or funnel.headline_text(), "font": {"size": 14}},
        height=140 + ROW_PX * len(labels),
        margin={"l": 10, "r": 90, "t": 50, "b": 30},
        yaxis={"automargin": True, "type": "category"},
        template=TEMPLATE,
    )
    return {"data": [trace], "layout": layout}


# ---------------------------------------------------------------- per criterion
CRITERIA_MEASURES = (
    ("fails", "Fails", FAIL),
    ("fails_only", "Fails only this (gained if dropped)", "rgb(148, 103, 189)"),
    ("attribution", "Equal-share attribution", NEUTRAL),
    ("unknown", "Unknown", "rgb(160, 160, 160)"),
)


def criteria_figure(funnel: Funnel, top: int = 20, title: str | None = None) -> go.Figure:
    """Per active criterion: fails, fails only this, equal-share attribution, unknown.

    The ``top`` criteria by attribution (then fails), largest at the top; one bar trace per
    measure in the order of ``CRITERIA_MEASURES``; ``customdata`` holds the criterion IDs.
    """
    return go.Figure(**criteria_spec(funnel, top, title))


def criteria_spec(funnel: Funnel, top: int = 20, title: str | None = None) -> dict:
    """:func:`criteria_figure` as plain ``{"data": [...], "layout": {...}}``."""
    table = funnel.criteria[funnel.criteria["active"]]
    table = table.sort_values(["attribution", "fails"], ascending=False, kind="stable")
    table = table.head(top).iloc[::-1]
    y = [step_label(c, lab, 36) for c, lab in zip(table["criterion"], table["label"], strict=True)]
    traces = [
        dict(
            type="bar",
            y=y,
            x=table[column].to_numpy(dtype=float),
            name=name,
            orientation="h",
            marker={"color": color},
            customdata=table["criterion"].to_numpy(dtype=object),
            hovertemplate="%{y}<br>" + name + ": %{x:,.1f}<extra></extra>",
        )
        for column, name, color in CRITERIA_MEASURES
    ]
    layout = dict(
        title={
            "text": title or f"Cost of each criterion (top {len(table)} by attribution)",
            "font": {"size": 14},
        },
        barmode="group",
        height=160 + 4 * ROW_PX * max(len(table), 1) // 2,
        margin={"l": 10, "r": 20, "t": 50, "b": 40},
        xaxis={"title": "Patients"},
        yaxis={"automargin": True, "type": "category"},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
        template=TEMPLATE,
    )
    return {"data": traces, "layout": layout}


# ---------------------------------------------------------------- combinations
def combinations_figure(funnel: Funnel, top: int = 15, title: str | None = None) -> go.Figure:
    """UpSet-style view of the most frequent combinations of failed (active) criteria.

    Top panel (trace 0): patients per combination, ``x`` = ``#1 ...``; bottom panel: a dot
    matrix (trace 1 every cell, trace 2 the criteria in each combination, trace 3 the
    lines joining them). Rows are the criteria in any of the shown combinations.
    """
    return go.Figure(**combinations_spec(funnel, top, title))


def combinations_spec(funnel: Funnel, top: int = 15, title: str | None = None) -> dict:
    """:func:`combinations_figure` as plain ``{"data": [...], "layout": {...}}``."""
    table = funnel.combinations(top)
    x = [f"#{i + 1}" for i in range(len(table))]
    members = [str(s).split("; ") for s in table["criteria"]]
    order_index = {c: i for i, c in enumerate(funnel.order)}
    rows = sorted({c for m in members for c in m}, key=lambda c: order_index.get(c, 10**6))
    labels = dict(zip(funnel.criteria["criterion"], funnel.criteria["label"], strict=True))
    row_names = [step_label(c, labels.get(c, c), 32) for c in rows]
    name_of = dict(zip(rows, row_names, strict=True))
    grid_x = [xi for xi in x for _ in rows]
    grid_y = [name_of[c] for _ in x for c in rows]
    dot_x = [xi for xi, m in zip(x, members, strict=True) for _ in m]
    dot_y = [name_of[c] for m in members for c in m]
    line_x: list[str | None] = []
    line_y: list[str | None] = []
    for xi, m in zip(x, members, strict=True):
        if len(m) > 1:
            ys = sorted((name_of[c] for c in m), key=row_names.index)
            line_x += [xi, xi, None]
            line_y += [ys[0], ys[-1], None]
    pct = table["pct_of_failed"].to_numpy(dtype=float)
    dots = {"size": 10, "color": "rgb(225, 225, 225)"}
    bars = dict(
        type="bar",
        x=x,
        y=table["patients"].to_numpy(dtype=np.int64),
        text=[f"{v:,}" for v in table["patients"]],
        textposition="outside",
        customdata=np.column_stack([table["criteria"].to_numpy(dtype=object), pct])
        if len(table)
        else None,
        hovertemplate="%{customdata[0]}<br>%{y:,} patients "
        "(%{customdata[1]:.1f}% of screen-failed)<extra></extra>",
        marker={"color": FAIL},
        name="Patients",
        cliponaxis=False,
    )
    matrix = {"xaxis": "x2", "yaxis": "y2", "hoverinfo": "skip"}
    traces = [
        bars,
        dict(type="scatter", x=grid_x, y=grid_y, mode="markers", marker=dots, **matrix),
        dict(
            type="scatter",
            x=line_x,
            y=line_y,
            mode="lines",
            line={"color": "black", "width": 2},
            **matrix,
        ),
        dict(
            type="scatter",
            x=dot_x,
            y=dot_y,
            mode="markers",
            marker={**dots, "color": "black"},
            **matrix,
        ),
    ]
    categories = {"type": "category", "categoryorder": "array", "categoryarray": x}
    layout = dict(
        title={
            "text": title or "Most frequent combinations of failed criteria",
            "font": {"size": 14},
        },
        height=260 + ROW_PX * len(rows),
        showlegend=False,
        margin={"l": 10, "r": 20, "t": 50, "b": 20},
        xaxis={**categories, "anchor": "y", "showticklabels": False},
        yaxis={"domain": [0.47, 1.0], "title": {"text": "Patients"}, "anchor": "x"},
        xaxis2={**categories, "anchor": "y2", "matches": "x"},
        yaxis2={
            "domain": [0.0, 0.45],
            "anchor": "x2",
            "type": "category",
            "categoryorder": "array",
            "categoryarray": row_names[::-1],
            "automargin": True,
        },
        template=TEMPLATE,
    )
    return {"data": traces, "layout": layout}


# ---------------------------------------------------------------- sites
def site_heatmap(funnel: Funnel, title: str | None = None) -> go.Figure:
    """Site x criterion fail rate (% of the site's screened patients failing it).

    One ``go.Heatmap``: ``y`` sites, ``x`` active criterion IDs in funnel order, ``z`` the
    fail rate in %, ``text`` the patient counts.
    """
    return go.Figure(**site_heatmap_spec(funnel, title))


def site_heatmap_spec(funnel: Funnel, title: str | None = None) -> dict:
    """:func:`site_heatmap` as plain ``{"data": [...], "layout": {...}}``."""
    columns = list(funnel.order)
    if funnel.screened:
        fails = funnel.fails_by("site_id").reindex(columns=columns)
        screened = funnel.by_site().set_index("site_id")["screened"].reindex(fails.index)
        rates = fails.div(screened, axis=0) * 100
        sites = [str(s) for s in fails.index]
        z, counts = rates.to_numpy(dtype=float), fails.to_numpy(dtype=np.int64)
        n_site = screened.to_numpy(dtype=np.int64)
    else:
        sites, z, counts = [], np.zeros((0, len(columns))), np.zeros((0, len(columns)), int)
        n_site = np.zeros(0, int)
    labels = dict(zip(funnel.criteria["criterion"], funnel.criteria["label"], strict=True))
    hover = [[f"{labels[c]}<br>n screened {n:,}" for c in columns] for n in n_site]
    trace = dict(
        type="heatmap",
        z=z,
        x=columns,
        y=sites,
        text=counts,
        customdata=hover,
        colorscale="Reds",
        zmin=0,
        colorbar={"title": {"text": "% fail"}},
        hovertemplate="site %{y}, %{x}: %{z:.1f}% fail (%{text:,} patients)<br>"
        "%{customdata}<extra></extra>",
    )
    layout = dict(
        title={"text": title or "Fail rate by site and criterion", "font": {"size": 14}},
        height=180 + ROW_PX * max(len(sites), 3),
        margin={"l": 10, "r": 20, "t": 50, "b": 40},
        xaxis={"type": "category", "tickangle": -60, "tickfont": {"size": 10}},
        yaxis={"type": "category", "autorange": "reversed", "title": "Site", "automargin": True},
        template=TEMPLATE,
    )
    return {"data": [trace], "layout": layout}


# ---------------------------------------------------------------- what-if
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


FIGURE_SPECS = {
    "funnel": funnel_spec,
    "criteria": criteria_spec,
    "heatmap": site_heatmap_spec,
    "combinations": combinations_spec,
}
"""Figure name -> function from a :class:`~screenkit.funnel.Funnel` to a plain
``{"data", "layout"}`` dict: what ``go.Figure(**spec)`` draws, cheap enough to copy into a
``FigureWidget`` on every change (no figure object, no template validation)."""
