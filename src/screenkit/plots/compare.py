"""The figure of a protocol comparison: the 2 x 2 of eligibility plus the explaining criteria.

:func:`comparison_figure` draws, from a :class:`~screenkit.compare.Comparison`, on the
left the 2 x 2 of eligible / screen-failed under A (rows) and B (columns) as a heatmap
with counts, the pending patients in a note under it (pending under either protocol is its
own cell), and on the right horizontal bars of the criteria explaining the discordant
cells: for "only A" the criteria of B those patients fail, for "only B" those of A, with
the "fails only this" part in red.

>>> import pandas as pd
>>> from screenkit.compare import compare
>>> frame = pd.DataFrame({"largest_lesion_cm": pd.array([4.0, 6.0], dtype="Float64")})
>>> fig = comparison_figure(compare(frame, "NCT07103668", "NCT07103668-A1", forecast=False))
>>> [list(row) for row in fig.data[0].z]     # everyone pending: the 2 x 2 is empty
[[0, 0], [0, 0]]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from screenkit.plots._style import FAIL, NEUTRAL, ROW_PX, TEMPLATE, step_label

if TYPE_CHECKING:
    from screenkit.compare import Comparison

__all__ = ["comparison_figure"]


def comparison_figure(comparison: Comparison, *, top: int = 12) -> go.Figure:
    """The 2 x 2 heatmap and the ``top`` explaining criteria of each discordant cell."""
    a, b = comparison.protocol_a.id, comparison.protocol_b.id
    counts = comparison.counts()
    z = [
        [counts["both"], counts["only_a"]],
        [counts["only_b"], counts["neither"]],
    ]
    cols = ["eligible", "screen-failed"]
    rows = ["eligible", "screen-failed"]
    text = [
        [f"both: {counts['both']}", f"only A: {counts['only_a']}"],
        [f"only B: {counts['only_b']}", f"neither: {counts['neither']}"],
    ]
    exp = comparison.explained_by
    bars = []
    for cell, side in (("only_a", b), ("only_b", a)):
        part = exp[exp["cell"] == cell].head(top)
        for r in part.itertuples(index=False):
            tag = "only A" if cell == "only_a" else "only B"
            bars.append((f"[{tag}] {step_label(r.criterion, r.label, 36)}", r, side))
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.3, 0.7],
        horizontal_spacing=0.3,
        subplot_titles=(
            f"{counts['screened']} screened: A x B",
            "criteria the discordant patients fail",
        ),
    )
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=cols,
            y=rows,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="%{y}<br>%{x}<br>%{z} patients<extra></extra>",
        ),
        row=1,
        col=1,
    )
    labels = [x[0] for x in bars]
    fig.add_trace(
        go.Bar(
            y=labels,
            x=[x[1].fails_only for x in bars],
            orientation="h",
            name="fails only this",
            marker_color=FAIL,
            hovertemplate="%{y}<br>fails only this: %{x}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Bar(
            y=labels,
            x=[x[1].fails - x[1].fails_only for x in bars],
            orientation="h",
            name="fails it and others",
            marker_color=NEUTRAL,
            hovertemplate="%{y}<br>fails it and others: %{x}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_layout(
        template=TEMPLATE,
        barmode="stack",
        height=max(420, 160 + ROW_PX * len(labels)),
        margin={"l": 90, "r": 20, "t": 60, "b": 110},
        legend={"orientation": "h", "x": 0.45, "y": -0.3},
    )
    fig.add_annotation(
        text=f"pending under A or B: {counts['pending']} (not in the 2 x 2)",
        xref="paper",
        yref="paper",
        x=0.0,
        y=-0.3,
        showarrow=False,
        font={"size": 11},
    )
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=2)
    fig.update_xaxes(title_text="patients", row=1, col=2)
    fig.update_xaxes(title_text=f"B = {b}", row=1, col=1)
    fig.update_yaxes(title_text=f"A = {a}", row=1, col=1)
    return go.Figure(fig)
