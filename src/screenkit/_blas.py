"""Run small matrix products on one BLAS thread.

The funnel's sums are matrix-vector products over a few thousand patterns. Multi-threaded
OpenBLAS makes them about ten times slower on a busy 2-core machine (48 ms instead of
5 ms for a reorder on 100,000 patients), so funnel computations limit BLAS to one thread
while they run. Only the calling code is affected: the limit is lifted on exit.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspects the loaded libraries once (~7 ms)


def one_blas_thread() -> AbstractContextManager:
    """``with one_blas_thread(): ...`` (costs about 16 microseconds)."""
    return _controller().limit(limits=1, user_api="blas")
