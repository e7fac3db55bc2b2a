"""``screenkit report``: the screen-failure funnel in the terminal, and as files.

    screenkit report data/sample/screening_log.xlsx
    screenkit report data/sample/screening_log.xlsx -o summary.xlsx --json funnel.json
    screenkit report data/sample/screening_log.xlsx --param lesion_max_cm=7 --exclude E26
    screenkit report data/sample/screening_log.xlsx -o report.html --suppress-below 5
    screenkit report data/sample/screening_log.xlsx -o summary.xlsx --patients
    screenkit report data/sample/screening_log.xlsx --ie ie.csv

Privacy by default: the workbook and HTML report hold aggregate counts only.
``--patients`` adds a patient listing with pseudonymised IDs (random per export, not
reversible); ``--identified`` uses the real IDs (and implies ``--patients``).
``--suppress-below K`` shows counts under K as ``<K`` and hides other counts where needed
so that no small count can be worked out from the rest of its table. ``--ie`` writes the
criteria not met per patient in the shape of the CDISC SDTM IE domain (real subject IDs,
as SDTM requires).

The JSON holds ``protocol``, ``screened``, ``eligible``, ``screen_failed``, ``pending``,
``criteria`` (protocol order: ``id``, ``fails``, ``unknown``, ``fails_only``,
``attribution``, ...) and ``funnel`` (funnel order: ``id``, ``remaining``, ...), and
``outside_range`` when ``--allow-outside-range`` let a ``--param`` leave its declared range.
``source`` is ``"recorded"`` or ``"computed"`` (with ``source_note`` in words); a recorded
report adds ``recorded`` (IDs not in the protocol, unmatched text, ``reason_not_recorded``)
and a log holding both sources ``concordance`` (one entry per criterion, ``Total`` last).

``--reasons COLUMN`` reads the statuses from the recorded reasons in COLUMN,
``--computed`` from the lab-level columns; by default recorded reasons are used when the
log has a reasons column and none of the columns the protocol reads.

With ``-o``, the workbook gains a **Recruitment** sheet and the HTML report a recruitment
section: randomized to date vs the protocol file's target, per site and month, and the
forecast (2000 simulations, seed 0: reruns are byte-identical; it uses the thresholds and
the ``--exclude`` criteria of the report), computed once for every ``-o``
(:mod:`screenkit.export.recruitment`). ``--no-forecast`` leaves the forecast out; a log
without screening dates or randomization gets the reason instead, never an error.

Outputs: ``-o`` may be given several times (``-o a.xlsx -o a.html`` writes both). Before
anything is read, every output is checked against every input (the log, ``--columns``,
a ``--protocol`` file; ``--force`` never replaces an input) and against the other outputs
(two options naming one file are refused), and its folder must exist and be writable.
All outputs are written to temporary files and renamed into place only when every one
succeeded, so a failing ``-o`` leaves no ``--json`` behind. Reruns give byte-identical
workbooks (fixed timestamps, see :mod:`screenkit.outputs`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from screenkit.cli._common import add_input_arguments, add_source_arguments, load_and_evaluate
from screenkit.cli.report_dask import add_engine_arguments, check_engine
from screenkit.cli.report_table import (
    DEFAULT_TOP,
    SORTS,
    format_funnel,
    terminal_text,
    terminal_width,
)

__all__ = ["changed_parameters", "format_data_notes", "format_funnel", "register", "run"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="screen-failure funnel: terminal table, workbook / HTML, JSON",
        description="Print the screen-failure funnel of a screening log and optionally "
        "write it as an Excel workbook (.xlsx), an HTML report (.html) and JSON.",
    )
    add_input_arguments(parser)
    add_source_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        action="append",
        default=[],
        metavar="OUT.xlsx|OUT.html",
        help="workbook or HTML report (one of each kind: -o a.xlsx -o a.html writes both)",
    )
    parser.add_argument(
        "--flow",
        type=Path,
        metavar="OUT.svg|OUT.png",
        help="the CONSORT flow diagram (assessed -> excluded with the top reasons -> pending "
        "-> eligible -> randomized) as SVG or PNG; --suppress-below applies",
    )
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="funnel as JSON")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--top",
        type=int,
        default=DEFAULT_TOP,
        metavar="N",
        help=f"terminal table: the first N criteria in the --sort order (default {DEFAULT_TOP})",
    )
    shown.add_argument(
        "--all", action="store_true", help="terminal table: every criterion (not only --top)"
    )
    parser.add_argument(
        "--sort",
        choices=list(SORTS),
        default="share",
        help="terminal table order: share (equal-share attribution, default), fails, only "
        "(fails only this), unknown, or funnel (the --order / protocol order)",
    )
    parser.add_argument(
        "--order", metavar="IDS", help="funnel order, comma-separated criterion IDs first"
    )
    parser.add_argument(
        "--exclude", metavar="IDS", help="criteria to switch off, comma-separated IDs"
    )
    parser.add_argument(
        "--patients",
        action="store_true",
        help="add a patient listing to the workbook / report (pseudonymised IDs)",
    )
    parser.add_argument(
        "--identified",
        action="store_true",
        help="use real patient IDs in the patient listing (implies --patients)",
    )
    parser.add_argument(
        "--suppress-below",
        type=int,
        metavar="K",
        help="show counts under K as <K, with complementary suppression (K >= 3)",
    )
    parser.add_argument(
        "--ie",
        type=Path,
        metavar="OUT.csv",
        help="criteria not met per patient, shaped like the CDISC SDTM IE domain",
    )
    parser.add_argument(
        "--no-forecast",
        action="store_true",
        help="leave the recruitment forecast out of the workbook / HTML report (randomized "
        "to date and per site / month are still shown)",
    )
    parser.add_argument("--force", action="store_true", help="replace existing output files")
    add_engine_arguments(parser)
    parser.set_defaults(func=run)


def changed_parameters(protocol, evaluation) -> list[str]:
    """``["lesion_max_cm = 7 (protocol: 5)"]`` for thresholds changed from the protocol
    (:meth:`Protocol.changed_parameters <screenkit.protocol.Protocol.changed_parameters>`
    of the evaluated protocol; ``protocol``, the ``--protocol`` given, is not re-read)."""
    declared = evaluation.protocol.parameters
    return [
        f"{name} = {value:g} (protocol: {before:g})"
        + (
            ""
            if declared[name].allows(value)
            else f" OUTSIDE the declared range {declared[name].declared_range}"
        )
        for name, (before, value) in evaluation.protocol.changed_parameters().items()
    ]


def format_data_notes(data, evaluation, max_lines: int = 12) -> str:
    """What the data lack or could not read, in one short block for the terminal.

    Each canonical column a criterion needs that the log lacks (with the patients left
    unknown by it), each class of impossible values, unreadable cells, unit inferences,
    the QTc assumption and which sheet was read.
    """
    lines = []
    missing = evaluation.missing_inputs()
    for row in missing.head(max_lines).itertuples():
        lines.append(
            f"  no column for {row.column} ({row.label}): {row.criteria} unknown for "
            f"{row.patients_unknown} patient(s)"
        )
    if len(missing) > max_lines:
        rest = int(missing["patients_unknown"].iloc[max_lines:].max())
        lines.append(f"  ... and {len(missing) - max_lines} more missing columns (up to {rest})")
    report = getattr(data, "report", None)
    if report is not None:
        cells = report.cells
        for kind, what in (
            ("implausible", "impossible value(s) read as missing"),
            ("unparsed", "unreadable cell(s) read as missing"),
        ):
            # only the column names of the chosen cells, not every field of them
            chosen = cells["column"][(cells["kind"] == kind).to_numpy(dtype=bool)]
            if len(chosen):
                per = chosen.groupby(chosen, sort=False).size()
                listed = ", ".join(f"{c} {n}" for c, n in per.items())
                lines.append(f"  {len(chosen)} {what}: {listed}")
        for note in report.notes:
            if note.startswith(("unit inferred", "unit unknown", "QTc", "read sheet")):
                if note.startswith("read sheet") and len(report.sheets) < 2:
                    continue
                lines.append(f"  {note}")
    if not lines:
        return ""
    head = "Data notes (the load report / the workbook's Data issues sheet has every cell):"
    return "\n".join([head, *lines])


def run(args: argparse.Namespace) -> int:
    from screenkit.export.privacy import check_k
    from screenkit.funnel import funnel

    # fail fast on bad options, before the (slow) loading
    if check_k(args.suppress_below) is not None and (args.patients or args.identified):
        from screenkit.errors import ScreenkitError

        raise ScreenkitError(
            "--suppress-below cannot be combined with a patient listing: every hidden count "
            "could be recounted from the listing",
            hint="drop --patients / --identified, or drop --suppress-below",
        )
    check_engine(args)
    if args.engine == "dask":
        from screenkit.cli.report_dask import run_dask

        return run_dask(args)
    from screenkit.cli._common import (
        check_int,
        cli_protocol,
        criteria_off_records,
        criterion_ids,
        input_files,
        outside_range,
    )
    from screenkit.concordance import concordance_records, format_concordance
    from screenkit.outputs import fix_html, fix_xlsx, json_text, plan_outputs, write_all
    from screenkit.recorded import source_sentence

    outputs = {"--json": args.json, "--ie": args.ie, "--flow": args.flow}
    several = len(args.output) > 1
    outputs.update({(f"-o #{i}" if several else "-o"): p for i, p in enumerate(args.output, 1)})
    _check_kinds(args.output)
    if args.flow is not None:
        from screenkit.plots.flow_image import flow_format

        flow_format(args.flow)
    check_int(None if args.all else args.top, "--top", low=1)
    planned = plan_outputs(outputs, input_files(args), force=args.force)
    protocol = cli_protocol(args)
    order = criterion_ids(args.order, protocol, "--order")
    exclude = criterion_ids(args.exclude, protocol, "--exclude")
    data, evaluation = load_and_evaluate(args)
    result = funnel(evaluation, order=order, exclude=exclude)
    k = check_k(args.suppress_below)
    width = terminal_width()

    def say(text: str) -> None:  # wrapped to the terminal; small counts masked under -k
        print(terminal_text(text, width, k))

    say(f"Source: {source_sentence(evaluation)}\n")
    changed = changed_parameters(args.protocol, evaluation)
    print(
        format_funnel(
            result,
            changed=changed,
            source=evaluation.status_source,
            protocol=evaluation.protocol,
            top=None if args.all else args.top,
            sort=args.sort,
            suppress_below=args.suppress_below,
        )
    )
    if evaluation.recorded is not None:
        say("\nRecorded reasons:\n" + "\n".join(f"  {x}" for x in evaluation.recorded.notes()))
    agreement = _concordance(data, evaluation)
    if agreement is not None and k is None:
        say("\n" + format_concordance(agreement))
    elif agreement is not None:
        say(
            "\nConcordance of recorded and computed fails: not shown under --suppress-below "
            "(the workbook and HTML report leave it out too; --json has it)."
        )
    block = format_data_notes(data, evaluation)
    if block:
        say("\n" + block)
    outside = outside_range(evaluation.protocol, evaluation.parameters)
    writers = []
    recruitment = None
    if args.output:  # one forecast for every -o (the same figures in the workbook and HTML)
        from screenkit.export.recruitment import build_recruitment

        recruitment = build_recruitment(
            evaluation,
            exclude=result.excluded,
            suppress_below=args.suppress_below,
            forecast=not args.no_forecast,
        )
        say("\nRecruitment: " + recruitment.headline)
    if args.json is not None:
        payload = result.to_dict()
        payload["source"] = evaluation.status_source
        payload["source_note"] = source_sentence(evaluation)
        if evaluation.recorded is not None:
            payload["recorded"] = evaluation.recorded.to_dict()
        if agreement is not None:
            payload["concordance"] = concordance_records(agreement)
        payload["parameters"] = dict(evaluation.parameters)
        payload["criteria_off"] = criteria_off_records(evaluation.protocol)
        payload["input"] = str(args.input)
        if outside:
            payload["outside_range"] = outside
        text = json_text(payload)
        writers.append((planned["--json"], lambda tmp: tmp.write_text(text, encoding="utf-8")))
    # the report's tables and CONSORT flow built once for every -o and --flow; a
    # pseudonymised listing is drawn afresh per file (random per export)
    shared = None
    if args.output and not (args.patients and not args.identified):
        shared = _content(result, evaluation, data, args, agreement, recruitment)
    for out in args.output:
        fmt = _format(out)

        def write_report(tmp, fmt=fmt):
            content = shared or _content(result, evaluation, data, args, agreement, recruitment)
            _write_content(tmp, content, fmt)
            (fix_xlsx if fmt == "xlsx" else fix_html)(tmp)

        writers.append((out, write_report))
    if args.flow is not None:
        from screenkit.plots.flow import consort_flow

        flow = (
            shared.flow
            if shared is not None and shared.flow is not None
            else consort_flow(evaluation, result, suppress_below=args.suppress_below)
        )
        if args.flow.suffix.lower() == ".svg":
            svg = flow.to_svg()
            writers.append((args.flow, lambda tmp: tmp.write_text(svg, encoding="utf-8")))
        else:
            png = flow.to_png()
            writers.append((args.flow, lambda tmp: tmp.write_bytes(png)))
    if args.ie is not None:
        from screenkit.export import export_ie

        writers.append((args.ie, lambda tmp: export_ie(evaluation, tmp, overwrite=True)))
    # every output to a temporary file first; renamed into place only when all succeeded
    for out in write_all(writers):
        print(f"wrote {out}" + (" (SDTM IE shape, real subject IDs)" if out == args.ie else ""))
        if out == args.json and args.suppress_below is not None:
            print(f"note: {out} holds exact counts (suppression applies to -o)", file=sys.stderr)
        if out in args.output and args.identified:
            print(f"note: {out} contains real patient IDs", file=sys.stderr)
    return 0


def _check_kinds(outputs: list[Path]) -> None:
    """One ``-o`` of each kind: two workbooks (or two HTML reports) are refused, naming
    both, before anything is read."""
    from screenkit.errors import InputError

    seen: dict[str, Path] = {}
    for out in outputs:
        kind = _format(out)
        if kind in seen:
            what = "workbook (.xlsx)" if kind == "xlsx" else "HTML report (.html)"
            raise InputError(
                f"-o names two files of one kind: {seen[kind]} and {out}; one {what} per run",
                file=out,
                expected="at most one -o OUT.xlsx and one -o OUT.html",
                hint="run the command twice, or copy the file afterwards",
            )
        seen[kind] = out


def _format(out: Path) -> str:
    from screenkit.errors import InputError

    suffix = out.suffix.lower()
    if suffix == ".xlsx":
        return "xlsx"
    if suffix in (".html", ".htm"):
        return "html"
    raise InputError(
        "Unknown report format", file=out, expected=".xlsx (workbook) or .html (report)"
    )


def _concordance(data, evaluation):
    """The concordance table when the log holds both sources (reasons and lab-level
    columns), else None; computed with the same thresholds as the report."""
    from screenkit.concordance import concordance
    from screenkit.recorded import has_both_sources, protocol_of

    protocol = protocol_of(evaluation)
    if not has_both_sources(data, protocol):
        return None
    if evaluation.status_source == "recorded":
        return concordance(data, protocol, recorded=evaluation)
    return concordance(data, protocol, computed=evaluation)


def _content(result, evaluation, data, args, concordance, recruitment):
    """The report's content (tables, CONSORT flow), as the workbook and HTML show it."""
    from screenkit.export.content import build_content

    return build_content(
        result,
        evaluation=evaluation,
        data=data,
        patients=args.patients or args.identified,
        identified=args.identified,
        suppress_below=args.suppress_below,
        concordance=concordance,
        recruitment=recruitment if recruitment is not None else False,
    )


def _write_content(tmp: Path, content, fmt: str) -> None:
    """Write ``content`` as a workbook or an HTML page to ``tmp`` (a temporary file that
    :func:`screenkit.outputs.write_all` renames into place)."""
    if fmt == "xlsx":
        from screenkit.export.excel import write_workbook

        write_workbook(content).save(tmp)
    else:
        from screenkit.export.html import render_html

        tmp.write_text(render_html(content), encoding="utf-8")
