"""Write the bad-input corpus into a folder: ``python make_corpus.py OUT_DIR``.

Each file has its expected outcome in :data:`EXPECT` (read by tests/test_bad_inputs.py):
``("ok", {...})`` a correct load with the problem in the load report, or
``("error", [...])`` an InputError (exit 2) whose message holds every listed piece.
No binary is committed; the tests call :func:`make_corpus` into a temporary folder.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

HEAD = "patient_id,site_id,hb,alt\n"
ROWS = "P001,S01,11.2,30\nP002,S01,12.0,25\n"
CSV = HEAD + ROWS


def _xlsx(path: Path, rows, *, extra=None) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Screening"
    for row in rows:
        sheet.append(row)
    if extra:
        extra(book)
    book.save(path)


def _far_cell(ref):
    def extra(book):
        book["Screening"][ref] = "x"

    return extra


def _hidden_first(book):
    stale = book.create_sheet("Old", 0)
    for row in (["patient_id", "hb"], ["OLD1", 1.0]):
        stale.append(row)
    stale.sheet_state = "hidden"


def _huge_cell(path: Path, rows) -> None:
    """A text cell of 40,000 characters (openpyxl cuts at Excel's 32,767: lengthen it in the
    sheet XML, as another writer could)."""
    _xlsx(path, [*rows, ["P003", "S01", "9" * 32767, 20]])
    parts = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            parts[name] = archive.read(name)
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b"9" * 32767, b"9" * 40_000
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def _bomb(path: Path) -> None:
    _xlsx(path, [["patient_id", "hb"], ["P001", 11.0]])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (50 * 1024 * 1024))


TEXT: dict[str, bytes] = {
    "empty.csv": b"",
    "blank_lines.csv": b"\n\n,,\n",
    "header_only.csv": HEAD.encode(),
    "no_id.csv": b"site_id,hb\nS01,11\n",
    "duplicate_id.csv": (HEAD + "P001,S01,11,30\nP001,S01,12,31\n").encode(),
    "title_rows.csv": ("IMC-002 screening log\nexported 2025-09-01\n" + CSV).encode(),
    "repeated_header.csv": (CSV + HEAD + "P003,S02,13,20\n").encode(),
    "total_row.csv": (CSV + "Total,,,\n").encode(),
    # an EDC export's second header row of units; a group heading above the header
    "units_row.csv": (
        b"patient_id,site_id,hb,alt\nID,Site,g/L,U/L\nP001,S01,112,30\nP002,S01,120,25\n"
    ),
    "group_header.csv": ("Patient,,Labs,\n" + CSV).encode(),
    "utf8.csv": (HEAD.replace("\n", ",city\n") + "P001,S01,11,30,Zürich\n").encode(),
    "utf8_bom.csv": ("\ufeff" + HEAD.replace("\n", ",city\n") + "P001,S01,11,30,Zürich\n").encode(
        "utf-8"
    ),
    "cp1252.csv": (HEAD.replace("\n", ",city\n") + "P001,S01,11,30,Zürich\n").encode("cp1252"),
    "utf16_bom.csv": (HEAD + ROWS).encode("utf-16"),
    "utf16le_no_bom.csv": (HEAD + ROWS).encode("utf-16-le"),
    "utf16be_no_bom.csv": (HEAD + ROWS).encode("utf-16-be"),
    "sep_line.csv": ("sep=;\n" + CSV.replace(",", ";")).encode(),
    "semicolon.csv": CSV.replace(",", ";").encode(),
    "huge_cell.csv": (HEAD + "P001,S01,11," + "9" * 140_000 + "\n").encode(),
    "decimal_comma.csv": b'patient_id;hb;alt\nP001;"0,512";30\nP002;"11,5";"1,234"\n',
    "numbers_as_text.csv": b'patient_id,hb,alt\nP001," 11.2 ",030\nP002,12 H,<5\n',
    "infinite.csv": ("patient_id,hb,alt\nP001,inf,30\nP002," + "9" * 400 + ",30\n").encode(),
    # the header says g/L but the site wrote g/dL (11.2): never read as 1.12 g/dL
    "units_contradict.csv": b"patient_id,site_id,hb (g/L)\nP001,S01,11.2\nP002,S01,112\n",
    "fullwidth_headers.csv": "patient_id,ｈｂ,ＡＬＴ\nP001,11,30\n".encode(),
    "fullwidth_duplicate.csv": "patient_id,hb,ｈｂ\nP001,11,12\n".encode(),
    "dates.csv": (
        b"patient_id,screening_date\nP001,2025-08-12\nP002,250812\nP003,2958465\n"
        b"P004,12/08/2025\nP005,12-Aug-2025\nP006,30\nP007,60\n"
    ),
    "yes_no.csv": b"patient_id,hiv_pos\nP001,Y\nP002,nope\nP003,+\n",
    "not_a_spreadsheet.csv": bytes(range(256)) * 8,
    "unknown.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504,
    "sheet.ods": b"PK\x03\x04 not really",
    "notes.pdf": b"%PDF-1.4\n",
    "encrypted.xlsx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048,
    "corrupt.xlsx": b"PK\x03\x04garbage garbage garbage",
    "not_zip.xlsx": b"patient_id,hb\nP001,11\n",
}


def make_corpus(out: Path) -> Path:
    """Write every corpus file into ``out`` (created); returns ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in TEXT.items():
        (out / name).write_bytes(data)
    (out / "a_folder.csv").mkdir(exist_ok=True)
    good = [
        ["patient_id", "site_id", "hb", "alt"],
        ["P001", "S01", 11.2, 30],
        ["P002", "S01", 12.0, 25],
    ]
    _xlsx(out / "good.xlsx", good)
    _xlsx(out / "good.xlsm", good)
    _xlsx(out / "far_cell_xfd1048576.xlsx", good, extra=_far_cell("XFD1048576"))
    _xlsx(out / "far_cell_xfd5000.xlsx", good, extra=_far_cell("XFD5000"))
    _xlsx(out / "hidden_first.xlsx", good, extra=_hidden_first)
    _huge_cell(out / "huge_cell.xlsx", good)
    _xlsx(
        out / "dates_excel.xlsx", [["patient_id", "screening_date"], ["P001", 45292], ["P002", 1]]
    )
    _xlsx(
        out / "error_cells.xlsx",
        [
            ["patient_id", "site_id", "hb"],
            ["P001", "S01", "#N/A"],
            ["P002", "S01", "=1/0"],
            ["P003", "S01", 11.0],
            ["#N/A", "#N/A", "#N/A"],
        ],
    )

    def merge(book):
        book["Screening"].merge_cells("B2:B3")

    _xlsx(
        out / "merged_site.xlsx",
        [["patient_id", "site_id", "hb"], ["P001", "S07", 11.0], ["P002", None, 12.0]],
        extra=merge,
    )
    whole = (out / "good.xlsx").read_bytes()
    (out / "truncated.xlsx").write_bytes(whole[: len(whole) // 2])
    _bomb(out / "zip_bomb.xlsx")
    return out


#: file -> expected outcome. "ok": rows loaded, problems as {(column, kind)}, skipped reasons
#: (substrings), notes (substrings), values {(row, column): value}. "error": message pieces.
EXPECT: dict[str, tuple[str, object]] = {
    "empty.csv": ("error", ["No header row: the sheet is empty", "empty.csv"]),
    "blank_lines.csv": ("error", ["No header row"]),
    "header_only.csv": ("ok", {"rows": 0}),
    "no_id.csv": ("error", ["No patient ID column", "accepted: patient_id"]),
    "duplicate_id.csv": ("error", ["Duplicate patient ID 'P001'", "row: 3", "column: patient_id"]),
    "title_rows.csv": ("ok", {"rows": 2, "skipped": ["title row", "title row"]}),
    "repeated_header.csv": ("ok", {"rows": 3, "skipped": ["repeated header row"]}),
    "units_row.csv": (
        "ok",
        {
            "rows": 2,
            "skipped": ["units row under the header: ID | Site | g/L | U/L"],
            "values": {(3, "hb"): 11.2, (4, "alt"): 25.0},
        },
    ),
    "group_header.csv": (
        "ok",
        {"rows": 2, "header_row": 2, "skipped": ["title row above the header: Patient | Labs"]},
    ),
    "total_row.csv": ("ok", {"rows": 2, "skipped": ["total row ('Total')"]}),
    "utf8.csv": ("ok", {"rows": 1, "notes": ["encoding utf-8 (detected)"]}),
    "utf8_bom.csv": ("ok", {"rows": 1, "notes": ["encoding utf-8-sig"]}),
    "cp1252.csv": ("ok", {"rows": 1, "notes": ["encoding cp1252 (detected)"]}),
    "utf16_bom.csv": ("ok", {"rows": 2, "notes": ["encoding utf-16 "]}),
    "utf16le_no_bom.csv": ("ok", {"rows": 2, "notes": ["encoding utf-16-le"]}),
    "utf16be_no_bom.csv": ("ok", {"rows": 2, "notes": ["encoding utf-16-be"]}),
    "sep_line.csv": ("ok", {"rows": 2, "values": {(3, "hb"): 11.2}, "header_row": 2}),
    "semicolon.csv": ("ok", {"rows": 2, "values": {(3, "alt"): 25.0}}),
    "huge_cell.csv": ("error", ["CSV cannot be read", "row: 2", "characters"]),
    "decimal_comma.csv": (
        "ok",
        {"rows": 2, "problems": {("hb", "unparsed")}, "values": {(3, "alt"): 1234.0}},
    ),
    "numbers_as_text.csv": ("ok", {"rows": 2, "values": {(2, "hb"): 11.2, (2, "alt"): 30.0}}),
    "infinite.csv": ("ok", {"rows": 2, "problems": {("hb", "unparsed")}}),
    "units_contradict.csv": (
        "ok",
        {
            "rows": 2,
            "cells": {("hb", "implausible")},
            "values": {(2, "hb"): None, (3, "hb"): 11.2},
        },
    ),
    "fullwidth_headers.csv": ("ok", {"rows": 1, "values": {(2, "hb"): 11.0, (2, "alt"): 30.0}}),
    "fullwidth_duplicate.csv": ("error", ["ｈｂ"]),
    "dates.csv": (
        "ok",
        {
            "rows": 7,
            "problems": {("screening_date", "unparsed")},
            "values": {(2, "screening_date"): "2025-08-12", (7, "screening_date"): "1900-01-30"},
            "unparsed_rows": {3, 4, 8},
        },
    ),
    "yes_no.csv": (
        "ok",
        {"rows": 3, "problems": {("hiv_pos", "unparsed")}, "unparsed_rows": {3, 4}},
    ),
    "not_a_spreadsheet.csv": ("error", ["not a text spreadsheet"]),
    "unknown.xls": ("error", ["File type not supported", "'.xls'", "save .xls as .xlsx"]),
    "sheet.ods": ("error", ["File type not supported", "'.ods'"]),
    "notes.pdf": ("error", ["File type not supported"]),
    "encrypted.xlsx": ("error", ["Not a readable workbook", "password"]),
    "corrupt.xlsx": ("error", ["Not a readable workbook", "password"]),
    "not_zip.xlsx": ("error", ["Not a readable workbook", "password"]),
    "a_folder.csv": ("error", ["Input is a folder", "a_folder.csv"]),
    "good.xlsx": ("ok", {"rows": 2, "values": {(3, "hb"): 12.0}}),
    "good.xlsm": ("ok", {"rows": 2}),
    "far_cell_xfd1048576.xlsx": (
        "error",
        ["Sheet reaches too far", "sheet: Screening", "row 1,048,576", "16,384"],
    ),
    "far_cell_xfd5000.xlsx": ("error", ["Sheet reaches too far", "sheet: Screening", "row 5,000"]),
    "huge_cell.xlsx": (
        "error",
        ["more text than Excel allows", "sheet: Screening", "row: 4", "column: C", "40,000"],
    ),
    "hidden_first.xlsx": ("ok", {"rows": 2, "notes": ["'Old' (hidden)"]}),
    "dates_excel.xlsx": (
        "ok",
        {
            "rows": 2,
            "values": {(2, "screening_date"): "2024-01-01", (3, "screening_date"): "1900-01-01"},
        },
    ),
    "error_cells.xlsx": (
        "ok",
        {
            "rows": 3,
            "problems": {("hb", "unparsed")},
            "unparsed_rows": {2, 3},
            "skipped": ["row of Excel error cells only: #N/A"],
        },
    ),
    "merged_site.xlsx": (
        "ok",
        {
            "rows": 2,
            "values": {(2, "site_id"): "S07", (3, "site_id"): "S07"},
            "notes": ["merged cells B2:B3 filled from B2 ('S07')"],
        },
    ),
    "truncated.xlsx": ("error", ["Not a readable workbook", "password"]),
    "zip_bomb.xlsx": ("error", ["compresses implausibly well", "padding.bin"]),
}

if __name__ == "__main__":
    print(make_corpus(Path(sys.argv[1])))
