"""Benchmark: a threshold change, a toggle and a reorder, each timed many times (#14).

``bench_funnel.py`` gives the median of a few runs of each; this one gives the median AND
the minimum over many (the machine is shared, so the minimum says what the code costs and
the median what a user waits), over every criterion for the toggle (each first use of a
set of switched-off criteria, as a user clicking through them) and alternating thresholds
for the update::

    python bench/bench_whatif.py --rows 1000000

``update``: ``funnel(evaluation.with_parameters(lesion_max_cm=6 or 7).patterns())``;
``toggle``: ``funnel(patterns, exclude=[criterion])`` for every criterion in turn, the
view's figures per switch set forgotten before each pass; ``reorder``:
``funnel(patterns, order=...)``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable


def timed(action: Callable[[int], object], runs: int) -> list[float]:
    """Wall times of ``action(i)``, ``i`` in ``range(runs)``, after one warm-up, in ms."""
    action(-1)
    times = []
    for i in range(runs):
        start = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="patients (default 100000)")
    parser.add_argument("--runs", type=int, default=11, help="updates / passes (default 11)")
    parser.add_argument("--small", action="store_true", help="5,000 rows, 3 runs (CI)")
    args = parser.parse_args()
    if args.small:
        args.rows, args.runs = 5_000, 3

    import screenkit as sk
    from screenkit.datasets import make_sample

    protocol = sk.get_protocol("NCT07103668")
    ids = list(protocol.ids)
    evaluation = sk.evaluate(make_sample(n_patients=args.rows), protocol)
    patterns = evaluation.patterns()
    sk.funnel(patterns)
    lesion = (6.0, 7.0)  # alternate, so every run really changes the threshold
    update = timed(
        lambda i: sk.funnel(evaluation.with_parameters(lesion_max_cm=lesion[i % 2]).patterns()),
        args.runs,
    )
    view = patterns.collapsed
    toggle = []
    for _ in range(args.runs):
        for key in [k for k in view.memo if k != "all on"]:  # first use of each switch set
            del view.memo[key]
        for cid in ids:
            start = time.perf_counter()
            sk.funnel(patterns, exclude=[cid])
            toggle.append((time.perf_counter() - start) * 1000)
    reorder = timed(lambda i: sk.funnel(patterns, order=ids[::-1][i % 3 :]), args.runs)
    print(f"bench_whatif: {args.rows:,} patients x {len(ids)} criteria (NCT07103668)")
    for name, times in (("threshold change", update), ("toggle", toggle), ("reorder", reorder)):
        print(
            f"{name:<18} median {statistics.median(times):7.2f} ms   "
            f"min {min(times):7.2f} ms   ({len(times)} runs)"
        )


if __name__ == "__main__":
    main()
