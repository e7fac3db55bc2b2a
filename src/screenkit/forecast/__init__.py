"""Recruitment forecasting: rates from the screening log and the Poisson-gamma model.

``recruitment_rates(log)`` counts screened / eligible / screen-failed / pending /
randomized per site and month; ``RecruitmentForecast(...).fit(log).predict(target=150)``
answers when the target is reached (Anisimov & Fedorov, Stat Med 2007), with parameter
uncertainty, site rates whose monthly change is averaged over its posterior, site closure,
and a what-if on eligibility.

Modules: ``rates`` (counts from the log), ``outcome`` (the one definition of eligible /
pending / randomized the forecast uses), ``model`` (likelihood and ML fit), ``uncertainty``
(the posterior of the monthly rate change and site closure, the default model),
``simulate`` (vectorized Monte Carlo kernels), ``estimator`` (``RecruitmentForecast``:
fit and the sklearn-like interface), ``probability`` (P(eligible), P(randomized | eligible)
and the open patients, for the log as run or a what-if), ``predict`` (the Monte Carlo
prediction of a fitted forecast), ``notes`` (the model, in words), ``result``
(``ForecastResult``).
"""

from screenkit.forecast.estimator import RecruitmentForecast
from screenkit.forecast.rates import RecruitmentRates, patient_outcomes, recruitment_rates
from screenkit.forecast.result import ForecastResult

__all__ = [
    "ForecastResult",
    "RecruitmentForecast",
    "RecruitmentRates",
    "patient_outcomes",
    "recruitment_rates",
]
