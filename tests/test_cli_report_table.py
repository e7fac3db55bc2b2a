"""The terminal report of ``screenkit report`` (screenkit.cli.report_table): width,
--top / --all / --sort, the pending footnote, suppression; one -o per kind; --flow;
``forecast --help``."""

from __future__ import annotations

import re

import pytest

from screenkit.cli import main
from screenkit.cli.report_table import format_funnel, terminal_width
from screenkit.datasets import sample_path
from screenkit.evaluate import evaluate
from screenkit.export.tables import combinations_hidden, criteria_table, suppression_for
from screenkit.funnel import funnel
from screenkit.normalize import load_screening

CLEAN = sample_path("clean")
ROW = re.compile(r"^([IE]\d+[a-z]?) ")


@pytest.fixture(scope="module")
def sample():
    return funnel(evaluate(load_screening(CLEAN), "NCT07103668"))


def rows(text: str) -> list[list[str]]:
    """The table rows: criterion ID first, the seven number cells last."""
    out = []
    for line in text.splitlines():
        if ROW.match(line):
            out.append([line.split()[0], *line.split()[-7:]])
    return out


@pytest.mark.parametrize("width", [60, 80, 100, 140])
def test_every_line_fits_the_width(sample, width):
    text = format_funnel(sample, width=width, top=None)
    assert max(len(line) for line in text.splitlines()) <= width
    assert len(rows(text)) == 55  # nothing lost to the width


@pytest.mark.parametrize(("columns", "width"), [(None, 100), ("72", 72), ("wide", 100)])
def test_the_whole_command_fits_columns(capsys, monkeypatch, columns, width):
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_width() == width
    assert main(["report", str(CLEAN)]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= width


def test_top_sorts_by_share_and_all_lists_every_criterion(sample):
    crit = sample.criteria.set_index("criterion")
    top = rows(format_funnel(sample, top=5))
    assert [r[0] for r in top] == crit.sort_values("attribution", ascending=False).index[
        :5
    ].tolist()
    assert [r[0] for r in top][:2] == ["I3a", "E3"]
    every = rows(format_funnel(sample, top=None, sort="funnel"))
    assert [r[0] for r in every] == list(sample.order)
    fails = [int(r[1]) for r in rows(format_funnel(sample, top=10, sort="fails"))]
    assert fails == sorted(crit["fails"], reverse=True)[:10]
    text = format_funnel(sample, top=5)
    assert "top 5 of 55" in text and "50 more criteria not shown" in text


def test_numbers_are_the_funnel_and_the_footnote_names_pending(sample):
    text = format_funnel(sample, top=None, sort="funnel")
    steps = sample.steps.set_index("criterion")
    for cid, *_, step, excluded, remaining in rows(text):
        assert int(excluded) == steps.loc[cid, "excluded"]
        assert int(remaining) == steps.loc[cid, "remaining"]
        assert int(step) == steps.loc[cid, "step"]
    last = int(sample.steps["remaining"].iloc[-1])
    assert last == sample.eligible + sample.pending
    footnote = " ".join(text.split())
    assert (
        f"remaining counts include the pending patients (no criterion failed, some value "
        f"unknown): after the last step {last} remain = {sample.eligible} eligible + "
        f"{sample.pending} pending"
    ) in footnote


def test_suppression_hides_what_the_workbook_hides(sample, capsys):
    text = format_funnel(sample, top=None, suppress_below=10)
    sup = suppression_for(sample, 10)
    combos = sample.combinations(20)
    shown = criteria_table(sample, sup, {}, hide_shares=combinations_hidden(sample, sup, combos))
    fails = shown.frame.set_index("Criterion")["Fails"]
    printed = {r[0]: r[1] for r in rows(text)}
    assert printed == {cid: str(fails[cid]) for cid in printed}
    assert "<10" in printed.values()
    assert "Small counts (--suppress-below 10)" in " ".join(text.split())
    assert main(["report", str(CLEAN), "--suppress-below", "10"]) == 0
    out = capsys.readouterr().out
    assert "Concordance of recorded and computed fails: not shown" in " ".join(out.split())
    assert not re.search(r"\b[1-9] patient\(s\)", out)  # data notes' small counts masked


def test_two_outputs_of_one_kind_are_refused_before_loading(tmp_path, capsys):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    assert main(["report", str(CLEAN), "-o", str(a), "-o", str(b)]) == 2
    err = capsys.readouterr().err
    assert "two files of one kind" in err and str(a) in err and str(b) in err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []
    c, d = tmp_path / "c.html", tmp_path / "d.htm"
    assert main(["report", str(CLEAN), "-o", str(c), "-o", str(d)]) == 2
    assert "one HTML report" in capsys.readouterr().err


def test_top_must_be_positive_and_flow_format_is_checked(tmp_path, capsys):
    assert main(["report", str(CLEAN), "--top", "0"]) == 2
    assert "--top is out of range" in capsys.readouterr().err
    assert main(["report", str(CLEAN), "--flow", str(tmp_path / "f.pdf")]) == 2
    assert ".svg or .png" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # exclusive options: argparse says so
        main(["report", str(CLEAN), "--top", "3", "--all"])
    assert exit_.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_flow_option_writes_svg_and_png_with_suppression(tmp_path, capsys):
    svg, png = tmp_path / "flow.svg", tmp_path / "flow.png"
    assert main(["report", str(CLEAN), "--flow", str(svg), "--suppress-below", "10"]) == 0
    text = svg.read_text(encoding="utf-8")
    assert text.startswith('<svg id="consort-flow"') and "&lt;10" in text
    assert main(["report", str(CLEAN), "--flow", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {png}" in capsys.readouterr().out


def test_forecast_help_prints_single_percent_signs(capsys):
    with pytest.raises(SystemExit):
        main(["forecast", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "80% and 90%" in out and "%%" not in out
