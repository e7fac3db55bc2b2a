"""The default forecast's model uncertainty: evidence for decline, site closure, the note."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screenkit.forecast import RecruitmentForecast
from screenkit.forecast.uncertainty import closure_probability

START = pd.Timestamp("2025-01-01")


def trial_log(gamma: float, sites: int = 30, months: float = 14.0, seed: int = 0, silent=()):
    """Sites opening at 0 with rates declining at ``gamma`` per month; ``silent`` sites stop
    screening after 3 months."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(sites):
        lam = rng.gamma(2.0, 1.0)
        end = 3.0 if i in silent else months
        cap = end if gamma == 0 else -np.expm1(-gamma * end) / gamma
        u = rng.random(rng.poisson(lam * cap))
        age = u * end if gamma == 0 else -np.log1p(-u * -np.expm1(-gamma * end)) / gamma
        rows += [(f"S{i:02d}", a) for a in age]
    log = pd.DataFrame(rows, columns=["site_id", "t"])
    log["screening_date"] = START + pd.to_timedelta(log["t"] * 30.4375, unit="D")
    log["patient_id"] = [f"P{i}" for i in range(len(log))]
    log["randomized"] = rng.random(len(log)) < 0.5
    sites_table = pd.DataFrame(
        {"site_id": [f"S{i:02d}" for i in range(sites)], "activation_date": [START] * sites}
    )
    as_of = START + pd.Timedelta(days=months * 30.4375)
    return log.drop(columns="t"), sites_table, as_of


def test_evidence_gives_decline_its_weight():
    flat = RecruitmentForecast(n_sims=200, random_state=0).fit(*trial_log(0.0)[:2])
    steep_log, sites, as_of = trial_log(0.08)
    steep = RecruitmentForecast(n_sims=200, random_state=0).fit(steep_log, sites, as_of)
    assert steep.decay_posterior_.weight > 0.9 > flat.decay_posterior_.weight
    assert 0.04 < steep.decay_posterior_.mean < 0.12
    # and the declining trial's forecast is later than the same counts at constant rates
    target = steep.rates_.randomized_so_far + 40
    averaged = steep.predict(target=target)
    constant = RecruitmentForecast(model="constant", n_sims=200, random_state=0)
    constant = constant.fit(steep_log, sites, as_of).predict(target=target)
    assert constant.median_date < averaged.median_date


def test_a_site_silent_far_longer_than_its_rate_implies_is_probably_closed():
    p = closure_probability(np.full(3, 0.01), np.array([2.0, 2.0, 0.1]), np.array([0.5, 6, 6]))
    assert p[0] < 0.05 < 0.9 < p[1]  # same rate: a long silence means closed
    assert p[2] < p[1]  # a slow site's silence says less
    assert closure_probability(np.array(0.01), np.array(2.0), np.array(0.0)) == 0
    log, sites, as_of = trial_log(0.0, silent={3})
    fc = RecruitmentForecast(n_sims=200, random_state=0).fit(log, sites, as_of)
    note = next(n for n in fc.notes_ if n.startswith("Probably closed"))
    assert "site S03 (silent 1" in note and "site S01 " not in note


@pytest.mark.parametrize(
    ("model", "start"),
    [
        ("averaged", "Model: constant and declining site rates averaged by their evidence"),
        ("posterior", "Model: site rates that may change by a constant share per month"),
        ("constant", "Model: constant site rates, as requested"),
        ("decay", "Model: decay site rates, as requested"),
    ],
)
def test_the_model_note_says_what_was_used(model, start):
    log, sites, as_of = trial_log(0.0, seed=2)
    fc = RecruitmentForecast(model=model, n_sims=100, random_state=0).fit(log, sites, as_of)
    model_notes = [n for n in fc.notes_ if n.startswith("Model:")]
    assert len(model_notes) == 1 and model_notes[0].startswith(start)


def test_auto_says_which_model_aic_chose():
    log, sites, as_of = trial_log(0.08, seed=3)
    fc = RecruitmentForecast(model="auto", n_sims=100, random_state=0).fit(log, sites, as_of)
    note = next(n for n in fc.notes_ if n.startswith("Model:"))
    assert fc.model_ == "decay" and note.startswith("Model: decay site rates, chosen by AIC")
    assert "support declining rates" in note


def test_the_posterior_of_the_monthly_change_follows_the_data():
    flat = RecruitmentForecast(model="posterior", n_sims=200, random_state=0)
    flat = flat.fit(*trial_log(0.0)[:2], as_of=trial_log(0.0)[2])
    steep_log, sites, as_of = trial_log(0.08)
    steep = RecruitmentForecast(model="posterior", n_sims=200, random_state=0)
    steep = steep.fit(steep_log, sites, as_of)
    cp_flat, cp_steep = flat.change_posterior_, steep.change_posterior_
    assert abs(cp_flat.weights.sum() - 1) < 1e-9 and abs(cp_steep.weights.sum() - 1) < 1e-9
    assert cp_steep.p_decline > 0.95 > 0.5 > cp_flat.p_decline
    assert 0.04 < cp_steep.mean < 0.12 and abs(cp_flat.mean) < 0.03
    assert cp_steep.quantile(0.05) < 0.08 < cp_steep.quantile(0.95) + 0.01
    # a tight prior centred on constant rates pulls the decline towards them
    tight = RecruitmentForecast(
        model="posterior",
        n_sims=200,
        random_state=0,
        decline_prior_sd=0.01,
        decline_prior_mean=0.0,
    )
    assert tight.fit(steep_log, sites, as_of).change_posterior_.mean < cp_steep.mean
    # the declining trial's forecast is later than the same counts at constant rates
    target = steep.rates_.randomized_so_far + 40
    constant = RecruitmentForecast(model="constant", n_sims=200, random_state=0)
    constant = constant.fit(steep_log, sites, as_of).predict(target=target)
    assert constant.median_date < steep.predict(target=target).median_date


def test_draws_of_the_change_follow_the_grid_weights():
    log, sites, as_of = trial_log(0.04, seed=4)
    fc = RecruitmentForecast(model="posterior", n_sims=100, random_state=0).fit(log, sites, as_of)
    cp = fc.change_posterior_
    draws = cp.draw(np.random.default_rng(1), 20000)
    assert abs(draws["gamma"].mean() - cp.mean) < 0.003
    assert np.all((draws["alpha"] > 0) & (draws["beta"] > 0))
    assert draws["gamma"].min() >= cp.grid[0] - cp.step / 2
    plug = cp.draw(np.random.default_rng(1), 10, uncertain=False)
    assert np.all(plug["gamma"] == cp.grid[cp.best])


def test_open_sites_are_not_closed_again_on_top_of_the_fitted_decline():
    """The fitted decline already carries the loss of screening with age (closed sites
    included), so the simulation keeps each drawn decline and each open site's rate: only
    sites silent far longer than their current rate implies are closed."""
    from screenkit.forecast.model import SiteData
    from screenkit.forecast.uncertainty import draw_closures

    data = SiteData(
        site_id=np.array(["A", "B", "C"]),
        act=np.full(3, -12.0),
        close=np.full(3, np.inf),
        k=np.array([30.0, 3.0, 20.0]),
        tau=np.full(3, 12.0),
        age_sum=np.zeros(3),
        last_age=np.array([11.9, 1.0, 11.5]),
    )
    rng = np.random.default_rng(1)
    rates = rng.gamma(4.0, 0.6, (500, 3))
    gamma = rng.normal(0.04, 0.02, 500)
    out, drawn_gamma, hazard = draw_closures(rng, data, rates, gamma)
    assert np.array_equal(drawn_gamma, gamma)  # no hazard folded into the decline
    assert np.all(hazard > 0)  # the hazard is drawn (it decides which silent sites closed)
    assert np.all((out == 0) | (out == rates))  # open sites keep their rate, undiscounted
    assert np.mean(out[:, [0, 2]] == rates[:, [0, 2]]) > 0.97  # screening lately: open
    assert np.mean(out[:, 1] == 0) > 0.9  # silent 11 months at about 2 a month: closed
