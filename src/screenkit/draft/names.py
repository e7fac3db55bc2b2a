"""Names in criteria text matched to canonical columns; names proposed for the rest.

The canonical columns' aliases (:data:`screenkit.columns.COLUMNS`) are extended with the
spellings registry records use (``neutrophil count``, ``platelet count (PLT)``, ``alanine
transaminase``, ``QTc F``, ``creatinine clearance`` ...). A name with no canonical column
gets a proposed lower_snake_case column, marked as new. Units are checked against the
column's canonical unit (through :func:`screenkit.units.conversion_factor`), so that
``staining intensity ≥ 2+`` next to ``CLDN18.2`` is not read as a CLDN18.2 percentage.

>>> sorted({m.column for m in alias_matches("platelet count (PLT) and ALT")})
['alt', 'plt']
>>> propose_column("The subjects must sign and date the written informed consent form.")
'sign_date_written_informed_consent'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from screenkit.columns import COLUMNS

__all__ = [
    "DERIVED",
    "STOP_WORDS",
    "AliasMatch",
    "alias_matches",
    "propose_column",
    "slider",
    "unit_factor",
]

#: spellings of registry records, beyond the columns' own aliases
_EXTRA: dict[str, tuple[str, ...]] = {
    "age_years": ("age", "aged", "years of age"),
    "anc": ("neutrophil count", "neutrophil", "neutrophils", "anc", "absolute neutrophil count"),
    "plt": ("platelet count", "platelet", "platelets", "plt"),
    # "hemoglobulin": a misspelling registry records carry
    "hb": ("hemoglobin", "haemoglobin", "hemoglobin content", "hb", "hgb", "hemoglobulin"),
    "lym": ("lymphocyte", "lymphocytes", "lymphocyte count", "lym", "alc"),
    "alt": ("alanine aminotransferase", "alanine transaminase", "alt", "sgpt"),
    "ast": ("aspartate aminotransferase", "aspartate transaminase", "ast", "sgot"),
    "tbil": ("total bilirubin", "serum total bilirubin", "bilirubin", "tbil", "tb", "tbili"),
    "creat": ("serum creatinine", "creatinine", "scr", "cr"),
    "alp": ("alkaline phosphatase", "alp"),
    "amylase": ("amylase",),
    "lipase": ("lipase",),
    "urine_protein": ("urine protein", "qualitative urine protein", "proteinuria"),
    "urine_protein_24h_g": (
        "24-hour urine protein",
        "24 hour urine protein",
        "24-h urine protein",
        "24h urine protein",
    ),
    "fasting_glucose": ("fasting blood glucose", "fasting glucose", "fasting plasma glucose"),
    "sbp": ("systolic blood pressure", "systolic", "sbp"),
    "dbp": ("diastolic blood pressure", "diastolic", "dbp"),
    "spo2": ("oxygen saturation", "blood oxygen saturation", "spo2", "sao2"),
    "lvef": ("left ventricular ejection fraction", "ejection fraction", "lvef"),
    "qtcf_ms": ("qtcf", "qtc f", "qtc fridericia", "qtc (fridericia)"),
    "qtc_ms": ("qtc", "corrected qt"),
    "pr_ms": ("pr interval",),
    "heart_rate_bpm": ("heart rate",),
    "ecog": (
        "ecog",
        "ecog performance status",
        "ecog ps",
        "performance status",
        "eastern cooperative oncology group",
        "eastern cooperative oncology group performance status",
        "who performance status",
        "zubrod",
    ),
    "expected_survival_weeks": ("expected survival", "life expectancy", "survival period"),
    "largest_lesion_cm": ("largest lesion",),
    "prior_lines_failed": (
        "prior lines",
        "lines of therapy",
        "previous lines",
        "lines of treatment",
    ),
    "cldn18_pct_2plus": ("cldn18.2", "claudin18.2", "claudin 18.2"),
    "steroid_pred_eq_mg_day": ("prednisone", "systemic steroids", "corticosteroids"),
    "days_since_antitumor_tx": (
        "anti-tumor treatment",
        "anti-tumor treatments",
        "anti-tumour treatment",
        "anticancer therapy",
    ),
    "weight_kg": ("body weight", "weight"),
    "liver_mets": ("liver metastasis", "liver metastases", "hepatic metastases"),
    "bone_mets": ("bone metastasis", "bone metastases"),
    "pregnant_or_breastfeeding": ("pregnant", "breastfeeding", "lactating"),
    "consent_signed": ("informed consent",),
    "willing_to_comply": ("willing and able to comply",),
    "crcl_cg": ("creatinine clearance", "crcl", "ccr"),
}

#: derived values a draft may use: name -> (rule, unit, label); added to the draft's
#: ``derived:`` section when a criterion names them
DERIVED: dict[str, tuple[str, str, str]] = {
    "crcl_cg": (
        "crcl_cockcroft_gault(age_years, weight_kg, creat, sex)",
        "mL/min",
        "Creatinine clearance (Cockcroft-Gault)",
    ),
}
_DERIVED_UNITS = {"crcl_cg": "mL/min"}

#: well-known names with no canonical column: the new column the draft proposes
_KNOWN_NEW = {
    "karnofsky": "kps",
    "karnofsky performance status": "kps",
    "karnofsky performance score": "kps",
    "karnofsky score": "kps",
    "kps": "kps",
    "lansky": "lansky",
    "lansky performance status": "lansky",
    "estimated glomerular filtration rate": "egfr",
    "glomerular filtration rate": "egfr",
    "ldh": "ldh",
    "lactate dehydrogenase": "ldh",
    "bun": "bun",
    "blood urea nitrogen": "bun",
    "uric acid": "uric_acid",
    "prothrombin time": "pt",
    "fibrinogen": "fibrinogen",
    "ferritin": "ferritin",
    "serum ferritin": "ferritin",
    "transferrin saturation": "tsat",
    "tsat": "tsat",
    "wbc": "wbc",
    "white blood cell": "wbc",
    "leukocyte": "wbc",
    "inr": "inr",
    "aptt": "aptt",
    "egfr": "egfr",
    "bmi": "bmi",
    "albumin": "albumin",
}
_SHORT_OK = {
    "tb",
    "hb",
    "pr",
    "alt",
    "ast",
    "alp",
    "anc",
    "plt",
    "lym",
    "sbp",
    "dbp",
    "inr",
    "kps",
    "wbc",
    "ldh",
    "bun",
    "cr",
}
STOP_WORDS = set(
    """a an the of and or to in on for with by be is are was were has have had who which that
    this these those its their his her any all other such as per from at it if not no nor
    should must may can will would shall been being than then there within before after during
    subject subjects patient patients participant participants women men known including
    include includes e g etc""".split()
)


@dataclass(frozen=True)
class AliasMatch:
    """A name found in a text: the ``column`` it names, and where (``start``, ``end``)."""

    column: str
    start: int
    end: int
    new: bool = False  # a well-known name with no canonical column


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, re.Pattern, bool]]:
    spellings: dict[str, set[str]] = {}
    for name, col in COLUMNS.items():
        if col.kind in ("id", "date", "text"):
            continue
        for alias in col.aliases:
            if re.fullmatch(r"[a-z0-9 .\-/()]+", alias) and (len(alias) > 3 or alias in _SHORT_OK):
                spellings.setdefault(name, set()).add(alias)
    for name, extra in _EXTRA.items():
        spellings.setdefault(name, set()).update(extra)
    out = []
    for name, aliases in spellings.items():
        for alias in aliases:
            out.append((name, _word_pattern(alias), False))
    for alias, name in _KNOWN_NEW.items():
        out.append((name, _word_pattern(alias), True))
    return out


def _word_pattern(alias: str) -> re.Pattern:
    body = r"\s*".join(re.escape(part) for part in alias.split())
    return re.compile(rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])", re.IGNORECASE)


def alias_matches(text: str) -> list[AliasMatch]:
    """Every name of a column in ``text``, ordered by end then by length (longest last)."""
    found = []
    for name, pattern, new in _patterns():
        for m in pattern.finditer(text):
            found.append(AliasMatch(name, m.start(), m.end(), new))
    return sorted(found, key=lambda m: (m.end, m.end - m.start))


def canonical_unit(column: str) -> str | None:
    """The unit a column (or derived value) holds."""
    if column in _DERIVED_UNITS:
        return _DERIVED_UNITS[column]
    col = COLUMNS.get(column)
    return col.unit if col is not None else None


def unit_factor(column: str, unit: str | None) -> float | None:
    """The factor turning ``unit`` into ``column``'s canonical unit, ``None`` when the unit
    cannot describe the column. ``x ULN`` and ``grade`` are kept as they are (factor 1).

    >>> round(unit_factor("anc", "/mm3"), 9), unit_factor("hb", "g/L"), unit_factor("hb", "ms")
    (0.001, 0.1, None)
    """
    from screenkit.errors import ScreenkitError
    from screenkit.units import conversion_factor

    col = COLUMNS.get(column)
    if col is not None and col.kind in ("bool", "category"):
        return None  # a yes/no or category column takes no number
    if unit == "x ULN":
        return 1.0 if f"{column}_uln" in COLUMNS else None
    if unit == "grade":
        return 1.0 if col is not None and col.kind == "ordinal" else None
    target = canonical_unit(column)
    if unit in (None, "lines", "times"):
        return 1.0 if target is None or (unit is None and column in ("age_years",)) else None
    if target is None:
        return None
    if column == "urine_protein_24h_g" and unit == "g":
        return 1.0  # "a 24-hour urine protein test < 1 g": grams per 24 hours
    if column in _DERIVED_UNITS:
        return 1.0 if unit.lower().startswith(target.lower()) else None
    try:
        return conversion_factor(column, unit)
    except ScreenkitError:
        return None


def propose_column(text: str, used: set[str] | None = None, *, last: bool = False) -> str:
    """A lower_snake_case column name from the first (``last``: the last three) content
    words of ``text`` (at most five words, 40 characters), made unique against ``used``."""
    words = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", text)]
    words = [w for w in words if w not in STOP_WORDS and len(w) > 1]
    words = words[-3:] if last else words[:5]
    name = "_".join(words) or "criterion"
    while len(name) > 40 and "_" in name:
        name = name.rsplit("_", 1)[0]
    if not name[0].isalpha():
        name = "c_" + name
    used = used if used is not None else set()
    base, n = name, 2
    while name in used or name in COLUMNS:
        name, n = f"{base}_{n}", n + 1
    return name


def slider(value: float, column: str | None) -> tuple[float, float, float]:
    """``(min, max, step)`` for a parameter's slider: half to twice the value, whole
    steps for integer scores, clipped to 0..100 for percentages.

    >>> slider(1.5, "anc"), slider(1, "ecog"), slider(95, "spo2")
    ((0.7, 3.0, 0.1), (0.0, 4.0, 1.0), (47.0, 100.0, 1.0))
    """
    col = COLUMNS.get(column or "")
    if col is not None and (col.integer or col.kind == "ordinal"):
        hi = max(value * 2, value + 1, col.plausible[1] if col.plausible else 0)
        step = 0.5 if col.kind == "ordinal" else 1.0
        return 0.0, float(min(hi, max(value + 3, value * 2))), step
    if value == 0:
        return 0.0, 1.0, 0.1
    step = 10 ** math.floor(math.log10(abs(value))) / 10
    step = float(f"{step:.6g}") if step < 1 else float(max(1, round(step)))
    lo = math.floor(value / 2 / step) * step
    hi = math.ceil(value * 2 / step) * step
    if canonical_unit(column or "") == "%":
        hi = min(hi, 100.0)
    return round(lo, 6), round(max(hi, value), 6), step
