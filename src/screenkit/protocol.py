"""Protocols as data: YAML files listing a trial's atomic eligibility criteria.

A protocol file (see ``protocols/NCT07103668.yaml``) has::

    id: NCT07103668
    title: ...
    version: ...
    target: 150                  # patients to randomize (for forecasts and reports)
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

>>> protocol = get_protocol("NCT07103668")
>>> protocol.criteria[0].id, protocol.criteria[0].label
('I1', 'Age >= 18 years')
>>> protocol.parameters["spo2_max_excluded_pct"].value
95.0
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from string import Formatter
from typing import Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from screenkit.errors import ProtocolError
from screenkit.grammar import Rule, compile_rule
from screenkit.yamlsafe import read_yaml

__all__ = [
    "Criterion",
    "Derived",
    "Parameter",
    "Protocol",
    "get_protocol",
    "list_protocols",
    "load_protocol",
]

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# ---------------------------------------------------------------- file schema (pydantic)
class _ParameterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: float
    unit: str | None = None
    min: float
    max: float
    step: float | None = None
    label: str = ""

    @model_validator(mode="after")
    def _range(self):
        if not self.min <= self.value <= self.max:
            raise ValueError(f"value {self.value} is outside min..max ({self.min}..{self.max})")
        return self


class _DerivedSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: str
    unit: str | None = None
    label: str = ""


class _CriterionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=_ID.pattern)
    kind: Literal["inclusion", "exclusion"]
    label: str = Field(min_length=1)
    rule: str = Field(min_length=1)
    applies: str | None = None
    source: str = Field(min_length=1)
    notes: str = ""
    default: Literal["on", "off"] = "on"

    @field_validator("default", mode="before")
    @classmethod
    def _on_off(cls, value):
        # YAML 1.1 reads a bare `off` / `on` as False / True
        if value is True or value is False:
            return "on" if value else "off"
        return value


class _ProtocolSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    amends: str | None = None
    title: str = ""
    version: str = ""
    registry: str = ""
    target: int | None = None
    start_date: str | None = None
    primary_completion: str | None = None
    notes: str = ""
    parameters: dict[str, _ParameterSpec] = {}
    derived: dict[str, _DerivedSpec] = {}
    criteria: list[_CriterionSpec] = Field(min_length=1)


# ---------------------------------------------------------------- public objects
@dataclass(frozen=True)
class Parameter:
    """A named threshold: its protocol value, unit and the range a user may explore."""

    name: str
    value: float
    unit: str | None
    min: float
    max: float
    step: float | None
    label: str
    criteria: tuple[str, ...] = ()  # IDs of the criteria whose rules use it

    def allows(self, value: float) -> bool:
        """Whether ``value`` lies in the declared range (``--allow-outside-range`` lets a
        value outside it through; every output then says so)."""
        return self.min <= value <= self.max

    @property
    def declared_range(self) -> str:
        """``"1 to 10"``: the declared range as every message writes it."""
        return f"{self.min:g} to {self.max:g}"


@dataclass(frozen=True)
class Derived:
    """A value computed from columns (e.g. Cockcroft-Gault CrCl), usable in rules."""

    name: str
    rule: Rule
    unit: str | None
    label: str


@dataclass(frozen=True)
class Criterion:
    """One atomic criterion: one funnel row, one status column."""

    id: str
    kind: Literal["inclusion", "exclusion"]
    label: str
    rule: Rule
    source: str
    notes: str = ""
    label_template: str = ""  # the label as written, e.g. "Largest lesion <= {lesion_max_cm:g} cm"
    applies: Rule | None = None  # whom the criterion concerns (None: everyone)
    on_by_default: bool = True  # False: left out unless switched on (``include=[...]``)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rule, and the ``applies`` condition when there is one."""
        return (self.rule,) if self.applies is None else (self.rule, self.applies)

    @property
    def columns(self) -> frozenset[str]:
        """Canonical columns the criterion reads (directly, not through derived values)."""
        return frozenset().union(*(r.columns for r in self.rules))

    @property
    def parameters(self) -> frozenset[str]:
        """Parameters the criterion uses directly (not through derived values)."""
        return frozenset().union(*(r.parameters for r in self.rules))

    @property
    def derived(self) -> frozenset[str]:
        """Derived values the criterion uses directly."""
        return frozenset().union(*(r.derived for r in self.rules))


@dataclass(frozen=True)
class Protocol:
    """A trial's eligibility criteria, parameters and derived values (immutable).

    Use :meth:`with_parameters` for a copy with other thresholds; the original is
    never changed.
    """

    id: str
    title: str
    version: str
    criteria: tuple[Criterion, ...]
    parameters: Mapping[str, Parameter]
    derived: Mapping[str, Derived] = field(default_factory=dict)
    target: int | None = None
    start_date: str | None = None
    primary_completion: str | None = None
    registry: str = ""
    notes: str = ""
    path: str | None = None
    #: criteria left out of this protocol (off by default and not switched on), see
    #: :meth:`switched`; every output names them
    criteria_off: tuple[Criterion, ...] = ()
    #: the IDs switched on by :meth:`switched` (``None``: not switched yet)
    included: tuple[str, ...] | None = None
    #: the registry ID of the protocol this one amends (see :mod:`screenkit.amendment`)
    amends: str | None = None
    #: the validated file contents, for :meth:`amend` (not part of equality)
    spec: Mapping | None = field(default=None, repr=False, compare=False)
    #: the protocol's own parameter values, kept by :meth:`with_parameters` (None until a
    #: threshold is changed); :meth:`changed_parameters` compares with them
    defaults: Mapping[str, float] | None = field(default=None, repr=False, compare=False)

    @property
    def ids(self) -> list[str]:
        """Criterion IDs in protocol order (not those left out by :meth:`switched`)."""
        return [c.id for c in self.criteria]

    @property
    def all_criteria(self) -> tuple[Criterion, ...]:
        """Every criterion of the file in file order, those left out included."""
        if not self.criteria_off:
            return self.criteria
        order = {cid: i for i, cid in enumerate(self._file_order)}
        every = (*self.criteria, *self.criteria_off)
        return tuple(sorted(every, key=lambda c: order.get(c.id, len(order))))

    @property
    def _file_order(self) -> list[str]:
        if self.spec is not None:
            return [c["id"] for c in self.spec["criteria"]]
        return [c.id for c in (*self.criteria, *self.criteria_off)]

    @property
    def off_by_default(self) -> list[str]:
        """IDs of the criteria the file marks ``default: off``.

        >>> get_protocol("CT041-ST-01").off_by_default
        ['I4', 'I5']
        """
        return [c.id for c in self.all_criteria if not c.on_by_default]

    def switched(self, include: Iterable[str] | None = None) -> Protocol:
        """The protocol as evaluated: criteria marked ``default: off`` are left out
        (listed in :attr:`criteria_off`) unless their ID is in ``include``.

        ``include=None`` keeps a protocol that was already switched as it is. An ID that
        is not a criterion raises :class:`ProtocolError` listing the IDs; including a
        criterion that is on by default changes nothing.

        >>> ct041 = get_protocol("CT041-ST-01")
        >>> [c.id for c in ct041.switched().criteria_off]
        ['I4', 'I5']
        >>> [c.id for c in ct041.switched(["I4"]).criteria_off]
        ['I5']
        """
        if include is None and self.included is not None:
            return self
        include = list(dict.fromkeys(include or ()))
        every = self.all_criteria
        known = [c.id for c in every]
        for cid in include:
            if cid not in known:
                raise ProtocolError(
                    f"Protocol {self.id} has no criterion {cid!r} to switch on",
                    accepted=", ".join(known),
                )
        kept = tuple(c for c in every if c.on_by_default or c.id in include)
        off = tuple(c for c in every if not (c.on_by_default or c.id in include))
        on = tuple(cid for cid in include if cid in self.off_by_default)
        return replace(self, criteria=kept, criteria_off=off, included=on)

    def amend(self, **changes) -> Protocol:
        """An amended protocol; see :func:`screenkit.amendment.amend` for the arguments.

        >>> a1 = get_protocol("NCT07103668").amend(
        ...     id="X-A1", version="A1", parameters={"lesion_max_cm": 7}, remove=["E26"])
        >>> a1.parameters["lesion_max_cm"].value, "E26" in a1.ids, a1.amends
        (7.0, False, 'NCT07103668')
        """
        from screenkit.amendment import amend

        return amend(self, **changes)

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise ProtocolError(
            f"Protocol {self.id} has no criterion {criterion_id!r}",
            accepted=", ".join(self.ids),
        )

    def columns_needed(self, criterion_id: str) -> frozenset[str]:
        """Canonical columns a criterion needs, including through derived values."""
        c = self.criterion(criterion_id)
        cols = set(c.columns)
        todo, seen = list(c.derived), set()
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                cols |= self.derived[name].rule.columns
                todo += list(self.derived[name].rule.derived)
        return frozenset(cols)

    def parameter_values(self) -> dict[str, float]:
        return {name: p.value for name, p in self.parameters.items()}

    def check_parameters(self, overrides: Mapping[str, float]) -> dict[str, float]:
        """Validate overrides; returns the full name -> value mapping."""
        values = self.parameter_values()
        for name, value in overrides.items():
            if name not in self.parameters:
                raise ProtocolError(
                    f"Protocol {self.id} has no parameter {name!r}",
                    accepted=", ".join(self.parameters),
                )
            try:
                values[name] = float(value)
            except (TypeError, ValueError):
                raise ProtocolError(
                    f"Parameter {name!r} needs a number", value=value, parameter=name
                ) from None
        return values

    def with_parameters(self, **overrides: float) -> Protocol:
        """A copy whose parameters take new default values.

        >>> relaxed = get_protocol("NCT07103668").with_parameters(lesion_max_cm=7)
        >>> relaxed.parameters["lesion_max_cm"].value
        7.0
        """
        values = self.check_parameters(overrides)
        params = {n: replace(p, value=values[n]) for n, p in self.parameters.items()}

        def relabel(criteria):
            return tuple(
                replace(c, label=_render_label(c.label_template or c.label, values))
                for c in criteria
            )

        return replace(
            self,
            parameters=params,
            criteria=relabel(self.criteria),
            criteria_off=relabel(self.criteria_off),
            defaults=self.parameter_values() if self.defaults is None else self.defaults,
        )

    def changed_parameters(self) -> dict[str, tuple[float, float]]:
        """``{name: (the protocol's own value, the value now)}`` for each threshold that
        :meth:`with_parameters` changed (the one place every output asks).

        >>> get_protocol("NCT07103668").with_parameters(lesion_max_cm=7).changed_parameters()
        {'lesion_max_cm': (5.0, 7.0)}
        >>> get_protocol("NCT07103668").with_parameters(lesion_max_cm=5).changed_parameters()
        {}
        """
        own = self.defaults or {}
        return {
            name: (own[name], p.value)
            for name, p in self.parameters.items()
            if name in own and own[name] != p.value
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per criterion: id, kind, label, rule, parameters (with values), source,
        and ``on`` (False for a criterion left out, see :meth:`switched`, or marked
        ``default: off`` in a protocol not yet switched)."""
        rows = []
        off = {c.id for c in self.criteria_off}
        for c in self.all_criteria:
            params = "; ".join(_shown(self.parameters[n]) for n in sorted(c.parameters))
            rows.append(
                {
                    "criterion": c.id,
                    "kind": c.kind,
                    "label": c.label,
                    "rule": c.rule.text,
                    "parameters": params,
                    "source": c.source,
                    "on": c.id not in off if self.included is not None else c.on_by_default,
                }
            )
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        head = f"<p><b>{self.id}</b> {self.title} ({len(self.criteria)} criteria)</p>"
        return head + self.to_frame().to_html(index=False)

    def __repr__(self) -> str:
        return f"Protocol({self.id!r}, {len(self.criteria)} criteria, {self.version!r})"


def _shown(p: Parameter) -> str:
    """``lesion_max_cm = 7 cm``; a value outside the declared range (``screenkit
    --allow-outside-range``) says so, so every table built from :meth:`Protocol.to_frame`
    (workbook, HTML report) shows it."""
    text = f"{p.name} = {p.value:g}" + (f" {p.unit}" if p.unit else "")
    if not p.allows(p.value):
        text += f" (OUTSIDE the declared range {p.declared_range})"
    return text


# ---------------------------------------------------------------- loading
def load_protocol(source: str | Path | Mapping) -> Protocol:
    """Load a protocol from a YAML file (or an already parsed mapping).

    Raises :class:`ProtocolError` naming the file, the place in it and the fix.
    """
    where = "<mapping>"
    if isinstance(source, Mapping):
        raw = dict(source)
    else:
        path = Path(source)
        where = str(path)
        if path.is_dir():
            raise ProtocolError(
                "Protocol path is a folder, not a file",
                protocol=where,
                hint="give the path of a .yaml protocol file",
            )
        if not path.is_file():
            raise ProtocolError(
                "Protocol file not found",
                protocol=where,
                hint="give a registry id such as NCT07103668 or the path of a .yaml file; "
                f"shipped protocols: {', '.join(list_protocols())}",
            )
        raw = read_yaml(path, what="Protocol file", error=ProtocolError)
        if not isinstance(raw, Mapping):
            raise ProtocolError("Protocol file must hold a mapping at the top", protocol=where)
    if "amends" in raw and "criteria" not in raw:
        from screenkit.amendment import load_amendment

        return load_amendment(raw, where)
    return _build(validate_spec(raw, where), where)


def validate_spec(raw: Mapping, where: str) -> _ProtocolSpec:
    """The pydantic check of a protocol mapping; every problem named with its place."""
    try:
        return _ProtocolSpec.model_validate(raw)
    except ValidationError as err:
        raise _validation_error(err, where, "Protocol file") from None


def _validation_error(err: ValidationError, where: str, what: str) -> ProtocolError:
    first = err.errors()[0]
    place = ".".join(str(p) for p in first["loc"])
    return ProtocolError(
        f"{what} has {err.error_count()} problem(s); the first is at {place}",
        protocol=where,
        problem=first["msg"],
        problems="; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        ),
    )


def _build(spec: _ProtocolSpec, where: str, problems: list | None = None) -> Protocol | None:
    """The :class:`Protocol` of a validated spec. With a ``problems`` list, every problem
    is appended to it as ``(place, criterion, message)`` instead of raising at the first
    (``place`` is the key path in the file), and ``None`` is returned if there was any."""
    found = len(problems) if problems is not None else 0

    def report(err: ProtocolError, place: tuple, criterion: str = "") -> None:
        if problems is None:
            raise err
        problems.append((place, criterion, str(err)))

    for section in ("parameters", "derived"):
        for name in getattr(spec, section):
            if not _NAME.match(name):
                report(
                    ProtocolError(
                        "Parameter and derived names must be lower_snake_case",
                        protocol=where,
                        found=name,
                    ),
                    (section, name),
                )
    values = {n: p.value for n, p in spec.parameters.items()}
    derived: dict[str, Derived] = {}
    derived_kinds: dict[str, str] = {}
    for name, d in spec.derived.items():
        try:
            rule = compile_rule(d.rule, values, derived_kinds, where=f"{where}: derived.{name}")
        except ProtocolError as err:
            report(err, ("derived", name, "rule"))
            continue
        derived[name] = Derived(name, rule, d.unit, d.label or name)
        derived_kinds[name] = rule.kind
    criteria = []
    seen: set[str] = set()
    for i, c in enumerate(spec.criteria):
        if c.id in seen:
            report(
                ProtocolError(
                    f"Criterion id {c.id!r} appears twice", protocol=where, place=f"criteria.{i}"
                ),
                ("criteria", i, "id"),
                c.id,
            )
            continue
        seen.add(c.id)
        try:
            criteria.append(_criterion(c, values, derived_kinds, where, i))
        except _Located as err:
            report(err.error, ("criteria", i, err.field), c.id)
    # parameters a derived value depends on, through earlier derived values too (a derived
    # rule may use only the ones above it, so one pass in file order closes the chain)
    derived_params: dict[str, set[str]] = {}
    for name, d in derived.items():
        derived_params[name] = set(d.rule.parameters).union(
            *(derived_params.get(e, set()) for e in d.rule.derived)
        )
    used_by: dict[str, list[str]] = {n: [] for n in spec.parameters}
    for c in criteria:
        names = set(c.parameters).union(*(derived_params.get(d, set()) for d in c.derived))
        for n in sorted(names):
            used_by[n].append(c.id)
    complete = len(criteria) == len(spec.criteria) and len(derived) == len(spec.derived)
    unused = [n for n, ids in used_by.items() if not ids] if complete else []
    for n in unused if problems is not None else unused[:1]:
        report(
            ProtocolError(
                "Protocol declares parameters no criterion uses",
                protocol=where,
                found=", ".join(unused) if problems is None else n,
            ),
            ("parameters", n),
        )
    if problems is not None and len(problems) > found:
        return None
    parameters = {
        n: Parameter(n, p.value, p.unit, p.min, p.max, p.step, p.label or n, tuple(used_by[n]))
        for n, p in spec.parameters.items()
    }
    return Protocol(
        id=spec.id,
        title=spec.title,
        version=spec.version,
        criteria=tuple(criteria),
        parameters=parameters,
        derived=derived,
        target=spec.target,
        start_date=spec.start_date,
        primary_completion=spec.primary_completion,
        registry=spec.registry,
        notes=spec.notes,
        path=None if where == "<mapping>" else where,
        amends=spec.amends,
        spec=spec.model_dump(),
    )


class _Located(Exception):
    """A criterion's :class:`ProtocolError` with the field of the file it is about."""

    def __init__(self, error: ProtocolError, field: str):
        super().__init__(str(error))
        self.error, self.field = error, field


def _criterion(c: _CriterionSpec, values, derived_kinds, where: str, i: int) -> Criterion:
    """One criterion compiled; a problem raises :class:`_Located` naming its field."""

    def truth(text: str, field: str, place: str, named: str):
        """``text`` compiled as a yes/no condition; a problem is located at ``field``."""
        try:
            compiled = compile_rule(text, values, derived_kinds, where=f"{where}: {place}")
        except ProtocolError as err:
            raise _Located(err, field) from None
        if compiled.kind != "truth":
            raise _Located(
                ProtocolError(
                    f"Criterion {c.id} {named} must be a yes/no condition, not a number",
                    protocol=where,
                    rule=text,
                ),
                field,
            )
        return compiled

    rule = truth(c.rule, "rule", f"criterion {c.id}", "rule")
    applies = None
    if c.applies is not None:
        applies = truth(c.applies, "applies", f"criterion {c.id} applies", "'applies'")
    try:
        _check_label(c.label, values, where, c.id)
    except ProtocolError as err:
        raise _Located(err, "label") from None
    return Criterion(
        c.id,
        c.kind,
        _render_label(c.label, values),
        rule,
        c.source,
        c.notes,
        c.label,
        applies=applies,
        on_by_default=c.default == "on",
    )


def _check_label(template: str, values: Mapping[str, float], where: str, cid: str) -> None:
    """A label may name parameters in braces (``{lesion_max_cm:g}``) and nothing else."""
    try:
        fields = [f for _, f, _, _ in Formatter().parse(template) if f is not None]
    except ValueError as err:
        raise ProtocolError(
            f"Criterion {cid} label has unbalanced braces", protocol=where, detail=str(err)
        ) from None
    for name in fields:
        if name not in values:
            raise ProtocolError(
                f"Criterion {cid} label names {{{name}}}, which is not a parameter",
                protocol=where,
                accepted=", ".join(values) or "(no parameters)",
                hint="write {parameter_name} or {parameter_name:g}; use {{ and }} for braces",
            )
    try:
        _render_label(template, values)
    except ValueError as err:
        raise ProtocolError(
            f"Criterion {cid} label cannot show its parameters",
            protocol=where,
            detail=str(err),
            hint="use a number format such as {name:g} or {name:.1f}",
        ) from None


#: largest width / precision a label format may ask for ({name:>40}, {name:.6f})
_MAX_LABEL_WIDTH = 40


class _LabelValue(float):
    """A parameter value in a label: any float format, plus ``:dipstick`` for urine
    dipstick grades (0 -> ``neg``, 0.5 -> ``trace``, 2 -> ``2+``)."""

    def __format__(self, spec: str) -> str:
        if spec == "dipstick":
            return {0.0: "neg", 0.5: "trace"}.get(float(self), f"{float(self):g}+")
        widths = [int(d) for d in re.findall(r"\d+", spec)]
        if len(spec) > 20 or any(w > _MAX_LABEL_WIDTH for w in widths):
            # '{p:>1000000000}' would build a gigabyte string
            raise ValueError(
                f"format {spec!r} asks for a width or precision above {_MAX_LABEL_WIDTH}"
            )
        return format(float(self), spec)


def _render_label(template: str, values: Mapping[str, float]) -> str:
    """The label with the current parameter values (``{lesion_max_cm:g}`` -> ``7``)."""
    return template.format_map({k: _LabelValue(v) for k, v in values.items()})


def _shipped() -> dict[str, resources.abc.Traversable]:
    folder = resources.files("screenkit") / "protocols"
    return {
        entry.name.removesuffix(".yaml"): entry
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    }


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
