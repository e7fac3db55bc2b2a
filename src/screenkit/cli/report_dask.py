"""``screenkit report --engine dask [--scheduler ADDRESS]``: the funnel of data split into
files, evaluated on a Dask cluster (:mod:`screenkit.engine_dask`).

    screenkit report logs/ --engine dask --json funnel.json
    screenkit report logs/ --engine dask --scheduler tcp://10.0.0.5:8786

INPUT is a folder of screening-log files (a partitioned Parquet dataset such as
``dask.dataframe.to_parquet`` writes, or CSV / xlsx files of one layout), each file one
partition, or a single file. Each worker loads, normalises and evaluates its files and
returns pattern counts; the terminal table and ``--json`` are those of ``--engine pandas``
on the same rows (with ``"engine": "dask"`` and ``"partitions"`` added). Without
``--scheduler`` the partitions run on a local cluster (one worker process per core);
with it, on that cluster, whose workers must have screenkit installed and see INPUT under
the same path.

Outputs that list patients or need every row (``-o``, ``--ie``, ``--patients``,
``--reasons``) are refused: use ``--engine pandas`` for them.
"""

from __future__ import annotations

import argparse
import os
import sys

from screenkit.errors import ScreenkitError

#: Options that need the patient rows, which the Dask engine never brings back.
ROW_OPTIONS = (
    ("output", "-o"),
    ("ie", "--ie"),
    ("patients", "--patients"),
    ("identified", "--identified"),
    ("suppress_below", "--suppress-below"),
    ("reasons", "--reasons"),
)


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """--engine pandas|dask and --scheduler ADDRESS."""
    parser.add_argument(
        "--engine",
        choices=("pandas", "dask"),
        default="pandas",
        help="pandas (default: one process, every output) or dask (partitions evaluated on "
        "a Dask cluster: terminal table and --json; needs screenkit[dask])",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --engine dask: the address of a running Dask scheduler, e.g. "
        "tcp://10.0.0.5:8786 (default: a local cluster, one worker process per core)",
    )


def check_engine(args: argparse.Namespace) -> None:
    """Refuse option combinations the engine cannot serve, before anything is read."""
    if args.engine != "dask":
        if args.scheduler is not None:
            raise ScreenkitError(
                "--scheduler needs --engine dask",
                value=args.scheduler,
                hint="add --engine dask, or leave --scheduler out",
            )
        return
    for attr, option in ROW_OPTIONS:
        if getattr(args, attr, None) not in (None, False, []):
            raise ScreenkitError(
                f"{option} needs the patient rows, which --engine dask does not bring back",
                expected="--engine dask writes the terminal table and --json",
                hint=f"use --engine pandas for {option}",
            )


def run_dask(args: argparse.Namespace) -> int:
    """The terminal funnel and ``--json`` from pattern counts summed over partitions."""
    from screenkit.cli._common import (
        cli_protocol,
        criteria_off_records,
        criterion_ids,
        input_files,
        outside_range,
        parse_params,
    )
    from screenkit.cli.report import changed_parameters, format_funnel
    from screenkit.engine_dask import connect, evaluate_files, partition_files, require_dask
    from screenkit.errors import InputError
    from screenkit.outputs import json_text, plan_outputs, write_all
    from screenkit.recorded import source_sentence

    require_dask(distributed=True)
    planned = plan_outputs({"--json": args.json}, input_files(args), force=args.force)
    protocol = cli_protocol(args)
    order = criterion_ids(args.order, protocol, "--order")
    exclude = criterion_ids(args.exclude, protocol, "--exclude")
    params = parse_params(args.param, protocol, allow_outside_range=args.allow_outside_range)
    if not args.input.exists():
        raise InputError("File not found", file=args.input)
    files = partition_files(args.input)
    with connect(args.scheduler):
        evaluation = evaluate_files(
            files,
            protocol,
            columns=args.columns,
            sheet=args.sheet,
            encoding=args.encoding,
            **params,
        )
    result = evaluation.funnel(order=order, exclude=exclude)
    where = args.scheduler or f"a local cluster of {os.cpu_count() or 1} process(es)"
    print(f"Source: {source_sentence(evaluation)}")
    print(f"Engine: dask, {evaluation.partitions} partition(s) on {where}\n")
    changed = changed_parameters(args.protocol, evaluation)
    print(format_funnel(result, changed=changed, protocol=evaluation.protocol))
    for note in outside_range(protocol, evaluation.parameters):
        print(f"warning: outside the protocol's declared range: {note}", file=sys.stderr)
    problems = int(evaluation.summaries["problems"].sum())
    if problems:
        print(
            f"note: {problems} cell(s) could not be read and count as missing (the load "
            "report of each file has them: --engine pandas on that file)",
            file=sys.stderr,
        )
    if args.json is not None:
        payload = result.to_dict()
        payload["source"] = evaluation.status_source
        payload["source_note"] = source_sentence(evaluation)
        payload["parameters"] = dict(evaluation.parameters)
        payload["criteria_off"] = criteria_off_records(evaluation.protocol)
        payload["input"] = str(args.input)
        outside = outside_range(evaluation.protocol, evaluation.parameters)
        if outside:
            payload["outside_range"] = outside
        payload["engine"] = "dask"
        payload["partitions"] = evaluation.partitions
        text = json_text(payload)
        for out in write_all([(planned["--json"], lambda tmp: tmp.write_text(text, "utf-8"))]):
            print(f"wrote {out}")
    return 0
