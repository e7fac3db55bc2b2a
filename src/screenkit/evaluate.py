"""Evaluate a protocol on a screening log: one pass / fail / unknown column per criterion.

>>> import pandas as pd
>>> from screenkit.protocol import get_protocol
>>> frame = pd.DataFrame({"patient_id": ["P1", "P2"],
...                       "spo2": pd.array([96, 95], dtype="Float64")})
>>> result = evaluate(frame, get_protocol("NCT07103668"))
>>> result.statuses["E7"].tolist()          # SpO2 <= 95% excludes
[True, False]
>>> result.status.tolist()                  # other criteria are unknown: no column for them
['pending', 'screen_failed']
>>> evaluate(frame, get_protocol("NCT07103668"), spo2_max_excluded_pct=93).statuses["E7"].tolist()
[True, True]

Statuses are pandas' nullable ``boolean``: True = the patient passes the criterion (for an
exclusion: the excluding condition is absent), False = fails, ``<NA>`` = unknown (an input
is missing). A patient is **eligible** when every criterion passes, **screen_failed** when
any fails, **pending** otherwise. Unknown never becomes pass: overall status is computed
with Kleene logic, not ``DataFrame.all`` (which skips NA by default).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from screenkit import bits
from screenkit.errors import ScreenkitError
from screenkit.evaluate_inputs import check_dtypes, missing_inputs, unwrap
from screenkit.evaluation_view import evaluation_frame, evaluation_html
from screenkit.grammar import Namespace, Num, Truth, to_point
from screenkit.groups import group_codes
from screenkit.protocol import Protocol, get_protocol
from screenkit.status import STATUS_DTYPE, STATUSES, status_codes

__all__ = ["STATUSES", "Evaluation", "evaluate", "status_codes"]

_unwrap = unwrap  # the name screenkit.recorded imports


class Evaluation:
    """The result of :func:`evaluate`: statuses per patient and criterion.

    Attributes
    ----------
    data : the canonical frame that was evaluated (never modified).
    protocol : the protocol, with ``parameters`` the threshold values actually used.
    statuses : DataFrame of ``boolean``, one column per criterion ID in protocol order
        (built on first use from the bit-packed sets).
    fail_words, unknown_words : the same statuses bit-packed, patients x words (uint64;
        criterion ``i`` is bit ``i % 64`` of word ``i // 64``, see :mod:`screenkit.bits`).
    derived : DataFrame of derived values (e.g. ``crcl_cg``), ``<NA>`` where not a single
        known value (an input missing, or e.g. CrCl with unknown sex).
    missing_columns : criterion ID -> canonical columns it needs that the data lack.
    not_applicable : DataFrame of bool, one column per criterion with an ``applies``
        condition: True where the criterion does not concern the patient (E1 for a man)
        and therefore passes whatever its cells hold.
    status_source : ``"computed"`` (the protocol's rules over lab-level columns) or
        ``"recorded"`` (a site's recorded screen-failure reasons, see
        :mod:`screenkit.recorded`: True there means "not recorded as failed", not "passed").
    recorded : for a recorded evaluation, the :class:`~screenkit.recorded.RecordedReasons`
        (IDs not in the protocol, unmatched text, the "reason not recorded" count).
    base, changed, moved : for a what-if copy (:meth:`with_parameters`,
        :meth:`without_criteria`) the evaluation it was made from, the IDs of the criteria
        recomputed and the patients whose fail or unknown set differs from the base's with
        their new sets (:class:`screenkit.whatif.Moved`; ``None``: not known). A what-if's
        ``fail_words`` / ``unknown_words`` are built from its base's on first read (they
        may be given as functions returning them).
    """

    def __init__(
        self,
        data: pd.DataFrame,
        protocol: Protocol,
        parameters: Mapping[str, float],
        statuses: pd.DataFrame | None = None,
        derived: pd.DataFrame | None = None,
        missing_columns: Mapping[str, tuple[str, ...]] | None = None,
        source: Any = None,
        not_applicable: pd.DataFrame | Mapping[str, np.ndarray] | None = None,
        _namespace: Namespace | None = None,
        _fails: np.ndarray | None = None,
        _unknown: np.ndarray | None = None,
        status_source: str = "computed",
        recorded: Any = None,
        *,
        fail_words: np.ndarray | Callable[[], np.ndarray] | None = None,
        unknown_words: np.ndarray | Callable[[], np.ndarray] | None = None,
        base: Evaluation | None = None,
        changed: tuple[str, ...] = (),
        moved: Any = None,
        _groups: dict | None = None,
    ) -> None:
        self.data = data
        self.protocol = protocol
        self.parameters = parameters
        self.derived = derived if derived is not None else pd.DataFrame(index=data.index)
        self.missing_columns = dict(missing_columns or {})
        self.source = source
        self.status_source = status_source
        self.recorded = recorded
        self.base = base
        self.changed = tuple(changed)
        self.moved = moved
        self._namespace = _namespace
        self._statuses = statuses
        if isinstance(not_applicable, pd.DataFrame):
            not_applicable = {c: not_applicable[c].to_numpy(bool) for c in not_applicable}
        self._not_applicable = dict(not_applicable) if not_applicable is not None else None
        if fail_words is None or unknown_words is None:
            if _fails is None or _unknown is None:
                if statuses is None:
                    raise ScreenkitError("An Evaluation needs statuses or bit-packed sets")
                _fails, _unknown = _matrices_of(statuses)
            fail_words, unknown_words = bits.pack_rows(_fails), bits.pack_rows(_unknown)
        self._words = {"fail": fail_words, "unknown": unknown_words}
        # group codes of the data (site, month): the data never change between what-if
        # copies, so the copies share this evaluation's table
        self._groups = _groups if _groups is not None else {}

    # ------------------------------------------------------------ per patient
    @property
    def fail_words(self) -> np.ndarray:
        """The fail sets bit-packed, patients x words (uint64)."""
        return self._built("fail")

    @property
    def unknown_words(self) -> np.ndarray:
        """The unknown sets bit-packed, patients x words (uint64)."""
        return self._built("unknown")

    def _built(self, which: str) -> np.ndarray:
        if callable(self._words[which]):  # a what-if's, built from its base's on first read
            self._words[which] = self._words[which]()
        return self._words[which]

    @property
    def ids(self) -> list[str]:
        """Criterion IDs, protocol order (the bits of the packed sets)."""
        return list(self.protocol.ids)

    @property
    def statuses(self) -> pd.DataFrame:
        """DataFrame of ``boolean`` (True pass, False fail, ``<NA>`` unknown)."""
        if self._statuses is None:
            columns = {}
            for i, cid in enumerate(self.ids):
                fail = bits.column(self.fail_words, i)
                unknown = bits.column(self.unknown_words, i)
                columns[cid] = pd.arrays.BooleanArray(~(fail | unknown), unknown)
            self._statuses = pd.DataFrame(columns, index=self.data.index)
        return self._statuses

    @property
    def not_applicable(self) -> pd.DataFrame | None:
        """Bool DataFrame, criteria with an ``applies`` condition: True = does not apply."""
        if self._not_applicable is None:
            return None
        return pd.DataFrame(self._not_applicable, index=self.data.index, dtype=bool)

    @property
    def status(self) -> pd.Series:
        """Overall status per patient: ``eligible`` / ``screen_failed`` / ``pending``."""
        codes = status_codes(self.fail_words, self.unknown_words)
        cat = pd.Categorical.from_codes(codes, dtype=STATUS_DTYPE)
        return pd.Series(cat, index=self.data.index, name="status")

    def matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """``(fails, unknown)``: bool arrays, patients x criteria in protocol order."""
        k = len(self.protocol.ids)
        return bits.unpack(self.fail_words, k), bits.unpack(self.unknown_words, k)

    def group_codes(
        self, by: tuple[str, ...] = ("site_id", "screening_month")
    ) -> tuple[np.ndarray, pd.DataFrame]:
        """Per patient, a dense group id; and the table of group values (see
        :func:`screenkit.groups.group_codes`), computed once per evaluation family."""
        key = tuple(by)
        if key not in self._groups:
            self._groups[key] = group_codes(self.data, key, getattr(self.source, "codes", None))
        return self._groups[key]

    def counts(self) -> dict[str, int]:
        """Screened and each status; screened = eligible + screen_failed + pending.

        >>> import pandas as pd
        >>> from screenkit.protocol import get_protocol
        >>> frame = pd.DataFrame({"spo2": pd.array([96, 95], dtype="Float64")})
        >>> evaluate(frame, get_protocol("NCT07103668")).counts()
        {'screened': 2, 'eligible': 0, 'screen_failed': 1, 'pending': 1}
        """
        totals = np.bincount(status_codes(self.fail_words, self.unknown_words), minlength=3)
        return {
            "screened": len(self.data),
            **{s: int(totals[i]) for i, s in enumerate(STATUSES)},
        }

    def to_frame(self, *, words: bool = True) -> pd.DataFrame:
        """One row per patient: ``patient_id``, ``site_id``, ``status``, then criteria.

        With ``words=True`` (default) criteria read ``pass`` / ``fail`` / ``unknown``
        (recorded statuses: ``not recorded`` instead of ``pass``, as not listed is not
        passed); otherwise the nullable booleans are returned.
        """
        return evaluation_frame(self, words=words)

    def missing_inputs(self) -> pd.DataFrame:
        """Canonical columns some criterion needs that the data lack, and their cost.

        One row per missing column: ``column``, ``label``, ``criteria`` (IDs needing it)
        and ``patients_unknown`` (patients for whom at least one of those criteria is
        unknown), most costly first.

        >>> import pandas as pd
        >>> from screenkit.protocol import get_protocol
        >>> frame = pd.DataFrame({"spo2": pd.array([96, 95], dtype="Float64")})
        >>> evaluate(frame, get_protocol("CT041-ST-01")).missing_inputs()["column"].tolist()[:2]
        ['adenocarcinoma_confirmed', 'cldn18_pct_2plus']
        """
        return missing_inputs(self)

    # ------------------------------------------------------------ what-if
    def with_parameters(self, **overrides: float) -> Evaluation:
        """Re-evaluate with other thresholds; only criteria using them are recomputed
        (:func:`screenkit.whatif.with_parameters`).

        >>> import pandas as pd
        >>> from screenkit.protocol import get_protocol
        >>> frame = pd.DataFrame({"largest_lesion_cm": pd.array([4.0, 6.5], dtype="Float64")})
        >>> base = evaluate(frame, get_protocol("NCT07103668"))
        >>> base.with_parameters(lesion_max_cm=7).statuses["I5b"].tolist()
        [True, True]
        >>> base.statuses["I5b"].tolist()      # the original is untouched
        [True, False]
        """
        from screenkit import whatif

        return whatif.with_parameters(self, overrides)

    def without_criteria(self, ids: Iterable[str]) -> Evaluation:
        """The same evaluation with the criteria ``ids`` switched off (they pass for all).

        The what-if of ``funnel(..., exclude=ids)`` as an Evaluation, so its ``status``
        (patients failing only those criteria become eligible, patients unknown only on
        them are decided) can feed what needs one status per patient, such as the
        forecast. Unknown IDs raise a :class:`~screenkit.errors.ScreenkitError` that lists
        the protocol's IDs. Change thresholds first (``with_parameters`` re-evaluates the
        criteria using them, switched off or not).

        >>> import pandas as pd
        >>> from screenkit.protocol import get_protocol
        >>> frame = pd.DataFrame({"spo2": pd.array([99, 94], dtype="Float64")})
        >>> base = evaluate(frame, get_protocol("NCT07103668"))
        >>> base.without_criteria(["E7"]).statuses["E7"].tolist()
        [True, True]
        >>> base.statuses["E7"].tolist()      # the original is untouched
        [True, False]
        """
        from screenkit import whatif

        return whatif.without_criteria(self, ids)

    def _derive(self, **changes: Any) -> Evaluation:
        """A what-if copy: this evaluation with ``changes``, made from it (``base``)."""
        from screenkit import whatif

        return whatif.derive(self, **changes)

    # ------------------------------------------------------------ summaries
    def patterns(self, by: tuple[str, ...] = ("site_id", "screening_month")):
        """The pattern histogram: ``PatternCounts.from_evaluation(self, by)``.

        A shortcut only: :mod:`screenkit.patterns` reads the evaluation, never the
        reverse (the import is deferred for that reason).
        """
        from screenkit.patterns import PatternCounts

        return PatternCounts.from_evaluation(self, by=by)

    def funnel(self, order=None, exclude=()):
        """Shortcut for ``funnel(evaluation, order=..., exclude=...)``."""
        from screenkit.funnel import funnel

        return funnel(self, order=order, exclude=exclude)

    def _repr_html_(self) -> str:
        return evaluation_html(self)

    def __repr__(self) -> str:
        c = self.counts()
        return (
            f"Evaluation({self.protocol.id}, {self.status_source}: screened={c['screened']},"
            f" eligible={c['eligible']},"
            f" screen_failed={c['screen_failed']}, pending={c['pending']})"
        )


def evaluate(
    data: Any,
    protocol: Protocol | str = "NCT07103668",
    *,
    include: Iterable[str] | None = None,
    **param_overrides: float,
) -> Evaluation:
    """Evaluate every criterion of ``protocol`` for every patient of ``data``.

    Criteria the protocol marks ``default: off`` (CT041-ST-01's two ASSUMED criteria) are
    left out unless their IDs are in ``include``; ``Evaluation.protocol.criteria_off``
    lists the ones left out, and every report says so.

    >>> frame = pd.DataFrame({"ecog": pd.array([2], dtype="Int64")})
    >>> evaluate(frame, "CT041-ST-01").statuses.columns.tolist()
    ['I1', 'I2', 'I3']
    >>> evaluate(frame, "CT041-ST-01", include=["I4"]).statuses["I4"].tolist()
    [False]

    Parameters
    ----------
    data : a :class:`~screenkit.normalize.ScreeningData` (from ``load_screening``) or a
        canonical DataFrame (canonical column names; numbers, ``boolean`` yes/no columns),
        pandas or ``dask.dataframe`` (see :mod:`screenkit.engine_dask`).
    protocol : a :class:`~screenkit.protocol.Protocol`, a shipped registry ID, or a path.
    **param_overrides : new values for protocol parameters, e.g. ``lesion_max_cm=7``.

    Returns
    -------
    Evaluation; for a ``dask.dataframe`` a
    :class:`~screenkit.engine_dask.PartitionedEvaluation` (pattern counts added up).
    """
    if type(data).__module__.startswith("dask"):  # partitions evaluate on the workers
        from screenkit.engine_dask import evaluate_dask

        return evaluate_dask(data, protocol, include=include, **param_overrides)
    protocol = get_protocol(protocol).switched(include)
    values = protocol.check_parameters(param_overrides)
    frame, censored, unreadable = unwrap(data)
    needed = set()
    for c in protocol.criteria:
        needed |= protocol.columns_needed(c.id)
    check_dtypes(frame, needed)
    ns = Namespace.from_frame(
        frame[[c for c in frame.columns if c in needed]],
        censored,
        values,
        unreadable,
        known=getattr(data, "codes", None),  # the loader's codes of text columns
    )
    derived = {}
    for name, d in protocol.derived.items():
        value = d.rule.evaluate(ns)
        ns.values[name] = value
        mask = d.rule.unreadable(ns)
        if mask is not None:
            ns.unreadable[name] = mask
        if isinstance(value, Num):
            derived[name] = to_point(value)
    n, present = len(frame), set(frame.columns)
    fail_words, unknown_words = bits.Packer(n), bits.Packer(n)
    not_applicable = {}
    for i, c in enumerate(protocol.criteria):  # one criterion at a time, packed at once
        truth, na = criterion_truth(c, ns)
        fail_words.set(i, truth.false)
        unknown_words.set(i, ~(truth.true | truth.false))
        if na is not None:
            not_applicable[c.id] = na
    missing = {
        c.id: tuple(sorted(protocol.columns_needed(c.id) - present)) for c in protocol.criteria
    }
    return Evaluation(
        data=frame,
        protocol=protocol.with_parameters(**values) if param_overrides else protocol,
        parameters=values,
        derived=pd.DataFrame(derived, index=frame.index),
        missing_columns=missing,
        source=data if frame is not data else None,
        not_applicable=not_applicable,
        _namespace=ns,
        fail_words=fail_words.words(len(protocol.criteria)),
        unknown_words=unknown_words.words(len(protocol.criteria)),
    )


def criterion_truth(criterion, ns: Namespace) -> tuple[Truth, np.ndarray | None]:
    """Passes (True) / fails (False) / unknown, whatever the criterion's kind; and, for a
    criterion with an ``applies`` condition, where it is known not to apply (it passes)."""
    truth: Truth = criterion.rule.evaluate(ns)
    if criterion.kind == "exclusion":
        truth = ~truth
    if criterion.applies is None:
        return truth, None
    applies: Truth = criterion.applies.evaluate(ns)
    # not applicable passes; applicable -> the rule; unknown applicability -> Kleene
    return (~applies) | truth, applies.false.copy()


def _matrices_of(statuses: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Patients x criteria: known to fail, unknown (from given nullable-boolean statuses)."""
    n, k = statuses.shape
    if k == 0:
        return np.zeros((n, 0), bool), np.zeros((n, 0), bool)
    fails = np.column_stack(
        [(~statuses[c]).to_numpy(dtype=bool, na_value=False) for c in statuses.columns]
    )
    unknown = np.column_stack([statuses[c].isna().to_numpy() for c in statuses.columns])
    return fails, unknown
