"""Qt user interface (PySide6 + pyqtgraph). Import ``explorer.ui.MainWindow`` for the app.

``MainWindow`` and ``run_app`` are imported lazily, so ``import explorer.ui`` stays cheap.
"""
from __future__ import annotations

from ._none_guard import protect_none

protect_none()          # PySide6 6.12.0 on CPython < 3.12: see _none_guard

__all__ = ["MainWindow", "run_app", "render_panel"]


def __getattr__(name: str):
    if name == "MainWindow":
        from .main_window import MainWindow
        return MainWindow
    if name == "run_app":
        from .app import run_app
        return run_app
    if name == "render_panel":
        from .screenshot import render_panel
        return render_panel
    raise AttributeError(f"module 'explorer.ui' has no attribute {name!r}")
