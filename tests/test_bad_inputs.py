"""The bad-input corpus (issue 16): every file gives its expected outcome through
``load_screening`` and ``screenkit report`` (tests/data/bad/make_corpus.py, README.md)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from screenkit import load_screening
from screenkit.errors import InputError

_SPEC = importlib.util.spec_from_file_location(
    "make_corpus", Path(__file__).parent / "data" / "bad" / "make_corpus.py"
)
corpus = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(corpus)


@pytest.fixture(scope="session")
def bad_dir(tmp_path_factory):
    return corpus.make_corpus(tmp_path_factory.mktemp("bad"))


def test_every_file_has_an_expectation(bad_dir):
    assert {p.name for p in bad_dir.iterdir()} == set(corpus.EXPECT)


@pytest.mark.parametrize("name", sorted(corpus.EXPECT))
def test_corpus_file(bad_dir, name):
    outcome, spec = corpus.EXPECT[name]
    path = bad_dir / name
    if outcome == "error":
        with pytest.raises(InputError) as caught:
            load_screening(path)
        for piece in spec:
            assert piece in str(caught.value), str(caught.value)
        return
    sd = load_screening(path)
    report = sd.report
    assert len(sd.data) == spec["rows"]
    # nothing lost: every row read is a patient or a skipped row with its reason
    assert report.rows_read == report.rows_loaded + len(report.skipped_rows)
    problems = {
        (c, k) for c, k in zip(report.problems["column"], report.problems["kind"], strict=True)
    }
    header_of = dict(zip(report.headers["header"], report.headers["canonical"], strict=True))
    problems = {(header_of.get(c, c), k) for c, k in problems}
    assert problems == spec.get("problems", set())
    if "cells" in spec:  # cell notes besides unread cells (implausible values, ...)
        kinds = {
            (header_of.get(c, c), k)
            for c, k in zip(report.cells["column"], report.cells["kind"], strict=True)
        }
        assert spec["cells"] <= kinds, kinds
    if "unparsed_rows" in spec:
        assert set(report.problems["row"]) == spec["unparsed_rows"]
    reasons = list(report.skipped_rows["reason"])
    for piece in spec.get("skipped", []):
        assert any(piece in r for r in reasons), reasons
    for piece in spec.get("notes", []):
        assert any(piece in n for n in report.notes), report.notes
    if "header_row" in spec:
        assert report.header_row == spec["header_row"]
    for (row, column), expected in spec.get("values", {}).items():
        got = sd.data.at[row, column]
        if expected is None:  # read as missing, never evaluated
            assert pd.isna(got), (row, column, got)
            continue
        if isinstance(expected, str) and column.endswith("date"):
            expected = pd.Timestamp(expected)
        assert got == expected, (row, column, got)


def test_unread_values_are_missing_not_evaluated(bad_dir):
    sd = load_screening(bad_dir / "decimal_comma.csv")
    assert pd.isna(sd.data.at[2, "hb"])  # 0,512 is never 512
    assert sd.unreadable.at[2, "hb"]
    details = " ".join(sd.report.problems["detail"])
    assert "0,512 is ambiguous" in details


def test_cp1252_is_decoded_as_latin_text(bad_dir):
    raw = (bad_dir / "cp1252.csv").read_bytes()
    from screenkit.load import decode_text

    text, used, _ = decode_text(raw)
    assert "Zürich" in text and used == "cp1252"


@pytest.mark.parametrize(
    "name", ["far_cell_xfd1048576.xlsx", "a_folder.csv", "huge_cell.csv", "zip_bomb.xlsx"]
)
def test_report_command_exits_2_with_a_message(bad_dir, name):
    done = subprocess.run(
        [sys.executable, "-m", "screenkit", "report", str(bad_dir / name)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert name in done.stderr + done.stdout


def test_error_cells_and_uncalculated_formulas_are_named(bad_dir):
    sd = load_screening(bad_dir / "error_cells.xlsx")
    details = dict(zip(sd.report.problems["row"], sd.report.problems["detail"], strict=True))
    assert "Excel error cell #N/A" in details[2]
    assert "formula without a cached value" in details[3]
    assert sd.unreadable.at[2, "hb"] and sd.unreadable.at[3, "hb"]
    assert sd.data.at[4, "hb"] == 11.0
    assert list(sd.report.skipped_rows["row"]) == [5]
