"""Model uncertainty for the forecast: how site rates change over time, and site closure.

Real trials rarely keep the model's assumptions: screening rates often decline (oncology
trials lose a few % per month) and sites stop screening without announcing it. The default
forecast (``model="posterior"``) does not bet on one model:

**The monthly change, with its posterior.** Site rates follow
``lambda_i * exp(-gamma * age)`` (age = months since the site opened; ``gamma > 0`` a
decline, ``< 0`` a rise). ``gamma`` takes the values of a grid (:data:`CHANGE_RANGE`, from
5% growth to 30% decline per month, steps of :data:`CHANGE_STEP`); at each point the
between-site Gamma(alpha, mu) is fitted by maximum likelihood and its marginal likelihood
Laplace-integrated (flat priors on log alpha, log mu), times a normal prior on ``gamma``
with mean :data:`CHANGE_PRIOR_MEAN` (a decline of 3.5% per month) and SD
:data:`CHANGE_PRIOR_SD` (5%). Why that prior: oncology trials' screening commonly declines
by a few % per month, and where a log cannot tell its decline (few sites, early in the
trial) the interval is the prior's spread of declines, so the prior must span the declines
trials really have (the calibration's families: 0 to 8% per month, both within one SD)
without the long tail of steep declines that a prior centred on constant rates with SD 10%
had (10% of its mass above 15% per month, at which the target is often never reached).
Its centre and SD were chosen by the calibration study (``bench/forecast_prior_scan.py``,
``bench/forecast_calibration.py``), not taken from published trials: against SD 10% centred
on 0, the 80% intervals are about a fifth narrower, with every family still covering at
least 78%. Each simulation draws a grid
cell by its posterior weight (a uniform position inside it), then ``(log alpha, log mu)``
from that cell's normal approximation, then each site's rate from its Gamma posterior: the
intervals carry the doubt about the decline, skewed as the likelihood is, instead of one
estimate. Why this and not a spike at constant rates plus a half-normal (the previous
default, ``model="averaged"``, kept for comparison): that prior shrank an 8%/month decline
towards 0 (80% intervals covered 69% of such trials, the misses late) and widened 2% ones
(92%); ``bench/forecast_calibration.py`` has the table. Checked against the truth
(2026-12, ``bench/forecast_oracle.py``): with the decline fixed at its true value and
everything else estimated, the 80% / 90% intervals cover 0.81 / 0.91 of the calibration's
950 trials without closures (mean PIT 0.498), as forecasts given every site's true rate
do (0.82 / 0.91); so what the declining families show beyond the goal is the decline's
own uncertainty, not an error in the ages, the rates' posterior or the simulation.

**Previous default: declining rates, averaged by evidence.** Site rates follow ``lambda_i *
exp(-gamma * age)`` with a prior that puts half its mass on ``gamma = 0`` (constant rates)
and half on a half-normal with scale :data:`DECAY_PRIOR_SCALE` (5% per month: declines of
2-8% per month are plausible, 20% is not). The posterior weight of decline is the Bayes
factor of the two models (a Laplace approximation around the ML fit of the decay model:
likelihood ratio times the prior's density integrated against the normal approximation of
``gamma``), and the decline's posterior is the truncated normal that multiplies the two.
Each simulation draws the model by that weight, then its parameters from their sampling
distribution.

**Site closure.** Each site stops screening for good at a hazard ``h`` per month,
``h ~ Gamma(CLOSURE_PRIOR)`` (mean 0.5% per month) updated with the site-months observed and
the sites that look closed. A site silent for ``s`` months with current rate ``lambda`` (its
rate now, under the simulation's drawn decline) is closed with probability ``A / (A + B)``,
``A = h / (h + lambda) * (1 - exp(-(h + lambda) s))`` (it closed during the silence, before
screening anyone), ``B = exp(-(h + lambda) s)`` (it is open and screened nobody by chance);
each simulation closes such sites with that probability.

Open sites are *not* closed again later at the hazard: the decline is fitted to every
site's screening by age, the sites that stopped included (their empty late months pull the
fitted decline up), so it already extrapolates the loss of screening with age whatever its
cause; multiplying open sites' rates by a further ``exp(-h t)`` (as this model did until
the calibration of 2026-12) counted the same loss twice. On the calibration's trials
(``bench/forecast_calibration.py --ablate``, 7 families x 100, the same fits) dropping
that second count narrows each trial's 80% interval by 5-10% (median per family; overall
median width 1.32 to 1.15 of the time left), makes the 90% upper end a date in 62% of
trials instead of 56%, and moves the overall coverage from 0.844 / 0.939 to 0.843 / 0.941
(80% / 90%; no family by more than 0.02, SE about 0.04).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, ndtr, ndtri
from scipy.stats import norm

from screenkit.forecast.model import (
    GAMMA_BOUNDS,
    LOG_ALPHA_BOUNDS,
    LOG_MU_BOUNDS,
    ONE_SITE_ALPHA,
    Hyperparameters,
    SiteData,
    _covariance,
    _hessian,
    log_likelihood,
)

__all__ = [
    "CHANGE_PRIOR_MEAN",
    "CHANGE_PRIOR_SD",
    "CHANGE_RANGE",
    "CLOSURE_PRIOR",
    "DECAY_PRIOR_SCALE",
    "ChangePosterior",
    "DecayPosterior",
    "change_grid",
    "change_posterior",
    "closure_probability",
    "decay_posterior",
]

DECAY_PRIOR_SCALE = 0.05  # half-normal scale of the decline, per month
CLOSURE_PRIOR = (1.0, 200.0)  # Gamma(shape, rate per site-month) of the closure hazard


@dataclass(frozen=True)
class DecayPosterior:
    """Posterior weight of declining rates and the (truncated normal) posterior of gamma."""

    weight: float  # P(declining rates | data)
    loc: float  # normal location before truncation at 0
    scale: float

    def draw(self, u: np.ndarray) -> np.ndarray:
        """Declines at the given uniforms (inverse CDF of the truncated normal)."""
        lo = ndtr(-self.loc / self.scale)
        g = self.loc + self.scale * ndtri(lo + u * (1 - lo))
        return np.clip(np.nan_to_num(g, nan=0.0), *GAMMA_BOUNDS)

    @property
    def mean(self) -> float:
        """Posterior mean of the decline given that rates decline."""
        a = -self.loc / self.scale
        return float(self.loc + self.scale * norm.pdf(a) / max(norm.sf(a), 1e-300))


def decay_posterior(
    constant: Hyperparameters, decay: Hyperparameters, scale: float = DECAY_PRIOR_SCALE
) -> DecayPosterior:
    """Evidence weight of the decay model against the constant one, and gamma's posterior."""
    g_hat = decay.gamma
    v = float(max(decay.cov[2, 2], 1e-12))
    s2 = scale**2
    loc = g_hat * s2 / (s2 + v)
    sd = float(np.sqrt(v * s2 / (s2 + v)))
    log_bf = (
        decay.log_likelihood
        - constant.log_likelihood
        + 0.5 * np.log(2 * np.pi * v)
        + np.log(2.0)
        + norm.logpdf(g_hat, 0.0, np.sqrt(v + s2))
        + norm.logcdf(loc / sd)
    )
    return DecayPosterior(weight=float(expit(log_bf)), loc=float(loc), scale=sd)


def closure_probability(h: np.ndarray, rate: np.ndarray, silent: np.ndarray) -> np.ndarray:
    """P(a site closed | silent for ``silent`` months), hazard ``h``, screening ``rate``."""
    total = h + rate
    stay = np.exp(-total * silent)
    with np.errstate(divide="ignore", invalid="ignore"):
        closed = np.where(total > 0, h / total, 0.0) * (1.0 - stay)
    return np.where(silent > 0, closed / (closed + stay), 0.0)


def closure_hazard_posterior(
    data: SiteData, rate_now: np.ndarray, prior: tuple[float, float] = CLOSURE_PRIOR
) -> tuple[float, float, np.ndarray]:
    """``(shape, rate)`` of the hazard's Gamma posterior and each site's P(closed) at its
    mean (sites that look closed count as closures, the site-months as exposure)."""
    a0, b0 = prior
    p_closed = closure_probability(np.asarray(a0 / b0), rate_now, data.silent)
    exposure = float(np.sum(data.tau))
    return a0 + float(p_closed.sum()), b0 + exposure, p_closed


def draw_closures(
    rng: np.random.Generator,
    data: SiteData,
    rates: np.ndarray,
    gamma: np.ndarray,
    uncertain: bool = True,
    prior: tuple[float, float] = CLOSURE_PRIOR,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rates, gamma, hazard)`` after site closure, per simulation.

    ``rates`` (sims, sites) are screening rates at age 0; sites that look closed (silent for
    longer than their rate now, under the drawn ``gamma``, implies) get rate 0 with their
    probability of being closed; open ones keep their rate and ``gamma`` is returned as it
    is (the fitted decline already carries the loss of screening with age, closures
    included: see the module docstring). ``hazard`` is the drawn closure hazard.

    >>> import numpy as np
    >>> from screenkit.forecast.model import SiteData
    >>> data = SiteData(np.array(["A", "B"]), np.array([-12.0, -12.0]), np.full(2, np.inf),
    ...                 np.array([30.0, 3.0]), np.full(2, 12.0), np.zeros(2),
    ...                 last_age=np.array([11.9, 1.0]))
    >>> rates, gamma, h = draw_closures(np.random.default_rng(0), data,
    ...                                 np.full((400, 2), 2.5), np.zeros(400))
    >>> bool(np.all(rates[:, 0] == 2.5)), bool(np.all(rates[:, 1] == 0)), bool(np.all(gamma == 0))
    (True, True, True)
    """
    n = rates.shape[0]
    age_now = np.maximum(-data.act, 0.0)
    now = rates * np.exp(-gamma[:, None] * age_now[None, :])
    shape, rate, _ = closure_hazard_posterior(data, now.mean(axis=0), prior)
    u_h, u_closed = rng.random(n), rng.random((n, rates.shape[1]))
    if uncertain:
        from scipy.special import gammaincinv

        h = gammaincinv(shape, u_h) / rate
    else:
        h = np.full(n, shape / rate)
    closed = u_closed < closure_probability(h[:, None], now, data.silent[None, :])
    return np.where(closed, 0.0, rates), gamma, h


# ---------------------------------------------------------------- rate change, on a grid
CHANGE_RANGE = (-0.05, 0.30)  # monthly decline considered: from 5% growth to 30% decline
CHANGE_STEP = 0.01
# The normal prior on the monthly decline: centred on a decline of 3.5% per month with SD
# 5%, so constant rates and an 8% decline are both within one SD (chosen by the calibration
# study, bench/forecast_calibration.py and bench/forecast_prior_scan.py).
CHANGE_PRIOR_MEAN = 0.035
CHANGE_PRIOR_SD = 0.05


@dataclass(frozen=True)
class ChangePosterior:
    """Posterior of the monthly rate change ``gamma`` on a grid, with the between-site
    Gamma(alpha, mu) fitted at each grid point.

    ``weights[j]`` is P(gamma in the cell of ``grid[j]`` | data); ``theta[j]`` the ML
    ``(log alpha, log mu)`` with ``gamma = grid[j]`` and ``cov[j]`` its covariance.
    """

    grid: np.ndarray
    weights: np.ndarray
    theta: np.ndarray  # (G, 2)
    cov: np.ndarray  # (G, 2, 2)
    log_likelihood: np.ndarray  # (G,), profile over (alpha, mu)
    prior_sd: float
    prior_mean: float = CHANGE_PRIOR_MEAN

    @property
    def step(self) -> float:
        return float(self.grid[1] - self.grid[0]) if self.grid.size > 1 else 0.0

    @property
    def mean(self) -> float:
        return float(self.weights @ self.grid)

    @property
    def p_decline(self) -> float:
        """P(rates decline by more than half a grid step per month | data)."""
        return float(self.weights[self.grid > self.step / 2].sum())

    def quantile(self, q: float) -> float:
        cdf = np.cumsum(self.weights)
        return float(self.grid[min(np.searchsorted(cdf, q), self.grid.size - 1)])

    @property
    def best(self) -> int:
        return int(
            np.argmax(self.log_likelihood + _log_prior(self.grid, self.prior_sd, self.prior_mean))
        )

    def hyperparameters(self) -> Hyperparameters:
        """The posterior mode as a decay-model :class:`Hyperparameters` (for site rates)."""
        j = self.best
        cov = np.zeros((3, 3))
        cov[:2, :2] = self.cov[j]
        cov[2, 2] = max(self.step, 1e-3) ** 2
        theta = np.r_[self.theta[j], self.grid[j]]
        at_bound = bool(
            theta[0] >= LOG_ALPHA_BOUNDS[1] - 1e-3 or theta[0] <= LOG_ALPHA_BOUNDS[0] + 1e-3
        )
        return Hyperparameters(
            "decay", theta, cov, float(self.log_likelihood[j]), 3, True, at_bound
        )

    def draw(self, rng: np.random.Generator, n: int, uncertain: bool = True) -> dict:
        """``alpha``, ``beta``, ``gamma`` per simulation: a grid cell by its weight (a
        uniform position inside it), then ``(log alpha, log mu)`` from that cell's normal."""
        if not uncertain:
            j = np.full(n, self.best)
            theta = self.theta[j]
            gamma = self.grid[j]
        else:
            j = rng.choice(self.grid.size, size=n, p=self.weights)
            gamma = self.grid[j] + self.step * (rng.random(n) - 0.5)
            chol = np.linalg.cholesky(self.cov + 1e-12 * np.eye(2))
            theta = self.theta[j] + np.einsum("nij,nj->ni", chol[j], rng.standard_normal((n, 2)))
        log_alpha = np.clip(theta[:, 0], *LOG_ALPHA_BOUNDS)
        alpha, mu = np.exp(log_alpha), np.exp(theta[:, 1])
        return {"alpha": alpha, "beta": alpha / mu, "gamma": gamma}


def _log_prior(grid: np.ndarray, sd: float, mean: float = CHANGE_PRIOR_MEAN) -> np.ndarray:
    return -0.5 * ((grid - mean) / sd) ** 2


def change_grid(lo: float, hi: float, step: float = CHANGE_STEP) -> np.ndarray:
    """The grid of monthly declines from ``lo`` to ``hi``."""
    return np.round(np.arange(lo, hi + step / 2, step), 6)


def change_posterior(
    data: SiteData,
    grid: np.ndarray | None = None,
    prior_sd: float = CHANGE_PRIOR_SD,
    prior_mean: float = CHANGE_PRIOR_MEAN,
) -> ChangePosterior:
    """Posterior of the monthly rate change on ``grid``: the profile likelihood of
    ``(alpha, mu)`` at each point, Laplace-integrated (flat priors on the log scale), times
    a normal prior with SD ``prior_sd`` centred on ``prior_mean``."""
    grid = change_grid(*CHANGE_RANGE) if grid is None else np.asarray(grid, float)
    seen = data.tau > 0
    mu0 = data.k[seen].sum() / data.tau[seen].sum()
    one_site = int(seen.sum()) < 2
    la = np.log(ONE_SITE_ALPHA)  # one site: the between-site shape is fixed
    theta = np.empty((grid.size, 2))
    cov = np.zeros((grid.size, 2, 2))
    ll = np.empty(grid.size)
    logdet = np.empty(grid.size)
    done = np.zeros(grid.size, dtype=bool)
    for j in np.argsort(np.abs(grid)):  # from constant rates outwards, warm-started
        g = float(grid[j])
        if done.any():
            x0 = theta[np.flatnonzero(done)[np.argmin(np.abs(grid[done] - g))]]
        else:
            x0 = np.r_[0.5, np.log(mu0)]
        if one_site:

            def nll1(t, g=g):
                return -log_likelihood(np.r_[la, t, g], data, True)

            res = minimize(nll1, x0[1:], method="L-BFGS-B", bounds=[LOG_MU_BOUNDS])
            theta[j] = np.r_[la, res.x]
            cov[j, 1, 1] = _covariance(_hessian(nll1, res.x))[0, 0]
            logdet[j] = float(np.log(cov[j, 1, 1]))
        else:

            def nll(t, g=g):
                return -log_likelihood(np.r_[t, g], data, True)

            res = minimize(nll, x0, method="L-BFGS-B", bounds=[LOG_ALPHA_BOUNDS, LOG_MU_BOUNDS])
            theta[j] = res.x
            cov[j] = _covariance(_hessian(nll, res.x))
            logdet[j] = float(np.linalg.slogdet(cov[j])[1])
        ll[j] = -float(res.fun)
        done[j] = True
    log_post = ll + 0.5 * logdet + _log_prior(grid, prior_sd, prior_mean)
    w = np.exp(log_post - log_post.max())
    return ChangePosterior(
        grid=grid,
        weights=w / w.sum(),
        theta=theta,
        cov=cov,
        log_likelihood=ll,
        prior_sd=prior_sd,
        prior_mean=prior_mean,
    )
