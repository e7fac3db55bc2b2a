"""Model uncertainty for the default forecast: constant vs declining rates, and site closure.

Real trials rarely keep the model's assumptions: screening rates often decline (oncology
trials lose a few % per month) and sites stop screening without announcing it. The default
forecast (``model="averaged"``) does not bet on one model:

**Declining rates, averaged by evidence.** Site rates follow ``lambda_i * exp(-gamma * age)``
with a prior that puts half its mass on ``gamma = 0`` (constant rates) and half on a
half-normal with scale :data:`DECAY_PRIOR_SCALE` (5% per month: declines of 2-8% per month
are plausible, 20% is not). The posterior weight of decline is the Bayes factor of the two
models (a Laplace approximation around the ML fit of the decay model: likelihood ratio times
the prior's density integrated against the normal approximation of ``gamma``), and the
decline's posterior is the truncated normal that multiplies the two. Each simulation draws
the model by that weight, then its parameters from their sampling distribution.

**Site closure.** Each site stops screening for good at a hazard ``h`` per month,
``h ~ Gamma(CLOSURE_PRIOR)`` (mean 0.5% per month) updated with the site-months observed and
the sites that look closed. A site silent for ``s`` months with current rate ``lambda`` is
closed with probability ``A / (A + B)``, ``A = h / (h + lambda) * (1 - exp(-(h + lambda) s))``
(it closed during the silence, before screening anyone), ``B = exp(-(h + lambda) s)`` (it is
open and screened nobody by chance); each simulation closes such sites with that
probability. Open sites close later at the same hazard, which multiplies their expected rate
by ``exp(-h t)``: the simulation folds it into the decline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, ndtr, ndtri
from scipy.stats import norm

from screenkit.forecast.model import GAMMA_BOUNDS, Hyperparameters, SiteData

__all__ = [
    "CLOSURE_PRIOR",
    "DECAY_PRIOR_SCALE",
    "DecayPosterior",
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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rates, gamma, hazard)`` after site closure, per simulation.

    ``rates`` (sims, sites) are screening rates at age 0; closed sites get rate 0, open ones
    ``rates * exp(h * age now)`` with ``gamma + h``, which gives their expected rate times the
    chance ``exp(-h t)`` that they are still open ``t`` months after the as-of date.
    """
    n = rates.shape[0]
    age_now = np.maximum(-data.act, 0.0)
    now = rates * np.exp(-gamma[:, None] * age_now[None, :])
    shape, rate, _ = closure_hazard_posterior(data, now.mean(axis=0))
    u_h, u_closed = rng.random(n), rng.random((n, rates.shape[1]))
    if uncertain:
        from scipy.special import gammaincinv

        h = gammaincinv(shape, u_h) / rate
    else:
        h = np.full(n, shape / rate)
    closed = u_closed < closure_probability(h[:, None], now, data.silent[None, :])
    out = np.where(closed, 0.0, rates * np.exp(h[:, None] * age_now[None, :]))
    return out, gamma + h, h
