"""A small canvas to draw a digit with the mouse; the editor encodes it as it changes.

Left-drag draws a soft round brush, right-drag erases. The image is float (H, W) in [0, 1],
like the MNIST digits the model was trained on (white strokes on black).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


class DrawCanvas(QWidget):
    """Draw on an (size x size) grey image; emits ``drawn`` after every change."""

    drawn = Signal()               # the image changed (many per stroke: coalesce)
    stroke_finished = Signal()

    def __init__(self, size: int = 28, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("drawCanvas")
        self.setAccessibleName("Drawing canvas")
        self.setAccessibleDescription("Draw a digit with the left mouse button, erase with the right; "
                                      "it is encoded into the code grid as you draw.")
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setCursor(Qt.CrossCursor)
        self.canvas = np.zeros((size, size), dtype=np.float32)
        self.brush_radius = 1.4    # in image pixels
        self._last: QPointF | None = None
        self._erase = False

    def sizeHint(self) -> QSize:
        return QSize(200, 200)

    def minimumSizeHint(self) -> QSize:
        return QSize(84, 84)

    def resize_canvas(self, size: int) -> None:
        self.canvas = np.zeros((size, size), dtype=np.float32)
        self.update()

    def clear(self) -> None:
        self.canvas[:] = 0.0
        self.update()
        self.drawn.emit()

    def image(self, channels: int = 1) -> np.ndarray:
        """The drawing as float32 (C, H, W) in [0, 1]."""
        return np.repeat(self.canvas[None], channels, axis=0).copy()

    def _caption_height(self) -> int:
        return self.fontMetrics().height() + 4

    def _area(self) -> QRectF:
        n = self.canvas.shape[0]
        top = self._caption_height()
        s = min(self.width(), self.height() - top) / n
        return QRectF((self.width() - n * s) / 2, top, n * s, n * s)

    def widget_point(self, x: float, y: float) -> QPoint:
        """Widget position of image coordinates (x = column, y = row)."""
        a = self._area()
        s = a.width() / self.canvas.shape[0]
        return QPointF(a.x() + x * s, a.y() + y * s).toPoint()

    def _to_image(self, pos: QPointF) -> QPointF:
        a = self._area()
        s = a.width() / self.canvas.shape[0]
        return QPointF((pos.x() - a.x()) / s, (pos.y() - a.y()) / s)

    def _dab(self, c: QPointF) -> None:
        n = self.canvas.shape[0]
        yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) + 0.5
        d2 = (xx - c.x()) ** 2 + (yy - c.y()) ** 2
        ink = np.clip(1.0 - (np.sqrt(d2) - self.brush_radius) / 1.0, 0.0, 1.0)
        if self._erase:
            self.canvas[:] = np.minimum(self.canvas, 1.0 - ink)
        else:
            self.canvas[:] = np.maximum(self.canvas, ink)

    def _stroke_to(self, pos: QPointF) -> None:
        p = self._to_image(pos)
        if self._last is None:
            self._dab(p)
        else:
            dist = ((p.x() - self._last.x()) ** 2 + (p.y() - self._last.y()) ** 2) ** 0.5
            steps = max(1, int(dist / 0.5))
            for t in range(1, steps + 1):
                f = t / steps
                self._dab(QPointF(self._last.x() + (p.x() - self._last.x()) * f,
                                  self._last.y() + (p.y() - self._last.y()) * f))
        self._last = p
        self.update()
        self.drawn.emit()

    def mousePressEvent(self, ev: QMouseEvent) -> None:
        if ev.button() in (Qt.LeftButton, Qt.RightButton):
            self._erase = ev.button() == Qt.RightButton
            self._last = None
            self._stroke_to(ev.position())

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:
        if ev.buttons() & (Qt.LeftButton | Qt.RightButton):
            self._stroke_to(ev.position())

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:
        if self._last is not None:
            self._last = None
            self.stroke_finished.emit()

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        p = QPainter(self)
        grey = np.ascontiguousarray((np.clip(self.canvas, 0, 1) * 255).astype(np.uint8))
        n = grey.shape[0]
        img = QImage(grey.data, n, n, n, QImage.Format_Grayscale8).copy()
        area = self._area()
        p.drawImage(area, img)
        p.setPen(QColor(120, 120, 120))
        p.drawRect(area)
        p.setPen(self.palette().windowText().color())
        p.drawText(QRectF(0, 0, self.width(), self._caption_height()), Qt.AlignHCenter,
                   "draw: left inks, right erases")
        if not self.canvas.any():
            p.setPen(QColor(170, 170, 170))
            p.drawText(area, Qt.AlignCenter | Qt.TextWordWrap, "draw a digit here")
        p.end()
