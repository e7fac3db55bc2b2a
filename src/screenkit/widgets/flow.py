"""The explorer's CONSORT flow tab, beside the drill-down.

The flow of every screened patient (all sites and months, as the workbook download) for
the thresholds, order and criteria switched off on screen. Its randomized box reads the
patients' rows (eligible and randomized), so like the drill-down it is a row view: drawn
only while its tab is open, and never by the site and month filters.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import ipywidgets as w

from screenkit.evaluate import Evaluation
from screenkit.widgets.model import ExplorerModel

__all__ = ["FlowTab"]

TITLES = ("Patients failing a criterion", "CONSORT flow")


class FlowTab:
    """``tabs(drill)`` puts the drill-down and the flow (``html``) side by side as tabs;
    :meth:`render` (called on every funnel change) redraws the flow when its tab is open
    and the evaluation, order or switched-off criteria differ from the drawn ones."""

    def __init__(self, model: ExplorerModel) -> None:
        self.model = model
        self.html = w.HTML()
        self.html.add_class("screenkit-flow")
        self.tab: w.Tab | None = None
        # what is drawn: the evaluation by a weak reference rather than id() (a freed
        # evaluation's address can be reused by the next one), and the view
        self._drawn_of: Callable[[], Evaluation | None] = lambda: None
        self._drawn_view: tuple = ()

    def tabs(self, drill: w.Widget) -> w.Tab:
        self.tab = w.Tab(children=[drill, self.html])
        for i, title in enumerate(TITLES):
            self.tab.set_title(i, title)
        self.tab.observe(lambda change: self.render(), names="selected_index")
        return self.tab

    def render(self) -> None:
        from screenkit.plots.flow import consort_flow
        from screenkit.widgets.download import workbook_funnel

        if self.tab is None or self.tab.selected_index != 1:
            return
        state, evaluation = self.model.state, self.model.evaluation
        view = (tuple(state.order), tuple(state.excluded))
        if self._drawn_of() is evaluation and self._drawn_view == view:
            return
        self._drawn_of, self._drawn_view = weakref.ref(evaluation), view
        flow = consort_flow(evaluation, workbook_funnel(self.model))
        self.html.value = (
            "<small>All sites and months (the filters do not apply), the thresholds, order "
            "and criteria on screen.</small><br>" + flow.to_svg()
        )
