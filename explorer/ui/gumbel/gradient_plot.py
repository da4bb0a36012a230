"""Bias and variance of three estimators of d E[f(one-hot)]/d logits over lambda, f(y) = ||y - target||^2.

The exact gradient comes from enumerating the K outcomes; the soft relaxation and the
straight-through Gumbel estimator trade bias (high lambda) for variance (low lambda); the
score function (REINFORCE) is unbiased and ignores lambda. "Low lambda: nearly discrete but
noisy gradients."
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer.core.gumbel_lab import ESTIMATORS, MAX_K, EstimatorStats, estimator_stats

from ..widgets.naming import named
from .plot_style import COLORS, StyledPlot, pen

ESTIMATOR_COLORS = dict(zip(ESTIMATORS, ("blue", "orange", "green")))
LEGEND_NAMES = dict(zip(ESTIMATORS, ("soft", "straight-through", "REINFORCE")))   # short: legends fit half a screen
DRAWS = 2000                   # Monte-Carlo draws per temperature
RECOMPUTE_DELAY_MS = 150
SEED = 0


class _LogLogPlot(StyledPlot):
    def __init__(self, title: str, object_name: str, y_label: str, legend: int) -> None:
        super().__init__(title, object_name, title, x_label="temperature λ", y_label=y_label, legend=legend)
        self.setMouseEnabled(x=False, y=False)
        self.getPlotItem().setLogMode(x=True, y=True)
        self.set_decade_ticks("bottom", 0.01, 10.0)
        self.curves = {name: self.add_line(LEGEND_NAMES[name]) for name in ESTIMATORS}
        self.marker = pg.InfiniteLine(angle=90, movable=False)
        self.addItem(self.marker)
        self.restyle()

    def restyle(self) -> None:
        for name, curve in self.curves.items():
            curve.setPen(pen(COLORS[ESTIMATOR_COLORS[name]], self.presentation))
        self.marker.setPen(pen(COLORS["red"], self.presentation, Qt.PenStyle.DashLine))


class GradientPlot(QWidget):
    """Two log-log plots (bias | variance) and the editable target of the toy objective."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "gumbelGradientPlot", "Gradient estimators: bias and variance against temperature")
        self.bias_plot = _LogLogPlot("bias ‖E[ĝ] − ∇‖", "gumbelGradientBias", "bias", legend=3)   # one row
        self.variance_plot = _LogLogPlot("variance Σ Var[ĝ]", "gumbelGradientVariance", "variance", legend=0)
        self.target_spins: list[QDoubleSpinBox] = []
        targets = QHBoxLayout()
        self.target_label = QLabel("target t in f(y) = ‖y − t‖²:")
        targets.addWidget(self.target_label)
        for i in range(MAX_K):
            spin = named(QDoubleSpinBox(), f"gumbelTarget{i}", f"Target component {i}")
            spin.setRange(-2.0, 2.0)
            spin.setSingleStep(0.1)
            spin.setDecimals(1)
            spin.setKeyboardTracking(False)
            spin.setValue(1.0 if i == 1 else 0.0)
            spin.valueChanged.connect(lambda _v: self.recompute())
            self.target_spins.append(spin)
            targets.addWidget(spin)
        targets.addStretch(1)
        self.summary = named(QLabel(), "gumbelGradientSummary", "Exact gradient and estimator summary")
        self.summary.setWordWrap(True)
        plots = QHBoxLayout()
        plots.addWidget(self.bias_plot, 1)
        plots.addWidget(self.variance_plot, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(targets)
        layout.addLayout(plots, 1)
        layout.addWidget(self.summary)
        self.logits = np.array([2.0, 0.5, 1.0])
        self.temperature = 1.0
        self.stats: EstimatorStats | None = None
        self.debounce = QTimer(self)               # dragging a logit: recompute once it pauses
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(RECOMPUTE_DELAY_MS)
        self.debounce.timeout.connect(self.recompute)

    def target(self) -> np.ndarray:
        return np.array([s.value() for s in self.target_spins[:len(self.logits)]])

    def set_logits(self, logits: np.ndarray, now: bool = False) -> None:
        """New logits; the statistics follow ``RECOMPUTE_DELAY_MS`` after the last change (or ``now``)."""
        self.logits = np.asarray(logits, dtype=np.float64).copy()
        for i, spin in enumerate(self.target_spins):
            spin.setVisible(i < len(self.logits))
        if now:
            self.recompute()
        else:
            self.debounce.start()

    def set_temperature(self, value: float) -> None:
        self.temperature = value
        for plot in (self.bias_plot, self.variance_plot):
            plot.marker.setValue(math.log10(value))
        self._summarise()

    def recompute(self) -> None:
        """Monte-Carlo bias and variance, 2000 draws at each of 25 temperatures (about 50 ms)."""
        self.debounce.stop()
        self.stats = estimator_stats(self.logits, self.target(), draws=DRAWS, seed=SEED)
        t = self.stats.temperatures
        floor = 1e-12                      # log axes: zero bias (exact) is drawn at the floor
        for name in ESTIMATORS:
            self.bias_plot.curves[name].setData(t, np.maximum(self.stats.bias[name], floor))
            self.variance_plot.curves[name].setData(t, np.maximum(self.stats.variance[name], floor))
        for plot, values in ((self.bias_plot, self.stats.bias), (self.variance_plot, self.stats.variance)):
            every = np.concatenate([np.maximum(v, floor) for v in values.values()])
            plot.set_decade_ticks("left", float(every.min()), float(every.max()))
        self.set_temperature(self.temperature)

    def _summarise(self) -> None:
        if self.stats is None:
            return
        s = self.stats
        i = int(np.argmin(np.abs(np.log(s.temperatures) - math.log(self.temperature))))
        parts = [f"<b>{name}</b>: bias {s.bias[name][i]:.3g}, variance {s.variance[name][i]:.3g}"
                 for name in ESTIMATORS]
        self.summary.setText(
            f"Exact gradient by enumeration ∇ = [{', '.join(f'{v:.3f}' for v in s.exact)}]. "
            f"At λ ≈ {s.temperatures[i]:.2g} ({s.draws} draws, seed {s.seed}): " + "; ".join(parts) +
            ". Bias includes Monte-Carlo error ≈ √(variance / draws).")

    def set_presentation(self, on: bool) -> None:
        for plot in (self.bias_plot, self.variance_plot):
            plot.set_presentation(on)
