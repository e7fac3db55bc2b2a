"""Literal tests of ``screenkit.values.parse_cell`` for every spelling of issue #11."""

from __future__ import annotations

import numpy as np
import pytest

from screenkit.columns import COLUMNS
from screenkit.values import parse_cell

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
