"""Tests of the synthetic sample: generator contract, calibration, files, loading."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screenkit import datasets
from screenkit.columns import COLUMNS
from screenkit.datasets import load_sample, make_sample, write_sample_files

REPO = Path(__file__).resolve().parents[1]
HAS_NORMALIZE = importlib.util.find_spec("screenkit.normalize") is not None
needs_loader = pytest.mark.skipif(not HAS_NORMALIZE, reason="screenkit.normalize not there yet")


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    """Large enough that the calibration checks are not at the mercy of chance."""
    return make_sample(n_patients=20_000, seed=11)


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return make_sample()


# ---------------------------------------------------------------- contract
def test_same_seed_same_frame_and_other_seed_differs():
    a = make_sample(n_patients=300, seed=5)
    pd.testing.assert_frame_equal(a, make_sample(n_patients=300, seed=5))
    assert not a.equals(make_sample(n_patients=300, seed=6))


def test_dtypes_follow_the_canonical_contract(sample):
    for name in sample.columns:
        assert name in COLUMNS, name
        assert str(sample[name].dtype) == COLUMNS[name].dtype, name
    assert list(sample.columns) == [c for c in COLUMNS if c in sample.columns]
    assert {"randomized", "fail_reasons", "steroid_agent", "qt_ms", "qtcf_ms"} <= set(sample)


def test_ids_sites_and_rows(sample):
    assert len(sample) == 400
    assert sample["patient_id"].is_unique
    assert sample["patient_id"].str.fullmatch(r"S0[1-8]-\d{4}").all()
    assert (sample["patient_id"].str[:3] == sample["site_id"]).all()
    assert set(sample["site_id"]) <= {f"S{i:02d}" for i in range(1, 9)}
    assert set(sample["sex"]) == {"M", "F"}
    assert sample["age_years"].between(28, 85).all()


def test_every_date_is_in_the_window_and_sites_open_staggered():
    df = make_sample(n_patients=4000, seed=3, outcomes=False)
    start = pd.Timestamp(datasets.TRIAL_START)
    assert df["screening_date"].min() >= start
    assert df["screening_date"].max() < start + pd.DateOffset(months=14)
    assert df["screening_date"].is_monotonic_increasing
    first = df.groupby("site_id")["screening_date"].min().sort_index()
    assert first.iloc[0] - start < pd.Timedelta(days=30)  # site 1 opens at the start
    assert (first - start).dt.days.max() > 60  # later sites open months later
    assert first.nunique() >= 6


def test_ordinals_are_scale_positions(big):
    assert set(big["her2_ihc"].dropna()) <= {0.0, 1.0, 2.0, 3.0}
    assert set(big["urine_protein"].dropna()) <= {0.0, 0.5, 1.0, 2.0, 3.0, 4.0}
    # FISH is done for IHC 2+ only
    assert big.loc[big["her2_ihc"] != 2, "her2_fish_pos"].isna().all()


def test_hb_has_one_decimal_so_g_per_l_is_whole(big):
    assert np.allclose(big["hb"] * 10, (big["hb"] * 10).round())


def test_100k_patients_generate():
    df = make_sample(n_patients=100_000, seed=1, outcomes=False)
    assert df.shape[0] == 100_000
    assert df["patient_id"].is_unique


def test_bad_arguments_say_what_was_received():
    with pytest.raises(ValueError, match="n_patients=0"):
        make_sample(n_patients=0)


# ---------------------------------------------------------------- calibration
def test_her2_and_cldn18_marginals_and_negative_association(big):
    her2_pos = (big["her2_ihc"] == 3) | ((big["her2_ihc"] == 2) & big["her2_fish_pos"])
    her2_pos = her2_pos.fillna(False)
    cldn_pos = big["cldn18_pct_2plus"] >= 40
    assert 0.08 <= her2_pos.mean() <= 0.16
    assert 0.45 <= cldn_pos.mean() <= 0.65
    assert cldn_pos[her2_pos].mean() < cldn_pos[~her2_pos].mean() - 0.1


@pytest.mark.parametrize(
    ("column", "value", "low", "high"),
    [
        ("liver_mets", True, 0.35, 0.45),
        ("bone_mets", True, 0.08, 0.12),
        ("prior_lines_failed", 1.0, 0.12, 0.18),
        ("prior_lines_failed", 2.0, 0.45, 0.55),
        ("ecog", 0.0, 0.20, 0.30),
        ("ecog", 1.0, 0.55, 0.65),
    ],
)
def test_population_marginals(big, column, value, low, high):
    assert low <= (big[column] == value).mean() <= high


@pytest.mark.parametrize(
    ("condition", "low", "high"),
    [
        ("hb < 8", 0.04, 0.10),
        ("anc < 1.5", 0.03, 0.06),
        ("plt < 75", 0.02, 0.04),
        ("lym < 0.5", 0.07, 0.15),
        ("alt > 2.5 * alt_uln", 0.02, 0.06),
        ("tbil > 2 * tbil_uln", 0.015, 0.04),
        ("creat > 1.5 * creat_uln", 0.015, 0.05),
        ("largest_lesion_cm > 5", 0.04, 0.15),
        ("spo2 <= 95", 0.01, 0.05),
        ("ecog >= 2", 0.08, 0.20),
    ],
)
def test_laboratory_failure_rates_per_threshold(big, condition, low, high):
    share = big.eval(condition).fillna(False).mean()
    assert low <= share <= high, f"{condition}: {share:.3f}"


def test_creatinine_rescued_by_cockcroft_gault_for_some(big):
    high = big["creat"] > 1.5 * big["creat_uln"]
    sex_factor = big["sex"].map({"M": 1.0, "F": 0.85}).astype(float)
    crcl = (140 - big["age_years"]) * big["weight_kg"] / (72 * big["creat"]) * sex_factor
    assert (high & (crcl > 50)).sum() > 0
    assert (high & (crcl <= 50)).sum() > 0


def test_ecg_gives_qtcf_for_most_and_only_qt_and_rate_for_some(big):
    only_qt = big["qtcf_ms"].isna() & big["qt_ms"].notna() & big["heart_rate_bpm"].notna()
    assert 0.2 <= only_qt.mean() <= 0.4


def test_statuses_are_realistic_and_outcomes_consistent(big):
    from screenkit.evaluate import evaluate
    from screenkit.protocol import get_protocol

    status = evaluate(big, get_protocol(datasets.PROTOCOL_ID)).status
    shares = status.value_counts(normalize=True)
    assert 0.60 <= shares["screen_failed"] <= 0.85
    assert 0.04 <= shares["pending"] <= 0.10
    eligible = (status == "eligible").to_numpy()
    assert not big["randomized"].to_numpy(dtype=bool)[~eligible].any()
    assert 0.80 <= big["randomized"][eligible].mean() <= 0.90
    failed = (status == "screen_failed").to_numpy()
    assert big["fail_reasons"][failed].notna().all()
    assert big["fail_reasons"][~failed].isna().all()


def test_fail_reasons_name_the_failed_criteria(sample):
    from screenkit.evaluate import evaluate
    from screenkit.protocol import get_protocol

    statuses = evaluate(sample, get_protocol(datasets.PROTOCOL_ID)).statuses
    row = sample["fail_reasons"].notna().to_numpy().nonzero()[0][0]
    values = statuses.iloc[row]
    failed = [c for c in statuses.columns if values[c] is not pd.NA and not values[c]]
    assert sample["fail_reasons"].iloc[row] == "; ".join(failed)


# ---------------------------------------------------------------- files and command line
@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    return write_sample_files(tmp_path_factory.mktemp("sample"), n_patients=400)


def test_files_have_the_promised_layout(files):
    from openpyxl import load_workbook

    clean, messy = files
    book = load_workbook(messy)
    assert book.sheetnames == ["Read me", "Screening log", "Notes"]
    rows = list(book["Screening log"].iter_rows(values_only=True))
    assert "SYNTHETIC" in rows[0][0] and all(v is None for v in rows[0][1:])
    assert "Hb (g/L)" in rows[1] and "PLT (/uL)" in rows[1] and "Weight (lb)" in rows[1]
    blank = [i for i, r in enumerate(rows[2:]) if all(v is None for v in r)]
    assert len(blank) == 1 and 0 < blank[0] < len(rows) - 3
    assert len(rows) == 2 + 400 + 1
    clean_rows = list(load_workbook(clean)["Screening log"].iter_rows(values_only=True))
    assert clean_rows[0][0] == "patient_id" and len(clean_rows) == 401


def test_refuses_to_overwrite_without_force(files):
    from screenkit.errors import InputError

    with pytest.raises(InputError, match="already exist"):
        write_sample_files(files[0].parent)


def test_command_line_writes_then_refuses(tmp_path, capsys):
    from screenkit.cli import sample as command
    from screenkit.errors import InputError

    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sample", "-o", str(tmp_path), "--patients", "30", "--seed", "2"])
    assert args.func(args) == 0
    assert "screening_log_messy.xlsx" in capsys.readouterr().out
    assert (tmp_path / "screening_log.xlsx").exists()
    with pytest.raises(InputError):
        args.func(args)
    args.force = True
    assert args.func(args) == 0


def test_shipped_files_match_data_sample_and_generator():
    """The package copy and data/sample hold the same workbook contents as the generator."""
    frame = make_sample()
    for kind, name in (("clean", "screening_log.xlsx"), ("messy", "screening_log_messy.xlsx")):
        shipped = datasets.sample_path(kind)
        committed = REPO / "data" / "sample" / name
        a = pd.read_excel(shipped, sheet_name=None, header=None, engine="calamine")
        b = pd.read_excel(committed, sheet_name=None, header=None, engine="calamine")
        assert a.keys() == b.keys()
        for sheet in a:
            pd.testing.assert_frame_equal(a[sheet], b[sheet])
    clean = pd.read_excel(datasets.sample_path("clean"), engine="calamine")
    assert clean["patient_id"].tolist() == frame["patient_id"].tolist()
    assert np.allclose(clean["hb"], frame["hb"].astype(float))


# ---------------------------------------------------------------- through the loader
@needs_loader
def test_clean_file_loads_to_the_generated_frame(files):
    from screenkit.normalize import load_screening

    loaded = load_screening(files[0]).data.reset_index(drop=True)
    expected = make_sample()
    pd.testing.assert_frame_equal(loaded[expected.columns], expected, check_names=False)


@needs_loader
def test_messy_file_gives_the_same_statuses_as_the_clean_file(files):
    from screenkit.datasets.files import IMPOSSIBLE_VALUES
    from screenkit.evaluate import evaluate
    from screenkit.normalize import load_screening
    from screenkit.protocol import get_protocol

    protocol = get_protocol(datasets.PROTOCOL_ID)
    clean, messy = (load_screening(p) for p in files)
    assert messy.report.problems.empty, messy.report.problems
    # the cover sheet is skipped, the table behind it found, and the report says why
    assert messy.sheet == "Screening log"
    assert any(
        n.startswith("read sheet 'Screening log' (its header row") for n in messy.report.notes
    )
    # every impossible value is listed, and read as missing
    implausible = messy.report.cells[messy.report.cells["kind"] == "implausible"]
    assert len(implausible) == len(IMPOSSIBLE_VALUES)
    headers = messy.report.headers.set_index("header")["canonical"]
    listed = sorted(zip(implausible["column"].map(headers), implausible["value"], strict=True))
    assert listed == sorted(IMPOSSIBLE_VALUES)
    for row, column in zip(implausible["row"], implausible["column"].map(headers), strict=True):
        assert pd.isna(messy.data.at[row, column]) and messy.unreadable.at[row, column]
    a, b = evaluate(clean, protocol), evaluate(messy, protocol)
    sa, sb = a.statuses.reset_index(drop=True), b.statuses.reset_index(drop=True)
    # where the values are the same, the statuses are the same
    affected = pd.DataFrame(False, index=sa.index, columns=sa.columns)
    position = {row: i for i, row in enumerate(messy.data.index)}
    for row, column in zip(implausible["row"], implausible["column"].map(headers), strict=True):
        for cid in protocol.ids:
            if column in protocol.columns_needed(cid):
                affected.at[position[row], cid] = True
    assert affected.any(axis=None)
    pd.testing.assert_frame_equal(sa.mask(affected), sb.mask(affected))
    # where a value is impossible, the criterion is never decided by it: unknown or as clean
    changed = (sa.astype(object).fillna("?") != sb.astype(object).fillna("?")) & affected
    assert sb[changed].isna().all(axis=None) if changed.any(axis=None) else True
    assert changed.any(axis=None)
    assert a.status.tolist() == b.status.tolist()


@needs_loader
@pytest.mark.parametrize("kind", ["clean", "messy"])
def test_load_sample(kind):
    data = load_sample(kind)
    assert len(data.data) == 400
    assert data.data["patient_id"].is_unique
