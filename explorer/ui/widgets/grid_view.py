"""The editable code grid: coloured cells with their index, painted with the mouse.

Mouse: left-drag paints, Shift+left-drag (or the Select tool) marks a rectangle,
right-click picks the cell's code (eyedropper). Keyboard: arrows move a cursor,
Space paints the cursor cell. The view only reports gestures; the editor edits.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from explorer.core.latent_edit import Region
from explorer.core.projection import code_palette, text_colour_for


def cells_on_line(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    """Cells from a to b inclusive along a straight line (fast drags leave no gaps)."""
    n = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
    if n == 0:
        return [b]
    return [(round(a[0] + (b[0] - a[0]) * t / n), round(a[1] + (b[1] - a[1]) * t / n)) for t in range(1, n + 1)]


class LatentGridView(QWidget):
    """Draws an (h, w) grid of code indices; emits painting, picking and selection gestures."""

    stroke_started = Signal()
    stroke_cell = Signal(int, int)          # a cell the current stroke passed over
    stroke_finished = Signal()
    cell_picked = Signal(int, int)          # right click: take this cell's code
    cell_hovered = Signal(int, int)         # (-1, -1) when the pointer leaves
    region_changed = Signal(object)         # Region or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("latentGrid")
        self.setAccessibleName("Latent code grid")
        self.setAccessibleDescription("Code indices of the latent grid. Left-drag paints the selected code, "
                                      "Shift-drag selects a region, right-click picks a code.")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.codes = np.zeros((7, 7), dtype=np.int64)
        self.original: np.ndarray | None = None
        self.code_colours = code_palette(16)
        self._qcolours = [QColor(*c) for c in self.code_colours.tolist()]
        self.select_mode = False            # the Select tool: plain left-drag selects
        self.show_numbers = True
        self.region: Region | None = None
        self.highlight_code = -1            # cells holding this code get a ring (codebook hover)
        self.active_cell: tuple[int, int] | None = None   # e.g. the position the prior is sampling
        self.enabled_editing = True
        self._hover: tuple[int, int] | None = None
        self._cursor = (0, 0)
        self._stroke_last: tuple[int, int] | None = None
        self._select_anchor: tuple[int, int] | None = None

    # -- data -------------------------------------------------------------------------------
    def set_codes(self, codes: np.ndarray, original: np.ndarray | None = None) -> None:
        self.codes = np.asarray(codes)
        if original is not None:
            self.original = np.asarray(original)
        self.update()

    def colour(self, code: int) -> QColor:
        """The palette colour of ``code``."""
        return QColor(self._qcolours[code % len(self._qcolours)])

    def set_num_codes(self, num_codes: int) -> None:
        self.code_colours = code_palette(num_codes)
        # Plain ints: QColor(*numpy_uint8_scalars) can corrupt reference counts in shiboken.
        self._qcolours = [QColor(*c) for c in self.code_colours.tolist()]
        self.update()

    def set_region(self, region: Region | None) -> None:
        self.region = region
        self.update()
        self.region_changed.emit(region)

    def set_highlight_code(self, code: int) -> None:
        self.highlight_code = int(code)
        self.update()

    def forget_hover(self) -> None:
        """Drop the hovered cell (the grid changed under it): the next pointer move reports a cell
        again, even within the same cell."""
        self._hover = None
        self.update()

    def set_active_cell(self, cell: tuple[int, int] | None) -> None:
        self.active_cell = cell
        self.update()

    # -- geometry ---------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(280, 280)

    def minimumSizeHint(self) -> QSize:
        return QSize(7 * 18, 7 * 18)

    def _cell_size(self) -> float:
        h, w = self.codes.shape
        return max(4.0, min(self.width() / w, self.height() / h))

    def _origin(self) -> tuple[float, float]:
        h, w = self.codes.shape
        s = self._cell_size()
        return (self.width() - w * s) / 2, (self.height() - h * s) / 2

    def cell_rect(self, i: int, j: int) -> QRect:
        """Widget rectangle of cell (row i, column j)."""
        s = self._cell_size()
        x0, y0 = self._origin()
        return QRectF(x0 + j * s, y0 + i * s, s, s).toAlignedRect()

    def cell_center(self, i: int, j: int) -> QPoint:
        return self.cell_rect(i, j).center()

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        s = self._cell_size()
        x0, y0 = self._origin()
        j, i = int((pos.x() - x0) // s), int((pos.y() - y0) // s)
        h, w = self.codes.shape
        return (i, j) if 0 <= i < h and 0 <= j < w else None

    def _clamped_cell(self, pos: QPoint) -> tuple[int, int]:
        s = self._cell_size()
        x0, y0 = self._origin()
        h, w = self.codes.shape
        return (min(h - 1, max(0, int((pos.y() - y0) // s))), min(w - 1, max(0, int((pos.x() - x0) // s))))

    # -- mouse ------------------------------------------------------------------------------
    def mousePressEvent(self, ev: QMouseEvent) -> None:
        cell = self.cell_at(ev.position().toPoint())
        if cell is None or not self.enabled_editing:
            return
        if ev.button() == Qt.RightButton:
            self.cell_picked.emit(*cell)
        elif ev.button() == Qt.LeftButton:
            if self.select_mode or ev.modifiers() & Qt.ShiftModifier:
                self._select_anchor = cell
                self.set_region(Region.spanning(cell, cell))
            else:
                self._stroke_last = cell
                self.stroke_started.emit()
                self.stroke_cell.emit(*cell)

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:
        pos = ev.position().toPoint()
        cell = self.cell_at(pos)
        if cell != self._hover:
            self._hover = cell
            self.cell_hovered.emit(*(cell if cell is not None else (-1, -1)))
            self.update()
        if self._stroke_last is not None and cell is not None and cell != self._stroke_last:
            for c in cells_on_line(self._stroke_last, cell):
                self.stroke_cell.emit(*c)
            self._stroke_last = cell
        elif self._select_anchor is not None:
            region = Region.spanning(self._select_anchor, self._clamped_cell(pos))
            if region != self.region:
                self.set_region(region)

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:
        if ev.button() != Qt.LeftButton:
            return
        if self._stroke_last is not None:
            self._stroke_last = None
            self.stroke_finished.emit()
        self._select_anchor = None

    def leaveEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        self._hover = None
        self.cell_hovered.emit(-1, -1)
        self.update()
        super().leaveEvent(ev)

    # -- keyboard ---------------------------------------------------------------------------
    def keyPressEvent(self, ev) -> None:
        h, w = self.codes.shape
        i, j = self._cursor
        moves = {Qt.Key_Left: (0, -1), Qt.Key_Right: (0, 1), Qt.Key_Up: (-1, 0), Qt.Key_Down: (1, 0)}
        if ev.key() in moves:
            di, dj = moves[ev.key()]
            self._cursor = (min(h - 1, max(0, i + di)), min(w - 1, max(0, j + dj)))
            self._hover = self._cursor
            self.cell_hovered.emit(*self._cursor)
            self.update()
        elif ev.key() in (Qt.Key_Space, Qt.Key_Return, Qt.Key_Enter) and self.enabled_editing:
            self.stroke_started.emit()
            self.stroke_cell.emit(*self._cursor)
            self.stroke_finished.emit()
        elif ev.key() == Qt.Key_Escape and self.region is not None:
            self.set_region(None)
        else:
            super().keyPressEvent(ev)

    # -- drawing ----------------------------------------------------------------------------
    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        p = QPainter(self)
        h, w = self.codes.shape
        s = self._cell_size()
        font = QFont(self.font())
        font.setPixelSize(max(7, int(s * 0.36)))
        p.setFont(font)
        for i in range(h):
            for j in range(w):
                code = int(self.codes[i, j])
                rect = self.cell_rect(i, j)
                if code < 0:                      # not decided yet (the prior is sampling)
                    p.fillRect(rect, QColor(225, 225, 225))
                    continue
                rgb = self.code_colours[code % len(self.code_colours)]
                p.fillRect(rect, self._qcolours[code % len(self._qcolours)])
                if self.show_numbers and s >= 14:
                    p.setPen(QColor(*text_colour_for(rgb)))
                    p.drawText(rect, Qt.AlignCenter, str(code))
                if self.original is not None and self.original.shape == self.codes.shape \
                        and self.original[i, j] != code:
                    p.setPen(Qt.NoPen)
                    p.setBrush(QColor(*text_colour_for(rgb)))
                    c = max(3, int(s * 0.18))
                    p.drawPolygon([rect.topRight() + QPoint(1, 0), rect.topRight() + QPoint(1 - c, 0),
                                   rect.topRight() + QPoint(1, c)])
                if code == self.highlight_code:
                    p.setBrush(Qt.NoBrush)
                    p.setPen(QPen(QColor(255, 255, 255), 3))
                    p.drawRect(rect.adjusted(3, 3, -3, -3))
                    p.setPen(QPen(QColor(0, 0, 0), 1))
                    p.drawRect(rect.adjusted(2, 2, -2, -2))
        p.setBrush(Qt.NoBrush)
        p.setPen(QPen(QColor(40, 40, 40, 120), 1))
        for i in range(h):
            for j in range(w):
                p.drawRect(self.cell_rect(i, j))
        if self.region is not None:
            r = self.region
            rect = self.cell_rect(r.top, r.left).united(self.cell_rect(r.bottom, r.right))
            p.setPen(QPen(QColor(255, 255, 255), 3))
            p.drawRect(rect.adjusted(1, 1, -1, -1))
            p.setPen(QPen(QColor(0, 0, 0), 2, Qt.DashLine))
            p.drawRect(rect.adjusted(1, 1, -1, -1))
        for cell, colour in ((self.active_cell, QColor(255, 200, 0)), (self._hover, QColor(0, 0, 0))):
            if cell is not None:
                p.setPen(QPen(colour, 3))
                p.drawRect(self.cell_rect(*cell).adjusted(1, 1, -1, -1))
        if self.hasFocus():
            p.setPen(QPen(QColor(30, 120, 255), 2, Qt.DotLine))
            p.drawRect(self.cell_rect(*self._cursor).adjusted(4, 4, -4, -4))
        p.end()
