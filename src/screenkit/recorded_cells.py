"""Reading recorded-reasons cells against a protocol (part of :mod:`screenkit.recorded`).

Each distinct reasons cell is read once by a :class:`ReasonReader`: criterion IDs matched
case-insensitively, IDs the protocol lacks, and free text matched to a criterion label
(:func:`match_label`) or left unmatched. :func:`unknown_id_table` and :func:`tally` count
them over patients for :class:`~screenkit.recorded.RecordedReasons`.
"""

from __future__ import annotations

import pandas as pd

from screenkit.protocol import Protocol
from screenkit.reasons import parse_reasons

__all__ = ["ReasonReader", "match_label", "tally", "unknown_id_table"]


class ReasonReader:
    """Reads reasons cells against one protocol, its IDs and labels folded once.

    >>> from screenkit.protocol import get_protocol
    >>> reader = ReasonReader(get_protocol("NCT07103668"))
    >>> reader.read("i5B; E99; ecog 0-1")
    (['I5b', 'I6'], ['E99'], [], [('ecog 0-1', 'I6')])
    """

    def __init__(self, protocol: Protocol) -> None:
        self.by_key = {cid.casefold(): cid for cid in protocol.ids}
        self.labels = {c.id: " ".join(c.label.casefold().split()) for c in protocol.criteria}

    def read(self, text: str) -> tuple[list[str], list[str], list[str], list[tuple[str, str]]]:
        """``(protocol IDs, IDs not in the protocol, unmatched texts, (text, ID) label
        matches)`` of one cell."""
        found, leftover = parse_reasons(text)
        known: list[str] = []
        unknown: list[str] = []
        for token in found:
            cid = self.by_key.get(token.casefold())
            if cid is None:
                unknown.append(token)
            elif cid not in known:
                known.append(cid)
        unmatched: list[str] = []
        matches: list[tuple[str, str]] = []
        if leftover:
            free = text.strip() if not found else " ".join(leftover)
            cid = self.match_label(free)
            if cid is None:
                unmatched.append(free)
            else:
                matches.append((free, cid))
                if cid not in known:
                    known.append(cid)
        return known, unknown, unmatched, matches

    def match_label(self, text: str) -> str | None:
        """See :func:`match_label`."""
        folded = " ".join(text.casefold().split())
        exact = [cid for cid, label in self.labels.items() if label == folded]
        if len(exact) == 1:
            return exact[0]
        contained = [cid for cid, label in self.labels.items() if label and label in folded]
        return contained[0] if len(contained) == 1 else None


def match_label(text: str, protocol: Protocol) -> str | None:
    """The criterion whose label ``text`` is (case-insensitively) or contains; None
    when there is none or the text contains several labels.

    >>> from screenkit.protocol import get_protocol
    >>> p = get_protocol("NCT07103668")
    >>> match_label("ecog 0-1", p), match_label("Not ECOG 0-1 (ECOG 2)", p)
    ('I6', 'I6')
    >>> match_label("withdrew consent", p) is None
    True
    """
    return ReasonReader(protocol).match_label(text)


def unknown_id_table(per_cell, patients, nr_patients, ids: list[str]) -> pd.DataFrame:
    counts: dict[str, list[float]] = {}
    for u, (_, unknown, _, _) in enumerate(per_cell):
        for token in unknown:
            entry = counts.setdefault(token, [0, 0])
            entry[0] += patients[u]
            entry[1] += nr_patients[u]
    rows = []
    for token, (n, nr) in counts.items():
        children = [c for c in ids if c.casefold().startswith(token.casefold()) and c != token]
        children = [c for c in children if c[len(token) :].isalpha()]
        rows.append(
            {
                "id": token,
                "patients": int(n),
                "not_recorded": int(nr),
                "note": f"the protocol has {', '.join(children)}" if children else "",
            }
        )
    out = pd.DataFrame(rows, columns=["id", "patients", "not_recorded", "note"])
    return out.sort_values(["patients", "id"], ascending=[False, True]).reset_index(drop=True)


def tally(keys: list[tuple], weights: list, names: list[str]) -> pd.DataFrame:
    totals: dict[tuple, int] = {}
    for key, w in zip(keys, weights, strict=True):
        totals[key] = totals.get(key, 0) + int(w)
    out = pd.DataFrame(
        [(*key, n) for key, n in totals.items()], columns=[*names, "patients"]
    ).astype({"patients": "int64"})
    return out.sort_values(
        ["patients", *names], ascending=[False, *[True] * len(names)]
    ).reset_index(drop=True)
