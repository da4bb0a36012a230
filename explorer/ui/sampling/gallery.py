"""The whole batch: N grids (1..64) sampled together in one call, decoded; the animated one is
outlined. A click opens that grid in the latent editor (``AppState.open_in_editor``)."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from explorer.ui.widgets.image_view import to_rgb8
from explorer.ui.widgets.naming import named


class GalleryView(QWidget):
    """Thumbnails in a near-square grid; ``image_clicked(index)`` on a click."""

    image_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "samplingGallery", "Gallery of the sampled batch",
              "Every grid of the batch, decoded; click one to open it in the latent editor")
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(120, 120)
        self.setCursor(Qt.PointingHandCursor)
        self.grids = np.zeros((0, 1, 1), dtype=np.int64)
        self._qimages: list[QImage] = []
        self._rgb: list[np.ndarray] = []
        self.outlined = 0
        self.message = "Sampling the batch…"

    def sizeHint(self) -> QSize:
        return QSize(260, 260)

    def set_batch(self, grids: np.ndarray, images: np.ndarray, outlined: int) -> None:
        self.grids = grids
        self._rgb = [to_rgb8(im) for im in images]
        self._qimages = [QImage(a.data, a.shape[1], a.shape[0], 3 * a.shape[1], QImage.Format_RGB888).copy()
                         for a in self._rgb]
        self.outlined = outlined
        self.update()

    def set_message(self, text: str) -> None:
        self.grids = np.zeros((0, 1, 1), dtype=np.int64)
        self._qimages, self._rgb = [], []
        self.message = text
        self.update()

    def set_outlined(self, index: int) -> None:
        self.outlined = index
        self.update()

    def _layout(self) -> tuple[int, float, float, float]:
        n = max(1, len(self._qimages))
        cols = math.ceil(math.sqrt(n * self.width() / max(1, self.height())))
        cols = max(1, min(n, cols))
        rows = math.ceil(n / cols)
        s = min(self.width() / cols, self.height() / rows)
        return cols, s, (self.width() - cols * s) / 2, (self.height() - rows * s) / 2

    def tile_rect(self, index: int) -> QRectF:
        cols, s, x0, y0 = self._layout()
        r, c = divmod(index, cols)
        return QRectF(x0 + c * s, y0 + r * s, s, s)

    def index_at(self, pos) -> int:
        for k in range(len(self._qimages)):
            if self.tile_rect(k).contains(pos):
                return k
        return -1

    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        k = self.index_at(ev.position())
        if k >= 0 and ev.button() == Qt.LeftButton:
            self.image_clicked.emit(k)

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        p = QPainter(self)
        if not self._qimages:
            p.setPen(self.palette().windowText().color())
            p.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.message)
            p.end()
            return
        for k, image in enumerate(self._qimages):
            rect = self.tile_rect(k).adjusted(2, 2, -2, -2)
            p.drawImage(rect, image)
        if 0 <= self.outlined < len(self._qimages):
            rect = self.tile_rect(self.outlined).adjusted(1, 1, -1, -1)
            p.setPen(QPen(QColor(255, 185, 0), max(3, int(rect.width() / 20))))
            p.drawRect(rect)
        p.end()
