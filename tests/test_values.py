"""Literal tests of ``screenkit.values.parse_cell`` for every spelling of issue #11."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screenkit.columns import COLUMNS
from screenkit.values import CellError, distinct_cells, parse_cell, parse_series

HER2 = COLUMNS["her2_ihc"]
YESNO = COLUMNS["liver_mets"]

HER2_READ = [
    ("positive", 3.0),
    ("pos", 3.0),
    ("HER2+", 3.0),
    ("HER2 positive", 3.0),
    ("阳性", 3.0),
    ("IHC 3+", 3.0),
    ("3+ (IHC)", 3.0),
    ("ihc3+", 3.0),
    ("+++", 3.0),
    ("3+", 3.0),
    ("HER2 2+", 2.0),
    ("2+", 2.0),
    ("score 1+", 1.0),
    ("1+", 1.0),
    ("IHC 0", 0.0),
    ("0", 0.0),
    ("negative", 0.0),
    ("HER2-", 0.0),
    ("HER2 (-)", 0.0),
    ("阴性", 0.0),
    ("2+ FISH+", 3.0),
    ("IHC 2+ / FISH negative", 0.0),
    (2, 2.0),
    (3.0, 3.0),
]


@pytest.mark.parametrize(("cell", "expected"), HER2_READ, ids=[repr(c) for c, _ in HER2_READ])
def test_her2_spelling_is_read(cell, expected):
    p = parse_cell(cell, HER2)
    assert p.value == expected
    assert p.kind != "unparsed"


HER2_UNREADABLE = ["equivocal", "HER2(+)", "(+)", "4+", "+", "HER2 4+", "weak"]


@pytest.mark.parametrize("cell", HER2_UNREADABLE, ids=[repr(c) for c in HER2_UNREADABLE])
def test_her2_unreadable_spelling_is_unparsed(cell):
    p = parse_cell(cell, HER2)
    assert p.value is None
    assert p.kind == "unparsed"
    assert p.detail


@pytest.mark.parametrize("cell", ["HER2(+)", "(+)"])
def test_her2_lone_plus_says_ambiguous(cell):
    assert "ambiguous" in parse_cell(cell, HER2).detail


def test_her2_positive_words_never_read_as_negative():
    for word in ("positive", "HER2+", "阳性", "HER2 positive"):
        assert parse_cell(word, HER2).value == 3.0


YESNO_READ = [
    ("1", True),
    ("0", False),
    ("1.0", True),
    ("0.0", False),
    ("0.00", False),
    ("1.00", True),
    (1.0, True),
    (0.0, False),
    (1, True),
    (0, False),
    (True, True),
    (False, False),
    (np.bool_(True), True),
    (np.bool_(False), False),
    ("TRUE", True),
    ("FALSE", False),
    ("true", True),
    ("false", False),
    ("Y", True),
    ("n", False),
    ("yes", True),
    ("No", False),
    ("是", True),
    ("否", False),
    ("有", True),
    ("无", False),
    ("pos", True),
    ("neg", False),
    ("positive", True),
    ("negative", False),
]


@pytest.mark.parametrize(("cell", "expected"), YESNO_READ, ids=[repr(c) for c, _ in YESNO_READ])
def test_yes_no_spelling_is_read(cell, expected):
    p = parse_cell(cell, YESNO)
    assert p.value is expected or p.value == expected
    assert isinstance(p.value, bool | np.bool_)
    assert p.kind != "unparsed"


@pytest.mark.parametrize("name", [n for n, c in COLUMNS.items() if c.kind == "bool"])
def test_every_yes_no_column_reads_software_forms(name):
    column = COLUMNS[name]
    assert parse_cell("1.0", column).value is True
    assert parse_cell("0.0", column).value is False
    assert parse_cell("TRUE", column).value is True
    assert parse_cell("FALSE", column).value is False


YESNO_UNREADABLE = ["2", "maybe", "+", "1.5", 2, 1.5, "-1", "10"]


@pytest.mark.parametrize("cell", YESNO_UNREADABLE, ids=[repr(c) for c in YESNO_UNREADABLE])
def test_yes_no_unreadable_is_unparsed_never_false(cell):
    p = parse_cell(cell, YESNO)
    assert p.value is None
    assert p.kind == "unparsed"


@pytest.mark.parametrize("cell", ["none", "no", "0", "无", "None", "NO"])
def test_steroid_agent_none_words(cell):
    p = parse_cell(cell, COLUMNS["steroid_agent"])
    assert p.value == "none"
    assert p.kind != "unparsed"


@pytest.mark.parametrize("cell", ["none", "no", "无", "None"])
@pytest.mark.parametrize("name", [n for n, c in COLUMNS.items() if c.zero_words])
def test_zero_words_columns_read_none_as_zero(name, cell):
    p = parse_cell(cell, COLUMNS[name])
    assert p.value == 0.0
    assert p.kind != "unparsed"


def test_zero_words_columns_are_the_steroid_ones():
    names = {n for n, c in COLUMNS.items() if c.zero_words}
    assert "steroid_dose_mg_day" in names
    assert "hb" not in names and "plt" not in names


@pytest.mark.parametrize("name", ["hb", "plt", "anc", "alt", "ecog", "age_years"])
@pytest.mark.parametrize("cell", ["none", "no", "无"])
def test_none_in_other_number_columns_is_unparsed(name, cell):
    p = parse_cell(cell, COLUMNS[name])
    assert p.value is None
    assert p.kind == "unparsed"


NOT_DONE = ["ND", "nd", "N/A", "NA", "pending", "-", "--", "not done", "unknown", "未做", "未查"]
NOT_DONE += ["不详", "未知", None]


@pytest.mark.parametrize("cell", NOT_DONE, ids=[repr(c) for c in NOT_DONE])
@pytest.mark.parametrize(
    "name", ["her2_ihc", "liver_mets", "hb", "steroid_agent", "steroid_dose_mg_day"]
)
def test_not_done_tokens_are_missing_not_unreadable(name, cell):
    p = parse_cell(cell, COLUMNS[name])
    assert p.value is None
    assert p.kind != "unparsed"


def test_dash_is_not_done_for_yes_no_never_false():
    assert parse_cell("-", YESNO).value is None
    assert parse_cell("-", HER2).value is None


@pytest.mark.parametrize(
    ("value", "grade"), [("0.0", 0.0), ("0", 0.0), ("1.0", 1.0), (2.0, 2.0), ("3", 3.0)]
)
def test_a_dipstick_grade_written_as_a_number(value, grade):
    """``0.0`` is what a float column of grades becomes in a CSV: grade 0 = neg."""
    assert parse_cell(value, COLUMNS["urine_protein"]).value == grade


@pytest.mark.parametrize("value", ["0.5", "5", "-1"])
def test_a_number_off_the_dipstick_scale_is_unreadable(value):
    assert parse_cell(value, COLUMNS["urine_protein"]).kind == "unparsed"


@pytest.mark.parametrize("name", ["hb", "hiv_pos", "urine_protein", "sex", "screening_date"])
def test_a_blank_text_cell_is_missing_not_unreadable(name):
    assert parse_cell("   ", COLUMNS[name]) == parse_cell(None, COLUMNS[name])


# --- a whole column at once: one parse per distinct cell, never per equal-looking value


def test_a_column_mixing_true_1_and_1_0_reads_every_cell():
    # an xlsx yes/no column holding a TRUE cell, a 1 and a 1.0 (three Python types that
    # compare equal): each is read; hashing them together left all but the first missing
    raw = pd.Series([True, 1, 1.0, "1", 0, False, None], dtype=object, index=range(2, 9))
    out, censor, notes = parse_series(raw, COLUMNS["adenocarcinoma_confirmed"])
    assert out.tolist()[:6] == [True, True, True, True, False, False]
    assert out.isna().tolist() == [False] * 6 + [True]
    assert censor.isna().all() and notes.empty


def test_a_number_column_mixing_int_and_float_cells_reads_both():
    raw = pd.Series([2, 2.0, "2", "2 H"], dtype=object)
    out, _, notes = parse_series(raw, COLUMNS["hb"])
    assert out.tolist() == [2.0, 2.0, 2.0, 2.0]
    assert notes["row"].tolist() == [3] and notes["kind"].tolist() == ["parsed"]


def test_an_excel_error_cell_stays_apart_from_the_same_text_typed_in():
    error = CellError("#N/A", "Excel error cell #N/A: no value to read")
    raw = pd.Series(["#N/A", error, "#N/A", error], dtype=object)
    codes, distinct = distinct_cells(raw.to_numpy())
    assert codes.tolist() == [0, 1, 0, 1] and [type(d) for d in distinct] == [str, CellError]
    _, _, notes = parse_series(raw, COLUMNS["hb"])
    details = dict(zip(notes["row"], notes["detail"], strict=True))
    assert details[1] == details[3] == error.detail  # the error cell keeps its own reason
    assert details.get(0) != error.detail


def test_notes_follow_row_order_and_name_each_cell():
    raw = pd.Series(["<0.5", "ND", "11", "<0.5"], dtype=object, index=[10, 11, 12, 13])
    _, censor, notes = parse_series(raw, COLUMNS["hb"])
    assert notes["row"].tolist() == [10, 11, 13]
    assert notes["value"].tolist() == ["<0.5", "ND", "<0.5"]
    assert censor.tolist()[0] == "<" and censor.tolist()[3] == "<" and pd.isna(censor[12])


def test_parse_series_with_the_loaders_codes_matches_its_own_hashing():
    """The loader hands parse_series codes computed over the whole sheet column (header,
    title rows included; blank cells -1): the result is the one parse_series computes."""
    wide = pd.Series(["Hb", "9.1", "ND", " ", "9.1", "13/01/2025", "<5", None], dtype=object)
    codes, uniques = distinct_cells(wide.to_numpy(dtype=object))
    rows = pd.Series(wide.iloc[1:].to_list(), index=range(10, 17), dtype=object)
    rows[12] = None  # the loader makes a blank cell None (code -1)
    sub = codes[1:].copy()
    sub[2] = -1
    for name in ("hb", "screening_date", "patient_id", "fail_reasons"):
        column = COLUMNS[name]
        own = parse_series(rows, column)
        given = parse_series(rows, column, (sub, uniques))
        pd.testing.assert_series_equal(given[0], own[0])
        pd.testing.assert_series_equal(given[1], own[1])
        pd.testing.assert_frame_equal(given[2], own[2])


def test_text_column_fast_path_is_parse_cell():
    """An ID / free-text column of text only is stripped, as parse_cell reads each cell."""
    cells = [" P1 ", "P2", "", "  ", "007", "x\ty "]
    for name in ("patient_id", "fail_reasons"):
        column = COLUMNS[name]
        out, censor, notes = parse_series(pd.Series(cells, dtype=object), column)
        expect = [parse_cell(c, column).value for c in cells]
        assert [None if v is pd.NA else v for v in out.tolist()] == expect
        assert censor.isna().all() and notes.empty


def test_wilson_z_is_scipy_norm_ppf():
    """stats._z uses scipy.special.ndtri (no scipy.stats import at start-up): the same
    numbers as scipy.stats.norm.ppf, to the last bit."""
    from scipy.stats import norm

    from screenkit.stats import Z_95, _z

    for confidence in (0.5, 0.8, 0.9, 0.95, 0.975, 0.99, 0.999):
        assert _z(confidence) == float(norm.ppf(0.5 + confidence / 2))
    assert float(norm.ppf(0.975)) == Z_95


def test_a_pandas_timestamp_cell_is_read_not_missing():
    # pandas.Timestamp cells (a frame built in Python, a Parquet date) were read as blank:
    # `types == pd.Timestamp` is a scalar False, so no cell matched its own type
    from screenkit.columns import COLUMNS as ALL
    from screenkit.values import parse_series

    cells = pd.Series([pd.Timestamp("2025-01-02"), None, "2025-01-04"], dtype=object)
    parsed = parse_series(cells, ALL["screening_date"])[0]
    assert parsed.tolist()[0] == pd.Timestamp("2025-01-02")
    assert pd.isna(parsed.tolist()[1]) and parsed.tolist()[2] == pd.Timestamp("2025-01-04")
