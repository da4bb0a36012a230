"""Helpers for the GUI tests: fill in the training form and answer dialogs as a user does."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QAbstractButton, QApplication, QMessageBox, QWidget

from explorer.ui.train.config_form import PathEdit


def editor(panel: QWidget, name: str) -> QWidget:
    widget = panel.findChild(QWidget, name)
    assert widget is not None, f"no form field {name}"
    return widget


def type_text(qtbot, widget: QWidget, text: str) -> None:
    line = widget.line if isinstance(widget, PathEdit) else widget
    line.selectAll()
    qtbot.keyClicks(line, text)
    qtbot.keyClick(line, Qt.Key.Key_Return)


def set_number(panel: QWidget, name: str, value: float) -> None:
    spin = editor(panel, name)
    spin.setValue(value)
    spin.editingFinished.emit()


def configure_short_run(qtbot, panel, mnist_root, steps: int, batch: int = 16, val_every: int = 10) -> None:
    """The first 600 MNIST digits (last 100 held out) and a few steps of a small batch."""
    type_text(qtbot, editor(panel, "data_root"), str(mnist_root))
    set_number(panel, "data_limit", 600)
    set_number(panel, "data_holdout_last", 100)
    set_number(panel, "vqvaeTraining_max_steps", steps)
    set_number(panel, "vqvaeTraining_batch_size", batch)
    set_number(panel, "vqvaeTraining_val_every", val_every)
    s = panel.settings_model
    assert (s.data.root, s.data.limit, s.data.holdout_last) == (str(mnist_root), 600, 100)
    assert (s.vqvae.max_steps, s.vqvae.batch_size, s.vqvae.val_every) == (steps, batch, val_every)


def steps_seen(panel) -> int:
    return len(panel.history.vqvae["step"])


def start_long_run(qtbot, panel, mnist_root, steps_before: int) -> None:
    """Configure a run too long to finish in a test, press Start, wait until it has done some steps."""
    configure_short_run(qtbot, panel, mnist_root, steps=100_000, val_every=100_000)
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: steps_seen(panel) >= steps_before, timeout=30_000)


def show_sized(qtbot, widget: QWidget, width: int, height: int) -> QWidget:
    """Register, size and show a panel as a user would see it; returns once it is on screen."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def click_in_dialog(object_name: str, button_name: str | None = None,
                    button: QMessageBox.StandardButton | None = None) -> None:
    """Once a dialog with this objectName is visible (even inside exec()), click one of its buttons."""
    def attempt() -> None:
        box = next((w for w in QApplication.topLevelWidgets()
                    if w.objectName() == object_name and w.isVisible()), None)
        if box is None:
            QTimer.singleShot(20, attempt)
            return
        target = box.findChild(QAbstractButton, button_name) if button_name else box.button(button)
        target.click()
    QTimer.singleShot(0, attempt)


def visible_dialog(object_name: str) -> QMessageBox | None:
    return next((w for w in QApplication.topLevelWidgets()
                 if w.objectName() == object_name and w.isVisible()), None)


def weights_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
