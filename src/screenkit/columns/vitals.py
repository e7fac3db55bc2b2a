"""Canonical columns: vital signs, ECG intervals and LVEF.

>>> [c.name for c in VITALS if c.unit == "ms"]
['qt_ms', 'qtcf_ms', 'qtc_ms', 'pr_ms']
"""

from __future__ import annotations

from .column import Column
from .column import column as _c

__all__ = ["VITALS"]

_QTC_DOC = (
    "A QTc whose header names no formula (`QTc`): often Bazett. Used for the QTcF "
    "criteria only when QT and heart rate are not both recorded, and then assumed to be "
    "Fridericia (the load report says so). Name QTcF columns `QTcF`."
)

VITALS: tuple[Column, ...] = (
    _c(
        "sbp",
        "number",
        "Systolic blood pressure",
        "mmHg",
        "systolic bp",
        "systolic",
        plausible=(50, 300),
    ),
    _c(
        "dbp",
        "number",
        "Diastolic blood pressure",
        "mmHg",
        "diastolic bp",
        "diastolic",
        plausible=(20, 200),
    ),
    _c("spo2", "number", "SpO2 on room air", "%", "oxygen saturation", "sao2", plausible=(50, 100)),
    _c(
        "heart_rate_bpm",
        "number",
        "Heart rate",
        "1/min",
        "heart rate",
        "hr",
        "pulse",
        plausible=(20, 250),
    ),
    _c("qt_ms", "number", "QT interval", "ms", "qt", plausible=(200, 800)),
    _c(
        "qtcf_ms",
        "number",
        "QTcF (Fridericia)",
        "ms",
        "qtcf",
        "qtc fridericia",
        "qtcf interval",
        plausible=(200, 800),
    ),
    _c(
        "qtc_ms",
        "number",
        "QTc, formula not stated",
        "ms",
        "qtc",
        "qtc interval",
        "corrected qt",
        plausible=(200, 800),
        doc=_QTC_DOC,
    ),
    _c("pr_ms", "number", "PR interval", "ms", "pr", plausible=(50, 600)),
    _c("lvef", "number", "LVEF", "%", "ejection fraction", "ef", plausible=(5, 90)),
)
"""Blood pressure, SpO2, heart rate, QT / QTcF / QTc / PR (ms), LVEF (%)."""
