"""Bar chart of how often each code is chosen, dead codes marked, perplexity in the title.

perplexity = exp(-sum_k p_k log p_k), p = counts / counts.sum(): the effective number of
codes in use (K when all are used equally, 1 when one code takes everything).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from explorer.core.projection import UsageStats
from explorer.ui.presentation import style_plot
from explorer.ui.widgets.sparse_ticks import sparse_vertical_ticks


class UsageHistogram(QWidget):
    """One bar per code (x = code index), coloured like the code grid's palette."""

    code_hovered = Signal(int)
    code_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("usageHistogram")
        self.setAccessibleName("Code usage histogram")
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("usageHistogramPlot")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "code index k")
        self.plot.setLabel("left", "cells")
        sparse_vertical_ticks(self.plot.getAxis("left"))     # large F5 fonts: numbers never stack
        QVBoxLayout(self).addWidget(self.plot)
        self.layout().setContentsMargins(0, 0, 0, 0)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.85)
        self.highlight = pg.BarGraphItem(x=[], height=[], width=0.85, brush=None, pen=pg.mkPen("k", width=2))
        self.dead_marks = pg.ScatterPlotItem(symbol="x", size=7, pen=pg.mkPen((210, 30, 30), width=2), brush=None)
        for item in (self.bars, self.highlight, self.dead_marks):
            self.plot.addItem(item)
        self.counts = np.zeros(0, dtype=np.int64)
        self.stats: UsageStats | None = None
        self.palette = np.zeros((0, 3), dtype=np.uint8)
        self.hovered = -1
        self.presentation = False
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._mouse_clicked)

    def set_usage(self, stats: UsageStats | None, palette: np.ndarray, what: str) -> None:
        """Show ``stats`` (None: no images to count on) with bars coloured by ``palette``."""
        self.stats, self.palette = stats, palette
        if stats is None:
            self.counts = np.zeros(0, dtype=np.int64)
            self.bars.setOpts(x=[], height=[])
            self.dead_marks.setData([], [])
            style_plot(self.plot, self.presentation, "usage: no images to count on")
            return
        self.counts = stats.counts
        k = len(self.counts)
        self.bars.setOpts(x=np.arange(k), height=self.counts.astype(float),
                          brushes=[pg.mkBrush(*c) for c in palette[:k].tolist()], pens=[pg.mkPen(None)] * k)
        dead = stats.dead
        self.dead_marks.setData(dead.astype(float), np.zeros(len(dead)))
        style_plot(self.plot, self.presentation, f"{what}: perplexity {stats.perplexity:.1f} of K = {k} · "
                   f"{len(dead)} dead (✕) · {stats.cells} cells")
        self.plot.setXRange(-1, k, padding=0)
        self.plot.setYRange(0, max(1.0, float(self.counts.max())) * 1.05, padding=0)
        self.set_hovered(self.hovered)

    def set_presentation(self, on: bool) -> None:
        """Larger title, axis and tick labels, and dead-code marks."""
        self.presentation = on
        self.dead_marks.setSize(12 if on else 7)
        style_plot(self.plot, on)

    def bar_heights(self) -> np.ndarray:
        """Heights of the bars drawn (one per code)."""
        h = self.bars.opts.get("height")
        return np.asarray([] if h is None else h, dtype=float)

    def set_hovered(self, code: int) -> None:
        self.hovered = code
        if 0 <= code < len(self.counts):
            self.highlight.setOpts(x=[code], height=[max(float(self.counts[code]), 0.0)])
        else:
            self.highlight.setOpts(x=[], height=[])

    def _code_at(self, scene_pos) -> int:
        vb = self.plot.getPlotItem().vb
        if not len(self.counts) or not vb.sceneBoundingRect().contains(scene_pos):
            return -1
        x = vb.mapSceneToView(scene_pos).x()
        k = int(round(x))
        return k if 0 <= k < len(self.counts) and abs(x - k) <= 0.5 else -1

    def _mouse_moved(self, scene_pos) -> None:
        k = self._code_at(scene_pos)
        if k != self.hovered:
            self.set_hovered(k)
            self.code_hovered.emit(k)

    def _mouse_clicked(self, ev) -> None:
        k = self._code_at(ev.scenePos())
        if k >= 0:
            self.code_clicked.emit(k)
