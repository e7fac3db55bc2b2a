"""The xlsx reader (python-calamine rows converted column-wise) reads every cell as
pandas' calamine route did, cell for cell and type for type (issue 14 item 4)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from openpyxl import Workbook

from screenkit import load_screening
from screenkit.values import CellError
from screenkit.workbook import _read_sheet, read_sheet_grid


def _by_pandas(path, sheet, nrows=None) -> pd.DataFrame:
    frame = pd.read_excel(
        path,
        sheet_name=sheet,
        header=None,
        dtype=object,
        na_filter=False,
        engine="calamine",
        nrows=nrows,
    )
    frame.columns = range(frame.shape[1])
    return frame.reset_index(drop=True)


def _cells(frame: pd.DataFrame) -> list[list[tuple[type, object]]]:
    return [[(type(v), v) for v in row] for row in frame.itertuples(index=False, name=None)]


ROWS = [
    ["patient_id", "visit", "time", "hb", "consent", "note", "big", "tiny", "duration"],
    ["007", dt.date(2024, 1, 31), dt.time(12, 30), 11.0, True, "12", 2**70, -0.0, None],
    [
        None,
        dt.datetime(2024, 2, 1, 5, 6),
        dt.time(0, 0),
        11.5,
        False,
        " 3.0 ",
        -(2**62),
        1e-300,
        dt.timedelta(hours=3),
    ],
    [],
    [8, None, None, 1e300, None, "#N/A", 2**53 + 1, -7.0, None],
]


@pytest.fixture()
def book(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Log"
    for row in ROWS:
        ws.append(row)
    ws["L9"] = "far corner"
    ws.merge_cells("B4:B5")
    single = wb.create_sheet("One column")
    for value in ["ID", "1", None, "", 2, None, "3"]:
        single.append([value])
    wb.create_sheet("Empty")
    path = tmp_path / "log.xlsx"
    wb.save(path)
    return path


@pytest.mark.parametrize("sheet", ["Log", "One column", "Empty"])
@pytest.mark.parametrize("nrows", [None, 2])
def test_cells_as_pandas_read_them(book, sheet, nrows):
    new, old = _read_sheet(book, sheet, nrows), _by_pandas(book, sheet, nrows)
    assert new.shape == old.shape
    assert _cells(new) == _cells(old)


def test_values_and_types(book):
    grid = _read_sheet(book, "Log")
    assert grid.shape == (9, 12)
    first, second = grid.iloc[1].tolist(), grid.iloc[2].tolist()
    assert first[:5] == ["007", dt.datetime(2024, 1, 31), dt.time(12, 30), 11, True]
    assert type(first[3]) is int and type(second[3]) is float  # 11.0 whole, 11.5 not
    assert type(first[6]) is int and first[6] > 2**63  # beyond int64: Python's int
    assert second[5] == " 3.0 " and second[8] == dt.timedelta(hours=3)
    assert grid.iat[4, 6] == float(2**53 + 1) and type(grid.iat[4, 6]) is int  # as stored
    assert grid.iat[8, 11] == "far corner" and grid.iat[3, 0] == ""


def test_errors_and_merges_filled_after_reading(tmp_path):
    wb = Workbook()
    ws = wb.active
    for row in (["ID", "Site", "Hb"], ["1", "A", "=1/0"], ["2", None, 9]):
        ws.append(row)
    ws.merge_cells("B2:B3")
    path = tmp_path / "f.xlsx"
    wb.save(path)
    grid, _, _, choice, _ = read_sheet_grid(path, None)
    assert grid.iat[2, 1] == "A" and "merged cells B2:B3" in choice
    assert isinstance(grid.iat[1, 2], CellError)


def test_loads_the_same_from_the_sample_workbook():
    """Loaded through the new reader, the bundled sample gives the frame the pandas route
    gave (same values, same dtypes)."""
    import screenkit.workbook as workbook
    from screenkit.datasets import sample_path

    path = sample_path("messy")
    new = load_screening(path)
    original = workbook._read_sheet
    workbook._read_sheet = _by_pandas
    try:
        old = load_screening(path)
    finally:
        workbook._read_sheet = original
    pd.testing.assert_frame_equal(new.data, old.data)
    pd.testing.assert_frame_equal(new.censored, old.censored)
    for field in ("headers", "conversions", "cells", "skipped_rows"):
        pd.testing.assert_frame_equal(getattr(new.report, field), getattr(old.report, field))
    assert new.report.notes == old.report.notes and new.report.counts() == old.report.counts()


@pytest.mark.parametrize("formula", [False, True])
@pytest.mark.parametrize("chunk", [7, 64, 4 << 20])
def test_markers_found_across_chunks(tmp_path, monkeypatch, chunk, formula):
    """An error cell or a merge is found wherever the streamed chunks cut the XML."""
    import screenkit.workbook as workbook

    monkeypatch.setattr(workbook, "XML_CHUNK", chunk)
    wb = Workbook()
    ws = wb.active
    for i in range(300):
        ws.append([f"P{i}", "A" if i % 2 else None, i])
    ws.merge_cells("B2:B3")
    if formula:
        ws["D299"] = "=1/0"
    path = tmp_path / "m.xlsx"
    wb.save(path)
    grid, _, _, choice, _ = read_sheet_grid(path, None)
    assert grid.iat[2, 1] == "A" and "merged cells B2:B3" in choice
    assert grid.shape[1] == (4 if formula else 3)
    assert not formula or isinstance(grid.iat[298, 3], CellError)
