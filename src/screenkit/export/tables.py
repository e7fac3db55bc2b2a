"""The count tables of a report (headline, funnel, criteria, combinations, by site /
month) as display frames, with small-count suppression applied.

The keys of the counts and the equations between them (the suppression model) are in
:mod:`screenkit.export.suppression_model`; :func:`suppression_for` is re-exported here.

>>> import pandas as pd
>>> from screenkit.evaluate import evaluate
>>> from screenkit.funnel import funnel
>>> frame = pd.DataFrame({"spo2": pd.array([99, 95, 94], dtype="Float64")})
>>> f = funnel(evaluate(frame, "NCT07103668"))
>>> funnel_table(f, suppression_for(f, None)).frame["Remaining"].tolist()[:2]
[3, 3]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from screenkit import style
from screenkit.export.privacy import HIDDEN, Suppression
from screenkit.export.suppression_model import (
    COUNTS,
    OTHER_COMBINATIONS,
    combo_key,
    other_combinations,
    step_keys,
    suppression_for,
)
from screenkit.stats import wilson_interval

if TYPE_CHECKING:
    from screenkit.funnel import Funnel

__all__ = [
    "COUNTS",
    "STATUS_NAMES",
    "Table",
    "combinations_hidden",
    "combinations_table",
    "criteria_table",
    "funnel_table",
    "group_table",
    "headline_frame",
    "reasons_frame",
    "suppression_for",
]

STATUS_NAMES = {
    "screened": "Screened",
    "eligible": "Eligible",
    "screen_failed": "Screen-failed",
    "pending": "Pending",
}


@dataclass
class Table:
    """A display table: ``frame`` plus how to format each column.

    ``formats`` maps a column to ``count``, ``pct`` (a fraction shown as a percentage),
    ``decimal`` or ``text`` (default). ``total`` is an optional last row (a dict) that
    is not part of the filterable table.
    """

    name: str
    title: str
    note: str
    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    total: dict[str, Any] | None = None
    wrap: tuple[str, ...] = ()


def _pct_text(x: Any) -> str:
    return style.percent(x) if isinstance(x, float | int) and not pd.isna(x) else str(x)


# ---------------------------------------------------------------- tables
def headline_frame(f: Funnel, sup: Suppression) -> pd.DataFrame:
    """Screened / eligible / screen-failed / pending with % of screened and 95% CIs."""
    head = f.headline()
    n = head["screened"]
    hidden_n = sup.is_hidden(("headline", "screened"))
    rows = []
    for name in COUNTS:
        key = ("headline", name)
        low, high = wilson_interval(head[name], n)
        masked = sup.is_hidden(key) or hidden_n
        first = name == "screened"
        rows.append(
            {
                "Status": STATUS_NAMES[name],
                "Patients": sup.show(key, head[name]),
                "% of screened": HIDDEN if masked else (head[name] / n if n else None),
                "95% CI low": None if first else HIDDEN if masked else low,
                "95% CI high": None if first else HIDDEN if masked else high,
            }
        )
    return pd.DataFrame(rows)


def headline_sentence(headline: pd.DataFrame) -> str:
    parts = []
    for row in headline.itertuples(index=False):
        count, pct = row[1], row[2]
        text = f"{count} {row[0].lower()}"
        if row[0] != "Screened" and isinstance(pct, float) and not pd.isna(pct):
            text += f" ({style.percent(pct)})"
        parts.append(text)
    return f"{parts[0]}: " + ", ".join(parts[1:])


def combinations_hidden(f: Funnel, sup: Suppression, combos: pd.DataFrame) -> bool:
    """Whether the Combinations table hides any count."""
    keys = [combo_key(c) for c in combos["criteria"]]
    keys += [OTHER_COMBINATIONS] if other_combinations(f, combos) else []
    return any(sup.is_hidden(key) for key in keys)


def criteria_table(
    f: Funnel, sup: Suppression, parameters: dict[str, str], *, hide_shares: bool = False
) -> Table:
    """Per criterion: fails, unknown, fails only this, equal share, fail rate + 95% CI.

    ``hide_shares`` hides every share: a share is a sum of combination counts divided by
    their sizes, so beside a hidden combination (:func:`combinations_hidden`) the shares
    and their total would let a reader work it out.
    """
    hidden_n = sup.is_hidden(("headline", "screened"))
    crit = f.criteria
    # a share lies between fails_only + (fails - fails_only) / m and (fails + fails_only) / 2
    # (m = criteria in the funnel), so beside a hidden fails-only count it would bound it
    attribution_hidden = {
        cid
        for cid in crit["criterion"]
        if hide_shares
        or sup.is_hidden(("criterion", cid, "fails"))
        or sup.is_hidden(("criterion", cid, "fails_only"))
    }
    # the shares add up to the screen-failed total: never hide exactly one of them
    if len(attribution_hidden) == 1 and not sup.is_hidden(("headline", "screen_failed")):
        shown_active = crit[crit["active"] & ~crit["criterion"].isin(attribution_hidden)]
        if len(shown_active):
            attribution_hidden.add(shown_active.sort_values("attribution")["criterion"].iloc[0])
    rows = []
    for row in crit.itertuples(index=False):
        cid = row.criterion
        fails_key = ("criterion", cid, "fails")
        rate_hidden = sup.is_hidden(fails_key) or hidden_n
        rows.append(
            {
                "Criterion": cid,
                "Kind": row.kind,
                "Label": row.label,
                "Parameters used": parameters.get(cid, ""),
                "In funnel": "yes" if row.active else "switched off",
                "Fails": sup.show(fails_key, int(row.fails)),
                "Unknown": sup.show(("criterion", cid, "unknown"), int(row.unknown)),
                "Fails only this": sup.show(("criterion", cid, "fails_only"), int(row.fails_only)),
                "Share of screen failures": HIDDEN
                if cid in attribution_hidden
                else float(row.attribution),
                "Fail rate": HIDDEN if rate_hidden else row.fail_rate,
                "95% CI low": HIDDEN if rate_hidden else row.fail_rate_ci_low,
                "95% CI high": HIDDEN if rate_hidden else row.fail_rate_ci_high,
            }
        )
    return Table(
        "Criteria",
        "Per criterion",
        "Fails = patients failing this criterion (whatever else they fail); Unknown = a "
        "value needed is missing; Fails only this = patients who would become eligible or "
        "pending if this criterion were dropped; Share of screen failures = each "
        "screen-failed patient shared equally among the criteria they fail (the column "
        "adds up to the screen-failed total). Fail rate = fails / screened with a 95% "
        "Wilson interval."
        + (
            " Shares are not shown: some combination counts are hidden, and shares (sums "
            "of combinations divided by their sizes) would let a reader work them out."
            if hide_shares
            else ""
        ),
        pd.DataFrame(rows),
        {
            "Fails": "count",
            "Unknown": "count",
            "Fails only this": "count",
            "Share of screen failures": "decimal",
            "Fail rate": "pct",
            "95% CI low": "pct",
            "95% CI high": "pct",
        },
        total={
            "Criterion": "Total",
            "Share of screen failures": sup.show(("headline", "screen_failed"), f.screen_failed),
        },
        wrap=("Label", "Parameters used"),
    )


def funnel_table(f: Funnel, sup: Suppression) -> Table:
    """Sequential attrition, starting from all screened patients (step 0)."""
    n = f.screened
    hidden_n = sup.is_hidden(("headline", "screened"))
    rows = [
        {
            "Step": 0,
            "Criterion": "Screened",
            "Label": "All screened patients",
            "Kind": "",
            "Excluded at this step": None,
            "Remaining": sup.show(("headline", "screened"), n),
            "Remaining % of screened": HIDDEN if hidden_n else (1.0 if n else None),
        }
    ]
    for step in f.steps.itertuples(index=False):
        x_key, r_key = step_keys(step.step, step.criterion)
        r_hidden = sup.is_hidden(r_key) or hidden_n
        rows.append(
            {
                "Step": int(step.step),
                "Criterion": step.criterion,
                "Label": step.label,
                "Kind": step.kind,
                "Excluded at this step": sup.show(x_key, int(step.excluded)),
                "Remaining": sup.show(r_key, int(step.remaining)),
                "Remaining % of screened": HIDDEN
                if r_hidden
                else (step.remaining / n if n else None),
            }
        )
    order_note = (
        "protocol order"
        if list(f.order) == [c for c in f.patterns.criteria if c not in f.excluded]
        else "the order chosen for this report"
    )
    return Table(
        "Funnel",
        "Sequential attrition",
        f"Criteria applied one after another in {order_note}; each patient is counted once, "
        "at the first criterion they fail. Patients who pass every criterion but have "
        "unknown values remain (pending)."
        + (f" Switched off: {', '.join(f.excluded)}." if f.excluded else ""),
        pd.DataFrame(rows),
        {
            "Step": "count",
            "Excluded at this step": "count",
            "Remaining": "count",
            "Remaining % of screened": "pct",
        },
        wrap=("Label",),
    )


def combinations_table(f: Funnel, sup: Suppression, combos: pd.DataFrame, top: int) -> Table:
    """The most frequent sets of failed criteria."""
    labels = dict(zip(f.criteria["criterion"], f.criteria["label"], strict=True))
    hidden_failed = sup.is_hidden(("headline", "screen_failed"))
    rows = []
    for i, row in enumerate(combos.itertuples(index=False), start=1):
        key = combo_key(row.criteria)
        rows.append(
            {
                "Rank": i,
                "Criteria failed": row.criteria,
                "Labels": "; ".join(labels.get(c, c) for c in row.criteria.split("; ")),
                "Number of criteria": int(row.n_criteria),
                "Patients": sup.show(key, int(row.patients)),
                "% of screen-failed": HIDDEN
                if sup.is_hidden(key) or hidden_failed
                else row.pct_of_failed / 100,
            }
        )
    other = other_combinations(f, combos)
    if other:
        rows.append(
            {
                "Rank": None,
                "Criteria failed": OTHER_COMBINATIONS[1],
                "Labels": "every other set of failed criteria",
                "Number of criteria": None,
                "Patients": sup.show(OTHER_COMBINATIONS, other),
                "% of screen-failed": HIDDEN
                if sup.is_hidden(OTHER_COMBINATIONS) or hidden_failed
                else other / f.screen_failed,
            }
        )
    columns = [
        "Rank",
        "Criteria failed",
        "Labels",
        "Number of criteria",
        "Patients",
        "% of screen-failed",
    ]
    return Table(
        "Combinations",
        f"Most frequent sets of failed criteria (top {top})",
        "Each screen-failed patient is counted once, under the exact set of criteria they "
        "fail (among criteria in the funnel); with the last row, the table adds up to the "
        "screen-failed total.",
        pd.DataFrame(rows, columns=columns),
        {
            "Rank": "count",
            "Number of criteria": "count",
            "Patients": "count",
            "% of screen-failed": "pct",
        },
        total={
            "Criteria failed": "Total (screen-failed)",
            "Patients": sup.show(("headline", "screen_failed"), f.screen_failed),
        },
        wrap=("Labels",),
    )


def reasons_frame(f: Funnel, criteria: Table, top: int) -> pd.DataFrame:
    """Top criteria by equal-share attribution, each with one sentence (shown counts only)."""
    crit = f.criteria[f.criteria["active"] & (f.criteria["fails"] > 0)]
    crit = crit.sort_values(["attribution", "fails"], ascending=False).head(top)
    shown = criteria.frame.set_index("Criterion")
    failed = (criteria.total or {}).get("Share of screen failures", f.screen_failed)
    rows = []
    for rank, row in enumerate(crit.itertuples(index=False), start=1):
        d = shown.loc[row.criterion]
        fails, only, share = d["Fails"], d["Fails only this"], d["Share of screen failures"]
        if fails == HIDDEN or str(fails).startswith("<"):
            continue
        rate = d["Fail rate"]
        rate_text = (
            f" ({_pct_text(rate)} of screened, 95% CI {_pct_text(d['95% CI low'])} to "
            f"{_pct_text(d['95% CI high'])})"
            if rate != HIDDEN
            else ""
        )
        if isinstance(only, str):  # "<k" or hidden
            only_text = (
                f"fewer than {only[1:]} fail nothing else"
                if only.startswith("<")
                else "how many fail nothing else is not shown"
            )
        else:
            only_text = (
                f"{only} fail nothing else and would no longer be screen failures if it "
                "were dropped"
            )
        share_text = (
            f"; it accounts for {style.decimal_text(share)} of the {failed} screen failures "
            "when each failure is shared equally among the criteria failed"
            if isinstance(share, float)
            else ""
        )
        sentence = (
            f"{row.criterion} ({row.label}): {fails} patients fail it{rate_text}; "
            f"{only_text}{share_text}."
        )
        rows.append(
            {
                "Rank": rank,
                "Criterion": row.criterion,
                "Label": row.label,
                "Fails": fails,
                "Fails only this": only,
                "Share of screen failures": share,
                "Fail rate": rate,
                "In one sentence": sentence,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "Rank",
            "Criterion",
            "Label",
            "Fails",
            "Fails only this",
            "Share of screen failures",
            "Fail rate",
            "In one sentence",
        ],
    )


def group_table(
    name: str, group: str, table: pd.DataFrame, label: str, sup: Suppression, head: dict
) -> Table:
    """Outcome counts per site or month, with an All row (the headline)."""
    rows = []
    first = table.columns[0]
    for row in table.itertuples(index=False):
        g = getattr(row, first)
        keys = {c: (group, g, c) for c in COUNTS}
        masked = sup.is_hidden(keys["screened"]) or sup.is_hidden(keys["screen_failed"])
        rows.append(
            {
                label: str(g),
                **{STATUS_NAMES[c]: sup.show(keys[c], int(getattr(row, c))) for c in COUNTS},
                "Screen-fail rate": HIDDEN if masked else row.screen_fail_rate,
                "95% CI low": HIDDEN if masked else row.ci_low,
                "95% CI high": HIDDEN if masked else row.ci_high,
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            label,
            *STATUS_NAMES.values(),
            "Screen-fail rate",
            "95% CI low",
            "95% CI high",
        ],
    )
    n, failed = head["screened"], head["screen_failed"]
    masked = sup.is_hidden(("headline", "screened")) or sup.is_hidden(("headline", "screen_failed"))
    low, high = wilson_interval(failed, n)
    total = {
        label: "All",
        **{STATUS_NAMES[c]: sup.show(("headline", c), head[c]) for c in COUNTS},
        "Screen-fail rate": HIDDEN if masked else (failed / n if n else None),
        "95% CI low": HIDDEN if masked else low,
        "95% CI high": HIDDEN if masked else high,
    }
    what = "site" if group == "site" else "month of screening"
    return Table(
        name,
        f"Screening outcome by {what}",
        f"Screened = eligible + screen-failed + pending in every row; the All row is the "
        f"whole log. Screen-fail rate with a 95% Wilson interval per {what}.",
        frame,
        {
            **{STATUS_NAMES[c]: "count" for c in COUNTS},
            "Screen-fail rate": "pct",
            "95% CI low": "pct",
            "95% CI high": "pct",
        },
        total=total,
    )
