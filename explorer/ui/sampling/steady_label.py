"""A label whose size does not depend on its text.

Labels the animation rewrites at every step (status, log-likelihood, causal note) would
otherwise ask the layout for a new size each time, and a relayout repaints the whole window
(tens of ms on a busy CPU). This one always wants ``lines`` lines of its font; longer text is
cut at the edge rather than moving the views around.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class SteadyLabel(QLabel):
    def __init__(self, text: str = "", lines: int = 1, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.lines = lines
        self.setWordWrap(lines > 1)
        self.setTextFormat(Qt.RichText)
        self.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)

    def _height(self) -> int:
        return self.lines * self.fontMetrics().lineSpacing() + 4

    def sizeHint(self) -> QSize:
        return QSize(200, self._height())

    def minimumSizeHint(self) -> QSize:
        return QSize(20, self._height())

    def heightForWidth(self, width: int) -> int:
        return self._height()

    def hasHeightForWidth(self) -> bool:
        return False
