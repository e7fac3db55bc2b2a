"""Plotly figures from screenkit result objects (one module per subject).

Import the submodule you need, e.g. ``from screenkit.plots.forecast import fan_chart``;
plotly is imported only there, never when ``screenkit`` is imported.
"""
