"""Canonical columns: identity and screening, disease and biomarkers.

>>> [c.name for c in IDENTITY][:3]
['patient_id', 'site_id', 'screening_date']
>>> dict(DISEASE[-1].scale)
{'0': 0.0, '1+': 1.0, '2+': 2.0, '3+': 3.0}
"""

from __future__ import annotations

from .column import Column
from .column import column as _c

__all__ = ["DISEASE", "IDENTITY"]

_HER2_IHC = {"0": 0.0, "1+": 1.0, "2+": 2.0, "3+": 3.0}
_HER2_DOC = (
    "IHC score 0, 1+, 2+ or 3+, in the usual wrappings (`IHC 3+`, `3+ (IHC)`, `HER2 2+`, "
    "`+++`, `score 1`). An overall status is read too: `positive`, `pos`, `HER2+`, "
    "`HER2 positive`, `阳性` become 3+ (positive means IHC 3+ or 2+ with ISH+, which the "
    "rules treat alike); `negative`, `neg`, `HER2-`, `阴性` become 0 (not positive). "
    "`2+ FISH+` / `2+ ISH positive` is positive (3+), `2+ FISH-` negative (0). `(+)` alone "
    "is ambiguous (1+ in some reports, positive in others) and, like anything else, "
    "unreadable: every criterion using HER2 is then unknown, never passed."
)

IDENTITY: tuple[Column, ...] = (
    _c(
        "patient_id",
        "id",
        "Patient ID",
        None,
        "subject",
        "subject id",
        "subjid",
        "usubjid",
        "patient",
        "screening number",
        "id",
        "patient no",
        "pt id",
        "subject number",
        "患者编号",
        "screening no",
        "受试者编号",
        "筛选号",
    ),
    _c(
        "site_id",
        "text",
        "Site",
        None,
        "site",
        "site number",
        "centre",
        "center",
        "siteid",
        "中心",
        "中心编号",
    ),
    _c(
        "screening_date",
        "date",
        "Screening date",
        None,
        "screening date",
        "date of screening",
        "screen date",
        "visit date",
        "筛选日期",
    ),
    _c("birth_date", "date", "Date of birth", None, "dob", "birth date", "出生日期"),
    _c("sex", "category", "Sex", None, "gender", "性别", categories=("M", "F")),
    _c("age_years", "number", "Age", "year", "age", "年龄", plausible=(0, 120)),
    _c("weight_kg", "number", "Weight", "kg", "weight", "body weight", "体重", plausible=(20, 300)),
    _c(
        "fail_reasons",
        "text",
        "Recorded screen-fail reasons",
        None,
        "fail reasons",
        "screen fail reason",
        "reason",
        "筛选失败原因",
    ),
)
"""Who was screened, where, when; demographics; the site's recorded fail reasons."""

DISEASE: tuple[Column, ...] = (
    _c(
        "prior_lines_failed",
        "number",
        "Prior lines failed",
        None,
        "prior lines",
        "lines of therapy",
        plausible=(0, 15),
        integer=True,
    ),
    _c(
        "cldn18_pct_2plus",
        "number",
        "CLDN18.2 % tumour cells >= 2+",
        "%",
        "cldn18.2",
        "cldn18",
        "cldn18.2 %",
        plausible=(0, 100),
    ),
    _c(
        "expected_survival_weeks",
        "number",
        "Expected survival",
        "week",
        "expected survival",
        "life expectancy",
        plausible=(0, 520),
    ),
    _c(
        "largest_lesion_cm",
        "number",
        "Largest lesion diameter",
        "cm",
        "largest lesion",
        "lesion size",
        "tumour size",
        "tumor size",
        plausible=(0, 40),
    ),
    _c(
        "ecog",
        "number",
        "ECOG performance status",
        None,
        "ecog ps",
        "ps",
        plausible=(0, 5),
        integer=True,
    ),
    _c(
        "her2_ihc",
        "ordinal",
        "HER2 IHC",
        None,
        "her2",
        "her2 ihc score",
        "her2 status",
        "her2 ihc",
        scale=_HER2_IHC,
        doc=_HER2_DOC,
    ),
)
"""Disease, prior lines, performance status and biomarkers (numbers and scores)."""
