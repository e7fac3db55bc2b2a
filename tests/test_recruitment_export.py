"""Recruitment in every deliverable (issue 12, item 4): the workbook's Recruitment sheet, the
HTML report's recruitment section, ``report --no-forecast``, and ``forecast --order /
--exclude`` (the what-if route shared with Python)."""

from __future__ import annotations

import json
import re
import zipfile

import openpyxl
import pandas as pd
import pytest

from screenkit.cli import main
from screenkit.datasets import load_sample, sample_path
from screenkit.errors import ScreenkitError
from screenkit.evaluate import evaluate
from screenkit.export.recruitment import REPORT_SEED, REPORT_SIMS, build_recruitment
from screenkit.forecast import RecruitmentForecast
from screenkit.forecast.whatif import forecast_evaluation
from screenkit.groups import NO_DATE
from screenkit.style import percent  # the one rounding rule

CLEAN = sample_path("clean")
PROTOCOL = "NCT07103668"


def _run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def evaluation():
    return evaluate(load_sample(), PROTOCOL)


@pytest.fixture(scope="module")
def expected(evaluation):
    """The forecast the report must show: the public route, the report's sims and seed."""
    fc = RecruitmentForecast(n_sims=REPORT_SIMS, random_state=REPORT_SEED)
    return forecast_evaluation(fc, evaluation)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    book, page = folder / "r.xlsx", folder / "r.html"
    assert main(["report", str(CLEAN), "-o", str(book), "-o", str(page)]) == 0
    return book, page


def figures(ws) -> dict:
    """Quantity -> Value of the figures table at the top of the Recruitment sheet."""
    out = {}
    for quantity, value in ws.iter_rows(min_row=4, max_col=2, values_only=True):
        if quantity is None:
            break
        out[quantity] = value
    return out


def block(ws, title: str) -> pd.DataFrame:
    """The table under the heading ``title`` in columns A:C (total row left out)."""
    rows = list(ws.iter_rows(max_col=3, values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == title) + 2
    header = [h for h in rows[start] if h is not None]
    body = []
    for r in rows[start + 1 :]:
        if r[0] in (None, "All"):
            break
        body.append(r[: len(header)])
    return pd.DataFrame(body, columns=header)


def _date(value) -> str:
    return pd.Timestamp(value).date().isoformat()


# ------------------------------------------------------------------ workbook
def test_recruitment_sheet_holds_the_forecast_figures(report, expected, evaluation):
    wb = openpyxl.load_workbook(report[0])
    assert "Recruitment" in wb.sheetnames
    assert wb.sheetnames.index("Recruitment") == wb.sheetnames.index("By month") + 1
    got = figures(wb["Recruitment"])
    assert got["Target (protocol file)"] == evaluation.protocol.target == 150
    assert _date(got["Primary completion date (protocol file)"]) == "2027-05-31"
    randomized = int(evaluation.data["randomized"].fillna(False).sum())
    as_of = expected.as_of.date().isoformat()
    assert got[f"Randomized to date (as of {as_of})"] == randomized == expected.randomized_so_far
    assert got["Still to randomize"] == 150 - randomized
    assert _date(got["Forecast: target reached (median)"]) == _date(expected.median_date)
    assert _date(got["80% prediction interval: from"]) == _date(expected.pi80[0])
    assert _date(got["80% prediction interval: to"]) == _date(expected.pi80[1])
    assert _date(got["90% prediction interval: from"]) == _date(expected.pi90[0])
    assert _date(got["90% prediction interval: to"]) == _date(expected.pi90[1])
    prob = got[f"Probability of reaching the target by {expected.by_date.date()}"]
    assert prob == (
        "below 0.1%" if 0 < expected.prob_by_date < 0.001 else percent(expected.prob_by_date)
    )
    assert got[f"Expected randomized by {expected.by_date.date()}"] == round(
        expected.expected_by_date
    )


def test_site_and_month_tables_account_for_every_randomized_patient(report, evaluation):
    ws = openpyxl.load_workbook(report[0])["Recruitment"]
    data = evaluation.data
    randomized = data["randomized"].fillna(False).astype(bool)
    sites = block(ws, "Randomized by site")
    per_site = randomized.groupby(data["site_id"].astype(str)).sum()
    assert dict(zip(sites["Site"], sites["Randomized"], strict=True)) == per_site.to_dict()
    months = block(ws, "Randomized by month of screening")
    month = data["screening_date"].dt.to_period("M").astype(str)
    per_month = randomized.groupby(month).sum()
    shown = dict(zip(months["Month"], months["Randomized"], strict=True))
    assert {m: v for m, v in shown.items() if v} == {m: v for m, v in per_month.items() if v}
    assert months["Cumulative randomized"].iloc[-1] == randomized.sum()
    assert months["Randomized"].sum() == randomized.sum()


def test_recruitment_sheet_has_a_native_line_chart_with_the_target(report):
    ws = openpyxl.load_workbook(report[0])["Recruitment"]
    assert len(ws._charts) == 1
    with zipfile.ZipFile(report[0]) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    line = [c for c in charts if "<lineChart>" in c]
    assert len(line) == 1
    assert "Recruitment" in line[0] and "$J$" in line[0]  # the Target column is a series
    header = [c.value for c in ws[3][4:10]]
    assert header == [
        "Month",
        "Cumulative randomized",
        "Forecast median",
        "Forecast 10%",
        "Forecast 90%",
        "Target",
    ]
    months = [r for r in ws.iter_rows(min_row=4, min_col=5, max_col=10, values_only=True) if r[0]]
    assert {r[-1] for r in months} == {150}
    assert months[0][1] is not None and months[-1][1] is None  # observed, then forecast


# ------------------------------------------------------------------ HTML
def test_html_section_shows_the_same_median_date(report, expected):
    text = report[1].read_text(encoding="utf-8")
    section = text[text.index('<section id="recruitment">') : text.index("</section>")]
    median = expected.median_date.date().isoformat()
    assert f"<td>Forecast: target reached (median)</td><td>{median}</td>" in section
    assert f"target reached on {median}" in section
    assert "80% band (10% to 90%)" in section and "Target 150" in section  # the fan chart
    assert section.count("<table>") == 3  # figures, by site, by month


def test_reruns_are_byte_identical(tmp_path, monkeypatch):
    # the Summary states the time of the report, to the minute: two runs may straddle a
    # minute, so the test states the time as reproducible builds do
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    runs = []
    for name in ("a", "b"):
        book, page = tmp_path / f"{name}.xlsx", tmp_path / f"{name}.html"
        assert main(["report", str(CLEAN), "-o", str(book), "-o", str(page)]) == 0
        runs.append((book.read_bytes(), page.read_bytes()))
    assert runs[0][0] == runs[1][0]
    assert runs[0][1] == runs[1][1]


# ------------------------------------------------------------------ without a forecast
def test_no_forecast_keeps_the_counts_and_says_so(tmp_path, capsys, evaluation):
    book, page = tmp_path / "n.xlsx", tmp_path / "n.html"
    code, out, _ = _run(capsys, ["report", CLEAN, "-o", book, "-o", page, "--no-forecast"])
    assert code == 0 and "No forecast: skipped on request (--no-forecast)" in out
    ws = openpyxl.load_workbook(book)["Recruitment"]
    got = figures(ws)
    assert got["Forecast"] == "not made: skipped on request (--no-forecast)"
    assert not any(q.startswith("Forecast:") for q in got)
    assert len(block(ws, "Randomized by site")) == evaluation.data["site_id"].nunique()
    assert len(ws._charts) == 1  # the observed counts and the target are still drawn
    text = page.read_text(encoding="utf-8")
    assert 'id="recruitment"' in text and "80% band" not in text


@pytest.fixture(scope="module")
def undated_csv(tmp_path_factory):
    frame = load_sample().data.drop(columns=["screening_date"])
    path = tmp_path_factory.mktemp("undated") / "undated.csv"
    frame.to_csv(path, index=False)
    return path


def test_log_without_dates_still_gets_its_report_and_the_reason(tmp_path, capsys, undated_csv):
    book, page = tmp_path / "u.xlsx", tmp_path / "u.html"
    code, out, err = _run(capsys, ["report", undated_csv, "-o", book, "-o", page])
    assert code == 0, err
    assert f"wrote {book}" in out and "no screening dates" in out
    wb = openpyxl.load_workbook(book)
    assert {"Summary", "Funnel", "By site", "Recruitment", "Protocol"} <= set(wb.sheetnames)
    got = figures(wb["Recruitment"])
    assert got["Forecast"].startswith("not made: the log has no screening dates")
    assert len(wb["Recruitment"]._charts) == 0
    assert "the log has no screening dates" in page.read_text(encoding="utf-8")


def test_log_without_randomization_gets_the_reason(tmp_path, capsys):
    frame = load_sample().data.drop(columns=["randomized"])
    log = tmp_path / "norand.csv"
    frame.to_csv(log, index=False)
    book = tmp_path / "n.xlsx"
    code, out, err = _run(capsys, ["report", log, "-o", book])
    assert "No forecast: the log records no randomization" in out
    assert code == 0, err
    got = figures(openpyxl.load_workbook(book)["Recruitment"])
    assert got["Forecast"].startswith("not made: the log records no randomization outcome")
    assert "Randomized to date" not in " ".join(got)


def test_undated_randomized_patients_have_their_own_month_row(evaluation):
    data = evaluation.data.copy()
    first = data.index[data["randomized"].fillna(False).astype(bool)][:3]
    data.loc[first, "screening_date"] = pd.NaT
    rec = build_recruitment(evaluate(data, PROTOCOL), forecast=False)
    months = rec.months.frame
    assert months["Month"].iloc[-1] == NO_DATE == "(no date)"  # one label, as in patterns
    assert months["Randomized"].iloc[-1] == 3
    assert months["Randomized"].sum() == rec.randomized == 65
    assert rec.sites.frame["Randomized"].sum() == 65
    assert rec.notes[0].startswith("3 randomized patient(s) have no screening date")


# ------------------------------------------------------------------ small counts
def test_suppression_hides_small_randomized_counts_everywhere(tmp_path, evaluation):
    rec = build_recruitment(evaluation, suppress_below=5, forecast=False)
    for table in (rec.sites, rec.months):
        for column in ("Randomized", "Cumulative randomized"):
            if column in table.frame:
                numbers = [v for v in table.frame[column] if isinstance(v, int)]
                assert all(v >= 5 for v in numbers)
    assert "<5" in set(rec.sites.frame["Randomized"])
    hidden = rec.months.frame["Cumulative randomized"].isin(["<5", "hidden"]).to_numpy()
    observed = rec.cumulative["Cumulative randomized"].iloc[: len(hidden)]
    assert observed[hidden].isna().all() and observed[~hidden].notna().all()
    # a single hidden month between two shown cumulative counts would give it away
    months = rec.months.frame
    for i in range(1, len(months)):
        cum = months["Cumulative randomized"]
        if isinstance(cum.iloc[i], int) and isinstance(cum.iloc[i - 1], int):
            assert isinstance(months["Randomized"].iloc[i], int)
    book = tmp_path / "s.xlsx"
    assert main(["report", str(CLEAN), "-o", str(book), "--suppress-below", "5"]) == 0
    ws = openpyxl.load_workbook(book)["Recruitment"]
    assert "<5" in set(block(ws, "Randomized by site")["Randomized"])


# ------------------------------------------------------------------ forecast --order / --exclude
def test_forecast_order_is_checked_and_does_not_move_the_date(tmp_path, capsys):
    plain, ordered = tmp_path / "p.json", tmp_path / "o.json"
    base = ["forecast", CLEAN, "--sims", 300]
    assert _run(capsys, [*base, "--json", plain])[0] == 0
    code, out, _ = _run(capsys, [*base, "--order", "E7,I5b", "--json", ordered])
    assert code == 0 and "--order does not change the forecast" in out
    a, b = (json.loads(p.read_text()) for p in (plain, ordered))
    assert b["order"] == ["E7", "I5b"]
    for key in ("median_date", "pi80", "pi90", "prob_by_date"):
        assert a[key] == b[key]
    code, _, err = _run(capsys, [*base, "--order", "E7,I5x"])
    assert code == 2 and "no criterion 'I5x'; did you mean 'I5b'?" in err
    assert "Traceback" not in err


def test_forecast_exclude_cli_equals_python_and_names_the_criteria(tmp_path, capsys, evaluation):
    out_json = tmp_path / "x.json"
    code, out, _ = _run(
        capsys, ["forecast", CLEAN, "--sims", 500, "--exclude", "I5b", "--json", out_json]
    )
    assert code == 0
    assert "Criteria switched off: I5b (Largest lesion <= 5 cm)" in out
    cli = json.loads(out_json.read_text())
    assert cli["excluded_criteria"] == ["I5b"]
    fc = RecruitmentForecast(n_sims=500, random_state=0)
    python = forecast_evaluation(fc, evaluation, exclude=["I5b"]).to_dict()
    for key in ("median_date", "pi80", "pi90", "prob_by_date", "eligibility", "notes"):
        assert cli[key] == python[key], key
    code, _, err = _run(capsys, ["forecast", CLEAN, "--exclude", "Q9"])
    assert code == 2 and "no criterion 'Q9'" in err


def test_report_forecast_uses_the_report_exclusions(tmp_path, evaluation):
    book = tmp_path / "x.xlsx"
    assert main(["report", str(CLEAN), "-o", str(book), "--exclude", "I5b"]) == 0
    got = figures(openpyxl.load_workbook(book)["Recruitment"])
    fc = RecruitmentForecast(n_sims=REPORT_SIMS, random_state=REPORT_SEED)
    relaxed = forecast_evaluation(fc, evaluation, exclude=["I5b"])
    assert _date(got["Forecast: target reached (median)"]) == _date(relaxed.median_date)
    assert got["Criteria switched off"] == "I5b"


def _criteria_that_exclude(evaluation) -> list[str]:
    f = evaluation.funnel()
    crit = f.criteria.sort_values("fails_only", ascending=False)
    return crit.loc[crit["fails"] > 0, "criterion"].head(6).tolist()


def test_excluding_criteria_never_moves_the_median_later(evaluation):
    fc = RecruitmentForecast(n_sims=400, random_state=3)
    base = forecast_evaluation(fc, evaluation)
    ids = _criteria_that_exclude(evaluation)
    sets = [[c] for c in ids] + [ids[:2], ids[:4]]
    medians = {}
    for chosen in sets:
        result = forecast_evaluation(fc, evaluation, exclude=chosen)
        medians[tuple(chosen)] = result.median_date
        assert result.median_date <= base.median_date, chosen
        assert result.prob_by_date >= base.prob_by_date, chosen
    # switching off more criteria never gives a later date than a subset of them
    assert medians[tuple(ids[:4])] <= medians[tuple(ids[:2])] <= medians[(ids[0],)]
    assert medians[(ids[0],)] < base.median_date  # the top criterion moves it earlier


def test_without_criteria_switches_off_and_checks_ids(evaluation):
    off = evaluation.without_criteria(["I5b"])
    assert off.statuses["I5b"].all()
    before, after = evaluation.counts(), off.counts()
    gained = int(evaluation.funnel().criteria.set_index("criterion").loc["I5b", "fails_only"])
    assert after["eligible"] >= before["eligible"] + gained - before["pending"]
    assert after["screen_failed"] == before["screen_failed"] - gained
    assert evaluation.statuses["I5b"].eq(False).any()  # the original is untouched
    with pytest.raises(ScreenkitError, match="Unknown criterion 'I99'"):
        evaluation.without_criteria(["I99"])


def test_report_checks_order_and_exclude_before_loading(tmp_path, capsys):
    missing = tmp_path / "does-not-exist.xlsx"  # never read: the IDs fail first
    code, _, err = _run(capsys, ["report", missing, "--exclude", "E99"])
    assert code == 2 and "--exclude: protocol NCT07103668 has no criterion 'E99'" in err
    assert re.search(r"accepted: comma-separated criterion IDs: I1, ", err)


def test_unprotectable_small_counts_leave_only_the_total(monkeypatch, evaluation):
    from screenkit.export import recruitment

    def refuse(*args, **kwargs):
        raise ScreenkitError("cannot protect")

    monkeypatch.setattr(recruitment, "suppress", refuse)
    rec = build_recruitment(evaluation, suppress_below=5, forecast=False)
    assert rec.sites is None and rec.months is None and rec.randomized == 65
    assert rec.cumulative["Cumulative randomized"].isna().all()
    assert rec.notes[0].startswith("Randomized per site and month are left out")


# ------------------------------------------------------------------ explorer panel
def test_explorer_forecast_panel_follows_the_thresholds_and_toggles(evaluation):
    from screenkit.widgets import ScreeningExplorer
    from screenkit.widgets.forecast import PANEL_SIMS

    explorer = ScreeningExplorer(load_sample(), PROTOCOL, forecast=True)
    panel = explorer.forecast_panel
    assert panel.widget in explorer.widget.children
    fc = RecruitmentForecast(n_sims=PANEL_SIMS, random_state=0)
    first = panel.result.median_date
    assert first == forecast_evaluation(fc, evaluation).median_date
    assert first.date().isoformat() in panel.widget.value
    explorer.set_parameter("lesion_max_cm", 7)
    relaxed = forecast_evaluation(fc, evaluation.with_parameters(lesion_max_cm=7)).median_date
    assert panel.result.median_date == relaxed < first  # the date moves with the slider
    assert relaxed.date().isoformat() in panel.widget.value
    explorer.toggle("E3", False)
    both = forecast_evaluation(
        fc, evaluation.with_parameters(lesion_max_cm=7), exclude=["E3"]
    ).median_date
    assert panel.result.median_date == both <= relaxed
    assert "switched off: E3" in panel.widget.value
    explorer.set_parameter("lesion_max_cm", 5)
    explorer.toggle("E3", True)
    assert panel.result.median_date == first  # back where it started (fixed seed)


def test_explorer_without_dates_says_why_there_is_no_forecast():
    from screenkit.widgets import ScreeningExplorer

    frame = load_sample().data.drop(columns=["screening_date"])
    explorer = ScreeningExplorer(frame, PROTOCOL, forecast=True)
    assert explorer.forecast_panel.result is None
    assert "not available" in explorer.forecast_panel.widget.value
    assert ScreeningExplorer(frame, PROTOCOL).forecast_panel is None  # off by default


def test_suppressed_notes_hide_small_patient_counts(evaluation):
    data = evaluation.data.copy()
    first = data.index[data["randomized"].fillna(False).astype(bool)][:2]
    data.loc[first, "screening_date"] = pd.NaT
    rec = build_recruitment(evaluate(data, PROTOCOL), suppress_below=5)
    assert rec.notes[0].startswith("Some randomized patient(s) have no screening date")
    exact = build_recruitment(evaluate(data, PROTOCOL), forecast=True)
    left_out = [n for n in exact.notes if "without a screening date are left out" in n]
    assert left_out and left_out[0].startswith("2 patients")
    masked = [n for n in rec.notes if "without a screening date are left out" in n]
    assert masked[0].startswith("<5 patients")
