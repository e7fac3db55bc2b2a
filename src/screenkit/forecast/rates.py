"""Recruitment rates from a screening log: per site, per month, and overall.

The forecast needs only four things per patient: who (``patient_id``), where
(``site_id``), when (``screening_date``) and an outcome, taken from the first of these
that the log has:

1. ``randomized`` (yes/no; ``enrolled`` is accepted as a synonym), optionally with
2. a status (``eligible`` / ``screen_failed`` / ``pending``): the ``status`` of an
   :class:`~screenkit.evaluate.Evaluation`, a ``status`` column, or
3. ``fail_reasons`` (blank = no failure recorded = eligible).

So it runs on a plain enrollment log with no clinical columns at all. In such a log a
blank ``randomized`` means "not known yet" (pending); ``N`` for everyone means nobody has
been randomized *yet*, which the forecast still counts as randomization (zero so far).

The per-site (``sites``) and per-month (``monthly``) tables hold the counts plus
``eligibility_rate`` (eligible among decided, pending left out) with its 95% Wilson
interval (``eligibility_ci_low``, ``eligibility_ci_high``) and ``number_needed_to_screen``
(screened per randomized patient; NaN when nobody there is randomized or the log does not
record randomization).

>>> import pandas as pd
>>> log = pd.DataFrame({
...     "patient_id": ["P1", "P2", "P3", "P4", "P5"],
...     "site_id": ["A", "A", "B", "B", "B"],
...     "screening_date": pd.to_datetime(
...         ["2025-09-01", "2025-10-15", "2025-09-10", "2025-11-02", "2025-12-01"]),
...     "status": ["eligible", "screen_failed", "eligible", "eligible", "pending"],
... })
>>> rates = recruitment_rates(log)
>>> rates.sites[["site_id", "screened", "eligible", "screen_failed", "pending"]]
  site_id  screened  eligible  screen_failed  pending
0       A         2         1              1        0
1       B         3         2              0        1
>>> round(rates.eligibility_rate, 2), rates.outcome
(0.75, 'eligible')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from screenkit.errors import InputError
from screenkit.forecast.sites import DAYS_PER_MONTH, read_sites, site_windows
from screenkit.groups import site_order
from screenkit.stats import wilson_interval
from screenkit.style import percent

__all__ = [
    "DAYS_PER_MONTH",
    "RecruitmentRates",
    "patient_outcomes",
    "read_sites",
    "recruitment_rates",
]

STATUSES = ("eligible", "screen_failed", "pending")
_STATUS_ALIASES = {
    "eligible": "eligible",
    "screen_failed": "screen_failed",
    "screen_fail": "screen_failed",
    "screenfailed": "screen_failed",
    "failed": "screen_failed",
    "ineligible": "screen_failed",
    "pending": "pending",
}
_YES = {"y", "yes", "true", "1", "1.0", "是", "t"}
_NO = {"n", "no", "false", "0", "0.0", "否", "f"}


OUTCOME_COLUMNS = ("randomized", "enrolled")  # the first one the log has is the outcome


def _unwrap(log: Any) -> tuple[pd.DataFrame, pd.Series | None]:
    """A DataFrame plus an optional status Series from a frame, ScreeningData or Evaluation."""
    status = getattr(log, "status", None)
    if isinstance(log, pd.DataFrame):
        return log, None
    data = getattr(log, "data", None)
    if isinstance(data, pd.DataFrame):
        return data, status if isinstance(status, pd.Series) else None
    raise InputError(
        "The forecast needs a screening log",
        value=type(log).__name__,
        expected="a pandas DataFrame, a ScreeningData (load_screening) or an Evaluation",
    )


def _as_bool(values: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    if pd.api.types.is_numeric_dtype(values):
        bad = values.notna() & ~values.isin([0, 1])
        if bad.any():
            raise InputError(
                f"Column '{column}' must be yes/no",
                column=column,
                value=values[bad].iloc[0],
                expected="True/False, Y/N, Yes/No, 1/0 (blank = not known yet)",
            )
        return values.astype("Float64").astype("boolean")
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(_YES).fillna(False)] = True
    out[text.isin(_NO).fillna(False)] = False
    bad = text.notna() & (text != "") & out.isna()
    if bad.any():
        raise InputError(
            f"Column '{column}' must be yes/no",
            column=column,
            value=values[bad].iloc[0],
            expected="True/False, Y/N, Yes/No, 1/0 (blank = not known yet)",
        )
    return out


def _as_status(values: pd.Series, column: str) -> pd.Series:
    text = values.astype("string").str.strip().str.lower().str.replace(r"[\s\-]+", "_", regex=True)
    mapped = text.map(_STATUS_ALIASES, na_action="ignore").astype("string")
    bad = text.notna() & (text != "") & mapped.isna()
    if bad.any():
        raise InputError(
            "Screening status not understood",
            column=column,
            value=values[bad].iloc[0],
            expected="eligible, screen_failed, pending (blank = pending)",
        )
    return mapped.fillna("pending")


def patient_outcomes(log: Any) -> pd.DataFrame:
    """One row per screened patient: ``site_id``, ``screening_date``, ``status``, ``randomized``.

    ``status`` is ``eligible`` / ``screen_failed`` / ``pending`` or ``<NA>`` when the log
    records no eligibility at all (a plain enrollment log); ``randomized`` is ``boolean``
    (``<NA>`` when not recorded). A randomized patient is eligible.

    >>> import pandas as pd
    >>> log = pd.DataFrame({"patient_id": ["a", "b", "c"], "site_id": ["1", "1", "2"],
    ...     "screening_date": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-02-03"]),
    ...     "fail_reasons": ["", "ECOG 2", None]})
    >>> patient_outcomes(log)["status"].tolist()
    ['eligible', 'screen_failed', 'eligible']
    """
    frame, status = _unwrap(log)
    missing = [c for c in ("patient_id", "screening_date") if c not in frame.columns]
    if missing:
        raise InputError(
            "The forecast needs a patient ID and a screening date for every patient",
            column=", ".join(missing),
            value=None,
            expected="columns patient_id, site_id (optional), screening_date",
            hint="map the log's headers to these names (load_screening(path, columns=...)).",
            columns_found=", ".join(map(str, frame.columns)),
        )
    dates = pd.to_datetime(frame["screening_date"], errors="coerce")
    if dates.notna().sum() == 0:
        raise InputError(
            "No screening dates: the forecast needs the date each patient was screened",
            column="screening_date",
            expected="dates such as 2025-09-14",
            hint="fill in screening_date (rows without one are left out of the rates).",
        )
    sites = (
        frame["site_id"].astype("string").fillna("(no site)")
        if "site_id" in frame.columns
        else pd.Series("1", index=frame.index, dtype="string")
    )
    out = pd.DataFrame(
        {
            "patient_id": frame["patient_id"].astype("string"),
            "site_id": sites,
            "screening_date": dates.astype("datetime64[ns]"),
        },
        index=frame.index,
    )
    if status is not None:
        out["status"] = _as_status(status.reindex(frame.index), "status")
    elif "status" in frame.columns:
        out["status"] = _as_status(frame["status"], "status")
    elif "fail_reasons" in frame.columns:
        reasons = frame["fail_reasons"].astype("string").str.strip()
        out["status"] = pd.Series(
            np.where(reasons.fillna("").eq(""), "eligible", "screen_failed"),
            index=frame.index,
            dtype="string",
        )
    else:
        out["status"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    column = next((c for c in OUTCOME_COLUMNS if c in frame.columns), None)
    if column is not None:
        out["randomized"] = _as_bool(frame[column], column)
        if out["status"].notna().any():
            out.loc[out["randomized"].fillna(False).astype(bool), "status"] = "eligible"
    else:
        out["randomized"] = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    return out


@dataclass(frozen=True)
class RecruitmentRates:
    """Screening and randomization counts and rates from a log, as of a date.

    Attributes hold plain DataFrames: ``sites`` (one row per site: activity window,
    counts, rates per month), ``monthly`` (per site and calendar month), ``patients``
    (the per-patient outcomes used). ``outcome`` names what the forecast counts:
    ``"randomized"``, or ``"eligible"`` when the log has an eligibility status but nobody
    is recorded as randomized. A plain enrollment log (no status) whose ``randomized`` is
    filled in but all "no" counts ``"randomized"`` (zero so far). ``log_columns`` are the
    columns of the log as given (for messages).
    """

    as_of: pd.Timestamp
    sites: pd.DataFrame
    monthly: pd.DataFrame
    patients: pd.DataFrame
    outcome: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    log_columns: tuple[str, ...] = field(default_factory=tuple)

    @property
    def screened(self) -> int:
        return int(self.sites["screened"].sum())

    @property
    def eligible(self) -> int:
        return int(self.sites["eligible"].sum())

    @property
    def screen_failed(self) -> int:
        return int(self.sites["screen_failed"].sum())

    @property
    def pending(self) -> int:
        return int(self.sites["pending"].sum())

    @property
    def randomized(self) -> int:
        return int(self.sites["randomized"].sum())

    @property
    def has_status(self) -> bool:
        return bool(self.patients["status"].notna().any())

    @property
    def has_randomized(self) -> bool:
        """Whether the log records randomization (yes or no) for any patient."""
        return bool(self.patients["randomized"].notna().any())

    @property
    def eligibility_rate(self) -> float:
        """Eligible among patients with a decided outcome (pending left out)."""
        decided = self.eligible + self.screen_failed
        return self.eligible / decided if decided and self.has_status else float("nan")

    @property
    def eligibility_ci(self) -> tuple[float, float]:
        """95% Wilson interval of :attr:`eligibility_rate`."""
        if not self.has_status:
            return (float("nan"), float("nan"))
        return wilson_interval(self.eligible, self.eligible + self.screen_failed)

    @property
    def randomized_so_far(self) -> int:
        """What the forecast counts: randomized, or eligible when nobody is randomized."""
        return self.randomized if self.outcome == "randomized" else self.eligible

    @property
    def number_needed_to_screen(self) -> float:
        """Patients screened per randomized (or eligible, see ``outcome``) patient."""
        n = self.randomized_so_far
        return self.screened / n if n else float("inf")

    def overall(self) -> pd.DataFrame:
        """Headline counts, rates and the eligibility CI as a one-column frame."""
        lo, hi = self.eligibility_ci
        rows = {
            "as_of": self.as_of.date().isoformat(),
            "sites": len(self.sites),
            "screened": self.screened,
            "eligible": self.eligible,
            "screen_failed": self.screen_failed,
            "pending": self.pending,
            "randomized": self.randomized,
            "eligibility_rate": self.eligibility_rate,
            "eligibility_ci_low": lo,
            "eligibility_ci_high": hi,
            "number_needed_to_screen": self.number_needed_to_screen,
            "site_months": float(self.sites["months_active"].sum()),
            "screened_per_site_month": self.screened / max(self.sites["months_active"].sum(), 1e-9),
        }
        return pd.DataFrame({"value": pd.Series(rows, dtype=object)})

    def to_frame(self) -> pd.DataFrame:
        """The per-site table."""
        return self.sites.copy()

    def _repr_html_(self) -> str:
        lo, hi = self.eligibility_ci
        head = (
            f"<p><b>Recruitment as of {self.as_of.date()}</b>: {self.screened} screened at "
            f"{len(self.sites)} sites, {self.eligible} eligible, {self.randomized} randomized; "
            f"eligibility {percent(self.eligibility_rate)} (95% CI {percent(lo)} to "
            f"{percent(hi)}); "
            f"{self.number_needed_to_screen:.1f} screened per {self.outcome} patient.</p>"
        )
        notes = "".join(f"<p><i>{n}</i></p>" for n in self.notes)
        return head + notes + self.sites.to_html(index=False, float_format="{:.3f}".format)


def recruitment_rates(
    log: Any, sites: pd.DataFrame | str | None = None, as_of: Any = None
) -> RecruitmentRates:
    """Screened / eligible / screen-failed / pending / randomized per site and per month.

    Parameters
    ----------
    log
        The screening log: a DataFrame, a ``ScreeningData`` or an ``Evaluation``.
    sites
        Optional sites table (DataFrame or CSV path) with ``site_id``,
        ``activation_date`` and optionally ``closing_date``. Sites listed but without
        patients count as open with nobody screened (or as not yet open). Without it a
        site's activation is its first screening date.
    as_of
        The interim date (default: the last screening date). Later patients are left out.

    Rates are per month (a month is 365.25 / 12 days).
    """
    patients = patient_outcomes(log)
    log_columns = tuple(map(str, _unwrap(log)[0].columns))
    notes: list[str] = []
    undated = patients["screening_date"].isna()
    if undated.any():
        notes.append(f"{int(undated.sum())} patients without a screening date are left out.")
        patients = patients[~undated]
    as_of = patients["screening_date"].max() if as_of is None else pd.Timestamp(as_of).normalize()
    later = patients["screening_date"] > as_of
    if later.any():
        notes.append(f"{int(later.sum())} patients screened after {as_of.date()} are left out.")
        patients = patients[~later]
    if patients.empty and sites is None:
        raise InputError(
            "No patients screened on or before the as-of date",
            value=str(as_of.date()),
            hint="choose a later --as-of date.",
        )
    windows, window_notes = site_windows(patients, read_sites(sites), as_of)
    notes.extend(window_notes)

    status = patients["status"]
    rand = patients["randomized"].fillna(False).astype(bool)
    indicators = pd.DataFrame(
        {
            "site_id": patients["site_id"],
            "month": patients["screening_date"].dt.to_period("M").dt.to_timestamp(),
            "screened": 1,
            "eligible": status.eq("eligible").fillna(False).astype(int),
            "screen_failed": status.eq("screen_failed").fillna(False).astype(int),
            "pending": status.eq("pending").fillna(False).astype(int),
            "randomized": rand.astype(int),
        }
    )
    if not patients["status"].notna().any():
        # a plain enrollment log: unknown randomization outcome is the only pending kind
        indicators["pending"] = patients["randomized"].isna().astype(int).to_numpy()
    counts = ["screened", "eligible", "screen_failed", "pending", "randomized"]
    monthly = _with_rates(indicators.groupby(["site_id", "month"], as_index=False)[counts].sum())
    per_site = indicators.groupby("site_id", as_index=False)[counts].sum()
    table = windows.merge(per_site, on="site_id", how="left")
    table[counts] = table[counts].fillna(0).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        months = table["months_active"].to_numpy()
        table["screened_per_month"] = np.where(months > 0, table["screened"] / months, np.nan)
        table["randomized_per_month"] = np.where(months > 0, table["randomized"] / months, np.nan)
    rank = {site: i for i, site in enumerate(site_order(table["site_id"].unique()))}
    table = table.sort_values("site_id", key=lambda s: s.map(rank)).reset_index(drop=True)
    table = _with_rates(table)

    has_status = bool(patients["status"].notna().any())
    recorded = bool(patients["randomized"].notna().any())
    has_rand = bool(rand.any())
    # with a status, "nobody randomized" falls back to counting eligible patients; a plain
    # log has nothing else to count, so there it is randomization with zero so far
    outcome = "randomized" if has_rand or (recorded and not has_status) else "eligible"
    if not has_rand and has_status:
        notes.append(
            "No patient is recorded as randomized: counting eligible patients as randomized "
            "(eligibility-based probability)."
        )
    return RecruitmentRates(
        as_of=as_of,
        sites=table,
        monthly=monthly,
        patients=patients,
        outcome=outcome,
        notes=tuple(notes),
        log_columns=log_columns,
    )


def _with_rates(table: pd.DataFrame) -> pd.DataFrame:
    """Add the eligibility rate, its 95% Wilson CI and the number needed to screen."""
    eligible = table["eligible"].to_numpy(float)
    decided = eligible + table["screen_failed"].to_numpy(float)
    randomized = table["randomized"].to_numpy(float)
    lo, hi = wilson_interval(eligible, decided)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["eligibility_rate"] = np.where(decided > 0, eligible / decided, np.nan)
        table["eligibility_ci_low"] = lo
        table["eligibility_ci_high"] = hi
        table["number_needed_to_screen"] = np.where(
            randomized > 0, table["screened"].to_numpy(float) / randomized, np.nan
        )
    return table
