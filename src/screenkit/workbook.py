"""Read one worksheet of an .xlsx / .xlsm into a grid of cells, column-wise.

python-calamine reads the cell values (the same types as openpyxl, text kept as text, about
ten times faster); the sheet's XML is scanned once for what calamine gives as blank: Excel
error cells and formulas never calculated (both become :class:`~screenkit.values.CellError`)
and vertically merged ranges (filled from their top cell). :func:`check_workbook` has
already refused a sheet claiming absurd dimensions or a zip bomb before this reads a cell.

Which sheet, when none is named: the visible worksheet whose header row scores highest by
the caller's ``score`` (the first such sheet of equals); a hidden sheet or a chartsheet is
read only when named.

>>> import tempfile, pathlib
>>> from openpyxl import Workbook
>>> book = Workbook(); ws = book.active; ws.title = "Log"
>>> for row in (["ID", "Site"], ["007", "A"], ["008", None]): ws.append(row)
>>> ws.merge_cells("B2:B3")
>>> path = pathlib.Path(tempfile.mkdtemp()) / "log.xlsx"; book.save(path)
>>> grid, sheet, sheets, choice, distinct = read_sheet_grid(path, None)
>>> grid.values.tolist()
[['ID', 'Site'], ['007', 'A'], ['008', 'A']]
>>> choice.split("; ")
["read sheet 'Log' (the only visible worksheet)", "merged cells B2:B3 filled from B2 ('A')"]
"""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .columnparse import distinct_cells
from .errors import InputError
from .files import MAX_CELL_TEXT
from .guards import column_number, sheet_part
from .values import CellError

__all__ = ["blank_cell", "column_letter", "list_sheets", "read_sheet_grid", "sheet_states"]

MAX_TITLE_ROWS = 5
Distinct = list[tuple[np.ndarray, list[Any]]]


def blank_cell(value: Any) -> bool:
    """None, NaN or text of only white space."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and value.strip() == ""


def column_letter(i: int) -> str:
    """``0`` -> ``A``, ``26`` -> ``AA``."""
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def list_sheets(path: str | Path) -> list[str]:
    """Sheet names of a workbook (``[]`` for a text file)."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return []
    return list(sheet_states(path))


def sheet_states(path: str | Path) -> dict[str, str]:
    """Each sheet of a workbook and its state: ``visible``, ``hidden``, ``very hidden``
    or ``chartsheet`` (python-calamine reads the workbook's sheet list)."""
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        meta = book.sheets_metadata
    except Exception as exc:  # calamine raises its own error types for a damaged file
        raise InputError(f"Unreadable workbook: {exc}", file=path) from None
    states = {}
    for m in meta:
        kind = str(m.typ).rsplit(".", 1)[-1]
        visible = str(m.visible).rsplit(".", 1)[-1]
        if kind != "WorkSheet":
            states[m.name] = "chartsheet" if "chart" in kind.casefold() else kind.casefold()
        else:
            states[m.name] = {"Visible": "visible", "Hidden": "hidden"}.get(visible, "very hidden")
    return states


def _read_sheet(path: Path, sheet: str, nrows: int | None = None) -> pd.DataFrame:
    """The sheet's cells as read (object columns 0..n-1; an empty cell reads as ``""``).

    python-calamine reads the rows from A1; each column is then converted at once as
    pandas' calamine reader converts cell by cell: a whole float becomes an ``int``, a date
    a midnight ``datetime``; text, bools, times and durations stay as read."""
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False, nrows=nrows)
    except Exception as exc:  # calamine raises its own error types for a damaged file
        raise InputError(f"Unreadable workbook: {exc}", file=path, sheet=sheet) from None
    if not rows or not max(map(len, rows)):
        return pd.DataFrame()
    grid = np.empty((len(rows), max(map(len, rows))), dtype=object)
    grid.fill("")
    if all(len(row) == grid.shape[1] for row in rows):
        grid[:] = rows
    else:  # calamine gives a rectangle; kept exact should a row come short
        for i, row in enumerate(rows):
            grid[i, : len(row)] = row
    _as_pandas_reads(grid.reshape(-1))
    return pd.DataFrame(grid, dtype=object)


def _as_pandas_reads(cells: np.ndarray) -> np.ndarray:
    """Cells (a 1-D object array, changed in place and returned) converted as pandas'
    calamine reader does each cell (see :func:`_read_sheet`), one numpy pass per kind.

    >>> import datetime as dt
    >>> _as_pandas_reads(np.array([2.0, 2.5, "2", True, dt.date(2024, 1, 31)], dtype=object))
    array([2, 2.5, '2', True, datetime.datetime(2024, 1, 31, 0, 0)], dtype=object)
    """
    kinds = np.fromiter(map(type, cells), dtype=object, count=len(cells))
    floats = np.flatnonzero(kinds == float)  # noqa: E721 (elementwise, exact type)
    if len(floats):
        values = cells[floats].astype(np.float64)
        whole = np.isfinite(values) & (values == np.trunc(values))
        small = whole & (np.abs(values) < 2.0**62)
        if small.any():
            cells[floats[small]] = values[small].astype(np.int64)
        for k in np.flatnonzero(whole & ~small):  # beyond int64: Python's int, exact
            cells[floats[k]] = int(values[k])
    for k in np.flatnonzero(kinds == date):  # a datetime is not converted
        day = cells[k]
        cells[k] = datetime(day.year, day.month, day.day)
    return cells


_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_ATTR_R = re.compile(rb'\sr="([A-Z]{1,3})([0-9]{1,7})"')
_ATTR_T = re.compile(rb'\st="(\w+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")


# What an error cell, a formula or a merged range needs in the XML (tested as substrings).
_MARKERS = (b't="e"', b"<f", b":f", b"mergeCell")
XML_CHUNK = 4 << 20


def _sheet_xml(path: Path, sheet: str) -> bytes:
    """The XML of one worksheet for the error-cell and merge scans: empty when it holds
    none of :data:`_MARKERS` (most logs: streamed in 4 MB chunks, never held whole) or
    cannot be located (the reader itself reports a damaged workbook)."""
    try:
        with zipfile.ZipFile(path) as archive:
            part = sheet_part(archive, sheet)
            if not part:
                return b""
            with archive.open(part) as stream:
                tail = b""
                while chunk := stream.read(XML_CHUNK):
                    data = tail + chunk
                    if any(marker in data for marker in _MARKERS):
                        return archive.read(part)
                    tail = data[-16:]
            return b""
    except (KeyError, zipfile.BadZipFile, OSError):
        return b""


def _cell_errors(data: bytes) -> dict[tuple[int, int], Any]:
    """``{(row index, column index): CellError}`` for the sheet's Excel error cells and
    formulas without a cached value (the reader gives both as blank)."""
    found: dict[tuple[int, int], Any] = {}
    maybe_formula = (b"<f" in data or b":f" in data) and _FORMULA.search(data)
    if b't="e"' not in data and not maybe_formula:
        return found  # no error cell, no formula: nothing to look for (most logs)
    for attrs, body in _CELL.findall(data):
        kind = _ATTR_T.search(attrs)
        body = body or b""
        value = _VALUE.search(body)
        ref = _ATTR_R.search(attrs)
        if ref is None:
            continue
        at = (int(ref[2]) - 1, column_number(ref[1]) - 1)
        if kind is not None and kind[1] == b"e":
            text = value[1].decode("utf-8", "replace") if value else "#ERROR"
            found[at] = CellError(text, f"Excel error cell {text}: no value to read")
        elif _FORMULA.search(body) and (value is None or value[1] == b""):
            found[at] = CellError(
                "(formula, never calculated)",
                "formula without a cached value (not evaluated): open and save the file "
                "in Excel or LibreOffice to calculate it",
            )
    return found


_MERGE = re.compile(
    rb'<(?:\w+:)?mergeCell\b[^>]*\sref="([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})"'
)


def _merged_columns(data: bytes) -> list[tuple[int, int, int]]:
    """Vertically merged ranges of one column: ``(column index, first row index, last)``."""
    if b"mergeCell" not in data:  # substring test first: the regex is slow on a big sheet
        return []
    return [
        (column_number(c0) - 1, int(r0) - 1, int(r1) - 1)
        for c0, r0, c1, r1 in _MERGE.findall(data)
        if c0 == c1 and int(r1) > int(r0)
    ]


def _with_errors(grid: pd.DataFrame, errors: dict[tuple[int, int], Any]) -> pd.DataFrame:
    """The grid with each error cell set (grown to reach a cell past its edge)."""
    if not errors:
        return grid
    n = max(len(grid), max(i for i, _ in errors) + 1)
    width = max(grid.shape[1], max(j for _, j in errors) + 1)
    grid = grid.reindex(index=range(n), columns=range(width)).astype(object)
    columns = {j: grid[j].to_numpy(dtype=object, copy=True) for j in range(width)}
    for (i, j), cell in errors.items():
        columns[j][i] = cell
    return pd.DataFrame(columns, columns=range(width), dtype=object)


def _fill_merged(grid: pd.DataFrame, merges) -> list[str]:
    """Fill each vertically merged range from its top cell, in place (the reader gives
    only the top cell a value); one note per range filled. Merges across columns are left
    as read."""
    notes = []
    for col, first, last in merges:
        if first >= len(grid) or col >= grid.shape[1] or blank_cell(grid.iat[first, col]):
            continue
        value = grid.iat[first, col]
        last = min(last, len(grid) - 1)
        cells = grid[col].to_numpy(dtype=object, copy=True)
        for i in range(first + 1, last + 1):  # one by one: the value may be a sequence
            cells[i] = value
        grid[col] = cells
        ref = f"{column_letter(col)}{first + 1}:{column_letter(col)}{last + 1}"
        notes.append(f"merged cells {ref} filled from {column_letter(col)}{first + 1} ({value!r})")
    return notes


def _header_rows(grid: pd.DataFrame) -> list[list[Any]]:
    rows = [
        [None if blank_cell(v) else v for v in record]
        for record in grid.itertuples(index=False, name=None)
    ]
    filled = [r for r in rows if not all(blank_cell(c) for c in r)]
    return filled[: MAX_TITLE_ROWS + 1]


def _choose_sheet(path: Path, states: dict[str, str], score) -> tuple[str, str]:
    readable = [name for name, state in states.items() if state == "visible"]
    skipped = [f"{name!r} ({state})" for name, state in states.items() if state != "visible"]
    if not readable:
        raise InputError(
            "Workbook has no visible worksheet",
            file=path,
            value=", ".join(skipped) or "no sheets",
            hint="name a hidden sheet with sheet= (command line: --sheet) to read it",
        )
    not_read = f"; not read: {', '.join(skipped)}" if skipped else ""
    if len(readable) == 1 or score is None:
        why = "the only visible worksheet" if len(readable) == 1 else "the first sheet"
        return readable[0], f"read sheet {readable[0]!r} ({why}{not_read})"
    scores = {}
    for name in readable:
        rows = _header_rows(_read_sheet(path, name, nrows=4 * (MAX_TITLE_ROWS + 1)))
        scores[name] = max((score(r) for r in rows), default=0)
    best = max(readable, key=lambda n: scores[n])  # ties: the first such sheet
    others = ", ".join(f"{n!r} {scores[n]}" for n in readable if n != best)
    why = (
        f"its header row has the most screening-log columns: {scores[best]}; "
        f"other sheets: {others}{not_read}"
    )
    return best, f"read sheet {best!r} ({why})"


def _check_cell_sizes(distinct: Distinct, path: Path, sheet: str) -> None:
    """Refuse a text cell longer than Excel's own limit (:data:`MAX_CELL_TEXT`): no site's
    spreadsheet holds one, and a hostile file can carry megabytes in a single cell. The
    first such cell row by row is named (judged once per distinct value of a column)."""
    found = []
    for j, (codes, uniques) in enumerate(distinct):
        long = [k for k, v in enumerate(uniques) if type(v) is str and len(v) > MAX_CELL_TEXT]
        if long:
            i = int(np.flatnonzero(np.isin(codes, long))[0])
            found.append((i, j, len(uniques[codes[i]])))
    if found:
        i, j, size = min(found)
        raise InputError(
            "A cell holds more text than Excel allows: refused",
            file=path,
            sheet=sheet,
            row=i + 1,
            column=column_letter(j),
            value=f"{size:,} characters",
            expected=f"at most {MAX_CELL_TEXT:,} characters per cell (Excel's limit)",
        )


def read_sheet_grid(
    path: Path, sheet: str | None, score=None
) -> tuple[pd.DataFrame, str, tuple[str, ...], str, Distinct]:
    """``(grid, sheet read, all sheets, why this sheet, distinct cells per column)``:
    grid row ``i`` is Excel row ``i + 1``, error cells and merged ranges filled in."""
    states = sheet_states(path)
    sheets = tuple(states)
    if not sheets:
        raise InputError("Workbook has no sheets", file=path)
    if sheet is None:
        sheet, choice = _choose_sheet(path, states, score)
    elif sheet not in sheets:
        raise InputError(
            "Sheet not found",
            file=path,
            sheet=sheet,
            expected=", ".join(repr(s) for s in sheets),
            hint="pass sheet= one of the sheets listed (sheet=None finds the screening table)",
        )
    elif states[sheet] == "chartsheet":
        raise InputError(
            "Sheet is a chart, not a table",
            file=path,
            sheet=sheet,
            expected=", ".join(repr(n) for n, s in states.items() if s != "chartsheet"),
        )
    else:
        choice = f"read sheet {sheet!r} (as named" + (
            f"; it is {states[sheet]})" if states[sheet] != "visible" else ")"
        )
    xml = _sheet_xml(path, sheet)
    grid = _with_errors(_read_sheet(path, sheet), _cell_errors(xml))
    merged = _fill_merged(grid, _merged_columns(xml))
    if merged:
        choice += "; " + "; ".join(merged)
    distinct = [distinct_cells(grid[j].to_numpy(dtype=object)) for j in range(grid.shape[1])]
    _check_cell_sizes(distinct, path, sheet)
    return grid, sheet, sheets, choice, distinct
