"""Dense ids of distinct rows: packed keys give exactly the first-appearance ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screenkit.bits import Packer, dense_ids, hashed_codes, pack_rows, unpack


def _by_dict(columns) -> list[int]:
    """The ids written out: a dict from each distinct row to the order it first appears."""
    seen: dict[tuple, int] = {}
    return [seen.setdefault(row, len(seen)) for row in zip(*columns, strict=True)]


@pytest.mark.parametrize("seed", range(6))
def test_dense_ids_number_distinct_rows_in_order_of_first_appearance(seed):
    rng = np.random.default_rng(seed)
    n = 2_000
    fail = rng.integers(0, 2**55, 40, dtype=np.uint64)[rng.integers(0, 40, n)]
    unknown = rng.integers(0, 2**55, 300, dtype=np.uint64)[rng.integers(0, 300, n)]
    high = np.uint64(2**63) + rng.integers(0, 9, n, dtype=np.uint64)  # uses all 64 bits
    sites = rng.choice(np.array(["A", "B", None], dtype=object), n)
    small = rng.integers(0, 3, n)
    negative = rng.integers(-3, 3, n)
    cases = [
        [fail, unknown],
        [unknown, fail, small],
        [high, unknown],
        [sites, small],
        [small, sites, negative],
        [negative],
        [fail, fail, fail, fail],
        [np.zeros(n, np.uint64), unknown],
    ]
    for columns in cases:
        assert dense_ids(columns).tolist() == _by_dict(columns)


def test_dense_ids_of_no_rows_and_of_no_columns():
    assert dense_ids([np.zeros(0, np.uint64), np.zeros(0, np.int64)]).tolist() == []
    with pytest.raises(ValueError, match="at least one column"):
        dense_ids([])


@pytest.mark.parametrize("distinct", [5, 20_000, None])  # None: every value distinct
def test_hashed_codes_of_many_rows_equal_pandas_codes(distinct):
    rng = np.random.default_rng(1)
    n = 300_000  # past the sample that sizes the hash table
    if distinct is None:
        values = rng.permutation(n).astype(np.uint64) * np.uint64(2**40)
    else:
        values = rng.integers(0, 2**63, distinct, dtype=np.uint64)[rng.integers(0, distinct, n)]
    want, _ = pd.factorize(values)
    assert hashed_codes(values).tolist() == want.tolist()
    assert dense_ids([values, values % np.uint64(7)]).tolist() == want.tolist()


@pytest.mark.parametrize("k", [1, 8, 55, 64, 65, 130])
def test_packing_one_criterion_at_a_time_equals_packing_the_matrix(k):
    masks = np.random.default_rng(k).random((1_000, k)) < 0.3
    packer = Packer(1_000)
    for i in range(k):
        packer.set(i, masks[:, i])
    words = packer.words(k)
    assert words.dtype == np.uint64 and words.flags.c_contiguous
    assert np.array_equal(words, pack_rows(masks))
    assert np.array_equal(unpack(words, k), masks)
