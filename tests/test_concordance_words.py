"""Concordance counted on the bit-packed criterion sets equals the count over the
patients x criteria matrices, on logs whose recorded reasons disagree with the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from screenkit.concordance import CONCORDANCE_COLUMNS, concordance
from screenkit.datasets import make_sample
from screenkit.evaluate import evaluate
from screenkit.recorded import evaluate_recorded

SAMPLE = make_sample(n_patients=300, seed=7)


def _by_matrices(computed, recorded) -> pd.DataFrame:
    """The six counts per criterion from the unpacked matrices, aligned by ID."""
    ids = [c.id for c in computed.protocol.criteria]
    c_fails, c_unknown = computed.matrices()
    r_fails, _ = recorded.matrices()
    position = {cid: i for i, cid in enumerate(recorded.protocol.ids)}
    r_fails = r_fails[:, [position[cid] for cid in ids]]
    r_only = r_fails & ~c_fails
    sets = [r_fails, c_fails, r_fails & c_fails, r_only, c_fails & ~r_fails, r_only & c_unknown]
    return pd.DataFrame(
        {name: s.sum(axis=0) for name, s in zip(CONCORDANCE_COLUMNS, sets, strict=True)},
        index=pd.Index(ids, name="criterion"),
    ).astype(np.int64)


@settings(max_examples=25, deadline=None)
@given(
    picks=st.lists(st.integers(0, len(SAMPLE) - 1), min_size=1, max_size=60, unique=True),
    reasons=st.lists(
        st.sampled_from(["I3a", "E7; I6", "I2b; E3", "", "E99", "ecog 0-1", "I7d; I7e; E18"]),
        min_size=60,
        max_size=60,
    ),
)
def test_concordance_on_words_is_the_matrix_count(picks, reasons):
    _check(picks, reasons)


def test_disagreeing_records_count_as_the_matrices_do():
    want = _check(list(range(0, 300, 5)), ["I3a; E7", "E99", ""] * 20)
    assert (want["recorded_only"] > 0).any() and (want["computed_only"] > 0).any()


def _check(picks: list[int], reasons: list[str]) -> pd.DataFrame:
    data = SAMPLE.data.copy() if hasattr(SAMPLE, "data") else SAMPLE.copy()
    column = data["fail_reasons"].astype("string")
    for row, text in zip(picks, reasons, strict=False):
        column.iloc[row] = text  # recorded reasons that the lab values may not bear out
    data["fail_reasons"] = column
    computed = evaluate(data, "NCT07103668")
    recorded = evaluate_recorded(data, "NCT07103668")
    table = concordance(data, "NCT07103668", computed=computed, recorded=recorded)
    want = _by_matrices(computed, recorded)
    pd.testing.assert_frame_equal(table.loc[want.index], want, check_names=False)
    return want
