"""The histogram of a what-if, moved from its base's: only the patients whose sets changed.

A what-if evaluation (:mod:`screenkit.whatif`) knows which patients' fail or unknown sets
differ from its base's (``Evaluation.moved``). Their old core patterns are taken out and
their new ones put in, first at the level a funnel reads (the core patterns summed over
groups, :class:`~screenkit.patterns.Collapsed`, updated from the base's), and the rows by
site and month only when something reads them. Counts are whole numbers, so the result is
exactly the histogram a fresh count would give (``tests/test_core_pipeline.py``).

>>> import pandas as pd
>>> from screenkit.evaluate import evaluate
>>> lesions = pd.array([4.0] * 6 + [6.5, 9.0], dtype="Float64")
>>> frame = pd.DataFrame({"largest_lesion_cm": lesions})
>>> base = evaluate(frame, "NCT07103668")
>>> wider = base.with_parameters(lesion_max_cm=7)
>>> moved = moved_counts(base.patterns(), base, wider)
>>> float(moved.collapsed.fails_total[wider.ids.index("I5b")])  # only the 9 cm patient
1.0
>>> int(moved.to_frame()["patients"].sum())                  # rows built when read
8
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from screenkit import bits
from screenkit.patterns import Collapsed, PatternCounts, _take_groups
from screenkit.rowindex import RowIndex

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation

__all__ = ["moved_counts"]


def moved_counts(base: PatternCounts, base_eval: Evaluation, evaluation: Evaluation):
    """The histogram of ``evaluation`` from its base's (``base``, counted from
    ``base_eval``), moving only the patients whose fail or unknown set differs
    (``evaluation.moved`` when made from ``base_eval``, else found by comparing every
    set); None when too many moved for that to pay."""
    if base._row_of is None or base._core_words is None:
        return None
    if evaluation.moved is not None and evaluation.base is base_eval:
        moved = evaluation.moved.patients
        fw, uw = evaluation.moved.fail_words, evaluation.moved.unknown_words
    else:
        fw, uw = evaluation.fail_words, evaluation.unknown_words
        if fw.shape != base_eval.fail_words.shape:
            return None
        changed = (fw ^ base_eval.fail_words) | (uw ^ base_eval.unknown_words)
        moved = np.flatnonzero(bits.any_rows(changed))
        fw, uw = fw[moved], uw[moved]
    if len(moved) > len(base_eval.data) // 4:
        return None
    view = base.collapsed
    old_row = base._row_of[moved]
    old_core = base.pattern[old_row]
    # the moved patients' core patterns: base ones keep their ids, new ones follow
    new_core, fresh = _locate(base._core_index, np.concatenate([fw, uw], axis=1))
    n_all = len(view.weights) + len(fresh)
    delta = np.bincount(new_core, minlength=n_all) - np.bincount(old_core, minlength=n_all)
    weights = np.concatenate([view.weights, np.zeros(len(fresh))]) + delta
    w = fw.shape[1]
    words = (
        np.concatenate([view.fail_words, fresh[:, :w]]),
        np.concatenate([view.unknown_words, fresh[:, w:]]),
    )
    collapsed = _moved_view(view, words, weights, delta, len(base.criteria))

    def rows() -> dict:
        return _moved_rows(base, moved, old_row, new_core, weights > 0, collapsed)

    protocol = evaluation.protocol
    return PatternCounts.later(
        rows,
        criteria=base.criteria,
        labels=tuple(c.label for c in protocol.criteria),
        kinds=base.kinds,
        protocol_id=protocol.id,
        _group_table=base._group_table,
        _core_words=(collapsed.fail_words, collapsed.unknown_words),
        collapsed=collapsed,
    )


def _moved_view(view: Collapsed, words, weights, delta: np.ndarray, k: int) -> Collapsed:
    """The base's collapsed ``view`` with each core pattern's patients changed by
    ``delta`` to ``weights`` (base patterns, then new ones with ``words``); emptied
    patterns dropped, fail sets kept (an empty set weighs nothing in any figure)."""
    all_fw, all_uw = words
    n_base = len(view.weights)
    touched = np.flatnonzero(delta)
    change = delta[touched].astype(float)
    set_of_fresh, new_sets = _locate(view.set_index, all_fw[n_base:])
    set_of = np.concatenate([view.set_of, set_of_fresh])
    set_weights = np.concatenate([view.set_weights, np.zeros(len(new_sets))])
    set_change = np.bincount(set_of[touched], weights=change, minlength=len(set_weights))
    changed_sets = np.flatnonzero(set_change)
    used = weights > 0
    return Collapsed(
        weights=weights[used],
        fail_words=all_fw[used],
        unknown_words=all_uw[used],
        fails_total=view.fails_total
        + bits.weighted_sums(bits.as_bytes(all_fw[touched]), change, k),
        unknown_total=view.unknown_total
        + bits.weighted_sums(bits.as_bytes(all_uw[touched]), change, k),
        set_words=np.concatenate([view.set_words, new_sets]),
        set_weights=set_weights + set_change,
        set_cells=np.concatenate([view.set_cells, Collapsed.cells(new_sets, k)], axis=1),
        set_of=set_of[used],
        screened=view.screened,
        origin=(view, changed_sets, set_change[changed_sets]),
    )


def _moved_rows(base, moved, old_row, new_core, core_used, collapsed) -> dict:
    """The histogram rows (core pattern, group) of a moved histogram: base rows keep
    their ids, new ones follow, rows nobody is left in are dropped."""
    n_rows = len(base.counts)
    n_groups = max(len(base._group_table), 1)
    group = base._row_group[old_row]
    moved_row = base._row_index.get_indexer(new_core * n_groups + group)
    new = moved_row < 0
    new_codes, _ = pd.factorize(new_core[new] * n_groups + group[new])
    moved_row[new] = n_rows + new_codes
    total_rows = n_rows + (int(new_codes.max()) + 1 if len(new_codes) else 0)
    counts = np.bincount(moved_row, minlength=total_rows)
    counts[:n_rows] += base.counts - np.bincount(old_row, minlength=n_rows)
    first_new = bits.first_index(moved_row, total_rows)
    pattern = np.concatenate([base.pattern, new_core[first_new[n_rows:]]])
    row_group = np.concatenate([base._row_group, group[first_new[n_rows:]]])
    keep = counts > 0
    core_map = np.cumsum(core_used) - 1
    row_of = base._row_of.copy()
    row_of[moved] = moved_row
    k = len(base.criteria)
    return {
        "core_fails": bits.unpack(collapsed.fail_words, k),
        "core_unknown": bits.unpack(collapsed.unknown_words, k),
        "pattern": core_map[pattern[keep]],
        "counts": counts[keep].astype(np.int64),
        "groups": _take_groups(base._group_table, row_group[keep]),
        "_row_of": (np.cumsum(keep) - 1)[row_of] if not keep.all() else row_of,
        "_row_group": row_group[keep],
    }


def _locate(index: RowIndex, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of words, its position in ``index`` (the known rows); rows not found
    number on from ``len(index)`` in order of first appearance. Also those new rows.

    >>> known = RowIndex(np.array([[5], [7]], np.uint64))
    >>> found, new = _locate(known, np.array([[7], [9], [5], [9]], np.uint64))
    >>> found.tolist(), new.ravel().tolist()
    ([1, 2, 0, 2], [9])
    """
    if not len(rows):
        return np.zeros(0, np.int64), rows
    found = index.get_indexer(rows)
    new = found < 0
    if not new.any():
        return found, rows[:0]
    codes = bits.dense_ids(list(rows[new].T))
    found[new] = len(index) + codes
    return found, rows[new][bits.first_index(codes, int(codes.max()) + 1)]
