"""Unit checks of a loaded column (part of :mod:`screenkit.normalize`): conversion to the
column's canonical unit, values impossible in that unit (with the likely mistaken unit),
and an analyte / upper-limit-of-normal pair where only one names its unit.

>>> import pandas as pd
>>> from screenkit.columns import COLUMNS
>>> values = pd.Series([9.1, 91.0], index=[2, 3], dtype="Float64")
>>> [n[2] for n in implausible(values, COLUMNS["hb"], None)]
['implausible']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import units
from .columns import COLUMNS, Column
from .errors import InputError

__all__ = ["convert", "implausible", "infer_uln_units"]


def convert(
    values: pd.Series, column: Column, header: str, unit: str | None, unit_cells: pd.Series | None
) -> tuple[pd.Series, list[dict], list[tuple], list[tuple]]:
    """Convert a parsed numeric column to canonical units.

    Returns values, conversion rows, unit problems ``(row, unit, accepted)`` and converted
    cells ``(row, unit)``. A unit cell overrides the header unit; a blank one falls back to it.
    """
    per_row = pd.Series(unit, index=values.index, dtype=object)
    if unit_cells is not None:
        given = unit_cells.map(lambda v: None if v is None else str(v).strip() or None)
        per_row = given.where(given.notna(), per_row)
    conversions, problems, converted = [], [], []
    out = values.copy()
    for text in per_row.dropna().unique():
        rows = per_row.index[per_row == text]
        try:
            factor = units.conversion_factor(column.name, text, header=header)
        except InputError as exc:
            if unit_cells is None:
                raise
            problems += [(r, text, exc.expected) for r in rows]
            out[rows] = pd.NA
            continue
        present = values[rows].dropna().index
        if abs(factor - 1.0) > 1e-12:
            out[rows] = units.convert_values(values[rows], column.name, text).to_numpy()
            converted += [(r, text) for r in present]
        conversions.append(
            {
                "column": column.name,
                "from_unit": text,
                "to_unit": column.unit,
                "cells": len(present),
            }
        )
    return out, conversions, problems, converted


def implausible(
    values: pd.Series, column: Column, stated: str | None, raw: Any = None
) -> list[tuple]:
    """Values impossible in the column's canonical unit: ``(row, value, kind, detail)``.

    ``raw`` holds the cells as written, by row (``raw[row]``: a Series, or anything
    indexed so; read only for the impossible ones, for the hint).

    They are made missing (unknown for every criterion using them), never evaluated; the
    detail says what the value would be in a likely mistaken unit.
    """
    low, high = column.plausible
    # on plain floats (missing: NaN, which compares false), not on the masked column: one
    # comparison per bound, no mask carried through each step
    known = values.to_numpy(dtype=np.float64, na_value=np.nan)
    outside = (known < low) | (known > high)
    if column.integer:
        outside |= (known != np.round(known)) & ~np.isnan(known)
    bad = values.iloc[np.flatnonzero(outside)]
    notes = []
    unit = column.unit or ""
    for row, value in bad.items():
        if low <= value <= high:
            detail = f"{value:g} is not a whole number ({column.label} is {low:g}-{high:g})"
        else:
            detail = f"{value:g} outside the plausible range {low:g}-{high:g} {unit}".strip()
        written = pd.to_numeric(raw[row], errors="coerce") if raw is not None else value
        hint = _unit_hint(float(value if pd.isna(written) else written), column, stated)
        notes.append((row, value, "implausible", detail + hint + "; read as missing"))
    return notes


def _unit_hint(written: float, column: Column, stated: str | None) -> str:
    """A likely mistaken unit for an impossible value ``written`` as in the file."""
    low, high = column.plausible
    if column.unit == "%" and 0 < written <= 1 and low <= written * 100 <= high:
        return f"; a fraction? ({written:g} = {written * 100:g} %)"
    if not column.unit:
        return ""
    stated_factor = None
    if stated is not None and stated != "unit column":
        stated_factor = units.conversion_factor(column.name, stated)
    for alt in units.accepted_units(column.name):
        factor = units.conversion_factor(column.name, alt)
        if stated_factor is None and factor == 1.0:
            continue  # no unit given: the canonical reading is the one that failed
        if stated_factor is not None and abs(factor - stated_factor) < 1e-12:
            continue
        guess = written * factor
        if low <= guess <= high:
            said = f"the header says {stated}" if stated_factor is not None else "no unit given"
            return f"; {said}: written in {alt}? (= {guess:g} {column.unit})"
    return ""


# An analyte and its upper limit of normal must be in one unit before they are compared.
_ULN_PAIRS = {
    name: name.removesuffix("_uln")
    for name in COLUMNS
    if name.endswith("_uln") and name.removesuffix("_uln") in COLUMNS
}


def _plausible_share(values: pd.Series, column: Column, factor: float) -> float:
    known = values.dropna().to_numpy(dtype=float) * factor
    if not len(known):
        return 1.0
    low, high = column.plausible or (-float("inf"), float("inf"))
    return float(((known >= low) & (known <= high)).mean())


def infer_uln_units(data, given_unit, source_of, frame, cells, unreadable, conversions) -> list:
    """When only one of an analyte and its ULN names a unit, infer the other's.

    The unitless column is read in the canonical unit or in its partner's unit, whichever
    makes its values plausible; when neither reading (or both) is plausible for every
    value, the unitless column is made unknown. Returns load-report notes.
    """
    notes = []
    for uln, analyte in _ULN_PAIRS.items():
        if uln not in data or analyte not in data:
            continue
        a_unit, u_unit = given_unit.get(analyte), given_unit.get(uln)
        if (a_unit is None) == (u_unit is None):
            continue
        stated, bare = (analyte, uln) if u_unit is None else (uln, analyte)
        unit = given_unit[stated]
        if unit == "unit column" or units.conversion_factor(stated, unit) == 1.0:
            continue  # the stated unit is the canonical one: nothing to infer
        column = COLUMNS[bare]
        factor = units.conversion_factor(bare, unit)
        as_canonical = _plausible_share(data[bare], column, 1.0) == 1.0
        as_partner = _plausible_share(data[bare], column, factor) == 1.0
        header, pos = source_of[bare]
        if as_partner and not as_canonical:
            data[bare] = units.convert_values(data[bare], bare, unit).set_axis(data[bare].index)
            given_unit[bare] = unit
            present = data[bare].dropna().index
            for row in present:
                cells.append(
                    (
                        row,
                        header,
                        frame.at[row, pos],
                        "converted",
                        f"unit inferred from {source_of[stated][0]!r}: {unit} -> {column.unit}: "
                        f"{data[bare][row]:g}",
                    )
                )
            conversions.append(
                {
                    "column": bare,
                    "from_unit": f"{unit} (inferred)",
                    "to_unit": column.unit,
                    "cells": len(present),
                }
            )
            notes.append(
                f"unit inferred: {header!r} names no unit; read in {unit} like "
                f"{source_of[stated][0]!r} (its values are plausible only so)"
            )
        elif as_canonical and not as_partner:
            given_unit[bare] = column.unit
            notes.append(
                f"unit inferred: {header!r} names no unit; read in {column.unit} (its values "
                f"are plausible only so, not in {unit} like {source_of[stated][0]!r})"
            )
        else:
            known = data[bare].notna()
            for row in data[bare].index[known]:
                cells.append(
                    (
                        row,
                        header,
                        frame.at[row, pos],
                        "unparsed",
                        f"no unit, and {source_of[stated][0]!r} is in {unit}: cannot tell which "
                        f"unit this is in; read as missing (name the unit in the header)",
                    )
                )
            unreadable[bare] = unreadable[bare] | known
            data[bare] = data[bare].mask(known)
            notes.append(
                f"unit unknown: {header!r} names no unit and its values do not say whether "
                f"they are in {column.unit} or {unit} like {source_of[stated][0]!r}: "
                f"read as missing (criteria using it are unknown)"
            )
    return notes
