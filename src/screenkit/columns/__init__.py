"""The canonical screening-log columns: names, kinds, canonical units, scales.

This is the vocabulary every stage shares (``../shared/domain/screening-log-columns.md``):
the loader maps a file's headers onto these names and converts values into these units
and dtypes; protocol rules may name only these columns (plus a protocol's parameters).

The :class:`Column` type is in ``column``; the table is kept by clinical area in
``patient`` (identity, demographics, disease, biomarkers), ``labs``, ``vitals`` (vital
signs, ECG, LVEF) and ``history`` (steroids, wash-out, the yes / no items). Their order
here is the canonical order.

Dtypes of the canonical frame, by kind:

=========  ====================  ==================================================
kind       dtype                 values
=========  ====================  ==================================================
id, text   ``string``            ``pd.NA`` when missing
category   ``string``            one of ``Column.categories`` (e.g. sex: M / F)
date       ``datetime64[ns]``    ``NaT`` when missing
number     ``Float64``           in ``Column.unit``
ordinal    ``Float64``           the position on ``Column.scale`` (urine protein
                                 ``neg`` = 0, ``trace`` = 0.5, ``1+`` = 1 ...)
bool       ``boolean``           True = present / yes
=========  ====================  ==================================================

>>> COLUMNS["hb"].unit
'g/dL'
>>> COLUMNS["urine_protein"].scale["1+"]
1.0
"""

from __future__ import annotations

from types import MappingProxyType

from .column import DTYPES, Column
from .history import TREATMENT, YES_NO
from .labs import LABS
from .patient import DISEASE, IDENTITY
from .vitals import VITALS

__all__ = ["COLUMNS", "DTYPES", "Column", "canonical_order"]

_ALL: tuple[Column, ...] = (*IDENTITY, *DISEASE, *LABS, *VITALS, *TREATMENT, *YES_NO)

COLUMNS: MappingProxyType[str, Column] = MappingProxyType({c.name: c for c in _ALL})
"""Every canonical column by name, in the canonical order."""


def canonical_order(names) -> list[str]:
    """Sort column names: canonical columns in vocabulary order first, then the rest.

    >>> canonical_order(["hb", "patient_id", "zzz"])
    ['patient_id', 'hb', 'zzz']
    """
    position = {name: i for i, name in enumerate(COLUMNS)}
    return sorted(names, key=lambda n: (position.get(n, len(position)), n))
