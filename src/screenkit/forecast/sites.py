"""Site activity windows: a sites table, or each site's first screening date.

A sites table has ``site_id``, ``activation_date`` and optionally ``closing_date`` (blank =
still open); header spellings such as ``Site``, ``Activated`` or ``Closed`` are accepted.

>>> import pandas as pd
>>> read_sites(pd.DataFrame({"Site": ["101"], "Activated": ["2025-08-20"]}))
  site_id activation_date closing_date
0     101      2025-08-20          NaT
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from screenkit.errors import InputError

__all__ = ["read_sites", "site_windows"]

DAYS_PER_MONTH = 365.25 / 12
_SITE_ACTIVATION = ("activation_date", "activated", "open_date", "opened", "start_date")
_SITE_CLOSING = ("closing_date", "closed", "close_date", "end_date")


def read_sites(sites: pd.DataFrame | str | os.PathLike | None) -> pd.DataFrame | None:
    """A sites table as ``site_id``, ``activation_date``, ``closing_date`` (NaT = open).

    ``sites`` is a DataFrame or a CSV file; a file that cannot be used is an
    :class:`InputError` naming the file and, for a bad row, its number as a spreadsheet
    shows it (the header is row 1)."""
    if sites is None:
        return None
    path = None
    if not isinstance(sites, pd.DataFrame):
        path = Path(sites)
        sites = _read_sites_file(path)
    expected = "columns site_id, activation_date and optionally closing_date; one row per site"
    lower = {str(c).strip().lower().replace(" ", "_"): c for c in sites.columns}
    site_col = next((lower[c] for c in ("site_id", "site", "centre", "center") if c in lower), None)
    act_col = next((lower[c] for c in _SITE_ACTIVATION if c in lower), None)
    if site_col is None or act_col is None:
        raise InputError(
            "Sites table has no "
            + ("site_id" if site_col is None else "activation_date")
            + " column",
            file=path,
            row=1 if path is not None else None,
            expected=expected,
            columns_found=", ".join(map(str, sites.columns)),
        )
    if sites.empty:
        raise InputError("Sites table lists no site", file=path, expected=expected)
    close_col = next((lower[c] for c in _SITE_CLOSING if c in lower), None)
    out = pd.DataFrame(
        {
            "site_id": sites[site_col].astype("string").str.strip(),
            "activation_date": pd.to_datetime(sites[act_col], errors="coerce"),
            "closing_date": (
                pd.to_datetime(sites[close_col], errors="coerce")
                if close_col is not None
                else pd.Series(pd.NaT, index=sites.index, dtype="datetime64[ns]")
            ),
        }
    )
    bad = out["activation_date"].isna()
    if bad.any():
        raise InputError(
            "Every site in the sites table needs an activation date",
            file=path,
            row=int(bad.idxmax()) + 2 if path is not None else None,
            column=str(act_col),
            value=sites.loc[bad, act_col].iloc[0],
            site=out.loc[bad, "site_id"].iloc[0],
            expected="a date such as 2025-09-14",
        )
    if out["site_id"].duplicated().any():
        raise InputError(
            "Each site may appear once in the sites table",
            column=str(site_col),
            value=out.loc[out["site_id"].duplicated(), "site_id"].iloc[0],
        )
    return out.reset_index(drop=True)


def _read_sites_file(path: Path) -> pd.DataFrame:
    """The raw cells of a sites CSV (text), indexed by line - 2 (blank lines dropped)."""
    if not path.exists():
        raise InputError("Sites file not found", file=path)
    if not path.is_file():
        raise InputError("Sites file is a folder, not a file", file=path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError("Sites file is not UTF-8 text", file=path, byte_offset=err.start) from None
    if not text.strip():
        raise InputError(
            "Sites file is empty", file=path, expected="a header site_id,activation_date"
        )
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, skip_blank_lines=False)
    except (pd.errors.ParserError, ValueError) as err:
        raise InputError("Sites file cannot be read as CSV", file=path, detail=str(err)) from None
    return table.dropna(how="all")


def site_windows(
    patients: pd.DataFrame, sites: pd.DataFrame | None, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, list[str]]:
    """Per-site activation / closing dates, months active up to ``as_of``, and state."""
    notes: list[str] = []
    first = patients.groupby("site_id")["screening_date"].min()
    table = pd.DataFrame({"site_id": first.index.astype("string"), "first_screening": first.values})
    if sites is None:
        table["activation_date"] = table["first_screening"]
        table["closing_date"] = pd.NaT
        table["activation_source"] = "first screening"
        notes.append(
            "Site activation dates are taken as each site's first screening date "
            "(pass a sites table for true activation and closing dates)."
        )
    else:
        table = table.merge(sites, on="site_id", how="outer")
        known = table["activation_date"].notna()
        table["activation_source"] = np.where(known, "sites table", "first screening")
        if (~known).any():
            notes.append(
                "Sites missing from the sites table use their first screening date as "
                "activation: " + ", ".join(table.loc[~known, "site_id"].astype(str))
            )
        table.loc[~known, "activation_date"] = table.loc[~known, "first_screening"]
        early = table["first_screening"].notna() & (
            table["first_screening"] < table["activation_date"]
        )
        if early.any():
            notes.append(
                "Some sites screened before their activation date; activation moved to the "
                "first screening: " + ", ".join(table.loc[early, "site_id"].astype(str))
            )
            table.loc[early, "activation_date"] = table.loc[early, "first_screening"]
    table["activation_date"] = pd.to_datetime(table["activation_date"]).astype("datetime64[ns]")
    table["closing_date"] = pd.to_datetime(table["closing_date"]).astype("datetime64[ns]")
    end = table["closing_date"].where(table["closing_date"] < as_of, as_of)
    months = (end - table["activation_date"]).dt.days / DAYS_PER_MONTH
    table["months_active"] = months.clip(lower=0.0).astype(float)
    state = np.where(
        table["activation_date"] > as_of,
        "not yet open",
        np.where(
            table["closing_date"].notna() & (table["closing_date"] <= as_of), "closed", "open"
        ),
    )
    table["state"] = state
    return table.drop(columns="first_screening"), notes
