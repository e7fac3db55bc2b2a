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
from dataclasses import dataclass, field, replace
from functools import cached_property
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

    @classmethod
    def from_evaluation(
        cls, evaluation: Evaluation, by: Sequence[str] = ("site_id", "screening_month")
    ) -> PatternCounts:
        protocol = evaluation.protocol
        fails, unknown = evaluation.matrices()
        cache_key = ("groups", tuple(by))
        cached = evaluation._cache.get(cache_key)
        if cached is None:  # the data never change between what-if copies: group once
            cached = _group_codes(_group_keys(evaluation.data, by))
            evaluation._cache[cache_key] = cached
        group_id, group_table = cached
        return cls._from_codes(
            fails,
            unknown,
            group_id,
            group_table,
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
        """Count distinct rows of (fails, unknown, keys); one row per patient in.

        ``keys`` holds one column per grouping variable, one row per patient (any
        values; they are factorized, so a missing value is a group of its own).
        """
        group_id, group_table = _group_codes(keys)
        return cls._from_codes(
            fails,
            unknown,
            group_id,
            group_table,
            criteria=criteria,
            labels=labels,
            kinds=kinds,
            protocol_id=protocol_id,
        )

    @classmethod
    def _from_codes(
        cls, fails, unknown, group_id, group_table, *, criteria, labels, kinds, protocol_id
    ) -> PatternCounts:
        n, k = fails.shape
        words = np.concatenate([_pack(fails), _pack(unknown)], axis=1)
        core_id = _combine_codes([words[:, j] for j in range(words.shape[1])], n)
        n_groups = max(len(group_table), 1)
        row_id, _ = pd.factorize(core_id * n_groups + group_id)
        row_id = row_id.astype(np.int64)
        n_rows = int(row_id.max()) + 1 if n else 0
        counts = np.bincount(row_id, minlength=n_rows).astype(np.int64)
        first_row = _first_index(row_id, n_rows)
        n_core = int(core_id.max()) + 1 if n else 0
        first_core = _first_index(core_id, n_core)
        groups = group_table.iloc[group_id[first_row]].reset_index(drop=True)
        return cls(
            criteria=tuple(criteria),
            labels=tuple(labels or criteria),
            kinds=tuple(kinds or ["inclusion"] * k),
            core_fails=fails[first_core],
            core_unknown=unknown[first_core],
            pattern=core_id[first_row],
            counts=counts,
            groups=groups,
            protocol_id=protocol_id,
        )

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

    @cached_property
    def _unknown_f(self) -> np.ndarray:
        return self.core_unknown.astype(float)

    def core_counts(self) -> np.ndarray:
        """Patients per core pattern (summed over groups), as floats for fast products."""
        return np.bincount(self.pattern, weights=self.counts, minlength=len(self.core_fails))

    # ------------------------------------------------------------ subsets
    def where(self, mask: np.ndarray) -> PatternCounts:
        """The histogram rows where ``mask`` (one bool per row) holds."""
        mask = np.asarray(mask, bool)
        return replace(
            self,
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


def _pack(matrix: np.ndarray) -> np.ndarray:
    """Pack bool columns into int64 words (64 criteria a word)."""
    n, k = matrix.shape
    words = max(1, -(-k // 64))
    padded = np.zeros((n, words * 64), bool)
    padded[:, :k] = matrix
    return np.packbits(padded, axis=1).view(">u8").astype(np.int64)


def _combine_codes(columns: Sequence[np.ndarray], n: int) -> np.ndarray:
    """One dense id (0..m-1, in order of first appearance) per distinct row of the columns.

    Hash-based (``pd.factorize``) one column at a time; the running id stays below n, so
    ``id * cardinality + code`` never overflows int64.
    """
    ids = np.zeros(n, dtype=np.int64)
    for i, column in enumerate(columns):
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        if i == 0:
            ids = codes.astype(np.int64)
            continue
        ids, _ = pd.factorize(ids * len(uniques) + codes.astype(np.int64))
        ids = ids.astype(np.int64)
    return ids


def _group_codes(keys: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Per patient, a dense group id; and the table of group values (one row per id)."""
    n = len(keys)
    group_id = _combine_codes([keys[c].to_numpy(dtype=object) for c in keys.columns], n)
    n_groups = int(group_id.max()) + 1 if n else 0
    first = _first_index(group_id, n_groups)
    table = pd.DataFrame(
        {c: keys[c].to_numpy(dtype=object)[first] for c in keys.columns},
        index=pd.RangeIndex(n_groups),
    )
    return group_id, table


def _first_index(ids: np.ndarray, m: int) -> np.ndarray:
    """Index of the first occurrence of each id 0..m-1."""
    first = np.zeros(m, dtype=np.int64)
    first[ids[::-1]] = np.arange(len(ids) - 1, -1, -1)
    return first


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
        words = _pack(f)
        combo = _combine_codes([words[:, j] for j in range(words.shape[1])], len(f))
        patients = np.bincount(combo, weights=weights).astype(np.int64)
        first = _first_index(combo, len(patients))
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
        status = _status_codes(self.patterns, self._active_mask())[self.patterns.pattern]
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
        table = pd.DataFrame(
            (weights @ p.core_fails).round().astype(np.int64),
            index=pd.Index(uniques, name=group),
            columns=list(p.criteria),
        )
        return table

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
    """0 eligible, 1 screen_failed, 2 pending, per CORE pattern."""
    failed = (patterns.core_fails & active).any(axis=1)
    unknown = (patterns.core_unknown & active).any(axis=1)
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
    # everything below works on the distinct (fails, unknown) patterns, weighted by
    # their patient counts (zero for patterns filtered away), with float matrices so
    # that the sums are BLAS matrix-vector products
    counts = patterns.core_counts()
    fails, fails_f, unknown_f = patterns.core_fails, patterns._fails_f, patterns._unknown_f
    act = active.astype(float)
    screened = round(float(counts.sum()))

    # sequential attrition: each pattern leaves at its first failing criterion in order
    cols = np.array([index[c] for c in active_order], dtype=np.int64)
    first = np.full(len(counts), len(cols), dtype=np.int64)
    if len(cols):
        ordered = fails[:, cols]
        first = np.where(ordered.any(axis=1), ordered.argmax(axis=1), len(cols))
    excluded_at = np.bincount(first, weights=counts, minlength=len(cols) + 1)[: len(cols)]
    excluded_at = excluded_at.round().astype(np.int64)
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
    n_fail = fails_f @ act  # active criteria each pattern fails
    share = np.divide(counts, n_fail, out=np.zeros(len(counts)), where=n_fail > 0)
    only = counts * (n_fail == 1)
    fails_total = (counts @ fails_f).round()
    low, high = wilson_interval(fails_total, np.full(len(ids), screened))
    criteria = pd.DataFrame(
        {
            "criterion": ids,
            "label": list(patterns.labels),
            "kind": list(patterns.kinds),
            "active": active,
            "fails": fails_total.astype(np.int64),
            "unknown": (counts @ unknown_f).round().astype(np.int64),
            "fails_only": ((only @ fails_f) * act).round().astype(np.int64),
            "attribution": (share @ fails_f) * act,
            "fail_rate": fails_total / screened if screened else np.nan,
            "fail_rate_ci_low": low,
            "fail_rate_ci_high": high,
        }
    )
    failed = n_fail > 0
    pending = ~failed & ((unknown_f @ act) > 0)
    status = np.where(failed, 1, np.where(pending, 2, 0))
    totals = np.bincount(status, weights=counts, minlength=3).round().astype(np.int64)
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
