"""The explorer's single state model: everything a user can change, nothing derived.

>>> state = ExplorerState(order=("I1", "I2a"), parameters={"lesion_max_cm": 5.0})
>>> seen = []
>>> state.observe(lambda change: seen.append(change["name"]), names=["excluded"])
>>> state.excluded = ("I2a",)
>>> seen
['excluded']
"""

from __future__ import annotations

from traitlets import Dict, HasTraits, Tuple, Unicode

__all__ = ["ExplorerState"]


class ExplorerState(HasTraits):
    """What the user chose. Controls write it; views observe it (``traitlets``).

    Attributes
    ----------
    order : every criterion ID, in funnel order (switched-off ones keep their place).
    excluded : criterion IDs switched off.
    parameters : parameter name -> current threshold value.
    sites : selected site IDs; empty = all sites.
    months : ``(first, last)`` screening months ``"YYYY-MM"``; empty = all dates
        (including patients without a screening date).
    drilldown : the criterion whose failing patients are listed; ``""`` = none.
    included : IDs of criteria the protocol leaves off by default that are switched on
        (CT041-ST-01's assumed I4 / I5); the others stay out of the evaluation.
    """

    order = Tuple()
    excluded = Tuple()
    parameters = Dict()
    sites = Tuple()
    months = Tuple()
    drilldown = Unicode("")
    included = Tuple()
