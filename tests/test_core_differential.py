"""Differential test: the compiled, bit-packed core gives exactly the statuses of the
interval interpreter it replaced (``tests/reference_rules.py``), on random frames with
blank, unknown, impossible, boundary, censored and unreadable values, absent columns,
unknown categories, not-applicable conditions and random thresholds."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screenkit.columns import COLUMNS
from screenkit.datasets import make_sample
from screenkit.evaluate import evaluate
from screenkit.funnel import funnel
from screenkit.grammar.functions import PREDNISONE_FACTOR
from screenkit.protocol import get_protocol

from .reference_rules import reference_statuses

PROTOCOLS = ["NCT07103668", "NCT07103668-A1", "CT041-ST-01"]
BASE = make_sample(n_patients=80, seed=7)
CATEGORIES = {
    "sex": ["F", "M", None, "X"],
    "steroid_agent": [*PREDNISONE_FACTOR, "Dexamethasone", "cortisone", None],
}


def _random_log(seed: int, protocol):
    """A canonical frame (and censored / unreadable companions) hard to get right."""
    rng = np.random.default_rng(seed)
    frame = BASE.copy()
    n = len(frame)
    censored = pd.DataFrame(index=frame.index)
    unreadable = pd.DataFrame(index=frame.index)
    boundaries = [float(v) for v in protocol.parameter_values().values()]
    for name in list(frame.columns):
        column = COLUMNS.get(name)
        if column is None:
            continue
        if rng.random() < 0.05:  # an absent column: unknown for everyone
            frame = frame.drop(columns=name)
            continue
        blank = rng.random(n) < 0.15
        if column.kind in ("number", "ordinal"):
            values = frame[name].astype("Float64").copy()
            pick = rng.random(n)
            edge = rng.choice(boundaries or [0.0], n) * rng.choice([1.0, 1 + 1e-12, 1 - 1e-12], n)
            values = values.where(pick > 0.2, pd.array(edge, dtype="Float64"))
            values = values.where(pick > 0.25, pd.array(-np.abs(edge), dtype="Float64"))
            values = values.where(pick > 0.28, 0.0)
            values[blank] = pd.NA
            frame[name] = values
            flags = rng.choice(["", "<", ">"], n, p=[0.9, 0.05, 0.05])
            flags[values.isna().to_numpy()] = ""  # the loader flags written values only
            if (flags != "").any() and rng.random() < 0.5:
                censored[name] = pd.Series(flags, index=frame.index).replace("", None)
        elif column.kind == "bool":
            values = frame[name].astype("boolean").copy()
            values[blank] = pd.NA
            frame[name] = values
        elif name in CATEGORIES:
            options = np.array(CATEGORIES[name], dtype=object)
            frame[name] = pd.array(rng.choice(options, n), dtype="string")
        if blank.any() and rng.random() < 0.3:  # blanks that were unreadable cells
            unreadable[name] = blank & (rng.random(n) < 0.5)
    return frame, censored, unreadable


@pytest.mark.parametrize("protocol_id", PROTOCOLS)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shift=st.integers(0, 3))
def test_statuses_equal_the_interval_interpreter(protocol_id, seed, shift):
    protocol = get_protocol(protocol_id).switched(None)  # the criteria evaluated by default
    params = {}
    for i, (name, p) in enumerate(sorted(protocol.parameters.items())):
        if (i + shift) % 4 == 0 and p.min is not None and p.max is not None:
            params[name] = p.min if shift % 2 else p.max
    protocol = protocol.with_parameters(**params) if params else protocol
    frame, censored, unreadable = _random_log(seed, protocol)
    log = SimpleNamespace(data=frame, censored=censored, unreadable=unreadable)
    result = evaluate(log, protocol)
    expected = reference_statuses(frame, protocol, censored, unreadable)
    pd.testing.assert_frame_equal(result.statuses, expected)
    # the status rule and the funnel read the same packed sets
    any_fail = (expected == False).any(axis=1)  # noqa: E712 - NA is not a failure
    pending = ~any_fail & expected.isna().any(axis=1)
    assert result.counts()["screen_failed"] == int(any_fail.sum())
    assert result.counts()["pending"] == int(pending.sum())
    assert funnel(result).headline() == result.counts()


def test_a_censoring_flag_on_a_blank_cell_stays_unknown():
    """The one place the old interpreter differed: ``<`` on a blank cell read as the
    interval [NaN, inf], which ``2.5 * x`` turned into +inf, so ``alt <= 2.5 * alt_uln``
    passed. A blank is unknown whatever its flag: unknown is never pass."""
    frame = pd.DataFrame(
        {
            "alt": pd.array([8.0], dtype="Float64"),
            "alt_uln": pd.array([None], dtype="Float64"),
            "liver_mets": pd.array([False], dtype="boolean"),
        }
    )
    censored = pd.DataFrame({"alt_uln": ["<"]}, dtype=object)
    log = SimpleNamespace(data=frame, censored=censored, unreadable=None)
    assert evaluate(log, "NCT07103668").statuses["I7f"].isna().all()
