"""The explorer's headless model: state, thresholds, evaluation, funnel, drill-down.

No widget and no figure here: :class:`ExplorerModel` holds the state the user chose
(:class:`~screenkit.widgets.state.ExplorerState`), recomputes what a change needs (a
threshold: ``Evaluation.with_parameters`` + the pattern histogram once; a criterion
switched on from "off by default": a new evaluation; an order, toggle or filter: only the
funnel, from the pattern histogram) and tells its subscribers. Data flows one way:
state -> model -> subscribers (the view, :class:`~screenkit.widgets.explorer.
ScreeningExplorer`); the model never calls into a view.

>>> import pandas as pd
>>> frame = pd.DataFrame({"patient_id": ["A", "B", "C"], "site_id": ["S1", "S1", "S2"],
...     "largest_lesion_cm": pd.array([3.0, 6.0, 8.0], dtype="Float64")})
>>> model = ExplorerModel(frame)
>>> events = []
>>> model.subscribe(lambda event, cause: events.append((event, cause)))
>>> model.set_parameter("lesion_max_cm", 7)
>>> model.current.headline()["screen_failed"], events
(1, [('evaluation', 'parameters'), ('funnel', 'parameters'), ('drilldown', 'parameters')])
>>> model.toggle("I5b", False); model.current.headline()["screen_failed"]
0
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from screenkit.errors import ScreenkitError
from screenkit.evaluate import evaluate
from screenkit.funnel import Funnel, PatternCounts, funnel
from screenkit.protocol import Criterion, Protocol, get_protocol
from screenkit.recorded import NOT_RECORDED, REASONS_COLUMN, evaluate_recorded
from screenkit.widgets.drilldown import (
    failing_mask,
    failing_patients,
    row_groups,
    rows_in,
    table_html,
)
from screenkit.widgets.state import ExplorerState

__all__ = ["DRILLDOWN_ROWS", "RECORDED_HEADLINE", "RECORDED_THRESHOLDS", "ExplorerModel"]

DRILLDOWN_ROWS = 50  # patients listed in the drill-down table (the title gives the total)
SOURCES = ("computed", "recorded")

#: why the threshold sliders are not offered for recorded statuses
RECORDED_THRESHOLDS = (
    "Thresholds cannot act here: the statuses come from the screen-failure reasons the "
    "sites recorded, and no threshold changes what was recorded. To try thresholds, "
    "explore the lab-level columns (screenkit explore --computed)."
)
#: the headline's reading of recorded statuses
RECORDED_HEADLINE = (
    "statuses from recorded reasons: a criterion not listed is NOT RECORDED as failed, "
    f"which is not the same as passed; {NOT_RECORDED} = screen failure with no reason recorded"
)

Listener = Callable[[str, str], None]


class ExplorerModel:
    """Everything the explorer computes, without widgets (see the module docstring).

    Parameters
    ----------
    data : a :class:`~screenkit.normalize.ScreeningData` or a canonical DataFrame
        (never modified).
    protocol : a :class:`~screenkit.protocol.Protocol`, a shipped ID, or a protocol file.
    parameters : starting thresholds other than the protocol's.
    include : criteria the protocol leaves off by default to switch on (as
        ``evaluate(..., include=...)``); ``None``: as the protocol was switched.
    source : ``"computed"`` (the rules over lab-level columns) or ``"recorded"``
        (:func:`~screenkit.recorded.evaluate_recorded` over the ``reasons`` column).
    mask_ids : drill-down IDs as ``P0001`` ... instead of the screening IDs.

    Subscribers (:meth:`subscribe`) are called as ``listener(event, cause)``: ``event``
    is ``"evaluation"`` (the statuses, labels or criteria changed), ``"funnel"`` or
    ``"drilldown"``; ``cause`` is the state trait that changed.
    """

    def __init__(
        self,
        data: Any,
        protocol: Protocol | str = "NCT07103668",
        *,
        parameters: Mapping[str, float] | None = None,
        include: Sequence[str] | None = None,
        source: str = "computed",
        reasons: str = REASONS_COLUMN,
        mask_ids: bool = True,
    ) -> None:
        if source not in SOURCES:
            raise ScreenkitError("Unknown source of statuses", value=source, accepted=SOURCES)
        self.data, self.source, self.reasons, self.mask_ids = data, source, reasons, mask_ids
        self.base_protocol = get_protocol(protocol)
        included = tuple(include) if include is not None else self.base_protocol.included
        parameters = dict(parameters or {})
        if source == "recorded" and parameters:
            raise ScreenkitError(RECORDED_THRESHOLDS, value=parameters)
        self.protocol, self.evaluation = self._evaluate(list(included or ()), parameters)
        for name, value in self.evaluation.parameters.items():
            self._check_range(name, value)
        self.patterns: PatternCounts = self.evaluation.patterns()
        self._row_sites, self._row_months = row_groups(self.evaluation.data)
        self._filtered: tuple[PatternCounts, tuple, PatternCounts] | None = None
        self.state = ExplorerState(
            order=tuple(self.protocol.ids),
            parameters=dict(self.evaluation.parameters),
            included=tuple(self.protocol.included or ()),
        )
        self._funnel = self._compute_funnel()
        self.state.drilldown = self.top_criterion()
        self._listeners: list[Listener] = []
        self.state.observe(self._on_parameters, names=["parameters"])
        self.state.observe(self._on_included, names=["included"])
        self.state.observe(self._on_funnel_inputs, names=["order", "excluded", "sites", "months"])
        self.state.observe(self._on_drilldown, names=["drilldown"])

    # ------------------------------------------------------------ reading
    @property
    def current(self) -> Funnel:
        """The funnel for the current thresholds, order, toggles and filters."""
        return self._funnel

    @property
    def thresholds_apply(self) -> bool:
        """False for recorded statuses, which no threshold changes."""
        return self.source != "recorded"

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(event, cause)`` after every change (see the class docstring)."""
        self._listeners.append(listener)

    def all_months(self) -> list[str]:
        """Screening months present (``YYYY-MM``; the no-date group is not a month)."""
        months = {str(m) for m in self.patterns.groups["screening_month"]}
        return sorted(m for m in months if re.fullmatch(r"\d{4}-\d{2}", m))

    def sites(self) -> list[str]:
        """Site IDs present, sorted."""
        return sorted(set(self.patterns.groups["site_id"]))

    def top_criterion(self) -> str:
        """The active criterion with the largest attribution (``""`` if none fails)."""
        crit = self._funnel.criteria
        crit = crit[crit["active"] & (crit["fails"] > 0)]
        if crit.empty:
            return ""
        return str(crit.sort_values("attribution", ascending=False)["criterion"].iloc[0])

    def labels(self) -> dict[str, str]:
        """Criterion ID -> label with the thresholds in force, left-out criteria too."""
        shown = {c.id: c.label for c in self.evaluation.protocol.criteria}
        off = self.base_protocol.switched(list(self.state.included))
        if self.thresholds_apply:
            off = off.with_parameters(**self.state.parameters)
        return {**{c.id: c.label for c in off.criteria_off}, **shown}

    def every_criterion(self) -> list[str]:
        """Every criterion a toggle can exist for, in file order (recorded mode's
        ``NR`` last)."""
        ids = [c.id for c in self.base_protocol.all_criteria]
        return ids + [c for c in self.protocol.ids if c not in ids]

    def criterion(self, cid: str) -> Criterion:
        """A criterion by ID, evaluated or left out (recorded mode's ``NR`` too)."""
        for c in (*self.protocol.criteria, *self.protocol.criteria_off):
            if c.id == cid:
                return c
        return next(c for c in self.base_protocol.all_criteria if c.id == cid)

    def changed_parameters(self) -> dict[str, float]:
        """Thresholds that differ from the protocol's (its value now, by name), as the
        evaluation's protocol records them (:meth:`Protocol.changed_parameters`)."""
        changed = self.evaluation.protocol.changed_parameters()
        return {name: now for name, (_, now) in changed.items()}

    def headline_notes(self) -> list[str]:
        """What the headline says besides the counts: source, thresholds, switched off,
        criteria left out, filters."""
        notes = [] if self.thresholds_apply else [RECORDED_HEADLINE]
        changed = self.changed_parameters()
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
        return notes

    def drilldown_html(self) -> str:
        """The drill-down table (patients failing ``state.drilldown``) as HTML; it reads
        that criterion's status column of the filtered patients only."""
        criterion = self.state.drilldown
        if not criterion:
            return "<i>Choose a criterion to list the patients failing it.</i>"
        rows = self._drilldown_rows()
        total = int(failing_mask(self.evaluation, criterion, rows).sum())
        table = failing_patients(
            self.evaluation, criterion, rows, mask_ids=self.mask_ids, limit=DRILLDOWN_ROWS
        )
        label = self.labels()[criterion]
        verb = "fail" if self.thresholds_apply else "are recorded as failing"
        return table_html(
            table, f"{total:,} patients {verb} {criterion} {label}", DRILLDOWN_ROWS, total
        )

    # ------------------------------------------------------------ changing
    def set_parameter(self, name: str, value: float) -> None:
        """Set one threshold (re-evaluates only the criteria that use it)."""
        if not self.thresholds_apply:
            raise ScreenkitError(RECORDED_THRESHOLDS, value=f"{name}={value}")
        value = self._check_range(name, round(float(value), 10))
        self.state.parameters = {**self.state.parameters, name: value}

    def reset_parameters(self) -> None:
        """Back to the protocol's thresholds."""
        self.state.parameters = self.protocol.parameter_values()

    def toggle(self, criterion: str, on: bool) -> None:
        """Switch a criterion on (it excludes patients) or off (it excludes nobody)."""
        self.protocol.criterion(criterion)
        excluded = [c for c in self.state.excluded if c != criterion]
        if not on:
            excluded.append(criterion)
        self.state.excluded = tuple(c for c in self.state.order if c in excluded)

    def include(self, criterion: str, on: bool = True) -> None:
        """Switch on (or leave out again) a criterion the protocol marks ``default: off``."""
        optional = self.base_protocol.off_by_default
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

    def reset_order(self) -> None:
        """Back to the protocol's order."""
        self.state.order = tuple(self.protocol.ids)

    def filter(self, sites: Sequence[str] | None = None, months: Sequence[str] | None = None):
        """Restrict to sites (``None`` / empty = all) and a ``(first, last)`` month range."""
        with self.state.hold_trait_notifications():
            self.state.sites = tuple(sites or ())
            self.state.months = tuple(months or ())

    # ------------------------------------------------------------ computing
    def _evaluate(self, include: list[str], parameters: Mapping[str, float]):
        """``(protocol at its thresholds, evaluation)`` with ``include`` switched on."""
        protocol = self.base_protocol.switched(include)
        if self.source == "recorded":
            evaluation = evaluate_recorded(self.data, protocol, column=self.reasons)
            return evaluation.protocol, evaluation  # with the NR pseudo-criterion
        return protocol, evaluate(self.data, protocol, **parameters)

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

    def _month_values(self) -> list[str] | None:
        if not self.state.months:
            return None
        first, last = self.state.months
        return [m for m in self.all_months() if first <= m <= last]

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

    def _drilldown_rows(self) -> np.ndarray:
        rows = np.ones(len(self._row_sites), bool)
        if self.state.sites:
            rows &= rows_in(self._row_sites, list(self.state.sites))
        months = self._month_values()
        if months is not None:
            rows &= rows_in(self._row_months, months)
        return rows

    def _emit(self, event: str, cause: str) -> None:
        for listener in self._listeners:
            listener(event, cause)

    def _refresh(self, cause: str) -> None:
        self._funnel = self._compute_funnel()
        self._emit("funnel", cause)

    def _on_parameters(self, change: dict) -> None:
        self.evaluation = self.evaluation.with_parameters(**change["new"])
        self.patterns = self.evaluation.patterns()
        self._emit("evaluation", "parameters")
        self._refresh("parameters")
        self._emit("drilldown", "parameters")

    def _on_included(self, change: dict) -> None:
        """Re-evaluate with the criteria switched on; they join the order after their
        neighbour in the protocol file, and leave the order, toggles and drill-down when
        left out again."""
        self.protocol, self.evaluation = self._evaluate(list(change["new"]), self.state.parameters)
        self.patterns = self.evaluation.patterns()
        self._emit("evaluation", "included")
        ids = self.protocol.ids
        order = [c for c in self.state.order if c in ids]
        for cid in ids:
            if cid not in order:
                before = ids[: ids.index(cid)]
                at = max((order.index(b) + 1 for b in before if b in order), default=0)
                order.insert(at, cid)
        with self.state.hold_trait_notifications():
            self.state.excluded = tuple(c for c in self.state.excluded if c in ids)
            self.state.order = tuple(order)
            if self.state.drilldown not in ids:
                self.state.drilldown = ""
        self._refresh("included")
        self._emit("drilldown", "included")

    def _on_funnel_inputs(self, change: dict) -> None:
        self._refresh(change["name"])
        if change["name"] in ("sites", "months"):
            self._emit("drilldown", change["name"])

    def _on_drilldown(self, change: dict) -> None:
        self._emit("drilldown", "drilldown")
