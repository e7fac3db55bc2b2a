"""Figures for recruitment forecasts: the fan chart and per-site observed vs fitted rates.

Pure functions from a :class:`~screenkit.forecast.ForecastResult` to a
``plotly.graph_objects.Figure`` (layout passed to the constructor, so Voila keeps it).

>>> import numpy as np, pandas as pd
>>> from screenkit.forecast import RecruitmentForecast
>>> rng = np.random.default_rng(3)
>>> log = pd.DataFrame({"patient_id": range(60), "site_id": rng.choice(list("ABC"), 60),
...     "screening_date": pd.Timestamp("2025-09-01")
...         + pd.to_timedelta(np.sort(rng.integers(0, 200, 60)), unit="D"),
...     "randomized": rng.random(60) < 0.5})
>>> result = RecruitmentForecast(n_sims=500, random_state=0).fit(log).predict(target=80)
>>> [trace.name for trace in fan_chart(result).data][:3]
['90% interval', '80% interval', 'Median forecast']
>>> len(site_rates(result).data)
2
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from screenkit.forecast.result import ForecastResult
from screenkit.style import percent

__all__ = ["fan_chart", "site_rates"]

BAND = "rgba(31, 119, 180, {})"


def _band(fan: pd.DataFrame, low: str, high: str, name: str, opacity: float) -> go.Scatter:
    dates = list(fan["date"]) + list(fan["date"][::-1])
    values = list(fan[high]) + list(fan[low][::-1])
    return go.Scatter(
        x=dates,
        y=values,
        fill="toself",
        fillcolor=BAND.format(opacity),
        line={"width": 0},
        name=name,
        hoverinfo="skip",
    )


def fan_chart(result: ForecastResult, title: str | None = None) -> go.Figure:
    """Cumulative randomized: observed (solid), median forecast (dashed), 80/90% bands,
    the target line and the by-date marker."""
    what = result.outcome
    traces: list[go.BaseTraceType] = []
    fan = result.fan
    if not fan.empty:
        traces += [
            _band(fan, "q05", "q95", "90% interval", 0.15),
            _band(fan, "q10", "q90", "80% interval", 0.3),
            go.Scatter(
                x=fan["date"],
                y=fan["q50"],
                mode="lines",
                line={"dash": "dash", "color": "rgb(31, 119, 180)"},
                name="Median forecast",
            ),
        ]
    observed = result.observed
    x = [*observed["date"], result.as_of]
    y = [*observed["cumulative"], result.randomized_so_far]
    traces.append(
        go.Scatter(
            x=x, y=y, mode="lines", line={"color": "black", "shape": "hv"}, name=f"Observed {what}"
        )
    )
    shapes = [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": result.target,
            "y1": result.target,
            "line": {"color": "firebrick", "dash": "dot"},
        },
        {
            "type": "line",
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "x0": result.by_date,
            "x1": result.by_date,
            "line": {"color": "grey", "dash": "dot"},
        },
    ]
    annotations = [
        {
            "x": result.by_date,
            "y": 1,
            "yref": "paper",
            "text": f"{result.by_date.date()}: P(target) = {percent(result.prob_by_date, 0)}",
            "showarrow": False,
            "yanchor": "bottom",
        },
        {
            "xref": "paper",
            "x": 0,
            "y": result.target,
            "text": f"target {result.target}",
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "bottom",
        },
    ]
    median = result.median_date.date() if result.median_date is not None else "not reached"
    layout = go.Layout(
        title=title or f"Cumulative {what}: target {result.target}, median {median}",
        xaxis={"title": "Date"},
        yaxis={"title": f"Cumulative {what}", "rangemode": "tozero"},
        shapes=shapes,
        annotations=annotations,
        legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
    )
    return go.Figure(data=traces, layout=layout)


def site_rates(result: ForecastResult, title: str | None = None) -> go.Figure:
    """Per-site screening rate: observed (count / months) and fitted posterior (80% bar)."""
    table = result.site_posterior
    sites = table["site_id"].astype(str)
    fitted = go.Scatter(
        x=sites,
        y=table["fitted_rate"],
        mode="markers",
        marker={"symbol": "diamond", "size": 10, "color": "rgb(31, 119, 180)"},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": table["fitted_high80"] - table["fitted_rate"],
            "arrayminus": table["fitted_rate"] - table["fitted_low80"],
        },
        name="Fitted (posterior mean, 80% interval)",
    )
    observed = go.Bar(
        x=sites, y=table["observed_rate"], name="Observed", marker={"color": "lightgrey"}
    )
    layout = go.Layout(
        title=title
        or (
            f"Screening rate per site and month (fitted Gamma shape {result.alpha:.2f}, "
            f"mean {result.alpha / result.beta:.2f})"
        ),
        xaxis={"title": "Site", "type": "category"},
        yaxis={"title": "Screened per month"},
        legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
    )
    return go.Figure(data=[observed, fitted], layout=layout)
