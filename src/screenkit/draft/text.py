"""A registry record's eligibility text cut into sections, items and clauses.

The record is read as copied from the registry page: an ``Inclusion Criteria`` heading, an
``Exclusion Criteria`` heading, numbered (``1.``, ``2)``), bulleted (``-``, ``*``, ``•``)
or run-on items (``Inclusion Criteria: 1. ... 2. ...`` on one line, an item number with no
``.`` before it when it continues the list, ``* `` bullets), and the registry's minimum /
maximum age lines (``18 Years``, or ``Minimum Age: 18 Years`` in its data export). A
record with no headings (a news item, a summary) is read whole, as one unnamed section.

Parsing works on a *normalised* copy of the text (full-width ``＜ ＞ ≦ ≧ （ ）：；，``
made ASCII or standard, the Markdown escapes ``\\<`` ``\\>`` ``\\[`` removed) whose every
character remembers its position in the record, so that each piece can quote the record
verbatim: :meth:`Record.quote`.

>>> rec = Record("Inclusion Criteria: 1. Age ≥ 18 years. 2. ECOG 0-1. "
...              "Exclusion Criteria: 1. LVEF \\\\< 50%.")
>>> for i in rec.items():
...     print(i.section, i.marker, rec.quote(i.start, i.end))
inclusion 1 Age ≥ 18 years.
inclusion 2 ECOG 0-1.
exclusion 1 LVEF \\< 50%.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Item", "Piece", "Record"]

_FULL_WIDTH = str.maketrans(
    {
        "＜": "<",
        "＞": ">",
        "≦": "≤",
        "≧": "≥",
        "（": "(",
        "）": ")",
        "：": ":",
        "；": ";",
        "，": ",",
        "。": ".",
        "％": "%",
        "／": "/",
        "＝": "=",
        "\u00a0": " ",
        "\u3000": " ",
    }
)
_ESCAPED = re.compile(r"\\(?=[<>\[\]()*_#.+^-])")
_HEADING = re.compile(r"(?P<kind>inclusion|exclusion)\s+criteria\s*:?", re.IGNORECASE)
# "18 Years" as the registry page shows it, or "Minimum Age: 18 Years" as its data export
_AGE_LINE = re.compile(
    r"^[ \t]*(?:(?P<bound>Minimum|Maximum)\s+Age\s*:\s*)?(?P<value>\d{1,3})\s+Years?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_END_LINES = re.compile(
    r"^[ \t]*(?:(?:Sponsors?|Locations?|Contacts?|Responsible Party|Study Design)[ \t]*"
    r"|(?:Healthy Volunteers|Sex|Gender|Minimum Age|Maximum Age|Std Ages?|Study)\s*:.*)$",
    re.IGNORECASE | re.MULTILINE,
)
# an item marker: at a line start, or (run-on text) after '.', ';' or ':' and a space
_MARKER = re.compile(
    r"(?:(?<=\n)|^|(?<=[.;:]\s)|(?<=[.;:]\s\s))[ \t]*"
    r"(?:(?P<num>\d{1,2})[.)、](?!\d)|(?P<bullet>[-*•·▪]))[ \t]+(?=\S)"
)
# in run-on text, an item number with no '.' before it ("... Form 2. Laboratory ..."):
# taken only when it is the next number of the list
_RUN_ON_NUMBER = re.compile(r"(?<=\S)[ \t]+(?P<num>\d{1,2})[.)](?!\d)[ \t]+(?=[A-Z≥≤<>(])")
# in run-on text, a '*' or '•' bullet after a space ("... ≥ 18 years * Meeting ...")
_RUN_ON_BULLET = re.compile(r"(?<=\S)[ \t]+[*•▪][ \t]+(?=\S)")
_ABBREVIATIONS = re.compile(r"(?:e\.g|i\.e|etc|vs|approx|no|v\d+)\.$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.:])\s+(?=\S)|\s*\n\s*")
_CLAUSE_END = re.compile(r";\s*")


@dataclass(frozen=True)
class Piece:
    """A stretch of the normalised text: ``start`` / ``end`` offsets and its ``text``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Item:
    """One numbered or bulleted item of a section (``marker`` as written, ``""`` if none)."""

    section: str  # "inclusion", "exclusion" or "" (no heading)
    marker: str
    start: int
    end: int
    text: str


class Record:
    """The eligibility text of one registry record (see the module doc)."""

    def __init__(self, text: str) -> None:
        self.original = text
        chars, where = [], []
        skip = {m.start() for m in _ESCAPED.finditer(text)}
        for i, ch in enumerate(text):
            if i in skip:
                continue
            chars.append(ch.translate(_FULL_WIDTH))
            where.append(i)
        self.text = "".join(chars)
        self._where = where

    # ------------------------------------------------------------ quoting
    def quote(self, start: int, end: int) -> str:
        """The record's own text for the normalised stretch ``start:end`` (stripped)."""
        piece = self.text[start:end]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        start, end = start + lead, end - trail
        if end <= start:
            return ""
        return self.original[self._where[start] : self._where[end - 1] + 1]

    # ------------------------------------------------------------ structure
    @property
    def has_headings(self) -> bool:
        """Whether the record has an ``Inclusion`` or ``Exclusion Criteria`` heading."""
        return _HEADING.search(self.text) is not None

    def _sections(self) -> list[tuple[str, int, int]]:
        """``(section, start, end)`` of each criteria section, in order."""
        heads = list(_HEADING.finditer(self.text))
        if not heads:
            return [("", 0, len(self.text))]
        limit = self._eligibility_end(heads[-1].end())
        out = []
        for head, nxt in zip(heads, [*heads[1:], None], strict=True):
            end = nxt.start() if nxt is not None else limit
            out.append((head.group("kind").lower(), head.end(), end))
        return out

    def _eligibility_end(self, after: int) -> int:
        ends = [m.start() for m in _AGE_LINE.finditer(self.text, after)]
        ends += [m.start() for m in _END_LINES.finditer(self.text, after)]
        return min(ends, default=len(self.text))

    def age_lines(self) -> list[tuple[Piece, str]]:
        """The registry's age lines after the criteria, in order, each with its bound
        (``"min"`` / ``"max"``): ``Minimum Age: 18 Years`` anywhere after them, or bare
        ``18 Years`` / ``75 Years`` lines right after them (minimum first)."""
        heads = list(_HEADING.finditer(self.text))
        if not heads:
            return []
        start = self._eligibility_end(heads[-1].end())
        labelled = [m for m in _AGE_LINE.finditer(self.text, start) if m.group("bound")]
        if labelled:
            return [
                (Piece(m.start(), m.end(), m.group(0).strip()), m.group("bound")[:3].lower())
                for m in labelled
            ]
        pieces = []
        for m in _AGE_LINE.finditer(self.text, start):
            between = self.text[start : m.start()]
            if between.strip():
                break
            pieces.append(Piece(m.start(), m.end(), m.group(0).strip()))
            start = m.end()
        return list(zip(pieces, ("min", "max"), strict=False))

    def items(self) -> list[Item]:
        """Every item of every section, in the record's order."""
        items = []
        for section, start, end in self._sections():
            cuts = self._cuts(start, end)
            if not cuts or self.text[start : cuts[0][0]].strip():
                cuts.insert(0, (start, start, ""))
            for (_, body, marker), nxt in zip(cuts, [*cuts[1:], None], strict=True):
                stop = nxt[0] if nxt is not None else end
                text = self.text[body:stop]
                if text.strip():
                    lead = len(text) - len(text.lstrip())
                    body += lead
                    stop = body + len(text.strip())
                    items.append(Item(section, marker, body, stop, self.text[body:stop]))
        return items

    def _cuts(self, start: int, end: int) -> list[tuple[int, int, str]]:
        """``(marker start, body start, number)`` of each item marker in ``start:end``:
        the markers of :data:`_MARKER`, a run-on number that continues the list, and
        run-on ``*`` / ``•`` bullets in a bulleted list."""
        strict = [
            (m.start(), m.end(), m.group("num") or "")
            for m in _MARKER.finditer(self.text, start, end)
        ]
        loose = [
            (m.start(), m.end(), m.group("num"))
            for m in _RUN_ON_NUMBER.finditer(self.text, start, end)
        ]
        if any(not n for _, _, n in strict) or not strict:
            loose += [
                (m.start(), m.end(), "*") for m in _RUN_ON_BULLET.finditer(self.text, start, end)
            ]
        taken = {c[0] for c in strict}
        candidates = sorted(
            [(c, True) for c in strict] + [(c, False) for c in loose if c[0] not in taken]
        )
        out: list[tuple[int, int, str]] = []
        last = 0
        for (begin, body, num), sure in candidates:
            if out and begin < out[-1][1]:
                continue  # inside the previous marker
            if not sure and num != "*" and (not last or int(num) != last + 1):
                continue
            if num and num != "*":
                last = int(num)
            out.append((begin, body, "" if num == "*" else num))
        return out

    # ------------------------------------------------------------ sentences
    def sentences(self, item: Item) -> list[Piece]:
        """The item cut into sentences at ``.`` / ``:`` followed by a space (not after
        ``e.g.``, ``i.e.``, ``etc.``, ``v5.0``) and at line breaks."""
        return _cut(self.text, item.start, item.end, _SENTENCE_END, keep_abbrev=True)

    def clauses(self, sentence: Piece) -> list[Piece]:
        """The sentence cut at semicolons."""
        return _cut(self.text, sentence.start, sentence.end, _CLAUSE_END, keep_abbrev=False)


def _cut(text: str, start: int, end: int, pattern: re.Pattern, keep_abbrev: bool) -> list[Piece]:
    pieces, begin = [], start
    for m in pattern.finditer(text, start, end):
        before = text[begin : m.start()]
        if keep_abbrev and _ABBREVIATIONS.search(before.rstrip()):
            continue
        if before.strip():
            pieces.append(_piece(text, begin, m.start()))
        begin = m.end()
    if text[begin:end].strip():
        pieces.append(_piece(text, begin, end))
    return pieces


def _piece(text: str, start: int, end: int) -> Piece:
    raw = text[start:end]
    lead = len(raw) - len(raw.lstrip())
    start += lead
    end = start + len(raw.strip())
    return Piece(start, end, text[start:end])
