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
# "in known hepatic metastases", "if liver metastasis": read only when they name a
# yes/no column
_CONDITION_IN = re.compile(
    r"^\s*(?:(?:in|if|for)\s+(?:the\s+)?(?:case\s+of\s+|presence\s+of\s+)?(?:known\s+)?"
    r"|due\s+to\s+)(?P<cond>[^,;:()]+)",
    re.IGNORECASE,
)
# "If due to liver metastasis, the above ... within 5 times the ULN": read only when it
# names a yes/no column
_CONDITION_IF = re.compile(
    r"^\s*if\s+(?:due\s+to\s+|caused\s+by\s+|there\s+(?:is|are)\s+)?(?P<cond>[^,;:]+?)\s*,",
    re.IGNORECASE,
)
# "the above indicators", "these values": the previous threshold's subjects
_BACK_REFERENCE = re.compile(
    r"\b(?:the\s+above|these|such)\s+(?:indicators?|values?|parameters?|tests?|levels?)\b", re.I
)
_CONDITION_AFTER = re.compile(
    r"^\s*(?:(?:\(|(?:for|in)\s+)(?P<sex>males?|females?|men|women)\b\)?"
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
        # "AST and ALT < 5 x ULN", "ALT、AST", "AST and/or ALT", "Aspartate
        # aminotransferase (AST) and Alanine Aminotransferase (ALT)": every subject, once
        head = chosen[0].start
        rest = [m for m in near if m.end <= head]
        while rest:
            widest = max((m for m in rest if m.end == rest[-1].end), key=lambda m: m.end - m.start)
            gap = text[widest.end : head]
            same = any(c.column == widest.column for c in chosen)
            if same and re.fullmatch(r"\s*[(/]?\s*", gap):
                pass  # "Name (ABBR)", "SaO2/SpO2": the same subject written twice
            elif not re.fullmatch(_JOINER, gap) or not fits(widest):
                break
            elif not same:
                chosen.insert(0, widest)
            head = widest.start
            rest = [m for m in rest if m.end <= head]
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


_JOINER = r"\s*\)?\s*(?:and\s*/\s*or|and|or|,|/|、|&)\s*"
# "≤ 12 days since illness onset", "at least 28 days from prior surgery": the name follows
_NAME_AFTER = re.compile(r"^\s*(?:since|from|after|of)\s+(?P<name>[^,;:.()]+)", re.IGNORECASE)


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
    loose = _CONDITION_IN.match(text[end:])
    if after and after.group("cond"):
        cond_text = after.group("cond")
    elif loose and any(_is_bool(m.column) for m in alias_matches(loose.group("cond"))):
        cond_text = loose.group("cond")
    elif (first := _CONDITION_IF.match(text[:start])) and any(
        _is_bool(m.column) for m in alias_matches(first.group("cond"))
    ):
        cond_text = first.group("cond")
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
    if t.form == "range" and state.last_range == (text, t.start) and state.last_subjects:
        # the second bound of "18-75 years": the first bound's subjects
        subjects, confidence, review = list(state.last_subjects), "high", []
    else:
        subjects, confidence, review = _subject(text, t.start, t.end, t.unit, window)
    state.last_range = (text, t.start) if t.form == "range" else None
    out = []
    carried = [
        s.column
        for s in state.last_subjects
        if s.column not in COLUMNS or unit_factor(s.column, t.unit) is not None
    ]
    # nothing before it in the clause but a joining word: "...; or ≤ 5 x ULN with ..."
    opens = (
        re.fullmatch(r"[\s,;]*(?:(?:and/)?or|and|but)?[\s,]*", text[window : t.start]) is not None
    )
    if carried and _BACK_REFERENCE.search(text[window : t.start]):
        opens, subjects = True, []  # "the above indicators should be within 5 x ULN"
    if opens and carried and subjects and confidence != "high":
        subjects = []  # a column named earlier in the sentence: the previous ones win
    after = _NAME_AFTER.match(text[t.end :])
    if not subjects and opens and after and t.unit and t.unit not in ("x ULN", "grade"):
        # "≤ 12 days since illness onset": a new column named by the words after it
        name = propose_column(f"{t.unit} {after.group(0)}", state.new_columns)
        subjects = [AliasMatch(name, t.end, t.end + after.end(), True)]
        review = [f"'{after.group(0).strip()}' has no canonical column: new column {name}"]
    if not subjects and opens and carried:
        # "AST <= 2.5 x ULN; <= 5 x ULN with liver metastases": the same column(s)
        subjects = [AliasMatch(c, t.start, t.start, c not in COLUMNS) for c in carried]
        confidence = "medium"
        names = ", ".join(carried)
        review = [f"no name before '{t.written.strip()}': column {names} carried over"]
    if not subjects:
        words = _last_part(text[window : t.start])
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
            bounds = COLUMNS[column].plausible if column in COLUMNS else None
            if bounds and not bounds[0] <= value <= bounds[1]:
                notes.append(
                    f"{clean_number(value)} {unit or ''} is outside the plausible range "
                    f"{clean_number(bounds[0])}-{clean_number(bounds[1])} of {column}: "
                    "check the number and unit as written"
                )
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
    state.last_subjects = list(subjects)
    return out


def _last_part(words: str) -> str:
    """The words naming a threshold with no known name: those after the last ``,`` /
    ``;`` / ``:`` (``"uncontrollable infections, body temperature"`` -> ``"body
    temperature"``), or all of them when that leaves nothing."""
    part = re.split(r"[,;:]", words)[-1]
    return part if re.search(r"[A-Za-z]{2,}", part) else words
