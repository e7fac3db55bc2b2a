"""Group keys (site, screening month) read column-wise equal the per-patient labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screenkit.groups import NO_DATE, NO_SITE, group_codes


def _expected(data: pd.DataFrame) -> list[tuple[str, str]]:
    """Per patient, the (site, month) labels written out one by one."""
    sites = [NO_SITE if pd.isna(s) else s for s in data["site_id"]]
    months = [NO_DATE if pd.isna(d) else f"{d.year:04d}-{d.month:02d}" for d in data["dates"]]
    return list(zip(sites, months, strict=True))


def _frame(rng: np.random.Generator, n: int, spread_days: int, tz: str | None) -> pd.DataFrame:
    start = pd.Timestamp("1999-12-31 23:30")
    offsets = pd.to_timedelta(rng.integers(0, spread_days, n), unit="D")
    dates = pd.Series(start + offsets + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s"))
    dates[rng.random(n) < 0.1] = pd.NaT
    if tz:
        dates = dates.dt.tz_localize(tz)
    sites = rng.choice(["A", "B", "(no site)", None, "C"], n).astype(object)
    return pd.DataFrame(
        {"site_id": pd.array(sites, dtype="string"), "screening_date": dates, "dates": dates}
    )


@pytest.mark.parametrize(
    ("spread_days", "tz"),
    [(3, None), (800, None), (800, "Europe/Paris"), (60_000, None)],  # the last: no day table
)
def test_group_codes_equal_the_labels_of_each_patient(spread_days, tz):
    rng = np.random.default_rng(spread_days)
    data = _frame(rng, 3_000, spread_days, tz)
    codes, table = group_codes(data, ("site_id", "screening_month"))
    sites, months = table["site_id"].to_numpy()[codes], table["screening_month"].to_numpy()[codes]
    got = list(zip(sites, months, strict=True))
    assert got == _expected(data)
    assert len(table) == len(set(got))  # one row per distinct pair
    first_seen = list(dict.fromkeys(got))
    assert list(zip(table["site_id"], table["screening_month"], strict=True)) == first_seen


def test_only_missing_dates_read_no_date():
    data = pd.DataFrame({"screening_date": pd.Series([pd.NaT, pd.NaT], dtype="datetime64[ns]")})
    codes, table = group_codes(data, ("screening_month",))
    assert codes.tolist() == [0, 0]
    assert table["screening_month"].tolist() == [NO_DATE]
