"""ScreeningExplorer: every control gives the numbers the Python API gives, reorder /
toggle / filter never touch patient rows (only the drill-down table reads the rows of
its own criterion), and the input is never modified."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go
import pytest

from screenkit.cli import build_parser, main
from screenkit.cli.explore import dashboard_path, environment, voila_argv
from screenkit.datasets import load_sample, sample_path
from screenkit.errors import ScreenkitError
from screenkit.evaluate import Evaluation, evaluate
from screenkit.funnel import PatternCounts, funnel
from screenkit.plots.funnel import FIGURE_SPECS
from screenkit.widgets import ExplorerState, ScreeningExplorer

PROTOCOL = "NCT07103668"


@pytest.fixture(scope="module")
def data():
    return load_sample()


@pytest.fixture
def explorer(data):
    return ScreeningExplorer(data, PROTOCOL)


def assert_shows(explorer: ScreeningExplorer, expected) -> None:
    """Headline, funnel figure and ``current`` all equal the expected Funnel."""
    assert explorer.current.headline() == expected.headline()
    assert expected.headline_text() in explorer.headline.value
    trace = explorer.figures["funnel"].data[0]
    assert list(trace.x) == [expected.screened, *expected.steps["remaining"].tolist()]
    assert trace.y[0] == "Screened"
    assert [y.split(" ")[0] for y in trace.y[1:]] == list(expected.order)
    assert trace.x[-1] == expected.eligible + expected.pending


# ---------------------------------------------------------------- the contract
def test_initial_view_is_the_protocol_funnel(explorer, data):
    assert_shows(explorer, funnel(evaluate(data, PROTOCOL)))
    assert "400 screened: 73 eligible (18.3%)" in explorer.headline.value
    assert "screenkit-headline" in explorer.headline._dom_classes
    assert set(explorer.figures) >= {"funnel", "criteria", "heatmap", "combinations"}
    assert isinstance(explorer.state, ExplorerState)
    assert isinstance(explorer.widget, w.VBox)
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_one_slider_per_parameter_generated_from_the_protocol(explorer):
    params = explorer.protocol.parameters
    assert set(explorer.sliders) == set(params)
    for name, slider in explorer.sliders.items():
        p = params[name]
        assert isinstance(slider, w.FloatSlider)
        assert (slider.min, slider.max, slider.value) == (p.min, p.max, p.value)
        assert slider.step == p.step
        assert slider.description == p.label
        assert slider.continuous_update is False
        assert slider.readout is True
        assert f"screenkit-param-{name}" in slider._dom_classes
    for c in explorer.protocol.criteria:
        assert f"screenkit-toggle-{c.id}" in explorer.toggles[c.id]._dom_classes


@pytest.mark.parametrize(
    ("name", "value"),
    [("lesion_max_cm", 7), ("spo2_max_excluded_pct", 93), ("hb_min", 7.5), ("age_min_years", 21)],
)
def test_a_threshold_gives_the_api_funnel(explorer, data, name, value):
    explorer.set_parameter(name, value)
    assert_shows(explorer, funnel(evaluate(data, PROTOCOL, **{name: value})))
    assert explorer.sliders[name].value == value
    assert f"{name} = {value:g}" in explorer.headline.value


def test_moving_a_slider_is_setting_the_parameter(explorer, data):
    explorer.sliders["lesion_max_cm"].value = 7
    explorer.sliders["spo2_max_excluded_pct"].value = 93
    expected = funnel(evaluate(data, PROTOCOL, lesion_max_cm=7, spo2_max_excluded_pct=93))
    assert_shows(explorer, expected)
    assert explorer.state.parameters["lesion_max_cm"] == 7
    explorer._reset_button.click()
    assert_shows(explorer, funnel(evaluate(data, PROTOCOL)))
    assert explorer.sliders["lesion_max_cm"].value == 5


def test_slider_float_noise_is_rounded(explorer, data):
    explorer.sliders["lym_min"].value = 0.1 + 0.2  # 0.30000000000000004
    assert explorer.state.parameters["lym_min"] == 0.3
    assert_shows(explorer, funnel(evaluate(data, PROTOCOL, lym_min=0.3)))


def test_a_threshold_change_re_evaluates_once(explorer, monkeypatch):
    calls = {"with_parameters": 0, "patterns": 0}
    with_parameters, patterns = Evaluation.with_parameters, Evaluation.patterns

    def spy_with(self, **kw):
        calls["with_parameters"] += 1
        return with_parameters(self, **kw)

    def spy_patterns(self, *a, **kw):
        calls["patterns"] += 1
        return patterns(self, *a, **kw)

    monkeypatch.setattr(Evaluation, "with_parameters", spy_with)
    monkeypatch.setattr(Evaluation, "patterns", spy_patterns)
    explorer.set_parameter("lesion_max_cm", 8)
    assert calls == {"with_parameters": 1, "patterns": 1}


def test_bad_parameters_are_refused(explorer):
    with pytest.raises(ScreenkitError, match="no parameter"):
        explorer.set_parameter("lesion_cm", 7)
    with pytest.raises(ScreenkitError, match="within its range"):
        explorer.set_parameter("lesion_max_cm", 99)


def test_toggle_switches_a_criterion_off_and_on(explorer, data):
    result = evaluate(data, PROTOCOL)
    explorer.toggle("I3a", False)
    assert_shows(explorer, funnel(result, exclude=["I3a"]))
    assert explorer.toggles["I3a"].value is False
    assert "switched off: I3a" in explorer.headline.value
    explorer.toggles["E3"].value = False  # the checkbox does the same
    assert_shows(explorer, funnel(result, exclude=["I3a", "E3"]))
    explorer.toggle("I3a", True)
    assert_shows(explorer, funnel(result, exclude=["E3"]))
    assert explorer.toggles["I3a"].value is True


def test_move_reorders_the_funnel(explorer, data):
    result = evaluate(data, PROTOCOL)
    explorer.move("E7", -3)
    order = list(explorer.state.order)
    assert order.index("E7") == result.protocol.ids.index("E7") - 3
    assert_shows(explorer, funnel(result, order=order))
    explorer.set_order(["I5b", "I6"])
    assert explorer.state.order[:2] == ("I5b", "I6")
    assert_shows(explorer, funnel(result, order=explorer.state.order))
    explorer.order_list.value = "I6"
    explorer._order_buttons.children[0].click()  # Up
    assert explorer.state.order[:2] == ("I6", "I5b")
    assert explorer.order_list.value == "I6"
    assert explorer.order_list.options[0][1] == "I6"
    explorer.move("I1", -5)  # clamps at the top
    assert explorer.state.order[0] == "I1"


class RowGuard:
    """Stands in for ``explorer.evaluation``: the protocol and the thresholds in force are
    free to read; anything else (``data``, ``statuses``, ``derived``, ``matrices()``,
    ``status``, ``patterns()``, ``with_parameters()``, ...) reaches the patient rows and
    raises. With ``allow_rows`` set, ``data``, ``derived`` and single columns of
    ``statuses`` (recorded in ``statuses_read``) may be read, nothing else."""

    FREE = frozenset({"protocol", "parameters"})
    ROWS = frozenset({"data", "statuses", "derived"})

    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.allow_rows = False
        self.statuses_read: list[str] = []

    def __getattr__(self, name: str):
        if name in self.FREE:
            return getattr(self.evaluation, name)
        if not (self.allow_rows and name in self.ROWS):
            raise AssertionError(f"patient rows touched: evaluation.{name}")
        if name == "statuses":
            return _ColumnRecorder(self.evaluation.statuses, self.statuses_read)
        return getattr(self.evaluation, name)


class _ColumnRecorder:
    def __init__(self, frame: pd.DataFrame, seen: list[str]) -> None:
        self.frame, self.seen = frame, seen

    def __getitem__(self, key):
        self.seen.append(key)
        return self.frame[key]

    def __getattr__(self, name: str):
        raise AssertionError(f"statuses.{name} read: more than one criterion's column")


class Untouchable:
    """Stands in for the explorer's per-patient site and month arrays."""

    def _refuse(self, *args, **kwargs):
        raise AssertionError("per-patient site / month array touched")

    __len__ = __iter__ = __getitem__ = __array__ = __eq__ = __ne__ = _refuse
    __hash__ = None

    def __getattr__(self, name: str):
        self._refuse()


def guard_rows(explorer: ScreeningExplorer, monkeypatch) -> RowGuard:
    """Every way to the patient rows raises: the evaluation (see :class:`RowGuard`), the
    per-patient group arrays, a new ``evaluate()`` and a new pattern histogram."""

    def refuse(*args, **kwargs):
        raise AssertionError("patient rows touched")

    guard = RowGuard(explorer.evaluation)
    monkeypatch.setattr(explorer.model, "evaluation", guard)
    monkeypatch.setattr(explorer.model, "_row_sites", Untouchable())
    monkeypatch.setattr(explorer.model, "_row_months", Untouchable())
    monkeypatch.setattr("screenkit.widgets.model.evaluate", refuse)
    monkeypatch.setattr(Evaluation, "patterns", refuse)
    monkeypatch.setattr(Evaluation, "with_parameters", refuse)
    monkeypatch.setattr(PatternCounts, "from_evaluation", refuse)
    return guard


def test_reorder_and_toggle_never_touch_rows(explorer, data, monkeypatch):
    """Order and toggles change only the funnel, computed from the pattern histogram;
    the drill-down (left on) lists who fails its criterion whatever the order or
    toggles, so it is not re-rendered either."""
    explorer.state.drilldown = "I5b"
    table = explorer.drilldown_table.value
    guard_rows(explorer, monkeypatch)
    explorer.toggle("I2b", False)
    explorer.toggles["E7"].value = False  # the checkbox
    explorer.move("E7", -10)
    explorer.set_order(["I5b", "I6"])
    explorer.order_list.value = "I6"
    explorer._order_buttons.children[0].click()  # Up
    explorer._order_buttons.children[3].click()  # Protocol order
    explorer.toggle("I2b", True)
    assert explorer.drilldown_table.value == table
    monkeypatch.undo()
    result = evaluate(data, PROTOCOL)
    assert_shows(explorer, funnel(result, order=explorer.state.order, exclude=["E7"]))


@pytest.mark.parametrize("drilldown", ["", "I5b"])
def test_filters_touch_rows_only_for_the_drill_down(explorer, data, monkeypatch, drilldown):
    """The funnel of a site / date filter comes from the pattern histogram. The drill-down
    table is a row view by nature: it may read the rows of the filtered patients, for its
    own criterion's status column only, and only while it renders."""
    explorer.state.drilldown = drilldown
    render = explorer._render_drilldown
    model = explorer.model
    sites, months = model._row_sites, model._row_months
    guard = guard_rows(explorer, monkeypatch)
    renders = []

    def render_with_rows():
        renders.append(explorer.state.drilldown)
        guard.allow_rows = True
        model._row_sites, model._row_months = sites, months
        try:
            render()
        finally:
            guard.allow_rows = False
            model._row_sites, model._row_months = Untouchable(), Untouchable()

    monkeypatch.setattr(explorer, "_render_drilldown", render_with_rows)
    explorer.filter(sites=["S01", "S03"], months=("2025-09", "2026-03"))
    explorer.site_filter.value = ("S01",)
    assert renders and set(renders) == {drilldown}
    assert set(guard.statuses_read) <= {drilldown}
    assert bool(guard.statuses_read) == bool(drilldown)
    monkeypatch.undo()
    frame = data.data
    month = frame["screening_date"].dt.strftime("%Y-%m")
    subset = frame[(frame["site_id"] == "S01") & (month >= "2025-09") & (month <= "2026-03")]
    expected = evaluate(subset, PROTOCOL)
    assert_shows(explorer, funnel(expected))
    if drilldown:
        failing = int((~expected.statuses[drilldown]).fillna(False).sum())
        assert f"{failing} patients fail {drilldown}" in explorer.drilldown_table.value


def test_site_filter_equals_the_subset(explorer, data):
    explorer.site_filter.value = ("S01", "S02")
    subset = data.data[data.data["site_id"].isin(["S01", "S02"])]
    expected = funnel(evaluate(subset, PROTOCOL))
    assert_shows(explorer, expected)
    assert expected.screened == 51
    explorer.site_filter.value = ()
    assert explorer.current.screened == 400


def test_month_filter_equals_the_subset(explorer, data):
    months = list(explorer.month_filter.options)
    explorer.month_filter.value = (months[2], months[5])
    assert explorer.state.months == (months[2], months[5])
    screened = data.data["screening_date"].dt.strftime("%Y-%m")
    subset = data.data[(screened >= months[2]) & (screened <= months[5])]
    assert_shows(explorer, funnel(evaluate(subset, PROTOCOL)))
    explorer.month_filter.value = (months[0], months[-1])
    assert explorer.state.months == ()
    assert explorer.current.screened == 400


def test_filters_combine_with_thresholds_and_toggles(explorer, data):
    explorer.filter(sites=["S03"])
    explorer.set_parameter("lesion_max_cm", 7)
    explorer.toggle("I3a", False)
    subset = data.data[data.data["site_id"] == "S03"]
    assert_shows(explorer, funnel(evaluate(subset, PROTOCOL, lesion_max_cm=7), exclude=["I3a"]))
    assert explorer.site_filter.value == ("S03",)


def test_other_figures_follow_the_state(explorer, data):
    explorer.set_parameter("lesion_max_cm", 7)
    explorer.toggle("I3a", False)
    expected = funnel(evaluate(data, PROTOCOL, lesion_max_cm=7), exclude=["I3a"])
    heat = explorer.figures["heatmap"].data[0]
    assert "I3a" not in heat.x
    assert list(explorer.figures["combinations"].data[0].y) == (
        expected.combinations(15)["patients"].tolist()
    )
    criteria = explorer.figures["criteria"].data[0]
    table = expected.criteria.set_index("criterion")
    assert list(criteria.x) == table.loc[list(criteria.customdata), "fails"].tolist()


def test_figures_updated_in_place_equal_fresh_figures(explorer):
    widgets = {name: explorer.figures[name] for name in FIGURE_SPECS}
    explorer.set_parameter("lesion_max_cm", 7)
    explorer.toggle("I3a", False)
    explorer.move("E7", -5)
    explorer.filter(sites=["S03", "S04"])
    explorer.toggle("I3a", True)
    for name, make in FIGURE_SPECS.items():
        assert explorer.figures[name] is widgets[name]  # the same widget, updated
        fresh = go.Figure(**make(explorer.current))
        shown = explorer.figures[name]
        for a, b in zip(shown.data, fresh.data, strict=True):
            a, b = a.to_plotly_json(), b.to_plotly_json()
            a.pop("uid", None)
            assert a.keys() == b.keys()
            for key in a:
                assert str(a[key]) == str(b[key]), (name, key)
        assert shown.layout.height == fresh.layout.height
        assert shown.layout.title.text == fresh.layout.title.text


PLOTLY_MESSAGES = ("restyle", "relayout", "update", "addTraces", "deleteTraces", "moveTraces")


def show_in_page(explorer: ScreeningExplorer) -> None:
    """Display the explorer and report each figure drawn, as plotly's page view does
    after ``newPlot`` (``_js2py_layoutDelta``)."""
    explorer._repr_mimebundle_()
    for figure in explorer.figures.values():
        figure._js2py_layoutDelta = {"layout_delta": {}, "layout_edit_id": -1}


def test_a_figure_never_drawn_in_the_page_is_replaced_at_the_first_change(explorer, data):
    """The flaky Voila test: a figure whose page view never reports drawing is dead
    (its page copy never follows the kernel); the first change after display replaces
    it by a fresh widget in its box, once; a figure that reported is updated in place."""
    explorer._repr_mimebundle_()
    drawn = explorer.figures["criteria"]
    drawn._js2py_layoutDelta = {"layout_delta": {}, "layout_edit_id": -1}
    dead = explorer.figures["funnel"]
    explorer.set_parameter("hb_min", 7)
    fresh = explorer.figures["funnel"]
    assert fresh is not dead and explorer.figures["criteria"] is drawn
    assert explorer._figures.boxes["funnel"].children == (fresh,)
    assert_shows(explorer, funnel(evaluate(data, PROTOCOL, hb_min=7)))
    explorer.set_parameter("hb_min", 7.5)  # replaced once only
    assert explorer.figures["funnel"] is fresh
    assert_shows(explorer, funnel(evaluate(data, PROTOCOL, hb_min=7.5)))


def record_figure_messages(explorer: ScreeningExplorer, monkeypatch) -> dict[str, list[str]]:
    """Figure name -> the kinds of messages its FigureWidget sends to the front end.

    Outside ``batch_update()`` every property set sends its own ``restyle`` / ``relayout``
    message; inside it, the changes leave as one ``update`` message when the block ends.
    """
    sent: dict[str, list[str]] = {name: [] for name in explorer.figures}
    for name, figure in explorer.figures.items():
        for kind in PLOTLY_MESSAGES:
            method = getattr(figure, f"_send_{kind}_msg")

            def spy(*args, _send=method, _log=sent[name], _kind=kind, **kwargs):
                _log.append(_kind)
                return _send(*args, **kwargs)

            monkeypatch.setattr(figure, f"_send_{kind}_msg", spy)
    return sent


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda e: e.set_parameter("lesion_max_cm", 7), id="threshold"),
        pytest.param(lambda e: setattr(e.sliders["hb_min"], "value", 7.5), id="slider"),
        pytest.param(lambda e: e.toggle("I3a", False), id="toggle"),
        pytest.param(lambda e: e.move("E7", -3), id="reorder"),
        pytest.param(lambda e: e.filter(sites=["S01", "S02"]), id="filter"),
    ],
)
def test_figures_change_in_one_batch_update(explorer, monkeypatch, change):
    show_in_page(explorer)  # displayed and drawn: figures are updated in place from now on
    sent = record_figure_messages(explorer, monkeypatch)
    before = list(explorer.figures["funnel"].data[0].x)
    change(explorer)
    assert list(explorer.figures["funnel"].data[0].x) != before
    assert sent["funnel"] == ["update"], sent
    for name, kinds in sent.items():
        assert kinds in ([], ["update"]), (name, kinds)  # never a message per property


def test_a_threshold_change_updates_every_figure_once(explorer, monkeypatch):
    show_in_page(explorer)
    sent = record_figure_messages(explorer, monkeypatch)
    explorer.set_parameter("lesion_max_cm", 7)
    assert sent == {name: ["update"] for name in explorer.figures}


# ---------------------------------------------------------------- drill-down
def _rows(html: str) -> list[list[str]]:
    body = html.split("<tbody>")[1]
    return [re.findall(r"<td>(.*?)</td>", tr) for tr in body.split("<tr>")[1:]]


def test_drill_down_lists_failing_patients_with_masked_ids(explorer, data):
    explorer.drilldown.value = "I5b"
    result = evaluate(data, PROTOCOL)
    failing = int((~result.statuses["I5b"]).fillna(False).sum())
    html = explorer.drilldown_table.value
    assert f"{failing} patients fail I5b" in html
    rows = _rows(html)
    assert len(rows) == min(failing, 50)
    assert all(re.fullmatch(r"P\d{4}", row[0]) for row in rows)
    assert not any(pid in html for pid in data.data["patient_id"])
    assert "largest_lesion_cm" in html
    explorer.set_parameter("lesion_max_cm", 7)
    failing7 = int((~evaluate(data, PROTOCOL, lesion_max_cm=7).statuses["I5b"]).fillna(False).sum())
    assert f"{failing7} patients fail I5b" in explorer.drilldown_table.value


def test_drill_down_follows_the_filters(explorer, data):
    explorer.drilldown.value = "I3a"
    explorer.filter(sites=["S01"])
    subset = data.data[data.data["site_id"] == "S01"]
    failing = int((~evaluate(subset, PROTOCOL).statuses["I3a"]).fillna(False).sum())
    assert f"{failing} patients fail I3a" in explorer.drilldown_table.value


def test_unmasked_drill_down_shows_screening_ids(data):
    explorer = ScreeningExplorer(data, PROTOCOL, mask_ids=False)
    explorer.state.drilldown = "I5b"
    rows = _rows(explorer.drilldown_table.value)
    assert rows and all(row[0] in set(data.data["patient_id"]) for row in rows)
    assert explorer.drilldown.value == "I5b"


# ---------------------------------------------------------------- inputs
@pytest.mark.parametrize("kind", ["ScreeningData", "DataFrame"])
def test_the_input_is_never_modified(data, kind):
    frame = data.data.copy(deep=True)
    given = data if kind == "ScreeningData" else data.data
    explorer = ScreeningExplorer(given, PROTOCOL)
    explorer.set_parameter("lesion_max_cm", 7)
    explorer.toggle("I3a", False)
    explorer.move("E7", -2)
    explorer.filter(sites=["S02"])
    explorer.drilldown.value = "E7"
    pd.testing.assert_frame_equal(data.data, frame)
    assert explorer.current.screened == int((frame["site_id"] == "S02").sum())


# ---------------------------------------------------------------- the dashboard
def test_dashboard_notebook_builds_the_explorer(monkeypatch):
    args = build_parser().parse_args(
        ["explore", str(sample_path()), "--param", "lesion_max_cm=7", "--no-browser"]
    )
    env = environment(args)
    assert env["SCREENKIT_EXPLORE_INPUT"] == str(sample_path().resolve())
    assert json.loads(env["SCREENKIT_EXPLORE_OPTIONS"])["parameters"] == {"lesion_max_cm": 7.0}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    notebook = json.loads(dashboard_path().read_text(encoding="utf-8"))
    source = "".join(notebook["cells"][0]["source"])
    namespace: dict = {}
    exec(compile(source, str(dashboard_path()), "exec"), namespace)  # our own template
    explorer = namespace["explorer"]
    assert explorer.state.parameters["lesion_max_cm"] == 7
    assert "80 eligible" in explorer.headline.value
    assert explorer.mask_ids is True
    panel = explorer.forecast_panel  # the dashboard shows the forecast, at lesion_max_cm=7
    assert panel.result.median_date.date().isoformat() in panel.widget.value


def test_voila_command_line_is_localhost_without_token():
    argv = voila_argv(Path("x.ipynb"), 8870, open_browser=False)
    assert "--Voila.ip=127.0.0.1" in argv
    assert "--Voila.port=8870" in argv
    assert "--no-browser" in argv
    assert "--Voila.auto_token=False" in argv
    # kernels of closed pages are culled by default; an open page's never
    assert "--MappingKernelManager.cull_idle_timeout=120" in argv
    assert "--MappingKernelManager.cull_connected=False" in argv
    assert not any("cull" in a for a in voila_argv(Path("x.ipynb"), 1, False, cull_after=0))


def test_explore_refuses_a_negative_cull_after(capsys):
    assert main(["explore", str(sample_path()), "--cull-after", "-1", "--no-browser"]) == 2
    assert "--cull-after" in capsys.readouterr().err


def test_explore_fails_fast_on_a_bad_input(tmp_path, capsys):
    status = main(["explore", str(tmp_path / "missing.xlsx"), "--no-browser"])
    assert status == 2
    assert "not found" in capsys.readouterr().err.lower()
    assert "SCREENKIT_EXPLORE_INPUT" not in os.environ


def test_explore_refuses_a_threshold_outside_the_slider(capsys):
    status = main(["explore", str(sample_path()), "--param", "lesion_max_cm=40", "--no-browser"])
    assert status == 2
    assert "lesion_max_cm" in capsys.readouterr().err


def test_a_log_without_sites_or_dates_still_explores():
    frame = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C"],
            "largest_lesion_cm": pd.array([3.0, 6.0, 8.0], dtype="Float64"),
        }
    )
    explorer = ScreeningExplorer(frame, PROTOCOL, mask_ids=False)
    assert explorer.month_filter.disabled
    assert len(explorer.site_filter.options) == 1
    explorer.site_filter.value = tuple(explorer.site_filter.options)
    explorer.drilldown.value = "I5b"
    assert explorer.current.screened == 3
    assert "2 patients fail I5b" in explorer.drilldown_table.value
    assert_shows(explorer, funnel(evaluate(frame, PROTOCOL)))


def test_starting_thresholds(data):
    explorer = ScreeningExplorer(data, PROTOCOL, parameters={"lesion_max_cm": 7})
    assert_shows(explorer, funnel(evaluate(data, PROTOCOL, lesion_max_cm=7)))
    assert explorer.sliders["lesion_max_cm"].value == 7
    explorer._reset_button.click()
    assert_shows(explorer, funnel(evaluate(data, PROTOCOL)))
    with pytest.raises(ScreenkitError, match="within its range"):
        ScreeningExplorer(data, PROTOCOL, parameters={"lesion_max_cm": 40})


def test_changes_before_display_rebuild_the_figures(explorer, data):
    """Voila shows a FigureWidget as constructed: updates made before the first display
    must be in the constructor state of the widgets that get displayed."""
    old = explorer.figures["funnel"]
    explorer.set_parameter("lesion_max_cm", 7)
    show_in_page(explorer)
    new = explorer.figures["funnel"]
    assert new is not old
    expected = funnel(evaluate(data, PROTOCOL, lesion_max_cm=7))
    assert list(new._widget_data[0]["x"]) == [
        expected.screened,
        *expected.steps["remaining"].tolist(),
    ]
    assert new in explorer.widget.children[1].children[1].children
    explorer.set_parameter("lesion_max_cm", 8)  # after display: updated in place
    assert explorer.figures["funnel"] is new
    assert_shows(explorer, funnel(evaluate(data, PROTOCOL, lesion_max_cm=8)))


def test_labels_follow_the_threshold_in_every_control(explorer):
    explorer.state.drilldown = "E7"
    explorer.set_parameter("lesion_max_cm", 7)
    order_texts = [text for text, cid in explorer.order_list.options if cid == "I5b"]
    assert "Largest lesion <= 7 cm" in order_texts[0]
    assert "<= 7 cm" in explorer.toggles["I5b"].description
    assert any("<= 7 cm" in text for text, _ in explorer.drilldown.options)
    assert explorer.drilldown.value == "E7" and explorer.state.drilldown == "E7"
    explorer.set_parameter("lesion_max_cm", 5)
    assert "<= 5 cm" in explorer.toggles["I5b"].description


# ---------------------------------------------------------------- criteria off by default
def test_criteria_off_by_default_are_left_out_and_said_so(data):
    explorer = ScreeningExplorer(data, "CT041-ST-01")
    assert explorer.state.order == ("I1", "I2", "I3")
    assert set(explorer.include_boxes) == {"I4", "I5"}
    assert not any(box.value for box in explorer.include_boxes.values())
    assert "left out (off by default" in explorer.headline.value
    assert "I4 ECOG" in explorer.headline.value and "I5 " in explorer.headline.value
    assert_shows(explorer, funnel(evaluate(data, "CT041-ST-01")))


def test_the_include_checkbox_equals_evaluate_include(data):
    explorer = ScreeningExplorer(data, "CT041-ST-01")
    explorer.include_boxes["I4"].value = True  # the checkbox
    with_i4 = funnel(evaluate(data, "CT041-ST-01", include=["I4"]))
    assert with_i4.headline() != funnel(evaluate(data, "CT041-ST-01")).headline()
    assert explorer.state.included == ("I4",)
    assert explorer.state.order == ("I1", "I2", "I3", "I4")
    assert_shows(explorer, with_i4)
    assert "I4 ECOG" not in explorer.headline.value and "I5 " in explorer.headline.value
    assert explorer.toggles["I4"].layout.display is None
    explorer.include("I5")  # the method does the same, in protocol order
    explorer.toggle("I4", False)
    both = evaluate(data, "CT041-ST-01", include=["I4", "I5"])
    assert_shows(explorer, funnel(both, exclude=["I4"]))
    assert explorer.include_boxes["I5"].value is True
    explorer.include("I4", False)  # left out again: gone from order, toggles, exclusions
    assert explorer.state.order == ("I1", "I2", "I3", "I5")
    assert explorer.state.excluded == ()
    assert explorer.toggles["I4"].layout.display == "none"
    assert_shows(explorer, funnel(evaluate(data, "CT041-ST-01", include=["I5"])))


def test_include_keeps_thresholds_order_and_refuses_other_ids(data):
    explorer = ScreeningExplorer(data, "CT041-ST-01", include=["I5"])
    assert explorer.include_boxes["I5"].value is True
    name = "cldn18_min_pct"
    explorer.set_parameter(name, 60)
    explorer.move("I3", -2)
    explorer.include("I4")
    assert explorer.state.order == ("I3", "I1", "I2", "I4", "I5")
    expected = evaluate(data, "CT041-ST-01", include=["I4", "I5"], **{name: 60})
    assert_shows(explorer, funnel(expected, order=explorer.state.order))
    with pytest.raises(ScreenkitError, match="off by default"):
        explorer.include("I1")
    assert ScreeningExplorer(data, PROTOCOL).include_boxes == {}


def test_explore_include_is_checked_as_report_include(monkeypatch, capsys):
    status = main(["explore", str(sample_path()), "--protocol", "CT041-ST-01",
                   "--include", "I9", "--no-browser"])  # fmt: skip
    assert status == 2
    assert "--include" in capsys.readouterr().err
    args = build_parser().parse_args(
        ["explore", str(sample_path()), "--protocol", "CT041-ST-01", "--include", "I4, I5"]
    )
    env = environment(args)
    assert json.loads(env["SCREENKIT_EXPLORE_OPTIONS"])["include"] == ["I4", "I5"]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    notebook = json.loads(dashboard_path().read_text(encoding="utf-8"))
    namespace: dict = {}
    exec(compile("".join(notebook["cells"][0]["source"]), "explore", "exec"), namespace)
    assert namespace["explorer"].state.included == ("I4", "I5")
    assert "left out" not in namespace["explorer"].headline.value


# ---------------------------------------------------------------- the headless model
def test_the_model_runs_without_ipywidgets_or_plotly(tmp_path):
    """ExplorerModel (state, thresholds, evaluation, funnel, drill-down) imports neither
    ipywidgets nor plotly, and gives the API's funnel."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "sys.modules['ipywidgets'] = None; sys.modules['plotly'] = None\n"
        "import screenkit as sk\n"
        "from screenkit.widgets import ExplorerModel\n"
        "data = sk.load_sample()\n"
        "m = ExplorerModel(data, 'NCT07103668')\n"
        "m.set_parameter('lesion_max_cm', 7); m.toggle('E7', False); m.move('I5b', -3)\n"
        "want = sk.funnel(sk.evaluate(data, 'NCT07103668', lesion_max_cm=7),\n"
        "                 order=m.state.order, exclude=['E7'])\n"
        "assert m.current.headline() == want.headline(), (m.current.headline(), want)\n"
        "assert list(m.current.steps['remaining']) == list(want.steps['remaining'])\n"
        "print('ok', m.current.headline_text())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok 400 screened")


def test_the_model_never_calls_the_view(data):
    """One way: the model only notifies subscribers, in the order evaluation -> funnel
    -> drill-down; a model without subscribers still computes."""
    from screenkit.widgets import ExplorerModel

    model = ExplorerModel(data, PROTOCOL)
    events: list[tuple[str, str]] = []
    model.subscribe(lambda event, cause: events.append((event, cause)))
    model.toggle("E7", False)
    assert events == [("funnel", "excluded")]
    events.clear()
    model.filter(sites=["S01"])
    assert ("funnel", "sites") in events and ("drilldown", "sites") in events
    events.clear()
    model.set_parameter("hb_min", 7)
    assert events == [
        ("evaluation", "parameters"),
        ("funnel", "parameters"),
        ("drilldown", "parameters"),
    ]
    subset = data.data[data.data["site_id"] == "S01"]
    expected = funnel(evaluate(subset, PROTOCOL, hb_min=7), exclude=["E7"])
    assert model.current.headline() == expected.headline()


# ---------------------------------------------------------------- recorded reasons
def test_recorded_statuses_explore_with_funnel_order_and_toggles(data):
    from screenkit.recorded import evaluate_recorded

    recorded = evaluate_recorded(data, PROTOCOL)
    explorer = ScreeningExplorer(data, PROTOCOL, source="recorded")
    assert explorer.evaluation.status_source == "recorded"
    assert_shows(explorer, funnel(recorded))
    assert "NR" in explorer.toggles and "NR" in explorer.state.order
    explorer.toggle("I3a", False)
    explorer.move("E7", -3)
    assert_shows(explorer, funnel(recorded, order=explorer.state.order, exclude=["I3a"]))
    explorer.state.drilldown = "E7"
    assert "patients are recorded as failing E7" in explorer.drilldown_table.value


def test_recorded_statuses_say_not_passed_and_offer_no_thresholds(data):
    explorer = ScreeningExplorer(data, PROTOCOL, source="recorded")
    text = explorer.headline.value
    assert "NOT RECORDED as failed" in text and "not the same as passed" in text
    assert all(slider.disabled for slider in explorer.sliders.values())
    shown = _descendants(explorer.widget)
    assert not any(slider in shown for slider in explorer.sliders.values())
    assert explorer._reset_button not in shown
    why = [x for x in shown if "screenkit-thresholds-recorded" in getattr(x, "_dom_classes", ())]
    assert len(why) == 1 and "no threshold changes what was recorded" in why[0].value
    with pytest.raises(ScreenkitError, match="Thresholds cannot act here"):
        explorer.set_parameter("lesion_max_cm", 7)
    assert explorer.state.parameters == explorer.protocol.parameter_values()
    with pytest.raises(ScreenkitError, match="Thresholds cannot act here"):
        ScreeningExplorer(data, PROTOCOL, source="recorded", parameters={"hb_min": 7})
    computed = ScreeningExplorer(data, PROTOCOL)
    assert "NOT RECORDED" not in computed.headline.value
    assert all(s in _descendants(computed.widget) for s in computed.sliders.values())


def _descendants(widget) -> list:
    out = [widget]
    for child in getattr(widget, "children", ()):
        out += _descendants(child)
    return out


def _dashboard_env(argv: list[str]) -> dict[str, str]:
    """The dashboard's environment as ``screenkit explore`` sets it (source decided as
    ``run`` decides it, by the shared ``load_and_evaluate``)."""
    from screenkit.cli._common import load_and_evaluate

    args = build_parser().parse_args(["explore", *argv, "--no-browser"])
    _, evaluation = load_and_evaluate(args)
    return environment(args, evaluation.status_source)


def test_explore_detects_recorded_reasons_and_honours_reasons_and_computed(tmp_path, capsys):
    from screenkit.cli.explore import dashboard_explorer
    from screenkit.recorded import evaluate_recorded

    log = tmp_path / "site_log.csv"
    log.write_text(
        "Patient,Site,Reason,Primary reason for screen failure,Randomized\n"
        "P1,S1,see notes,E7,N\nP2,S1,,I6,N\nP3,S2,,,Y\nP4,S2,,i5b; E7,N\n",
        encoding="utf-8",
    )
    env = _dashboard_env([str(log), "--reasons", "Primary reason for screen failure"])
    assert json.loads(env["SCREENKIT_EXPLORE_OPTIONS"])["source"] == "recorded"
    explorer, data, name = dashboard_explorer(env, forecast=False)
    assert name == "site_log.csv"
    assert explorer.evaluation.status_source == "recorded"
    assert_shows(explorer, funnel(evaluate_recorded(data, PROTOCOL)))
    assert explorer.current.headline() == {
        "screened": 4,
        "eligible": 1,
        "screen_failed": 3,
        "pending": 0,
    }
    fails = explorer.current.criteria.set_index("criterion")["fails"]
    assert (fails["E7"], fails["I6"], fails["I5b"]) == (2, 1, 1)
    assert "NOT RECORDED as failed" in explorer.headline.value

    sample_env = _dashboard_env([str(sample_path())])  # both sources: computed
    assert json.loads(sample_env["SCREENKIT_EXPLORE_OPTIONS"])["source"] == "computed"
    env = _dashboard_env([str(sample_path()), "--reasons", "fail_reasons"])
    explorer, data, _ = dashboard_explorer(env, forecast=False)
    assert_shows(explorer, funnel(evaluate_recorded(data, PROTOCOL)))
    assert "source: recorded" in capsys.readouterr().err

    reasons_only = tmp_path / "reasons_only.csv"
    reasons_only.write_text("patient_id,fail_reasons,randomized\nA,E7,no\nB,,yes\n")
    explorer, _, _ = dashboard_explorer(_dashboard_env([str(reasons_only)]), forecast=False)
    assert explorer.evaluation.status_source == "recorded"  # detected
    env = _dashboard_env([str(reasons_only), "--computed"])
    explorer, _, _ = dashboard_explorer(env, forecast=False)
    assert explorer.evaluation.status_source == "computed"
    assert explorer.current.pending == 2  # no lab-level column: every criterion unknown


def test_explore_refuses_param_with_recorded_reasons(capsys):
    argv = ["explore", str(sample_path()), "--reasons", "fail_reasons", "--param", "hb_min=7"]
    assert main([*argv, "--no-browser"]) == 2
    assert "--computed" in capsys.readouterr().err


# ---------------------------------------------------------------- download, labels
def _sheets(content: bytes) -> dict[str, list[tuple]]:
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(content))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def test_download_writes_the_workbook_of_the_state_on_screen(explorer, data, tmp_path):
    import base64

    from screenkit.export import export_excel
    from screenkit.outputs import fix_xlsx

    explorer.set_parameter("lesion_max_cm", 7)
    explorer.toggle("E7", False)
    explorer.move("I5b", -4)
    assert explorer.download.link.value == ""
    explorer.download.button.click()
    link = explorer.download.link.value
    match = re.search(r'download="([^"]+)" href="data:[^;]+;base64,([^"]+)"', link)
    assert match and match.group(1) == "NCT07103668_lesion_max_cm-7.xlsx"
    content = base64.b64decode(match.group(2))
    relaxed = evaluate(data, PROTOCOL, lesion_max_cm=7)
    expected = funnel(relaxed, order=explorer.state.order, exclude=["E7"])
    path = export_excel(expected, tmp_path / "api.xlsx", evaluation=relaxed, data=data)
    fix_xlsx(path)
    assert _sheets(content) == _sheets(path.read_bytes())
    explorer.set_parameter("lesion_max_cm", 8)  # a stale link never stays on screen
    assert explorer.download.link.value == ""


def test_slider_labels_show_the_full_label_and_unit(explorer):
    shown = _descendants(explorer.widget)
    texts = [x.value for x in shown if isinstance(x, w.HTML) and "screenkit-param-label" in x.value]
    params = explorer.protocol.parameters
    assert len(texts) == len(params)
    for p in params.values():
        unit = f" <b>({html_escape(p.unit)})</b>" if p.unit else ""
        assert any(html_escape(p.label) + unit in t for t in texts), p.name
        assert explorer.sliders[p.name].style.description_width == "0px"
        assert p.label in explorer.sliders[p.name].tooltip


def html_escape(text: str) -> str:
    import html

    return html.escape(text)


def test_the_consort_flow_tab_follows_thresholds_and_switches(explorer, data):
    from screenkit.plots.flow import consort_flow

    def eligible_box(svg: str) -> str:
        return re.search(r"Eligible \(n = (\d+)\)", svg).group(1)

    tabs = [c for c in explorer.widget.children if isinstance(c, w.Tab)]
    assert tabs and tabs[0].titles == ("Patients failing a criterion", "CONSORT flow")
    assert explorer.flow.value == ""  # a row view: drawn only once its tab is open
    tabs[0].selected_index = 1
    assert 'id="consort-flow"' in explorer.flow.value
    assert eligible_box(explorer.flow.value) == str(funnel(evaluate(data, PROTOCOL)).eligible)
    explorer.set_parameter("lesion_max_cm", 7)
    explorer.toggle("E7", False)
    relaxed = evaluate(data, PROTOCOL, lesion_max_cm=7)
    expected = consort_flow(relaxed, funnel(relaxed, exclude=["E7"])).to_svg()
    assert eligible_box(explorer.flow.value) == eligible_box(expected)
    assert explorer.flow.value.endswith(expected)
    explorer.set_parameter("lesion_max_cm", 5)  # back: a new evaluation, drawn again
    assert eligible_box(explorer.flow.value) == eligible_box(
        consort_flow(
            evaluate(data, PROTOCOL), funnel(evaluate(data, PROTOCOL), exclude=["E7"])
        ).to_svg()
    )
