"""``screenkit forecast``: when will the trial reach its randomization target?

    screenkit forecast data/sample/screening_log.xlsx
    screenkit forecast data/sample/screening_log.xlsx --param lesion_max_cm=7
    screenkit forecast log.xlsx --protocol my_protocol.yaml --target 150 --as-of 2026-06-30 \\
        --sites sites.csv --by-date 2027-05-31 --seed 7 --json forecast.json

The input options are those of ``screenkit report`` (``--sheet``, ``--columns``,
``--encoding``, ``--protocol``, ``--param``): the protocol is evaluated and its status
(eligible / screen_failed / pending) is the eligibility the forecast uses, exactly as
``RecruitmentForecast().fit(evaluate(data, protocol, **params))`` does in Python. The target
and the primary completion date (``--by-date``) come from the protocol file (``target:``,
``primary_completion:``); ``--target`` / ``--by-date`` override them. The prior on the
monthly screening decline comes from the protocol file's ``decline_prior: {mean, sd}``, or
``--decline-prior MEAN,SD`` (``0.02,0.01`` or ``2%,1%``), which overrides it, else the
calibrated defaults; the notes and the JSON (``decline_prior_mean``, ``decline_prior_sd``,
``decline_prior_source``) say which was used.

``--exclude E26,E7`` switches criteria off as ``report --exclude`` does, and here it is a
what-if on eligibility: patients who fail only those criteria become eligible, so the
forecast uses the evaluation with them off (:func:`screenkit.forecast.whatif.forecast_evaluation`,
the route Python and the report's Recruitment sheet take) and its notes name them.
``--order`` is accepted and checked as ``report``'s (the same IDs), but a patient's status
does not depend on the order criteria are listed in, and forecast prints no funnel: the
date is the same in any order, and the output says so.

Prints the answers in plain words; ``--json`` also writes them with the keys ``target``,
``as_of``, ``randomized_so_far``, ``median_date``, ``pi80``, ``pi90`` (pairs of ISO dates),
``prob_by_date``, ``by_date`` (and more: ``protocol``, ``parameters``, ``input``). Like every
output, the JSON is never written over an input (the log, the sites file, the protocol or
header-map file), an existing file is replaced only with ``--force``, and it is written
atomically (the old file or the new one, never half of it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from screenkit.cli._common import (
    add_input_arguments,
    add_source_arguments,
    check_int,
    cli_protocol,
    criteria_off_note,
    criteria_off_records,
    criterion_ids,
    input_files,
    load_and_evaluate,
    outside_range,
)
from screenkit.outputs import json_text, plan_outputs, write_all

#: most simulations accepted (the default is 4000)
MAX_SIMS = 1_000_000

__all__ = ["ORDER_NOTE", "register", "run"]

ORDER_NOTE = (
    "--order does not change the forecast: a patient's eligibility depends on which "
    "criteria they fail, not on the order the criteria are listed in (it orders "
    "report's funnel)."
)


def register(subparsers) -> None:
    """Add the ``forecast`` command to the ``screenkit`` parser."""
    parser = subparsers.add_parser(
        "forecast",
        help="forecast when the randomization target is reached",
        description="Fit a Poisson-gamma recruitment model (Anisimov & Fedorov 2007) to a "
        "screening log and forecast the date the target is reached, with 80% and 90% "
        "prediction intervals. Eligibility is the protocol's evaluation of the log.",
    )
    add_input_arguments(parser)
    add_source_arguments(parser)
    parser.add_argument(
        "--target",
        type=int,
        default=None,
        help="patients to randomize (default: the protocol file's target)",
    )
    parser.add_argument(
        "--as-of", default=None, metavar="DATE", help="interim date (last screening)"
    )
    parser.add_argument(
        "--sites",
        type=Path,
        default=None,
        metavar="SITES.csv",
        help="site_id, activation_date[, closing_date]",
    )
    parser.add_argument(
        "--by-date",
        default=None,
        metavar="DATE",
        help="date for the probability of reaching the target (default: the protocol "
        "file's primary completion date)",
    )
    parser.add_argument(
        "--model",
        choices=("posterior", "averaged", "constant", "decay", "auto"),
        default="posterior",
        help="posterior (default: site rates whose monthly change is averaged over its "
        "posterior, sites may close), averaged (the previous default: constant and declining "
        "rates averaged by evidence), constant, decay, or auto (constant or decay by AIC)",
    )
    parser.add_argument(
        "--decline-prior",
        default=None,
        metavar="MEAN,SD",
        help="the prior on the monthly screening decline, e.g. 0.02,0.01 or 2%%,1%% (an "
        "estimate from outside the trial, such as the sponsor's earlier trials); overrides "
        "the protocol file's decline_prior (default: 3.5%%,5%%)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--sims", type=int, default=4000, help="simulations (default 4000)")
    parser.add_argument(
        "--new-sites-open",
        default=None,
        metavar="DATE",
        help="opening date of any additional sites (default: 3 months after --as-of)",
    )
    parser.add_argument(
        "--order",
        metavar="IDS",
        help="accepted as in report (comma-separated criterion IDs, checked), but eligibility "
        "does not depend on criterion order, so it never changes the forecast",
    )
    parser.add_argument(
        "--exclude",
        metavar="IDS",
        help="criteria to switch off, comma-separated IDs: a what-if on eligibility (patients "
        "failing only these become eligible), as report --exclude",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="OUT.json")
    parser.add_argument("--force", action="store_true", help="replace an existing --json file")
    parser.set_defaults(func=run)


def _date(text: str | None, option: str):
    import pandas as pd

    from screenkit.errors import ScreenkitError

    if text is None:
        return None
    try:
        return pd.Timestamp(text)
    except (ValueError, TypeError) as err:
        raise ScreenkitError(
            f"{option} is not a date", value=text, expected="an ISO date such as 2027-05-31"
        ) from err


def _file(value) -> Path | None:
    """An option's value as a path when it names an existing file (else ``None``)."""
    if value is None:
        return None
    path = Path(str(value))
    return path if path.is_file() else None


def run(args: argparse.Namespace) -> int:
    from screenkit.errors import InputError
    from screenkit.forecast import RecruitmentForecast
    from screenkit.forecast.prior import parse_decline_prior
    from screenkit.forecast.sites import read_sites
    from screenkit.forecast.whatif import forecast_evaluation

    if args.target is not None and args.target < 1:
        raise InputError("--target must be at least 1", value=args.target)
    check_int(args.sims, "--sims", low=1, high=MAX_SIMS)
    check_int(args.seed, "--seed", low=0, high=2**32 - 1)
    by_date = _date(args.by_date, "--by-date")
    as_of = _date(args.as_of, "--as-of")
    new_sites_open = _date(args.new_sites_open, "--new-sites-open")
    prior = None if args.decline_prior is None else parse_decline_prior(args.decline_prior)
    sites = read_sites(args.sites)  # before the slow steps: a bad file fails at once
    # fail fast on an unusable output, before the (slow) loading and simulation
    planned = plan_outputs({"--json": args.json}, input_files(args), force=args.force)
    protocol = cli_protocol(args)
    order = criterion_ids(args.order, protocol, "--order")
    exclude = criterion_ids(args.exclude, protocol, "--exclude")
    target = args.target if args.target is not None else protocol.target
    if target is None:
        raise InputError(
            "The protocol file gives no target, so the forecast does not know how many "
            "patients to randomize",
            file=_file(args.protocol),
            hint="pass --target N, or add 'target: N' to the protocol file.",
        )
    if by_date is None:
        by_date = _date(protocol.primary_completion, "the protocol's primary_completion")
    _data, evaluation = load_and_evaluate(args)
    # without --decline-prior: the protocol file's decline_prior, else the defaults
    given = {} if prior is None else prior.forecast_options()
    forecast = RecruitmentForecast(
        model=args.model, n_sims=args.sims, random_state=args.seed, **given
    )
    result = forecast_evaluation(
        forecast,
        evaluation,
        exclude=exclude,
        sites=sites,
        as_of=as_of,
        target=target,
        by_date=by_date,
        new_sites_open=new_sites_open,
    )
    print(result.summary())
    left_out = criteria_off_note(evaluation.protocol)
    if left_out:
        print(f"note: {left_out}")
    if order:
        print(f"note: {ORDER_NOTE}")
    outside = outside_range(evaluation.protocol, evaluation.parameters)
    for note in outside:
        print(f"note: forecast made with a parameter outside its declared range: {note}")
    if args.json is not None:
        payload = result.to_dict()
        payload["protocol"] = protocol.id
        payload["parameters"] = dict(evaluation.parameters)
        payload["input"] = str(args.input)
        payload["source"] = evaluation.status_source
        payload["excluded_criteria"] = exclude
        payload["criteria_off"] = criteria_off_records(evaluation.protocol)
        if order:
            payload["order"] = order
            payload["order_note"] = ORDER_NOTE
        if outside:
            payload["outside_range"] = outside
        text = json_text(payload)
        out = write_all([(planned["--json"], lambda tmp: tmp.write_text(text, encoding="utf-8"))])
        print(f"wrote {out[0]}")
    return 0
