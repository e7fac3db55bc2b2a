"""Bit-packed criterion sets and dense ids: the storage of the core's results.

A patient's fail set (or unknown set) over ``k`` criteria is kept as ``ceil(k / 64)``
unsigned 64-bit words: criterion ``i`` is bit ``i % 64`` of word ``i // 64``. A million
patients x 55 criteria is then 8 MB per set instead of 55 MB of booleans, one criterion can
be replaced in place, and "fails anything" is ``words != 0``.

>>> import numpy as np
>>> masks = [np.array([True, False, True]), np.array([False, False, True])]
>>> words = pack_columns(masks, 3)
>>> words.ravel().tolist()
[1, 0, 3]
>>> unpack(words, 2).tolist()
[[True, False], [False, False], [True, True]]
>>> dense_ids([np.array([5, 7, 5, 9])])
array([0, 1, 0, 2])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "BYTE_BITS",
    "Packer",
    "any_rows",
    "as_bytes",
    "column",
    "count_rows",
    "dense_ids",
    "first_index",
    "hashed_codes",
    "n_words",
    "pack_columns",
    "pack_rows",
    "row_counts",
    "set_column",
    "unpack",
    "weighted_sums",
]


def n_words(k: int) -> int:
    """Words per patient for ``k`` criteria (at least one).

    >>> n_words(0), n_words(64), n_words(65)
    (1, 1, 2)
    """
    return max(1, -(-k // 64))


def pack_columns(masks: Sequence[np.ndarray], n: int) -> np.ndarray:
    """``(n, n_words(k))`` uint64 words from ``k`` bool masks of length ``n``."""
    packer = Packer(n)
    for i, mask in enumerate(masks):
        packer.set(i, mask)
    return packer.words(len(masks))


class Packer:
    """Packs criteria one at a time, so a caller never holds all their masks: each mask
    is OR-ed into a byte plane (one pass over ``n`` bytes; 8 criteria a plane), and the
    planes are transposed once into per-patient words at the end."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.planes: list[np.ndarray] = []

    def set(self, i: int, mask: np.ndarray) -> None:
        """OR criterion ``i``'s bool mask in (each ``i`` once)."""
        while len(self.planes) <= i // 8:
            self.planes.append(np.zeros(self.n, dtype=np.uint8))
        plane = self.planes[i // 8]
        # a bool is the byte 0 or 1: times the bit's value (numpy vectorizes uint8
        # multiplication, not uint8 shifts: 5x faster)
        plane |= np.asarray(mask, dtype=bool).view(np.uint8) * np.uint8(1 << (i % 8))

    def words(self, k: int) -> np.ndarray:
        """``(n, n_words(k))`` uint64 words of the criteria set so far."""
        patient_bytes = np.zeros((self.n, n_words(k) * 8), dtype=np.uint8)
        for b, plane in enumerate(self.planes):
            patient_bytes[:, b] = plane  # (a strided write: 4x faster than a transpose)
        self.planes = []
        return patient_bytes.view("<u8").astype(np.uint64, copy=False)


def pack_rows(matrix: np.ndarray) -> np.ndarray:
    """``(n, n_words(k))`` uint64 words from an ``(n, k)`` bool matrix."""
    n, k = matrix.shape
    w = n_words(k)
    padded = np.zeros((n, w * 64), dtype=bool)
    padded[:, :k] = matrix
    packed = np.packbits(padded, axis=1, bitorder="little")
    return packed.view("<u8").astype(np.uint64, copy=False)


def unpack(words: np.ndarray, k: int) -> np.ndarray:
    """``(n, k)`` bool matrix of the first ``k`` criteria of ``words``."""
    n = len(words)
    if k == 0:
        return np.zeros((n, 0), dtype=bool)
    bits = np.unpackbits(as_bytes(words), axis=1, bitorder="little")
    return bits[:, :k].astype(bool)


def as_bytes(words: np.ndarray) -> np.ndarray:
    """``(n, 8 * words)`` uint8 view: criterion ``i`` is bit ``i % 8`` of byte ``i // 8``."""
    n = len(words)
    little = np.ascontiguousarray(words).astype("<u8", copy=False)
    return little.view(np.uint8).reshape(n, words.shape[1] * 8)


#: ``BYTE_BITS[v, j]``: bit ``j`` of the byte value ``v``
BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little")


def weighted_sums(set_bytes: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Per criterion, the sum of ``weights`` over the rows whose set holds it: one 256-bin
    count per byte of the sets (:func:`as_bytes`), then each byte value's bits.

    >>> words = pack_rows(np.array([[True, False], [True, True]]))
    >>> weighted_sums(as_bytes(words), np.array([2.0, 3.0]), 2).tolist()
    [5.0, 3.0]
    """
    out = np.zeros(set_bytes.shape[1] * 8)
    for b in range(min(set_bytes.shape[1], -(-k // 8))):
        per_value = np.bincount(set_bytes[:, b], weights=weights, minlength=256)
        out[8 * b : 8 * b + 8] = per_value @ BYTE_BITS
    return out[:k]


def row_counts(set_bytes: np.ndarray, k: int) -> np.ndarray:
    """Per criterion, the rows whose set holds it (int64): :func:`weighted_sums` with
    every weight 1, counted without weights (a third faster).

    >>> row_counts(as_bytes(pack_rows(np.array([[True, False], [True, True]]))), 2).tolist()
    [2, 1]
    """
    out = np.zeros(set_bytes.shape[1] * 8, dtype=np.int64)
    for b in range(min(set_bytes.shape[1], -(-k // 8))):
        out[8 * b : 8 * b + 8] = np.bincount(set_bytes[:, b], minlength=256) @ BYTE_BITS
    return out[:k]


def any_rows(words: np.ndarray) -> np.ndarray:
    """Per row: does the set hold any criterion?"""
    if words.shape[1] == 1:
        return words[:, 0] != 0
    return (words != 0).any(axis=1)


def count_rows(words: np.ndarray) -> np.ndarray:
    """Per row: how many criteria the set holds (int64)."""
    counts = np.bitwise_count(words)
    if words.shape[1] == 1:
        return counts[:, 0].astype(np.int64)
    return counts.sum(axis=1, dtype=np.int64)


def set_column(words: np.ndarray, i: int, mask: np.ndarray) -> None:
    """Replace criterion ``i`` of ``words`` (in place) by the bool ``mask``."""
    w, bit = divmod(i, 64)
    column = words[:, w]
    column &= ~np.uint64(1 << bit)
    column |= np.asarray(mask, dtype=bool).astype(np.uint64) << np.uint64(bit)


def column(words: np.ndarray, i: int) -> np.ndarray:
    """Criterion ``i`` of ``words`` as a bool mask."""
    w, bit = divmod(i, 64)
    return (words[:, w] >> np.uint64(bit)) & np.uint64(1) != 0


def dense_ids(columns: Sequence[np.ndarray]) -> np.ndarray:
    """One dense id (0..m-1, in order of first appearance) per distinct row of ``columns``.

    The columns are packed side by side into one 64-bit key per row, which is then hashed
    once (``pd.factorize``), or relabelled through a table when the keys are small. A
    column of non-negative integers goes in as it is when its values fit in the bits left
    (a word of bit-packed criteria uses only as many bits as there are criteria; codes
    use a few), another column as its dense codes; where even those would not fit, the
    key so far is replaced by its own dense codes first.

    >>> dense_ids([np.array([3, 3, 1, 3]), np.array(["a", "b", "a", "a"], dtype=object)])
    array([0, 1, 2, 0])
    """
    if not len(columns):
        raise ValueError("dense_ids needs at least one column")
    if not len(columns[0]):
        return np.zeros(0, dtype=np.int64)
    key, width = np.zeros(len(columns[0]), dtype=np.uint64), 0
    for column_ in columns:
        column_ = np.asarray(column_)
        bits = _bits_as_is(column_)
        if bits is not None and width + bits <= 64:
            part = column_.astype(np.uint64, copy=False)
        else:
            codes, cardinality = _codes(column_)
            part, bits = codes.astype(np.uint64), (cardinality - 1).bit_length()
            if width + bits > 64:
                codes, cardinality = _codes(key)
                key, width = codes.astype(np.uint64), (cardinality - 1).bit_length()
        key = (key << np.uint64(bits)) | part if width else part
        width += bits
    return _codes(key)[0]


def _bits_as_is(column: np.ndarray) -> int | None:
    """The bits a column of non-negative integers needs as it is (None for another)."""
    if column.dtype.kind not in "iu" or column.min() < 0:
        return None
    return int(column.max()).bit_length()


def _codes(column: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense codes of one column (first appearance) and how many distinct values."""
    column = np.asarray(column)
    n = len(column)
    if column.dtype.kind in "iu" and n and column.min() >= 0 and column.max() < 4 * n + 1024:
        codes = _relabel(column.astype(np.int64, copy=False), int(column.max()) + 1)
    else:
        codes = hashed_codes(column)
    return codes, (int(codes.max()) + 1 if n else 0)


def _relabel(keys: np.ndarray, size: int) -> np.ndarray:
    """Dense ids in order of first appearance of int64 ``keys`` in ``[0, size)``: by a
    table when ``size`` is small (no hashing), else by ``pd.factorize``."""
    n = len(keys)
    if size > 4 * n + 1024:
        return hashed_codes(keys)
    first = np.full(size, n, dtype=np.int64)
    first[keys[::-1]] = np.arange(n - 1, -1, -1)
    present = np.flatnonzero(first < n)
    label = np.zeros(size, dtype=np.int64)
    label[present[np.argsort(first[present], kind="stable")]] = np.arange(len(present))
    return label[keys]


#: rows read to size the hash table of :func:`hashed_codes`
_SAMPLE = 1 << 16


def hashed_codes(values: np.ndarray) -> np.ndarray:
    """Dense codes (int64, order of first appearance; a missing value is a value) by
    ``pd.factorize``, its hash table sized from the data.

    pandas sizes the table for one distinct value per row: for a million patients and
    some thousands of distinct patterns that is a table far larger than the cache, and
    every lookup waits for memory (2-3x slower). The table starts instead at 8x the
    distinct values among the first 65,536 rows (it grows as needed), or at one slot per
    row when most of those are distinct.

    >>> hashed_codes(np.array([7, 3, 7, 9], dtype=np.uint64)).tolist()
    [0, 1, 0, 2]
    """
    n = len(values)
    hint = None
    if n > 4 * _SAMPLE:
        seen = len(pd.unique(values[:_SAMPLE]))
        hint = n if 2 * seen > _SAMPLE else 8 * seen
    codes, _ = pd.factorize(values, use_na_sentinel=False, size_hint=hint)
    return codes.astype(np.int64, copy=False)


def first_index(ids: np.ndarray, m: int) -> np.ndarray:
    """Index of the first occurrence of each id ``0..m-1``.

    >>> first_index(np.array([1, 0, 1, 2]), 3).tolist()
    [1, 0, 3]
    """
    first = np.zeros(m, dtype=np.int64)
    first[ids[::-1]] = np.arange(len(ids) - 1, -1, -1)
    return first
