"""Tick labels that never stack on short vertical plot axes (large presentation fonts)."""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF


def sparse_vertical_ticks(axis: pg.AxisItem) -> None:
    """Labels on a short vertical axis at most every 1.5 text lines, so large presentation
    fonts never stack: the major step grows 1 → 2 → 5 → 10 (pyqtgraph's own choice ignores the font)."""
    original = type(axis).tickSpacing

    def spacing(min_value: float, max_value: float, size: float):
        levels = original(axis, min_value, max_value, size)
        if not levels or max_value <= min_value:
            return levels
        line = QFontMetricsF(axis.style["tickFont"] or QFont()).height()
        most = max(2, int(size // (1.5 * line)))                       # labels that fit one above another
        step = levels[0][0]
        while (max_value - min_value) / step + 1 > most:
            mantissa = round(step / 10 ** math.floor(math.log10(step)))
            step *= 2.5 if mantissa == 2 else 2.0                      # 1, 2, 5, 10, 20, 50 ...
        return [(step, 0)] if step != levels[0][0] else levels

    axis.tickSpacing = spacing
