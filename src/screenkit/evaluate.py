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

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from screenkit.columns import COLUMNS
from screenkit.errors import InputError, ScreenkitError
from screenkit.grammar import Namespace, Num, Truth, to_boolean, to_point
from screenkit.protocol import Protocol, get_protocol

if TYPE_CHECKING:
    from screenkit.funnel import Funnel
    from screenkit.patterns import PatternCounts

__all__ = ["STATUSES", "Evaluation", "evaluate"]

STATUSES = ("eligible", "screen_failed", "pending")
_STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))


@dataclass(frozen=True, eq=False)
class Evaluation:
    """The result of :func:`evaluate`: statuses per patient and criterion.

    Attributes
    ----------
    data : the canonical frame that was evaluated (never modified).
    protocol : the protocol, with ``parameters`` the threshold values actually used.
    statuses : DataFrame of ``boolean``, one column per criterion ID in protocol order.
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
    """

    data: pd.DataFrame
    protocol: Protocol
    parameters: Mapping[str, float]
    statuses: pd.DataFrame
    derived: pd.DataFrame
    missing_columns: Mapping[str, tuple[str, ...]]
    source: Any = None
    not_applicable: pd.DataFrame | None = None
    _namespace: Namespace | None = field(default=None, repr=False)
    # patients x criteria: known to fail / unknown (protocol order); the statuses as numpy
    _fails: np.ndarray | None = field(default=None, repr=False)
    _unknown: np.ndarray | None = field(default=None, repr=False)
    # group keys of the data (site, month), computed once and shared by what-if copies
    _cache: dict = field(default_factory=dict, repr=False)
    status_source: str = "computed"
    recorded: Any = None

    # ------------------------------------------------------------ per patient
    @property
    def status(self) -> pd.Series:
        """Overall status per patient: ``eligible`` / ``screen_failed`` / ``pending``."""
        fails, unknown = self.matrices()
        codes = np.where(fails.any(axis=1), 1, np.where(unknown.any(axis=1), 2, 0))
        cat = pd.Categorical.from_codes(codes, dtype=_STATUS_DTYPE)
        return pd.Series(cat, index=self.statuses.index, name="status")

    def matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """``(fails, unknown)``: bool arrays, patients x criteria in protocol order."""
        if self._fails is None or self._unknown is None:
            return _fail_matrix(self.statuses), _unknown_matrix(self.statuses)
        return self._fails, self._unknown

    def counts(self) -> dict[str, int]:
        """Screened and each status; screened = eligible + screen_failed + pending.

        >>> import pandas as pd
        >>> from screenkit.protocol import get_protocol
        >>> frame = pd.DataFrame({"spo2": pd.array([96, 95], dtype="Float64")})
        >>> evaluate(frame, get_protocol("NCT07103668")).counts()
        {'screened': 2, 'eligible': 0, 'screen_failed': 1, 'pending': 1}
        """
        vc = self.status.value_counts()
        return {"screened": len(self.statuses), **{s: int(vc.get(s, 0)) for s in STATUSES}}

    def to_frame(self, *, words: bool = True) -> pd.DataFrame:
        """One row per patient: ``patient_id``, ``site_id``, ``status``, then criteria.

        With ``words=True`` (default) criteria read ``pass`` / ``fail`` / ``unknown``
        (recorded statuses: ``not recorded`` instead of ``pass``, as not listed is not
        passed); otherwise the nullable booleans are returned.
        """
        out = pd.DataFrame(index=self.statuses.index)
        for name in ("patient_id", "site_id"):
            if name in self.data.columns:
                out[name] = self.data[name]
        out["status"] = self.status.astype("string")
        if words:
            passed = "not recorded" if self.status_source == "recorded" else "pass"
            labelled = {cid: _words(self.statuses[cid], passed) for cid in self.statuses.columns}
            out = pd.concat([out, pd.DataFrame(labelled, index=out.index)], axis=1)
        else:
            out = pd.concat([out, self.statuses], axis=1)
        return out

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
        needers: dict[str, list[str]] = {}
        covered = _covered_columns(self.protocol, set(self.data.columns))
        for cid, cols in self.missing_columns.items():
            for col in cols:
                if col not in covered:
                    needers.setdefault(col, []).append(cid)
        _, unknown = self.matrices()
        position = {cid: i for i, cid in enumerate(self.statuses.columns)}
        rows = []
        for col, ids in needers.items():
            count = int(unknown[:, [position[c] for c in ids]].any(axis=1).sum())
            label = COLUMNS[col].label if col in COLUMNS else col
            rows.append(
                {
                    "column": col,
                    "label": label,
                    "criteria": ", ".join(ids),
                    "patients_unknown": count,
                }
            )
        out = pd.DataFrame(rows, columns=["column", "label", "criteria", "patients_unknown"])
        return out.sort_values(
            ["patients_unknown", "column"], ascending=[False, True], kind="stable"
        ).reset_index(drop=True)

    # ------------------------------------------------------------ what-if
    def with_parameters(self, **overrides: float) -> Evaluation:
        """Re-evaluate with other thresholds; only criteria using them are recomputed.

        >>> import pandas as pd
        >>> from screenkit.protocol import get_protocol
        >>> frame = pd.DataFrame({"largest_lesion_cm": pd.array([4.0, 6.5], dtype="Float64")})
        >>> base = evaluate(frame, get_protocol("NCT07103668"))
        >>> base.with_parameters(lesion_max_cm=7).statuses["I5b"].tolist()
        [True, True]
        >>> base.statuses["I5b"].tolist()      # the original is untouched
        [True, False]
        """
        if self.status_source == "recorded" and overrides:
            raise ScreenkitError(
                "Recorded screen-failure reasons do not depend on thresholds: a parameter "
                "change cannot re-evaluate them",
                value=", ".join(f"{k}={v}" for k, v in overrides.items()),
                hint="evaluate the lab-level columns (computed mode) to try other thresholds",
            )
        values = self.protocol.check_parameters({**self.parameters, **overrides})
        changed = {n for n, v in values.items() if v != self.parameters.get(n)}
        if not changed:
            return self
        protocol = self.protocol.with_parameters(**values)
        ns = self._namespace
        if ns is None:  # pragma: no cover - always set by evaluate()
            return evaluate(self.data, protocol)
        ns = Namespace(ns.n, dict(ns.values), set(ns.absent), values, dict(ns.unreadable))
        stale_derived: set[str] = set()
        for name, d in protocol.derived.items():
            if d.rule.parameters & changed or d.rule.derived & stale_derived:
                stale_derived.add(name)
                ns.values[name] = d.rule.evaluate(ns)
        statuses = self.statuses.copy()
        fails, unknown = (m.copy() for m in self.matrices())
        not_applicable = None if self.not_applicable is None else self.not_applicable.copy()
        for i, c in enumerate(protocol.criteria):
            if c.parameters & changed or c.derived & stale_derived:
                truth, na = _criterion_truth(c, ns)
                if na is not None and not_applicable is not None:
                    not_applicable[c.id] = na
                statuses[c.id] = to_boolean(truth)
                fails[:, i] = truth.false
                unknown[:, i] = ~(truth.true | truth.false)
        derived = self.derived.copy()
        for name in stale_derived:
            value = ns.values[name]
            if isinstance(value, Num):
                derived[name] = to_point(value)
        return replace(
            self,
            protocol=protocol,
            parameters=values,
            statuses=statuses,
            derived=derived,
            not_applicable=not_applicable,
            _namespace=ns,
            _fails=fails,
            _unknown=unknown,
        )

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
        ids = list(dict.fromkeys(ids))
        position = {cid: i for i, cid in enumerate(self.statuses.columns)}
        unknown_ids = [cid for cid in ids if cid not in position]
        if unknown_ids:
            raise ScreenkitError(
                f"Unknown criterion {unknown_ids[0]!r} to switch off",
                accepted=", ".join(position),
            )
        if not ids:
            return self
        statuses = self.statuses.copy()
        fails, unknown = (m.copy() for m in self.matrices())
        for cid in ids:
            statuses[cid] = pd.array([True] * len(statuses), dtype="boolean")
            fails[:, position[cid]] = False
            unknown[:, position[cid]] = False
        return replace(self, statuses=statuses, _fails=fails, _unknown=unknown)

    # ------------------------------------------------------------ summaries
    def patterns(self, by: tuple[str, ...] = ("site_id", "screening_month")) -> PatternCounts:
        """The pattern histogram (see :class:`screenkit.funnel.PatternCounts`)."""
        from screenkit.patterns import PatternCounts

        return PatternCounts.from_evaluation(self, by=by)

    def funnel(self, order=None, exclude=()) -> Funnel:
        """Shortcut for ``funnel(evaluation, order=..., exclude=...)``."""
        from screenkit.funnel import funnel

        return funnel(self, order=order, exclude=exclude)

    def _repr_html_(self) -> str:
        c = self.counts()
        head = (
            f"<p><b>{self.protocol.id}</b> ({self.status_source}): {c['screened']} screened, "
            f"{c['eligible']} eligible, {c['screen_failed']} screen-failed, "
            f"{c['pending']} pending</p>"
        )
        missing = {k: v for k, v in self.missing_columns.items() if v}
        if missing:
            items = "".join(
                f"<li>{cid}: {', '.join(cols)}</li>" for cid, cols in list(missing.items())[:10]
            )
            more = f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""
            head += f"<p>Criteria with columns missing from the data{more}:</p><ul>{items}</ul>"
        return head + self.to_frame().head(20).to_html()

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
):
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
    frame, censored, unreadable = _unwrap(data)
    needed = set()
    for c in protocol.criteria:
        needed |= protocol.columns_needed(c.id)
    _check_dtypes(frame, needed)
    ns = Namespace.from_frame(
        frame[[c for c in frame.columns if c in needed]], censored, values, unreadable
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
    evaluated = [_criterion_truth(c, ns) for c in protocol.criteria]
    truths = [t for t, _ in evaluated]
    not_applicable = pd.DataFrame(
        {
            c.id: na
            for c, (_, na) in zip(protocol.criteria, evaluated, strict=True)
            if na is not None
        },
        index=frame.index,
        dtype=bool,
    )
    statuses = pd.DataFrame(
        {c.id: to_boolean(t) for c, t in zip(protocol.criteria, truths, strict=True)},
        index=frame.index,
    )
    n = len(frame)
    fails = np.column_stack([t.false for t in truths]) if truths else np.zeros((n, 0), bool)
    unknown = (
        np.column_stack([~(t.true | t.false) for t in truths]) if truths else np.zeros((n, 0), bool)
    )
    derived_frame = pd.DataFrame(derived, index=frame.index)
    missing = {
        c.id: tuple(sorted(protocol.columns_needed(c.id) - set(frame.columns)))
        for c in protocol.criteria
    }
    return Evaluation(
        data=frame,
        protocol=protocol.with_parameters(**values) if param_overrides else protocol,
        parameters=values,
        statuses=statuses,
        derived=derived_frame,
        missing_columns=missing,
        source=data if frame is not data else None,
        not_applicable=not_applicable,
        _namespace=ns,
        _fails=fails,
        _unknown=unknown,
    )


def _covered_columns(protocol: Protocol, present: set[str]) -> set[str]:
    """Missing columns that are only alternatives: every place they appear is an argument
    of a ``coalesce(...)`` with another argument whose columns are all present (a QTc
    beside QT and heart rate)."""
    trees = [d.rule.tree.body for d in protocol.derived.values()]
    trees += [r.tree.body for c in protocol.criteria for r in c.rules]
    covered: dict[str, bool] = {}
    for tree in trees:
        for col, ok in _column_uses(tree, present, alternative=False):
            covered[col] = covered.get(col, True) and ok
    return {col for col, ok in covered.items() if ok}


def _column_uses(node: ast.AST, present: set[str], alternative: bool):
    """``(missing column, covered?)`` for every place a missing column appears under
    ``node``; ``alternative``: inside a coalesce argument whose sibling is present."""
    if isinstance(node, ast.Name) and node.id in COLUMNS and node.id not in present:
        yield node.id, alternative
        return
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "coalesce":
        args = [_columns_under(a) for a in node.args]
        for i, a in enumerate(node.args):
            sibling = any(j != i and cols and cols <= present for j, cols in enumerate(args))
            yield from _column_uses(a, present, alternative or sibling)
        return
    for child in ast.iter_child_nodes(node):
        yield from _column_uses(child, present, alternative)


def _columns_under(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in COLUMNS}


def _criterion_truth(criterion, ns: Namespace) -> tuple[Truth, np.ndarray | None]:
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


def _unwrap(data: Any) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    if isinstance(data, pd.DataFrame):
        return data, None, None
    frame = getattr(data, "data", None)
    if isinstance(frame, pd.DataFrame):
        return frame, getattr(data, "censored", None), getattr(data, "unreadable", None)
    raise InputError(
        "evaluate() needs a screening log",
        value=type(data).__name__,
        expected="the result of load_screening(...) or a pandas DataFrame with canonical columns",
    )


def _check_dtypes(frame: pd.DataFrame, needed: set[str]) -> None:
    """Reject columns whose values the rules cannot read (instead of silently NaN)."""
    for name in sorted(needed & set(frame.columns)):
        kind = COLUMNS[name].kind
        s = frame[name]
        if kind == "bool":
            if pd.api.types.is_bool_dtype(s) or s.isna().all():
                continue
            ok = s.dropna().map(lambda v: isinstance(v, bool | np.bool_))
            if not ok.all():
                _bad_value(frame, name, s.dropna()[~ok], "yes/no values (True/False)")
        elif kind in ("number", "ordinal"):
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                continue
            converted = pd.to_numeric(s, errors="coerce")
            bad = s.notna() & converted.isna()
            if bad.any():
                _bad_value(frame, name, s[bad], f"numbers in {COLUMNS[name].unit or 'units'}")


def _bad_value(frame, name, bad: pd.Series, expected: str) -> None:
    row = bad.index[0]
    raise InputError(
        f"Column {name!r} holds values the criteria cannot read ({len(bad)} cell(s))",
        row=row,
        column=name,
        value=bad.iloc[0],
        expected=expected,
        hint="load files with screenkit.load_screening(), which parses spellings such as "
        "'Y', '是', '<0.5', 'ND' and converts units",
    )


def _fail_matrix(statuses: pd.DataFrame) -> np.ndarray:
    """Patients x criteria: True where the criterion is known to fail."""
    if statuses.shape[1] == 0:
        return np.zeros((len(statuses), 0), bool)
    return np.column_stack(
        [(~statuses[c]).to_numpy(dtype=bool, na_value=False) for c in statuses.columns]
    )


def _unknown_matrix(statuses: pd.DataFrame) -> np.ndarray:
    """Patients x criteria: True where the criterion is unknown."""
    if statuses.shape[1] == 0:
        return np.zeros((len(statuses), 0), bool)
    return np.column_stack([statuses[c].isna().to_numpy() for c in statuses.columns])


def _words(column: pd.Series, passed: str = "pass") -> pd.Series:
    out = np.where(column.isna(), "unknown", np.where(column.fillna(False), passed, "fail"))
    return pd.Series(out, index=column.index, dtype="string")
