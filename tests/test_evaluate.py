"""evaluate(): statuses, overall status, what-if re-evaluation, inputs left untouched."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screenkit.datasets import load_sample
from screenkit.errors import InputError
from screenkit.evaluate import STATUSES, evaluate
from screenkit.funnel import funnel
from screenkit.protocol import get_protocol

from .conftest import canonical_frame, patient


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def sample_result(sample):
    return evaluate(sample, get_protocol("NCT07103668"))


def test_statuses_are_nullable_booleans_in_protocol_order(sample_result):
    protocol = sample_result.protocol
    assert list(sample_result.statuses.columns) == protocol.ids
    assert all(str(t) == "boolean" for t in sample_result.statuses.dtypes)
    assert list(sample_result.status.cat.categories) == list(STATUSES)


def test_overall_status_follows_the_definition(sample_result):
    s = sample_result.statuses
    any_fail = (s == False).any(axis=1)  # noqa: E712 - NA compares as NA, not True
    any_unknown = s.isna().any(axis=1)
    expected = pd.Series("eligible", index=s.index)
    expected[any_unknown] = "pending"
    expected[any_fail] = "screen_failed"
    assert sample_result.status.astype(str).tolist() == expected.tolist()


def test_counts_conserve(sample_result):
    c = sample_result.counts()
    assert c["screened"] == c["eligible"] + c["screen_failed"] + c["pending"] == 400


def test_input_is_never_mutated(sample):
    before = sample.data.copy()
    result = evaluate(sample, "NCT07103668", lesion_max_cm=7)
    result.with_parameters(spo2_max_excluded_pct=90).to_frame()
    funnel(result, exclude=["I5b"])
    pd.testing.assert_frame_equal(sample.data, before)


PARAMS = get_protocol("NCT07103668").parameters


@st.composite
def overrides(draw):
    names = draw(st.lists(st.sampled_from(sorted(PARAMS)), min_size=1, max_size=3, unique=True))
    out = {}
    for name in names:
        p = PARAMS[name]
        steps = round((p.max - p.min) / (p.step or 1))
        out[name] = p.min + draw(st.integers(0, steps)) * (p.step or 1)
    return out


@settings(max_examples=25, deadline=None)
@given(overrides())
def test_what_if_equals_a_fresh_evaluation(sample_result, params):
    """with_parameters re-evaluates only affected criteria; the answer must not differ."""
    quick = sample_result.with_parameters(**params)
    fresh = evaluate(sample_result.data, "NCT07103668", **params)
    pd.testing.assert_frame_equal(quick.statuses, fresh.statuses)
    assert funnel(quick).headline() == funnel(fresh).headline()
    assert quick.parameters == fresh.parameters


def test_relaxing_the_lesion_rule_never_loses_patients(sample_result):
    relaxed = sample_result.with_parameters(lesion_max_cm=7)
    before, after = sample_result.counts(), relaxed.counts()
    assert after["eligible"] >= before["eligible"]
    assert after["screened"] == before["screened"]
    gained = (relaxed.status == "eligible") & (sample_result.status != "eligible")
    assert (sample_result.statuses.loc[gained, "I5b"] == False).all()  # noqa: E712


def test_to_frame_words_and_ids(sample_result):
    table = sample_result.to_frame()
    assert list(table.columns[:3]) == ["patient_id", "site_id", "status"]
    assert set(table["I5b"].unique()) <= {"pass", "fail", "unknown"}
    assert len(table) == 400


def test_missing_columns_are_reported_per_criterion():
    frame = canonical_frame([{"patient_id": "a", "hb": 9.0}])
    result = evaluate(frame, "NCT07103668")
    assert result.missing_columns["I7d"] == ()
    assert result.missing_columns["I7i"] == (
        "age_years", "creat", "creat_uln", "sex", "weight_kg",
    )  # fmt: skip
    assert result.status.tolist() == ["pending"]


def test_unparsed_text_in_a_frame_is_a_clear_error():
    frame = pd.DataFrame({"patient_id": ["a", "b"], "hb": ["9.1", "nine"]})
    with pytest.raises(InputError) as err:
        evaluate(frame, "NCT07103668")
    text = str(err.value)
    assert "'hb'" in text and "'nine'" in text and "load_screening" in text


def test_yes_no_text_in_a_frame_is_a_clear_error():
    frame = pd.DataFrame({"patient_id": ["a"], "hiv_pos": ["Y"]})
    with pytest.raises(InputError, match="hiv_pos"):
        evaluate(frame, "NCT07103668")


def test_derived_values_are_available(sample_result):
    derived = sample_result.derived
    assert {"crcl_cg", "qtcf", "steroid_pred_eq", "washout_required_days"} <= set(derived)
    assert (derived["washout_required_days"].dropna() <= 28).all()


def test_works_on_the_second_protocol(sample):
    result = evaluate(sample, "CT041-ST-01")
    assert result.statuses.shape == (400, 5)
    c = result.counts()
    assert c["screened"] == c["eligible"] + c["screen_failed"] + c["pending"]


def test_pending_patient_with_one_missing_lab():
    result = evaluate(canonical_frame([patient(hb=None)]), "NCT07103668")
    assert result.status.tolist() == ["pending"]
    assert result.statuses["I7d"].isna().tolist() == [True]
