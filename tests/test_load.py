"""Reading raw cells: sheets, encodings, header row, row numbers, blank rows."""

import datetime as dt

import openpyxl
import pytest

from screenkit.errors import InputError
from screenkit.load import decode_text, list_sheets, read_table


@pytest.fixture
def workbook(tmp_path):
    path = tmp_path / "log.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Cover"
    ws.append(["nothing here"])
    ws = wb.create_sheet("Screening")
    ws.append(["IMC002 screening log"])
    ws.append(["Subject", "Hb", "Visit date", "HIV"])
    ws.append(["007", 8, dt.datetime(2024, 1, 2), "NA"])
    ws.append([])
    ws.append([7, "1+", 45300, "Y"])
    wb.save(path)
    return path


def test_excel_keeps_cells_and_row_numbers(workbook):
    raw = read_table(workbook, sheet="Screening")
    assert raw.headers == ["Subject", "Hb", "Visit date", "HIV"]
    assert raw.header_row == 2
    assert raw.frame.index.tolist() == [3, 5]
    assert raw.frame.loc[3].tolist() == ["007", 8, dt.datetime(2024, 1, 2), "NA"]
    assert raw.frame.loc[5].tolist() == [7, "1+", 45300, "Y"]
    assert raw.skipped_rows.to_dict("records") == [
        {
            "sheet": "Screening",
            "row": 1,
            "reason": "title row above the header: IMC002 screening log",
        },
        {"sheet": "Screening", "row": 4, "reason": "blank row"},
    ]
    assert raw.rows_read == 4
    assert raw.sheets == ("Cover", "Screening")


def test_first_sheet_by_default(workbook):
    assert read_table(workbook).sheet == "Cover"
    assert list_sheets(workbook) == ["Cover", "Screening"]


def test_unknown_sheet_lists_sheets(workbook):
    with pytest.raises(InputError) as err:
        read_table(workbook, sheet="Log")
    assert str(err.value) == (
        "Sheet not found\n"
        f"  - file: {workbook}\n"
        "  - sheet: Log\n"
        "  - accepted: 'Cover', 'Screening'\n"
        "  Fix: pass sheet= one of the sheets listed (sheet=None finds the screening table)"
    )


def test_csv_reads_text_literally(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("ID,Hb,UPRO\n007,ND,1+\n\n008,<0.5,NA\n", encoding="utf-8")
    raw = read_table(path)
    assert raw.frame.to_dict("index") == {
        2: {0: "007", 1: "ND", 2: "1+"},
        4: {0: "008", 1: "<0.5", 2: "NA"},
    }
    assert raw.skipped_rows["row"].tolist() == [3]
    assert raw.encoding == "utf-8"


def test_csv_quoted_newline_keeps_start_line(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text('ID,Note\n1,"two\nlines"\n2,x\n', encoding="utf-8")
    assert read_table(path).frame.index.tolist() == [2, 4]


def test_tab_separated_txt(tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("ID\tHb\n1\t9\n", encoding="utf-8")
    assert read_table(path).headers == ["ID", "Hb"]


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("big5", "big5")],
)
def test_encodings_detected(tmp_path, encoding, expected):
    text = (
        "患者编号,性别,年龄\nP1,男,56\n" if encoding != "big5" else "患者編號,性別,年齡\nP1,男,56\n"
    )
    path = tmp_path / "log.csv"
    path.write_bytes(text.encode(encoding))
    raw = read_table(path)
    assert raw.encoding == expected and raw.encoding_detected
    assert raw.headers[1] in ("性别", "性別")


def test_explicit_encoding_wins(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes("ID,性别\n1,男\n".encode("gbk"))
    raw = read_table(path, encoding="gbk")
    assert raw.encoding == "gbk" and not raw.encoding_detected
    with pytest.raises(InputError, match="not valid utf-8"):
        read_table(path, encoding="utf-8")


def test_decode_text_gb_vs_big5():
    assert decode_text("性别,是,否".encode("gb18030"))[1] == "gb18030"
    assert decode_text("性別,是,否".encode("big5"))[1] == "big5"


def test_missing_file_and_bad_type(tmp_path):
    with pytest.raises(InputError, match="File not found"):
        read_table(tmp_path / "nope.csv")
    bad = tmp_path / "log.xls"
    bad.write_bytes(b"x")
    with pytest.raises(InputError, match="File type not supported"):
        read_table(bad)


def test_trailing_blank_rows_and_columns_ignored(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("ID,Hb,\n1,9,\n,,\n,,\n", encoding="utf-8")
    raw = read_table(path)
    assert raw.headers == ["ID", "Hb"]
    assert raw.rows_read == 1 and raw.skipped_rows.empty


def test_blanked_codes_are_the_masked_write():
    """Codes blanked by arithmetic are what writing -1 where blank gives, any int dtype."""
    import numpy as np

    from screenkit.load import _blanked

    rng = np.random.default_rng(7)
    for dtype in (np.int32, np.intp):
        codes = rng.integers(-1, 50, 1000).astype(dtype)
        empty = rng.random(1000) < 0.3
        want = codes.copy()
        want[empty] = -1
        got = _blanked(codes[1:], empty[1:])
        assert got.dtype == dtype and np.array_equal(got, want[1:])
        assert not np.shares_memory(got, codes)  # a copy: the codes given are kept


def test_a_first_row_of_text_and_day_month_dates_loads(tmp_path):
    """A first patient row of text cells and a date such as 01/01/2024 (no number among
    them) is looked at as a possible units row; the date is no unit (pint read it as
    arithmetic, 01/01/2024 dividing by zero, and the load stopped with a traceback)."""
    from screenkit.normalize import load_screening
    from screenkit.units import is_unit

    assert not is_unit("01/01/2024") and not is_unit("12/01/2024")
    path = tmp_path / "log.csv"
    path.write_text(
        "Subject ID,Site,Screening date,Reasons\nP-A,Site A,01/01/2024,E7\n"
        "P-B,Site B,02/01/2024,\n",
        encoding="utf-8",
    )
    sd = load_screening(path)
    assert sd.data["patient_id"].tolist() == ["P-A", "P-B"]
    assert sd.report.skipped_rows.empty
