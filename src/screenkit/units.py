"""Units as spreadsheets write them, converted to each column's canonical unit.

The dimensional part (g/L -> g/dL, /uL -> 10^9/L, lb -> kg, mm -> cm ...) is done by
`pint <https://pint.readthedocs.io>`_; the registry is built on first use (it costs about
0.2 s), so importing this module is cheap. Writing quirks are cleaned first:
``x10^9/L``, ``10*9/L``, ``×10⁹/L``, ``10E9/L`` -> ``10**9/L``; ``µ``/``μ`` -> ``u``;
``mm³`` -> ``mm**3``; ``cells/`` -> ``/``; ``lbs`` -> ``lb``; ``IU`` -> ``U``; ``bpm`` ->
``1/min``; ``g/24h`` -> ``g/day``; ``K/uL`` -> ``10**3/uL``; ``%`` -> ``percent``.

Mass <-> amount-of-substance conversions are analyte specific and use the conventional
clinical factors of ``shared/domain/clinical-facts.md`` as an explicit table
(:data:`MOLAR_FACTORS`): 1 g/dL Hb = 0.6206 mmol/L, 1 mg/dL creatinine = 88.4 umol/L,
1 mg/dL bilirubin = 17.1 umol/L, 1 mmol/L glucose = 18.016 mg/dL. An explicit table (not a
molar mass fed to pint) reproduces exactly those published factors. ULN columns
(``tbil_uln`` ...) convert like their analyte.

Converted values are rounded to :data:`SIGNIFICANT_DIGITS` (10) significant digits. This
removes floating-point noise (80 g/L is exactly 8.0 g/dL, 707.2 umol/L is exactly 8.0
mg/dL, 1500 /uL is exactly 1.5 x10^9/L) but never rounds a real measurement, which has far
fewer digits, across a threshold.

>>> conversion_factor("hb", "g/L")
0.1
>>> convert_values([80.0, 79.9], "hb", "g/L").tolist()
[8.0, 7.99]
>>> convert_values([1500.0], "anc", "cells/mm³").tolist()
[1.5]
>>> split_header_unit("PLT [/uL]")
('PLT', '/uL')
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .columns import COLUMNS
from .errors import InputError

__all__ = [
    "MOLAR_FACTORS",
    "SIGNIFICANT_DIGITS",
    "accepted_units",
    "clean_unit_text",
    "conversion_factor",
    "convert_values",
    "round_significant",
    "split_header_unit",
]

SIGNIFICANT_DIGITS = 10

# analyte: (unit A, unit B, factor) meaning 1 unit A = factor unit B
MOLAR_FACTORS: dict[str, tuple[str, str, float]] = {
    "hb": ("g/dL", "mmol/L", 0.6206),
    "creat": ("mg/dL", "umol/L", 88.4),
    "tbil": ("mg/dL", "umol/L", 17.1),
    "fasting_glucose": ("mmol/L", "mg/dL", 18.016),
}

# Spellings shown in error messages (and suggested for implausible values), by canonical unit.
_ACCEPTED = {
    "10^9/L": ["10^9/L", "10^3/uL", "/uL", "/mm3", "cells/mm3"],
    "g/dL": ["g/dL", "g/L"],
    "mg/dL": ["mg/dL", "mg/L"],
    "mmol/L": ["mmol/L"],
    "U/L": ["U/L", "IU/L"],
    "kg": ["kg", "g", "lb"],
    "cm": ["cm", "mm"],
    "%": ["%"],
    "ms": ["ms", "s"],
    "mmHg": ["mmHg", "kPa"],
    "1/min": ["1/min", "bpm"],
    "day": ["day", "week"],
    "week": ["week", "day", "month"],
    "year": ["year"],
    "g/day": ["g/day", "g/24h", "mg/24h"],
    "mg/day": ["mg/day"],
}

_BRACKETED = re.compile(
    r"^(?P<name>.*?)\s*[\(\[\{（【]\s*(?P<unit>[^\)\]\}）】]*?)\s*[\)\]\}）】]\s*$"
)
_REPLACEMENTS = [
    (re.compile(r"[µμ]"), "u"),
    (re.compile(r"[×xX]\s*(?=10)"), ""),  # x10^9/L -> 10^9/L
    (re.compile(r"10\s*(?:\^|\*\*|\*|E|e)\s*(\d+)"), r"10**\1"),  # 10^9, 10*9, 10E9
    (re.compile(r"10([⁰¹²³⁴⁵⁶⁷⁸⁹]+)"), lambda m: "10**" + _unsuper(m.group(1))),
    (re.compile(r"([a-zA-Z])\s*([²³])"), lambda m: m.group(1) + "**" + _unsuper(m.group(2))),
    (re.compile(r"(?<=[a-zA-Z])([23])\b"), r"**\1"),  # mm3 -> mm**3
    (re.compile(r"\bcells?\s*/", re.I), "/"),
    (re.compile(r"\blbs\b", re.I), "lb"),
    (re.compile(r"\bIU\b", re.I), "U"),
    (re.compile(r"\bbpm\b", re.I), "1/min"),
    (re.compile(r"/\s*24\s*h(ours?|rs?)?\b", re.I), "/day"),
    (re.compile(r"/\s*d\b"), "/day"),
    (re.compile(r"\bK/u", re.I), "10**3/u"),
    (re.compile(r"%"), "percent"),
    (re.compile(r"\b(yrs?|years?\s*old)\b", re.I), "year"),
    (re.compile(r"\bwks?\b", re.I), "week"),
]
_SUPER = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹²³", "012345678923")


def _unsuper(text: str) -> str:
    return text.translate(_SUPER)


@functools.cache
def _registry():
    import pint

    return pint.UnitRegistry()


def clean_unit_text(text: str) -> str:
    """Rewrite a unit as spreadsheets write it into pint's syntax.

    >>> clean_unit_text("x10^9/L"), clean_unit_text("cells/mm³"), clean_unit_text("µmol/L")
    ('10**9/L', '1/mm**3', 'umol/L')
    """
    out = str(text).strip()
    for pattern, repl in _REPLACEMENTS:
        out = pattern.sub(repl, out)
    out = out.strip()
    if out.startswith("/"):
        out = "1" + out
    return out


def _quantity(text: str):
    """The pint quantity a unit text stands for (with its power-of-ten factor), or None."""
    import tokenize

    import pint

    cleaned = clean_unit_text(text)
    if not cleaned:
        return None
    try:
        q = _registry().parse_expression(cleaned)
    except (pint.errors.PintError, SyntaxError, TypeError, ValueError, AttributeError):
        return None
    except (AssertionError, tokenize.TokenError):  # pint's parser on "#N/A", "("
        return None
    except ArithmeticError:  # a date read as arithmetic: "01/01/2024" divides by 0
        return None
    if not isinstance(q, _registry().Quantity):
        q = _registry().Quantity(q)
    return q


def is_unit(text: str) -> bool:
    """True when ``text`` reads as a unit.

    >>> is_unit("g/L"), is_unit("absolute")
    (True, False)
    """
    q = _quantity(text)
    return q is not None and not (q.dimensionless and q.units == _registry().dimensionless)


def _analyte(column: str) -> str:
    return column.removesuffix("_uln")


def accepted_units(column: str) -> list[str]:
    """Unit spellings accepted for ``column`` (a selection; equivalent spellings work too).

    >>> accepted_units("hb")
    ['g/dL', 'g/L', 'mmol/L']
    """
    unit = COLUMNS[column].unit
    if unit is None:
        return []
    names = list(_ACCEPTED.get(unit, [unit]))
    factor = MOLAR_FACTORS.get(_analyte(column))
    if factor:
        other = factor[1] if factor[0] == unit else factor[0]
        names += [other] if other not in names else []
        if other.startswith("u"):
            names.append("µ" + other[1:])
    return names


def _ratio(src, dst) -> float | None:
    import pint

    try:
        return float((src / dst).to("dimensionless").magnitude)
    except pint.errors.DimensionalityError:
        return None


def conversion_factor(column: str, unit: str, *, header: str | None = None) -> float:
    """The number that turns a value of ``column`` written in ``unit`` into canonical units.

    Raises :class:`InputError` (naming ``header`` if given, else the column) when the unit
    is not understood or cannot describe this column.

    >>> conversion_factor("creat", "µmol/L") == 1 / 88.4
    True
    >>> round(conversion_factor("weight_kg", "lbs"), 10)
    0.45359237
    """
    canonical = COLUMNS[column].unit
    shown = header or column
    expected = ", ".join(accepted_units(column)) or "no unit"
    if canonical is None:
        raise InputError(
            f"Column {column!r} takes no unit", column=shown, value=unit, expected=expected
        )
    src = _quantity(unit)
    if src is None:
        raise InputError("Unit not understood", column=shown, value=unit, expected=expected)
    dst = _quantity(canonical)
    direct = _ratio(src, dst)
    if direct is not None:
        return direct
    molar = MOLAR_FACTORS.get(_analyte(column))
    if molar is not None:
        a, b, factor = molar  # 1 a = factor b
        qa, qb = _quantity(a), _quantity(b)
        in_a = _ratio(src, qa)  # src -> a
        if in_a is None and _ratio(src, qb) is not None:
            in_a = _ratio(src, qb) / factor
        to_canonical = _ratio(qa, dst)  # a -> canonical
        if to_canonical is None and _ratio(qb, dst) is not None:
            to_canonical = factor * _ratio(qb, dst)
        if in_a is not None and to_canonical is not None:
            return in_a * to_canonical
    raise InputError(
        f"Unit cannot be converted to {canonical} for {COLUMNS[column].label}",
        column=shown,
        value=unit,
        expected=expected,
    )


def round_significant(values: np.ndarray, digits: int = SIGNIFICANT_DIGITS) -> np.ndarray:
    """Round each finite value to ``digits`` significant digits (NaN stays NaN).

    >>> round_significant(np.array([80 * 0.1, 7.999999999999999, np.nan])).tolist()
    [8.0, 8.0, nan]
    """
    arr = np.asarray(values, dtype=float)
    return np.array([float(f"{v:.{digits}g}") if np.isfinite(v) else v for v in arr.tolist()])


def convert_values(values: Iterable[float], column: str, unit: str) -> pd.Series:
    """Convert numbers written in ``unit`` to ``column``'s canonical unit (rounded).

    >>> convert_values([183.7632], "fasting_glucose", "mg/dL").tolist()
    [10.2]
    """
    series = pd.Series(values, dtype="Float64")
    factor = conversion_factor(column, unit)
    raw = series.to_numpy(dtype=float, na_value=np.nan) * factor
    return pd.Series(round_significant(raw), index=series.index, dtype="Float64")


def split_header_unit(header: str) -> tuple[str, str | None]:
    """Split a trailing bracketed unit off a header: ``"Hb (g/L)"`` -> ``("Hb", "g/L")``.

    >>> split_header_unit("Weight"), split_header_unit("体重（kg）")
    (('Weight', None), ('体重', 'kg'))
    """
    match = _BRACKETED.match(str(header))
    if match and match.group("name"):
        return match.group("name").strip(), match.group("unit").strip()
    return str(header).strip(), None
