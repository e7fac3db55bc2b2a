"""Funnel figures: the numbers in each figure are the API's numbers (not pixels)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from screenkit.datasets import load_sample
from screenkit.errors import ScreenkitError
from screenkit.evaluate import evaluate
from screenkit.funnel import funnel
from screenkit.plots.funnel import (
    FIGURE_SPECS,
    combinations_figure,
    criteria_figure,
    funnel_figure,
    near_miss_figure,
    near_miss_table,
    parameter_grid,
    site_heatmap,
    step_label,
    sweep_table,
    threshold_sweep,
)
from screenkit.style import percent


@pytest.fixture(scope="module")
def data():
    return load_sample()


@pytest.fixture(scope="module")
def result(data):
    return evaluate(data, "NCT07103668")


@pytest.fixture(scope="module")
def base(result):
    return funnel(result)


@pytest.fixture(scope="module")
def reordered(result):
    return funnel(result, order=["E7", "I5b", "I6"], exclude=["I3a", "E26"])


@pytest.mark.parametrize("which", ["base", "reordered"])
def test_funnel_figure_holds_the_sequential_attrition(which, request):
    f = request.getfixturevalue(which)
    trace = funnel_figure(f).data[0]
    assert trace.type == "funnel"
    assert list(trace.x) == [f.screened, *f.steps["remaining"].tolist()]
    assert trace.y[0] == "Screened"
    assert [y.split(" ")[0] for y in trace.y[1:]] == list(f.order)
    assert list(trace.customdata) == [0, *f.steps["excluded"].tolist()]
    assert trace.x[-1] == f.eligible + f.pending
    pct = 100 * f.steps["remaining"].iloc[0] / f.screened
    # rounded half away from zero (screenkit.style), as the workbook's 0.0% cells show it
    assert trace.text[1] == f"{f.steps['remaining'].iloc[0]:,} ({percent(pct / 100)})"


def test_funnel_figure_title_is_the_headline(base):
    assert funnel_figure(base).layout.title.text == base.headline_text()


def test_switched_off_criteria_leave_the_funnel(reordered):
    y = funnel_figure(reordered).data[0].y
    assert len(y) == 1 + len(reordered.order)
    assert not any(label.startswith(("I3a ", "E26 ")) for label in y)
    assert y[1].startswith("E7 ") and y[2].startswith("I5b ") and y[3].startswith("I6 ")


@pytest.mark.parametrize("which", ["base", "reordered"])
def test_criteria_figure_bars_equal_the_criteria_table(which, request):
    f = request.getfixturevalue(which)
    fig = criteria_figure(f, top=12)
    table = f.criteria.set_index("criterion")
    ids = list(fig.data[0].customdata)
    assert len(ids) == 12
    assert set(ids) <= set(f.order)  # only active criteria
    # largest attribution at the top (plotly draws the last category at the top)
    top = f.criteria[f.criteria["active"]].sort_values("attribution", ascending=False)
    assert ids[-1] == top["criterion"].iloc[0]
    names = ["fails", "fails_only", "attribution", "unknown"]
    for trace, column in zip(fig.data, names, strict=True):
        np.testing.assert_allclose(trace.x, table.loc[ids, column].to_numpy(dtype=float))


def test_combinations_figure_matches_combinations(base):
    fig = combinations_figure(base, top=8)
    table = base.combinations(8)
    bars, grid, _lines, dots = fig.data
    assert list(bars.y) == table["patients"].tolist()
    assert list(bars.x) == [f"#{i}" for i in range(1, 9)]
    # the dark dots of column #i are exactly the criteria of combination i
    rows = {label.split(" ")[0]: label for label in grid.y}
    for i, criteria in enumerate(table["criteria"]):
        members = {y.split(" ")[0] for x, y in zip(dots.x, dots.y, strict=True) if x == f"#{i + 1}"}
        assert members == set(criteria.split("; "))
        assert members <= set(rows)


def test_site_heatmap_is_the_fail_rate_per_site(reordered):
    trace = site_heatmap(reordered).data[0]
    fails = reordered.fails_by("site_id")[list(reordered.order)]
    screened = reordered.by_site().set_index("site_id")["screened"]
    assert list(trace.x) == list(reordered.order)
    assert list(trace.y) == [str(s) for s in fails.index]
    np.testing.assert_allclose(trace.z, fails.div(screened, axis=0).to_numpy() * 100)
    np.testing.assert_array_equal(trace.text, fails.to_numpy())


def test_figures_survive_an_empty_selection(result):
    empty = funnel(result.patterns().filter(site_id=[]))
    assert empty.screened == 0
    for make in (funnel_figure, criteria_figure, combinations_figure, site_heatmap):
        assert isinstance(make(empty), go.Figure)


@pytest.mark.parametrize("name", list(FIGURE_SPECS))
def test_specs_draw_the_same_figures(name, reordered):
    figure = {
        "funnel": funnel_figure,
        "criteria": criteria_figure,
        "heatmap": site_heatmap,
        "combinations": combinations_figure,
    }[name](reordered)
    assert go.Figure(**FIGURE_SPECS[name](reordered)) == figure
    assert figure.layout.template.layout.paper_bgcolor == "white"  # layout in constructor


@pytest.mark.parametrize(
    ("parameter", "values"),
    [("lesion_max_cm", [3, 5, 7, 10]), ("spo2_max_excluded_pct", [90, 93, 95]), ("hb_min", None)],
)
def test_threshold_sweep_equals_evaluating_each_value(data, result, parameter, values):
    table = sweep_table(result, parameter, values)
    grid = values if values is not None else parameter_grid(result, parameter)
    assert table[parameter].tolist() == [float(v) for v in grid]
    for value in list(grid)[:: max(1, len(grid) // 4)]:
        expected = evaluate(data, "NCT07103668", **{parameter: value}).counts()
        row = table.set_index(parameter).loc[float(value)]
        assert row["eligible"] == expected["eligible"]
        assert row["screen_failed"] == expected["screen_failed"]
        assert row["pending"] == expected["pending"]
    fig = threshold_sweep(result, parameter, values)
    assert list(fig.data[0].y) == table["eligible"].tolist()
    assert list(fig.data[1].y) == table["pending"].tolist()
    assert fig.layout.shapes[0].x0 == result.parameters[parameter]


def test_threshold_sweep_respects_switched_off_criteria(data, result):
    table = sweep_table(result, "lesion_max_cm", [4, 7], exclude=["I3a"])
    for value, row in zip([4, 7], table.itertuples(), strict=True):
        f = funnel(evaluate(data, "NCT07103668", lesion_max_cm=value), exclude=["I3a"])
        assert (row.eligible, row.screen_failed, row.pending) == (
            f.eligible,
            f.screen_failed,
            f.pending,
        )


@pytest.mark.parametrize(
    ("criterion", "parameter"), [("I5b", "lesion_max_cm"), ("E7", "spo2_max_excluded_pct")]
)
def test_near_miss_is_the_nearest_passing_threshold(data, result, criterion, parameter):
    table = near_miss_table(result, criterion)
    failing = (~result.statuses[criterion]).fillna(False)
    assert len(table) == int(failing.sum())
    step = result.protocol.parameters[parameter].step
    current = result.parameters[parameter]
    for row in table.dropna(subset=["passes_at"]).head(5).itertuples():
        at = float(row.passes_at)
        position = data.data.index[data.data["patient_id"] == row.patient_id][0]
        moved = evaluate(data, "NCT07103668", **{parameter: at}).statuses[criterion]
        assert bool(moved.loc[position])  # passes there
        closer = at - np.sign(at - current) * step
        if closer != current:
            still = evaluate(data, "NCT07103668", **{parameter: closer}).statuses[criterion]
            assert not bool(still.fillna(False).loc[position])  # and not one step nearer
    change = table["change"].abs().astype(float).fillna(np.inf).to_numpy()
    assert (np.diff(change) >= 0).all()  # nearest misses first


def test_near_miss_table_shows_the_values_the_rule_reads(result):
    table = near_miss_table(result, "I5b")
    assert "largest_lesion_cm" in table.columns
    assert (table["largest_lesion_cm"].astype(float) > 5).all()
    assert (table["passes_at"].astype(float) >= table["largest_lesion_cm"].astype(float)).all()


def test_near_miss_figure_counts_the_table(result):
    table = near_miss_table(result, "I3a")
    fig = near_miss_figure(result, "I3a")
    assert sum(fig.data[0].y) == int(table["passes_at"].notna().sum())
    assert max(fig.data[1].y) == int(table["passes_at"].notna().sum())
    assert fig.layout.shapes[0].x0 == result.parameters["cldn18_min_pct"]


def test_near_miss_needs_a_threshold_criterion(result):
    with pytest.raises(ScreenkitError, match="no threshold parameter"):
        near_miss_table(result, "I10")
    with pytest.raises(ScreenkitError, match="not used by criterion"):
        near_miss_table(result, "I5b", parameter="hb_min")
    with pytest.raises(ScreenkitError, match="no parameter"):
        sweep_table(result, "nope")


def test_figures_leave_the_evaluation_untouched(result):
    before = result.statuses.copy()
    threshold_sweep(result, "lesion_max_cm")
    near_miss_figure(result, "I5b")
    assert result.parameters["lesion_max_cm"] == 5
    assert result.statuses.equals(before)


def test_step_label_keeps_the_id():
    assert step_label("E7", "SpO2 <= 95% on room air") == "E7 SpO2 <= 95% on room air"
    assert step_label("E7", "x" * 80, 20).startswith("E7 ")
    assert len(step_label("E7", "x" * 80, 20)) == 20
