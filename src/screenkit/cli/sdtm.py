"""``screenkit sdtm``: the screen-failure summary of a CDISC SDTM study.

    screenkit sdtm FOLDER [-o OUT.xlsx|OUT.html] [--json OUT.json] [--version TIVERS] [--force]

FOLDER holds the domains (dm, ds, ie, ti, suppds, suppdm as .xpt, .csv or Dataset-JSON
.json; DM is required). Prints screened / screen failed / randomized, every screen-failure
convention and where they disagree, by site, and the criteria not met (IE), or "no
criterion-level data (no IE domain)". ``--version`` says which protocol version (TI
TIVERS) applies to subjects with none recorded; it matters only when TI has several.
Without it such a study still gets every count that does not depend on the version, and
the criteria part says which versions TI has and that the criteria are not mapped until
``--version`` says which applies (exit 0; never a guess).
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "run"]

SUFFIXES = (".xlsx", ".html")


def register(subparsers) -> None:
    """Add the ``sdtm`` command to the ``screenkit`` parser."""
    parser = subparsers.add_parser(
        "sdtm",
        help="screen-failure summary of a CDISC SDTM study (DM, DS, IE, TI)",
        description="Read the SDTM domains in FOLDER (.xpt, .csv or Dataset-JSON) and print "
        "the screen-failure summary: screened, screen failed by every convention (ARMCD, "
        "ARM, ARMNRS, DS DSDECOD) and where they disagree, randomized, by site, criteria "
        "not met (IE).",
    )
    parser.add_argument("folder", metavar="FOLDER", type=Path, help="folder of SDTM files")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="OUT", help="summary workbook (.xlsx) or page (.html)"
    )
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="the counts as JSON")
    parser.add_argument(
        "--version",
        dest="tivers",
        metavar="TIVERS",
        help="protocol version (TI TIVERS) for subjects with none recorded, e.g. "
        '--version "AMENDMENT 1"; without it the criteria of a study whose TI has several '
        "versions are not mapped (the other counts are printed)",
    )
    parser.add_argument("--force", action="store_true", help="replace existing outputs")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from screenkit.errors import InputError
    from screenkit.outputs import fix_html, fix_xlsx, json_text, plan_outputs, write_all
    from screenkit.sdtm import load_sdtm, summarize_sdtm
    from screenkit.sdtm.read import domain_files

    if args.output is not None and args.output.suffix.lower() not in SUFFIXES:
        raise InputError(
            "-o must name an .xlsx or .html file", file=args.output, expected=", ".join(SUFFIXES)
        )
    # the outputs are checked against every domain file before anything is read
    domains, _ignored = domain_files(args.folder)
    planned = plan_outputs(
        {"-o": args.output, "--json": args.json}, domains.values(), force=args.force
    )
    study = load_sdtm(args.folder)
    summary = summarize_sdtm(study, version=args.tivers)
    print(summary.text())
    writers = []
    if "-o" in planned:
        out = planned["-o"]
        if out.suffix.lower() == ".xlsx":
            from screenkit.export.sdtm import write_sdtm_workbook

            def write_xlsx(tmp: Path) -> None:
                write_sdtm_workbook(summary).save(tmp)
                fix_xlsx(tmp)

            writers.append((out, write_xlsx))
        else:
            from screenkit.export.sdtm import render_sdtm_html

            def write_html(tmp: Path) -> None:
                tmp.write_text(render_sdtm_html(summary), encoding="utf-8")
                fix_html(tmp)

            writers.append((out, write_html))
    if "--json" in planned:
        text = json_text(summary.to_dict())
        writers.append((planned["--json"], lambda tmp: tmp.write_text(text, encoding="utf-8")))
    for path in write_all(writers):
        print(f"wrote {path}")
    return 0
