"""Interactive views for notebooks and the ``screenkit explore`` dashboard.

``ScreeningExplorer`` (ipywidgets + plotly ``FigureWidget``; plotly 7 needs anywidget) is
the view of ``ExplorerModel`` (:mod:`screenkit.widgets.model`), which needs neither:
ipywidgets and plotly are imported only when the view is asked for, and in
:mod:`screenkit.plots`.
"""

from typing import Any

from screenkit.widgets.model import ExplorerModel
from screenkit.widgets.state import ExplorerState

__all__ = ["ExplorerModel", "ExplorerState", "ScreeningExplorer", "update_in_place"]


def __getattr__(name: str) -> Any:
    if name in ("ScreeningExplorer", "update_in_place"):
        from screenkit.widgets import explorer

        return getattr(explorer, name)
    raise AttributeError(f"module 'screenkit.widgets' has no attribute {name!r}")
