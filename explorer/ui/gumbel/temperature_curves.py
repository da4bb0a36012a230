"""How one-hot the samples are over lambda: E[max_k y_k], E[H(y)] / log K and ||E[y] - pi||, current lambda marked."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from explorer.core.gumbel_lab import TemperatureCurves

from .plot_style import COLORS, StyledPlot, pen


class TemperatureCurvesPlot(StyledPlot):
    """Three curves on a log-lambda axis and a vertical line at the current lambda."""

    SERIES = (("expected_max", "E[max_k y_k] (1 = one-hot)", "blue"),
              ("entropy", "E[H(y)] / log K (1 = uniform)", "orange"),
              ("distance", "‖E[y] − π‖", "green"))

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Soft samples over λ", "gumbelCurves", "Curves over the temperature",
                         x_label="temperature λ (log scale)", legend=1, parent=parent)
        self.setMouseEnabled(x=False, y=False)
        self.getPlotItem().setLogMode(x=True)
        self.set_decade_ticks("bottom", 0.01, 10.0)
        self.curves = {}
        for key, label, _ in self.SERIES:
            self.curves[key] = self.add_line(label)
        self.marker = pg.InfiniteLine(angle=90, movable=False)
        self.addItem(self.marker)
        self.data: TemperatureCurves | None = None
        self.temperature = 1.0
        self.restyle()

    def set_curves(self, data: TemperatureCurves, k: int) -> None:
        self.data = data
        t = data.temperatures
        self.curves["expected_max"].setData(t, data.expected_max)
        self.curves["entropy"].setData(t, data.expected_entropy / math.log(k))
        self.curves["distance"].setData(t, data.mean_distance)
        self.setXRange(math.log10(t[0]), math.log10(t[-1]), padding=0.04)
        self.setYRange(0, 1.05, padding=0)
        self.set_title(f"Soft samples over λ · {data.draws} draws, seed {data.seed}")

    def set_temperature(self, value: float) -> None:
        self.temperature = value
        self.marker.setValue(math.log10(value))
        if self.data is not None:
            i = int(np.argmin(np.abs(np.log(self.data.temperatures) - math.log(value))))
            self.marker.setToolTip(f"λ = {value:.3g}: E[max y] ≈ {self.data.expected_max[i]:.2f}")

    def restyle(self) -> None:
        on = self.presentation
        for key, _, colour in self.SERIES:
            self.curves[key].setPen(pen(COLORS[colour], on))
        self.marker.setPen(pen(COLORS["red"], on, Qt.PenStyle.DashLine))
