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

SETTLE_MIN_S = 0.4                  # let timers (throttled refreshes) fire at least once
SETTLE_MAX_S = 120.0                # give up waiting for background work after this long (scoring every
                                    # anomaly set takes ~1 min on a busy 2-core machine)


def _application():
    """The running QApplication, or a new offscreen one when there is no display."""
    from PySide6.QtWidgets import QApplication
    if QApplication.instance() is None and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from .app import ensure_application
    return ensure_application()


def _busy(panel) -> bool:
    """Whether the panel or any worker thread is still computing what it will show."""
    from PySide6.QtCore import QThreadPool
    from superqt.utils import WorkerBase
    is_busy = getattr(panel, "is_busy", None)
    return bool(QThreadPool.globalInstance().activeThreadCount() or WorkerBase._worker_set
                or (callable(is_busy) and is_busy()))


def _settle(panel) -> None:
    """Run the event loop until the panel has drawn its results (background work included)."""
    import time

    from PySide6.QtWidgets import QApplication
    start = time.monotonic()
    idle_rounds = 0
    while time.monotonic() - start < SETTLE_MAX_S:
        QApplication.processEvents()
        time.sleep(0.02)
        idle_rounds = 0 if _busy(panel) else idle_rounds + 1
        if idle_rounds >= 5 and time.monotonic() - start >= SETTLE_MIN_S:
            break
    QApplication.processEvents()


def render_panel(name: str, out: str | Path, bundle_path: str | None = None,
                 size: tuple[int, int] = (1280, 800), *, presentation: bool = False,
                 help_dialog: bool = False, clipped: list[str] | None = None) -> Path:
    """Show panel ``name`` (an objectName such as "trainPanel") with a bundle and save the window.

    ``bundle_path`` defaults to the shipped model (trained_models/mnist); without one the
    window shows no model. ``presentation`` turns presentation mode (F5) on first;
    ``help_dialog`` saves the Help dialog (F1) open at that panel's topic instead of the window.
    Waits until background work (a panel's worker threads) is done, so the picture shows the
    panel's results. A ``clipped`` list receives every text that does not fit its widget
    (:func:`explorer.ui.text_fit.clipped_texts`). Returns the path of the PNG written.
    """
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .panels import panel_names

    app = _application()
    if name not in panel_names():
        raise ValueError(f"unknown panel {name!r}; choose one of {', '.join(panel_names())}")
    path = bundle_path or default_bundle_path()
    bundle = load_bundle(path) if path else None
    window = MainWindow(bundle=bundle, remember=False)   # default layout; the user's settings untouched
    try:
        window.show_panel(name)
        if presentation:
            window.set_presentation(True)
        window.resize(*size)
        window.show()
        _settle(window.current_panel())
        shown = window
        if help_dialog:
            shown = window.show_help(name)
            QApplication.processEvents()
        if clipped is not None:
            from .text_fit import clipped_texts
            clipped.extend(str(clip) for clip in clipped_texts(shown))
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not shown.grab().save(str(out), "PNG"):
            raise OSError(f"could not write {out}")
    finally:
        from PySide6.QtCore import QThreadPool
        window.close()
        # Workers still running hold signals of the window's objects: let them end before those go.
        QThreadPool.globalInstance().waitForDone(int(SETTLE_MAX_S * 1000))
        window.deleteLater()
        QApplication.processEvents()
    return out
