"""A screening spreadsheet -> the canonical frame, with a report of every read.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
>>> _ = path.write_text("Subject,Hb (g/L),HIV Ab\\n007,80,N\\n008,ND,maybe\\n", encoding="utf-8")
>>> sd = load_screening(path, columns={"HIV Ab": "hiv_pos"})
>>> sd.data  # doctest: +NORMALIZE_WHITESPACE
    patient_id site_id   hb  hiv_pos
row
2          007       1  8.0    False
3          008       1 <NA>     <NA>
>>> sd.report.problems[["row", "column", "value", "kind"]].to_dict("records")
[{'row': 3, 'column': 'HIV Ab', 'value': 'maybe', 'kind': 'unparsed'}]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from .codedframe import ArrowCells, CodedFrame
from .columnparse import parse_coded
from .columns import COLUMNS, canonical_order
from .errors import InputError
from .header_map import _header_score, _is_header, header_key, header_keys, match_header
from .header_map import map_headers as _map_headers
from .header_map import read_user_map as _read_user_map
from .load import RawTable, read_table
from .loadedcodes import LoadedCodes
from .loadreport import CellNotes, Coded, LoadReport, ScreeningData
from .normalize_units import convert, implausible, infer_uln_units

__all__ = ["LoadReport", "ScreeningData", "header_key", "load_screening", "match_header"]
# kept importable from here: the header judges (tests), header_keys, the user map reader
_REEXPORTED = (_header_score, _is_header, header_keys, _read_user_map)


def load_screening(
    path: str | Path,
    sheet: str | None = None,
    columns: Mapping[str, str | None] | str | Path | None = None,
    encoding: str | None = None,
    strict: bool = False,
) -> ScreeningData:
    """Read a screening log into canonical columns and units, with a full load report.

    ``sheet=None`` reads, in a workbook of several sheets, the visible worksheet whose
    header row maps best onto the canonical columns (a cover page, instructions or a data
    dictionary first is skipped; a hidden sheet is read only when named); the report's
    notes say which sheet was read and why. ``columns`` maps headers as the
    file spells them to canonical names (``"hb"``, ``"hb (g/L)"`` with a unit, or None to
    leave a header unmapped), or names a .csv / .json / .yaml file holding that map.
    ``encoding`` overrides detection for text files. ``strict=True`` raises on the first
    unparsed cell instead of reporting it.
    """
    path = Path(path)
    user = _read_user_map(columns)
    raw = read_table(
        path, sheet=sheet, encoding=encoding, is_header=_is_header, header_score=_header_score
    )
    headers = _map_headers(raw, user, path)
    notes: list[str] = []
    if raw.sheets:
        notes.append(raw.sheet_choice)
    if raw.encoding:
        how = "detected" if raw.encoding_detected else "given"
        notes.append(f"encoding {raw.encoding} ({how})")
    if raw.header_row != 1:
        notes.append(f"header on row {raw.header_row}")
    missing_keys = sorted(set(user) - set(raw.headers))
    if missing_keys:
        notes.append(f"columns= names headers not in the file: {missing_keys}")
    mapped = headers[headers["canonical"].notna() & (headers["how"] != "unit column")]
    if "patient_id" not in set(mapped["canonical"]):
        raise InputError(
            "No patient ID column",
            file=path,
            sheet=raw.sheet,
            value=", ".join(raw.headers),
            expected=", ".join(["patient_id", *COLUMNS["patient_id"].aliases]),
            hint="name it, or pass columns={'<your header>': 'patient_id'}",
        )
    # the cells as codes into each column's distinct cells: a column becomes Python
    # objects only where a note or a unit column needs them (frame[j])
    frame, skipped_rows = _drop_non_patient_rows(raw, mapped)
    data: dict[str, pd.Series] = {}
    censored: dict[str, pd.Series] = {}
    unreadable: dict[str, pd.Series] = {}
    cells, conversions = CellNotes(), []
    given_unit: dict[str, str | None] = {}  # canonical -> the unit the file states (or None)
    source_of: dict[str, tuple[str, int]] = {}  # canonical -> (header, position)
    loaded_codes: dict[str, LoadedCodes | None] = {}  # text columns: codes handed on
    # the first unit column of each canonical column, looked up once, not per column
    units = headers[headers["how"] == "unit column"]
    unit_column_at: dict[str, Any] = {}
    for canonical, pos in zip(units["canonical"], units["pos"], strict=True):
        unit_column_at.setdefault(canonical, pos)
    for spec in mapped.itertuples():
        column = COLUMNS[spec.canonical]
        unit = spec.unit if isinstance(spec.unit, str) else None
        codes, uniques = frame.codes(spec.pos)
        objects = frame.read_as_objects(spec.pos)
        cells_at = partial(frame.values_at, spec.pos) if objects else None
        noted = parse_coded(frame.index, codes, uniques, column, cells_at)
        parsed, censor = noted.values, noted.censor
        if column.kind in ("text", "category") and column.dtype == "string":
            loaded_codes[column.name] = LoadedCodes.from_column(parsed, codes)
        cells.add(  # the notes stay codes into the distinct cells, kinds and details
            frame.index[noted.at],
            spec.header,
            noted.written if objects else Coded(codes[noted.at], uniques),
            Coded(noted.codes, noted.kind_of),
            Coded(noted.codes, noted.detail_of),
        )
        unparsed = np.zeros(len(frame), dtype=bool)
        unparsed[noted.at[(noted.kind_of == "unparsed")[noted.codes]]] = True
        bad = pd.Series(unparsed, index=frame.index)
        unit_pos = unit_column_at.get(column.name)
        unit_cells = frame[unit_pos] if unit_pos is not None else None
        if column.unit and (unit is not None or unit_cells is not None):
            parsed, conv, bad_units, converted = convert(
                parsed, column, spec.header, unit, unit_cells
            )
            conversions += conv
            if bad_units:  # whole columns of notes, not cell by cell
                rows = [row for row, _, _ in bad_units]
                details = [f"unit {t!r} not understood (accepted: {e})" for _, t, e in bad_units]
                cells.add(rows, spec.header, frame.cells(spec.pos, rows), "unparsed", details)
                bad.loc[rows] = True
            if converted:
                rows = [row for row, _ in converted]
                now = parsed.loc[rows].tolist()
                details = [
                    f"{text} -> {column.unit}: {v:g}"
                    for (_, text), v in zip(converted, now, strict=True)
                ]
                cells.add(rows, spec.header, frame.cells(spec.pos, rows), "converted", details)
        given_unit[column.name] = (
            unit if unit is not None else ("unit column" if unit_cells is not None else None)
        )
        source_of[column.name] = (spec.header, spec.pos)
        data[column.name] = parsed
        unreadable[column.name] = bad
        if censor is not None and censor.notna().any():
            censored[column.name] = censor
    notes += infer_uln_units(data, given_unit, source_of, frame, cells, unreadable, conversions)
    for name, (header, pos) in source_of.items():
        column = COLUMNS[name]
        if column.plausible and column.kind == "number":
            stated = given_unit.get(name)
            found = implausible(data[name], column, stated, _Written(frame, pos))
            if found:
                rows = [r for r, _, _, _ in found]
                kinds = [k for _, _, k, _ in found]
                details = [d for _, _, _, d in found]
                cells.add(rows, header, frame.cells(pos, rows), kinds, details)
                unreadable[name].loc[rows] = True
            if unreadable[name].any():  # impossible values are never evaluated
                data[name] = data[name].mask(unreadable[name])
    if "qtc_ms" in data:
        both = {"qt_ms", "heart_rate_bpm"} <= set(data)
        notes.append(
            f"QTc {source_of['qtc_ms'][0]!r} names no formula: "
            + (
                "Fridericia from QT and heart rate is used where both are recorded, "
                "elsewhere the QTc is assumed to be Fridericia"
                if both
                else "assumed to be Fridericia (QTcF) for the QTcF criteria"
            )
        )
    ids = data["patient_id"]
    id_header = mapped.loc[mapped["canonical"] == "patient_id", "header"].iloc[0]
    if ids.isna().any():
        row = int(ids.index[ids.isna()][0])
        raise InputError(
            "Patient ID missing in a non-blank row",
            file=path,
            sheet=raw.sheet,
            row=row,
            column=id_header,
            hint="fill in the ID, or delete the row",
        )
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        rows = [int(r) for r in dup.index[dup == first]]
        raise InputError(
            f"Duplicate patient ID {first!r} on rows {rows[0]} and {rows[1]}",
            file=path,
            sheet=raw.sheet,
            row=rows[1],
            column=id_header,
            value=first,
            expected="one row per screened patient",
        )
    if "site_id" not in data:
        data["site_id"] = pd.Series("1", index=frame.index, dtype="string")
        notes.append("no site column: every patient set to site '1'")
    if "age_years" not in data and {"birth_date", "screening_date"} <= set(data):
        data["age_years"] = _age_years(data["birth_date"], data["screening_date"])
        notes.append("age_years derived from birth_date and screening_date (completed years)")
    names = canonical_order(list(data))
    # columns on the frame's own index are taken as they are, not realigned one by one
    table = pd.DataFrame(
        {n: _on_index(data[n], frame.index) for n in names}, index=frame.index, copy=False
    )
    report = LoadReport(
        file=str(path),
        sheet=raw.sheet,
        sheets=raw.sheets,
        encoding=raw.encoding,
        header_row=raw.header_row,
        headers=headers[["header", "canonical", "unit", "how"]].astype("string"),
        conversions=pd.DataFrame(conversions, columns=["column", "from_unit", "to_unit", "cells"]),
        cells=cells.frame(raw.sheet, ids),
        skipped_rows=skipped_rows,
        rows_read=raw.rows_read,
        rows_loaded=len(table),
        notes=tuple(notes),
    )
    if strict and len(report.problems):
        first = report.problems.iloc[0]
        raise InputError(
            f"Cell not understood ({len(report.problems)} in all; strict=True)",
            file=path,
            sheet=raw.sheet,
            row=int(first["row"]),
            column=first["column"],
            value=first["value"],
            expected=first["detail"],
        )
    censor_frame = pd.DataFrame(censored, index=frame.index, dtype="string")
    unreadable_frame = pd.DataFrame(
        {n: m for n, m in unreadable.items() if m.any()}, index=frame.index, dtype=bool
    )
    handed_on = {  # only for columns still as parsed (their very pyarrow data)
        name: found
        for name, found in loaded_codes.items()
        if found is not None and found.describes(table[name])
    }
    return ScreeningData(
        table,
        censor_frame,
        report,
        str(path),
        raw.sheet,
        unreadable=unreadable_frame,
        codes=handed_on,
    )


_TOTAL_WORDS = {
    "total",
    "totals",
    "subtotal",
    "grandtotal",
    "sum",
    "合计",
    "总计",
    "小计",
    "合計",
    "總計",
}


def _drop_non_patient_rows(raw: RawTable, mapped: pd.DataFrame):
    """Rows that are not patients, by their ID cell: the header repeated (two pasted
    blocks) or a total line (``Total``, ``Sum``, 合计). They move to the skipped rows with
    the reason, so they are neither counted as patients nor lost."""
    spec = mapped[mapped["canonical"] == "patient_id"].iloc[0]
    header = header_key(spec.header)
    codes, uniques = raw.coded.codes(spec.pos)
    # each distinct ID cell judged once; most IDs are ruled out in C (_maybe_keys)
    if isinstance(uniques, ArrowCells) or infer_dtype(uniques, skipna=False) == "string":
        positions: Any = range(len(uniques))
        texts = uniques
    else:
        positions = [u for u, t in enumerate(uniques) if isinstance(t, str)]
        texts = [uniques[u] for u in positions]
    reason_of: dict[int, str] = {}
    for u in (positions[i] for i in _maybe_keys(texts, {header, *_TOTAL_WORDS})):
        text = uniques[u]
        key = header_key(text)
        if key == header:
            reason_of[u] = "repeated header row"
        elif key in _TOTAL_WORDS:
            reason_of[u] = f"total row ({text.strip()!r}): not a patient"
    extra = []
    if reason_of:
        at = np.flatnonzero(np.isin(codes, list(reason_of)))
        for row, code in zip(raw.coded.index[at].tolist(), codes[at].tolist(), strict=True):
            extra.append((raw.sheet, int(row), reason_of[code]))
    if not extra:
        return raw.coded, raw.skipped_rows
    frame = raw.coded.drop([r for _, r, _ in extra])
    added = pd.DataFrame(extra, columns=["sheet", "row", "reason"]).astype(raw.skipped_rows.dtypes)
    skipped = pd.concat([raw.skipped_rows, added], ignore_index=True)
    return frame, skipped.sort_values("row", kind="stable").reset_index(drop=True)


def _maybe_keys(texts: Sequence[str], keys: set[str]) -> list[int]:
    """Positions of the texts whose :func:`header_key` may be one of ``keys``: every
    non-ASCII text, and the ASCII texts whose key (lower case, letters and digits only,
    as header_key gives for ASCII) is one, found by pyarrow in one pass: a key's letters
    with anything but letters and digits around them (a match, not a new string per text).

    >>> _maybe_keys(["S01-0001", "TOTAL:", "Patient ID", "合计"], {"total", "patientid"})
    [1, 2, 3]
    """
    if not texts:
        return []
    import pyarrow as pa
    import pyarrow.compute as pc

    array = texts.array if isinstance(texts, ArrowCells) else pa.array(texts, type=pa.string())
    hit = pc.invert(pc.string_is_ascii(array))
    gap = "[^a-z0-9]*"
    ascii_keys = sorted(k for k in keys if re.fullmatch("[a-z0-9]*", k))
    if ascii_keys:
        spelled = "|".join(gap.join(k) for k in ascii_keys)  # letters and digits only
        keyed = pc.match_substring_regex(pc.ascii_lower(array), f"^{gap}(?:{spelled}){gap}$")
        hit = pc.or_(hit, keyed)
    return np.flatnonzero(hit.to_numpy(zero_copy_only=False)).tolist()


class _Written:
    """The cells of one column as written, by row label (``written[row]``), for the few
    cells a note quotes: the column is not built as objects for them."""

    def __init__(self, frame: CodedFrame, pos: int) -> None:
        self._frame, self._pos = frame, pos

    def __getitem__(self, row: Any) -> Any:
        return self._frame.at[row, self._pos]


def _on_index(values: pd.Series, index: pd.Index):
    """``values``' array when it is indexed by ``index`` already, else ``values`` aligned
    on ``index``."""
    if values.index is index or values.index.equals(index):
        return values.array
    return values.reindex(index).array


def _age_years(birth: pd.Series, screening: pd.Series) -> pd.Series:
    """Completed years between two date columns (missing when either is missing)."""
    years = screening.dt.year - birth.dt.year
    before = (screening.dt.month < birth.dt.month) | (
        (screening.dt.month == birth.dt.month) & (screening.dt.day < birth.dt.day)
    )
    return (years - before.astype(int)).astype("Float64")
