"""A forecast of an Evaluation with some criteria switched off: one route for every face.

``screenkit forecast --exclude E26``, the Recruitment sheet of ``screenkit report
--exclude E26`` and Python all call :func:`forecast_evaluation`, so they give the same
dates for the same inputs and seed.

Switching a criterion off is a what-if on eligibility: patients who fail only switched-off
criteria become eligible (and patients unknown only on them are decided). The forecast is
fitted on the evaluation (its thresholds, as ``RecruitmentForecast.fit`` takes them) and
then given the status with the criteria off through
:meth:`~screenkit.forecast.RecruitmentForecast.with_eligibility` as a status Series. The
Series, not the switched-off Evaluation, because the probability that an eligible patient
is randomized must come from the protocol as run: the sites screened out the patients who
failed E26 and never asked them to consent, so those patients say nothing about consent.
The site rates are not refitted (screening continues as it is).

Criterion *order* has no bearing on any of this: a patient's status depends on which
criteria they fail, not on the order a funnel lists them in.

>>> from screenkit.datasets import load_sample
>>> from screenkit.evaluate import evaluate
>>> from screenkit.forecast import RecruitmentForecast
>>> evaluation = evaluate(load_sample(), "NCT07103668")
>>> fc = RecruitmentForecast(n_sims=500, random_state=0)
>>> as_run = forecast_evaluation(fc, evaluation)
>>> relaxed = forecast_evaluation(fc, evaluation, exclude=["I5b"])
>>> relaxed.median_date < as_run.median_date
True
>>> relaxed.notes[-1][:50]
'Criteria switched off: I5b (Largest lesion <= 5 cm'
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from screenkit.forecast.estimator import RecruitmentForecast
from screenkit.forecast.result import ForecastResult

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation

__all__ = ["exclusion_note", "forecast_evaluation"]

_DECIDED = ("eligible", "screen_failed")


def exclusion_note(evaluation: Evaluation, exclude: Iterable[str], *, applied: bool = True) -> str:
    """The sentence every output shows for switched-off criteria."""
    labels = {c.id: c.label for c in evaluation.protocol.criteria}
    listed = ", ".join(f"{cid} ({labels.get(cid, cid)})" for cid in exclude)
    if not applied:
        return (
            f"Criteria switched off: {listed}; this does not change the forecast, which uses "
            "the log's recorded outcome (the evaluation decides no patient)."
        )
    return (
        f"Criteria switched off: {listed}. Patients who fail only these count as eligible "
        "(and patients unknown only on these are decided); the probability that an eligible "
        "patient is randomized stays that of the protocol as run, and site rates are not "
        "refitted."
    )


def forecast_evaluation(
    forecast: RecruitmentForecast,
    evaluation: Evaluation,
    *,
    exclude: Iterable[str] = (),
    sites: Any = None,
    as_of: Any = None,
    target: int | None = None,
    by_date: Any = None,
    new_sites_open: Any = None,
) -> ForecastResult:
    """Fit ``forecast`` (a copy; the argument is left unfitted) on ``evaluation`` with the
    criteria ``exclude`` switched off, and predict.

    ``target`` / ``by_date`` default to the protocol file's ``target:`` and
    ``primary_completion:`` (see :meth:`RecruitmentForecast.predict`). With criteria
    switched off the result's notes end with :func:`exclusion_note`.
    """
    exclude = list(dict.fromkeys(exclude))
    switched = evaluation.without_criteria(exclude)  # validates the IDs first
    fitted = copy.copy(forecast).fit(evaluation, sites=sites, as_of=as_of)
    note = None
    if exclude:
        applies = switched.status.astype("string").isin(_DECIDED).any()
        if applies:
            fitted = fitted.with_eligibility(switched.status)
        note = exclusion_note(evaluation, exclude, applied=bool(applies))
    result = fitted.predict(target=target, by_date=by_date, new_sites_open=new_sites_open)
    if note is None:
        return result
    return dataclasses.replace(result, notes=(*result.notes, note))
