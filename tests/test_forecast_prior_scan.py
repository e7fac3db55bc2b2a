"""The prior scan's importance weights give the forecast under another decline prior."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import forecast_calibration as bench
import forecast_prior_scan as scan

from screenkit.forecast import RecruitmentForecast
from screenkit.forecast.uncertainty import change_posterior


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    trial = bench.simulate_trial(rng, "decay 4%", 8)
    log = trial["log"]
    as_of = log["screening_date"].iloc[len(log) // 4]
    frame = log[["patient_id", "site_id", "screening_date", "randomized"]]
    mean, sd, _, lo, hi = scan.PROPOSAL
    fc = RecruitmentForecast(
        n_sims=100, decline_prior_mean=mean, decline_prior_sd=sd, decline_range=(lo, hi)
    ).fit(frame, trial["sites"], as_of)
    return fc.site_data_, fc.change_posterior_


def test_reweighted_proposal_posterior_is_the_candidates_posterior(data):
    site_data, proposal = data
    for mean, sd in ((0.035, 0.05), (0.0, 0.03)):
        direct = change_posterior(site_data, proposal.grid, prior_sd=sd, prior_mean=mean)
        w = proposal.weights * scan.candidate_weights(proposal.grid, (mean, sd, 0.0, -0.05, 0.3))
        np.testing.assert_allclose(w / w.sum(), direct.weights, atol=1e-9)
    assert not np.allclose(direct.weights, proposal.weights, atol=1e-3)


def test_range_and_spike_of_a_candidate_prior():
    grid = np.round(np.arange(-0.05, 0.305, 0.01), 6)
    inside = np.exp(scan.log_prior(grid, (0.0, 0.1, 0.0, -0.02, 0.15)))
    assert inside[grid < -0.02 - 1e-9].sum() == 0 and inside[grid > 0.15 + 1e-9].sum() == 0
    assert inside.sum() == pytest.approx(1.0)
    spiked = np.exp(scan.log_prior(grid, (0.03, 0.05, 0.4, -0.05, 0.3)))
    plain = np.exp(scan.log_prior(grid, (0.03, 0.05, 0.0, -0.05, 0.3)))
    zero = np.flatnonzero(np.abs(grid) < 1e-9)[0]
    assert spiked[zero] == pytest.approx(0.4 + 0.6 * plain[zero])
    assert spiked.sum() == pytest.approx(1.0)


def test_weighted_quantiles_keep_never_and_follow_the_weights():
    times = np.array([1.0, 2.0, 3.0, np.inf])
    levels = (0.05, 0.5, 0.95)
    even = scan.weighted_quantiles(times, np.ones(4), levels)
    np.testing.assert_array_equal(even, bench._quantiles(times, levels))
    assert np.isinf(even[-1])
    heavy_early = scan.weighted_quantiles(times, np.array([10.0, 1.0, 1.0, 0.0]), levels)
    assert heavy_early[1] == 1.0 and heavy_early[2] == 3.0


def test_flat_topped_and_split_candidate_priors():
    grid = np.round(np.arange(-0.05, 0.305, 0.01), 6)

    def mass(spec, value):
        return np.exp(scan.log_prior(grid, spec))[np.flatnonzero(np.isclose(grid, value))[0]]

    normal = (0.04, 0.05, 0.0, -0.05, 0.3)
    flat = (*normal, 8.0)
    # 0.4 SD from the centre: a flat top keeps nearly the centre's mass, a normal not
    assert mass(flat, 0.06) / mass(flat, 0.04) > 0.99
    assert mass(normal, 0.06) / mass(normal, 0.04) == pytest.approx(np.exp(-0.08), rel=1e-9)
    # two SDs out the flat prior's sides are far steeper
    assert mass(flat, 0.14) / mass(flat, 0.04) < 1e-10 < mass(normal, 0.14) / mass(normal, 0.04)
    split = (0.02, 0.03, 0.0, -0.05, 0.3, 2.0, 0.06)
    # 3% below the centre is one SD, 6% above is one SD too: the same mass
    assert mass(split, -0.01) == pytest.approx(mass(split, 0.08), rel=1e-9)
    assert mass(split, 0.05) > mass(split, -0.01)
    assert np.exp(scan.log_prior(grid, split)).sum() == pytest.approx(1.0)
