"""The protocol as an object: criteria, parameters, derived values and their labels.

:class:`Protocol` and its parts are immutable; :mod:`screenkit.protocol_file` builds them
from a protocol file and :mod:`screenkit.protocol` finds the shipped ones. A criterion's
label may name parameters (``{lesion_max_cm:g}``); :func:`render_label` shows the values
in force, so :meth:`Protocol.with_parameters` relabels every criterion.

>>> render_label("Largest lesion <= {lesion_max_cm:g} cm", {"lesion_max_cm": 7.0})
'Largest lesion <= 7 cm'
>>> render_label("Protein < {protein_max:dipstick}", {"protein_max": 2.0})
'Protein < 2+'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import pandas as pd

from screenkit.errors import ProtocolError
from screenkit.grammar import Rule

__all__ = ["Criterion", "Derived", "Parameter", "Protocol", "render_label"]


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
    #: the forecast's prior on the monthly screening decline, ``(mean, sd)`` per month, from
    #: the file's ``decline_prior:`` (``None``: the forecast's defaults); see
    #: :mod:`screenkit.forecast.prior`
    decline_prior: tuple[float, float] | None = None
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

        >>> from screenkit.protocol import get_protocol
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

        >>> from screenkit.protocol import get_protocol
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

        >>> from screenkit.protocol import get_protocol
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

        >>> from screenkit.protocol import get_protocol
        >>> relaxed = get_protocol("NCT07103668").with_parameters(lesion_max_cm=7)
        >>> relaxed.parameters["lesion_max_cm"].value
        7.0
        """
        values = self.check_parameters(overrides)
        params = {n: replace(p, value=values[n]) for n, p in self.parameters.items()}

        def relabel(criteria):
            return tuple(
                replace(c, label=render_label(c.label_template or c.label, values))
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

        >>> from screenkit.protocol import get_protocol
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


def render_label(template: str, values: Mapping[str, float]) -> str:
    """The label with the current parameter values (``{lesion_max_cm:g}`` -> ``7``)."""
    return template.format_map({k: _LabelValue(v) for k, v in values.items()})
