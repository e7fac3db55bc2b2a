"""Reading recorded-reasons cells against a protocol (part of :mod:`screenkit.recorded`).

Each distinct reasons cell is read once by a :class:`ReasonReader`: criterion IDs matched
case-insensitively, IDs the protocol lacks, and free text matched to a criterion label
(:func:`match_label`) or left unmatched. :func:`unknown_id_table` and :func:`tally` count
them over patients for :class:`~screenkit.recorded.RecordedReasons`; :func:`stripped_codes`
codes a reasons column by its distinct stripped cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screenkit.loadedcodes import LoadedCodes
from screenkit.protocol import Protocol
from screenkit.reasons import criterion_id, parse_reasons

__all__ = ["ReasonReader", "match_label", "stripped_codes", "tally", "unknown_id_table"]


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

    def read_all(self, texts: list[str], ids: list[str]):
        """:meth:`read` of every distinct cell, as ``(per_cell, (cells, criteria))``:
        every protocol ID a cell lists, as index pairs into ``texts`` and ``ids``.

        Most cells list protocol IDs only (``I3a; E7``): those are split and matched in
        one pass over all cells (pyarrow), each distinct token matched once, and
        ``per_cell`` holds an empty reading for them; every other cell (a word, an ID the
        protocol lacks, non-ASCII text) is read by :meth:`read`, its reading kept in
        ``per_cell`` and its IDs added to the pairs. Together the same as reading each
        cell with :meth:`read`.

        >>> from screenkit.protocol import get_protocol
        >>> p = get_protocol("NCT07103668")
        >>> per_cell, (cells, criteria) = ReasonReader(p).read_all(["i3a; E7", "ecog 0-1"], p.ids)
        >>> cells.tolist(), [p.ids[j] for j in criteria], per_cell[1]
        ([0, 0, 1], ['I3a', 'E7', 'I6'], (['I6'], [], [], [('ecog 0-1', 'I6')]))
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(texts)
        array = pa.array(texts, type=pa.string())
        # parse_reasons' separators ([;,/] and what str.split calls whitespace) in ASCII
        tokens = pc.split_pattern_regex(array, r"[;,/\t\n\x0b\x0c\r\x1c-\x1f ]+")
        flat = pc.dictionary_encode(pc.list_flatten(tokens))
        owner = pc.list_parent_indices(tokens).to_numpy()
        column = {cid: j for j, cid in enumerate(ids)}
        # per distinct token: its criterion's column, -2 for an empty token, -1 otherwise
        lookup = np.array(
            [self._column_of(t, column) for t in flat.dictionary.to_pylist()] + [-1], np.intp
        )
        at = lookup[flat.indices.to_numpy()] if len(owner) else np.array([], np.intp)
        slow = np.bincount(owner[at == -1], minlength=n) > 0
        slow |= ~pc.string_is_ascii(array).to_numpy(zero_copy_only=False)
        hit = (at >= 0) & ~slow[owner]
        empty: tuple = ([], [], [], [])
        per_cell = [self.read(texts[u]) if slow[u] else empty for u in range(n)]
        read = [(u, column[cid]) for u in np.flatnonzero(slow) for cid in per_cell[u][0]]
        cells, criteria = np.array(read, np.intp).reshape(-1, 2).T
        return per_cell, (np.concatenate([owner[hit], cells]), np.concatenate([at[hit], criteria]))

    def _column_of(self, token: str, column: dict[str, int]) -> int:
        if not token:
            return -2
        norm = criterion_id(token)
        cid = self.by_key.get(norm.casefold()) if norm is not None else None
        return column.get(cid, -1) if cid is not None else -1

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


def unknown_id_table(readings, patients, nr_patients, ids: list[str]) -> pd.DataFrame:
    """IDs the protocol lacks, with their patients: ``readings`` are ``(cell, reading)``
    pairs (:meth:`ReasonReader.read` of the distinct cell ``cell``, cells listing
    protocol IDs only may be left out); ``patients`` / ``nr_patients`` per cell.

    >>> from screenkit.protocol import get_protocol
    >>> reader = ReasonReader(get_protocol("NCT07103668"))
    >>> table = unknown_id_table([(1, reader.read("I2; E7"))], [5, 3], [0, 1], ["I2a", "I2b"])
    >>> table.to_dict("records")
    [{'id': 'I2', 'patients': 3, 'not_recorded': 1, 'note': 'the protocol has I2a, I2b'}]
    """
    counts: dict[str, list[float]] = {}
    for u, (_, unknown, _, _) in readings:
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


def stripped_codes(
    cells: pd.Series, loaded: LoadedCodes | None = None
) -> tuple[np.ndarray, list[str]]:
    """``(codes, distinct texts)`` of a column's cells stripped, code -1 for a missing
    or blank cell: the cells are hashed as they are (or their codes come from the loader,
    ``loaded``), and only their distinct values stripped and hashed again (not every
    cell stripped first).

    >>> codes, texts = stripped_codes(pd.Series(["E1 ", None, " ", "E1", "I2"]))
    >>> codes.tolist(), texts
    ([0, -1, -1, 0, 1], ['E1', 'I2'])
    """
    if loaded is None:
        raw_codes, raw = pd.factorize(cells.astype("string"), use_na_sentinel=True)
    else:
        raw_codes, raw = loaded.codes, loaded.categories
    stripped = pd.Series(raw, dtype="string").str.strip()
    blank = (stripped == "").to_numpy(dtype=bool, na_value=True)
    codes, uniques = pd.factorize(stripped.where(~blank), use_na_sentinel=True)
    # a missing cell (raw code -1) takes the appended -1
    return np.append(codes, -1)[raw_codes], uniques.tolist()
