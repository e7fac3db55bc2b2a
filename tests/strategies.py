"""Hypothesis strategies shared by the what-if tests: threshold values a protocol allows."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import strategies as st


def grid_value(parameter) -> st.SearchStrategy[float]:
    """A value of ``parameter`` on its declared grid, ``min`` to ``max`` by ``step``."""
    step = parameter.step or 1
    steps = round((parameter.max - parameter.min) / step)
    return st.integers(0, steps).map(lambda k: parameter.min + k * step)


@st.composite
def overrides(draw, parameters: Mapping) -> dict[str, float]:
    """One to three of ``parameters`` set to values on their grids."""
    names = draw(st.lists(st.sampled_from(sorted(parameters)), min_size=1, max_size=3, unique=True))
    return {name: draw(grid_value(parameters[name])) for name in names}
