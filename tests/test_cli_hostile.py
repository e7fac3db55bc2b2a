"""Issue 16, command-line side: hostile arguments, protocol / YAML files and outputs.

Every test goes through the real command (``screenkit.cli.main`` or a subprocess).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml

from screenkit.cli import main
from screenkit.datasets import sample_path
from screenkit.protocol import _shipped

CLEAN = sample_path("clean")


def _run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _protocol_dict() -> dict:
    entry = _shipped()["NCT07103668"]
    return yaml.safe_load(entry.read_text(encoding="utf-8"))


# ------------------------------------------------------------ outputs never over inputs
def test_json_never_overwrites_the_columns_map_even_with_force(tmp_path, capsys):
    cmap = tmp_path / "map.json"
    cmap.write_text('{"Patient": "patient_id"}', encoding="utf-8")
    before = cmap.read_bytes()
    code, _, err = _run(capsys, ["report", CLEAN, "--columns", cmap, "--json", cmap, "--force"])
    assert code == 2 and "never overwrites its input" in err and "--json" in err
    assert cmap.read_bytes() == before


def test_ie_never_overwrites_the_protocol_file(tmp_path, capsys):
    proto = tmp_path / "p.yaml"
    proto.write_text(yaml.safe_dump(_protocol_dict()), encoding="utf-8")
    before = proto.read_bytes()
    code, _, err = _run(capsys, ["report", CLEAN, "--protocol", proto, "--ie", proto, "--force"])
    assert code == 2 and "never overwrites its input" in err and "--ie" in err
    assert proto.read_bytes() == before


def test_forecast_json_never_overwrites_the_sites_file(tmp_path, capsys):
    sites = tmp_path / "sites.csv"
    sites.write_text("site_id,activation_date\nS01,2025-01-01\n", encoding="utf-8")
    code, _, err = _run(capsys, ["forecast", CLEAN, "--sites", sites, "--json", sites, "--force"])
    assert code == 2 and "never overwrites its input" in err
    assert sites.read_text(encoding="utf-8").startswith("site_id")


def test_same_path_outputs_refused(tmp_path, capsys):
    same = tmp_path / "a.xlsx"
    code, _, err = _run(capsys, ["report", CLEAN, "-o", same, "--json", same])
    assert code == 2 and "same path" in err
    assert not same.exists()


def test_missing_output_folder_is_exit_2(tmp_path, capsys):
    code, _, err = _run(capsys, ["report", CLEAN, "--json", tmp_path / "no" / "f.json"])
    assert code == 2 and "Output folder does not exist" in err and "--json" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_read_only_output_folder_is_exit_2(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, _, err = _run(capsys, ["report", CLEAN, "--json", folder / "f.json"])
    finally:
        folder.chmod(0o755)
    assert code == 2 and "not writable" in err


def test_a_failing_output_leaves_no_other_output(tmp_path, capsys, monkeypatch):
    import screenkit.export.excel as excel

    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    # the report writes every workbook through write_workbook (the content is built once)
    monkeypatch.setattr(excel, "write_workbook", disk_full)
    js, book = tmp_path / "f.json", tmp_path / "r.xlsx"
    code, _, err = _run(capsys, ["report", CLEAN, "--json", js, "-o", book])
    assert code == 2 and "No space left" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no json, no temporary files


def test_several_o_write_all_and_reruns_are_byte_identical(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(
        "SOURCE_DATE_EPOCH", "315532800"
    )  # the report time: runs may straddle a minute
    first = [tmp_path / "a.xlsx", tmp_path / "a.html", tmp_path / "a.json"]
    second = [tmp_path / "b.xlsx", tmp_path / "b.html", tmp_path / "b.json"]
    for book, page, js in (first, second):
        code, out, _ = _run(capsys, ["report", CLEAN, "-o", book, "-o", page, "--json", js])
        assert code == 0 and f"wrote {book}" in out and f"wrote {page}" in out
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    with zipfile.ZipFile(first[0]) as z:
        core = z.read("docProps/core.xml").decode()
        assert "1980-01-01T00:00:00Z" in core
        assert {info.date_time for info in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert openpyxl.load_workbook(first[0]).sheetnames[0] == "Summary"


# ------------------------------------------------------------ --param and other arguments
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_param_must_be_finite(tmp_path, capsys, value):
    js = tmp_path / "f.json"
    code, _, err = _run(
        capsys, ["report", CLEAN, "--param", f"lesion_max_cm={value}", "--json", js]
    )
    assert code == 2 and "finite number" in err
    assert not js.exists()


def test_unknown_param_suggests_the_close_name(capsys):
    code, _, err = _run(capsys, ["report", CLEAN, "--param", "lesion_max_c=7"])
    assert code == 2 and "did you mean 'lesion_max_cm'" in err


def test_param_outside_range_refused_then_allowed_and_shown_everywhere(tmp_path, capsys):
    code, _, err = _run(capsys, ["report", CLEAN, "--param", "lesion_max_cm=40"])
    assert code == 2 and "outside the parameter's declared range" in err and "2 to 15" in err
    js, book, page = tmp_path / "f.json", tmp_path / "r.xlsx", tmp_path / "r.html"
    argv = ["report", CLEAN, "--param", "lesion_max_cm=40", "--allow-outside-range"]
    code, out, err = _run(capsys, [*argv, "--json", js, "-o", book, "-o", page])
    assert code == 0
    assert "OUTSIDE the declared range 2 to 15" in out and "outside" in err
    payload = json.loads(js.read_text(encoding="utf-8"))
    assert payload["outside_range"] == ["lesion_max_cm = 40 (declared range 2 to 15)"]
    assert "OUTSIDE the declared range" in page.read_text(encoding="utf-8")
    cells = [
        str(c.value)
        for ws in openpyxl.load_workbook(book).worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    ]
    assert any("OUTSIDE the declared range" in c for c in cells)


def test_json_writer_never_emits_nan():
    from screenkit.outputs import json_text

    text = json_text({"a": float("nan"), "b": {"c": [float("inf"), 1.0]}})
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": {"c": [None, 1.0]}}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sims", "0"], "--sims is out of range"),
        (["--sims", "-1"], "--sims is out of range"),
        (["--sims", "100000000"], "--sims is out of range"),
        (["--seed", "-1"], "--seed is out of range"),
        (["--by-date", "31/31/2027"], "--by-date is not a date"),
        (["--as-of", "soon"], "--as-of is not a date"),
    ],
)
def test_forecast_bad_numbers_and_dates(capsys, extra, message):
    code, _, err = _run(capsys, ["forecast", CLEAN, *extra])
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message", "row"),
    [
        ("", "Sites file is empty", None),
        ("site_id,activation_date\n", "lists no site", None),
        ("centre_name,opened\nS01,2025-01-01\n", "no site_id column", "row: 1"),
        ("site_id,activation_date\nS01,2025-01-01\nS02,someday\n", "activation date", "row: 3"),
    ],
)
def test_bad_sites_file_names_file_and_row(tmp_path, capsys, content, message, row):
    sites = tmp_path / "sites.csv"
    sites.write_text(content, encoding="utf-8")
    code, _, err = _run(capsys, ["forecast", CLEAN, "--sites", sites])
    assert code == 2 and message in err and str(sites) in err
    if row:
        assert row in err


def test_sites_file_read_by_the_one_parser_the_forecast_uses(tmp_path, capsys):
    """The command accepts every header spelling read_sites accepts (``Centre``,
    ``Opened``), and a blank line before a bad row does not shift its row number."""
    from screenkit.normalize import load_screening

    site_ids = sorted(set(load_screening(CLEAN).data["site_id"].dropna().astype(str)))
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "Centre,Opened\n" + "".join(f"{s},2025-01-01\n" for s in site_ids), encoding="utf-8"
    )
    code, out, err = _run(capsys, ["forecast", CLEAN, "--sites", sites, "--sims", 50])
    assert code == 0, err
    assert "taken as each site's first screening date" not in out  # the table was used
    sites.write_text("site_id,activation_date\nS01,2025-01-01\n\nS02,someday\n", encoding="utf-8")
    code, _, err = _run(capsys, ["forecast", CLEAN, "--sites", sites])
    assert code == 2 and "row: 4" in err and str(sites) in err


# ------------------------------------------------------------ protocol and YAML files
def _laughs(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("option", ["--protocol", "--columns"])
def test_billion_laughs_refused_before_expanding(tmp_path, capsys, option):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_laughs(), encoding="utf-8")
    code, _, err = _run(capsys, ["report", CLEAN, option, bomb])
    assert code == 2 and "expands to more than" in err and str(bomb) in err


def test_yaml_dump_aliases_of_a_repeated_value_still_load(tmp_path):
    from screenkit.yamlsafe import read_yaml

    shared = ["HB", "Hb (g/dL)"]
    data = {"hb": shared, "haemoglobin": shared}
    path = tmp_path / "m.yaml"
    path.write_text(yaml.dump(data), encoding="utf-8")
    assert "&id001" in path.read_text(encoding="utf-8")  # yaml.dump wrote an alias
    assert read_yaml(path) == data


def test_protocol_not_utf8_names_byte_offset(tmp_path, capsys):
    proto = tmp_path / "p.yaml"
    proto.write_bytes(b"id: NCT1\ntitle: caf\xe9\n")
    code, _, err = _run(capsys, ["report", CLEAN, "--protocol", proto])
    assert code == 2 and "not UTF-8" in err and "byte offset: 19" in err and str(proto) in err


def test_protocol_with_5000_digit_integer(tmp_path, capsys):
    spec = _protocol_dict()
    proto = tmp_path / "p.yaml"
    proto.write_text(yaml.safe_dump(spec) + "target: " + "9" * 5000 + "\n", encoding="utf-8")
    code, _, err = _run(capsys, ["report", CLEAN, "--protocol", proto])
    assert code == 2 and "cannot be read" in err and "Traceback" not in err


def test_rule_nested_10000_deep(tmp_path, capsys):
    spec = _protocol_dict()
    spec["criteria"][0]["rule"] = "not " * 2000 + spec["criteria"][0]["rule"]
    proto = tmp_path / "p.yaml"
    proto.write_text(yaml.safe_dump(spec), encoding="utf-8")
    code, _, err = _run(capsys, ["report", CLEAN, "--protocol", proto])
    assert code == 2 and "nested too deeply" in err
    spec["criteria"][0]["rule"] = "(" * 10000 + "hb" + ")" * 10000 + " >= 1"
    proto.write_text(yaml.safe_dump(spec), encoding="utf-8")
    code, _, err = _run(capsys, ["report", CLEAN, "--protocol", proto])
    assert code == 2 and "Rule is" in err and "Traceback" not in err


def test_yaml_nested_10000_deep(tmp_path, capsys):
    proto = tmp_path / "p.yaml"
    proto.write_text("a: " + "[" * 10000 + "]" * 10000 + "\n", encoding="utf-8")
    code, _, err = _run(capsys, ["report", CLEAN, "--protocol", proto])
    assert code == 2 and "Protocol file" in err and "Traceback" not in err


def test_label_with_gigantic_width_refused(tmp_path, capsys):
    spec = _protocol_dict()
    crit = next(c for c in spec["criteria"] if "lesion_max_cm" in c["rule"])
    crit["label"] = "Lesion {lesion_max_cm:>1000000000}"
    proto = tmp_path / "p.yaml"
    proto.write_text(yaml.safe_dump(spec), encoding="utf-8")
    code, _, err = _run(capsys, ["report", CLEAN, "--protocol", proto])
    assert code == 2 and "label cannot show its parameters" in err and "above 40" in err


def test_folder_as_protocol(tmp_path, capsys):
    code, _, err = _run(capsys, ["report", CLEAN, "--protocol", tmp_path])
    assert code == 2 and "folder" in err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("map.json", '{"Patient": ', "not valid JSON"),
        ("map.yaml", "Patient: [unclosed\n", "not valid YAML"),
        ("map.json", b'{"P\xff": "patient_id"}', "not UTF-8"),
    ],
)
def test_malformed_columns_map(tmp_path, capsys, name, content, message):
    cmap = tmp_path / name
    if isinstance(content, bytes):
        cmap.write_bytes(content)
    else:
        cmap.write_text(content, encoding="utf-8")
    code, _, err = _run(capsys, ["report", CLEAN, "--columns", cmap])
    assert code == 2 and message in err and str(cmap) in err


# ------------------------------------------------------------ no traceback, any command
BAD_ARGS = [
    ["evaluate", "{log}", "--param", "x=nan"],
    ["evaluate", "{log}", "-o", "{log}", "--force"],
    ["evaluate", "{log}", "-o", "{tmp}/missing/out.csv"],
    ["report", "{log}", "--param", "lesion_max_cm=inf"],
    ["report", "{log}", "-o", "{tmp}/a.xlsx", "--json", "{tmp}/a.xlsx"],
    ["report", "{log}", "--protocol", "{tmp}"],
    ["sample", "-o", "{tmp}", "--seed", "-1"],
    ["sample", "-o", "{tmp}", "--patients", "0"],
    ["sample", "-o", "{tmp}/empty.csv"],
    ["forecast", "{log}", "--sims", "0"],
    ["forecast", "{log}", "--sims", "-1"],
    ["forecast", "{log}", "--seed", "-1"],
    ["forecast", "{log}", "--sites", "{tmp}/empty.csv"],
    ["forecast", "{log}", "--json", "{tmp}/missing/f.json"],
    ["explore", "{log}", "--port", "-1"],
    ["explore", "{log}", "--param", "lesion_max_cm=nan"],
]


@pytest.mark.parametrize("argv", BAD_ARGS, ids=lambda a: " ".join(a[:1] + a[2:]))
def test_every_command_bad_arguments_exit_2_without_traceback(tmp_path, argv):
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    args = [a.format(log=CLEAN, tmp=tmp_path) for a in argv]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "screenkit", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"screenkit {args[0]}: error:")


def test_explore_refuses_a_value_its_slider_cannot_show(capsys):
    code, _, err = _run(
        capsys, ["explore", CLEAN, "--param", "lesion_max_cm=40", "--allow-outside-range"]
    )
    assert code == 2 and "outside the range the explorer's slider offers" in err
    assert "2 to 15" in err


def test_explore_without_the_notebook_extra_names_the_extra(capsys, monkeypatch):
    # the light install (quick start, command 1) has no Voila: say which extra to install
    monkeypatch.setitem(sys.modules, "voila.app", None)  # makes the import raise ImportError
    code, out, err = _run(capsys, ["explore", CLEAN, "--no-browser"])
    assert code == 2 and "Traceback" not in err
    assert "needs the notebook extra" in err and "screenkit[notebook]" in err
    assert "serving" not in out


def test_a_rename_failing_midway_puts_back_the_outputs_already_replaced(tmp_path, monkeypatch):
    from screenkit import outputs

    old_a, old_b = tmp_path / "a.json", tmp_path / "b.json"
    old_a.write_text("old a")
    old_b.write_text("old b")
    new_c = tmp_path / "c.json"
    real_replace = os.replace
    calls = []

    def replace(src, dst):
        calls.append(Path(dst).name)
        if Path(dst).name == "c.json":
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", replace)
    writers = [(p, lambda tmp, p=p: Path(tmp).write_text("new " + p.stem)) for p in (old_a, old_b)]
    writers.append((new_c, lambda tmp: Path(tmp).write_text("new c")))
    with pytest.raises(outputs.InputError, match="already replaced were put back") as err:
        outputs.write_all(writers)
    assert "c.json" in str(err.value) and "No space left" in str(err.value)
    assert calls[:3] == ["a.json", "b.json", "c.json"]  # a and b were replaced, then c failed
    assert old_a.read_text() == "old a" and old_b.read_text() == "old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]  # nothing left over
