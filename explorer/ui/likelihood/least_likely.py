"""The least likely images (highest score) of both sets as clickable thumbnails; a click opens one in the editor."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem

from ..widgets.image_view import to_rgb8
from ..widgets.plain_text import literal
from .plot_style import IN_COLOUR, OUT_COLOUR

GALLERY_SIZE = 24


def thumbnail(image: np.ndarray, anomalous: bool, size: int) -> QPixmap:
    """A (C, H, W) float or uint8 image scaled to size x size, framed in its set's colour."""
    rgb = to_rgb8(image if image.dtype != np.uint8 else image.astype(np.float32) / 255.0)
    h, w, _ = rgb.shape
    qimage = QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*(OUT_COLOUR if anomalous else IN_COLOUR)))
    p = QPainter(pixmap)
    p.drawImage(pixmap.rect().adjusted(3, 3, -3, -3), qimage)
    p.setPen(QPen(QColor(*(OUT_COLOUR if anomalous else IN_COLOUR)), 3))
    p.end()
    return pixmap


class LeastLikelyGallery(QListWidget):
    """Thumbnails in score order (most anomalous first); frame colour = set (orange anomalous, blue normal)."""

    image_chosen = Signal(int)          # the index given in set_images

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("anomalyLeastLikely")
        self.setAccessibleName("Least likely images")
        self.setToolTip("The images with the highest score (least likely first). Orange frame: anomalous set, "
                        "blue: normal set. Click one to open it in the latent editor.")
        self.setViewMode(QListView.IconMode)
        self.setResizeMode(QListView.Adjust)
        self.setMovement(QListView.Static)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.thumb = 56
        self.setIconSize(QSize(self.thumb, self.thumb))
        self.setSpacing(2)
        self.entries: list[tuple[int, np.ndarray, bool, str]] = []
        self.itemClicked.connect(lambda item: self.image_chosen.emit(int(item.data(Qt.UserRole))))

    def set_images(self, entries: list[tuple[int, np.ndarray, bool, str]]) -> None:
        """(index, image, anomalous?, caption) per thumbnail, in display order."""
        self.entries = entries
        self.clear()
        for index, image, anomalous, caption in entries:
            item = QListWidgetItem(QIcon(thumbnail(image, anomalous, self.thumb)), caption.split("\n")[0])
            item.setData(Qt.UserRole, index)
            item.setToolTip(literal(caption))
            self.addItem(item)

    def set_presentation(self, on: bool) -> None:
        self.thumb = 84 if on else 56
        self.setStyleSheet("QListWidget { background: #000000; color: #ffffff; }" if on else "")
        self.setIconSize(QSize(self.thumb, self.thumb))
        self.set_images(self.entries)
