"""One colour scheme and one rounding rule for every face of screenkit.

The workbook (openpyxl takes ``"RRGGBB"``), the HTML report (CSS ``#RRGGBB``), the plotly
figures (``rgb(r, g, b)``) and the CONSORT flow all take their colours from here, so a
measure has the same colour wherever it is drawn.

**Rounding.** A number shown with *d* decimals is rounded half away from zero, the rule
Excel and LibreOffice apply to a cell formatted ``0.0%``: 26 of 32 (81.25%) reads
``81.3%`` in the workbook, the HTML report and the terminal alike. Python's own
``f"{x:.1f}"`` would round that half to even (``81.2``); :func:`percent` and
:func:`decimal_text` do not.

>>> percent(26 / 32), percent(0.0), percent(1 / 3), decimal_text(2.25)
('81.3%', '0.0%', '33.3%', '2.3')
>>> rgb(FAIL), css(NAVY)
('rgb(214, 39, 40)', '#1F3864')
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "FAIL",
    "FAILS_ONLY",
    "MEASURE_COLOURS",
    "NAVY",
    "NEUTRAL",
    "PASS",
    "PENDING",
    "UNKNOWN",
    "css",
    "decimal_text",
    "percent",
    "rgb",
    "round_half_up",
]

NAVY = "1F3864"  # titles, table headers
FAIL = "D62728"  # fails, screen-failed
PASS = "2CA02C"  # eligible
PENDING = "FF7F0E"  # pending (unknown values)
NEUTRAL = "1F77B4"  # remaining, equal-share attribution, randomized
FAILS_ONLY = "9467BD"  # fails only this (gained if dropped)
UNKNOWN = "A0A0A0"  # unknown

#: the colour of each per-criterion measure, by the column names of the Criteria table
MEASURE_COLOURS = {
    "Fails": FAIL,
    "Fails only this": FAILS_ONLY,
    "Share of screen failures": NEUTRAL,
    "Unknown": UNKNOWN,
}


def rgb(colour: str) -> str:
    """``"D62728"`` -> ``"rgb(214, 39, 40)"`` (plotly)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({r}, {g}, {b})"


def css(colour: str) -> str:
    """``"1F3864"`` -> ``"#1F3864"`` (HTML, SVG)."""
    return f"#{colour}"


def round_half_up(value: float, digits: int = 1) -> Decimal:
    """``value`` rounded to ``digits`` decimals, halves away from zero (as Excel shows it).

    The float is read through its 15 significant digits first, as a spreadsheet does, so
    ``0.8125 * 100`` is exactly the half it looks like.
    """
    try:
        exact = Decimal(f"{value:.15g}")
    except InvalidOperation as err:  # pragma: no cover - only for non-numbers
        raise TypeError(f"not a number: {value!r}") from err
    number = exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return abs(number) if number == 0 else number  # never "-0.0"


def percent(fraction: float, digits: int = 1) -> str:
    """A fraction as a percentage text: ``0.8125`` -> ``"81.3%"``."""
    return f"{round_half_up(100 * fraction, digits)}%"


def decimal_text(value: float, digits: int = 1, *, thousands: bool = False) -> str:
    """A number with ``digits`` decimals: ``2.25`` -> ``"2.3"``; ``thousands`` adds commas."""
    number = round_half_up(value, digits)
    return f"{number:,}" if thousands else f"{number}"
