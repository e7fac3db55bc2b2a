"""Reading a protocol file: the schema, its validation and the compiled criteria.

:func:`load_protocol` reads a YAML file (or a parsed mapping), checks it against the
schema with pydantic (:func:`validate_spec`: every problem named with its place in the
file) and compiles each rule with :mod:`screenkit.grammar` into the objects of
:mod:`screenkit.protocol_model`. The file format is described in :mod:`screenkit.protocol`.

>>> p = load_protocol({"id": "X1", "parameters": {"age_min": {"value": 18, "min": 0,
...     "max": 30}}, "criteria": [{"id": "I1", "kind": "inclusion",
...     "label": "Age >= {age_min:g}", "rule": "age_years >= age_min", "source": "x"}]})
>>> p.criteria[0].label, p.parameters["age_min"].criteria
('Age >= 18', ('I1',))
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from string import Formatter
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from screenkit.errors import ProtocolError
from screenkit.grammar import compile_rule
from screenkit.protocol_model import Criterion, Derived, Parameter, Protocol, render_label
from screenkit.yamlsafe import read_yaml

__all__ = ["load_protocol", "shipped_files", "validate_spec"]

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


class _DeclinePriorSpec(BaseModel):
    """``decline_prior: {mean: 0.035, sd: 0.05}``: the forecast's normal prior on the
    monthly screening decline (fractions per month), e.g. from a sponsor's earlier trials."""

    model_config = ConfigDict(extra="forbid")
    mean: float = Field(allow_inf_nan=False)
    sd: float = Field(gt=0, allow_inf_nan=False)

    @field_validator("mean")
    @classmethod
    def _in_grid(cls, value: float) -> float:
        from screenkit.forecast.uncertainty import CHANGE_RANGE  # the posterior's grid

        lo, hi = CHANGE_RANGE
        if not lo <= value <= hi:
            raise ValueError(
                f"the mean monthly decline must be from {lo:g} to {hi:g} (a fraction per "
                f"month, negative = rising screening; e.g. 0.035 for 3.5%), not {value:g}"
            )
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
    decline_prior: _DeclinePriorSpec | None = None
    notes: str = ""
    parameters: dict[str, _ParameterSpec] = {}
    derived: dict[str, _DerivedSpec] = {}
    criteria: list[_CriterionSpec] = Field(min_length=1)

    @field_validator("decline_prior", mode="before")
    @classmethod
    def _prior_mapping(cls, value):
        if value is not None and not isinstance(value, Mapping):
            raise ValueError(
                "decline_prior must be a mapping of the mean and SD of the monthly decline "
                "(fractions per month), e.g. {mean: 0.035, sd: 0.05}"
            )
        return value


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
                f"shipped protocols: {', '.join(sorted(shipped_files()))}",
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
        decline_prior=(
            None if spec.decline_prior is None else (spec.decline_prior.mean, spec.decline_prior.sd)
        ),
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
        render_label(c.label, values),
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
        render_label(template, values)
    except ValueError as err:
        raise ProtocolError(
            f"Criterion {cid} label cannot show its parameters",
            protocol=where,
            detail=str(err),
            hint="use a number format such as {name:g} or {name:.1f}",
        ) from None


def shipped_files() -> dict[str, resources.abc.Traversable]:
    """The protocol files shipped with screenkit, by registry ID (file name without
    ``.yaml``); :mod:`screenkit.protocol` loads them by ID."""
    folder = resources.files("screenkit") / "protocols"
    return {
        entry.name.removesuffix(".yaml"): entry
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    }
