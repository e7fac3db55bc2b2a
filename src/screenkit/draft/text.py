"""A registry record's eligibility text cut into sections, items and clauses.

The record is read as copied from the registry page: an ``Inclusion Criteria`` heading, an
``Exclusion Criteria`` heading, numbered (``1.``, ``2)``), bulleted (``-``, ``*``, ``•``)
or run-on items (``Inclusion Criteria: 1. ... 2. ...`` on one line), and the registry's
minimum / maximum age lines (``18 Years``). A record with no headings (a news item, a
summary) is read whole, as one unnamed section.

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
_ESCAPED = re.compile(r"\\(?=[<>\[\]()*_#.+-])")
_HEADING = re.compile(r"(?P<kind>inclusion|exclusion)\s+criteria\s*:?", re.IGNORECASE)
_AGE_LINE = re.compile(r"^[ \t]*(\d{1,3})\s+Years?[ \t]*$", re.IGNORECASE | re.MULTILINE)
_END_LINES = re.compile(
    r"^[ \t]*(?:Sponsors?|Locations?|Contacts?|Responsible Party|Study Design)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
# an item marker: at a line start, or (run-on text) after '.', ';' or ':' and a space
_MARKER = re.compile(
    r"(?:(?<=\n)|^|(?<=[.;:]\s)|(?<=[.;:]\s\s))[ \t]*"
    r"(?:(?P<num>\d{1,2})[.)、](?!\d)|(?P<bullet>[-*•·▪]))[ \t]+(?=\S)"
)
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

    def age_lines(self) -> list[Piece]:
        """The registry's age lines (``18 Years``) right after the criteria, in order."""
        heads = list(_HEADING.finditer(self.text))
        if not heads:
            return []
        start = self._eligibility_end(heads[-1].end())
        pieces = []
        for m in _AGE_LINE.finditer(self.text, start):
            between = self.text[start : m.start()]
            if between.strip():
                break
            pieces.append(Piece(m.start(), m.end(), m.group(0).strip()))
            start = m.end()
        return pieces

    def items(self) -> list[Item]:
        """Every item of every section, in the record's order."""
        items = []
        for section, start, end in self._sections():
            marks = [m for m in _MARKER.finditer(self.text, start, end)]
            cuts = [(m.start(), m.end(), m.group("num") or "") for m in marks]
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
