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

The cells and their statistics are computed in :mod:`screenkit.compare_cells`, the
forecast in :mod:`screenkit.compare_forecast`; this module puts them together and shows
them (terminal text, JSON, HTML).

>>> import pandas as pd
>>> frame = pd.DataFrame({"patient_id": ["P1", "P2", "P3"],
...                       "largest_lesion_cm": pd.array([4.0, 6.0, 8.0], dtype="Float64")})
>>> c = compare(frame, "NCT07103668", "NCT07103668", params_b={"lesion_max_cm": 7},
...             forecast=False)
>>> c.counts()                  # every other criterion is unknown: all pending
{'screened': 3, 'both': 0, 'only_a': 0, 'only_b': 0, 'neither': 1, 'pending': 2}
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from screenkit.compare_cells import (
    CELL_TEXT,
    CELLS,
    PENDING_DETAIL,
    PairedDifference,
    cells_by_site,
    explaining_criteria,
    paired_cells,
    paired_differences,
    status_crosstab,
)
from screenkit.compare_forecast import ComparisonForecast, forecast_both
from screenkit.errors import ScreenkitError
from screenkit.evaluate import STATUSES, Evaluation, evaluate
from screenkit.protocol import Protocol, get_protocol
from screenkit.style import percent

__all__ = [
    "CELLS",
    "CELL_TEXT",
    "Comparison",
    "ComparisonForecast",
    "PairedDifference",
    "compare",
]


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
    cells = paired_cells(status_a, status_b, eval_a.statuses.index)
    decided, every = paired_differences(status_a, status_b, cells, confidence)
    result = None
    if forecast:
        result = forecast_both(eval_a, eval_b, target=target, n_sims=n_sims, seed=seed)
    return Comparison(
        evaluation_a=eval_a,
        evaluation_b=eval_b,
        cells=cells,
        crosstab=status_crosstab(status_a, status_b),
        explained_by=explaining_criteria(eval_a, eval_b, cells),
        by_site=cells_by_site(eval_a.data, cells),
        difference=decided,
        difference_all_screened=every,
        forecast=result,
        params_a=dict(params_a or {}),
        params_b=dict(params_b or {}),
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
