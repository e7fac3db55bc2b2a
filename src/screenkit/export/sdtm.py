"""The SDTM screen-failure summary as a workbook or an HTML page (``screenkit sdtm -o``).

Aggregate only: counts per site, convention, disagreement kind and criterion; no subject
ID is written (the terminal lists the subjects the conventions disagree on). Cells go
through :func:`screenkit.export.excel.put` (text is a text cell, never a formula).

>>> import pandas as pd, tempfile, pathlib
>>> from screenkit.sdtm import load_sdtm, summarize_sdtm
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"USUBJID": ["S1", "S2"], "SITEID": ["01", "02"],
...               "ARMCD": ["SCRNFAIL", "PBO"]}).to_csv(folder / "dm.csv", index=False)
>>> summary = summarize_sdtm(load_sdtm(folder))
>>> [t.name for t in sdtm_tables(summary)]
['Summary', 'By site', 'Conventions', 'Disagreements', 'Criteria', 'Combinations', 'Protocol']
>>> write_sdtm_workbook(summary).sheetnames
['Summary', 'By site', 'Conventions', 'Disagreements', 'Criteria', 'Combinations', 'Protocol']
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import pandas as pd
from openpyxl import Workbook

from screenkit.export.excel import _table_sheet
from screenkit.export.html import CSS, table_html
from screenkit.export.tables import Table

if TYPE_CHECKING:
    from screenkit.sdtm import SdtmSummary

__all__ = ["render_sdtm_html", "sdtm_tables", "write_sdtm_workbook"]

COUNT = "count"


def sdtm_tables(summary: SdtmSummary) -> list[Table]:
    """The display tables, in sheet order."""
    from screenkit.sdtm import CONVENTIONS, NO_IE

    s = summary
    overview = pd.DataFrame(
        {
            "Measure": [
                "Screened (DM subjects)",
                "Screen failed (any convention)",
                "Randomized (DM arm recorded, not a screen failure)",
                "Neither (no arm, not a screen failure)",
            ],
            "Subjects": [s.screened, s.screen_failed, s.randomized, s.not_randomized],
        }
    )
    notes = " ".join(f"Note: {n}." for n in s.notes)
    conventions = pd.DataFrame(
        {
            "Convention": list(s.conventions),
            "Domain": [CONVENTIONS[k][0] for k in s.conventions],
            "Variables": [", ".join(CONVENTIONS[k][1]) for k in s.conventions],
            "Subjects marked": list(s.conventions.values()),
        }
    )
    disagree = (
        s.disagreements.groupby(["marked_by", "not_marked_by"], sort=True)
        .size()
        .rename("Subjects")
        .reset_index()
        .rename(columns={"marked_by": "Marked by", "not_marked_by": "Not marked by"})
    )
    why = s.criteria_note or NO_IE
    if s.combinations is None:
        combos = pd.DataFrame({"Combinations": [why]})
    else:
        combos = s.combinations.rename(
            columns={
                "criteria": "Criteria not met",
                "n_criteria": "Criteria",
                "subjects": "Subjects",
            }
        )
    if s.criteria is None:
        criteria = pd.DataFrame({"Criteria": [why]})
        criteria_note = (
            "The study did not record which criterion each screen failure missed."
            if why == NO_IE
            else "The criteria are not mapped until the protocol version is known."
        )
    else:
        criteria = s.criteria.rename(
            columns={
                "IETESTCD": "Code",
                "IETEST": "Criterion",
                "IECAT": "Category",
                "not_met": "Subjects not meeting it",
                "in_ti": "In TI",
            }
        )
        version = ", ".join(s.versions_used) or "one version"
        criteria_note = f"From IE (criteria not met), protocol version: {version}."
    skeleton = s.skeleton.rename(
        columns={
            "IETESTCD": "Code",
            "IETEST": "Criterion",
            "IECAT": "Category",
            "TIVERS": "Version",
        }
    )
    study = s.study_id or "(no STUDYID)"
    return [
        Table(
            "Summary",
            f"SDTM screen-failure summary: {study}",
            notes or "Counts of DM subjects.",
            overview,
            {"Subjects": COUNT},
        ),
        Table(
            "By site",
            "Screened and screen failed by site (DM SITEID)",
            "",
            s.by_site.rename(
                columns={"site": "Site", "screened": "Screened", "screen_failed": "Screen failed"}
            ),
            {"Screened": COUNT, "Screen failed": COUNT},
        ),
        Table(
            "Conventions",
            "Screen-failure conventions checked",
            "A subject is a screen failure when any convention marks it.",
            conventions,
            {"Subjects marked": COUNT},
        ),
        Table(
            "Disagreements",
            "Where the conventions in use disagree",
            "Subjects marked by some conventions in use and not by others.",
            disagree,
            {"Subjects": COUNT},
        ),
        Table(
            "Criteria",
            "Criteria not met",
            criteria_note,
            criteria,
            {"Subjects not meeting it": COUNT},
            wrap=("Criterion",),
        ),
        Table(
            "Combinations",
            "Combinations of criteria not met",
            "Subjects by the exact set of criteria IE records them as not meeting.",
            combos,
            {"Criteria": COUNT, "Subjects": COUNT},
        ),
        Table(
            "Protocol",
            "Protocol skeleton (TI)",
            "Every criterion TI lists, per protocol version.",
            skeleton,
            wrap=("Criterion",),
        ),
    ]


def write_sdtm_workbook(summary: SdtmSummary) -> Workbook:
    """The workbook (not yet saved): one sheet per :func:`sdtm_tables` table."""
    wb = Workbook()
    wb.properties.creator = "screenkit"
    wb.remove(wb.active)
    for table in sdtm_tables(summary):
        _table_sheet(wb.create_sheet(table.name), table)
    return wb


def render_sdtm_html(summary: SdtmSummary) -> str:
    """The summary as one HTML page (escaped text, no scripts)."""
    e = html.escape
    tables = sdtm_tables(summary)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(tables[0].title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(tables[0].title)}</h1>",
    ]
    for table in tables:
        parts.append(f"<h2>{e(table.name)}</h2><p><b>{e(table.title)}</b></p>")
        if table.note:
            parts.append(f"<p class='note'>{e(table.note)}</p>")
        parts.append(table_html(table.frame, table.formats))
    parts.append("</body></html>")
    return "\n".join(parts)
