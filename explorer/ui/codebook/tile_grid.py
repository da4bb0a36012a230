"""All K codes as small images, laid out to fit the widget, in a chosen order.

Hover a tile to highlight the code everywhere; click (or Enter) to paint with it.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget


class CodeTileGrid(QWidget):
    """Paints tiles (K, H, W, 3) uint8 in ``order``; emits hovered/clicked code indices."""

    code_hovered = Signal(int)        # -1 when leaving
    code_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codebookTiles")
        self.setAccessibleName("Codebook tiles")
        self.setAccessibleDescription("One image per code: the decoder's output for that code. "
                                      "Click a tile to paint with its code in the latent editor.")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.tiles = np.zeros((0, 1, 1, 3), dtype=np.uint8)
        self.order = np.zeros(0, dtype=np.int64)
        self._position = np.zeros(0, dtype=np.int64)
        self._layout_cache: tuple[tuple[int, int, int], tuple[int, int]] | None = None
        self.counts: np.ndarray | None = None
        self.hovered = -1
        self.selected = -1
        self.show_numbers = True
        self.presentation = False           # larger tile numbers, readable from the back row
        self.cell_outline: tuple[int, int, int, int] | None = None   # (top, left, bottom, right) tile pixels
        self._images: list[QImage] = []
        self._cursor = 0

    def sizeHint(self) -> QSize:
        return QSize(420, 360)

    def set_tiles(self, tiles: np.ndarray) -> None:
        self.tiles = np.ascontiguousarray(tiles)
        k, h, w, _ = self.tiles.shape
        self._images = [QImage(self.tiles[i].data, w, h, 3 * w, QImage.Format_RGB888).copy() for i in range(k)]
        if len(self.order) != k:
            self.set_order(np.arange(k))
        self.update()

    def set_order(self, order: np.ndarray) -> None:
        self.order = np.asarray(order, dtype=np.int64)
        self._position = np.argsort(self.order)          # code -> place in the layout
        self.update()

    def set_counts(self, counts: np.ndarray | None) -> None:
        self.counts = counts
        self.update()

    def set_hovered(self, code: int) -> None:
        if code != self.hovered:
            self.hovered = code
            self.update()

    def set_cell_outline(self, rect: tuple[int, int, int, int] | None) -> None:
        """Outline this rectangle of tile pixels in every tile (the code's own cell), or none."""
        self.cell_outline = rect
        self.update()

    def set_presentation(self, on: bool) -> None:
        self.presentation = on
        self.update()

    def number_pixel_size(self, side: int) -> int:
        """Height of the tile numbers: a quarter of the tile, larger in presentation mode."""
        return max(8, min(22, side // 4)) if self.presentation else max(8, min(12, side // 4))

    def set_selected(self, code: int) -> None:
        self.selected = code
        self.update()

    # -- layout -----------------------------------------------------------------------------
    def _layout(self) -> tuple[int, int]:
        """(columns, tile side in pixels) that fit all K tiles into the widget."""
        k = max(1, len(self.order))
        key = (k, self.width(), self.height())
        if self._layout_cache is not None and self._layout_cache[0] == key:
            return self._layout_cache[1]
        best = (1, 8)
        for cols in range(1, k + 1):
            rows = math.ceil(k / cols)
            side = int(min(self.width() / cols, self.height() / rows))
            if side > best[1]:
                best = (cols, side)
        self._layout_cache = (key, best)
        return best

    def tile_rect(self, code: int) -> QRect:
        """Widget rectangle of the tile showing ``code``."""
        cols, side = self._layout()
        pos = int(self._position[code])
        return QRect((pos % cols) * side, (pos // cols) * side, side, side)

    def code_at(self, point: QPoint) -> int:
        cols, side = self._layout()
        c, r = point.x() // side, point.y() // side
        pos = r * cols + c
        return int(self.order[pos]) if 0 <= c < cols and 0 <= pos < len(self.order) else -1

    def displayed_codes(self) -> list[int]:
        """Codes in the order the tiles appear (row by row)."""
        return [int(k) for k in self.order]

    # -- interaction ------------------------------------------------------------------------
    def mouseMoveEvent(self, ev) -> None:
        code = self.code_at(ev.position().toPoint())
        if code != self.hovered:
            self.set_hovered(code)
            self.code_hovered.emit(code)
            if code >= 0:
                used = "" if self.counts is None else f" · used {int(self.counts[code])}×"
                QToolTip.showText(ev.globalPosition().toPoint(), f"code {code}{used}", self)

    def leaveEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        self.set_hovered(-1)
        self.code_hovered.emit(-1)
        super().leaveEvent(ev)

    def mousePressEvent(self, ev) -> None:
        code = self.code_at(ev.position().toPoint())
        if ev.button() == Qt.LeftButton and code >= 0:
            self._cursor = int(self._position[code])
            self.code_clicked.emit(code)

    def keyPressEvent(self, ev) -> None:
        if not len(self.order):
            return super().keyPressEvent(ev)
        cols, _ = self._layout()
        step = {Qt.Key_Left: -1, Qt.Key_Right: 1, Qt.Key_Up: -cols, Qt.Key_Down: cols}.get(ev.key())
        if step is not None:
            self._cursor = min(len(self.order) - 1, max(0, self._cursor + step))
            code = int(self.order[self._cursor])
            self.set_hovered(code)
            self.code_hovered.emit(code)
        elif ev.key() in (Qt.Key_Return, Qt.Key_Enter, Qt.Key_Space):
            self.code_clicked.emit(int(self.order[self._cursor]))
        else:
            super().keyPressEvent(ev)

    # -- drawing ----------------------------------------------------------------------------
    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        p = QPainter(self)
        if not self._images:
            p.drawText(self.rect(), Qt.AlignCenter, "computing tiles…")
            return
        _, side = self._layout()
        font = QFont(self.font())
        font.setPixelSize(self.number_pixel_size(side))
        font.setBold(self.presentation)
        p.setFont(font)
        for code in self.order:
            code = int(code)
            r = self.tile_rect(code)
            target = r.adjusted(1, 1, -1, -1)
            p.drawImage(target, self._images[code])
            if self.cell_outline is not None and self.tiles.shape[1] > 0:
                t, l, b, rr = self.cell_outline
                sy, sx = target.height() / self.tiles.shape[1], target.width() / self.tiles.shape[2]
                p.setPen(QPen(QColor(90, 90, 90), 1, Qt.DashLine))
                p.setBrush(Qt.NoBrush)
                p.drawRect(QRect(target.x() + round(l * sx), target.y() + round(t * sy),
                                 round((rr - l) * sx), round((b - t) * sy)))
            if self.show_numbers and side >= 26:
                text_rect = p.fontMetrics().boundingRect(str(code)).adjusted(-2, 0, 2, 0)
                text_rect.moveTopLeft(r.topLeft() + QPoint(1, 1))
                p.fillRect(text_rect, QColor(0, 0, 0, 150))
                p.setPen(QColor(255, 230, 80))
                p.drawText(text_rect, Qt.AlignCenter, str(code))
            if self.counts is not None and self.counts[code] == 0:
                p.setPen(QPen(QColor(220, 40, 40), 2))
                p.drawLine(r.topLeft() + QPoint(2, 2), r.bottomRight() - QPoint(2, 2))
        for code, colour, width in ((self.selected, QColor(30, 120, 255), 3), (self.hovered, QColor(255, 140, 0), 3)):
            if 0 <= code < len(self._images) and code < len(self._position):
                p.setPen(QPen(colour, width))
                p.setBrush(Qt.NoBrush)
                p.drawRect(self.tile_rect(code).adjusted(1, 1, -2, -2))
        if self.hasFocus() and len(self.order):
            p.setPen(QPen(QColor(30, 120, 255), 1, Qt.DotLine))
            p.drawRect(self.tile_rect(int(self.order[self._cursor])).adjusted(4, 4, -5, -5))
        p.end()
