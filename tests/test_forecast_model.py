"""The Poisson-gamma likelihood, its ML fit, and the simulation kernels against closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln
from scipy.stats import nbinom

from screenkit.forecast import RecruitmentForecast
from screenkit.forecast.model import SiteData, fit_hyperparameters, log_likelihood
from screenkit.forecast.simulate import cumulative_intensity, exposure, time_to_reach


def site_arrays(k, tau, age_sum=None):
    k, tau = np.asarray(k, float), np.asarray(tau, float)
    return SiteData(
        site_id=np.array([str(i) for i in range(k.size)]),
        act=-tau,
        close=np.full(k.size, np.inf),
        k=k,
        tau=tau,
        age_sum=np.zeros(k.size) if age_sum is None else np.asarray(age_sum, float),
    )


def test_constant_likelihood_is_the_negative_binomial_marginal():
    k, tau = np.array([0, 3, 7, 12]), np.array([4.0, 6.0, 5.5, 9.0])
    alpha, mu = 1.7, 0.9
    beta = alpha / mu
    theta = np.array([np.log(alpha), np.log(mu)])
    counts = nbinom.logpmf(k, alpha, beta / (beta + tau)).sum()
    # event-time density = count pmf * k! / tau^k
    assert log_likelihood(theta, site_arrays(k, tau), decay=False) == pytest.approx(
        counts + np.sum(gammaln(k + 1) - k * np.log(tau))
    )


def test_ml_fit_recovers_known_parameters():
    rng = np.random.default_rng(11)
    alpha, mu, n = 2.0, 1.2, 400
    tau = rng.uniform(6, 18, n)
    k = rng.poisson(rng.gamma(alpha, mu / alpha, n) * tau)
    fit = fit_hyperparameters(site_arrays(k, tau))
    se = np.sqrt(np.diag(fit.cov))
    assert abs(np.log(fit.alpha) - np.log(alpha)) < 3 * se[0]
    assert abs(np.log(fit.mu) - np.log(mu)) < 3 * se[1]
    assert fit.aic == pytest.approx(4 - 2 * fit.log_likelihood)


def test_mean_time_to_n_recruits_matches_closed_form():
    """C sites open at 0, known (alpha, beta): E[T_n] = n beta / (C alpha - 1)."""
    rng = np.random.default_rng(2024)
    C, alpha, beta, n, sims = 10, 1.5, 2.0, 50, 40_000
    rates = rng.gamma(alpha, 1 / beta, (sims, C))
    zeros = np.zeros(C)
    times = time_to_reach(
        rates, np.zeros(sims), zeros, zeros, np.full(C, np.inf), rng.gamma(n, 1.0, sims)
    )
    expected = n * beta / (C * alpha - 1)
    se = times.std() / np.sqrt(sims)
    assert abs(times.mean() - expected) < 4 * se


def test_time_to_reach_inverts_the_cumulative_intensity_with_decay_and_staggering():
    rng = np.random.default_rng(5)
    sims, sites = 300, 4
    rates = rng.gamma(2.0, 0.5, (sims, sites))
    gamma = rng.uniform(0, 0.2, sims)
    act = np.array([-3.0, 0.0, 2.0, 5.0])
    open_ = np.maximum(act, 0)
    close = np.array([np.inf, 8.0, np.inf, 20.0])
    level = rng.uniform(0.5, 6.0, sims)
    t = time_to_reach(rates, gamma, act, open_, close, level)
    finite = np.isfinite(t)
    assert finite.mean() > 0.5
    back = np.array(
        [
            cumulative_intensity(
                rates[i : i + 1], gamma[i : i + 1], act, open_, close, t[i : i + 1]
            )[0, 0]
            for i in np.nonzero(finite)[0]
        ]
    )
    np.testing.assert_allclose(back, level[finite], rtol=1e-8)
    # where never reached, the total intensity that will ever come is below the level
    never = ~finite
    if never.any():
        total = cumulative_intensity(rates[never], gamma[never], act, open_, close, np.array([1e4]))
        assert (total[:, 0] < level[never] + 1e-9).all()


def test_exposure_limits():
    assert exposure(np.array(3.0), np.array(0.0)) == pytest.approx(3.0)
    assert exposure(np.array(3.0), np.array(1e-12)) == pytest.approx(3.0)
    assert exposure(np.array(np.inf), np.array(0.5)) == pytest.approx(2.0)
    assert exposure(np.array(2.0), np.array(0.5)) == pytest.approx((1 - np.exp(-1)) / 0.5)


def _decaying_log(gamma, seed=3, sites=15, months=18.0):
    """Site rates lambda_i * exp(-gamma * months open), by thinning."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(sites):
        lam = rng.gamma(2.0, 3.0 / 2.0)
        t = rng.uniform(0, months, rng.poisson(lam * months))
        t = np.sort(t[rng.random(t.size) < np.exp(-gamma * t)])
        rows += [(f"S{s}", x) for x in t]
    log = pd.DataFrame(rows, columns=["site_id", "t"])
    log["patient_id"] = [f"P{i}" for i in range(len(log))]
    log["screening_date"] = pd.Timestamp("2025-01-01") + pd.to_timedelta(
        log["t"] * 30.4375, unit="D"
    )
    log["randomized"] = True
    sites_table = pd.DataFrame(
        {"site_id": [f"S{s}" for s in range(sites)], "activation_date": "2025-01-01"}
    )
    return log, sites_table


def test_aic_prefers_decay_when_rates_decline_and_not_otherwise():
    log, sites = _decaying_log(gamma=0.15)
    fc = RecruitmentForecast(model="auto", n_sims=200, random_state=0).fit(
        log, sites=sites, as_of="2026-07-01"
    )
    assert fc.preferred_model_ == "decay" and fc.model_ == "decay"
    assert 0.08 < fc.fits_["decay"].gamma < 0.25
    assert any("support declining rates" in n for n in fc.notes_)
    flat, sites = _decaying_log(gamma=0.0, seed=4)
    fc = RecruitmentForecast(model="auto", n_sims=200).fit(flat, sites=sites, as_of="2026-07-01")
    assert fc.aic_["decay"] > fc.aic_["constant"] - 2


def test_fit_predict_end_to_end_matches_the_closed_form_in_plug_in_mode():
    """fit -> predict with the fitted (alpha, beta) held fixed (plug-in mode): C new sites,
    all opening at the as-of date with no data, recruit at lambda_i * p with lambda_i ~
    Gamma(alpha, beta), so the time to n more randomized is n beta / (p (C alpha - 1))."""
    rng = np.random.default_rng(7)
    past, start, as_of = 12, pd.Timestamp("2024-01-01"), pd.Timestamp("2025-06-01")
    months = (pd.Timestamp("2025-01-01") - start).days / 30.4375
    rows = []
    for s in range(past):  # sites that recruited for a year and closed before the as-of date
        lam = rng.gamma(2.0, 1.5 / 2.0)
        t = np.sort(rng.uniform(0, months, rng.poisson(lam * months)))
        rows += [(f"H{s}", start + pd.Timedelta(days=float(x) * 30.4375)) for x in t]
    log = pd.DataFrame(rows, columns=["site_id", "screening_date"])
    log["patient_id"] = [f"P{i}" for i in range(len(log))]
    log["randomized"] = rng.random(len(log)) < 0.7
    C = 10
    sites = pd.DataFrame(
        {
            "site_id": [f"H{s}" for s in range(past)] + [f"N{s}" for s in range(C)],
            "activation_date": [start] * past + [as_of] * C,
            "closing_date": [pd.Timestamp("2025-01-01")] * past + [pd.NaT] * C,
        }
    )
    fc = RecruitmentForecast(
        model="constant", n_sims=40_000, random_state=1, parameter_uncertainty=False
    )
    fc.fit(log, sites=sites, as_of=as_of)
    assert fc.pending_ == 0 and C * fc.alpha_ > 2  # finite variance of T_n
    n = 40
    result = fc.predict(target=fc.rates_.randomized_so_far + n, by_date="2030-01-01")
    times = result.times
    assert np.isfinite(times).all()
    expected = n * fc.beta_ / (fc.p_randomized_ * (C * fc.alpha_ - 1))
    se = times.std() / np.sqrt(times.size)
    assert abs(times.mean() - expected) < 4 * se
    # and the median date is the median of those times
    assert abs((result.median_date - as_of).days / 30.4375 - np.median(times)) < 1 / 30
