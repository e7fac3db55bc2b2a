"""What the tutorial notebooks say about the sample, checked here rather than in them.

The notebooks read as a tutorial: they print figures instead of asserting them. The
claims their text makes (every patient counted once, shares adding up, the forecast's
counts equal to the report's) are asserted on the same sample here.
"""

from __future__ import annotations

import pytest

import screenkit as sk
from screenkit.forecast import recruitment_rates


@pytest.fixture(scope="module")
def evaluation():
    return sk.evaluate(sk.load_sample(), "NCT07103668")


@pytest.fixture(scope="module")
def f(evaluation):
    return sk.funnel(evaluation)


def test_01_every_patient_is_eligible_failed_or_pending(f):
    assert f.eligible + f.screen_failed + f.pending == f.screened == 400


def test_01_equal_shares_add_up_to_the_screen_failed(f):
    assert f.criteria["attribution"].sum() == pytest.approx(f.screen_failed)


@pytest.mark.parametrize("group", ["by_site", "by_month"])
def test_03_sites_and_months_add_up_to_the_log(f, group):
    table = getattr(f, group)()
    parts = table["eligible"] + table["screen_failed"] + table["pending"]
    assert (parts == table["screened"]).all()
    assert table["screened"].sum() == f.screened
    assert table["screen_failed"].sum() == f.screen_failed
    rate = table["screen_fail_rate"]
    assert ((table["ci_low"] <= rate) & (rate <= table["ci_high"])).all()


def test_03_site_by_criterion_counts_add_up_to_each_criterion(f):
    fails = f.fails_by("site_id")
    assert (fails.sum() == f.criteria.set_index("criterion")["fails"]).all()


def test_04_the_forecast_counts_the_outcomes_the_report_shows(evaluation, f):
    rates = recruitment_rates(evaluation)
    assert rates.screened == rates.eligible + rates.screen_failed + rates.pending
    assert (rates.eligible, rates.screen_failed, rates.pending) == (
        f.eligible,
        f.screen_failed,
        f.pending,
    )


def test_02_dropping_a_criterion_gains_exactly_its_fails_only(evaluation, f):
    criteria = f.criteria.set_index("criterion")
    for cid in criteria.index:
        off = sk.funnel(evaluation, exclude=[cid])
        gained = (off.eligible + off.pending) - (f.eligible + f.pending)
        assert gained == criteria.loc[cid, "fails_only"], cid


def test_02_a_what_if_leaves_the_baseline_untouched(evaluation, f):
    relaxed = evaluation.with_parameters(lesion_max_cm=7)
    counts = relaxed.counts()
    assert counts["eligible"] + counts["screen_failed"] + counts["pending"] == counts["screened"]
    assert evaluation.counts() == f.headline()
    assert evaluation.parameters["lesion_max_cm"] == 5 and relaxed.parameters["lesion_max_cm"] == 7
