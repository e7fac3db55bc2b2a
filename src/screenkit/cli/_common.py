"""Arguments and steps shared by the commands that read a screening log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from screenkit.errors import ScreenkitError


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """INPUT, --sheet, --protocol, --columns, --encoding, --param."""
    parser.add_argument("input", metavar="INPUT", type=Path, help="screening log (.xlsx or .csv)")
    parser.add_argument("--sheet", metavar="S", help="worksheet name (default: the first)")
    parser.add_argument(
        "--protocol",
        default="NCT07103668",
        metavar="ID|FILE",
        help="shipped registry id or a protocol .yaml file (default: NCT07103668)",
    )
    parser.add_argument(
        "--columns",
        metavar="MAP",
        help="header map file (.csv/.yaml/.json: header as in the file -> canonical name)",
    )
    parser.add_argument("--encoding", help="text encoding of a .csv (default: detected)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change a protocol threshold, e.g. --param lesion_max_cm=7 (repeatable)",
    )


def parse_params(items: list[str]) -> dict[str, float]:
    """``["lesion_max_cm=7"]`` -> ``{"lesion_max_cm": 7.0}``, with a clear error otherwise."""
    params: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            params[name.strip()] = float(value)
        except ValueError:
            raise ScreenkitError(
                "--param needs NAME=NUMBER", value=item, expected="e.g. --param lesion_max_cm=7"
            ) from None
    return params


def load_and_evaluate(args: argparse.Namespace):
    """Load the input and evaluate the protocol; returns ``(data, evaluation)``."""
    from screenkit.evaluate import evaluate
    from screenkit.normalize import load_screening
    from screenkit.protocol import get_protocol

    protocol = get_protocol(args.protocol)
    data = load_screening(
        args.input, sheet=args.sheet, columns=args.columns, encoding=args.encoding
    )
    evaluation = evaluate(data, protocol, **parse_params(args.param))
    problems = data.report.problems
    if len(problems):
        print(
            f"note: {len(problems)} cell(s) could not be read and count as missing "
            "(see the load report / the workbook's Data issues sheet)",
            file=sys.stderr,
        )
    return data, evaluation


def check_output(path: Path, *, force: bool, inputs: list[Path | None]) -> Path:
    """:func:`screenkit.files.check_target` plus a writable-folder check, for a command's
    output file: never an input (``None`` entries are skipped), ``--force`` to replace an
    existing file, an :class:`InputError` for a missing or unwritable folder."""
    import os

    from screenkit.errors import InputError
    from screenkit.files import check_target

    out = check_target(path, overwrite=force, inputs=[p for p in inputs if p is not None])
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise InputError("Output folder is not writable", file=out.parent)
    return out


def write_text_output(out: Path, text: str) -> Path:
    """Write ``text`` to ``out`` atomically (the old file or nothing, never half-written);
    an operating-system failure (unwritable folder, disk full) is an :class:`InputError`."""
    from screenkit.errors import InputError
    from screenkit.files import atomic_write

    try:
        return atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as err:
        raise InputError(
            "Cannot write the output file", file=out, value=err.strerror or str(err)
        ) from err
