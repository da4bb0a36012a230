"""The code grid being sampled: the editor's :class:`LatentGridView` (same palette, same look)
with a lighter paint for the animation: one fill and one number per cell, the grid lines as
1-pixel gaps, the cell just drawn outlined. Cells with -1 are not sampled yet (light grey)."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen

from explorer.core.projection import text_colour_for
from explorer.ui.widgets.grid_view import LatentGridView

EMPTY = QColor(225, 225, 225)
ACTIVE = QColor(255, 185, 0)
GRID_LINE = QColor(120, 120, 120)


class SamplingGridView(LatentGridView):
    """Read-only: the panel sets codes and the active cell; no editing gestures."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.enabled_editing = False
        self.setFocusPolicy(Qt.NoFocus)
        self.setMouseTracking(False)
        self._text_pens: list[QColor] = []

    def set_num_codes(self, num_codes: int) -> None:
        super().set_num_codes(num_codes)
        self._text_pens = [QColor(*text_colour_for(c)) for c in self.code_colours]

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        if not self._text_pens:
            self._text_pens = [QColor(*text_colour_for(c)) for c in self.code_colours]
        p = QPainter(self)
        h, w = self.codes.shape
        s = self._cell_size()
        x0, y0 = self._origin()
        font = QFont(self.font())
        font.setPixelSize(max(7, int(s * 0.36)))
        p.setFont(font)
        numbers = self.show_numbers and s >= 14
        k = len(self._qcolours)
        p.fillRect(QRectF(x0, y0, w * s, h * s), GRID_LINE)     # shows through 1-px gaps as grid lines
        for i in range(h):
            for j in range(w):
                code = int(self.codes[i, j])
                rect = QRectF(x0 + j * s + 1, y0 + i * s + 1, s - 1, s - 1)
                if code < 0:
                    p.fillRect(rect, EMPTY)
                    continue
                p.fillRect(rect, self._qcolours[code % k])
                if numbers:
                    p.setPen(self._text_pens[code % k])
                    p.drawText(rect, Qt.AlignCenter, str(code))
        if self.active_cell is not None:
            i, j = self.active_cell
            p.setPen(QPen(ACTIVE, max(3.0, s / 12)))
            p.drawRect(QRectF(x0 + j * s, y0 + i * s, s, s).adjusted(1.5, 1.5, -1.5, -1.5))
        p.end()
