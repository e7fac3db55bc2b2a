"""compare(): two protocols on one screened population (issue 15, items 3 and 5).

Literal small frames built from the fully passing patient of ``conftest``: every cell,
the pending rule, the explaining criteria, the paired interval against a published worked
example, the CLI and its JSON keys, two protocols with different columns, the amendment.
"""

from __future__ import annotations

import json
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screenkit.cli import main
from screenkit.compare import CELLS, compare
from screenkit.datasets import sample_path
from screenkit.errors import ScreenkitError
from screenkit.export.comparison import export_comparison
from screenkit.normalize import load_screening
from screenkit.stats import newcombe_paired_interval
from tests.conftest import canonical_frame, patient

SAMPLE = sample_path("clean")
A, A1, CT041 = "NCT07103668", "NCT07103668-A1", "CT041-ST-01"


@pytest.fixture(scope="module")
def small():
    """NCT07103668 (A) vs its amendment A1 (B: lesion <= 7 cm, SpO2 > 93%)."""
    rows = [
        patient(patient_id="P1"),  # eligible under both
        patient(patient_id="P2", largest_lesion_cm=6.0),  # only B
        patient(patient_id="P3", largest_lesion_cm=8.0),  # neither
        patient(patient_id="P4", largest_lesion_cm=6.0, spo2=None),  # fails A, pending B
        patient(patient_id="P5", spo2=None),  # pending under both
        patient(patient_id="P6", largest_lesion_cm=6.0, spo2=94.0, site_id="S02"),  # only B
    ]
    return canonical_frame(rows)


@pytest.fixture(scope="module")
def sample():
    return load_screening(SAMPLE)


def test_every_cell_on_a_literal_frame(small):
    c = compare(small, A, A1, forecast=False)
    assert c.cells.astype(str).tolist() == [
        "both",
        "only_b",
        "neither",
        "pending",
        "pending",
        "only_b",
    ]
    assert c.counts() == {
        "screened": 6,
        "both": 1,
        "only_a": 0,
        "only_b": 2,
        "neither": 1,
        "pending": 2,
    }


def test_pending_under_one_and_failing_the_other_is_pending(small):
    c = compare(small, A, A1, forecast=False)
    # P4 fails I5b under A and is unknown on E7 under A1: it could still be only_b
    assert c.evaluation_a.status.iloc[3] == "screen_failed"
    assert c.evaluation_b.status.iloc[3] == "pending"
    assert c.cells.iloc[3] == "pending"
    assert c.pending_detail() == {
        "eligible_a_pending_b": 0,
        "pending_a_eligible_b": 0,
        "failed_a_pending_b": 1,
        "pending_a_failed_b": 0,
        "pending_both": 1,
    }
    assert sum(c.pending_detail().values()) == c.counts()["pending"]
    # the reverse order puts it the other way round
    r = compare(small, A1, A, forecast=False)
    assert r.pending_detail()["pending_a_failed_b"] == 1
    assert r.counts()["only_a"] == 2 and r.counts()["only_b"] == 0


def test_explained_by_counts_each_criterion_and_fails_only(small):
    c = compare(small, A, A1, forecast=False)
    exp = c.explained_by.set_index("criterion")
    # P2 fails I5b of A only; P6 fails I5b and E7 of A: counted under both
    assert exp.loc["I5b", "fails"] == 2 and exp.loc["I5b", "fails_only"] == 1
    assert exp.loc["E7", "fails"] == 1 and exp.loc["E7", "fails_only"] == 0
    assert set(exp["cell"]) == {"only_b"} and set(exp["protocol"]) == {A}
    assert exp["fails"].sum() == 3 > c.counts()["only_b"]  # a patient counts twice
    payload = c.to_dict()["explained_by"]
    assert payload["only_a"] == {"protocol": A1, "patients": 0, "criteria": []}
    assert payload["only_b"]["criteria"][0] == {
        "id": "I5b",
        "label": "Largest lesion <= 5 cm",
        "fails": 2,
        "fails_only": 1,
    }


def test_by_site_and_crosstab_conserve(small):
    c = compare(small, A, A1, forecast=False)
    sites = c.by_site.set_index("site_id")
    assert sites.loc["S02", "only_b"] == 1 and sites.loc["S02", "screened"] == 1
    assert sites.loc["S01", list(CELLS)].tolist() == [1, 0, 1, 1, 2]
    assert (sites[list(CELLS)].sum(axis=1) == sites["screened"]).all()
    assert int(c.crosstab.to_numpy().sum()) == 6
    assert c.crosstab.loc["screen_failed", "pending"] == 1


def test_paired_difference_on_both_denominators(small):
    c = compare(small, A, A1, forecast=False)
    d = c.difference  # decided under both: P1, P2, P3, P6
    assert (d.n, d.eligible_a, d.eligible_b) == (4, 1, 3)
    assert d.difference == pytest.approx(0.5)
    assert d.ci_low < 0.5 < d.ci_high
    e = c.difference_all_screened  # P4 and P5 count as not eligible
    assert (e.n, e.eligible_a, e.eligible_b) == (6, 1, 3)
    assert e.difference == pytest.approx(2 / 6)


def test_newcombe_against_the_worked_example():
    # Fagerland, Lydersen & Laake (2017) ch. 8, Cavo et al. 2012: 59, 6, 16, 80
    est, low, high = newcombe_paired_interval(59, 6, 16, 80)
    assert round(est, 4) == -0.0621
    assert round(low, 4) == -0.1186
    assert round(high, 4) == -0.0046
    # the reverse difference mirrors the interval
    est2, low2, high2 = newcombe_paired_interval(59, 16, 6, 80)
    assert (est2, low2, high2) == pytest.approx((-est, -high, -low))


def test_newcombe_edges():
    assert all(math.isnan(x) for x in newcombe_paired_interval(0, 0, 0, 0))
    est, low, high = newcombe_paired_interval(0, 10, 0, 0)  # everyone only first
    assert est == 1.0 and high == 1.0 and 0 < low < 1
    est, low, high = newcombe_paired_interval(5, 0, 0, 5)  # no discordant pairs
    assert est == 0.0 and low < 0 < high


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(1, 10)),
            st.one_of(st.none(), st.floats(85, 100)),
            st.sampled_from(["S01", "S02", None]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_every_patient_in_exactly_one_cell(values):
    rows = [
        patient(patient_id=f"P{i}", largest_lesion_cm=les, spo2=sp, site_id=site)
        for i, (les, sp, site) in enumerate(values)
    ]
    c = compare(canonical_frame(rows), A, A1, forecast=False)
    counts = c.counts()
    assert sum(counts[x] for x in CELLS) == counts["screened"] == len(rows)
    sa, sb = c.evaluation_a.status.astype(str), c.evaluation_b.status.astype(str)
    for cell, x, y in zip(c.cells.astype(str), sa, sb, strict=True):
        expected = (
            "pending"
            if "pending" in (x, y)
            else {
                ("eligible", "eligible"): "both",
                ("eligible", "screen_failed"): "only_a",
                ("screen_failed", "eligible"): "only_b",
                ("screen_failed", "screen_failed"): "neither",
            }[(x, y)]
        )
        assert cell == expected
    assert c.by_site["screened"].sum() == len(rows)
    assert (c.by_site[list(CELLS)].sum() == pd.Series({x: counts[x] for x in CELLS})).all()
    assert sum(c.pending_detail().values()) == counts["pending"]
    assert counts["only_a"] == 0  # a relaxation never loses a patient


def test_inputs_are_not_mutated(small):
    before = small.copy()
    compare(small, A, A1, forecast=False)
    pd.testing.assert_frame_equal(small, before)


def test_forecast_skipped_cleanly_without_randomization(small):
    c = compare(small, A, A1)  # no 'randomized' column
    assert c.forecast is not None and c.forecast.median_a is None
    assert "randomization" in c.forecast.reason
    undated = small.drop(columns=["screening_date"])
    c = compare(undated, A, A1)
    assert "screening dates" in c.forecast.reason
    assert "Forecast: none" in c.summary()


def test_two_protocols_with_different_columns_on_the_sample(sample):
    c = compare(sample, A, CT041, n_sims=500)
    counts = c.counts()
    assert sum(counts[x] for x in CELLS) == counts["screened"] == 400
    a, b = c.evaluation_a.counts(), c.evaluation_b.counts()
    assert (
        counts["both"] + counts["only_a"]
        == a["eligible"] - c.pending_detail()["eligible_a_pending_b"]
    )
    assert (
        counts["both"] + counts["only_b"]
        == b["eligible"] - c.pending_detail()["pending_a_eligible_b"]
    )
    assert c.evaluation_b.statuses.columns.tolist() == ["I1", "I2", "I3"]  # I4, I5 off
    assert [x.id for x in c.protocol_b.criteria_off] == ["I4", "I5"]
    assert "left out (off by default)" in c.summary()
    # every patient of only_a fails at least one criterion of B, and only those of B
    only_a = c.explained_by[c.explained_by["cell"] == "only_a"]
    assert set(only_a["criterion"]) <= {"I1", "I2", "I3"}
    assert c.forecast.median_a is not None and c.forecast.median_b is not None
    assert c.forecast.median_b < c.forecast.median_a  # far more eligible under CT041
    # switching the assumed criteria on can only remove CT041-eligible patients
    on = compare(sample, A, CT041, include_b=["I4", "I5"], forecast=False)
    assert on.evaluation_b.counts()["eligible"] <= b["eligible"]


def test_the_amendment_pair_on_the_sample(sample):
    c = compare(sample, A, A1, forecast=False)
    counts = c.counts()
    assert counts["only_a"] == 0
    assert counts["only_b"] == (
        c.evaluation_b.counts()["eligible"] - c.evaluation_a.counts()["eligible"]
    )
    assert set(c.explained_by["criterion"]) <= {"I5b", "E7"}
    assert c.difference.difference > 0
    # the same as relaxing the thresholds by hand
    by_hand = compare(
        sample,
        A,
        A,
        params_b={"lesion_max_cm": 7, "spo2_max_excluded_pct": 93},
        forecast=False,
    )
    assert by_hand.counts() == counts


def test_cli_table_and_json_keys(tmp_path, capsys):
    out = tmp_path / "cmp.json"
    book = tmp_path / "cmp.xlsx"
    argv = ["compare", str(SAMPLE), "--protocol", A, "--protocol", CT041]
    assert main([*argv, "--json", str(out), "-o", str(book), "--no-forecast"]) == 0
    text = capsys.readouterr().out
    assert "eligible under both" in text and "Newcombe paired" in text
    payload = json.loads(out.read_text())
    for key in ("both", "only_a", "only_b", "neither", "pending", "explained_by", "by_site"):
        assert key in payload
    assert sum(payload[x] for x in CELLS) == payload["screened"] == 400
    assert sum(s["screened"] for s in payload["by_site"]) == 400
    assert payload["protocol_b"]["criteria_off"] == ["I4", "I5"]
    assert payload["forecast"] is None
    assert -1 <= payload["difference"]["ci_low"] <= payload["difference"]["ci_high"] <= 1
    ws = openpyxl.load_workbook(book)["Comparison"]
    values: dict = {}
    for r in ws.iter_rows(values_only=True):  # the cells table comes first
        values.setdefault(r[0], r)
    assert values["Both"][2] == payload["both"]
    assert values["Only B"][2] == payload["only_b"]
    # an existing output needs --force
    assert main([*argv, "--json", str(out), "--no-forecast"]) == 2
    assert main([*argv, "--json", str(out), "--no-forecast", "--force"]) == 0


def test_cli_params_and_includes_per_protocol(tmp_path, capsys):
    out = tmp_path / "cmp.json"
    argv = ["compare", str(SAMPLE), "--protocol", A, "--protocol", A, "--no-forecast"]
    assert main([*argv, "--param-b", "lesion_max_cm=7", "--json", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert payload["only_b"] > 0 and payload["only_a"] == 0
    assert payload["protocol_b"]["parameters_changed"] == {"lesion_max_cm": 7.0}
    # --param applies to each protocol declaring it: the same change on both sides
    assert main([*argv, "--param", "lesion_max_cm=7", "--json", str(out), "--force"]) == 0
    payload = json.loads(out.read_text())
    assert payload["only_a"] == payload["only_b"] == 0
    capsys.readouterr()
    # a parameter neither protocol has, one protocol only, an unknown --include
    assert main([*argv, "--param", "nope=1"]) == 2
    assert "neither" in capsys.readouterr().err
    assert main(["compare", str(SAMPLE), "--protocol", A]) == 2
    assert "exactly two protocols" in capsys.readouterr().err
    ct = ["compare", str(SAMPLE), "--protocol", A, "--protocol", CT041, "--no-forecast"]
    assert main([*ct, "--include", "I9"]) == 2
    assert main([*ct, "--include", "I4", "--json", str(out), "--force"]) == 0
    assert json.loads(out.read_text())["protocol_b"]["criteria_off"] == ["I5"]
    assert main([*ct, "--param-b", "lesion_max_cm=7"]) == 2  # CT041 has no such parameter


def test_cli_refuses_to_write_over_the_input(tmp_path):
    log = tmp_path / "log.xlsx"
    log.write_bytes(SAMPLE.read_bytes())
    argv = ["compare", str(log), "--protocol", A, "--protocol", A1, "--force"]
    assert main([*argv, "--json", str(log)]) == 2
    assert log.read_bytes() == SAMPLE.read_bytes()


def test_workbook_suppression_hides_small_counts(tmp_path, sample):
    c = compare(sample, A, A1, forecast=False)
    out = export_comparison(c, tmp_path / "s.xlsx", suppress_below=5)
    ws = openpyxl.load_workbook(out)["Comparison"]
    shown: dict = {}
    for r in ws.iter_rows(values_only=True):  # the cells table comes first
        shown.setdefault(r[0], r[2] if len(r) > 2 else None)
    assert shown["Only A"] == "<5"  # 0 patients
    # the cells add up to the screened total: one more cell hides it (the smallest, 7)
    assert shown["Only B"] == "hidden"
    assert shown["Both"] == 73 and shown["Neither"] == 291 and shown["Screened"] == 400
    texts = [v for r in ws.iter_rows(values_only=True) for v in r if isinstance(v, str)]
    assert not any(t.startswith("=") for t in texts)
    with pytest.raises(ScreenkitError):
        export_comparison(c, out, suppress_below=5)  # exists: overwrite needed


def test_repr_and_table(small):
    c = compare(small, A, A1, forecast=False)
    frame = c.to_frame()
    assert frame["patients"].sum() == 6 and np.isclose(frame["share"].sum(), 1.0)
    assert c.table.equals(frame)
    assert "<table" in c._repr_html_() and "Newcombe" in c._repr_html_()
    assert repr(c).startswith("Comparison(A=NCT07103668, B=NCT07103668-A1")


def test_comparison_figure(sample):
    from screenkit.plots.compare import comparison_figure

    c = compare(sample, A, CT041, forecast=False)
    fig = comparison_figure(c)
    counts = c.counts()
    z = [list(r) for r in fig.data[0].z]
    assert z == [[counts["both"], counts["only_a"]], [counts["only_b"], counts["neither"]]]
    only, rest = fig.data[1], fig.data[2]
    assert len(only.y) == len(rest.y) > 0
    top = c.explained_by.iloc[0]
    assert any(top["criterion"] in y for y in only.y)


def test_forecast_dates_are_those_of_the_forecast_route(sample):
    """A's date is `screenkit forecast`'s (forecast_evaluation, same sims and seed); for
    the amendment, B's is the forecast of the relaxed evaluation of A (the what-if route)."""
    from screenkit.evaluate import evaluate
    from screenkit.forecast import RecruitmentForecast
    from screenkit.forecast.whatif import forecast_evaluation

    c = compare(sample, A, A1, n_sims=500, seed=3)
    fc = RecruitmentForecast(n_sims=500, random_state=3)
    as_run = forecast_evaluation(fc, evaluate(sample, A), target=150)
    relaxed = forecast_evaluation(
        fc, evaluate(sample, A, lesion_max_cm=7, spo2_max_excluded_pct=93), target=150
    )
    assert c.forecast.median_a == as_run.median_date
    assert c.forecast.median_b == relaxed.median_date
    assert c.forecast.change_days == (relaxed.median_date - as_run.median_date).days < 0
    assert c.to_dict()["forecast"]["median_date_a"] == as_run.median_date.date().isoformat()


def test_summary_names_missing_columns_and_a_protocol_deciding_nobody(small):
    frame = small.drop(columns=["lym"])
    c = compare(frame, A, CT041, forecast=False, confidence=0.9)
    notes = c.data_notes()
    assert notes[0].startswith("A NCT07103668: the log has no column lym")
    assert "patients" in notes[0] and "90% CI" in c.summary()
    assert not any("decides no patient" in n for n in notes)  # P2, P3 still fail I5b
    one = compare(frame.iloc[[0]], A, CT041, forecast=False)  # the passing patient, no lym
    assert one.counts()["pending"] == 1
    assert any(n.startswith("A NCT07103668 decides no patient") for n in one.data_notes())


def test_reruns_are_byte_identical(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "SOURCE_DATE_EPOCH", "315532800"
    )  # the report time: runs may straddle a minute
    argv = ["compare", str(SAMPLE), "--protocol", A, "--protocol", A1, "--force"]
    for name in ("a", "b"):
        assert main([*argv, "-o", str(tmp_path / f"{name}.xlsx")]) == 0
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
