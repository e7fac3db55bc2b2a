"""The outcome a forecast counts, defined once: who is eligible, who is randomized, who is open.

A screened patient is randomized with probability ``P(eligible) * P(randomized | eligible)``:

- ``P(eligible)`` comes from the status the forecast is given (an
  :class:`~screenkit.evaluate.Evaluation`, a status column, or ``fail_reasons``): eligible
  among the patients with a **decided** outcome. Pending patients are neither eligible nor
  failed: they are left out of this rate, and carried with it (each pending patient whose
  outcome is still open is randomized with the probability the decided patients give).
- ``P(randomized | eligible)`` comes from the **protocol as run** (for an Evaluation with
  changed thresholds, the same data evaluated at the protocol's own values), among eligible
  patients whose ``randomized`` is filled in. A what-if that relaxes a criterion makes more
  patients eligible but cannot make the sites randomize patients they screened out, so
  those patients say nothing about consent or withdrawal.
- Patients whose outcome is open in the log as run (screening pending and not randomized,
  or eligible with a blank ``randomized``) are re-sorted by the status used: pending there
  stays pending, eligible there awaits randomization, screen-failed there drops out.

Both probabilities are Beta posteriors from a Jeffreys Beta(0.5, 0.5) prior.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from screenkit.style import percent

__all__ = ["OPEN_AWAITING", "OPEN_PENDING", "OutcomeCounts", "baseline", "open_patients"]

OPEN_PENDING = 0  # screening pending: randomized with P(eligible) * P(randomized | eligible)
OPEN_AWAITING = 1  # eligible, randomization not known yet: randomized with P(rand | eligible)
OPEN_DROPPED = -1  # screen-failed under the status used: never randomized


@dataclass(frozen=True)
class OutcomeCounts:
    """Counts of the status the forecast uses (what the summary and the JSON show)."""

    source: str
    screened: int
    eligible: int
    screen_failed: int
    pending: int

    @property
    def decided(self) -> int:
        return self.eligible + self.screen_failed

    @property
    def rate(self) -> float:
        """Eligible among decided patients (pending left out)."""
        return self.eligible / self.decided if self.decided else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "screened": self.screened,
            "eligible": self.eligible,
            "screen_failed": self.screen_failed,
            "pending": self.pending,
            "pending_handling": "left out of the eligibility rate; open ones carried with it",
        }

    def sentence(self) -> str:
        share = self.eligible / self.screened if self.screened else float("nan")
        text = (
            f"Eligibility ({self.source}): {self.eligible} of the {self.decided} patients "
            f"with a decided outcome ({percent(self.rate)}; {percent(share)} of all "
            f"{self.screened} "
            "screened)"
        )
        if self.pending:
            text += (
                f"; the {self.pending} pending patients are neither eligible nor failed: they "
                "are left out of this rate, and those not yet randomized are each randomized "
                "in the simulation with the probability the decided patients give"
            )
        return text + "."


def changed_parameters(evaluation: Any) -> dict[str, float]:
    """Parameters of an Evaluation that differ from its protocol's own values."""
    params = getattr(evaluation, "parameters", None)
    if not isinstance(params, dict):
        return {}
    defaults = protocol_values(evaluation)
    return {
        name: value
        for name, value in params.items()
        if name in defaults and defaults[name] != value
    }


def protocol_values(evaluation: Any) -> dict[str, float]:
    """The protocol's own parameter values: those its ``with_parameters`` kept
    (:attr:`Protocol.defaults <screenkit.protocol.Protocol.defaults>`), else its current
    ones (no threshold was changed); nothing is re-read from the protocol file."""
    protocol = getattr(evaluation, "protocol", None)
    own = getattr(protocol, "defaults", None)
    if own is not None:
        return dict(own)
    params = getattr(protocol, "parameters", {}) or {}
    return {name: getattr(p, "value", p) for name, p in params.items()}


def baseline(evaluation: Any) -> Any:
    """The Evaluation of the same data at the protocol's own values (the protocol as run)."""
    changed = changed_parameters(evaluation)
    if not changed or not hasattr(evaluation, "with_parameters"):
        return evaluation
    values = protocol_values(evaluation)
    return evaluation.with_parameters(**{name: values[name] for name in changed})


def open_patients(
    ref_status: pd.Series,
    randomized: pd.Series,
    use_status: pd.Series,
    eligible_counted: bool = False,
) -> np.ndarray:
    """Per patient open in the log as run: how the status used sorts them (``OPEN_*``).

    ``ref_status`` is the status as run (``<NA>`` for a plain enrollment log), ``randomized``
    the log's yes / no / blank, ``use_status`` the status the forecast uses;
    ``eligible_counted``: the forecast counts eligible patients (nobody is randomized yet),
    so only pending ones are open. Returns one code
    per open patient, in the log's order (the same patients for every what-if, so that
    simulations with the same seed compare patient by patient).
    """
    done = randomized.fillna(False).astype(bool).to_numpy()
    blank = randomized.isna().to_numpy()
    ref = ref_status.astype("string")
    pend = ref.eq("pending").fillna(False).to_numpy()
    elig = ref.eq("eligible").fillna(False).to_numpy()
    none = ref.isna().to_numpy()
    still_open = (pend & ~done) | (none & blank) | (elig & blank & (not eligible_counted))
    use = use_status.astype("string").reindex(ref_status.index)
    codes = np.where(
        use.eq("eligible").fillna(False).to_numpy(),
        OPEN_AWAITING,
        np.where(use.eq("screen_failed").fillna(False).to_numpy(), OPEN_DROPPED, OPEN_PENDING),
    )
    return codes[still_open]
