"""Screen-failure funnels from the pattern histogram.

Each patient's evaluation is summarised by two sets: the criteria it fails and the criteria
that are unknown. :class:`PatternCounts` counts the distinct (fail set, unknown set, site,
screening month) combinations. That histogram is a sufficient statistic: every figure in a
:class:`Funnel` (sequential attrition in any order, any criteria switched off, fails,
fails-only-this, the equal-share attribution, combinations, by site or month) is computed
from it without touching patient rows again.

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
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from screenkit.errors import ScreenkitError
from screenkit.stats import wilson_interval

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation

__all__ = ["Funnel", "PatternCounts", "funnel"]

NO_SITE = "(no site)"
NO_DATE = "(no date)"


@dataclass(frozen=True, eq=False)
class PatternCounts:
    """Counts of distinct (fail set, unknown set, group) patterns.

    Attributes
    ----------
    criteria : criterion IDs, protocol order (the columns of ``fails`` / ``unknown``).
    labels, kinds : criterion labels and ``inclusion`` / ``exclusion``.
    fails, unknown : bool arrays, patterns x criteria.
    counts : int array, patients per pattern.
    groups : DataFrame, one row per pattern, the grouping columns (``site_id``,
        ``screening_month``; missing values read ``(no site)`` / ``(no date)``).
    """

    criteria: tuple[str, ...]
    labels: tuple[str, ...]
    kinds: tuple[str, ...]
    fails: np.ndarray
    unknown: np.ndarray
    counts: np.ndarray
    groups: pd.DataFrame
    protocol_id: str = ""

    @classmethod
    def from_evaluation(
        cls, evaluation: Evaluation, by: Sequence[str] = ("site_id", "screening_month")
    ) -> PatternCounts:
        from screenkit.evaluate import _fail_matrix, _unknown_matrix

        protocol = evaluation.protocol
        fails = _fail_matrix(evaluation.statuses)
        unknown = _unknown_matrix(evaluation.statuses)
        keys = _group_keys(evaluation.data, by)
        return cls.from_matrices(
            fails,
            unknown,
            keys,
            criteria=tuple(protocol.ids),
            labels=tuple(c.label for c in protocol.criteria),
            kinds=tuple(c.kind for c in protocol.criteria),
            protocol_id=protocol.id,
        )

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
        """Count distinct rows of (fails, unknown, keys); one row per patient in."""
        n, k = fails.shape
        codes = []
        uniques = []
        for name in keys.columns:
            c, u = pd.factorize(keys[name], use_na_sentinel=False)
            codes.append(c.astype(np.int64))
            uniques.append(u)
        packed = [_pack(fails), _pack(unknown), *[c[:, None] for c in codes]]
        matrix = np.concatenate(packed, axis=1) if n else np.zeros((0, 1), np.int64)
        rows, inverse, counts = np.unique(matrix, axis=0, return_inverse=True, return_counts=True)
        first = np.zeros(len(rows), dtype=np.int64)
        first[inverse.ravel()[::-1]] = np.arange(n)[::-1]
        groups = pd.DataFrame(
            {name: np.asarray(keys[name].to_numpy(dtype=object))[first] for name in keys.columns}
        )
        return cls(
            criteria=tuple(criteria),
            labels=tuple(labels or criteria),
            kinds=tuple(kinds or ["inclusion"] * k),
            fails=fails[first] if n else np.zeros((0, k), bool),
            unknown=unknown[first] if n else np.zeros((0, k), bool),
            counts=counts.astype(np.int64),
            groups=groups,
            protocol_id=protocol_id,
        )

    # ------------------------------------------------------------ subsets
    @property
    def screened(self) -> int:
        return int(self.counts.sum())

    def where(self, mask: np.ndarray) -> PatternCounts:
        """The patterns where ``mask`` (one bool per pattern) holds."""
        mask = np.asarray(mask, bool)
        return PatternCounts(
            self.criteria,
            self.labels,
            self.kinds,
            self.fails[mask],
            self.unknown[mask],
            self.counts[mask],
            self.groups[mask].reset_index(drop=True),
            self.protocol_id,
        )

    def filter(self, **values: Iterable[Any] | None) -> PatternCounts:
        """Keep patterns whose group columns take one of the given values.

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
        """One row per pattern: group columns, ``fails`` and ``unknown`` (IDs), ``patients``."""
        ids = np.array(self.criteria, dtype=object)
        return pd.concat(
            [
                self.groups,
                pd.DataFrame(
                    {
                        "fails": ["; ".join(ids[row]) for row in self.fails],
                        "unknown": ["; ".join(ids[row]) for row in self.unknown],
                        "patients": self.counts,
                    }
                ),
            ],
            axis=1,
        )

    def _repr_html_(self) -> str:
        return (
            f"<p>{len(self.counts)} distinct patterns over {self.screened} patients</p>"
            + self.to_frame().sort_values("patients", ascending=False).head(20).to_html()
        )


def _pack(matrix: np.ndarray) -> np.ndarray:
    """Pack bool columns into int64 words (64 criteria a word)."""
    n, k = matrix.shape
    words = max(1, -(-k // 64))
    padded = np.zeros((n, words * 64), bool)
    padded[:, :k] = matrix
    return np.packbits(padded, axis=1).view(">u8").astype(np.int64)


def _group_keys(data: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    keys = {}
    for name in by:
        if name == "screening_month":
            if "screening_date" in data.columns:
                dates = pd.to_datetime(data["screening_date"])
                month = dates.dt.strftime("%Y-%m").astype(object)
                keys[name] = month.where(dates.notna(), NO_DATE).to_numpy(dtype=object)
            else:
                keys[name] = np.full(len(data), NO_DATE, dtype=object)
        elif name == "site_id":
            if "site_id" in data.columns:
                site = data["site_id"].astype(object)
                keys[name] = site.where(site.notna(), NO_SITE).to_numpy(dtype=object)
            else:
                keys[name] = np.full(len(data), NO_SITE, dtype=object)
        elif name in data.columns:
            keys[name] = data[name].astype(object).to_numpy(dtype=object)
        else:
            raise ScreenkitError(
                f"Cannot group by {name!r}: not a column of the data",
                accepted="site_id, screening_month, or a column of the data",
            )
    return pd.DataFrame(keys, index=pd.RangeIndex(len(data)))


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
    steps: pd.DataFrame = field(repr=False)
    criteria: pd.DataFrame = field(repr=False)
    screened: int = 0
    eligible: int = 0
    screen_failed: int = 0
    pending: int = 0

    def headline(self) -> dict[str, int]:
        return {
            "screened": self.screened,
            "eligible": self.eligible,
            "screen_failed": self.screen_failed,
            "pending": self.pending,
        }

    def headline_text(self) -> str:
        """One line: ``400 screened: 120 eligible (30.0%), ...``."""
        n = self.screened

        def pct(x: int) -> str:
            return f"{100 * x / n:.1f}%" if n else "n/a"

        return (
            f"{n} screened: {self.eligible} eligible ({pct(self.eligible)}), "
            f"{self.screen_failed} screen-failed ({pct(self.screen_failed)}), "
            f"{self.pending} pending ({pct(self.pending)})"
        )

    def combinations(self, top: int = 10) -> pd.DataFrame:
        """The most frequent sets of failed (active) criteria among screen-failed patients."""
        active = self._active_mask()
        f = self.patterns.fails & active
        failing = f.any(axis=1)
        if not failing.any():
            return pd.DataFrame(columns=["criteria", "n_criteria", "patients", "pct_of_failed"])
        ids = np.array(self.patterns.criteria, dtype=object)
        labels = np.array(["; ".join(ids[row]) for row in f[failing]], dtype=object)
        table = (
            pd.DataFrame({"criteria": labels, "patients": self.patterns.counts[failing]})
            .groupby("criteria", sort=False)["patients"]
            .sum()
            .reset_index()
        )
        table["n_criteria"] = table["criteria"].str.count(";") + 1
        table["pct_of_failed"] = 100 * table["patients"] / max(self.screen_failed, 1)
        table = table.sort_values(["patients", "n_criteria"], ascending=[False, True])
        return (
            table[["criteria", "n_criteria", "patients", "pct_of_failed"]]
            .head(top)
            .reset_index(drop=True)
        )

    def by(self, group: str = "site_id") -> pd.DataFrame:
        """Headline per group (``site_id`` or ``screening_month``) with a 95% Wilson CI
        of the screen-fail rate; every group's counts add up to its screened."""
        status = _status_codes(self.patterns, self._active_mask())
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
        return table.sort_index().reset_index()

    def by_site(self) -> pd.DataFrame:
        return self.by("site_id")

    def by_month(self) -> pd.DataFrame:
        return self.by("screening_month")

    def fails_by(self, group: str = "site_id") -> pd.DataFrame:
        """Groups x criteria: patients failing each criterion (all, not only the first)."""
        frame = pd.DataFrame(
            self.patterns.fails * self.patterns.counts[:, None], columns=self.patterns.criteria
        )
        frame[group] = self.patterns.groups[group].to_numpy()
        return frame.groupby(group).sum().sort_index()

    def to_frame(self) -> pd.DataFrame:
        """The sequential attrition (``steps``) as a plain DataFrame."""
        return self.steps.copy()

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``screenkit report --json``."""
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
                    "attribution": float(row.attribution),
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


def _status_codes(patterns: PatternCounts, active: np.ndarray) -> np.ndarray:
    """0 eligible, 1 screen_failed, 2 pending, per pattern."""
    failed = (patterns.fails & active).any(axis=1)
    unknown = (patterns.unknown & active).any(axis=1)
    return np.where(failed, 1, np.where(unknown, 2, 0))


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
    active = np.array([c not in excluded for c in ids])
    counts = patterns.counts
    fails = patterns.fails
    screened = int(counts.sum())

    # sequential attrition: each pattern leaves at its first failing criterion in order
    cols = np.array([index[c] for c in active_order], dtype=np.int64)
    ordered = fails[:, cols] if len(cols) else np.zeros((len(counts), 0), bool)
    any_fail = ordered.any(axis=1)
    first = np.full(len(counts), len(cols), dtype=np.int64)
    if len(cols):
        first = np.where(any_fail, ordered.argmax(axis=1), len(cols))
    excluded_at = np.bincount(first, weights=counts, minlength=len(cols) + 1)[: len(cols)]
    excluded_at = excluded_at.astype(np.int64)
    remaining = screened - np.cumsum(excluded_at)
    steps = pd.DataFrame(
        {
            "step": np.arange(1, len(cols) + 1),
            "criterion": active_order,
            "label": [patterns.labels[i] for i in cols],
            "kind": [patterns.kinds[i] for i in cols],
            "excluded": excluded_at,
            "remaining": remaining,
            "remaining_pct": 100 * remaining / screened if screened else np.nan,
        }
    )

    # order-free per-criterion figures
    f_active = fails & active
    n_fail = f_active.sum(axis=1)
    share = np.divide(counts, n_fail, out=np.zeros(len(counts)), where=n_fail > 0)
    only = n_fail == 1
    fails_total = counts @ fails
    low, high = wilson_interval(fails_total, np.full(len(ids), screened))
    criteria = pd.DataFrame(
        {
            "criterion": ids,
            "label": list(patterns.labels),
            "kind": list(patterns.kinds),
            "active": active,
            "fails": fails_total.astype(np.int64),
            "unknown": (counts @ patterns.unknown).astype(np.int64),
            "fails_only": (counts @ (f_active & only[:, None])).astype(np.int64),
            "attribution": share @ f_active,
            "fail_rate": fails_total / screened if screened else np.nan,
            "fail_rate_ci_low": low,
            "fail_rate_ci_high": high,
        }
    )
    status = _status_codes(patterns, active)
    totals = np.bincount(status, weights=counts, minlength=3).astype(np.int64)
    return Funnel(
        patterns=patterns,
        order=tuple(active_order),
        excluded=excluded,
        steps=steps,
        criteria=criteria,
        screened=screened,
        eligible=int(totals[0]),
        screen_failed=int(totals[1]),
        pending=int(totals[2]),
    )
