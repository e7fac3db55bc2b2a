"""Cells, tables and page setup of screenkit's workbooks (shared by every sheet writer).

:func:`put` writes one value (text is always a text cell, never a formula or an error
code; text Excel would read as a formula if retyped gets a quote prefix);
:func:`write_table` writes a :class:`~screenkit.export.tables.Table` as an Excel table
with formats, sized columns and fitted row heights; :func:`print_setup` makes a sheet
print landscape, fit to width, with a footer inside the page.

>>> from openpyxl import Workbook
>>> ws = Workbook().active
>>> put(ws, 1, 1, "=1+1").data_type, put(ws, 1, 1, "=1+1").quotePrefix
('s', True)
"""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table as XLTable
from openpyxl.worksheet.table import TableStyleInfo

from screenkit import style
from screenkit.export.tables import Table
from screenkit.files import FORMULA_START, clean_text

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "BOLD",
    "FORMATS",
    "NAVY",
    "NOTE_FONT",
    "TABLE_HEADER_ROW",
    "TITLE_FONT",
    "print_setup",
    "put",
    "table_sheet",
    "title",
    "write_table",
]

FORMATS = {"count": "#,##0", "int": "0", "pct": "0.0%", "decimal": "0.0"}
NAVY = style.NAVY
HEADER_FILL = PatternFill("solid", start_color=NAVY, end_color=NAVY)
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14, color=NAVY)
NOTE_FONT = Font(italic=True, size=9, color="404040")
BOLD = Font(bold=True)
TOP_BORDER = Border(top=Side(style="thin", color="000000"))
TABLE_HEADER_ROW = 3


def put(ws: Worksheet, row: int, col: int, value: Any, fmt: str | None = None):
    """Write one value; text is always a text cell, never a formula or an error code."""
    cell = ws.cell(row=row, column=col)
    if value is None or (not isinstance(value, str) and _isna(value)):
        return cell
    if isinstance(value, str):
        text = clean_text(value)
        cell.value = text
        cell.data_type = "s"  # openpyxl would store "=..." as a formula, "#N/A" as an error
        if text.startswith(FORMULA_START):
            cell.quotePrefix = True  # stays text if someone retypes the cell in Excel
        if fmt in FORMATS:
            cell.alignment = Alignment(horizontal="right")
        return cell
    if isinstance(value, bool | np.bool_):
        cell.value = "yes" if value else "no"
        cell.data_type = "s"
        return cell
    if isinstance(value, np.integer):
        value = int(value)
    elif isinstance(value, np.floating):
        value = float(value)
    elif isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, int | float):
        cell.value = value
        if fmt in FORMATS:
            cell.number_format = FORMATS[fmt]
    elif isinstance(value, dt.datetime | dt.date):
        cell.value = value
        cell.number_format = "yyyy-mm-dd"
    else:
        return put(ws, row, col, str(value), fmt)
    return cell


def _isna(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _header(cell) -> None:
    cell.font = HEADER_FONT
    cell.fill = HEADER_FILL
    cell.alignment = Alignment(wrap_text=True, vertical="center")


def print_setup(ws: Worksheet, title_rows: str | None = None) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = 0.6
    ws.page_margins.bottom = 0.9  # the footer sits inside the page, clear of the body
    ws.page_margins.header = 0.3
    ws.page_margins.footer = 0.35
    ws.print_options.gridLines = False
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.right.text = "Page &P of &N"


def _width(values: list[Any], header: str, fmt: str | None) -> float:
    texts = [header] + [
        (f"{v:,.1f}" if isinstance(v, float) else str(v)) for v in values if v is not None
    ]
    longest = max(len(t) for t in texts)
    if fmt in FORMATS:
        return min(max(longest, 8) + 2, 16)
    return min(max(longest, 6) + 2, 60)


def title(ws: Worksheet, title: str, note: str, ncols: int) -> None:
    put(ws, 1, 1, title).font = TITLE_FONT
    cell = put(ws, 2, 1, note)
    cell.font = NOTE_FONT
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    last = max(ncols, 6)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=last)
    total_width = sum(
        ws.column_dimensions[get_column_letter(c)].width or 10 for c in range(1, last + 1)
    )
    lines = max(1, int(len(note) * 1.1 / max(total_width, 1)) + 1)
    ws.row_dimensions[2].height = 12 * lines + 4


def write_table(
    ws: Worksheet, table: Table, top: int, *, name: str, left: int = 1, widths: bool = True
) -> int:
    """Write ``table`` with its header at row ``top`` as an Excel table; returns the last
    row written (the total row, if any)."""
    frame = table.frame
    columns = list(frame.columns)
    for j, col in enumerate(columns):
        _header(put(ws, top, left + j, col))
    records = frame.to_dict("records") or [dict.fromkeys(columns)]
    if not len(frame):
        records[0][columns[0]] = "(none)"
    for i, rec in enumerate(records, start=1):
        for j, col in enumerate(columns):
            cell = put(ws, top + i, left + j, rec[col], table.formats.get(col))
            horizontal = cell.alignment.horizontal  # right for markers in number columns
            if col in ("Step", "Rank", "Row", "Cells"):
                horizontal = "center"
            cell.alignment = Alignment(
                wrap_text=col in table.wrap, vertical="top", horizontal=horizontal
            )
    last = top + len(records)
    ref = f"{get_column_letter(left)}{top}:{get_column_letter(left + len(columns) - 1)}{last}"
    xl = XLTable(displayName=name, ref=ref)
    xl.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(xl)
    if table.total:
        last += 1
        for j, col in enumerate(columns):
            cell = put(ws, last, left + j, table.total.get(col), table.formats.get(col))
            cell.font = BOLD
            cell.border = TOP_BORDER
    if widths:
        for j, col in enumerate(columns):
            letter = get_column_letter(left + j)
            values = frame[col].tolist() if len(frame) else []
            width = 50 if col in table.wrap else _width(values, col, table.formats.get(col))
            ws.column_dimensions[letter].width = width
    ws.row_dimensions[top].height = 30
    _fit_rows(ws, table, top, left, records)
    return last


def _fit_rows(ws: Worksheet, table: Table, top: int, left: int, records: list[dict]) -> None:
    """Row heights for wrapped text (spreadsheets do not grow rows for files they open)."""
    wrapped = [(j, col) for j, col in enumerate(table.frame.columns) if col in table.wrap]
    if not wrapped:
        return
    for i, rec in enumerate(records, start=1):
        lines = 1
        for j, col in wrapped:
            width = ws.column_dimensions[get_column_letter(left + j)].width or 10
            text = "" if rec.get(col) is None else str(rec.get(col))
            lines = max(lines, wrapped_lines(text, width))
        if lines > 1:
            ws.row_dimensions[top + i].height = 15 * lines


def wrapped_lines(text: str, width: float) -> int:
    """Lines ``text`` takes in a wrapped cell ``width`` characters wide: wrapped at word
    boundaries, one character a unit (spreadsheets render wider fonts than the width
    unit assumes, so this errs towards a taller row, never a clipped one).

    >>> wrapped_lines("urine_protein_24h_max_g = 1 g/24 h; urine_protein_max_grade = 1 "
    ...               "dipstick grade (neg 0, trace 0.5, 1+ 1)", 50)
    3
    """
    chars = max(int(width) - 2, 1)
    return sum(max(len(textwrap.wrap(part, chars)), 1) for part in text.split("\n"))


def table_sheet(ws: Worksheet, table: Table) -> int:
    ncols = table.frame.shape[1]
    end = write_table(ws, table, TABLE_HEADER_ROW, name="tbl" + table.name.replace(" ", ""))
    title(ws, table.title, table.note, ncols)
    freeze_col = 2 if table.name in ("Criteria", "Protocol", "Patients") else 1
    ws.freeze_panes = ws.cell(row=TABLE_HEADER_ROW + 1, column=freeze_col)
    print_setup(ws, f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}")
    return end
