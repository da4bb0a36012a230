"""Tick labels that never stack on short vertical plot axes (large presentation fonts)."""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF

LABEL_GAP_LINES = 1.5           # neighbouring labels at least this many text lines apart
# On a log axis, the labelled multiples of each power of ten, densest first.
LOG_MANTISSAS = ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1, 3), (1,))


def spaced_log_values(low: float, high: float, size: float, gap: float) -> list[float] | None:
    """Label positions (log10 units) on a log axis from 10**low to 10**high, ``size`` pixels long:
    the densest of m·10ⁿ for m in 1–9, 1-2-5, 1-3, 1 whose neighbours are at least ``gap`` pixels
    apart. None when even the powers of ten are closer than that (then every few decades)."""
    if high <= low or size <= 0:
        return None
    pixels_per_decade = size / (high - low)
    for mantissas in LOG_MANTISSAS:
        values = [e + math.log10(m) for e in range(math.floor(low), math.ceil(high) + 1) for m in mantissas]
        values = [v for v in values if low <= v <= high]
        steps = [b - a for a, b in zip(values, values[1:])]
        if not steps or min(steps) * pixels_per_decade >= gap:
            return values
    return None


def sparse_vertical_ticks(axis: pg.AxisItem) -> None:
    """Labels on a short vertical axis at most every 1.5 text lines, so large presentation
    fonts never stack: the major step grows 1 → 2 → 5 → 10 (pyqtgraph's own choice ignores the font).
    On a log axis the labels are 1–9, 1-2-5, 1-3 or 1 × 10ⁿ, whichever fits (pyqtgraph labels
    every 2…9 × 10ⁿ between the powers of ten, which stack on a short axis)."""
    _sparse_ticks(axis, lambda metrics: LABEL_GAP_LINES * metrics.height(), end_label=False)


def sparse_horizontal_ticks(axis: pg.AxisItem) -> None:
    """The same on a narrow horizontal axis: neighbouring labels' centres at least a four-character
    label's width apart, so large presentation fonts never run together (``0.2 0.4 0.6`` on a 160 px plot)."""
    _sparse_ticks(axis, lambda metrics: metrics.horizontalAdvance("0000"), end_label=True)


def _sparse_ticks(axis: pg.AxisItem, label_gap, end_label: bool) -> None:
    """Replace ``axis``'s tick choice: neighbouring labels at least ``label_gap(font metrics)`` pixels
    apart (``end_label``: n labels need n - 1 gaps, else n)."""
    original = type(axis).tickSpacing
    original_log = type(axis).logTickValues

    def gap() -> float:                  # pixels between neighbouring labels
        return label_gap(QFontMetricsF(axis.style["tickFont"] or QFont()))

    def spacing(min_value: float, max_value: float, size: float):
        levels = original(axis, min_value, max_value, size)
        if not levels or max_value <= min_value:
            return levels
        most = max(2, int(size // gap()) + end_label)   # labels that fit beside one another
        step = levels[0][0]
        while (max_value - min_value) / step + 1 > most:
            mantissa = round(step / 10 ** math.floor(math.log10(step)))
            step *= 2.5 if mantissa == 2 else 2.0                      # 1, 2, 5, 10, 20, 50 ...
        return [(step, 0)] if step != levels[0][0] else levels

    def log_values(min_value: float, max_value: float, size: float, standard):
        values = spaced_log_values(min_value, max_value, size, gap())
        if values is not None:
            return [(None, values)]
        decades = [(step, values) for step, values in standard if step >= 1.0]   # thinned by spacing()
        return decades[:1] or original_log(axis, min_value, max_value, size, standard)

    axis.tickSpacing = spacing
    axis.logTickValues = log_values
