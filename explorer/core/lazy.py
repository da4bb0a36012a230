"""Public names that load on first use (PEP 562), so importing a package stays cheap.

``explorer`` and ``explorer.core`` list their public names and the modules that define them;
``python -m explorer --help`` and ``from explorer.core.device import ...`` then never load torch.
"""
from __future__ import annotations

import sys
from importlib import import_module
from typing import Any, Callable


def lazy_attributes(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``: ``exports`` maps a public name
    to the (relative) module defining it, imported the first time the name is used."""
    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(import_module(exports[name], package), name)
            setattr(sys.modules[package], name, value)        # next time: a plain attribute
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
