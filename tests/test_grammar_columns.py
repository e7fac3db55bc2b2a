"""Columns read into rule values: every numeric and yes/no storage gives the same truth,
and the frame's own memory (read without a copy where it can be) is never written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screenkit.evaluate import evaluate
from screenkit.grammar import Namespace, compile_rule, to_boolean

HB = [9.0, 7.5, None, 8.0]
HB_FLAGS = [True, False, None, True]


@pytest.mark.parametrize(
    "hb",
    [
        pd.array(HB, dtype="Float64"),
        pd.array([9.0, 7.5, np.nan, 8.0], dtype="float64"),
        pd.array([9, 7, None, 8], dtype="Int64"),
        pd.array(["9", "7.5", None, "8"], dtype=object),
        pd.array([9.0, 7.5, 1.0, 8.0], dtype="Float64"),  # no missing value: a view
    ],
    ids=["Float64", "float64", "Int64", "text", "Float64-complete"],
)
def test_every_numeric_storage_reads_the_same(hb):
    frame = pd.DataFrame({"hb": hb})
    ns = Namespace.from_frame(frame, parameters={"hb_min": 8.0})
    got = to_boolean(compile_rule("hb >= hb_min", {"hb_min": 8.0}).evaluate(ns)).tolist()
    third = False if frame["hb"].notna().iloc[2] else None  # 1.0 < 8
    assert [v if v is not pd.NA else None for v in got] == [True, False, third, True]


@pytest.mark.parametrize(
    "flags",
    [
        pd.array(HB_FLAGS, dtype="boolean"),
        pd.array([True, False, False, True], dtype=bool),
        pd.array(HB_FLAGS, dtype=object),
    ],
    ids=["boolean", "bool", "object"],
)
def test_every_yes_no_storage_reads_the_same(flags):
    frame = pd.DataFrame({"liver_mets": flags})
    ns = Namespace.from_frame(frame)
    got = to_boolean(compile_rule("not liver_mets").evaluate(ns)).tolist()
    third = None if flags[2] is None or flags[2] is pd.NA else True
    assert [v if v is not pd.NA else None for v in got] == [False, True, third, False]


def test_the_frame_is_never_written_even_through_read_only_views():
    frame = pd.DataFrame(
        {
            "hb": pd.array([9.0, 7.5, 8.0], dtype="Float64"),  # no NA: read as a view
            "plt": np.array([100.0, 50.0, 80.0]),
            "liver_mets": np.array([True, False, True]),
            "alt": pd.array([30.0, 200.0, None], dtype="Float64"),
            "alt_uln": pd.array([40.0, 40.0, 40.0], dtype="Float64"),
        }
    )
    before = frame.copy(deep=True)
    result = evaluate(frame, "NCT07103668")
    result.with_parameters(hb_min=9.0, alt_max_uln=5.0).statuses  # noqa: B018
    pd.testing.assert_frame_equal(frame, before)
    assert result.statuses["I7d"].tolist() == [True, False, True]
    frame.loc[0, "hb"] = 5.0  # the user's frame stays writable
    frame.loc[0, "plt"] = 5.0
    assert result.statuses["I7d"].tolist() == [True, False, True]  # and results stand
