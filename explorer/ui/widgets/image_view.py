"""A small image shown large with sharp pixels, a caption and optional outlines.

Used for the input, the decoded output and the difference. Outlines are rectangles in
image pixels (e.g. the patch a code cell owns and the region its decoder reaches).
"""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """(C, H, W) floats in [0, 1] or (H, W, 3) uint8 -> contiguous uint8 (H, W, 3)."""
    a = np.asarray(image)
    if a.dtype == np.uint8 and a.ndim == 3 and a.shape[-1] == 3:
        return np.ascontiguousarray(a)
    a = np.clip(np.asarray(a, dtype=np.float32), 0.0, 1.0)
    if a.ndim == 2:
        a = a[None]
    rgb = np.repeat(a, 3, axis=0) if a.shape[0] == 1 else a[:3]
    return np.ascontiguousarray((np.moveaxis(rgb, 0, -1) * 255 + 0.5).astype(np.uint8))


class ImageView(QWidget):
    """Paints an image scaled to fit (nearest neighbour) with a caption above it."""

    frame_painted = Signal(int)       # the version number of the image just painted

    def __init__(self, object_name: str, caption: str, accessible_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setAccessibleName(accessible_name)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.caption = caption
        self.image: np.ndarray | None = None          # what is shown, as uint8 (H, W, 3)
        self.version = 0                              # bumped on every set_image
        self.painted_version = -1
        self.painted_at = 0.0                         # perf_counter() of the last paint
        self.outlines: list[tuple[tuple[int, int, int, int], QColor, Qt.PenStyle]] = []
        self._qimage: QImage | None = None
        self._message = ""

    def sizeHint(self) -> QSize:
        return QSize(200, 220)

    def minimumSizeHint(self) -> QSize:
        return QSize(84, 100)

    def set_image(self, image: np.ndarray | None, message: str = "") -> None:
        """Show ``image`` ((C,H,W) float or (H,W,3) uint8), or ``message`` when None."""
        self._message = message
        if image is None:
            self.image, self._qimage = None, None
        else:
            self.image = to_rgb8(image)
            h, w, _ = self.image.shape
            self._qimage = QImage(self.image.data, w, h, 3 * w, QImage.Format_RGB888).copy()
        self.version += 1
        self.update()

    def set_caption(self, caption: str) -> None:
        self.caption = caption
        self.update()

    def set_outlines(self, outlines: list[tuple[tuple[int, int, int, int], QColor, Qt.PenStyle]]) -> None:
        """Rectangles (top, left, bottom, right) in image pixels, exclusive end."""
        self.outlines = outlines
        self.update()

    def image_rect(self) -> QRectF:
        caption_h = self.fontMetrics().height() + 4
        if self.image is None:
            return QRectF(0, caption_h, self.width(), self.height() - caption_h)
        h, w, _ = self.image.shape
        scale = max(1.0, min(self.width() / w, (self.height() - caption_h) / h))
        x0 = (self.width() - w * scale) / 2
        return QRectF(x0, caption_h, w * scale, h * scale)

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        p = QPainter(self)
        p.setPen(self.palette().windowText().color())
        p.drawText(QRectF(0, 0, self.width(), self.fontMetrics().height() + 2), Qt.AlignHCenter, self.caption)
        target = self.image_rect()
        if self._qimage is None:
            p.fillRect(target, QColor(235, 235, 235))
            p.setPen(QColor(30, 30, 30))              # dark on the light box, in any palette
            p.drawText(target.adjusted(6, 6, -6, -6), Qt.AlignCenter | Qt.TextWordWrap, self._message)
        else:
            p.drawImage(target, self._qimage)
            h, w, _ = self.image.shape
            sx, sy = target.width() / w, target.height() / h
            for (t, l, b, r), colour, style in self.outlines:
                p.setPen(QPen(colour, 2, style))
                p.drawRect(QRectF(target.x() + l * sx, target.y() + t * sy, (r - l) * sx, (b - t) * sy))
        p.end()
        self.painted_version = self.version
        self.painted_at = time.perf_counter()
        self.frame_painted.emit(self.version)
