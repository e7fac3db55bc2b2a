"""``ScreeningExplorer``: the screen-failure funnel in JupyterLab, with controls.

The view of :class:`~screenkit.widgets.model.ExplorerModel`, the headless model that
holds the state (:class:`~screenkit.widgets.state.ExplorerState`), the evaluation and the
funnel. Controls only write to the state; the model recomputes what changed and tells
this view, which copies the pure figures of :mod:`screenkit.plots.funnel` into its
existing ``FigureWidget`` inside ``batch_update()``. Data flows one way: control ->
state -> model -> view; the model never calls the view.

In a notebook, ``ScreeningExplorer(sk.load_sample())`` as the last line of a cell shows
the whole UI. Everything the controls do is also a method:

>>> import pandas as pd
>>> frame = pd.DataFrame({"patient_id": ["A", "B", "C"], "site_id": ["S1", "S1", "S2"],
...     "largest_lesion_cm": pd.array([3.0, 6.0, 8.0], dtype="Float64")})
>>> explorer = ScreeningExplorer(frame)
>>> explorer.current.headline()
{'screened': 3, 'eligible': 0, 'screen_failed': 2, 'pending': 1}
>>> explorer.set_parameter("lesion_max_cm", 7)          # as the slider does
>>> explorer.current.headline()["screen_failed"], list(explorer.figures["funnel"].data[0].x[:2])
(1, [3, 3])
>>> explorer.toggle("I5b", False)                       # as its checkbox does
>>> explorer.move("I5b", -1)                            # as the Up button does
>>> explorer.filter(sites=["S2"])                       # as the site list does
>>> explorer.current.headline_text()
'1 screened: 0 eligible (0.0%), 0 screen-failed (0.0%), 1 pending (100.0%)'
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as w
import plotly.graph_objects as go

from screenkit.evaluate import Evaluation
from screenkit.funnel import Funnel, PatternCounts
from screenkit.plots.funnel import FIGURE_SPECS, site_fails, site_heatmap_spec, step_label
from screenkit.protocol import Protocol
from screenkit.recorded import REASONS_COLUMN
from screenkit.widgets.controls import (
    criterion_toggle,
    drilldown_select,
    include_toggle,
    labelled_slider,
    month_range,
    order_buttons,
    order_list,
    order_options,
    parameter_slider,
    section,
    site_select,
    update_in_place,
)
from screenkit.widgets.download import DownloadPanel
from screenkit.widgets.figures import FigureSlots
from screenkit.widgets.flow import FlowTab
from screenkit.widgets.model import DRILLDOWN_ROWS, RECORDED_THRESHOLDS, ExplorerModel
from screenkit.widgets.state import ExplorerState

__all__ = ["DRILLDOWN_ROWS", "ScreeningExplorer", "update_in_place"]


class ScreeningExplorer:
    """Explore a screening log's funnel: thresholds, criteria, order, sites, dates.

    Parameters
    ----------
    data : a :class:`~screenkit.normalize.ScreeningData` or a canonical DataFrame
        (never modified).
    protocol : a :class:`~screenkit.protocol.Protocol`, a shipped ID, or a protocol file.
    mask_ids : show patients in the drill-down as ``P0001`` ... (row position) instead of
        their screening IDs.
    parameters : starting thresholds other than the protocol's, e.g.
        ``{"lesion_max_cm": 7}`` (the sliders start there; "Protocol thresholds" resets).
    forecast : add the forecast panel (:class:`~screenkit.widgets.forecast.ForecastPanel`,
        ``forecast_panel``): the median date the target is reached, updated when a
        threshold or a criterion toggle changes (about 0.3 s per change; ``screenkit
        explore`` turns it on).
    include : criteria the protocol leaves off by default to start switched on (e.g.
        CT041-ST-01's assumed ``["I4", "I5"]``); each has a checkbox (``include_boxes``).
    source : ``"computed"`` (default: the protocol's rules over the lab-level columns) or
        ``"recorded"``: the statuses come from the recorded screen-failure reasons in the
        ``reasons`` column (:func:`~screenkit.recorded.evaluate_recorded`). Funnel, order,
        toggles and filters work as usual; the threshold sliders are not offered (a
        sentence says why) and the headline says "not recorded as failed" is not "passed".

    Attributes
    ----------
    model : the headless :class:`~screenkit.widgets.model.ExplorerModel`.
    state : :class:`~screenkit.widgets.state.ExplorerState`, the single state model.
    evaluation : the current :class:`~screenkit.evaluate.Evaluation` (current thresholds).
    patterns : its :class:`~screenkit.funnel.PatternCounts` (by site and month).
    current : the current :class:`~screenkit.funnel.Funnel` (order, toggles, filters).
    figures : ``go.FigureWidget`` by name: ``funnel``, ``criteria``, ``heatmap``,
        ``combinations``.
    headline : ``ipywidgets.HTML`` with ``Funnel.headline_text()`` (class
        ``screenkit-headline``).
    sliders, toggles, include_boxes : one control per protocol parameter / criterion /
        criterion off by default, by name / ID.
    widget : the whole UI (an ``ipywidgets.VBox``); displaying the explorer shows it.
    """

    def __init__(
        self,
        data: Any,
        protocol: Protocol | str = "NCT07103668",
        *,
        mask_ids: bool = True,
        parameters: Mapping[str, float] | None = None,
        forecast: bool = False,
        include: Sequence[str] | None = None,
        source: str = "computed",
        reasons: str = REASONS_COLUMN,
    ) -> None:
        self.model = ExplorerModel(
            data,
            protocol,
            parameters=parameters,
            include=include,
            source=source,
            reasons=reasons,
            mask_ids=mask_ids,
        )
        self._site_table: tuple[PatternCounts, Any] | None = None
        self.forecast_panel = None
        if forecast:
            from screenkit.widgets.forecast import ForecastPanel

            self.forecast_panel = ForecastPanel(self.evaluation)
        self._build_views()
        self._build_controls()
        self.download = DownloadPanel(self.model)
        self.widget = self._layout()
        self.model.subscribe(self._on_model)

    # ------------------------------------------------------------ public API
    @property
    def state(self) -> ExplorerState:
        return self.model.state

    @property
    def protocol(self) -> Protocol:
        """The protocol as evaluated (criteria left out listed in ``criteria_off``), at
        its own thresholds."""
        return self.model.protocol

    @property
    def evaluation(self) -> Evaluation:
        return self.model.evaluation

    @property
    def patterns(self) -> PatternCounts:
        return self.model.patterns

    @property
    def mask_ids(self) -> bool:
        return self.model.mask_ids

    @property
    def current(self) -> Funnel:
        """The funnel for the current thresholds, order, toggles and filters."""
        return self.model.current

    def set_parameter(self, name: str, value: float) -> None:
        """Set one threshold (re-evaluates only the criteria that use it)."""
        self.model.set_parameter(name, value)

    def toggle(self, criterion: str, on: bool) -> None:
        """Switch a criterion on (it excludes patients) or off (it excludes nobody)."""
        self.model.toggle(criterion, on)

    def include(self, criterion: str, on: bool = True) -> None:
        """Switch on (``on=True``) or leave out a criterion the protocol marks ``default:
        off`` (CT041-ST-01's assumed I4 / I5), as its checkbox does: the evaluation is
        redone with :meth:`Protocol.switched`; an included criterion joins the funnel after
        its neighbour in the protocol file.

        >>> from screenkit.datasets import load_sample
        >>> explorer = ScreeningExplorer(load_sample(), "CT041-ST-01")
        >>> explorer.protocol.ids, [c.id for c in explorer.protocol.criteria_off]
        (['I1', 'I2', 'I3'], ['I4', 'I5'])
        >>> explorer.include("I4")
        >>> explorer.protocol.ids
        ['I1', 'I2', 'I3', 'I4']
        """
        self.model.include(criterion, on)

    def move(self, criterion: str, step: int) -> None:
        """Move a criterion ``step`` places in the funnel order (-1 = earlier)."""
        self.model.move(criterion, step)

    def set_order(self, order: Sequence[str]) -> None:
        """Put these criteria first, in this order; the others follow as they were."""
        self.model.set_order(order)

    def filter(self, sites: Sequence[str] | None = None, months: Sequence[str] | None = None):
        """Restrict to sites (``None`` / empty = all) and a ``(first, last)`` month range."""
        self.model.filter(sites, months)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        self._figures.show()
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"ScreeningExplorer({self.protocol.id}: {self.current.headline_text()})"

    # ------------------------------------------------------------ model -> view
    def _on_model(self, event: str, cause: str) -> None:
        if event == "evaluation":
            self._show_criteria()
            if self.forecast_panel is not None:
                self.forecast_panel.update(self.evaluation, self.state.excluded)
        elif event == "funnel":
            for view in self._views:
                view(self.current)
            if cause == "excluded" and self.forecast_panel is not None:
                self.forecast_panel.update(self.evaluation, self.state.excluded)
        elif event == "drilldown":
            self._render_drilldown()

    def _show_criteria(self) -> None:
        """Criterion labels carry the thresholds in force ("Largest lesion <= 7 cm") and
        the criteria evaluated change with "off by default" ones: refresh the toggles, the
        order list and the drill-down choices."""
        labels = self.model.labels()
        shown = set(self.protocol.ids)
        for cid, box in self.toggles.items():
            box.description = step_label(cid, labels[cid], 70)
            box.layout.display = None if cid in shown else "none"
        selected = self.order_list.value
        self.order_list.options = self._order_options()
        self.order_list.value = selected if selected in shown else None
        # replacing a Dropdown's options resets its value: keep the state out of it
        chosen = self.state.drilldown
        self.drilldown.unobserve(self._drilldown_to_state, names="value")
        self.drilldown.options = self._drilldown_options()
        self.drilldown.value = chosen if chosen in shown else ""
        self.drilldown.observe(self._drilldown_to_state, names="value")

    def _drilldown_to_state(self, change: dict) -> None:
        self.state.drilldown = change["new"]

    def _drilldown_options(self) -> list[tuple[str, str]]:
        return [("(none)", "")] + [
            (step_label(c.id, c.label, 70), c.id) for c in self.evaluation.protocol.criteria
        ]

    # ------------------------------------------------------------ views
    def _build_views(self) -> None:
        specs = {**FIGURE_SPECS, "heatmap": self._heatmap_spec}
        self._figures = FigureSlots(
            {name: make(self.current) for name, make in specs.items()},
            {"funnel": w.Layout(flex="1 1 auto", width="100%")},
        )
        self.figures: dict[str, go.FigureWidget] = self._figures.figures
        self._views: list[Callable[[Funnel], None]] = []
        for name, make in specs.items():
            self._views.append(lambda f, name=name, make=make: self._figures.update(name, make(f)))
        self.headline = w.HTML(self._headline_html(self.current))
        self.headline.add_class("screenkit-headline")
        self._views.append(lambda f: setattr(self.headline, "value", self._headline_html(f)))
        self.drilldown_table = w.HTML()
        self.drilldown_table.add_class("screenkit-drilldown-table")
        self._render_drilldown()
        self.flow_tab = FlowTab(self.model)  # the CONSORT flow, beside the drill-down
        self.flow = self.flow_tab.html
        self._views.append(lambda f: self.flow_tab.render())

    def _heatmap_spec(self, f: Funnel) -> dict:
        """Site x criterion rates depend only on the (filtered) pattern histogram: reuse
        them while the user reorders or toggles."""
        if self._site_table is None or self._site_table[0] is not f.patterns:
            self._site_table = (f.patterns, site_fails(f) if f.screened else None)
        return site_heatmap_spec(f, table=self._site_table[1])

    def _headline_html(self, f: Funnel) -> str:
        notes = self.model.headline_notes()
        note = "".join(f"<br><small>{html.escape(n)}</small>" for n in notes[:1])
        if notes[1:]:
            note += f"<br><small>{html.escape('; '.join(notes[1:]))}</small>"
        return (
            f'<div style="font-size: 1.15em"><b>{html.escape(self.protocol.id)}</b>: '
            f"{html.escape(f.headline_text())}{note}</div>"
        )

    def _render_drilldown(self) -> None:
        self.drilldown_table.value = self.model.drilldown_html()

    # ------------------------------------------------------------ controls
    def _build_controls(self) -> None:
        self.sliders: dict[str, w.FloatSlider] = {}
        for name, p in self.protocol.parameters.items():
            slider = parameter_slider(p, self.state.parameters[name])
            slider.disabled = not self.model.thresholds_apply
            slider.observe(
                lambda change, name=name: self.set_parameter(name, change["new"]), names="value"
            )
            self.sliders[name] = slider
        reset = w.Button(
            description="Protocol thresholds", icon="undo", layout=w.Layout(width="auto")
        )
        reset.add_class("screenkit-reset-parameters")
        reset.on_click(lambda _: self.model.reset_parameters())
        self._reset_button = reset

        self.toggles: dict[str, w.Checkbox] = {}
        labels, shown = self.model.labels(), set(self.protocol.ids)
        for cid in self.model.every_criterion():
            box = criterion_toggle(self.model.criterion(cid), label=labels[cid])
            box.observe(lambda change, cid=cid: self._toggle_box(cid, change), names="value")
            if cid not in shown:
                box.layout.display = "none"
            self.toggles[cid] = box
        self.include_boxes: dict[str, w.Checkbox] = {}
        for c in self.model.base_protocol.all_criteria:
            if not c.on_by_default:
                box = include_toggle(c, c.id in self.state.included)
                box.observe(
                    lambda change, cid=c.id: self.include(cid, change["new"]), names="value"
                )
                self.include_boxes[c.id] = box

        self.order_list = order_list(self._order_options())
        self._order_buttons = order_buttons(
            up=lambda: self._move_selected(lambda c: self.move(c, -1)),
            down=lambda: self._move_selected(lambda c: self.move(c, +1)),
            first=lambda: self._move_selected(lambda c: self.set_order([c])),
            reset=self.model.reset_order,
        )
        self.site_filter = site_select(self.model.sites())
        self.site_filter.observe(
            lambda change: setattr(self.state, "sites", tuple(change["new"])), names="value"
        )
        self.month_filter = month_range(self.model.all_months())
        self.month_filter.observe(self._on_month_slider, names="value")
        self.drilldown = drilldown_select(self._drilldown_options(), self.state.drilldown)
        self.drilldown.observe(self._drilldown_to_state, names="value")

        # state -> controls (so that set_parameter / move / toggle show in the UI)
        self.state.observe(self._sync_controls)

    def _toggle_box(self, criterion: str, change: dict) -> None:
        if criterion in self.protocol.ids:  # a hidden box of a left-out criterion: no-op
            self.toggle(criterion, change["new"])

    def _order_options(self) -> list[tuple[str, str]]:
        return order_options(self.state.order, self.model.labels(), self.state.excluded)

    def _move_selected(self, action: Callable[[str], None]) -> None:
        if self.order_list.value:
            action(self.order_list.value)

    def _on_month_slider(self, change: dict) -> None:
        months = self.model.all_months()
        first, last = change["new"]
        full = not months or (first, last) == (months[0], months[-1])
        self.state.months = () if full else (first, last)

    def _sync_controls(self, change: dict) -> None:
        name = change["name"]
        if name == "parameters":
            for pname, value in change["new"].items():
                if self.sliders[pname].value != value:
                    self.sliders[pname].value = value
        elif name in ("order", "excluded"):
            selected = self.order_list.value
            self.order_list.options = self._order_options()
            self.order_list.value = selected if selected in self.state.order else None
            for cid, box in self.toggles.items():
                box.value = cid not in self.state.excluded
        elif name == "included":
            for cid, box in self.include_boxes.items():
                box.value = cid in self.state.included
        elif name == "sites":
            self.site_filter.value = tuple(self.state.sites)
        elif name == "months":
            months = self.model.all_months()
            if months:
                self.month_filter.value = tuple(self.state.months) or (months[0], months[-1])
        elif name == "drilldown":
            self.drilldown.value = self.state.drilldown

    # ------------------------------------------------------------ layout
    def _thresholds(self) -> w.VBox:
        if self.model.thresholds_apply:
            params = self.protocol.parameters
            body = section(
                "Thresholds (protocol parameters)",
                *(labelled_slider(params[n], s) for n, s in self.sliders.items()),
                height="260px",
            )
            return w.VBox([body, self._reset_button])
        why = w.HTML(f"<p><i>{html.escape(RECORDED_THRESHOLDS)}</i></p>")
        why.add_class("screenkit-thresholds-recorded")
        return section("Thresholds (protocol parameters)", why)

    def _layout(self) -> w.VBox:
        criteria = section(
            "Criteria: uncheck to switch off",
            *self.toggles.values(),
            height="200px",
        )
        optional = (
            [section("Off by default (assumed): tick to include", *self.include_boxes.values())]
            if self.include_boxes
            else []
        )
        order = section("Funnel order", self.order_list, self._order_buttons)
        filters = section("Filters", self.site_filter, self.month_filter)
        controls = w.VBox(
            [self.download.widget, self._thresholds(), criteria, *optional, order, filters],
            layout=w.Layout(width="440px", min_width="360px", flex="0 0 auto"),
        )
        controls.add_class("screenkit-controls")
        boxes = self._figures.boxes
        drill = w.VBox([self.drilldown, self.drilldown_table])
        drill.add_class("screenkit-drilldown-box")
        panel = [] if self.forecast_panel is None else [self.forecast_panel.widget]
        ui = w.VBox(
            [
                self.headline,
                *panel,
                w.HBox([controls, boxes["funnel"]], layout=w.Layout(width="100%")),
                boxes["criteria"],
                boxes["combinations"],
                boxes["heatmap"],
                self.flow_tab.tabs(drill),
            ],
            layout=w.Layout(width="100%"),
        )
        ui.add_class("screenkit-explorer")
        return ui
