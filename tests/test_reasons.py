from collections import Counter
from pathlib import Path

import pandas as pd

from screenkit.reasons import parse_reasons

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "screening_log.xlsx"


def test_separators_and_case():
    assert parse_reasons("I5b; E7") == (["I5b", "E7"], [])
    assert parse_reasons("i3a,e3") == (["I3a", "E3"], [])
    assert parse_reasons("I2a/E11C  I2a") == (["I2a", "E11c"], [])


def test_missing_and_unmatched():
    assert parse_reasons(float("nan")) == ([], [])
    assert parse_reasons("   ") == ([], [])
    assert parse_reasons("withdrew consent") == ([], ["withdrew", "consent"])


def test_sample_column_counts_match_independent_count():
    col = pd.read_excel(SAMPLE, engine="openpyxl")["fail_reasons"]
    independent = Counter(
        t.strip() for cell in col.dropna() for t in str(cell).split(";") if t.strip()
    )
    parsed = Counter(i for cell in col for i in parse_reasons(cell)[0])
    assert parsed == independent
    assert sum(parsed.values()) > 0


def test_each_distinct_token_is_matched_once_and_read_alike():
    from screenkit.reasons import criterion_id

    tokens = ["I5b", "i5B", "E7", "e11C", "I2", "X1", "I", "E7x1", "consent", "Ｅ7"]
    expected = ["I5b", "I5b", "E7", "E11c", "I2", None, None, None, None, None]
    criterion_id.cache_clear()
    assert [criterion_id(t) for t in tokens] == expected  # cold: the pattern
    assert [criterion_id(t) for t in tokens] == expected  # warm: the memo
    info = criterion_id.cache_info()
    assert (info.misses, info.hits) == (len(tokens), len(tokens))
    # a cell read after its tokens are memoized gives what a cold read gives
    assert parse_reasons("i5B; consent; E7 / i5b") == (["I5b", "E7"], ["consent"])
