"""Screen-failure funnels from the pattern histogram (:mod:`screenkit.patterns`).

Every figure of a :class:`Funnel` (sequential attrition in any order, any criteria
switched off, fails, fails-only-this, the equal-share attribution, combinations, by site or
month) is computed from the :class:`~screenkit.patterns.PatternCounts` alone, without
touching patient rows again.

>>> import pandas as pd
>>> from screenkit.evaluate import evaluate
>>> frame = pd.DataFrame({
...     "spo2": pd.array([99, 95, 94, 99], dtype="Float64"),
...     "largest_lesion_cm": pd.array([3, 6, 2, 7], dtype="Float64"),
... })
>>> result = evaluate(frame, "NCT07103668")
>>> f = funnel(result, order=["E7", "I5b"], exclude=[c for c in result.protocol.ids
...                                                  if c not in ("E7", "I5b")])
>>> f.headline()
{'screened': 4, 'eligible': 1, 'screen_failed': 3, 'pending': 0}
>>> f.steps[["criterion", "excluded", "remaining"]]
  criterion  excluded  remaining
0        E7         2          2
1       I5b         1          1
>>> f.criteria.set_index("criterion").loc[["E7", "I5b"], ["fails", "fails_only", "attribution"]]
           fails  fails_only  attribution
criterion
E7             2           1          1.5
I5b            2           1          1.5
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from screenkit import bits
from screenkit._blas import matmul
from screenkit.errors import ScreenkitError
from screenkit.funnel_view import first_in_order, switched
from screenkit.patterns import (
    NO_DATE,
    NO_SITE,
    PatternCounts,
)
from screenkit.stats import wilson_interval
from screenkit.status import status_codes

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation

__all__ = ["NO_DATE", "NO_SITE", "Funnel", "PatternCounts", "funnel"]


# ---------------------------------------------------------------- the funnel
@dataclass(frozen=True, eq=False)
class Funnel:
    """Screen-failure funnel for one ordering and one set of active criteria.

    ``steps`` is the sequential attrition; ``criteria`` the order-free per-criterion
    table (``fails``, ``unknown``, ``fails_only``: patients gained if the criterion were
    dropped, ``attribution``: each screen-failed patient's 1 shared equally among the
    criteria it fails, so the column adds up to ``screen_failed``).
    """

    patterns: PatternCounts
    order: tuple[str, ...]
    excluded: tuple[str, ...]
    screened: int = 0
    eligible: int = 0
    screen_failed: int = 0
    pending: int = 0
    # the figures as arrays (the tables below are built from them on first use)
    excluded_at: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    fails_only: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    attribution: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    @cached_property
    def steps(self) -> pd.DataFrame:
        """The sequential attrition: ``step``, ``criterion``, ``label``, ``kind``,
        ``excluded``, ``remaining``, ``remaining_pct``."""
        p = self.patterns
        cols = [p.criteria.index(c) for c in self.order]
        remaining = self.screened - np.cumsum(self.excluded_at)
        return pd.DataFrame(
            {
                "step": np.arange(1, len(cols) + 1),
                "criterion": list(self.order),
                "label": [p.labels[i] for i in cols],
                "kind": [p.kinds[i] for i in cols],
                "excluded": self.excluded_at,
                "remaining": remaining,
                "remaining_pct": 100 * remaining / self.screened if self.screened else np.nan,
            }
        )

    @cached_property
    def criteria(self) -> pd.DataFrame:
        """Per criterion, protocol order: ``active``, ``fails``, ``unknown``,
        ``fails_only``, ``attribution``, ``fail_rate`` and its 95% Wilson interval."""
        p = self.patterns
        view = p.collapsed
        active = self._active_mask()
        fails_total = view.fails_total.round()
        screened = self.screened
        low, high = wilson_interval(fails_total, np.full(len(p.criteria), screened))
        return pd.DataFrame(
            {
                "criterion": list(p.criteria),
                "label": list(p.labels),
                "kind": list(p.kinds),
                "active": active,
                "fails": fails_total.astype(np.int64),
                "unknown": view.unknown_total.round().astype(np.int64),
                "fails_only": self.fails_only.round().astype(np.int64),
                "attribution": self.attribution,
                "fail_rate": fails_total / screened if screened else np.nan,
                "fail_rate_ci_low": low,
                "fail_rate_ci_high": high,
            }
        )

    def headline(self) -> dict[str, int]:
        return {
            "screened": self.screened,
            "eligible": self.eligible,
            "screen_failed": self.screen_failed,
            "pending": self.pending,
        }

    def headline_text(self) -> str:
        """One line: ``400 screened: 120 eligible (30.0%), ...``."""
        from screenkit.style import percent

        n = self.screened

        def pct(x: int) -> str:  # the one rounding rule (half away from zero, as Excel)
            return percent(x / n) if n else "n/a"

        return (
            f"{n} screened: {self.eligible} eligible ({pct(self.eligible)}), "
            f"{self.screen_failed} screen-failed ({pct(self.screen_failed)}), "
            f"{self.pending} pending ({pct(self.pending)})"
        )

    def combinations(self, top: int = 10) -> pd.DataFrame:
        """The most frequent sets of failed (active) criteria among screen-failed patients.

        ``criteria`` lists the IDs in protocol order joined by ``"; "``; ties are broken
        towards fewer criteria.
        """
        columns = ["criteria", "n_criteria", "patients", "pct_of_failed"]
        weights = self.patterns.core_counts()
        f = self.patterns.core_fails & self._active_mask()
        keep = f.any(axis=1) & (weights > 0)
        if not keep.any():
            return pd.DataFrame(columns=columns)
        f, weights = f[keep], weights[keep]
        words = bits.pack_rows(f)
        combo = bits.dense_ids([words[:, j] for j in range(words.shape[1])])
        patients = np.bincount(combo, weights=weights).astype(np.int64)
        first = bits.first_index(combo, len(patients))
        n_criteria = f[first].sum(axis=1)
        ranked = np.lexsort((n_criteria, -patients))[:top]
        ids = np.array(self.patterns.criteria, dtype=object)
        return pd.DataFrame(
            {
                "criteria": ["; ".join(ids[f[first[i]]]) for i in ranked],
                "n_criteria": n_criteria[ranked].astype(np.int64),
                "patients": patients[ranked],
                "pct_of_failed": 100 * patients[ranked] / max(self.screen_failed, 1),
            }
        )

    def by(self, group: str = "site_id") -> pd.DataFrame:
        """Headline per group (``site_id`` or ``screening_month``) with a 95% Wilson CI
        of the screen-fail rate; every group's counts add up to its screened."""
        view = self.patterns.collapsed
        active = bits.pack_rows(self._active_mask()[None, :])[0]
        status = status_codes(view.fail_words, view.unknown_words, active)[self.patterns.pattern]
        frame = pd.DataFrame(
            {
                group: self.patterns.groups[group].to_numpy(),
                "status": status,
                "n": self.patterns.counts,
            }
        )
        table = frame.pivot_table(
            index=group, columns="status", values="n", aggfunc="sum", fill_value=0
        )
        table = table.reindex(columns=[0, 1, 2], fill_value=0)
        table.columns = ["eligible", "screen_failed", "pending"]
        table.insert(0, "screened", table.sum(axis=1))
        low, high = wilson_interval(table["screen_failed"], table["screened"])
        table["screen_fail_rate"] = table["screen_failed"] / table["screened"]
        table["ci_low"], table["ci_high"] = low, high
        table.columns.name = None
        return table.sort_index().reset_index()

    def by_site(self) -> pd.DataFrame:
        return self.by("site_id")

    def by_month(self) -> pd.DataFrame:
        return self.by("screening_month")

    def fails_by(self, group: str = "site_id") -> pd.DataFrame:
        """Groups x criteria: patients failing each criterion (all, not only the first)."""
        p = self.patterns
        codes, uniques = pd.factorize(p.groups[group], sort=True)
        weights = np.zeros((len(uniques), len(p.core_fails)))
        np.add.at(weights, (codes, p.pattern), p.counts)
        fails = matmul(weights, p._fails_f)  # large: on one BLAS thread
        table = pd.DataFrame(
            fails.round().astype(np.int64),
            index=pd.Index(uniques, name=group),
            columns=list(p.criteria),
        )
        return table

    def to_frame(self) -> pd.DataFrame:
        """The sequential attrition (``steps``) as a plain DataFrame."""
        return self.steps.copy()

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``screenkit report --json`` (attributions rounded to 12
        decimals, so 6.5 prints as 6.5 and not 6.499999999999999)."""
        crit = self.criteria
        return {
            "protocol": self.patterns.protocol_id,
            **self.headline(),
            "order": list(self.order),
            "excluded_criteria": list(self.excluded),
            "criteria": [
                {
                    "id": row.criterion,
                    "label": row.label,
                    "kind": row.kind,
                    "active": bool(row.active),
                    "fails": int(row.fails),
                    "unknown": int(row.unknown),
                    "fails_only": int(row.fails_only),
                    "attribution": round(float(row.attribution), 12),
                }
                for row in crit.itertuples()
            ],
            "funnel": [
                {
                    "id": row.criterion,
                    "excluded": int(row.excluded),
                    "remaining": int(row.remaining),
                }
                for row in self.steps.itertuples()
            ],
        }

    def _active_mask(self) -> np.ndarray:
        return np.array([c not in self.excluded for c in self.patterns.criteria])

    def _repr_html_(self) -> str:
        steps = self.steps[["criterion", "label", "excluded", "remaining", "remaining_pct"]]
        top = self.criteria.sort_values("attribution", ascending=False).head(10)
        return (
            f"<p><b>{html.escape(self.patterns.protocol_id)}</b>: "
            f"{html.escape(self.headline_text())}</p>"
            "<details open><summary>Sequential attrition</summary>"
            + steps.to_html(index=False, float_format=lambda x: f"{x:.1f}")
            + "</details><details><summary>Top criteria by equal-share attribution</summary>"
            + top[["criterion", "label", "fails", "unknown", "fails_only", "attribution"]].to_html(
                index=False, float_format=lambda x: f"{x:.1f}"
            )
            + "</details>"
        )

    def __repr__(self) -> str:
        return f"Funnel({self.patterns.protocol_id}: {self.headline_text()})"


def funnel(
    source: Evaluation | PatternCounts,
    order: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
) -> Funnel:
    """Compute the funnel for an order of criteria with some criteria switched off.

    Parameters
    ----------
    source : an :class:`~screenkit.evaluate.Evaluation` or its :class:`PatternCounts`.
    order : criterion IDs in funnel order; IDs not listed follow in protocol order.
    exclude : criterion IDs switched off (they exclude nobody).
    """
    patterns = source if isinstance(source, PatternCounts) else source.patterns()
    return _funnel(patterns, order, exclude)  # small products only: no BLAS limit


def _funnel(patterns: PatternCounts, order: Sequence[str] | None, exclude: Iterable[str]) -> Funnel:
    ids = list(patterns.criteria)
    index = {cid: i for i, cid in enumerate(ids)}
    excluded = tuple(dict.fromkeys(exclude))
    order = list(dict.fromkeys(order or []))
    for cid in [*order, *excluded]:
        if cid not in index:
            raise ScreenkitError(
                f"Unknown criterion {cid!r} in the funnel order or exclusions",
                accepted=", ".join(ids),
            )
    full_order = [*order, *[c for c in ids if c not in order]]
    active_order = [c for c in full_order if c not in excluded]
    active = np.array([c not in excluded for c in ids], dtype=bool)
    # the histogram collapsed over groups (core patterns) and over unknown sets (distinct
    # fail sets), bit-packed; the figures of one set of active criteria are computed once
    view = patterns.collapsed
    figures = switched(view, active)
    # sequential attrition: each fail set leaves at its first failing criterion in order
    cols = np.array([index[c] for c in active_order], dtype=np.intp)
    first = first_in_order(view.set_cells, cols)
    excluded_at = np.bincount(first, weights=view.set_weights, minlength=len(cols) + 1)
    totals = figures.totals
    return Funnel(
        patterns=patterns,
        order=tuple(active_order),
        excluded=excluded,
        screened=view.screened,
        eligible=int(totals[0]),
        screen_failed=int(totals[1]),
        pending=int(totals[2]),
        excluded_at=excluded_at[: len(cols)].round().astype(np.int64),
        fails_only=figures.fails_only,
        attribution=figures.attribution,
    )
