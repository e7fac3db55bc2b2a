"""The synthetic sample screening log: a seeded generator and the shipped files.

Everything here is SYNTHETIC: no row describes a real patient. The generator draws a
realistic third-line CLDN18.2 CAR-T screening population (calibrated on
``clinical-facts.md``: CLDN18.2 and HER2 prevalences, metastasis sites, ECOG, prior lines,
laboratory failure rates, staggered sites recruiting as gamma-heterogeneous Poisson
processes) in the canonical frame format (``columns.DTYPES``).

- :func:`make_sample` returns the canonical frame (vectorized: 100,000 patients in about
  a second, plus the evaluation for the ``randomized`` outcome).
- :func:`load_sample` loads the shipped workbook through
  :func:`screenkit.normalize.load_screening`, exactly as a user's file would be.
- :func:`write_sample_files` writes the clean workbook and a "messy" twin holding the same
  patients in the forms real exports use (units in headers, ``ND``, ``是/否`` ...).

>>> df = make_sample(n_patients=50, seed=1, outcomes=False)
>>> df.shape[0], df["patient_id"].is_unique
(50, True)
>>> str(df["hb"].dtype), str(df["liver_mets"].dtype), str(df["screening_date"].dtype)
('Float64', 'boolean', 'datetime64[ns]')
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from screenkit.datasets.files import write_sample_files
from screenkit.datasets.generate import (
    CLEAN_FILE,
    DEFAULT_SEED,
    MESSY_FILE,
    PROTOCOL_ID,
    SHEET,
    TRIAL_START,
    add_outcomes,
    make_sample,
)
from screenkit.errors import InputError

__all__ = [
    "DEFAULT_SEED",
    "PROTOCOL_ID",
    "TRIAL_START",
    "add_outcomes",
    "load_sample",
    "make_sample",
    "sample_path",
    "write_sample_files",
]


def sample_path(kind: str = "clean") -> Path:
    """Path of a shipped sample workbook (``kind``: ``"clean"`` or ``"messy"``)."""
    names = {"clean": CLEAN_FILE, "messy": MESSY_FILE}
    if kind not in names:
        raise InputError("Unknown sample", value=kind, expected="'clean' or 'messy'")
    return Path(str(resources.files("screenkit") / "_sample_data" / names[kind]))


def load_sample(kind: str = "clean"):
    """Load the shipped SYNTHETIC sample (400 patients, 8 sites) as ``ScreeningData``.

    ``kind="clean"`` loads the tidy workbook, ``kind="messy"`` its untidy twin (units in
    headers, ``ND``, ``是/否`` ...); both give the same per-criterion statuses. The
    workbooks ship inside the package, so this works from an installed wheel.

    >>> data = load_sample()
    >>> len(data.data), data.report.rows_loaded
    (400, 400)
    """
    from screenkit.normalize import load_screening

    return load_screening(sample_path(kind), sheet=SHEET)
