"""Real-data forms (#11) through ``load_screening`` on small literal CSV / xlsx files."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

import screenkit as sk
from screenkit.datasets import sample_path
from screenkit.normalize import load_screening
from tests.conftest import patient


def _write_csv(tmp_path, rows, rename=None, name="log.csv"):
    frame = pd.DataFrame(rows)
    if "screening_date" in frame:
        frame["screening_date"] = pd.to_datetime(frame["screening_date"]).dt.strftime("%Y-%m-%d")
    if "urine_protein" in frame:
        frame["urine_protein"] = "neg"
    frame = frame.rename(columns=rename or {})
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _status(sd, cid, protocol="NCT07103668"):
    return sk.evaluate(sd, protocol).statuses[cid].to_numpy(dtype=object, na_value=None).tolist()


IMPOSSIBLE = [
    ("age_years", "age_years", 320, "I1", None),
    ("ecog", "ecog", 7, "I6", None),
    ("ecog", "ecog", 1.5, "I6", "whole number"),
    ("spo2", "spo2", 0.97, "E7", "a fraction"),
    ("spo2", "spo2", 140, "E7", None),
    ("plt", "plt", -40, "I7c", None),
    ("hb", "Hb (g/dL)", 75, "I7d", "g/L"),
]


@pytest.mark.parametrize(
    ("canonical", "header", "value", "cid", "hint"),
    IMPOSSIBLE,
    ids=[f"{c}={v}" for c, _, v, _, _ in IMPOSSIBLE],
)
def test_impossible_value_is_missing_reported_and_unknown(
    tmp_path, canonical, header, value, cid, hint
):
    rows = [patient(patient_id="P1"), patient(patient_id="P2")]
    rows[0][canonical] = value
    path = _write_csv(tmp_path, rows, {canonical: header})
    sd = load_screening(path)
    assert pd.isna(sd.data[canonical].iloc[0])
    assert not pd.isna(sd.data[canonical].iloc[1])
    cells = sd.report.cells
    hit = cells[(cells["kind"] == "implausible") & (cells["column"] == header)]
    assert len(hit) == 1, cells
    assert int(hit["row"].iloc[0]) == 2  # CSV line of the first record
    if hint:
        assert hint in hit["detail"].iloc[0]
    assert sd.unreadable[canonical].tolist() == [True, False]
    assert _status(sd, cid) == [None, True]


def _uln_rows(analyte, value, uln, uln_value, **extra):
    rows = []
    for i, v in enumerate(value):
        r = patient(patient_id=f"P{i}", **extra)
        r[analyte] = v
        r[uln] = uln_value
        rows.append(r)
    return rows


def test_bilirubin_uln_unit_inferred_and_2_9_uln_fails(tmp_path):
    rows = _uln_rows("tbil", [2.9 * 17.1, 0.8 * 17.1], "tbil_uln", 17.1)
    path = _write_csv(tmp_path, rows, {"tbil": "Total bilirubin (umol/L)", "tbil_uln": "tbil uln"})
    sd = load_screening(path)
    assert sd.data["tbil_uln"].iloc[0] == pytest.approx(1.0)
    assert sd.data["tbil"].iloc[0] == pytest.approx(2.9)
    assert any("unit inferred" in n for n in sd.report.notes)
    assert _status(sd, "I7h") == [False, True]


def test_creatinine_uln_unit_inferred_and_1_9_uln_fails(tmp_path):
    rows = _uln_rows("creat", [1.9 * 97, 0.8 * 97], "creat_uln", 97.0, weight_kg=40.0)
    path = _write_csv(
        tmp_path, rows, {"creat": "Creatinine (umol/L)", "creat_uln": "creatinine uln"}
    )
    sd = load_screening(path)
    assert sd.data["creat_uln"].iloc[0] == pytest.approx(97 / 88.4, rel=1e-3)
    assert any("unit inferred" in n for n in sd.report.notes)
    assert _status(sd, "I7i") == [False, True]


def test_ambiguous_uln_unit_is_unknown_with_note(tmp_path):
    rows = _uln_rows("tbil", [20.0, 10.0], "tbil_uln", 5.0)
    path = _write_csv(tmp_path, rows, {"tbil": "Total bilirubin (umol/L)", "tbil_uln": "tbil uln"})
    sd = load_screening(path)
    assert sd.data["tbil_uln"].isna().all()
    assert sd.unreadable["tbil_uln"].all()
    assert any("unit unknown" in n for n in sd.report.notes)
    assert _status(sd, "I7h") == [None, None]


def test_qtc_header_maps_to_qtc_and_fridericia_wins(tmp_path):
    r = patient(patient_id="P1", qtcf_ms=None, qt_ms=372.0, heart_rate_bpm=100.0)
    r["qtcf_ms"] = 500.0  # written under a bare 'QTc' header
    path = _write_csv(tmp_path, [r], {"qtcf_ms": "QTc"})
    sd = load_screening(path)
    assert "qtc_ms" in sd.data and "qtcf_ms" not in sd.data
    ev = sk.evaluate(sd, "NCT07103668")
    assert ev.derived["qtcf"].iloc[0] == pytest.approx(441, abs=1)
    assert ev.statuses["E12c"].iloc[0] == True  # noqa: E712


def test_lone_qtc_is_assumed_fridericia_with_note(tmp_path):
    r = patient(patient_id="P1", qtcf_ms=None, heart_rate_bpm=None)
    r["qtcf_ms"] = 460.0
    path = _write_csv(tmp_path, [r], {"qtcf_ms": "QTc"})
    sd = load_screening(path)
    assert any("QTc" in n and "assumed to be Fridericia" in n for n in sd.report.notes)
    assert _status(sd, "E12c") == [False]


def _table_sheet(ws, rows):
    frame = pd.DataFrame(rows)
    frame["urine_protein"] = "neg"
    ws.append(list(frame.columns))
    for rec in frame.itertuples(index=False):
        ws.append([v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in rec])


@pytest.mark.parametrize(
    ("title", "lines"),
    [
        ("Cover", [["Screening log"], ["Site", "Beijing"], ["Prepared", "2025-09-01"]]),
        ("Instructions", [["How to fill this log"], ["1.", "One row a patient"]]),
        ("Data dictionary", [["Column", "Meaning"], ["ecog", "ECOG 0-5"], ["hb", "g/dL"]]),
    ],
)
def test_first_sheet_not_a_table_is_skipped(tmp_path, title, lines):
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = title
    for line in lines:
        first.append(line)
    _table_sheet(wb.create_sheet("Screening"), [patient(patient_id="P1")])
    path = tmp_path / "log.xlsx"
    wb.save(path)
    sd = load_screening(path)
    assert sd.sheet == "Screening"
    assert len(sd.data) == 1
    note = next(n for n in sd.report.notes if "read sheet" in n)
    assert "'Screening'" in note and "screening-log columns" in note


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_hidden_first_sheet_is_read_only_when_named(tmp_path, state):
    wb = openpyxl.Workbook()
    hidden = wb.active
    hidden.title = "Old"
    _table_sheet(hidden, [patient(patient_id="H1"), patient(patient_id="H2")])
    hidden.sheet_state = state
    _table_sheet(wb.create_sheet("Screening"), [patient(patient_id="P1")])
    wb.active = 1
    path = tmp_path / "log.xlsx"
    wb.save(path)
    sd = load_screening(path)
    assert sd.sheet == "Screening"
    assert sd.data["patient_id"].tolist() == ["P1"]
    named = load_screening(path, sheet="Old")
    assert named.data["patient_id"].tolist() == ["H1", "H2"]


def test_chartsheet_is_skipped(tmp_path):
    wb = openpyxl.Workbook()
    _table_sheet(wb.active, [patient(patient_id="P1")])
    wb.active.title = "Screening"
    wb.create_chartsheet("Chart", 0)
    path = tmp_path / "log.xlsx"
    wb.save(path)
    sd = load_screening(path)
    assert sd.sheet == "Screening"
    assert len(sd.data) == 1


@pytest.fixture(scope="module")
def clean_counts():
    return sk.evaluate(load_screening(sample_path("clean")), "NCT07103668").counts()


def test_sample_as_csv_loads_yes_no_and_same_eligible(tmp_path, clean_counts):
    path = tmp_path / "sample.csv"
    pd.read_excel(sample_path("clean"), engine="openpyxl").to_csv(path, index=False)
    sd = load_screening(path)
    cells = sd.report.cells
    assert (cells["kind"] == "unparsed").sum() == 0, cells[cells["kind"] == "unparsed"]
    counts = sk.evaluate(sd, "NCT07103668").counts()
    assert counts["eligible"] == clean_counts["eligible"]
    assert counts == clean_counts


@pytest.mark.parametrize("blank", ["", "N/A"], ids=["blank", "N/A"])
@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_men_pregnancy_cells_blanked_same_eligible(tmp_path, clean_counts, blank, suffix):
    frame = pd.read_excel(sample_path("clean"), engine="openpyxl")
    sex = next(c for c in frame.columns if c.strip().casefold() == "sex")
    preg = next(c for c in frame.columns if "pregnan" in c.casefold())
    men = frame[sex].astype(str).str.strip().str.upper().str.startswith("M")
    assert men.sum() > 0
    frame[preg] = frame[preg].astype(object)
    frame.loc[men, preg] = blank if blank else None
    path = tmp_path / f"sample.{suffix}"
    if suffix == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_excel(path, index=False)
    counts = sk.evaluate(load_screening(path), "NCT07103668").counts()
    assert counts["eligible"] == clean_counts["eligible"]
    assert counts == clean_counts


TRIPLET = [
    (1, "Yes", True),
    (1, "No", False),
    (1, "", None),
    (2, "", True),
    (0, "Yes", False),
]


@pytest.mark.parametrize(
    ("lines", "triplet", "expected"), TRIPLET, ids=[f"{a}+{b or 'blank'}" for a, b, _ in TRIPLET]
)
def test_i2b_triplet_route(tmp_path, lines, triplet, expected):
    r = patient(patient_id="P1", prior_lines_failed=float(lines), first_line_triplet_pd=None)
    r["first_line_triplet_pd"] = triplet
    sd = load_screening(_write_csv(tmp_path, [r]))
    assert _status(sd, "I2b") == [expected]
