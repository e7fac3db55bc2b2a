"""Two protocols on one screened population: who qualifies under which, and why.

:func:`compare` evaluates the same screening log under protocol A and protocol B (each
through :func:`screenkit.evaluate.evaluate`, with its own parameters and ``include``) and
matches the patients by row, so the two protocols may read different columns (IMC002 and
CT041 share few criteria). The result is a :class:`Comparison`.

**Cells.** Every screened patient is in exactly one of five cells:

========  ===================================================================
both      eligible under A and under B
only_a    eligible under A, screen-failed under B
only_b    screen-failed under A, eligible under B
neither   screen-failed under both
pending   pending under at least one of the two (whatever the other says)
========  ===================================================================

A patient pending under one protocol is undecided *for the comparison*: eligible under A
and pending under B could end in ``both`` or ``only_a``, failed under A and pending under
B in ``only_b`` or ``neither``. Counting such a patient as ``only_a`` or ``neither``
would treat unknown as fail, so these patients are ``pending``; ``pending_detail`` splits
them by the pair of outcomes, and ``crosstab`` keeps the full 3 x 3 table.

**Explaining criteria.** For the patients in ``only_a`` (eligible under A, failed under B)
``explained_by`` counts, for each criterion of B, how many of them fail it (``fails``; a
patient failing two criteria of B counts under both, so the column can add up to more
than the cell) and how many fail it and no other criterion of B (``fails_only``: the
patients B would gain by dropping it); and the reverse for ``only_b``.

**Paired difference.** The change in the proportion eligible, B minus A, with a 95%
interval by Newcombe's method 10 for paired proportions
(:func:`screenkit.stats.newcombe_paired_interval`). Two denominators, both shown:
``difference`` uses the patients decided under both protocols (the 2 x 2 of both /
only_a / only_b / neither; pending patients are left out, as the forecast leaves them out
of its eligibility rate: pending is neither eligible nor failed), and
``difference_all_screened`` every screened patient with pending counted as not
eligible (eligible so far; a lower bound on each proportion).

**Forecast.** The median date the target is reached under A and under B, through
:mod:`screenkit.forecast` as ``screenkit forecast`` makes it: fitted on A's evaluation
(A is the protocol the log was screened under, so the site rates and the probability that
an eligible patient is randomized come from it), then B's statuses through
:meth:`~screenkit.forecast.RecruitmentForecast.with_eligibility` (the what-if route of
``screenkit forecast --exclude``). Both use the same seed and A's target (B's when A has
none). Skipped, with the reason, when the log has no screening dates or no randomization
outcome.

>>> import pandas as pd
>>> frame = pd.DataFrame({"patient_id": ["P1", "P2", "P3"],
...                       "largest_lesion_cm": pd.array([4.0, 6.0, 8.0], dtype="Float64")})
>>> c = compare(frame, "NCT07103668", "NCT07103668", params_b={"lesion_max_cm": 7},
...             forecast=False)
>>> c.counts()                  # every other criterion is unknown: all pending
{'screened': 3, 'both': 0, 'only_a': 0, 'only_b': 0, 'neither': 1, 'pending': 2}
"""

from __future__ import annotations

import copy
import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from screenkit.errors import ScreenkitError
from screenkit.evaluate import STATUSES, Evaluation, evaluate
from screenkit.protocol import Protocol, get_protocol
from screenkit.stats import newcombe_paired_interval
from screenkit.style import percent

__all__ = [
    "CELLS",
    "Comparison",
    "ComparisonForecast",
    "PairedDifference",
    "compare",
]

#: the contract cells, in display order
CELLS = ("both", "only_a", "only_b", "neither", "pending")
CELL_TEXT = {
    "both": "eligible under both",
    "only_a": "eligible under A only (screen-failed under B)",
    "only_b": "eligible under B only (screen-failed under A)",
    "neither": "screen-failed under both",
    "pending": "pending under at least one",
}
#: the pending cell split by the pair of outcomes (A, B)
PENDING_DETAIL = {
    "eligible_a_pending_b": ("eligible", "pending"),
    "pending_a_eligible_b": ("pending", "eligible"),
    "failed_a_pending_b": ("screen_failed", "pending"),
    "pending_a_failed_b": ("pending", "screen_failed"),
    "pending_both": ("pending", "pending"),
}
NO_SITE = "(no site)"
_CELL_DTYPE = pd.CategoricalDtype(list(CELLS))


@dataclass(frozen=True)
class PairedDifference:
    """B minus A in the proportion eligible, with Newcombe's paired interval."""

    denominator: str
    n: int
    both: int
    only_a: int
    only_b: int
    neither: int
    eligible_a: int
    eligible_b: int
    difference: float
    ci_low: float
    ci_high: float
    confidence: float = 0.95

    @property
    def p_a(self) -> float:
        return self.eligible_a / self.n if self.n else float("nan")

    @property
    def p_b(self) -> float:
        return self.eligible_b / self.n if self.n else float("nan")

    def text(self) -> str:
        if not self.n:
            return f"{self.denominator}: no patients, no difference"
        return (
            f"{self.denominator} (n = {self.n}): eligible {self.eligible_a} under A "
            f"({percent(self.p_a)}) vs {self.eligible_b} under B ({percent(self.p_b)}); B - A = "
            f"{self.difference:+.1%} ({percent(self.confidence, 0)} CI {self.ci_low:+.1%} to "
            f"{self.ci_high:+.1%}, "
            "Newcombe paired)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "denominator": self.denominator,
            "n": self.n,
            "eligible_a": self.eligible_a,
            "eligible_b": self.eligible_b,
            "p_a": self.p_a,
            "p_b": self.p_b,
            "difference": self.difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "confidence": self.confidence,
            "method": "Newcombe 1998 method 10 (paired, Wilson score based)",
            "discordant": {"only_a": self.only_a, "only_b": self.only_b},
        }


@dataclass(frozen=True)
class ComparisonForecast:
    """Median date the target is reached under A and under B (or why there is none)."""

    target: int | None
    median_a: pd.Timestamp | None = None
    median_b: pd.Timestamp | None = None
    pi80_a: tuple = (None, None)
    pi80_b: tuple = (None, None)
    reason: str | None = None
    n_sims: int = 0
    seed: int = 0

    @property
    def change_days(self) -> int | None:
        """B's median date minus A's, in days (negative: B reaches the target sooner)."""
        if self.median_a is None or self.median_b is None:
            return None
        return int((self.median_b - self.median_a).days)

    def text(self) -> str:
        if self.reason is not None:
            return f"Forecast: none ({self.reason})."
        change = self.change_days
        shift = (
            "not reached within 100 years under one of them"
            if change is None
            else f"B {abs(change)} days {'sooner' if change < 0 else 'later'}"
            if change
            else "the same date"
        )
        return (
            f"Forecast (target {self.target}, median of {self.n_sims} simulations, seed "
            f"{self.seed}): A {_iso(self.median_a) or 'not reached'}, B "
            f"{_iso(self.median_b) or 'not reached'} ({shift})."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "median_date_a": _iso(self.median_a),
            "median_date_b": _iso(self.median_b),
            "pi80_a": [_iso(d) for d in self.pi80_a],
            "pi80_b": [_iso(d) for d in self.pi80_b],
            "change_days": self.change_days,
            "reason": self.reason,
            "n_sims": self.n_sims,
            "seed": self.seed,
        }


@dataclass(frozen=True, eq=False)
class Comparison:
    """The result of :func:`compare` (see the module docstring for every definition).

    Attributes
    ----------
    evaluation_a, evaluation_b : the two :class:`~screenkit.evaluate.Evaluation` objects.
    cells : Series, one cell (``both`` / ``only_a`` / ``only_b`` / ``neither`` /
        ``pending``) per screened patient, indexed like the data.
    crosstab : the 3 x 3 counts, status under A (rows) x status under B (columns).
    explained_by : DataFrame ``cell``, ``protocol``, ``criterion``, ``label``, ``fails``,
        ``fails_only``, ``patients`` (the size of the cell): for ``only_a`` the criteria
        of B those patients fail, for ``only_b`` those of A.
    by_site : DataFrame, one row per site: ``site_id``, ``screened`` and the five cells.
    difference, difference_all_screened : :class:`PairedDifference` (decided under both;
        all screened with pending as not eligible).
    forecast : :class:`ComparisonForecast` or ``None`` (``forecast=False``).
    """

    evaluation_a: Evaluation
    evaluation_b: Evaluation
    cells: pd.Series
    crosstab: pd.DataFrame
    explained_by: pd.DataFrame
    by_site: pd.DataFrame
    difference: PairedDifference
    difference_all_screened: PairedDifference
    forecast: ComparisonForecast | None = None
    #: the threshold overrides given for A and for B
    params_a: Mapping[str, float] | None = None
    params_b: Mapping[str, float] | None = None

    @property
    def protocol_a(self) -> Protocol:
        return self.evaluation_a.protocol

    @property
    def protocol_b(self) -> Protocol:
        return self.evaluation_b.protocol

    def counts(self) -> dict[str, int]:
        """``screened`` and each cell; screened = the sum of the five cells."""
        vc = self.cells.value_counts()
        return {"screened": len(self.cells), **{c: int(vc.get(c, 0)) for c in CELLS}}

    def pending_detail(self) -> dict[str, int]:
        """The ``pending`` cell split by the pair of outcomes (they add up to it)."""
        return {name: int(self.crosstab.loc[a, b]) for name, (a, b) in PENDING_DETAIL.items()}

    def to_frame(self) -> pd.DataFrame:
        """The cells as a plain table: ``cell``, ``meaning``, ``patients``, ``share``."""
        counts = self.counts()
        n = counts["screened"]
        return pd.DataFrame(
            {
                "cell": list(CELLS),
                "meaning": [CELL_TEXT[c] for c in CELLS],
                "patients": [counts[c] for c in CELLS],
                "share": [counts[c] / n if n else float("nan") for c in CELLS],
            }
        )

    @property
    def table(self) -> pd.DataFrame:
        """Same as :meth:`to_frame`."""
        return self.to_frame()

    def data_notes(self) -> list[str]:
        """Per protocol: the columns its criteria need that the log lacks, and a protocol
        that decides no patient (every patient pending under it)."""
        notes = []
        for side, ev in (("A", self.evaluation_a), ("B", self.evaluation_b)):
            missing = ev.missing_inputs()
            missing = missing[missing["patients_unknown"] > 0]
            if len(missing):
                listed = ", ".join(missing["column"].head(5))
                more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
                notes.append(
                    f"{side} {ev.protocol.id}: the log has no column {listed}{more} (criteria "
                    f"unknown for up to {int(missing['patients_unknown'].max())} patients)"
                )
            c = ev.counts()
            if c["screened"] and c["pending"] == c["screened"]:
                notes.append(
                    f"{side} {ev.protocol.id} decides no patient: every patient is pending "
                    "under it, so every patient is in 'pending'"
                )
        return notes

    def criteria_off_notes(self) -> list[str]:
        """One line per protocol that left criteria out (off by default)."""
        notes = []
        for side, p in (("A", self.protocol_a), ("B", self.protocol_b)):
            if p.criteria_off:
                listed = "; ".join(f"{c.id} {c.label}" for c in p.criteria_off)
                notes.append(f"{side} {p.id} left out (off by default): {listed}")
        return notes

    def summary(self, *, top: int = 8) -> str:
        """The comparison as terminal text: cells, 3 x 3, difference, criteria, forecast."""
        counts = self.counts()
        a, b = self.protocol_a, self.protocol_b
        lines = [
            f"A = {a.id} ({a.version}); B = {b.id} ({b.version})",
            f"{counts['screened']} screened; matched by row (the same patients under both)",
            "",
            self.to_frame()
            .assign(share=lambda f: (100 * f["share"]).round(1).astype(str) + "%")
            .to_string(index=False),
            "",
            f"pending split: {_pairs(self.pending_detail())}",
            "",
            "status under A (rows) x under B (columns):",
            self.crosstab.to_string(),
            "",
            self.difference.text(),
            self.difference_all_screened.text(),
        ]
        for cell, side in (("only_a", "B"), ("only_b", "A")):
            rows = self.explained_by[self.explained_by["cell"] == cell]
            if not counts[cell]:
                continue
            lines += [
                "",
                f"{counts[cell]} {CELL_TEXT[cell]}: criteria of {side} they fail "
                "(a patient failing two counts under both; only = fails no other):",
            ]
            shown = rows.head(top)
            for r in shown.itertuples(index=False):
                label = r.label if len(r.label) <= 48 else r.label[:45] + "..."
                lines.append(f"  {r.criterion:<6} {label:<48} {r.fails:>5}  only {r.fails_only}")
            if len(rows) > top:
                lines.append(f"  ... and {len(rows) - top} more criteria")
        if self.forecast is not None:
            lines += ["", self.forecast.text()]
        notes = self.criteria_off_notes() + self.data_notes()
        if notes:
            lines += ["", *notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``screenkit compare``: ``both``, ``only_a``, ``only_b``,
        ``neither``, ``pending``, ``explained_by``, ``by_site`` and more."""
        counts = self.counts()
        out: dict[str, Any] = {
            "protocol_a": _protocol_record(self.evaluation_a, self.params_a),
            "protocol_b": _protocol_record(self.evaluation_b, self.params_b),
            "screened": counts["screened"],
            **{c: counts[c] for c in CELLS},
            "pending_detail": self.pending_detail(),
            "crosstab": {a: {b: int(self.crosstab.loc[a, b]) for b in STATUSES} for a in STATUSES},
            "explained_by": {},
            "by_site": self.by_site.to_dict("records"),
            "difference": self.difference.to_dict(),
            "difference_all_screened": self.difference_all_screened.to_dict(),
            "forecast": None if self.forecast is None else self.forecast.to_dict(),
        }
        for cell, other in (("only_a", self.protocol_b), ("only_b", self.protocol_a)):
            rows = self.explained_by[self.explained_by["cell"] == cell]
            out["explained_by"][cell] = {
                "protocol": other.id,
                "patients": counts[cell],
                "criteria": [
                    {
                        "id": r.criterion,
                        "label": r.label,
                        "fails": int(r.fails),
                        "fails_only": int(r.fails_only),
                    }
                    for r in rows.itertuples(index=False)
                ],
            }
        return out

    def _repr_html_(self) -> str:
        a, b = self.protocol_a, self.protocol_b
        esc = html.escape
        parts = [
            f"<p><b>A</b> = {esc(a.id)} ({esc(a.version)}), <b>B</b> = {esc(b.id)} "
            f"({esc(b.version)}): {len(self.cells)} screened patients, matched by row</p>",
            self.to_frame().to_html(index=False, float_format=lambda x: f"{percent(x)}"),
            "<p>Status under A (rows) x under B (columns)</p>",
            self.crosstab.to_html(),
            f"<p>{esc(self.difference.text())}<br>{esc(self.difference_all_screened.text())}</p>",
        ]
        if len(self.explained_by):
            parts.append("<p>Criteria explaining the discordant cells</p>")
            parts.append(self.explained_by.head(20).to_html(index=False))
        if self.forecast is not None:
            parts.append(f"<p>{esc(self.forecast.text())}</p>")
        for note in self.criteria_off_notes() + self.data_notes():
            parts.append(f"<p><i>{esc(note)}</i></p>")
        return "".join(parts)

    def __repr__(self) -> str:
        c = self.counts()
        return (
            f"Comparison(A={self.protocol_a.id}, B={self.protocol_b.id}: "
            + ", ".join(f"{k}={v}" for k, v in c.items())
            + ")"
        )


def compare(
    data: Any,
    protocol_a: Protocol | str,
    protocol_b: Protocol | str,
    *,
    include_a: Iterable[str] | None = None,
    include_b: Iterable[str] | None = None,
    params_a: Mapping[str, float] | None = None,
    params_b: Mapping[str, float] | None = None,
    forecast: bool = True,
    target: int | None = None,
    n_sims: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Comparison:
    """Evaluate ``data`` under two protocols and cross-classify every patient.

    Parameters
    ----------
    data : a :class:`~screenkit.normalize.ScreeningData` or a canonical DataFrame.
    protocol_a, protocol_b : Protocols, shipped registry IDs or protocol files. A is the
        reference ("as run": the forecast is fitted on it), B the alternative.
    include_a, include_b : criteria left off by default to switch on, per protocol.
    params_a, params_b : threshold overrides, per protocol (``{"lesion_max_cm": 7}``).
    forecast : also forecast the date the target is reached under each (``n_sims``
        simulations, ``seed``; ``target`` defaults to A's protocol file, then B's).
    confidence : level of the paired-difference intervals.

    Returns
    -------
    Comparison
    """
    if not 0 < confidence < 1:
        raise ScreenkitError(
            "confidence is a level between 0 and 1", value=confidence, expected="e.g. 0.95"
        )
    eval_a = evaluate(data, get_protocol(protocol_a), include=include_a, **dict(params_a or {}))
    eval_b = evaluate(data, get_protocol(protocol_b), include=include_b, **dict(params_b or {}))
    status_a = eval_a.status.astype(str).to_numpy()
    status_b = eval_b.status.astype(str).to_numpy()
    cells = _cells(status_a, status_b, eval_a.statuses.index)
    crosstab = (
        pd.crosstab(
            pd.Categorical(status_a, categories=STATUSES),
            pd.Categorical(status_b, categories=STATUSES),
            dropna=False,
        )
        .reindex(index=list(STATUSES), columns=list(STATUSES), fill_value=0)
        .astype(int)
    )
    crosstab.index.name, crosstab.columns.name = "A", "B"
    explained = pd.concat(
        [
            _explained(eval_b, cells == "only_a", "only_a"),
            _explained(eval_a, cells == "only_b", "only_b"),
        ],
        ignore_index=True,
    )
    counts = cells.value_counts()
    decided = PairedDifference(
        "decided under both",
        *_pair(counts, "both", "only_a", "only_b", "neither"),
        *_estimate(
            counts["both"], counts["only_b"], counts["only_a"], counts["neither"], confidence
        ),
        confidence=confidence,
    )
    elig_a = status_a == "eligible"
    elig_b = status_b == "eligible"
    a_all = int((elig_a & elig_b).sum())
    b_all = int((elig_a & ~elig_b).sum())
    c_all = int((~elig_a & elig_b).sum())
    d_all = int((~elig_a & ~elig_b).sum())
    every = PairedDifference(
        "all screened (pending counted as not eligible)",
        a_all + b_all + c_all + d_all,
        a_all,
        b_all,
        c_all,
        d_all,
        a_all + b_all,
        a_all + c_all,
        *newcombe_paired_interval(a_all, c_all, b_all, d_all, confidence),
        confidence=confidence,
    )
    result = None
    if forecast:
        result = _forecast(eval_a, eval_b, target=target, n_sims=n_sims, seed=seed)
    return Comparison(
        evaluation_a=eval_a,
        evaluation_b=eval_b,
        cells=cells,
        crosstab=crosstab,
        explained_by=explained,
        by_site=_by_site(eval_a.data, cells),
        difference=decided,
        difference_all_screened=every,
        forecast=result,
        params_a=dict(params_a or {}),
        params_b=dict(params_b or {}),
    )


# ---------------------------------------------------------------- pieces
def _cells(status_a: np.ndarray, status_b: np.ndarray, index: pd.Index) -> pd.Series:
    """The cell of each patient (the rule of the module docstring)."""
    elig_a, elig_b = status_a == "eligible", status_b == "eligible"
    fail_a, fail_b = status_a == "screen_failed", status_b == "screen_failed"
    code = np.select(
        [elig_a & elig_b, elig_a & fail_b, fail_a & elig_b, fail_a & fail_b],
        [0, 1, 2, 3],
        default=4,  # pending under at least one
    )
    return pd.Series(pd.Categorical.from_codes(code, dtype=_CELL_DTYPE), index=index, name="cell")


def _pair(counts: pd.Series, *names: str) -> tuple[int, ...]:
    both, only_a, only_b, neither = (int(counts.get(n, 0)) for n in names)
    return (
        both + only_a + only_b + neither,
        both,
        only_a,
        only_b,
        neither,
        both + only_a,
        both + only_b,
    )


def _estimate(both, b_only, a_only, neither, confidence) -> tuple[float, float, float]:
    """B minus A: B is the "first" proportion of the paired interval."""
    return newcombe_paired_interval(int(both), int(b_only), int(a_only), int(neither), confidence)


def _explained(evaluation: Evaluation, chosen: pd.Series, cell: str) -> pd.DataFrame:
    """For the patients ``chosen`` (eligible under the other protocol, failed under this
    one): how many fail each criterion of ``evaluation`` and how many fail only it."""
    fails, _ = evaluation.matrices()
    rows = fails[chosen.to_numpy()]
    n_fail = rows.sum(axis=1)
    labels = {c.id: c.label for c in evaluation.protocol.criteria}
    records = []
    for j, cid in enumerate(evaluation.statuses.columns):
        count = int(rows[:, j].sum())
        if count:
            records.append(
                {
                    "cell": cell,
                    "protocol": evaluation.protocol.id,
                    "criterion": cid,
                    "label": labels.get(cid, cid),
                    "fails": count,
                    "fails_only": int((rows[:, j] & (n_fail == 1)).sum()),
                    "patients": int(chosen.sum()),
                }
            )
    columns = ["cell", "protocol", "criterion", "label", "fails", "fails_only", "patients"]
    out = pd.DataFrame(records, columns=columns)
    return out.sort_values("fails", ascending=False, kind="stable").reset_index(drop=True)


def _by_site(data: pd.DataFrame, cells: pd.Series) -> pd.DataFrame:
    """The five cells per site (patients without a site in their own row)."""
    if "site_id" in data.columns:
        site = data["site_id"].astype("string").fillna(NO_SITE)
    else:
        site = pd.Series(NO_SITE, index=cells.index, dtype="string")
    table = pd.crosstab(site.to_numpy(), cells, dropna=False).reindex(
        columns=list(CELLS), fill_value=0
    )
    table = table.reindex(_natural(table.index)).astype(int)
    table.insert(0, "screened", table.sum(axis=1))
    table.index.name = "site_id"
    table.columns.name = None
    return table.reset_index()


def _natural(labels: Iterable[str]) -> list[str]:
    import re

    def key(text: str):
        return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(text))]

    return sorted(labels, key=lambda x: (x == NO_SITE, key(x)))


def _forecast(
    eval_a: Evaluation, eval_b: Evaluation, *, target: int | None, n_sims: int, seed: int
) -> ComparisonForecast:
    from screenkit.forecast import RecruitmentForecast, patient_outcomes

    target = target if target is not None else (eval_a.protocol.target or eval_b.protocol.target)
    try:
        patients = patient_outcomes(eval_a)
    except ScreenkitError:
        return ComparisonForecast(
            target, reason="the log has no screening dates (column screening_date)"
        )
    if not patients["randomized"].notna().any():
        return ComparisonForecast(
            target, reason="the log records no randomization outcome ('randomized')"
        )
    if target is None:
        return ComparisonForecast(None, reason="neither protocol file gives a target")
    try:
        fitted = copy.copy(RecruitmentForecast(n_sims=n_sims, random_state=seed)).fit(eval_a)
        as_run = fitted.predict(target=target)
        other = fitted.with_eligibility(eval_b.status).predict(target=target)
    except ScreenkitError as err:
        return ComparisonForecast(
            target, reason="the forecast could not be made: " + str(err).splitlines()[0]
        )
    return ComparisonForecast(
        target,
        median_a=as_run.median_date,
        median_b=other.median_date,
        pi80_a=as_run.pi80,
        pi80_b=other.pi80,
        n_sims=n_sims,
        seed=seed,
    )


def _protocol_record(evaluation: Evaluation, overrides) -> dict[str, Any]:
    p = evaluation.protocol
    return {
        "id": p.id,
        "version": p.version,
        "amends": p.amends,
        "criteria": len(p.criteria),
        "criteria_off": [c.id for c in p.criteria_off],
        "parameters": dict(evaluation.parameters),
        "parameters_changed": {n: float(v) for n, v in (overrides or {}).items()},
        "counts": evaluation.counts(),
    }


def _pairs(mapping: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in mapping.items())


def _iso(value) -> str | None:
    return None if value is None else pd.Timestamp(value).date().isoformat()
