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
    parser.add_argument(
        "--allow-outside-range",
        action="store_true",
        help="accept --param values outside the parameter's declared min..max (every output "
        "then says so)",
    )


def parse_params(
    items: list[str], protocol=None, *, allow_outside_range: bool = False
) -> dict[str, float]:
    """``["lesion_max_cm=7"]`` -> ``{"lesion_max_cm": 7.0}``, with a clear error otherwise.

    The value must be a finite number (``nan`` / ``inf`` are refused). With a ``protocol``
    the name must be one of its parameters (a close spelling is suggested) and the value
    inside the parameter's declared ``min..max``, unless ``allow_outside_range``.
    """
    import difflib
    import math

    params: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        try:
            if not sep or not name:
                raise ValueError
            number = float(value)
        except ValueError:
            raise ScreenkitError(
                "--param needs NAME=NUMBER", value=item, expected="e.g. --param lesion_max_cm=7"
            ) from None
        if not math.isfinite(number):
            raise ScreenkitError(
                f"--param {name} needs a finite number", value=value.strip(), expected="a number"
            )
        if protocol is not None:
            declared = protocol.parameters
            if name not in declared:
                close = difflib.get_close_matches(name, list(declared), n=1, cutoff=0.6)
                raise ScreenkitError(
                    f"Protocol {protocol.id} has no parameter {name!r}"
                    + (f"; did you mean {close[0]!r}?" if close else ""),
                    value=item,
                    expected=", ".join(sorted(declared)),
                )
            spec = declared[name]
            if not spec.min <= number <= spec.max and not allow_outside_range:
                raise ScreenkitError(
                    f"--param {name}={number:g} is outside the parameter's declared range",
                    value=item,
                    expected=f"{spec.min:g} to {spec.max:g}",
                    hint="pass --allow-outside-range to use it anyway (every output then says so)",
                )
        params[name] = number
    return params


def outside_range(protocol, parameters) -> list[str]:
    """``["lesion_max_cm = 40 (declared range 1 to 10)"]`` for values outside the
    protocol's declared range (only possible with ``--allow-outside-range``)."""
    notes = []
    for name, value in parameters.items():
        spec = protocol.parameters.get(name)
        if spec is not None and not spec.min <= value <= spec.max:
            notes.append(f"{name} = {value:g} (declared range {spec.min:g} to {spec.max:g})")
    return notes


def check_int(value: int | None, option: str, *, low: int, high: int | None = None) -> None:
    """An :class:`ScreenkitError` unless ``low <= value <= high`` (``None`` passes)."""
    if value is None:
        return
    if value < low or (high is not None and value > high):
        accepted = f"{low} to {high}" if high is not None else f"{low} or more"
        raise ScreenkitError(f"{option} is out of range", value=value, expected=accepted)


def input_files(args: argparse.Namespace) -> list[Path]:
    """Every file the command reads: the log, ``--columns``, a ``--protocol`` file,
    ``--sites`` (options the command does not have are skipped)."""
    files = [getattr(args, "input", None), getattr(args, "sites", None)]
    for option in ("protocol", "columns"):
        value = getattr(args, option, None)
        if value is not None and Path(str(value)).exists():
            files.append(Path(str(value)))
    return [Path(p) for p in files if p is not None]


def load_and_evaluate(args: argparse.Namespace):
    """Load the input and evaluate the protocol; returns ``(data, evaluation)``."""
    from screenkit.evaluate import evaluate
    from screenkit.normalize import load_screening
    from screenkit.protocol import get_protocol

    check_columns_file(args.columns)
    protocol = get_protocol(args.protocol)
    params = parse_params(
        args.param, protocol, allow_outside_range=getattr(args, "allow_outside_range", False)
    )
    data = load_screening(
        args.input, sheet=args.sheet, columns=args.columns, encoding=args.encoding
    )
    evaluation = evaluate(data, protocol, **params)
    for note in outside_range(protocol, evaluation.parameters):
        print(f"warning: outside the protocol's declared range: {note}", file=sys.stderr)
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


def check_sites_file(path: Path | None) -> None:
    """Refuse an unusable ``--sites`` file before the slow steps, naming the file and the
    row (as a spreadsheet numbers it: the header is row 1): missing, a folder, not UTF-8,
    empty, no ``site_id`` / ``activation_date`` header, no site, or a row whose activation
    date cannot be read. :func:`screenkit.forecast.sites.read_sites` reads it afterwards."""
    import csv

    import pandas as pd

    from screenkit.errors import InputError

    if path is None:
        return
    if not path.exists():
        raise InputError("Sites file not found", file=path)
    if not path.is_file():
        raise InputError("Sites file is a folder, not a file", file=path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError("Sites file is not UTF-8 text", file=path, byte_offset=err.start) from None
    rows = [r for r in csv.reader(text.splitlines()) if any(c.strip() for c in r)]
    expected = "a header site_id,activation_date[,closing_date] and one row per site"
    if not rows:
        raise InputError("Sites file is empty", file=path, expected=expected)
    header = [c.strip().lower().replace(" ", "_") for c in rows[0]]
    if "site_id" not in header and "site" not in header:
        raise InputError(
            "Sites file has no site_id column", file=path, row=1, value=rows[0], expected=expected
        )
    if len(rows) == 1:
        raise InputError("Sites file lists no site", file=path, expected=expected)
    if "activation_date" not in header:
        return  # read_sites accepts other spellings and names what it misses
    col = header.index("activation_date")
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if number == 1 or not any(c.strip() for c in row):
            continue
        cell = row[col].strip() if col < len(row) else ""
        try:
            ok = bool(cell) and not pd.isna(pd.Timestamp(cell))
        except (ValueError, TypeError):
            ok = False
        if not ok:
            raise InputError(
                "Sites file row has no readable activation date",
                file=path,
                row=number,
                column="activation_date",
                value=cell,
                expected="a date such as 2025-09-14",
            )


def check_columns_file(columns: str | None) -> None:
    """Refuse a ``--columns`` map that cannot be parsed (a folder, not UTF-8, broken JSON
    or YAML, YAML aliases), naming the file and the place, before the log is read; its
    content is then checked by :func:`screenkit.normalize.load_screening`."""
    import json

    from screenkit.errors import InputError
    from screenkit.yamlsafe import read_yaml

    if columns is None:
        return
    path = Path(columns)
    if path.is_dir():
        raise InputError("Column map is a folder, not a file", file=path)
    if not path.is_file():
        return  # load_screening names a missing map
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        read_yaml(path, what="Column map")
    elif suffix == ".json":
        try:
            json.loads(path.read_bytes().decode("utf-8-sig"))
        except UnicodeDecodeError as err:
            raise InputError(
                "Column map is not UTF-8 text", file=path, byte_offset=err.start
            ) from None
        except json.JSONDecodeError as err:
            raise InputError(
                "Column map is not valid JSON",
                file=path,
                line=err.lineno,
                detail=f"{err.msg} at column {err.colno}",
            ) from None
        except (ValueError, RecursionError) as err:
            raise InputError(
                "Column map holds a value that cannot be read", file=path, detail=str(err)
            ) from None
