"""``screenkit report``: the screen-failure funnel in the terminal, and as files.

    screenkit report data/sample/screening_log.xlsx
    screenkit report data/sample/screening_log.xlsx -o summary.xlsx --json funnel.json
    screenkit report data/sample/screening_log.xlsx --param lesion_max_cm=7 --exclude E26

The JSON holds ``protocol``, ``screened``, ``eligible``, ``screen_failed``, ``pending``,
``criteria`` (protocol order: ``id``, ``fails``, ``unknown``, ``fails_only``,
``attribution``, ...) and ``funnel`` (funnel order: ``id``, ``remaining``, ...).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from screenkit.cli._common import add_input_arguments, check_output, load_and_evaluate


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="screen-failure funnel: terminal table, workbook / HTML, JSON",
        description="Print the screen-failure funnel of a screening log and optionally "
        "write it as an Excel workbook (.xlsx), an HTML report (.html) and JSON.",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "-o", "--output", type=Path, metavar="OUT.xlsx|OUT.html", help="workbook or HTML report"
    )
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="funnel as JSON")
    parser.add_argument(
        "--order", metavar="IDS", help="funnel order, comma-separated criterion IDs first"
    )
    parser.add_argument(
        "--exclude", metavar="IDS", help="criteria to switch off, comma-separated IDs"
    )
    parser.add_argument("--force", action="store_true", help="replace existing output files")
    parser.set_defaults(func=run)


def _ids(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def format_funnel(f) -> str:
    """The funnel as a terminal table (sequential attrition + per-criterion figures)."""
    crit = f.criteria.set_index("criterion")
    steps = f.steps.set_index("criterion")
    table = pd.DataFrame(
        {
            "step": steps["step"],
            "label": [label[:48] for label in steps["label"]],
            "fails": crit.loc[steps.index, "fails"],
            "unknown": crit.loc[steps.index, "unknown"],
            "only": crit.loc[steps.index, "fails_only"],
            "share": crit.loc[steps.index, "attribution"].round(1),
            "excluded": steps["excluded"],
            "remaining": steps["remaining"],
        }
    )
    lines = [
        f"{f.patterns.protocol_id}: {f.headline_text()}",
        "",
        "fails = fail this criterion; only = fail only this (gained if dropped); "
        "share = equal-share attribution of screen failures;",
        "excluded / remaining = sequential funnel in this order",
        "",
        table.to_string(),
    ]
    if f.excluded:
        lines += ["", f"switched off: {', '.join(f.excluded)}"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from screenkit.funnel import funnel

    data, evaluation = load_and_evaluate(args)
    result = funnel(evaluation, order=_ids(args.order), exclude=_ids(args.exclude))
    print(format_funnel(result))
    inputs = [args.input]
    if args.json is not None:
        out = check_output(args.json, inputs, force=args.force)
        payload = result.to_dict()
        payload["parameters"] = dict(evaluation.parameters)
        payload["input"] = str(args.input)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(out)
        print(f"\nwrote {out}")
    if args.output is not None:
        out = check_output(args.output, inputs, force=args.force)
        _write(out, result, evaluation, data, args)
        print(f"wrote {out}")
    return 0


def _write(out: Path, result, evaluation, data, args) -> None:
    from screenkit.errors import InputError

    suffix = out.suffix.lower()
    if suffix == ".xlsx":
        from screenkit.export import export_excel

        export_excel(result, out, evaluation=evaluation, data=data, overwrite=True)
    elif suffix in (".html", ".htm"):
        from screenkit.export import export_html

        export_html(result, out, evaluation=evaluation, data=data, overwrite=True)
    else:
        raise InputError(
            "Unknown report format", file=out, expected=".xlsx (workbook) or .html (report)"
        )
