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
    text = window.findChild(QLabel, "messageBannerText")
    shown = text.text()
    for folder in ("nowhere/MNIST/raw", "nowhere/MNIST", "nowhere/raw", "To fix:"):
        assert folder in shown
    assert not [c for c in clipped_texts(window) if "messageBanner" in c.widget]
    status = window.statusBar().currentMessage()
    assert status.startswith("Dataset not available: MNIST was not found")
    assert window.statusBar().fontMetrics().horizontalAdvance(status) <= status_room(window), status
    qtbot.mouseClick(window.findChild(QWidget, "messageBannerClose"), Qt.MouseButton.LeftButton)
    assert not banner.isVisible()
    window.set_presentation(False)


def test_short_messages_stay_in_the_status_bar(qtbot, main_window) -> None:
    main_window.state.message.emit("Saved to /tmp/bundle")
    assert main_window.statusBar().currentMessage() == "Saved to /tmp/bundle"
    assert not main_window.message_banner.isVisible()
