"""screenkit protocols / protocol show / protocol check, and --include on the commands."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from screenkit.cli import main
from screenkit.protocol_check import check_protocol

BAD = """\
id: BAD
parameters:
  lim: {value: 5, min: 1, max: 10}
criteria:
  - {id: I1, kind: inclusion, label: "A {lim:g}", rule: "spo2 >= lim", source: s}
  - {id: I2, kind: inclusion, label: B, rule: "nonsense_column > 2", source: s}
  - {id: I3, kind: inclushun, label: C, rule: "spo2 > 90", source: s}
  - {id: I4, kind: inclusion, label: "D {nope}", rule: "spo2 > 90", source: s}
  - {id: I5, kind: inclusion, label: E, rule: "spo2 + 1", source: s}
"""


def test_protocols_lists_every_shipped_protocol(capsys):
    assert main(["protocols"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:4]}
    assert set(rows) == {"CT041-ST-01", "NCT07103668", "NCT07103668-A1"}
    assert rows["CT041-ST-01"][1] == "NCT04581473"
    assert "5" in rows["CT041-ST-01"] and "I4,I5" in rows["CT041-ST-01"]
    assert "55" in rows["NCT07103668"]
    assert rows["NCT07103668-A1"][-1] == "NCT07103668"  # amends


def test_protocol_show_gives_the_criteria_table_with_on_off(capsys):
    assert main(["protocol", "show", "CT041-ST-01"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line[:2] in ("I1", "I4")}
    assert lines["I4"].rstrip().endswith("off") and "ECOG 0-1 (assumed)" in lines["I4"]
    assert lines["I1"].rstrip().endswith("on") and "PUBLISHED" in lines["I1"]
    assert "--include I4,I5" in out


def test_protocol_show_of_the_amendment_shows_the_relaxed_values(capsys):
    assert main(["protocol", "show", "NCT07103668-A1"]) == 0
    out = capsys.readouterr().out
    assert "amends: NCT07103668" in out
    assert "Largest lesion <= 7 cm" in out and "SpO2 <= 93% on room air" in out


def test_protocol_show_unknown_id_exits_2(capsys):
    assert main(["protocol", "show", "NCT0000"]) == 2
    assert "No shipped protocol" in capsys.readouterr().err


def test_check_lists_every_problem_with_line_and_criterion(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    problems = check_protocol(path)
    assert problems[["line", "criterion", "place"]].values.tolist() == [
        [6, "I2", "criteria.1.rule"],
        [7, "I3", "criteria.2.kind"],
        [8, "I4", "criteria.3.label"],
        [9, "I5", "criteria.4.rule"],
    ]
    assert (problems["file"] == str(path)).all()
    assert main(["protocol", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "4 problem(s)" in err
    assert f"{path}: line 9: criterion I5 (criteria.4.rule)" in err


def test_check_of_a_good_file_and_of_unparsable_yaml(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(BAD.split("  - {id: I2")[0], encoding="utf-8")
    assert check_protocol(good).empty
    assert main(["protocol", "check", str(good)]) == 0
    assert "OK (BAD, 1 criteria)" in capsys.readouterr().out
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n", encoding="utf-8")
    assert len(check_protocol(broken)) == 1
    assert main(["protocol", "check", str(broken)]) == 2


def test_check_finds_unused_parameters_and_bad_amendments(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        BAD.split("  - {id: I2")[0].replace(
            "criteria:", "  spare: {value: 1, min: 0, max: 2}\ncriteria:"
        ),
        encoding="utf-8",
    )
    got = check_protocol(path)
    assert got[["line", "place"]].values.tolist() == [[4, "parameters.spare"]]
    amendment = tmp_path / "a.yaml"
    amendment.write_text("amends: NCT07103668\nremove: [E99]\n", encoding="utf-8")
    got = check_protocol(amendment)
    assert got["place"].tolist() == ["version"]  # version is required


@pytest.fixture(scope="module")
def sample_path():
    from screenkit.datasets import sample_path

    return sample_path("clean")


def test_report_json_and_terminal_name_the_criteria_left_out(tmp_path, capsys, sample_path):
    out = tmp_path / "r.json"
    argv = ["report", str(sample_path), "--protocol", "CT041-ST-01", "--computed"]
    assert main([*argv, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "criteria left out (off by default; --include I4,I5 to switch on)" in text
    payload = json.loads(out.read_text())
    assert [c["id"] for c in payload["criteria_off"]] == ["I4", "I5"]
    assert payload["screened"] == 400
    out2 = tmp_path / "r2.json"
    assert main([*argv, "--include", "I4,I5", "--json", str(out2)]) == 0
    assert "criteria left out" not in capsys.readouterr().out
    both = json.loads(out2.read_text())
    assert both["criteria_off"] == []
    assert both["screened"] == 400
    assert both["eligible"] < payload["eligible"]  # ECOG / survival now screen some out


def test_include_of_a_misspelt_id_exits_2_before_loading(capsys):
    argv = ["evaluate", "missing.xlsx", "--protocol", "CT041-ST-01", "--include", "I44"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--include: protocol CT041-ST-01 has no criterion 'I44'" in err
    assert "did you mean 'I4'" in err


def test_evaluate_and_forecast_with_include(tmp_path, capsys, sample_path):
    csv = tmp_path / "s.csv"
    argv = ["evaluate", str(sample_path), "--protocol", "CT041-ST-01", "--computed"]
    assert main([*argv, "-o", str(csv)]) == 0
    assert "criteria left out" in capsys.readouterr().err
    assert list(pd.read_csv(csv).columns[-3:]) == ["I1", "I2", "I3"]
    assert main([*argv, "--include", "I4", "-o", str(csv), "--force"]) == 0
    assert list(pd.read_csv(csv).columns[-4:]) == ["I1", "I2", "I3", "I4"]
    js = tmp_path / "f.json"
    forecast = ["forecast", str(sample_path), "--protocol", "CT041-ST-01", "--sims", "200"]
    assert main([*forecast, "--json", str(js)]) == 0
    assert "note: criteria left out" in capsys.readouterr().out
    assert [c["id"] for c in json.loads(js.read_text())["criteria_off"]] == ["I4", "I5"]
