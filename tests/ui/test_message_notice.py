"""A message too long for the status bar is readable in full (issue 20: "Dataset not available …
Looked for …" was cut off by the device label, so the folders searched were never visible)."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from explorer.core.data import DataConfig, load_data
from explorer.ui.text_fit import clipped_texts


def status_room(window) -> int:
    bar = window.statusBar()
    return bar.width() - sum(w.width() for w in (window.device_status, window.gpu_memory_status) if w.isVisible())


@pytest.mark.parametrize("presentation", [False, True], ids=["normal", "presentation"])
def test_missing_dataset_message_is_readable_in_full(qtbot, main_window, tmp_path, presentation) -> None:
    window = main_window
    window.resize(1280, 800)
    window.set_presentation(presentation)
    QApplication.processEvents()
    height_before = window.minimumSizeHint().height()
    with pytest.raises(Exception) as missing:
        load_data(DataConfig(name="mnist", root=str(tmp_path / "nowhere")))
    message = f"Dataset not available: {missing.value}"      # what the panels' split loader reports
    window.state.message.emit(message)
    notice = window.findChild(QLabel, "messageNotice")
    assert notice is not None, "no place shows a long message in full"
    qtbot.waitUntil(notice.isVisible)
    assert "Dataset not available: MNIST was not found on this computer." in notice.text()
    assert "Details" in notice.text()
    QApplication.processEvents()
    assert not [c for c in clipped_texts(window) if "messageNotice" in c.widget], "the notice is cut off"
    assert window.minimumSizeHint().height() == height_before, "the notice takes the panels' height"
    status = window.statusBar().currentMessage()        # the status bar shows all of a message, or none
    assert not status or window.statusBar().fontMetrics().horizontalAdvance(status) <= status_room(window)
    notice.linkActivated.emit("details")                 # the user clicks "Details…"
    dialog = window.findChild(QMessageBox, "messageDetailsDialog")
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible())
    shown = dialog.text() + "\n" + dialog.informativeText().replace("<br>", "\n")
    for part in ("MNIST was not found", "Looked for", "nowhere/MNIST/raw", "nowhere/mnist", "nowhere/raw", "To fix:"):
        assert part in shown, part
    assert " ".join(shown.split()) == " ".join(message.split())      # every word of it, nothing else
    dialog.accept()
    notice.linkActivated.emit("dismiss")                 # "✕"
    assert not notice.isVisible()
    window.set_presentation(False)


def test_short_messages_stay_in_the_status_bar(qtbot, main_window) -> None:
    main_window.state.message.emit("Saved to /tmp/bundle")
    assert main_window.statusBar().currentMessage() == "Saved to /tmp/bundle"
    assert not main_window.message_notice.isVisible()
