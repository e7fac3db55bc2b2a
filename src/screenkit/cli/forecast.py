"""``screenkit forecast``: when will the trial reach its randomization target?

    screenkit forecast data/sample/screening_log.xlsx --target 150
    screenkit forecast log.xlsx --target 150 --as-of 2026-06-30 --sites sites.csv \\
        --by-date 2027-05-31 --seed 7 --json forecast.json

Prints the answers in plain words; ``--json`` also writes them with the keys ``target``,
``as_of``, ``randomized_so_far``, ``median_date``, ``pi80``, ``pi90`` (pairs of ISO dates),
``prob_by_date``, ``by_date`` (and more). Like every output, the JSON is never written over
an input (the log or the sites file), an existing file is replaced only with ``--force``,
and it is written atomically (the old file or the new one, never half of it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from screenkit.cli._common import check_output, write_text_output

__all__ = ["register", "run"]

DEFAULT_BY_DATE = "2027-05-31"  # NCT07103668 primary completion (registry)


def register(subparsers) -> None:
    """Add the ``forecast`` command to the ``screenkit`` parser."""
    parser = subparsers.add_parser(
        "forecast",
        help="forecast when the randomization target is reached",
        description="Fit a Poisson-gamma recruitment model (Anisimov & Fedorov 2007) to a "
        "screening log and forecast the date the target is reached, with 80%% and 90%% "
        "prediction intervals.",
    )
    parser.add_argument("input", type=Path, metavar="INPUT", help="screening log (.xlsx/.csv)")
    parser.add_argument("--target", type=int, default=150, help="randomized patients (150)")
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
        default=DEFAULT_BY_DATE,
        metavar="DATE",
        help=f"date for the probability of reaching the target (default {DEFAULT_BY_DATE})",
    )
    parser.add_argument("--sheet", default=None, help="worksheet to read (default: the first)")
    parser.add_argument(
        "--model",
        choices=("constant", "decay", "auto"),
        default="constant",
        help="site rates constant, decaying, or chosen by AIC (default constant)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--sims", type=int, default=4000, help="simulations (default 4000)")
    parser.add_argument(
        "--new-sites-open",
        default=None,
        metavar="DATE",
        help="opening date of any additional sites (default: 3 months after --as-of)",
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


def run(args: argparse.Namespace) -> int:
    from screenkit.errors import InputError
    from screenkit.forecast import RecruitmentForecast
    from screenkit.normalize import load_screening

    if args.target < 1:
        raise InputError("--target must be at least 1", value=args.target)
    if args.sites is not None and not args.sites.exists():
        raise InputError("Sites file not found", file=args.sites)
    # fail fast on an unusable output, before the (slow) loading and simulation
    inputs = [args.input, args.sites]
    if args.json is not None:
        check_output(args.json, force=args.force, inputs=inputs)
    data = load_screening(args.input, sheet=args.sheet)
    forecast = RecruitmentForecast(model=args.model, n_sims=args.sims, random_state=args.seed)
    forecast.fit(data, sites=args.sites, as_of=_date(args.as_of, "--as-of"))
    result = forecast.predict(
        target=args.target,
        by_date=_date(args.by_date, "--by-date"),
        new_sites_open=_date(args.new_sites_open, "--new-sites-open"),
    )
    print(result.summary())
    if args.json is not None:
        out = check_output(args.json, force=args.force, inputs=inputs)
        write_text_output(out, json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {out}")
    return 0
