"""A table of cells held column-wise as codes into each column's distinct cells.

The loader hashes every column into its distinct cells once (pyarrow's
``dictionary_encode`` for a CSV, :func:`~screenkit.columnparse.distinct_cells` otherwise)
and everything after it judges distinct cells, not cells (a CSV column whose cells all
differ, the patient IDs, is not hashed: codes 0..n-1 into its cells, a repeated cell
listed again, see :mod:`screenkit.arrowgrid`, its cells held by pyarrow as
:class:`ArrowCells`). :class:`CodedFrame` keeps that
shape: per column ``(codes, distinct cells)`` (code -1: a blank cell, read as None), and
builds a column of Python objects only when one is asked for (``frame[j]``), so a
200,000-row CSV never becomes 20 million Python references unless a caller wants them.
Columns already held as objects (a workbook's cells) are kept and handed out as they are.

>>> import numpy as np, pandas as pd
>>> coded = CodedFrame(
...     pd.Index([3, 5], name="row"),
...     [(np.array([0, 1]), ["007", "008"]), (np.array([0, -1]), ["ND"])],
... )
>>> coded[1].tolist(), coded.at[5, 0], coded.shape
(['ND', None], '008', (2, 2))
>>> coded.drop([3]).to_frame().to_dict("index")
{5: {0: '008', 1: None}}
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["WHITESPACE", "ArrowCells", "CodedFrame"]

#: the characters ``str.strip()`` and ``str.isspace()`` take for whitespace (every one)
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


class ArrowCells(Sequence[str]):
    """A column's cells as pyarrow holds them (a string array without nulls): a sequence
    of ``str`` that becomes Python strings only when iterated (once, then kept), so the
    patient IDs of a CSV (one cell per patient, not hashed) are judged, stripped and
    checked column-wise by pyarrow instead of as 200,000 Python strings.

    >>> import pyarrow as pa
    >>> cells = ArrowCells(pa.array(["007", " ", "008 "]))
    >>> len(cells), cells[2], cells == ["007", " ", "008 "]
    (3, '008 ', True)
    >>> cells.stripped().to_pylist(), cells.blank().tolist()
    (['007', '', '008'], [False, True, False])
    """

    def __init__(self, array: Any) -> None:
        self.array = array
        self._list: list[str] | None = None
        self._stripped: Any = None
        self._blank: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice) or self._list is not None:
            return self.tolist()[i]
        return self.array[int(i)].as_py()

    def __iter__(self) -> Iterator[str]:
        return iter(self.tolist())

    def __eq__(self, other: object) -> bool:
        return self.tolist() == (other.tolist() if isinstance(other, ArrowCells) else other)

    __hash__ = None  # type: ignore[assignment]  # compared by value, like a list

    def __repr__(self) -> str:
        return f"ArrowCells({len(self)} cells)"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.empty(len(self), dtype=object)
        out[:] = self.tolist()
        return out if dtype is None else out.astype(dtype)

    def tolist(self) -> list[str]:
        """The cells as Python strings (built once)."""
        if self._list is None:
            self._list = self.array.to_pylist()
        return self._list

    def utf8(self) -> bytes:
        """Every cell's UTF-8 bytes one after the other (pyarrow's value buffer).

        >>> import pyarrow as pa
        >>> ArrowCells(pa.array(["ab", "é", "c"]).slice(1)).utf8()
        b'\\xc3\\xa9c'
        """
        import pyarrow as pa

        array = self.array.cast(pa.string())  # 32-bit offsets, as read
        _, offsets, data = array.buffers()
        if data is None or not len(array):
            return b""
        ends = np.frombuffer(offsets, dtype=np.int32)[array.offset : array.offset + len(array) + 1]
        return data.to_pybytes()[int(ends[0]) : int(ends[-1])]

    def stripped(self) -> Any:
        """The cells as ``str.strip()`` gives them, as a pyarrow array (built once)."""
        if self._stripped is None:
            import pyarrow.compute as pc

            self._stripped = pc.utf8_trim(self.array, characters=WHITESPACE)
        return self._stripped

    def blank(self) -> np.ndarray:
        """Per cell, whether it is empty or whitespace only (``not u or u.isspace()``;
        built once, read-only: the loader's blank masks and the ID parsing share it)."""
        if self._blank is None:
            import pyarrow.compute as pc

            blank = pc.equal(pc.utf8_length(self.stripped()), 0)
            self._blank = blank.to_numpy(zero_copy_only=False)
            self._blank.flags.writeable = False
        return self._blank


def _object_array(values: Sequence[Any], extra: Any = None) -> np.ndarray:
    """``values`` then ``extra`` as a 1-d object array (never broadcast into 2-d)."""
    out = np.empty(len(values) + 1, dtype=object)
    out[:-1] = values.tolist() if isinstance(values, ArrowCells) else values
    out[-1] = extra
    return out


class _At:
    """``coded.at[row, j]``: one cell by row label and column position."""

    def __init__(self, coded: CodedFrame) -> None:
        self._coded = coded

    def __getitem__(self, key: tuple[Any, int]) -> Any:
        row, j = key
        return self._coded.values_at(j, [self._coded.index.get_loc(row)])[0]


class CodedFrame:
    """Cells by column as ``(codes, distinct cells)``, on ``index`` (see the module
    docstring). ``cells[j]``, when given, is column ``j`` as objects already (blank
    cells None); it is handed out instead of being rebuilt from the codes."""

    def __init__(
        self,
        index: pd.Index,
        distinct: Sequence[tuple[np.ndarray, list[Any]] | None],
        cells: Sequence[np.ndarray | None] | None = None,
    ) -> None:
        self.index = index
        self._distinct = list(distinct)
        self._cells: list[np.ndarray | None] = (
            list(cells) if cells is not None else [None] * len(self._distinct)
        )
        self._given = [c is not None for c in self._cells]
        self._series: dict[int, pd.Series] = {}
        self._frame: pd.DataFrame | None = None
        self.at = _At(self)

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, distinct: Sequence[tuple[np.ndarray, list[Any]]] | None = None
    ) -> CodedFrame:
        """A frame of object columns 0..n-1, with its distinct cells (hashed here when
        not given)."""
        cells = [frame[j].to_numpy(dtype=object) for j in frame.columns]
        coded = cls(frame.index, distinct if distinct is not None else [None] * len(cells), cells)
        coded._frame = frame
        return coded

    def __len__(self) -> int:
        return len(self.index)

    def codes(self, j: int) -> tuple[np.ndarray, list[Any]]:
        """Column ``j`` as ``(codes, distinct cells)`` (hashed on first use when the
        column came as objects)."""
        found = self._distinct[j]
        if found is None:
            from .columnparse import distinct_cells

            found = distinct_cells(self.values(j))
            self._distinct[j] = found
        return found

    @property
    def distinct(self) -> tuple[tuple[np.ndarray, list[Any]], ...]:
        """Every column's ``(codes, distinct cells)``."""
        return tuple(self.codes(j) for j in range(len(self._distinct)))

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)``."""
        return len(self.index), len(self._distinct)

    @property
    def columns(self) -> pd.RangeIndex:
        """Column positions 0..n-1."""
        return pd.RangeIndex(len(self._distinct))

    def read_as_objects(self, j: int) -> bool:
        """Did column ``j`` come as objects (a workbook's cells), not as codes only?"""
        return self._given[j]

    def values(self, j: int) -> np.ndarray:
        """Column ``j`` as an object array (built from the codes once, then kept)."""
        cells = self._cells[j]
        if cells is None:
            codes, uniques = self.codes(j)
            cells = _object_array(uniques).take(codes)  # code -1 takes the last: None
            self._cells[j] = cells
        return cells

    def values_at(self, j: int, positions: Any) -> np.ndarray:
        """Cells of column ``j`` at integer ``positions``, without building the column."""
        cells = self._cells[j]
        if cells is not None:
            return cells[np.asarray(positions, dtype=np.intp)]
        codes, uniques = self.codes(j)
        picked = codes[np.asarray(positions, dtype=np.intp)]
        if isinstance(uniques, ArrowCells):  # only the cells asked for become strings
            out = np.full(len(picked), None, dtype=object)
            known = picked >= 0
            out[known] = uniques.array.take(picked[known]).to_pylist()
            return out
        return _object_array(uniques).take(picked)

    def cells(self, j: int, rows: Any) -> pd.Series:
        """Cells of column ``j`` at row labels ``rows``, as ``frame[j].loc[rows]`` gives."""
        at = self.index.get_indexer(pd.Index(rows))
        if (at < 0).any():
            raise KeyError(f"rows not in the table: {list(pd.Index(rows)[at < 0])}")
        return pd.Series(self.values_at(j, at), index=self.index[at], name=j, dtype=object)

    def __getitem__(self, j: int) -> pd.Series:
        """Column ``j`` as an object Series on the index."""
        if j not in self._series:
            values = self.values(j)
            self._series[j] = pd.Series(values, index=self.index, name=j, dtype=object, copy=False)
        return self._series[j]

    def take(self, positions: np.ndarray) -> CodedFrame:
        """The rows at integer ``positions``."""
        kept = zip(self._cells, self._given, strict=True)
        cells = [c[positions] if given else None for c, given in kept]
        distinct = [(d[0][positions], d[1]) if d is not None else None for d in self._distinct]
        return CodedFrame(self.index[positions], distinct, cells)

    def drop(self, rows: Sequence[Any]) -> CodedFrame:
        """Without the rows labelled ``rows``."""
        return self.take(np.flatnonzero(~self.index.isin(list(rows))))

    def to_frame(self) -> pd.DataFrame:
        """Every column as objects in one DataFrame (built once); a table without rows
        has float64 columns, as the row-wise reader gave."""
        if self._frame is None:
            data = {j: self.values(j) for j in range(len(self._distinct))}
            frame = pd.DataFrame(data, index=self.index, dtype=object, copy=False)
            frame.columns = range(len(data))
            if not len(self.index):
                frame = frame.astype("float64")
            self._frame = frame
        return self._frame
