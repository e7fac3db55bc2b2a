"""Check a protocol (or amendment) file and list every problem at once.

:func:`load_protocol` stops at the first problem that prevents building a protocol;
:func:`check_protocol` goes on, as pandera's lazy validation does, and returns one row per
problem: ``file``, ``line`` (1-based, of the key the problem is about; ``<NA>`` when the
file has no such key, e.g. a required field that is missing: then the line of the entry
that lacks it), ``criterion`` (its ID, empty for a problem outside the criteria),
``place`` (the key path, e.g. ``criteria.3.rule``) and ``problem``. An empty frame means
the file loads. ``screenkit protocol check FILE`` prints it.

>>> from pathlib import Path
>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "p.yaml"
>>> _ = path.write_text('''id: X
... parameters:
...   lim: {value: 5, min: 1, max: 10}
... criteria:
...   - {id: I1, kind: inclusion, label: A, rule: "spo2 >= lim", source: s}
...   - {id: I2, kind: inclusion, label: B, rule: "nonsense_column", source: s}
...   - {id: I3, kind: inclushun, label: C, rule: "spo2 > 90", source: s}
... ''')
>>> check_protocol(path)[["line", "criterion", "place"]].values.tolist()
[[6, 'I2', 'criteria.1.rule'], [7, 'I3', 'criteria.2.kind']]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import yaml
from pydantic import ValidationError

from screenkit.errors import ScreenkitError
from screenkit.yamlsafe import read_yaml

__all__ = ["check_protocol"]

_COLUMNS = ["file", "line", "criterion", "place", "problem"]


def check_protocol(path: str | Path) -> pd.DataFrame:
    """Every problem of the protocol or amendment file ``path`` (see the module doc)."""
    from screenkit.amendment import _AmendmentSpec, load_amendment
    from screenkit.errors import ProtocolError
    from screenkit.protocol_file import _build, _ProtocolSpec

    path = Path(path)
    rows: list[dict] = []

    def add(place: tuple, criterion: str, problem: str, lines=None) -> None:
        rows.append(
            {
                "file": str(path),
                "line": _line(lines or {}, place),
                "criterion": criterion,
                "place": ".".join(map(str, place)),
                "problem": problem,
            }
        )

    try:
        raw = read_yaml(path, what="Protocol file", error=ProtocolError)
    except ScreenkitError as err:
        add((), "", str(err))
        return _frame(rows)
    lines = _key_lines(path)
    if not isinstance(raw, Mapping):
        add((), "", "the file must hold a mapping at the top (id:, criteria:, ...)", lines)
        return _frame(rows)
    amendment = "amends" in raw and "criteria" not in raw
    model = _AmendmentSpec if amendment else _ProtocolSpec
    try:
        spec = model.model_validate(dict(raw))
        dropped = False
    except ValidationError as err:
        for e in err.errors():
            place = tuple(e["loc"])
            add(place, _criterion_at(raw, place), e["msg"], lines)
        rest = None if amendment else _without_bad_criteria(model, raw, err)
        if rest is None:
            return _frame(rows)
        spec, dropped = rest
    if amendment:
        try:
            load_amendment(raw, str(path))
        except ScreenkitError as err:
            add((), "", str(err), lines)
        return _frame(rows)
    problems: list = []
    _build(spec, str(path), problems)
    kept = [i for i, _ in dropped] if dropped else None
    for place, criterion, message in problems:
        if dropped and "no criterion uses" in message:
            continue  # a parameter may be used by a criterion that could not be read
        if kept is not None and place[:1] == ("criteria",) and len(place) > 1:
            place = ("criteria", kept[place[1]], *place[2:])  # back to the file's numbering
        add(place, criterion, message, lines)
    return _frame(rows)


def _without_bad_criteria(model, raw: Mapping, err: ValidationError):
    """The spec without the criteria pydantic refused, to check the others too; returns
    ``(spec, kept)`` with ``kept`` the list of ``(file index, item)``, or ``None`` when the
    problems are outside the criteria."""
    bad = {e["loc"][1] for e in err.errors() if len(e["loc"]) > 1 and e["loc"][0] == "criteria"}
    if any(not (len(e["loc"]) > 1 and e["loc"][0] == "criteria") for e in err.errors()):
        return None
    items = raw.get("criteria")
    kept = [(i, c) for i, c in enumerate(items) if i not in bad]
    if not kept:
        return None
    try:
        return model.model_validate({**raw, "criteria": [c for _, c in kept]}), kept
    except ValidationError:
        return None


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    frame["line"] = frame["line"].astype("Int64")
    return frame.sort_values("line", kind="stable", na_position="first").reset_index(drop=True)


def _criterion_at(raw: Mapping, place: tuple) -> str:
    """The ID of the criterion a key path is inside (``criteria.3.rule`` -> its id)."""
    if len(place) >= 2 and place[0] in ("criteria", "add", "replace"):
        items = raw.get(place[0])
        if isinstance(items, list) and isinstance(place[1], int) and place[1] < len(items):
            item = items[place[1]]
            if isinstance(item, Mapping):
                return str(item.get("id", ""))
    return ""


def _line(lines: dict[tuple, int], place: tuple) -> int | None:
    """The line of the longest prefix of ``place`` that the file has."""
    for n in range(len(place), 0, -1):
        if place[:n] in lines:
            return lines[place[:n]]
    return None


def _key_lines(path: Path) -> dict[tuple, int]:
    """Key path -> 1-based line, from the YAML node tree (keys of mappings, items of lists)."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8-sig"), Loader=yaml.SafeLoader)
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return {}
    out: dict[tuple, int] = {}

    def walk(node, prefix: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = (*prefix, key.value)
                out[here] = key.start_mark.line + 1
                walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                out[(*prefix, i)] = item.start_mark.line + 1
                walk(item, (*prefix, i))

    if root is not None:
        walk(root, ())
    return out
