"""The drafted objects: :class:`Comparison`, :class:`DraftCriterion`, :class:`Drafted`.

A comparison is one ``column op parameter`` (times ``column_uln`` for a ULN multiple); a
criterion holds its comparisons (none for a yes/no criterion), the record's text it
quotes, its confidence and the reasons it needs review.

>>> Comparison("alt", "<=", "alt_max_uln", 2.5, "x ULN", "≤ 2.5×ULN", "ALT").expression()
'alt <= alt_max_uln * alt_uln'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from screenkit.columns import COLUMNS
from screenkit.draft.names import slider
from screenkit.draft.text import Record

__all__ = ["Comparison", "DraftCriterion", "DraftState", "Drafted", "clean_number"]


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
    confidence: str = "high"

    def expression(self) -> str:
        """The comparison as rule text."""
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
    start: int = 0  # offset of the quoted text in the normalised record (for joining)

    @property
    def needs_review(self) -> bool:
        """Whether anything about this criterion needs a person's review."""
        return bool(self.review)


@dataclass
class Drafted:
    """Everything :func:`assemble` found: criteria, parameters, derived, unparsed text."""

    criteria: list[DraftCriterion]
    parameters: dict[str, dict]
    derived: dict[str, dict]
    unparsed: list[str]
    record: Record


class DraftState:
    """What drafting one record accumulates: parameters, new columns, criteria, IDs."""

    def __init__(self, record: Record) -> None:
        self.record = record
        self.parameters: dict[str, dict] = {}
        self.new_columns: set[str] = set()
        self.unparsed: list[str] = []
        self.criteria: list[DraftCriterion] = []
        self.counts = {"inclusion": 0, "exclusion": 0}
        self.last_column: str | None = None
        self.last_subjects: list = []  # AliasMatch of the previous threshold's columns
        self.last_range: tuple[str, int] | None = None  # (text, start) of the last range

    def next_id(self, kind: str) -> str:
        """The next criterion ID of ``kind``: I1, I2 ... or E1, E2 ..."""
        self.counts[kind] += 1
        return f"{kind[0].upper()}{self.counts[kind]}"

    def parameter(self, name: str, value: float, unit, column: str | None, label: str) -> str:
        """Declare a parameter (a unique name made from ``name``) and return its name."""
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


def clean_number(value: float) -> float | int:
    """``value`` without floating-point noise, an ``int`` when whole (2.0 -> 2)."""
    value = float(f"{value:.10g}")
    return int(value) if value.is_integer() else value
