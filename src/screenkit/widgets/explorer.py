"""``ScreeningExplorer``: the screen-failure funnel in JupyterLab, with controls.

One state model (:class:`~screenkit.widgets.state.ExplorerState`) holds what the user
chose. Controls only write to it. The explorer observes it, recomputes what changed (a
threshold: ``Evaluation.with_parameters`` + the pattern histogram once; an order, toggle
or filter: only the funnel, from the pattern histogram, never the patient rows) and tells
its views, which copy the pure figures of :mod:`screenkit.plots.funnel` into their
existing ``FigureWidget`` inside ``batch_update()``.

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
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go

from screenkit.errors import ScreenkitError
from screenkit.evaluate import Evaluation, evaluate
from screenkit.funnel import Funnel, PatternCounts, funnel
from screenkit.plots.funnel import FIGURE_SPECS, site_fails, site_heatmap_spec, step_label
from screenkit.protocol import Protocol, get_protocol
from screenkit.widgets.controls import (
    criterion_toggle,
    include_toggle,
    order_options,
    parameter_slider,
    section,
    update_in_place,
)
from screenkit.widgets.drilldown import (
    failing_mask,
    failing_patients,
    row_groups,
    rows_in,
    table_html,
)
from screenkit.widgets.state import ExplorerState

__all__ = ["ScreeningExplorer", "update_in_place"]

DRILLDOWN_ROWS = 50  # patients listed in the drill-down table (the title gives the total)


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

    Attributes
    ----------
    state : :class:`~screenkit.widgets.state.ExplorerState`, the single state model.
    evaluation : the current :class:`~screenkit.evaluate.Evaluation` (current thresholds).
    patterns : its :class:`~screenkit.funnel.PatternCounts` (by site and month).
    current : the current :class:`~screenkit.funnel.Funnel` (order, toggles, filters).
    figures : ``go.FigureWidget`` by name: ``funnel``, ``criteria``, ``heatmap``,
        ``combinations``.
    headline : ``ipywidgets.HTML`` with ``Funnel.headline_text()`` (class
        ``screenkit-headline``).
    sliders, toggles : one control per protocol parameter / criterion, by name / ID.
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
    ) -> None:
        self._base_protocol = get_protocol(protocol)
        self._data = data
        included = tuple(include) if include is not None else self._base_protocol.included
        self.protocol = self._base_protocol.switched(list(included or ()))
        self.mask_ids = mask_ids
        self.evaluation: Evaluation = evaluate(data, self.protocol, **dict(parameters or {}))
        for name, value in self.evaluation.parameters.items():
            self._check_range(name, value)
        self._shown = False
        self._stale_figures: set[str] = set()
        self.patterns: PatternCounts = self.evaluation.patterns()
        self._row_sites, self._row_months = row_groups(self.evaluation.data)
        self._filtered: tuple[PatternCounts, tuple, PatternCounts] | None = None
        self._site_table: tuple[PatternCounts, Any] | None = None
        self.state = ExplorerState(
            order=tuple(self.protocol.ids),
            parameters=dict(self.evaluation.parameters),
            included=tuple(self.protocol.included or ()),
        )
        self._funnel = self._compute_funnel()
        self.state.drilldown = self._top_criterion()
        self._views: list[Callable[[Funnel], None]] = []
        self.forecast_panel = None
        if forecast:
            from screenkit.widgets.forecast import ForecastPanel

            self.forecast_panel = ForecastPanel(self.evaluation)
        self._build_views()
        self._build_controls()
        self.widget = self._layout()
        self.state.observe(self._on_parameters, names=["parameters"])
        self.state.observe(self._on_included, names=["included"])
        self.state.observe(self._on_funnel_inputs, names=["order", "excluded", "sites", "months"])
        self.state.observe(self._on_drilldown, names=["drilldown"])
        if self.forecast_panel is not None:
            self.state.observe(
                self._on_forecast_inputs, names=["parameters", "excluded", "included"]
            )

    # ------------------------------------------------------------ public API
    @property
    def current(self) -> Funnel:
        """The funnel for the current thresholds, order, toggles and filters."""
        return self._funnel

    def set_parameter(self, name: str, value: float) -> None:
        """Set one threshold (re-evaluates only the criteria that use it)."""
        value = self._check_range(name, round(float(value), 10))
        self.state.parameters = {**self.state.parameters, name: value}

    def toggle(self, criterion: str, on: bool) -> None:
        """Switch a criterion on (it excludes patients) or off (it excludes nobody)."""
        self.protocol.criterion(criterion)
        excluded = [c for c in self.state.excluded if c != criterion]
        if not on:
            excluded.append(criterion)
        self.state.excluded = tuple(c for c in self.state.order if c in excluded)

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
        optional = self._base_protocol.off_by_default
        if criterion not in optional:
            raise ScreenkitError(
                f"Protocol {self.protocol.id} has no criterion {criterion!r} that is off "
                "by default",
                accepted=", ".join(optional) or "(none: every criterion is always on)",
            )
        included = [c for c in self.state.included if c != criterion]
        if on:
            included.append(criterion)
        self.state.included = tuple(c for c in optional if c in included)

    def move(self, criterion: str, step: int) -> None:
        """Move a criterion ``step`` places in the funnel order (-1 = earlier)."""
        order = list(self.state.order)
        if criterion not in order:
            raise ScreenkitError(
                f"Unknown criterion {criterion!r}", accepted=", ".join(self.protocol.ids)
            )
        i = order.index(criterion)
        j = min(max(i + int(step), 0), len(order) - 1)
        order.insert(j, order.pop(i))
        self.state.order = tuple(order)

    def set_order(self, order: Sequence[str]) -> None:
        """Put these criteria first, in this order; the others follow as they were."""
        first = list(dict.fromkeys(order))
        for c in first:
            self.protocol.criterion(c)
        self.state.order = (*first, *[c for c in self.state.order if c not in first])

    def filter(self, sites: Sequence[str] | None = None, months: Sequence[str] | None = None):
        """Restrict to sites (``None`` / empty = all) and a ``(first, last)`` month range."""
        with self.state.hold_trait_notifications():
            self.state.sites = tuple(sites or ())
            self.state.months = tuple(months or ())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        if not self._shown:
            self._shown = True
            self._rebuild_stale_figures()
        return self.widget._repr_mimebundle_(**kwargs)

    def _rebuild_stale_figures(self) -> None:
        """Figures changed before the first display get new widgets built from their
        current spec: Voila renders a widget from its constructor state and drops the
        updates sent before the page connected."""
        if not self._stale_figures:
            return
        for name in sorted(self._stale_figures):
            self.figures[name].close()
            self.figures[name] = go.FigureWidget(**self._specs[name])
        self._stale_figures.clear()
        self.widget = self._layout()

    def _check_range(self, name: str, value: float) -> float:
        p = self.protocol.parameters.get(name)
        if p is None:
            raise ScreenkitError(
                f"Protocol {self.protocol.id} has no parameter {name!r}",
                accepted=", ".join(self.protocol.parameters),
            )
        if not p.min <= value <= p.max:
            raise ScreenkitError(
                f"Parameter {name!r} must stay within its range",
                value=value,
                accepted=f"{p.min:g} to {p.max:g}",
            )
        return value

    def __repr__(self) -> str:
        return f"ScreeningExplorer({self.protocol.id}: {self._funnel.headline_text()})"

    # ------------------------------------------------------------ the model
    def _all_months(self) -> list[str]:
        """Screening months present (``YYYY-MM``; the no-date group is not a month)."""
        months = {str(m) for m in self.patterns.groups["screening_month"]}
        return sorted(m for m in months if re.fullmatch(r"\d{4}-\d{2}", m))

    def _month_values(self) -> list[str] | None:
        if not self.state.months:
            return None
        first, last = self.state.months
        return [m for m in self._all_months() if first <= m <= last]

    def _filtered_patterns(self) -> PatternCounts:
        """The pattern histogram restricted to the site and month filters (cached)."""
        key = (self.state.sites, self.state.months)
        cached = self._filtered
        if cached is None or cached[0] is not self.patterns or cached[1] != key:
            sites = list(self.state.sites) or None
            patterns = self.patterns.filter(site_id=sites, screening_month=self._month_values())
            self._filtered = cached = (self.patterns, key, patterns)
        return cached[2]

    def _compute_funnel(self) -> Funnel:
        return funnel(
            self._filtered_patterns(), order=self.state.order, exclude=self.state.excluded
        )

    def _top_criterion(self) -> str:
        crit = self._funnel.criteria
        crit = crit[crit["active"] & (crit["fails"] > 0)]
        if crit.empty:
            return ""
        return str(crit.sort_values("attribution", ascending=False)["criterion"].iloc[0])

    def _on_parameters(self, change: dict) -> None:
        self.evaluation = self.evaluation.with_parameters(**change["new"])
        self.patterns = self.evaluation.patterns()
        self._relabel()
        self._refresh()
        self._render_drilldown()

    def _on_included(self, change: dict) -> None:
        """Re-evaluate with the criteria switched on; they join the order after their
        neighbour in the protocol file, and leave the order, toggles and drill-down when
        left out again."""
        protocol = self._base_protocol.switched(list(change["new"]))
        evaluation = evaluate(self._data, protocol, **self.state.parameters)
        self.protocol, self.evaluation = protocol, evaluation
        self.patterns = evaluation.patterns()
        ids = protocol.ids
        order = [c for c in self.state.order if c in ids]
        for cid in ids:
            if cid not in order:
                before = ids[: ids.index(cid)]
                at = max((order.index(b) + 1 for b in before if b in order), default=0)
                order.insert(at, cid)
        with self.state.hold_trait_notifications():
            self.state.excluded = tuple(c for c in self.state.excluded if c in ids)
            self.state.order = tuple(order)
            if self.state.drilldown and self.state.drilldown not in ids:
                self.state.drilldown = ""
        for cid, box in self.toggles.items():
            box.layout.display = None if cid in ids else "none"
        self._relabel()
        self._refresh()
        self._render_drilldown()

    def _relabel(self) -> None:
        """Criterion labels carry the thresholds in force ("Largest lesion <= 7 cm"):
        refresh the toggles, the order list and the drill-down choices that show them."""
        criteria = self.evaluation.protocol.criteria
        for c in criteria:
            self.toggles[c.id].description = step_label(c.id, c.label, 70)
        selected = self.order_list.value
        self.order_list.options = self._order_options()
        self.order_list.value = selected
        # replacing a Dropdown's options resets its value: keep the state out of it
        chosen = self.drilldown.value
        self.drilldown.unobserve(self._drilldown_to_state, names="value")
        self.drilldown.options = self._drilldown_options()
        self.drilldown.value = chosen
        self.drilldown.observe(self._drilldown_to_state, names="value")

    def _drilldown_to_state(self, change: dict) -> None:
        self.state.drilldown = change["new"]

    def _drilldown_options(self) -> list[tuple[str, str]]:
        return [("(none)", "")] + [
            (step_label(c.id, c.label, 70), c.id) for c in self.evaluation.protocol.criteria
        ]

    def _on_forecast_inputs(self, change: dict) -> None:
        # registered after _on_parameters, so self.evaluation has the new thresholds
        self.forecast_panel.update(self.evaluation, self.state.excluded)

    def _on_funnel_inputs(self, change: dict) -> None:
        self._refresh()
        if change["name"] in ("sites", "months"):
            self._render_drilldown()

    def _on_drilldown(self, change: dict) -> None:
        self._render_drilldown()

    def _refresh(self) -> None:
        self._funnel = self._compute_funnel()
        for view in self._views:
            view(self._funnel)

    # ------------------------------------------------------------ views
    def _build_views(self) -> None:
        specs = {**FIGURE_SPECS, "heatmap": self._heatmap_spec}
        self._specs = {name: make(self._funnel) for name, make in specs.items()}
        self.figures: dict[str, go.FigureWidget] = {
            name: go.FigureWidget(**spec) for name, spec in self._specs.items()
        }
        for name, make in specs.items():
            self._views.append(lambda f, name=name, make=make: self._update_figure(name, make(f)))
        self.headline = w.HTML(self._headline_html(self._funnel))
        self.headline.add_class("screenkit-headline")
        self._views.append(lambda f: setattr(self.headline, "value", self._headline_html(f)))
        self.drilldown_table = w.HTML()
        self.drilldown_table.add_class("screenkit-drilldown-table")
        self._render_drilldown()

    def _update_figure(self, name: str, spec: dict) -> None:
        update_in_place(self.figures[name], spec, previous=self._specs[name])
        self._specs[name] = spec
        if not self._shown:
            self._stale_figures.add(name)

    def _heatmap_spec(self, f: Funnel) -> dict:
        """Site x criterion rates depend only on the (filtered) pattern histogram: reuse
        them while the user reorders or toggles."""
        if self._site_table is None or self._site_table[0] is not f.patterns:
            self._site_table = (f.patterns, site_fails(f) if f.screened else None)
        return site_heatmap_spec(f, table=self._site_table[1])

    def _headline_html(self, f: Funnel) -> str:
        notes = []
        changed = {
            n: v for n, v in self.state.parameters.items() if v != self.protocol.parameters[n].value
        }
        if changed:
            notes.append("thresholds: " + ", ".join(f"{n} = {v:g}" for n, v in changed.items()))
        if self.state.excluded:
            notes.append("switched off: " + ", ".join(self.state.excluded))
        off = self.protocol.criteria_off
        if off:
            notes.append(
                "left out (off by default, tick to include): "
                + ", ".join(f"{c.id} {c.label}" for c in off)
            )
        if self.state.sites:
            notes.append("sites: " + ", ".join(self.state.sites))
        if self.state.months:
            notes.append("screened {} to {}".format(*self.state.months))
        note = f"<br><small>{html.escape('; '.join(notes))}</small>" if notes else ""
        return (
            f'<div style="font-size: 1.15em"><b>{html.escape(self.protocol.id)}</b>: '
            f"{html.escape(f.headline_text())}{note}</div>"
        )

    def _drilldown_rows(self) -> np.ndarray:
        rows = np.ones(len(self._row_sites), bool)
        if self.state.sites:
            rows &= rows_in(self._row_sites, list(self.state.sites))
        months = self._month_values()
        if months is not None:
            rows &= rows_in(self._row_months, months)
        return rows

    def _render_drilldown(self) -> None:
        criterion = self.state.drilldown
        if not criterion:
            self.drilldown_table.value = (
                "<i>Choose a criterion to list the patients failing it.</i>"
            )
            return
        rows = self._drilldown_rows()
        total = int(failing_mask(self.evaluation, criterion, rows).sum())
        table = failing_patients(
            self.evaluation, criterion, rows, mask_ids=self.mask_ids, limit=DRILLDOWN_ROWS
        )
        label = self.protocol.criterion(criterion).label
        self.drilldown_table.value = table_html(
            table, f"{total:,} patients fail {criterion} {label}", DRILLDOWN_ROWS, total
        )

    # ------------------------------------------------------------ controls
    def _build_controls(self) -> None:
        self.sliders: dict[str, w.FloatSlider] = {}
        for name, p in self.protocol.parameters.items():
            slider = parameter_slider(p, self.state.parameters[name])
            slider.observe(
                lambda change, name=name: self.set_parameter(name, change["new"]), names="value"
            )
            self.sliders[name] = slider
        reset = w.Button(
            description="Protocol thresholds", icon="undo", layout=w.Layout(width="auto")
        )
        reset.add_class("screenkit-reset-parameters")
        reset.on_click(lambda _: self._reset_parameters())
        self._reset_button = reset

        self.toggles: dict[str, w.Checkbox] = {}
        shown = set(self.protocol.ids)
        for c in self._base_protocol.with_parameters(**self.state.parameters).all_criteria:
            box = criterion_toggle(c)
            box.observe(lambda change, cid=c.id: self._toggle_box(cid, change), names="value")
            if c.id not in shown:
                box.layout.display = "none"
            self.toggles[c.id] = box
        self.include_boxes: dict[str, w.Checkbox] = {}
        for c in self._base_protocol.all_criteria:
            if c.id in self._base_protocol.off_by_default:
                box = include_toggle(c, c.id in self.state.included)
                box.observe(
                    lambda change, cid=c.id: self.include(cid, change["new"]), names="value"
                )
                self.include_boxes[c.id] = box

        self.order_list = w.Select(
            options=self._order_options(), rows=12, layout=w.Layout(width="98%")
        )
        self.order_list.add_class("screenkit-order")
        buttons = []
        for text, icon, css, action in (
            ("Up", "arrow-up", "up", lambda c: self.move(c, -1)),
            ("Down", "arrow-down", "down", lambda c: self.move(c, +1)),
            ("First", "angle-double-up", "first", lambda c: self.set_order([c])),
        ):
            button = w.Button(description=text, icon=icon, layout=w.Layout(width="auto"))
            button.add_class(f"screenkit-move-{css}")
            button.on_click(lambda _, action=action: self._move_selected(action))
            buttons.append(button)
        protocol_order = w.Button(description="Protocol order", layout=w.Layout(width="auto"))
        protocol_order.add_class("screenkit-reset-order")
        protocol_order.on_click(lambda _: setattr(self.state, "order", tuple(self.protocol.ids)))
        self._order_buttons = w.HBox([*buttons, protocol_order])

        sites = sorted(set(self.patterns.groups["site_id"]))
        self.site_filter = w.SelectMultiple(
            options=sites,
            rows=min(8, max(len(sites), 2)),
            description="Sites",
            tooltip="none selected = all sites",
        )
        self.site_filter.add_class("screenkit-sites")
        self.site_filter.observe(
            lambda change: setattr(self.state, "sites", tuple(change["new"])), names="value"
        )
        months = self._all_months()
        self.month_filter = w.SelectionRangeSlider(
            options=months or ["(no dates)"],
            index=(0, max(len(months) - 1, 0)),
            description="Screened",
            continuous_update=False,
            disabled=not months,
            layout=w.Layout(width="98%"),
        )
        self.month_filter.add_class("screenkit-months")
        self.month_filter.observe(self._on_month_slider, names="value")

        self.drilldown = w.Dropdown(
            options=self._drilldown_options(),
            value=self.state.drilldown,
            description="Drill down",
            layout=w.Layout(width="98%"),
        )
        self.drilldown.add_class("screenkit-drilldown")
        self.drilldown.observe(self._drilldown_to_state, names="value")

        # state -> controls (so that set_parameter / move / toggle show in the UI)
        self.state.observe(self._sync_controls)

    def _toggle_box(self, criterion: str, change: dict) -> None:
        if criterion in self.protocol.ids:  # a hidden box of a left-out criterion: no-op
            self.toggle(criterion, change["new"])

    def _order_options(self) -> list[tuple[str, str]]:
        labels = {c.id: c.label for c in self.evaluation.protocol.criteria}
        return order_options(self.state.order, labels, self.state.excluded)

    def _move_selected(self, action: Callable[[str], None]) -> None:
        if self.order_list.value:
            action(self.order_list.value)

    def _reset_parameters(self) -> None:
        self.state.parameters = self.protocol.parameter_values()

    def _on_month_slider(self, change: dict) -> None:
        months = self._all_months()
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
            self.order_list.value = selected
            for cid, box in self.toggles.items():
                box.value = cid not in self.state.excluded
        elif name == "included":
            for cid, box in self.include_boxes.items():
                box.value = cid in self.state.included
        elif name == "sites":
            self.site_filter.value = tuple(self.state.sites)
        elif name == "months":
            months = self._all_months()
            if months:
                self.month_filter.value = tuple(self.state.months) or (months[0], months[-1])
        elif name == "drilldown":
            self.drilldown.value = self.state.drilldown

    # ------------------------------------------------------------ layout
    def _layout(self) -> w.VBox:
        thresholds = section(
            "Thresholds (protocol parameters)",
            *self.sliders.values(),
            height="260px",
        )
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
            [thresholds, self._reset_button, criteria, *optional, order, filters],
            layout=w.Layout(width="440px", min_width="360px", flex="0 0 auto"),
        )
        controls.add_class("screenkit-controls")
        funnel_box = w.Box([self.figures["funnel"]], layout=w.Layout(flex="1 1 auto", width="100%"))
        drill = w.VBox([self.drilldown, self.drilldown_table])
        drill.add_class("screenkit-drilldown-box")
        panel = [] if self.forecast_panel is None else [self.forecast_panel.widget]
        ui = w.VBox(
            [
                self.headline,
                *panel,
                w.HBox([controls, funnel_box], layout=w.Layout(width="100%")),
                self.figures["criteria"],
                self.figures["combinations"],
                self.figures["heatmap"],
                drill,
            ],
            layout=w.Layout(width="100%"),
        )
        ui.add_class("screenkit-explorer")
        return ui
