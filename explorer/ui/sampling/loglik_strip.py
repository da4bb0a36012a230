"""Running log-likelihood of the grid so far and the per-step surprise.

    log p(z_≤t) = sum_{s ≤ t} log p(z_s | z_<s)   (nats; / ln 2 for bits)
    surprise_t = -log p(z_t | z_<t)

scored by the model itself (T = 1, no top-k), so at the end it equals ``prior.log_prob``.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from explorer.ui.sampling.plot_style import make_plot, style_plot
from explorer.ui.sampling.steady_label import SteadyLabel
from explorer.ui.widgets.naming import named


PLOT_MIN_HEIGHT = {False: 90, True: 104}       # px


class LogLikelihoodStrip(QWidget):
    """A headline (nats and bits) over one bar per raster step (its surprise)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "samplingLogLikelihood", "Log-likelihood of the grid so far",
              "sum of log p(z_ij | z_<ij) of the chosen codes under the model; bars: -log p per step")
        self.headline = named(SteadyLabel(lines=2), "samplingLogLikelihoodText", "Log-likelihood so far")
        self.plot = make_plot("samplingSurprisePlot", "raster step t", "nats")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.85, brush=pg.mkBrush(90, 90, 200))
        self.current = pg.BarGraphItem(x=[], height=[], width=0.85, brush=pg.mkBrush(255, 185, 0),
                                       pen=pg.mkPen("k", width=1))
        self.plot.addItem(self.bars)
        self.plot.addItem(self.current)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(self.plot, 1)
        self.total_steps = 49
        self.surprises = np.zeros(0)
        self._y_max = 0.0
        self._show_y_max(1.0)                     # before the first step too: the top tick label is whole

    def set_total(self, total_steps: int) -> None:
        self.total_steps = total_steps
        self.plot.setXRange(-0.7, total_steps - 0.3, padding=0)

    def _show_y_max(self, y_max: float) -> None:
        if y_max != self._y_max:                  # whole nats: rarely changes
            self._y_max = y_max
            self.plot.setYRange(0, y_max * 1.06, padding=0)       # room for the top tick label

    def show_surprises(self, surprises: np.ndarray) -> None:
        self.surprises = np.asarray(surprises, dtype=float)
        t = len(self.surprises)
        nats = -float(self.surprises.sum())
        self.bars.setOpts(x=np.arange(t), height=self.surprises)
        if t:
            self.current.setOpts(x=[t - 1], height=[self.surprises[-1]])
            y_max = float(np.ceil(max(1.0, float(self.surprises.max())) * 1.1))   # whole nats: rarely changes
            self._show_y_max(y_max)
            last = f" · surprise −log p = {self.surprises[-1]:.2f}"
        else:
            self.current.setOpts(x=[], height=[])
            last = ""
        nats = nats + 0.0                       # no "-0.00" before the first step
        self.headline.setText(f"<b>log p(z so far) = {nats:.2f} nats = {nats / math.log(2):.2f} bits</b>"
                              f" · step {t}/{self.total_steps}{last}")

    def set_headline_lines(self, lines: int) -> None:
        """Room for this many lines of headline (one when the strip has the panel's whole width)."""
        if lines != self.headline.lines:
            self.headline.lines = lines
            self.headline.setWordWrap(lines > 1)
            self.headline.updateGeometry()

    def set_presentation(self, on: bool) -> None:
        style_plot(self.plot, on)
        self.plot.setMinimumHeight(PLOT_MIN_HEIGHT[on])     # room for the rotated axis label at 15 pt
