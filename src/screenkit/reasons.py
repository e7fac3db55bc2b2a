"""Parse a recorded screen-failure reasons cell into criterion IDs.

Issue 13, first step only: the parser. A cell lists the criteria a site recorded as failed,
separated by ``;``, ``,``, ``/`` or spaces, in any case (``I5b; E7``, ``i3a,e3``). IDs are
upper-cased on the letter and lower-cased on the sub-letter (``i3A`` -> ``I3a``). A token that is
not an ID shape is returned as unmatched text, never guessed.

Callers read each distinct cell once (:func:`screenkit.recorded.evaluate_recorded`
factorizes the column first); across those cells the same few tokens recur (``I5b``,
``E7``), so each distinct token is matched against the ID shape once (:func:`criterion_id`,
memoized) rather than once per cell.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

__all__ = ["criterion_id", "parse_reasons"]

_SPLIT = re.compile(r"[;,/\s]+")
_ID = re.compile(r"^([IiEe])(\d+)([A-Za-z]?)$")


@lru_cache(maxsize=4096)  # a log's distinct tokens: IDs and a few words, not thousands
def criterion_id(token: str) -> str | None:
    """The criterion ID a token spells, normalised; None when it has no ID shape.

    >>> criterion_id("i3A"), criterion_id("E11"), criterion_id("consent")
    ('I3a', 'E11', None)
    """
    m = _ID.match(token)
    if m is None:
        return None
    return m.group(1).upper() + m.group(2) + m.group(3).lower()


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
        norm = criterion_id(token)
        if norm is not None:
            if norm not in ids:
                ids.append(norm)
        elif token not in unmatched:
            unmatched.append(token)
    return ids, unmatched
