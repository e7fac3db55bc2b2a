"""The suppression model of a report: every count the tables show, as one linear system.

Every count a report shows has a key; a quantity shown in two places (a criterion's fails
and the first funnel step, a one-criterion combination and that criterion's fails-only,
the All rows and the headline) has one key, so it is hidden everywhere or nowhere.
:func:`suppression_for` lists the keys with the equations a reader knows between them and
hands them to :func:`screenkit.export.privacy.suppress`; the tables
(:mod:`screenkit.export.tables`) then show each count through ``Suppression.show``.

>>> import pandas as pd
>>> from screenkit.evaluate import evaluate
>>> from screenkit.funnel import funnel
>>> frame = pd.DataFrame({"spo2": pd.array([99, 95, 94, 93, 92, 91, 90, 99, 98],
...                                         dtype="Float64")})
>>> f = funnel(evaluate(frame, "NCT07103668"))
>>> sup = suppression_for(f, 3)
>>> sup.show(("headline", "screened"), f.screened), sup.active
(9, True)
>>> step_keys(1, "I1")
(('criterion', 'I1', 'fails'), ('step', 1, 'remaining'))
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

import pandas as pd

from screenkit.export.privacy import Suppression, suppress

if TYPE_CHECKING:
    from screenkit.funnel import Funnel

__all__ = [
    "COUNTS",
    "OTHER_COMBINATIONS",
    "combo_key",
    "other_combinations",
    "step_keys",
    "suppression_for",
]

COUNTS = ("screened", "eligible", "screen_failed", "pending")


def suppression_for(f: Funnel, k: int | None, combos: pd.DataFrame | None = None) -> Suppression:
    """One linear system for every count the report shows (shared quantities share keys)."""
    if k is None:
        return Suppression()
    if f.screened == 0:  # nobody screened: nothing about anyone to protect
        return Suppression(k=k)
    combos = f.combinations(20) if combos is None else combos
    values: dict[Hashable, int] = {}
    eqs: list[dict[Hashable, float]] = []
    head = f.headline()
    for name in COUNTS:
        values[("headline", name)] = head[name]
    eqs.append({("headline", n): 1 for n in COUNTS[1:]} | {("headline", "screened"): -1})
    for group, table in (("site", f.by_site()), ("month", f.by_month())):
        label = table.columns[0]
        for row in table.itertuples(index=False):
            g = getattr(row, label)
            for name in COUNTS:
                values[(group, g, name)] = int(getattr(row, name))
            eqs.append({(group, g, n): 1 for n in COUNTS[1:]} | {(group, g, "screened"): -1})
        for name in COUNTS:
            eqs.append({(group, g, name): 1 for g in table[label]} | {("headline", name): -1})
    crit = f.criteria.set_index("criterion")
    for cid, row in crit.iterrows():
        for name in ("fails", "unknown", "fails_only"):
            values[("criterion", cid, name)] = int(row[name])
    previous = ("headline", "screened")
    for step in f.steps.itertuples(index=False):
        excluded, remaining = step_keys(step.step, step.criterion)
        values[excluded] = int(step.excluded)
        values[remaining] = int(step.remaining)
        eqs.append({previous: 1, excluded: -1, remaining: -1})
        previous = remaining
    eqs.append({previous: 1, ("headline", "eligible"): -1, ("headline", "pending"): -1})
    # the Combinations table is a partition of the screen-failed patients: its rows (plus
    # "all other combinations" when the list is cut) add up to the screen-failed total
    listed = {combo_key(row.criteria): int(row.patients) for row in combos.itertuples()}
    sets = {combo_key(c): c.split("; ") for c in combos["criteria"]}  # the same keys
    values.update(listed)
    partition = dict.fromkeys(listed, 1) | {("headline", "screen_failed"): -1}
    other = other_combinations(f, combos)
    if other:
        values[OTHER_COMBINATIONS] = other
        partition[OTHER_COMBINATIONS] = 1
    latent: set[Hashable] = set()
    disclosed: set[Hashable] = set()
    if listed:
        eqs.append(partition)
        # across tables: a criterion's fails, and the patients excluded at a funnel step,
        # are the listed combinations with it (first in the order) plus unlisted ones
        first = {c: i for i, c in enumerate(f.order)}
        for row in f.steps.itertuples(index=False):
            cid = row.criterion
            fails_key, step_key = ("criterion", cid, "fails"), step_keys(row.step, cid)[0]
            pairs = [(fails_key, [key for key, ids in sets.items() if cid in ids])]
            if step_key != fails_key:
                at = [key for key, ids in sets.items() if min(first[c] for c in ids) == first[cid]]
                pairs.append((step_key, at))
            for total_key, parts in pairs:
                eq = {total_key: 1, **dict.fromkeys(parts, -1)}
                if other:  # the unlisted part: a slack the reader knows only to be >= 0
                    rest = ("unlisted", total_key)
                    values[rest] = values[total_key] - sum(listed[key] for key in parts)
                    latent.add(rest)
                    eq[rest] = -1
                elif not parts:  # every combination listed, none with it: nobody
                    disclosed.add(total_key)
                eqs.append(eq)
        # and "all other combinations" holds every unlisted single-criterion failure
        if not other:
            disclosed |= {("criterion", c, "fails_only") for c in f.order} - set(listed)
        else:
            singles = [
                ("criterion", cid, "fails_only")
                for cid in f.order
                if ("criterion", cid, "fails_only") not in listed
            ]
            rest = ("unlisted", OTHER_COMBINATIONS)
            values[rest] = other - sum(values[key] for key in singles)
            latent.add(rest)
            eqs.append({OTHER_COMBINATIONS: 1, **dict.fromkeys(singles, -1), rest: -1})
    totals = {("headline", name) for name in COUNTS}
    return suppress(
        values,
        eqs,
        k,
        keep_shown=totals,
        latent=latent,
        at_least_one=set(listed) | ({OTHER_COMBINATIONS} if other else set()),  # listed rows
        disclosed=disclosed,
    )


OTHER_COMBINATIONS = ("combination", "(all other combinations)")


def other_combinations(f: Funnel, combos: pd.DataFrame) -> int:
    """Screen-failed patients whose set of failed criteria is not among ``combos``."""
    return int(f.screen_failed - combos["patients"].sum()) if len(combos) else 0


def combo_key(criteria: str) -> tuple:
    ids = criteria.split("; ")
    return ("criterion", ids[0], "fails_only") if len(ids) == 1 else ("combination", criteria)


def step_keys(step: int, criterion: str) -> tuple[tuple, tuple]:
    excluded = ("criterion", criterion, "fails") if step == 1 else ("step", step, "x")
    return excluded, ("step", step, "remaining")
