"""The one rule of overall status: eligible / screen_failed / pending.

A patient failing any (active) criterion is **screen_failed**; otherwise unknown on any is
**pending** (unknown is never pass); otherwise **eligible**. The rule works on bit-packed
sets (:mod:`screenkit.bits`), so the evaluation (per patient) and the funnel (per pattern,
some criteria switched off) call the same function.

>>> import numpy as np
>>> fails = np.array([[0], [4], [0]], np.uint64)
>>> unknown = np.array([[0], [1], [2]], np.uint64)
>>> status_codes(fails, unknown).tolist()
[0, 1, 2]
>>> status_codes(fails, unknown, active=np.array([1], np.uint64)).tolist()   # only bit 0 on
[0, 2, 0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from screenkit.bits import any_rows

__all__ = ["STATUSES", "STATUS_DTYPE", "status_codes"]

STATUSES = ("eligible", "screen_failed", "pending")
STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))


def status_codes(
    fail_words: np.ndarray, unknown_words: np.ndarray, active: np.ndarray | None = None
) -> np.ndarray:
    """Per row, 0 eligible, 1 screen_failed, 2 pending (int8); ``active``: the words of
    the criteria switched on (default: all)."""
    if active is not None:
        fail_words, unknown_words = fail_words & active, unknown_words & active
    failed = any_rows(fail_words)
    unknown = any_rows(unknown_words)
    codes = unknown.astype(np.int8) * np.int8(2)
    codes[failed] = 1
    return codes
