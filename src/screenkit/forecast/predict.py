"""Predicting with a fitted forecast: Monte Carlo draws of the parameters, the site
rates, the open patients and the time the target is reached.

Each simulation draws the model's parameters (their uncertainty), each site's rate from
its posterior (and whether it has closed), how many open patients are randomized, then the
time the cumulative intensity reaches the patients still needed. Common random numbers:
the draws depend on the eligibility only through the probabilities, so a what-if with
the same seed compares simulation by simulation.

>>> import numpy as np
>>> draw_open(np.array([0, 1, -1]), np.random.default_rng(0), np.ones(4), np.zeros(4))
array([1, 1, 1, 1])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaincinv, gammaincinv

from screenkit.errors import InputError, ScreenkitError
from screenkit.forecast.answers import (
    QUANTILES,
    additional_sites,
    horizon,
    observed_counts,
    time_quantiles,
)
from screenkit.forecast.outcome import OPEN_AWAITING, OPEN_PENDING
from screenkit.forecast.probability import beta_mean
from screenkit.forecast.rates import DAYS_PER_MONTH
from screenkit.forecast.result import ForecastResult
from screenkit.forecast.simulate import cumulative_intensity, exposure, time_to_reach
from screenkit.forecast.uncertainty import draw_closures
from screenkit.style import percent

__all__ = ["MAX_MONTHS", "draw_open", "draw_p", "draw_parameters", "predict"]

MAX_MONTHS = 1200.0  # 100 years: later is "not reached" (and beyond pandas' dates)


def _months(date: Any, as_of: pd.Timestamp) -> float:
    return (pd.Timestamp(date) - as_of).days / DAYS_PER_MONTH


def _date(months: float, as_of: pd.Timestamp) -> pd.Timestamp | None:
    if not np.isfinite(months):
        return None
    return (as_of + pd.to_timedelta(months * DAYS_PER_MONTH, unit="D")).normalize()


def draw_parameters(fc: Any, rng: np.random.Generator, n: int) -> dict:
    """``alpha``, ``beta``, ``gamma`` per simulation; for the averaged model each
    simulation is constant or declining by the evidence weight."""
    uncertain = fc.parameter_uncertainty
    if fc.model_ == "posterior":
        return fc.change_posterior_.draw(rng, n, uncertain)
    if fc.model_ != "averaged":
        return fc.hyper_.draw(rng, n, uncertain)
    flat = fc.fits_["constant"].draw(rng, n, uncertain)
    decl = fc.fits_["decay"].draw(rng, n, uncertain)
    u_model, u_gamma = rng.random((2, n))
    post = fc.decay_posterior_
    declining = u_model < post.weight
    gamma = post.draw(u_gamma) if uncertain else np.full(n, post.mean)
    return {
        "alpha": np.where(declining, decl["alpha"], flat["alpha"]),
        "beta": np.where(declining, decl["beta"], flat["beta"]),
        "gamma": np.where(declining, gamma, 0.0),
    }


def draw_p(fc: Any, u_elig: np.ndarray, u_conv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draws of P(eligible) and P(randomized | eligible) by inverting the Beta CDFs at
    the given uniforms: a higher eligibility gives a higher draw in every simulation."""
    draws = []
    for part, u in ((fc.p_eligible_, u_elig), (fc.p_conversion_, u_conv)):
        if isinstance(part, tuple) and fc.parameter_uncertainty:
            draws.append(betaincinv(part[0], part[1], u))
        else:
            draws.append(np.full(u.size, beta_mean(part)))
    return draws[0], draws[1]


def draw_open(
    open_codes: np.ndarray, rng: np.random.Generator, p: np.ndarray, p_conv: np.ndarray
) -> np.ndarray:
    """How many of the open patients are randomized, per simulation.

    One uniform per simulation and open patient (the same patients for every what-if):
    pending ones are randomized with ``p``, those awaiting randomization with ``p_conv``.
    """
    total = np.zeros(p.size, dtype=int)
    codes = open_codes
    for start in range(0, codes.size, 256):
        chunk = codes[start : start + 256]
        u = rng.random((p.size, chunk.size))
        prob = np.where(
            chunk[None, :] == OPEN_PENDING,
            p[:, None],
            np.where(chunk[None, :] == OPEN_AWAITING, p_conv[:, None], 0.0),
        )
        total += (u < prob).sum(axis=1)
    return total


def predict(
    fc: Any,
    target: int | None = None,
    by_date: Any = None,
    new_sites_open: Any = None,
    new_sites_probability: float = 0.8,
    max_new_sites: int = 200,
) -> ForecastResult:
    """Date the target is reached, P(target by ``by_date``), and sites needed, for the
    fitted forecast ``fc``: the computation behind :meth:`RecruitmentForecast.predict
    <screenkit.forecast.estimator.RecruitmentForecast.predict>`, whose docstring describes
    the arguments and their defaults (the one place they are described).
    """
    protocol = fc.protocol_
    by_date_note = None
    if target is None:
        target = getattr(protocol, "target", None)
        if target is None:
            raise ScreenkitError(
                "The forecast needs a target (patients to randomize)",
                hint="pass predict(target=...), or fit an Evaluation whose protocol file "
                "has a 'target:'.",
            )
    if by_date is None:
        by_date = getattr(protocol, "primary_completion", None)
        if by_date is None:
            by_date = fc.rates_.as_of + pd.DateOffset(years=1)
            by_date_note = (
                "No primary completion date was given (predict(by_date=...), or a "
                "protocol file with 'primary_completion:'), so the probability is for "
                "one year after the as-of date."
            )
    if int(target) != target or target < 1:
        raise ScreenkitError("The target is a positive whole number", value=target)
    target = int(target)
    rates, data = fc.rates_, fc.site_data_
    as_of = rates.as_of
    by_date = pd.Timestamp(by_date).normalize()
    so_far = rates.randomized_so_far
    notes = list(fc.notes_) + ([by_date_note] if by_date_note else [])
    base = {
        "target": target,
        "as_of": as_of,
        "by_date": by_date,
        "randomized_so_far": so_far,
        "outcome": rates.outcome,
        "model": fc.model_,
        "rates": rates,
        "site_posterior": fc.site_posterior_,
        "observed": observed_counts(rates),
        "alpha": fc.alpha_,
        "beta": fc.beta_,
        "gamma": fc.gamma_,
        "p_randomized": fc.p_randomized_,
        "aic": dict(fc.aic_),
        "n_sims": fc.n_sims,
        "eligibility": fc.eligibility_,
        # the prior on the decline, where the model uses one (its notes name it too)
        "decline_prior": fc.decline_prior_ if fc.model_ == "posterior" else None,
    }
    if so_far >= target:
        reached = observed_counts(rates)
        when = reached.loc[reached["cumulative"] >= target, "date"].iloc[0]
        notes.append(f"The target of {target} was already reached on {when.date()}.")
        return ForecastResult(
            **base,
            reached=True,
            median_date=when,
            pi80=(when, when),
            pi90=(when, when),
            prob_by_date=float(when <= by_date),
            expected_by_date=float(so_far),
            count_pi80_by_date=(so_far, so_far),
            additional_sites=0,
            new_sites_open=None,
            fan=pd.DataFrame(),
            times=np.zeros(0),
            notes=tuple(notes),
        )
    close = data.close
    if not np.any(close > 0):
        raise InputError(
            f"All sites are closed as of {as_of.date()}: no further patients can be "
            f"recruited, and {so_far} of the target {target} are randomized",
            hint="add sites that will open (--sites with activation dates) or move "
            "closing dates later.",
        )
    rng = (
        fc.random_state
        if isinstance(fc.random_state, np.random.Generator)
        else np.random.default_rng(fc.random_state)
    )
    n = int(fc.n_sims)
    # common random numbers: the draws depend on the eligibility only through the
    # probabilities, so a what-if with the same seed compares simulation by simulation
    u_elig, u_conv, u_level = rng.random((3, n))
    par = draw_parameters(fc, rng, n)
    p_elig, p_conv = draw_p(fc, u_elig, u_conv)
    p = p_elig * p_conv
    e_fit = exposure(data.tau[None, :], par["gamma"][:, None])
    shape = par["alpha"][:, None] + data.k[None, :]
    rate = par["beta"][:, None] + e_fit
    lam = rng.gamma(shape, 1.0 / rate)  # posterior; prior for sites not yet observed
    if fc.model_ in ("averaged", "posterior"):  # sites that look closed (the decline
        # already carries later closures: see screenkit.forecast.uncertainty)
        lam, _, _ = draw_closures(
            rng, data, lam, par["gamma"], fc.parameter_uncertainty, fc.closure_prior
        )
    lam = lam * p[:, None]
    pend = draw_open(fc.open_, rng, p, p_conv)
    need = target - so_far - pend
    act, open_ = data.act, data.open_
    # the need-th recruit comes when the cumulative intensity reaches a Gamma(need, 1)
    # draw, here its quantile at a uniform (fewer needed: never a later time)
    level = gammaincinv(np.maximum(need, 1), u_level)
    times = time_to_reach(lam, par["gamma"], act, open_, close, np.where(need > 0, level, 0))
    times = np.where(times > MAX_MONTHS, np.inf, times)
    d = _months(by_date, as_of)
    cum_d = cumulative_intensity(lam, par["gamma"], act, open_, close, np.array([max(d, 0)]))
    cum_d = cum_d[:, 0]
    expected = float(np.mean(so_far + pend + cum_d))
    count_draw = so_far + pend + rng.poisson(cum_d)
    q = time_quantiles(times)
    if not np.isfinite(q[0.5]):
        notes.append(
            "In most simulations the target is not reached within 100 years (sites "
            "close, rates run out, or too few screened patients are randomized)."
        )
    end = horizon(times, d)
    grid = np.linspace(0, end, int(np.ceil(end)) + 1)
    cum_grid = cumulative_intensity(lam, par["gamma"], act, open_, close, grid)
    steps = rng.poisson(np.diff(cum_grid, axis=1, prepend=0.0))
    paths = so_far + pend[:, None] + np.cumsum(steps, axis=1)
    fan = pd.DataFrame(
        {
            "date": [_date(t, as_of) for t in grid],
            "mean": paths.mean(axis=0),
            **{f"q{round(k * 100):02d}": np.quantile(paths, k, axis=0) for k in QUANTILES},
        }
    )
    open_date = (
        as_of + pd.DateOffset(months=3)
        if new_sites_open is None
        else pd.Timestamp(new_sites_open).normalize()
    )
    extra = additional_sites(
        rng,
        par,
        p,
        need,
        cum_d,
        _months(open_date, as_of),
        d,
        new_sites_probability,
        max_new_sites,
    )
    if extra is None:
        notes.append(
            f"No number of sites opening on {open_date.date()} up to {max_new_sites} "
            f"reaches the target by {by_date.date()} with "
            f"{percent(new_sites_probability, 0)} probability."
        )
    return ForecastResult(
        **base,
        reached=False,
        median_date=_date(q[0.5], as_of),
        pi80=(_date(q[0.1], as_of), _date(q[0.9], as_of)),
        pi90=(_date(q[0.05], as_of), _date(q[0.95], as_of)),
        prob_by_date=float(np.mean(times <= d)),
        expected_by_date=expected,
        count_pi80_by_date=(
            int(np.quantile(count_draw, 0.1)),
            int(np.quantile(count_draw, 0.9)),
        ),
        additional_sites=extra,
        new_sites_open=open_date,
        new_sites_probability=new_sites_probability,
        fan=fan,
        times=times,
        notes=tuple(notes),
        prob_reached=float(np.mean(np.isfinite(times))),
    )
