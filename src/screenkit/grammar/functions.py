"""The named functions rules may call (clinical formulas and helpers), interval-aware."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from screenkit.grammar.values import Cat, Num, Truth, unknown_where

# ---------------------------------------------------------------- functions
# Prednisone-equivalent factors, exact: 5 mg prednisone = 5 mg prednisolone = 4 mg
# methylprednisolone = 0.75 mg dexamethasone = 0.6 mg betamethasone = 20 mg
# hydrocortisone (FDA prednisolone label; betamethasone 0.6 mg as in standard
# glucocorticoid equivalence tables). Written as fractions so that e.g. dexamethasone
# 2.25 mg is exactly 15 mg prednisone (the rounded 6.67 gives 15.0075, which would
# exclude at "> 15 mg").
# ``none`` (no steroid) counts 0.
PREDNISONE_FACTOR = {
    "none": 0.0,
    "prednisone": 1.0,
    "prednisolone": 1.0,
    "methylprednisolone": 5 / 4,
    "hydrocortisone": 1 / 4,
    "dexamethasone": 20 / 3,
    "betamethasone": 25 / 3,
}
_PREDNISONE_FACTOR = PREDNISONE_FACTOR
_AGENT_FACTORS = [f for f in PREDNISONE_FACTOR.values() if f > 0]  # an unknown agent's span


def _fn_min(*args: Num) -> Num:
    return Num(np.minimum.reduce([a.lo for a in args]), np.minimum.reduce([a.hi for a in args]))


def _fn_max(*args: Num) -> Num:
    return Num(np.maximum.reduce([a.lo for a in args]), np.maximum.reduce([a.hi for a in args]))


def _fn_coalesce(*args):
    first = args[0]
    if isinstance(first, Truth):
        true, false = first.true.copy(), first.false.copy()
        for nxt in args[1:]:
            unknown = ~(true | false)
            true |= unknown & nxt.true
            false |= unknown & nxt.false
        return Truth(true, false)
    lo, hi = first.lo.copy(), first.hi.copy()
    for nxt in args[1:]:
        missing = np.isneginf(lo) & np.isposinf(hi)
        lo = np.where(missing, nxt.lo, lo)
        hi = np.where(missing, nxt.hi, hi)
    return Num(lo, hi)


def _fn_known_true(truth: Truth) -> Truth:
    return Truth(truth.true.copy(), ~truth.true)


def _fn_is_missing(value) -> Truth:
    missing = ~(value.true | value.false) if isinstance(value, Truth) else value.missing
    return Truth(missing, ~missing)


def _fn_crcl(age: Num, weight: Num, creat: Num, sex: Cat) -> Num:
    """Cockcroft-Gault creatinine clearance (mL/min), creatinine in mg/dL."""
    female = sex.where(lambda label: label == "F")
    male = sex.where(lambda label: label == "M")
    f_lo = np.where(male, 1.0, 0.85)
    f_hi = np.where(female, 0.85, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = (140.0 - age.hi) * weight.lo / (72.0 * creat.hi) * f_lo
        hi = (140.0 - age.lo) * weight.hi / (72.0 * creat.lo) * f_hi
    bad = age.missing | weight.missing | creat.missing | np.isnan(lo) | np.isnan(hi)
    return unknown_where(Num(np.maximum(lo, 0.0), hi), bad)


def _fn_qtcf(qt: Num, heart_rate: Num) -> Num:
    """Fridericia: QTcF = QT / RR^(1/3), RR = 60 / HR seconds."""
    with np.errstate(invalid="ignore"):
        lo = qt.lo * np.cbrt(heart_rate.lo / 60.0)
        hi = qt.hi * np.cbrt(heart_rate.hi / 60.0)
    bad = qt.missing | heart_rate.missing | np.isnan(lo) | np.isnan(hi)
    return unknown_where(Num(lo, hi), bad)


def _fn_prednisone(agent: Cat, dose: Num) -> Num:
    """Prednisone-equivalent dose; an unknown agent spans the whole table of factors."""
    f = agent.where(_agent_factor, default=np.nan).astype(float)
    f_lo = np.where(np.isnan(f), min(_AGENT_FACTORS), f)
    f_hi = np.where(np.isnan(f), max(_AGENT_FACTORS), f)
    none = f == 0.0  # no steroid: 0 whatever the dose cell holds
    with np.errstate(invalid="ignore"):
        lo, hi = dose.lo * f_lo, dose.hi * f_hi
    lo, hi = np.where(none, 0.0, lo), np.where(none, 0.0, hi)
    return unknown_where(Num(lo, hi), ~none & (dose.missing | np.isnan(lo) | np.isnan(hi)))


def _agent_factor(label) -> float:
    """The prednisone factor of an agent's name (any case); NaN for an unknown agent."""
    if not isinstance(label, str):
        return np.nan
    return _PREDNISONE_FACTOR.get(label.lower(), np.nan)


@dataclass(frozen=True)
class Function:
    impl: Callable
    args: tuple[str, ...] | None  # kinds ("num", "truth", "cat", "any"); None = variadic num
    returns: str
    doc: str


FUNCTIONS: Mapping[str, Function] = {
    "min": Function(_fn_min, None, "num", "smallest of its arguments"),
    "max": Function(_fn_max, None, "num", "largest of its arguments"),
    "coalesce": Function(_fn_coalesce, None, "same", "first argument that is not missing"),
    "known_true": Function(_fn_known_true, ("truth",), "truth", "True only if known True"),
    "is_missing": Function(_fn_is_missing, ("any",), "truth", "True where the value is missing"),
    "crcl_cockcroft_gault": Function(
        _fn_crcl,
        ("num", "num", "num", "cat"),
        "num",
        "(140 - age) x weight / (72 x creatinine mg/dL), x 0.85 if female; mL/min",
    ),
    "qtcf_fridericia": Function(_fn_qtcf, ("num", "num"), "num", "QT / (60 / HR)^(1/3); ms"),
    "prednisone_equivalent": Function(
        _fn_prednisone, ("cat", "num"), "num", "dose x agent factor (prednisone = 1)"
    ),
}
