"""CodedFrame: cells held as codes give the same cells as the object frame they stand for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screenkit.codedframe import CodedFrame
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
