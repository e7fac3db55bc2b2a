"""The ``screenkit`` command line, for people who do not open Python.

Each command lives in its own module under ``screenkit.cli`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a function taking the
parsed arguments and returning an exit status.

Exit status: 0 success; 2 bad input or usage (a :class:`~screenkit.errors.ScreenkitError`,
printed as a plain message naming file, sheet, row and column, no traceback); 1 an
internal error (a bug: the traceback is printed so it can be reported).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence

from screenkit import __version__
from screenkit.errors import ScreenkitError

# helpers append their command here
COMMANDS = ("evaluate", "report", "sample", "forecast", "explore", "sdtm", "protocols")
COMMANDS += ("compare",)  # issue 15: protocol comparison


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``screenkit`` parser with every command, or only ``command`` (one of
    :data:`COMMANDS`: the others' modules are then not imported; a command's own help,
    usage and errors do not name the others).

    >>> build_parser("report").parse_args(["report", "log.csv"]).command
    'report'
    """
    parser = argparse.ArgumentParser(
        prog="screenkit",
        description="Clinical-trial eligibility screening: statuses, funnels, forecasts.",
    )
    parser.add_argument("--version", action="version", version=f"screenkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if command is None else (command,):
        importlib.import_module(f"screenkit.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (also used by ``python -m screenkit``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # a command named first needs only its own parser; anything else (no command, --help,
    # --version, an unknown command) gets the whole one, listing every command
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ScreenkitError as err:
        print(f"screenkit {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # output piped into e.g. `head`, which stopped reading: not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def run() -> None:
    """The ``screenkit`` process (the console script and ``python -m screenkit``):
    :func:`main`, its status as the exit status.

    The modules, classes and functions imported to get here live until the process ends,
    so they are frozen out of the garbage collector's view (:func:`gc.freeze`) first: no
    later collection, nor the collections the interpreter makes at exit, walks the ~60,000
    objects that can never become garbage (a 200,000-row report's exit took 0.18 s with
    them, 0.07 s without). Atexit handlers, flushes and finalizers run as before. Only
    the process does this: :func:`main` called in Python leaves the collector alone.
    """
    gc.freeze()
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
