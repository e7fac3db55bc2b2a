"""Evaluate on Dask: partitions evaluate with the same code and return pattern counts.

The pattern histogram (:class:`~screenkit.patterns.PatternCounts`) is the sufficient
statistic of a screening evaluation, and histograms of disjoint sets of patients add up.
So a log too large for one machine is split into partitions (the partitions of a
``dask.dataframe``, or the files of a folder), each partition is evaluated by the ordinary
:func:`~screenkit.evaluate.evaluate` on a worker, only its pattern counts travel back, and
:func:`sum_patterns` adds them. Every funnel figure then follows from the sum exactly as
from a pandas evaluation: the counts are identical, not approximations.

Only public pieces are used: ``evaluate(...)``, ``Evaluation.patterns(...)``, the
:class:`PatternCounts` fields and constructor, and ``funnel(patterns, order, exclude)``.
Dask runs the tasks on its current scheduler: a ``distributed.Client`` when one exists
(:func:`connect` makes one, for an address or a local cluster), else dask's local threads.

>>> import pandas as pd
>>> dd = require_dask().dataframe
>>> frame = pd.DataFrame({"patient_id": ["P1", "P2", "P3", "P4"],
...                       "spo2": pd.array([99, 95, 94, 99], dtype="Float64")})
>>> result = evaluate_dask(dd.from_pandas(frame, npartitions=3), "NCT07103668")
>>> result.partitions, result.counts()
(3, {'screened': 4, 'eligible': 0, 'screen_failed': 2, 'pending': 2})
>>> result.funnel(order=["E7"]).steps[["criterion", "excluded", "remaining"]].head(1)
  criterion  excluded  remaining
0        E7         2          2

Needs the ``dask`` extra: ``pip install "screenkit[dask]"`` (dask and distributed).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from screenkit.errors import ScreenkitError
from screenkit.evaluate import evaluate
from screenkit.funnel import Funnel, funnel
from screenkit.patterns import PatternCounts
from screenkit.protocol import Protocol, get_protocol

__all__ = [
    "BY",
    "PartitionedEvaluation",
    "connect",
    "evaluate_dask",
    "evaluate_files",
    "is_dask_frame",
    "partition_files",
    "require_dask",
    "sum_patterns",
]

BY = ("site_id", "screening_month")
#: Pattern counts added up by one task at a time (a tree of sums beyond that).
FAN_IN = 16
#: Files a folder partition may hold (what load_screening reads).
PARTITION_SUFFIXES = (".parquet", ".pq", ".csv", ".txt", ".tsv", ".xlsx", ".xlsm")


def require_dask(distributed: bool = False) -> SimpleNamespace:
    """Import dask (and ``distributed``) or raise an error naming the extra to install."""
    names = ["dask", "dask.dataframe"] + (["distributed"] if distributed else [])
    try:
        modules = [importlib.import_module(name) for name in names]
    except ImportError as exc:
        raise ScreenkitError(
            f"The Dask engine needs dask and distributed, which are not installed ({exc})",
            hint='pip install "screenkit[dask]"',
        ) from None
    return SimpleNamespace(
        dask=modules[0], dataframe=modules[1], distributed=modules[2] if distributed else None
    )


def is_dask_frame(data: Any) -> bool:
    """True for a ``dask.dataframe.DataFrame`` (checked without importing dask)."""
    return type(data).__module__.startswith("dask") and hasattr(data, "to_delayed")


@contextlib.contextmanager
def connect(scheduler: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` for the ``with`` block: of the scheduler at ``scheduler``
    (``tcp://host:8786``), or of a ``LocalCluster`` on this machine (one single-threaded
    worker process per core, on 127.0.0.1, no dashboard) when ``scheduler`` is None.

    Loading and evaluating hold Python's global lock for much of the time, so worker
    processes, not threads, use the cores.
    """
    distributed = require_dask(distributed=True).distributed
    if scheduler is None:
        with (
            distributed.LocalCluster(
                n_workers=os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = distributed.Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ScreenkitError(
            "Cannot reach the Dask scheduler",
            value=scheduler,
            expected="the address a running `dask scheduler` prints, e.g. tcp://10.0.0.5:8786",
            hint=f"start one, or leave --scheduler out to use this machine ({exc})",
        ) from None
    try:
        yield client
    finally:
        client.close()


# ------------------------------------------------------------------ adding up
def sum_patterns(parts: Iterable[PatternCounts]) -> PatternCounts:
    """The pattern counts of the union of disjoint sets of patients.

    Rows with the same (fail set, unknown set, group) are merged and their counts added,
    so the sum of the partitions' counts equals the counts of the whole.

    >>> import numpy as np, pandas as pd
    >>> def part(fails, sites):
    ...     fails = np.array(fails)
    ...     return PatternCounts.from_matrices(fails, np.zeros_like(fails),
    ...         pd.DataFrame({"site_id": sites}), criteria=["C1", "C2"])
    >>> total = sum_patterns([part([[True, False]], ["A"]),
    ...                       part([[True, False], [False, False]], ["A", "B"])])
    >>> total.to_frame()
      site_id fails unknown  patients
    0       A    C1                 2
    1       B                       1
    """
    parts = list(parts)
    if not parts:
        raise ScreenkitError("No pattern counts to add up", expected="one or more partitions")
    first = parts[0]
    for other in parts[1:]:
        if other.criteria != first.criteria or list(other.groups.columns) != list(
            first.groups.columns
        ):
            raise ScreenkitError(
                "Pattern counts of different criteria or groupings cannot be added",
                value=f"{other.criteria} by {list(other.groups.columns)}",
                expected=f"{first.criteria} by {list(first.groups.columns)}",
            )
    fails = np.concatenate([p.fails for p in parts])
    unknown = np.concatenate([p.unknown for p in parts])
    counts = np.concatenate([p.counts for p in parts]).astype(np.int64)
    # an empty partition's group table has no values to infer a dtype from: left out
    groups = pd.concat([p.groups for p in parts if len(p.counts)] or [first.groups[:0]])
    groups = groups.reset_index(drop=True)
    bits = np.packbits(np.concatenate([fails, unknown], axis=1), axis=1)
    core_id = _dense([row.tobytes() for row in bits])
    group_id = np.zeros(len(groups), dtype=np.int64)
    for name in groups.columns:
        codes = _dense(groups[name].to_numpy(dtype=object))
        group_id = _dense(group_id * (int(codes.max(initial=0)) + 1) + codes)
    row_id = _dense(core_id * (int(group_id.max(initial=0)) + 1) + group_id)
    n_rows = int(row_id.max(initial=-1)) + 1
    first_row = np.unique(row_id, return_index=True)[1]
    first_core = np.unique(core_id, return_index=True)[1]
    return first.rebuilt(
        core_fails=fails[first_core],
        core_unknown=unknown[first_core],
        pattern=core_id[first_row],
        counts=np.bincount(row_id, weights=counts, minlength=n_rows).round().astype(np.int64),
        groups=groups.iloc[first_row].reset_index(drop=True),
    )


def _dense(values: Any) -> np.ndarray:
    """Ids 0..m-1 in order of first appearance (a missing value is a value of its own)."""
    codes, _ = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    return codes.astype(np.int64)


# ------------------------------------------------------------------ the result
@dataclass(frozen=True, eq=False)
class PartitionedEvaluation:
    """The result of :func:`evaluate_dask` / :func:`evaluate_files`: the pattern counts
    of every partition added up, with what the funnel and the reports need.

    Attributes
    ----------
    protocol : the protocol as evaluated (``--include`` applied, thresholds changed).
    parameters : the threshold values used.
    partitions : how many partitions were evaluated.
    by : the grouping of the pattern counts (``patterns(by)`` may ask for a subset).
    summaries : one row per partition: ``partition``, ``patients`` and, for files,
        ``file`` and ``problems`` (cells the load report could not read).
    missing_columns : criterion ID -> canonical columns it needs that the data lack.
    """

    protocol: Protocol
    parameters: Mapping[str, float]
    partitions: int
    by: tuple[str, ...]
    summaries: pd.DataFrame = field(repr=False)
    missing_columns: Mapping[str, tuple[str, ...]] = field(repr=False)
    _patterns: PatternCounts = field(repr=False)
    status_source: str = "computed"
    recorded: Any = None

    def patterns(self, by: Sequence[str] | None = None) -> PatternCounts:
        """The summed pattern counts, grouped by ``by`` (a subset of :attr:`by`)."""
        by = self.by if by is None else tuple(by)
        if by == self.by:
            return self._patterns
        if not set(by) <= set(self.by):
            raise ScreenkitError(
                f"These pattern counts are grouped by {list(self.by)}, not by {list(by)}",
                hint=f"evaluate again with by={list(by)!r}",
            )
        p = self._patterns
        return sum_patterns([p.rebuilt(groups=p.groups[list(by)])])

    def funnel(self, order: Sequence[str] | None = None, exclude: Iterable[str] = ()) -> Funnel:
        """The funnel of the whole data (see :func:`screenkit.funnel.funnel`)."""
        return funnel(self._patterns, order=order, exclude=exclude)

    def counts(self) -> dict[str, int]:
        """Screened and each status; screened = eligible + screen_failed + pending."""
        return self.funnel().headline()

    def __repr__(self) -> str:
        c = self.counts()
        return (
            f"PartitionedEvaluation({self.protocol.id}, {self.partitions} partitions: "
            f"screened={c['screened']}, eligible={c['eligible']}, "
            f"screen_failed={c['screen_failed']}, pending={c['pending']})"
        )


# ------------------------------------------------------------------ evaluating
def evaluate_dask(
    data: Any,
    protocol: Protocol | str = "NCT07103668",
    *,
    include: Iterable[str] | None = None,
    by: Sequence[str] = BY,
    **param_overrides: float,
) -> PartitionedEvaluation:
    """Evaluate ``protocol`` on every partition of a ``dask.dataframe`` of canonical
    columns (as :func:`~screenkit.evaluate.evaluate` takes them) and add up the counts.

    ``dask.dataframe.read_parquet(folder)`` of a canonical frame written with
    ``to_parquet`` keeps its nullable dtypes. Parameters as for ``evaluate``.
    """
    dask = require_dask().dask
    if not is_dask_frame(data):
        raise ScreenkitError(
            "evaluate_dask() needs a dask.dataframe.DataFrame",
            value=type(data).__name__,
            hint="for a pandas DataFrame use screenkit.evaluate",
        )
    protocol, values = _prepared(protocol, include, param_overrides)
    overrides = dict(param_overrides)
    shipped = dask.delayed(protocol)  # one copy in the task graph, not one per partition
    parts = [
        dask.delayed(_frame_patterns)(part, shipped, overrides, tuple(by))
        for part in data.to_delayed()
    ]
    counted, summaries = _gather(dask, parts)
    present = set(data.columns)
    return PartitionedEvaluation(
        protocol=protocol.with_parameters(**values) if overrides else protocol,
        parameters=values,
        partitions=len(parts),
        by=tuple(by),
        summaries=summaries,
        missing_columns={
            c.id: tuple(sorted(protocol.columns_needed(c.id) - present)) for c in protocol.criteria
        },
        _patterns=counted,
    )


def evaluate_files(
    paths: Sequence[str | Path],
    protocol: Protocol | str = "NCT07103668",
    *,
    include: Iterable[str] | None = None,
    by: Sequence[str] = BY,
    columns: Any = None,
    sheet: str | None = None,
    encoding: str | None = None,
    **param_overrides: float,
) -> PartitionedEvaluation:
    """One partition per screening-log file: each is loaded, normalised and evaluated on
    a worker (``load_screening`` + ``evaluate``; the workers must see the paths) and only
    its pattern counts and a one-line summary travel back.

    A patient ID repeated in two files is not detected (each file is checked alone).
    """
    dask = require_dask().dask
    if not paths:
        raise ScreenkitError("No files to evaluate", expected="one or more screening logs")
    protocol, values = _prepared(protocol, include, param_overrides)
    overrides = dict(param_overrides)
    shipped = dask.delayed(protocol)
    parts = [
        dask.delayed(_file_patterns)(
            str(path), shipped, overrides, tuple(by), columns, sheet, encoding
        )
        for path in paths
    ]
    counted, summaries = _gather(dask, parts)
    missing: dict[str, set[str]] = {}
    for row in summaries.itertuples():
        for cid, cols in row.missing.items():
            missing.setdefault(cid, set()).update(cols)
    return PartitionedEvaluation(
        protocol=protocol.with_parameters(**values) if overrides else protocol,
        parameters=values,
        partitions=len(parts),
        by=tuple(by),
        summaries=summaries.drop(columns="missing"),
        missing_columns={cid: tuple(sorted(cols)) for cid, cols in missing.items()},
        _patterns=counted,
    )


def partition_files(path: str | Path) -> list[Path]:
    """The partitions of an input: the file itself, or a folder's screening-log files
    (in name order, sub-folders included; ``_SUCCESS``, ``_metadata`` and hidden files
    skipped)."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    found = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix.lower() in PARTITION_SUFFIXES
        and not p.name.startswith(("_", "."))
    )
    if not found:
        from screenkit.errors import InputError

        raise InputError(
            "Folder holds no screening-log files",
            file=path,
            expected=", ".join(PARTITION_SUFFIXES),
        )
    return found


def _prepared(protocol, include, overrides) -> tuple[Protocol, dict[str, float]]:
    """The protocol as evaluated and the full parameter values, checked on the client
    (a bad ID or parameter fails at once, not on every worker)."""
    protocol = get_protocol(protocol).switched(include)
    return protocol, protocol.check_parameters(overrides)


def _gather(dask, parts: list) -> tuple[PatternCounts, pd.DataFrame]:
    """Compute the partitions' ``(counts, summary)`` and add the counts up in a tree of
    :data:`FAN_IN`-way sums, on the workers; only the total comes back."""
    counts = [part[0] for part in parts]
    summaries = [part[1] for part in parts]
    while len(counts) > 1:
        counts = [
            dask.delayed(sum_patterns)(counts[i : i + FAN_IN])
            for i in range(0, len(counts), FAN_IN)
        ]
    total, rows = dask.compute(counts[0], summaries)
    if len(parts) == 1:  # one partition: still the canonical (merged) form
        total = sum_patterns([total])
    frame = pd.DataFrame(list(rows))
    frame.insert(0, "partition", range(len(frame)))
    return total, frame


def _frame_patterns(frame: pd.DataFrame, protocol, overrides, by):
    evaluation = evaluate(frame, protocol, **overrides)
    return evaluation.patterns(by), {"patients": len(frame)}


def _file_patterns(path: str, protocol, overrides, by, columns, sheet, encoding):
    from screenkit.normalize import load_screening

    data = load_screening(path, sheet=sheet, columns=columns, encoding=encoding)
    evaluation = evaluate(data, protocol, **overrides)
    return evaluation.patterns(by), {
        "file": path,
        "patients": len(data.data),
        "problems": len(data.report.problems),
        "missing": {cid: cols for cid, cols in evaluation.missing_columns.items() if cols},
    }
