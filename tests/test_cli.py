"""The command line: evaluate and report (terminal + JSON), exit codes, messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from screenkit.cli import main
from screenkit.datasets import sample_path
from screenkit.evaluate import evaluate
from screenkit.funnel import funnel
from screenkit.normalize import load_screening

CLEAN = sample_path("clean")
MESSY = sample_path("messy")


@pytest.fixture(scope="module")
def expected():
    return funnel(evaluate(load_screening(CLEAN), "NCT07103668"))


@pytest.mark.parametrize("path", [CLEAN, MESSY], ids=["clean", "messy"])
def test_evaluate_writes_one_row_per_patient(tmp_path, path, expected):
    out = tmp_path / "statuses.csv"
    assert main(["evaluate", str(path), "-o", str(out)]) == 0
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    ids = expected.patterns.criteria
    assert list(table.columns) == ["patient_id", "site_id", "status", *ids]
    assert len(table) == expected.screened
    assert table["status"].value_counts().to_dict() == {
        k: v for k, v in expected.headline().items() if k != "screened" and v
    }
    assert set(table[list(ids)].stack().unique()) <= {"pass", "fail", "unknown"}


def test_messy_and_clean_give_identical_csv_but_for_the_impossible_values(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["evaluate", str(CLEAN), "-o", str(a)]) == 0
    assert main(["evaluate", str(MESSY), "-o", str(b)]) == 0
    clean = pd.read_csv(a, dtype=str, keep_default_na=False)
    messy = pd.read_csv(b, dtype=str, keep_default_na=False)
    differ = (clean != messy).any(axis=1)
    # only the patients with an impossible value differ, and only to "unknown"
    impossible = load_screening(MESSY).report.cells.query("kind == 'implausible'")
    assert set(messy.loc[differ, "patient_id"]) == set(impossible["patient_id"])
    assert (messy.where(clean != messy).stack().dropna() == "unknown").all()
    assert clean["status"].tolist() == messy["status"].tolist()


@pytest.mark.parametrize("path", [CLEAN, MESSY], ids=["clean", "messy"])
def test_report_prints_the_funnel_and_writes_the_json_contract(tmp_path, capsys, path, expected):
    out = tmp_path / "funnel.json"
    assert main(["report", str(path), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert expected.headline_text() in printed
    data = json.loads(out.read_text(encoding="utf-8"))
    for key in ("protocol", "screened", "eligible", "screen_failed", "pending"):
        assert data[key] == (
            expected.patterns.protocol_id if key == "protocol" else getattr(expected, key)
        )
    assert [c["id"] for c in data["criteria"]] == list(expected.patterns.criteria)
    for c in data["criteria"]:
        assert set(c) >= {"id", "fails", "unknown", "fails_only", "attribution"}
    assert sum(c["attribution"] for c in data["criteria"]) == pytest.approx(data["screen_failed"])
    assert [s["id"] for s in data["funnel"]] == list(expected.patterns.criteria)
    assert data["funnel"][-1]["remaining"] == data["eligible"] + data["pending"]


def test_report_param_relaxes_a_threshold(tmp_path):
    base, relaxed = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["report", str(CLEAN), "--json", str(base)]) == 0
    assert main(["report", str(CLEAN), "--json", str(relaxed), "--param", "lesion_max_cm=7"]) == 0
    a, b = (json.loads(p.read_text()) for p in (base, relaxed))
    assert b["parameters"]["lesion_max_cm"] == 7
    assert b["eligible"] >= a["eligible"]
    i5b = {c["id"]: c for c in b["criteria"]}["I5b"]
    assert i5b["fails"] <= {c["id"]: c for c in a["criteria"]}["I5b"]["fails"]


def test_report_order_and_exclude(tmp_path):
    out = tmp_path / "f.json"
    assert main(["report", str(CLEAN), "--json", str(out), "--order", "E7,I5b", "--exclude",
                 "I3a"]) == 0  # fmt: skip
    data = json.loads(out.read_text())
    assert [s["id"] for s in data["funnel"]][:2] == ["E7", "I5b"]
    assert "I3a" not in [s["id"] for s in data["funnel"]]
    assert data["excluded_criteria"] == ["I3a"]


def test_missing_file_exits_2_naming_the_file(tmp_path, capsys):
    missing = tmp_path / "nope.xlsx"
    assert main(["report", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "nope.xlsx" in err and "Traceback" not in err


def test_unknown_sheet_exits_2_listing_the_sheets(capsys):
    assert main(["evaluate", str(MESSY), "--sheet", "Nope"]) == 2
    err = capsys.readouterr().err
    assert "Nope" in err and "Screening log" in err


def test_bad_param_exits_2(capsys):
    assert main(["report", str(CLEAN), "--param", "lesion_max_cm=big"]) == 2
    assert "NAME=NUMBER" in capsys.readouterr().err
    assert main(["report", str(CLEAN), "--param", "nope=1"]) == 2
    assert "no parameter 'nope'" in capsys.readouterr().err


def test_output_never_overwrites_the_input_or_an_existing_file(tmp_path, capsys):
    copy = tmp_path / "log.csv"
    copy.write_text("patient_id,hb\nP1,9\n", encoding="utf-8")
    assert main(["evaluate", str(copy), "-o", str(copy), "--force"]) == 2
    assert copy.read_text(encoding="utf-8") == "patient_id,hb\nP1,9\n"
    out = tmp_path / "out.csv"
    out.write_text("keep me", encoding="utf-8")
    assert main(["evaluate", str(copy), "-o", str(out)]) == 2
    assert out.read_text(encoding="utf-8") == "keep me"
    assert "--force" in capsys.readouterr().err
    assert main(["evaluate", str(copy), "-o", str(out), "--force"]) == 0
    assert out.read_text(encoding="utf-8").startswith("patient_id,site_id,status")


def test_formula_like_ids_are_written_as_text(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text(
        'patient_id,site_id,hb\n"=HYPERLINK(""http://x"",""y"")",@SUM(A1),9\n+cmd,-2+3,7\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    assert main(["evaluate", str(log), "-o", str(out)]) == 0
    table = pd.read_csv(out, dtype=str)
    assert table["patient_id"].tolist() == ['\'=HYPERLINK("http://x","y")', "'+cmd"]
    assert table["site_id"].tolist() == ["'@SUM(A1)", "'-2+3"]


def test_console_script_runs_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "screenkit", "report", str(tmp_path / "x.csv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "x.csv" in result.stderr


def test_the_process_freezes_its_imports_and_main_leaves_the_collector_alone(tmp_path):
    """``python -m screenkit`` freezes what it imported before running (its exit status
    kept); ``main()`` called in Python never touches the caller's garbage collector."""
    import gc

    frozen = gc.get_freeze_count()
    assert main(["report", str(CLEAN), "--json", str(tmp_path / "a.json")]) == 0
    assert gc.get_freeze_count() == frozen
    probe = (
        "import gc, sys, runpy\n"
        "sys.argv = ['screenkit', 'report', sys.argv[1]]\n"
        "try:\n    runpy.run_module('screenkit', run_name='__main__')\n"
        "except SystemExit as end:\n"
        "    print(end.code, gc.get_freeze_count() > 10000, file=sys.stderr)\n"
    )
    for log, status in ((CLEAN, "0"), (tmp_path / "x.csv", "2")):
        run = subprocess.run(
            [sys.executable, "-c", probe, str(log)], capture_output=True, text=True, check=False
        )
        assert run.stderr.strip().splitlines()[-1] == f"{status} True"


@pytest.mark.parametrize("command", ["report", "evaluate", "compare"])
def test_a_command_parses_and_helps_alone_as_with_every_command(command, capsys):
    """``main`` builds only the named command's parser: its help and its usage errors are
    those of the whole parser, and the other commands' modules are not imported."""
    from screenkit.cli import build_parser

    for argv in ([command, "--help"], [command, "--no-such-option"]):
        texts = []
        for parser in (build_parser(), build_parser(command)):
            with pytest.raises(SystemExit):
                parser.parse_args(argv)
            texts.append(capsys.readouterr())
        assert texts[0] == texts[1] and (texts[0].out or texts[0].err)
    probe = (
        "import sys\nfrom screenkit.cli import main\nmain(['report', sys.argv[1]])\n"
        "print(sorted(m for m in sys.modules if m.startswith('screenkit.cli.')), file=sys.stderr)"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, str(CLEAN)], capture_output=True, text=True, check=True
    )
    loaded = run.stderr.strip().splitlines()[-1]
    assert "screenkit.cli.report'" in loaded and "screenkit.cli.sample" not in loaded


def test_ct041_protocol_from_the_command_line(tmp_path, capsys):
    assert main(["report", str(CLEAN), "--protocol", "CT041-ST-01"]) == 0
    assert "CT041-ST-01" in capsys.readouterr().out


def test_sample_paths_exist():
    assert Path(CLEAN).exists() and Path(MESSY).exists()
