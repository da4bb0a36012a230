"""Histograms of the scores of the normal and the anomalous set, and the threshold as a line."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .plot_style import set_title, IN_COLOUR, OUT_COLOUR, plain_plot, style_plot

BINS = 40


def _coloured(text: str, rgb: tuple[int, int, int]) -> str:
    return f"<span style='color:#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}'>{text}</span>"


class ScoreHistogram(QWidget):
    """Two step histograms (each normalised to its own set size) on the same bins."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("anomalyHistogram")
        self.setAccessibleName("Score histogram, normal against anomalous")
        self.plot = plain_plot("anomalyHistogramPlot")
        self.plot.setLabel("left", "share of the set")
        self.in_curve = self.plot.plot([], [], stepMode="center", fillLevel=0, name="normal",
                                       pen=pg.mkPen(IN_COLOUR, width=2), brush=(*IN_COLOUR, 60))
        self.out_curve = self.plot.plot([], [], stepMode="center", fillLevel=0, name="anomalous",
                                        pen=pg.mkPen(OUT_COLOUR, width=2), brush=(*OUT_COLOUR, 60))
        self.line = pg.InfiniteLine(angle=90, pen=pg.mkPen((40, 40, 40), width=2, style=pg.QtCore.Qt.DashLine))
        self.plot.addItem(self.line)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.presentation = False
        style_plot(self.plot, False)

    def set_scores(self, scores_in: np.ndarray, scores_out: np.ndarray, unit: str) -> None:
        """Both histograms; the title, in the two sets' colours, names them (a legend would hide bars)."""
        lo = float(min(scores_in.min(), scores_out.min()))
        hi = float(max(scores_in.max(), scores_out.max()))
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, BINS + 1)
        for curve, s in ((self.in_curve, scores_in), (self.out_curve, scores_out)):
            counts, _ = np.histogram(s, bins=edges)
            curve.setData(edges, counts / max(len(s), 1))
        self.plot.setLabel("bottom", f"score ({unit})")
        self.line.setVisible(True)
        set_title(self.plot, f"{_coloured(f'■ {len(scores_in)} normal', IN_COLOUR)} vs "
                             f"{_coloured(f'■ {len(scores_out)} anomalous', OUT_COLOUR)}", markup=True)
        self.plot.enableAutoRange()

    def clear(self, message: str = "") -> None:
        self.in_curve.setData([], [])
        self.out_curve.setData([], [])
        self.line.setVisible(False)
        set_title(self.plot, message)

    def set_threshold(self, value: float) -> None:
        self.line.setValue(value)

    def set_presentation(self, on: bool) -> None:
        style_plot(self.plot, on)
        for curve in (self.in_curve, self.out_curve):
            pen = curve.opts["pen"]
            pen.setWidthF(4 if on else 2)
            curve.setPen(pen)
