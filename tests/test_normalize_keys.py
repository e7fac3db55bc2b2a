"""The loader's filter of patient-ID cells that may be a repeated header or a total line
(:func:`screenkit.normalize._maybe_keys`): never misses one, and rules out ASCII IDs."""

from __future__ import annotations

import random

import pytest

from screenkit.header_map import header_key
from screenkit.normalize import _TOTAL_WORDS, _maybe_keys

_ALPHABET = "TotalSUMsubgrandpatientID -_:.#\t*()[]\\|^$?+01" + "é合Ｋ"


def _texts() -> list[str]:
    rng = random.Random(14)
    texts = ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 12))) for _ in range(5000)]
    return [
        *texts,
        "Total", " total: ", "T-O-T-A-L", "Grand Total", "Patient ID", "patient_id",
        "Sub-total", "sum", "Summe", "", "---", "totals", "1total", "Patient IDs", "S01-0001",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "keys",
    [{"patientid", *_TOTAL_WORDS}, {"", "total"}, {"合计"}, {"a.b", "sum"}, set()],
)
def test_maybe_keys_is_every_ascii_key_match_and_every_non_ascii_text(keys):
    texts = _texts()
    expected = [i for i, t in enumerate(texts) if not t.isascii() or header_key(t) in keys]
    assert _maybe_keys(texts, keys) == expected


def test_maybe_keys_rules_out_plain_ids():
    ids = [f"S{i % 8:02d}-{i:05d}" for i in range(1000)] + ["TOTAL", "patient id"]
    assert _maybe_keys(ids, {"patientid", "total"}) == [1000, 1001]
