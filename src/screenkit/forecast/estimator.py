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
from scipy.special import betaincinv, gammaincinv
from scipy.stats import beta as beta_dist

from screenkit.errors import InputError, ScreenkitError
from screenkit.forecast.answers import (
    QUANTILES,
    additional_sites,
    horizon,
    observed_counts,
    time_quantiles,
)
from screenkit.forecast.model import (
    Hyperparameters,
    fit_hyperparameters,
    site_data,
    site_posterior,
)
from screenkit.forecast.outcome import (
    OPEN_AWAITING,
    OPEN_PENDING,
    OutcomeCounts,
    baseline,
    changed_parameters,
    open_patients,
)
from screenkit.forecast.rates import (
    DAYS_PER_MONTH,
    OUTCOME_COLUMNS,
    RecruitmentRates,
    recruitment_rates,
)
from screenkit.forecast.result import ForecastResult
from screenkit.forecast.simulate import cumulative_intensity, exposure, time_to_reach
from screenkit.forecast.uncertainty import (
    CHANGE_PRIOR_SD,
    CHANGE_RANGE,
    CLOSURE_PRIOR,
    DECAY_PRIOR_SCALE,
    change_grid,
    change_posterior,
    closure_hazard_posterior,
    decay_posterior,
    draw_closures,
)

__all__ = ["RecruitmentForecast"]

MODELS = ("averaged", "posterior", "constant", "decay", "auto")
MAX_MONTHS = 1200.0  # 100 years: later is "not reached" (and beyond pandas' dates)


def _months(date: Any, as_of: pd.Timestamp) -> float:
    return (pd.Timestamp(date) - as_of).days / DAYS_PER_MONTH


def _date(months: float, as_of: pd.Timestamp) -> pd.Timestamp | None:
    if not np.isfinite(months):
        return None
    return (as_of + pd.to_timedelta(months * DAYS_PER_MONTH, unit="D")).normalize()


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
    decline_prior_sd, decline_range
        The ``"posterior"`` model's normal prior on the monthly decline (SD, centred on
        constant rates) and the range of declines it considers (negative = rising rates).
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
        decline_prior_sd: float = CHANGE_PRIOR_SD,
        closure_prior: tuple[float, float] = CLOSURE_PRIOR,
        decline_range: tuple[float, float] = CHANGE_RANGE,
    ) -> None:
        self.model = model
        self.n_sims = n_sims
        self.random_state = random_state
        self.parameter_uncertainty = parameter_uncertainty
        self.randomized_given_eligible = randomized_given_eligible
        self.decline_prior_sd = decline_prior_sd
        self.closure_prior = closure_prior
        self.decline_range = decline_range

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
        log, what_if, source, notes = _resolve_log(log)
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
                data, change_grid(*self.decline_range), self.decline_prior_sd
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
        notes += self._model_notes()
        self._base_notes = notes
        self._set_probability(what_if if eligibility is None else eligibility)
        return self

    def _model_notes(self) -> list[str]:
        """What model the forecast uses and why (one statement, consistent with the choice)."""
        aic = self.aic_
        fits = self.fits_
        delta = aic["constant"] - aic["decay"]
        evidence = (
            f"AIC constant {aic['constant']:.1f}, decay {aic['decay']:.1f} (ML decline "
            f"{fits['decay'].gamma:.1%}/month): the data "
            + (
                "support declining rates (AIC lower by more than 2)"
                if delta > 2
                else "do not clearly favour either"
            )
        )
        if self.model_ == "posterior":
            cp = self.change_posterior_
            notes = [
                "Model: site rates that may change by a constant share per month, averaged "
                "over that change's posterior, so the intervals carry the doubt about it: "
                f"decline {cp.mean:.1%}/month on average (90% credible interval "
                f"{cp.quantile(0.05):.0%} to {cp.quantile(0.95):.0%}; negative = rising; "
                f"P(declining) {cp.p_decline:.0%}; prior normal around constant rates with SD "
                f"{cp.prior_sd:.0%}/month); sites may also stop screening unannounced "
                f"(closure hazard prior mean {self.closure_prior[0] / self.closure_prior[1]:.1%}"
                "/month, updated with how long each site has been silent). For comparison, "
                f"{evidence}."
            ]
            notes += self._closed_notes()
            return notes
        if self.model_ == "averaged":
            post = self.decay_posterior_
            notes = [
                "Model: constant and declining site rates averaged by their evidence, so the "
                "intervals carry the doubt about which holds: declining rates get weight "
                f"{post.weight:.0%} (decline {post.mean:.1%}/month on average when they "
                f"decline; prior: even odds, decline half-normal with scale "
                f"{DECAY_PRIOR_SCALE:.0%}/month), constant rates {1 - post.weight:.0%}; sites "
                "may also stop screening unannounced (closure hazard prior mean "
                f"{CLOSURE_PRIOR[0] / CLOSURE_PRIOR[1]:.1%}/month, updated with how long each "
                f"site has been silent). For comparison, {evidence}."
            ]
            return notes + self._closed_notes()
        if self.model == "auto":
            return [f"Model: {self.model_} site rates, chosen by AIC ({evidence})."]
        return [f"Model: {self.model_} site rates, as requested ({evidence})."]

    def _closed_notes(self) -> list[str]:
        """The sites that look closed (P > 50%), for the notes."""
        data = self.site_data_
        rate_now = self.site_posterior_["fitted_rate"].to_numpy(float)
        _, _, p_closed = closure_hazard_posterior(data, rate_now, self.closure_prior)
        likely = np.nonzero(p_closed > 0.5)[0]
        if not likely.size:
            return []
        return [
            "Probably closed (silent far longer than their own rate implies; each "
            "is closed in that share of simulations): "
            + ", ".join(
                f"site {data.site_id[i]} (silent {data.silent[i]:.1f} months, {p_closed[i]:.0%})"
                for i in likely
            )
            + "."
        ]

    def _draw_parameters(self, rng: np.random.Generator, n: int) -> dict:
        """``alpha``, ``beta``, ``gamma`` per simulation; for the averaged model each
        simulation is constant or declining by the evidence weight."""
        uncertain = self.parameter_uncertainty
        if self.model_ == "posterior":
            return self.change_posterior_.draw(rng, n, uncertain)
        if self.model_ != "averaged":
            return self.hyper_.draw(rng, n, uncertain)
        flat = self.fits_["constant"].draw(rng, n, uncertain)
        decl = self.fits_["decay"].draw(rng, n, uncertain)
        u_model, u_gamma = rng.random((2, n))
        post = self.decay_posterior_
        declining = u_model < post.weight
        gamma = post.draw(u_gamma) if uncertain else np.full(n, post.mean)
        return {
            "alpha": np.where(declining, decl["alpha"], flat["alpha"]),
            "beta": np.where(declining, decl["beta"], flat["beta"]),
            "gamma": np.where(declining, gamma, 0.0),
        }

    def _set_probability(self, eligibility: Any) -> None:
        """The randomization probability (Beta posteriors) and the patients still open.

        See :mod:`screenkit.forecast.outcome` for the definition. On a plain enrollment log
        (no status) the probability is screened-to-randomized among the patients whose
        ``randomized`` is filled in; blanks are pending.
        """
        base = self.base_rates_
        notes = list(self._base_notes)
        rand = base.patients["randomized"]
        ref_status = base.patients["status"]
        rates, label = base, self._source
        fixed: float | None = None
        if eligibility is not None:
            rates, ref_status, label, fixed = self._eligibility_override(eligibility)
            if not _as_run(eligibility):
                notes.append(f"Eligibility replaced by {label}.")
        status = rates.patients["status"]
        conv: tuple[float, float] | float
        if rates.outcome == "randomized" and rates.has_status:
            as_run = ref_status.eq("eligible").fillna(False)
            known = as_run & rand.notna()
            r = int(rand[known].sum())
            e = int(known.sum())
            conv = (0.5 + r, 0.5 + e - r)
            waiting = int((as_run & rand.isna()).sum())
            if waiting:
                notes.append(
                    f"{waiting} eligible patients have no randomization outcome "
                    "yet: they are left out of the eligible-to-randomized rate "
                    f"({r} of {e} eligible with an outcome) and may still be randomized."
                )
        elif rates.outcome == "randomized":
            resolved = rand.notna()
            r = int(rand[resolved].sum())
            m = int(resolved.sum())
            conv = 1.0
            if r == 0:
                prior = (0.5 + r, 0.5 + m - r)
                lo, hi = beta_dist.ppf([0.025, 0.975], *prior)
                notes.insert(
                    0,
                    f"No patient has been randomized yet (0 of {m} screened patients with a "
                    "recorded outcome), so the randomization rate is very uncertain: it is "
                    f"the Jeffreys Beta(0.5, 0.5) prior updated with 0 of {m} (mean "
                    f"{_mean(prior):.1%}, 95% interval {lo:.1%} to {hi:.1%}). Treat the "
                    "forecast as a rough guide until patients are randomized.",
                )
            if eligibility is not None and status.notna().any():
                conv = self.randomized_given_eligible
                notes.append(
                    "The log has no eligibility status, so the eligible-to-randomized "
                    f"probability is assumed to be {conv:g}."
                )
        elif rates.has_status:
            conv = self.randomized_given_eligible
        elif given := next((c for c in OUTCOME_COLUMNS if c in base.log_columns), None):
            # (an outcome filled in anywhere would have made the outcome "randomized")
            raise InputError(
                "The 'randomized' column is blank for every patient, so the log records no "
                "outcome yet and the forecast cannot tell how many screened patients are "
                "randomized",
                column=given,
                expected="'randomized' filled in as yes/no where the outcome is known "
                "(Y/N, Yes/No, True/False, 1/0; N for everyone = nobody randomized yet; "
                "blank = not known yet), or a 'status' column (eligible / screen_failed / "
                "pending), or 'fail_reasons' (blank = eligible)",
                hint="fill in 'randomized' for the patients whose outcome is known.",
            )
        else:
            raise InputError(
                "The log records neither randomization nor eligibility, so the forecast "
                "cannot tell how many screened patients are randomized",
                expected="a 'randomized' (yes/no), 'status' or 'fail_reasons' column",
                columns_found=", ".join(base.log_columns) or None,
            )
        if status.notna().any():
            e = int(status.eq("eligible").sum())
            f = int(status.eq("screen_failed").sum())
            counts = OutcomeCounts(label, len(status), e, f, int(status.eq("pending").sum()))
            elig: tuple[float, float] | float = (0.5 + e, 0.5 + f)
            notes.append(counts.sentence())
        else:  # a plain enrollment log: screened-to-randomized among the resolved
            r = int(rand[rand.notna()].sum())
            elig = (0.5 + r, 0.5 + int(rand.notna().sum()) - r)
            counts = None
        if fixed is not None:
            elig = fixed
        self.open_ = open_patients(
            ref_status,
            rand,
            status if fixed is None else ref_status,
            eligible_counted=rates.outcome == "eligible",
        )
        self.rates_ = rates
        self.eligibility_ = counts
        self.p_eligible_ = elig
        self.p_conversion_ = conv
        self.pending_ = int((self.open_ == OPEN_PENDING).sum())
        self.pending_conversion_ = int((self.open_ == OPEN_AWAITING).sum())
        self.p_randomized_ = _mean(elig) * _mean(conv)
        self.notes_ = tuple(notes)

    def _eligibility_override(
        self, eligibility: Any
    ) -> tuple[RecruitmentRates, pd.Series, str, float | None]:
        """``(rates, status as run, label, fixed rate)`` for a what-if eligibility."""
        base = self.base_rates_
        if isinstance(eligibility, int | float) and not isinstance(eligibility, bool):
            if not 0 < eligibility <= 1:
                raise ScreenkitError(
                    "An eligibility rate is a probability",
                    value=eligibility,
                    expected="a number in (0, 1]",
                )
            label = f"a fixed eligibility rate of {eligibility:.1%}"
            return base, base.patients["status"], label, float(eligibility)
        status = getattr(eligibility, "status", eligibility)
        if not isinstance(status, pd.Series):
            raise ScreenkitError(
                "eligibility must be an Evaluation, a status Series or a rate",
                value=type(eligibility).__name__,
                expected="evaluate(data, protocol, ...), a Series of eligible/screen_failed/"
                "pending indexed like the log, or a number in (0, 1]",
            )
        idx = base.patients.index
        status = status.reindex(idx).astype("string")
        e, f = int(status.eq("eligible").sum()), int(status.eq("screen_failed").sum())
        if e + f == 0:
            raise ScreenkitError(
                "The eligibility statuses match no patient of the log",
                hint="pass the Evaluation of the same log (its index must match the log's).",
            )
        if status is not eligibility and hasattr(eligibility, "protocol"):
            # an Evaluation: P(randomized | eligible) comes from its protocol as run
            ref = _with_randomized_eligible(
                baseline(eligibility).status.reindex(idx).astype("string"),
                base.patients["randomized"],
            )
        else:
            ref = base.patients["status"]
        protocol = getattr(getattr(eligibility, "protocol", None), "id", None)
        label = (
            f"the evaluation of {protocol}"
            if protocol
            else "the what-if evaluation"
            if hasattr(eligibility, "status")
            else "the what-if statuses"
        )
        changed = changed_parameters(eligibility)
        if changed:
            label += " (" + ", ".join(f"{k}={v:g}" for k, v in changed.items()) + ")"
        frame = _unwrap_frame(self._log).loc[idx]
        rates = recruitment_rates(
            frame.assign(status=status.fillna("pending")), sites=self._sites, as_of=base.as_of
        )
        return rates, ref, label, None

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

    def _rng(self) -> np.random.Generator:
        if isinstance(self.random_state, np.random.Generator):
            return self.random_state
        return np.random.default_rng(self.random_state)

    def _draw_p(self, u_elig: np.ndarray, u_conv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Draws of P(eligible) and P(randomized | eligible) by inverting the Beta CDFs at
        the given uniforms: a higher eligibility gives a higher draw in every simulation."""
        draws = []
        for part, u in ((self.p_eligible_, u_elig), (self.p_conversion_, u_conv)):
            if isinstance(part, tuple) and self.parameter_uncertainty:
                draws.append(betaincinv(part[0], part[1], u))
            else:
                draws.append(np.full(u.size, _mean(part)))
        return draws[0], draws[1]

    def _draw_open(self, rng: np.random.Generator, p: np.ndarray, p_conv: np.ndarray) -> np.ndarray:
        """How many of the open patients are randomized, per simulation.

        One uniform per simulation and open patient (the same patients for every what-if):
        pending ones are randomized with ``p``, those awaiting randomization with ``p_conv``.
        """
        total = np.zeros(p.size, dtype=int)
        codes = self.open_
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
        protocol = self.protocol_
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
                by_date = self.rates_.as_of + pd.DateOffset(years=1)
                by_date_note = (
                    "No primary completion date was given (predict(by_date=...), or a "
                    "protocol file with 'primary_completion:'), so the probability is for "
                    "one year after the as-of date."
                )
        if int(target) != target or target < 1:
            raise ScreenkitError("The target is a positive whole number", value=target)
        target = int(target)
        rates, data = self.rates_, self.site_data_
        as_of = rates.as_of
        by_date = pd.Timestamp(by_date).normalize()
        so_far = rates.randomized_so_far
        notes = list(self.notes_) + ([by_date_note] if by_date_note else [])
        base = {
            "target": target,
            "as_of": as_of,
            "by_date": by_date,
            "randomized_so_far": so_far,
            "outcome": rates.outcome,
            "model": self.model_,
            "rates": rates,
            "site_posterior": self.site_posterior_,
            "observed": observed_counts(rates),
            "alpha": self.alpha_,
            "beta": self.beta_,
            "gamma": self.gamma_,
            "p_randomized": self.p_randomized_,
            "aic": dict(self.aic_),
            "n_sims": self.n_sims,
            "eligibility": self.eligibility_,
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
        rng = self._rng()
        n = int(self.n_sims)
        # common random numbers: the draws depend on the eligibility only through the
        # probabilities, so a what-if with the same seed compares simulation by simulation
        u_elig, u_conv, u_level = rng.random((3, n))
        par = self._draw_parameters(rng, n)
        p_elig, p_conv = self._draw_p(u_elig, u_conv)
        p = p_elig * p_conv
        e_fit = exposure(data.tau[None, :], par["gamma"][:, None])
        shape = par["alpha"][:, None] + data.k[None, :]
        rate = par["beta"][:, None] + e_fit
        lam = rng.gamma(shape, 1.0 / rate)  # posterior; prior for sites not yet observed
        if self.model_ in ("averaged", "posterior"):  # sites that look closed, closing later
            lam, closing_gamma, _ = draw_closures(
                rng, data, lam, par["gamma"], self.parameter_uncertainty, self.closure_prior
            )
            par = {**par, "gamma": closing_gamma}
        lam = lam * p[:, None]
        pend = self._draw_open(rng, p, p_conv)
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
                f"{new_sites_probability:.0%} probability."
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


def _resolve_log(log: Any) -> tuple[Any, Any, str, list[str]]:
    """``(log as run, what-if or None, label of the status source, notes)``."""
    status = getattr(log, "status", None)
    if isinstance(log, pd.DataFrame) or not isinstance(status, pd.Series):
        frame = getattr(log, "data", log)
        columns = getattr(frame, "columns", ())
        if "status" in columns:
            return log, None, "the log's status column", []
        if "fail_reasons" in columns:
            return log, None, "the log's fail_reasons (recorded; blank = eligible)", []
        return log, None, "the log", []
    protocol = getattr(getattr(log, "protocol", None), "id", None)
    decided = status.astype("string").isin(["eligible", "screen_failed"]).any()
    if not decided:
        frame = log.data
        note = (
            f"The evaluation of {protocol or 'the protocol'} decides no patient (the log lacks "
            "the columns its criteria need), so the forecast uses the log's recorded outcome."
        )
        return frame, None, "the log", [note]
    label = f"the evaluation of {protocol}" if protocol else "the evaluation"
    if getattr(log, "status_source", "computed") == "recorded":
        label = f"the recorded screen-failure reasons ({protocol or 'the protocol'})"
    as_run = baseline(log)
    return as_run, (log if as_run is not log else None), label, []


def _as_run(eligibility: Any) -> bool:
    """Whether ``eligibility`` is an Evaluation at its protocol's own values (no what-if)."""
    return hasattr(eligibility, "protocol") and not changed_parameters(eligibility)


def _unwrap_frame(log: Any) -> pd.DataFrame:
    return log if isinstance(log, pd.DataFrame) else log.data


def _with_randomized_eligible(status: pd.Series, randomized: pd.Series) -> pd.Series:
    """A randomized patient was eligible as run (the log's outcome wins over missing data)."""
    return status.where(~randomized.fillna(False).astype(bool), "eligible")


def _mean(part: tuple[float, float] | float) -> float:
    return part[0] / (part[0] + part[1]) if isinstance(part, tuple) else float(part)
