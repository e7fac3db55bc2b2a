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
from screenkit.forecast.rates import (
    DAYS_PER_MONTH,
    OUTCOME_COLUMNS,
    RecruitmentRates,
    recruitment_rates,
)
from screenkit.forecast.result import ForecastResult
from screenkit.forecast.simulate import cumulative_intensity, exposure, time_to_reach

__all__ = ["RecruitmentForecast"]

MODELS = ("constant", "decay", "auto")
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
        ``"constant"`` site rates, ``"decay"`` (``lambda_i * exp(-gamma * months open)``) or
        ``"auto"`` (the one with the lower AIC). Both are always fitted; ``aic_`` compares them.
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
    """

    def __init__(
        self,
        model: str = "constant",
        n_sims: int = 4000,
        random_state: int | np.random.Generator | None = None,
        parameter_uncertainty: bool = True,
        randomized_given_eligible: float = 1.0,
    ) -> None:
        self.model = model
        self.n_sims = n_sims
        self.random_state = random_state
        self.parameter_uncertainty = parameter_uncertainty
        self.randomized_given_eligible = randomized_given_eligible

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
        rates = recruitment_rates(log, sites=sites, as_of=as_of)
        data = site_data(rates)
        fits = {m: fit_hyperparameters(data, m) for m in ("constant", "decay")}
        self.rates_: RecruitmentRates = rates
        self.site_data_ = data
        self.fits_: dict[str, Hyperparameters] = fits
        self.aic_ = {m: f.aic for m, f in fits.items()}
        self.preferred_model_ = min(self.aic_, key=self.aic_.get)
        self.model_ = self.preferred_model_ if self.model == "auto" else self.model
        hyper = fits[self.model_]
        self.hyper_ = hyper
        self.alpha_, self.beta_, self.mu_, self.gamma_ = (
            hyper.alpha,
            hyper.beta,
            hyper.mu,
            hyper.gamma,
        )
        self.site_posterior_ = site_posterior(hyper, data)
        notes = list(rates.notes)
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
        delta = self.aic_["constant"] - self.aic_["decay"]
        notes.append(
            f"AIC: constant {self.aic_['constant']:.1f}, decay {self.aic_['decay']:.1f} "
            f"(gamma {fits['decay'].gamma:+.3f}/month): the data "
            + (
                "support declining rates (AIC lower by more than 2)."
                if delta > 2
                else "do not favour declining over constant rates."
            )
        )
        self._base_notes = notes
        self._set_probability(eligibility)
        return self

    def _set_probability(self, eligibility: Any) -> None:
        """The randomization probability (Beta posteriors) and the patients still pending.

        A screened patient is randomized with probability P(eligible) * P(randomized |
        eligible), each a Beta posterior from a Jeffreys Beta(0.5, 0.5) prior. A blank
        ``randomized`` is an unresolved outcome, not a "no": eligible patients with a blank
        are left out of the P(randomized | eligible) denominator and are instead pending
        conversion (each randomized with that probability in the simulation); patients
        whose screening is pending are randomized with the full probability. On a plain
        enrollment log (no status) the probability is screened-to-randomized among the
        patients whose ``randomized`` is filled in; blanks are pending.
        """
        rates = self.rates_
        pts = rates.patients
        status = pts["status"]
        rand = pts["randomized"]
        notes = list(self._base_notes)
        conv: tuple[float, float] | float
        pending_conversion = 0
        if rates.outcome == "randomized" and rates.has_status:
            eligible = status.eq("eligible").fillna(False)
            known = eligible & rand.notna()
            r = int(rand[known].sum())
            e = int(known.sum())
            conv = (0.5 + r, 0.5 + e - r)
            elig: tuple[float, float] | float = (
                0.5 + int(eligible.sum()),
                0.5 + int(status.eq("screen_failed").fillna(False).sum()),
            )
            pending = int(status.eq("pending").fillna(False).sum())
            pending_conversion = int((eligible & rand.isna()).sum())
            if pending_conversion:
                notes.append(
                    f"{pending_conversion} eligible patients have no randomization outcome "
                    "yet: they are left out of the eligible-to-randomized rate "
                    f"({r} of {e} eligible with an outcome) and may still be randomized."
                )
        elif rates.outcome == "randomized":
            resolved = rand.notna()
            r = int(rand[resolved].sum())
            m = int(resolved.sum())
            elig = (0.5 + r, 0.5 + m - r)
            conv = 1.0
            pending = int((~resolved).sum())
            if r == 0:
                lo, hi = beta_dist.ppf([0.025, 0.975], *elig)
                notes.insert(
                    0,
                    f"No patient has been randomized yet (0 of {m} screened patients with a "
                    "recorded outcome), so the randomization rate is very uncertain: it is "
                    f"the Jeffreys Beta(0.5, 0.5) prior updated with 0 of {m} (mean "
                    f"{_mean(elig):.1%}, 95% interval {lo:.1%} to {hi:.1%}). Treat the "
                    "forecast as a rough guide until patients are randomized.",
                )
            if eligibility is not None:
                conv = self.randomized_given_eligible
                notes.append(
                    "The log has no eligibility status, so the eligible-to-randomized "
                    f"probability is assumed to be {conv:g}."
                )
        elif rates.has_status:
            e = int(status.eq("eligible").sum())
            elig = (0.5 + e, 0.5 + int(status.eq("screen_failed").sum()))
            conv = self.randomized_given_eligible
            pending = int(status.eq("pending").sum())
        elif given := next((c for c in OUTCOME_COLUMNS if c in rates.log_columns), None):
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
                columns_found=", ".join(rates.log_columns) or None,
            )
        if eligibility is not None:
            elig, label, new_status = self._eligibility_override(eligibility)
            notes.append(f"Eligibility replaced by {label}.")
            if new_status is not None:
                # patients whose outcome the log leaves open (screening pending, or eligible
                # with randomization not known) are re-sorted by the what-if evaluation;
                # settled ones (screen-failed, randomized, eligible and not randomized) stay
                done = rand.fillna(False).astype(bool)
                still_open = (
                    (status.eq("pending").fillna(False) & ~done)
                    | (status.isna() & rand.isna())
                    | (status.eq("eligible").fillna(False) & rand.isna())
                )
                pending = int((still_open & new_status.eq("pending").fillna(False)).sum())
                pending_conversion = int(
                    (still_open & new_status.eq("eligible").fillna(False)).sum()
                )
        self.p_eligible_ = elig
        self.p_conversion_ = conv
        self.pending_ = pending
        self.pending_conversion_ = pending_conversion
        self.p_randomized_ = _mean(elig) * _mean(conv)
        self.notes_ = tuple(notes)

    def _eligibility_override(self, eligibility: Any) -> tuple[Any, str, pd.Series | None]:
        if isinstance(eligibility, int | float) and not isinstance(eligibility, bool):
            if not 0 < eligibility <= 1:
                raise ScreenkitError(
                    "An eligibility rate is a probability",
                    value=eligibility,
                    expected="a number in (0, 1]",
                )
            return float(eligibility), f"a fixed eligibility rate of {eligibility:.1%}", None
        status = getattr(eligibility, "status", eligibility)
        if not isinstance(status, pd.Series):
            raise ScreenkitError(
                "eligibility must be an Evaluation, a status Series or a rate",
                value=type(eligibility).__name__,
                expected="evaluate(data, protocol, ...), a Series of eligible/screen_failed/"
                "pending indexed like the log, or a number in (0, 1]",
            )
        idx = self.rates_.patients.index
        status = status.reindex(idx).astype("string")
        e, f = int(status.eq("eligible").sum()), int(status.eq("screen_failed").sum())
        if e + f == 0:
            raise ScreenkitError(
                "The eligibility statuses match no patient of the log",
                hint="pass the Evaluation of the same log (its index must match the log's).",
            )
        label = "the what-if evaluation"
        changed = _changed_parameters(eligibility)
        if changed:
            label += " (" + ", ".join(f"{k}={v:g}" for k, v in changed.items()) + ")"
        return (0.5 + e, 0.5 + f), f"{label}: {e} of {e + f} eligible", status

    def with_eligibility(self, eligibility: Any) -> RecruitmentForecast:
        """A copy using another eligibility (what-if); site rates are not refitted.

        ``eligibility``: an ``Evaluation`` of the same log with relaxed parameters, a status
        Series indexed like the log, or a fixed eligibility rate. The eligible-to-randomized
        probability still comes from the log. With an Evaluation or Series, the patients
        whose outcome the log leaves open (screening pending, or eligible with a blank
        ``randomized``) are re-sorted by it: pending there stays pending, eligible there
        awaits randomization, screen-failed there drops out; patients the log has settled
        stay settled. A fixed rate keeps the log's pending. The original forecast is
        unchanged.
        """
        self._check_fitted()
        other = copy.copy(self)
        other._set_probability(eligibility)
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

    def _draw_p(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Draws of P(eligible) and P(randomized | eligible), each of length ``n``."""
        draws = []
        for part in (self.p_eligible_, self.p_conversion_):
            if isinstance(part, tuple) and self.parameter_uncertainty:
                draws.append(rng.beta(*part, size=n))
            else:
                draws.append(np.full(n, _mean(part)))
        return draws[0], draws[1]

    def predict(
        self,
        target: int = 150,
        by_date: Any = "2027-05-31",
        new_sites_open: Any = None,
        new_sites_probability: float = 0.8,
        max_new_sites: int = 200,
    ) -> ForecastResult:
        """Date the target is reached, P(target by ``by_date``), and sites needed.

        ``new_sites_open``: when additional sites would open (default three months after
        the as-of date). Each new site's screening rate is drawn from the fitted
        between-site distribution Gamma(alpha, beta) (mean ``alpha / beta`` screened per
        site-month), not set to the typical (mean) rate, so the spread between sites is
        part of the answer; with the decay model new rates decline likewise.
        """
        self._check_fitted()
        if int(target) != target or target < 1:
            raise ScreenkitError("The target is a positive whole number", value=target)
        target = int(target)
        rates, data = self.rates_, self.site_data_
        as_of = rates.as_of
        by_date = pd.Timestamp(by_date).normalize()
        so_far = rates.randomized_so_far
        notes = list(self.notes_)
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
        par = self.hyper_.draw(rng, n, self.parameter_uncertainty)
        p_elig, p_conv = self._draw_p(rng, n)
        p = p_elig * p_conv
        e_fit = exposure(data.tau[None, :], par["gamma"][:, None])
        shape = par["alpha"][:, None] + data.k[None, :]
        rate = par["beta"][:, None] + e_fit
        lam = rng.gamma(shape, 1.0 / rate)  # posterior; prior for sites not yet observed
        lam = lam * p[:, None]
        pend = rng.binomial(self.pending_, p) if self.pending_ else np.zeros(n, int)
        if self.pending_conversion_:  # eligible, randomization outcome not known yet
            pend = pend + rng.binomial(self.pending_conversion_, p_conv)
        need = target - so_far - pend
        act, open_ = data.act, data.open_
        level = rng.gamma(np.maximum(need, 1), 1.0)
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
        )


def _changed_parameters(evaluation: Any) -> dict[str, float]:
    """Parameters of an Evaluation that differ from its protocol's defaults."""
    params = getattr(evaluation, "parameters", None)
    protocol = getattr(evaluation, "protocol", None)
    if not isinstance(params, dict):
        return {}
    try:  # the shipped protocol's values; the Evaluation's protocol holds the ones used
        from screenkit.protocol import get_protocol

        defaults = get_protocol(protocol.id).parameters
    except Exception:
        defaults = getattr(protocol, "parameters", {}) or {}
    return {
        name: value
        for name, value in params.items()
        if name not in defaults or getattr(defaults[name], "value", None) != value
    }


def _mean(part: tuple[float, float] | float) -> float:
    return part[0] / (part[0] + part[1]) if isinstance(part, tuple) else float(part)
