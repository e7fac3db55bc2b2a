"""Read a screening spreadsheet (.xlsx, .csv, .txt) into a raw table of cells.

Nothing is type-guessed: CSV cells stay text (``007`` stays ``"007"``, ``ND`` and ``1+``
stay as written) and Excel cells keep what the cell holds (text, int, float, bool,
datetime). Formulas give their cached values (none is evaluated); a formula that was
never calculated and an Excel error cell (``#N/A``) read as a
:class:`~screenkit.values.CellError` (unparsed in the load report); a row of only such
cells is a skipped row with the reason. Every row keeps the number the spreadsheet shows
it under (Excel row; CSV line where the record starts).

Which sheet: the one named, else, in a workbook of several sheets, the visible worksheet
whose header row maps best onto the caller's vocabulary (``header_score``: a cover page,
instructions or a data dictionary score low); a hidden sheet or a chartsheet is read only
when named. ``RawTable.sheet_choice`` says which sheet was read and why, and which
vertically merged ranges (a site written once beside its patients) were filled from their
top cell; merges across columns are left as read (the value in the top-left cell only).

The header row is the first non-blank row, unless it does not look like a header (fewer
than two non-blank text cells, e.g. a title line) and a later row among the first
:data:`MAX_TITLE_ROWS` + 1 does; the rows above the header are then kept as skipped rows
("title row"). ``is_header`` lets the caller judge header rows with its own vocabulary.

Text files are decoded and split by :mod:`screenkit.textfile` (encoding detection, the
delimiter, pandas' C tokenizer where it reads what the csv module reads). The report says
which encoding was used and whether it was detected.

Everything after reading is column-wise: each column is hashed once into its distinct cells
(:func:`~screenkit.columnparse.distinct_cells`), blank and error cells are judged per distinct
value, and blank, error-only, title and units rows follow from boolean masks; only the few
rows that may be the header are looked at one by one.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
>>> _ = path.write_text("Screening log\\nID,Hb\\n007,ND\\n,\\n008,9.1\\n", encoding="utf-8")
>>> raw = read_table(path)
>>> raw.headers, raw.header_row, raw.frame.index.tolist(), raw.frame[0].tolist()
(['ID', 'Hb'], 2, [3, 5], ['007', '008'])
>>> raw.skipped_rows.to_dict("records")[1]
{'sheet': None, 'row': 4, 'reason': 'blank row'}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from .codedframe import ArrowCells, CodedFrame
from .columnparse import distinct_cells
from .errors import InputError
from .guards import check_workbook
from .textfile import decode_text, read_text_grid
from .values import CellError
from .workbook import MAX_TITLE_ROWS, blank_cell, column_letter, list_sheets, read_sheet_grid
from .workbook import sheet_states as sheet_states

__all__ = [
    "MAX_TITLE_ROWS",
    "RawTable",
    "decode_text",
    "list_sheets",
    "read_table",
    "sheet_states",
]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass(frozen=True)
class RawTable:
    """Cells as read. ``frame``: columns are positions 0..n-1 (headers may repeat or be
    blank), index ``row`` = spreadsheet row number, only non-blank rows below the header.
    ``coded``: the same cells as codes into each column's distinct cells
    (:class:`~screenkit.codedframe.CodedFrame`, what the loader works on); ``frame`` is
    built from it on first use."""

    coded: CodedFrame
    headers: list[str]
    header_row: int
    skipped_rows: pd.DataFrame
    rows_read: int
    sheet: str | None
    sheets: tuple[str, ...]
    encoding: str | None
    encoding_detected: bool
    sheet_choice: str = ""  # why this sheet was read (workbooks)

    @property
    def frame(self) -> pd.DataFrame:
        """Every cell as an object (columns 0..n-1, index ``row``)."""
        return self.coded.to_frame()

    @property
    def distinct(self) -> tuple[tuple[np.ndarray, list[Any]], ...]:
        """Per column of ``frame``, ``(codes, distinct cells)`` as
        :func:`~screenkit.columnparse.distinct_cells` gives them (code -1: blank)."""
        return self.coded.distinct


_blank = blank_cell
_column_letter = column_letter


def _looks_like_header(cells: Sequence[Any]) -> bool:
    filled = [c for c in cells if not _blank(c)]
    return len(filled) >= 2 and all(isinstance(c, str) for c in filled)


def _is_unit_text(cell: Any) -> bool:
    """A unit as written in a units row: ``g/dL``, ``10^9/L``, ``%``, ``kg`` (one letter
    alone, ``M`` or ``N``, is more often a sex or a yes/no than a unit)."""
    from .units import is_unit

    text = str(cell).strip()
    return (len(text) > 1 or text == "%") and is_unit(text)


def _is_units_row(cells: Sequence[Any]) -> bool:
    """The row under the header holds units, not a patient: no number, and at least two
    cells that read as units (EDC exports often write the units on a second header row)."""
    values = [c for c in cells if not _blank(c)]
    if any(not isinstance(c, str) or _NUMBER.fullmatch(c.strip()) for c in values):
        return False
    return sum(_is_unit_text(c) for c in values) >= 2


def _with_unit(header: Any, unit: Any) -> Any:
    """``hb`` over ``g/dL`` -> ``hb (g/dL)``, the form the header mapping reads units from
    (a header naming its own unit, or a non-unit cell such as ``ID``, is kept as it is)."""
    if _blank(header) or _blank(unit) or not _is_unit_text(unit) or "(" in str(header):
        return header
    return f"{str(header).strip()} ({str(unit).strip()})"


_NUMBER = re.compile(r"[-+]?(\d+[.,]?\d*|[.,]\d+)([eE][-+]?\d+)?")


def _masks(distinct, n: int) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """``(blank, error)``: per column, a boolean mask of its blank cells and of its Excel
    error cells (None when no column has one), judged once per distinct value."""
    blank, error = [], []
    for codes, uniques in distinct:
        if isinstance(uniques, ArrowCells):  # a CSV's IDs: judged by pyarrow
            flags, errors = uniques.blank(), None
        elif infer_dtype(uniques, skipna=False) == "string":  # text only (CSV)
            flags = [not u or u.isspace() for u in uniques]  # = u.strip() == ""
            errors = None
        else:
            flags = [_blank(u) for u in uniques]
            errors = [isinstance(u, CellError) for u in uniques]
        # code -1 (None, NaN) takes the last entry: blank, not an error; a column without
        # a blank distinct cell is blank only where a cell is missing, and one with a
        # single blank distinct cell (a flag column's "") where its code is that one or
        # -1: compares, not a gather
        flags = np.append(np.asarray(flags, dtype=bool), True)
        blank_codes = np.flatnonzero(flags[:-1])
        if not len(blank_codes):
            blank.append(codes < 0)
        elif len(blank_codes) == 1:
            blank.append((codes == blank_codes[0]) | (codes < 0))
        else:
            blank.append(flags[codes])
        if errors is not None and any(errors):
            error.append(np.array([*errors, False], dtype=bool)[codes])
        else:
            error.append(None)
    if not any(e is not None for e in error):
        return blank, None
    return blank, [np.zeros(n, dtype=bool) if e is None else e for e in error]


def _all(masks: list[np.ndarray], n: int) -> np.ndarray:
    """Rows where every column's mask is true."""
    out = np.ones(n, dtype=bool)
    for mask in masks:
        out &= mask
    return out


def _blanked(codes: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """A copy of ``codes`` with -1 (a blank cell) where ``empty``, by arithmetic: a
    masked write (``codes[empty] = -1``) branches on every cell and took 8x longer where
    blanks are scattered (0.68 against 0.08 ms on 200,000 cells).

    >>> _blanked(np.array([4, 0, 2], np.int32), np.array([False, True, False])).tolist()
    [4, -1, 2]
    """
    out = codes + 1  # a code + 1 is 0 where blank, then 1 less: -1
    out *= ~empty
    out -= 1
    return out


def _skip_reasons(rows, blank, header_at: int, cell) -> list[tuple[int, str]]:
    """Why each of ``rows`` (row indices above the last filled row, none of them the
    header or the units row) is not a patient: blank, error cells only, title."""
    out = []
    for i in rows:
        filled = [j for j, mask in enumerate(blank) if not mask[i]]
        if not filled:
            out.append((i, "blank row"))
            continue
        shown = [cell(i, j) for j in filled]
        if i > header_at:  # only rows of error cells are skipped below the header
            text = ", ".join(sorted({str(c) for c in shown}))
            out.append((i, f"row of Excel error cells only: {text}"))
        else:
            text = " | ".join(str(c) for c in shown)
            out.append((i, f"title row above the header: {text}"))
    return out


def _table(
    grid: pd.DataFrame | None,
    numbers: np.ndarray,
    distinct,
    record: Callable[[int], list[Any]] | None,
    is_header: Callable[[Sequence[Any]], bool],
    header_score: Callable[[Sequence[Any]], int] | None,
    where: dict[str, Any],
) -> tuple[CodedFrame, list[str], int, list[tuple[int, str]], int]:
    """The header and the patient rows of a grid, column-wise: ``(coded frame, headers,
    header row index, skipped (index, reason) in order, rows read)``. ``grid=None``: the
    cells are only ``distinct`` (codes and distinct cells per column, a C reader's), and
    stay so. ``record(i)``: row ``i`` as the header judges see it (default: the grid
    row, blank cells None)."""
    if grid is not None:
        n, width = grid.shape
        cols: list[np.ndarray] | None = [grid[j].to_numpy(dtype=object) for j in range(width)]
        if distinct is None:
            distinct = [distinct_cells(c) for c in cols]
    else:
        n, width, cols = len(distinct[0][0]), len(distinct), None
    blank, error = _masks(distinct, n)
    all_blank = _all(blank, n)  # blank rows
    filled = np.flatnonzero(~all_blank) if width else np.array([], dtype=int)
    if not len(filled):
        raise InputError("No header row: the sheet is empty", **where)

    def cell(i: int, j: int) -> Any:
        if cols is not None:
            return cols[j][i]
        code = distinct[j][0][i]
        return distinct[j][1][code] if code >= 0 else None

    def row(i: int) -> list[Any]:
        if record is not None:
            return record(i)
        return [None if blank[j][i] else cell(i, j) for j in range(width)]

    candidates = [int(i) for i in filled[: MAX_TITLE_ROWS + 1]]
    headers_ok = [i for i in candidates if is_header(row(i))]
    if header_score is not None and headers_ok:
        # a group-heading row above the real header ("Patient | | Labs") names fewer
        # columns: the row naming the most is the header (the first of equals)
        header_at = max(headers_ok, key=lambda i: (header_score(row(i)), -i))
    else:
        header_at = headers_ok[0] if headers_ok else candidates[0]
    last = int(filled[-1])
    header_cells = [cell(header_at, j) for j in range(width)]
    skipped: list[tuple[int, str]] = []
    below = filled[filled > header_at]
    units_at = int(below[0]) if len(below) else None
    if units_at is not None and _is_units_row([cell(units_at, j) for j in range(width)]):
        units_row = [cell(units_at, j) for j in range(width)]
        header_cells = [_with_unit(h, u) for h, u in zip(header_cells, units_row, strict=True)]
        shown = " | ".join(str(c) for c in units_row if not _blank(c))
        skipped.append((units_at, f"units row under the header: {shown}"))
    else:
        units_at = None
    at = np.arange(last + 1)
    not_patient = all_blank[: last + 1] | (at < header_at)
    if error is not None:
        not_patient |= _all([b | e for b, e in zip(blank, error, strict=True)], n)[: last + 1]
    not_patient[header_at] = False
    if units_at is not None:
        not_patient[units_at] = False
    skipped += _skip_reasons(np.flatnonzero(not_patient), blank, header_at, cell)
    kept = np.flatnonzero(~not_patient & (at > header_at) & (at != (units_at or -1)))
    # the patient rows are most often one run of rows: a slice, not a gather
    run = len(kept) and kept[-1] - kept[0] + 1 == len(kept)
    take = slice(int(kept[0]), int(kept[-1]) + 1) if run else kept
    kept_columns, distinct_kept, cells_kept = [], [], []
    for j in range(width):
        empty = blank[j][take]
        if not _blank(header_cells[j]) or not empty.all():
            codes = distinct[j][0][take]
            values = cols[j][take] if cols is not None else None
            if empty.any():  # blank cells become None (in a copy: a slice is a view)
                codes = _blanked(codes, empty)
                if values is not None:
                    values = values.copy()
                    values[empty] = None
            kept_columns.append(j)
            distinct_kept.append((codes, distinct[j][1]))
            cells_kept.append(values)
    index = pd.Index(numbers[kept], name="row", dtype="int64")
    coded = CodedFrame(index, distinct_kept, cells_kept)
    headers = [
        str(header_cells[j]).strip()
        if not _blank(header_cells[j])
        else f"(blank header, column {_column_letter(j)})"
        for j in kept_columns
    ]
    return coded, headers, header_at, skipped, len(kept) + len(skipped)


def read_table(
    path: str | Path,
    sheet: str | None = None,
    encoding: str | None = None,
    is_header: Callable[[Sequence[Any]], bool] | None = None,
    header_score: Callable[[Sequence[Any]], int] | None = None,
) -> RawTable:
    """Read every cell of one sheet or text file.

    ``sheet=None`` in a workbook of several visible worksheets reads the one whose header
    row scores highest by ``header_score`` (the first visible worksheet without one).
    """
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):  # a file or a folder of parts
        from .load_parquet import read_parquet_table

        return read_parquet_table(path, sheet)
    if not path.exists():
        raise InputError("File not found", file=path)
    if path.is_dir():
        raise InputError(
            "Input is a folder, not a file",
            file=path,
            expected=", ".join(EXCEL_SUFFIXES + TEXT_SUFFIXES) + " file",
            hint="name one screening log inside the folder",
        )
    suffix = path.suffix.lower()
    choice = ""
    if suffix in EXCEL_SUFFIXES:
        check_workbook(path)
        grid, sheet, sheets, choice, distinct = read_sheet_grid(path, sheet, header_score)
        numbers = np.arange(1, len(grid) + 1, dtype=np.int64)
        used, detected, record = None, False, None
    elif suffix in TEXT_SUFFIXES:
        if sheet is not None:
            raise InputError("A text file has no sheets", file=path, sheet=sheet, hint="sheet=None")
        text = read_text_grid(path, encoding)
        grid, numbers, distinct, record = text._grid, text.numbers, text.distinct, text.record
        used, detected, sheets = text.encoding, text.detected, ()
    else:
        raise InputError(
            "File type not supported",
            file=path,
            value=suffix,
            expected=", ".join(EXCEL_SUFFIXES + TEXT_SUFFIXES) + ", .parquet (save .xls as .xlsx)",
        )
    coded, headers, header_at, skipped, rows_read = _table(
        grid,
        numbers,
        distinct,
        record,
        is_header or _looks_like_header,
        header_score,
        {"file": path, "sheet": sheet},
    )
    skipped_rows = pd.DataFrame(
        [(sheet, int(numbers[i]), reason) for i, reason in skipped],
        columns=["sheet", "row", "reason"],
    ).astype({"sheet": "string", "row": "int64", "reason": "string"})
    return RawTable(
        coded=coded,
        headers=headers,
        header_row=int(numbers[header_at]),
        skipped_rows=skipped_rows,
        rows_read=rows_read,
        sheet=sheet,
        sheets=sheets,
        encoding=used,
        encoding_detected=detected,
        sheet_choice=choice,
    )
