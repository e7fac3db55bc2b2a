"""Recorded mode's statuses from what was recorded (part of :mod:`screenkit.recorded`).

Listed = failed; ``NR`` ("reason not recorded", the bit after the protocol's criteria)
fails for a screen failure with no criterion recorded and is unknown when nothing is
recorded and the outcome is not known (pending). :func:`recorded_statuses` applies
these rules to a patients x criteria matrix (the SDTM evaluation);
:func:`recorded_words` to a log's reasons column read per distinct cell, giving only
the bit-packed sets (:mod:`screenkit.bits`), from which an
:class:`~screenkit.evaluate.Evaluation` builds its statuses on first use.

>>> f, u, nr = recorded_words(np.array([[True], [False]]), np.array([0, 1]),
...     reported=np.array([True, False]), screen_failed=np.array([False, True]),
...     outcome_unknown=np.zeros(2, bool))
>>> nr.tolist()     # the second patient: a screen failure, no criterion recorded
[False, True]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screenkit.bits import pack_rows, set_column

__all__ = ["NOT_RECORDED", "recorded_statuses", "recorded_words"]

#: The pseudo-criterion ID of "screen failure, reason not recorded".
NOT_RECORDED = "NR"


def recorded_statuses(
    ids: list[str],
    index: pd.Index,
    fails: np.ndarray,
    *,
    reported: np.ndarray,
    screen_failed: np.ndarray,
    outcome_unknown: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """``(statuses, fails, unknown, nr_fail)`` of recorded mode, ``NR`` column appended.

    ``fails``: patients x ``ids``, True where a criterion is recorded as failed;
    ``reported``: something was recorded for the patient (a non-blank reasons cell);
    ``screen_failed``: the outcome says screen failure; ``outcome_unknown``: the outcome
    is not known. ``NR`` fails for a screen failure (recorded or by outcome) with no
    criterion recorded, and is unknown when nothing is recorded and the outcome is not
    known (pending). Used by the SDTM evaluation
    (:func:`screenkit.sdtm.evaluation.evaluate_sdtm`); a log's reasons column, read per
    distinct cell, takes :func:`recorded_words` instead.

    >>> st, f, u, nr = recorded_statuses(
    ...     ["E1"], pd.RangeIndex(3), np.array([[True], [False], [False]]),
    ...     reported=np.array([True, True, False]), screen_failed=np.zeros(3, bool),
    ...     outcome_unknown=np.array([False, False, True]))
    >>> st["E1"].tolist(), st["NR"].tolist()
    ([False, True, True], [True, False, <NA>])
    >>> f.tolist(), u[:, 1].tolist()   # the last column: NR
    ([[True, False], [False, True], [False, False]], [False, False, True])
    """
    n, k = fails.shape
    nr_fail, nr_unknown = _not_recorded(fails.any(axis=1), reported, screen_failed, outcome_unknown)
    # each criterion's passes contiguous (one pass over the matrix, not a strided
    # gather per criterion), wrapped as boolean columns without another copy
    passes = np.logical_not(fails.T, order="C")
    statuses = pd.DataFrame(
        {cid: pd.arrays.BooleanArray(passes[j], np.zeros(n, bool)) for j, cid in enumerate(ids)},
        index=index,
        copy=False,
    )
    nr = pd.array(~nr_fail, dtype="boolean")
    nr[nr_unknown] = pd.NA
    statuses[NOT_RECORDED] = nr
    unknown = np.zeros((n, k + 1), bool)
    unknown[:, k] = nr_unknown
    return statuses, np.column_stack([fails, nr_fail]), unknown, nr_fail


def recorded_words(
    cell_fails: np.ndarray,
    codes: np.ndarray,
    *,
    reported: np.ndarray,
    screen_failed: np.ndarray,
    outcome_unknown: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fail_words, unknown_words, nr_fail)`` of recorded mode, bit-packed
    (:mod:`screenkit.bits`), ``NR`` the bit after the criteria; the rules of
    :func:`recorded_statuses`.

    ``cell_fails``: distinct reasons cells x criteria, True where the cell lists the
    criterion; patient ``i`` has the cell ``codes[i]``. The cell table is packed once and
    gathered by patient, the ``NR`` bit set per patient: no patients x criteria matrix,
    and no status frame (an :class:`~screenkit.evaluate.Evaluation` builds its
    ``statuses`` from these sets on first use).

    >>> f, u, nr = recorded_words(
    ...     np.array([[True], [False]]), np.array([0, 1, 1]),
    ...     reported=np.array([True, True, False]), screen_failed=np.zeros(3, bool),
    ...     outcome_unknown=np.array([False, False, True]))
    >>> f.ravel().tolist(), u.ravel().tolist(), nr.tolist()   # bit 0: E1, bit 1: NR
    ([1, 2, 0], [0, 0, 2], [False, True, False])
    """
    k = cell_fails.shape[1]
    nr_fail, nr_unknown = _not_recorded(
        cell_fails.any(axis=1)[codes], reported, screen_failed, outcome_unknown
    )
    fail_words = pack_rows(np.pad(cell_fails, ((0, 0), (0, 1))))[codes]
    unknown_words = np.zeros_like(fail_words)
    set_column(fail_words, k, nr_fail)
    set_column(unknown_words, k, nr_unknown)
    return fail_words, unknown_words, nr_fail


def _not_recorded(
    any_listed: np.ndarray,
    reported: np.ndarray,
    screen_failed: np.ndarray,
    outcome_unknown: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``NR``'s rule, per patient ``(fails, unknown)``: it fails for a screen failure
    (something recorded, or the outcome says so) with no criterion listed, and is unknown
    when nothing is recorded and the outcome is not known.

    >>> f, u = _not_recorded(np.array([True, False, False]), np.array([True, True, False]),
    ...     np.zeros(3, bool), np.array([False, False, True]))
    >>> f.tolist(), u.tolist()
    ([False, True, False], [False, False, True])
    """
    none_listed = ~any_listed
    return none_listed & (reported | screen_failed), none_listed & ~reported & outcome_unknown
