"""The program's entry point: ``run_app`` creates the QApplication and the main window.

Settings live in QSettings (INI format) under the organisation and application names below;
tests point QSettings at a temporary folder with ``QSettings.setPath``.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from explorer.core.paths import default_bundle_path

from .presentation import resource_path
from .settings import APPLICATION, ORGANIZATION, settings_store

def app_icon() -> QIcon:
    return QIcon(str(resource_path("icon.svg")))


def startup_bundles(bundle_path: str | Path | None, settings: QSettings | None = None) -> list[Path]:
    """Bundles to try at start-up, in order: the one asked for, the last one used, the shipped one."""
    settings = settings or settings_store()
    candidates: list[Path] = []
    if bundle_path:
        candidates.append(Path(bundle_path))
    last = settings.value("bundle/last", "", type=str)
    if last and (Path(last) / "config.json").is_file():
        candidates.append(Path(last))
    shipped = default_bundle_path()
    if shipped is not None:
        candidates.append(shipped)
    unique: list[Path] = []
    for path in candidates:
        if path.resolve() not in [p.resolve() for p in unique]:
            unique.append(path)
    return unique


def ensure_application() -> QApplication:
    """The running QApplication, or a new one with the app's names and icon."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setWindowIcon(app_icon())
    return app


def run_app(bundle_path: str | None = None) -> int:
    """Open the main window with ``bundle_path``, the last bundle, or trained_models/mnist; run the loop."""
    from .main_window import MainWindow
    from .workers import shutdown_workers
    from .workers.warmup import warm_up_async

    app = ensure_application()
    window = MainWindow()
    if not window.geometry_restored:        # first launch: fit the screen, title bar included
        window.fit_to_screen()
        QTimer.singleShot(0, window, window.fit_to_screen)      # again with the real frame, now it is known
    # Quit when the main window closes, even if a stray tool window is still open. Queued: a
    # quit() from inside closeEvent leaves PySide6 6.12 holding the GIL in later waits.
    window.closed.connect(app.quit, Qt.ConnectionType.QueuedConnection)
    window.show()
    QTimer.singleShot(0, warm_up_async)     # torch's lazy imports now, not in the first training step
    window.open_first_bundle(startup_bundles(bundle_path), explain_first=bundle_path is not None)
    code = app.exec()
    shutdown_workers()
    return int(code)
