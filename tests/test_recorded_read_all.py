"""ReasonReader.read_all (cells of protocol IDs split and matched in one pass) against
ReasonReader.read of each cell."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from screenkit.protocol import get_protocol
from screenkit.recorded_cells import ReasonReader

PROTOCOL = get_protocol("NCT07103668")
TOKENS = [*PROTOCOL.ids[:12], "i3A", "e7", "E99", "I5", "ecog 0-1", "foo", "I3a\u00a0E7", "Ⅰ3a"]
SEPARATORS = ["; ", ",", "/", " ", "\t", "\x1c", "\x0b", ";;", " ; ", "\u3000", "|"]


def _reference(reader, texts, ids):
    matrix = np.zeros((len(texts), len(ids)), bool)
    readings = [reader.read(t) for t in texts]
    for u, (known, _, _, _) in enumerate(readings):
        matrix[u, [ids.index(c) for c in known]] = True
    return matrix, readings


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(SEPARATORS)), max_size=5).map(
            lambda parts: "".join(t + s for t, s in parts)
        ),
        min_size=1,
        max_size=12,
    )
)
def test_read_all_is_read_of_each_cell(texts):
    reader, ids = ReasonReader(PROTOCOL), list(PROTOCOL.ids)
    want, readings = _reference(reader, texts, ids)
    per_cell, listed = reader.read_all(texts, ids)
    got = np.zeros_like(want)
    got[listed] = True
    for u, (known, _, _, _) in enumerate(per_cell):
        got[u, [ids.index(c) for c in known]] = True
    assert np.array_equal(got, want)
    for reading, fast in zip(readings, per_cell, strict=True):
        # a cell read in the one pass lists IDs only: nothing else to report
        assert fast == reading or (fast == ([], [], [], []) and reading[1:] == ([], [], []))


def test_cells_of_ids_only_take_the_one_pass():
    reader, ids = ReasonReader(PROTOCOL), list(PROTOCOL.ids)
    per_cell, (cells, criteria) = reader.read_all(["I3a; E7", "i5b,E7", "E99", "consent"], ids)
    assert sorted(zip(cells.tolist(), [ids[j] for j in criteria], strict=True)) == [
        (0, "E7"), (0, "I3a"), (1, "E7"), (1, "I5b"),
    ]  # fmt: skip
    assert per_cell[:2] == [([], [], [], [])] * 2
    assert per_cell[2] == reader.read("E99") and per_cell[3] == reader.read("consent")
