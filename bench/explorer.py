"""Benchmark: what the screening explorer costs on a large synthetic screening log.

    python bench/explorer.py            # 100,000 patients
    python bench/explorer.py --small    # 5,000 patients (CI)
    python bench/explorer.py --profile  # also print where a toggle and a threshold go
    OPENBLAS_NUM_THREADS=1 python bench/explorer.py

On a busy 2-core machine OpenBLAS's threads make the funnel's small matrix products
several times slower; ``OPENBLAS_NUM_THREADS=1`` shows the single-thread cost.

Each row is the median of ``--repeats`` runs (wall clock, Python side, no browser). The
core rows are what issue 3 sets targets for: a reorder or toggle recomputes the funnel
from the pattern histogram (< 5 ms); a threshold change re-evaluates the criteria using
the parameter, recomputes the pattern histogram once and the funnel (< 50 ms). The
explorer rows add the explorer's own work: filtering the histogram, copying the four
figures into their FigureWidgets (no front end attached) and, in the last row, the
drill-down table (a row view by nature).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable

TARGETS_MS = {"reorder": 5.0, "toggle": 5.0, "threshold": 50.0}


def median_ms(action: Callable[[int], object], repeats: int) -> float:
    """Median wall time of ``action(i)`` over ``repeats`` runs, in milliseconds."""
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def profile(action: Callable[[int], object], label: str, repeats: int = 5) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(repeats):
        action(i)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
    print(f"\n--- profile: {label} ({repeats} runs) ---")
    print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="patients (default 100,000)")
    parser.add_argument("--small", action="store_true", help="5,000 patients (for CI)")
    parser.add_argument("--repeats", type=int, default=21, help="runs per row (default 21)")
    parser.add_argument("--profile", action="store_true", help="profile toggle and threshold")
    args = parser.parse_args(argv)
    n = 5_000 if args.small else args.n

    from screenkit.datasets import make_sample
    from screenkit.evaluate import evaluate
    from screenkit.funnel import funnel
    from screenkit.widgets import ScreeningExplorer

    protocol = "NCT07103668"
    start = time.perf_counter()
    frame = make_sample(n_patients=n)
    made = time.perf_counter() - start
    evaluation = evaluate(frame, protocol)
    patterns = evaluation.patterns()
    ids = list(evaluation.protocol.ids)
    sites = sorted(set(patterns.groups["site_id"]))
    slow = max(3, args.repeats // 4)
    lesion = [6.0, 7.0]  # alternate, so that every run really changes the threshold

    rows: list[tuple[str, float, str]] = []

    def row(name: str, action: Callable[[int], object], repeats: int, target: str = "") -> None:
        rows.append((name, median_ms(action, repeats), target))

    row("evaluate (all criteria)", lambda i: evaluate(frame, protocol), slow)
    row("patterns (histogram by site, month)", lambda i: evaluation.patterns(), slow)
    row(
        "reorder: funnel(patterns, order=...)",
        lambda i: funnel(patterns, order=ids[::-1] if i % 2 else ids),
        args.repeats,
        "reorder",
    )
    row(
        "toggle: funnel(patterns, exclude=...)",
        lambda i: funnel(patterns, exclude=[ids[i % len(ids)]]),
        args.repeats,
        "toggle",
    )
    row(
        "site filter: patterns.filter + funnel",
        lambda i: funnel(patterns.filter(site_id=sites[: 1 + i % len(sites)])),
        args.repeats,
    )
    row(
        "threshold: with_parameters + patterns + funnel",
        lambda i: funnel(evaluation.with_parameters(lesion_max_cm=lesion[i % 2]).patterns()),
        slow,
        "threshold",
    )
    row(
        "  of which with_parameters (1 criterion)",
        lambda i: evaluation.with_parameters(lesion_max_cm=lesion[i % 2]),
        slow,
    )

    start = time.perf_counter()
    explorer = ScreeningExplorer(frame, protocol)
    built = (time.perf_counter() - start) * 1000
    explorer.state.drilldown = ""
    rows.append(("explorer: build (evaluate, patterns, widgets)", built, ""))
    row(
        "explorer: toggle (funnel + 4 figures)",
        lambda i: explorer.toggle("E7", bool(i % 2)),
        args.repeats,
    )
    row("explorer: move (funnel + 4 figures)", lambda i: explorer.move("E7", 1 - 2 * (i % 2)), 9)
    row(
        "explorer: threshold (+ 4 figures)",
        lambda i: explorer.set_parameter("lesion_max_cm", lesion[i % 2]),
        slow,
    )
    explorer.state.drilldown = "I3a"  # the most costly criterion: a long table
    row(
        "explorer: threshold (+ figures + drill-down I3a)",
        lambda i: explorer.set_parameter("lesion_max_cm", lesion[i % 2]),
        slow,
    )

    print(
        f"screenkit explorer benchmark: {n:,} synthetic patients, "
        f"{len(patterns.counts):,} distinct patterns (by site and month), {len(ids)} criteria; "
        f"make_sample {made:.1f} s; Python {sys.version.split()[0]}; "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}"
    )
    print()
    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'median ms':>10}  {'target':>8}  ok")
    for name, ms, target in rows:
        goal = TARGETS_MS.get(target)
        ok = "" if goal is None else ("yes" if ms < goal else "NO")
        goal_text = f"< {goal:g}" if goal else ""
        print(f"{name:<{width}}  {ms:>10.2f}  {goal_text:>8}  {ok}")

    if args.profile:
        profile(lambda i: funnel(patterns, exclude=[ids[i % len(ids)]]), "toggle: funnel()")
        profile(
            lambda i: funnel(evaluation.with_parameters(lesion_max_cm=lesion[i % 2]).patterns()),
            "threshold: with_parameters + patterns + funnel",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
