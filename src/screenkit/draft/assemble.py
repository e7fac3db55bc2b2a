"""From a record's sentences to drafted criteria: thresholds, conditions, yes/no items.

Each threshold becomes a comparison over a column; a threshold "for patients with liver
metastasis" joins the unconditional threshold on the same column as an ``or`` branch
(``alt <= p * alt_uln or (liver_mets and alt < q * alt_uln)``), an ``If creatinine is >
1.5 x ULN, creatinine clearance > 50 mL/min`` rescue joins its base the same way, and
``> 15 mg/day ... for more than 3 days`` is one criterion with ``and``. A sex in brackets
(``(male)``) becomes ``applies: sex == "M"``. Every other sentence is a yes/no criterion.

>>> [c.rule for c in assemble("Inclusion Criteria: 1. ECOG 0-1. 2. Hb ≥ 9 g/dL.").criteria]
['ecog >= ecog_min', 'ecog <= ecog_max', 'hb >= hb_min']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from screenkit.columns import COLUMNS
from screenkit.draft.names import (
    _STOP,
    DERIVED,
    AliasMatch,
    alias_matches,
    canonical_unit,
    propose_column,
    unit_factor,
)
from screenkit.draft.text import Item, Piece, Record
from screenkit.draft.thresholds import OPPOSITE, Threshold, find_thresholds, unit_before

__all__ = ["Comparison", "DraftCriterion", "Drafted", "assemble"]

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
_CONTINUATION = re.compile(r"^(?:The above|These|This|Exceptions?|Except|Excluding)\b", re.I)
_MUST = re.compile(r"\b(?:must|should|are required to|is required to)\b", re.I)
_COMBINE = re.compile(r"whichever|and/or|either", re.I)


@dataclass
class Comparison:
    """One drafted comparison: ``column op parameter`` (times ``column_uln`` for ULN)."""

    column: str
    op: str
    parameter: str
    value: float
    unit: str | None
    written: str
    subject: str
    new_column: bool = False
    condition: str | None = None  # a rule text: liver_mets, sex == "M"
    joins: str = ""  # "or" (branch or rescue) or "and" (duration) with the criterion's base
    review: list[str] = field(default_factory=list)

    def expression(self) -> str:
        if self.unit == "x ULN":
            return f"{self.column} {self.op} {self.parameter} * {self.column}_uln"
        return f"{self.column} {self.op} {self.parameter}"


@dataclass
class DraftCriterion:
    """A drafted criterion: its comparisons (empty for a yes/no one), the text it quotes."""

    id: str
    kind: str
    label: str
    rule: str
    source_text: str
    comparisons: list[Comparison] = field(default_factory=list)
    applies: str | None = None
    yes_no_column: str | None = None
    review: list[str] = field(default_factory=list)
    confidence: str = "high"

    @property
    def needs_review(self) -> bool:
        return bool(self.review)


@dataclass
class Drafted:
    """Everything :func:`assemble` found: criteria, parameters, derived, unparsed text."""

    criteria: list[DraftCriterion]
    parameters: dict[str, dict]
    derived: dict[str, dict]
    unparsed: list[str]
    record: Record


class _State:
    def __init__(self, record: Record) -> None:
        self.record = record
        self.parameters: dict[str, dict] = {}
        self.new_columns: set[str] = set()
        self.unparsed: list[str] = []
        self.criteria: list[DraftCriterion] = []
        self.counts = {"inclusion": 0, "exclusion": 0}
        self.last_column: str | None = None

    def next_id(self, kind: str) -> str:
        self.counts[kind] += 1
        return f"{kind[0].upper()}{self.counts[kind]}"

    def parameter(self, name: str, value: float, unit, column: str | None, label: str) -> str:
        from screenkit.draft.names import slider

        base, n = name, 2
        while name in self.parameters or name in COLUMNS:
            name, n = f"{base}_{n}", n + 1
        lo, hi, step = slider(value, column)
        self.parameters[name] = {
            "value": value,
            "unit": unit,
            "min": min(lo, value),
            "max": max(hi, value),
            "step": step,
            "label": label,
        }
        return name


def _clean_number(value: float) -> float | int:
    value = float(f"{value:.10g}")
    return int(value) if value.is_integer() else value


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


def _condition(text: str, start: int, end: int, state: _State) -> tuple[str | None, str, list]:
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


def _comparison(state: _State, kind: str, text: str, t: Threshold, window: int) -> list[Comparison]:
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
                notes.append(f"converted from {t.written.strip()} to {_clean_number(value)} {unit}")
            elif t.unit is None and unit is not None:
                notes.append(f"no unit written; read as {unit}")
        if t.unit == "grade":
            unit = "grade"
        suffix = _suffix(kind, t.op) + ("_uln" if t.unit == "x ULN" else "")
        pname = f"{column}_{suffix}" + (f"_{cond_name}" if cond_name else "")
        shown = {"x ULN": " x ULN", "grade": "+", None: ""}.get(unit, f" {unit}")
        label = f"{text[s.start : s.end] or column} {t.op} {_clean_number(value)}{shown}"
        param = state.parameter(pname, _clean_number(value), unit, column, label)
        c = Comparison(
            column,
            t.op,
            param,
            _clean_number(value),
            unit,
            t.written,
            text[s.start : s.end] or column,
            new,
            cond,
        )
        c.review = notes
        c.confidence = confidence if not new else "low"  # type: ignore[attr-defined]
        out.append(c)
        state.last_column = column
    return out


def assemble(text: str) -> Drafted:
    """Draft the criteria of a record's eligibility text (see the module doc)."""
    record = Record(text)
    state = _State(record)
    headed = record.has_headings
    for item in record.items():
        _item(state, record, item, headed)
    _ages(state, record)
    derived = {
        name: {"rule": rule, "unit": unit, "label": label}
        for name, (rule, unit, label) in DERIVED.items()
        if any(c.column == name for crit in state.criteria for c in crit.comparisons)
    }
    order = {"inclusion": 0, "exclusion": 1}
    criteria = sorted(state.criteria, key=lambda c: (order[c.kind], int(c.id[1:])))
    return Drafted(criteria, state.parameters, derived, state.unparsed, record)


def _ages(state: _State, record: Record) -> None:
    lines = record.age_lines()
    for piece, op in zip(lines, (">=", "<="), strict=False):
        value = float(piece.text.split()[0])
        suffix = "min" if op == ">=" else "max"
        name = state.parameter(
            f"age_years_{suffix}",
            _clean_number(value),
            "year",
            "age_years",
            f"Age {op} {value:g} years",
        )
        comp = Comparison("age_years", op, name, _clean_number(value), "year", piece.text, "Age")
        crit = DraftCriterion(
            state.next_id("inclusion"),
            "inclusion",
            f"Age {op} {{{name}:g}} years",
            comp.expression(),
            record.quote(piece.start, piece.end),
            [comp],
        )
        state.criteria.append(crit)


def _item(state: _State, record: Record, item: Item, headed: bool) -> None:
    kind = item.section or "inclusion"
    bases: list[tuple[Comparison, DraftCriterion]] = []
    last_yes_no: DraftCriterion | None = None
    for sentence in record.sentences(item):
        found = []
        for clause in record.clauses(sentence):
            ths = find_thresholds(clause.text)
            found.extend((clause, t) for t in ths)
        if not found:
            if not headed or sentence.text.rstrip().endswith(":"):
                state.unparsed.append(record.quote(sentence.start, sentence.end))
                continue
            if last_yes_no is not None and _CONTINUATION.match(sentence.text):
                last_yes_no.source_text = record.quote(_start_of(last_yes_no), sentence.end)
                continue
            last_yes_no = _yes_no(state, record, kind, sentence)
            continue
        _thresholds(state, record, kind, sentence, found, bases, headed)


_STARTS: dict[int, int] = {}


def _start_of(criterion: DraftCriterion) -> int:
    return _STARTS[id(criterion)]


def _yes_no(state: _State, record: Record, kind: str, sentence: Piece) -> DraftCriterion:
    text = sentence.text.rstrip(" .;")
    matches = [
        m for m in alias_matches(text) if COLUMNS.get(m.column) and COLUMNS[m.column].kind == "bool"
    ]
    content = [w for w in re.findall(r"[A-Za-z]{3,}", text) if w.lower() not in _STOP]
    column, review, confidence = None, [], "low"
    for m in matches:
        if len(text[m.start : m.end].split()) >= 3 or len(content) <= 6:
            column, confidence = m.column, "medium"
            review.append(
                f"yes/no criterion: canonical column {column} matched on '{text[m.start : m.end]}'"
            )
            break
    if column is None:
        column = propose_column(text, state.new_columns)
        state.new_columns.add(column)
        review.append(f"yes/no criterion: new column {column} proposed from the sentence")
    if kind == "exclusion" and _MUST.search(text):
        review.append("reads as an inclusion criterion ('must') under the Exclusion heading")
    crit = DraftCriterion(
        state.next_id(kind),
        kind,
        text.replace("{", "{{").replace("}", "}}"),
        column,
        record.quote(sentence.start, sentence.end),
        yes_no_column=column,
        review=review,
        confidence=confidence,
    )
    _STARTS[id(crit)] = sentence.start
    state.criteria.append(crit)
    return crit


def _thresholds(state, record, kind, sentence, found, bases, headed) -> None:
    rescue_base: tuple[Comparison, DraftCriterion] | None = None
    previous_end: dict[int, tuple[int, int]] = {}  # clause -> (window, end) of the last one
    last_in_clause: dict[int, tuple[Comparison, DraftCriterion]] = {}
    for clause, t in found:
        last_window, last_end = previous_end.get(clause.start, (0, 0))
        window = last_window if t.start < last_end else last_end  # a range's second bound
        previous_end[clause.start] = (window, t.end)
        comps = _comparison(state, kind, clause.text, t, window)
        between = clause.text[window : t.start]
        for comp in comps:
            if not headed:
                comp.review.append("no Inclusion/Exclusion heading in the record: kind guessed")
            if _COMBINE.search(clause.text):
                comp.review.append(
                    f"the text combines limits ('{_COMBINE.search(clause.text).group(0)}'): "
                    "check how"
                )
            # a rescue: "If creatinine is > 1.5 x ULN, CrCl > 50 mL/min"
            if clause.text.lower().startswith("if ") and rescue_base is None and window == 0:
                for base, crit in reversed(bases):
                    if base.column == comp.column and OPPOSITE.get(base.op, "")[0] == comp.op[0]:
                        rescue_base = (base, crit)
                        break
                if rescue_base is not None:
                    state.parameters.pop(comp.parameter, None)
                    continue
            if rescue_base is not None and clause.text.lower().startswith("if "):
                base, crit = rescue_base
                comp.joins = "or"
                _attach(record, crit, comp, clause)
                continue
            if comp.condition and not comp.condition.startswith("sex"):
                target = next(
                    (
                        (b, c)
                        for b, c in reversed(bases)
                        if b.column == comp.column and b.op[0] == comp.op[0] and not b.condition
                    ),
                    None,
                )
                if target is not None:
                    comp.joins = "or"
                    _attach(record, target[1], comp, clause)
                    continue
            if re.search(r"\bfor\s*$", between) and clause.start in last_in_clause:
                comp.joins = "and"
                _attach(record, last_in_clause[clause.start][1], comp, clause)
                continue
            crit = _threshold_criterion(state, record, kind, comp, clause)
            bases.append((comp, crit))
            last_in_clause[clause.start] = (comp, crit)
        if not clause.text.lower().startswith("if "):
            rescue_base = None


def _threshold_criterion(state, record, kind, comp: Comparison, clause: Piece) -> DraftCriterion:
    applies = None
    rule = comp.expression()
    if comp.condition:
        applies = comp.condition
    label = f"{comp.subject} {comp.op} {{{comp.parameter}:g}}{_shown(comp.unit)}"
    if comp.condition:
        label += f" ({comp.condition})"
    crit = DraftCriterion(
        state.next_id(kind),
        kind,
        label.replace("{{", "{").replace("}}", "}") if False else label,
        rule,
        record.quote(clause.start, clause.end),
        [comp],
        applies=applies,
        review=list(comp.review),
        confidence=getattr(comp, "confidence", "high"),
    )
    if crit.review and crit.confidence == "high":
        crit.confidence = "medium"
    _STARTS[id(crit)] = clause.start
    state.criteria.append(crit)
    return crit


def _shown(unit: str | None) -> str:
    return {"x ULN": " x ULN", "grade": "+", None: ""}.get(unit, f" {unit}")


def _attach(record: Record, crit: DraftCriterion, comp: Comparison, clause: Piece) -> None:
    """Join ``comp`` to ``crit``'s rule as an ``or`` branch or an ``and`` part."""
    expr = comp.expression()
    if comp.condition:
        expr = f"({comp.condition} and {expr})"
    crit.rule = f"{crit.rule} {comp.joins} {expr}"
    extra = f"{comp.op} {{{comp.parameter}:g}}{_shown(comp.unit)}"
    if comp.joins == "and":
        crit.label += f" and {comp.subject} {extra}"
    elif comp.condition:
        crit.label += f" (or {extra} with {comp.condition})"
    else:
        crit.label += f", or {comp.subject} {extra}"
    crit.comparisons.append(comp)
    crit.review.extend(comp.review)
    crit.review.append(f"{comp.joins!r} branch joined from the text: check the combination")
    crit.confidence = "medium" if crit.confidence == "high" else crit.confidence
    crit.source_text = record.quote(_start_of(crit), clause.end)
