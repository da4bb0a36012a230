"""Placeholder: being written."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from explorer.ui.state import AppState


class CodebookPanel(QWidget):
    title = "CodebookPanel"
    help_text = ""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("codebookPanel")
        self.setAccessibleName("CodebookPanel")
        QVBoxLayout(self).addWidget(QLabel("Coming soon"))
