"""Criteria not met, in the shape of the CDISC SDTM IE (Inclusion/Exclusion) domain.

One row per patient and criterion NOT met: an inclusion the patient fails
(``IEORRES = "N"``) or an exclusion that applies (``IEORRES = "Y"``). Criteria that are
met, and criteria that are unknown (a value is missing), are not listed, as in SDTM IE.

Columns: ``STUDYID``, ``DOMAIN`` (``IE``), ``USUBJID`` (``STUDYID-patient_id``),
``IESEQ`` (1, 2, ... per subject), ``IETESTCD`` (<= 8 characters, uppercase, e.g.
``INCL7D``, ``EXCL12C``), ``IETEST`` (the criterion label, <= 200 characters), ``IECAT``
(``INCLUSION`` / ``EXCLUSION``), ``IEORRES``, ``IESTRESC`` and, when the log has
screening dates, ``IEDTC`` (ISO 8601).

>>> import pandas as pd
>>> from screenkit.evaluate import evaluate
>>> frame = pd.DataFrame({"patient_id": ["P1", "P2"],
...                       "largest_lesion_cm": pd.array([3, 6], dtype="Float64"),
...                       "spo2": pd.array([99, 94], dtype="Float64")})
>>> ie_frame(evaluate(frame, "NCT07103668"))[["USUBJID", "IESEQ", "IETESTCD", "IECAT", "IEORRES"]]
           USUBJID  IESEQ IETESTCD      IECAT IEORRES
0  NCT07103668-P2      1   INCL5B  INCLUSION       N
1  NCT07103668-P2      2     EXCL7  EXCLUSION       Y
>>> test_codes(["I7d", "E12c", "I10"], ["inclusion", "exclusion", "inclusion"])
['INCL7D', 'EXCL12C', 'INCL10']
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from screenkit.errors import InputError
from screenkit.files import atomic_write, check_target, input_paths, safe_text

if TYPE_CHECKING:
    from screenkit.evaluate import Evaluation

__all__ = ["IE_COLUMNS", "export_ie", "ie_frame", "test_codes"]

IE_COLUMNS = [
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "IESEQ",
    "IETESTCD",
    "IETEST",
    "IECAT",
    "IEORRES",
    "IESTRESC",
]


def test_codes(ids: Sequence[str], kinds: Sequence[str]) -> list[str]:
    """SDTM test codes: ``INCL``/``EXCL`` + the criterion ID without its leading I/E.

    Codes are uppercase letters and digits, start with a letter, are at most 8
    characters and unique; an ID that does not fit gets ``INCL``/``EXCL`` + its number
    within its kind (``EXCL0012``).
    """
    codes: list[str] = []
    counters = {"inclusion": 0, "exclusion": 0}
    for cid, kind in zip(ids, kinds, strict=True):
        counters[kind] += 1
        prefix = "INCL" if kind == "inclusion" else "EXCL"
        rest = re.sub(r"[^A-Z0-9]", "", cid.upper())
        if rest[:1] in ("I", "E") and rest[1:2].isdigit():
            rest = rest[1:]
        code = prefix + rest
        if not rest or len(code) > 8 or code in codes:
            code = f"{prefix}{counters[kind]:04d}"
        codes.append(code)
    return codes


def ie_frame(evaluation: Evaluation, studyid: str | None = None) -> pd.DataFrame:
    """The IE rows of an evaluation (see the module docstring)."""
    protocol = evaluation.protocol
    studyid = studyid or protocol.id
    data = evaluation.data
    if "patient_id" not in data.columns:
        raise InputError(
            "The SDTM IE output needs patient IDs",
            column="patient_id",
            expected="a screening log with a patient ID column",
        )
    from screenkit.recorded import protocol_of

    protocol = protocol_of(evaluation)  # recorded mode: no IE record for "not recorded"
    ids = protocol.ids
    kinds = [c.kind for c in protocol.criteria]
    codes = dict(zip(ids, test_codes(ids, kinds), strict=True))
    fails = np.column_stack(
        [(~evaluation.statuses[c]).to_numpy(dtype=bool, na_value=False) for c in ids]
    )
    rows, cols = np.nonzero(fails)  # row-major: patient by patient, protocol order
    crit = [protocol.criteria[j] for j in cols]
    patient = data["patient_id"].astype(str).to_numpy()[rows]
    frame = pd.DataFrame(
        {
            "STUDYID": studyid,
            "DOMAIN": "IE",
            "USUBJID": [f"{studyid}-{p}" for p in patient],
            "IESEQ": 0,
            "IETESTCD": [codes[c.id] for c in crit],
            "IETEST": [c.label[:200] for c in crit],
            "IECAT": [c.kind.upper() for c in crit],
            "IEORRES": ["N" if c.kind == "inclusion" else "Y" for c in crit],
        },
        columns=IE_COLUMNS[:-1],
    )
    frame["IESTRESC"] = frame["IEORRES"]
    frame["IESEQ"] = frame.groupby("USUBJID", sort=False).cumcount() + 1
    if "screening_date" in data.columns:
        dates = pd.to_datetime(data["screening_date"]).to_numpy()[rows]
        frame["IEDTC"] = pd.Series(dates).dt.strftime("%Y-%m-%d").fillna("").to_numpy()
    return frame


def export_ie(
    evaluation: Evaluation,
    path: str | os.PathLike,
    *,
    studyid: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write :func:`ie_frame` as a UTF-8 CSV; returns the path.

    Text that a spreadsheet would run as a formula is prefixed with an apostrophe (a
    USUBJID always starts with the study ID, so real IDs are unchanged).
    """
    out = check_target(path, overwrite=overwrite, inputs=input_paths(evaluation))
    frame = ie_frame(evaluation, studyid=studyid)
    for col in frame.columns:
        if frame[col].dtype.kind in "OU" or pd.api.types.is_string_dtype(frame[col]):
            frame[col] = frame[col].map(safe_text)

    def write(tmp: Path) -> None:
        frame.to_csv(tmp, index=False, encoding="utf-8", quoting=csv.QUOTE_MINIMAL)

    return atomic_write(out, write)
