"""Run a large matrix product on one BLAS thread.

OpenBLAS splits a matrix product over threads only above a size (a product of
``m * n * k`` above 262,144 multiply-adds: ``SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD``
in its ``interface/gemm.c``); on a busy 2-core machine that split makes a product several
times slower (groups x 67,000 patterns x 55 criteria, ``Funnel.fails_by`` on 200,000
patients: 7-9 ms on one thread, 29-230 ms on two). Such products limit BLAS to one thread
while they run (the limit is lifted on exit). The funnel's own sums are 256 x 8 products
per byte of the fail sets, below that size: a toggle or a reorder takes no limit, and
threadpoolctl (its import and its first look at every loaded library, ~15 ms) is loaded
only when a large product asks for it.

>>> import numpy as np
>>> threads(np.zeros((8, 67_000)), np.zeros((67_000, 55))) is not None
True
>>> threads(np.zeros((7, 256)), np.zeros((256, 8))) is None
True
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from functools import cache
from typing import Any

import numpy as np

#: OpenBLAS computes a product of at most this many multiply-adds on one thread
ONE_THREAD_MAX = 65_536 * 4


@cache
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # inspects the loaded libraries once (~7-10 ms)


def one_blas_thread() -> AbstractContextManager:
    """``with one_blas_thread(): ...`` (costs about 16 microseconds after the first)."""
    return _controller().limit(limits=1, user_api="blas")


def threads(a: np.ndarray, b: np.ndarray) -> AbstractContextManager | None:
    """:func:`one_blas_thread` for the 2-d product ``a @ b`` when OpenBLAS would split
    it over threads; None when it would not (no limit needed)."""
    (m, k), n = a.shape, b.shape[1]
    return one_blas_thread() if m * k * n > ONE_THREAD_MAX else None


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` (2-d), on one BLAS thread when OpenBLAS would use more.

    >>> matmul(np.ones((2, 3)), np.ones((3, 1))).tolist()
    [[3.0], [3.0]]
    """
    with threads(a, b) or nullcontext():
        return a @ b
