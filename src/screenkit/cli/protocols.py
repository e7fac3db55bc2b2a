"""``screenkit protocols`` and ``screenkit protocol show|check``: protocols from the shell.

    screenkit protocols                          # the shipped protocols, one line each
    screenkit protocol show CT041-ST-01          # its criteria: ID, kind, label, source, on/off
    screenkit protocol check my_protocol.yaml    # every problem at once: file, line, criterion

``protocol`` is a group of subcommands (``show``, ``check``) so that more can join it.
``check`` exits 0 when the file loads, 2 when it lists problems.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd


def register(subparsers) -> None:
    listing = subparsers.add_parser(
        "protocols",
        help="list the shipped protocols",
        description="List the protocols shipped with screenkit: ID, registry ID, version, "
        "number of criteria, and the criteria that are assumed or off by default.",
    )
    listing.set_defaults(func=run_list)
    group = subparsers.add_parser(
        "protocol",
        help="show or check one protocol",
        description="Show a protocol's criteria, or check a protocol file.",
    )
    commands = group.add_subparsers(dest="protocol_command", metavar="SUBCOMMAND", required=True)
    show = commands.add_parser(
        "show", help="the criteria table of a protocol", description="Print the criteria table."
    )
    show.add_argument("protocol", metavar="ID|FILE", help="shipped registry id or a .yaml file")
    show.set_defaults(func=run_show)
    check = commands.add_parser(
        "check",
        help="list every problem of a protocol file",
        description="Check a protocol or amendment file and list every problem at once.",
    )
    check.add_argument("file", metavar="FILE", help="protocol or amendment .yaml file")
    check.set_defaults(func=run_check)
    from screenkit.cli.protocol_draft import register_draft  # issue 18

    register_draft(commands)


def protocols_table() -> pd.DataFrame:
    """One row per shipped protocol: protocol, registry, version, criteria, assumed,
    off_by_default (IDs, comma-separated), amends."""
    from screenkit.protocol import get_protocol, list_protocols

    rows = []
    for pid in list_protocols():
        p = get_protocol(pid)
        every = p.all_criteria
        rows.append(
            {
                "protocol": p.id,
                "registry": _registry_id(p),
                "version": p.version,
                "criteria": len(every),
                "assumed": ",".join(c.id for c in every if _assumed(c)) or "-",
                "off_by_default": ",".join(p.off_by_default) or "-",
                "amends": p.amends or "-",
            }
        )
    return pd.DataFrame(rows)


def criteria_table(protocol) -> pd.DataFrame:
    """One row per criterion: id, kind, label (with parameter values), source, default."""
    return pd.DataFrame(
        {
            "id": [c.id for c in protocol.all_criteria],
            "kind": [c.kind for c in protocol.all_criteria],
            "label": [c.label for c in protocol.all_criteria],
            "source": [c.source for c in protocol.all_criteria],
            "default": ["on" if c.on_by_default else "off" for c in protocol.all_criteria],
        }
    )


def _assumed(criterion) -> bool:
    return criterion.source.upper().startswith("ASSUMED")


def _registry_id(protocol) -> str:
    """``NCT04581473`` from ``https://clinicaltrials.gov/study/NCT04581473``."""
    import re

    found = re.search(r"NCT\d{8}", protocol.registry or "")
    return found.group(0) if found else (protocol.registry or "-")


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def run_list(args: argparse.Namespace) -> int:
    table = protocols_table()
    table["version"] = table["version"].map(lambda v: _short(v, 44))
    print(table.to_string(index=False))
    print(
        "\nassumed = source marked ASSUMED (not a published threshold); off_by_default = "
        "left out unless --include IDS"
    )
    return 0


def run_show(args: argparse.Namespace) -> int:
    from screenkit.protocol import get_protocol

    protocol = get_protocol(args.protocol)
    print(f"{protocol.id}: {protocol.title}")
    print(f"version: {protocol.version}")
    if protocol.amends:
        print(f"amends: {protocol.amends}")
    print(f"{len(protocol.all_criteria)} criteria; target: {protocol.target or 'none'}\n")
    table = criteria_table(protocol)
    table["label"] = table["label"].map(lambda v: _short(v, 60))
    table["source"] = table["source"].map(lambda v: _short(v, 60))
    with pd.option_context("display.max_rows", None, "display.width", 250):
        print(table.to_string(index=False))
    if protocol.off_by_default:
        ids = ",".join(protocol.off_by_default)
        print(f"\noff by default (left out unless --include {ids}): {ids}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from screenkit.protocol_check import check_protocol

    problems = check_protocol(args.file)
    if not len(problems):
        from screenkit.protocol import load_protocol

        p = load_protocol(args.file)
        print(f"{args.file}: OK ({p.id}, {len(p.all_criteria)} criteria)")
        return 0
    print(f"{args.file}: {len(problems)} problem(s)", file=sys.stderr)
    for row in problems.itertuples(index=False):
        line = f"line {row.line}" if not pd.isna(row.line) else "line ?"
        crit = f" criterion {row.criterion}" if row.criterion else ""
        place = f" ({row.place})" if row.place else ""
        print(f"{row.file}: {line}:{crit}{place}: {row.problem}", file=sys.stderr)
    return 2
