"""What-if copies of an evaluation: other thresholds, some criteria switched off.

A what-if re-evaluates only the criteria whose thresholds changed, compares just those
criteria's bits with its base to find the patients whose pattern moved, and records them
(``Evaluation.moved``), so that its pattern histogram is counted from those patients alone
(:func:`screenkit.patterns.PatternCounts.from_evaluation`). The methods
``Evaluation.with_parameters`` / ``without_criteria`` delegate here.

>>> import pandas as pd
>>> from screenkit.evaluate import evaluate
>>> frame = pd.DataFrame({"largest_lesion_cm": pd.array([4.0, 6.5, 9.0], dtype="Float64")})
>>> base = evaluate(frame, "NCT07103668")
>>> wider = with_parameters(base, {"lesion_max_cm": 7})
>>> wider.changed, wider.moved.patients.tolist()  # I5b recomputed; the 6.5 cm patient moved
(('I5b',), [1])
>>> without_criteria(wider, ["I5b"]).moved.patients.tolist()  # switched off: the 9 cm one
[2]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from screenkit import bits
from screenkit.errors import ScreenkitError
from screenkit.grammar import Num, to_point

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation

__all__ = ["Moved", "derive", "with_parameters", "without_criteria"]


def with_parameters(evaluation: Evaluation, overrides: Mapping[str, float]) -> Evaluation:
    """``evaluation`` with other thresholds; only the criteria using them are recomputed
    (see ``Evaluation.with_parameters``)."""
    from screenkit.evaluate import criterion_truth, evaluate

    if evaluation.status_source == "recorded" and overrides:
        raise ScreenkitError(
            "Recorded screen-failure reasons do not depend on thresholds: a parameter "
            "change cannot re-evaluate them",
            value=", ".join(f"{k}={v}" for k, v in overrides.items()),
            hint="evaluate the lab-level columns (computed mode) to try other thresholds",
        )
    values = evaluation.protocol.check_parameters({**evaluation.parameters, **overrides})
    changed = {n for n, v in values.items() if v != evaluation.parameters.get(n)}
    if not changed:
        return evaluation
    protocol = evaluation.protocol.with_parameters(**values)
    ns = evaluation._namespace
    if ns is None:  # pragma: no cover - always set by evaluate()
        return evaluate(evaluation.data, protocol)
    ns = replace(ns, values=dict(ns.values), absent=set(ns.absent), parameters=values)
    ns.unreadable = dict(ns.unreadable)
    stale_derived: set[str] = set()
    for name, d in protocol.derived.items():
        if d.rule.parameters & changed or d.rule.derived & stale_derived:
            stale_derived.add(name)
            ns.values[name] = d.rule.evaluate(ns)
    not_applicable = evaluation._not_applicable
    not_applicable = None if not_applicable is None else dict(not_applicable)
    recomputed: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # position -> (fails, unknown)
    moved = np.zeros(len(evaluation.data), dtype=bool)
    for i, c in enumerate(protocol.criteria):
        if c.parameters & changed or c.derived & stale_derived:
            truth, na = criterion_truth(c, ns)
            if na is not None and not_applicable is not None:
                not_applicable[c.id] = na
            fails, unknown = truth.false, ~(truth.true | truth.false)
            moved |= _differs(evaluation.fail_words, i, fails)
            moved |= _differs(evaluation.unknown_words, i, unknown)
            recomputed[i] = (fails, unknown)
    derived = evaluation.derived
    if stale_derived:
        derived = derived.copy(deep=False)
        for name in stale_derived:
            value = ns.values[name]
            if isinstance(value, Num):
                derived[name] = to_point(value)
    moved = Moved.of(
        evaluation,
        np.flatnonzero(moved),
        fails={i: f for i, (f, _) in recomputed.items()},
        unknown={i: u for i, (_, u) in recomputed.items()},
    )
    return derive(
        evaluation,
        protocol=protocol,
        parameters=values,
        derived=derived,
        not_applicable=not_applicable,
        _namespace=ns,
        fail_words=moved.patched(evaluation, "fail"),
        unknown_words=moved.patched(evaluation, "unknown"),
        changed=tuple(protocol.criteria[i].id for i in recomputed),
        moved=moved,
    )


def without_criteria(evaluation: Evaluation, ids: Iterable[str]) -> Evaluation:
    """``evaluation`` with the criteria ``ids`` switched off: they pass for everyone
    (see ``Evaluation.without_criteria``)."""
    ids = list(dict.fromkeys(ids))
    position = {cid: i for i, cid in enumerate(evaluation.ids)}
    unknown_ids = [cid for cid in ids if cid not in position]
    if unknown_ids:
        raise ScreenkitError(
            f"Unknown criterion {unknown_ids[0]!r} to switch off",
            accepted=", ".join(position),
        )
    if not ids:
        return evaluation
    n = len(evaluation.data)
    moved = np.zeros(n, dtype=bool)
    for cid in ids:  # the patients failing or unknown on a switched-off criterion move
        moved |= _bit(evaluation.fail_words, position[cid])
        moved |= _bit(evaluation.unknown_words, position[cid])
    off = {position[cid]: np.zeros(n, dtype=bool) for cid in ids}
    moved = Moved.of(evaluation, np.flatnonzero(moved), fails=off, unknown=off)
    statuses = None
    if evaluation._statuses is not None and evaluation.status_source == "recorded":
        statuses = evaluation._statuses.copy()  # recorded statuses were given, not packed
        for cid in ids:
            statuses[cid] = pd.array([True] * len(statuses), dtype="boolean")
    return derive(
        evaluation,
        fail_words=moved.patched(evaluation, "fail"),
        unknown_words=moved.patched(evaluation, "unknown"),
        statuses=statuses,
        changed=tuple(ids),
        moved=moved,
    )


def derive(evaluation: Evaluation, **changes: Any) -> Evaluation:
    """A what-if copy: ``evaluation`` with ``changes``, made from it (its ``base``)."""
    fields = {
        "data": evaluation.data,
        "protocol": evaluation.protocol,
        "parameters": evaluation.parameters,
        "statuses": None,
        "derived": evaluation.derived,
        "missing_columns": evaluation.missing_columns,
        "source": evaluation.source,
        "not_applicable": evaluation._not_applicable,
        "_namespace": evaluation._namespace,
        "status_source": evaluation.status_source,
        "recorded": evaluation.recorded,
        "base": evaluation,
        "_groups": evaluation._groups,
    }
    return type(evaluation)(**{**fields, **changes})


def _bit(words: np.ndarray, i: int) -> np.ndarray:
    """Criterion ``i`` of ``words`` as a bool mask, read from its byte (one byte a patient
    is read, not a whole word).

    >>> _bit(np.array([[5], [2]], dtype=np.uint64), 2).tolist()
    [True, False]
    """
    byte = bits.as_bytes(words)[:, i // 8]
    return ((byte >> np.uint8(i % 8)) & np.uint8(1)).view(bool)


def _differs(words: np.ndarray, i: int, mask: np.ndarray) -> np.ndarray:
    """Where criterion ``i`` of ``words`` differs from the bool ``mask``."""
    return _bit(words, i) != np.asarray(mask, dtype=bool)


@dataclass(frozen=True, eq=False)
class Moved:
    """The patients of a what-if whose fail or unknown set differs from its base's
    (positions, ascending) and their new sets, bit-packed like ``Evaluation.fail_words``:
    all a histogram moved from the base's needs (:mod:`screenkit.patterns_moved`)."""

    patients: np.ndarray
    fail_words: np.ndarray
    unknown_words: np.ndarray

    @classmethod
    def of(cls, base: Evaluation, patients: np.ndarray, *, fails, unknown) -> Moved:
        """``patients`` of ``base`` with criteria ``fails`` / ``unknown`` (position ->
        bool mask over all patients) replaced."""
        return cls(
            patients,
            _replaced(base.fail_words[patients], patients, fails),
            _replaced(base.unknown_words[patients], patients, unknown),
        )

    def patched(self, base: Evaluation, which: str) -> Callable[[], np.ndarray]:
        """A function building the what-if's full ``which`` words: the base's with the
        moved patients' rows replaced (called only if something reads them)."""

        def build() -> np.ndarray:
            words = getattr(base, f"{which}_words").copy()
            words[self.patients] = getattr(self, f"{which}_words")
            return words

        return build


def _replaced(rows: np.ndarray, patients: np.ndarray, columns: Mapping[int, np.ndarray]):
    """The words ``rows`` (of ``patients``) with criteria ``columns`` (position -> bool
    mask over all patients) replaced, in place."""
    for i, mask in columns.items():
        bits.set_column(rows, i, np.asarray(mask, dtype=bool)[patients])
    return rows
