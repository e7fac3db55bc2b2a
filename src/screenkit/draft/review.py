"""The review table of a draft: one row per criterion, for the terminal and a workbook.

Columns: ``criterion``, ``kind``, ``rule``, ``parameters`` (``name = value unit``),
``confidence``, ``needs_review`` (what to check, empty when nothing), ``source_text``.

>>> from screenkit.draft import draft_protocol
>>> table = review_table(draft_protocol("Inclusion Criteria: 1. Platelets ≥ 100×109/L."))
>>> table[["criterion", "rule", "parameters"]].values.tolist()
[['I1', 'plt >= plt_min', 'plt_min = 100 10^9/L']]
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from screenkit.draft.model import Draft

__all__ = ["format_review", "review_table", "write_review_workbook"]

_COLUMNS = [
    "criterion",
    "kind",
    "rule",
    "parameters",
    "confidence",
    "needs_review",
    "source_text",
]


def review_table(draft: Draft) -> pd.DataFrame:
    """One row per drafted criterion (see the module doc)."""
    rows = []
    for c in draft.criteria:
        params = []
        for x in c.comparisons:
            unit = "" if x.unit is None else f" {x.unit}"
            params.append(f"{x.parameter} = {x.value:g}{unit}")
        rule = c.rule if not c.applies else f"{c.rule}  [applies: {c.applies}]"
        rows.append(
            {
                "criterion": c.id,
                "kind": c.kind,
                "rule": rule,
                "parameters": "; ".join(params),
                "confidence": c.confidence,
                "needs_review": "; ".join(c.review),
                "source_text": c.source_text,
            }
        )
    return pd.DataFrame(rows, columns=_COLUMNS)


def _short(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def format_review(draft: Draft, *, width: int = 60) -> str:
    """The review table as terminal text (left-aligned, long cells cut to ``width``
    characters), under a summary line: criteria, thresholds, parameters, how many need
    review, how many sentences were not drafted."""
    table = review_table(draft)
    cols = ["criterion", "rule", "parameters", "confidence", "needs_review", "source_text"]
    cells = [[_short(v, width) for v in row] for row in table[cols].itertuples(index=False)]
    sizes = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(n) for c, n in zip(cols, sizes, strict=True)).rstrip()]
    for row in cells:
        lines.append("  ".join(v.ljust(n) for v, n in zip(row, sizes, strict=True)).rstrip())
    thresholds = sum(1 for c in draft.criteria if c.comparisons)
    review = int((table["needs_review"] != "").sum())
    summary = (
        f"{draft.protocol_id}: {len(table)} criteria drafted ({thresholds} with thresholds, "
        f"{len(table) - thresholds} yes/no), {len(draft.parameters)} parameters; "
        f"{review} need review; {len(draft.unparsed)} sentence(s) not drafted"
    )
    return summary + "\n\n" + "\n".join(lines)


def write_review_workbook(draft: Draft, path: str | Path) -> Path:
    """Write the review table (sheet ``Review``) and the sentences not drafted (sheet
    ``Not drafted``) to ``path``; text is always a text cell, never a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from screenkit.export.excel import put
    from screenkit.files import atomic_write

    table = review_table(draft)
    wb = Workbook()
    ws = wb.active
    ws.title = "Review"
    widths = [10, 10, 50, 36, 11, 60, 80]
    for j, (name, width) in enumerate(zip(_COLUMNS, widths, strict=True), start=1):
        put(ws, 1, j, name).font = Font(bold=True)
        ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = width
    for i, row in enumerate(table.itertuples(index=False), start=2):
        for j, value in enumerate(row, start=1):
            put(ws, i, j, value).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    other = wb.create_sheet("Not drafted")
    put(other, 1, 1, "sentence (headings and text with no criterion)").font = Font(bold=True)
    other.column_dimensions["A"].width = 120
    for i, text in enumerate(draft.unparsed, start=2):
        put(other, i, 1, text)
    return atomic_write(Path(path), lambda tmp: wb.save(tmp))
