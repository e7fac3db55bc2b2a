"""Parse whole columns: each distinct cell once, the column assembled by one ``take``.

:func:`distinct_cells` hashes a column into its distinct cells (values equal in Python
but of different types kept apart); :func:`parse_series` parses each distinct cell with
:func:`screenkit.values.parse_cell` and spreads the results over the column.

>>> import numpy as np
>>> codes, distinct = distinct_cells(np.array(["7", "7", None, "8"], dtype=object))
>>> codes.tolist(), distinct
([0, 0, -1, 1], ['7', '8'])
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from pandas._libs import lib

from .codedframe import ArrowCells
from .columns import Column
from .values import Parsed, _day_first, parse_cell

# a plain decimal as sites and pandas write lab values (``-12.5``, ``007``): ASCII digits
# only, few enough to be finite; parse_number reads it as float(text), without a note
_PLAIN = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?")

__all__ = ["ParsedColumn", "distinct_cells", "parse_coded", "parse_series"]


def parse_series(
    raw: pd.Series, column: Column, distinct: tuple[np.ndarray, list[Any]] | None = None
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Parse a raw column: ``(values in the column's dtype, censor marks, cell notes)``.

    Notes have columns ``row``, ``value``, ``kind``, ``detail`` (one per non-literal cell).
    Each distinct cell is parsed and converted to the column's dtype once
    (:func:`distinct_cells`; ``distinct`` passes codes already computed for ``raw``, as the
    loader does), and the column is assembled by one ``take``: the cost is one hash pass
    over the column plus one parse per distinct value.

    >>> from screenkit.columns import COLUMNS
    >>> out, _, notes = parse_series(pd.Series([True, 1, 1.0, "1", "no"]),
    ...                              COLUMNS["adenocarcinoma_confirmed"])
    >>> out.tolist(), len(notes)
    ([True, True, True, True, False], 0)
    """
    arr = raw.to_numpy(dtype=object)
    codes, uniques = distinct if distinct is not None else distinct_cells(arr)
    parsed = parse_coded(raw.index, codes, uniques, column, lambda at: arr[at])
    censor = parsed.censor
    if censor is None:
        censor = pd.Series(_missing_text(len(raw)), index=raw.index)
    notes = pd.DataFrame(
        {
            "row": raw.index[parsed.at],
            "value": parsed.written,
            "kind": parsed.kinds.tolist(),
            "detail": parsed.details.tolist(),
        },
        columns=["row", "value", "kind", "detail"],
    )
    return parsed.values, censor, notes


class ParsedColumn(NamedTuple):
    """A column parsed by :func:`parse_coded`: ``values`` (the column's dtype, on the
    index), ``censor`` (``<`` / ``>`` marks as a ``string`` Series, None when no cell is
    censored) and the notes, one per non-literal cell: ``at`` (positions), ``written``
    (the cells as written), and their kinds and details as ``codes`` into ``kind_of`` /
    ``detail_of`` (per distinct cell; :attr:`kinds` / :attr:`details` spell them out)."""

    values: pd.Series
    censor: pd.Series | None
    at: np.ndarray
    written: np.ndarray
    codes: np.ndarray
    kind_of: np.ndarray
    detail_of: np.ndarray

    @property
    def kinds(self) -> np.ndarray:
        """Each note's kind."""
        return self.kind_of[self.codes]

    @property
    def details(self) -> np.ndarray:
        """Each note's detail."""
        return self.detail_of[self.codes]


def parse_coded(
    index: pd.Index,
    codes: np.ndarray,
    uniques: list[Any],
    column: Column,
    cells_at: Callable[[np.ndarray], np.ndarray] | None = None,
) -> ParsedColumn:
    """:func:`parse_series` of a column given only as codes into its distinct cells
    (code -1: missing), on ``index``: no cell is parsed or built, only distinct ones; the
    column is one ``take`` of the parsed distinct values. ``cells_at(positions)``: the
    cells as written at those positions, for the notes (default: the distinct cells).

    >>> from screenkit.columns import COLUMNS
    >>> parsed = parse_coded(pd.Index([2, 3, 4]), np.array([0, 1, 0]), ["9", "ND"],
    ...                      COLUMNS["hb"])
    >>> parsed.values.tolist(), parsed.at.tolist(), parsed.written.tolist(), parsed.kinds
    ([9.0, <NA>, 9.0], [1], ['ND'], array(['not done'], dtype=object))
    >>> parsed.codes.tolist(), parsed.kind_of.tolist()
    ([1], [None, 'not done'])
    """
    codes = np.asarray(codes, dtype=np.intp)
    if column.kind == "date":  # the day-first guess reads only the cells present
        codes, uniques = _only_present(codes, uniques)
    values, kinds, details, censors = _parse_distinct(uniques, column)
    # code -1 (a missing cell) takes the last entry (a take without fill, as numpy's):
    # missing, no note
    if kinds is None and column.dtype == "string":
        # stripped text only (IDs, free text): pyarrow builds the strings from the list
        # in one pass, without pandas' check of each value's type (all are str or None),
        # or has them already (ArrowCells)
        import pyarrow as pa

        if not isinstance(values, pa.Array):
            values = pa.array(values, type=pa.string())
        ended = pa.concat_arrays([values, pa.nulls(1, pa.string())])
        typed = pd.array(ended.cast(pa.large_string()), dtype="string")
    elif column.kind == "date":
        values.append(None)
        typed = pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ns]").array
    else:
        values.append(None)
        typed = pd.Series(values, dtype=object).astype(column.dtype).array
    out = pd.Series(typed.take(codes), index=index, copy=False)  # a new array
    censor = None
    if censors is not None and any(c is not None for c in censors):
        censor_of = pd.array([*censors, None], dtype="string")
        censor = pd.Series(censor_of.take(codes), index=index, copy=False)
    if kinds is None:  # no distinct cell has a note (IDs, free text): no pass over them
        noted = np.zeros(len(uniques) + 1, dtype=bool)
        kind_of = np.full(len(uniques), None, dtype=object)
        detail_of = np.full(len(uniques), None, dtype=object)
    else:
        noted = np.array([bool(kind) for kind in kinds] + [False], dtype=bool)  # by code
        kind_of = np.empty(len(kinds), dtype=object)
        kind_of[:] = kinds
        detail_of = np.empty(len(details), dtype=object)
        detail_of[:] = details
    at = np.flatnonzero(noted[codes]) if _any_present(noted[:-1], codes) else np.array([], np.intp)
    noted_codes = codes[at]
    if cells_at is None:
        cells = np.empty(len(noted_codes), dtype=object)
        if len(noted_codes):  # the noted cells only, not every distinct cell
            written = np.empty(len(uniques), dtype=object)
            written[:] = list(uniques)
            cells = written[noted_codes]
    else:
        cells = cells_at(at)
    return ParsedColumn(out, censor, at, cells, noted_codes, kind_of, detail_of)


def _any_present(noted: np.ndarray, codes: np.ndarray) -> bool:
    """Does any cell hold one of the ``noted`` distinct cells (a mask by code)? Most
    columns note only a cell no patient row holds (the header's, above the rows) or a
    few: each is looked for by a compare, not by spreading the mask over every cell.

    >>> _any_present(np.array([True, False, False]), np.array([1, 2, 1, -1]))
    False
    >>> _any_present(np.array([False, False, True]), np.array([1, 2, 1, -1]))
    True
    """
    which = np.flatnonzero(noted)
    if len(which) > 4:  # many: one gather tells
        return bool(np.append(noted, False)[codes].any())
    return any(bool((codes == code).any()) for code in which.tolist())


def _missing_text(n: int) -> pd.api.extensions.ExtensionArray:
    """``n`` missing values of the ``string`` dtype, without a pass over ``n`` cells
    where pyarrow stores the strings (a null array costs nothing)."""
    if pd.StringDtype().storage == "pyarrow":
        import pyarrow as pa

        return pd.array(pa.nulls(n, pa.large_string()), dtype="string")
    return pd.array([None] * n, dtype="string")


def _parse_distinct(uniques: list[Any], column: Column):
    """:func:`parse_cell` of each distinct cell as four lists: values, note kinds, note
    details, censor marks (None: no cell is censored; kinds and details None: no cell has
    a note). An ID or free-text column of text only (a CSV's patient IDs: one distinct
    value per patient) is just stripped, which is what :func:`parse_cell` does to such a
    cell (blank -> missing, no note)."""
    if column.kind in ("id", "text") and isinstance(uniques, ArrowCells):
        import pyarrow as pa
        import pyarrow.compute as pc

        # blank -> missing, by pyarrow (the blank mask the loader's masks already built)
        blank = pa.array(uniques.blank())
        return pc.if_else(blank, pa.scalar(None, pa.string()), uniques.stripped()), None, None, None
    if column.kind in ("id", "text") and lib.infer_dtype(uniques, skipna=False) == "string":
        return [u.strip() or None for u in uniques], None, None, None
    day_first = _day_first(uniques) if column.kind == "date" else True
    if column.kind == "number":  # a plain decimal (most lab values): what parse_cell gives
        results = [
            Parsed(float(v)) if type(v) is str and _PLAIN.fullmatch(v) else parse_cell(v, column)
            for v in uniques
        ]
    else:
        results = [parse_cell(value, column, day_first) for value in uniques]
    return (
        [r.value for r in results],
        [r.kind for r in results],
        [r.detail for r in results],
        [r.censor for r in results],
    )


def _only_present(codes: np.ndarray, uniques: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Drop distinct values no cell holds (codes computed over a wider column)."""
    seen = np.zeros(len(uniques) + 1, dtype=bool)
    seen[codes] = True  # code -1 marks the last slot, not a distinct value
    present = seen[:-1]
    if present.all():
        return codes, list(uniques)
    new_code = np.cumsum(present) - 1
    kept = [u for u, p in zip(uniques, present, strict=True) if p]
    return np.where(codes >= 0, new_code[np.maximum(codes, 0)], -1), kept


_TYPE_OF = np.frompyfunc(type, 1, 1)


def distinct_cells(cells: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """``(codes, distinct values)`` of an object array: ``cells[i]`` is
    ``distinct[codes[i]]``, and code -1 marks a missing cell (None, NaN).

    Values equal in Python but of different types stay apart (``True``, ``1``, ``1.0``,
    ``"1"``, an Excel error cell :class:`CellError` and the same text typed in), as each
    type reads differently; a plain hash table (``pd.factorize``) would merge them.

    >>> codes, distinct = distinct_cells(np.array([1, True, 1.0, None, 1], dtype=object))
    >>> codes.tolist(), distinct
    ([0, 1, 2, -1, 0], [1, True, 1.0])
    >>> distinct_cells(np.array([pd.Timestamp("2025-01-02"), None], dtype=object))[0].tolist()
    [0, -1]
    """
    cells = np.asarray(cells, dtype=object)
    if lib.infer_dtype(cells, skipna=True) == "string":  # text only
        codes, uniques = pd.factorize(cells)
        return codes, list(uniques)
    types = _TYPE_OF(cells) if len(cells) else np.array([], dtype=object)
    codes = np.full(len(cells), -1, dtype=np.intp)
    distinct: list[Any] = []
    # types by their codes: ``types == kind`` is a scalar False for some classes
    # (pandas.Timestamp), which read every such cell as missing
    type_codes, kinds = pd.factorize(types)
    for i, kind in enumerate(kinds):
        if kind is type(None):
            continue
        at = np.flatnonzero(type_codes == i)
        sub, uniques = pd.factorize(cells[at])
        codes[at] = np.where(sub >= 0, sub + len(distinct), -1)
        distinct.extend(uniques)
    return codes, distinct
