"""The workbook's Recruitment and Flow sheets (see :mod:`screenkit.export.excel`).

**Recruitment**: randomized to date vs the target, the forecast, per site / per month
and a native line chart. **Flow**: the CONSORT flow's boxes as a formatted table and the
diagram as a PNG image (:mod:`screenkit.plots.flow`).
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from screenkit.export.cells import (
    BOLD,
    NAVY,
    NOTE_FONT,
    TABLE_HEADER_ROW,
    print_setup,
    put,
    title,
    wrapped_lines,
    write_table,
)
from screenkit.export.tables import Table

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from screenkit.export.recruitment import Recruitment
    from screenkit.plots.flow import Flow

__all__ = ["flow_sheet", "recruitment_sheet"]


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
        note_cell = put(ws, row + 1, 1, table.note)  # wrapped over A:C, clear of the chart data
        note_cell.font = NOTE_FONT
        note_cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=row + 1, start_column=1, end_row=row + 1, end_column=3)
        ws.row_dimensions[row + 1].height = 12 * wrapped_lines(table.note, 100) + 2
        row = write_table(ws, table, row + 2, name=name, widths=False) + 2
    if rec.notes:
        put(ws, row, 1, "Notes").font = BOLD
        for text in rec.notes:  # wrapped over A:C, rows as tall as the text
            row += 1
            put(ws, row, 1, text).alignment = Alignment(wrap_text=True, vertical="top")
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
            ws.row_dimensions[row].height = 13 * math.ceil(len(text) / 80)
    title(ws, "Recruitment: randomized to date, target and forecast", note, 6)
    if rec.cumulative is not None and len(rec.cumulative):
        _recruitment_chart(ws, rec, left=5)
    ws.freeze_panes = None
    print_setup(ws)


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


def flow_sheet(ws: Worksheet, flow: Flow) -> None:
    """The CONSORT flow: its boxes and reasons as a table, the diagram below as an image."""
    from openpyxl.drawing.image import Image

    frame = flow.to_frame()
    table = Table(
        "Flow",
        "Screening flow (CONSORT)",
        " ".join(flow.notes),
        frame,
        {"Patients": "count", "Share of screen failures": "decimal"},
        wrap=("Reason", "Detail"),
    )
    for letter, width in zip("ABCDE", (28, 52, 11, 14, 46), strict=True):
        ws.column_dimensions[letter].width = width
    end = write_table(ws, table, TABLE_HEADER_ROW, name="tblFlow", widths=False)
    for r in range(TABLE_HEADER_ROW + 1, end + 1):
        if ws.cell(r, 2).value in (None, ""):  # a box row: bold stage
            ws.cell(r, 1).font = BOLD
    title(ws, table.title, table.note, 5)
    image = Image(io.BytesIO(flow.to_png(scale=2.0)))
    image.width, image.height = image.width // 2, image.height // 2  # crisp at 2x
    image.anchor = f"A{end + 3}"
    ws.add_image(image)
    put(ws, end + 2, 1, "Diagram").font = Font(bold=True, size=12, color=NAVY)
    ws.freeze_panes = None
    print_setup(ws)
    # two pages by design: the table, then the diagram on a page of its own (one page
    # would shrink the diagram's text below reading size)
    ws.row_breaks.append(Break(id=end + 1))
    ws.sheet_view.showGridLines = False
