"""The explorer's forecast panel: the date the target is reached, following the thresholds.

The site rates do not depend on the thresholds, so the forecast is fitted once, and each
threshold change or criterion toggle only swaps the eligibility
(:meth:`~screenkit.forecast.RecruitmentForecast.with_eligibility` with the status of the
current evaluation, switched-off criteria off) and simulates again: the same answer as
:func:`screenkit.forecast.whatif.forecast_evaluation` and ``screenkit forecast --param
... --exclude ...`` with the same seed and simulations. The seed is fixed, so moving a
slider and back gives the date back, and relaxing a threshold never moves it later.
The forecast is for the whole trial: the site and month filters do not apply to it.

>>> from screenkit.datasets import load_sample
>>> from screenkit.evaluate import evaluate
>>> evaluation = evaluate(load_sample(), "NCT07103668")
>>> panel = ForecastPanel(evaluation, n_sims=300)
>>> before = panel.result.median_date
>>> panel.update(evaluation.with_parameters(lesion_max_cm=7))
>>> panel.result.median_date < before
True
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import TYPE_CHECKING

import ipywidgets as w

from screenkit.errors import ScreenkitError

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation
    from screenkit.forecast import ForecastResult

__all__ = ["PANEL_SIMS", "ForecastPanel"]

#: simulations per update (about 0.3 s on the sample); seed 0
PANEL_SIMS = 1000


class ForecastPanel:
    """An ``ipywidgets.HTML`` (``widget``, class ``screenkit-forecast``) with the median
    date, the 80% interval and the probability by the primary completion date.

    ``result`` is the current :class:`~screenkit.forecast.ForecastResult` (``None`` with
    ``reason`` set when the log or protocol cannot give a forecast: no dates, no
    randomization, no target).
    """

    def __init__(self, evaluation: Evaluation, *, n_sims: int = PANEL_SIMS, seed: int = 0):
        from screenkit.forecast import RecruitmentForecast

        self.widget = w.HTML()
        self.widget.add_class("screenkit-forecast")
        self.result: ForecastResult | None = None
        self.reason: str | None = None
        self._fitted = None
        try:
            if evaluation.protocol.target is None:
                raise ScreenkitError("the protocol file gives no target ('target:')")
            forecast = RecruitmentForecast(n_sims=n_sims, random_state=seed)
            self._fitted = forecast.fit(evaluation)
        except ScreenkitError as err:
            self.reason = str(err).splitlines()[0]
        self.update(evaluation)

    def update(self, evaluation: Evaluation, excluded: Iterable[str] = ()) -> None:
        """Forecast with ``evaluation``'s thresholds and ``excluded`` criteria off."""
        excluded = tuple(excluded)
        if self._fitted is not None:
            status = evaluation.without_criteria(excluded).status
            try:
                self.result = self._fitted.with_eligibility(status).predict()
                self.reason = None
            except ScreenkitError as err:
                self.result = None
                self.reason = str(err).splitlines()[0]
        self.widget.value = self._html(excluded)

    def _html(self, excluded: tuple[str, ...]) -> str:
        e = html.escape
        r = self.result
        if r is None:
            return f"<div><b>Forecast</b>: not available ({e(self.reason or '')}).</div>"
        if r.reached:
            text = f"target {r.target} reached on {r.median_date.date()}"
        else:
            median = r.median_date.date() if r.median_date is not None else "not reached"
            low, high = (d.date() if d is not None else "not reached" for d in r.pi80)
            text = (
                f"target {r.target} reached on <b class='screenkit-forecast-median'>{median}"
                f"</b> (median; 80% interval {low} to {high}); probability by "
                f"{r.by_date.date()}: {r.prob_by_date:.0%}"
            )
        off = f"; switched off: {e(', '.join(excluded))}" if excluded else ""
        return (
            f"<div><b>Forecast</b> ({r.randomized_so_far} randomized so far; whole trial, "
            f"filters do not apply{off}): {text}.</div>"
        )
