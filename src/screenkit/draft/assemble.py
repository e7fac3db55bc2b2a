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

from screenkit.columns import COLUMNS
from screenkit.draft.criteria import Comparison, DraftCriterion, Drafted, DraftState, clean_number
from screenkit.draft.names import DERIVED, STOP_WORDS, alias_matches, propose_column
from screenkit.draft.subjects import comparisons
from screenkit.draft.text import Item, Piece, Record
from screenkit.draft.thresholds import OPPOSITE, find_thresholds

__all__ = ["Comparison", "DraftCriterion", "Drafted", "assemble"]

_CONTINUATION = re.compile(r"^(?:The above|These|This|Exceptions?|Except|Excluding)\b", re.I)
_MUST = re.compile(r"\b(?:must|should|are required to|is required to)\b", re.I)
_COMBINE = re.compile(r"whichever|and/or|either", re.I)
_OR = re.compile(r"\bor\b", re.I)
_NEGATED = re.compile(r"\b(?:no|not|without|never)\b", re.I)
_EXCEPTIONS = re.compile(r"(?:exceptions?(?:\s+include)?|except(?:ing)?)\s*:\s*$", re.I)
_EXCEPTION_NOTE = (
    "listed as an exception to the criterion above it: the rule may need inverting or "
    "folding into that criterion"
)


def assemble(text: str) -> Drafted:
    """Draft the criteria of a record's eligibility text (see the module doc)."""
    record = Record(text)
    state = DraftState(record)
    headed = record.has_headings
    listing, expected = False, 0
    for item in record.items():
        # the sub-items 1, 2, 3 ... after "with the following exceptions:" are exceptions
        listing = listing and item.marker == str(expected)
        expected += 1
        if _item(state, record, item, headed, listing):
            listing, expected = True, 1
    _ages(state, record)
    derived = {
        name: {"rule": rule, "unit": unit, "label": label}
        for name, (rule, unit, label) in DERIVED.items()
        if any(c.column == name for crit in state.criteria for c in crit.comparisons)
    }
    order = {"inclusion": 0, "exclusion": 1}
    criteria = sorted(state.criteria, key=lambda c: (order[c.kind], int(c.id[1:])))
    return Drafted(criteria, state.parameters, derived, state.unparsed, record)


def _ages(state: DraftState, record: Record) -> None:
    for piece, suffix in record.age_lines():
        value = float(re.search(r"\d+", piece.text).group(0))
        op = ">=" if suffix == "min" else "<="
        name = state.parameter(
            f"age_years_{suffix}",
            clean_number(value),
            "year",
            "age_years",
            f"Age {op} {value:g} years",
        )
        comp = Comparison("age_years", op, name, clean_number(value), "year", piece.text, "Age")
        crit = DraftCriterion(
            state.next_id("inclusion"),
            "inclusion",
            f"Age {op} {{{name}:g}} years",
            comp.expression(),
            record.quote(piece.start, piece.end),
            [comp],
        )
        state.criteria.append(crit)


def _item(state: DraftState, record: Record, item: Item, headed: bool, exception: bool) -> bool:
    """Draft one item; returns whether it ends by announcing a list of exceptions."""
    kind = item.section or "inclusion"
    bases: list[tuple[Comparison, DraftCriterion]] = []
    last_yes_no: DraftCriterion | None = None
    announced = False
    for sentence in record.sentences(item):
        before = len(state.criteria)
        _sentence(state, record, kind, sentence, bases, headed, last_yes_no)
        for crit in state.criteria[before:]:
            if crit.yes_no_column:
                last_yes_no = crit
            if exception or announced:
                crit.review.append(_EXCEPTION_NOTE)
                crit.confidence = "low"
        announced = announced or bool(_EXCEPTIONS.search(sentence.text))
    return announced


def _sentence(state, record, kind, sentence, bases, headed, last_yes_no) -> None:
    """Draft one sentence: its thresholds, or a yes/no criterion."""
    found = []
    for clause in record.clauses(sentence):
        ths = find_thresholds(clause.text)
        found.extend((clause, t) for t in ths)
    if not found:
        if not headed or sentence.text.rstrip().endswith(":"):
            state.unparsed.append(record.quote(sentence.start, sentence.end))
            return
        if last_yes_no is not None and _CONTINUATION.match(sentence.text):
            last_yes_no.source_text = record.quote(last_yes_no.start, sentence.end)
            return
        _yes_no(state, record, kind, sentence)
        return
    _thresholds(state, record, kind, sentence, found, bases, headed)


def _yes_no(state: DraftState, record: Record, kind: str, sentence: Piece) -> DraftCriterion:
    text = sentence.text.rstrip(" .;")
    matches = [
        m for m in alias_matches(text) if COLUMNS.get(m.column) and COLUMNS[m.column].kind == "bool"
    ]
    content = [w for w in re.findall(r"[A-Za-z]{3,}", text) if w.lower() not in STOP_WORDS]
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
    crit.start = sentence.start
    state.criteria.append(crit)
    return crit


def _thresholds(state, record, kind, sentence, found, bases, headed) -> None:
    rescue_base: tuple[Comparison, DraftCriterion] | None = None
    previous_end: dict[int, tuple[int, int]] = {}  # clause -> (window, end) of the last one
    last_in_clause: dict[int, tuple[Comparison, DraftCriterion]] = {}
    range_crits: dict[str, DraftCriterion] = {}  # column -> criterion of a range's first bound
    for clause, t in found:
        last_window, last_end = previous_end.get(clause.start, (0, 0))
        window = last_window if t.start < last_end else last_end  # a range's second bound
        previous_end[clause.start] = (window, t.end)
        comps = comparisons(state, kind, clause.text, t, window)
        between = clause.text[window : t.start]
        second_bound = t.form == "range" and t.start < last_end
        if not second_bound:
            range_crits = {}
        for comp in comps:
            if _NEGATED.search(between):
                word = _NEGATED.search(between).group(0)
                comp.review.append(f"the text negates it ('{word}' before it): check the rule")
            if not headed:
                comp.review.append("no Inclusion/Exclusion heading in the record: kind guessed")
            if _COMBINE.search(clause.text):
                comp.review.append(
                    f"the text combines limits ('{_COMBINE.search(clause.text).group(0)}'): "
                    "check how"
                )
            elif kind == "inclusion" and window and not comp.condition and _OR.search(between):
                # "ferritin below 100 μg/L or below 300 μg/L with ...": not all must hold
                comp.review.append(
                    "the text joins this limit to the one before it with 'or', but inclusion "
                    "criteria must all hold: check the combination"
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
            if kind == "exclusion" and second_bound and comp.column in range_crits:
                # "CKD stage 4-5" excludes inside the range: both bounds in one rule
                comp.joins = "and"
                _attach(record, range_crits[comp.column], comp, clause)
                continue
            crit = _threshold_criterion(state, record, kind, comp, clause)
            if t.form == "range":
                range_crits[comp.column] = crit
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
        label,
        rule,
        record.quote(clause.start, clause.end),
        [comp],
        applies=applies,
        review=list(comp.review),
        confidence=comp.confidence,
    )
    if crit.review and crit.confidence == "high":
        crit.confidence = "medium"
    crit.start = clause.start
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
    crit.source_text = record.quote(crit.start, clause.end)
