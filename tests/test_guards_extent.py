"""The dimension guard's fast scan finds the same extent as a cell-by-cell walk, and still
refuses every hostile form of a far-away cell (issue 14 item 4)."""

from __future__ import annotations

import zipfile

import pytest
from openpyxl import Workbook

from screenkit import guards
from screenkit.errors import InputError
from screenkit.guards import MAX_CELLS, _extent, _walk, check_workbook

PART = "xl/worksheets/sheet1.xml"


def _extent_of(tmp_path, sheet_data: str, name: str = "part.zip") -> tuple[int, int]:
    path = tmp_path / name
    head = '<worksheet xmlns:r="urn:r" xmlns:x="urn:x"><sheetData>'
    xml = f"{head}{sheet_data}</sheetData></worksheet>"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(PART, xml)
    with zipfile.ZipFile(path) as archive:
        fast, walked = _extent(archive, PART), _walk(archive, PART)
    return fast, walked


HOSTILE = {
    "cell out of order, last": '<row r="1"><c r="A1"/><c r="B1"/></row><row r="2"><c r="A2"/>'
    '<c r="XFD1048576"/></row>',
    "cell beyond its row's r": '<row r="1"><c r="A1"/><c r="F1048576"/></row>',
    "cell in a later row first": '<row r="2"><c r="Q900000"/></row><row r="1"><c r="A1"/></row>',
    "namespace prefix": '<x:row r="1"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>',
    "r not first": '<row r="1"><c s="1" t="n" r="XFD1048576"><v>1</v></c></row>',
    "single quotes": "<row r='1'><c r='XFD1048576'><v>1</v></c></row>",
    "spaces around =": '<row r="1"><c r = "XFD1048576"><v>1</v></c></row>',
    "tab and newline": '<row\tr="1">\n<c\nr="XFD1048576"\t/></row>',
    "leading zeros": '<row r="1"><c r="XFD0001048576"/></row>',
    "lower case column": '<row r="1"><c r="xfd1048576"/></row>',
    "row r far, cells without r": '<row r="1048576">' + "<c><v>1</v></c>" * 6 + "</row>",
    "rows without r": "<row>"
    + "<c/>" * 3
    + "</row>"
    + '<row><c r="XFD3"/></row>'
    + '<row r="1048575"/><row><c r="A1"/></row>',
}


@pytest.mark.parametrize("form", sorted(HOSTILE))
def test_hostile_forms_reach_far(tmp_path, form):
    fast, walked = _extent_of(tmp_path, HOSTILE[form])
    assert fast == walked
    assert fast[0] * fast[1] > MAX_CELLS, fast


def test_cells_without_r_follow_the_previous_cell(tmp_path):
    """A cell without r= sits after the previous one of its row; a row without r= after
    the previous row: the walk counts them where the reader puts them."""
    data = '<row r="3"><c r="B3"/><c/><c/></row><row><c/></row>'
    assert _extent_of(tmp_path, data) == ((4, 4), (4, 4))


def test_fast_scan_agrees_with_the_walk_on_a_real_sheet(tmp_path, monkeypatch):
    """Many chunks, rows and columns of different widths: the same extent."""
    monkeypatch.setattr(guards, "CHUNK", 1 << 18)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Log")
    for i in range(12_000):
        sheet.append([f"P{i}", i * 0.5, "x" * (i % 7)] + [i] * (3 + i % 40))
    path = tmp_path / "big.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(PART).file_size > 3 << 20
        assert _extent(archive, PART) == _walk(archive, PART) == (12_000, 45)


def test_a_far_cell_in_a_later_chunk_is_found(tmp_path, monkeypatch):
    """A far cell in the last of many chunks, in a row of the usual r=."""
    monkeypatch.setattr(guards, "CHUNK", 1 << 16)
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>' for i in range(1, 60_000))
    data = rows + '<row r="60000"><c r="A60000"/><c r="ZZ60000"/></row>'
    assert _extent_of(tmp_path, data) == ((60_000, 702), (60_000, 702))


def test_far_cell_refused_with_sheet_name(tmp_path):
    book = Workbook()
    book.active.title = "Log"
    book.active["A1"] = "ID"
    book.active["XFD1048576"] = 1
    path = tmp_path / "far.xlsx"
    book.save(path)
    with pytest.raises(InputError, match="Sheet reaches too far") as err:
        check_workbook(path)
    assert "Log" in str(err.value)
