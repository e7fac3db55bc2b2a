"""The Poisson-gamma recruitment model (Anisimov & Fedorov, Stat Med 2007), fitted by ML.

Each site screens as a Poisson process with rate ``lambda_i``; rates vary between sites as
Gamma(alpha, beta) (shape alpha, rate beta, mean ``mu = alpha / beta`` per month). With
``k_i`` screenings at event ages ``s_ij`` over ``tau_i`` months of activity, the marginal
likelihood of the event times, integrating ``lambda_i`` out, is

    Gamma(alpha + k) / Gamma(alpha) * beta^alpha / (beta + E_i)^(alpha + k) * exp(-gamma S_i)

with ``E_i = tau_i`` and ``gamma = 0`` in the constant model, and ``E_i = (1 - exp(-gamma
tau_i)) / gamma``, ``S_i = sum_j s_ij`` in the decay model (``lambda_i exp(-gamma * age)``,
age = months since the site opened). Both are the same density, so their AIC compare.
The posterior of a site's rate is Gamma(alpha + k_i, beta + E_i).

When a site's activation is its first screening date, that first screening only marks the
start and is not counted (counting it biases rates upwards).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln

from screenkit.errors import InputError
from screenkit.forecast.rates import DAYS_PER_MONTH, RecruitmentRates
from screenkit.forecast.simulate import exposure

__all__ = ["Hyperparameters", "SiteData", "fit_hyperparameters", "site_data"]

LOG_ALPHA_BOUNDS = (np.log(0.02), np.log(500.0))
LOG_MU_BOUNDS = (np.log(1e-6), np.log(1e4))
GAMMA_BOUNDS = (0.0, 1.0)  # decline only: rates that grow forever are not a forecast
ONE_SITE_ALPHA = 1.5  # clinical-facts prior: between-site gamma shape 1-2


@dataclass(frozen=True)
class SiteData:
    """Per-site arrays in months relative to the as-of date."""

    site_id: np.ndarray
    act: np.ndarray  # activation (negative: opened before as-of)
    close: np.ndarray  # closing (inf: open-ended)
    k: np.ndarray  # screenings used in the fit
    tau: np.ndarray  # months of activity observed
    age_sum: np.ndarray  # sum of event ages (months since activation)
    last_age: np.ndarray | None = None  # age at the last screening (0 when none)

    @property
    def silent(self) -> np.ndarray:
        """Months each site has been silent: since its last screening (or its opening)."""
        last = np.zeros_like(self.tau) if self.last_age is None else self.last_age
        return np.maximum(self.tau - last, 0.0)

    @property
    def open_(self) -> np.ndarray:
        return np.maximum(self.act, 0.0)


def site_data(rates: RecruitmentRates) -> SiteData:
    """Arrays for the likelihood and the simulation from a :class:`RecruitmentRates`."""
    sites = rates.sites
    as_of = rates.as_of
    act = ((sites["activation_date"] - as_of).dt.days / DAYS_PER_MONTH).to_numpy(float)
    close = ((sites["closing_date"] - as_of).dt.days / DAYS_PER_MONTH).to_numpy(float)
    close = np.where(np.isnan(close), np.inf, close)
    pts = rates.patients.merge(
        sites[["site_id", "activation_date", "activation_source"]], on="site_id"
    )
    pts = pts.assign(age=(pts["screening_date"] - pts["activation_date"]).dt.days / DAYS_PER_MONTH)
    first = pts["activation_source"].eq("first screening")
    # the screening that defines the start of an inferred window is not an event of it
    pts = pts.sort_values(["site_id", "screening_date"], kind="stable")
    drop = first.loc[pts.index] & ~pts["site_id"].duplicated(keep="first")
    used = pts[~drop]
    grouped = used.groupby("site_id")["age"]
    k = grouped.size().reindex(sites["site_id"], fill_value=0).to_numpy(float)
    age_sum = grouped.sum().reindex(sites["site_id"], fill_value=0.0).to_numpy(float)
    # the last screening of a site, including one that only marked its start
    last = pts.groupby("site_id")["age"].max().reindex(sites["site_id"], fill_value=0.0)
    return SiteData(
        site_id=sites["site_id"].to_numpy(str),
        act=act,
        close=close,
        k=k,
        tau=sites["months_active"].to_numpy(float),
        age_sum=age_sum,
        last_age=last.fillna(0.0).clip(lower=0.0).to_numpy(float),
    )


def _unpack(theta: np.ndarray, decay: bool) -> tuple[float, float, float]:
    alpha, mu = np.exp(theta[0]), np.exp(theta[1])
    return alpha, alpha / mu, (theta[2] if decay else 0.0)


def log_likelihood(theta: np.ndarray, data: SiteData, decay: bool) -> float:
    """Marginal log-likelihood of the event times, parameters ``(log alpha, log mu[, gamma])``."""
    alpha, beta, gamma = _unpack(theta, decay)
    seen = data.tau > 0
    k, tau = data.k[seen], data.tau[seen]
    e = exposure(tau, np.asarray(gamma))
    ll = gammaln(alpha + k) - gammaln(alpha) + alpha * np.log(beta) - (alpha + k) * np.log(beta + e)
    return float(ll.sum() - gamma * data.age_sum[seen].sum())


def _hessian(f, x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    n = x.size
    hess = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.eye(n)[i] * h, np.eye(n)[j] * h
            val = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h * h)
            hess[i, j] = hess[j, i] = val
    return hess


@dataclass(frozen=True)
class Hyperparameters:
    """ML estimates on the working scale ``(log alpha, log mu[, gamma])`` and their covariance."""

    model: str
    theta: np.ndarray
    cov: np.ndarray
    log_likelihood: float
    n_params: int
    estimated_shape: bool
    at_bound: bool

    @property
    def alpha(self) -> float:
        return float(np.exp(self.theta[0]))

    @property
    def mu(self) -> float:
        return float(np.exp(self.theta[1]))

    @property
    def beta(self) -> float:
        return self.alpha / self.mu

    @property
    def gamma(self) -> float:
        return float(self.theta[2]) if self.model == "decay" else 0.0

    @property
    def aic(self) -> float:
        return 2 * self.n_params - 2 * self.log_likelihood

    def draw(self, rng: np.random.Generator, n: int, uncertain: bool = True) -> dict:
        """``alpha``, ``beta``, ``gamma`` arrays of length ``n`` (MVN on the working scale)."""
        if uncertain:
            theta = rng.multivariate_normal(self.theta, self.cov, size=n, method="eigh")
        else:
            theta = np.tile(self.theta, (n, 1))
        theta[:, 0] = np.clip(theta[:, 0], *LOG_ALPHA_BOUNDS)
        alpha, mu = np.exp(theta[:, 0]), np.exp(theta[:, 1])
        gamma = np.clip(theta[:, 2], *GAMMA_BOUNDS) if self.model == "decay" else np.zeros(n)
        return {"alpha": alpha, "beta": alpha / mu, "gamma": gamma}


def _covariance(hess: np.ndarray) -> np.ndarray:
    """Inverse of the observed information, with flat directions capped (SD <= 2 on log scale)."""
    vals, vecs = np.linalg.eigh((hess + hess.T) / 2)
    vals = np.maximum(vals, 0.25)
    return (vecs / vals) @ vecs.T


def fit_hyperparameters(data: SiteData, model: str = "constant") -> Hyperparameters:
    """Maximum-likelihood (alpha, mu[, gamma]) with the inverse-Hessian covariance."""
    decay = model == "decay"
    seen = data.tau > 0
    total_k, total_tau = data.k[seen].sum(), data.tau[seen].sum()
    if total_k == 0 or total_tau <= 0:
        raise InputError(
            "Rates cannot be estimated: no screening falls inside an observed site window",
            value=f"{int(total_k)} screenings over {total_tau:.1f} site-months",
            hint="give the sites' activation dates (--sites) or use a later --as-of date.",
        )
    mu0 = total_k / total_tau
    n_seen = int(seen.sum())
    if n_seen < 2:
        # one site: the between-site spread cannot be estimated; fix the shape
        log_alpha = np.log(ONE_SITE_ALPHA)

        def nll1(t):
            return -log_likelihood(np.r_[log_alpha, t], data, decay)

        start = np.r_[np.log(mu0), 0.0] if decay else np.r_[np.log(mu0)]
        bounds = [LOG_MU_BOUNDS] + ([GAMMA_BOUNDS] if decay else [])
        res = minimize(nll1, start, method="SLSQP", bounds=bounds)
        sub = _covariance(_hessian(nll1, res.x))
        cov = np.zeros((sub.shape[0] + 1,) * 2)
        cov[1:, 1:] = sub
        return Hyperparameters(
            model, np.r_[log_alpha, res.x], cov, -float(res.fun), len(res.x), False, False
        )

    def nll(t):
        return -log_likelihood(t, data, decay)

    bounds = [LOG_ALPHA_BOUNDS, LOG_MU_BOUNDS] + ([GAMMA_BOUNDS] if decay else [])
    best = None
    for log_alpha0 in (0.0, 2.0):
        start = np.r_[log_alpha0, np.log(mu0)] if not decay else np.r_[log_alpha0, np.log(mu0), 0.0]
        res = minimize(nll, start, method="SLSQP", bounds=bounds)
        if best is None or res.fun < best.fun:
            best = res
    theta = best.x
    at_bound = bool(
        theta[0] >= LOG_ALPHA_BOUNDS[1] - 1e-3 or theta[0] <= LOG_ALPHA_BOUNDS[0] + 1e-3
    )
    cov = _covariance(_hessian(nll, theta))
    return Hyperparameters(model, theta, cov, -float(best.fun), len(theta), True, at_bound)


def site_posterior(hyper: Hyperparameters, data: SiteData) -> pd.DataFrame:
    """Per-site posterior of the screening rate at the ML hyperparameters."""
    e = exposure(data.tau, np.asarray(hyper.gamma))
    shape = hyper.alpha + data.k
    rate = hyper.beta + e
    age_now = np.maximum(-data.act, 0.0)
    now = np.exp(-hyper.gamma * age_now)
    observed = np.where(data.tau > 0, data.k / np.where(data.tau > 0, data.tau, 1), np.nan)
    from scipy.stats import gamma as gamma_dist

    lo = gamma_dist.ppf(0.1, shape, scale=1 / rate) * now
    hi = gamma_dist.ppf(0.9, shape, scale=1 / rate) * now
    return pd.DataFrame(
        {
            "site_id": data.site_id,
            "months_observed": data.tau,
            "screenings_fitted": data.k.astype(int),
            "observed_rate": observed,
            "fitted_rate": shape / rate * now,
            "fitted_low80": lo,
            "fitted_high80": hi,
            "posterior_shape": shape,
            "posterior_rate": rate,
        }
    )
