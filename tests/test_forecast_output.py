"""``screenkit forecast --json``: the same output safety as every other output."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import plain_enrollment_log
from tests.test_forecast_cli import run_cli


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forecast_out")
    log = plain_enrollment_log(4, 90, ["101", "102", "103"], "2025-08-06", 240, 0.5)
    log_path = folder / "log.csv"
    log.to_csv(log_path, index=False)
    sites = folder / "sites.csv"
    pd.DataFrame({"site_id": ["101", "102", "103"], "activation_date": ["2025-08-01"] * 3}).to_csv(
        sites, index=False
    )
    return log_path, sites


def _args(log_path, *more):
    return [log_path, "--target", 80, "--sims", 200, *more]


@pytest.mark.parametrize("which", ["log", "sites"])
def test_json_never_replaces_an_input(inputs, capsys, which):
    log_path, sites = inputs
    victim = log_path if which == "log" else sites
    before = victim.read_bytes()
    code = run_cli(_args(log_path, "--sites", sites, "--json", victim, "--force"))
    assert code == 2
    assert "screenkit never overwrites its input" in capsys.readouterr().out
    assert victim.read_bytes() == before


def test_json_replaces_an_existing_file_only_with_force(inputs, tmp_path, capsys):
    log_path, _ = inputs
    out = tmp_path / "forecast.json"
    out.write_text("keep me", encoding="utf-8")
    assert run_cli(_args(log_path, "--json", out)) == 2
    text = capsys.readouterr().out
    assert "Output file exists" in text and "--force" in text
    assert out.read_text(encoding="utf-8") == "keep me"
    assert run_cli(_args(log_path, "--json", out, "--force")) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["target"] == 80
    assert [p.name for p in tmp_path.iterdir()] == ["forecast.json"]  # no temporary left


def test_json_into_a_missing_folder_is_a_clear_error(inputs, tmp_path, capsys):
    log_path, _ = inputs
    out = tmp_path / "no such folder" / "forecast.json"
    assert run_cli(_args(log_path, "--json", out)) == 2
    assert "Output folder does not exist" in capsys.readouterr().out
    assert not out.parent.exists()


def test_json_into_a_folder_that_cannot_hold_files_is_a_clear_error(inputs, tmp_path, capsys):
    log_path, _ = inputs
    not_a_folder = tmp_path / "plain.txt"
    not_a_folder.write_text("x", encoding="utf-8")
    assert run_cli(_args(log_path, "--json", not_a_folder / "forecast.json")) == 2
    text = capsys.readouterr().out
    assert "error:" in text and "plain.txt" in text and "Traceback" not in text


def test_json_write_failure_leaves_the_old_file(inputs, tmp_path, capsys, monkeypatch):
    """Atomic: a failure while writing keeps the previous file, and no temporary remains."""
    import screenkit.files as files

    log_path, _ = inputs
    out = tmp_path / "forecast.json"
    out.write_text("old", encoding="utf-8")
    real_replace = files.os.replace

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", failing_replace)
    assert run_cli(_args(log_path, "--json", out, "--force")) == 2
    assert "No space left on device" in capsys.readouterr().out
    monkeypatch.setattr(files.os, "replace", real_replace)
    assert out.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["forecast.json"]
