"""The result of loading: :class:`ScreeningData` (canonical frame) and :class:`LoadReport`.

Both are frozen dataclasses holding plain DataFrames; ``to_frame()`` returns the frame,
``_repr_html_`` shows counts and the first problems, ``summary()`` is plain text.
:class:`CellNotes` gathers the report's cell table column by column while loading.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = ["CELL_COLUMNS", "CellNotes", "Coded", "LoadReport", "ScreeningData"]

CELL_COLUMNS = ["sheet", "row", "patient_id", "column", "value", "kind", "detail"]
CELL_KINDS = ("unparsed", "censored", "not done", "implausible", "converted", "parsed")
_NOTE_FIELDS = ("row", "column", "value", "kind", "detail")


class CellNotes:
    """The load report's cell table, gathered column-wise in the order the loader judges
    cells (whole columns of notes at once, or one cell); :meth:`frame` sorts them by row,
    keeping that order within a row.

    >>> notes = CellNotes()
    >>> notes.add([3, 2], "Hb", ["ND", "<5"], "unparsed", ["not done", "censored"])
    >>> notes.append((2, "ALT", "x", "unparsed", "not a number"))
    >>> table = notes.frame(None, pd.Series(["P1", "P2"], index=[2, 3]))
    >>> table[["row", "patient_id", "column", "value"]].values.tolist()
    [[2, 'P1', 'Hb', '<5'], [2, 'P1', 'ALT', 'x'], [3, 'P2', 'Hb', 'ND']]
    """

    def __init__(self) -> None:
        self._parts: list[list[np.ndarray]] = []
        self._pending: list[tuple] = []

    def __len__(self) -> int:
        return sum(len(p[0]) for p in self._parts) + len(self._pending)

    def append(self, cell: tuple) -> None:
        """One cell: ``(row, column, value, kind, detail)``."""
        self._pending.append(cell)

    def add(self, rows: Any, column: str, values: Any, kind: Any, detail: Any) -> None:
        """Cells of one column: ``rows`` and ``values`` (and ``kind`` / ``detail`` when
        not one text for all) of equal length; ``values`` / ``kind`` / ``detail`` may be
        :class:`Coded` (codes into a few distinct texts, as a parsed column's notes are)."""
        self._flush()
        n = len(rows)
        if not n:
            return
        rows = np.asarray(rows)
        part: list[Any] = [rows if rows.dtype.kind in "iu" else rows.astype(object)]
        for field in (column, values, kind, detail):
            if isinstance(field, str):
                part.append(Coded(np.zeros(n, dtype=np.intp), [field]))
            elif isinstance(field, Coded):
                part.append(field)
            else:
                array = np.empty(n, dtype=object)
                array[:] = list(field) if not isinstance(field, np.ndarray) else field
                part.append(array)
        self._parts.append(part)

    def _flush(self) -> None:
        if self._pending:
            columns = list(zip(*self._pending, strict=True))
            self._pending = []
            part = []
            for values in columns:
                array = np.empty(len(values), dtype=object)
                array[:] = values
                part.append(array)
            self._parts.append(part)

    def frame(self, sheet: str | None, ids: pd.Series) -> pd.DataFrame:
        """The cell table (:data:`CELL_COLUMNS`), sorted by row; ``ids``: patient ID by
        row. Column types are inferred from the values, as from a list of records."""
        self._flush()
        if self._parts:
            # the row order is found first, and each field is built in it: codes are
            # reordered, not the texts built from them
            rows = pd.Series(_field([p[0] for p in self._parts])).infer_objects()
            rows = rows.astype("int64").to_numpy()
            order = np.argsort(rows, kind="stable") if (np.diff(rows) < 0).any() else None
            data = {
                name: _field([p[i] for p in self._parts], order)
                for i, name in enumerate(_NOTE_FIELDS)
            }
            table = pd.DataFrame(data, columns=list(_NOTE_FIELDS), copy=False).infer_objects()
        else:
            table = pd.DataFrame([], columns=list(_NOTE_FIELDS))
        table = table.astype({"row": "int64"})
        n = len(table)
        # both string columns by one take each (of the IDs already held as strings), not
        # built from a Python object per note
        table.insert(0, "sheet", pd.array([sheet], dtype="string").take(np.zeros(n, np.intp)))
        at = ids.index.get_indexer(table["row"])
        patient = ids.astype("string").array.take(at, allow_fill=True)
        table.insert(2, "patient_id", patient)
        return table[CELL_COLUMNS]


class Coded(NamedTuple):
    """A column of notes as ``codes`` into ``texts`` (``texts[codes[i]]``)."""

    codes: np.ndarray
    texts: Any

    def objects(self) -> np.ndarray:
        """The notes as an object array."""
        texts = np.empty(len(self.texts), dtype=object)
        texts[:] = list(self.texts)
        return texts[self.codes]


def _field(parts: list[Any], order: np.ndarray | None = None) -> Any:
    """One column of the cell table from its parts, its cells taken in ``order`` (None:
    as they come): the rows as int64 when every part holds integers; a column of texts
    given as codes into distinct texts is built by pyarrow from the codes in order (each
    distinct text encoded once, as the ``str`` dtype pandas would infer), never from one
    Python object per note; anything else as objects.

    >>> _field([Coded(np.array([0, 1]), ["a", "b"]), Coded(np.array([0]), ["c"])],
    ...        np.array([2, 0, 1])).tolist()
    ['c', 'a', 'b']
    """
    if all(isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in parts):
        rows = np.concatenate(parts).astype(np.int64)
        return rows if order is None else rows[order]
    if all(isinstance(p, Coded) for p in parts) and _texts_or_missing(parts):
        import pyarrow as pa

        # one dictionary of every part's texts (a text in two parts listed twice: the
        # strings built are the same), the codes shifted past the parts before
        starts = np.cumsum([0] + [len(p.texts) for p in parts[:-1]])
        codes = np.concatenate([p.codes + start for p, start in zip(parts, starts, strict=True)])
        texts = [t for p in parts for t in p.texts]
        strings = pa.DictionaryArray.from_arrays(
            pa.array(codes if order is None else codes[order], type=pa.int64()),
            pa.array(texts, type=pa.string()),
        ).cast(pa.string())
        return pd.array(strings, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    cells = np.concatenate(
        [p.objects() if isinstance(p, Coded) else p.astype(object, copy=False) for p in parts]
    )
    return cells if order is None else cells[order]


def _texts_or_missing(parts: list[Coded]) -> bool:
    """Whether coded parts hold texts and missing values (None) only, and some cell is a
    text: the column pandas would infer from their objects is then ``str`` (a missing
    value NaN), which pyarrow builds from the codes as well (a column of ``kind`` notes
    with a None among its texts: ~14 ms less on 390,000 notes than inferring it).

    >>> _texts_or_missing([Coded(np.array([0, 1]), ["a", None])])
    True
    >>> _texts_or_missing([Coded(np.array([1]), ["a", None])])  # every cell missing
    False
    """
    kinds = {type(t) for p in parts for t in p.texts}
    if kinds <= {str}:  # texts only (or no notes): as before
        return True
    if kinds != {str, type(None)}:
        return False
    return any(
        np.array([type(t) is str for t in p.texts], dtype=bool)[p.codes].any()
        for p in parts
        if len(p.texts)
    )


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

    ``codes``: text columns of ``data`` as codes into their distinct values, as the
    loader had them (:class:`~screenkit.loadedcodes.LoadedCodes`; each used only while
    the column is the one loaded), so they are not hashed again downstream.
    """

    data: pd.DataFrame
    censored: pd.DataFrame
    report: LoadReport
    source: str
    sheet: str | None
    unreadable: pd.DataFrame | None = None
    codes: Mapping[str, Any] = dataclass_field(default_factory=dict)

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
