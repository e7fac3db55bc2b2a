"""Colours, sizes and labels shared by the screenkit funnel figures."""

from __future__ import annotations

__all__ = ["FAIL", "NEUTRAL", "PASS", "PENDING", "ROW_PX", "TEMPLATE", "step_label"]

TEMPLATE = "plotly_white"
FAIL = "rgb(214, 39, 40)"
PASS = "rgb(44, 160, 44)"
PENDING = "rgb(255, 127, 14)"
NEUTRAL = "rgb(31, 119, 180)"
ROW_PX = 22  # pixels per category row


def step_label(criterion: str, label: str, width: int = 42) -> str:
    """``"I5b Largest lesion <= 5 cm"``, shortened to ``width`` characters.

    >>> step_label("I7a", "No transfusion / growth factor within 7 days of labs", 30)
    'I7a No transfusion / growth f…'
    """
    text = f"{criterion} {label}"
    return text if len(text) <= width else text[: width - 1] + "…"
