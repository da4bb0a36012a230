"""Presentation mode (F5) in a lecture hall: at 1280×800 every panel's text fits its widget.

Each panel registered in explorer/ui/panels.py (new panels are covered as they are added) is
shown in the main window with the shipped model, presentation mode on, and every visible
label, button, check box, combo box, line edit, tab, group title, and plot title / axis label /
legend is checked with explorer.ui.text_fit.clipped_texts. Tabs inside a panel (e.g. the
training form's Data / VQ-VAE / Prior) are each shown in turn. A widget that elides by design
opts out with the dynamic property ``textFitExempt`` (see text_fit.py).
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QApplication, QTabWidget
from superqt.utils import WorkerBase

from explorer.core.bundle import load_bundle
from explorer.core.paths import default_bundle_path
from explorer.ui.panels import PANELS
from explorer.ui.text_fit import clipped_texts

SIZES = [(1280, 800), (1920, 1080)]
SETTLE_MS = 20_000


@pytest.fixture(scope="module")
def shipped_bundle():
    path = default_bundle_path()
    if path is None:
        pytest.skip("the shipped model (trained_models/mnist) is not in this checkout")
    return load_bundle(path)


def idle(panel) -> bool:
    busy = getattr(panel, "is_busy", None)
    return not (QThreadPool.globalInstance().activeThreadCount() or WorkerBase._worker_set
                or (callable(busy) and busy()))


def settle(qtbot, panel) -> None:
    """Let the panel draw its results (its worker threads done); a panel that keeps working
    (an animation) is checked as it is after SETTLE_MS."""
    try:
        qtbot.waitUntil(lambda: idle(panel), timeout=SETTLE_MS)
    except qtbot.TimeoutError:
        pass
    QApplication.processEvents()


@pytest.fixture
def presenting_window(qtbot, shipped_bundle):
    """The main window on the shipped model, presentation mode on; sized by the test."""
    from explorer.ui import MainWindow
    window = MainWindow(bundle=shipped_bundle, remember=False)
    qtbot.addWidget(window, before_close_func=lambda w: w.train_panel.finish_now(keep=False))
    window.set_presentation(True)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.set_presentation(False)


def clips_in_every_tab(qtbot, window, panel) -> list[str]:
    """Clipped texts of the panel, showing each page of every tab widget inside it in turn."""
    found = {str(c) for c in clipped_texts(window)}
    for tabs in panel.findChildren(QTabWidget):
        if not tabs.isVisibleTo(window):
            continue
        first = tabs.currentIndex()
        for i in range(tabs.count()):
            tabs.setCurrentIndex(i)
            QApplication.processEvents()
            found |= {str(c) for c in clipped_texts(window)}
        tabs.setCurrentIndex(first)
    return sorted(found)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", [spec.object_name for spec in PANELS])
def test_every_text_fits_in_presentation_mode(qtbot, presenting_window, name, size) -> None:
    window = presenting_window
    window.resize(*size)
    panel = window.show_panel(name)
    settle(qtbot, panel)
    assert (window.width(), window.height()) == size, "the window's minimum size is larger than the screen"
    clips = clips_in_every_tab(qtbot, window, panel)
    assert not clips, f"{len(clips)} texts do not fit in {name} at {size}:\n" + "\n".join(clips)


def test_normal_mode_fits_too(qtbot, presenting_window) -> None:
    """Turning presentation mode off again gives back a window whose texts fit."""
    window = presenting_window
    window.set_presentation(False)
    window.resize(1280, 800)
    for spec in PANELS:
        panel = window.show_panel(spec.object_name)
        settle(qtbot, panel)
        clips = clips_in_every_tab(qtbot, window, panel)
        assert not clips, f"{spec.object_name}:\n" + "\n".join(clips)


def luminance(image) -> np.ndarray:
    """A QImage as an (H, W) array of grey levels."""
    image = image.convertToFormat(image.Format.Format_RGB32)
    arr = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    return arr[:, :image.width(), :3].astype(np.float32) @ np.array([0.114, 0.587, 0.299], np.float32)  # BGRA


def test_help_text_is_readable_in_presentation_mode(qtbot, presenting_window) -> None:
    """The Help dialog's text contrasts with its background (it was white on white)."""
    dialog = presenting_window.show_help("trainPanel")
    qtbot.waitExposed(dialog)
    for widget in (dialog.text.viewport(), dialog.topic_list.viewport()):
        grey = luminance(widget.grab().toImage())
        background = np.median(grey)
        ink = np.abs(grey - background) > 100           # pixels far from the background: glyphs
        assert ink.mean() > 0.005, f"{widget.parent().objectName()}: no readable text"
    assert "Train" in dialog.text.toPlainText()
    clips = [str(c) for c in clipped_texts(dialog)]
    assert not clips, "\n".join(clips)                  # topic titles, buttons
    dialog.close()
