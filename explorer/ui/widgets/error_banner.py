"""A non-modal error line: shown until the next successful action, never blocks."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from .plain_text import plain


class ErrorBanner(QLabel):
    """A red message under the editor (objectName ``editorError``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("editorError")
        self.setAccessibleName("Editor error")
        self.setStyleSheet("background:#fde2e1; color:#8a1c14; padding:4px; border-radius:3px;")
        self.setWordWrap(True)
        plain(self)                     # messages quote file names
        self.hide()

    def show_error(self, text: str) -> None:
        self.setText(text)
        self.show()
