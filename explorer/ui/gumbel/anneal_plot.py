"""The annealing schedule lambda_t = max(lambda_min, lambda_0 exp(-r t)), editable, with the training form's marked."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer.core.gumbel_lab import AnnealSchedule, training_form_schedule

from ..widgets.naming import named
from .plot_style import COLORS, StyledPlot, pen


class AnnealPlot(QWidget):
    """Spin boxes for lambda_0, r and lambda_min above a plot of lambda over training steps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "gumbelAnnealPlot", "Temperature annealing schedule")
        self.form = training_form_schedule()
        self.plot = StyledPlot("λ<sub>t</sub> = max(λ<sub>min</sub>, λ<sub>0</sub>·exp(−r t)): yours (solid), "
                               "the Gumbel VQ-VAE training form's (dashed)", "gumbelAnnealCurve", "Annealing curve",
                               x_label="training step t", y_label="λ")
        self.plot.setMouseEnabled(x=False, y=False)
        self.yours = self.plot.add_line("your schedule")
        self.training = self.plot.add_line("Gumbel VQ-VAE training form (VQVAEConfig)")
        self.floor_line = pg.InfiniteLine(angle=90, movable=False)
        self.plot.addItem(self.floor_line)
        self.start = self._spin("gumbelAnnealStart", "lambda 0 (start)", 0.01, 10.0, 2.0, 0.1, 2)
        self.rate = self._spin("gumbelAnnealRate", "rate r per step", 0.0, 0.1, 1e-3, 1e-4, 5)
        self.minimum = self._spin("gumbelAnnealMin", "lambda min", 0.01, 10.0, 0.2, 0.05, 2)
        row = QHBoxLayout()
        for text, spin in (("λ₀", self.start), ("r", self.rate), ("λ_min", self.minimum)):
            row.addWidget(QLabel(text))
            row.addWidget(spin)
        row.addStretch(1)
        self.label = named(QLabel(), "gumbelAnnealSummary", "Annealing summary")
        self.label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.label)
        self.plot.restyle = self._restyle
        self.refresh()
        self._restyle()

    def _spin(self, name: str, accessible: str, lo: float, hi: float, value: float, step: float,
              decimals: int) -> QDoubleSpinBox:
        spin = named(QDoubleSpinBox(), name, accessible)
        spin.setRange(lo, hi)
        spin.setDecimals(decimals)
        spin.setSingleStep(step)
        spin.setValue(value)
        spin.setKeyboardTracking(False)
        spin.valueChanged.connect(lambda _v: self.refresh())
        return spin

    def schedule(self) -> AnnealSchedule:
        return AnnealSchedule(start=self.start.value(), rate=self.rate.value(), minimum=self.minimum.value())

    def refresh(self) -> None:
        mine, form = self.schedule(), self.form
        ends = [s.floor_step() for s in (mine, form) if np.isfinite(s.floor_step())]
        horizon = max(100.0, 1.25 * max(ends, default=5000.0))
        steps = np.linspace(0, horizon, 400)
        self.yours.setData(steps, mine.values(steps))
        self.training.setData(steps, form.values(steps))
        floor = mine.floor_step()
        self.floor_line.setVisible(bool(np.isfinite(floor)))
        if np.isfinite(floor):
            self.floor_line.setValue(floor)
        self.plot.setXRange(0, horizon, padding=0.01)
        self.plot.setYRange(0, 1.08 * max(mine.start, form.start, mine.minimum), padding=0)
        self.label.setText(
            f"Yours reaches λ_min = {mine.minimum:g} at step {floor:,.0f}. ".replace(",", " ") +
            f"Training form (VQVAEConfig): λ₀ = {form.start:g}, r = {form.rate:g}, λ_min = {form.minimum:g}, "
            f"floor at step {form.floor_step():,.0f}.".replace(",", " "))

    def _restyle(self) -> None:
        on = self.plot.presentation
        self.yours.setPen(pen(COLORS["blue"], on))
        self.training.setPen(pen(COLORS["red"], on, Qt.PenStyle.DashLine))
        self.floor_line.setPen(pen(COLORS["grey"], on, Qt.PenStyle.DotLine, 0.7))

    def set_presentation(self, on: bool) -> None:
        self.plot.set_presentation(on)
