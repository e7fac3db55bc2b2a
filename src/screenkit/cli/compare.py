"""``screenkit compare``: the same screened patients under two protocols.

    screenkit compare data/sample/screening_log.xlsx --protocol NCT07103668 --protocol CT041-ST-01
    screenkit compare log.xlsx --protocol NCT07103668 --protocol NCT07103668-A1 --json cmp.json
    screenkit compare log.xlsx --protocol NCT07103668 --protocol CT041-ST-01 --include-b I4,I5 \\
        -o comparison.xlsx --suppress-below 5

``--protocol`` is given exactly twice: A first (the reference, the protocol the log was
screened under: the forecast is fitted on it), then B. Each protocol's criteria are
evaluated on the lab-level columns (computed): recorded screen-failure reasons are a
record of one protocol's screening and cannot be read under another.

Parameters and criteria switched on: ``--param NAME=VALUE`` applies to each of the two
protocols that declares NAME (an error if neither does); ``--param-a`` / ``--param-b``
to one of them only. Likewise ``--include IDS`` switches on each ID in each protocol that
has it, ``--include-a`` / ``--include-b`` in one.

Prints the cells, the 3 x 3 table, the paired difference (Newcombe) on both denominators,
the criteria explaining the discordant cells and the forecast. ``--json`` writes the keys
``both``, ``only_a``, ``only_b``, ``neither``, ``pending``, ``explained_by``, ``by_site``
(and ``protocol_a``, ``protocol_b``, ``screened``, ``pending_detail``, ``crosstab``,
``difference``, ``difference_all_screened``, ``forecast``, ``input``); ``-o OUT.xlsx`` a
workbook with the **Comparison** sheet (aggregate only). ``--suppress-below K`` applies
to the workbook (the JSON holds exact counts, as with ``screenkit report``). Outputs go
through :mod:`screenkit.outputs`: never over an input, ``--force`` to replace, all or none.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from screenkit.cli._common import (
    add_input_arguments,
    criterion_ids,
    outside_range,
    parse_params,
)
from screenkit.errors import ScreenkitError

__all__ = ["register", "run"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="the same screened patients under two protocols (A vs B)",
        description="Evaluate a screening log under two protocols and cross-classify every "
        "patient: eligible under both, only A, only B, neither, pending; the criteria that "
        "explain the differences, per site, the paired difference with a 95% CI "
        "(Newcombe) and the forecast change.",
        conflict_handler="resolve",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--protocol",
        action="append",
        default=[],
        required=True,
        metavar="ID|FILE",
        help="give twice: protocol A (reference, as run), then protocol B; shipped "
        "registry ids or protocol .yaml files",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change a threshold in each protocol that declares NAME (repeatable)",
    )
    for side in ("a", "b"):
        parser.add_argument(
            f"--param-{side}",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"change a threshold of protocol {side.upper()} only (repeatable)",
        )
    parser.add_argument(
        "--include",
        metavar="IDS",
        help="switch on criteria left off by default, in each protocol that has them",
    )
    for side in ("a", "b"):
        parser.add_argument(
            f"--include-{side}",
            metavar="IDS",
            help=f"switch on criteria left off by default in protocol {side.upper()} only",
        )
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="comparison as JSON")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="OUT.xlsx", help="workbook with a Comparison sheet"
    )
    parser.add_argument(
        "--suppress-below",
        type=int,
        metavar="K",
        help="in the workbook, show counts under K as <K, with complementary suppression",
    )
    parser.add_argument(
        "--no-forecast", action="store_true", help="leave the forecast out (faster)"
    )
    parser.add_argument("--force", action="store_true", help="replace existing output files")
    parser.set_defaults(func=run)


def _split_params(args, protocols) -> list[dict[str, float]]:
    """The threshold overrides of A and of B (``--param`` to each declaring it)."""
    allow = args.allow_outside_range
    shared = parse_params(args.param, None)
    for name in shared:
        if not any(name in p.parameters for p in protocols):
            declared = sorted({n for p in protocols for n in p.parameters})
            raise ScreenkitError(
                f"--param {name}: neither {protocols[0].id} nor {protocols[1].id} has this "
                "parameter",
                value=name,
                expected=", ".join(declared),
            )
    out = []
    for p, own in zip(protocols, (args.param_a, args.param_b), strict=True):
        mine = [item for item in args.param if item.partition("=")[0].strip() in p.parameters]
        out.append(parse_params(mine + own, p, allow_outside_range=allow))
    return out


def _split_include(args, protocols) -> list[list[str]]:
    shared = [x.strip() for x in (args.include or "").split(",") if x.strip()]
    known = [{c.id for c in p.all_criteria} for p in protocols]
    for cid in shared:
        if not any(cid in k for k in known):
            raise ScreenkitError(
                f"--include: neither {protocols[0].id} nor {protocols[1].id} has a criterion "
                f"{cid!r}",
                value=args.include,
                expected="criteria off by default: "
                + ", ".join(f"{p.id} {', '.join(p.off_by_default) or '(none)'}" for p in protocols),
            )
    out = []
    for p, k, own, option in zip(
        protocols,
        known,
        (args.include_a, args.include_b),
        ("--include-a", "--include-b"),
        strict=True,
    ):
        mine = [cid for cid in shared if cid in k]
        out.append(list(dict.fromkeys(mine + criterion_ids(own, p, option, every=True))))
    return out


def run(args: argparse.Namespace) -> int:
    from screenkit.compare import compare
    from screenkit.errors import InputError
    from screenkit.export.privacy import check_k
    from screenkit.normalize import load_screening
    from screenkit.outputs import fix_xlsx, json_text, plan_outputs, write_all
    from screenkit.protocol import get_protocol

    if len(args.protocol) != 2:
        raise ScreenkitError(
            "screenkit compare needs exactly two protocols",
            value=" ".join(args.protocol) or None,
            expected="--protocol A --protocol B (e.g. --protocol NCT07103668 "
            "--protocol CT041-ST-01)",
        )
    check_k(args.suppress_below)
    if args.output is not None and args.output.suffix.lower() != ".xlsx":
        raise InputError("Unknown workbook format", file=args.output, expected=".xlsx")
    inputs = [args.input, *(Path(p) for p in args.protocol if Path(p).is_file())]
    if args.columns is not None and Path(args.columns).exists():
        inputs.append(Path(args.columns))
    planned = plan_outputs({"--json": args.json, "-o": args.output}, inputs, force=args.force)
    protocols = [get_protocol(p) for p in args.protocol]
    params = _split_params(args, protocols)
    include = _split_include(args, protocols)
    data = load_screening(
        args.input, sheet=args.sheet, columns=args.columns, encoding=args.encoding
    )
    result = compare(
        data,
        protocols[0],
        protocols[1],
        include_a=include[0],
        include_b=include[1],
        params_a=params[0],
        params_b=params[1],
        forecast=not args.no_forecast,
    )
    print(result.summary())
    for side, changed, ev in zip(
        "AB", params, (result.evaluation_a, result.evaluation_b), strict=True
    ):
        if changed:
            listed = ", ".join(f"{k} = {v:g}" for k, v in changed.items())
            print(f"thresholds changed in {side}: {listed}")
        for note in outside_range(ev.protocol, ev.parameters):
            print(f"warning: {side} outside the protocol's declared range: {note}")
    problems = data.report.problems
    if len(problems):
        print(
            f"note: {len(problems)} cell(s) could not be read and count as missing",
            file=sys.stderr,
        )
    writers = []
    if args.json is not None:
        payload = result.to_dict()
        payload["input"] = str(args.input)
        text = json_text(payload)
        writers.append((planned["--json"], lambda tmp: tmp.write_text(text, encoding="utf-8")))
    if args.output is not None:
        from screenkit.export.comparison import export_comparison

        def write_book(tmp: Path) -> None:
            export_comparison(result, tmp, suppress_below=args.suppress_below, overwrite=True)
            fix_xlsx(tmp)

        writers.append((planned["-o"], write_book))
    for out in write_all(writers):
        print(f"wrote {out}")
        if args.json is not None and out == planned["--json"] and args.suppress_below:
            print(f"note: {out} holds exact counts (suppression applies to -o)", file=sys.stderr)
    return 0
