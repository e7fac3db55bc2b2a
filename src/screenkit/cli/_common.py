"""Arguments and steps shared by the commands that read a screening log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from screenkit.errors import ScreenkitError


def add_input_arguments(parser: argparse.ArgumentParser, *, include: bool = True) -> None:
    """INPUT, --sheet, --protocol, --columns, --encoding, --param, and (unless
    ``include=False``) --include."""
    parser.add_argument(
        "input", metavar="INPUT", type=Path, help="screening log (.xlsx, .csv or .parquet)"
    )
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
    if include:
        parser.add_argument(
            "--include",
            metavar="IDS",
            help="switch on criteria the protocol leaves off by default, comma-separated IDs "
            "(e.g. CT041-ST-01's assumed --include I4,I5)",
        )
    parser.add_argument(
        "--allow-outside-range",
        action="store_true",
        help="accept --param values outside the parameter's declared min..max (every output "
        "then says so)",
    )


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """--reasons COLUMN / --computed: which source gives the statuses (default: detected)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--reasons",
        metavar="COLUMN",
        help="read the statuses from the recorded screen-failure reasons in this column "
        "(criterion IDs such as 'I5b; E7', or a criterion label); default: used when the "
        "log has a reasons column and none of the lab-level columns the protocol reads",
    )
    group.add_argument(
        "--computed",
        action="store_true",
        help="evaluate the protocol's rules on the lab-level columns even when the log "
        "has a reasons column",
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
            if not spec.allows(number) and not allow_outside_range:
                raise ScreenkitError(
                    f"--param {name}={number:g} is outside the parameter's declared range",
                    value=item,
                    expected=spec.declared_range,
                    hint="pass --allow-outside-range to use it anyway (every output then says so)",
                )
        params[name] = number
    return params


def cli_protocol(args: argparse.Namespace):
    """The ``--protocol`` with the ``--include`` criteria switched on (the others marked
    ``default: off`` left out), checked before any loading."""
    from screenkit.protocol import get_protocol

    protocol = get_protocol(args.protocol)
    include = criterion_ids(getattr(args, "include", None), protocol, "--include", every=True)
    return protocol.switched(include)


def criteria_off_note(protocol) -> str | None:
    """``"left out (off by default; --include I4,I5 to switch them on): I4 ECOG 0-1
    (assumed); ..."``, or ``None`` when every criterion is evaluated."""
    off = protocol.criteria_off
    if not off:
        return None
    ids = ",".join(c.id for c in off)
    listed = "; ".join(f"{c.id} {c.label}" for c in off)
    return f"criteria left out (off by default; --include {ids} to switch on): {listed}"


def criteria_off_records(protocol) -> list[dict[str, str]]:
    """The criteria left out, for JSON: ``[{"id", "label", "source"}, ...]``."""
    return [{"id": c.id, "label": c.label, "source": c.source} for c in protocol.criteria_off]


def criterion_ids(text: str | None, protocol, option: str, *, every: bool = False) -> list[str]:
    """``"E7, I5b"`` -> ``["E7", "I5b"]``, each one an ID of ``protocol`` (a close
    spelling is suggested), for ``--order``, ``--exclude`` and ``--include``; checked
    before any loading. ``every``: criteria left out by default count as IDs too.
    """
    import difflib

    ids = list(dict.fromkeys(part.strip() for part in (text or "").split(",") if part.strip()))
    known = [c.id for c in protocol.all_criteria] if every else list(protocol.ids)
    for cid in ids:
        if cid not in known:
            close = difflib.get_close_matches(cid, known, n=1, cutoff=0.6)
            raise ScreenkitError(
                f"{option}: protocol {protocol.id} has no criterion {cid!r}"
                + (f"; did you mean {close[0]!r}?" if close else ""),
                value=text,
                expected="comma-separated criterion IDs: " + ", ".join(known),
            )
    return ids


def outside_range(protocol, parameters) -> list[str]:
    """``["lesion_max_cm = 40 (declared range 1 to 10)"]`` for values outside the
    protocol's declared range (only possible with ``--allow-outside-range``)."""
    notes = []
    for name, value in parameters.items():
        spec = protocol.parameters.get(name)
        if spec is not None and not spec.allows(value):
            notes.append(f"{name} = {value:g} (declared range {spec.declared_range})")
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


def load_and_evaluate(args: argparse.Namespace, *, detect: bool = True):
    """Load the input and evaluate the protocol; returns ``(data, evaluation)``.

    The source of the statuses: ``--reasons COLUMN`` (recorded), ``--computed``, else
    :func:`screenkit.recorded.choose_source` (recorded when the log has a reasons column
    and none of the columns the protocol's rules read). The choice goes to stderr.
    ``detect=False``: always computed unless ``--reasons`` is given (``screenkit explore``
    now detects too, as ``report`` does).
    """
    from screenkit.evaluate import evaluate
    from screenkit.recorded import REASONS_COLUMN, choose_source, evaluate_recorded

    protocol = cli_protocol(args)
    params = parse_params(
        args.param, protocol, allow_outside_range=getattr(args, "allow_outside_range", False)
    )
    reasons = getattr(args, "reasons", None)
    data = _load_with_reasons(args, reasons)
    if reasons is not None:
        source, why = "recorded", f"--reasons {reasons}"
    elif getattr(args, "computed", False):
        source, why = "computed", "--computed"
    elif not detect:
        source, why = "computed", f"screenkit {getattr(args, 'command', '')} evaluates the rules"
    else:
        source = choose_source(data, protocol)
        why = (
            "the log has a reasons column and none of the lab-level columns the protocol "
            "reads; --computed to evaluate anyway"
            if source == "recorded"
            else "the log has lab-level columns"
        )
    if source == "recorded":
        if params:
            raise ScreenkitError(
                "--param changes a threshold, but the statuses come from recorded reasons, "
                "which no threshold changes",
                value=" ".join(args.param),
                hint="add --computed to evaluate the lab-level columns with other thresholds",
            )
        evaluation = evaluate_recorded(data, protocol)
    else:
        evaluation = evaluate(data, protocol, **params)
    if source == "recorded" or REASONS_COLUMN in data.data.columns:
        print(f"source: {source} ({why})", file=sys.stderr)
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


def _load_with_reasons(args: argparse.Namespace, reasons: str | None):
    """Load the log; with ``--reasons COLUMN`` make that header the reasons column
    (another header the loader took for reasons is then left unmapped)."""
    from screenkit.errors import InputError
    from screenkit.header_map import header_key, read_user_map
    from screenkit.normalize import load_screening
    from screenkit.recorded import REASONS_COLUMN

    def load(columns):
        return load_screening(args.input, sheet=args.sheet, columns=columns, encoding=args.encoding)

    data = load(args.columns)
    if reasons is None:
        return data
    headers = data.report.headers
    named = headers[headers["header"].map(header_key) == header_key(reasons)]
    if len(named) and all(_is_reasons(c) for c in named["canonical"]):
        return data
    if not len(named):
        if header_key(reasons) == header_key(REASONS_COLUMN) and REASONS_COLUMN in data.data:
            return data
        raise InputError(
            "--reasons names a column the log does not have",
            file=args.input,
            sheet=data.sheet,
            column=reasons,
            expected="one of the headers: " + ", ".join(map(str, headers["header"])),
        )
    user = read_user_map(args.columns)
    user = {k: v for k, v in user.items() if v != REASONS_COLUMN}
    for other, canonical in zip(headers["header"], headers["canonical"], strict=True):
        if _is_reasons(canonical):
            user[str(other)] = None
    user[str(named["header"].iloc[0])] = REASONS_COLUMN
    return load(user)


def _is_reasons(canonical) -> bool:
    """A header map's canonical name is the reasons column (it may be ``<NA>``)."""
    from screenkit.recorded import REASONS_COLUMN

    return isinstance(canonical, str) and canonical == REASONS_COLUMN
