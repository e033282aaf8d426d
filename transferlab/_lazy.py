"""Lazy public names for the layer packages: ``from transferlab.analysis import fig2`` imports only
``transferlab.analysis.plots`` (and what it needs), so a plotting job never pays for torch."""

from __future__ import annotations

import importlib


def lazy_exports(package: str, modules: dict[str, list[str]]):
    """``__all__``, ``__getattr__`` and ``__dir__`` for a package offering ``modules``' listed names."""
    owner = {name: mod for mod, names in modules.items() for name in names}

    def __getattr__(name: str):
        if name in owner:
            return getattr(importlib.import_module(f"{package}.{owner[name]}"), name)
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(owner) | set(modules))

    return sorted(owner), __getattr__, __dir__
