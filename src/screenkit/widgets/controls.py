"""Widget factories for the explorer: generated from the protocol, never per criterion.

Each function builds one control (with its CSS class, for the browser tests) and wires
nothing: :class:`~screenkit.widgets.explorer.ScreeningExplorer` connects them to its state.

>>> from screenkit.protocol import get_protocol
>>> protocol = get_protocol("NCT07103668")
>>> slider = parameter_slider(protocol.parameters["lesion_max_cm"])
>>> slider.description, slider.min, slider.max, slider.step, slider.readout_format
('Largest lesion, maximum diameter', 2.0, 15.0, 0.5, '.1f')
>>> slider._dom_classes
('screenkit-param-lesion_max_cm',)
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go

from screenkit.plots.funnel import step_label
from screenkit.protocol import Criterion, Parameter

__all__ = [
    "criterion_toggle",
    "decimals",
    "drilldown_select",
    "include_toggle",
    "labelled_slider",
    "month_range",
    "order_buttons",
    "order_list",
    "order_options",
    "parameter_slider",
    "section",
    "site_select",
    "update_in_place",
]


def update_in_place(widget: go.FigureWidget, spec: dict, previous: dict | None = None) -> None:
    """Copy a figure spec's traces and layout into ``widget`` inside one ``batch_update``.

    ``spec`` is ``{"data": [trace dicts], "layout": {...}}`` (see
    :data:`screenkit.plots.funnel.FIGURE_SPECS`). The spec functions return a fixed number
    of traces, so traces are updated, not replaced; the template is not re-sent. With
    ``previous`` (the spec last copied into ``widget``), only properties that changed are
    sent.
    """
    old_data = previous["data"] if previous else [{}] * len(spec["data"])
    old_layout = previous["layout"] if previous else {}
    with widget.batch_update():
        if len(widget.data) != len(spec["data"]):  # pragma: no cover - fixed trace counts
            widget.data = ()
            widget.add_traces(spec["data"])
        else:
            for target, source, old in zip(widget.data, spec["data"], old_data, strict=True):
                changed = _changed(source, old, skip=("type",))
                if changed:
                    target.update(changed, overwrite=True)
        changed = _changed(spec["layout"], old_layout, skip=("template",))
        if changed:
            widget.layout.update(changed, overwrite=True)


def _changed(new: dict, old: dict, skip: tuple[str, ...]) -> dict:
    return {
        k: v for k, v in new.items() if k not in skip and (k not in old or not _same(v, old[k]))
    }


def _same(a: object, b: object) -> bool:
    """Conservative equality of spec values (arrays, lists, dicts, scalars).

    >>> import numpy as np
    >>> _same(np.array([1.0, np.nan]), np.array([1.0, np.nan])), _same([1, 2], [1, 3])
    (True, False)
    """
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape or x.dtype.kind != y.dtype.kind:
            return False
        return bool(np.array_equal(x, y, equal_nan=x.dtype.kind == "f"))
    try:
        return bool(a == b)
    except (ValueError, TypeError):  # e.g. dicts holding arrays: send again
        return False


def decimals(step: float | None) -> int:
    """Decimals a slider readout needs for ``step``.

    >>> decimals(1), decimals(0.5), decimals(0.05), decimals(2.5)
    (0, 1, 2, 1)
    """
    if not step:
        return 2
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def parameter_slider(parameter: Parameter, value: float | None = None) -> w.FloatSlider:
    """A ``FloatSlider`` over the parameter's range: the label as description, an
    editable readout, changes sent on release (``continuous_update=False``), CSS class
    ``screenkit-param-<name>``."""
    step = parameter.step or (parameter.max - parameter.min) / 100
    unit = parameter.unit or "no unit"
    slider = w.FloatSlider(
        value=parameter.value if value is None else value,
        min=parameter.min,
        max=parameter.max,
        step=step,
        description=parameter.label,
        description_allow_html=False,
        tooltip=f"{parameter.label} ({unit}); used by {', '.join(parameter.criteria)}",
        continuous_update=False,
        readout=True,
        readout_format=f".{decimals(step)}f",
        style={"description_width": "50%"},
        layout=w.Layout(width="98%"),
    )
    slider.add_class(f"screenkit-param-{parameter.name}")
    return slider


def labelled_slider(parameter: Parameter, slider: w.FloatSlider) -> w.VBox:
    """The slider under its full label and unit, wrapped over as many lines as needed
    (a slider's own description is one line, cut off with an ellipsis); the slider's
    description stays the label (its accessible name) but takes no room.

    >>> from screenkit.protocol import get_protocol
    >>> p = get_protocol("NCT07103668").parameters["lesion_max_cm"]
    >>> box = labelled_slider(p, parameter_slider(p))
    >>> box.children[0].value  # doctest: +ELLIPSIS
    '<div class="screenkit-param-label" ...>Largest lesion, maximum diameter <b>(cm)</b></div>'
    """
    unit = f" <b>({html.escape(parameter.unit)})</b>" if parameter.unit else ""
    label = w.HTML(
        '<div class="screenkit-param-label" style="line-height: 1.25; white-space: normal">'
        f"{html.escape(parameter.label)}{unit}</div>",
        layout=w.Layout(width="98%", flex="0 0 auto"),
    )
    slider.style.description_width = "0px"
    # flex "0 0 auto": inside the scrolling Thresholds box, a shrinkable VBox collapses
    return w.VBox([label, slider], layout=w.Layout(margin="0 0 4px 0", flex="0 0 auto"))


def criterion_toggle(criterion: Criterion, label: str | None = None) -> w.Checkbox:
    """A checkbox switching one criterion on or off (class ``screenkit-toggle-<ID>``);
    ``label``: the label with the thresholds in force (default: the criterion's)."""
    box = w.Checkbox(
        value=True,
        description=step_label(criterion.id, label or criterion.label, 70),
        tooltip=f"{criterion.kind}: {criterion.rule.text}",
        indent=False,
        layout=w.Layout(width="98%"),
    )
    box.add_class(f"screenkit-toggle-{criterion.id}")
    return box


def include_toggle(criterion: Criterion, value: bool = False) -> w.Checkbox:
    """A checkbox including a criterion the protocol leaves off by default (class
    ``screenkit-include-<ID>``); its description says where the criterion comes from.

    >>> from screenkit.protocol import get_protocol
    >>> box = include_toggle(get_protocol("CT041-ST-01").switched().criteria_off[0])
    >>> box.value, box.description.startswith("I4 "), box._dom_classes
    (False, True, ('screenkit-include-I4',))
    """
    box = w.Checkbox(
        value=value,
        description=step_label(criterion.id, criterion.label, 70),
        tooltip=f"off by default; source: {criterion.source}",
        indent=False,
        layout=w.Layout(width="98%"),
    )
    box.add_class(f"screenkit-include-{criterion.id}")
    return box


def order_options(
    order: tuple[str, ...], labels: dict[str, str], excluded: tuple[str, ...]
) -> list[tuple[str, str]]:
    """``(text, criterion ID)`` options of the funnel-order list.

    >>> order_options(("E7", "I1"), {"E7": "SpO2", "I1": "Age"}, ("I1",))
    [('1. E7 SpO2', 'E7'), ('2. I1 Age (off)', 'I1')]
    """
    off = set(excluded)
    return [
        (f"{i + 1}. {step_label(c, labels[c], 60)}{' (off)' if c in off else ''}", c)
        for i, c in enumerate(order)
    ]


def order_list(options: list[tuple[str, str]]) -> w.Select:
    """The funnel-order list (class ``screenkit-order``)."""
    select = w.Select(options=options, rows=12, layout=w.Layout(width="98%"))
    select.add_class("screenkit-order")
    return select


def order_buttons(
    *, up: Callable[[], None], down: Callable[[], None], first: Callable[[], None],
    reset: Callable[[], None],
) -> w.HBox:  # fmt: skip
    """Up / Down / First / Protocol order (classes ``screenkit-move-up`` ...,
    ``screenkit-reset-order``), each calling its action on click."""
    buttons = []
    for text, icon, css, action in (
        ("Up", "arrow-up", "move-up", up),
        ("Down", "arrow-down", "move-down", down),
        ("First", "angle-double-up", "move-first", first),
        ("Protocol order", "", "reset-order", reset),
    ):
        button = w.Button(description=text, icon=icon, layout=w.Layout(width="auto"))
        button.add_class(f"screenkit-{css}")
        button.on_click(lambda _, action=action: action())
        buttons.append(button)
    return w.HBox(buttons)


def site_select(sites: list[str]) -> w.SelectMultiple:
    """The site filter (class ``screenkit-sites``); none selected = all sites."""
    select = w.SelectMultiple(
        options=sites,
        rows=min(8, max(len(sites), 2)),
        description="Sites",
        tooltip="none selected = all sites",
    )
    select.add_class("screenkit-sites")
    return select


def month_range(months: list[str]) -> w.SelectionRangeSlider:
    """The screening-month range (class ``screenkit-months``), disabled without dates."""
    slider = w.SelectionRangeSlider(
        options=months or ["(no dates)"],
        index=(0, max(len(months) - 1, 0)),
        description="Screened",
        continuous_update=False,
        disabled=not months,
        layout=w.Layout(width="98%"),
    )
    slider.add_class("screenkit-months")
    return slider


def drilldown_select(options: list[tuple[str, str]], value: str) -> w.Dropdown:
    """The drill-down criterion (class ``screenkit-drilldown``)."""
    dropdown = w.Dropdown(
        options=options, value=value, description="Drill down", layout=w.Layout(width="98%")
    )
    dropdown.add_class("screenkit-drilldown")
    return dropdown


def section(title: str, *children: w.Widget, height: str | None = None) -> w.VBox:
    """A titled group of controls; with ``height``, a scrolling box of at most that height."""
    body = w.VBox(
        list(children),
        layout=w.Layout(max_height=height, overflow="auto") if height else w.Layout(),
    )
    return w.VBox([w.HTML(f"<b>{html.escape(title)}</b>"), body])
