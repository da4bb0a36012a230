"""Compression view (stub): the `compress` branch replaces this file at merge.

The real view holds `compressionTable`, `compressionRateDistortion` and `compressionRun`.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class CompressionView(QWidget):
    """Placeholder with the real view's constructor and presentation hook."""

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("compressionView")
        self.setAccessibleName("Compression")
        label = QLabel("Compression — coming in this branch's merge")
        label.setAlignment(Qt.AlignCenter)
        QVBoxLayout(self).addWidget(label)

    def set_presentation(self, on: bool) -> None:
        pass
