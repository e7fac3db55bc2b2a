"""Find rows of bit-packed words among known distinct rows, by hash lookups.

A what-if's moved patients carry fail and unknown words (:mod:`screenkit.bits`); their core
pattern is the known one with the same words, if any. :class:`RowIndex` answers that one
column at a time: each column's values are looked up in a hashed index of the known
values, and each next column's code is paired with the id so far through a hashed index of
the known pairs. No Python per row, and no sorting.

>>> import numpy as np
>>> known = np.array([[5, 1], [5, 2], [7, 1]], dtype=np.uint64)
>>> RowIndex(known).get_indexer(np.array([[7, 1], [5, 2], [7, 2], [9, 1]], dtype=np.uint64))
array([ 2,  1, -1, -1])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["RowIndex"]


class RowIndex:
    """Positions of rows among ``rows`` (distinct, one column per word), ``-1`` if absent."""

    def __init__(self, rows: np.ndarray) -> None:
        self.n_columns = rows.shape[1]
        self._values: list[pd.Index] = []  # per column, its distinct values
        self._pairs: list[pd.Index] = []  # per further column, the (id so far, code) pairs
        ids = np.zeros(len(rows), dtype=np.int64)
        for j in range(self.n_columns):
            codes, uniques = pd.factorize(rows[:, j])
            self._values.append(pd.Index(uniques))
            if j == 0:
                ids = codes.astype(np.int64)
                continue
            ids, pairs = pd.factorize(ids * len(uniques) + codes)
            self._pairs.append(pd.Index(pairs))
        # the rows are distinct, so the last ids number them in order: an id is a position

    def get_indexer(self, rows: np.ndarray) -> np.ndarray:
        """Per row of ``rows``, its position among the known rows, or ``-1``."""
        if not len(rows) or not self.n_columns:
            return np.full(len(rows), -1, dtype=np.int64)
        ids = self._values[0].get_indexer(rows[:, 0]).astype(np.int64)
        for j in range(1, self.n_columns):
            codes = self._values[j].get_indexer(rows[:, j])
            known = (ids >= 0) & (codes >= 0)
            keys = np.where(known, ids * len(self._values[j]) + codes, -1)
            ids = self._pairs[j - 1].get_indexer(keys).astype(np.int64)
        return ids

    def __len__(self) -> int:
        return len(self._pairs[-1]) if self._pairs else len(self._values[0])
