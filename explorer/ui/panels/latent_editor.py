"""Placeholder: being written."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from explorer.ui.state import AppState


class LatentEditor(QWidget):
    title = "LatentEditor"
    help_text = ""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("latentEditor")
        self.setAccessibleName("LatentEditor")
        QVBoxLayout(self).addWidget(QLabel("Coming soon"))
