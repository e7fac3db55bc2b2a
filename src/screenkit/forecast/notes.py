"""The forecast's own account of its model: which model, why, and what the data say.

Each function takes a fitted :class:`~screenkit.forecast.estimator.RecruitmentForecast`
and returns sentences for its ``notes_`` (shown by ``screenkit forecast``, the workbook and
the HTML report).

>>> import numpy as np, pandas as pd
>>> from screenkit.forecast.estimator import RecruitmentForecast
>>> rng = np.random.default_rng(1)
>>> log = pd.DataFrame({"patient_id": [f"P{i}" for i in range(60)],
...     "site_id": rng.choice(["A", "B"], 60),
...     "screening_date": pd.Timestamp("2025-08-06")
...     + pd.to_timedelta(np.sort(rng.integers(0, 200, 60)), unit="D"),
...     "randomized": rng.random(60) < 0.5})
>>> model_notes(RecruitmentForecast(model="constant").fit(log))[0][:40]
'Model: constant site rates, as requested'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from screenkit.forecast.uncertainty import (
    CHANGE_PRIOR_MEAN,
    CHANGE_PRIOR_SD,
    CLOSURE_PRIOR,
    DECAY_PRIOR_SCALE,
    closure_hazard_posterior,
)
from screenkit.style import percent

__all__ = ["closed_notes", "model_notes", "prior_words"]


def model_notes(fc: Any) -> list[str]:
    """What model the forecast uses and why (one statement, consistent with the choice)."""
    aic = fc.aic_
    fits = fc.fits_
    delta = aic["constant"] - aic["decay"]
    evidence = (
        f"AIC constant {aic['constant']:.1f}, decay {aic['decay']:.1f} (ML decline "
        f"{percent(fits['decay'].gamma)}/month): the data "
        + (
            "support declining rates (AIC lower by more than 2)"
            if delta > 2
            else "do not clearly favour either"
        )
    )
    if fc.model_ == "posterior":
        cp = fc.change_posterior_
        notes = [
            "Model: site rates that may change by a constant share per month, averaged "
            "over that change's posterior, so the intervals carry the doubt about it: "
            f"decline {percent(cp.mean)}/month on average (90% credible interval "
            f"{percent(cp.quantile(0.05), 0)} to {percent(cp.quantile(0.95), 0)}; "
            "negative = rising; "
            f"P(declining) {percent(cp.p_decline, 0)}; {prior_words(fc)}); "
            "sites may also have stopped screening unannounced: a site silent for much "
            "longer than its current rate implies is taken as closed in that share of the "
            "simulations (closure hazard prior mean "
            f"{percent(fc.closure_prior[0] / fc.closure_prior[1])}/month, updated with how "
            "long each site has been silent); sites open now are not closed again later, "
            "since the decline, fitted to every site's screening including the sites that "
            "stopped, already carries that loss (the calibration study found it counted "
            f"twice otherwise). For comparison, {evidence}."
        ]
        notes += closed_notes(fc)
        return notes
    if fc.model_ == "averaged":
        post = fc.decay_posterior_
        notes = [
            "Model: constant and declining site rates averaged by their evidence, so the "
            "intervals carry the doubt about which holds: declining rates get weight "
            f"{percent(post.weight, 0)} (decline {percent(post.mean)}/month on average when they "
            f"decline; prior: even odds, decline half-normal with scale "
            f"{percent(DECAY_PRIOR_SCALE, 0)}/month), constant rates "
            f"{percent(1 - post.weight, 0)}; sites "
            "may also have stopped screening unannounced (a site silent for much longer "
            "than its current rate implies is taken as closed in that share of the "
            "simulations; closure hazard prior mean "
            f"{percent(CLOSURE_PRIOR[0] / CLOSURE_PRIOR[1])}/month, updated with how long each "
            f"site has been silent). For comparison, {evidence}."
        ]
        return notes + closed_notes(fc)
    if fc.model == "auto":
        return [f"Model: {fc.model_} site rates, chosen by AIC ({evidence})."]
    return [f"Model: {fc.model_} site rates, as requested ({evidence})."]


_SOURCES = {
    "protocol file": "from the protocol file's decline_prior",
    "--decline-prior": "given with --decline-prior",
    "argument": "given as decline_prior_mean / decline_prior_sd",
}


def prior_words(fc: Any) -> str:
    """The prior on the decline the fitted ``"posterior"`` forecast used, and its source."""
    prior = fc.decline_prior_
    what = f"normal, mean decline {_pct(prior.mean)}/month, SD {_pct(prior.sd)}/month"
    if prior.source == "default":
        # the default's words, unchanged since notebook 04 shows them: "chosen by the
        # calibration study" is what says it is the default (JSON: decline_prior_source)
        return (
            f"prior: {what}, spanning the declines of a few % per month that "
            "trials commonly show; its centre and SD were chosen by the calibration study on "
            "simulated trials declining 0-8%/month"
        )
    where = _SOURCES.get(prior.source, f"from {prior.source}")
    return (
        f"prior {where}, not the default ({_pct(CHANGE_PRIOR_MEAN)}, SD "
        f"{_pct(CHANGE_PRIOR_SD)}): {what}, an estimate of this trial's decline from outside "
        "its data; the intervals are as trustworthy as that estimate (an honest one narrows "
        "them and stays calibrated, a confident but wrong one makes them too narrow)"
    )


def _pct(fraction: float) -> str:
    """``0.035`` -> ``"3.5%"``, ``0.05`` -> ``"5%"``, ``0.0125`` -> ``"1.25%"``."""
    return f"{round(100 * fraction, 2):g}%"


def closed_notes(fc: Any) -> list[str]:
    """The sites that look closed (P > 50%), for the notes."""
    data = fc.site_data_
    rate_now = fc.site_posterior_["fitted_rate"].to_numpy(float)
    _, _, p_closed = closure_hazard_posterior(data, rate_now, fc.closure_prior)
    likely = np.nonzero(p_closed > 0.5)[0]
    if not likely.size:
        return []
    return [
        "Probably closed (silent far longer than their own rate implies; each "
        "is closed in that share of simulations): "
        + ", ".join(
            f"site {data.site_id[i]} (silent {data.silent[i]:.1f} months, "
            f"{percent(p_closed[i], 0)})"
            for i in likely
        )
        + "."
    ]
