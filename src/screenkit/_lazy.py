"""Public names of a package loaded on first use: one ``__getattr__`` / ``__dir__`` pair
for ``screenkit`` and ``screenkit.export`` (PEP 562), so heavy libraries (openpyxl, plotly,
ipywidgets) load only with the submodule that needs them.

>>> import screenkit
>>> "consort_flow" in dir(screenkit)       # listed before it is loaded
True
>>> screenkit.consort_flow.__module__      # loaded at first use ...
'screenkit.plots.flow'
>>> "consort_flow" in vars(screenkit)      # ... and bound in the package after it
True
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(
    package: str, public: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` (call it with ``__name__``): ``public``
    maps a name to the submodule of ``package`` that defines it. A name is imported at its
    first use and then bound in the package, so later uses cost nothing."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = public.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
