"""The :class:`Column` type of the canonical vocabulary, and the dtype of each kind.

The table itself lives beside this module, one file per clinical area (``patient``,
``labs``, ``vitals``, ``history``); :mod:`screenkit.columns` assembles it.

>>> hb = column("hb", "number", "Haemoglobin", "g/dL", "hgb", plausible=(2, 25))
>>> hb.aliases, hb.dtype
(('hgb',), 'Float64')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["DTYPES", "Column", "column"]

DTYPES = {
    "id": "string",
    "text": "string",
    "category": "string",
    "date": "datetime64[ns]",
    "number": "Float64",
    "ordinal": "Float64",
    "bool": "boolean",
}


@dataclass(frozen=True)
class Column:
    """One canonical column of the screening log."""

    name: str
    kind: str
    label: str
    unit: str | None = None
    aliases: tuple[str, ...] = ()
    scale: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    categories: tuple[str, ...] = ()
    plausible: tuple[float, float] | None = None
    integer: bool = False  # whole numbers only (ECOG, prior lines): 1.5 is implausible
    zero_words: bool = False  # "none" / "no" / "无" read as 0 (a steroid dose)
    doc: str = ""  # how to fill the column, and what spellings become

    @property
    def dtype(self) -> str:
        return DTYPES[self.kind]


def column(
    name: str, kind: str, label: str, unit: str | None = None, *aliases: str, **kw
) -> Column:
    """A :class:`Column`, aliases as positional arguments, ``scale`` as any mapping.

    >>> column("urine_protein", "ordinal", "Urine protein", None, scale={"neg": 0.0}).scale
    mappingproxy({'neg': 0.0})
    """
    scale = kw.pop("scale", None)
    return Column(
        name,
        kind,
        label,
        unit,
        tuple(aliases),
        scale=MappingProxyType(dict(scale or {})),
        **kw,
    )
