"""Screenshots of the app in a real window: show the main window, switch panels (and tab pages),
toggle presentation mode (F5), and grab the whole screen, as a user at that screen would see it.

``python -m explorer screenshot`` renders one panel offscreen; this script uses a real X display
(e.g. Xvfb), so window-system effects (the screen's size, fonts, the status bar) show too::

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/screenshots/real_window.py OUT_DIR \\
        trained_models/mnist gumbelPanel:0 gumbelPanel:0:f5 trainPanel::f5

Each shot is ``panel[:page][:f5]``: a panel's objectName, the index of the page of its first tab
widget, and ``f5`` for presentation mode; it is saved as ``OUT_DIR/panel[-page][-presentation].png``.
Run it with another checkout on PYTHONPATH to take the same pictures of older code.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

SETTLE_S = 2.0          # timers (throttled refreshes) fire, layouts settle
WORK_LIMIT_S = 60.0     # background work (scoring, projections) may take this long


def settle(app, seconds: float = SETTLE_S) -> None:
    from PySide6.QtCore import QThreadPool
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    start = time.monotonic()
    while QThreadPool.globalInstance().activeThreadCount() and time.monotonic() - start < WORK_LIMIT_S:
        app.processEvents()
        time.sleep(0.05)
    app.processEvents()


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__)
        return 2
    out, bundle_path, shots = Path(argv[0]), argv[1], argv[2:]
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtWidgets import QTabWidget

    from explorer.core.bundle import load_bundle
    from explorer.ui.app import ensure_application
    from explorer.ui.main_window import MainWindow

    app = ensure_application()
    window = MainWindow(bundle=load_bundle(bundle_path), remember=False)
    window.show()
    settle(app)
    print(f"window {window.frameGeometry().getRect()} on screen {app.primaryScreen().availableGeometry().getRect()}")
    for shot in shots:
        name, _, rest = shot.partition(":")
        page, _, mode = rest.partition(":")
        window.set_presentation(mode == "f5")
        panel = window.show_panel(name)
        if page:
            panel.findChildren(QTabWidget)[0].setCurrentIndex(int(page))
        settle(app)
        path = out / f"{name}{'-' + page if page else ''}{'-presentation' if mode == 'f5' else ''}.png"
        app.primaryScreen().grabWindow(0).save(str(path))
        print("saved", path)
    window.set_presentation(False)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
