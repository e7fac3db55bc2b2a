"""What-ifs (screenkit.whatif, screenkit.patterns_moved): a what-if, counted from the
patients who moved and funnelled from its base's collapsed view, equals a fresh
evaluation with those parameters exactly, in any order and with any criteria off."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screenkit import bits
from screenkit.datasets import load_sample
from screenkit.evaluate import evaluate
from screenkit.funnel import funnel
from screenkit.protocol import get_protocol

from .strategies import grid_value

PROTOCOL = get_protocol("NCT07103668")
PARAMS = PROTOCOL.parameters
IDS = list(PROTOCOL.ids)


@pytest.fixture(scope="module")
def base():
    evaluation = evaluate(load_sample(), PROTOCOL)
    funnel(evaluation.patterns())  # counted and funnelled, so what-ifs move from it
    return evaluation


@st.composite
def scenarios(draw):
    names = draw(st.lists(st.sampled_from(sorted(PARAMS)), min_size=1, max_size=3, unique=True))
    first = {name: draw(grid_value(PARAMS[name])) for name in names}
    again = draw(st.lists(st.sampled_from(names)))
    second = {name: draw(grid_value(PARAMS[name])) for name in again}
    order = draw(st.permutations(IDS))[: draw(st.integers(0, len(IDS)))]
    off = draw(st.lists(st.sampled_from(IDS), max_size=4, unique=True))
    return first, second, list(order), off


def _rows(counts) -> pd.DataFrame:
    frame = counts.to_frame()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@settings(max_examples=25, deadline=None)
@given(scenarios())
def test_a_what_if_funnel_equals_a_fresh_one_exactly_in_any_order(base, scenario):
    first, second, order, off = scenario
    one = base.with_parameters(**first)
    two = one.with_parameters(**second)  # a what-if of a what-if
    one.patterns()
    fresh = evaluate(base.data, PROTOCOL, **{**first, **second})
    for quick, exact in ((one, evaluate(base.data, PROTOCOL, **first)), (two, fresh)):
        got, want = funnel(quick, order=order, exclude=off), funnel(exact, order=order, exclude=off)
        assert got.headline() == want.headline()
        pd.testing.assert_frame_equal(got.steps, want.steps, check_exact=True)
        pd.testing.assert_frame_equal(got.criteria, want.criteria, check_exact=True)
    pd.testing.assert_frame_equal(_rows(two.patterns()), _rows(fresh.patterns()))
    pd.testing.assert_frame_equal(
        funnel(two, exclude=off).by_site(), funnel(fresh, exclude=off).by_site()
    )
    switched = two.without_criteria(off)
    pd.testing.assert_frame_equal(
        funnel(switched).criteria, funnel(fresh.without_criteria(off)).criteria, check_exact=True
    )


@settings(max_examples=15, deadline=None)
@given(scenarios())
def test_moved_patients_are_exactly_those_whose_sets_differ(base, scenario):
    first, _, _, off = scenario
    for quick in (base.with_parameters(**first), base.without_criteria(off)):
        if quick is base:
            continue
        differs = bits.any_rows(
            (quick.fail_words ^ base.fail_words) | (quick.unknown_words ^ base.unknown_words)
        )
        assert quick.moved.patients.tolist() == np.flatnonzero(differs).tolist()


def test_a_toggle_equals_switching_off_before_counting(base):
    """Toggling from the memoized all-on figures equals counting without the criteria
    (``fails`` / ``unknown`` count a switched-off criterion still, by design)."""
    switch_dependent = ["criterion", "active", "fails_only", "attribution"]
    view_funnel = funnel(base.patterns())
    for cid in IDS:
        got = funnel(base.patterns(), exclude=[cid])
        want = funnel(evaluate(base.data, PROTOCOL).without_criteria([cid]), exclude=[cid])
        assert got.headline() == want.headline(), cid
        pd.testing.assert_frame_equal(got.steps, want.steps, check_exact=True)
        pd.testing.assert_frame_equal(
            got.criteria[switch_dependent], want.criteria[switch_dependent], check_exact=True
        )
    assert funnel(base.patterns()).headline() == view_funnel.headline()


def test_the_rows_of_a_moved_histogram_are_built_when_read(base):
    quick = base.with_parameters(lesion_max_cm=6)
    counts = quick.patterns()
    assert "groups" not in counts.__dict__  # a funnel does not need the rows by site/month
    funnel(counts)
    assert "groups" not in counts.__dict__
    fresh = evaluate(base.data, PROTOCOL, lesion_max_cm=6).patterns()
    pd.testing.assert_frame_equal(_rows(counts), _rows(fresh))
    assert counts.screened == len(base.data)
    again = pickle.loads(pickle.dumps(quick.with_parameters(lesion_max_cm=7).patterns()))
    fresh = evaluate(base.data, PROTOCOL, lesion_max_cm=7).patterns()
    pd.testing.assert_frame_equal(_rows(again), _rows(fresh))
