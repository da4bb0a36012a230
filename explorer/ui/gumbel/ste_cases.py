"""Straight-through case studies: round and a binary gate, forward against backward, and a 1-D
regression through a rounding layer trained live with and without the STE (notes, "Case Study 1").

Each regression step takes microseconds, so a GUI-thread timer steps the core generator
(:func:`explorer.core.straight_through.train_regression`) a few times per frame; no thread.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from explorer.core.straight_through import (RegressionConfig, RegressionSnapshot, autograd_gradients,
                                            gate_curves, quantize_curves, train_regression)

from ..widgets.naming import named
from .plot_style import COLORS, StyledPlot, pen

X_RANGE = 2.5
SLIDER_TICKS = 500
STEPS_PER_TICK = 2             # regression steps per 30 ms timer tick
GATE_SLOPE = 2.0


class CasePlot(StyledPlot):
    """One side of a discrete operation: ``solid`` (what it really does) against ``dashed`` (what the
    straight-through estimator pretends), with the dragged x marked."""

    def __init__(self, title: str, object_name: str, x: np.ndarray, solid: np.ndarray, solid_label: str,
                 dashed: np.ndarray, dashed_label: str, y_label: str) -> None:
        super().__init__(title, object_name, title, x_label="x", y_label=y_label, legend=2)
        self.setMouseEnabled(x=False, y=False)
        sx, sy = _staircase(x, solid)
        self.solid = self.add_line(solid_label)
        self.solid.setData(sx, sy, connect="finite")
        self.dashed = self.add_line(dashed_label)
        self.dashed.setData(x, dashed)
        self.marker = pg.InfiniteLine(angle=90, movable=False)
        self.point = pg.ScatterPlotItem()
        self.addItem(self.marker)
        self.addItem(self.point)
        self.setXRange(float(x[0]), float(x[-1]), padding=0.02)
        self.restyle()

    def set_x(self, x: float, solid: float, dashed: float) -> None:
        self.marker.setValue(x)
        self.point.setData([x, x], [solid, dashed], brush=[pg.mkBrush(COLORS["blue"]), pg.mkBrush(COLORS["orange"])])

    def restyle(self) -> None:
        on = self.presentation
        self.solid.setPen(pen(COLORS["blue"], on, scale=1.3))
        self.dashed.setPen(pen(COLORS["orange"], on, Qt.PenStyle.DashLine))
        self.marker.setPen(pen(COLORS["red"], on, Qt.PenStyle.DotLine, 0.7))
        self.point.setPen(pg.mkPen("#000000", width=1))
        self.point.setSize(16 if on else 11)


def _staircase(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y with NaN at the jumps of y, so the steps are not joined by vertical lines."""
    jumps = np.flatnonzero(np.diff(y) != 0)
    return np.insert(x, jumps + 1, np.nan), np.insert(y, jumps + 1, np.nan)


class SteCaseStudies(QWidget):
    """Quantize and gate plots with an x slider, and the live regression through round()."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "steCaseStudies", "Straight-through case studies")
        xs = np.linspace(-X_RANGE, X_RANGE, 1001)
        q, g = quantize_curves(xs), gate_curves(xs, GATE_SLOPE)
        self.case_plots = {
            "round forward": CasePlot("round: forward", "steQuantizeForward", xs, q.forward, "round(x)",
                                      q.surrogate_forward, "x (STE surrogate)", "output"),
            "round backward": CasePlot("round: backward", "steQuantizeBackward", xs, q.true_gradient,
                                       "true gradient 0", q.surrogate, "STE: 1", "gradient"),
            "gate forward": CasePlot("binary gate: forward", "steGateForward", xs, g.forward,
                                     "step(x)", g.surrogate_forward, f"sigmoid({GATE_SLOPE:g}x)", "output"),
            "gate backward": CasePlot("binary gate: backward", "steGateBackward", xs, g.true_gradient,
                                      "true gradient 0", g.surrogate, "sigmoid′", "gradient"),
        }
        self.case_plots["round backward"].setYRange(-0.2, 1.3, padding=0)
        self.case_plots["gate backward"].setYRange(-0.1, GATE_SLOPE / 4 * 1.3, padding=0)
        self.x_slider = named(QSlider(Qt.Orientation.Horizontal), "steX", "Input x",
                              "Drag x: the forward output and the gradient each estimator passes back")
        self.x_slider.setRange(0, SLIDER_TICKS)
        self.x_slider.setValue(int(SLIDER_TICKS * (0.7 + X_RANGE) / (2 * X_RANGE)))
        self.readout = named(QLabel(), "steReadout", "Forward values and gradients at x")
        self.readout.setWordWrap(True)
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        # regression
        self.config = RegressionConfig()
        self.fit_plot = StyledPlot("Fit ŷ = round(w·x + b)", "steRegressionFit", "Regression fit", x_label="x",
                                   y_label="y", legend=1)
        self.fit_plot.setMouseEnabled(x=False, y=False)
        self.data_points = pg.ScatterPlotItem()
        self.fit_plot.addItem(self.data_points)
        self.fit_plot.add_legend(self.data_points, f"t = round({self.config.true_w:g}x + {self.config.true_b:g})")
        self.fit_ste = self.fit_plot.add_line("with STE")
        self.fit_plain = self.fit_plot.add_line("without")
        self.loss_plot = StyledPlot("Training loss (MSE)", "steRegressionLoss", "Regression loss",
                                    x_label="step", y_label="MSE", legend=2)
        self.loss_plot.setMouseEnabled(x=False, y=False)
        self.loss_ste = self.loss_plot.add_line("with STE")
        self.loss_plain = self.loss_plot.add_line("without STE")
        for plot in (self.fit_plot, self.loss_plot):
            plot.restyle = self._restyle_regression
        self.train_button = named(QPushButton("Train both"), "steTrain", "Train the regression with and without STE",
                                  "Gradient descent on w, b through round(): the STE copies the gradient, "
                                  "the true gradient is zero")
        self.regression_status = named(QLabel(), "steRegressionStatus", "Regression status")
        self.regression_status.setWordWrap(True)
        self._layout()
        self._generator = None
        self._history: list[tuple[int, float, float]] = []
        self.last: RegressionSnapshot | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(30)
        self.timer.timeout.connect(self._tick)
        self.x_slider.valueChanged.connect(lambda _v: self._show_x())
        self.train_button.clicked.connect(self.start_training)
        self._show_x()
        self._restyle_regression()
        self._show_snapshot(next(train_regression(self.config)))

    def _layout(self) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        # columns: round | binary gate | the regression; rows: forward, backward, then the controls
        grid.addWidget(self.case_plots["round forward"], 0, 0)
        grid.addWidget(self.case_plots["round backward"], 1, 0)
        grid.addWidget(self.case_plots["gate forward"], 0, 1)
        grid.addWidget(self.case_plots["gate backward"], 1, 1)
        grid.addWidget(self.fit_plot, 0, 2)
        grid.addWidget(self.loss_plot, 1, 2)
        x_row = QHBoxLayout()
        x_row.addWidget(QLabel("drag x:"))
        x_row.addWidget(self.x_slider, 1)
        left = QVBoxLayout()
        left.addLayout(x_row)
        left.addWidget(self.readout)
        grid.addLayout(left, 2, 0, 1, 2)
        right = QVBoxLayout()
        right.addWidget(self.train_button)
        right.addWidget(self.regression_status)
        grid.addLayout(right, 2, 2)
        for i in range(3):
            grid.setColumnStretch(i, 1)
        grid.setRowStretch(0, 1)
        grid.setRowStretch(1, 1)

    # -- the dragged x ----------------------------------------------------------------------
    @property
    def x(self) -> float:
        return -X_RANGE + 2 * X_RANGE * self.x_slider.value() / SLIDER_TICKS

    def set_x(self, value: float) -> None:
        self.x_slider.setValue(int(round((value + X_RANGE) / (2 * X_RANGE) * SLIDER_TICKS)))

    def _show_x(self) -> None:
        x = self.x
        grads = autograd_gradients(x, GATE_SLOPE)
        s = 1.0 / (1.0 + np.exp(-GATE_SLOPE * x))
        plots = self.case_plots
        plots["round forward"].set_x(x, float(np.round(x)), x)
        plots["round backward"].set_x(x, grads["round"], grads["round STE"])
        plots["gate forward"].set_x(x, float(x > 0), float(s))
        plots["gate backward"].set_x(x, grads["step"], grads["step STE"])
        self.readout.setText(
            f"<b>x = {x:+.2f}</b> &nbsp; round(x) = <b>{np.round(x):g}</b>: autograd passes back "
            f"{grads['round']:g}, the STE <b>{grads['round STE']:g}</b> (identity). &nbsp; "
            f"step(x) = <b>{float(x > 0):g}</b>: autograd {grads['step']:g}, the sigmoid surrogate "
            f"<b>{grads['step STE']:.3f}</b>.")

    # -- regression -------------------------------------------------------------------------
    def start_training(self) -> None:
        self._generator = train_regression(self.config)
        self._history = []
        self.timer.start()

    def is_training(self) -> bool:
        return self.timer.isActive()

    def _tick(self) -> None:
        latest = None
        for _ in range(STEPS_PER_TICK):
            snapshot = next(self._generator, None) if self._generator is not None else None
            if snapshot is None:
                self.timer.stop()
                self._generator = None
                break
            latest = snapshot
            self._history.append((snapshot.step, snapshot.loss_ste, snapshot.loss_plain))
        if latest is not None:
            self._show_snapshot(latest)

    def _show_snapshot(self, s: RegressionSnapshot) -> None:
        self.last = s
        self.data_points.setData(s.x, s.target)
        self.fit_ste.setData(s.x, s.prediction_ste)
        self.fit_plain.setData(s.x, s.prediction_plain)
        if self._history:
            h = np.array(self._history)
            self.loss_ste.setData(h[:, 0], h[:, 1])
            self.loss_plain.setData(h[:, 0], h[:, 2])
            self.loss_plot.setXRange(0, self.config.steps, padding=0.02)
        (w1, b1), (w0, b0) = s.params_ste, s.params_plain
        self.regression_status.setText(
            f"step {s.step}/{self.config.steps} · with STE: w = {w1:.2f}, b = {b1:.2f}, MSE {s.loss_ste:.3f} · "
            f"without: w = {w0:.2f}, b = {b0:.2f}, MSE {s.loss_plain:.3f} (gradient {s.grad_norm_plain:g}: "
            f"nothing learns)")

    def _restyle_regression(self) -> None:
        on = self.fit_plot.presentation
        self.data_points.setPen(pg.mkPen(None))
        self.data_points.setBrush(pg.mkBrush(COLORS["grey"]))
        self.data_points.setSize(10 if on else 6)
        for curve, colour, style in ((self.fit_ste, "blue", None), (self.loss_ste, "blue", None),
                                     (self.fit_plain, "red", Qt.PenStyle.DashLine),
                                     (self.loss_plain, "red", Qt.PenStyle.DashLine)):
            curve.setPen(pen(COLORS[colour], on, style))

    def stop(self) -> None:
        self.timer.stop()

    def set_presentation(self, on: bool) -> None:
        for plot in (*self.case_plots.values(), self.fit_plot, self.loss_plot):
            plot.set_presentation(on)
