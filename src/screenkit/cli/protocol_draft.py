"""``screenkit protocol draft RECORD.txt``: a protocol drafted from a registry record.

    screenkit protocol draft record.txt                      # the review table
    screenkit protocol draft record.txt -o draft.yaml        # ... and the protocol file
    screenkit protocol draft record.txt --json draft.json --xlsx review.xlsx

Registered under ``screenkit protocol`` by :mod:`screenkit.cli.protocols`. Exit status 0,
or 2 for an unreadable record or an output that cannot be written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from screenkit.errors import InputError


def register_draft(commands) -> None:
    """Add ``draft`` to the ``screenkit protocol`` subcommands."""
    draft = commands.add_parser(
        "draft",
        help="draft a protocol file from a registry record's eligibility text",
        description="Read a registry record (eligibility text as copied from the registry "
        "page) and draft a protocol: every numeric threshold a criterion with a named "
        "parameter over a canonical column, every other sentence a yes/no criterion, each "
        "quoting its source text, with what needs review. Prints the review table.",
    )
    draft.add_argument("record", metavar="RECORD.txt", help="the registry record, as text")
    draft.add_argument("-o", "--output", metavar="DRAFT.yaml", help="write the protocol file")
    draft.add_argument("--json", metavar="DRAFT.json", help="write the criteria as JSON")
    draft.add_argument("--xlsx", metavar="REVIEW.xlsx", help="write the review table")
    draft.add_argument("--force", action="store_true", help="replace existing output files")
    draft.set_defaults(func=run_draft)


def _read(path: str) -> str:
    source = Path(path)
    if not source.is_file():
        raise InputError("Record file not found", file=source, expected="a text file (.txt, .md)")
    try:
        return source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            "Record file is not UTF-8 text",
            file=source,
            detail=str(err),
            expected="the eligibility text saved as UTF-8 (.txt)",
        ) from None


def run_draft(args: argparse.Namespace) -> int:
    from screenkit.draft import draft_protocol
    from screenkit.draft.review import format_review, write_review_workbook
    from screenkit.files import atomic_write, check_target

    text = _read(args.record)
    draft = draft_protocol(text)
    inputs = [Path(args.record)]
    targets = {
        "-o": args.output,
        "--json": args.json,
        "--xlsx": args.xlsx,
    }
    paths = {
        opt: check_target(p, overwrite=args.force, inputs=inputs, option=opt)
        for opt, p in targets.items()
        if p
    }
    print(format_review(draft))
    if "-o" in paths:
        body = draft.to_yaml()
        atomic_write(paths["-o"], lambda tmp: tmp.write_text(body, encoding="utf-8"))
        print(f"\nprotocol draft written to {paths['-o']}; check it with:")
        print(f"  screenkit protocol check {paths['-o']}")
    if "--json" in paths:
        body = json.dumps(draft.to_json(), indent=2, ensure_ascii=False)
        atomic_write(paths["--json"], lambda tmp: tmp.write_text(body, encoding="utf-8"))
        print(f"criteria written to {paths['--json']}")
    if "--xlsx" in paths:
        write_review_workbook(draft, paths["--xlsx"])
        print(f"review table written to {paths['--xlsx']}")
    return 0
