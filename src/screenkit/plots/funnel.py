"""Figures for screen-failure funnels: attrition, per-criterion costs, combinations,
sites; and (re-exported from :mod:`screenkit.plots.whatif`) threshold sweeps and near
misses.

Pure functions from result objects (:class:`~screenkit.funnel.Funnel`,
:class:`~screenkit.evaluate.Evaluation`) to ``plotly.graph_objects.Figure``. The layout is
passed to the constructor (Voila keeps it). Each ``*_figure`` has a ``*_spec`` twin
returning the same figure as plain dicts with a fixed number of traces, which
:class:`~screenkit.widgets.ScreeningExplorer` copies into its existing ``FigureWidget``s.

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

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from screenkit import style
from screenkit.plots._style import FAIL, NEUTRAL, ROW_PX, TEMPLATE, step_label
from screenkit.plots.whatif import (
    near_miss_figure,
    near_miss_table,
    parameter_grid,
    sweep_table,
    threshold_sweep,
)

if TYPE_CHECKING:
    from screenkit.funnel import Funnel

__all__ = [
    "FIGURE_SPECS",
    "combinations_figure",
    "criteria_figure",
    "funnel_figure",
    "near_miss_figure",
    "near_miss_table",
    "parameter_grid",
    "site_fails",
    "site_heatmap",
    "step_label",
    "sweep_table",
    "threshold_sweep",
]


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
    text = [f"{v:,} ({style.percent(_pct(v, n) / 100)})" for v in remaining]
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
    ("fails_only", "Fails only this (gained if dropped)", style.rgb(style.FAILS_ONLY)),
    ("attribution", "Equal-share attribution", NEUTRAL),
    ("unknown", "Unknown", style.rgb(style.UNKNOWN)),
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


def site_fails(funnel: Funnel) -> tuple[pd.DataFrame, pd.Series]:
    """Patients failing each criterion per site (all criteria) and screened per site.

    Independent of the funnel's order and switched-off criteria: only the pattern
    histogram matters, so a caller may reuse it while the user reorders or toggles.
    """
    fails = funnel.fails_by("site_id")
    screened = funnel.by_site().set_index("site_id")["screened"].reindex(fails.index)
    return fails, screened


def site_heatmap_spec(
    funnel: Funnel,
    title: str | None = None,
    table: tuple[pd.DataFrame, pd.Series] | None = None,
) -> dict:
    """:func:`site_heatmap` as plain ``{"data": [...], "layout": {...}}``.

    ``table``: :func:`site_fails` of a funnel with the same pattern histogram, if known.
    """
    columns = list(funnel.order)
    if funnel.screened:
        all_fails, screened = table if table is not None else site_fails(funnel)
        fails = all_fails.reindex(columns=columns)
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


FIGURE_SPECS = {
    "funnel": funnel_spec,
    "criteria": criteria_spec,
    "heatmap": site_heatmap_spec,
    "combinations": combinations_spec,
}
"""Figure name -> function from a :class:`~screenkit.funnel.Funnel` to a plain
``{"data", "layout"}`` dict: what ``go.Figure(**spec)`` draws, cheap enough to copy into a
``FigureWidget`` on every change (no figure object, no template validation)."""
