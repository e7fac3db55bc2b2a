"""Parquet input: the same normalisation, funnel and messages as the xlsx / CSV readers;
hostile files get an error naming the file (and the column), never a traceback."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import screenkit.load_parquet as load_parquet
from screenkit.cli import main
from screenkit.datasets import sample_path
from screenkit.errors import InputError
from screenkit.evaluate import evaluate
from screenkit.funnel import funnel
from screenkit.load import read_table
from screenkit.normalize import load_screening

CLEAN = sample_path("clean")


@pytest.fixture(scope="module")
def sample_parquet(tmp_path_factory):
    """The bundled clean sample, its one sheet written as Parquet with the types a reader
    of the workbook infers (text IDs, float labs, timestamps)."""
    path = tmp_path_factory.mktemp("pq") / "screening_log.parquet"
    pd.read_excel(CLEAN, engine="calamine").to_parquet(path)
    return path


def test_parquet_copy_of_the_sample_gives_the_same_funnel_and_data(sample_parquet):
    from_xlsx, from_parquet = load_screening(CLEAN), load_screening(sample_parquet)
    pd.testing.assert_frame_equal(from_parquet.data, from_xlsx.data)
    assert from_parquet.report.rows_loaded == from_xlsx.report.rows_loaded == 400
    assert len(from_parquet.report.problems) == len(from_xlsx.report.problems)
    expected = funnel(evaluate(from_xlsx, "NCT07103668")).to_dict()
    assert funnel(evaluate(from_parquet, "NCT07103668")).to_dict() == expected
    assert expected["screened"] == 400 and expected["eligible"] > 0


def test_report_json_from_parquet_equals_the_xlsx_one(sample_parquet, tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["report", str(CLEAN), "--json", str(a)]) == 0
    assert main(["report", str(sample_parquet), "--json", str(b)]) == 0
    capsys.readouterr()
    one, two = json.loads(a.read_text()), json.loads(b.read_text())
    assert one.pop("input") != two.pop("input")
    assert one == two


def test_cells_keep_their_types_and_row_numbers(tmp_path):
    path = tmp_path / "log.parquet"
    frame = pd.DataFrame(
        {
            "Hb (g/L)": [95.0, None, 110.0],
            "HIV": [True, None, False],
            "Visit": [dt.date(2025, 1, 2), None, dt.date(2025, 2, 3)],
            "Site": pd.Categorical(["S01", None, "S02"]),
        },
        index=pd.Index(["007", "blank", "008"], name="Subject"),
    )
    frame.to_parquet(path)
    raw = read_table(path)
    assert raw.headers == ["Subject", "Hb (g/L)", "HIV", "Visit", "Site"]
    assert raw.frame.index.tolist() == [2, 3, 4]  # row 1 = the column names, as in a CSV
    assert raw.frame.loc[2].tolist() == ["007", 95.0, True, dt.date(2025, 1, 2), "S01"]
    assert raw.frame.loc[3].tolist() == ["blank", None, None, None, None]
    data = load_screening(path)
    hb = data.data["hb"]  # g/L converted to g/dL; a null is unknown
    assert hb.isna().tolist() == [False, True, False]
    assert hb.dropna().tolist() == [9.5, pytest.approx(11.0)]
    assert data.data["patient_id"].tolist() == ["007", "blank", "008"]


def test_a_record_of_nulls_is_a_skipped_blank_row(tmp_path):
    path = tmp_path / "log.parquet"
    pd.DataFrame({"ID": ["P1", None, "P2"], "Hb": [9.0, None, 10.0]}).to_parquet(path)
    data = load_screening(path)
    assert data.report.skipped_rows.to_dict("records") == [
        {"sheet": None, "row": 3, "reason": "blank row"}
    ]
    assert data.report.rows_read == 3 and data.report.rows_loaded == 2


def test_folder_of_parts_reads_as_one_table(sample_parquet, tmp_path):
    folder = tmp_path / "log.parquet"
    folder.mkdir()
    whole = pd.read_parquet(sample_parquet)
    for i, start in enumerate(range(0, len(whole), 150)):
        whole.iloc[start : start + 150].to_parquet(folder / f"part-{i}.parquet", index=False)
    assert load_screening(folder).data.equals(load_screening(sample_parquet).data)


def test_wrong_value_types_are_load_report_problems_not_crashes(tmp_path):
    path = tmp_path / "log.parquet"
    pd.DataFrame(
        {"ID": ["P1", "P2", "P3"], "Hb": ["low", "9.5", "1e400"], "Age": [True, False, True]}
    ).to_parquet(path)
    data = load_screening(path)
    problems = data.report.problems
    hb = problems[problems["column"] == "Hb"]
    assert hb["value"].tolist() == ["low", "1e400"] and hb["row"].tolist() == [2, 4]
    age = problems[problems["column"] == "Age"]
    assert set(age["detail"]) == {"a TRUE/FALSE cell is not a number"} and len(age) == 3
    assert data.data["hb"].isna().tolist() == [True, False, True]  # unknown, never a pass
    assert data.data["age_years"].isna().all()


def _raises(path, *fragments):
    with pytest.raises(InputError) as info:
        load_screening(path)
    text = str(info.value)
    assert str(path) in text
    for fragment in fragments:
        assert fragment in text
    return text


def test_corrupt_and_truncated_files_name_the_file(sample_parquet, tmp_path):
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PAR1 this is not parquet at all" * 10)
    _raises(junk, "Not a readable Parquet file")
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(sample_parquet.read_bytes()[:5000])
    _raises(cut, "Not a readable Parquet file")
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    _raises(empty, "Not a readable Parquet file")


@pytest.mark.parametrize(
    "column, kind",
    [
        (pa.array([[1.0], [2.0]]), "list<"),
        (pa.array([b"\x00\x01", b"x"]), "binary"),
        (pa.array([{"a": 1}, {"a": 2}]), "struct<a: int64>"),
        (pa.array([dt.time(9, 0), dt.time(10, 0)]), "time64[us]"),
    ],
)
def test_columns_that_are_no_spreadsheet_cell_are_refused(tmp_path, column, kind):
    path = tmp_path / "log.parquet"
    pq.write_table(pa.table({"ID": ["P1", "P2"], "Hb": column}), path)
    text = _raises(path, "Column type is not a spreadsheet cell", "column: Hb", kind)
    assert "text, numbers, booleans, dates or timestamps" in text


def test_oversized_text_and_claimed_size_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "log.parquet"
    pd.DataFrame({"ID": ["P1", "P2"], "Note": ["ok", "x" * 40_000]}).to_parquet(path)
    _raises(path, "more text than Excel allows", "row: 3", "column: Note")
    monkeypatch.setattr(load_parquet, "MAX_PARQUET_CELLS", 3)
    _raises(path, "too large", "2 rows x 2 columns", "--engine dask")


def test_time_zones_keep_the_local_date_and_an_empty_schema_is_refused(tmp_path):
    path = tmp_path / "log.parquet"
    when = pd.Timestamp("2025-03-01 23:30", tz="America/New_York")  # 04:30 on 2 March UTC
    pq.write_table(pa.table({"ID": ["P1"], "Screening date": pa.array([when])}), path)
    assert load_screening(path).data["screening_date"].tolist() == [
        pd.Timestamp("2025-03-01 23:30")
    ]
    empty = tmp_path / "empty_schema.parquet"
    pq.write_table(pa.table({}), empty)
    _raises(empty, "the Parquet file has no columns")


def test_a_sheet_for_a_parquet_file_is_refused(sample_parquet):
    with pytest.raises(InputError, match="A Parquet file has no sheets"):
        load_screening(sample_parquet, sheet="Screening log")


def test_command_line_exits_2_naming_the_corrupt_file(tmp_path, capsys):
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet")
    assert main(["report", str(junk)]) == 2
    err = capsys.readouterr().err
    assert "junk.parquet" in err and "Traceback" not in err


def test_evaluate_and_forecast_commands_read_parquet(sample_parquet, tmp_path, capsys):
    outputs = {}
    for name, source in (("xlsx", CLEAN), ("parquet", sample_parquet)):
        csv, forecast = tmp_path / f"{name}.csv", tmp_path / f"{name}.json"
        assert main(["evaluate", str(source), "-o", str(csv)]) == 0
        assert main(["forecast", str(source), "--sims", "200", "--json", str(forecast)]) == 0
        outputs[name] = (csv.read_text(encoding="utf-8"), json.loads(forecast.read_text()))
    capsys.readouterr()
    assert outputs["parquet"][0] == outputs["xlsx"][0]
    assert outputs["parquet"][0].count("\n") == 401  # header + 400 patients
    a, b = outputs["xlsx"][1], outputs["parquet"][1]
    assert a["median_date"] == b["median_date"] and a["prob_by_date"] == b["prob_by_date"]
