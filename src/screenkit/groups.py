"""Group keys of a screening log (site, screening month): one dense code per patient.

The pattern histogram counts patients per (fail set, unknown set, group). The groups are
read from the data once, column-wise: a column is factorized (hashing its values, never
formatting each cell), and only the distinct values are turned into labels. A missing
site reads ``(no site)``, a missing date ``(no date)``.

>>> import pandas as pd
>>> data = pd.DataFrame({"site_id": ["A", None, "A"],
...                      "screening_date": pd.to_datetime(["2024-01-05", "2024-02-01", None])})
>>> codes, table = group_codes(data, ("site_id", "screening_month"))
>>> codes.tolist()
[0, 1, 2]
>>> table.values.tolist()
[['A', '2024-01'], ['(no site)', '2024-02'], ['A', '(no date)']]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from screenkit.bits import dense_ids, first_index
from screenkit.errors import ScreenkitError
from screenkit.loadedcodes import LoadedCodes, known_codes

__all__ = ["NO_DATE", "NO_SITE", "group_codes", "site_order"]

NO_SITE = "(no site)"
NO_DATE = "(no date)"


def site_order(labels) -> list:
    """Site labels in natural order (S2 before S10, 9 before 10), ``(no site)`` last: the
    one order every table of sites uses.

    >>> site_order(["S10", "(no site)", "S2", "A1"])
    ['A1', 'S2', 'S10', '(no site)']
    """

    def key(label) -> tuple:
        text = str(label)
        parts = re.split(r"(\d+)", text)  # text at even positions, digits at odd ones
        return (text == NO_SITE, [int(p) if i % 2 else p for i, p in enumerate(parts)])

    return sorted(labels, key=key)


def group_codes(
    data: pd.DataFrame, by: Sequence[str], known: Mapping[str, LoadedCodes] | None = None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Per patient, a dense group id (order of first appearance); and the table of group
    values, one row per id, one column per name of ``by``."""
    n = len(data)
    codes, labels = [], []
    for name in by:
        c, values = _column_codes(data, name, known)
        codes.append(c)
        labels.append(values)
    if not codes:
        return np.zeros(n, dtype=np.int64), pd.DataFrame(index=pd.RangeIndex(1 if n else 0))
    group_id = dense_ids(codes)
    n_groups = int(group_id.max()) + 1 if n else 0
    first = first_index(group_id, n_groups)
    table = pd.DataFrame(
        {name: values[c[first]] for name, c, values in zip(by, codes, labels, strict=True)},
        index=pd.RangeIndex(n_groups),
    )
    return group_id, table


def _column_codes(
    data: pd.DataFrame, name: str, known: Mapping[str, LoadedCodes] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes (first appearance) and their labels (object array) for one key
    (``known``: the loader's codes of text columns, used for the site)."""
    n = len(data)
    if name == "screening_month":
        if "screening_date" not in data.columns:
            return np.zeros(n, np.int64), np.array([NO_DATE], dtype=object)
        return _month_codes(pd.to_datetime(data["screening_date"]))
    if name == "site_id":
        if "site_id" not in data.columns:
            return np.zeros(n, np.int64), np.array([NO_SITE], dtype=object)
        site = data["site_id"]
        return _codes_with_missing(site, NO_SITE, known_codes(known, "site_id", site))
    if name in data.columns:
        codes, uniques = pd.factorize(data[name].astype(object), use_na_sentinel=False)
        return codes.astype(np.int64), np.asarray(uniques, dtype=object)
    raise ScreenkitError(
        f"Cannot group by {name!r}: not a column of the data",
        accepted="site_id, screening_month, or a column of the data",
    )


def _codes_with_missing(
    series: pd.Series, missing: str, loaded: LoadedCodes | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a column whose missing values read ``missing`` (merged with that text);
    ``loaded``: the column's codes from the loader (not hashed again).

    >>> site = pd.Series(["S2", None, "S1", "(no site)"])
    >>> codes, labels = _codes_with_missing(site, "(no site)")
    >>> codes.tolist(), labels.tolist()
    ([0, 1, 2, 1], ['S2', '(no site)', 'S1'])
    """
    if loaded is None:
        codes, uniques = pd.factorize(series, use_na_sentinel=False)  # a blank is one value
    else:
        codes, uniques = _with_missing_value(loaded.codes, loaded.categories)
    labels = np.array([missing if pd.isna(u) else u for u in uniques], dtype=object)
    merged, merged_labels = pd.factorize(labels)  # blank and the text typed in
    return merged[codes].astype(np.int64), np.asarray(merged_labels, dtype=object)


def _with_missing_value(codes: np.ndarray, categories: np.ndarray) -> tuple[np.ndarray, Any]:
    """Codes with -1 for missing -> ``pd.factorize(use_na_sentinel=False)``'s: missing
    a value of its own (NaN), numbered where it first appears.

    >>> labels = np.array(list("abc"), dtype=object)
    >>> codes, uniques = _with_missing_value(np.array([0, 1, -1, 2, -1]), labels)
    >>> codes.tolist(), uniques
    ([0, 1, 2, 3, 2], ['a', 'b', nan, 'c'])
    """
    blank = codes < 0
    if not blank.any():
        return codes, list(categories)
    first = int(np.argmax(blank))
    at = int(codes[:first].max()) + 1 if first else 0  # codes before it: 0..at-1
    out = np.where(blank, at, codes + (codes >= at))
    return out, [*categories[:at], np.nan, *categories[at:]]


def _month_codes(dates: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the calendar month (``YYYY-MM``) of each date; missing reads ``(no date)``."""
    if getattr(dates.dt, "tz", None) is not None:  # local months, as the dates read
        dates = dates.dt.tz_localize(None)
    offsets, first_month, blank_offset = _months_since_first(dates.to_numpy())
    codes = dense_ids([offsets])  # small non-negative integers: no hashing
    firsts = offsets[first_index(codes, int(codes.max()) + 1)] if len(codes) else offsets
    as_months = (firsts + first_month).astype("datetime64[M]")
    blank = firsts == blank_offset
    as_months[blank] = np.datetime64("NaT")
    text = pd.DatetimeIndex(as_months.astype("datetime64[ns]")).strftime("%Y-%m")
    labels = np.where(blank, NO_DATE, np.asarray(text, dtype=object))
    return codes.astype(np.int64), labels.astype(object)


def _months_since_first(stamps: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Per date, months since the earliest month, missing dates one past the latest; that
    earliest month (months since 1970-01); and the offset that stands for "missing".

    Dates are floored to days (integer division), and the month of each distinct day is
    looked up in a table of the days from the first date to the last: the calendar is
    consulted once per day, not once per patient.

    >>> stamps = np.array(["2024-02-29", "NaT", "2023-12-31"], dtype="datetime64[ns]")
    >>> offsets, first, blank = _months_since_first(stamps)
    >>> offsets.tolist(), str(np.datetime64(first, "M")), blank
    ([2, 3, 0], '2023-12', 3)
    """
    days = stamps.astype("datetime64[D]").view(np.int64)
    blank = days == np.iinfo(np.int64).min  # NaT
    known = days[~blank] if blank.any() else days
    if not len(known):
        return np.zeros(len(days), dtype=np.int64), 0, 0
    first, last = int(known.min()), int(known.max())
    if last - first > 4 * len(days) + 1024:  # dates spread over more days than patients
        months = stamps.astype("datetime64[M]").view(np.int64)
        first_month = int(months[~blank].min())
        months -= first_month
        blank_offset = int(months[~blank].max()) + 1
        return np.where(blank, blank_offset, months), first_month, blank_offset
    month_of_day = np.arange(first, last + 1).astype("datetime64[D]").astype("datetime64[M]")
    month_of_day = month_of_day.view(np.int64)
    first_month = int(month_of_day[0])
    blank_offset = int(month_of_day[-1]) - first_month + 1
    table = np.append(month_of_day - first_month, blank_offset)
    return table[np.where(blank, len(table) - 1, days - first)], first_month, blank_offset
