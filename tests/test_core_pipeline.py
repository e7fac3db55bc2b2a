"""The core as a one-way pipeline: evaluate -> patterns -> funnel, what-ifs counted from
the patients who moved, and bit-packed statuses read back identically."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screenkit import bits, patterns
from screenkit.datasets import load_sample
from screenkit.evaluate import evaluate
from screenkit.funnel import funnel
from screenkit.protocol import get_protocol

from .strategies import overrides

PROTOCOL = get_protocol("NCT07103668")
PARAMS = PROTOCOL.parameters


@pytest.fixture(scope="module")
def base():
    evaluation = evaluate(load_sample(), PROTOCOL)
    evaluation.patterns()  # counted, so what-if copies are counted from it
    return evaluation


def _sorted_rows(counts) -> pd.DataFrame:
    frame = counts.to_frame()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _same_funnel(a, b) -> None:
    assert a.headline() == b.headline()
    pd.testing.assert_frame_equal(a.steps, b.steps)
    pd.testing.assert_frame_equal(a.criteria, b.criteria, check_exact=False, rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(overrides(PARAMS))
def test_a_what_if_histogram_equals_a_fresh_count(base, params):
    quick = base.with_parameters(**params)
    fresh = evaluate(base.data, PROTOCOL, **params)
    moved = patterns._moved(base.patterns(), base, quick)
    if moved is not None:  # counted from the patients who moved (unless too many did)
        pd.testing.assert_frame_equal(_sorted_rows(moved), _sorted_rows(fresh.patterns()))
    pd.testing.assert_frame_equal(_sorted_rows(quick.patterns()), _sorted_rows(fresh.patterns()))
    _same_funnel(funnel(quick), funnel(fresh))
    assert quick.patterns().labels == fresh.patterns().labels


def test_a_small_threshold_change_is_counted_from_the_patients_who_moved(base):
    quick = base.with_parameters(lesion_max_cm=6)
    moved = patterns._moved(base.patterns(), base, quick)
    assert moved is not None
    assert moved._row_of is not None and len(moved._row_of) == len(base.data)
    fresh = evaluate(base.data, PROTOCOL, lesion_max_cm=6).patterns()
    pd.testing.assert_frame_equal(_sorted_rows(moved), _sorted_rows(fresh))
    assert len(moved.core_fails) == len(fresh.core_fails)  # no empty patterns left behind


def test_chained_what_ifs_and_switches_equal_fresh_counts(base):
    one = base.with_parameters(lesion_max_cm=7)
    two = one.without_criteria(["E7", "I5b"])
    one.patterns()
    fresh = evaluate(base.data, PROTOCOL, lesion_max_cm=7).without_criteria(["E7", "I5b"])
    pd.testing.assert_frame_equal(_sorted_rows(two.patterns()), _sorted_rows(fresh.patterns()))
    _same_funnel(funnel(two), funnel(fresh))
    assert two.patterns().screened == len(base.data)


def test_packed_statuses_read_back_as_the_boolean_frame(base):
    fails, unknown = base.matrices()
    statuses = base.statuses
    assert np.array_equal(fails, (statuses == False).to_numpy(dtype=bool, na_value=False))  # noqa: E712
    assert np.array_equal(unknown, statuses.isna().to_numpy())
    assert np.array_equal(bits.unpack(base.fail_words, len(PROTOCOL.ids)), fails)


@given(st.lists(st.lists(st.booleans(), min_size=70, max_size=70), min_size=0, max_size=20))
def test_bits_round_trip_over_several_words(rows):
    matrix = np.array(rows, dtype=bool).reshape(len(rows), 70)
    words = bits.pack_rows(matrix)
    assert words.shape == (len(rows), 2)
    assert np.array_equal(bits.unpack(words, 70), matrix)
    columns = bits.pack_columns([matrix[:, j] for j in range(70)], len(rows))
    assert np.array_equal(columns, words)
    sums = bits.weighted_sums(bits.as_bytes(words), np.arange(len(rows), dtype=float), 70)
    assert np.allclose(sums, np.arange(len(rows)) @ matrix)


def test_the_evaluation_does_not_import_its_consumers():
    """evaluate -> patterns -> funnel: the evaluation module names neither at import."""
    import ast
    import inspect

    from screenkit import evaluate as module

    tree = ast.parse(inspect.getsource(module))
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = {getattr(n, "module", "") for n in top}
    assert not {"screenkit.patterns", "screenkit.funnel"} & names


@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=40),
    st.lists(st.integers(0, 2**63 - 1), min_size=1, max_size=40),
)
def test_dense_ids_number_rows_in_order_of_first_appearance(small, large):
    n = min(len(small), len(large))
    columns = [np.array(small[:n], dtype=np.int64), np.array(large[:n], dtype=np.uint64)]
    rows = list(zip(*(c.tolist() for c in columns), strict=True))
    expected = pd.factorize(pd.Series(rows, dtype=object))[0]
    assert bits.dense_ids(columns).tolist() == expected.tolist()


@given(
    st.lists(st.sampled_from(["A", "B", None, "(no site)"]), min_size=1, max_size=30),
    st.lists(st.sampled_from(["2024-01-03", "2024-02-10", None, "2023-12-31"]), min_size=1),
)
def test_group_codes_equal_labels_formatted_cell_by_cell(sites, dates):
    from screenkit.groups import NO_DATE, NO_SITE, group_codes

    n = min(len(sites), len(dates))
    data = pd.DataFrame(
        {
            "site_id": pd.array(sites[:n], dtype="string"),
            "screening_date": pd.to_datetime(pd.Series(dates[:n])),
        }
    )
    codes, table = group_codes(data, ("site_id", "screening_month"))
    site = data["site_id"].astype(object)
    month = data["screening_date"].dt.strftime("%Y-%m").astype(object)
    labels = list(
        zip(
            site.where(site.notna(), NO_SITE),
            month.where(data["screening_date"].notna(), NO_DATE),
            strict=True,
        )
    )
    expected_codes, expected_labels = pd.factorize(pd.Series(labels, dtype=object))
    assert codes.tolist() == expected_codes.tolist()
    assert list(map(tuple, table.to_numpy().tolist())) == list(expected_labels)
