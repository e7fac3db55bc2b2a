"""``screenkit report`` output options: -o (.xlsx / .html), --patients, --identified,
--suppress-below, --ie, --force; exit codes and messages."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from screenkit.cli import main
from screenkit.datasets import sample_path
from screenkit.evaluate import evaluate
from screenkit.funnel import funnel
from screenkit.normalize import load_screening

CLEAN = sample_path("clean")


@pytest.fixture(scope="module")
def expected():
    return funnel(evaluate(load_screening(CLEAN), "NCT07103668"))


def test_workbook_and_html_from_the_command_line(tmp_path, capsys, expected):
    book, page = tmp_path / "summary.xlsx", tmp_path / "report.html"
    assert main(["report", str(CLEAN), "-o", str(book)]) == 0
    assert main(["report", str(CLEAN), "-o", str(page)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {book}" in out and f"wrote {page}" in out
    wb = openpyxl.load_workbook(book)
    assert "Patients" not in wb.sheetnames
    rows = {r[0]: r for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert rows["Screened"][1] == expected.screened
    text = page.read_text(encoding="utf-8")
    assert expected.headline_text() in text


def test_patients_identified_and_suppression_options(tmp_path, expected):
    pseud, ident, supp = (tmp_path / f"{n}.xlsx" for n in ("p", "i", "s"))
    assert main(["report", str(CLEAN), "-o", str(pseud), "--patients"]) == 0
    assert main(["report", str(CLEAN), "-o", str(ident), "--identified"]) == 0
    assert main(["report", str(CLEAN), "-o", str(supp), "--suppress-below", "5"]) == 0
    first = openpyxl.load_workbook(pseud)["Patients"]["A4"].value
    assert first.startswith("PT-")
    ids = [
        r[0]
        for r in openpyxl.load_workbook(ident)["Patients"].iter_rows(min_row=4, values_only=True)
    ]
    assert ids[: expected.screened] == load_screening(CLEAN).data["patient_id"].tolist()
    wb = openpyxl.load_workbook(supp)
    texts = {c.value for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "s"}
    assert "<5" in texts


def test_ie_option_writes_the_sdtm_shape(tmp_path, expected):
    out = tmp_path / "ie.csv"
    assert main(["report", str(CLEAN), "--ie", str(out)]) == 0
    ie = pd.read_csv(out, dtype=str)
    assert len(ie) == expected.criteria["fails"].sum()
    assert ie["USUBJID"].nunique() == expected.screen_failed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--suppress-below", "2"], "at least 3"),
        (["--suppress-below", "5", "--patients"], "cannot be combined"),
        (["-o", "{tmp}/r.pdf"], "Unknown report format"),
        (["-o", "{tmp}/missing/r.xlsx"], "Output folder does not exist"),
        (["-o", "{tmp}/same.xlsx", "--ie", "{tmp}/same.xlsx"], "same path"),
    ],
)
def test_bad_options_exit_2_before_loading(tmp_path, capsys, extra, message):
    argv = ["report", str(CLEAN), *[a.format(tmp=tmp_path) for a in extra]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert [p for p in tmp_path.iterdir() if p.is_file()] == []


def test_missing_input_exits_2_naming_the_file(tmp_path, capsys):
    missing = tmp_path / "nope.xlsx"
    assert main(["report", str(missing), "-o", str(tmp_path / "o.xlsx")]) == 2
    assert "nope.xlsx" in capsys.readouterr().err
    assert not (tmp_path / "o.xlsx").exists()


def test_never_the_input_and_force_to_replace(tmp_path, capsys):
    log = tmp_path / "log.xlsx"
    log.write_bytes(CLEAN.read_bytes())
    before = log.read_bytes()
    assert main(["report", str(log), "-o", str(log), "--force"]) == 2
    assert "never overwrites its input" in capsys.readouterr().err
    assert log.read_bytes() == before
    out = tmp_path / "o.xlsx"
    out.write_bytes(b"keep me")
    assert main(["report", str(log), "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_bytes() == b"keep me"
    assert main(["report", str(log), "-o", str(out), "--force"]) == 0
    assert openpyxl.load_workbook(out).sheetnames[0] == "Summary"
    ie = tmp_path / "ie.csv"
    ie.write_text("old")
    assert main(["report", str(log), "--ie", str(ie)]) == 2
    assert ie.read_text() == "old"


def test_the_terminal_says_what_the_data_lack(tmp_path, capsys):
    """A log without the CLDN18.2 column: the terminal names the column, the criterion it
    leaves unknown and for how many patients; changed thresholds are in the headline."""
    frame = pd.read_excel(sample_path("clean"), engine="calamine")
    path = tmp_path / "no_cldn.csv"
    frame.drop(columns=["cldn18_pct_2plus"]).to_csv(path, index=False)
    expected_unknown = int(
        evaluate(load_screening(path), "NCT07103668").statuses["I3a"].isna().sum()
    )
    assert expected_unknown == len(frame)
    assert main(["report", str(path), "--param", "lesion_max_cm=7"]) == 0
    out = capsys.readouterr().out
    assert "thresholds changed from the protocol: lesion_max_cm = 7 (protocol: 5)" in out
    assert (
        f"no column for cldn18_pct_2plus (CLDN18.2 % tumour cells >= 2+): I3a unknown for "
        f"{expected_unknown} patient(s)"
    ) in out
    # a column that is only an alternative (a QTc beside QT and heart rate) is not listed
    assert "qtc_ms" not in out


def test_the_terminal_lists_impossible_values_and_the_sheet_read(capsys):
    assert main(["report", str(sample_path("messy"))]) == 0
    out = capsys.readouterr().out
    assert "6 impossible value(s) read as missing: Age (years) 1" in out
    assert "read sheet 'Screening log' (its header row has the most" in out
    assert "unit inferred: 'tbil uln' names no unit; read in umol/L" in out


def test_report_builds_its_content_once_for_every_output(tmp_path, monkeypatch):
    """-o book.xlsx -o page.html --flow flow.svg: the tables and the CONSORT flow are
    built once (issue 14), and the files are what each output alone gives."""
    import screenkit.export.content as content_module
    from screenkit.plots.flow import consort_flow

    built = []
    real = content_module.build_content

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(content_module, "build_content", counting)
    # the report states its time to the minute: pin it, or runs that cross a minute differ
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "315532800")
    book, page, svg = tmp_path / "r.xlsx", tmp_path / "r.html", tmp_path / "flow.svg"
    argv = ["report", str(CLEAN), "--exclude", "E26", "--no-forecast"]
    assert main([*argv, "-o", str(book), "-o", str(page), "--flow", str(svg)]) == 0
    assert len(built) == 1
    alone = tmp_path / "alone"
    alone.mkdir()
    assert main([*argv, "-o", str(alone / "r.xlsx")]) == 0
    assert main([*argv, "-o", str(alone / "r.html")]) == 0
    assert book.read_bytes() == (alone / "r.xlsx").read_bytes()
    assert page.read_text(encoding="utf-8") == (alone / "r.html").read_text(encoding="utf-8")
    evaluation = evaluate(load_screening(CLEAN), "NCT07103668")
    flow = consort_flow(evaluation, funnel(evaluation, exclude=["E26"]))
    assert svg.read_text(encoding="utf-8") == flow.to_svg()
