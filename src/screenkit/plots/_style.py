"""Colours, sizes and labels shared by the screenkit funnel figures (the colours come
from :mod:`screenkit.style`, shared with the workbook and the HTML report)."""

from __future__ import annotations

from screenkit import style

__all__ = ["FAIL", "NEUTRAL", "PASS", "PENDING", "ROW_PX", "TEMPLATE", "step_label"]

TEMPLATE = "plotly_white"
FAIL = style.rgb(style.FAIL)
PASS = style.rgb(style.PASS)
PENDING = style.rgb(style.PENDING)
NEUTRAL = style.rgb(style.NEUTRAL)
ROW_PX = 22  # pixels per category row


def step_label(criterion: str, label: str, width: int = 42) -> str:
    """``"I5b Largest lesion <= 5 cm"``, shortened to ``width`` characters.

    >>> step_label("I7a", "No transfusion / growth factor within 7 days of labs", 30)
    'I7a No transfusion / growth f…'
    """
    text = f"{criterion} {label}"
    return text if len(text) <= width else text[: width - 1] + "…"
