"""The result of loading: :class:`ScreeningData` (canonical frame) and :class:`LoadReport`.

Both are frozen dataclasses holding plain DataFrames; ``to_frame()`` returns the frame,
``_repr_html_`` shows counts and the first problems, ``summary()`` is plain text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

__all__ = ["CELL_COLUMNS", "LoadReport", "ScreeningData"]

CELL_COLUMNS = ["sheet", "row", "patient_id", "column", "value", "kind", "detail"]
CELL_KINDS = ("unparsed", "censored", "not done", "implausible", "converted", "parsed")


@dataclass(frozen=True)
class LoadReport:
    """Every row and cell the loader read, and what became of it.

    - ``headers``: ``header`` (as the file spells it), ``canonical``, ``unit``, ``how``
      (exact, alias, user map, unit column, unmapped). Unmapped headers stay listed.
    - ``conversions``: ``column``, ``from_unit``, ``to_unit``, ``cells``.
    - ``cells``: every cell not read literally: ``sheet``, ``row``, ``patient_id``,
      ``column``, ``value``, ``kind`` (unparsed, censored, not done, implausible,
      converted, parsed), ``detail``.
    - ``problems``: the ``unparsed`` cells (they became missing).
    - ``skipped_rows``: ``sheet``, ``row``, ``reason`` (blank row, title row).
    - ``rows_read == rows_loaded + len(skipped_rows)``.
    - Additions to the contract: ``file``, ``sheet``, ``sheets``, ``encoding``,
      ``header_row``, ``notes`` (decisions taken, e.g. the sheet chosen, derived columns).
    """

    file: str
    sheet: str | None
    sheets: tuple[str, ...]
    encoding: str | None
    header_row: int
    headers: pd.DataFrame
    conversions: pd.DataFrame
    cells: pd.DataFrame
    skipped_rows: pd.DataFrame
    rows_read: int
    rows_loaded: int
    notes: tuple[str, ...] = ()

    @property
    def problems(self) -> pd.DataFrame:
        """Cells that could not be read (``kind == "unparsed"``); they are missing in data."""
        return self.cells[self.cells["kind"] == "unparsed"].reset_index(drop=True)

    @property
    def unmapped(self) -> list[str]:
        """Headers that did not map to a canonical column (not in ``data``)."""
        return self.headers.loc[self.headers["how"] == "unmapped", "header"].tolist()

    def to_frame(self) -> pd.DataFrame:
        """The cell table (``cells``)."""
        return self.cells

    def counts(self) -> dict[str, int]:
        kinds = self.cells["kind"].value_counts()
        return {kind: int(kinds.get(kind, 0)) for kind in CELL_KINDS}

    def summary(self, max_problems: int = 10) -> str:
        """Short plain text for the command line."""
        where = self.file + (f" [{self.sheet}]" if self.sheet else "")
        mapped = int((self.headers["how"].isin(["exact", "alias", "user map"])).sum())
        lines = [
            f"Loaded {where}",
            f"  rows: {self.rows_read} read, {self.rows_loaded} loaded, "
            f"{len(self.skipped_rows)} skipped",
            f"  headers: {len(self.headers)} ({mapped} mapped, {len(self.unmapped)} unmapped"
            + (f": {', '.join(self.unmapped)}" if self.unmapped else "")
            + ")",
            "  cells: "
            + (
                ", ".join(f"{n} {k}" for k, n in self.counts().items() if n)
                or "all read as written"
            ),
        ]
        lines += [f"  note: {n}" for n in self.notes]
        problems = self.problems
        for p in problems.head(max_problems).itertuples():
            lines.append(f"  problem: row {p.row}, {p.column}: {p.value!r} ({p.detail})")
        if len(problems) > max_problems:
            lines.append(f"  ... and {len(problems) - max_problems} more problems")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in self.counts().items() if n) or "none"
        head = (
            f"<p><b>Load report</b> {html.escape(self.file)}"
            f"{' [' + html.escape(self.sheet) + ']' if self.sheet else ''}: "
            f"{self.rows_read} rows read, {self.rows_loaded} loaded, "
            f"{len(self.skipped_rows)} skipped; {len(self.unmapped)} unmapped headers; "
            f"cells: {html.escape(counts)}</p>"
        )
        if len(self.problems):
            head += self.problems.head(10).to_html(index=False)
        return head


@dataclass(frozen=True)
class ScreeningData:
    """The canonical frame (``data``), censor marks (``censored``) and the ``report``.

    ``unreadable``: bool frame (columns with any), True where a cell held something that
    could not be read or was impossible (listed in the report as unparsed / implausible);
    such cells are missing in ``data`` and unknown for every criterion using them.
    """

    data: pd.DataFrame
    censored: pd.DataFrame
    report: LoadReport
    source: str
    sheet: str | None
    unreadable: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.data

    def __len__(self) -> int:
        return len(self.data)

    def summary(self) -> str:
        return self.report.summary()

    def _repr_html_(self) -> str:
        return (
            f"<p><b>ScreeningData</b>: {len(self.data)} patients, "
            f"{self.data.shape[1]} columns</p>" + self.report._repr_html_()
        )
