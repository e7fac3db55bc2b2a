"""A column compared with one threshold: two plain comparisons against the end of the
half-line of passing values (found once), bit for bit the per-patient tolerance formula."""

from __future__ import annotations

import numpy as np
import pytest

from screenkit.grammar.interpret import _le, _tol
from screenkit.grammar.values import Num

THRESHOLDS = [0.0, -0.0, 1e-9, -1e-9, 5e-10, 1e-300, -1e-300, 0.5, 1.5, 8.0, -3.7, 95.0]
THRESHOLDS += [1e6, 123456.789, -987654.321, 1e299, -1e299, 2.0**52, 1 / 3]


def _around(points: list[float], rng: np.random.Generator) -> np.ndarray:
    """Floats at and within 60 steps of ``points``, a random spread, and NaN / +-inf."""
    values = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    for p in points:
        up, down = np.float64(p), np.float64(p)
        for _ in range(60):
            values += [up, down]
            up, down = np.nextafter(up, np.inf), np.nextafter(down, -np.inf)
        values += list(p * (1 + rng.uniform(-1e-8, 1e-8, 200)) + rng.uniform(-1e-8, 1e-8, 200))
    return np.array(values, dtype=float)


def _per_patient(x: np.ndarray, y: np.ndarray, strict: bool) -> tuple[np.ndarray, np.ndarray]:
    """The tolerance computed for every pair (the route of two columns)."""
    with np.errstate(invalid="ignore", over="ignore"):
        tol = _tol(x, y)
        end = y - tol if strict else y + tol
        if strict:
            return x < end, x >= end
        return x <= end, x > end


@pytest.mark.parametrize("threshold", THRESHOLDS)
@pytest.mark.parametrize("strict", [False, True])
def test_one_threshold_gives_the_per_patient_formula_bit_for_bit(threshold, strict):
    rng = np.random.default_rng(abs(hash((threshold, strict))) % 2**32)
    with np.errstate(over="ignore"):
        tol = (abs(threshold) + 1.0) * 1e-9
        values = _around([threshold, threshold + tol, threshold - tol], rng)
    column = Num.point(values)
    constant = Num.const(threshold, len(values))
    full = np.full(len(values), threshold)
    # the column on the left (value <= threshold) and on the right (threshold <= value)
    got = _le(column, constant, strict)
    want = _per_patient(values, full, strict)
    assert np.array_equal(got.true, want[0]) and np.array_equal(got.false, want[1])
    got = _le(constant, column, strict)
    want = _per_patient(full, values, strict)
    assert np.array_equal(got.true, want[0]) and np.array_equal(got.false, want[1])


def test_a_missing_value_is_unknown_against_a_threshold():
    got = _le(Num.point(np.array([np.nan, 7.0, 9.0])), Num.const(8.0, 3), strict=False)
    assert got.true.tolist() == [False, True, False]
    assert got.false.tolist() == [False, False, True]


def test_an_infinite_or_missing_threshold_takes_the_column_route():
    values = Num.point(np.array([np.inf, 1e308, -np.inf, np.nan]))
    got = _le(values, Num.const(np.inf, 4), strict=True)
    assert got.true.tolist() == [False, True, True, False]
    got = _le(values, Num.const(np.nan, 4), strict=False)
    assert not got.true.any() and not got.false.any()


@pytest.mark.parametrize("threshold", [0.0, 1e-9, 8.0, -3.7, 50.0])
@pytest.mark.parametrize("strict", [False, True])
def test_an_interval_against_one_threshold_is_the_interval_formula(threshold, strict):
    rng = np.random.default_rng(3)
    tol = (abs(threshold) + 1.0) * 1e-9
    ends = _around([threshold, threshold + tol, threshold - tol], rng)
    lo, hi = np.minimum(ends, ends[::-1]), np.maximum(ends, ends[::-1])
    lo[:7], hi[:7] = -np.inf, np.inf  # unknown
    interval = Num(lo, hi)
    full = np.full(len(lo), threshold)
    column_route = Num(full, full)  # the same threshold as a column: the general route
    for got, want in [
        (_le(interval, Num.const(threshold, len(lo)), strict), _le(interval, column_route, strict)),
        (_le(Num.const(threshold, len(lo)), interval, strict), _le(column_route, interval, strict)),
    ]:
        assert np.array_equal(got.true, want.true) and np.array_equal(got.false, want.false)
        assert got.true.any() and got.false.any()


@pytest.mark.parametrize("scale", [1e-12, 1e-9, 1.0, 40.0, 1e6, 1e200])
@pytest.mark.parametrize("strict", [False, True])
def test_two_columns_give_the_per_patient_formula_bit_for_bit(scale, strict):
    rng = np.random.default_rng(int(scale % 97) + strict)
    n = 5_000
    y = rng.uniform(-3, 3, n) * scale
    tol = (np.abs(y) + 1.0) * 1e-9
    # at, just inside and just outside the tolerance, a few ulps around, and far away
    x = y + rng.choice([0.0, 1.0, -1.0, 0.999999, 1.000001, 2.0, -2.0, 1e6], n) * tol
    x[::7] = np.nextafter(x[::7], np.inf)
    x[::11], y[::13] = np.nan, np.nan
    for a, b in [(x, y), (y, x)]:
        got = _le(Num.point(a), Num.point(b), strict)
        want = _per_patient(a, b, strict)
        assert np.array_equal(got.true, want[0]) and np.array_equal(got.false, want[1])
        assert got.true.any() and got.false.any()


def test_two_columns_with_infinite_missing_or_no_values():
    x = np.array([np.inf, -np.inf, 1.0, np.nan, 5.0])
    y = np.array([np.inf, 0.0, np.inf, 1.0, 5.0 * (1 + 1e-10)])
    for strict in (False, True):
        got, want = _le(Num.point(x), Num.point(y), strict), _per_patient(x, y, strict)
        assert np.array_equal(got.true, want[0]) and np.array_equal(got.false, want[1])
    nothing = _le(Num.point(np.full(3, np.nan)), Num.point(np.full(3, np.nan)), False)
    assert not nothing.true.any() and not nothing.false.any()
    empty = _le(Num.point(np.zeros(0)), Num.point(np.zeros(0)), True)
    assert empty.true.shape == (0,) and empty.false.shape == (0,)
