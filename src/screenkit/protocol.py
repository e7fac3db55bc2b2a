"""Protocols as data: YAML files listing a trial's atomic eligibility criteria.

A protocol file (see ``protocols/NCT07103668.yaml``) has::

    id: NCT07103668
    title: ...
    version: ...
    target: 150                  # patients to randomize (for forecasts and reports)
    decline_prior: {mean: 0.035, sd: 0.05}   # optional: the forecast's prior on the
                                 # monthly screening decline (e.g. from earlier trials)
    parameters:                  # every threshold a user may change, with a range
      lesion_max_cm: {value: 5, unit: cm, min: 2, max: 10, step: 0.5, label: ...}
    derived:                     # named values computed from columns, shown to users
      crcl_cg: {rule: "crcl_cockcroft_gault(age_years, weight_kg, creat, sex)", unit: mL/min}
    criteria:
      - id: I5b
        kind: inclusion          # or exclusion
        label: Largest lesion <= {lesion_max_cm:g} cm   # shows the value in force
        rule: largest_lesion_cm <= lesion_max_cm
        source: "Inclusion 5 of the registry record"
      - id: E1
        kind: exclusion
        label: Pregnant or breastfeeding
        applies: sex == "F"      # optional: whom the criterion concerns
        rule: pregnant_or_breastfeeding

``applies`` (optional) is a yes/no condition saying whom a criterion concerns. Where it is
known False the criterion is **not applicable** and passes whatever the rule's cells hold
(a man's blank pregnancy cell); where it is True the rule decides; where it is unknown
(sex not recorded) the criterion passes only if the rule passes, else it is unknown.
``Evaluation.not_applicable`` shows which patients passed that way.

For an **inclusion** the rule is the condition a patient must meet; for an **exclusion**
it is the condition that excludes, as the protocol writes it. Either way the evaluated
column is True when the patient passes. Rules use the grammar of :mod:`screenkit.grammar`
(never ``eval``). Files are validated with pydantic; every problem is reported with its
place in the file.

This module is the registry of shipped protocols (:func:`get_protocol`,
:func:`list_protocols`) and the public home of the names below; the objects live in
:mod:`screenkit.protocol_model`, reading and checking a file in
:mod:`screenkit.protocol_file`.

>>> protocol = get_protocol("NCT07103668")
>>> protocol.criteria[0].id, protocol.criteria[0].label
('I1', 'Age >= 18 years')
>>> protocol.parameters["spo2_max_excluded_pct"].value
95.0
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from screenkit.errors import ProtocolError
from screenkit.protocol_file import load_protocol, shipped_files, validate_spec
from screenkit.protocol_model import Criterion, Derived, Parameter, Protocol

__all__ = [
    "Criterion",
    "Derived",
    "Parameter",
    "Protocol",
    "get_protocol",
    "list_protocols",
    "load_protocol",
    "validate_spec",
]


#: the shipped protocol files by registry ID (the loader knows where they lie)
_shipped = shipped_files


def list_protocols() -> list[str]:
    """Registry IDs of the protocols shipped with screenkit.

    >>> list_protocols()
    ['CT041-ST-01', 'NCT07103668', 'NCT07103668-A1']
    """
    return sorted(_shipped())


@cache
def _shipped_protocol(protocol_id: str) -> Protocol:
    entry = _shipped()[protocol_id]
    with resources.as_file(entry) as path:
        return load_protocol(path)


def get_protocol(protocol: str | Path | Protocol = "NCT07103668") -> Protocol:
    """A shipped protocol by registry ID, or a protocol file by path.

    >>> get_protocol("NCT07103668").target
    150
    """
    if isinstance(protocol, Protocol):
        return protocol
    key = str(protocol)
    shipped = _shipped()
    if key in shipped:
        return _shipped_protocol(key)
    upper = {k.upper(): k for k in shipped}
    if key.upper() in upper:
        return _shipped_protocol(upper[key.upper()])
    if Path(key).suffix.lower() in (".yaml", ".yml") or Path(key).exists():
        return load_protocol(key)
    raise ProtocolError(
        f"No shipped protocol {key!r} and no such protocol file",
        accepted=", ".join(sorted(shipped)) + ", or the path of a .yaml protocol file",
    )
