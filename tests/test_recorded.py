"""Recorded-reasons mode (issue 13, part 1): statuses from a site's recorded reasons."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import screenkit as sk
from screenkit.cli import main
from screenkit.concordance import CONCORDANCE_COLUMNS, concordance
from screenkit.errors import ScreenkitError
from screenkit.funnel import funnel
from screenkit.recorded import (
    NOT_RECORDED,
    choose_source,
    evaluate_recorded,
    has_both_sources,
    match_label,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "screening_log.xlsx"

# A plain site log as sites write it: ID, site, date, reasons, randomized.
SITE_LOG = """Subject ID,Site,Screening date,Screen fail reason,Randomized
P01,S01,2025-01-06,I5b; E7,N
P02,S01,2025-01-09,"i3a,e3",N
P03,S02,2025-02-03,E7 / I2,N
P04,S02,2025-02-10,ECOG 0-1,N
P05,S02,2025-02-17,,N
P06,S03,2025-03-03,I99,N
P07,S03,2025-03-04,withdrew consent,N
P08,S03,2025-03-05,,Y
P09,S01,2025-03-12,,
P10,S01,2025-03-20,I3a,Y
"""


@pytest.fixture
def site_log(tmp_path) -> Path:
    path = tmp_path / "site_log.csv"
    path.write_text(SITE_LOG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sample():
    return sk.load_screening(SAMPLE)


def _independent_counts() -> tuple[Counter, pd.DataFrame]:
    raw = pd.read_excel(SAMPLE, engine="openpyxl")
    counts = Counter(
        t.strip()
        for cell in raw["fail_reasons"].dropna()
        for t in str(cell).split(";")
        if t.strip()
    )
    return counts, raw


# ---------------------------------------------------------------- the sample
def test_sample_recorded_fails_equal_the_reasons_column(sample):
    counts, raw = _independent_counts()
    result = evaluate_recorded(sample, "NCT07103668")
    assert result.status_source == "recorded"
    crit = funnel(result).criteria.set_index("criterion")
    protocol_ids = sk.get_protocol("NCT07103668").ids
    assert set(counts) <= set(protocol_ids)
    for cid in protocol_ids:
        assert crit.loc[cid, "fails"] == counts.get(cid, 0), cid
    assert crit.loc["I3a", "fails"] == 150 and crit.loc["E3", "fails"] == 47
    # screen failures without a reason: not randomized and a blank reasons cell
    blank = raw["fail_reasons"].isna() | (raw["fail_reasons"].astype(str).str.strip() == "")
    not_randomized = ~raw["randomized"].astype(bool)
    assert crit.loc[NOT_RECORDED, "fails"] == int((blank & not_randomized).sum()) == 37
    c = result.counts()
    assert c["screened"] == len(raw) == c["eligible"] + c["screen_failed"] + c["pending"]
    assert c["eligible"] == int(raw["randomized"].astype(bool).sum())


def test_sample_concordance_conserves_counts(sample):
    counts, _ = _independent_counts()
    table = concordance(sample, "NCT07103668")
    body = table.drop(index=["Total", "Screen-failed patients"])
    assert list(table.columns) == list(CONCORDANCE_COLUMNS)
    assert (body["recorded"] == body["recorded_and_computed"] + body["recorded_only"]).all()
    assert (body["computed"] == body["recorded_and_computed"] + body["computed_only"]).all()
    assert (table.loc["Total"] == body.sum()).all()
    assert {k: v for k, v in body["recorded"].items() if v} == dict(counts)
    computed = funnel(sk.evaluate(sample, "NCT07103668")).criteria.set_index("criterion")
    assert body["computed"].to_dict() == computed["fails"].to_dict()
    assert table.loc["Total", "recorded"] == sum(counts.values())
    # recorded 335 = 298 failed by both + 37 NR (29 of them computed pending)
    patients = table.loc["Screen-failed patients"]
    assert patients.tolist() == [335, 298, 298, 37, 0, 29]
    assert patients["recorded"] == patients["recorded_and_computed"] + patients["recorded_only"]


def test_detection_prefers_computed_when_lab_columns_exist(sample):
    assert choose_source(sample, "NCT07103668") == "computed"
    assert has_both_sources(sample, "NCT07103668")
    reasons_only = sample.data[["patient_id", "site_id", "fail_reasons", "randomized"]]
    assert choose_source(reasons_only, "NCT07103668") == "recorded"
    assert not has_both_sources(reasons_only, "NCT07103668")


# ---------------------------------------------------------------- a plain site log
def test_site_log_funnel_not_recorded_and_unknown_ids(site_log):
    data = sk.load_screening(site_log)
    assert choose_source(data, "NCT07103668") == "recorded"
    result = evaluate_recorded(data, "NCT07103668")
    assert result.counts() == {"screened": 10, "eligible": 1, "screen_failed": 8, "pending": 1}
    f = funnel(result)
    fails = f.criteria.set_index("criterion")["fails"]
    assert fails[fails > 0].to_dict() == {
        "I3a": 2,
        "I5b": 1,
        "I6": 1,
        "E3": 1,
        "E7": 2,
        NOT_RECORDED: 3,
    }
    assert f.criteria.set_index("criterion").loc[NOT_RECORDED, "unknown"] == 1  # P09 pending
    assert f.steps["excluded"].sum() == 8 and f.steps["remaining"].iloc[-1] == 2
    status = dict(zip(result.data["patient_id"], result.status.astype(str), strict=True))
    assert status["P08"] == "eligible" and status["P09"] == "pending"
    assert status["P10"] == "screen_failed"  # randomized, yet I3a recorded: listed = failed
    rec = result.recorded
    assert rec.not_recorded == 3 and rec.conflicts == 1
    unknown = rec.unknown_ids.set_index("id")
    assert unknown.loc["I2", "patients"] == 1 and unknown.loc["I2", "not_recorded"] == 0
    assert "I2a, I2b" in unknown.loc["I2", "note"]
    assert unknown.loc["I99", "patients"] == 1 and unknown.loc["I99", "not_recorded"] == 1
    assert rec.unmatched_text.to_dict("records") == [{"text": "withdrew consent", "patients": 1}]
    assert rec.label_matches.to_dict("records") == [
        {"text": "ECOG 0-1", "criterion": "I6", "patients": 1}
    ]
    by_site = f.by_site().set_index("site_id")
    assert by_site.loc["S01", ["screened", "screen_failed", "pending"]].tolist() == [4, 3, 1]
    assert by_site.loc["S03", ["eligible", "screen_failed"]].tolist() == [1, 2]
    assert by_site["screened"].sum() == 10
    words = result.to_frame().set_index("patient_id")
    assert words.loc["P01", "I5b"] == "fail" and words.loc["P01", "I1"] == "not recorded"
    assert "pass" not in set(words.drop(columns=["site_id", "status"]).stack())


def test_without_an_outcome_column_blank_is_not_recorded_as_failed():
    log = pd.DataFrame({"fail_reasons": pd.array(["E7", None, ""], dtype="string")})
    result = evaluate_recorded(log, "NCT07103668")
    assert result.counts() == {"screened": 3, "eligible": 2, "screen_failed": 1, "pending": 0}
    assert result.recorded.outcome_column is None


def test_label_matching_and_refusals():
    p = sk.get_protocol("NCT07103668")
    assert match_label("  haemoglobin >= 8.0 G/DL ", p) == "I7d"
    assert match_label("Screen failure: Largest lesion <= 5 cm on CT", p) == "I5b"
    assert match_label("lesion", p) is None
    log = pd.DataFrame({"fail_reasons": pd.array(["E7"], dtype="string")})
    result = evaluate_recorded(log, p)
    with pytest.raises(ScreenkitError, match="do not depend on thresholds"):
        result.with_parameters(lesion_max_cm=7)
    with pytest.raises(ScreenkitError, match="no reasons column"):
        evaluate_recorded(pd.DataFrame({"x": [1]}), p)


def test_input_is_not_mutated():
    log = pd.DataFrame({"fail_reasons": pd.array(["i3a", None], dtype="string")})
    before = log.copy()
    evaluate_recorded(log, "NCT07103668")
    pd.testing.assert_frame_equal(log, before)


# ---------------------------------------------------------------- command line
def test_cli_report_detects_recorded_and_writes_source(site_log, tmp_path, capsys):
    out_json, book = tmp_path / "f.json", tmp_path / "f.xlsx"
    assert main(["report", str(site_log), "--json", str(out_json), "-o", str(book)]) == 0
    captured = capsys.readouterr()
    assert "source: recorded" in captured.err
    assert "not recorded as failed, which is NOT the same as passed" in captured.out
    assert "ID not in the protocol: I99 for 1 patient(s)" in captured.out
    assert "unmatched text (no criterion label): 'withdrew consent'" in captured.out
    payload = json.loads(out_json.read_text(encoding="utf-8"))
    assert payload["source"] == "recorded"
    assert payload["screen_failed"] == 8 and payload["recorded"]["reason_not_recorded"] == 3
    assert {u["id"]: u["patients"] for u in payload["recorded"]["unknown_ids"]} == {
        "I2": 1,
        "I99": 1,
    }
    assert "concordance" not in payload  # no lab-level columns: nothing to compare
    wb = openpyxl.load_workbook(book)
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Status source"].startswith("recorded:")
    assert "Recorded reasons" in wb.sheetnames and "Concordance" not in wb.sheetnames


def test_cli_reasons_and_computed_options(tmp_path, capsys):
    rec, comp = tmp_path / "rec.json", tmp_path / "comp.json"
    book = tmp_path / "both.xlsx"
    argv = ["report", str(SAMPLE)]
    assert main([*argv, "--reasons", "fail_reasons", "--json", str(rec), "-o", str(book)]) == 0
    assert main([*argv, "--json", str(comp)]) == 0
    out = capsys.readouterr().out
    assert "Concordance of recorded and computed fails" in out
    r = json.loads(rec.read_text(encoding="utf-8"))
    c = json.loads(comp.read_text(encoding="utf-8"))
    assert (r["source"], c["source"]) == ("recorded", "computed")
    assert (r["screen_failed"], c["screen_failed"]) == (335, 298)
    total = r["concordance"][-2]
    assert total["id"] == "Total" and total == c["concordance"][-2]
    assert r["concordance"][-1]["id"] == "Screen-failed patients"
    assert total["recorded"] == total["recorded_and_computed"] + total["recorded_only"]
    wb = openpyxl.load_workbook(book)
    sheet = wb["Concordance"]
    rows = list(sheet.iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row[0] == "Criterion")
    i3a = next(row for row in rows[header:] if row[0] == "I3a")
    assert i3a[2:5] == (150, 150, 150)


def test_cli_computed_forces_rules_and_evaluate_words(site_log, tmp_path, capsys):
    csv = tmp_path / "s.csv"
    assert main(["evaluate", str(site_log), "--computed", "-o", str(csv)]) == 0
    assert "source: computed" in capsys.readouterr().out
    computed = pd.read_csv(csv)
    assert NOT_RECORDED not in computed.columns
    assert set(computed["status"]) == {"pending"}  # no lab values: every criterion unknown
    csv2 = tmp_path / "r.csv"
    assert (
        main(["evaluate", str(site_log), "--reasons", "Screen fail reason", "-o", str(csv2)]) == 0
    )
    recorded = pd.read_csv(csv2)
    assert recorded.set_index("patient_id").loc["P01", "E7"] == "fail"
    assert recorded["status"].value_counts().to_dict() == {
        "screen_failed": 8,
        "eligible": 1,
        "pending": 1,
    }


def test_cli_reasons_on_another_header_and_refusals(tmp_path, capsys):
    path = tmp_path / "log.csv"
    path.write_text(
        "Patient,Reason,Primary reason for screen failure,Randomized\n"
        "P1,see notes,E7,N\nP2,,I6,N\nP3,,,Y\n",
        encoding="utf-8",
    )
    out = tmp_path / "o.json"
    argv = ["report", str(path), "--reasons", "Primary reason for screen failure"]
    assert main([*argv, "--json", str(out)]) == 0
    payload = json.loads(out.read_text(encoding="utf-8"))
    fails = {c["id"]: c["fails"] for c in payload["criteria"] if c["fails"]}
    assert fails == {"I6": 1, "E7": 1}
    assert payload["recorded"]["column"] == "fail_reasons"
    capsys.readouterr()
    assert main(["report", str(path), "--reasons", "Nope"]) == 2
    assert "--reasons names a column the log does not have" in capsys.readouterr().err
    assert main([*argv, "--param", "lesion_max_cm=7"]) == 2
    assert "--computed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", str(path), "--reasons", "Reason", "--computed"])


def test_html_suppression_and_ie_in_recorded_mode(tmp_path, capsys):
    page, book, ie = tmp_path / "r.html", tmp_path / "s.xlsx", tmp_path / "ie.csv"
    argv = ["report", str(SAMPLE), "--reasons", "fail_reasons"]
    assert main([*argv, "-o", str(page), "--ie", str(ie)]) == 0
    text = page.read_text(encoding="utf-8")
    assert "Status source" in text and "NOT the same as passed" in text
    assert "Recorded and computed fails, per criterion" in text  # the Concordance table
    ie_rows = pd.read_csv(ie)
    counts, _ = _independent_counts()
    assert len(ie_rows) == sum(counts.values())  # one IE record per recorded ID, none for NR
    assert main([*argv, "-o", str(book), "--suppress-below", "5"]) == 0
    wb = openpyxl.load_workbook(book)
    assert "Concordance" not in wb.sheetnames and "Recorded reasons" not in wb.sheetnames
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Not shown under suppression"] == "Concordance, Recorded reasons"
    capsys.readouterr()
