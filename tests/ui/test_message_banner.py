"""A message too long for the status bar is readable in full (issue 20: "Dataset not available …
Looked for …" was cut off by the device label, so the folders searched were never visible)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

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
    with pytest.raises(Exception) as missing:
        load_data(DataConfig(name="mnist", root=str(tmp_path / "nowhere")))
    message = f"Dataset not available: {missing.value}"      # what the panels' split loader reports
    window.state.message.emit(message)
    banner = window.findChild(QWidget, "messageBanner")
    assert banner is not None, "no place shows a long message in full"
    qtbot.waitUntil(banner.isVisible)
    summary = window.findChild(QLabel, "messageBannerText")
    assert summary.text() == "Dataset not available: MNIST was not found on this computer."
    line = summary.fontMetrics().height()
    assert banner.height() <= 2.5 * line + 12, "the folded banner takes one line, not the panel's room"
    details = window.findChild(QLabel, "messageBannerDetails")
    assert not details.isVisible()
    qtbot.mouseClick(window.findChild(QWidget, "messageBannerDetailsButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(details.isVisible)
    for part in ("Looked for", "nowhere/MNIST/raw", "nowhere/mnist", "nowhere/raw", "To fix:"):
        assert part in details.text(), part
    assert window.message_banner.full_text().replace("\n", " ").split() == message.replace("\n", " ").split()
    assert not [c for c in clipped_texts(window) if "messageBanner" in c.widget]
    status = window.statusBar().currentMessage()        # the status bar shows all of a message, or none
    assert not status or window.statusBar().fontMetrics().horizontalAdvance(status) <= status_room(window)
    qtbot.mouseClick(window.findChild(QWidget, "messageBannerClose"), Qt.MouseButton.LeftButton)
    assert not banner.isVisible()
    window.set_presentation(False)


def test_short_messages_stay_in_the_status_bar(qtbot, main_window) -> None:
    main_window.state.message.emit("Saved to /tmp/bundle")
    assert main_window.statusBar().currentMessage() == "Saved to /tmp/bundle"
    assert not main_window.message_banner.isVisible()
