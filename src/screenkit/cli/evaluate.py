"""``screenkit evaluate``: one row per patient with each criterion's pass / fail / unknown.

    screenkit evaluate data/sample/screening_log.xlsx -o statuses.csv

Columns: ``patient_id``, ``site_id``, ``status`` (eligible / screen_failed / pending), then
one column per criterion ID in protocol order. With recorded reasons (``--reasons COLUMN``,
or detected: a reasons column and no lab-level column) a criterion reads ``fail`` /
``not recorded`` (never ``pass``: not listed is not passed), plus the ``NR`` column
("reason not recorded"); the source is printed to stderr. Text that a spreadsheet would read as a
formula (starting with = + - @) is written with a leading apostrophe.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from screenkit.cli._common import (
    add_input_arguments,
    add_source_arguments,
    criteria_off_note,
    load_and_evaluate,
)
from screenkit.files import safe_text


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="per-patient, per-criterion statuses as CSV",
        description="Evaluate a protocol on a screening log and write one row per patient: "
        "patient_id, site_id, status, then pass / fail / unknown per criterion.",
    )
    add_input_arguments(parser)
    add_source_arguments(parser)
    parser.add_argument(
        "-o", "--output", type=Path, metavar="OUT.csv", help="output CSV (default: stdout)"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from screenkit.cli._common import input_files
    from screenkit.outputs import plan_outputs, write_all

    to_file = args.output is not None and str(args.output) != "-"
    # the output is checked against every input before the (slow) loading
    planned = plan_outputs(
        {"-o": args.output if to_file else None}, input_files(args), force=args.force
    )
    _data, evaluation = load_and_evaluate(args)
    left_out = criteria_off_note(evaluation.protocol)
    if left_out:
        print(f"note: {left_out}", file=sys.stderr)
    table = evaluation.to_frame().reset_index(drop=True)
    if "site_id" not in table.columns:
        table.insert(1, "site_id", "")
    for name in ("patient_id", "site_id"):
        table[name] = table[name].astype(object).map(safe_text)
    if not to_file:
        table.to_csv(sys.stdout, index=False)
        return 0
    (out,) = write_all(
        [(planned["-o"], lambda tmp: table.to_csv(tmp, index=False, encoding="utf-8"))]
    )
    c = evaluation.counts()
    print(
        f"wrote {out}: {c['screened']} patients x {len(evaluation.protocol.criteria)} criteria "
        f"({c['eligible']} eligible, {c['screen_failed']} screen-failed, {c['pending']} pending)"
        f"; source: {evaluation.status_source}"
    )
    return 0
