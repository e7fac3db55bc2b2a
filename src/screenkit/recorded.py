"""Recorded-reasons mode: a site's screening log of failed criteria as a status frame.

Many logs hold no lab values, only the criteria each patient failed as the site recorded
them (``I5b; E7``, ``i3a,e3``, or one free-text primary reason) and whether the patient
was randomized. :func:`evaluate_recorded` turns such a log into the same
:class:`~screenkit.evaluate.Evaluation` the computed evaluation gives, so the funnel,
attribution, combinations, by-site and by-month code is the same. Its
``status_source`` is ``"recorded"``.

How a log is read (decisions a biostatistician would take, stated once here):

- **Listed = failed.** A criterion listed in a patient's reasons cell is False (fails).
- **Not listed = not recorded as failed**, which is not "passed": it is stored as True so
  that the funnel, pattern and status code run unchanged, and every output says
  ``source: recorded`` and reads it as "not recorded as failed" (``to_frame`` writes
  ``not recorded``, never ``pass``).
- **Screen failure** = a reasons cell that is not blank, or the outcome column
  (``randomized``, else ``enrolled``) reading no: a screened patient who was not
  randomized is a screen failure, as in CDISC (consent withdrawn before randomization
  included). Outcome yes with nothing recorded = eligible (randomized). Outcome blank
  with nothing recorded = pending. No outcome column at all: nothing recorded = eligible
  by record.
- **"Reason not recorded"** is a pseudo-criterion ``NR`` appended after the protocol's
  criteria: it fails for a screen failure with no recognised protocol criterion (a blank
  cell for a patient not randomized, only an ID the protocol lacks, only unmatched text),
  and is unknown for a pending patient. So ``screened = eligible + screen_failed +
  pending`` holds, and the funnel shows the count as its own row.
- **IDs are matched case-insensitively** to the protocol (``i3A`` -> ``I3a``). IDs the
  protocol lacks are never dropped: :attr:`RecordedReasons.unknown_ids` lists each with
  its patients (``I2`` where the protocol has ``I2a`` / ``I2b`` says so).
- **Free text** (a cell without IDs, or what is left beside them) is matched to a
  criterion label, case-insensitively: the label exactly, else the one label the text
  contains (several: ambiguous, not matched). Otherwise it is listed in
  :attr:`RecordedReasons.unmatched_text` with its patients.
- Thresholds do not change a recorded reason: ``with_parameters`` refuses.

>>> import pandas as pd
>>> log = pd.DataFrame({
...     "patient_id": ["P1", "P2", "P3", "P4"],
...     "fail_reasons": pd.array(["I5b; E7", "i3a,e3", None, None], dtype="string"),
...     "randomized": pd.array([False, False, False, True], dtype="boolean"),
... })
>>> result = evaluate_recorded(log, "NCT07103668")
>>> result.status_source, result.counts()
('recorded', {'screened': 4, 'eligible': 1, 'screen_failed': 3, 'pending': 0})
>>> result.to_frame()[["patient_id", "status", "I5b", "E3", "NR"]]
    patient_id         status           I5b           E3            NR
0           P1  screen_failed          fail  not recorded  not recorded
1           P2  screen_failed  not recorded          fail  not recorded
2           P3  screen_failed  not recorded  not recorded          fail
3           P4       eligible  not recorded  not recorded  not recorded
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from screenkit.errors import InputError, ProtocolError
from screenkit.evaluate import Evaluation, _unwrap
from screenkit.grammar.compile import Rule
from screenkit.loadedcodes import known_codes
from screenkit.protocol import Criterion, Protocol, get_protocol
from screenkit.recorded_cells import (
    ReasonReader,
    match_label,
    stripped_codes,
    tally,
    unknown_id_table,
)
from screenkit.recorded_sets import NOT_RECORDED, recorded_statuses, recorded_words

__all__ = [
    "NOT_RECORDED",
    "OUTCOME_COLUMNS",
    "REASONS_COLUMN",
    "RecordedReasons",
    "choose_source",
    "evaluate_recorded",
    "has_both_sources",
    "match_label",
    "protocol_of",
    "recorded_evaluation",
    "recorded_statuses",
    "recorded_words",
    "source_sentence",
]

NOT_RECORDED_LABEL = "Reason not recorded (screen failure with no protocol criterion recorded)"
#: The canonical reasons column (headers such as "Screen fail reason" map onto it).
REASONS_COLUMN = "fail_reasons"
#: Columns giving the screening outcome, first found wins (False = screen failure).
OUTCOME_COLUMNS = ("randomized", "enrolled")


@dataclass(frozen=True)
class RecordedReasons:
    """What a recorded-reasons log held beyond the statuses (nothing is dropped).

    Attributes
    ----------
    column : the reasons column read.
    outcome_column : ``randomized`` / ``enrolled``, or None when the log has neither.
    not_recorded : screen failures with no recognised protocol criterion (the ``NR`` row).
    conflicts : patients with the outcome yes (randomized) and a reason recorded.
    unknown_ids : ``id``, ``patients``, ``not_recorded`` (of them, with no protocol
        criterion recorded), ``note``; IDs the protocol lacks.
    unmatched_text : ``text``, ``patients``: free text matched to no criterion label.
    label_matches : ``text``, ``criterion``, ``patients``: free text read as a criterion.
    origin : where the reasons come from, in words, when not a log's column (SDTM IE);
        :func:`source_sentence` then says it instead of the column.
    """

    column: str
    outcome_column: str | None
    not_recorded: int
    conflicts: int
    unknown_ids: pd.DataFrame
    unmatched_text: pd.DataFrame
    label_matches: pd.DataFrame
    origin: str = ""

    def notes(self) -> list[str]:
        """Plain-text lines for the terminal (IDs not in the protocol, unmatched text...)."""
        lines = [
            f"screen failures with no protocol criterion recorded (row {NOT_RECORDED}): "
            f"{self.not_recorded}"
        ]
        for row in self.unknown_ids.itertuples():
            note = f"; {row.note}" if row.note else ""
            lines.append(
                f"ID not in the protocol: {row.id} for {row.patients} patient(s) "
                f"({row.not_recorded} with no protocol criterion recorded{note})"
            )
        for row in self.label_matches.itertuples():
            lines.append(
                f"free text read as {row.criterion} (its label): {row.text!r} "
                f"for {row.patients} patient(s)"
            )
        for row in self.unmatched_text.itertuples():
            lines.append(
                f"unmatched text (no criterion label): {row.text!r} for {row.patients} patient(s)"
            )
        if self.conflicts:
            lines.append(
                f"{self.conflicts} patient(s) {self.outcome_column} yet with a reason "
                "recorded: counted as screen failures (listed = failed)"
            )
        return lines

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (under ``"recorded"`` in ``screenkit report --json``)."""
        return {
            "column": self.column,
            "outcome_column": self.outcome_column,
            "reason_not_recorded": self.not_recorded,
            "outcome_conflicts": self.conflicts,
            "unknown_ids": _records(self.unknown_ids),
            "unmatched_text": _records(self.unmatched_text),
            "label_matches": _records(self.label_matches),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (int(v) if isinstance(v, np.integer) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def source_sentence(evaluation: Evaluation) -> str:
    """Where the statuses come from, in words (terminal, workbook Summary, HTML).

    >>> import pandas as pd
    >>> from screenkit.evaluate import evaluate
    >>> source_sentence(evaluate(pd.DataFrame({"spo2": [99.0]}), "NCT07103668"))[:40]
    'computed: each criterion evaluated from '
    """
    recorded = getattr(evaluation, "recorded", None)
    if getattr(evaluation, "status_source", "computed") != "recorded" or recorded is None:
        return (
            "computed: each criterion evaluated from the log's lab-level columns by the "
            "protocol's rules (pass / fail / unknown)"
        )
    if recorded.origin:
        return (
            f"recorded: {recorded.origin}. A criterion listed = failed; not listed = not "
            f"recorded as failed, which is NOT the same as passed. {NOT_RECORDED} = screen "
            "failure with no protocol criterion recorded"
        )
    outcome = (
        f"; screen failure = a reason recorded or {recorded.outcome_column} = no"
        if recorded.outcome_column
        else "; no outcome column, so a patient with nothing recorded counts as eligible"
    )
    return (
        f"recorded: the screen-failure reasons the site recorded in column "
        f"'{recorded.column}'. A criterion listed = failed; not listed = not recorded as "
        f"failed, which is NOT the same as passed{outcome}. {NOT_RECORDED} = screen "
        "failure with no protocol criterion recorded"
    )


def choose_source(data: Any, protocol: Protocol | str = "NCT07103668") -> str:
    """``"recorded"`` when the log has a reasons column and none of the columns the
    protocol's rules read; else ``"computed"``.

    >>> import pandas as pd
    >>> choose_source(pd.DataFrame({"fail_reasons": ["I1"]}))
    'recorded'
    >>> choose_source(pd.DataFrame({"fail_reasons": ["I1"], "spo2": [99.0]}))
    'computed'
    """
    protocol = get_protocol(protocol)
    frame, _, _ = _unwrap(data)
    if REASONS_COLUMN not in frame.columns:
        return "computed"
    needed = set().union(*(protocol.columns_needed(c.id) for c in protocol.criteria))
    return "computed" if needed & set(frame.columns) else "recorded"


def has_both_sources(data: Any, protocol: Protocol | str = "NCT07103668") -> bool:
    """True when the log has a reasons column AND a column the protocol's rules read, so
    that :func:`screenkit.concordance.concordance` can compare the two.

    >>> import pandas as pd
    >>> has_both_sources(pd.DataFrame({"fail_reasons": ["E7"], "spo2": [94.0]}))
    True
    """
    protocol = get_protocol(protocol)
    frame, _, _ = _unwrap(data)
    return REASONS_COLUMN in frame.columns and choose_source(frame, protocol) == "computed"


def protocol_of(evaluation: Evaluation) -> Protocol:
    """The evaluation's protocol without the ``NR`` pseudo-criterion of recorded mode."""
    protocol = evaluation.protocol
    if evaluation.status_source != "recorded":
        return protocol
    return replace(protocol, criteria=tuple(c for c in protocol.criteria if c.id != NOT_RECORDED))


def evaluate_recorded(
    data: Any,
    protocol: Protocol | str = "NCT07103668",
    *,
    column: str = REASONS_COLUMN,
    include: Any = None,
) -> Evaluation:
    """The status frame of a recorded-reasons log (see the module docstring).

    Parameters
    ----------
    data : a :class:`~screenkit.normalize.ScreeningData` or a canonical DataFrame.
    protocol : the protocol whose criterion IDs and labels the reasons name.
    column : the reasons column of the canonical frame (default ``fail_reasons``).
    include : criteria marked ``default: off`` to switch on (as :func:`evaluate`).

    Returns
    -------
    Evaluation with ``status_source == "recorded"``, the protocol's criteria plus the
    pseudo-criterion ``NR``, and ``recorded`` (:class:`RecordedReasons`).
    """
    protocol = get_protocol(protocol).switched(include)
    frame, _, _ = _unwrap(data)
    if column not in frame.columns:
        raise InputError(
            f"The log has no reasons column {column!r}",
            file=getattr(data, "source", None),
            column=column,
            expected="one of the columns found: " + ", ".join(map(str, frame.columns)),
            hint="name the column holding the recorded screen-failure reasons with --reasons",
        )
    if NOT_RECORDED in protocol.ids:
        raise ProtocolError(
            f"Protocol {protocol.id} has a criterion {NOT_RECORDED!r}, the ID recorded-reasons "
            "mode gives to 'reason not recorded'",
            hint="rename that criterion in a copy of the protocol file",
        )
    ids = protocol.ids
    n, k = len(frame), len(ids)
    cells = frame[column]  # the loader's codes when it is the column as loaded
    codes, uniques = stripped_codes(cells, known_codes(getattr(data, "codes", None), column, cells))
    blank = codes < 0
    reader = ReasonReader(protocol)  # IDs and labels folded once, not once per cell
    per_cell, listed = reader.read_all(uniques, ids)
    cell_fails = np.zeros((len(uniques) + 1, k), bool)  # last row: the blank cell
    cell_fails[listed] = True  # (cell, criterion) of every protocol ID a cell lists
    codes = np.where(codes < 0, len(uniques), codes)
    nonblank = ~blank

    outcome_column = next((c for c in OUTCOME_COLUMNS if c in frame.columns), None)
    if outcome_column is not None:
        outcome = frame[outcome_column].astype("boolean")
        said_no = outcome.eq(False).fillna(False).to_numpy(bool)
        said_yes = outcome.eq(True).fillna(False).to_numpy(bool)
        outcome_unknown = outcome.isna().to_numpy()
    else:
        said_no = said_yes = np.zeros(n, bool)
        outcome_unknown = np.zeros(n, bool)
    all_fails, unknown, nr_fail = recorded_words(
        cell_fails, codes, reported=nonblank, screen_failed=said_no,
        outcome_unknown=outcome_unknown,
    )  # fmt: skip

    # the cells with anything beside protocol IDs, once (of 10,630 distinct cells in a
    # 200,000-row log a few hundred); the rest add nothing to the tables below
    read = [(u, reading) for u, reading in enumerate(per_cell) if any(reading)]
    patients_per_cell = np.bincount(codes, minlength=len(uniques) + 1)
    nr_per_cell = np.bincount(codes, weights=nr_fail, minlength=len(uniques) + 1)
    recorded = RecordedReasons(
        column=column,
        outcome_column=outcome_column,
        not_recorded=int(nr_fail.sum()),
        conflicts=int((said_yes & nonblank).sum()),
        unknown_ids=unknown_id_table(read, patients_per_cell, nr_per_cell, ids),
        unmatched_text=tally(
            [(t,) for _, (_, _, texts, _) in read for t in texts],
            [patients_per_cell[u] for u, (_, _, texts, _) in read for _ in texts],
            ["text"],
        ),
        label_matches=tally(
            [m for _, (_, _, _, matches) in read for m in matches],
            [patients_per_cell[u] for u, (_, _, _, ms) in read for _ in ms],
            ["text", "criterion"],
        ),
    )
    return recorded_evaluation(frame, protocol, None, all_fails, unknown, recorded, data)


def recorded_evaluation(
    frame: pd.DataFrame,
    protocol: Protocol,
    statuses: pd.DataFrame | None,
    fails: np.ndarray,
    unknown: np.ndarray,
    recorded: RecordedReasons,
    source: Any = None,
) -> Evaluation:
    """The :class:`~screenkit.evaluate.Evaluation` of recorded mode from
    :func:`recorded_statuses`' parts (``fails`` / ``unknown`` bool) or
    :func:`recorded_words`' (bit-packed uint64, ``statuses`` None: built from them on
    first use): ``protocol`` plus the ``NR`` pseudo-criterion,
    ``status_source == "recorded"``."""
    extended = replace(protocol, criteria=(*protocol.criteria, _not_recorded_criterion()))
    packed = fails.dtype == np.uint64
    return Evaluation(
        data=frame,
        protocol=extended,
        parameters=protocol.parameter_values(),
        statuses=statuses,
        derived=pd.DataFrame(index=frame.index),
        missing_columns={cid: () for cid in extended.ids},
        source=source if frame is not source else None,
        not_applicable=None,
        _fails=None if packed else fails,
        _unknown=None if packed else unknown,
        status_source="recorded",
        recorded=recorded,
        fail_words=fails if packed else None,
        unknown_words=unknown if packed else None,
    )


def recorded_rule(text: str) -> Rule:
    """A rule for a criterion whose status comes from a record, never evaluated; ``text``
    says where the record comes from (it stands where a rule's text would)."""
    return Rule(
        text=text,
        tree=ast.parse("False", mode="eval"),
        kind="truth",
        columns=frozenset(),
        parameters=frozenset(),
        derived=frozenset(),
    )


def _not_recorded_criterion() -> Criterion:
    """The ``NR`` pseudo-criterion; its rule is never evaluated (the text says why)."""
    rule = recorded_rule(
        "(recorded: a screen failure with no protocol criterion in the reasons column)"
    )
    return Criterion(
        id=NOT_RECORDED,
        kind="exclusion",
        label=NOT_RECORDED_LABEL,
        rule=rule,
        source="screenkit recorded-reasons mode (not a protocol criterion)",
    )
