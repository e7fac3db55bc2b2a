"""The codes the loader already has for a text column, handed on with its output.

The loader hashes each column of a CSV into its distinct cells once; a text column of
the canonical frame (``site_id``, ``sex``, ``fail_reasons``) is one ``take`` of its
parsed distinct values by those codes. :class:`LoadedCodes` keeps that column's codes
into its distinct values (as ``pd.factorize`` gives them: order of first appearance,
-1 where missing) beside the exact pyarrow data they describe, so grouping by site,
a rule on a category or the recorded reasons need not hash the column again.

The codes travel one way: :func:`screenkit.normalize.load_screening` puts them on its
:class:`~screenkit.loadreport.ScreeningData` (``codes``), and a reader uses them only
for a column whose pyarrow data is still that very (immutable) array
(:meth:`LoadedCodes.describes`): a column replaced, filtered, reordered or edited in
place holds other pyarrow data and is hashed as before.

>>> import numpy as np, pandas as pd
>>> column = pd.Series(["S2", None, "S1", "S2"], dtype="string[pyarrow]")
>>> loaded = LoadedCodes.from_column(column, np.array([1, -1, 0, 1]))
>>> loaded.codes.tolist(), loaded.categories.tolist(), loaded.describes(column)
([0, -1, 1, 0], ['S2', 'S1'], True)
>>> loaded.describes(column.copy()), loaded.describes(column.iloc[::-1])
(True, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LoadedCodes", "known_codes"]


def _arrow_of(series: pd.Series) -> Any:
    """The pyarrow data of a pyarrow-backed column (None for any other column)."""
    if getattr(series.dtype, "storage", None) != "pyarrow":
        return None
    return series.array.__arrow_array__()  # the array's own ChunkedArray, not a copy


@dataclass(frozen=True, eq=False)
class LoadedCodes:
    """A column's ``codes`` into its distinct values ``categories`` (``pd.factorize``
    order, -1 = missing), valid for the pyarrow data ``arrow`` only."""

    arrow: Any
    codes: np.ndarray
    categories: np.ndarray

    @classmethod
    def from_column(cls, series: pd.Series, raw_codes: np.ndarray) -> LoadedCodes | None:
        """The codes of ``series``, a column built as one ``take`` of its parsed distinct
        cells by ``raw_codes`` (the loader's codes, any order, -1 = blank cell): every row
        of one raw code holds the same value, so only one row per raw code is looked at
        (None when the column is not pyarrow-backed).

        Two raw cells may parse to one value (``" S1"`` and ``"S1"``) or to missing
        (``" "``): the values of the first row of each raw code, taken in order of first
        appearance, are factorized (a few values, not a row each).
        """
        arrow = _arrow_of(series)
        raw_codes = np.asarray(raw_codes, dtype=np.intp)
        n = len(series)
        if arrow is None or len(raw_codes) != n:
            return None
        m = int(raw_codes.max()) + 1 if n else 0
        first = np.full(m + 1, n, dtype=np.intp)  # slot m: the blank cells (code -1)
        first[raw_codes[::-1]] = np.arange(n - 1, -1, -1, dtype=np.intp)
        seen = np.flatnonzero(first < n)
        seen = seen[np.argsort(first[seen], kind="stable")]  # order of first appearance
        value_codes, categories = pd.factorize(series.array.take(first[seen]))
        of_raw = np.full(m + 1, -1, dtype=np.int64)
        of_raw[seen] = value_codes
        codes = of_raw[raw_codes]
        codes.flags.writeable = False  # shared by every reader
        return cls(arrow, codes, np.asarray(categories, dtype=object))

    def describes(self, series: pd.Series) -> bool:
        """Is ``series`` the column these codes were made for (its very pyarrow data)?"""
        return len(series) == len(self.codes) and _arrow_of(series) is self.arrow


def known_codes(
    known: Mapping[str, LoadedCodes] | None, name: str, series: pd.Series
) -> LoadedCodes | None:
    """``known[name]`` when it describes ``series``, else None (hash the column).

    >>> column = pd.Series(["M", "F"], dtype="string[pyarrow]")
    >>> loaded = {"sex": LoadedCodes.from_column(column, np.array([0, 1]))}
    >>> known_codes(loaded, "sex", column).codes.tolist(), known_codes(None, "sex", column)
    ([0, 1], None)
    """
    found = known.get(name) if known else None
    return found if found is not None and found.describes(series) else None
