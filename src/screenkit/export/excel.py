"""The Excel workbook trial teams receive: :func:`export_excel`.

Sheets: **Summary**, **Funnel**, **Criteria**, **Combinations**, **By site**, **By month**,
**Recruitment** (with ``recruitment=``; ``screenkit report`` always writes it, and with
``--no-forecast`` it holds the counts and says the forecast was skipped),
**Data issues**, **Concordance** and **Recorded reasons** (when the log holds them),
**Protocol** and, only on request, **Patients**. Every table is an Excel
table (filters, banded rows) under a title and a one-line explanation, with frozen header
rows, number and percent formats, sized columns, landscape fit-to-width printing, and
native charts (the funnel, the top criteria).

No text from the input is ever written as a formula: every string is stored as a text
cell (``t="inlineStr"``), and text that Excel would read as a formula if retyped starts
with a quote prefix. screenkit itself writes no formulas at all.

>>> import pandas as pd, tempfile, pathlib
>>> from screenkit.evaluate import evaluate
>>> from screenkit.funnel import funnel
>>> frame = pd.DataFrame({"patient_id": ["P1", "P2"],
...                       "spo2": pd.array([99, 94], dtype="Float64")})
>>> result = evaluate(frame, "NCT07103668")
>>> out = pathlib.Path(tempfile.mkdtemp()) / "summary.xlsx"
>>> export_excel(funnel(result), out, evaluation=result).name
'summary.xlsx'
>>> import openpyxl
>>> openpyxl.load_workbook(out).sheetnames
['Summary', 'Funnel', 'Criteria', 'Combinations', 'By site', 'By month', 'Data issues', 'Protocol']
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table as XLTable
from openpyxl.worksheet.table import TableStyleInfo

from screenkit.export.content import Content, Table, build_content
from screenkit.files import (
    FORMULA_START,
    atomic_write,
    check_target,
    clean_text,
    input_paths,
)

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from screenkit.evaluate import Evaluation
    from screenkit.export.recruitment import Recruitment
    from screenkit.funnel import Funnel

__all__ = ["OPTIONAL_SHEETS", "SHEETS", "export_excel", "write_workbook"]

#: Sheet names, in order (the :data:`OPTIONAL_SHEETS` only when there is something to show).
SHEETS = (
    "Summary",
    "Funnel",
    "Criteria",
    "Combinations",
    "By site",
    "By month",
    "Recruitment",
    "Data issues",
    "Concordance",
    "Recorded reasons",
    "Protocol",
    "Patients",
)
#: Sheets written only on request or when the data hold them: Concordance (a log with both
#: recorded reasons and lab-level columns), Recorded reasons (recorded mode), Patients.
OPTIONAL_SHEETS = ("Concordance", "Recorded reasons", "Patients")
FORMATS = {"count": "#,##0", "int": "0", "pct": "0.0%", "decimal": "0.0"}
NAVY = "1F3864"
HEADER_FILL = PatternFill("solid", start_color=NAVY, end_color=NAVY)
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14, color=NAVY)
NOTE_FONT = Font(italic=True, size=9, color="404040")
BOLD = Font(bold=True)
TOP_BORDER = Border(top=Side(style="thin", color="000000"))
TABLE_HEADER_ROW = 3


def export_excel(
    funnel: Funnel,
    path: str | os.PathLike,
    *,
    evaluation: Evaluation | None = None,
    data: Any = None,
    patients: bool = False,
    identified: bool = False,
    suppress_below: int | None = None,
    overwrite: bool = False,
    concordance: pd.DataFrame | None = None,
    recruitment: Recruitment | bool = False,
) -> Path:
    """Write the screening workbook to ``path`` (``.xlsx``) and return the path.

    Parameters
    ----------
    funnel : the :class:`~screenkit.funnel.Funnel` to report (its order and switched-off
        criteria are used as they are).
    evaluation : its :class:`~screenkit.evaluate.Evaluation`, for the protocol version,
        thresholds, rules and (with ``patients``) the patient listing.
    data : the :class:`~screenkit.normalize.ScreeningData` it came from, for the data
        file name, its SHA-256 checksum and the Data issues sheet.
    patients : add a Patients sheet (pseudonymised IDs).
    identified : real patient IDs in the Patients and Data issues sheets (implies
        ``patients``).
    suppress_below : show counts under this number as ``<k``, with complementary
        suppression (cannot be combined with a patient listing).
    concordance : a :func:`screenkit.concordance.concordance` table, written as the
        Concordance sheet (not under suppression).
    overwrite : replace an existing file (never the input file).
    recruitment : ``True`` adds the Recruitment sheet (randomized to date vs the target,
        per site and month, the forecast and its chart; see
        :mod:`screenkit.export.recruitment`), or pass a ``Recruitment`` already built.

    The file is written to a temporary file in the same folder and renamed into place,
    so a failure leaves no half-written workbook.
    """
    out = check_target(path, overwrite=overwrite, inputs=input_paths(data, evaluation))
    content = build_content(
        funnel,
        evaluation=evaluation,
        data=data,
        patients=patients,
        identified=identified,
        suppress_below=suppress_below,
        concordance=concordance,
        recruitment=recruitment,
    )
    return atomic_write(out, lambda tmp: write_workbook(content).save(tmp))


def write_workbook(content: Content) -> Workbook:
    """The workbook for a :class:`~screenkit.export.content.Content` (not yet saved)."""
    wb = Workbook()
    wb.properties.creator = "screenkit"
    wb.properties.title = content.title
    _summary_sheet(wb.active, content)
    for name in SHEETS[1:]:
        if name == "Recruitment":
            if content.recruitment is not None:
                recruitment_sheet(wb.create_sheet(name), content.recruitment)
            continue
        table = content.tables.get(name)
        if table is None:
            continue
        ws = wb.create_sheet(name)
        end = _table_sheet(ws, table)
        if name == "Funnel":
            _funnel_chart(ws, table, end, hidden=content.suppression.active)
    return wb


# ---------------------------------------------------------------- cells
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


def _print_setup(ws: Worksheet, title_rows: str | None = None) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
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


def _title(ws: Worksheet, title: str, note: str, ncols: int) -> None:
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
            lines = max(lines, math.ceil(len(text) / (1.15 * max(width - 1, 1))))
        if lines > 1:
            ws.row_dimensions[top + i].height = 15 * lines


# ---------------------------------------------------------------- sheets
def _table_sheet(ws: Worksheet, table: Table) -> int:
    ncols = table.frame.shape[1]
    end = write_table(ws, table, TABLE_HEADER_ROW, name="tbl" + table.name.replace(" ", ""))
    _title(ws, table.title, table.note, ncols)
    freeze_col = 2 if table.name in ("Criteria", "Protocol", "Patients") else 1
    ws.freeze_panes = ws.cell(row=TABLE_HEADER_ROW + 1, column=freeze_col)
    _print_setup(ws, f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}")
    return end


def _summary_sheet(ws: Worksheet, content: Content) -> None:
    ws.title = "Summary"
    for letter, width in zip("ABCDEF", (38, 12, 14, 14, 14, 80), strict=True):
        ws.column_dimensions[letter].width = width
    put(ws, 1, 1, content.title).font = TITLE_FONT
    put(ws, 2, 1, content.headline_text).font = Font(bold=True, size=12)
    row = 4
    for key, value in content.meta:
        key_cell = put(ws, row, 1, key)
        key_cell.font = BOLD
        key_cell.alignment = Alignment(vertical="top")
        cell = put(ws, row, 2, value)
        cell.alignment = Alignment(horizontal="left", wrap_text=True, vertical="top")
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=6)
        if isinstance(value, str) and len(value) > 120:
            ws.row_dimensions[row].height = 15 * (len(value) // 120 + 1)
        row += 1

    row += 1
    put(ws, row, 1, "Screening outcome").font = Font(bold=True, size=12, color=NAVY)
    headline = Table(
        "Headline",
        "",
        "",
        content.headline,
        {"Patients": "count", "% of screened": "pct", "95% CI low": "pct", "95% CI high": "pct"},
    )
    row = write_table(ws, headline, row + 1, name="tblHeadline", widths=False) + 2

    put(ws, row, 1, "Top reasons for screen failure").font = Font(bold=True, size=12, color=NAVY)
    reasons = content.reasons.copy()
    reasons_frame = pd.DataFrame(
        {
            "Criterion": [
                f"{c}: {lab}" for c, lab in zip(reasons["Criterion"], reasons["Label"], strict=True)
            ],
            "Fails": reasons["Fails"],
            "Fails only this": reasons["Fails only this"],
            "Share of screen failures": reasons["Share of screen failures"],
            "Fail rate": reasons["Fail rate"],
            "In one sentence": reasons["In one sentence"],
        }
    )
    table = Table(
        "Reasons",
        "",
        "",
        reasons_frame,
        {
            "Fails": "count",
            "Fails only this": "count",
            "Share of screen failures": "decimal",
            "Fail rate": "pct",
        },
        wrap=("Criterion", "In one sentence"),
    )
    top = row + 1
    end = write_table(ws, table, top, name="tblTopReasons", widths=False)
    for r in range(top + 1, end + 1):
        for c in range(1, 7):
            ws.cell(r, c).alignment = Alignment(vertical="top", wrap_text=c in (1, 6))
    row = end + 2
    if len(reasons_frame):
        chart = BarChart()
        chart.type = "bar"
        chart.style = 10
        chart.title = "Top reasons for screen failure (patients)"
        chart.y_axis.title = "patients"
        chart.x_axis.scaling.orientation = "maxMin"
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.legend.position = "b"
        data = Reference(ws, min_col=2, max_col=4, min_row=top, max_row=end)  # counts only
        cats = Reference(ws, min_col=1, min_row=top + 1, max_row=end)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(cats)
        chart.height = 9
        chart.width = 24
        ws.add_chart(chart, f"A{row}")
        row += 19
    put(ws, row, 1, "How to read this workbook").font = BOLD
    guide = [
        "Funnel: criteria applied one after another; each patient is counted at the first "
        "criterion they fail.",
        "Criteria: per criterion, in any order: fails, unknown, fails only this, equal share, "
        "fail rate with 95% CI.",
        "Combinations: the sets of criteria screen-failed patients fail together.",
        "By site / By month: outcome counts and screen-fail rate per site and per screening month.",
        *(
            ["Recruitment: randomized to date vs the target, per site and month, and the forecast."]
            if content.recruitment is not None
            else []
        ),
        "Data issues: cells not understood, columns not used, rows skipped (the load report).",
        "Protocol: each criterion's rule and parameter values exactly as evaluated.",
    ]
    for line in guide:
        row += 1
        put(ws, row, 1, line)
    ws.freeze_panes = None
    _print_setup(ws)
    ws.page_setup.fitToHeight = 1  # the summary is one page
    ws.sheet_view.showGridLines = False


def _funnel_chart(ws: Worksheet, table: Table, end: int, *, hidden: bool = False) -> None:
    """Bar chart of patients remaining per step, beside the table and as tall as it."""
    columns = list(table.frame.columns)
    remaining = columns.index("Remaining") + 1
    crit = columns.index("Criterion") + 1
    top = TABLE_HEADER_ROW
    n = len(table.frame)
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = "Patients remaining after each criterion" + (
        " (hidden counts not drawn)" if hidden else ""
    )
    chart.x_axis.scaling.orientation = "maxMin"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.title = "patients remaining"
    chart.legend = None
    chart.add_data(
        Reference(ws, min_col=remaining, min_row=top, max_row=top + n), titles_from_data=True
    )
    chart.set_categories(Reference(ws, min_col=crit, min_row=top + 1, max_row=top + n))
    chart.gapWidth = 40
    chart.x_axis.tickLblSkip = 1
    points = sum(ws.row_dimensions[r].height or 15 for r in range(top, top + n + 1))
    chart.height = max(8.0, points * 0.0353 - 0.5)  # points to cm: ends with the table
    chart.width = 16
    ws.add_chart(chart, f"{get_column_letter(len(columns) + 2)}{top}")


def recruitment_sheet(ws: Worksheet, rec: Recruitment) -> None:
    """Randomized to date vs target, the forecast, the per-site / per-month tables and a
    line chart of cumulative randomized (observed, forecast median and 80% band, target)."""
    note = rec.headline + (
        f" Small counts: {rec.suppression.legend()}." if rec.suppression.active else ""
    )
    figures = Table("Recruitment", "", "", rec.figures, {}, wrap=("Value",))
    end = write_table(ws, figures, TABLE_HEADER_ROW, name="tblRecruitment", widths=False)
    ws.column_dimensions["A"].width = 46
    ws.column_dimensions["B"].width = 28
    ws.column_dimensions["C"].width = 14
    for r in range(TABLE_HEADER_ROW + 1, end + 1):
        ws.cell(r, 2).alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
    row = end + 2
    for table, name in ((rec.sites, "tblRandomizedBySite"), (rec.months, "tblRandomizedByMonth")):
        if table is None:
            continue
        put(ws, row, 1, table.title).font = Font(bold=True, size=12, color=NAVY)
        put(ws, row + 1, 1, table.note).font = NOTE_FONT
        row = write_table(ws, table, row + 2, name=name, widths=False) + 2
    if rec.notes:
        put(ws, row, 1, "Notes").font = BOLD
        for text in rec.notes:  # wrapped over A:C, rows as tall as the text
            row += 1
            put(ws, row, 1, text).alignment = Alignment(wrap_text=True, vertical="top")
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
            ws.row_dimensions[row].height = 13 * math.ceil(len(text) / 80)
    _title(ws, "Recruitment: randomized to date, target and forecast", note, 6)
    if rec.cumulative is not None and len(rec.cumulative):
        _recruitment_chart(ws, rec, left=5)
    ws.freeze_panes = None
    _print_setup(ws)


def _recruitment_chart(ws: Worksheet, rec: Recruitment, left: int) -> None:
    """The chart's data (a table beside the figures) and the native line chart."""
    frame = rec.cumulative
    formats = {c: "count" for c in frame.columns if c != "Month"}
    formats.update({c: "decimal" for c in ("Forecast median", "Forecast 10%", "Forecast 90%")})
    data = Table("Recruitment chart", "", "", frame, formats)
    top = TABLE_HEADER_ROW
    end = write_table(ws, data, top, name="tblRecruitmentChart", left=left, widths=False)
    for j in range(frame.shape[1]):
        ws.column_dimensions[get_column_letter(left + j)].width = 12
    chart = LineChart()
    chart.title = "Cumulative randomized: observed, forecast and target" + (
        " (hidden counts not drawn)" if rec.suppression.active else ""
    )
    chart.style = 12
    chart.y_axis.title = "patients randomized"
    chart.y_axis.number_format = "0"
    chart.x_axis.title = "month"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend.position = "b"
    chart.display_blanks = "gap"
    chart.add_data(
        Reference(
            ws, min_col=left + 1, max_col=left + frame.shape[1] - 1, min_row=top, max_row=end
        ),
        titles_from_data=True,
    )
    chart.set_categories(Reference(ws, min_col=left, min_row=top + 1, max_row=end))
    colours = ("000000", "1F77B4", "9DC3E6", "9DC3E6", "B22222")
    for series, colour in zip(chart.series, colours, strict=False):
        series.graphicalProperties.line.solidFill = colour
        series.smooth = False
    for series in chart.series[1:4]:
        series.graphicalProperties.line.dashStyle = "dash"
    chart.height = 12
    chart.width = 24
    ws.add_chart(chart, f"{get_column_letter(left + frame.shape[1] + 1)}{top}")
