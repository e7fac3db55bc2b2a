"""load_screening: header mapping, value parsing, conversions and the load report."""

import copy
import datetime as dt
import json

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screenkit.columns import COLUMNS
from screenkit.errors import InputError
from screenkit.normalize import header_key, load_screening, match_header
from screenkit.values import parse_bool, parse_cell, parse_date, parse_number


def write_csv(tmp_path, text, name="log.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_literal_frame(tmp_path):
    path = write_csv(
        tmp_path,
        "Subject,Site,Sex,Age,Hb (g/L),PLT [/uL],ANC,HIV Ab,Urine protein,Screening date,Notes\n"
        "007,3,Male,56,80,75000,<0.5,N,trace,2024-03-05,ok\n"
        "008,3,F,61,ND,150000,1.2 H,yes,2+,05/03/2024,\n",
    )
    sd = load_screening(path)
    expected = pd.DataFrame(
        {
            "patient_id": pd.array(["007", "008"], dtype="string"),
            "site_id": pd.array(["3", "3"], dtype="string"),
            "screening_date": pd.to_datetime(["2024-03-05", "2024-03-05"]).astype("datetime64[ns]"),
            "sex": pd.array(["M", "F"], dtype="string"),
            "age_years": pd.array([56.0, 61.0], dtype="Float64"),
            "anc": pd.array([0.5, 1.2], dtype="Float64"),
            "plt": pd.array([75.0, 150.0], dtype="Float64"),
            "hb": pd.array([8.0, None], dtype="Float64"),
            "urine_protein": pd.array([0.5, 2.0], dtype="Float64"),
            "hiv_pos": pd.array([False, True], dtype="boolean"),
        },
        index=pd.Index([2, 3], name="row"),
    )
    pd.testing.assert_frame_equal(sd.data, expected)
    pd.testing.assert_frame_equal(
        sd.censored,
        pd.DataFrame({"anc": pd.array(["<", None], dtype="string")}, index=expected.index),
    )
    headers = sd.report.headers
    assert headers["how"].tolist() == ["alias"] * 10 + ["unmapped"]
    assert sd.report.unmapped == ["Notes"]
    assert headers.loc[4, "unit"] == "g/L"
    assert sd.report.conversions.to_dict("records") == [
        {"column": "hb", "from_unit": "g/L", "to_unit": "g/dL", "cells": 1},
        {"column": "plt", "from_unit": "/uL", "to_unit": "10^9/L", "cells": 2},
    ]
    kinds = sd.report.cells.groupby("kind").size().to_dict()
    assert kinds == {"censored": 1, "converted": 3, "not done": 1, "parsed": 3}
    assert sd.report.problems.empty
    assert (sd.report.rows_read, sd.report.rows_loaded) == (2, 2)


def test_gb18030_chinese_headers_and_yes_no(tmp_path):
    text = "受试者编号,性别,年龄,是否签署知情同意\nS01,男,56,是\nS02,女,48,否\n"
    path = write_csv(tmp_path, text, encoding="gb18030")
    sd = load_screening(path, columns={"是否签署知情同意": "consent_signed"})
    assert sd.data["sex"].tolist() == ["M", "F"]
    assert sd.data["age_years"].tolist() == [56.0, 48.0]
    assert sd.data["consent_signed"].tolist() == [True, False]
    assert sd.report.encoding == "gb18030"
    assert "encoding gb18030 (detected)" in sd.report.notes


def test_excel_serial_dates_and_datetime_cells(tmp_path):
    path = tmp_path / "log.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Log"
    ws.append(["Patient ID", "Screening date", "DOB"])
    ws.append(["P1", 45292, dt.datetime(1960, 6, 1)])
    ws.append(["P2", dt.datetime(2024, 2, 1), "15/07/1970"])
    ws.append([None, None, None])
    ws.append(["P3", "2024-03-01", "1990-03-02"])
    wb.save(path)
    sd = load_screening(path)
    assert sd.data["screening_date"].tolist() == [
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-02-01"),
        pd.Timestamp("2024-03-01"),
    ]
    assert sd.data["age_years"].tolist() == [63.0, 53.0, 33.0]
    assert sd.data.index.tolist() == [2, 3, 5]
    assert sd.report.skipped_rows.to_dict("records") == [
        {"sheet": "Log", "row": 4, "reason": "blank row"}
    ]
    assert any("age_years derived" in n for n in sd.report.notes)
    assert "read sheet 'Log' (the only visible worksheet)" in sd.report.notes
    serial = sd.report.cells[sd.report.cells["value"].astype(str) == "45292"]
    assert serial["detail"].tolist() == ["Excel serial 45292 = 2024-01-01"]


def test_ambiguous_day_month_is_day_first_and_reported(tmp_path):
    path = write_csv(tmp_path, "ID,Screening date\n1,03/04/2024\n2,25/04/2024\n")
    sd = load_screening(path)
    assert sd.data["screening_date"].tolist() == [pd.Timestamp("2024-04-03")] * 1 + [
        pd.Timestamp("2024-04-25")
    ]
    detail = sd.report.cells.loc[sd.report.cells["row"] == 2, "detail"].item()
    assert detail == "ambiguous day/month, read day first = 2024-04-03"


def test_month_first_column_when_values_say_so(tmp_path):
    path = write_csv(tmp_path, "ID,Screening date\n1,03/04/2024\n2,04/25/2024\n")
    sd = load_screening(path)
    assert sd.data["screening_date"].tolist()[0] == pd.Timestamp("2024-03-04")


def test_unparsed_yes_no_is_a_problem_with_location(tmp_path):
    path = tmp_path / "log.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Screening"
    ws.append(["Subject", "HIV Ab", "HBsAg"])
    ws.append(["P1", "maybe", "neg"])
    ws.append(["P2", "N", "Y"])
    wb.save(path)
    sd = load_screening(
        path, sheet="Screening", columns={"HIV Ab": "hiv_pos", "HBsAg": "hbsag_pos"}
    )
    assert sd.data["hiv_pos"].isna().tolist() == [True, False]
    assert sd.data["hbsag_pos"].tolist() == [False, True]
    problems = sd.report.problems
    assert problems[["sheet", "row", "patient_id", "column", "value", "kind"]].to_dict(
        "records"
    ) == [
        {
            "sheet": "Screening",
            "row": 2,
            "patient_id": "P1",
            "column": "HIV Ab",
            "value": "maybe",
            "kind": "unparsed",
        }
    ]
    with pytest.raises(InputError) as err:
        load_screening(path, columns={"HIV Ab": "hiv_pos"}, strict=True)
    assert str(err.value).startswith(
        "Cell not understood (1 in all; strict=True)\n"
        f"  - file: {path}\n  - sheet: Screening\n  - row: 2\n  - column: HIV Ab\n"
        "  - value: 'maybe'\n  - accepted: not yes/no"
    )


def test_duplicate_ids_name_both_rows(tmp_path):
    path = write_csv(tmp_path, "Subject,Hb\nP1,9\nP2,9\n\nP1,10\n")
    with pytest.raises(InputError) as err:
        load_screening(path)
    assert str(err.value) == (
        "Duplicate patient ID 'P1' on rows 2 and 5\n"
        f"  - file: {path}\n"
        "  - row: 5\n"
        "  - column: Subject\n"
        "  - value: 'P1'\n"
        "  - accepted: one row per screened patient"
    )


def test_missing_id_and_missing_id_column(tmp_path):
    path = write_csv(tmp_path, "Subject,Hb\nP1,9\n,9\n")
    with pytest.raises(InputError, match="Patient ID missing") as err:
        load_screening(path)
    assert err.value.row == 3 and err.value.column == "Subject"
    path = write_csv(tmp_path, "Who,Hb\nP1,9\n", name="noid.csv")
    with pytest.raises(InputError, match="No patient ID column") as err:
        load_screening(path)
    assert "usubjid" in err.value.expected


def test_two_headers_same_column(tmp_path):
    path = write_csv(tmp_path, "ID,Hb,Haemoglobin\n1,9,9\n")
    with pytest.raises(InputError, match="Two headers map to the same column 'hb'") as err:
        load_screening(path)
    assert err.value.column == "'Hb' and 'Haemoglobin'"


def test_unit_column_per_row(tmp_path):
    path = write_csv(
        tmp_path,
        "ID,Creatinine,Creatinine unit,Hb,Unit\n"
        "1,707.2,umol/L,80,g/L\n2,1.1,mg/dL,9,\n3,2,mg/dl,8,stone\n",
    )
    sd = load_screening(path)
    assert sd.data["creat"].tolist() == [8.0, 1.1, 2.0]
    assert sd.data["hb"].tolist()[:2] == [8.0, 9.0]
    assert pd.isna(sd.data["hb"].iloc[2])
    assert sd.report.headers["how"].tolist() == [
        "alias",
        "alias",
        "unit column",
        "alias",
        "unit column",
    ]
    bad = sd.report.problems
    assert bad[["row", "column", "value"]].to_dict("records") == [
        {"row": 4, "column": "Hb", "value": "8"}
    ]
    assert "unit 'stone' not understood" in bad["detail"].item()


def test_header_unit_unknown_is_error(tmp_path):
    path = write_csv(tmp_path, "ID,Hb (bananas)\n1,9\n")
    with pytest.raises(InputError, match="Unit not understood") as err:
        load_screening(path)
    assert err.value.column == "Hb (bananas)" and "g/L" in err.value.expected


def test_implausible_with_hint(tmp_path):
    path = write_csv(tmp_path, "ID,Hb,Weight (lb)\n1,80,154.3236\n")
    sd = load_screening(path)
    assert sd.data["hb"].isna().all()  # an impossible value is never evaluated
    assert sd.unreadable["hb"].tolist() == [True]
    row = sd.report.cells[sd.report.cells["kind"] == "implausible"]
    assert row["detail"].item() == (
        "80 outside the plausible range 2-25 g/dL; no unit given: written in g/L? (= 8 g/dL)"
        "; read as missing"
    )
    assert sd.data["weight_kg"].tolist() == [70.00000747]


def test_site_default_and_report_texts(tmp_path):
    path = write_csv(tmp_path, "ID,Hb,HIV\n1,9,?\n")
    sd = load_screening(path)
    assert sd.data["site_id"].tolist() == ["1"]
    text = sd.report.summary()
    assert "no site column: every patient set to site '1'" in text
    assert "problem: row 2, HIV: '?'" in text
    assert "<b>Load report</b>" in sd._repr_html_()
    assert sd.to_frame() is sd.data and sd.report.to_frame() is sd.report.cells


def test_user_map_files_and_no_mutation(tmp_path):
    path = write_csv(tmp_path, "Pt,Haem,Comment\nA,80,x\n")
    mapping = {"Pt": "patient_id", "Haem": "hb (g/L)", "Comment": None}
    before = copy.deepcopy(mapping)
    sd = load_screening(path, columns=mapping)
    assert mapping == before
    assert sd.data["hb"].tolist() == [8.0]
    assert sd.report.headers["how"].tolist() == ["user map", "user map", "unmapped"]
    for name, text in [
        ("map.json", json.dumps({"Pt": "patient_id", "Haem": "hb (g/L)"})),
        ("map.yaml", "Pt: patient_id\nHaem: hb (g/L)\n"),
        ("map.csv", "header,canonical\nPt,patient_id\nHaem,hb (g/L)\n"),
    ]:
        file = tmp_path / name
        file.write_text(text, encoding="utf-8")
        assert load_screening(path, columns=file).data["hb"].tolist() == [8.0]
    with pytest.raises(InputError, match="unknown canonical column") as err:
        load_screening(path, columns={"Pt": "patient_id", "Haem": "hgb"})
    assert "hb" in err.value.expected


def test_input_frame_file_not_modified(tmp_path):
    path = write_csv(tmp_path, "ID,Hb\n1,9\n")
    before = path.read_bytes()
    load_screening(path)
    assert path.read_bytes() == before


def test_aliases_do_not_collide():
    seen = {}
    for col in COLUMNS.values():
        for name in (col.name, *col.aliases):
            key = header_key(name)
            assert seen.setdefault(key, col.name) == col.name, (name, seen[key], col.name)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("patient_id", ("patient_id", None, "exact")),
        ("PATIENT-ID", ("patient_id", None, "alias")),
        ("Hb (g/L)", ("hb", "g/L", "alias")),
        ("ANC (x10^9/L)", ("anc", "x10^9/L", "alias")),
        ("Creatinine [µmol/L]", ("creat", "µmol/L", "alias")),
        ("Largest lesion (mm)", ("largest_lesion_cm", "mm", "alias")),
        ("Something else", (None, None, "unmapped")),
    ],
)
def test_match_header(header, expected):
    assert match_header(header) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.2 H", (1.2, "parsed", None)),
        ("1.2 L", (1.2, "parsed", None)),
        ("1,234", (1234.0, "parsed", None)),
        ("<0.5", (0.5, "censored", "<")),
        (">1000", (1000.0, "censored", ">")),
        ("≤2", (2.0, "censored", "<")),
        ("≥2", (2.0, "censored", ">")),
        ("1,5", (None, "unparsed", None)),
        (7, (7.0, None, None)),
        ("7", (7.0, None, None)),
    ],
)
def test_parse_number(value, expected):
    got = parse_number(value)
    assert (got.value, got.kind, got.censor) == expected


@pytest.mark.parametrize("value", ["ND", "N/A", "NA", "pending", "-", "not done", "未做"])
def test_not_done_is_missing(value):
    got = parse_cell(value, COLUMNS["hb"])
    assert got.value is None and got.kind == "not done"
    assert parse_cell(value, COLUMNS["hiv_pos"]).kind == "not done"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Y", True),
        ("no", False),
        ("TRUE", True),
        (0, False),
        (1, True),
        ("是", True),
        ("否", False),
        ("Positive", True),
        ("neg", False),
        (True, True),
    ],
)
def test_parse_bool(value, expected):
    assert parse_bool(value).value is expected


@pytest.mark.parametrize("value", ["+", "maybe", "2", "yes?"])
def test_parse_bool_rejects(value):
    assert parse_bool(value).kind == "unparsed"


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("urine_protein", "neg", 0.0),
        ("urine_protein", "Negative", 0.0),
        ("urine_protein", "trace", 0.5),
        ("urine_protein", "±", 0.5),
        ("urine_protein", "1+", 1.0),
        ("urine_protein", "++++", 4.0),
        ("her2_ihc", "0", 0.0),
        ("her2_ihc", "3+", 3.0),
        ("her2_ihc", 2, 2.0),
        ("sex", "男", "M"),
        ("sex", "Female", "F"),
        ("sex", 1, "M"),
        ("sex", "2", "F"),
        ("steroid_agent", "Dexamethasone", "dexamethasone"),
        ("steroid_agent", "地塞米松", "dexamethasone"),
    ],
)
def test_parse_ordinals_and_categories(column, value, expected):
    assert parse_cell(value, COLUMNS[column]).value == expected


def test_parse_date_formats():
    assert parse_date("2024-03-05").value == pd.Timestamp("2024-03-05")
    assert parse_date("2024/03/05").value == pd.Timestamp("2024-03-05")
    assert parse_date("5-Mar-2024").value == pd.Timestamp("2024-03-05")
    assert parse_date("2024年3月5日").value == pd.Timestamp("2024-03-05")
    assert parse_date("31/12/2024").value == pd.Timestamp("2024-12-31")
    assert parse_date("12/31/2024").value == pd.Timestamp("2024-12-31")
    assert parse_date("soon").kind == "unparsed"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(["patient", "blank", "title"]), max_size=30))
def test_every_row_is_accounted_for(tmp_path, kinds):
    lines, n = ["ID,Hb,HIV"], 0
    for kind in kinds:
        if kind == "patient":
            n += 1
            lines.append(f"P{n},9,maybe")
        else:
            lines.append(",,")
    path = tmp_path / "prop.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sd = load_screening(path)
    report = sd.report
    assert report.rows_loaded == n == len(sd.data)
    last = max((i for i, k in enumerate(kinds) if k == "patient"), default=-1)
    assert report.rows_read == last + 1
    assert report.rows_read == report.rows_loaded + len(report.skipped_rows)
    assert len(report.problems) == n


def test_a_broken_json_column_map_is_a_located_input_error_in_python_too(tmp_path):
    from screenkit.datasets import sample_path

    cmap = tmp_path / "map.json"
    cmap.write_text('{"Patient": "patient_id",\n  oops}', encoding="utf-8")
    with pytest.raises(InputError, match="Column map is not valid JSON") as info:
        load_screening(sample_path("clean"), columns=cmap)
    assert "line: 2" in str(info.value) and str(cmap) in str(info.value)
    with pytest.raises(InputError, match="Column map is a folder"):
        load_screening(sample_path("clean"), columns=tmp_path)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=20))
def test_header_key_ascii_fast_path_is_the_unicode_rule(text):
    """ASCII headers take a one-pass route: the same key as NFKC + casefold + [\\W_]+."""
    import re
    import unicodedata

    expect = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())
    assert header_key(text) == expect


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from([*"aZ9_- .\x1f", "é", "Ａ"]), max_size=8)))
def test_header_keys_is_header_key_of_each(texts):
    """The batch route (one pass over the ASCII texts joined) gives each text's key, also
    when a text holds the separator it joins with."""
    from screenkit.normalize import header_keys

    assert header_keys(texts) == [header_key(t) for t in texts]
