"""Benchmark: screenkit's core (evaluate + patterns + funnel) against the memory-read
floor, a polars and a DuckDB implementation of the same funnel, and end to end.

    python bench/bench_funnel.py --rows 1000000 --json out/bench_funnel.json
    python bench/bench_funnel.py --small          # CI: 5,000 rows, small end-to-end files

Input: a canonical frame from :func:`screenkit.datasets.make_sample` (NCT07103668, every
criterion). Rows of the table (each the median of ``--repeats`` runs after one warm-up):

* ``floor``: touch every byte of the columns the protocol reads once (values and
  missing-value masks; object columns by one pass over their pointers);
* ``screenkit``: ``evaluate`` + ``patterns()`` + ``funnel``;
* ``polars`` / ``duckdb``: the same statuses and funnel (per-criterion fails, unknown,
  fails-only, attribution, sequential attrition, eligible / screen-failed / pending)
  generated from the protocol's rule AST by ``bench/_rule_backends.py``, on data already
  in a polars frame / a registered pandas frame (conversion not timed). The run stops
  with an error unless all three give identical counts. polars and DuckDB use every core;
  screenkit one;
* ``update``: a threshold change (``with_parameters(lesion_max_cm=...)`` + patterns +
  funnel); ``reorder`` / ``toggle``: a funnel with another order / one criterion off from
  the pattern histogram;
* ``peak extra``: the largest extra memory (tracemalloc) during one screenkit run;
* end to end: ``screenkit report FILE --json`` in a subprocess on an ``--e2e-rows``-row CSV
  and an ``--xlsx-rows``-row xlsx of the same frame, beside ``pandas.read_csv`` and the
  python-calamine reader alone, in-process and as a fresh process; ``--e2e-rounds``
  interleaved rounds, medians (issue 14's goal: the report <= 5x ``pandas.read_csv``).

``--json OUT`` writes ``rows``, ``criteria``, ``floor_s``, ``screenkit_s``, ``polars_s``,
``duckdb_s``, ``update_s``, ``reorder_s``, ``toggle_s``, ``peak_extra_mib`` (and the
end-to-end figures). Speed goals (issue 14) are read from the table by hand, never
asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _rule_backends as rb
from explorer import median_ms  # the benchmarks' one timing helper


def median_s(action: Callable[[int], object], repeats: int) -> float:
    """Median wall time of ``action(i)`` over ``repeats`` runs after one warm-up, in s."""
    action(-1)
    return median_ms(action, repeats) / 1000


def read_floor(frame: pd.DataFrame) -> Callable[[int], object]:
    """One pass over every byte of ``frame``'s columns (values and masks)."""
    parts = []
    for name in frame.columns:
        array = frame[name].array
        data = getattr(array, "_data", None)
        mask = getattr(array, "_mask", None)
        if data is not None and data.dtype != object:
            parts.append(np.ascontiguousarray(data).view(np.uint8))
            if mask is not None:
                parts.append(mask.view(np.uint8))
        else:
            parts.append(np.asarray(array, dtype=object))

    def touch(_: int) -> int:
        total = 0
        for p in parts:
            if p.dtype == object:
                total += int(np.equal(p, None).sum())
            else:
                total += int(np.bitwise_xor.reduce(p))
        return total

    return touch


def _read_csv(path: str) -> None:
    import pandas

    pandas.read_csv(path)


def _read_xlsx(path: str) -> None:
    from python_calamine import CalamineWorkbook

    CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()


#: the reader alone: called in-process, and the same lines run by ``python -c`` (nothing
#: else imported, so the fresh process pays only the interpreter's and the reader's start-up)
_READERS = {
    "csv": (_read_csv, "import pandas\npandas.read_csv({path!r})"),
    "xlsx": (
        _read_xlsx,
        "from python_calamine import CalamineWorkbook\n"
        "CalamineWorkbook.from_path({path!r}).get_sheet_by_index(0).to_python()",
    ),
}


def end_to_end(
    frame_maker, rows_csv: int, rows_xlsx: int, out: Path, rounds: int = 5
) -> dict[str, float]:
    """``screenkit report`` on a CSV and an xlsx beside reading the same file alone.

    ``rounds`` interleaved rounds (after one warm-up read), each timing the reader
    in-process, ``screenkit report`` in a subprocess and the reader in a fresh process
    (``python -c``, so with the interpreter's and pandas' start-up as the report has it).
    The figures are medians; ``{kind}_ratio`` is the median of the rounds' report / read
    ratios, so a burst of load on the shared machine slows both sides of one ratio.
    """
    from openpyxl import Workbook

    results: dict[str, float] = {}
    screenkit = [sys.executable, "-m", "screenkit", "report"]
    for kind, rows in (("csv", rows_csv), ("xlsx", rows_xlsx)):
        if rows <= 0:
            continue
        frame = frame_maker(rows)
        path = out / f"log_{rows}.{kind}"
        if kind == "csv":
            frame.to_csv(path, index=False)
        else:
            wb = Workbook(write_only=True)
            ws = wb.create_sheet("Screening log")
            ws.append(list(frame.columns))
            for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False):
                ws.append(list(row))
            wb.save(path)
        read, lines = _READERS[kind]
        process = [sys.executable, "-c", lines.format(path=str(path))]
        read(str(path))  # warm-up: the file in the page cache, the reader imported
        reads, reports, processes = [], [], []
        for _ in range(rounds):
            start = time.perf_counter()
            read(str(path))
            reads.append(time.perf_counter() - start)
            start = time.perf_counter()
            done = subprocess.run(
                [*screenkit, str(path), "--json", str(out / f"{kind}.json"), "--force"],
                capture_output=True,
                text=True,
            )
            reports.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"screenkit report failed on {path}:\n{done.stderr[-2000:]}")
            start = time.perf_counter()
            subprocess.run(process, check=True)
            processes.append(time.perf_counter() - start)
        results[f"{kind}_read_s"] = statistics.median(reads)
        results[f"{kind}_report_s"] = statistics.median(reports)
        results[f"{kind}_read_process_s"] = statistics.median(processes)
        results[f"{kind}_ratio"] = statistics.median(
            r / s for r, s in zip(reports, reads, strict=True)
        )
        results[f"{kind}_ratio_process"] = statistics.median(
            r / s for r, s in zip(reports, processes, strict=True)
        )
        results[f"{kind}_rounds"] = rounds
        results[f"{kind}_rows"] = rows
        results[f"{kind}_mb"] = path.stat().st_size / 1e6
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="patients (default 1M)")
    parser.add_argument("--small", action="store_true", help="5,000 rows, tiny e2e files (CI)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per row (default 5)")
    parser.add_argument("--e2e-rows", type=int, default=200_000, help="CSV rows (0: skip)")
    parser.add_argument("--xlsx-rows", type=int, default=50_000, help="xlsx rows (0: skip)")
    parser.add_argument(
        "--e2e-rounds", type=int, default=5, help="interleaved end-to-end rounds (default 5)"
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the figures as JSON")
    args = parser.parse_args(argv)
    if args.small:
        args.rows, args.e2e_rows, args.xlsx_rows, args.e2e_rounds = 5_000, 2_000, 1_000, 1

    import duckdb

    import screenkit as sk
    from screenkit.datasets import make_sample

    protocol = sk.get_protocol("NCT07103668")
    frame = make_sample(n_patients=args.rows)
    columns = rb.needed_columns(protocol, frame.columns)
    ids = list(protocol.ids)

    # correctness first: the three implementations must agree exactly
    evaluation = sk.evaluate(frame, protocol)
    patterns = evaluation.patterns()
    reference = rb.screenkit_summary(sk.funnel(patterns))
    pl_frame = rb.to_polars(frame, columns)
    con = duckdb.connect()
    con.register("screening", frame[columns])
    for name, got in (
        ("polars", rb.polars_funnel(pl_frame, protocol)),
        ("duckdb", rb.duckdb_funnel(con, protocol, "screening", columns)),
    ):
        diffs = rb.same_counts(reference, got)
        if diffs:
            raise SystemExit(f"{name} disagrees with screenkit on: {', '.join(diffs[:20])}")

    r = args.repeats
    lesion = (6.0, 7.0)  # alternate, so every run really changes the threshold
    figures = {
        "rows": args.rows,
        "criteria": len(ids),
        "floor_s": median_s(read_floor(frame[columns]), r),
        "screenkit_s": median_s(lambda i: sk.funnel(sk.evaluate(frame, protocol).patterns()), r),
        "polars_s": median_s(lambda i: rb.polars_funnel(pl_frame, protocol), r),
        "duckdb_s": median_s(lambda i: rb.duckdb_funnel(con, protocol, "screening", columns), r),
        "update_s": median_s(
            lambda i: sk.funnel(evaluation.with_parameters(lesion_max_cm=lesion[i % 2]).patterns()),
            r,
        ),
        "reorder_s": median_s(lambda i: sk.funnel(patterns, order=ids[::-1][i % 3 :]), r),
        "toggle_s": median_s(lambda i: sk.funnel(patterns, exclude=[ids[i % len(ids)]]), r),
    }
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    sk.funnel(sk.evaluate(frame, protocol).patterns())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    figures["peak_extra_mib"] = (peak - base) / 2**20
    figures["input_mib"] = frame[columns].memory_usage(deep=True).sum() / 2**20

    with tempfile.TemporaryDirectory() as tmp:
        figures.update(
            end_to_end(
                lambda n: make_sample(n_patients=n),
                args.e2e_rows,
                args.xlsx_rows,
                Path(tmp),
                args.e2e_rounds,
            )
        )

    floor = figures["floor_s"]
    print(
        f"bench_funnel: {args.rows:,} patients x {len(ids)} criteria (NCT07103668), "
        f"median of {r}; polars / duckdb counts identical to screenkit; "
        f"{os.cpu_count()} cores"
    )
    print(f"{'step':<44}{'time':>12}{'x floor':>10}")
    rows = [
        ("memory-read floor", floor),
        ("screenkit evaluate + patterns + funnel", figures["screenkit_s"]),
        ("polars (same funnel, from the rule AST)", figures["polars_s"]),
        ("DuckDB SQL (same funnel, from the rule AST)", figures["duckdb_s"]),
        ("threshold change (lesion_max_cm)", figures["update_s"]),
        ("reorder (from the pattern histogram)", figures["reorder_s"]),
        ("toggle one criterion", figures["toggle_s"]),
    ]
    for label, seconds in rows:
        ratio = seconds / floor if floor > 0 else float("nan")
        print(f"{label:<44}{seconds * 1000:>10.1f}ms{ratio:>10.1f}")
    print(
        f"{'peak extra memory (screenkit run)':<44}{figures['peak_extra_mib']:>10.1f}MiB"
        f"{figures['peak_extra_mib'] / figures['input_mib']:>9.2f}x input"
        f" ({figures['input_mib']:.0f} MiB)"
    )
    for kind, reader in (("csv", "pandas.read_csv"), ("xlsx", "python-calamine")):
        if f"{kind}_report_s" in figures:
            print(
                f"end to end, {figures[f'{kind}_rows']:,}-row {kind} "
                f"({figures[f'{kind}_mb']:.1f} MB), median of {figures[f'{kind}_rounds']} "
                f"interleaved rounds: screenkit report {figures[f'{kind}_report_s']:.2f}s; "
                f"{reader} alone {figures[f'{kind}_read_s']:.2f}s in-process "
                f"({figures[f'{kind}_ratio']:.1f}x), "
                f"{figures[f'{kind}_read_process_s']:.2f}s as a process "
                f"({figures[f'{kind}_ratio_process']:.1f}x)"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
