"""The oracle bench forecasts the calibration's own trials, with their true parameters."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import forecast_calibration as calib
import forecast_oracle as oracle


@pytest.mark.parametrize("family", ["constant", "decay 8%", "closing"])
def test_the_calibrations_trials_carry_their_truth(family):
    ours = calib.simulate_trial(np.random.default_rng(11), family, 8)
    # an empty override draws the same trial as none (the oracle passes its design)
    theirs = calib.simulate_trial(np.random.default_rng(11), family, 8, {})
    pd.testing.assert_frame_equal(ours["log"], theirs["log"])
    pd.testing.assert_frame_equal(ours["sites"], theirs["sites"])
    assert ours["target"] == theirs["target"]
    truth = ours["truth"]
    assert truth["gamma"] == calib.FAMILIES[family]["decay"][0]
    assert truth["lam"].shape == (8,) and np.all(truth["lam"] > 0)
    # every site that screened after its true closing time is a bug in the bookkeeping
    log = ours["log"]
    site = log["site_id"].str[1:].astype(int).to_numpy()
    assert np.all(log["t"].to_numpy() <= truth["close_t"][site])
    if family != "closing":
        assert np.all(np.isinf(truth["close_t"]))


def test_a_fixed_design_overrides_only_what_it_names():
    drawn = calib.simulate_trial(np.random.default_rng(3), "decay 4%", 20)["truth"]
    fixed = calib.simulate_trial(
        np.random.default_rng(3), "decay 4%", 20, {"alpha": 5.0, "p": 0.9}
    )["truth"]
    assert fixed["alpha"] == 5.0 and fixed["p"] == 0.9
    assert fixed["mu"] == drawn["mu"] and fixed["gamma"] == drawn["gamma"]


def test_forecasts_given_the_truth_cover_the_truth():
    """The 'truth' step (true rates, only future Poisson noise) is the bench's own check:
    over a few trials the truth lands inside the 90% interval most of the time, and the
    steps' PIT values are probabilities."""
    seeds = np.random.SeedSequence(5).spawn(6)
    rows = pd.DataFrame([oracle.one(s, "decay 8%", 400, None) for s in seeds])
    for step in oracle.STEPS:
        assert rows[f"{step}|pit"].between(0, 1).all()
    assert rows["truth|c90"].mean() >= 0.5
    assert (rows["left"] > 0).all()
