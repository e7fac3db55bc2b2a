"""Shared fixtures: a fully passing NCT07103668 patient, and a helper to vary it."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd
import pytest

from screenkit.columns import COLUMNS
from screenkit.protocol import get_protocol

# Male, 55 y, 70 kg, all labs normal; ULNs: ALT 40, AST 35, ALP 120, creatinine 1.1 mg/dL
# (shared/domain/imc002-criteria.md, "Worked examples").
PASSING = {
    "patient_id": "P001",
    "site_id": "S01",
    "screening_date": pd.Timestamp("2025-09-01"),
    "sex": "M",
    "age_years": 55.0,
    "weight_kg": 70.0,
    "prior_lines_failed": 2.0,
    "cldn18_pct_2plus": 60.0,
    "expected_survival_weeks": 24.0,
    "largest_lesion_cm": 3.0,
    "ecog": 1.0,
    "her2_ihc": 1.0,
    "anc": 3.0,
    "lym": 1.2,
    "plt": 200.0,
    "hb": 11.0,
    "alt": 30.0,
    "alt_uln": 40.0,
    "ast": 30.0,
    "ast_uln": 35.0,
    "alp": 100.0,
    "alp_uln": 120.0,
    "tbil": 0.8,
    "tbil_uln": 1.2,
    "creat": 0.9,
    "creat_uln": 1.1,
    "amylase": 60.0,
    "amylase_uln": 100.0,
    "lipase": 40.0,
    "lipase_uln": 60.0,
    "urine_protein": 0.0,
    "fasting_glucose": 5.5,
    "sbp": 125.0,
    "dbp": 80.0,
    "spo2": 98.0,
    "heart_rate_bpm": 72.0,
    "qtcf_ms": 420.0,
    "pr_ms": 160.0,
    "lvef": 60.0,
    "steroid_pred_eq_mg_day": 0.0,
    "steroid_days": 0.0,
    "days_since_antitumor_tx": 35.0,
    "liver_mets": False,
    "bone_mets": False,
    "adenocarcinoma_confirmed": True,
    "unresectable": True,
    "prior_cldn18_therapy": False,
    "measurable_lesion": True,
    "her2_fish_pos": False,
    "ecg_abnormality": False,
    "consent_signed": True,
    "willing_to_comply": True,
}
for _name, _col in COLUMNS.items():
    if _col.kind == "bool" and _name not in PASSING and _name not in ("enrolled", "randomized"):
        PASSING[_name] = False


FALSE_VALUES = frozenset({"", "0", "false", "no", "off", "n", "f"})


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """True when the environment variable ``CI`` holds a true value, as CI runners set it
    (tests that need a system application then fail instead of skipping).

    >>> in_ci({"CI": "true"}), in_ci({"CI": "1"}), in_ci({"CI": "false"}), in_ci({})
    (True, True, False, False)
    """
    return environ.get("CI", "").strip().lower() not in FALSE_VALUES


def canonical_frame(rows: list[dict]) -> pd.DataFrame:
    """A canonical frame (dtypes per columns.DTYPES) from dicts; missing keys -> <NA>."""
    frame = pd.DataFrame(rows)
    for name in frame.columns:
        col = COLUMNS.get(name)
        if col is not None:
            frame[name] = frame[name].astype(col.dtype)
    return frame


def patient(**changes) -> dict:
    """The passing patient with some values changed (``None`` = missing)."""
    row = dict(PASSING)
    for key, value in changes.items():
        if value is None:
            row.pop(key, None)
        else:
            row[key] = value
    return row


@pytest.fixture(scope="session")
def imc002():
    return get_protocol("NCT07103668")


def plain_enrollment_log(
    seed: int, n: int, sites: list[str], start: str, days: int, p_randomized: float
) -> pd.DataFrame:
    """A screening log with no clinical columns: ID, site, date, randomized Y/N."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "patient_id": [f"P{i:03d}" for i in range(n)],
            "site_id": rng.choice(sites, n),
            "screening_date": (
                pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.integers(0, days, n)), unit="D")
            ).strftime("%Y-%m-%d"),
            "randomized": np.where(rng.random(n) < p_randomized, "Y", "N"),
        }
    )


@pytest.fixture(autouse=True)
def _terminal_width(monkeypatch):
    """The terminal report wraps to ``$COLUMNS``: tests read it at the documented default
    width (100), whatever terminal or worker runs them; a test may set its own."""
    monkeypatch.setenv("COLUMNS", "100")
