"""The forecast's prior on the monthly screening decline: its value and where it came from.

The ``"posterior"`` model averages the site rates' monthly decline over its posterior
(:mod:`screenkit.forecast.uncertainty`), with a normal prior whose defaults
(:data:`~screenkit.forecast.uncertainty.CHANGE_PRIOR_MEAN`,
:data:`~screenkit.forecast.uncertainty.CHANGE_PRIOR_SD`) were chosen by the calibration
study to cover trials that decline 0-8% per month. A trial early on cannot tell its own
decline, so its intervals hold every decline in that range; knowledge from *outside* the
trial (a sponsor's earlier trials, published screening curves) narrows them honestly when
its error really has the SD it claims (``bench/forecast_calibration.py --external``).

It can come from three places, and every output names which:

- ``"default"``: the calibrated defaults;
- ``"protocol file"``: the protocol file's ``decline_prior: {mean: 0.035, sd: 0.05}``;
- ``"--decline-prior"``: the command line (overrides the protocol file), or in Python
  ``RecruitmentForecast(decline_prior_mean=..., decline_prior_sd=...)`` (source
  ``"argument"`` unless ``decline_prior_source`` says otherwise).

>>> parse_decline_prior("2%,1%")
DeclinePrior(mean=0.02, sd=0.01, source='--decline-prior')
>>> parse_decline_prior("0.02, 0.01") == parse_decline_prior("2%,1%")
True
>>> resolve_decline_prior(None, None, None).source
'default'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from screenkit.errors import InputError, ScreenkitError
from screenkit.forecast.uncertainty import CHANGE_PRIOR_MEAN, CHANGE_PRIOR_SD, CHANGE_RANGE

__all__ = ["DeclinePrior", "parse_decline_prior", "resolve_decline_prior"]

OPTION = "--decline-prior"
ACCEPTED = (
    "MEAN,SD per month as fractions or percentages, e.g. 0.02,0.01 or 2%,1% (SD > 0; "
    f"MEAN from {CHANGE_RANGE[0]:g} to {CHANGE_RANGE[1]:g}, negative = rising screening)"
)


#: the prior's JSON keys, named as the ``RecruitmentForecast`` options
KEYS = ("decline_prior_mean", "decline_prior_sd", "decline_prior_source")


@dataclass(frozen=True)
class DeclinePrior:
    """A normal prior on the monthly decline of the site screening rates (fractions per
    month: 0.035 = 3.5%), and where it came from.

    >>> DeclinePrior(0.02, 0.01, "protocol file").to_dict()["decline_prior_source"]
    'protocol file'
    """

    mean: float
    sd: float
    source: str = "default"

    def check(self, decline_range: tuple[float, float] = CHANGE_RANGE) -> DeclinePrior:
        """``self`` if usable with a posterior on ``decline_range``; else a clear error."""
        lo, hi = decline_range
        if not (isinstance(self.sd, int | float) and math.isfinite(self.sd) and self.sd > 0):
            raise ScreenkitError(
                f"The decline prior's SD (from {self.source}) must be a number above 0",
                value=self.sd,
                expected="an SD per month such as 0.05 (5%)",
            )
        if not (isinstance(self.mean, int | float) and lo <= self.mean <= hi):
            raise ScreenkitError(
                f"The decline prior's mean (from {self.source}) is outside the declines the "
                "forecast considers",
                value=self.mean,
                expected=f"a monthly decline from {lo:g} to {hi:g} (negative = rising)",
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """The JSON keys of ``screenkit forecast --json`` (:data:`KEYS`), which are also
        the ``RecruitmentForecast`` options that give this prior and its source.

        >>> DeclinePrior(0.02, 0.01, "--decline-prior").to_dict()["decline_prior_sd"]
        0.01
        """
        return dict(zip(KEYS, (self.mean, self.sd, self.source), strict=True))

    forecast_options = to_dict  # RecruitmentForecast(**prior.forecast_options())


def _number(text: str) -> float:
    text = text.strip()
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1].strip(), 0.01
    value = float(text)  # ValueError for anything that is not a number
    if not math.isfinite(value):
        raise ValueError(text)
    return round(value * scale, 12)


def parse_decline_prior(text: str, source: str = OPTION) -> DeclinePrior:
    """``"MEAN,SD"`` (fractions ``0.02,0.01`` or percentages ``2%,1%``) as a checked prior.

    Raises :class:`~screenkit.errors.InputError` naming the option and what is accepted.
    """
    parts = str(text).split(",")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        mean, sd = (_number(p) for p in parts)
    except ValueError:
        raise InputError(f"{source} is not MEAN,SD", value=text, expected=ACCEPTED) from None
    try:
        return DeclinePrior(mean, sd, source).check()
    except ScreenkitError as err:
        raise InputError(str(err).splitlines()[0], value=text, expected=ACCEPTED) from None


def resolve_decline_prior(
    mean: float | None, sd: float | None, protocol: Any, source: str = "argument"
) -> DeclinePrior:
    """The prior a forecast uses: the values given (``source``), else the protocol file's
    ``decline_prior``, else the defaults; a value not given is taken from the next place.

    The mean is checked against the default grid's range (:data:`CHANGE_RANGE`), not a
    forecast's own ``decline_range``: a narrower grid (even one point, the decline fixed)
    truncates the prior, which is legitimate.
    """
    given = getattr(protocol, "decline_prior", None)  # (mean, sd) from the protocol file
    base = (
        DeclinePrior(CHANGE_PRIOR_MEAN, CHANGE_PRIOR_SD, "default")
        if given is None
        else DeclinePrior(float(given[0]), float(given[1]), "protocol file")
    )
    if mean is None and sd is None:
        return base.check()
    prior = DeclinePrior(base.mean if mean is None else mean, base.sd if sd is None else sd, source)
    return prior.check()
