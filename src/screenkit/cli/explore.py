"""``screenkit explore``: the screening explorer as a standalone web page (Voila).

    screenkit explore data/sample/screening_log.xlsx
    screenkit explore log.csv --protocol my_protocol.yaml --port 8870 --no-browser
    screenkit explore log.xlsx --protocol CT041-ST-01 --include I4,I5
    screenkit explore site_log.xlsx --reasons "Reason for screen failure"

Serves the dashboard notebook shipped in ``screenkit/_dashboard/explore.ipynb`` with Voila
on ``http://127.0.0.1:PORT/`` (localhost only, no token). The input is checked first, so a
bad file fails here with a plain message instead of in the browser. Voila runs in this
process: stopping this process (Ctrl+C, or SIGTERM to its PID) stops the server.

The source of the statuses is chosen as ``screenkit report`` chooses it (shared in
:mod:`screenkit.cli._common`): ``--reasons COLUMN`` reads the recorded screen-failure
reasons, ``--computed`` the lab-level columns, and by default recorded reasons are used
when the log has a reasons column and none of the columns the protocol reads. With
recorded statuses the dashboard offers no threshold sliders (it says why).
"""

from __future__ import annotations

import argparse
import json
import os
from importlib import resources
from pathlib import Path

from screenkit.cli._common import add_input_arguments, add_source_arguments, parse_params

ENV_INPUT = "SCREENKIT_EXPLORE_INPUT"
ENV_PROTOCOL = "SCREENKIT_EXPLORE_PROTOCOL"
ENV_OPTIONS = "SCREENKIT_EXPLORE_OPTIONS"
#: a closed page's kernel (about 250 MB each) is shut down after this many idle seconds
CULL_AFTER_S = 120


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "explore",
        help="interactive funnel explorer in the browser (Voila, localhost)",
        description="Serve the screening explorer (thresholds, criteria on/off, funnel "
        "order, site and date filters, drill-down) as a web page on 127.0.0.1.",
    )
    add_input_arguments(parser)
    add_source_arguments(parser)
    parser.add_argument("--port", type=int, default=8866, help="port (default: 8866)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    parser.add_argument(
        "--cull-after",
        type=int,
        default=CULL_AFTER_S,
        metavar="SECONDS",
        help="shut down the kernel of a closed dashboard page after it has been idle this "
        f"long with no page connected (default: {CULL_AFTER_S}; an open page is never culled; "
        "0 = never)",
    )
    parser.add_argument(
        "--show-ids",
        action="store_true",
        help="show patient IDs in the drill-down (default: masked as P0001, ...)",
    )
    parser.set_defaults(func=run)


def dashboard_path() -> Path:
    """The dashboard notebook shipped with screenkit."""
    return Path(str(resources.files("screenkit") / "_dashboard" / "explore.ipynb"))


def cull_argv(cull_after: int) -> list[str]:
    """Voila's kernel culling (jupyter_server's ``MappingKernelManager`` settings, which
    Voila's kernel manager inherits): every kernel idle for ``cull_after`` seconds with
    no page connected is shut down, checked every ``cull_after / 2`` seconds (at most
    60); ``cull_connected=False`` keeps the kernel of an open page however long it
    idles. Each page load starts its own kernel, so without this every closed tab left
    one running.

    >>> cull_argv(120)
    ['--MappingKernelManager.cull_idle_timeout=120', \
'--MappingKernelManager.cull_interval=60', '--MappingKernelManager.cull_connected=False', \
'--MappingKernelManager.cull_busy=False']
    >>> cull_argv(0)
    []
    """
    if cull_after <= 0:
        return []
    return [
        f"--MappingKernelManager.cull_idle_timeout={cull_after}",
        f"--MappingKernelManager.cull_interval={max(1, min(60, cull_after // 2))}",
        "--MappingKernelManager.cull_connected=False",
        "--MappingKernelManager.cull_busy=False",
    ]


def voila_argv(
    notebook: Path, port: int, open_browser: bool, cull_after: int = CULL_AFTER_S
) -> list[str]:
    """Voila's command line: localhost only, no token, the given port, idle kernels of
    closed pages culled (:func:`cull_argv`).

    >>> voila_argv(Path("explore.ipynb"), 8866, False, cull_after=0)[1:]
    ['--Voila.ip=127.0.0.1', '--Voila.port=8866', '--Voila.port_retries=0', \
'--Voila.open_browser=False', '--Voila.auto_token=False', '--no-browser']
    """
    argv = [
        str(notebook),
        "--Voila.ip=127.0.0.1",
        f"--Voila.port={port}",
        "--Voila.port_retries=0",
        f"--Voila.open_browser={open_browser}",
        "--Voila.auto_token=False",
        *cull_argv(cull_after),
    ]
    if not open_browser:
        argv.append("--no-browser")
    return argv


def environment(args: argparse.Namespace, source: str | None = None) -> dict[str, str]:
    """The ``SCREENKIT_EXPLORE_*`` variables the dashboard notebook reads; ``source``:
    where the statuses come from as ``run`` decided (``None``: decided in the kernel)."""
    options = {
        "sheet": args.sheet,
        "columns": str(Path(args.columns).resolve()) if args.columns else None,
        "encoding": args.encoding,
        "mask_ids": not args.show_ids,
        "parameters": parse_params(args.param),
        # checked in run() exactly as `report --include` is (cli_protocol)
        "include": [c.strip() for c in (args.include or "").split(",") if c.strip()],
        "source": source,
        "reasons": getattr(args, "reasons", None),
        "computed": getattr(args, "computed", False),
    }
    protocol = args.protocol
    if Path(protocol).suffix.lower() in (".yaml", ".yml") and Path(protocol).exists():
        protocol = str(Path(protocol).resolve())
    return {
        ENV_INPUT: str(Path(args.input).resolve()),
        ENV_PROTOCOL: protocol,
        ENV_OPTIONS: json.dumps(options),
    }


def _voila():
    """Voila's application class, or a plain error naming the extra to install."""
    from screenkit.errors import ScreenkitError

    try:
        from voila.app import Voila
    except ImportError as error:
        raise ScreenkitError(
            "screenkit explore needs the notebook extra (JupyterLab, ipywidgets, Voila); "
            f"it is not installed ({error.name} is missing)",
            hint='pip install "screenkit[notebook]" (from a clone: pip install -e ".[notebook]")',
        ) from None
    return Voila


def run(args: argparse.Namespace) -> int:
    from screenkit.cli._common import check_int, load_and_evaluate
    from screenkit.errors import ScreenkitError

    check_int(args.port, "--port", low=1, high=65535)
    Voila = _voila()  # before reading the input: a missing extra is the first thing to say
    check_int(args.cull_after, "--cull-after", low=0)
    # fail fast, with the CLI's plain messages; the source of the statuses is decided
    # here, as `report` decides it, and the dashboard uses the same
    _, evaluation = load_and_evaluate(args)
    # reached only with --allow-outside-range: a slider cannot show a value off its range
    for name, value in evaluation.parameters.items():
        p = evaluation.protocol.parameters[name]
        if not p.allows(value):
            raise ScreenkitError(
                f"--param {name} is outside the range the explorer's slider offers",
                value=value,
                accepted=p.declared_range,
            )
    os.environ.update(
        environment(args, evaluation.status_source)
    )  # Voila's kernels inherit this environment
    # The explorer's matrix products are small: one BLAS thread each is fastest, and
    # OpenBLAS's spinning threads slow them several-fold on a busy machine.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    print(
        f"screenkit explore: serving http://127.0.0.1:{args.port}/ (Ctrl+C to stop)",
        flush=True,
    )
    argv = voila_argv(dashboard_path(), args.port, not args.no_browser, args.cull_after)
    Voila.launch_instance(argv=argv)
    return 0


def dashboard_explorer(environ=os.environ, *, forecast: bool = True):
    """What the dashboard notebook shows: ``(explorer, data, name)`` from the
    ``SCREENKIT_EXPLORE_*`` variables (without them: the bundled sample).

    The log is loaded as ``screenkit report`` loads it (``--reasons COLUMN`` maps that
    header to the reasons column) and the statuses come from the source ``run`` chose.
    """
    import contextlib
    import io

    import screenkit as sk
    from screenkit.cli._common import _load_with_reasons
    from screenkit.recorded import choose_source

    source = environ.get(ENV_INPUT, "")
    protocol = environ.get(ENV_PROTOCOL, "NCT07103668")
    options = json.loads(environ.get(ENV_OPTIONS, "{}"))
    if source:
        args = argparse.Namespace(
            input=Path(source),
            sheet=options.get("sheet"),
            columns=options.get("columns"),
            encoding=options.get("encoding"),
        )
        with contextlib.redirect_stderr(io.StringIO()):
            data = _load_with_reasons(args, options.get("reasons"))
        name = os.path.basename(source)
    else:
        data = sk.load_sample()
        name = "bundled synthetic sample"
    include = options.get("include")
    status_source = options.get("source")
    if status_source is None:
        if options.get("reasons"):
            status_source = "recorded"
        elif options.get("computed"):
            status_source = "computed"
        else:
            status_source = choose_source(data, sk.get_protocol(protocol).switched(include))
    explorer = sk.ScreeningExplorer(
        data,
        protocol,
        mask_ids=options.get("mask_ids", True),
        parameters=options.get("parameters"),
        forecast=forecast,
        include=include,
        source=status_source,
    )
    return explorer, data, name
