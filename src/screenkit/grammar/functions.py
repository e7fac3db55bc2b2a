"""The named functions rules may call (clinical formulas and helpers), interval-aware."""

from __future__ import annotations

import functools
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


def _intervals(args):
    """Full-length numbers as intervals, unknown as ``[-inf, inf]`` (the form the general
    formulas take; a point's NaN included)."""
    return [a.interval(np.size(a.lo)) if isinstance(a, Num) else a for a in args]


def _unknown(num: Num) -> np.ndarray:
    """Where ``num`` is unknown, in either form (a point's NaN, ``[-inf, inf]``)."""
    if num.is_point:
        return np.isnan(num.lo)
    return np.isnan(num.lo) | np.isnan(num.hi) | (np.isneginf(num.lo) & np.isposinf(num.hi))


def _known_points(args) -> bool:
    """Every argument a point with no missing value."""
    return all(a.is_point and not np.isnan(a.lo).any() for a in args)


def _fn_min(*args: Num) -> Num:
    if _known_points(args):  # (min of a missing value is an interval: [-inf, the others])
        return Num.point(functools.reduce(np.minimum, [a.lo for a in args]))
    args = _intervals(args)
    return Num(np.minimum.reduce([a.lo for a in args]), np.minimum.reduce([a.hi for a in args]))


def _fn_max(*args: Num) -> Num:
    if _known_points(args):
        return Num.point(functools.reduce(np.maximum, [a.lo for a in args]))
    args = _intervals(args)
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
    if all(a.is_point for a in args):  # NaN is missing: filled from the next argument
        value = np.array(first.lo, dtype=float)
        for nxt in args[1:]:
            missing = np.isnan(value)
            if not missing.any():
                break
            np.copyto(value, nxt.lo, where=missing)
        return Num.point(value)
    lo, hi = np.array(first.lo, dtype=float), np.array(first.hi, dtype=float)
    missing = _unknown(first)
    for nxt in args[1:]:
        np.copyto(lo, nxt.lo, where=missing)
        np.copyto(hi, nxt.hi, where=missing)
        missing &= _unknown(nxt)
    np.copyto(lo, -np.inf, where=missing)
    np.copyto(hi, np.inf, where=missing)
    return Num(lo, hi)


def _fn_known_true(truth: Truth) -> Truth:
    return Truth(truth.true.copy(), ~truth.true)


def _fn_is_missing(value) -> Truth:
    missing = ~(value.true | value.false) if isinstance(value, Truth) else value.missing
    return Truth(missing, ~missing)


def _fn_crcl(age: Num, weight: Num, creat: Num, sex: Cat) -> Num:
    """Cockcroft-Gault creatinine clearance (mL/min), creatinine in mg/dL.

    With measured values and every sex F or M it is one value per patient (a point, NaN
    where an input is missing); an unknown sex spans the female and male values.
    """
    female = sex.where(lambda label: label == "F")
    male = sex.where(lambda label: label == "M")
    if age.is_point and weight.is_point and creat.is_point and (female | male).all():
        with np.errstate(divide="ignore", invalid="ignore"):
            value = (140.0 - age.lo) * weight.lo / (72.0 * creat.lo) * np.where(male, 1.0, 0.85)
        if not (value < 0).any():  # (a negative value would be clipped to [0, value])
            return Num.point(value)
    age, weight, creat = _intervals((age, weight, creat))
    f_lo = np.where(male, 1.0, 0.85)
    f_hi = np.where(female, 0.85, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = (140.0 - age.hi) * weight.lo / (72.0 * creat.hi) * f_lo
        hi = (140.0 - age.lo) * weight.hi / (72.0 * creat.lo) * f_hi
    bad = age.missing | weight.missing | creat.missing | np.isnan(lo) | np.isnan(hi)
    return unknown_where(Num(np.maximum(lo, 0.0), hi), bad)


def _fn_qtcf(qt: Num, heart_rate: Num) -> Num:
    """Fridericia: QTcF = QT / RR^(1/3), RR = 60 / HR seconds."""
    if qt.is_point and heart_rate.is_point:  # NaN where either is missing
        with np.errstate(invalid="ignore"):
            return Num.point(qt.lo * np.cbrt(heart_rate.lo / 60.0))
    qt, heart_rate = _intervals((qt, heart_rate))
    with np.errstate(invalid="ignore"):
        lo = qt.lo * np.cbrt(heart_rate.lo / 60.0)
        hi = qt.hi * np.cbrt(heart_rate.hi / 60.0)
    bad = qt.missing | heart_rate.missing | np.isnan(lo) | np.isnan(hi)
    return unknown_where(Num(lo, hi), bad)


def _fn_prednisone(agent: Cat, dose: Num) -> Num:
    """Prednisone-equivalent dose; an unknown agent spans the whole table of factors."""
    f = agent.where(_agent_factor, default=np.nan).astype(float)
    none = f == 0.0  # no steroid: 0 whatever the dose cell holds
    if dose.is_point and not (np.isnan(f) & ~np.isnan(dose.lo)).any():  # no agent spans
        with np.errstate(invalid="ignore"):
            value = dose.lo * f
        np.copyto(value, 0.0, where=none)
        return Num.point(value)
    (dose,) = _intervals((dose,))
    f_lo = np.where(np.isnan(f), min(_AGENT_FACTORS), f)
    f_hi = np.where(np.isnan(f), max(_AGENT_FACTORS), f)
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
