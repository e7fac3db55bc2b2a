"""One colour scheme and one rounding rule across the workbook, the HTML report and the
terminal (screenkit.style)."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from screenkit import style
from screenkit.datasets import load_sample
from screenkit.evaluate import evaluate
from screenkit.export import export_excel, export_html
from screenkit.export.html import table_html
from screenkit.funnel import funnel


@pytest.mark.parametrize(
    ("fraction", "text"),
    [(26 / 32, "81.3%"), (73 / 400, "18.3%"), (29 / 400, "7.3%"), (1 / 3, "33.3%"), (0.0, "0.0%")],
)
def test_percent_rounds_half_away_from_zero_like_excel(fraction, text):
    assert style.percent(fraction) == text
    assert f"{100 * 26 / 32:.1f}" == "81.2"  # what Python alone would print


def test_html_table_and_headline_use_the_rule():
    frame = pd.DataFrame({"Rate": [26 / 32], "Share": [2.25]})
    html = table_html(frame, {"Rate": "pct", "Share": "decimal"})
    assert "81.3%" in html and ">2.3<" in html
    f = funnel(evaluate(load_sample(), "NCT07103668"))
    assert "73 eligible (18.3%)" in f.headline_text()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("style")
    result = evaluate(load_sample(), "NCT07103668")
    f = funnel(result)
    book = export_excel(f, folder / "w.xlsx", evaluation=result)
    page = export_html(f, folder / "r.html", evaluation=result, suppress_below=5)
    return openpyxl.load_workbook(book), page.read_text(encoding="utf-8")


def test_summary_chart_colours_and_legend_follow_the_bars(outputs):
    wb, _ = outputs
    (chart,) = wb["Summary"]._charts
    titles = [s.tx.strRef.f for s in chart.series]
    names = [wb["Summary"][ref.split("!")[1].replace("$", "")].value for ref in titles]
    # spreadsheets list a bar chart's legend bottom-up: series bottom bar first
    assert names == ["Share of screen failures", "Fails only this", "Fails"]
    colours = [s.graphicalProperties.solidFill.srgbClr for s in chart.series]
    assert colours == [style.MEASURE_COLOURS[n] for n in names]
    assert chart.x_axis.scaling.orientation == "minMax"  # categories bottom-up too
    # so the chart data runs bottom-up: the top reason is its last row
    cat = chart.series[0].cat
    cats = (cat.strRef or cat.numRef).f.split("!")[1].replace("$", "").split(":")
    ws = wb["Summary"]
    assert ws[cats[1]].value.startswith("I3a") and ws[cats[0]].value.startswith("I7e")


def test_html_figures_use_the_same_colours(outputs):
    _, text = outputs
    for name in ("Fails", "Fails only this", "Share of screen failures"):
        assert style.css(style.MEASURE_COLOURS[name]) in text, name
    assert style.css(style.NAVY) in text
