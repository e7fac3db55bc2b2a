"""The Excel workbook trial teams receive: :func:`export_excel`.

Sheets: **Summary**, **Flow** (the CONSORT flow: boxes as a table and the diagram as an
image, :mod:`screenkit.plots.flow`), **Funnel**, **Criteria**, **Combinations**, **By site**,
**By month**,
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
>>> openpyxl.load_workbook(out).sheetnames  # doctest: +NORMALIZE_WHITESPACE
['Summary', 'Flow', 'Funnel', 'Criteria', 'Combinations', 'By site', 'By month',
 'Data issues', 'Protocol']
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from screenkit import style
from screenkit.export.cells import (
    BOLD,
    NAVY,
    NOTE_FONT,
    TABLE_HEADER_ROW,
    TITLE_FONT,
    print_setup,
    put,
    table_sheet,
    title,
    write_table,
)
from screenkit.export.content import Content, Table, build_content
from screenkit.export.excel_sheets import flow_sheet, recruitment_sheet
from screenkit.files import atomic_write, check_target, input_paths

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from screenkit.evaluate import Evaluation
    from screenkit.export.recruitment import Recruitment
    from screenkit.funnel import Funnel

# names other modules import from here (kept since the cells moved to export.cells)
_print_setup, _title, _table_sheet = print_setup, title, table_sheet

__all__ = [
    "NAVY",
    "NOTE_FONT",
    "OPTIONAL_SHEETS",
    "SHEETS",
    "TABLE_HEADER_ROW",
    "export_excel",
    "put",
    "write_table",
    "write_workbook",
]

#: Sheet names, in order (the :data:`OPTIONAL_SHEETS` only when there is something to show).
SHEETS = (
    "Summary",
    "Flow",
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
        if name == "Flow":
            if content.flow is not None:
                flow_sheet(wb.create_sheet(name), content.flow)
            continue
        table = content.tables.get(name)
        if table is None:
            continue
        ws = wb.create_sheet(name)
        end = table_sheet(ws, table)
        if name == "Funnel":
            _funnel_chart(ws, table, end, hidden=content.suppression.active)
    return wb


# ---------------------------------------------------------------- sheets
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
    chart_row = row
    if len(reasons_frame):
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
    print_setup(ws)
    ws.print_area = f"A1:F{row}"  # not the chart data below
    if len(reasons_frame):
        ws.add_chart(_reasons_chart(ws, reasons_frame, row + 4), f"A{chart_row}")
    ws.page_setup.fitToHeight = 1  # the summary is one page
    ws.sheet_view.showGridLines = False


def _reasons_chart(ws: Worksheet, reasons: pd.DataFrame, top: int) -> BarChart:
    """Fails, fails only this and share per top reason, in the HTML report's colours.

    Spreadsheets list a horizontal bar chart's legend bottom-up; so that the legend reads
    in the order of the bars (Fails, Fails only this, Share, top to bottom in each group)
    and the first reason is at the top, the chart reads a bottom-up copy of the counts,
    "Chart data" from row ``top`` below the printed area (spreadsheets do not draw hidden
    cells)."""
    measures = ["Share of screen failures", "Fails only this", "Fails"]
    first = 1  # the criterion, then the measures, bottom bar first
    put(ws, top - 1, first, "Chart data (bottom-up, for the chart)").font = NOTE_FONT
    put(ws, top, first, "Criterion")
    for j, name in enumerate(measures, start=1):
        put(ws, top, first + j, name)
    ordered = reasons.iloc[::-1].reset_index(drop=True)
    for i, rec in enumerate(ordered.to_dict("records"), start=1):
        put(ws, top + i, first, rec["Criterion"])
        for j, name in enumerate(measures, start=1):
            put(ws, top + i, first + j, rec[name], "decimal")
    end = top + len(ordered)
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = "Top reasons for screen failure (patients)"
    chart.y_axis.title = "patients"
    chart.y_axis.number_format = "0"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend.position = "b"
    data = Reference(ws, min_col=first + 1, max_col=first + len(measures), min_row=top, max_row=end)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=first, min_row=top + 1, max_row=end))
    for series, name in zip(chart.series, measures, strict=True):
        _colour(series, style.MEASURE_COLOURS[name])
    chart.height = 9
    chart.width = 24
    return chart


def _font(size: int):
    """Axis label text properties: ``size`` in hundredths of a point."""
    from openpyxl.chart.text import RichText
    from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties

    props = CharacterProperties(sz=size)
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)])


def _colour(series, colour: str) -> None:
    series.graphicalProperties.solidFill = colour
    series.graphicalProperties.line.solidFill = colour


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
    chart.x_axis.txPr = _font(700 if n > 30 else 900)  # every label fits, one per bar
    _colour(chart.series[0], style.NEUTRAL)
    points = sum(ws.row_dimensions[r].height or 15 for r in range(top, top + n + 1))
    # the chart ends with the table but never runs past one printed page: landscape A4,
    # fit to the width of the table and the chart (cm -> points: 28.35)
    columns_pt = sum(
        (ws.column_dimensions[get_column_letter(c)].width or 8.43) * 5.6
        for c in range(1, len(columns) + 2)
    )
    chart.width = 16
    scale = min(1.0, 770 / (columns_pt + chart.width * 28.35))
    page_pt = (595 - 72 * (ws.page_margins.top + ws.page_margins.bottom)) / scale - 60
    chart.height = max(8.0, min(points, page_pt) * 0.0353 - 0.5)
    ws.add_chart(chart, f"{get_column_letter(len(columns) + 2)}{top}")
