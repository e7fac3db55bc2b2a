"""The randomization probability of a forecast: ``P(eligible)`` and ``P(randomized |
eligible)`` as Beta posteriors, and the patients whose outcome is still open.

The definitions are those of :mod:`screenkit.forecast.outcome`; this module applies them
to a log as run or to a what-if eligibility (an Evaluation with changed thresholds, a
status Series, or a fixed rate), and words what it did as notes.

>>> p = Probability(None, None, (1.5, 0.5), 1.0, np.zeros(0, dtype=int), ())
>>> p.p_randomized, p.pending
(0.75, 0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import beta as beta_dist

from screenkit.errors import InputError, ScreenkitError
from screenkit.forecast.outcome import (
    OPEN_AWAITING,
    OPEN_PENDING,
    OutcomeCounts,
    baseline,
    changed_parameters,
    open_patients,
)
from screenkit.forecast.rates import OUTCOME_COLUMNS, RecruitmentRates, recruitment_rates
from screenkit.style import percent

__all__ = [
    "Probability",
    "beta_mean",
    "eligibility_override",
    "is_as_run",
    "randomization_probability",
    "resolve_log",
]


@dataclass(frozen=True)
class Probability:
    """What :func:`randomization_probability` gives a forecast.

    ``rates``: the rates the eligibility counts come from; ``eligibility``: their
    :class:`OutcomeCounts` (None for a plain enrollment log); ``p_eligible`` and
    ``p_conversion``: Beta parameters ``(a, b)`` or a fixed probability; ``open``: one
    ``OPEN_*`` code per patient of the log; ``notes``: the fit's notes with these added.
    """

    rates: Any
    eligibility: OutcomeCounts | None
    p_eligible: tuple[float, float] | float
    p_conversion: tuple[float, float] | float
    open: np.ndarray
    notes: tuple[str, ...]

    @property
    def pending(self) -> int:
        """Open patients whose screening is pending."""
        return int((self.open == OPEN_PENDING).sum())

    @property
    def pending_conversion(self) -> int:
        """Open patients eligible and awaiting randomization."""
        return int((self.open == OPEN_AWAITING).sum())

    @property
    def p_randomized(self) -> float:
        """Mean P(randomized) of a screened patient."""
        return beta_mean(self.p_eligible) * beta_mean(self.p_conversion)


def randomization_probability(
    base: RecruitmentRates,
    base_notes: list[str],
    source: str,
    log: Any,
    sites: Any,
    eligibility: Any,
    randomized_given_eligible: float,
) -> Probability:
    """The randomization probability (Beta posteriors) and the patients still open.

    ``base``: the rates of the log as run; ``base_notes``: the fit's notes so far;
    ``source``: what the log's status is (for the notes); ``log`` and ``sites``: as
    fitted (a what-if status recounts the rates from them); ``eligibility``: None (the
    log's own), an Evaluation, a status Series or a fixed rate.

    See :mod:`screenkit.forecast.outcome` for the definition. On a plain enrollment log
    (no status) the probability is screened-to-randomized among the patients whose
    ``randomized`` is filled in; blanks are pending.
    """
    notes = list(base_notes)
    rand = base.patients["randomized"]
    ref_status = base.patients["status"]
    rates, label = base, source
    fixed: float | None = None
    if eligibility is not None:
        rates, ref_status, label, fixed = eligibility_override(base, log, sites, eligibility)
        if not is_as_run(eligibility):
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
                f"{percent(beta_mean(prior))}, 95% interval {percent(lo)} to "
                f"{percent(hi)}). Treat the "
                "forecast as a rough guide until patients are randomized.",
            )
        if eligibility is not None and status.notna().any():
            conv = randomized_given_eligible
            notes.append(
                "The log has no eligibility status, so the eligible-to-randomized "
                f"probability is assumed to be {conv:g}."
            )
    elif rates.has_status:
        conv = randomized_given_eligible
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
    open_ = open_patients(
        ref_status,
        rand,
        status if fixed is None else ref_status,
        eligible_counted=rates.outcome == "eligible",
    )
    return Probability(rates, counts, elig, conv, open_, tuple(notes))


def eligibility_override(
    base: RecruitmentRates, log: Any, sites: Any, eligibility: Any
) -> tuple[RecruitmentRates, pd.Series, str, float | None]:
    """``(rates, status as run, label, fixed rate)`` for a what-if eligibility."""
    if isinstance(eligibility, int | float) and not isinstance(eligibility, bool):
        if not 0 < eligibility <= 1:
            raise ScreenkitError(
                "An eligibility rate is a probability",
                value=eligibility,
                expected="a number in (0, 1]",
            )
        label = f"a fixed eligibility rate of {percent(eligibility)}"
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
        ref = with_randomized_eligible(
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
    frame = unwrap_frame(log).loc[idx]
    rates = recruitment_rates(
        frame.assign(status=status.fillna("pending")), sites=sites, as_of=base.as_of
    )
    return rates, ref, label, None


def resolve_log(log: Any) -> tuple[Any, Any, str, list[str]]:
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


def is_as_run(eligibility: Any) -> bool:
    """Whether ``eligibility`` is an Evaluation at its protocol's own values (no what-if)."""
    return hasattr(eligibility, "protocol") and not changed_parameters(eligibility)


def unwrap_frame(log: Any) -> pd.DataFrame:
    return log if isinstance(log, pd.DataFrame) else log.data


def with_randomized_eligible(status: pd.Series, randomized: pd.Series) -> pd.Series:
    """A randomized patient was eligible as run (the log's outcome wins over missing data)."""
    return status.where(~randomized.fillna(False).astype(bool), "eligible")


def beta_mean(part: tuple[float, float] | float) -> float:
    return part[0] / (part[0] + part[1]) if isinstance(part, tuple) else float(part)
