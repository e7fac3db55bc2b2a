"""Interactive views for notebooks and the ``screenkit explore`` dashboard.

``ScreeningExplorer`` (ipywidgets + plotly ``FigureWidget``; plotly 7 needs anywidget).
ipywidgets and plotly are imported only here and in :mod:`screenkit.plots`.
"""

from screenkit.widgets.explorer import ScreeningExplorer, update_in_place
from screenkit.widgets.state import ExplorerState

__all__ = ["ExplorerState", "ScreeningExplorer", "update_in_place"]
