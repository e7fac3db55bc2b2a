"""Which column a threshold is about, under which condition: the comparisons it makes.

The nearest name before the comparator that fits the unit wins (``platelet count (PLT) ≥
75×10^9/L``); then a name right after the number (``at least two prior lines``); then a
name earlier in the clause; a limit opening its clause carries the previous column
(``AST ≤ 2.5 × ULN; ≤ 5 × ULN with liver metastases``). A condition is read from ``for
patients with ...,`` before the threshold or ``with ...`` / ``(male)`` after it.

>>> from screenkit.draft.criteria import DraftState
>>> from screenkit.draft.text import Record
>>> from screenkit.draft.thresholds import find_thresholds
>>> text = "for patients with liver metastasis, AST and ALT < 5×ULN"
>>> state = DraftState(Record(text))
>>> [(c.column, c.condition) for c in comparisons(state, "inclusion", text,
...                                              find_thresholds(text)[0], 0)]
[('ast', 'liver_mets'), ('alt', 'liver_mets')]
"""

from __future__ import annotations

import re
from dataclasses import replace

from screenkit.columns import COLUMNS
from screenkit.draft.criteria import Comparison, DraftState, clean_number
from screenkit.draft.names import (
    DERIVED,
    AliasMatch,
    alias_matches,
    canonical_unit,
    propose_column,
    unit_factor,
)
from screenkit.draft.thresholds import Threshold, unit_before

__all__ = ["comparisons"]

_CONDITION_BEFORE = re.compile(
    r"(?:for|in)\s+(?:patients|subjects|participants|those)\s+with\s+(?P<cond>[^,;:]+?)\s*,\s*"
    r"(?:[^,;]*)$",
    re.IGNORECASE,
)
_CONDITION_AFTER = re.compile(
    r"^\s*(?:\((?P<sex>male|female|men|women|males|females)\)"
    r"|(?:(?:for|in)\s+(?:patients|subjects|participants)?\s*)?with\s+(?P<cond>[^,;:()]+))",
    re.IGNORECASE,
)


def _subject(text: str, start: int, end: int, unit: str | None, window: int):
    """Columns a threshold at ``text[start:end]`` names: ``(matches, confidence, review)``.

    The nearest fitting name before the comparator (after the previous threshold, at
    ``window``) wins; then a name right after the number ("at least two prior lines");
    then a name earlier in the clause. Yes/no columns are never a threshold's subject."""

    def fits(match: AliasMatch) -> bool:
        return match.new or unit_factor(match.column, unit) is not None

    before = [m for m in alias_matches(text[:start]) if not _is_bool(m.column)]
    near = [m for m in before if m.start >= window]
    for pick in reversed(near):
        if not fits(pick):
            continue
        chosen = [max((m for m in near if m.end == pick.end), key=lambda m: m.end - m.start)]
        # "AST and ALT < 5 x ULN", "Amylase and lipase <= 1.5 x ULN": both subjects
        rest = [m for m in near if m.end <= chosen[0].start]
        while rest and re.fullmatch(r"\s*(?:and|,|/)\s*", text[rest[-1].end : chosen[0].start]):
            widest = max((m for m in rest if m.end == rest[-1].end), key=lambda m: m.end - m.start)
            if not fits(widest):
                break
            chosen.insert(0, widest)
            rest = [m for m in rest if m.end <= widest.start]
        return chosen, "high", []
    stop = re.search(r"[,;:.(]|\b(?:and|or)\b", text[end:])
    ahead_text = text[end : end + (stop.start() if stop else 40)][:40]
    ahead = [m for m in alias_matches(ahead_text) if fits(m) and not _is_bool(m.column)]
    if ahead:
        m = ahead[0]
        return [AliasMatch(m.column, end + m.start, end + m.end, m.new)], "high", []
    if near:
        last = near[-1]
        sibling = _sibling(last.column, unit)
        if sibling:
            named = text[last.start : last.end]
            review = [f"column {sibling} chosen for the unit {unit} next to '{named}'"]
            return [AliasMatch(sibling, last.start, last.end)], "medium", review
    far = [m for m in before if m.start < window and fits(m)]
    if far:
        named = text[far[-1].start : far[-1].end]
        return [far[-1]], "medium", [f"column named earlier in the sentence ('{named}')"]
    return [], "low", []


def _is_bool(column: str) -> bool:
    col = COLUMNS.get(column)
    return col is not None and col.kind == "bool"


def _sibling(column: str, unit: str | None) -> str | None:
    """A canonical column sharing ``column``'s first word whose unit fits (steroid_days for
    "for more than 3 days" after a steroid dose)."""
    head = column.split("_")[0]
    for name in COLUMNS:
        if name == column or _is_bool(name) or name.split("_")[0] != head:
            continue
        if unit_factor(name, unit) is not None:
            return name
    return None


def _condition(text: str, start: int, end: int, state: DraftState) -> tuple[str | None, str, list]:
    """The condition a threshold carries: ``(rule, name for the parameter, review)``."""
    after = _CONDITION_AFTER.match(text[end:])
    cond_text = None
    if after and after.group("sex"):
        sex = "M" if after.group("sex").lower().startswith(("male", "men")) else "F"
        return f'sex == "{sex}"', "male" if sex == "M" else "female", []
    if after and after.group("cond"):
        cond_text = after.group("cond")
    else:
        before = _CONDITION_BEFORE.search(text[:start])
        if before:
            cond_text = before.group("cond")
    if cond_text is None:
        return None, "", []
    bools = [
        m
        for m in alias_matches(cond_text)
        if COLUMNS.get(m.column) and COLUMNS[m.column].kind == "bool"
    ]
    if bools:
        return bools[0].column, bools[0].column, []
    name = propose_column(cond_text, state.new_columns)
    state.new_columns.add(name)
    return (
        name,
        name,
        [f"condition '{cond_text.strip()}' has no canonical column: new column {name}"],
    )


def _suffix(kind: str, op: str) -> str:
    if kind == "inclusion":
        return "min" if op in (">=", ">") else "max"
    return {">=": "excl_from", ">": "excl_above", "<=": "excl_upto", "<": "excl_below"}[op]


def comparisons(
    state: DraftState, kind: str, text: str, t: Threshold, window: int
) -> list[Comparison]:
    """The comparisons threshold ``t`` of ``text`` makes (one per subject: "AST and ALT");
    ``window`` is where the text about it starts (after the previous threshold)."""
    if t.unit is None and unit_before(text[window : t.start]):
        t = replace(t, unit=unit_before(text[window : t.start]))
    subjects, confidence, review = _subject(text, t.start, t.end, t.unit, window)
    out = []
    carried = state.last_column
    opens = not text[window : t.start].strip()
    if (
        not subjects
        and opens
        and carried
        and (carried not in COLUMNS or unit_factor(carried, t.unit) is not None)
    ):
        # "AST <= 2.5 x ULN; <= 5 x ULN with liver metastases": the same column
        subjects = [AliasMatch(carried, t.start, t.start, carried not in COLUMNS)]
        confidence = "medium"
        review = [f"no name before '{t.written.strip()}': column {carried} carried over"]
    if not subjects:
        words = text[window : t.start]
        if propose_column(words, set()) == "criterion" and state.last_column:
            unit = re.sub(r"[^a-z0-9]+", "_", (t.unit or "value").lower()).strip("_")
            words = f"{state.last_column} {unit}"
        name = propose_column(words, state.new_columns, last=True)
        state.new_columns.add(name)
        subjects = [AliasMatch(name, t.start, t.start, True)]
        review = [
            f"'{words.strip() or text[: t.start].strip()}' has no canonical column: "
            f"new column {name}"
        ]
    cond, cond_name, cond_review = _condition(text, t.start, t.end, state)
    for s in subjects:
        column = s.column
        new = s.new or (column not in COLUMNS and column not in DERIVED)
        notes = list(review) + list(cond_review)
        factor = 1.0 if new else unit_factor(column, t.unit)
        value, unit = t.value, t.unit
        if new:
            state.new_columns.add(column)
            if not any("new column" in r for r in notes):
                notes.append(
                    f"'{text[s.start : s.end]}' has no canonical column: new column {column}"
                )
        elif t.unit not in ("x ULN", "grade"):
            unit = canonical_unit(column)
            value = t.value * (factor or 1.0)
            if factor is not None and abs(factor - 1) > 1e-12:
                value = float(f"{value:.4g}")  # 3 months = 13.04 weeks
            if t.unit is not None and factor is not None and abs(factor - 1) > 1e-12:
                notes.append(f"converted from {t.written.strip()} to {clean_number(value)} {unit}")
            elif t.unit is None and unit is not None:
                notes.append(f"no unit written; read as {unit}")
        if t.unit == "grade":
            unit = "grade"
        suffix = _suffix(kind, t.op) + ("_uln" if t.unit == "x ULN" else "")
        pname = f"{column}_{suffix}" + (f"_{cond_name}" if cond_name else "")
        shown = {"x ULN": " x ULN", "grade": "+", None: ""}.get(unit, f" {unit}")
        label = f"{text[s.start : s.end] or column} {t.op} {clean_number(value)}{shown}"
        param = state.parameter(pname, clean_number(value), unit, column, label)
        c = Comparison(
            column,
            t.op,
            param,
            clean_number(value),
            unit,
            t.written,
            text[s.start : s.end] or column,
            new,
            cond,
        )
        c.review = notes
        c.confidence = confidence if not new else "low"
        out.append(c)
        state.last_column = column
    return out
