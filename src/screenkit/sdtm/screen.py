"""Screen failures in SDTM: which subjects each convention marks, and who was randomized.

Conventions (each compared case-insensitively, blank = missing):

=========================  ===================================================  ========
key                        rule                                                 domain
=========================  ===================================================  ========
``ARMCD=SCRNFAIL``         ``ARMCD == "SCRNFAIL"`` (SDTMIG <= 3.2; the pilot     DM
                           writes ``Scrnfail``)
``ARM=SCREEN FAILURE``     ``ARM == "Screen Failure"``                          DM
``ARMNRS=SCREEN FAILURE``  blank ``ARMCD`` and ``ARMNRS == "SCREEN FAILURE"``    DM
                           (SDTMIG 3.3 and later)
``DSDECOD=SCREEN FAILURE`` any DS record with ``DSDECOD == "SCREEN FAILURE"``   DS
=========================  ===================================================  ========

A convention is *checked* when its columns exist; it is *in use* when it marks at least one
subject. A subject is a screen failure when any convention marks it; the conventions in use
*disagree* on a subject that some of them mark and others do not (a convention that is not
used at all, such as ``ARM`` in a 3.3 study where ARM is blank for screen failures, is not
counted as disagreeing).

**Randomized** (the definition used everywhere): a DM subject that no convention marks as a
screen failure and whose planned arm ``ARMCD`` (``ARM`` when DM has no ARMCD) is recorded
and is not ``NOTASSGN`` (the SDTMIG <= 3.2 code for "not assigned"). DM's ARMCD is the
arm a subject was randomized to, so a subject with an arm was randomized, whatever
happened after. Subjects neither screen
failed nor randomized (no arm, or ``ARMNRS`` such as ``NOT ASSIGNED``) are counted as
``not_randomized`` so that screened = screen_failed + randomized + not_randomized.

>>> import pandas as pd
>>> dm = pd.DataFrame({"USUBJID": ["A", "B", "C"], "ARMCD": ["Scrnfail", "PBO", pd.NA],
...                    "ARMNRS": [pd.NA, pd.NA, "SCREEN FAILURE"]})
>>> screen_failure_markers(dm).sum().to_dict()
{'ARMCD=SCRNFAIL': 1, 'ARMNRS=SCREEN FAILURE': 1}
>>> randomized(dm, screen_failure_markers(dm).any(axis=1)).tolist()
[False, True, False]
"""

from __future__ import annotations

import pandas as pd

__all__ = ["CONVENTIONS", "disagreements", "randomized", "screen_failure_markers"]

#: Convention key -> (domain, the variables it reads).
CONVENTIONS = {
    "ARMCD=SCRNFAIL": ("DM", ("ARMCD",)),
    "ARM=SCREEN FAILURE": ("DM", ("ARM",)),
    "ARMNRS=SCREEN FAILURE": ("DM", ("ARMCD", "ARMNRS")),
    "DSDECOD=SCREEN FAILURE": ("DS", ("DSDECOD",)),
}


def _upper(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].astype("string").str.strip().str.upper()


def screen_failure_markers(dm: pd.DataFrame, ds: pd.DataFrame | None = None) -> pd.DataFrame:
    """One boolean column per convention checked (see the module docstring), one row per DM
    subject (index = USUBJID, in DM order). Conventions whose columns are absent are left
    out; a DS subject that is not in DM is not a row (the summary counts them in a note)."""
    ids = pd.Index(dm["USUBJID"].astype("string"), name="USUBJID")
    marks: dict[str, pd.Series] = {}
    if "ARMCD" in dm.columns:
        marks["ARMCD=SCRNFAIL"] = (_upper(dm, "ARMCD") == "SCRNFAIL").fillna(False)
    if "ARM" in dm.columns:
        marks["ARM=SCREEN FAILURE"] = (_upper(dm, "ARM") == "SCREEN FAILURE").fillna(False)
    if "ARMNRS" in dm.columns:
        blank_arm = dm["ARMCD"].isna() if "ARMCD" in dm.columns else True
        marks["ARMNRS=SCREEN FAILURE"] = (_upper(dm, "ARMNRS") == "SCREEN FAILURE").fillna(
            False
        ) & blank_arm
    frame = pd.DataFrame({k: v.to_numpy(dtype=bool) for k, v in marks.items()}, index=ids)
    if ds is not None:
        failed = ds.loc[(_upper(ds, "DSDECOD") == "SCREEN FAILURE").fillna(False), "USUBJID"]
        frame["DSDECOD=SCREEN FAILURE"] = ids.isin(failed.astype("string"))
    return frame


def disagreements(markers: pd.DataFrame) -> pd.DataFrame:
    """Subjects the conventions in use disagree on: ``USUBJID``, ``marked_by`` and
    ``not_marked_by`` (convention keys joined by ", ").

    >>> m = pd.DataFrame({"ARMCD=SCRNFAIL": [True, True, False],
    ...                   "DSDECOD=SCREEN FAILURE": [True, False, False]},
    ...                  index=pd.Index(["A", "B", "C"], name="USUBJID"))
    >>> disagreements(m).to_dict("records")
    [{'USUBJID': 'B', 'marked_by': 'ARMCD=SCRNFAIL', 'not_marked_by': 'DSDECOD=SCREEN FAILURE'}]
    """
    used = markers.loc[:, markers.any(axis=0)]
    split = used.any(axis=1) & ~used.all(axis=1)
    rows = [
        {
            "USUBJID": subject,
            "marked_by": ", ".join(c for c in used.columns if flags[c]),
            "not_marked_by": ", ".join(c for c in used.columns if not flags[c]),
        }
        for subject, flags in used[split].iterrows()
    ]
    return pd.DataFrame(rows, columns=["USUBJID", "marked_by", "not_marked_by"])


def randomized(dm: pd.DataFrame, screen_failed: pd.Series) -> pd.Series:
    """Boolean per DM subject (DM order): randomized as defined in the module docstring."""
    column = "ARMCD" if "ARMCD" in dm.columns else "ARM"  # ARM when a DM lacks ARMCD
    arm = _upper(dm, column)
    has_arm = (arm.notna() & ~arm.isin(["NOTASSGN", "SCRNFAIL"])).fillna(False)
    return pd.Series(has_arm.to_numpy(dtype=bool) & ~screen_failed.to_numpy(dtype=bool))
