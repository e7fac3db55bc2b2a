"""The loader's codes of text columns, handed on: the same codes as hashing the column
again, used only for the column as loaded, and the same evaluation either way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import screenkit as sk
from screenkit.groups import _codes_with_missing, group_codes
from screenkit.loadedcodes import LoadedCodes
from screenkit.recorded import evaluate_recorded
from screenkit.recorded_cells import stripped_codes

LOG = (
    "Subject,Site,Sex,fail_reasons,Hb (g/L),steroid agent\n"
    "001, S2 ,M,E1 ,90,\n"
    "002,,F, ,95,prednisone\n"
    "003,S1,,I2;E1,ND,dexamethasone\n"
    "004,S2,M,E1,100, \n"
    "005,S1 , f ,I2;E1,110,prednisone\n"
)


@pytest.fixture
def loaded(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(LOG, encoding="utf-8")
    return sk.load_screening(path)


def test_codes_are_what_hashing_the_column_gives(loaded):
    assert {"site_id", "sex", "fail_reasons"} <= set(loaded.codes)
    for name, found in loaded.codes.items():
        codes, uniques = pd.factorize(loaded.data[name], use_na_sentinel=True)
        assert found.describes(loaded.data[name])
        assert found.codes.tolist() == codes.tolist(), name
        assert found.categories.tolist() == list(uniques), name
        assert not found.codes.flags.writeable


def test_readers_give_the_same_with_and_without_the_codes(loaded):
    data = loaded.data
    site = loaded.codes["site_id"]
    for a, b in zip(
        _codes_with_missing(data["site_id"], "(no site)", site),
        _codes_with_missing(data["site_id"], "(no site)"),
        strict=True,
    ):
        assert a.tolist() == b.tolist()
    with_codes = group_codes(data, ("site_id", "sex"), loaded.codes)
    without = group_codes(data, ("site_id", "sex"))
    assert with_codes[0].tolist() == without[0].tolist()
    pd.testing.assert_frame_equal(with_codes[1], without[1])
    reasons = loaded.codes["fail_reasons"]
    assert stripped_codes(data["fail_reasons"], reasons)[0].tolist() == [0, -1, 1, 0, 1]
    (a_codes, a_texts), (b_codes, b_texts) = (
        stripped_codes(data["fail_reasons"], reasons),
        stripped_codes(data["fail_reasons"]),
    )
    assert a_codes.tolist() == b_codes.tolist() and a_texts == b_texts == ["E1", "I2;E1"]


def test_evaluations_from_the_codes_equal_those_from_the_frame(loaded):
    frame = loaded.data.copy()
    for ev_codes, ev_frame in [
        (sk.evaluate(loaded), sk.evaluate(frame)),
        (evaluate_recorded(loaded), evaluate_recorded(frame)),
    ]:
        pd.testing.assert_frame_equal(ev_codes.statuses, ev_frame.statuses)
        assert ev_codes.group_codes()[0].tolist() == ev_frame.group_codes()[0].tolist()
        pd.testing.assert_frame_equal(ev_codes.group_codes()[1], ev_frame.group_codes()[1])


def test_a_column_edited_after_loading_is_hashed_again(loaded):
    loaded.data.loc[loaded.data.index[0], "site_id"] = "S9"  # in place, after loading
    assert not loaded.codes["site_id"].describes(loaded.data["site_id"])
    _, table = sk.evaluate(loaded).group_codes(("site_id",))
    assert table["site_id"].tolist() == ["S9", "(no site)", "S1", "S2"]
    reordered = loaded.data["sex"].iloc[::-1]
    assert not loaded.codes["sex"].describes(reordered)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a", " a", "b", "", " ", None, "(no site)"]), max_size=30))
def test_codes_from_any_raw_codes_match_factorize(cells):
    raw = pd.Series(cells, dtype=object)
    raw_codes, raw_uniques = pd.factorize(raw.iloc[::-1], use_na_sentinel=True)  # any order
    raw_codes = raw_codes[::-1].copy()
    parsed = [None if (u.strip() == "") else u.strip() for u in raw_uniques]
    column = pd.Series(
        pd.array([*parsed, None], dtype="string[pyarrow]").take(
            np.where(raw_codes < 0, len(parsed), raw_codes)
        )
    )
    found = LoadedCodes.from_column(column, raw_codes)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    assert found.codes.tolist() == codes.tolist()
    assert found.categories.tolist() == list(uniques)
    for a, b in zip(
        _codes_with_missing(column, "(no site)", found),
        _codes_with_missing(column, "(no site)"),
        strict=True,
    ):
        assert a.tolist() == b.tolist()


def test_a_column_not_backed_by_pyarrow_gets_no_codes():
    assert LoadedCodes.from_column(pd.Series(["a"], dtype=object), np.array([0])) is None
