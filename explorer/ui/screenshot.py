"""Render any panel of the main window to a PNG, offscreen (how README's screenshots are made).

Usage from Python::

    from explorer.ui.screenshot import render_panel
    render_panel("codebookPanel", "docs/codebook.png")
"""
from __future__ import annotations

import os
from pathlib import Path

from explorer.core.bundle import load_bundle
from explorer.core.paths import default_bundle_path

SETTLE_ROUNDS = 5                   # event-loop rounds for layouts and deferred paints


def _application():
    """The running QApplication, or a new offscreen one when there is no display."""
    from PySide6.QtWidgets import QApplication
    if QApplication.instance() is None and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from .app import ensure_application
    return ensure_application()


def render_panel(name: str, out: str | Path, bundle_path: str | None = None,
                 size: tuple[int, int] = (1280, 800)) -> Path:
    """Show panel ``name`` (an objectName such as "trainPanel") with a bundle and save the window.

    ``bundle_path`` defaults to the shipped model (trained_models/mnist); without one the
    window shows no model. Returns the path of the PNG written.
    """
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .panels.registry import panel_names

    app = _application()
    if name not in panel_names():
        raise ValueError(f"unknown panel {name!r}; choose one of {', '.join(panel_names())}")
    path = bundle_path or default_bundle_path()
    bundle = load_bundle(path) if path else None
    window = MainWindow(bundle=bundle, remember=False)   # default layout; the user's settings untouched
    try:
        window.resize(*size)
        window.show_panel(name)
        window.show()
        for _ in range(SETTLE_ROUNDS):
            QApplication.processEvents()
        app.processEvents()
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(out), "PNG"):
            raise OSError(f"could not write {out}")
    finally:
        window.close()
        window.deleteLater()
        QApplication.processEvents()
    return out
