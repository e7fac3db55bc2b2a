"""Parse a recorded screen-failure reasons cell into criterion IDs.

Issue 13, first step only: the parser. A cell lists the criteria a site recorded as failed,
separated by ``;``, ``,``, ``/`` or spaces, in any case (``I5b; E7``, ``i3a,e3``). IDs are
upper-cased on the letter and lower-cased on the sub-letter (``i3A`` -> ``I3a``). A token that is
not an ID shape is returned as unmatched text, never guessed.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["parse_reasons"]

_SPLIT = re.compile(r"[;,/\s]+")
_ID = re.compile(r"^([IiEe])(\d+)([A-Za-z]?)$")


def parse_reasons(cell: object) -> tuple[list[str], list[str]]:
    """Return ``(criterion_ids, unmatched_tokens)`` for one reasons cell.

    A missing or blank cell gives two empty lists (the caller counts it as "reason not
    recorded" for a screen failure). Order is kept, duplicates are dropped.

    >>> parse_reasons("I5b; E7")
    (['I5b', 'E7'], [])
    >>> parse_reasons("i3a,e3 / foo")
    (['I3a', 'E3'], ['foo'])
    >>> parse_reasons(None)
    ([], [])
    """
    if cell is None or (not isinstance(cell, str) and pd.isna(cell)):
        return [], []
    ids: list[str] = []
    unmatched: list[str] = []
    for token in _SPLIT.split(str(cell).strip()):
        if not token:
            continue
        m = _ID.match(token)
        if m:
            norm = m.group(1).upper() + m.group(2) + m.group(3).lower()
            if norm not in ids:
                ids.append(norm)
        elif token not in unmatched:
            unmatched.append(token)
    return ids, unmatched
