"""The **Comparison** sheet: two protocols on one screened population, aggregate only.

:func:`comparison_sheet` writes, under a title and a one-line note, the five cells (both /
only A / only B / neither / pending), the 3 x 3 table of statuses, the paired difference
with Newcombe's interval (both denominators), the criteria explaining each discordant
cell, the cells per site and the forecast, with a native bar chart of the explaining
criteria. Every text cell goes through :func:`screenkit.export.excel.put` (text cells,
never formulas). :func:`export_comparison` writes a workbook holding that sheet.

Small counts: with ``suppress_below=k`` the cells, the cells per site and the explaining
criteria are one linear system for :func:`screenkit.export.privacy.suppress` (the cells
add up to the screened total, each site's cells to the site's total, each cell's sites to
the cell; a cell's ``fails only`` counts plus a never-shown rest add up to the cell, each
criterion's ``fails`` is its ``fails only`` plus a never-shown rest), so no hidden count
can be worked out from the others. The 3 x 3 table and the pending split are then left
out (they would pin the pending cell), and the difference shows its percentages only
when none of the cells it is computed from is hidden.

>>> import pandas as pd, tempfile, pathlib, openpyxl
>>> from screenkit.compare import compare
>>> frame = pd.DataFrame({"largest_lesion_cm": pd.array([4.0, 6.0], dtype="Float64")})
>>> c = compare(frame, "NCT07103668", "NCT07103668-A1", forecast=False)
>>> out = pathlib.Path(tempfile.mkdtemp()) / "compare.xlsx"
>>> export_comparison(c, out).name
'compare.xlsx'
>>> openpyxl.load_workbook(out).sheetnames
['Comparison']
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font

from screenkit.export.excel import (
    NAVY,
    NOTE_FONT,
    TABLE_HEADER_ROW,
    _print_setup,
    _title,
    put,
    write_table,
)
from screenkit.export.privacy import Suppression, check_k, suppress
from screenkit.export.tables import Table
from screenkit.files import atomic_write, check_target
from screenkit.style import percent

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from screenkit.compare import Comparison

__all__ = ["comparison_sheet", "comparison_suppression", "export_comparison"]

SHEET = "Comparison"
CELL_NAMES = {
    "both": "Both",
    "only_a": "Only A",
    "only_b": "Only B",
    "neither": "Neither",
    "pending": "Pending",
}


def export_comparison(
    comparison: Comparison,
    path: str | Path,
    *,
    suppress_below: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a workbook with the **Comparison** sheet (atomically; an existing file is
    replaced only with ``overwrite``)."""
    out = check_target(path, overwrite=overwrite)
    sup = comparison_suppression(comparison, suppress_below)

    def write(tmp: Path) -> None:
        wb = Workbook()
        wb.properties.creator = "screenkit"
        wb.properties.title = (
            f"Protocol comparison: {comparison.protocol_a.id} vs {comparison.protocol_b.id}"
        )
        comparison_sheet(wb.active, comparison, sup)
        wb.save(tmp)

    return atomic_write(out, write)


def comparison_suppression(comparison: Comparison, k: int | None) -> Suppression:
    """The counts of the sheet to hide under ``k`` (``None``: none)."""
    k = check_k(k)
    if k is None:
        return Suppression()
    from screenkit.compare import CELLS

    counts = comparison.counts()
    values: dict[Any, int] = {("cell", c): counts[c] for c in CELLS}
    values["screened"] = counts["screened"]
    eqs: list[dict[Any, float]] = [
        {**{("cell", c): 1 for c in CELLS}, "screened": -1},
    ]
    sites = comparison.by_site
    for row in sites.to_dict("records"):
        s = row["site_id"]
        values[("site", s, "screened")] = row["screened"]
        for c in CELLS:
            values[("site", s, c)] = row[c]
        eqs.append({**{("site", s, c): 1 for c in CELLS}, ("site", s, "screened"): -1})
    if len(sites) > 1:
        for c in CELLS:
            eqs.append({**{("site", s, c): 1 for s in sites["site_id"]}, ("cell", c): -1})
        eqs.append({**{("site", s, "screened"): 1 for s in sites["site_id"]}, "screened": -1})
    else:  # one site: its row is the total
        for c in (*CELLS, "screened"):
            s = sites["site_id"].iloc[0]
            eqs.append({("site", s, c): 1, ("cell", c) if c != "screened" else c: -1})
    latent = []
    for cell, group in comparison.explained_by.groupby("cell", sort=False):
        rest = ("rest", cell)
        latent.append(rest)
        values[rest] = 0
        only = {}
        for r in group.itertuples(index=False):
            values[("fails", cell, r.criterion)] = r.fails
            values[("only", cell, r.criterion)] = r.fails_only
            multi = ("multi", cell, r.criterion)
            latent.append(multi)
            values[multi] = r.fails - r.fails_only
            eqs.append(
                {("fails", cell, r.criterion): 1, ("only", cell, r.criterion): -1, multi: -1}
            )
            only[("only", cell, r.criterion)] = 1
        eqs.append({**only, rest: 1, ("cell", cell): -1})
    return suppress(values, eqs, k, keep_shown={"screened"}, latent=latent)


def comparison_sheet(ws: Worksheet, comparison: Comparison, sup: Suppression | None = None) -> None:
    """Fill ``ws`` (renamed **Comparison**) with the comparison's aggregate tables."""
    from screenkit.compare import CELL_TEXT, CELLS

    sup = sup or Suppression()
    ws.title = SHEET
    a, b = comparison.protocol_a, comparison.protocol_b
    counts = comparison.counts()
    n = counts["screened"]
    cells = pd.DataFrame(
        {
            "Cell": [CELL_NAMES[c] for c in CELLS],
            "Meaning": [CELL_TEXT[c] for c in CELLS],
            "Patients": [sup.show(("cell", c), counts[c]) for c in CELLS],
            "Share": [
                None if sup.is_hidden(("cell", c)) or not n else counts[c] / n for c in CELLS
            ],
        }
    )
    row = write_table(
        ws,
        Table(
            "Cells",
            "",
            "",
            cells,
            {"Patients": "count", "Share": "pct"},
            {
                "Cell": "Screened",
                "Meaning": "every screened patient is in exactly one cell",
                "Patients": n,
                "Share": 1.0 if n else None,
            },
        ),
        TABLE_HEADER_ROW,
        name="tblComparisonCells",
        widths=False,
    )
    for letter, width in zip("ABCDEFGH", (34, 44, 14, 40, 12, 12, 12, 12), strict=True):
        ws.column_dimensions[letter].width = width
    row += 2
    if not sup.active:
        cross = comparison.crosstab.copy()
        cross.index = [f"A {s}" for s in cross.index]
        frame = cross.reset_index().rename(columns={"index": "Status under A / B"})
        frame.columns = ["Status under A / B", *[f"B {s}" for s in comparison.crosstab.columns]]
        row = _block(
            ws,
            row,
            "Status under A (rows) x under B (columns)",
            "",
            frame,
            {c: "count" for c in frame.columns[1:]},
            "tblComparisonCross",
        )
    diffs = []
    for d in (comparison.difference, comparison.difference_all_screened):
        used = ("both", "only_a", "only_b", "neither")
        hidden = any(sup.is_hidden(("cell", c)) for c in used) or (
            sup.active and d is comparison.difference_all_screened
        )
        diffs.append(
            {
                "Denominator": d.denominator,
                "Patients": "hidden" if hidden else d.n,
                "Eligible under A": None if hidden else d.p_a,
                "Eligible under B": None if hidden else d.p_b,
                "B - A": None if hidden else d.difference,
                f"{percent(d.confidence, 0)} CI low": None if hidden else d.ci_low,
                f"{percent(d.confidence, 0)} CI high": None if hidden else d.ci_high,
            }
        )
    frame = pd.DataFrame(diffs)
    row = _block(
        ws,
        row,
        "Change in the proportion eligible, B minus A",
        "Newcombe (1998) method 10 for paired proportions (Wilson score based). 'Decided "
        "under both' leaves out the pending patients; 'all screened' counts them as not "
        "eligible.",
        frame,
        {"Patients": "count", **{c: "pct" for c in frame.columns[2:]}},
        "tblComparisonDifference",
        wrap=("Denominator",),
    )
    exp = comparison.explained_by
    frame = pd.DataFrame(
        {
            "Cell": [CELL_NAMES[c] for c in exp["cell"]],
            "Criteria of": exp["protocol"],
            "Criterion": exp["criterion"],
            "Label": exp["label"],
            "Fails": [
                sup.show(("fails", c, i), v)
                for c, i, v in zip(exp["cell"], exp["criterion"], exp["fails"], strict=True)
            ],
            "Fails only this": [
                sup.show(("only", c, i), v)
                for c, i, v in zip(exp["cell"], exp["criterion"], exp["fails_only"], strict=True)
            ],
        }
    )
    chart_top = row + 2
    row = _block(
        ws,
        row,
        "Criteria explaining the discordant cells",
        "For the patients eligible under one protocol only: the criteria of the other that "
        "they fail. A patient failing two criteria counts under both; 'fails only this': "
        "fails no other criterion of that protocol.",
        frame,
        {"Fails": "count", "Fails only this": "count"},
        "tblComparisonExplained",
        wrap=("Label",),
    )
    chart_end = row
    sites = comparison.by_site
    frame = pd.DataFrame({"Site": sites["site_id"].astype(str)})
    frame["Screened"] = [
        sup.show(("site", s, "screened"), v)
        for s, v in zip(sites["site_id"], sites["screened"], strict=True)
    ]
    for c in CELLS:
        frame[CELL_NAMES[c]] = [
            sup.show(("site", s, c), v) for s, v in zip(sites["site_id"], sites[c], strict=True)
        ]
    row = _block(
        ws,
        row,
        "Cells per site",
        "",
        frame,
        {c: "count" for c in frame.columns[1:]},
        "tblComparisonSites",
    )
    if comparison.forecast is not None:
        f = comparison.forecast.to_dict()
        frame = pd.DataFrame(
            {
                "Quantity": [
                    "Target",
                    f"Median date under A ({a.id})",
                    f"Median date under B ({b.id})",
                    "B minus A (days)",
                    "No forecast because",
                ],
                "Value": [
                    f["target"],
                    f["median_date_a"],
                    f["median_date_b"],
                    f["change_days"],
                    f["reason"],
                ],
            }
        )
        row = _block(
            ws,
            row,
            "Forecast: date the target is reached",
            "Fitted on A (the protocol the log was screened under); B's eligibility as a "
            "what-if, site rates and P(randomized | eligible) from A, the same seed.",
            frame,
            {},
            "tblComparisonForecast",
            wrap=("Value",),
        )
    notes = comparison.criteria_off_notes()
    if sup.active:
        notes.append(f"Small counts: {sup.legend()}.")
    for text in notes:
        put(ws, row, 1, text).alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
        ws.row_dimensions[row].height = 13 * math.ceil(len(text) / 110)
        row += 1
    note = (
        f"A = {a.id} ({a.version}); B = {b.id} ({b.version}). {n} screened patients, "
        "matched by row. A patient pending under either protocol is in 'Pending'."
    )
    _title(ws, f"Protocol comparison: {a.id} vs {b.id}", note, 6)
    if len(exp) and not sup.active:
        _chart(ws, chart_top, chart_end)
    ws.freeze_panes = None
    _print_setup(ws)


def _block(ws, row, title, note, frame, formats, name, wrap=()) -> int:
    """A titled table starting at ``row``; returns the row after it (and a gap)."""
    put(ws, row, 1, title).font = Font(bold=True, size=12, color=NAVY)
    if note:
        put(ws, row + 1, 1, note).font = NOTE_FONT
    table = Table(name, "", "", frame, formats, wrap=wrap)
    end = write_table(ws, table, row + 2, name=name, widths=False)
    return end + 2


def _chart(ws, top: int, end: int) -> None:
    """Bar chart of the explaining criteria's ``Fails`` (column E of that table)."""
    last = end - 2
    if last <= top:
        return
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Criteria explaining the discordant cells (patients failing each)"
    chart.add_data(Reference(ws, min_col=5, min_row=top, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=3, min_row=top + 1, max_row=last))
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    chart.x_axis.scaling.orientation = "maxMin"
    chart.legend = None
    chart.height = max(7.0, 0.5 * (last - top) + 3)
    chart.width = 16
    ws.add_chart(chart, f"I{TABLE_HEADER_ROW}")
