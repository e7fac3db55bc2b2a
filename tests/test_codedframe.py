"""CodedFrame: cells held as codes give the same cells as the object frame they stand for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screenkit.codedframe import WHITESPACE, CodedFrame
from screenkit.columnparse import distinct_cells


def _pair():
    frame = pd.DataFrame(
        {0: ["007", "008", None, "007"], 1: [1, "ND", 2.5, None]},
        index=pd.Index([3, 4, 6, 9], name="row"),
        dtype=object,
    )
    distinct = [distinct_cells(frame[j].to_numpy(dtype=object)) for j in frame.columns]
    return frame, CodedFrame(frame.index, distinct)


def test_codes_give_the_object_frame():
    frame, coded = _pair()
    pd.testing.assert_frame_equal(coded.to_frame(), frame)
    assert [type(v) for v in coded[1]] == [type(v) for v in frame[1]]
    assert coded.at[6, 1] == 2.5 and coded.at[6, 0] is None
    assert coded.cells(1, [9, 4]).tolist() == [None, "ND"]
    assert coded.values_at(0, [0, 3]).tolist() == ["007", "007"]
    with pytest.raises(KeyError):
        coded.cells(0, [5])


def test_dropping_rows_keeps_codes_and_cells_together():
    frame, coded = _pair()
    kept = coded.drop([4, 9])
    pd.testing.assert_frame_equal(kept.to_frame(), frame.drop(index=[4, 9]))
    codes, uniques = kept.codes(0)
    assert [uniques[c] if c >= 0 else None for c in codes] == ["007", None]


def test_object_columns_are_handed_out_as_read():
    frame, _ = _pair()
    coded = CodedFrame.from_frame(frame)
    assert coded.read_as_objects(1) and coded.to_frame() is frame
    assert np.array_equal(coded.codes(1)[0], distinct_cells(frame[1].to_numpy(dtype=object))[0])


def test_a_table_without_rows_has_float_columns():
    empty = CodedFrame(pd.Index([], name="row", dtype="int64"), [(np.array([], np.intp), [])])
    assert empty.shape == (0, 1) and str(empty.to_frame()[0].dtype) == "float64"


def test_whitespace_is_every_character_python_strips():
    import sys

    spaces = {c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()}
    assert set(WHITESPACE) == spaces and len(WHITESPACE) == len(spaces)


_CHARS = ["a", "é", "中", "\u200b", "\x00", ",", "\n", "\r", "0"]


@settings(max_examples=200, deadline=None)
@given(
    cells=st.lists(st.text(alphabet=st.sampled_from([*_CHARS, *WHITESPACE]), max_size=6)),
    start=st.integers(0, 3),
)
def test_arrow_cells_are_the_python_strings(cells, start):
    """ArrowCells (a slice too: an offset into pyarrow's buffers) strip, blank-test, find
    line breaks and hand out cells as the same Python strings do."""
    import pyarrow as pa

    from screenkit.codedframe import ArrowCells
    from screenkit.textfile import _breaks_lines, _longest

    array = pa.array(["x"] * start + cells, type=pa.string()).slice(start)
    got = ArrowCells(array)
    assert got.stripped().to_pylist() == [c.strip() for c in cells]
    assert got.blank().tolist() == [not c or c.isspace() for c in cells]
    assert got.utf8() == "".join(cells).encode("utf-8")
    assert _breaks_lines(got) == _breaks_lines(cells)
    assert _longest(got) == _longest(cells)
    assert len(got) == len(cells) and [got[i] for i in range(len(cells))] == cells
    assert got == cells and list(got) == cells and np.asarray(got).tolist() == cells
    coded = CodedFrame(pd.RangeIndex(len(cells)), [(np.arange(len(cells)), got)])
    assert coded.values_at(0, np.arange(len(cells))[::-1]).tolist() == cells[::-1]
    assert coded[0].tolist() == cells


def test_ids_held_by_pyarrow_parse_as_their_strings():
    """An ID column given as ArrowCells parses to what its list of strings gives."""
    import pyarrow as pa

    from screenkit.codedframe import ArrowCells
    from screenkit.columnparse import parse_coded
    from screenkit.columns import COLUMNS

    cells = ["007", " 008 ", "", "\u3000", "P\u00a01", "009\t"]
    codes = np.array([0, 1, 2, 3, 4, 5, -1, 0])
    index = pd.RangeIndex(len(codes))
    want = parse_coded(index, codes, list(cells), COLUMNS["patient_id"])
    got = parse_coded(index, codes, ArrowCells(pa.array(cells)), COLUMNS["patient_id"])
    pd.testing.assert_series_equal(got.values, want.values)
    assert got.values.tolist()[:6] == ["007", "008", pd.NA, pd.NA, "P\u00a01", "009"]
    assert len(got.at) == len(want.at) == 0 and got.written.dtype == want.written.dtype
