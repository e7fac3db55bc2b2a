"""The coded route (cells as codes into distinct cells, parsed once per distinct cell,
plain decimals without the cell parser) against the cell-by-cell route.

Two differentials on generated columns of the cell forms sites, EDC exports and pandas
write: :func:`parse_coded` against :func:`parse_cell` applied to every cell, and
:func:`load_screening` of a CSV read by pyarrow (codes only, no object grid) against the
same file read by the csv module (every cell an object) - frames, censor marks and the
load report's cells and skipped rows identical.
"""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screenkit import textfile
from screenkit.columnparse import distinct_cells, parse_coded, parse_series
from screenkit.columns import COLUMNS
from screenkit.normalize import load_screening
from screenkit.values import Parsed, _day_first, parse_cell

FORMS = [
    *("5", " 5", "5 ", "+5", "-5", "5.", ".5", "-.5", "5.0", "05", "007", "-0", "0"),
    *("1e3", "1E3", "1e-3", "NaN", "nan", "NA", "N/A", "inf", "-inf", "Infinity"),
    *("1_000", "0x10", "1,000", "1,234.5", "1,5", "0,512", "12,5", "1 000", "١٢", "５"),
    *("<0.5", "< 0.5", ">=10", "≤3", "9.1 H", "9.1*", "ND", "not done", "pending", "-"),
    *("", " ", "\t", "1.5 g/dL", "trace", "1+", "2+", "3", "Y", "N", "yes", "No", "TRUE"),
    *("false", "1.0", "0.0", "M", "F", "female", "2025-01-02", "02/01/2025", "13/01/2025"),
    *("123456789012345678901234567890", "9" * 400, "0.1234567890123456789", "x"),
]
CELLS = st.one_of(
    st.sampled_from(FORMS),
    st.text(alphabet=st.sampled_from([*"0123456789.,-+eE <>", "\u00a0"]), max_size=6),
)
KINDS = ["hb", "anc", "urine_protein", "her2_ihc", "ecog", "hiv_pos", "sex", "site_id"]
KINDS += ["screening_date", "patient_id", "steroid_dose_mg_day"]


def _cell_by_cell(cells: list, column) -> tuple[pd.Series, list, list]:
    """What parsing each cell on its own gives: values, censor marks, notes."""
    present = [c for c in cells if c is not None]
    day_first = _day_first(present) if column.kind == "date" else True
    results = [parse_cell(c, column, day_first) if c is not None else Parsed(None) for c in cells]
    values = pd.Series([r.value for r in results], dtype=object)
    if column.kind == "date":
        typed = pd.to_datetime(values).astype("datetime64[ns]")
    else:
        typed = values.astype(column.dtype)
    pairs = enumerate(zip(cells, results, strict=True))
    notes = [(i, c, r.kind, r.detail) for i, (c, r) in pairs if r.kind]
    return typed, [r.censor for r in results], notes


@pytest.mark.parametrize("name", KINDS)
def test_every_form_parses_by_code_as_cell_by_cell(name):
    _check_coded(name, [*FORMS, None, *FORMS[::-1]])


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(KINDS),
    cells=st.lists(st.one_of(CELLS, st.none()), min_size=1, max_size=30),
)
def test_coded_parse_is_the_cell_parser_cell_by_cell(name, cells):
    _check_coded(name, cells)


def _check_coded(name: str, cells: list) -> None:
    column = COLUMNS[name]
    codes, uniques = distinct_cells(np.array(cells, dtype=object))
    parsed = parse_coded(pd.RangeIndex(len(cells)), codes, uniques, column)
    want, censors, notes = _cell_by_cell(cells, column)
    pd.testing.assert_series_equal(parsed.values, want, check_exact=True)
    if parsed.censor is None:
        assert all(c is None for c in censors)
    else:
        assert parsed.censor.astype(object).where(parsed.censor.notna(), None).tolist() == censors
    got = list(
        zip(parsed.at.tolist(), parsed.written.tolist(), parsed.kinds, parsed.details, strict=True)
    )
    assert got == notes
    # parse_series (a Series of cells) is the same parse, notes as a frame
    values, censor, frame = parse_series(pd.Series(cells, dtype=object), column)
    pd.testing.assert_series_equal(values, want, check_exact=True)
    assert censor.isna().all() if parsed.censor is None else censor.equals(parsed.censor)
    assert list(frame.itertuples(index=False, name=None)) == notes


def test_plain_decimals_skip_the_cell_parser_only_where_it_reads_float_text():
    """The shortcut takes ASCII decimals only; every other form goes to the parser."""
    column = COLUMNS["hb"]
    for text in ["12", "-0", "007", "12.50", "0.000000000000001", "-.5", "5.", "+5", " 5"]:
        codes, uniques = distinct_cells(np.array([text], dtype=object))
        parsed = parse_coded(pd.RangeIndex(1), codes, uniques, column)
        assert parsed.values.iloc[0] == parse_cell(text, column).value
        assert parsed.kinds.tolist() == ([parse_cell(text, column).kind] * bool(len(parsed.at)))


def _write(path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        writer.writerows(rows)


def _outcome(path):
    data = load_screening(path)
    report = data.report
    return data.data, data.censored, data.unreadable, report.cells, report.skipped_rows


@pytest.fixture
def csv_module_only(monkeypatch):
    """Read text files by the csv module alone (every cell a Python object)."""

    def use(on: bool) -> None:
        if on:
            monkeypatch.setattr(textfile, "_c_grid", lambda *args: None)
        else:
            monkeypatch.undo()

    return use


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    columns=st.lists(st.sampled_from(KINDS[:-2]), min_size=1, max_size=4, unique=True),
    data=st.data(),
)
def test_csv_by_codes_loads_as_the_csv_module_cell_by_cell(
    tmp_path_factory, csv_module_only, columns, data
):
    n = data.draw(st.integers(1, 12))
    rows = [
        [f"{i:03d}", *(data.draw(CELLS) for _ in columns)]  # IDs with leading zeros
        for i in range(n)
    ]
    header = ["patient_id", *columns]
    path = tmp_path_factory.mktemp("csv") / "log.csv"
    _write(path, header, rows)
    assert textfile.read_text_grid(path).reader == "pyarrow"
    fast = _outcome(path)
    csv_module_only(True)
    try:
        assert textfile.read_text_grid(path).reader == "csv"
        slow = _outcome(path)
    finally:
        csv_module_only(False)
    for got, want in zip(fast, slow, strict=True):
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_day_first_is_guessed_from_the_cells_present_only():
    """A date cell no row holds (a title or header row's) does not sway the day-first
    guess: 02/01/2025 stays 2 January though 01/13/2025 is among the distinct cells."""
    uniques = ["02/01/2025", "01/13/2025"]
    parsed = parse_coded(pd.RangeIndex(2), np.array([0, 0]), uniques, COLUMNS["screening_date"])
    assert parsed.values.tolist() == [pd.Timestamp("2025-01-02")] * 2
    both = parse_coded(pd.RangeIndex(2), np.array([0, 1]), uniques, COLUMNS["screening_date"])
    assert both.values.tolist() == [pd.Timestamp("2025-02-01"), pd.Timestamp("2025-01-13")]


@settings(max_examples=200, deadline=None)
@given(
    noted=st.lists(st.booleans(), min_size=1, max_size=9),
    data=st.data(),
)
def test_noted_cells_are_found_as_by_spreading_the_mask(noted, data):
    """Whether any cell holds a noted distinct cell (compares for a few, a gather for
    many) is what spreading the mask over the cells says; and the blank masks of the
    loader (none, one or several blank distinct cells) are each cell's own judgement."""
    from screenkit.columnparse import _any_present
    from screenkit.load import _masks

    k = len(noted)
    codes = np.array(data.draw(st.lists(st.integers(-1, k - 1), max_size=30)), dtype=np.int32)
    mask = np.array(noted, dtype=bool)
    assert _any_present(mask, codes) == bool(np.append(mask, False)[codes].any())
    uniques = [" " if n else f"v{i}" for i, n in enumerate(noted)]  # noted: blank
    (blank,), errors = _masks([(codes, uniques)], len(codes))
    want = [c < 0 or not uniques[c].strip() for c in codes.tolist()]
    assert blank.tolist() == want and errors is None
