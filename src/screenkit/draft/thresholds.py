"""Numeric thresholds in a sentence: comparator, number, unit, as the record writes them.

Forms read: the symbols ``≥ ≤ > < >= <= =< =>`` (full-width ``＜ ＞ ≧ ≦`` too, normalised
by :mod:`screenkit.draft.text`), the words ``at least``, ``a minimum of``, ``no less
than``, ``greater than``, ``more than``, ``above``, ``exceeding``, ``less than``, ``fewer
than``, ``below``, ``no more than``, ``not more than``, ``at most``, ``up to``, a number
followed by ``or more`` / ``or older`` / ``or less``, and ranges (``18-75 years``,
``ECOG 0-1``, ``between 18 and 75 years``, ``18 to 75 years``), read as two bounds.

Numbers may carry thousands separators (``100,000/mm3``); a symbol may precede a word
number (``< two times``); ``within`` is a limit only before a ULN multiple (``within 2.5
times the ULN``; ``within 4 weeks`` is a window); ``ECOG 0 or 1`` is a range after a score.

Units: ``× ULN`` / ``x ULN`` / ``1.5x of ULN`` / ``times (the) upper limit (of normal)`` /
``x UNL`` / ``upper normal limit`` (a ULN multiple), ``times control`` (``x control``),
``×10^9/L`` in its spellings (``×109/L``, ``×10 9 /L``, ``x10⁹/L``), a dipstick or
staining grade (``2+``), and the ordinary units (``g/dL``, ``g/L``, ``/mm3``, ``mL/min``,
``months`` ...), also in parentheses after the number (``≥ 1.5 (×10^9/L)``).

>>> [(t.op, t.value, t.unit) for t in find_thresholds("ANC ≥ 1.5×109/L and ALT ≤ 3 x ULN")]
[('>=', 1.5, '10^9/L'), ('<=', 3.0, 'x ULN')]
>>> [(t.op, t.value, t.unit) for t in find_thresholds("aged 18-75 years")]
[('>=', 18.0, 'years'), ('<=', 75.0, 'years')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["OPPOSITE", "Threshold", "find_thresholds"]

OPPOSITE = {">=": "<", ">": "<=", "<=": ">", "<": ">="}

_WORD_NUMBERS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
}
_SYMBOLS = {
    "≥": ">=",
    ">=": ">=",
    "=>": ">=",
    "≤": "<=",
    "<=": "<=",
    "=<": "<=",
    ">": ">",
    "<": "<",
}
_WORDS = {
    "greater than or equal to": ">=",
    "equal to or greater than": ">=",
    "more than or equal to": ">=",
    "less than or equal to": "<=",
    "equal to or less than": "<=",
    "at least": ">=",
    "a minimum of": ">=",
    "minimum of": ">=",
    "no less than": ">=",
    "not less than": ">=",
    "no fewer than": ">=",
    "no more than": "<=",
    "no greater than": "<=",
    "not greater than": "<=",
    "no higher than": "<=",
    "not higher than": "<=",
    "no lower than": ">=",
    "not lower than": ">=",
    "within": "<=",  # only for a ULN multiple ("within 2.5 times the ULN")
    "not more than": "<=",
    "not exceeding": "<=",
    "not to exceed": "<=",
    "at most": "<=",
    "a maximum of": "<=",
    "maximum of": "<=",
    "up to": "<=",
    "greater than": ">",
    "longer than": ">",
    "more than": ">",
    "higher than": ">",
    "exceeding": ">",
    "in excess of": ">",
    "above": ">",
    "over": ">",
    "less than": "<",
    "fewer than": "<",
    "lower than": "<",
    "below": "<",
    "under": "<",
}
# "1,500" and "100,000" (thousands separators) as well as "1.5"
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|\d+(?:\.\d+)?"
_WORD_NUMBER = "|".join(_WORD_NUMBERS)
_ULN = (
    r"(?:(?:[×xX*]|times|fold)\s*(?:of\s+)?(?:the\s+)?(?:institutional\s+)?)?"
    r"(?:ULN\b|UNL\b|upper\s+normal\s+limit(?:\s+of\s+normal)?"
    r"|upper\s+limits?(?:\s+of\s+(?:the\s+)?normal(?:\s+range|\s+values?)?)?)"
    r"(?:\s*\((?:ULN|UNL)\))?"
)
# "< 1.5 times control" (prothrombin time): a multiple of the laboratory's control
_CONTROL = r"(?:[×xX*]|times)\s*(?:the\s+)?control\b"
_GIGA = r"(?:[×xX*]\s*)?10\s*(?:\^|\*\*|\*|E|e)?\s*(?:9|⁹)\s*/\s*L\b"
_UNIT_WORDS = (
    r"m[lL]\s*/\s*min(?:ute)?(?:\s*/\s*1\.73\s*m(?:2|²))?|g(?:m)?\s*/\s*d[lL]|g\s*/\s*L"
    r"|mg\s*/\s*d[lL]|mg/L|[µμu]mol/L|mmol/L|°\s*C\b|℃"
    r"|[µμu]g\s*/\s*[lL]|ng\s*/\s*m[lL]|(?:cells\s*)?/\s*(?:mm3|mm³|[µμu]L)|IU/L|U/L|mmHg|mm\s*Hg|kg/m2|kg/m²|kg|msec|ms"
    r"|mg/day|mg/d\b|g/24\s*h(?:ours?)?|mg/24\s*h|half[- ]lives|half[- ]life|cm|mm|mg|g"
    r"|years?|yrs?|months?|weeks?|days?|hours?|bpm|beats/min|lines?|times|%"
)
_UNIT = (
    rf"(?P<uln>{_ULN})|(?P<control>{_CONTROL})|(?P<giga>{_GIGA})|(?P<grade>\+)"
    rf"|(?P<plain>(?:{_UNIT_WORDS})(?![A-Za-z]))"
)
_UNIT_AFTER = re.compile(rf"\s*(?P<open>\(\s*)?(?:{_UNIT})(?(open)\s*\))")
_COMPARATOR = re.compile(
    r"(?P<sym>≥|≤|>=|<=|=>|=<|>|<)\s*(?=[\d.]|(?:" + _WORD_NUMBER + r")\b)"
    r"|(?<![A-Za-z])(?P<word>" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")\s+"
    r"(?=(?:" + _NUMBER + r"|(?:" + _WORD_NUMBER + r")\b))",
    re.IGNORECASE,
)
_VALUE = re.compile(rf"(?P<num>{_NUMBER})|(?P<wordnum>(?:{_WORD_NUMBER})\b)", re.IGNORECASE)
_RANGE = re.compile(
    rf"(?:(?<=\s)|(?<=^)|(?<=\())(?:between\s+)?(?P<lo>{_NUMBER})\s*(?P<unit1>%|years?)?"
    rf"\s*(?P<sep>-|–|—|~|to|and|or)\s*(?P<hi>{_NUMBER})(?![\d.]*\s*[-/]?\s*(?:hour|day|h\b|week))",
    re.IGNORECASE,
)
_POSTFIX = re.compile(
    rf"(?<![\w.])(?P<num>{_NUMBER})\s*(?P<unit>years?|%|points?)?(?:\s+old)?\s+(?:or|and)\s+"
    r"(?P<dir>older|more|above|higher|greater|over|less|below|lower|younger|under)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Threshold:
    """One comparison found in a text: ``op`` and ``value`` as written, ``unit`` as read
    (``"x ULN"``, ``"10^9/L"``, ``"grade"`` for ``2+``, a unit as written, or ``None``),
    ``start`` / ``end`` of the comparator-number-unit stretch (offsets in the text given),
    ``form`` the way it was written (``symbol``, ``words``, ``range``, ``postfix``)."""

    op: str
    value: float
    unit: str | None
    start: int
    end: int
    form: str
    written: str


def _unit(match: re.Match | None) -> str | None:
    if match is None:
        return None
    if match.group("uln"):
        return "x ULN"
    if match.group("control"):
        return "x control"
    if match.group("giga"):
        return "10^9/L"
    if match.group("grade"):
        return "grade"
    unit = re.sub(r"\s*/\s*", "/", re.sub(r"\s+", " ", match.group("plain")))
    unit = re.sub(r"^gm/", "g/", unit).replace("/minute", "/min")
    return "°C" if unit in ("° C", "℃") else unit


def _float(text: str) -> float:
    """A number as written, thousands separators dropped ("100,000" -> 100000.0)."""
    return float(text.replace(",", ""))


def _read_value(text: str, pos: int) -> tuple[float, int] | None:
    m = _VALUE.match(text, pos)
    if m is None:
        return None
    if m.group("num"):
        return _float(m.group("num")), m.end()
    return float(_WORD_NUMBERS[m.group("wordnum").lower()]), m.end()


_UNIT_BEFORE = re.compile(rf"\(\s*(?:{_UNIT})\s*\)\s*(?:is|of|:)?\s*$")


def unit_before(text: str) -> str | None:
    """The unit a name carries in parentheses before its comparator (``Hb (g/dL) ≥ 9``).

    >>> unit_before("Hemoglobin (g/dL) "), unit_before("ANC (×10^9/L): ")
    ('g/dL', '10^9/L')
    """
    return _unit(_UNIT_BEFORE.search(text))


def find_thresholds(text: str) -> list[Threshold]:
    """Every threshold in ``text``, in order (see the module doc)."""
    found: list[Threshold] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    for m in _COMPARATOR.finditer(text):
        op = _SYMBOLS[m.group("sym")] if m.group("sym") else _WORDS[m.group("word").lower()]
        value = _read_value(text, m.end())
        if value is None:
            continue
        number, end = value
        unit_match = _UNIT_AFTER.match(text, end)
        if unit_match is not None:
            end = unit_match.end()
        if m.group("word") and m.group("word").lower() == "within" and _unit(unit_match) != "x ULN":
            continue  # "within 4 weeks" is a window, not a limit
        form = "symbol" if m.group("sym") else "words"
        found.append(
            Threshold(op, number, _unit(unit_match), m.start(), end, form, text[m.start() : end])
        )
        taken.append((m.start(), end))
    for m in _POSTFIX.finditer(text):
        if not free(m.start(), m.end()):
            continue
        word = m.group("dir").lower()
        op = ">=" if word in ("older", "more", "above", "higher", "greater", "over") else "<="
        unit = m.group("unit")
        found.append(
            Threshold(op, _float(m.group("num")), unit, m.start(), m.end(), "postfix", m.group(0))
        )
        taken.append((m.start(), m.end()))
    for m in _RANGE.finditer(text):
        lo, hi = _float(m.group("lo")), _float(m.group("hi"))
        if not lo < hi or not free(m.start("lo"), m.end("hi")):
            continue
        if m.group(0).lower().find("and") >= 0 and not m.group(0).lower().startswith("between"):
            continue
        unit_match = _UNIT_AFTER.match(text, m.end())
        unit = _unit(unit_match) if unit_match is not None else m.group("unit1")
        end = unit_match.end() if unit_match is not None else m.end()
        before = text[max(0, m.start() - 12) : m.start()].lower()
        scored = re.search(r"(ecog|ps|score|grade|is|of|status|scale|stage)\s*[=:]?\s*$", before)
        if unit is None and not scored:
            continue  # "COVID-19", "1-2 cycles": a range needs a unit or a score before it
        if m.group("sep").lower() == "or" and (unit is not None or not scored):
            continue  # "0 or 1" is a range only as a score ("ECOG 0 or 1")
        start = m.start()
        written = text[start:end]
        found.append(Threshold(">=", lo, unit, start, end, "range", written))
        found.append(Threshold("<=", hi, unit, start, end, "range", written))
        taken.append((start, end))
    return sorted(found, key=lambda t: (t.start, t.op not in (">=", ">")))
