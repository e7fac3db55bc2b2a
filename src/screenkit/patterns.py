"""The pattern histogram: the sufficient statistic of a screening evaluation.

Each patient's evaluation is summarised by two sets: the criteria it fails and the criteria
that are unknown. :class:`PatternCounts` counts the distinct (fail set, unknown set, site,
screening month) combinations, packing the sets into 64-bit words and grouping them by
hashing (``pd.factorize``). Every figure of a :class:`~screenkit.funnel.Funnel` follows from
these counts without touching patient rows again, and counts from several partitions of a
log simply add up.

>>> import numpy as np, pandas as pd
>>> fails = np.array([[True, False], [True, False], [False, False]])
>>> unknown = np.array([[False, False], [False, False], [False, True]])
>>> keys = pd.DataFrame({"site_id": ["A", "A", "B"]})
>>> p = PatternCounts.from_matrices(fails, unknown, keys, criteria=["C1", "C2"])
>>> p.to_frame()
  site_id fails unknown  patients
0       A    C1                 2
1       B            C2         1
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from screenkit import bits
from screenkit.errors import ScreenkitError
from screenkit.groups import NO_DATE, NO_SITE
from screenkit.rowindex import RowIndex

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation

__all__ = ["NO_DATE", "NO_SITE", "Collapsed", "PatternCounts"]


@dataclass(frozen=True, eq=False)
class Collapsed:
    """The core patterns with their patient counts summed over groups, bit-packed.

    ``weights``: patients per core pattern (float); ``fail_words`` / ``unknown_words``:
    the patterns' sets (:mod:`screenkit.bits`); ``fails_total`` / ``unknown_total``:
    patients failing / unknown on each criterion (they do not depend on order or
    switches); ``set_words`` / ``set_weights``: the distinct fail sets and their patients
    (all a sequential attrition or an attribution needs); ``set_cells``: the sets' bytes
    laid out byte-major, ``256 * b + value`` of byte ``b`` (criterion ``i`` is bit
    ``i % 8`` of byte ``i // 8``), so one gather or one ``bincount`` over all bytes at once
    answers per-criterion questions through 256-entry tables; ``memo``: the funnel's
    figures per set of active criteria, computed once (owned by this view).
    """

    weights: np.ndarray
    fail_words: np.ndarray
    unknown_words: np.ndarray
    fails_total: np.ndarray
    unknown_total: np.ndarray
    set_words: np.ndarray  # the distinct fail sets (order of first appearance)
    set_weights: np.ndarray  # patients per distinct fail set
    set_cells: np.ndarray  # (bytes, sets) intp: 256 * byte + the byte's value
    set_of: np.ndarray  # per core pattern, its fail set
    screened: int = 0
    # a view moved from another (a what-if's): that view, the fail sets whose patients
    # changed and by how many, so figures summed over sets can follow from the base's
    origin: tuple[Collapsed, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    memo: dict = field(default_factory=dict, repr=False)  # funnel figures per switch set

    @classmethod
    def of(cls, weights, fail_words, unknown_words, k: int) -> Collapsed:
        """Collapse core patterns (``weights`` patients each) over their unknown sets."""
        set_id = bits.dense_ids([fail_words[:, j] for j in range(fail_words.shape[1])])
        n_sets = int(set_id.max()) + 1 if len(set_id) else 0
        set_words = fail_words[bits.first_index(set_id, n_sets)]
        return cls(
            weights=weights,
            fail_words=fail_words,
            unknown_words=unknown_words,
            fails_total=bits.weighted_sums(bits.as_bytes(fail_words), weights, k),
            unknown_total=bits.weighted_sums(bits.as_bytes(unknown_words), weights, k),
            set_words=set_words,
            set_weights=np.bincount(set_id, weights=weights, minlength=n_sets),
            set_cells=cls.cells(set_words, k),
            set_of=set_id,
            screened=round(float(weights.sum())),
        )

    @staticmethod
    def cells(set_words: np.ndarray, k: int) -> np.ndarray:
        """``set_cells`` of the fail sets ``set_words`` over ``k`` criteria."""
        n_bytes = -(-k // 8)
        set_bytes = bits.as_bytes(set_words)[:, :n_bytes].T.astype(np.intp)
        return set_bytes + 256 * np.arange(n_bytes, dtype=np.intp)[:, None]

    @cached_property
    def set_index(self) -> RowIndex:
        """The fail sets by their words (to place the sets of a what-if's new patterns)."""
        return RowIndex(self.set_words)


@dataclass(frozen=True, eq=False)
class PatternCounts:
    """Counts of distinct (fail set, unknown set, group) patterns.

    Two levels: the **core** patterns are the distinct (fail set, unknown set) pairs;
    each histogram row is a core pattern within one group (site, month) with its count.

    Attributes
    ----------
    criteria : criterion IDs, protocol order (the columns of the pattern matrices).
    labels, kinds : criterion labels and ``inclusion`` / ``exclusion``.
    core_fails, core_unknown : bool arrays, core patterns x criteria.
    pattern : int array, per histogram row, its core pattern (row of ``core_fails``).
    counts : int array, patients per histogram row.
    groups : DataFrame, one row per histogram row, the grouping columns (``site_id``,
        ``screening_month``; missing values read ``(no site)`` / ``(no date)``).
    """

    criteria: tuple[str, ...]
    labels: tuple[str, ...]
    kinds: tuple[str, ...]
    core_fails: np.ndarray
    core_unknown: np.ndarray
    pattern: np.ndarray
    counts: np.ndarray
    groups: pd.DataFrame
    protocol_id: str = ""
    # bookkeeping of a histogram counted from an evaluation, so that a what-if copy of
    # that evaluation is counted from the patients who moved: per patient its row, per
    # row its group id, the group table, and the core patterns bit-packed (the first two
    # without a class-level default, so that a histogram built later can defer them)
    _row_of: np.ndarray | None = field(default_factory=lambda: None, repr=False)
    _row_group: np.ndarray | None = field(default_factory=lambda: None, repr=False)
    _group_table: pd.DataFrame | None = field(default=None, repr=False)
    _core_words: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def from_evaluation(
        cls, evaluation: Evaluation, by: Sequence[str] = ("site_id", "screening_month")
    ) -> PatternCounts:
        """Count the evaluation's patterns from its bit-packed sets and group codes.

        Counted once per evaluation (and grouping); an evaluation made from another one
        whose histogram is known (``with_parameters``, ``without_criteria``) is counted
        from the patients whose sets changed.
        """
        by = tuple(by)
        known = _COUNTED.setdefault(evaluation, {})
        if by in known:
            return known[by]
        base = evaluation.base
        result = None
        if base is not None and by in _COUNTED.get(base, {}):
            result = _moved(_COUNTED[base][by], base, evaluation)
        if result is None:
            protocol = evaluation.protocol
            group_id, group_table = evaluation.group_codes(by)
            result = cls._from_words(
                evaluation.fail_words,
                evaluation.unknown_words,
                group_id,
                group_table,
                criteria=tuple(protocol.ids),
                labels=tuple(c.label for c in protocol.criteria),
                kinds=tuple(c.kind for c in protocol.criteria),
                protocol_id=protocol.id,
            )
        known[by] = result
        return result

    @classmethod
    def later(cls, rows: Callable[[], dict], *, collapsed: Collapsed, **known) -> PatternCounts:
        """A histogram whose funnel view (``collapsed``) and ``known`` fields are given and
        whose rows (``core_fails``, ``core_unknown``, ``pattern``, ``counts``, ``groups``,
        ``_row_of``, ``_row_group``: what ``rows()`` returns) are built on first read.
        A what-if's histogram (:mod:`screenkit.patterns_moved`) is made this way, so a
        funnel of it never waits for its rows by site and month."""
        counts = object.__new__(cls)
        for name, value in {**known, "collapsed": collapsed, "_rows_later": rows}.items():
            object.__setattr__(counts, name, value)
        return counts

    def __getattr__(self, name: str) -> Any:
        """The deferred rows of a histogram made by :meth:`later`, built on first read."""
        rows = self.__dict__.pop("_rows_later", None)
        if rows is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        for key, value in rows().items():
            object.__setattr__(self, key, value)
        return getattr(self, name)

    def __getstate__(self) -> dict:
        """Pickled with its rows built (the deferred builder is a closure)."""
        if "_rows_later" in self.__dict__:
            self.__getattr__("counts")
        return self.__dict__

    @classmethod
    def from_matrices(
        cls,
        fails: np.ndarray,
        unknown: np.ndarray,
        keys: pd.DataFrame,
        *,
        criteria: Sequence[str],
        labels: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
        protocol_id: str = "",
    ) -> PatternCounts:
        """Count distinct rows of (fails, unknown, keys); one row per patient in.

        ``keys`` holds one column per grouping variable, one row per patient (any
        values; they are factorized, so a missing value is a group of its own).
        """
        group_id, group_table = _group_codes(keys)
        return cls._from_words(
            bits.pack_rows(np.asarray(fails, bool)),
            bits.pack_rows(np.asarray(unknown, bool)),
            group_id,
            group_table,
            criteria=criteria,
            labels=labels,
            kinds=kinds,
            protocol_id=protocol_id,
        )

    @classmethod
    def _from_words(
        cls,
        fail_words,
        unknown_words,
        group_id,
        group_table,
        *,
        criteria,
        labels,
        kinds,
        protocol_id,
    ) -> PatternCounts:
        n, k = len(fail_words), len(criteria)
        columns = [fail_words[:, j] for j in range(fail_words.shape[1])]
        columns += [unknown_words[:, j] for j in range(unknown_words.shape[1])]
        core_id = bits.dense_ids(columns)
        n_groups = max(len(group_table), 1)
        row_id, _ = pd.factorize(core_id * n_groups + group_id)
        row_id = row_id.astype(np.int64)
        n_rows = int(row_id.max()) + 1 if n else 0
        counts = np.bincount(row_id, minlength=n_rows).astype(np.int64)
        first_row = bits.first_index(row_id, n_rows)
        n_core = int(core_id.max()) + 1 if n else 0
        first_core = bits.first_index(core_id, n_core)
        row_group = group_id[first_row]
        core_words = (fail_words[first_core], unknown_words[first_core])
        return cls(
            criteria=tuple(criteria),
            labels=tuple(labels or criteria),
            kinds=tuple(kinds or ["inclusion"] * k),
            core_fails=bits.unpack(core_words[0], k),
            core_unknown=bits.unpack(core_words[1], k),
            pattern=core_id[first_row],
            counts=counts,
            groups=_take_groups(group_table, row_group),
            protocol_id=protocol_id,
            _row_of=row_id,
            _row_group=row_group,
            _group_table=group_table,
            _core_words=core_words,
        )

    @cached_property
    def _core_index(self) -> RowIndex:
        """The core patterns by their fail and unknown words (to place moved patients)."""
        return RowIndex(np.concatenate(self._core_words, axis=1))

    @cached_property
    def _row_index(self) -> pd.Index:
        """Histogram rows by their (core pattern, group) key."""
        n_groups = max(len(self._group_table), 1) if self._group_table is not None else 1
        row_group = self._row_group if self._row_group is not None else 0
        return pd.Index(self.pattern * n_groups + row_group)

    # ------------------------------------------------------------ views
    @property
    def fails(self) -> np.ndarray:
        """Bool array, histogram rows x criteria: the failed criteria of each row."""
        return self.core_fails[self.pattern]

    @property
    def unknown(self) -> np.ndarray:
        """Bool array, histogram rows x criteria: the unknown criteria of each row."""
        return self.core_unknown[self.pattern]

    @property
    def screened(self) -> int:
        return int(self.counts.sum())

    @cached_property
    def _fails_f(self) -> np.ndarray:
        return self.core_fails.astype(float)

    def core_counts(self) -> np.ndarray:
        """Patients per core pattern (summed over groups), as floats for fast products."""
        return self.collapsed.weights

    @cached_property
    def collapsed(self) -> Collapsed:
        """The histogram summed over groups: what a funnel view needs, computed once."""
        weights = np.bincount(self.pattern, weights=self.counts, minlength=len(self.core_fails))
        if self._core_words is not None:
            fail_words, unknown_words = self._core_words
        else:
            fail_words = bits.pack_rows(self.core_fails)
            unknown_words = bits.pack_rows(self.core_unknown)
        return Collapsed.of(weights, fail_words, unknown_words, len(self.criteria))

    # ------------------------------------------------------------ subsets
    def rebuilt(self, **fields: Any) -> PatternCounts:
        """A copy with other histogram fields (``core_fails``, ``core_unknown``,
        ``pattern``, ``counts``, ``groups``) and without the per-patient bookkeeping of
        this histogram, which describes its own patients and rows only (the packed core
        patterns are kept while the core patterns are).

        >>> one = PatternCounts.from_matrices(np.array([[True]]), np.array([[False]]),
        ...                                   pd.DataFrame({"site_id": ["A"]}), criteria=["C1"])
        >>> one.rebuilt(counts=np.array([3])).core_counts().tolist()
        [3.0]
        """
        same_core = "core_fails" not in fields and "core_unknown" not in fields
        return replace(
            self,
            _row_of=None,
            _row_group=None,
            _group_table=None,
            _core_words=self._core_words if same_core else None,
            **fields,
        )

    def where(self, mask: np.ndarray) -> PatternCounts:
        """The histogram rows where ``mask`` (one bool per row) holds."""
        mask = np.asarray(mask, bool)
        return self.rebuilt(
            pattern=self.pattern[mask],
            counts=self.counts[mask],
            groups=self.groups[mask].reset_index(drop=True),
        )

    def filter(self, **values: Iterable[Any] | None) -> PatternCounts:
        """Keep rows whose group columns take one of the given values.

        ``counts.filter(site_id=["S01", "S02"], screening_month=None)`` (``None`` = all).
        """
        mask = np.ones(len(self.counts), bool)
        for name, allowed in values.items():
            if allowed is None:
                continue
            if name not in self.groups.columns:
                raise ScreenkitError(
                    f"Pattern counts are not grouped by {name!r}",
                    accepted=", ".join(self.groups.columns),
                )
            mask &= self.groups[name].isin(list(allowed)).to_numpy()
        return self.where(mask)

    def to_frame(self) -> pd.DataFrame:
        """One row per histogram row: group columns, ``fails`` / ``unknown`` IDs, ``patients``."""
        ids = np.array(self.criteria, dtype=object)
        core_f = np.array(["; ".join(ids[row]) for row in self.core_fails], dtype=object)
        core_u = np.array(["; ".join(ids[row]) for row in self.core_unknown], dtype=object)
        return pd.concat(
            [
                self.groups,
                pd.DataFrame(
                    {
                        "fails": core_f[self.pattern] if len(core_f) else [],
                        "unknown": core_u[self.pattern] if len(core_u) else [],
                        "patients": self.counts,
                    }
                ),
            ],
            axis=1,
        )

    def _repr_html_(self) -> str:
        return (
            f"<p>{len(self.core_fails)} distinct fail/unknown patterns in "
            f"{len(self.counts)} site-month cells over {self.screened} patients</p>"
            + self.to_frame().sort_values("patients", ascending=False).head(20).to_html()
        )


def _group_codes(keys: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Per patient, a dense group id; and the table of group values (one row per id)."""
    n = len(keys)
    if not len(keys.columns):
        return np.zeros(n, dtype=np.int64), pd.DataFrame(index=pd.RangeIndex(1 if n else 0))
    group_id = bits.dense_ids([keys[c].to_numpy(dtype=object) for c in keys.columns])
    n_groups = int(group_id.max()) + 1 if n else 0
    first = bits.first_index(group_id, n_groups)
    table = pd.DataFrame(
        {c: keys[c].to_numpy(dtype=object)[first] for c in keys.columns},
        index=pd.RangeIndex(n_groups),
    )
    return group_id, table


#: histograms already counted, per evaluation (weakly: they go with their evaluation)
_COUNTED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _take_groups(table: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """The group table's rows ``ids`` (column-wise takes, a fresh RangeIndex)."""
    return pd.DataFrame(
        {c: table[c].array.take(ids) for c in table.columns},
        index=pd.RangeIndex(len(ids)),
    )


def _moved(base: PatternCounts, base_eval: Evaluation, evaluation: Evaluation):
    """The histogram of ``evaluation`` moved from its base's (see
    :func:`screenkit.patterns_moved.moved_counts`), or None."""
    from screenkit.patterns_moved import moved_counts

    return moved_counts(base, base_eval, evaluation)
