"""``RecruitmentForecast``: fit the Poisson-gamma model to a log, predict the time to target.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> days = np.sort(rng.integers(0, 300, 120))
>>> log = pd.DataFrame({
...     "patient_id": [f"P{i}" for i in range(120)],
...     "site_id": rng.choice(["A", "B", "C", "D"], 120),
...     "screening_date": pd.Timestamp("2025-08-06") + pd.to_timedelta(days, unit="D"),
...     "randomized": rng.random(120) < 0.6,
... })
>>> fc = RecruitmentForecast(n_sims=2000, random_state=0).fit(log)
>>> result = fc.predict(target=150, by_date="2027-05-31")
>>> result.median_date < pd.Timestamp("2027-05-31")
True
>>> [key for key in result.to_dict()][:4]
['target', 'as_of', 'randomized_so_far', 'median_date']
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from screenkit.errors import ScreenkitError
from screenkit.forecast.model import (
    Hyperparameters,
    fit_hyperparameters,
    site_data,
    site_posterior,
)
from screenkit.forecast.notes import model_notes
from screenkit.forecast.predict import predict as predict_forecast
from screenkit.forecast.prior import DeclinePrior, resolve_decline_prior
from screenkit.forecast.probability import randomization_probability, resolve_log
from screenkit.forecast.rates import RecruitmentRates, recruitment_rates
from screenkit.forecast.result import ForecastResult
from screenkit.forecast.uncertainty import (
    CHANGE_RANGE,
    CLOSURE_PRIOR,
    change_grid,
    change_posterior,
    decay_posterior,
)

__all__ = ["RecruitmentForecast"]

MODELS = ("averaged", "posterior", "constant", "decay", "auto")


class RecruitmentForecast:
    """Poisson-gamma recruitment forecast (Anisimov & Fedorov 2007), sklearn-like.

    Parameters
    ----------
    model
        ``"posterior"`` (default): site rates that may change by a constant share per month,
        that change averaged over its posterior, with sites that may stop screening (see
        :mod:`screenkit.forecast.uncertainty`; calibrated on trials that decline, stagger
        and lose sites, ``bench/forecast_calibration.py``). ``"averaged"`` (the previous
        default: constant and declining rates averaged by evidence), ``"constant"`` site
        rates only, ``"decay"`` (``lambda_i * exp(-gamma * months open)``) only, or
        ``"auto"`` (the one of those two with the lower AIC). Constant and decay are always
        fitted; ``aic_`` compares them.
    n_sims
        Monte Carlo simulations.
    random_state
        Seed (int) or ``numpy.random.Generator``; the same seed gives the same answers.
    parameter_uncertainty
        Draw (alpha, beta[, gamma]) from their sampling distribution (inverse Hessian on the
        log scale) and the randomization probability from its Beta posterior. ``False`` gives
        plug-in intervals, which are too narrow; kept for comparison.
    randomized_given_eligible
        Probability an eligible patient is randomized, used only when the log cannot
        estimate it (no ``randomized`` column, or nobody randomized yet).
    decline_prior_sd, decline_prior_mean, decline_range
        The ``"posterior"`` model's normal prior on the monthly decline (SD and centre,
        fractions per month) and the range of declines it considers (negative = rising
        rates). ``None`` (default): the ``decline_prior:`` of the protocol file of the
        Evaluation fitted, else :data:`~screenkit.forecast.uncertainty.CHANGE_PRIOR_SD`
        5% and :data:`~screenkit.forecast.uncertainty.CHANGE_PRIOR_MEAN` 3.5% (chosen by
        the calibration study). ``decline_prior_`` holds the prior used and its source
        (:class:`~screenkit.forecast.prior.DeclinePrior`), which the notes and JSON name.
    decline_prior_source
        What a given ``decline_prior_mean`` / ``_sd`` is called in the notes (``screenkit
        forecast --decline-prior`` passes ``"--decline-prior"``).
    closure_prior
        Gamma (shape, rate per site-month) prior of the site closure hazard.
    """

    def __init__(
        self,
        model: str = "posterior",
        n_sims: int = 4000,
        random_state: int | np.random.Generator | None = None,
        parameter_uncertainty: bool = True,
        randomized_given_eligible: float = 1.0,
        decline_prior_sd: float | None = None,
        closure_prior: tuple[float, float] = CLOSURE_PRIOR,
        decline_range: tuple[float, float] = CHANGE_RANGE,
        decline_prior_mean: float | None = None,
        decline_prior_source: str = "argument",
    ) -> None:
        self.model = model
        self.n_sims = n_sims
        self.random_state = random_state
        self.parameter_uncertainty = parameter_uncertainty
        self.randomized_given_eligible = randomized_given_eligible
        self.decline_prior_sd = decline_prior_sd
        self.closure_prior = closure_prior
        self.decline_range = decline_range
        self.decline_prior_mean = decline_prior_mean
        self.decline_prior_source = decline_prior_source

    def __repr__(self) -> str:
        return (
            f"RecruitmentForecast(model={self.model!r}, n_sims={self.n_sims}, "
            f"random_state={self.random_state!r})"
        )

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        log: Any,
        sites: pd.DataFrame | str | None = None,
        as_of: Any = None,
        eligibility: Any = None,
    ) -> RecruitmentForecast:
        """Estimate site rates and the randomization probability from a screening log.

        ``log`` is a DataFrame, ``ScreeningData`` or ``Evaluation``; ``sites`` an optional
        sites table (``site_id``, ``activation_date``, ``closing_date``); ``eligibility`` an
        optional replacement for the log's eligibility (see :meth:`with_eligibility`).

        An Evaluation with changed thresholds (``evaluate(data, protocol, lesion_max_cm=7)``)
        is a what-if: ``fit(relaxed)`` is ``fit(as_run).with_eligibility(relaxed)``, where
        ``as_run`` is the same data at the protocol's own values (see
        :mod:`screenkit.forecast.outcome`). An Evaluation that decides no patient (a log
        without the clinical columns) gives way to the log's own recorded outcome.
        """
        if self.model not in MODELS:
            raise ScreenkitError(
                "Unknown forecast model", value=self.model, expected=", ".join(MODELS)
            )
        if not 0 < self.randomized_given_eligible <= 1:
            raise ScreenkitError(
                "randomized_given_eligible is a probability",
                value=self.randomized_given_eligible,
                expected="a number in (0, 1]",
            )
        self.protocol_ = getattr(log, "protocol", None) if hasattr(log, "status") else None
        self.decline_prior_: DeclinePrior = resolve_decline_prior(
            self.decline_prior_mean,
            self.decline_prior_sd,
            self.protocol_,
            self.decline_prior_source,
        )
        log, what_if, source, notes = resolve_log(log)
        rates = recruitment_rates(log, sites=sites, as_of=as_of)
        data = site_data(rates)
        fits = {m: fit_hyperparameters(data, m) for m in ("constant", "decay")}
        self.base_rates_: RecruitmentRates = rates
        self.rates_: RecruitmentRates = rates
        self._log, self._sites, self._source = log, sites, source
        self.site_data_ = data
        self.fits_: dict[str, Hyperparameters] = fits
        self.aic_ = {m: f.aic for m, f in fits.items()}
        self.preferred_model_ = min(self.aic_, key=self.aic_.get)
        self.model_ = self.preferred_model_ if self.model == "auto" else self.model
        hyper = fits[self.model_ if self.model_ in fits else "constant"]
        self.hyper_ = hyper
        self.alpha_, self.beta_, self.mu_, self.gamma_ = (
            hyper.alpha,
            hyper.beta,
            hyper.mu,
            hyper.gamma,
        )
        self.decay_posterior_ = decay_posterior(fits["constant"], fits["decay"])
        if self.model_ == "averaged":
            post = self.decay_posterior_
            self.gamma_ = post.weight * post.mean
            hyper = fits["decay"] if post.weight > 0.5 else fits["constant"]
        if self.model_ == "posterior":
            self.change_posterior_ = change_posterior(
                data,
                change_grid(*self.decline_range),
                self.decline_prior_.sd,
                self.decline_prior_.mean,
            )
            hyper = self.change_posterior_.hyperparameters()
            self.gamma_ = self.change_posterior_.mean
        self.site_posterior_ = site_posterior(hyper, data)
        notes = list(rates.notes) + notes
        if data.tau[data.tau > 0].size < 2:
            notes.append(
                "Only one site has been observed: the spread of rates between sites cannot "
                f"be estimated, so it is fixed at gamma shape {hyper.alpha:g} "
                "(typical of multicentre trials)."
            )
        elif hyper.at_bound:
            notes.append(
                "Site rates look alike (no extra-Poisson spread): the between-site shape "
                "alpha sits at its bound."
            )
        notes += model_notes(self)
        self._base_notes = notes
        self._set_probability(what_if if eligibility is None else eligibility)
        return self

    def _set_probability(self, eligibility: Any) -> None:
        """The randomization probability and the patients still open (see
        :func:`screenkit.forecast.probability.randomization_probability`)."""
        prob = randomization_probability(
            self.base_rates_,
            self._base_notes,
            self._source,
            self._log,
            self._sites,
            eligibility,
            self.randomized_given_eligible,
        )
        self.open_ = prob.open
        self.rates_ = prob.rates
        self.eligibility_ = prob.eligibility
        self.p_eligible_ = prob.p_eligible
        self.p_conversion_ = prob.p_conversion
        self.pending_ = prob.pending
        self.pending_conversion_ = prob.pending_conversion
        self.p_randomized_ = prob.p_randomized
        self.notes_ = prob.notes

    def with_eligibility(self, eligibility: Any) -> RecruitmentForecast:
        """A copy using another eligibility (what-if); site rates are not refitted.

        ``eligibility``: an ``Evaluation`` of the same log with relaxed parameters, a status
        Series indexed like the log, or a fixed eligibility rate. The eligible-to-randomized
        probability comes from the protocol as run (for an Evaluation, the same data at the
        protocol's own values; otherwise the log's status). With an Evaluation or Series,
        the patients whose outcome the log leaves open (screening pending, or eligible with
        a blank ``randomized``) are re-sorted by it: pending there stays pending, eligible
        there awaits randomization, screen-failed there drops out; patients the log has
        settled stay settled. A fixed rate keeps the log's pending. The original forecast
        is unchanged; ``fit(log).with_eligibility(evaluation)`` and ``fit(evaluation)`` give
        the same forecast.
        """
        self._check_fitted()
        other = copy.copy(self)
        other._set_probability(eligibility)
        if getattr(eligibility, "protocol", None) is not None:
            other.protocol_ = eligibility.protocol  # its target and completion date
        return other

    # -------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "hyper_"):
            raise ScreenkitError(
                "This RecruitmentForecast is not fitted yet", hint="call .fit(log) first."
            )

    def predict(
        self,
        target: int | None = None,
        by_date: Any = None,
        new_sites_open: Any = None,
        new_sites_probability: float = 0.8,
        max_new_sites: int = 200,
    ) -> ForecastResult:
        """Date the target is reached, P(target by ``by_date``), and sites needed.

        ``target`` and ``by_date`` default to the ``target:`` and ``primary_completion:`` of
        the protocol of the Evaluation the forecast was fitted on; without one, ``target``
        must be given and ``by_date`` is one year after the as-of date (and a note says so).

        ``new_sites_open``: when additional sites would open (default three months after
        the as-of date). Each new site's screening rate is drawn from the fitted
        between-site distribution Gamma(alpha, beta) (mean ``alpha / beta`` screened per
        site-month), not set to the typical (mean) rate, so the spread between sites is
        part of the answer; with the decay model new rates decline likewise.
        """
        self._check_fitted()
        return predict_forecast(
            self, target, by_date, new_sites_open, new_sites_probability, max_new_sites
        )
