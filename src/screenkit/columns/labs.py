"""Canonical columns: laboratory values, each with its canonical unit.

>>> next(c for c in LABS if c.name == "creat").unit
'mg/dL'
>>> next(c for c in LABS if c.name == "urine_protein").scale["trace"]
0.5
"""

from __future__ import annotations

from .column import Column
from .column import column as _c

__all__ = ["LABS"]

_URINE_PROTEIN = {"neg": 0.0, "trace": 0.5, "1+": 1.0, "2+": 2.0, "3+": 3.0, "4+": 4.0}

LABS: tuple[Column, ...] = (
    _c(
        "anc",
        "number",
        "Neutrophils (ANC)",
        "10^9/L",
        "neutrophils",
        "neut",
        "absolute neutrophil count",
        plausible=(0, 100),
    ),
    _c("lym", "number", "Lymphocytes", "10^9/L", "lymphocytes", "lymph", plausible=(0, 100)),
    _c("plt", "number", "Platelets", "10^9/L", "platelets", "platelet count", plausible=(0, 2000)),
    _c(
        "hb", "number", "Haemoglobin", "g/dL", "haemoglobin", "hemoglobin", "hgb", plausible=(2, 25)
    ),
    _c("alt", "number", "ALT", "U/L", "sgpt", "alanine aminotransferase", plausible=(0, 10000)),
    _c("alt_uln", "number", "ALT upper limit of normal", "U/L", "alt uln", plausible=(1, 500)),
    _c("ast", "number", "AST", "U/L", "sgot", "aspartate aminotransferase", plausible=(0, 10000)),
    _c("ast_uln", "number", "AST upper limit of normal", "U/L", "ast uln", plausible=(1, 500)),
    _c(
        "alp", "number", "Alkaline phosphatase", "U/L", "alkaline phosphatase", plausible=(0, 10000)
    ),
    _c("alp_uln", "number", "ALP upper limit of normal", "U/L", "alp uln", plausible=(1, 1000)),
    _c(
        "tbil",
        "number",
        "Total bilirubin",
        "mg/dL",
        "bilirubin",
        "total bilirubin",
        "tb",
        plausible=(0, 50),
    ),
    _c(
        "tbil_uln",
        "number",
        "Total bilirubin upper limit of normal",
        "mg/dL",
        "tbil uln",
        "bilirubin uln",
        plausible=(0.1, 10),
    ),
    _c(
        "creat",
        "number",
        "Serum creatinine",
        "mg/dL",
        "creatinine",
        "scr",
        "serum creatinine",
        plausible=(0.05, 30),
    ),
    _c(
        "creat_uln",
        "number",
        "Creatinine upper limit of normal",
        "mg/dL",
        "creatinine uln",
        plausible=(0.1, 10),
    ),
    _c("amylase", "number", "Amylase", "U/L", plausible=(0, 10000)),
    _c("amylase_uln", "number", "Amylase upper limit of normal", "U/L", plausible=(1, 1000)),
    _c("lipase", "number", "Lipase", "U/L", plausible=(0, 10000)),
    _c("lipase_uln", "number", "Lipase upper limit of normal", "U/L", plausible=(1, 2000)),
    _c(
        "urine_protein",
        "ordinal",
        "Urine protein (dipstick)",
        None,
        "urine protein",
        "proteinuria",
        "upro",
        scale=_URINE_PROTEIN,
    ),
    _c(
        "urine_protein_24h_g",
        "number",
        "24-hour urine protein",
        "g/day",
        "24h urine protein",
        "24-h urine protein",
        plausible=(0, 30),
    ),
    _c(
        "fasting_glucose",
        "number",
        "Fasting glucose",
        "mmol/L",
        "glucose",
        "fpg",
        "fasting blood glucose",
        plausible=(1, 60),
    ),
)
"""Haematology, chemistry (with upper limits of normal), urine protein, glucose."""
