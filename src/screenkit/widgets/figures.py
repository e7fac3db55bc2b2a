"""The explorer's plotly figures, each in its own container, kept in step with the page.

A ``FigureWidget`` shown in a page is a frontend view bound to a frontend model. Two
ways were found for that view to stop following the kernel, each leaving a figure that
disagrees with the headline:

- **Changes before the first display.** Voila renders a widget from its constructor
  state and drops updates sent before the page connected: a figure changed before it
  was first shown is rebuilt from its current spec when it is shown.
- **Dead figures after page load (the flaky Voila test, #17).** Under load, Voila's page
  sometimes draws the figures from the page's initial widget state with no live
  connection to the kernel: the headline (a core widget) follows every slider move
  while every figure keeps the page-load counts for good (measured: all four figures
  still stale 20 s after a change, after a resize and after a second change; the
  same DOM elements throughout). Such a figure never reports back either: plotly's
  view sends ``_js2py_layoutDelta`` after each draw, and none arrives. So a figure
  whose view has not reported drawing by the first change after display is replaced
  by a fresh widget (an ordinary ``comm_open`` to the page, live by then) built from
  its current spec, once; a figure whose view reported is updated in place.

Figures are updated in place (:func:`~screenkit.widgets.controls.update_in_place`),
inside one ``batch_update`` each.
"""

from __future__ import annotations

import ipywidgets as w
import plotly.graph_objects as go

from screenkit.widgets.controls import update_in_place

__all__ = ["FigureSlots"]


class FigureSlots:
    """``figures`` (name -> ``go.FigureWidget``) and ``boxes`` (name -> the
    ``ipywidgets.Box`` holding it, which the layout shows).

    >>> slots = FigureSlots({"f": {"data": [{"type": "bar", "x": [1]}], "layout": {}}})
    >>> old = slots.figures["f"]
    >>> slots.update("f", {"data": [{"type": "bar", "x": [2]}], "layout": {}})
    >>> slots.show()                     # changed before the first display: rebuilt
    >>> slots.figures["f"] is not old, slots.boxes["f"].children == (slots.figures["f"],)
    (True, True)
    """

    def __init__(self, specs: dict[str, dict], layouts: dict[str, w.Layout] | None = None):
        self.specs = dict(specs)
        self.figures: dict[str, go.FigureWidget] = {}
        self.boxes: dict[str, w.Box] = {}
        self.shown = False
        self.drawn: set[str] = set()  # figures whose page view reported drawing
        self._stale: set[str] = set()
        self._renewed: set[str] = set()
        for name, spec in self.specs.items():
            self.figures[name] = figure = go.FigureWidget(**spec)
            layout = (layouts or {}).get(name) or w.Layout(width="100%")
            self.boxes[name] = w.Box([figure], layout=layout)
            self._watch(name, figure)

    def update(self, name: str, spec: dict) -> None:
        """Copy ``spec`` into the figure (only what changed is sent); after display, a
        figure no view has reported drawing is replaced instead (once)."""
        if self.shown and name not in self.drawn and name not in self._renewed:
            self.specs[name] = spec
            self._renewed.add(name)
            self.renew(name)
            return
        update_in_place(self.figures[name], spec, previous=self.specs[name])
        self.specs[name] = spec
        if not self.shown:
            self._stale.add(name)

    def show(self) -> None:
        """Called when the explorer is displayed: rebuild what changed before."""
        if self.shown:
            return
        self.shown = True
        for name in sorted(self._stale):
            self.renew(name)
        self._stale.clear()

    def renew(self, name: str) -> None:
        """Replace a figure by a new widget built from its current spec."""
        old = self.figures[name]
        self.figures[name] = new = go.FigureWidget(**self.specs[name])
        self.drawn.discard(name)
        self._watch(name, new)
        self.boxes[name].children = (new,)
        old.close()

    def _watch(self, name: str, figure: go.FigureWidget) -> None:
        def drawn(change: dict) -> None:
            if change["new"] is not None and self.figures.get(name) is figure:
                self.drawn.add(name)
                figure.unobserve(drawn, names="_js2py_layoutDelta")

        figure.observe(drawn, names="_js2py_layoutDelta")
