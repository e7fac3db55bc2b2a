"""The HTML report: one self-contained file for people who would rather look than read.

Same content as the workbook (:mod:`screenkit.export.content`): the headline, the
CONSORT flow (inline ``<svg id="consort-flow">``), the top reasons, the funnel and
criteria figures (plotly, its JavaScript inlined: the file works offline and asks no CDN),
and the tables. Every text taken from the input or a protocol
file is HTML-escaped.

>>> import pandas as pd, tempfile, pathlib
>>> from screenkit.evaluate import evaluate
>>> from screenkit.funnel import funnel
>>> frame = pd.DataFrame({"patient_id": ["P1", "P2"],
...                       "spo2": pd.array([99, 94], dtype="Float64")})
>>> result = evaluate(frame, "NCT07103668")
>>> out = pathlib.Path(tempfile.mkdtemp()) / "report.html"
>>> text = export_html(funnel(result), out, evaluation=result).read_text(encoding="utf-8")
>>> "<script src=" in text, "<h2>Funnel</h2>" in text
(False, True)
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from screenkit import style
from screenkit.export.content import Content, Table, build_content
from screenkit.files import atomic_write, check_target, input_paths

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation
    from screenkit.export.recruitment import Recruitment
    from screenkit.funnel import Funnel

__all__ = ["export_html", "fan_figure", "recruitment_html", "render_html"]

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; padding: 0 1em; }
h1 { color: #1F3864; margin-bottom: 0.2em; }
h2 { color: #1F3864; border-bottom: 2px solid #1F3864; padding-bottom: 0.2em; margin-top: 2em; }
p.headline { font-size: 1.25em; font-weight: 600; }
p.note { color: #555; font-style: italic; font-size: 0.9em; max-width: 70em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.88em; }
th { background: #1F3864; color: #fff; text-align: left; padding: 4px 8px;
     position: sticky; top: 0; }
td { border-bottom: 1px solid #ddd; padding: 3px 8px; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; border-top: 2px solid #333; }
table.meta th { background: none; color: #222; position: static; }
details summary { cursor: pointer; color: #1F3864; margin: 0.5em 0; }
ol.reasons li { margin-bottom: 0.5em; }
div.flow svg { max-width: 100%; height: auto; }
""".replace("#1F3864", style.css(style.NAVY))  # the workbook's navy (screenkit.style)


def export_html(
    funnel: Funnel,
    path: str | os.PathLike,
    *,
    evaluation: Evaluation | None = None,
    data: Any = None,
    patients: bool = False,
    identified: bool = False,
    suppress_below: int | None = None,
    overwrite: bool = False,
    concordance: pd.DataFrame | None = None,
    recruitment: Recruitment | bool = False,
) -> Path:
    """Write the HTML report to ``path``; same options as
    :func:`~screenkit.export.excel.export_excel` (``recruitment`` adds the section
    ``id="recruitment"``). Returns the path."""
    out = check_target(path, overwrite=overwrite, inputs=input_paths(data, evaluation))
    content = build_content(
        funnel,
        evaluation=evaluation,
        data=data,
        patients=patients,
        identified=identified,
        suppress_below=suppress_below,
        concordance=concordance,
        recruitment=recruitment,
    )
    page = render_html(content)
    return atomic_write(out, lambda tmp: tmp.write_text(page, encoding="utf-8"))


def render_html(content: Content) -> str:
    """The report page as one string (plotly.js inlined once)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(content.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(content.title)}</h1>",
        f'<p class="headline">{e(content.headline_text)}</p>',
        '<table class="meta">'
        + "".join(f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in content.meta)
        + "</table>",
        "<h2>Screening outcome</h2>",
        table_html(
            content.headline,
            {
                "Patients": "count",
                "% of screened": "pct",
                "95% CI low": "pct",
                "95% CI high": "pct",
            },
        ),
    ]
    if content.flow is not None:  # hand-written SVG, every label escaped
        parts += [
            '<h2 id="flow">Screening flow</h2>',
            '<div class="flow">' + content.flow.to_svg() + "</div>",
        ]
    parts.append("<h2>Top reasons for screen failure</h2>")
    if len(content.reasons):
        parts.append(
            '<ol class="reasons">'
            + "".join(f"<li>{e(s)}</li>" for s in content.reasons["In one sentence"])
            + "</ol>"
        )
    else:
        parts.append("<p>No criterion excludes anyone (or every count is suppressed).</p>")
    figures = _figures(content)
    for name, table in content.tables.items():
        parts.append(f"<h2>{e(name)}</h2>")
        parts.append(f"<p><b>{e(table.title)}</b></p><p class='note'>{e(table.note)}</p>")
        if name in figures:
            parts.append(figures[name])
        body = table_html(table.frame, table.formats, total=table.total)
        if name in ("Funnel", "Criteria", "Protocol", "Patients", "Data issues"):
            rows = len(table.frame)
            opened = " open" if rows <= 25 else ""
            body = f"<details{opened}><summary>Table ({rows} rows)</summary>{body}</details>"
        parts.append(body)
        if name == "By month" and content.recruitment is not None:
            parts.append(recruitment_html(content.recruitment))
    parts.append("</body></html>")
    return "\n".join(parts)


def _fmt(value: Any, fmt: str | None) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        return value
    if fmt == "pct":  # rounded half away from zero, as the workbook shows it
        return style.percent(value)
    if fmt == "decimal":
        return style.decimal_text(value, thousands=True)
    if fmt == "int" and isinstance(value, int | float):
        return f"{value:.0f}"
    if fmt == "count" and isinstance(value, int | float):
        return f"{value:,.0f}"
    return str(value)


def table_html(frame: pd.DataFrame, formats: dict[str, str], total: dict | None = None) -> str:
    """A frame as an escaped HTML table (numbers right-aligned)."""
    e = html.escape
    cols = list(frame.columns)
    head = "".join(f"<th>{e(str(c))}</th>" for c in cols)
    rows = []
    records = frame.to_dict("records")
    for rec in records:
        rows.append(_row(rec, cols, formats))
    if total:
        rows.append(_row(total, cols, formats, css="total"))
    if not records:
        rows.append(f"<tr><td colspan='{len(cols)}'>(none)</td></tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _row(rec: dict, cols: list, formats: dict, css: str = "") -> str:
    cells = []
    for c in cols:
        fmt = formats.get(c)
        cls = ' class="num"' if fmt else ""
        cells.append(f"<td{cls}>{html.escape(_fmt(rec.get(c), fmt))}</td>")
    attr = f' class="{css}"' if css else ""
    return f"<tr{attr}>{''.join(cells)}</tr>"


# ---------------------------------------------------------------- figures
def _figures(content: Content) -> dict[str, str]:
    """``{"Funnel": html, "Criteria": html}``; plotly.js is inlined in the first one."""
    import plotly.graph_objects as go  # a core dependency, imported only for HTML

    if content.suppression.active:  # draw only the counts the tables show
        figs = {
            "Funnel": _funnel_from_table(go, content.tables["Funnel"]),
            "Criteria": _criteria_from_table(go, content.tables["Criteria"]),
        }
    else:
        from screenkit.plots.funnel import criteria_figure, funnel_figure

        figs = {
            "Funnel": funnel_figure(content.funnel),
            "Criteria": criteria_figure(content.funnel),
        }
    out = {}
    first = True
    for name, fig in figs.items():
        out[name] = fig.to_html(
            full_html=False,
            include_plotlyjs=first,  # inline (never a CDN), once
            config={"displaylogo": False},
        )
        first = False
    return out


def _shown(values) -> list:
    return [v if isinstance(v, int | float) and not isinstance(v, bool) else None for v in values]


def _funnel_from_table(go, table: Table):
    """Remaining per step from the display table (hidden counts are not drawn)."""
    f = table.frame
    y = [html.escape(f"{c} {lab}"[:48]) for c, lab in zip(f["Criterion"], f["Label"], strict=True)]
    x = _shown(f["Remaining"])
    text = [str(v) if v is not None else str(r) for v, r in zip(x, f["Remaining"], strict=True)]
    fig = go.Figure(
        go.Bar(
            x=x,
            y=y,
            orientation="h",
            text=text,
            textposition="outside",
            marker_color=style.css(style.NEUTRAL),
        ),
        layout=dict(
            title="Patients remaining after each criterion (hidden counts not drawn)",
            height=140 + 22 * len(y),
            yaxis={"autorange": "reversed", "type": "category", "automargin": True},
            template="plotly_white",
            margin={"l": 10, "r": 60, "t": 50, "b": 30},
        ),
    )
    return fig


def _criteria_from_table(go, table: Table, top: int = 20):
    f = table.frame[table.frame["In funnel"] == "yes"].copy()
    f["_share"] = [v if isinstance(v, float) else -1.0 for v in f["Share of screen failures"]]
    f = f.sort_values("_share", ascending=False).head(top).iloc[::-1]
    y = [html.escape(f"{c} {lab}"[:40]) for c, lab in zip(f["Criterion"], f["Label"], strict=True)]
    traces = [
        go.Bar(
            x=_shown(f[col]),
            y=y,
            name=col,
            orientation="h",
            marker_color=style.css(style.MEASURE_COLOURS[col]),  # as the workbook's chart
        )
        for col in ("Fails", "Fails only this", "Share of screen failures")
    ]
    return go.Figure(
        traces,
        layout=dict(
            title=f"Cost of each criterion (top {len(f)}; hidden counts not drawn)",
            barmode="group",
            height=160 + 44 * max(len(f), 1),
            yaxis={"type": "category", "automargin": True},
            template="plotly_white",
            legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"},
        ),
    )


# ---------------------------------------------------------------- recruitment
def recruitment_html(rec: Recruitment) -> str:
    """The ``<section id="recruitment">``: the figures, the fan chart, the tables, notes."""
    e = html.escape
    parts = [
        '<section id="recruitment">',
        "<h2>Recruitment</h2>",
        f'<p class="headline">{e(rec.headline)}</p>',
        table_html(rec.figures, {}),
    ]
    if rec.forecast is not None and rec.cumulative is not None and len(rec.forecast.fan):
        parts.append(
            fan_figure(rec).to_html(
                full_html=False, include_plotlyjs=False, config={"displaylogo": False}
            )
        )
    for table in (rec.sites, rec.months):
        if table is not None:
            parts.append(f"<p><b>{e(table.title)}</b></p><p class='note'>{e(table.note)}</p>")
            parts.append(table_html(table.frame, table.formats, total=table.total))
    if rec.suppression.active:
        parts.append(f"<p class='note'>Small counts: {e(rec.suppression.legend())}.</p>")
    if rec.notes:
        parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in rec.notes) + "</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def fan_figure(rec: Recruitment):
    """Cumulative randomized per month (the counts the tables show), the forecast's
    median and 10%..90% band per month, and the target, from ``rec.cumulative``: the
    numbers of the workbook's chart."""
    import plotly.graph_objects as go

    frame = rec.cumulative
    x = [pd.Period(m, freq="M").to_timestamp() for m in frame["Month"]]
    fan = frame["Forecast median"].notna().to_numpy()
    fx = [d for d, f in zip(x, fan, strict=True) if f]
    low = frame.loc[fan, "Forecast 10%"].tolist()
    high = frame.loc[fan, "Forecast 90%"].tolist()
    traces = [
        go.Scatter(
            x=fx + fx[::-1],
            y=high + low[::-1],
            fill="toself",
            fillcolor="rgba(31, 119, 180, 0.25)",
            line={"width": 0},
            name="80% band (10% to 90%)",
            hoverinfo="skip",
        ),
        go.Scatter(
            x=fx,
            y=frame.loc[fan, "Forecast median"].tolist(),
            mode="lines",
            line={"dash": "dash", "color": "rgb(31, 119, 180)"},
            name="Forecast median",
        ),
        go.Scatter(
            x=x,
            y=[None if pd.isna(v) else v for v in frame["Cumulative randomized"]],
            mode="lines+markers",
            line={"color": "black"},
            connectgaps=False,
            name="Randomized (cumulative)",
        ),
        go.Scatter(
            x=[x[0], x[-1]],
            y=[rec.target, rec.target],
            mode="lines",
            line={"color": "firebrick", "dash": "dot"},
            name=f"Target {rec.target}",
        ),
    ]
    median = rec.median_date.isoformat() if rec.median_date else "not reached"
    return go.Figure(
        traces,
        layout=dict(
            title=f"Cumulative randomized: target {rec.target}, forecast median {median}",
            xaxis={"title": "month"},
            yaxis={"title": "patients randomized", "rangemode": "tozero"},
            legend={"orientation": "h", "y": -0.2},
            template="plotly_white",
        ),
    )
