"""The workbook, the HTML report and the SDTM IE csv: contents, formula safety, atomic
writes, privacy by default."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from screenkit.datasets import sample_path
from screenkit.errors import InputError, ScreenkitError
from screenkit.evaluate import evaluate
from screenkit.export import SHEETS, export_excel, export_html, export_ie, ie_frame
from screenkit.export.excel import OPTIONAL_SHEETS
from screenkit.export.ie import test_codes as ie_test_codes
from screenkit.funnel import funnel
from screenkit.normalize import load_screening

CLEAN = sample_path("clean")
INJECTIONS = [
    '=HYPERLINK("http://x","y")',
    "=1+1",
    "@SUM(A1)",
    "+cmd",
    "-2+3",
    "#N/A",
    "=cmd|' /C calc'!A0",
]


@pytest.fixture(scope="module")
def sample():
    data = load_screening(CLEAN)
    result = evaluate(data, "NCT07103668")
    return data, result, funnel(result)


@pytest.fixture(scope="module")
def workbook(sample, tmp_path_factory):
    data, result, f = sample
    out = tmp_path_factory.mktemp("wb") / "summary.xlsx"
    export_excel(f, out, evaluation=result, data=data)
    return openpyxl.load_workbook(out), out


def sheet_frame(ws, header_row: int = 3) -> pd.DataFrame:
    """A table sheet as a frame (header on row 3), stopping at the first blank row."""
    rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    header, body = rows[0], []
    for row in rows[1:]:
        if row[0] is None:
            break
        body.append(row)
    return pd.DataFrame(body, columns=header)


def labelled_rows(ws) -> dict:
    """Column A label -> the row's values, for the Summary sheet."""
    return {row[0]: row for row in ws.iter_rows(values_only=True) if row[0] is not None}


# ---------------------------------------------------------------- contents
def test_sheets_in_order_and_patients_only_on_request(workbook):
    wb, _ = workbook
    # Recruitment only with recruitment= (screenkit report asks for it); the optional sheets
    # (Concordance, Recorded reasons, Patients) only when there is something to show
    assert wb.sheetnames == [s for s in SHEETS if s not in ("Recruitment", *OPTIONAL_SHEETS)]
    assert "Patients" not in wb.sheetnames


def test_summary_matches_the_funnel(workbook, sample):
    _data, result, f = sample
    rows = labelled_rows(workbook[0]["Summary"])
    for name, label in [
        ("screened", "Screened"),
        ("eligible", "Eligible"),
        ("screen_failed", "Screen-failed"),
        ("pending", "Pending"),
    ]:
        assert rows[label][1] == f.headline()[name]
    assert rows["Eligible"][2] == pytest.approx(f.eligible / f.screened)
    assert 0 < rows["Eligible"][3] < rows["Eligible"][2] < rows["Eligible"][4] < 1
    assert rows["Recruitment target"][1] == 150
    assert rows["Protocol version"][1] == result.protocol.version
    assert rows["Data file"][1] == Path(CLEAN).name
    assert re.fullmatch(r"[0-9a-f]{64}", rows["Data file SHA-256"][1])
    assert f.headline_text() in workbook[0]["Summary"]["A2"].value


def test_top_reasons_are_sentences_in_attribution_order(workbook, sample):
    _, _, f = sample
    ws = workbook[0]["Summary"]
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "Top reasons for screen failure")
    header = rows[start + 1]
    assert header[-1] == "In one sentence"
    reasons = [r for r in rows[start + 2 : start + 7]]
    top = f.criteria[f.criteria["active"]].sort_values("attribution", ascending=False)
    assert [r[0].split(":")[0] for r in reasons] == top["criterion"].head(5).tolist()
    for r in reasons:
        assert r[-1].endswith(".") and r[-1].count(". ") == 0  # one sentence


def test_funnel_criteria_sites_months_match_the_api(workbook, sample):
    wb, _ = workbook
    _, _, f = sample
    steps = sheet_frame(wb["Funnel"])
    assert steps["Remaining"].tolist() == [f.screened, *f.steps["remaining"].tolist()]
    assert steps["Excluded at this step"].tolist()[1:] == f.steps["excluded"].tolist()
    crit = sheet_frame(wb["Criteria"])
    assert crit.iloc[-1]["Criterion"] == "Total"
    assert crit.iloc[-1]["Share of screen failures"] == f.screen_failed
    crit = crit.iloc[:-1]
    assert crit["Criterion"].tolist() == list(f.patterns.criteria)
    assert crit["Fails"].tolist() == f.criteria["fails"].tolist()
    assert crit["Fails only this"].tolist() == f.criteria["fails_only"].tolist()
    assert crit["Share of screen failures"].sum() == pytest.approx(f.screen_failed)
    assert crit["95% CI low"].tolist() == pytest.approx(f.criteria["fail_rate_ci_low"].tolist())
    site = sheet_frame(wb["By site"])
    api = f.by_site()
    assert site["Site"].tolist() == [*api["site_id"].tolist(), "All"]
    assert site["Screened"].tolist()[:-1] == api["screened"].tolist()
    assert site.iloc[-1]["Screened"] == f.screened
    month = sheet_frame(wb["By month"])
    assert month["Screened"].iloc[:-1].sum() == f.screened
    combos = sheet_frame(wb["Combinations"])
    top = f.combinations(20)["patients"]
    assert combos["Patients"].tolist() == top.tolist()
    # the last rows: everyone else, then the screen-failed total the rows add up to
    tail = {row[1]: row[4] for row in wb["Combinations"].iter_rows(values_only=True)}
    assert tail["(all other combinations)"] == f.screen_failed - top.sum() > 0
    assert tail["Total (screen-failed)"] == f.screen_failed


def test_protocol_sheet_holds_rules_and_parameters_as_evaluated(sample, tmp_path):
    data, _, _ = sample
    relaxed = evaluate(data, "NCT07103668", lesion_max_cm=7)
    out = export_excel(funnel(relaxed), tmp_path / "r.xlsx", evaluation=relaxed, data=data)
    wb = openpyxl.load_workbook(out)
    proto = sheet_frame(wb["Protocol"]).set_index("Criterion")
    assert proto.loc["I5b", "Rule"] == "largest_lesion_cm <= lesion_max_cm"
    assert proto.loc["I5b", "Parameters (as evaluated)"] == "lesion_max_cm = 7 cm"
    rows = labelled_rows(wb["Summary"])
    assert rows["Thresholds changed from the protocol"][1] == "lesion_max_cm: 5 -> 7 cm"
    crit = sheet_frame(wb["Criteria"]).set_index("Criterion")
    assert crit.loc["I5b", "Parameters used"] == "lesion_max_cm = 7 cm"
    assert crit.loc["I5b", "Label"] == "Largest lesion <= 7 cm"
    assert crit.loc["E7", "Parameters used"] == "spo2_max_excluded_pct = 95 %"


def test_funnel_sheet_follows_the_chosen_order_and_switched_off_criteria(sample, tmp_path):
    data, result, _ = sample
    f = funnel(result, order=["E7", "I5b", "I3a"], exclude=["E26"])
    out = export_excel(f, tmp_path / "o.xlsx", evaluation=result, data=data)
    ws = openpyxl.load_workbook(out)["Funnel"]
    steps = sheet_frame(ws)
    assert steps["Criterion"].tolist()[:4] == ["Screened", "E7", "I5b", "I3a"]
    assert "E26" not in steps["Criterion"].tolist()
    assert steps["Remaining"].tolist()[1:] == f.steps["remaining"].tolist()
    note = ws.cell(2, 1).value
    assert "the order chosen for this report" in note and "Switched off: E26" in note


def test_formats_tables_freeze_print_and_charts(workbook):
    wb, _ = workbook
    ws = wb["Criteria"]
    assert ws.freeze_panes == "B4"
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.tables["tblCriteria"].ref.startswith("A3:")
    header = {c.value: c for c in ws[3]}
    col = header["Fail rate"].column
    assert ws.cell(4, col).number_format == "0.0%"
    assert ws.cell(4, header["Fails"].column).number_format == "#,##0"
    assert header["Fails"].font.bold
    assert len(wb["Funnel"]._charts) == 1 and len(wb["Summary"]._charts) == 1
    # the funnel chart draws the sheet's Remaining column, step 0 to the last step
    (chart,) = wb["Funnel"]._charts
    assert chart.tagname == "barChart" and chart.type == "bar"
    steps = sheet_frame(wb["Funnel"])
    remaining = steps.columns.get_loc("Remaining") + 1
    letter = openpyxl.utils.get_column_letter(remaining)
    (series,) = chart.series
    assert series.val.numRef.f == f"'Funnel'!${letter}$4:${letter}${3 + len(steps)}"
    (top,) = wb["Summary"]._charts
    assert top.tagname == "barChart" and len(top.series) == 3  # fails, fails only, share
    for name in wb.sheetnames[1:]:
        assert wb[name].tables, name


def test_data_issues_list_unparsed_cells_unmapped_headers_and_skipped_rows(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text(
        "patient_id,site_id,hb,spo2,Favourite colour\n"
        "P1,S1,abc,99,blue\n"
        ",,,,\n"
        "P2,S1,9.1,lots,red\n",
        encoding="utf-8",
    )
    data = load_screening(log)
    result = evaluate(data, "NCT07103668")
    wb = openpyxl.load_workbook(
        export_excel(funnel(result), tmp_path / "o.xlsx", evaluation=result, data=data)
    )
    issues = sheet_frame(wb["Data issues"])
    assert "Patient" not in issues.columns  # privacy by default
    unparsed = issues[issues["Issue"].str.startswith("value not understood")]
    assert sorted(unparsed["Value"]) == ["abc", "lots"]
    assert sorted(unparsed["Row"]) == [2, 4]
    assert (
        "Favourite colour"
        in issues.loc[issues["Issue"].str.startswith("column"), "Column"].tolist()
    )
    assert (issues["Issue"] == "row skipped").sum() == 1
    assert (issues["Issue"] == "criterion cannot be evaluated").sum() > 0


# ---------------------------------------------------------------- formula safety
@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A screening CSV whose IDs, sites, text cells and a header hold formulas."""
    folder = tmp_path_factory.mktemp("hostile")
    n = len(INJECTIONS)
    frame = pd.DataFrame(
        {
            "patient_id": INJECTIONS,
            "site_id": INJECTIONS[::-1],
            "fail_reasons": INJECTIONS,
            "hb": ["=1+1", "@SUM(A1)", "+cmd", "-2+3x", "9", "10", "11", "12"][:n],
            "spo2": ["99"] * n,
            '=HYPERLINK("http://x","header")': INJECTIONS,
        }
    )
    path = folder / "hostile.csv"
    frame.to_csv(path, index=False, encoding="utf-8")
    data = load_screening(path)
    result = evaluate(data, "NCT07103668")
    return folder, data, result


def formula_cells(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path)
    return [
        f"{ws.title}!{cell.coordinate}"
        for ws in wb
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type in ("f", "e")
    ]


@pytest.mark.parametrize("options", [{}, {"patients": True, "identified": True}])
def test_no_formula_cells_from_hostile_input(hostile, options):
    folder, data, result = hostile
    out = export_excel(
        funnel(result), folder / "h.xlsx", evaluation=result, data=data, overwrite=True, **options
    )
    assert formula_cells(out) == []  # screenkit writes no formulas itself
    with zipfile.ZipFile(out) as z:  # and none in the XML either
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert "<f>" not in z.read(name).decode("utf-8"), name
    wb = openpyxl.load_workbook(out)
    texts = {c.value for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "s"}
    if options:
        assert set(INJECTIONS) <= texts  # written verbatim, as text
        patients = wb["Patients"]
        assert patients["A4"].quotePrefix or not str(patients["A4"].value).startswith("=")
    assert any(t.startswith('=HYPERLINK("http://x","header")') for t in texts if t)


@pytest.mark.parametrize(
    "text", ["=1+1", "\t=1+2", "\r=3", "@SUM(A1)", "+cmd", "-2+3", "#N/A", "#DIV/0!", "a\x07b"]
)
def test_put_always_writes_text_cells(text, tmp_path):
    from screenkit.export.excel import put

    wb = openpyxl.Workbook()
    cell = put(wb.active, 1, 1, text)
    assert cell.data_type == "s"
    wb.save(tmp_path / "t.xlsx")
    back = openpyxl.load_workbook(tmp_path / "t.xlsx").active["A1"]
    assert back.data_type == "s"
    assert back.value == text.replace("\x07", "\ufffd").replace("\r", "\n")  # XML newlines
    assert back.quotePrefix == text.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_hostile_html_is_escaped_and_self_contained(hostile):
    folder, _data, _result = hostile
    log = folder / "evil.csv"
    log.write_text(
        "patient_id,site_id,spo2\n"
        "P1,<script>alert(1)</script>,99\n"
        "P2,<img src=x onerror=alert(2)>,90\n",
        encoding="utf-8",
    )
    evil = load_screening(log)
    res = evaluate(evil, "NCT07103668")
    text = export_html(funnel(res), folder / "r.html", evaluation=res, data=evil).read_text(
        encoding="utf-8"
    )
    assert "<script>alert(1)</script>" not in text
    assert "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert not re.search(r"<script[^>]*\bsrc=", text)  # plotly.js inlined, nothing fetched
    assert not re.search(r"<link[^>]*\bhref=", text)
    assert text.count("<h2>") >= 9
    # the funnel and criteria figures are drawn, with plotly.js inlined exactly once
    assert text.count("Plotly.newPlot(") == 2
    assert len(re.findall(r"plotly\.js v\d", text)) == 1


def test_ie_csv_never_starts_a_field_with_a_formula(hostile):
    folder, _, result = hostile
    out = export_ie(result, folder / "ie.csv", overwrite=True)
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    for col in table.columns:
        assert not table[col].str.match(r"^[=+\-@\t\r]").any(), col


# ---------------------------------------------------------------- files
def test_refuses_input_path_and_existing_output(sample, tmp_path):
    data, result, f = sample
    with pytest.raises(InputError, match="never overwrites its input"):
        export_excel(f, CLEAN, evaluation=result, data=data, overwrite=True)
    out = tmp_path / "a.xlsx"
    out.write_bytes(b"old")
    with pytest.raises(InputError, match="Output file exists"):
        export_excel(f, out, evaluation=result, data=data)
    assert out.read_bytes() == b"old"
    export_excel(f, out, evaluation=result, data=data, overwrite=True)
    assert zipfile.is_zipfile(out)
    with pytest.raises(InputError, match="folder does not exist"):
        export_html(f, tmp_path / "nope" / "r.html", evaluation=result)


@pytest.mark.parametrize("existing", [False, True])
def test_crash_while_writing_leaves_no_half_written_file(sample, tmp_path, monkeypatch, existing):
    data, result, f = sample
    out = tmp_path / "summary.xlsx"
    if existing:
        out.write_bytes(b"previous workbook")

    def broken_save(self, filename):
        Path(filename).write_bytes(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export_excel(f, out, evaluation=result, data=data, overwrite=True)
    assert (out.read_bytes() == b"previous workbook") if existing else not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["summary.xlsx"] if existing else [])


def test_crash_in_html_leaves_nothing(sample, tmp_path, monkeypatch):
    data, result, f = sample
    import screenkit.export.html as html_mod

    def broken(content):
        raise RuntimeError("boom")

    monkeypatch.setattr(html_mod, "render_html", broken)
    with pytest.raises(RuntimeError):
        export_html(f, tmp_path / "r.html", evaluation=result, data=data)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- privacy by default
def test_default_workbook_holds_no_patient_ids(sample, workbook):
    data, _, _ = sample
    wb, _ = workbook
    ids = set(data.data["patient_id"].astype(str))
    values = {str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value}
    assert not ids & values
    assert not any(i in v for v in values for i in list(ids)[:50])


def test_patient_listing_is_pseudonymised_stable_and_new_each_export(sample, tmp_path):
    data, result, f = sample
    a = export_excel(f, tmp_path / "a.xlsx", evaluation=result, data=data, patients=True)
    b = export_excel(f, tmp_path / "b.xlsx", evaluation=result, data=data, patients=True)
    la, lb = (sheet_frame(openpyxl.load_workbook(p)["Patients"]) for p in (a, b))
    assert len(la) == f.screened and la["Patient"].is_unique
    assert la["Patient"].str.fullmatch(r"PT-[0-9A-F]{10,}").all()
    assert not set(la["Patient"]) & set(lb["Patient"])  # not linkable across exports
    assert not set(la["Patient"]) & set(data.data["patient_id"].astype(str))
    assert la["Status"].value_counts().to_dict() == {
        k: v for k, v in f.headline().items() if k != "screened"
    }
    assert la["Patient"].is_monotonic_increasing  # row order reveals nothing
    assert "Screening date" not in la.columns and "Screening month" in la.columns


def test_identified_listing_uses_real_ids(sample, tmp_path):
    data, result, f = sample
    out = export_excel(f, tmp_path / "i.xlsx", evaluation=result, data=data, identified=True)
    listing = sheet_frame(openpyxl.load_workbook(out)["Patients"])
    assert listing["Patient"].tolist() == data.data["patient_id"].astype(str).tolist()


def test_suppression_and_listing_do_not_mix(sample, tmp_path):
    data, result, f = sample
    with pytest.raises(ScreenkitError, match="cannot go together"):
        export_excel(
            f, tmp_path / "x.xlsx", evaluation=result, data=data, patients=True, suppress_below=5
        )
    assert not (tmp_path / "x.xlsx").exists()


# ---------------------------------------------------------------- SDTM IE
def test_ie_rows_are_the_criteria_not_met(sample):
    _, result, f = sample
    ie = ie_frame(result)
    assert list(ie.columns[:9]) == [
        "STUDYID", "DOMAIN", "USUBJID", "IESEQ", "IETESTCD", "IETEST", "IECAT", "IEORRES",
        "IESTRESC",
    ]  # fmt: skip
    assert len(ie) == f.criteria["fails"].sum()
    assert (ie["DOMAIN"] == "IE").all() and (ie["STUDYID"] == "NCT07103668").all()
    assert ie["IETESTCD"].str.fullmatch(r"[A-Z][A-Z0-9]{0,7}").all()
    inc = ie["IECAT"] == "INCLUSION"
    assert (ie.loc[inc, "IEORRES"] == "N").all() and (ie.loc[~inc, "IEORRES"] == "Y").all()
    assert (ie["IESTRESC"] == ie["IEORRES"]).all()
    seq = ie.groupby("USUBJID")["IESEQ"].apply(list)
    assert all(s == list(range(1, len(s) + 1)) for s in seq)
    per_patient = ie.groupby("USUBJID").size()
    assert len(per_patient) == f.screen_failed
    assert ie["IEDTC"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_ie_test_codes_are_short_unique_uppercase(imc002):
    codes = ie_test_codes(imc002.ids, [c.kind for c in imc002.criteria])
    assert len(set(codes)) == len(codes)
    assert all(len(c) <= 8 and c == c.upper() and c[0].isalpha() for c in codes)
    assert codes[imc002.ids.index("I7d")] == "INCL7D"
    assert codes[imc002.ids.index("E12c")] == "EXCL12C"
    long = ie_test_codes(["I_very_long_id", "E1", "E1"], ["inclusion", "exclusion", "exclusion"])
    assert long == ["INCL0001", "EXCL1", "EXCL0002"]


def test_ie_needs_patient_ids(tmp_path):
    frame = pd.DataFrame({"spo2": pd.array([90.0], dtype="Float64")})
    with pytest.raises(InputError, match="patient IDs"):
        export_ie(evaluate(frame, "NCT07103668"), tmp_path / "ie.csv")


@pytest.mark.parametrize("suppress_below", [None, 5])
def test_an_empty_log_gives_a_valid_workbook_and_report(tmp_path, suppress_below):
    frame = pd.DataFrame(
        {"patient_id": pd.Series([], dtype="string"), "spo2": pd.array([], dtype="Float64")}
    )
    result = evaluate(frame, "NCT07103668")
    f = funnel(result)
    book = export_excel(f, tmp_path / "e.xlsx", evaluation=result, suppress_below=suppress_below)
    rows = labelled_rows(openpyxl.load_workbook(book)["Summary"])
    assert rows["Screened"][1] == 0
    page = export_html(f, tmp_path / "e.html", evaluation=result, suppress_below=suppress_below)
    assert "0 screened" in page.read_text(encoding="utf-8")
    assert pd.read_csv(export_ie(result, tmp_path / "e.csv")).empty


def test_data_issues_use_the_listing_pseudonyms(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("patient_id,site_id,hb\nP1,S1,abc\nP2,S1,9.5\n", encoding="utf-8")
    data = load_screening(log)
    result = evaluate(data, "NCT07103668")
    out = export_excel(
        funnel(result), tmp_path / "o.xlsx", evaluation=result, data=data, patients=True
    )
    wb = openpyxl.load_workbook(out)
    issues = sheet_frame(wb["Data issues"])
    code = issues.loc[issues["Value"] == "abc", "Patient"].item()
    assert code.startswith("PT-") and code in set(sheet_frame(wb["Patients"])["Patient"])
    assert "P1" not in {c.value for ws in wb for row in ws.iter_rows() for c in row}


def test_routine_not_done_markers_are_counted_per_column(tmp_path):
    data = load_screening(sample_path("messy"))
    result = evaluate(data, "NCT07103668")
    out = export_excel(funnel(result), tmp_path / "m.xlsx", evaluation=result, data=data)
    issues = sheet_frame(openpyxl.load_workbook(out)["Data issues"])
    kinds = data.report.cells["kind"].value_counts()
    not_done = issues[issues["Issue"] == "not done / not available"]
    assert not_done["Cells"].sum() == kinds["not done"]
    assert len(not_done) < kinds["not done"] / 10  # grouped, not one line per cell
    censored = issues[issues["Issue"].str.startswith("censored")]
    assert len(censored) == kinds.get("censored", 0) and (censored["Cells"] == 1).all()


def test_data_issues_put_unreadable_cells_first(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("patient_id,site_id,hb,Extra\nP1,S1,ND,x\nP2,S1,abc,y\n", encoding="utf-8")
    data = load_screening(log)
    result = evaluate(data, "NCT07103668")
    out = export_excel(funnel(result), tmp_path / "o.xlsx", evaluation=result, data=data)
    issues = sheet_frame(openpyxl.load_workbook(out)["Data issues"])["Issue"].tolist()
    assert issues[0] == "value not understood (counts as missing)"
    assert issues[1] == "column not used (header not recognised)"
    assert issues.index("not done / not available") > issues.index("criterion cannot be evaluated")
