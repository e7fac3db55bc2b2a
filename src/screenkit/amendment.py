"""Protocol amendments: a protocol derived from another, and the diff of two protocols.

An amendment file names the protocol it amends and lists only what changes::

    amends: NCT07103668          # a shipped registry ID, or a protocol file next to this one
    id: NCT07103668-A1           # optional; default: "<amended id>-<version>"
    version: "Amendment 1"       # required: every output shows which version was evaluated
    parameters:
      lesion_max_cm: 7           # a new value (the declared range stays)
      spo2_max_excluded_pct: {value: 93, min: 85, max: 98}   # or fields of the parameter
      new_limit: {value: 3, min: 1, max: 5, unit: x ULN}     # a parameter for an added criterion
      old_limit: null            # dropped (with the criteria that used it)
    remove: [E26]                # criterion IDs
    replace:                     # whole criteria, same ID, same place in the funnel
      - {id: E7, kind: exclusion, label: ..., rule: ..., source: ...}
    add:                         # new criteria, after the amended protocol's own
      - {id: E27, kind: exclusion, label: ..., rule: ..., source: ...}

The result is checked exactly as a full protocol file is (rules, labels, unused
parameters), so an amendment can never produce a protocol that a full file could not.
:meth:`screenkit.protocol.Protocol.amend` does the same from Python and gives an equal
:class:`~screenkit.protocol.Protocol`.

>>> from screenkit.protocol import get_protocol
>>> a1 = get_protocol("NCT07103668-A1")
>>> a1.amends, a1.parameters["lesion_max_cm"].value, a1.parameters["spo2_max_excluded_pct"].value
('NCT07103668', 7.0, 93.0)
>>> diff = protocol_diff(get_protocol("NCT07103668"), a1)
>>> for row in diff.itertuples(index=False):
...     print(row.item, row.id, row.change, row.field, row.before, "->", row.after)
parameter lesion_max_cm changed value 5 -> 7
parameter spo2_max_excluded_pct changed value 95 -> 93
criterion I5b changed label Largest lesion <= 5 cm -> Largest lesion <= 7 cm
criterion E7 changed label SpO2 <= 95% on room air -> SpO2 <= 93% on room air
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from screenkit.errors import ProtocolError
from screenkit.protocol import Protocol, get_protocol
from screenkit.protocol_file import _build, _CriterionSpec, _validation_error, validate_spec

__all__ = ["amend", "load_amendment", "protocol_diff"]


class _AmendmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amends: str = Field(min_length=1)
    id: str | None = None
    version: str = Field(min_length=1)
    title: str | None = None
    notes: str | None = None
    target: int | None = None
    parameters: dict[str, float | dict[str, Any] | None] = {}
    remove: list[str] = []
    replace: list[_CriterionSpec] = []
    add: list[_CriterionSpec] = []


def load_amendment(raw: Mapping, where: str) -> Protocol:
    """An amendment mapping (read from ``where``) as the amended :class:`Protocol`."""
    try:
        spec = _AmendmentSpec.model_validate(dict(raw))
    except ValidationError as err:
        raise _validation_error(err, where, "Amendment file") from None
    base_ref = spec.amends
    if where != "<mapping>":
        beside = Path(where).parent / base_ref
        if beside.is_file():
            base_ref = str(beside)
    base = get_protocol(base_ref)
    return amend(
        base,
        id=spec.id,
        version=spec.version,
        title=spec.title,
        notes=spec.notes,
        target=spec.target,
        parameters=spec.parameters,
        remove=spec.remove,
        replace=[c.model_dump() for c in spec.replace],
        add=[c.model_dump() for c in spec.add],
        where=where,
    )


def amend(
    base: Protocol | str,
    *,
    version: str,
    id: str | None = None,
    title: str | None = None,
    notes: str | None = None,
    target: int | None = None,
    parameters: Mapping[str, float | Mapping | None] | None = None,
    remove: Iterable[str] = (),
    replace: Iterable[Mapping] = (),
    add: Iterable[Mapping] = (),
    where: str = "<amendment>",
) -> Protocol:
    """``base`` amended: parameters changed, criteria removed, replaced or added.

    ``parameters`` maps a name to a new value (a number), to fields of the parameter
    (``{"value": 93, "min": 80}``; a new parameter needs ``value``, ``min`` and ``max``),
    or to ``None`` to drop it. ``replace`` and ``add`` take whole criteria as a protocol
    file writes them. The base is never changed; its current parameter values (after
    :meth:`~screenkit.protocol.Protocol.with_parameters`) are the starting point.
    Raises :class:`~screenkit.errors.ProtocolError` naming the ID or parameter.
    """
    base = get_protocol(base)
    if base.spec is None:
        raise ProtocolError("Only a protocol loaded from a file or mapping can be amended")
    raw = copy.deepcopy(dict(base.spec))
    for name, p in base.parameters.items():
        raw["parameters"][name]["value"] = p.value
    raw["amends"] = base.id
    raw["version"] = version
    raw["id"] = id or f"{base.id}-{version}"
    for key, value in (("title", title), ("notes", notes), ("target", target)):
        if value is not None:
            raw[key] = value
    for name, change in (parameters or {}).items():
        if change is None:
            if name not in raw["parameters"]:
                raise _no(base, "parameter", name, raw["parameters"], "to drop")
            del raw["parameters"][name]
        elif isinstance(change, Mapping):
            raw["parameters"][name] = {**raw["parameters"].get(name, {}), **change}
        elif name not in raw["parameters"]:
            raise _no(base, "parameter", name, raw["parameters"], "to change")
        else:
            raw["parameters"][name]["value"] = change
    criteria = raw["criteria"]
    ids = [c["id"] for c in criteria]
    for cid in remove:
        if cid not in ids:
            raise _no(base, "criterion", cid, ids, "to remove")
    criteria = [c for c in criteria if c["id"] not in set(remove)]
    position = {c["id"]: i for i, c in enumerate(criteria)}
    for c in replace:
        c = dict(c)
        if c.get("id") not in position:
            raise _no(base, "criterion", c.get("id"), list(position), "to replace")
        criteria[position[c["id"]]] = c
    for c in add:
        c = dict(c)
        if c.get("id") in position:
            raise ProtocolError(
                f"Criterion {c['id']!r} to add is already in {base.id}",
                protocol=where,
                hint="list it under 'replace' to change it",
            )
        position[c["id"]] = len(criteria)
        criteria.append(c)
    raw["criteria"] = criteria
    return _build(validate_spec(raw, where), where)


def _no(base: Protocol, what: str, name, known, action: str) -> ProtocolError:
    return ProtocolError(
        f"Protocol {base.id} has no {what} {name!r} {action}",
        accepted=", ".join(known) or "(none)",
    )


_CRITERION_FIELDS = ("kind", "label", "rule", "applies", "source", "default")
_PARAMETER_FIELDS = ("value", "unit", "min", "max")


def protocol_diff(a: Protocol | str, b: Protocol | str) -> pd.DataFrame:
    """What changes from protocol ``a`` to ``b``: one row per parameter or criterion
    field changed, and per parameter or criterion added or removed.

    Columns: ``item`` (parameter / criterion), ``id``, ``change`` (changed / added /
    removed), ``field`` (which field changed; empty for added / removed), ``before``,
    ``after`` (text). A criterion whose label shows a changed parameter appears as
    changed (its label) beside the parameter. Off-by-default criteria count as the
    protocol's criteria (``default`` is one of the fields compared).
    """
    a, b = get_protocol(a), get_protocol(b)
    rows: list[dict[str, str]] = []

    def param_fields(p) -> dict[str, str]:
        return {
            "value": f"{p.value:g}",
            "unit": p.unit or "",
            "min": f"{p.min:g}",
            "max": f"{p.max:g}",
        }

    def crit_fields(c) -> dict[str, str]:
        return {
            "kind": c.kind,
            "label": c.label,
            "rule": c.rule.text,
            "applies": c.applies.text if c.applies is not None else "",
            "source": c.source,
            "default": "on" if c.on_by_default else "off",
        }

    def compare(item, before: dict, after: dict, fields, shown) -> None:
        for key in after:
            if key not in before:
                rows.append(_row(item, key, "added", "", "", shown(after[key])))
            else:
                old, new = fields(before[key]), fields(after[key])
                for name in old:
                    if old[name] != new[name]:
                        rows.append(_row(item, key, "changed", name, old[name], new[name]))
        for key in before:
            if key not in after:
                rows.append(_row(item, key, "removed", "", shown(before[key]), ""))

    compare("parameter", dict(a.parameters), dict(b.parameters), param_fields, _shown_param)
    crit_a = {c.id: c for c in a.all_criteria}
    crit_b = {c.id: c for c in b.all_criteria}
    compare("criterion", crit_a, crit_b, crit_fields, lambda c: c.label)
    return pd.DataFrame(rows, columns=["item", "id", "change", "field", "before", "after"])


def _shown_param(p) -> str:
    return f"{p.value:g}" + (f" {p.unit}" if p.unit else "")


def _row(item, key, change, name, before, after) -> dict[str, str]:
    return {
        "item": item,
        "id": key,
        "change": change,
        "field": name,
        "before": before,
        "after": after,
    }
