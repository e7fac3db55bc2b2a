"""The funnel: literal small cases, and properties that must hold for any data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from screenkit.errors import ScreenkitError
from screenkit.evaluate import evaluate
from screenkit.funnel import PatternCounts, funnel

from .conftest import canonical_frame, patient


def _patterns(fails, unknown, sites):
    ids = [f"C{i}" for i in range(fails.shape[1])]
    keys = pd.DataFrame({"site_id": np.asarray(sites, dtype=object)})
    return PatternCounts.from_matrices(fails, unknown, keys, criteria=ids)


@st.composite
def screening(draw, max_patients=60, max_criteria=70):
    n = draw(st.integers(0, max_patients))
    k = draw(st.integers(1, max_criteria))
    fails = draw(arrays(bool, (n, k)))
    unknown = draw(arrays(bool, (n, k))) & ~fails
    sites = draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=n, max_size=n))
    order = draw(st.permutations(range(k)))
    off = draw(st.lists(st.integers(0, k - 1), max_size=3))
    return fails, unknown, sites, list(order), sorted(set(off))


def _reference(fails, unknown, order, off):
    """A per-patient reference implementation (loops; for tests only)."""
    k = fails.shape[1]
    active = [c for c in order if c not in off]
    eligible = failed = pending = 0
    excluded_at = [0] * len(active)
    for f, u in zip(fails, unknown, strict=True):
        first = next((i for i, c in enumerate(active) if f[c]), None)
        if first is not None:
            excluded_at[first] += 1
            failed += 1
        elif any(u[c] for c in active):
            pending += 1
        else:
            eligible += 1
    attribution = np.zeros(k)
    only = np.zeros(k, int)
    for f in fails:
        failing = [c for c in range(k) if f[c] and c not in off]
        for c in failing:
            attribution[c] += 1 / len(failing)
        if len(failing) == 1:
            only[failing[0]] += 1
    return eligible, failed, pending, excluded_at, attribution, only


@settings(max_examples=150, deadline=None)
@given(screening())
def test_funnel_matches_a_per_patient_reference(case):
    fails, unknown, sites, order, off = case
    ids = [f"C{i}" for i in range(fails.shape[1])]
    f = funnel(
        _patterns(fails, unknown, sites),
        order=[ids[i] for i in order],
        exclude=[ids[i] for i in off],
    )
    eligible, failed, pending, excluded_at, attribution, only = _reference(
        fails, unknown, order, off
    )
    assert (f.eligible, f.screen_failed, f.pending) == (eligible, failed, pending)
    assert f.steps["excluded"].tolist() == excluded_at
    np.testing.assert_allclose(f.criteria["attribution"], attribution)
    assert f.criteria["fails_only"].tolist() == only.tolist()


@settings(max_examples=100, deadline=None)
@given(screening())
def test_counts_conserve_overall_and_per_site(case):
    fails, unknown, sites, _order, off = case
    ids = [f"C{i}" for i in range(fails.shape[1])]
    f = funnel(_patterns(fails, unknown, sites), exclude=[ids[i] for i in off])
    assert f.screened == len(fails) == f.eligible + f.screen_failed + f.pending
    by_site = f.by_site()
    assert (by_site["eligible"] + by_site["screen_failed"] + by_site["pending"]).tolist() == (
        by_site["screened"].tolist()
    )
    assert by_site["screened"].sum() == f.screened
    assert by_site["screen_failed"].sum() == f.screen_failed
    for site, row in by_site.set_index("site_id").iterrows():
        assert row["screened"] == sites.count(site)
    # the attribution shares every screen-failed patient exactly once
    assert f.criteria["attribution"].sum() == pytest.approx(f.screen_failed)
    # the funnel ends at eligible + pending, and excluded adds up to screen_failed
    if len(f.steps):
        assert f.steps["remaining"].iloc[-1] == f.eligible + f.pending
    assert f.steps["excluded"].sum() == f.screen_failed


@settings(max_examples=100, deadline=None)
@given(screening(), st.randoms(use_true_random=False))
def test_order_changes_only_the_sequential_steps(case, rnd):
    fails, unknown, sites, order, _off = case
    ids = [f"C{i}" for i in range(fails.shape[1])]
    patterns = _patterns(fails, unknown, sites)
    other = list(order)
    rnd.shuffle(other)
    a = funnel(patterns, order=[ids[i] for i in order])
    b = funnel(patterns, order=[ids[i] for i in other])
    pd.testing.assert_frame_equal(a.criteria, b.criteria)
    assert a.headline() == b.headline()
    assert a.steps["remaining"].iloc[-1] == b.steps["remaining"].iloc[-1]


def test_literal_funnel_on_evaluated_patients(imc002):
    frame = canonical_frame(
        [
            patient(patient_id="A", site_id="S1"),
            patient(patient_id="B", site_id="S1", spo2=95.0),
            patient(patient_id="C", site_id="S2", spo2=94.0, largest_lesion_cm=6.0),
            patient(patient_id="D", site_id="S2", largest_lesion_cm=7.0),
            patient(patient_id="E", site_id="S2", hb=None),
        ]
    )
    result = evaluate(frame, imc002)
    f = funnel(result, order=["E7", "I5b"])
    assert f.headline() == {"screened": 5, "eligible": 1, "screen_failed": 3, "pending": 1}
    steps = f.steps.set_index("criterion")
    assert steps.loc["E7", "excluded"] == 2
    assert steps.loc["I5b", "excluded"] == 1
    assert steps["remaining"].iloc[-1] == 2  # eligible + pending
    crit = f.criteria.set_index("criterion")
    assert crit.loc["E7", ["fails", "fails_only", "attribution"]].tolist() == [2, 1, 1.5]
    assert crit.loc["I5b", ["fails", "fails_only", "attribution"]].tolist() == [2, 1, 1.5]
    assert crit.loc["I7d", "unknown"] == 1
    combos = f.combinations()
    assert combos["patients"].tolist() == [1, 1, 1]
    assert combos["n_criteria"].tolist() == [1, 1, 2]  # ties: simpler combinations first
    assert set(combos["criteria"]) == {"I5b", "E7", "I5b; E7"}
    by_site = f.by_site().set_index("site_id")
    assert by_site.loc["S1", ["screened", "eligible", "screen_failed", "pending"]].tolist() == [
        2,
        1,
        1,
        0,
    ]
    assert by_site.loc["S2", ["screened", "eligible", "screen_failed", "pending"]].tolist() == [
        3,
        0,
        2,
        1,
    ]
    # switching a criterion off releases the patients who fail only it
    relaxed = funnel(result, exclude=["I5b"])
    assert relaxed.eligible == f.eligible + crit.loc["I5b", "fails_only"]


def test_unknown_never_becomes_pass(imc002):
    """DataFrame.all(axis=1) skips NA by default: a pending patient would read 'eligible'."""
    frame = canonical_frame([patient(hb=None)])
    result = evaluate(frame, imc002)
    assert result.statuses.all(axis=1).tolist() == [True]  # the trap pandas sets
    assert result.status.tolist() == ["pending"]
    assert funnel(result).eligible == 0


def test_funnel_to_dict_has_the_json_contract(imc002):
    frame = canonical_frame([patient(), patient(patient_id="B", spo2=90.0)])
    data = funnel(evaluate(frame, imc002)).to_dict()
    assert {"protocol", "screened", "eligible", "screen_failed", "pending"} <= set(data)
    assert [c["id"] for c in data["criteria"]] == imc002.ids
    assert set(data["criteria"][0]) >= {"id", "fails", "unknown", "fails_only", "attribution"}
    assert [s["id"] for s in data["funnel"]] == imc002.ids
    assert data["funnel"][-1]["remaining"] == data["eligible"] + data["pending"]


def test_unknown_criterion_in_order_is_a_clear_error(imc002):
    result = evaluate(canonical_frame([patient()]), imc002)
    with pytest.raises(ScreenkitError, match="Unknown criterion 'I99'"):
        funnel(result, order=["I99"])


def test_more_than_64_criteria_pack_into_several_words():
    rng = np.random.default_rng(1)
    fails = rng.random((500, 130)) < 0.02
    unknown = (rng.random((500, 130)) < 0.01) & ~fails
    p = _patterns(fails, unknown, ["A"] * 500)
    assert p.fails.shape[1] == 130
    np.testing.assert_array_equal(p.counts @ p.fails, fails.sum(axis=0))
    np.testing.assert_array_equal(p.counts @ p.unknown, unknown.sum(axis=0))


def test_filter_by_site_keeps_only_that_site(imc002):
    frame = canonical_frame(
        [patient(patient_id="A", site_id="S1"), patient(patient_id="B", site_id="S2", spo2=90.0)]
    )
    patterns = evaluate(frame, imc002).patterns()
    assert funnel(patterns.filter(site_id=["S2"])).headline() == {
        "screened": 1,
        "eligible": 0,
        "screen_failed": 1,
        "pending": 0,
    }
