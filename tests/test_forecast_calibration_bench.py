"""The calibration bench's measurement options: ablation rows and candidate options."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import forecast_calibration as bench

import screenkit.forecast.uncertainty as uncertainty_module
from screenkit.forecast import RecruitmentForecast


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(5)
    trial = bench.simulate_trial(rng, "decay 8%", 20)
    log = trial["log"]
    as_of = log["screening_date"].iloc[len(log) // 3]
    frame = log[["patient_id", "site_id", "screening_date", "randomized"]]
    fc = RecruitmentForecast(n_sims=200, random_state=0).fit(frame, trial["sites"], as_of)
    return fc, trial["target"]


def test_switching_off_the_decline_spread_fixes_it_at_the_mode_and_restores(fitted):
    fc, _ = fitted
    rng = np.random.default_rng(0)
    with bench._ablated(fc, "decline", rng):
        gamma = fc.change_posterior_.draw(rng, 100)["gamma"]
        assert fc.change_posterior_.best >= 0  # the rest is the posterior's
    assert np.all(gamma == fc.change_posterior_.grid[fc.change_posterior_.best])
    assert np.unique(fc.change_posterior_.draw(rng, 100)["gamma"]).size > 1  # restored


def test_switching_off_the_hyperparameter_draws_keeps_the_decline_spread(fitted):
    fc, _ = fitted
    rng = np.random.default_rng(0)
    with bench._ablated(fc, "hyper", rng):
        par = fc.change_posterior_.draw(rng, 200)
    cp = fc.change_posterior_
    cell = np.rint((par["gamma"] - cp.grid[0]) / cp.step).astype(int)
    mu = par["alpha"] / par["beta"]
    assert np.unique(cell).size > 1
    assert np.allclose(np.log(mu), cp.theta[cell, 1])  # the cell's ML value, no draw


def test_closure_and_rate_ablations_restore_what_they_replace(fitted):
    fc, target = fitted
    original, seed = uncertainty_module.draw_closures, fc.random_state
    p = (fc.p_eligible_, fc.p_conversion_)
    assert any(isinstance(part, tuple) for part in p)  # a Beta posterior to switch off
    users = [m for n, m in sys.modules.items() if n.startswith("screenkit.forecast")]
    users = [m for m in users if getattr(m, "draw_closures", None) is original]
    assert len(users) >= 2  # the definition and the module that simulates with it
    with bench._ablated(fc, "closure", np.random.default_rng(0)):
        assert all(m.draw_closures is not original for m in users)
        fc.predict(target=target)
    assert all(m.draw_closures is original for m in users)
    with bench._ablated(fc, "p", np.random.default_rng(0)):
        assert isinstance(fc.p_eligible_, float) and isinstance(fc.p_conversion_, float)
        fc.predict(target=target)
    with bench._ablated(fc, "rates", np.random.default_rng(0)):
        assert isinstance(fc.random_state, bench._MeanRates)
        fc.predict(target=target)
    assert fc.random_state is seed and (fc.p_eligible_, fc.p_conversion_) == p


def test_mean_rates_returns_the_means_once_then_draws():
    proxy = bench._MeanRates(np.random.default_rng(0))
    assert isinstance(proxy, np.random.Generator)
    shape, scale = np.array([[2.0, 4.0]]), np.array([[0.5, 0.25]])
    assert np.array_equal(proxy.gamma(shape, scale), [[1.0, 1.0]])
    assert not np.array_equal(proxy.gamma(shape, scale), [[1.0, 1.0]])
    assert proxy.random() < 1  # everything else is the generator's


def test_candidate_options_parse_python_literals():
    parsed = bench._parse_options("decline_prior_sd=0.05,decline_range=(-0.05, 0.15)")
    assert parsed == {"decline_prior_sd": 0.05, "decline_range": (-0.05, 0.15)}
    with pytest.raises(SystemExit, match="not NAME=VALUE"):
        bench._parse_options("decline_prior_sd")


def test_methods_filter_and_candidate_rows():
    methods = bench._methods(True, ({"decline_prior_sd": 0.05},), ("default", "cand1"))
    assert methods == {"default": {}, "cand1": {"decline_prior_sd": 0.05}}
    assert set(bench._methods(True)) == {"default"} | {f"no-{s}" for s in bench.ABLATIONS}
    assert isinstance(pd.Timestamp(bench.START), pd.Timestamp)


def test_external_prior_is_seeded_per_trial_and_centred_on_the_truth_with_its_sd():
    seeds = np.random.SeedSequence(20250806).spawn(400)
    first = [bench.external_prior(s, 0.04, 0.02) for s in seeds]
    assert first == [bench.external_prior(s, 0.04, 0.02) for s in seeds]  # reproducible
    means = np.array([m for m, _ in first])
    assert {sd for _, sd in first} == {0.02}
    assert abs(means.mean() - 0.04) < 3 * 0.02 / np.sqrt(400)  # centred on the truth
    assert 0.017 < means.std() < 0.023  # its error has the SD it claims
    assert np.unique(means).size == 400  # a draw of its own per trial
    biased = np.array([bench.external_prior(s, 0.04, 0.02, -0.02)[0] for s in seeds])
    assert np.allclose(biased, means - 0.02)  # the same errors, shifted
    low = bench.external_prior(seeds[0], -0.05, 0.02, -0.05)[0]
    assert low >= uncertainty_module.CHANGE_RANGE[0]  # kept inside the posterior grid


def test_external_row_is_reproducible_and_leaves_the_trial_and_default_row_alone():
    seed = np.random.SeedSequence(7).spawn(1)[0]
    run = bench.one_replicate(seed, "decay 4%", 200, only=("default", "external"), external=0.02)
    again = bench.one_replicate(seed, "decay 4%", 200, only=("default", "external"), external=0.02)
    assert run == again
    alone = bench.one_replicate(seed, "decay 4%", 200, only=("default",))
    assert alone["left"] == run["left"] and alone["default|pit"] == run["default|pit"]
    assert run["external_mean"] == bench.external_prior(seed, 0.04, 0.02)[0]
    assert "external|cover80%" in run and "external|cover80%" not in alone
    # an honest outside source narrows what the trial alone leaves open about its decline
    assert run["external_decline_sd"] < run["decline_sd"]
    table = bench.summarize(pd.DataFrame([run, again]).assign(all="all"), "all")
    assert list(table["method"]) == ["default", "external"]
    with pytest.raises(SystemExit):
        bench.main(["--external", "0", "--reps", "1"])


def test_curve_decline_reads_the_decline_off_the_whole_screening_curve():
    rng = np.random.default_rng(2)
    steep = [bench.curve_decline(bench.simulate_trial(rng, "decay 8%", 60), 30.0) for _ in range(3)]
    flat = [bench.curve_decline(bench.simulate_trial(rng, "constant", 60), 30.0) for _ in range(3)]
    assert all(abs(g - 0.08) < 0.02 for g in steep) and all(abs(g) < 0.015 for g in flat)
    seed = np.random.SeedSequence(3).spawn(1)[0]
    run = bench.one_replicate(
        seed, "closing", 100, only=("external",), external=0.02, external_centre="curve"
    )
    assert run["external_centre"] != 0.0  # the curve's decline, not the simulated 0
    assert run == bench.one_replicate(
        seed, "closing", 100, only=("external",), external=0.02, external_centre="curve"
    )
