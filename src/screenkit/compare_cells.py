"""The paired cells of a comparison and their statistics (see :mod:`screenkit.compare`).

Given each patient's status under protocol A and under protocol B (``eligible`` /
``screen_failed`` / ``pending``, matched by row), this module computes the cell of each
patient, the 3 x 3 crosstab, the paired differences in the proportion eligible, the cells
per site and the criteria that explain the discordant cells. :func:`screenkit.compare`
puts them together into a :class:`~screenkit.compare.Comparison`.

>>> import numpy as np
>>> a = np.array(["eligible", "eligible", "screen_failed", "pending"])
>>> b = np.array(["eligible", "screen_failed", "eligible", "eligible"])
>>> paired_cells(a, b, pd.RangeIndex(4)).tolist()
['both', 'only_a', 'only_b', 'pending']
>>> decided, every = paired_differences(a, b, paired_cells(a, b, pd.RangeIndex(4)))
>>> decided.n, decided.eligible_a, decided.eligible_b, every.n, every.eligible_b
(3, 2, 2, 4, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from screenkit.groups import NO_SITE, site_order
from screenkit.stats import newcombe_paired_interval
from screenkit.status import STATUSES
from screenkit.style import percent

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation

__all__ = [
    "CELLS",
    "CELL_TEXT",
    "NO_SITE",
    "PENDING_DETAIL",
    "PairedDifference",
    "cells_by_site",
    "explaining_criteria",
    "paired_cells",
    "paired_differences",
    "status_crosstab",
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

    @classmethod
    def from_counts(
        cls,
        denominator: str,
        both: int,
        only_a: int,
        only_b: int,
        neither: int,
        confidence: float = 0.95,
    ) -> PairedDifference:
        """The difference of a 2 x 2 of paired outcomes (eligible under A / B or not).

        >>> d = PairedDifference.from_counts("decided under both", 40, 5, 15, 40)
        >>> d.n, d.eligible_a, d.eligible_b, round(d.difference, 2)
        (100, 45, 55, 0.1)
        """
        both, only_a, only_b, neither = (int(v) for v in (both, only_a, only_b, neither))
        return cls(
            denominator,
            both + only_a + only_b + neither,
            both,
            only_a,
            only_b,
            neither,
            both + only_a,
            both + only_b,
            # B minus A: B is the "first" proportion of the paired interval
            *newcombe_paired_interval(both, only_b, only_a, neither, confidence),
            confidence=confidence,
        )


def paired_cells(status_a: np.ndarray, status_b: np.ndarray, index: pd.Index) -> pd.Series:
    """The cell of each patient (the rule of :mod:`screenkit.compare`'s docstring)."""
    elig_a, elig_b = status_a == "eligible", status_b == "eligible"
    fail_a, fail_b = status_a == "screen_failed", status_b == "screen_failed"
    code = np.select(
        [elig_a & elig_b, elig_a & fail_b, fail_a & elig_b, fail_a & fail_b],
        [0, 1, 2, 3],
        default=4,  # pending under at least one
    )
    return pd.Series(pd.Categorical.from_codes(code, dtype=_CELL_DTYPE), index=index, name="cell")


def status_crosstab(status_a: np.ndarray, status_b: np.ndarray) -> pd.DataFrame:
    """The 3 x 3 counts: status under A (rows, ``A``) x status under B (columns, ``B``)."""
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
    return crosstab


def paired_differences(
    status_a: np.ndarray, status_b: np.ndarray, cells: pd.Series, confidence: float = 0.95
) -> tuple[PairedDifference, PairedDifference]:
    """B minus A in the proportion eligible: among the patients decided under both, and
    among all screened with pending counted as not eligible."""
    counts = cells.value_counts()
    decided = PairedDifference.from_counts(
        "decided under both",
        *(counts.get(c, 0) for c in ("both", "only_a", "only_b", "neither")),
        confidence=confidence,
    )
    elig_a = status_a == "eligible"
    elig_b = status_b == "eligible"
    every = PairedDifference.from_counts(
        "all screened (pending counted as not eligible)",
        (elig_a & elig_b).sum(),
        (elig_a & ~elig_b).sum(),
        (~elig_a & elig_b).sum(),
        (~elig_a & ~elig_b).sum(),
        confidence=confidence,
    )
    return decided, every


def explaining_criteria(
    evaluation_a: Evaluation, evaluation_b: Evaluation, cells: pd.Series
) -> pd.DataFrame:
    """For ``only_a`` the criteria of B those patients fail, for ``only_b`` those of A:
    ``cell``, ``protocol``, ``criterion``, ``label``, ``fails``, ``fails_only``,
    ``patients`` (the size of the cell), most failed first."""
    return pd.concat(
        [
            _explained(evaluation_b, cells == "only_a", "only_a"),
            _explained(evaluation_a, cells == "only_b", "only_b"),
        ],
        ignore_index=True,
    )


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


def cells_by_site(data: pd.DataFrame, cells: pd.Series) -> pd.DataFrame:
    """The five cells per site (patients without a site in their own row)."""
    if "site_id" in data.columns:
        site = data["site_id"].astype("string").fillna(NO_SITE)
    else:
        site = pd.Series(NO_SITE, index=cells.index, dtype="string")
    table = pd.crosstab(site.to_numpy(), cells, dropna=False).reindex(
        columns=list(CELLS), fill_value=0
    )
    table = table.reindex(site_order(table.index)).astype(int)
    table.insert(0, "screened", table.sum(axis=1))
    table.index.name = "site_id"
    table.columns.name = None
    return table.reset_index()
