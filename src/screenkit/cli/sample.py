"""``screenkit sample``: write the SYNTHETIC sample screening logs (clean and messy).

    screenkit sample -o my_folder --seed 7 --patients 1000

Writes ``screening_log.xlsx`` and ``screening_log_messy.xlsx``; refuses to overwrite
existing files unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``sample`` command to the ``screenkit`` parser."""
    from screenkit.datasets import DEFAULT_SEED

    parser = subparsers.add_parser(
        "sample",
        help="write the synthetic sample screening logs (clean + messy .xlsx)",
        description="Write a SYNTHETIC screening log (no real patients) as two workbooks: "
        "screening_log.xlsx (canonical columns) and screening_log_messy.xlsx (the same "
        "patients as real exports write them).",
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("."), metavar="FOLDER", help="default: ."
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"default: {DEFAULT_SEED}")
    parser.add_argument("--patients", type=int, default=400, metavar="N", help="default: 400")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from screenkit.cli._common import check_int
    from screenkit.datasets import write_sample_files
    from screenkit.errors import InputError

    check_int(args.seed, "--seed", low=0, high=2**32 - 1)
    if args.patients < 1:
        raise InputError(
            "--patients must be at least 1", value=args.patients, hint="e.g. --patients 400"
        )
    if args.output.exists() and not args.output.is_dir():
        raise InputError("-o names a file; sample writes two files into a folder", file=args.output)
    try:
        paths = write_sample_files(
            args.output, seed=args.seed, n_patients=args.patients, overwrite=args.force
        )
    except OSError as err:
        raise InputError(
            "Cannot write the sample files", file=args.output, value=err.strerror or str(err)
        ) from err
    for path in paths:
        print(f"wrote {path} ({args.patients} synthetic patients, seed {args.seed})")
    return 0
