"""A panel not written yet: it says what it will show, with the equation from the notes."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..state import AppState


class PlaceholderPanel(QWidget):
    """A panel that is not written yet: its title, what it will show, and the maths behind it."""

    title = ""
    help_text = ""
    object_name = ""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName(self.object_name)
        self.setAccessibleName(self.title)
        self.label = QLabel(f"<h2>{self.title}</h2><p><i>Coming in a later version.</i></p>{self.help_text}", self)
        self.label.setObjectName(f"{self.object_name}Text")
        self.label.setAccessibleName(f"{self.title}: what this panel will show")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setMaximumWidth(900)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addWidget(self.label)
        layout.addStretch(1)
