"""evaluate(): statuses, overall status, what-if re-evaluation, inputs left untouched."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings

from screenkit.datasets import load_sample
from screenkit.errors import InputError
from screenkit.evaluate import STATUSES, evaluate
from screenkit.funnel import funnel
from screenkit.grammar import Rule
from screenkit.protocol import get_protocol, load_protocol

from .conftest import canonical_frame, patient
from .strategies import overrides


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


@settings(max_examples=25, deadline=None)
@given(overrides(PARAMS))
def test_what_if_equals_a_fresh_evaluation(sample_result, params):
    """with_parameters re-evaluates only affected criteria; the answer must not differ."""
    quick = sample_result.with_parameters(**params)
    fresh = evaluate(sample_result.data, "NCT07103668", **params)
    pd.testing.assert_frame_equal(quick.statuses, fresh.statuses)
    assert funnel(quick).headline() == funnel(fresh).headline()
    assert quick.parameters == fresh.parameters


def record_rule_evaluations(monkeypatch, protocol) -> list[str]:
    """Spy on the rule interpreter: the list fills with the criterion ID or derived-value
    name of every rule evaluated from now on."""
    names: dict[str, list[str]] = {}
    for c in protocol.criteria:
        names.setdefault(c.rule.text, []).append(c.id)
        if c.applies is not None:
            names.setdefault(c.applies.text, []).append(f"{c.id} applies")
    for name, d in protocol.derived.items():
        names.setdefault(d.rule.text, []).append(name)
    assert all(len(v) == 1 for v in names.values()), "rule texts must identify the rule"
    seen: list[str] = []
    original = Rule.evaluate

    def spy(self, namespace):
        seen.extend(names[self.text])
        return original(self, namespace)

    monkeypatch.setattr(Rule, "evaluate", spy)
    return seen


@pytest.mark.parametrize(
    ("overrides", "recomputed"),
    [
        ({"lesion_max_cm": 7}, ["I5b"]),  # one parameter, one criterion
        ({"lesion_max_cm": 7, "hb_min": 7.5}, ["I5b", "I7d"]),  # two at once
        ({"alt_max_uln": 3, "alt_max_uln_liver_mets": 6}, ["I7f"]),  # two, same criterion
        # a parameter of a derived value: the value, then the criterion reading it
        ({"washout_days": 21}, ["washout_required_days", "E18"]),
        ({"lesion_max_cm": 5}, []),  # the value in force: nothing to do
    ],
)
def test_a_threshold_change_re_evaluates_only_the_criteria_using_it(
    sample_result, monkeypatch, overrides, recomputed
):
    seen = record_rule_evaluations(monkeypatch, sample_result.protocol)
    quick = sample_result.with_parameters(**overrides)
    assert seen == recomputed
    fresh = evaluate(sample_result.data, "NCT07103668", **overrides)
    pd.testing.assert_frame_equal(quick.statuses, fresh.statuses)
    pd.testing.assert_frame_equal(quick.derived, fresh.derived)
    others = [c for c in sample_result.statuses.columns if c not in recomputed]
    pd.testing.assert_frame_equal(quick.statuses[others], sample_result.statuses[others])
    if not recomputed:
        assert quick is sample_result


SHARED = {
    "id": "SHARED",
    "parameters": {
        "k": {"value": 8, "min": 6, "max": 11},
        "j": {"value": 1, "min": 0, "max": 3},
    },
    "derived": {"hb_k": {"rule": "hb - k"}, "hb_k2": {"rule": "hb_k * 2"}},
    "criteria": [
        {"id": "I1", "kind": "inclusion", "label": "a", "rule": "hb >= k", "source": "x"},
        {"id": "I2", "kind": "inclusion", "label": "b", "rule": "plt >= k", "source": "x"},
        {"id": "I3", "kind": "inclusion", "label": "c", "rule": "hb_k2 >= j", "source": "x"},
        {"id": "E1", "kind": "exclusion", "label": "d", "rule": "anc < j", "source": "x"},
        {"id": "E2", "kind": "exclusion", "label": "e", "rule": "anc > 10", "source": "x"},
    ],
}


@pytest.mark.parametrize(
    ("overrides", "recomputed"),
    [
        # used by two criteria and, through a chain of two derived values, by a third
        ({"k": 7}, ["hb_k", "hb_k2", "I1", "I2", "I3"]),
        ({"j": 2}, ["I3", "E1"]),  # used by two criteria, no derived value
    ],
)
def test_a_shared_parameter_re_evaluates_every_criterion_using_it(
    monkeypatch, overrides, recomputed
):
    protocol = load_protocol(SHARED)
    frame = pd.DataFrame(
        {name: pd.array(values, dtype="Float64") for name, values in (
            ("hb", [9.0, 7.5, 7.0, None]),
            ("plt", [9.0, 7.0, 6.0, 8.0]),
            ("anc", [2.0, 1.5, 0.5, 12.0]),
        )}
    )  # fmt: skip
    base = evaluate(frame, protocol)
    seen = record_rule_evaluations(monkeypatch, protocol)
    quick = base.with_parameters(**overrides)
    assert seen == recomputed
    monkeypatch.undo()
    fresh = evaluate(frame, protocol, **overrides)
    pd.testing.assert_frame_equal(quick.statuses, fresh.statuses)
    pd.testing.assert_frame_equal(quick.derived, fresh.derived)
    assert not quick.statuses.equals(base.statuses)  # the change does change something


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
    # the two ASSUMED criteria (I4, I5) are off by default
    assert result.statuses.shape == (400, 3)
    assert [c.id for c in result.protocol.criteria_off] == ["I4", "I5"]
    assert evaluate(sample, "CT041-ST-01", include=["I4", "I5"]).statuses.shape == (400, 5)
    c = result.counts()
    assert c["screened"] == c["eligible"] + c["screen_failed"] + c["pending"]


def test_pending_patient_with_one_missing_lab():
    result = evaluate(canonical_frame([patient(hb=None)]), "NCT07103668")
    assert result.status.tolist() == ["pending"]
    assert result.statuses["I7d"].isna().tolist() == [True]


def test_a_parameter_lists_the_criteria_using_it_through_derived_chains():
    protocol = load_protocol(SHARED)
    assert protocol.parameters["k"].criteria == ("I1", "I2", "I3")  # I3 via hb_k2 <- hb_k
    assert protocol.parameters["j"].criteria == ("I3", "E1")
