"""The figures of one funnel view, from the histogram collapsed over groups.

:func:`switched` gives the order-free figures of one set of active criteria (patients
eligible / screen-failed / pending, fails-only, the equal-share attribution), memoized in
the :class:`~screenkit.patterns.Collapsed` view; :func:`first_in_order` the step at which
each distinct fail set leaves a sequential attrition. Both read the fail sets' bytes
through 256-entry tables, so a toggle or a reorder costs a few passes over the distinct
fail sets (tens of thousands at a million patients), never over patients.

>>> import numpy as np
>>> from screenkit.patterns import PatternCounts
>>> import pandas as pd
>>> fails = np.array([[True, False], [True, True], [False, False]])
>>> p = PatternCounts.from_matrices(fails, ~fails & False, pd.DataFrame(index=range(3)),
...                                 criteria=["C1", "C2"])
>>> figures = switched(p.collapsed, np.array([True, True]))
>>> figures.totals.tolist(), figures.attribution.tolist(), figures.fails_only.tolist()
([1, 2, 0], [1.5, 0.5], [1.0, 0.0])
>>> first_in_order(p.collapsed.set_cells, np.array([1, 0])).tolist()   # C2 first
[1, 0, 2]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from screenkit import bits
from screenkit.patterns import Collapsed
from screenkit.status import status_codes

__all__ = ["Switched", "first_in_order", "switched"]


@dataclass(frozen=True)
class Switched:
    """The order-free figures for one set of active criteria."""

    totals: np.ndarray  # patients eligible, screen-failed, pending
    attribution: np.ndarray
    fails_only: np.ndarray


def switched(view: Collapsed, active: np.ndarray) -> Switched:
    """The figures of ``active`` from the collapsed histogram, memoized in the view."""
    key = active.tobytes()
    if key not in view.memo:
        if len(view.memo) >= 64:
            view.memo.clear()
        words = bits.pack_rows(active[None, :])[0]
        status = status_codes(view.fail_words, view.unknown_words, words)
        totals = np.array([view.weights[status == s].sum() for s in range(3)])
        by_count = _fails_by_count(view, words)
        by_count *= active  # a switched-off criterion fails nobody
        view.memo[key] = Switched(
            totals=totals.round().astype(np.int64),
            attribution=_attribution(by_count),
            fails_only=by_count[1] if len(by_count) > 1 else np.zeros(len(active)),
        )
    return view.memo[key]


def _fails_by_count(view: Collapsed, active: np.ndarray) -> np.ndarray:
    """``(m, k)``: row ``m`` holds, per criterion, the patients failing it among those
    failing ``m`` of the ``active`` criteria (words) in all. Counted once with every
    criterion on; switching some off moves only the fail sets holding one of them, so
    those are taken out and counted again. Whole numbers: exact in any order."""
    k = len(view.fails_total)
    counts = _all_on(view)
    touched = np.flatnonzero(bits.any_rows(view.set_words & ~active))
    if not len(touched):
        return counts.copy()
    words, cells, weights = (
        view.set_words[touched],
        view.set_cells[:, touched],
        view.set_weights[touched],
    )
    before = _count_by_fails(cells, weights, bits.count_rows(words), k)
    after = _count_by_fails(cells, weights, bits.count_rows(words & active), k)
    out = counts.copy()
    out[: len(before)] -= before
    out[: len(after)] += after
    return out


def _all_on(view: Collapsed) -> np.ndarray:
    """The ``(m, k)`` counts with every criterion on, memoized in the view; a view moved
    from another whose counts are known follows from them and the sets that changed."""
    if "all on" not in view.memo:
        k = len(view.fails_total)
        base, sets, change = view.origin or (None, None, None)
        if base is not None and "all on" in base.memo:
            n_fail = bits.count_rows(view.set_words[sets])
            moved = _count_by_fails(view.set_cells[:, sets], change, n_fail, k)
            counts = np.zeros((max(len(moved), len(base.memo["all on"])), k))
            counts[: len(moved)] += moved
            counts[: len(base.memo["all on"])] += base.memo["all on"]
        else:
            n_fail = bits.count_rows(view.set_words)
            counts = _count_by_fails(view.set_cells, view.set_weights, n_fail, k)
        view.memo["all on"] = counts
    return view.memo["all on"]


def _count_by_fails(set_cells, weights, n_fail, k: int) -> np.ndarray:
    """``(m, k)`` counts of the fail sets given by their cells (see
    :class:`~screenkit.patterns.Collapsed`), ``weights`` patients each, failing ``n_fail``
    criteria: one ``bincount`` keyed by (m, byte, byte value), then each value's bits.

    >>> cells = np.array([[0b01, 0b11]])               # one byte: {C1}, {C1, C2}
    >>> _count_by_fails(cells, np.array([2.0, 3.0]), np.array([1, 2]), 2).tolist()
    [[0.0, 0.0], [2.0, 0.0], [3.0, 3.0]]
    """
    n_bytes = len(set_cells)
    m = int(n_fail.max()) + 1 if len(n_fail) else 1
    cells = (set_cells + n_fail * (256 * n_bytes)).ravel()
    per_value = np.bincount(cells, weights=np.tile(weights, n_bytes), minlength=m * n_bytes * 256)
    # (n_bytes, 256) x (256, 8) products: below OpenBLAS's threading size (no BLAS limit,
    # screenkit._blas); the same time with one thread or two
    per_bit = per_value.reshape(m, n_bytes, 256) @ bits.BYTE_BITS.astype(float)
    return per_bit.reshape(m, n_bytes * 8)[:, :k]


def _attribution(by_count: np.ndarray) -> np.ndarray:
    """Per criterion, the equal shares of the patients failing it: sum over m of (patients
    failing it and m criteria in all) / m, in increasing m. The per-m counts are whole
    numbers, exact in any order, so a histogram counted another way (a what-if moved from
    its base) gives the same floats, not ones differing in the last bit.

    >>> _attribution(np.array([[0.0, 0.0], [2.0, 0.0], [3.0, 3.0]])).tolist()
    [3.5, 1.5]
    """
    out = np.zeros(by_count.shape[1])
    for m in range(1, len(by_count)):
        out += by_count[m] / m
    return out


#: ``_BYTE_HAS[v, j]``: does the byte value ``v`` hold bit ``j``
_BYTE_HAS = bits.BYTE_BITS.astype(bool)


def first_in_order(set_cells: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Per fail set, the step (position in ``cols``) of its first failing criterion;
    ``len(cols)`` if it fails none of them. A 256-entry table of "earliest step" per byte
    (criteria not in ``cols`` never count), looked up for every set, one byte at a time.

    >>> cells = np.array([[0b101, 0b010, 0]])          # one byte, three sets
    >>> first_in_order(cells, np.array([2, 1])).tolist()
    [0, 1, 2]
    """
    none = len(cols)
    n_bytes = len(set_cells)
    step = np.full(n_bytes * 8, none, dtype=np.min_scalar_type(none))
    step[cols] = np.arange(none)
    table = np.where(_BYTE_HAS, step.reshape(n_bytes, 1, 8), none).min(axis=2).ravel()
    first = np.full(set_cells.shape[1], none, dtype=step.dtype)
    for cells in set_cells:  # byte by byte: a reduction over the first axis is slower
        np.minimum(first, table[cells], out=first)
    return first
